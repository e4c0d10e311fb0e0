// SPDX-License-Identifier: MIT
#include "certs/cert_snap.h"

#include <stdlib.h>
#include <string.h>

static struct cert_shard *shard_new(size_t n_hint)
{
	struct cert_shard *sh = calloc(1, sizeof(*sh));
	size_t cap = 8;

	if (!sh)
		return NULL;
	while (cap < n_hint * 2)
		cap <<= 1;
	sh->slots = calloc(cap, sizeof(*sh->slots));
	if (!sh->slots) {
		free(sh);
		return NULL;
	}
	sh->cap = cap;
	return sh;
}

static void cert_shard_free(struct cert_shard *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < sh->cap; i++)
		cert_entry_put(sh->slots[i]);
	free(sh->slots);
	free(sh);
}

static struct cert_entry *shard_find(const struct cert_shard *sh, const char *name, size_t len,
				     uint64_t h)
{
	for (size_t i = h & (sh->cap - 1);; i = (i + 1) & (sh->cap - 1)) {
		struct cert_entry *e = sh->slots[i];

		if (!e)
			return NULL;
		if (e->hash == h && e->name_len == len && memcmp(cert_entry_name(e), name, len) == 0)
			return e;
	}
}

static void shard_place(struct cert_shard *sh, struct cert_entry *e)
{
	size_t i = e->hash & (sh->cap - 1);

	while (sh->slots[i])
		i = (i + 1) & (sh->cap - 1);
	sh->slots[i] = e;
	sh->n++;
}

/* Takes over the caller's reference to e; the name must not be present yet. Only for a
   shard no reader sees yet: it may grow. -1 (e not taken) when memory runs out. */
static int shard_insert(struct cert_shard *sh, struct cert_entry *e)
{
	if ((sh->n + 1) * 2 > sh->cap) {
		struct cert_entry **old = sh->slots;
		size_t cap = sh->cap;

		sh->slots = calloc(cap * 2, sizeof(*sh->slots));
		if (!sh->slots) {
			sh->slots = old;
			return -1;
		}
		sh->cap = cap * 2;
		sh->n = 0;
		for (size_t i = 0; i < cap; i++)
			if (old[i])
				shard_place(sh, old[i]);
		free(old);
	}
	shard_place(sh, e);
	return 0;
}

struct cert_snap *cert_snap_new(size_t n_hint)
{
	struct cert_snap *s = calloc(1, sizeof(*s));
	size_t nshards = 1;

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	while (nshards * SHARD_TARGET < n_hint)
		nshards <<= 1;
	s->shards = calloc(nshards, sizeof(*s->shards));
	if (!s->shards) {
		free(s);
		return NULL;
	}
	s->nshards = nshards;
	for (size_t i = 0; i < nshards; i++) {
		struct cert_shard *sh = shard_new(n_hint / nshards + 1);

		if (!sh) {
			while (i--)
				cert_shard_free(atomic_load(&s->shards[i]));
			free(s->shards);
			free(s);
			return NULL;
		}
		atomic_init(&s->shards[i], sh);
	}
	return s;
}

void cert_snap_put(struct cert_snap *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->nshards; i++)
		cert_shard_free(atomic_load(&s->shards[i]));
	for (size_t i = 0; i < s->n_retired; i++)
		cert_shard_free(s->retired[i]);
	free(s->shards);
	free(s->retired);
	free(s);
}

static size_t cert_snap_shard_of(const struct cert_snap *s, uint64_t h)
{
	return (size_t)(h >> 32) & (s->nshards - 1);
}

struct cert_shard *cert_snap_shard(const struct cert_snap *s, size_t i)
{
	return atomic_load_explicit(&s->shards[i], memory_order_acquire);
}

struct cert_entry *cert_snap_find(const struct cert_snap *s, const char *name, size_t len,
				    uint64_t h)
{
	return shard_find(cert_snap_shard(s, cert_snap_shard_of(s, h)), name, len, h);
}

