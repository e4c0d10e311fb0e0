/* SPDX-License-Identifier: MIT */
/*
 * Test certificates made at test time with libcrypto: a CA, leaves for given names (ECDSA
 * P-256 or RSA), expired / not-yet-valid / mismatched variants, written in the cert_store
 * directory layout. Included by the TLS and cert store unit tests.
 */
#ifndef ET_TESTS_TLS_CERTS_H
#define ET_TESTS_TLS_CERTS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct tc_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static inline EVP_PKEY *tc_ec_key(void)
{
	return EVP_EC_gen("P-256");
}

static inline EVP_PKEY *tc_rsa_key(unsigned bits)
{
	return EVP_RSA_gen(bits);
}

static inline void tc_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
}

/*
 * A cert for cn with the given subjectAltName list ("DNS:a,DNS:b", NULL for none), valid from
 * now+from_s to now+to_s, signed by ca (NULL: self-signed with key).
 */
static inline X509 *tc_cert(const char *cn, const char *sans, EVP_PKEY *key, const struct tc_ca *ca,
		     long from_s, long to_s, int is_ca)
{
	static unsigned long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca->cert) : name);
	tc_ext(x, NULL, NID_subject_key_identifier, "hash");
	if (ca)
		tc_ext(x, ca->cert, NID_authority_key_identifier, "keyid");
	if (is_ca)
		tc_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
	if (sans)
		tc_ext(x, NULL, NID_subject_alt_name, sans);
	if (!X509_sign(x, ca ? ca->key : key, EVP_sha256()))
		abort();
	return x;
}

static inline struct tc_ca tc_ca_new(const char *cn)
{
	struct tc_ca ca;

	ca.key = tc_ec_key();
	ca.cert = tc_cert(cn, NULL, ca.key, NULL, -3600, 10L * 365 * 86400, 1);
	return ca;
}

static inline void tc_ca_free(struct tc_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

static inline char *tc_pem_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static inline char *tc_pem_key(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static inline void tc_write_file(const char *dir, const char *file, const char *a, const char *b)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(a, f);
	if (b)
		fputs(b, f);
	fclose(f);
}

/* Writes <stem>.crt (leaf, then issuer if given) and <stem>.key. */
static inline void tc_write_pair(const char *dir, const char *stem, X509 *leaf, X509 *issuer,
			  EVP_PKEY *key)
{
	char file[512];
	char *c1 = tc_pem_cert(leaf), *c2 = issuer ? tc_pem_cert(issuer) : NULL;
	char *k = tc_pem_key(key);

	snprintf(file, sizeof(file), "%s.crt", stem);
	tc_write_file(dir, file, c1, c2);
	snprintf(file, sizeof(file), "%s.key", stem);
	tc_write_file(dir, file, k, NULL);
	free(c1);
	free(c2);
	free(k);
}

/* A leaf for domain (SAN DNS:domain) signed by ca, valid now, written under stem. */
static inline void tc_domain(const char *dir, const char *stem, const char *domain,
		      const struct tc_ca *ca, EVP_PKEY *key)
{
	char san[512];
	X509 *x;

	snprintf(san, sizeof(san), "DNS:%s", domain);
	x = tc_cert(domain, san, key, ca, -3600, 90L * 86400, 0);
	tc_write_pair(dir, stem, x, ca->cert, key);
	X509_free(x);
}

static inline char *tc_tmpdir(void)
{
	char tmpl[] = "/tmp/et-tls-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d)
		abort();
	return strdup(d);
}

static inline void tc_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[1024];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static inline void tc_unlink(const char *dir, const char *file)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
}

/* Bytes of memory the process holds: RSS in KiB from /proc. */
static inline long tc_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

#endif
