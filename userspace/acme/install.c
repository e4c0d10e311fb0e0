// SPDX-License-Identifier: MIT
#include "acme/install.h"
#include "acme/atomic_file.h"
#include "acme/cert_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEM_MAX (256 * 1024)

/* "<dir>/<base><ext>" for the domain's file base; -1 for names unsafe as file names. */
static int pair_path(const char *dir, const char *domain, const char *ext, char *out,
		     size_t cap)
{
	char base[300];
	int n;

	if (cert_status_file_base(domain, base, sizeof(base)))
		return -1;
	n = snprintf(out, cap, "%s/%s%s", dir, base, ext);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int acme_install_files(const char *dir, const char *domain, const char *chain_pem,
		       const char *key_pem, char *err, size_t errlen)
{
	char path[4096];

	if (pair_path(dir, domain, ".key", path, sizeof(path))) {
		snprintf(err, errlen, "bad domain name \"%s\"", domain);
		return -1;
	}
	if (ensure_dir(dir, 0755, err, errlen))
		return -1;
	/* key first: a reload between the two renames sees a mismatched pair, which the cert
	 * store rejects while the previous pair keeps serving */
	if (atomic_write_file(path, key_pem, strlen(key_pem), 0600, err, errlen))
		return -1;
	pair_path(dir, domain, ".crt", path, sizeof(path));
	return atomic_write_file(path, chain_pem, strlen(chain_pem), 0644, err, errlen);
}

static void held_dir(const char *state_dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/held", state_dir);
}

int acme_held_keep(const char *state_dir, const char *domain, const struct acme_cert *cert,
		   char *err, size_t errlen)
{
	char dir[4096];

	held_dir(state_dir, dir, sizeof(dir));
	return acme_install_files(dir, domain, cert->chain_pem, cert->key_pem, err, errlen);
}

static char *read_pem(const char *dir, const char *domain, const char *ext)
{
	char path[4096];

	return pair_path(dir, domain, ext, path, sizeof(path)) ? NULL
							       : read_small_file(path, PEM_MAX, NULL);
}

int acme_held_load(const char *state_dir, const char *domain, struct acme_cert *cert)
{
	char dir[4096];

	memset(cert, 0, sizeof(*cert));
	held_dir(state_dir, dir, sizeof(dir));
	cert->chain_pem = read_pem(dir, domain, ".crt");
	cert->key_pem = cert->chain_pem ? read_pem(dir, domain, ".key") : NULL;
	if (cert->key_pem)
		return 1;
	acme_cert_free(cert);
	return 0;
}

void acme_held_drop(const char *state_dir, const char *domain)
{
	char dir[4096], path[4096];

	held_dir(state_dir, dir, sizeof(dir));
	/* the chain goes first: without it, a key left behind is never taken for a pair */
	if (!pair_path(dir, domain, ".crt", path, sizeof(path)))
		unlink(path);
	if (!pair_path(dir, domain, ".key", path, sizeof(path)))
		unlink(path);
}
