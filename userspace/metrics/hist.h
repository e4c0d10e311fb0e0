/* SPDX-License-Identifier: MIT */
/*
 * Latency histograms for the hot paths. Each histogram has one writing thread (a worker, the
 * journal writer), so an observation is a relaxed load and store per counter, never a locked
 * instruction or a shared lock; a scrape on another thread reads them with relaxed loads and
 * merges the writers' histograms (hist_merge). A reader may see the buckets and the sum from
 * slightly different moments; the exposition derives the count from the buckets it read, so
 * the +Inf bucket and _count always agree.
 *
 * One fixed set of bounds (25 us to 10 s) serves request durations and journal commits:
 * merged histograms need the same bounds, and fixed bounds keep observing a bounded loop.
 */
#ifndef ET_METRICS_HIST_H
#define ET_METRICS_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define HIST_BOUNDS 18

/* Upper bounds of the buckets, in nanoseconds and in seconds (the exposition's "le"). */
extern const uint64_t hist_bounds_ns[HIST_BOUNDS];
extern const char *const hist_bounds_text[HIST_BOUNDS];

struct hist {
	_Atomic uint64_t n[HIST_BOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
	_Atomic uint64_t sum_ns;
};

/* What a scrape read: per-bucket counts and the sum, merged over writers. */
struct hist_sum {
	uint64_t n[HIST_BOUNDS + 1];
	uint64_t sum_ns;
};

/* Adds n to a counter that only the calling thread writes. */
static inline void single_writer_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline unsigned hist_bucket(uint64_t ns)
{
	unsigned lo = 0, hi = HIST_BOUNDS;

	/* the first bound >= ns; HIST_BOUNDS (+Inf) when none */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (hist_bounds_ns[mid] < ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Only the histogram's writing thread calls this. */
static inline void hist_observe(struct hist *h, uint64_t ns)
{
	single_writer_add(&h->n[hist_bucket(ns)], 1);
	single_writer_add(&h->sum_ns, ns);
}

/* Any thread: adds what h holds now to into. */
void hist_merge(struct hist_sum *into, const struct hist *h);
/* Observations in s (the sum of its buckets). */
uint64_t hist_count(const struct hist_sum *s);

#endif
