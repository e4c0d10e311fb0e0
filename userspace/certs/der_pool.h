/* SPDX-License-Identifier: MIT */
/*
 * DER pool: certificates that many cert store entries hold, stored once. The customers of
 * one CA share its few intermediates, so at 100,000 domains a copy per entry is tens of MB.
 * Each certificate is reference-counted; the pool lives until its last certificate and its
 * owner have let go, so entries may outlive the store that made them.
 */
#ifndef EDGETRACK_CERTS_DER_POOL_H
#define EDGETRACK_CERTS_DER_POOL_H

#include <stddef.h>
#include <stdint.h>

struct der_pool;

struct der_shared {
	uint32_t len;
	const unsigned char *der;
};

struct der_pool *der_pool_new(void);
/* The owner's reference; the pool goes when its certificates have gone too. */
void der_pool_release(struct der_pool *p);

/* A reference to the pool's copy of der[0..len), shared with every holder of the same bytes
 * (copied in if new). NULL when out of memory. Thread-safe. */
const struct der_shared *der_pool_get(struct der_pool *p, const unsigned char *der, size_t len);
void der_pool_put(struct der_pool *p, const struct der_shared *d);

/* Distinct certificates held, and their bytes. */
void der_pool_count(struct der_pool *p, size_t *certs, size_t *bytes);

#endif