int cert_snap_insert(struct cert_snap *s, struct cert_entry *e)
{
	if (shard_insert(cert_snap_shard(s, cert_snap_shard_of(s, e->hash)), e)) {
		cert_entry_put(e);
		return -1;
	}
	s->n++;
	s->bytes += cert_entry_size(e);
	return 0;
}

struct cert_entry *cert_snap_next(const struct cert_snap *s, struct snap_iter *it)
{
	for (; it->shard < s->nshards; it->shard++, it->slot = 0) {
		const struct cert_shard *sh = cert_snap_shard(s, it->shard);

		while (it->slot < sh->cap) {
			struct cert_entry *e = sh->slots[it->slot++];

			if (e)
				return e;
		}
	}
	return NULL;
}

/* A copy of sh with prev left out and e (NULL: none) put in; NULL when memory runs out. */
static struct cert_shard *shard_with(const struct cert_shard *sh, const struct cert_entry *prev,
				     struct cert_entry *e)
{
	struct cert_shard *c = shard_new(sh->n + 1);

	if (!c)
		return NULL;
	for (size_t i = 0; i < sh->cap; i++)
		if (sh->slots[i] && sh->slots[i] != prev)
			shard_place(c, cert_entry_ref(sh->slots[i]));
	if (e)
		shard_place(c, cert_entry_ref(e));
	return c;
}

struct cert_snap *cert_snap_rebuilt(const struct cert_snap *cur,
				      const struct cert_entry *prev, struct cert_entry *e)
{
	struct cert_snap *s = cert_snap_new(cur->n + 1);
	struct snap_iter it = { 0 };
	struct cert_entry *x;

	while (s && (x = cert_snap_next(cur, &it)))
		if (x != prev && cert_snap_insert(s, cert_entry_ref(x)))
			goto fail;
	if (s && e && cert_snap_insert(s, cert_entry_ref(e)))
		goto fail;
	return s;
fail:
	cert_snap_put(s);
	return NULL;
}

bool cert_snap_wants_fresh(const struct cert_snap *s)
{
	return s->n_retired >= s->nshards || s->n + 1 > s->nshards * SHARD_TARGET * 4;
}

struct cert_shard *cert_snap_shard_with(const struct cert_snap *s, uint64_t h,
					const struct cert_entry *prev, struct cert_entry *e,
					size_t *i)
{
	*i = cert_snap_shard_of(s, h);
	return shard_with(cert_snap_shard(s, *i), prev, e);
}

int cert_snap_replace(struct cert_snap *s, size_t i, struct cert_shard *sh,
		      const struct cert_entry *prev, const struct cert_entry *e)
{
	if (s->n_retired == s->retired_cap) {
		size_t cap = s->retired_cap ? s->retired_cap * 2 : 8;
		struct cert_shard **r = realloc(s->retired, cap * sizeof(*r));

		if (!r) {
			cert_shard_free(sh);
			return -1;
		}
		s->retired = r;
		s->retired_cap = cap;
	}
	s->retired[s->n_retired++] = cert_snap_shard(s, i);
	atomic_store_explicit(&s->shards[i], sh, memory_order_release);
	s->n = s->n - (prev != NULL) + (e != NULL);
	s->bytes = s->bytes - (prev ? cert_entry_size(prev) : 0) + (e ? cert_entry_size(e) : 0);
	return 0;
}

size_t cert_snap_table_bytes(const struct cert_snap *s)
{
	size_t b = s->nshards * sizeof(*s->shards) + s->n_retired * sizeof(*s->retired);

	for (size_t i = 0; i < s->nshards; i++)
		b += sizeof(struct cert_shard) + cert_snap_shard(s, i)->cap * sizeof(void *);
	for (size_t i = 0; i < s->n_retired; i++)
		b += sizeof(struct cert_shard) + s->retired[i]->cap * sizeof(void *);
	return b;
}
