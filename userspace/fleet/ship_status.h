/* SPDX-License-Identifier: MIT */
/*
 * What an appliance says about itself in the fleet's status bucket (key: its id), refreshed
 * by the shipper every status_interval_s, and how `edgetrackctl fleet status` judges it:
 *
 *   {"id": "...", "version": "0.1.0", "updated_at": <unix s>, "interval_s": 10,
 *    "bundle_serial": 42 | null, "journal_seq": <last journaled seq>,
 *    "shipped_seq": <cursor>, "lag_events": n, "lag_ms": <age of the oldest unshipped event>,
 *    "ship_lag_p99_ms": n, "connected": true, "events_lost_disk_full": n,
 *    "certs": {"issued": n, "pending": n, "unknown": n}, "last_error": "..." | null,
 *    "last_error_at": <unix s> | null}
 */
#ifndef ET_FLEET_SHIP_STATUS_H
#define ET_FLEET_SHIP_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Ship lag (event time to stream acknowledgement) in milliseconds: buckets of 1 ms up to
   100 ms, then 10 ms up to 1 s, then 1 s up to 10 minutes. */
#define LAG_BUCKETS (100 + 90 + 600)

struct lag_hist {
	uint64_t n[LAG_BUCKETS];
	uint64_t total;
};

void lag_hist_add(struct lag_hist *h, uint64_t ms);
/* The upper bound of the bucket holding quantile q (0..1); 0 when empty. */
uint64_t lag_hist_quantile(const struct lag_hist *h, double q);

/* Events committed to the journal (up to journal_seq) that the stream has not acknowledged
   (everything up to shipped_seq it has): the status's lag_events, the metrics' unshipped. */
static inline uint64_t ship_unshipped(uint64_t journal_seq, uint64_t shipped_seq)
{
	return journal_seq > shipped_seq ? journal_seq - shipped_seq : 0;
}

struct ship_status_in {
	const char *id, *version, *last_error;
	uint64_t last_error_at;
	uint64_t now_s, interval_s;
	bool have_serial;
	uint64_t bundle_serial;
	uint64_t journal_seq, shipped_seq, lag_ms, lag_p99_ms, lost_disk_full;
	bool connected;
	uint64_t certs_issued, certs_pending, certs_unknown;
};

json_t *ship_status_json(const struct ship_status_in *in);

/* What `fleet status` flags about one appliance's status object. */
struct fleet_flags {
	bool stale;        /* not refreshed for 3 intervals */
	bool behind;       /* bundle serial below the fleet's highest */
	bool lagging;      /* lag_events > max_lag_events or lag_ms > max_lag_ms */
};

struct fleet_limits {
	uint64_t now_s, max_serial, max_lag_events, max_lag_ms;
};

void fleet_judge(const json_t *status, const struct fleet_limits *lim, struct fleet_flags *out);

#endif
