// SPDX-License-Identifier: MIT
#include "metrics/collect.h"

#include "acme/challenge.h"
#include "core/version.h"
#include "metrics/certview.h"
#include "metrics/expo.h"
#include "metrics/metrics.h"
#include "server/mgmt.h"
#include "server/server.h"
#include "server/state.h"
#include "track/track_state.h"
#ifdef CONFIG_FLEET
#include "fleet/ship_status.h"
#include "fleet/shipper.h"
#endif
#ifdef CONFIG_XDP
#include "bpf/xdp_filter.h"
#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define L(...) ((const struct expo_label[]){ __VA_ARGS__ })
#define NL(...) (sizeof((const struct expo_label[]){ __VA_ARGS__ }) / sizeof(struct expo_label))
/* One sample with labels: LV(e, value, {"k", "v"}, ...) */
#define LV(e, v, ...) expo_value((e), L(__VA_ARGS__), NL(__VA_ARGS__), (v))

/* The counters of server.h and the metrics' own, summed over the workers. */
struct totals {
	uint64_t ctr[CTR__COUNT], routes[ROUTE__COUNT], open;
	uint64_t http[WSTATS_ROUTES][WC__COUNT];
	struct hist_sum duration;
	uint64_t handshakes[WT__COUNT], resumed;
};

static void sum_workers(struct server *srv, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	server_counters_sum(srv, t->ctr, t->routes, &t->open);
	for (unsigned i = 0; i < srv->n_workers; i++) {
		const struct wstats *ws = &server_worker_counters(srv, i)->ws;

		for (unsigned r = 0; r < WSTATS_ROUTES; r++)
			for (unsigned c = 0; c < WC__COUNT; c++)
				t->http[r][c] += atomic_load_explicit(&ws->http[r][c],
								      memory_order_relaxed);
		hist_merge(&t->duration, &ws->duration);
		for (unsigned v = 0; v < WT__COUNT; v++)
			t->handshakes[v] += atomic_load_explicit(&ws->handshakes[v],
								 memory_order_relaxed);
		t->resumed += atomic_load_explicit(&ws->resumed, memory_order_relaxed);
	}
}

static void one(struct expo *e, const char *name, enum expo_type type, const char *help,
		uint64_t v)
{
	expo_family(e, name, type, help);
	expo_value(e, NULL, 0, v);
}

static double start_time(const struct server *srv)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (double)real.tv_sec + real.tv_nsec / 1e9 -
	       ((double)mono.tv_sec + mono.tv_nsec / 1e9 - srv->started_ns / 1e9);
}

static void process(struct server *srv, const struct config *cfg, struct expo *e)
{
	expo_family(e, "edgetrack_build_info", EXPO_GAUGE, "The running edgetrackd's version.");
	LV(e, 1, { "version", EDGETRACK_VERSION });
	expo_family(e, "edgetrack_start_time_seconds", EXPO_GAUGE,
		    "When edgetrackd started, in seconds since the epoch.");
	expo_double(e, NULL, 0, start_time(srv));
	one(e, "edgetrack_workers", EXPO_GAUGE, "Worker threads, one io_uring each.",
	    srv->n_workers);
	one(e, "edgetrack_domains", EXPO_GAUGE, "Tracking domains configured.", cfg->n_domains);
	one(e, "edgetrack_challenges", EXPO_GAUGE, "ACME challenge answers held.",
	    challenge_table_count(srv->ctable));
}

static void http(const struct totals *t, struct expo *e)
{
	expo_family(e, "edgetrack_http_requests", EXPO_COUNTER,
		    "Tracking requests answered, by route and status code (route \"invalid\": "
		    "refused by the parser).");
	for (unsigned r = 0; r < WSTATS_ROUTES; r++)
		for (unsigned c = 0; c < WC__COUNT; c++)
			if (t->http[r][c])
				LV(e, t->http[r][c], { "route", wstats_route_label(r) },
				   { "code", wstats_code_label(c) });
	expo_family(e, "edgetrack_http_request_duration_seconds", EXPO_HISTOGRAM,
		    "From a complete request to its answer being ready, including the wait for "
		    "its event to be durable.");
	expo_hist(e, NULL, 0, &t->duration);
}

static void connections(const struct totals *t, struct expo *e)
{
	static const struct { enum server_counter c; const char *kind; } timeouts[] = {
		{ CTR_HEADER_TIMEOUTS, "header" }, { CTR_IDLE_TIMEOUTS, "idle" },
		{ CTR_SEND_TIMEOUTS, "send" },
	};

	one(e, "edgetrack_connections_open", EXPO_GAUGE, "Connections open now.", t->open);
	one(e, "edgetrack_connections_accepted", EXPO_COUNTER, "Connections accepted.",
	    t->ctr[CTR_ACCEPTED]);
	one(e, "edgetrack_connections_closed", EXPO_COUNTER, "Connections closed.",
	    t->ctr[CTR_CLOSED]);
	expo_family(e, "edgetrack_connections_refused", EXPO_COUNTER,
		    "Connections refused at accept, by reason.");
	LV(e, t->ctr[CTR_REFUSED_MAX_CONN], { "reason", "max_connections" });
	expo_family(e, "edgetrack_connection_timeouts", EXPO_COUNTER,
		    "Connections closed by a timeout, by kind (header: a request head too slow; "
		    "idle: keep-alive; send: an answer not taken).");
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
		LV(e, t->ctr[timeouts[i].c], { "kind", timeouts[i].kind });
	one(e, "edgetrack_http_parse_errors", EXPO_COUNTER, "Requests the parser refused.",
	    t->ctr[CTR_PARSE_ERRORS]);
}

