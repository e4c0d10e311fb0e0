/* SPDX-License-Identifier: MIT */
/*
 * Read-mostly shared state swapped by pointer with reference counts.
 *
 * A writer (config reload, control socket) builds a complete new object and publishes it.
 * Each worker keeps its own reference and compares one atomic generation number per loop
 * turn; only when it changed does the worker take the lock to pick up the new object and drop
 * the old one. The request path therefore takes no lock, and the last worker to let go of an
 * old object frees it, so a reload never waits for busy workers.
 */
#ifndef ET_CORE_SNAPSHOT_H
#define ET_CORE_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct snapshot {
	atomic_uint refs;
	void (*release)(struct snapshot *s); /* frees the object embedding it */
};

struct snapshot_slot {
	pthread_mutex_t lock;
	struct snapshot *cur;
	atomic_uint_fast64_t gen;
};

/* A worker's view of a slot. */
struct snapshot_ref {
	struct snapshot *s;
	uint64_t gen;
};

void snapshot_init(struct snapshot *s, void (*release)(struct snapshot *s));
void snapshot_slot_init(struct snapshot_slot *slot, struct snapshot *first);
/* Drops the slot's reference; workers must have dropped theirs. */
void snapshot_slot_destroy(struct snapshot_slot *slot);

/* Makes s current; the slot takes over the caller's reference. */
void snapshot_publish(struct snapshot_slot *slot, struct snapshot *s);
/* A new reference to the current object (caller puts it). */
struct snapshot *snapshot_get(struct snapshot_slot *slot);
void snapshot_put(struct snapshot *s);

/* Worker side: refresh ref if the slot moved on. Returns the current object. */
static inline struct snapshot *snapshot_ref_sync(struct snapshot_slot *slot, struct snapshot_ref *r)
{
	uint64_t g = atomic_load_explicit(&slot->gen, memory_order_acquire);

	if (r->s && g == r->gen)
		return r->s;
	if (r->s)
		snapshot_put(r->s);
	pthread_mutex_lock(&slot->lock);
	r->s = slot->cur;
	atomic_fetch_add_explicit(&r->s->refs, 1, memory_order_relaxed);
	r->gen = atomic_load_explicit(&slot->gen, memory_order_relaxed);
	pthread_mutex_unlock(&slot->lock);
	return r->s;
}

static inline void snapshot_ref_drop(struct snapshot_ref *r)
{
	if (r->s)
		snapshot_put(r->s);
	r->s = NULL;
	r->gen = 0;
}

#endif
