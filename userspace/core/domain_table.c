// SPDX-License-Identifier: MIT
#include "core/domain_table.h"
#include "core/err.h"

#include "core/hostname.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/*
 * A slot names its entry by offset into one string arena (names never move once appended; the
 * arena itself may be reallocated while building, hence offsets rather than pointers).
 * Wildcards are keyed by their suffix ("example.com" for "*.example.com") with wild = 1, so
 * the wildcard probe for "a.example.com" hashes "example.com" once and needs no string work.
 */
struct slot {
	uint64_t hash;
	uint32_t off;   /* name in config form, in the arena */
	uint16_t len;
	uint8_t wild;
	uint8_t used;
	void *value;
};

struct domain_table {
	struct slot *slots;
	size_t cap;     /* power of two */
	size_t count;
	uint64_t seed;
	char *names;
	size_t names_len, names_cap;
};

#define MIN_CAP 16

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finalizer: full avalanche of every input bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Word-at-a-time multiply/rotate hash: host names are short, this is a few ns per lookup. */
static uint64_t name_hash(uint64_t seed, const char *s, size_t len, int wild)
{
	uint64_t h = seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)wild;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h = (h << 31) | (h >> 33);
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return mix64(h);
}

static uint64_t new_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	/* Early boot without entropy: still vary per table, which is all the seed is for. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts);
}

struct domain_table *domain_table_new(size_t size_hint)
{
	struct domain_table *t = calloc(1, sizeof(*t));
	size_t cap = MIN_CAP;

	if (!t)
		return NULL;
	while (cap / 2 < size_hint && cap < ((size_t)1 << 40))
		cap <<= 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	t->seed = new_seed();
	return t;
}

/* Key of a slot: the suffix after "*." for wildcards, the whole name otherwise. */
static const char *slot_key(const struct domain_table *t, const struct slot *s, size_t *klen)
{
	size_t skip = s->wild ? 2 : 0;

	*klen = s->len - skip;
	return t->names + s->off + skip;
}

static const struct slot *find(const struct domain_table *t, const char *key, size_t len,
			       int wild, uint64_t h)
{
	size_t mask = t->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct slot *s = &t->slots[i];
		const char *k;
		size_t klen;

		if (!s->used)
			return NULL;
		if (s->hash != h || s->wild != wild)
			continue;
		k = slot_key(t, s, &klen);
		if (klen == len && memcmp(k, key, len) == 0)
			return s;
	}
}

static void place(struct slot *slots, size_t cap, const struct slot *src)
{
	size_t mask = cap - 1;
	size_t i = src->hash & mask;

	while (slots[i].used)
		i = (i + 1) & mask;
	slots[i] = *src;
}

static int grow(struct domain_table *t)
{
	size_t cap = t->cap * 2;
	struct slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			place(slots, cap, &t->slots[i]);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static int arena_append(struct domain_table *t, const char *name, size_t len, uint32_t *off)
{
	if (t->names_len + len > UINT32_MAX)
		return -1;
	if (t->names_len + len > t->names_cap) {
		size_t cap = t->names_cap ? t->names_cap * 2 : 4096;
		char *n;

		while (cap < t->names_len + len)
			cap *= 2;
		n = realloc(t->names, cap);
		if (!n)
			return -1;
		t->names = n;
		t->names_cap = cap;
	}
	memcpy(t->names + t->names_len, name, len);
	*off = (uint32_t)t->names_len;
	t->names_len += len;
	return 0;
}

int domain_table_add(struct domain_table *t, const char *name, size_t len, void *value,
		     char *err, size_t errlen)
{
	char norm[HOSTNAME_MAX + 1];
	struct slot s = { 0 };
	int n, wild;

	if (!value) {
		err_set(err, errlen, "domain needs a value");
		return -1;
	}
	n = hostname_normalize(name, len, norm, sizeof(norm), HOSTNAME_ALLOW_WILDCARD);
	if (n < 0) {
		err_set(err, errlen, "invalid domain name '%.*s'", (int)(len > 300 ? 300 : len),
			name ? name : "");
		return -1;
	}
	wild = hostname_is_wildcard(norm, (size_t)n);
	s.hash = name_hash(t->seed, norm + (wild ? 2 : 0), (size_t)n - (wild ? 2 : 0), wild);
	if (find(t, norm + (wild ? 2 : 0), (size_t)n - (wild ? 2 : 0), wild, s.hash)) {
		err_set(err, errlen, "duplicate domain '%s'", norm);
		return -1;
	}
	if ((t->count + 1) * 2 > t->cap && grow(t) < 0) {
		err_set(err, errlen, "out of memory adding '%s'", norm);
		return -1;
	}
	if (arena_append(t, norm, (size_t)n, &s.off) < 0) {
		err_set(err, errlen, "out of memory adding '%s'", norm);
		return -1;
	}
	s.len = (uint16_t)n;
	s.wild = (uint8_t)wild;
	s.used = 1;
	s.value = value;
	place(t->slots, t->cap, &s);
	t->count++;
	return 0;
}

void *domain_table_lookup_ex(const struct domain_table *t, const char *host, size_t len,
			     int *wildcard)
{
	const struct slot *s;
	const char *dot;

	if (wildcard)
		*wildcard = 0;
	if (!t || !host || len == 0)
		return NULL;
	s = find(t, host, len, 0, name_hash(t->seed, host, len, 0));
	if (s)
		return s->value;
	/* Only the label right below the wildcard may vary: strip exactly one label. */
	dot = memchr(host, '.', len);
	if (!dot || dot == host || (size_t)(dot - host) + 1 >= len)
		return NULL;
	len -= (size_t)(dot - host) + 1;
	s = find(t, dot + 1, len, 1, name_hash(t->seed, dot + 1, len, 1));
	if (!s)
		return NULL;
	if (wildcard)
		*wildcard = 1;
	return s->value;
}

void *domain_table_lookup(const struct domain_table *t, const char *host, size_t len)
{
	return domain_table_lookup_ex(t, host, len, NULL);
}

size_t domain_table_count(const struct domain_table *t)
{
	return t ? t->count : 0;
}

int domain_table_foreach(const struct domain_table *t,
			 int (*fn)(const char *name, size_t len, void *value, void *arg),
			 void *arg)
{
	for (size_t i = 0; t && i < t->cap; i++) {
		const struct slot *s = &t->slots[i];
		int rc;

		if (!s->used)
			continue;
		rc = fn(t->names + s->off, s->len, s->value, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void domain_table_free(struct domain_table *t, void (*free_value)(void *value))
{
	if (!t)
		return;
	for (size_t i = 0; free_value && i < t->cap; i++)
		if (t->slots[i].used)
			free_value(t->slots[i].value);
	free(t->slots);
	free(t->names);
	free(t);
}
