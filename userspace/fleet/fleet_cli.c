// SPDX-License-Identifier: MIT
#include "fleet/fleet_cli.h"

#include "bundle/bundle.h"
#include "core/err.h"
#include "core/num.h"
#include "fleet/fleet_settings.h"
#include "fleet/kv_item.h"
#include "fleet/nats_link.h"
#include "fleet/ship_status.h"
#include "journal/record_json.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_STEP_MS 500
#define WATCH_DEADLINE_S 10

struct status_opts {
	char urls_buf[4096];
	const char *urls[FLEET_MAX_SERVERS];
	int n_urls;
	const char *bucket, *bundle_bucket;
	bool json;
	uint64_t max_lag_events, max_lag_ms;
};

static int usage(const char *why)
{
	return err_usage("fleet", why,
			 "usage: edgetrackctl fleet status [--json] --nats URL[,URL...] [--bucket NAME]\n"
			 "           [--bundle-bucket NAME] [--max-lag-events N] [--max-lag-ms N]\n");
}

static int parse_opts(int argc, char **argv, struct status_opts *o)
{
	static const struct option opts[] = {
		{ "nats", required_argument, NULL, 'n' }, { "bucket", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "bundle-bucket", required_argument, NULL, 'B' },
		{ "max-lag-events", required_argument, NULL, 'e' },
		{ "max-lag-ms", required_argument, NULL, 'm' }, { 0 },
	};
	int c;

	*o = (struct status_opts){ .bucket = FLEET_BUCKET_DEFAULT,
				   .bundle_bucket = FLEET_BUNDLE_BUCKET_DEFAULT, .max_lag_events = 1000,
				   .max_lag_ms = 60000 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': snprintf(o->urls_buf, sizeof(o->urls_buf), "%s", optarg); break;
		case 'b': o->bucket = optarg; break;
		case 'B': o->bundle_bucket = optarg; break;
		case 'j': o->json = true; break;
		case 'e': if (num_parse_u64(optarg, UINT64_MAX, &o->max_lag_events))
				return usage("--max-lag-events: a count");
			  break;
		case 'm': if (num_parse_u64(optarg, UINT64_MAX, &o->max_lag_ms))
				return usage("--max-lag-ms: milliseconds");
			  break;
		default: return usage(NULL);
		}
	}
	if (optind != argc)
		return usage("unexpected arguments");
	o->n_urls = nats_link_split_urls(o->urls_buf, o->urls, FLEET_MAX_SERVERS);
	return o->n_urls ? 0 : usage("--nats URL is required");
}

/* Every current value of the bucket. kvWatcher_Next of nats.c 3.4.1 may time out before its
   time: a timeout is "nothing yet", and only the end-of-initial-values marker (a NULL entry)
   or the deadline ends the read. */
static int read_all(kvStore *kv, json_t *list, char *err, size_t errlen)
{
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	time_t deadline = time(NULL) + WATCH_DEADLINE_S;
	natsStatus s;

	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_WatchAll(&w, kv, &wo);
	if (s != NATS_OK)
		return nats_link_err(err, errlen, "watch", s);
	for (;;) {
		kvEntry *e = NULL;

		s = kvWatcher_Next(&e, w, WATCH_STEP_MS);
		if (s == NATS_TIMEOUT && time(NULL) < deadline)
			continue;
		if (s != NATS_OK || !e)
			break;
		json_t *v = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
		if (json_is_object(v))
			json_array_append(list, v);
		json_decref(v);
		kvEntry_Destroy(e);
	}
	kvWatcher_Destroy(w);
	if (s == NATS_TIMEOUT)
		return nats_link_err(err, errlen, "no end of the bucket's values within 10 s", s);
	return s == NATS_OK ? 0 : nats_link_err(err, errlen, "watch", s);
}

static uint64_t member(const json_t *o, const char *key)
{
	uint64_t v = 0;

	json_u64_value(json_object_get(o, key), &v);
	return v;
}

static json_t *flags_json(const struct fleet_flags *f)
{
	json_t *a = json_array();

	if (f->stale)
		json_array_append_new(a, json_string("stale"));
	if (f->behind)
		json_array_append_new(a, json_string("behind"));
	if (f->lagging)
		json_array_append_new(a, json_string("lagging"));
	return a;
}

/* Adds "flags" to each entry; returns how many are flagged. *max_serial: the bucket's
   bundle serial in, the highest of it and every appliance's out. */
