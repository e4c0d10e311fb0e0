/* SPDX-License-Identifier: MIT */
/*
 * Parsed certificates: the TLS backend's objects (OpenSSL X509/EVP_PKEY, mbedTLS
 * x509_crt/pk_context) made from a domain's stored DER on first use and kept in a bounded
 * LRU. Objects are keyed by the store entry's serial, which is new for every load of a
 * domain, so a reloaded domain never serves a stale parse. They are reference counted:
 * evicting one never frees it under a handshake that holds it. Thread-safe.
 */
#ifndef ET_CERTS_CERT_CACHE_H
#define ET_CERTS_CERT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CERT_CHAIN_MAX  8   /* leaf + intermediates */

/* A validated domain's DER, as handed to a cert_parser. */
struct cert_der {
	const unsigned char *cert[CERT_CHAIN_MAX]; /* cert[0] is the leaf */
	size_t cert_len[CERT_CHAIN_MAX];
	size_t n_certs;
	const unsigned char *key;                  /* DER as in the file: PKCS#8, SEC1 or PKCS#1 */
	size_t key_len;
	int key_type;                              /* CERT_KEY_* */
};

enum { CERT_KEY_EC = 1, CERT_KEY_RSA = 2 };

/* The backend's side: DER in, its own objects out. */
struct cert_parser {
	/* Returns the backend's parsed chain + key, or NULL with a reason in err. */
	void *(*parse)(const struct cert_der *der, char *err, size_t errlen);
	void (*free)(void *parsed);
};

struct cert_obj; /* a parsed cert+key, reference counted */
void *cert_obj_parsed(const struct cert_obj *o);
const char *cert_obj_domain(const struct cert_obj *o); /* "*.example.com" for a wildcard */
void cert_obj_put(struct cert_obj *o);

struct cert_cache;

/* slots: how many parsed objects are kept (at least 1). */
struct cert_cache *cert_cache_new(const struct cert_parser *parser, size_t slots);
/* Drops the cache's references; objects still held live on until released. */
void cert_cache_free(struct cert_cache *c);

/* The cached object for the entry serial with a reference for cert_obj_put, or NULL (a
   miss: the caller then has it parsed with cert_cache_add). */
struct cert_obj *cert_cache_find(struct cert_cache *c, uint64_t serial);
/* Parses der (domain's, entry serial) outside the cache's lock and caches it, unless another
   thread did meanwhile. A reference for cert_obj_put, or NULL with a reason in err. */
struct cert_obj *cert_cache_add(struct cert_cache *c, uint64_t serial, const char *domain,
				const struct cert_der *der, char *err, size_t errlen);

struct cert_cache_stats {
	size_t entries;
	uint64_t hits, misses, evictions;
};
void cert_cache_stats(struct cert_cache *c, struct cert_cache_stats *out);

#endif
