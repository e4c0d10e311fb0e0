// SPDX-License-Identifier: MIT
#include "certs/cert_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cert_obj {
	atomic_uint refs;
	uint64_t serial;
	const struct cert_parser *parser;
	void *parsed;
	struct cert_obj *prev, *next; /* LRU list, most recent first */
	struct cert_obj *hnext;       /* serial hash chain */
	char domain[];
};

struct cert_cache {
	const struct cert_parser *parser;
	pthread_mutex_t lock; /* guards all below */
	size_t cap, n, nb;    /* nb: hash buckets, a power of two */
	struct cert_obj **buckets;
	struct cert_obj *head, *tail;
	uint64_t hits, misses, evictions;
};

static void obj_free(struct cert_obj *o)
{
	o->parser->free(o->parsed);
	free(o);
}

void cert_obj_put(struct cert_obj *o)
{
	if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		obj_free(o);
}

void *cert_obj_parsed(const struct cert_obj *o)
{
	return o->parsed;
}

const char *cert_obj_domain(const struct cert_obj *o)
{
	return o->domain;
}

static size_t lru_bucket(const struct cert_cache *c, uint64_t serial)
{
	return (size_t)(serial * 0x9e3779b97f4a7c15ull >> 20) & (c->nb - 1);
}

static void lru_unlink(struct cert_cache *c, struct cert_obj *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		c->head = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		c->tail = o->prev;
	o->prev = o->next = NULL;
}

static void lru_push_front(struct cert_cache *c, struct cert_obj *o)
{
	o->prev = NULL;
	o->next = c->head;
	if (c->head)
		c->head->prev = o;
	c->head = o;
	if (!c->tail)
		c->tail = o;
}

static struct cert_obj *lru_find(struct cert_cache *c, uint64_t serial)
{
	struct cert_obj *o = c->buckets[lru_bucket(c, serial)];

	while (o && o->serial != serial)
		o = o->hnext;
	return o;
}

static void lru_remove(struct cert_cache *c, struct cert_obj *o)
{
	struct cert_obj **pp = &c->buckets[lru_bucket(c, o->serial)];

	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	lru_unlink(c, o);
	c->n--;
}

/* Under the lock: the cached object with a reference for the caller, or NULL. */
static struct cert_obj *lru_hit(struct cert_cache *c, uint64_t serial)
{
	struct cert_obj *o = lru_find(c, serial);

	if (!o)
		return NULL;
	lru_unlink(c, o);
	lru_push_front(c, o);
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

/* Under the lock: inserts o (one reference for the cache), evicting the least recent. */
static void lru_insert(struct cert_cache *c, struct cert_obj *o)
{
	size_t b = lru_bucket(c, o->serial);
	struct cert_obj *victim = NULL;

	o->hnext = c->buckets[b];
	c->buckets[b] = o;
	lru_push_front(c, o);
	c->n++;
	if (c->n > c->cap) {
		victim = c->tail;
		lru_remove(c, victim);
		c->evictions++;
		/* Handshakes holding it keep it alive; the cache's reference goes. */
		cert_obj_put(victim);
	}
}

static struct cert_obj *obj_parse(struct cert_cache *c, uint64_t serial, const char *domain,
				  const struct cert_der *der, char *err, size_t errlen)
{
	size_t len = strlen(domain);
	struct cert_obj *o = calloc(1, sizeof(*o) + len + 1);

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->parsed = c->parser->parse(der, err, errlen);
	if (!o->parsed) {
		free(o);
		return NULL;
	}
	atomic_init(&o->refs, 2); /* the cache's and the caller's */
	o->serial = serial;
	o->parser = c->parser;
	memcpy(o->domain, domain, len + 1);
	return o;
}

struct cert_obj *cert_cache_find(struct cert_cache *c, uint64_t serial)
{
	struct cert_obj *o;

	pthread_mutex_lock(&c->lock);
	o = lru_hit(c, serial);
	if (o)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return o;
}

struct cert_obj *cert_cache_add(struct cert_cache *c, uint64_t serial, const char *domain,
				const struct cert_der *der, char *err, size_t errlen)
{
	struct cert_obj *o = obj_parse(c, serial, domain, der, err, errlen), *raced;

	if (!o)
		return NULL;
	pthread_mutex_lock(&c->lock);
	raced = lru_hit(c, serial);
	if (!raced)
		lru_insert(c, o);
	pthread_mutex_unlock(&c->lock);
	if (!raced)
		return o;
	atomic_store(&o->refs, 1);
	cert_obj_put(o);
	return raced;
}

void cert_cache_stats(struct cert_cache *c, struct cert_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	out->entries = c->n;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}

struct cert_cache *cert_cache_new(const struct cert_parser *parser, size_t slots)
{
	struct cert_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->parser = parser;
	c->cap = slots ? slots : 1;
	c->nb = 16;
	while (c->nb < c->cap)
		c->nb <<= 1;
	c->buckets = calloc(c->nb, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void cert_cache_free(struct cert_cache *c)
{
	if (!c)
		return;
	while (c->head) {
		struct cert_obj *o = c->head;

		lru_remove(c, o);
		cert_obj_put(o);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
