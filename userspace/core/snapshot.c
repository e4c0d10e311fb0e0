// SPDX-License-Identifier: MIT
#include "core/snapshot.h"

#include <stddef.h>

void snapshot_init(struct snapshot *s, void (*release)(struct snapshot *s))
{
	atomic_init(&s->refs, 1);
	s->release = release;
}

void snapshot_slot_init(struct snapshot_slot *slot, struct snapshot *first)
{
	pthread_mutex_init(&slot->lock, NULL);
	slot->cur = first;
	atomic_init(&slot->gen, 1);
}

void snapshot_slot_destroy(struct snapshot_slot *slot)
{
	if (slot->cur)
		snapshot_put(slot->cur);
	slot->cur = NULL;
	pthread_mutex_destroy(&slot->lock);
}

void snapshot_publish(struct snapshot_slot *slot, struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->cur;
	slot->cur = s;
	atomic_fetch_add_explicit(&slot->gen, 1, memory_order_release);
	pthread_mutex_unlock(&slot->lock);
	if (old)
		snapshot_put(old);
}

struct snapshot *snapshot_get(struct snapshot_slot *slot)
{
	struct snapshot *s;

	pthread_mutex_lock(&slot->lock);
	s = slot->cur;
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&slot->lock);
	return s;
}

void snapshot_put(struct snapshot *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		s->release(s);
}