static void tls(const struct totals *t, struct expo *e)
{
	expo_family(e, "edgetrack_tls_handshakes", EXPO_COUNTER,
		    "TLS handshakes, by protocol version and result (failed ones by version "
		    "\"unknown\").");
	for (unsigned v = 0; v < WT__COUNT; v++)
		if (v != WT_TLS_OTHER || t->handshakes[v])
			LV(e, t->handshakes[v], { "version", wstats_tls_label(v) },
			   { "result", "ok" });
	LV(e, t->ctr[CTR_TLS_FAILURES], { "version", "unknown" }, { "result", "failed" });
	one(e, "edgetrack_tls_resumptions", EXPO_COUNTER,
	    "TLS handshakes that resumed a session (a ticket).", t->resumed);
}

static void certificates(struct server *srv, struct expo *e)
{
	const struct certview *v = metrics_certview(srv);
	int64_t earliest = certview_earliest_expiry(v);

	expo_family(e, "edgetrack_certificates", EXPO_GAUGE,
		    "Configured domains by the state of their certificate (issued: a valid one "
		    "serves it; pending: none yet; unknown: refused or expired).");
	for (unsigned s = 0; s < DS__COUNT; s++)
		LV(e, certview_count(v, s), { "state", dom_state_name(s) });
	if (!earliest)
		return;
	expo_family(e, "edgetrack_certificate_earliest_expiry_timestamp_seconds", EXPO_GAUGE,
		    "The earliest not-after of the certificates serving configured domains.");
	expo_double(e, NULL, 0, (double)earliest);
}

static void events(struct server *srv, const struct totals *t, struct expo *e)
{
	struct journal_stats js;

	one(e, "edgetrack_events", EXPO_COUNTER, "Tracking events recorded.", t->ctr[CTR_EVENTS]);
	one(e, "edgetrack_events_lost", EXPO_COUNTER,
	    "Events answered before they were written (sync=none) that the disk then refused.",
	    t->ctr[CTR_EVENTS_LOST]);
	one(e, "edgetrack_events_failed", EXPO_COUNTER,
	    "Events the journal could not take; their requests got 503.",
	    t->ctr[CTR_EVENTS_FAILED]);
	one(e, "edgetrack_clicks_unrecorded", EXPO_COUNTER,
	    "Clicks redirected without their event (journal.on_full redirect-unrecorded).",
	    t->ctr[CTR_CLICKS_UNRECORDED]);
	journal_stats_get(srv->journal, &js);
	one(e, "edgetrack_journal_commits", EXPO_COUNTER,
	    "Journal commits (one write, and one sync unless sync=none, for a batch of events).",
	    js.batches);
	expo_family(e, "edgetrack_journal_commit_duration_seconds", EXPO_HISTOGRAM,
		    "How long journal commits took: rotation, write and sync.");
	expo_hist(e, NULL, 0, &js.commit);
	one(e, "edgetrack_journal_records", EXPO_COUNTER, "Records written to the journal.",
	    js.appended);
	one(e, "edgetrack_journal_syncs", EXPO_COUNTER, "fdatasync calls of the journal.",
	    js.fsyncs);
	expo_family(e, "edgetrack_journal_write_errors", EXPO_COUNTER,
		    "Events whose commit failed, by error.");
	LV(e, js.enospc, { "error", "no_space" });
	LV(e, js.io_errors, { "error", "io" });
	one(e, "edgetrack_journal_failing", EXPO_GAUGE,
	    "1 while the last journal commit failed.", journal_failing(srv->journal));
}

static void bundles(struct server *srv, const struct config *cfg, struct expo *e)
{
	static const char *const results[] = { "applied", "refused", "rolled_back" };
	struct mgmt_bundle_stats bs;
	struct state_store st;
	uint64_t serial = 0;
	char gen[64];

	state_init(&st, cfg->data_dir);
	state_current(&st, gen, sizeof(gen), &serial);
	one(e, "edgetrack_bundle_serial", EXPO_GAUGE,
	    "Serial of the bundle the appliance serves (0: none applied).", serial);
	if (!srv->mgmt || !cfg->management.enabled)
		return;
	mgmt_bundle_stats(srv->mgmt, &bs);
	expo_family(e, "edgetrack_bundle_applies", EXPO_COUNTER,
		    "Bundles the management API took, by result.");
	for (unsigned r = 0; r < 3; r++)
		LV(e, bs.applies[r], { "result", results[r] });
	if (!bs.any)
		return;
	one(e, "edgetrack_bundle_last_apply_success", EXPO_GAUGE,
	    "1 when the last bundle applied, 0 when it was refused or rolled back.",
	    bs.last == MGMT_APPLIED);
	expo_family(e, "edgetrack_bundle_last_apply_timestamp_seconds", EXPO_GAUGE,
		    "When the last bundle came, in seconds since the epoch.");
	expo_double(e, NULL, 0, (double)bs.last_time);
}

