/* SPDX-License-Identifier: MIT */
/*
 * The cert store's snapshots (inside certs/ only): every name's entry, found by a seeded
 * 64-bit hash in O(1).
 *
 * A snapshot splits the names by hash into shards of about SHARD_TARGET entries: a reload of
 * one domain builds a copy of its shard alone and puts it in place. A reader that took the
 * snapshot before may still be looking at the shard it replaced, so a replaced shard stays
 * with the snapshot until the last reader lets go; after as many replacements as there are
 * shards, the next one starts a fresh snapshot (one pointer per shard copied: still O(1) per
 * reload on average, and never more than twice the shards' memory).
 */
#ifndef ET_CERTS_CERT_SNAP_H
#define ET_CERTS_CERT_SNAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certs/cert_entry.h"

#define SHARD_TARGET 64

/* Owned by one snapshot: in its table, or retired there. */
struct cert_shard {
	size_t n, cap;     /* cap is a power of two, load <= 1/2 */
	struct cert_entry **slots;
};

struct cert_snap {
	atomic_uint refs;
	size_t n, bytes;   /* names and their entries' bytes; changed under snap_lock */
	size_t nshards;    /* a power of two; shard of hash h: (h >> 32) & (nshards - 1) */
	_Atomic(struct cert_shard *) *shards;
	struct cert_shard **retired; /* replaced in place; freed with the snapshot */
	size_t n_retired, retired_cap;
};

/* Walks a snapshot's entries: it.shard = it.slot = 0 to start; NULL at the end. */
struct snap_iter {
	size_t shard, slot;
};

/* An empty snapshot sized for about n_hint names. NULL when memory runs out. */
struct cert_snap *cert_snap_new(size_t n_hint);
void cert_snap_put(struct cert_snap *s); /* NULL is fine */
struct cert_entry *cert_snap_find(const struct cert_snap *s, const char *name, size_t len,
				  uint64_t h);
/* Into a snapshot no reader sees yet: takes over the caller's reference to e (dropped when
   memory runs out: -1); the name must not be present yet. */
int cert_snap_insert(struct cert_snap *s, struct cert_entry *e);
struct cert_entry *cert_snap_next(const struct cert_snap *s, struct snap_iter *it);
/* A fresh snapshot of cur's entries with prev left out and e (NULL: none) put in. */
struct cert_snap *cert_snap_rebuilt(const struct cert_snap *cur, const struct cert_entry *prev,
				    struct cert_entry *e);

/* In place, for a reload of one name: */
/* Whether the next change should make a fresh snapshot instead: as many shards retired as
   there are, or the shards past four times their target. */
bool cert_snap_wants_fresh(const struct cert_snap *s);
/* A copy of the shard that holds hash h, prev left out and e (NULL: none) put in (holding
   its own reference), and that shard's index in *i. NULL when memory runs out. */
struct cert_shard *cert_snap_shard_with(const struct cert_snap *s, uint64_t h,
					const struct cert_entry *prev, struct cert_entry *e,
					size_t *i);
/* Puts sh in place of shard i, which is retired with the snapshot; n and bytes follow prev
   -> e. Under the lock the caller's readers of n, bytes and cert_snap_table_bytes take. -1
   (sh dropped, nothing changed) when memory runs out. */
int cert_snap_replace(struct cert_snap *s, size_t i, struct cert_shard *sh,
		      const struct cert_entry *prev, const struct cert_entry *e);
struct cert_shard *cert_snap_shard(const struct cert_snap *s, size_t i);
/* The snapshot's own tables: shard pointers and slots, the current ones and those retired. */
size_t cert_snap_table_bytes(const struct cert_snap *s);

#endif