static int judge_all(json_t *list, const struct status_opts *o, uint64_t *max_serial)
{
	struct fleet_limits lim = { .now_s = (uint64_t)time(NULL), .max_serial = *max_serial,
				    .max_lag_events = o->max_lag_events,
				    .max_lag_ms = o->max_lag_ms };
	json_t *st;
	size_t i;
	int flagged = 0;

	json_array_foreach(list, i, st)
		if (member(st, "bundle_serial") > lim.max_serial)
			lim.max_serial = member(st, "bundle_serial");
	json_array_foreach(list, i, st) {
		struct fleet_flags f;

		fleet_judge(st, &lim, &f);
		flagged += f.stale || f.behind || f.lagging;
		json_object_set_new(st, "flags", flags_json(&f));
	}
	*max_serial = lim.max_serial;
	return flagged;
}

static void print_table(json_t *list)
{
	json_t *st;
	size_t i;

	printf("%-18s %-8s %7s %10s %8s %8s %-11s %-8s %s\n", "APPLIANCE", "VERSION", "SERIAL",
	       "SHIPPED", "LAG", "LAG_MS", "CERTS i/p/u", "FLAGS", "LAST_ERROR");
	json_array_foreach(list, i, st) {
		json_t *certs = json_object_get(st, "certs"), *fl = json_object_get(st, "flags");
		char cert[32], flags[32] = "", serial[24] = "-";
		const char *le = json_string_value(json_object_get(st, "last_error"));
		size_t k;
		json_t *f;

		snprintf(cert, sizeof(cert), "%" PRIu64 "/%" PRIu64 "/%" PRIu64,
			 member(certs, "issued"), member(certs, "pending"), member(certs, "unknown"));
		if (!json_is_null(json_object_get(st, "bundle_serial")))
			snprintf(serial, sizeof(serial), "%" PRIu64, member(st, "bundle_serial"));
		json_array_foreach(fl, k, f)
			snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%s%s",
				 k ? "," : "", json_string_value(f));
		uint64_t at = member(st, "last_error_at"), now = (uint64_t)time(NULL);
		char ago[32] = "";

		if (le && at)
			snprintf(ago, sizeof(ago), " (%" PRIu64 " s ago)", now > at ? now - at : 0);
		printf("%-18s %-8s %7s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %-11s %-8s %s%s\n",
		       json_string_value(json_object_get(st, "id")),
		       json_string_value(json_object_get(st, "version")),
		       serial,
		       member(st, "shipped_seq"), member(st, "lag_events"), member(st, "lag_ms"),
		       cert, flags[0] ? flags : "ok", le ? le : "-", ago);
	}
}

/* The serial of the bundle bucket's latest bundle; 0 when there is none (no bucket, no
   bundle, or a value that is no bundle). */
static uint64_t published_serial(jsCtx *js, const char *bucket)
{
	kvStore *kv = NULL;
	kvEntry *e = NULL;
	uint64_t serial = 0;
	char err[256];

	if (nats_link_bucket(&kv, js, bucket, 1, false, err, sizeof(err)))
		return 0;
	if (kvStore_Get(&e, kv, KV_BUNDLE_KEY) == NATS_OK &&
	    bundle_peek(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), &serial, err, sizeof(err)))
		serial = 0;
	kvEntry_Destroy(e);
	kvStore_Destroy(kv);
	return serial;
}

static int cmd_status(const struct status_opts *o)
{
	struct nats_link_kv l;
	json_t *list = json_array();
	uint64_t max_serial = 0;
	char err[512];
	int rc = 1, flagged;

	if (nats_link_kv_open(&l, o->urls, o->n_urls, o->bucket, 1, 0, false, err, sizeof(err)) ||
	    read_all(l.kv, list, err, sizeof(err))) {
		fprintf(stderr, "fleet status: %s\n", err);
		goto out;
	}
	max_serial = published_serial(l.js, o->bundle_bucket);
	flagged = judge_all(list, o, &max_serial);
	if (o->json) {
		json_t *doc = json_pack("{s:O,s:o,s:i}", "appliances", list, "max_serial",
					json_u64(max_serial), "flagged", flagged);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(doc);
	} else {
		print_table(list);
	}
	rc = flagged ? 3 : 0;
out:
	json_decref(list);
	nats_link_kv_close(&l);
	return rc;
}

int fleet_cli_main(int argc, char **argv)
{
	struct status_opts o;
	int rc;

	if (argc < 2 || strcmp(argv[1], "status"))
		return usage(argc < 2 ? "which command?" : "unknown command");
	rc = parse_opts(argc - 1, argv + 1, &o);
	return rc ? rc : cmd_status(&o);
}