#ifdef CONFIG_FLEET
/* The shipper's progress to the fleet's stream: what an alert on an appliance whose events
   do not leave reads. Nothing without a "nats" config. */
static void fleet(struct server *srv, struct expo *e)
{
	struct shipper_stats st;
	uint64_t next;

	if (!srv->shipper)
		return;
	shipper_stats_get(srv->shipper, &st);
	next = journal_next_seq(srv->journal);
	one(e, "edgetrack_fleet_connected", EXPO_GAUGE, "1 while the shipper is connected to NATS.",
	    st.connected);
	one(e, "edgetrack_fleet_shipped_seq", EXPO_GAUGE,
	    "The journal seq up to which every event is in the stream.", st.cursor);
	one(e, "edgetrack_fleet_unshipped_events", EXPO_GAUGE,
	    "Events committed to the journal that the stream has not acknowledged yet.",
	    ship_unshipped(next ? next - 1 : 0, st.cursor));
	one(e, "edgetrack_fleet_events_published", EXPO_COUNTER,
	    "Events handed to NATS, resends included.", st.published);
	one(e, "edgetrack_fleet_events_acked", EXPO_COUNTER,
	    "Events the stream acknowledged, resends included.", st.acked);
	one(e, "edgetrack_fleet_events_failed", EXPO_COUNTER,
	    "Events whose publish failed or timed out; they are sent again.", st.failed);
	one(e, "edgetrack_fleet_rewinds", EXPO_COUNTER,
	    "Times shipping started again from the stored cursor.", st.rewinds);
	one(e, "edgetrack_fleet_gap_events", EXPO_COUNTER,
	    "Seqs missing from the journal (damaged or deleted records), passed over.",
	    st.gap_events);
	expo_family(e, "edgetrack_fleet_bytes", EXPO_COUNTER,
		    "Bytes published: the journal records', and the messages' that carried them.");
	LV(e, st.bytes_records, { "kind", "records" });
	LV(e, st.bytes_sent, { "kind", "messages" });
}
#else
static void fleet(struct server *srv, struct expo *e)
{
	(void)srv;
	(void)e;
}
#endif

#ifdef CONFIG_XDP
/* "drop_blocklist" -> verdict "drop", reason "blocklist" */
static void xdp_labels(unsigned reason, char *verdict, size_t vcap, const char **why)
{
	const char *name = xdp_reason_name(reason), *us = strchr(name, '_');
	size_t n = us ? (size_t)(us - name) : strlen(name);

	snprintf(verdict, vcap, "%.*s", (int)n, name);
	*why = us ? us + 1 : name;
}

static void xdp(struct server *srv, struct expo *e)
{
	struct xdp_counter c[XDP_R_MAX];
	bool active = srv->xdp && !xdp_runtime_counters(srv->xdp, c);
	static const char *const what[2] = { "packets", "bytes" };

	one(e, "edgetrack_xdp_attached", EXPO_GAUGE, "1 while the XDP filter is attached.", active);
	if (!active)
		return;
	for (unsigned k = 0; k < 2; k++) {
		char name[64], help[96];

		snprintf(name, sizeof(name), "edgetrack_xdp_%s", what[k]);
		snprintf(help, sizeof(help), "XDP verdicts in %s, by verdict and reason.", what[k]);
		expo_family(e, name, EXPO_COUNTER, help);
		for (unsigned r = 0; r < XDP_R_MAX; r++) {
			char verdict[16];
			const char *why;

			xdp_labels(r, verdict, sizeof(verdict), &why);
			LV(e, k ? c[r].bytes : c[r].packets, { "verdict", verdict },
			   { "reason", why });
		}
	}
}
#else
static void xdp(struct server *srv, struct expo *e)
{
	(void)srv;
	one(e, "edgetrack_xdp_attached", EXPO_GAUGE, "1 while the XDP filter is attached.", 0);
}
#endif

void collect_all(struct server *srv, struct expo *e)
{
	struct snapshot *s = snapshot_get(&srv->state);
	const struct config *cfg = track_state_of(s)->cfg;
	struct totals t;

	sum_workers(srv, &t);
	process(srv, cfg, e);
	http(&t, e);
	connections(&t, e);
	tls(&t, e);
	certificates(srv, e);
	events(srv, &t, e);
	bundles(srv, cfg, e);
	fleet(srv, e);
	xdp(srv, e);
	snapshot_put(s);
}

void collect_metrics(struct server *srv, struct mgmt_job *j)
{
	bool om = expo_wants_openmetrics(j->input, j->input_len);
	struct expo e;
	char *body;
	size_t len = 0;

	expo_init(&e, om);
	collect_all(srv, &e);
	body = expo_finish(&e, &len);
	metrics_job_answer(j, body, len, expo_content_type(om));
}
