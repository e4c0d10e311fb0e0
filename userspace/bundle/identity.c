// SPDX-License-Identifier: MIT
#include "bundle/identity.h"
#include "acme/atomic_file.h"
#include "bundle/util.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_TEXT_MAX 128

void identity_id_of(const unsigned char pk[crypto_box_PUBLICKEYBYTES],
		    char out[IDENTITY_ID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	crypto_hash_sha256(h, pk, crypto_box_PUBLICKEYBYTES);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	memcpy(out, hex, IDENTITY_ID_LEN);
	out[IDENTITY_ID_LEN] = '\0';
}

void identity_pk_base64(const struct identity *id, char out[IDENTITY_PK_B64])
{
	sodium_bin2base64(out, IDENTITY_PK_B64, id->pk, sizeof(id->pk),
			  sodium_base64_VARIANT_ORIGINAL);
}

int identity_pk_parse(const char *b64, unsigned char pk[crypto_box_PUBLICKEYBYTES])
{
	const char *end;
	size_t n;

	if (sodium_base642bin(pk, crypto_box_PUBLICKEYBYTES, b64, strlen(b64), NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL))
		return -1;
	return n == crypto_box_PUBLICKEYBYTES && *end == '\0' ? 0 : -1;
}

void identity_wipe(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

static int key_path(const char *dir, const char *name, char *out, size_t cap, char *err,
		    size_t errlen)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		return err_set(err, errlen, "identity directory path too long: %s", dir);
	return 0;
}

int identity_load(const char *dir, struct identity *id, char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned char *text;
	const char *end;
	size_t len, n;
	int rc;

	if (key_path(dir, IDENTITY_FILE, path, sizeof(path), err, errlen))
		return -1;
	text = util_read_file(path, KEY_TEXT_MAX, &len, err, errlen);
	if (!text)
		return -1;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	rc = sodium_base642bin(id->sk, sizeof(id->sk), (const char *)text, len, NULL, &n, &end,
			       sodium_base64_VARIANT_ORIGINAL);
	if (rc || n != sizeof(id->sk) || end != (const char *)text + len)
		rc = err_set(err, errlen, "%s: not an X25519 secret key", path);
	sodium_memzero(text, len);
	free(text);
	if (rc)
		return -1;
	crypto_scalarmult_base(id->pk, id->sk);
	identity_id_of(id->pk, id->id);
	return 0;
}

/* mkdir -p, the last component 0700: it holds a secret key. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
	char tmp[PATH_MAX];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", dir) >= sizeof(tmp))
		return err_set(err, errlen, "path too long: %s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (ensure_dir(tmp, 0755, err, errlen))
			return -1;
		*p = '/';
	}
	return ensure_dir(tmp, 0700, err, errlen);
}

/* Writes the key whole under a temp name (atomic_write_file: 0600, fsync), then link()s it
 * to the final name: unlike rename, link never replaces a key another process made first.
 * 0 made, 1 someone else's is there, -1 error. */
static int create_key(const char *dir, char *err, size_t errlen)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char path[PATH_MAX], tmp[PATH_MAX], name[64], text[KEY_TEXT_MAX];
	int rc = -1, fd;

	if (sodium_init() < 0)
		return err_set(err, errlen, "libsodium cannot start");
	snprintf(name, sizeof(name), IDENTITY_FILE ".new.%ld", (long)getpid());
	if (key_path(dir, IDENTITY_FILE, path, sizeof(path), err, errlen) ||
	    key_path(dir, name, tmp, sizeof(tmp), err, errlen))
		return -1;
	crypto_box_keypair(pk, sk);
	sodium_bin2base64(text, sizeof(text), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	strcat(text, "\n");
	if (atomic_write_file(tmp, text, strlen(text), 0600, err, errlen))
		goto out;
	if (link(tmp, path) == 0)
		rc = 0;
	else if (errno == EEXIST)
		rc = 1;
	else
		err_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
	unlink(tmp);
	if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);   /* the new name must survive a crash */
		close(fd);
	}
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return rc;
}

int identity_open(const char *dir, struct identity *id, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (key_path(dir, IDENTITY_FILE, path, sizeof(path), err, errlen))
		return -1;
	if (access(path, F_OK) == 0 || errno != ENOENT)
		return identity_load(dir, id, err, errlen);
	if (make_dir(dir, err, errlen) || create_key(dir, err, errlen) < 0)
		return -1;
	return identity_load(dir, id, err, errlen);
}
