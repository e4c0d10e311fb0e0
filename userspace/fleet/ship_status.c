// SPDX-License-Identifier: MIT
#include "fleet/ship_status.h"

#include "journal/record_json.h"

static unsigned lag_bucket(uint64_t ms)
{
	if (ms < 100)
		return (unsigned)ms;
	if (ms < 1000)
		return 100 + (unsigned)((ms - 100) / 10);
	if (ms < 600000)
		return 190 + (unsigned)((ms - 1000) / 1000);
	return LAG_BUCKETS - 1;
}

static uint64_t bucket_top(unsigned b)
{
	if (b < 100)
		return b + 1;
	if (b < 190)
		return 100 + (uint64_t)(b - 100 + 1) * 10;
	return 1000 + (uint64_t)(b - 190 + 1) * 1000;
}

void lag_hist_add(struct lag_hist *h, uint64_t ms)
{
	h->n[lag_bucket(ms)]++;
	h->total++;
}

uint64_t lag_hist_quantile(const struct lag_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->total)
		return 0;
	want = (uint64_t)(q * (double)h->total);
	if (want >= h->total)
		want = h->total - 1;
	for (unsigned b = 0; b < LAG_BUCKETS; b++) {
		seen += h->n[b];
		if (seen > want)
			return bucket_top(b);
	}
	return bucket_top(LAG_BUCKETS - 1);
}

static json_t *certs_json(const struct ship_status_in *in)
{
	return json_pack("{s:o,s:o,s:o}", "issued", json_u64(in->certs_issued), "pending",
			 json_u64(in->certs_pending), "unknown", json_u64(in->certs_unknown));
}

json_t *ship_status_json(const struct ship_status_in *in)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(in->id));
	json_object_set_new(o, "version", json_string(in->version));
	json_object_set_new(o, "updated_at", json_u64(in->now_s));
	json_object_set_new(o, "interval_s", json_u64(in->interval_s));
	json_object_set_new(o, "bundle_serial",
			    in->have_serial ? json_u64(in->bundle_serial) : json_null());
	json_object_set_new(o, "journal_seq", json_u64(in->journal_seq));
	json_object_set_new(o, "shipped_seq", json_u64(in->shipped_seq));
	json_object_set_new(o, "lag_events",
			    json_u64(ship_unshipped(in->journal_seq, in->shipped_seq)));
	json_object_set_new(o, "lag_ms", json_u64(in->lag_ms));
	json_object_set_new(o, "ship_lag_p99_ms", json_u64(in->lag_p99_ms));
	json_object_set_new(o, "connected", json_boolean(in->connected));
	json_object_set_new(o, "events_lost_disk_full", json_u64(in->lost_disk_full));
	json_object_set_new(o, "certs", certs_json(in));
	json_object_set_new(o, "last_error",
			    in->last_error && *in->last_error ? json_string(in->last_error)
							      : json_null());
	json_object_set_new(o, "last_error_at",
			    in->last_error_at ? json_u64(in->last_error_at) : json_null());
	return o;
}

static uint64_t member_u64(const json_t *o, const char *key)
{
	uint64_t v = 0;

	json_u64_value(json_object_get(o, key), &v);
	return v;
}

void fleet_judge(const json_t *st, const struct fleet_limits *lim, struct fleet_flags *out)
{
	uint64_t updated = member_u64(st, "updated_at"), interval = member_u64(st, "interval_s");
	const json_t *serial = json_object_get(st, "bundle_serial");
	uint64_t s = 0;

	if (!interval)
		interval = 10;
	out->stale = lim->now_s > updated && lim->now_s - updated > 3 * interval;
	out->behind = lim->max_serial &&
		      (json_u64_value(serial, &s) != 0 || s < lim->max_serial);
	out->lagging = member_u64(st, "lag_events") > lim->max_lag_events ||
		       member_u64(st, "lag_ms") > lim->max_lag_ms;
}
