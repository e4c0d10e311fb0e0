// SPDX-License-Identifier: MIT
/*
 * Mints leaf certificates for the TLS tests fast: one CA, one shared leaf key, one signature
 * per domain, written in the cert_store layout (<domain>.crt with the leaf and the CA's
 * certificate, and <domain>.key as a hard link to the shared key). The openssl CLI takes ~10 ms per cert; this takes ~50 us, which is what
 * makes the 100,000-domain scale test practical.
 *
 *   mintcerts [-v FROM,TO] [-S SERIAL] CA_CRT CA_KEY LEAF_KEY OUTDIR DOMAIN...
 *   mintcerts [-v FROM,TO] -n COUNT -s SUFFIX CA_CRT CA_KEY LEAF_KEY OUTDIR
 *
 * -v: validity in seconds relative to now (default -3600,7776000: 90 days); "-172800,-86400"
 * makes an expired cert. -S: first serial (default: random 63-bit base). -n/-s: COUNT domains
 * named d<i>.<SUFFIX>. A domain "*.x" is written as _wildcard.x.crt/.key.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

struct minter {
	X509 *ca;
	EVP_PKEY *ca_key;
	EVP_PKEY *leaf_key;
	const char *leaf_key_path;
	const char *outdir;
	long from, to;
	uint64_t serial;
};

static int die(const char *what)
{
	fprintf(stderr, "mintcerts: %s\n", what);
	ERR_print_errors_fp(stderr);
	return 1;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *make_leaf(struct minter *m, const char *domain)
{
	char san[600];
	X509 *x = X509_new();

	snprintf(san, sizeof(san), "DNS:%s", domain);
	if (!x || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), m->serial++) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), m->from) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), m->to) || !X509_set_pubkey(x, m->leaf_key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)domain, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(m->ca)) ||
	    add_ext(x, m->ca, NID_subject_alt_name, san) ||
	    add_ext(x, m->ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, m->ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
	    add_ext(x, m->ca, NID_ext_key_usage, "serverAuth") ||
	    !X509_sign(x, m->ca_key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The key is a hard link to the shared one (a copy where links are refused). */
static int write_key(struct minter *m, const char *path)
{
	FILE *f;
	int ok;

	unlink(path);
	if (link(m->leaf_key_path, path) == 0)
		return 0;
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, m->leaf_key, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int mint_one(struct minter *m, const char *domain)
{
	char crt[1024], key[1024];
	const char *base = domain;
	X509 *x;
	FILE *f;
	int ok;

	if (!strncmp(domain, "*.", 2))
		base = domain + 2;
	snprintf(crt, sizeof(crt), "%s/%s%s.crt", m->outdir, base == domain ? "" : "_wildcard.",
		 base);
	snprintf(key, sizeof(key), "%s/%s%s.key", m->outdir, base == domain ? "" : "_wildcard.",
		 base);
	x = make_leaf(m, domain);
	if (!x)
		return die(domain);
	f = fopen(crt, "w");
	/* the chain as an ACME CA hands it out: the leaf, then its issuer */
	ok = f && PEM_write_X509(f, x) && PEM_write_X509(f, m->ca);
	if (f && fclose(f))
		ok = 0;
	X509_free(x);
	if (!ok || write_key(m, key)) {
		fprintf(stderr, "mintcerts: cannot write %s: %s\n", crt, strerror(errno));
		return 1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: mintcerts [-v FROM,TO] [-S SERIAL] CA_CRT CA_KEY LEAF_KEY OUTDIR "
			"DOMAIN...\n"
			"       mintcerts [-v FROM,TO] -n COUNT -s SUFFIX CA_CRT CA_KEY LEAF_KEY OUTDIR\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct minter m = { .from = -3600, .to = 90L * 86400 };
	const char *suffix = NULL;
	long count = 0;
	int opt;

	if (RAND_bytes((unsigned char *)&m.serial, sizeof(m.serial)) != 1)
		return die("no randomness");
	m.serial = (m.serial >> 2) | 1; /* positive, below 2^62: room to count up */
	while ((opt = getopt(argc, argv, "v:S:n:s:")) != -1) {
		if (opt == 'v' && sscanf(optarg, "%ld,%ld", &m.from, &m.to) == 2)
			continue;
		if (opt == 'S')
			m.serial = strtoull(optarg, NULL, 0);
		else if (opt == 'n')
			count = strtol(optarg, NULL, 10);
		else if (opt == 's')
			suffix = optarg;
		else
			return usage();
	}
	if (argc - optind < 4 || (count > 0) != (suffix != NULL) ||
	    (count == 0 && argc - optind < 5))
		return usage();
	m.ca = read_cert(argv[optind]);
	m.ca_key = read_key(argv[optind + 1]);
	m.leaf_key = read_key(argv[optind + 2]);
	m.leaf_key_path = argv[optind + 2];
	m.outdir = argv[optind + 3];
	if (!m.ca || !m.ca_key || !m.leaf_key)
		return die("cannot read the CA cert, the CA key or the leaf key");
	for (long i = 0; i < count; i++) {
		char name[300];

		snprintf(name, sizeof(name), "d%ld.%s", i, suffix);
		if (mint_one(&m, name))
			return 1;
	}
	for (int i = optind + 4; i < argc; i++)
		if (mint_one(&m, argv[i]))
			return 1;
	X509_free(m.ca);
	EVP_PKEY_free(m.ca_key);
	EVP_PKEY_free(m.leaf_key);
	return 0;
}
