/* SPDX-License-Identifier: MIT */
/*
 * What a worker counts for the metrics, beyond the counters of server.h: requests by route
 * and status code, their durations, and TLS handshakes by version. Written only by the
 * worker that owns them (single_writer_add), read by a scrape with relaxed loads and summed
 * over workers there, so the request path takes no lock and shares no written cache line.
 */
#ifndef ET_METRICS_WSTATS_H
#define ET_METRICS_WSTATS_H

#include "metrics/hist.h"
#include "track/routes.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The status codes counted one by one; any other is counted as "other". */
#define WSTATS_CODE_LIST(X)                                                              \
	X(200) X(204) X(301) X(302) X(304) X(307) X(308) X(400) X(403) X(404) X(405) X(408) \
	X(411) X(413) X(414) X(421) X(429) X(431) X(500) X(501) X(503) X(505)

#define WSTATS_CODE_ENUM(c) WC_##c,
enum wstats_code { WC_OTHER, WSTATS_CODE_LIST(WSTATS_CODE_ENUM) WC__COUNT };
#undef WSTATS_CODE_ENUM

/* Routes: the tracking routes' outcomes, and requests the parser refused (no route). */
#define WSTATS_ROUTE_INVALID ROUTE__COUNT
#define WSTATS_ROUTES (ROUTE__COUNT + 1)

enum wstats_tls { WT_TLS12, WT_TLS13, WT_TLS_OTHER, WT__COUNT };

struct wstats {
	_Atomic uint64_t http[WSTATS_ROUTES][WC__COUNT];
	struct hist duration;                /* complete request to its answer being ready */
	_Atomic uint64_t handshakes[WT__COUNT];
	_Atomic uint64_t resumed;
};

static inline enum wstats_code wstats_code(int status)
{
#define WSTATS_CODE_CASE(c) case c: return WC_##c;
	switch (status) {
	WSTATS_CODE_LIST(WSTATS_CODE_CASE)
	default: return WC_OTHER;
	}
#undef WSTATS_CODE_CASE
}

/* An answered request: its route (or WSTATS_ROUTE_INVALID) and status. */
static inline void wstats_response(struct wstats *s, unsigned route, int status)
{
	single_writer_add(&s->http[route < WSTATS_ROUTES ? route : WSTATS_ROUTE_INVALID]
				  [wstats_code(status)], 1);
}

/* ... and how long it took from its complete head to its answer being ready. */
static inline void wstats_request(struct wstats *s, unsigned route, int status, uint64_t ns)
{
	wstats_response(s, route, status);
	hist_observe(&s->duration, ns);
}

/* A completed handshake; version as tls_conn_version() says it ("TLSv1.3"). */
static inline void wstats_handshake(struct wstats *s, const char *version, bool resumed)
{
	enum wstats_tls v = WT_TLS_OTHER;

	if (version && !strcmp(version, "TLSv1.2"))
		v = WT_TLS12;
	else if (version && !strcmp(version, "TLSv1.3"))
		v = WT_TLS13;
	single_writer_add(&s->handshakes[v], 1);
	if (resumed)
		single_writer_add(&s->resumed, 1);
}

/* Label values: "302" (or "other"), "click" (or "invalid"), "1.3" (or "other"). */
const char *wstats_code_label(enum wstats_code c);
const char *wstats_route_label(unsigned route);
const char *wstats_tls_label(enum wstats_tls v);

#endif
