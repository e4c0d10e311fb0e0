/* SPDX-License-Identifier: MIT */
/*
 * Certificate checks: a PEM chain and private key read and checked for one domain (chain
 * order, issuer validity, key type and size, key match, the leaf's validity and names), with
 * OpenSSL whatever the TLS backend (libcrypto is always linked). The cert store checks every
 * pair it loads here; the control socket and bundles check pairs before they are written.
 * Signatures are the client's to check: verifying 100,000 of them would slow every start.
 */
#ifndef ET_CERTS_CERT_CHECK_H
#define ET_CERTS_CERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Lower-case DNS name, optionally "*." + name; labels [a-z0-9-], 1..63 bytes, >= 2 labels. */
bool cert_domain_valid(const char *d);

/*
 * Checks one PEM chain + key for domain (files in memory) exactly as a load does: 0, or -1
 * with the reason in err. One checker serves many checks (a bundle's, a directory's), which
 * then cost the parse and the checks alone, not the key decoder's set-up (OpenSSL 3 builds a
 * decoder chain for every PEM key read, ~0.4 ms). Not shared between threads.
 */
struct cert_checker;
struct cert_checker *cert_checker_new(void);
int cert_checker_check(struct cert_checker *c, const char *domain, const void *crt,
		       size_t crt_len, const void *key, size_t key_len, time_t now, char *err,
		       size_t errlen);
void cert_checker_free(struct cert_checker *c);

/* The steps of a check, for the store, which keeps what a check parsed. */
struct cert_pair {
	STACK_OF(X509) *chain;  /* leaf first */
	EVP_PKEY *key;
	unsigned char *key_der; /* as in the file: PKCS#8, SEC1 or PKCS#1 */
	long key_der_len;
};

/* Parses crt (PEM chain) and key (PEM key) into p. 0, or -1 with err (p to be freed). */
int cert_checker_read(struct cert_checker *c, const void *crt, size_t crt_len, const void *key,
		      size_t key_len, struct cert_pair *p, char *err, size_t errlen);
/* The checks on a parsed pair for domain at now. 0, or -1 with err. */
int cert_pair_check(const char *domain, const struct cert_pair *p, time_t now, char *err,
		    size_t errlen);
void cert_pair_free(struct cert_pair *p);

/* An ASN.1 time as seconds since the epoch (0 when it cannot be read). */
time_t cert_asn1_time(const ASN1_TIME *t);
/* OpenSSL's last error as text into buf ("no details" when there is none); clears them. */
void cert_openssl_reason(char *buf, size_t len);

#endif
