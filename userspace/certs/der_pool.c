// SPDX-License-Identifier: MIT
/* DER pool: one copy of each certificate that cert store entries share (see der_pool.h). */
#include "certs/der_pool.h"
#include "core/hash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BUCKETS 256 /* a handful of issuers in practice; chains stay short even at 10k */

struct pooled {
	struct der_shared pub;  /* first: the handle callers get */
	struct pooled *next;    /* bucket chain */
	uint64_t hash;
	size_t refs;            /* under the pool's lock: gets and puts are rare (loads, frees) */
	unsigned char bytes[];
};

struct der_pool {
	pthread_mutex_t lock;
	size_t refs;            /* the owner's + one per pooled certificate */
	size_t n, bytes;
	struct pooled *bucket[POOL_BUCKETS];
};

struct der_pool *der_pool_new(void)
{
	struct der_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->refs = 1;
	return p;
}

/* Drops one reference, with the lock held; frees the pool (and unlocks) at the last. */
static void pool_unref_locked(struct der_pool *p)
{
	bool last = --p->refs == 0;

	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void der_pool_release(struct der_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	pool_unref_locked(p);
}

const struct der_shared *der_pool_get(struct der_pool *p, const unsigned char *der, size_t len)
{
	uint64_t h = hash_bytes(0, der, len);
	struct pooled **b = &p->bucket[h % POOL_BUCKETS], *d;

	if (len > UINT32_MAX)
		return NULL;
	pthread_mutex_lock(&p->lock);
	for (d = *b; d; d = d->next) {
		if (d->hash == h && d->pub.len == len && !memcmp(d->bytes, der, len)) {
			d->refs++;
			pthread_mutex_unlock(&p->lock);
			return &d->pub;
		}
	}
	d = malloc(sizeof(*d) + len);
	if (d) {
		memcpy(d->bytes, der, len);
		d->pub.len = (uint32_t)len;
		d->pub.der = d->bytes;
		d->hash = h;
		d->refs = 1;
		d->next = *b;
		*b = d;
		p->refs++;
		p->n++;
		p->bytes += len;
	}
	pthread_mutex_unlock(&p->lock);
	return d ? &d->pub : NULL;
}

void der_pool_put(struct der_pool *p, const struct der_shared *pub)
{
	struct pooled *d = (struct pooled *)pub, **link;

	if (!pub)
		return;
	pthread_mutex_lock(&p->lock);
	if (--d->refs) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	for (link = &p->bucket[d->hash % POOL_BUCKETS]; *link != d; link = &(*link)->next)
		;
	*link = d->next;
	p->n--;
	p->bytes -= d->pub.len;
	free(d);
	pool_unref_locked(p);
}

void der_pool_count(struct der_pool *p, size_t *certs, size_t *bytes)
{
	pthread_mutex_lock(&p->lock);
	*certs = p->n;
	*bytes = p->bytes;
	pthread_mutex_unlock(&p->lock);
}
