// SPDX-License-Identifier: MIT
#include "metrics/hist.h"

const uint64_t hist_bounds_ns[HIST_BOUNDS] = {
	25000,     50000,     100000,     250000,     500000,     1000000,
	2500000,   5000000,   10000000,   25000000,   50000000,   100000000,
	250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

/* The same bounds as Prometheus and OpenMetrics write "le" values. */
const char *const hist_bounds_text[HIST_BOUNDS] = {
	"2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025",   "0.05",  "0.1",    "0.25",    "0.5",    "1.0",   "2.5",    "5.0",   "10.0",
};

void hist_merge(struct hist_sum *into, const struct hist *h)
{
	for (unsigned i = 0; i <= HIST_BOUNDS; i++)
		into->n[i] += atomic_load_explicit(&h->n[i], memory_order_relaxed);
	into->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

uint64_t hist_count(const struct hist_sum *s)
{
	uint64_t n = 0;

	for (unsigned i = 0; i <= HIST_BOUNDS; i++)
		n += s->n[i];
	return n;
}
