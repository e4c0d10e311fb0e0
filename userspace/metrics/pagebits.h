/* SPDX-License-Identifier: MIT */
/*
 * The status page's pieces that need no query: escaping, times, the reason a domain is in
 * its state, the rate chart (inline SVG), the XDP table and the style sheet.
 */
#ifndef ET_METRICS_PAGEBITS_H
#define ET_METRICS_PAGEBITS_H

#include "metrics/certview.h"
#include "core/mbuf.h"
#include "metrics/metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct server;

extern const char page_css[];

/* s with & < > " ' as character references. */
void put_html(struct mbuf *b, const char *s);
/* s percent-encoded for a query value. */
void put_urlenc(struct mbuf *b, const char *s);
/* "3 d 04:05:06" */
void fmt_duration(int64_t seconds, char *out, size_t cap);
/* "2026-01-31 (in 12 d)", "2025-01-01 (3 d ago)", "—" without a certificate */
void fmt_expiry(int64_t not_after, time_t now, char *out, size_t cap);
/* "2026-01-31 12:00:00 UTC"; returns out */
const char *fmt_utc(time_t t, char *out, size_t cap);
/* Why d is in its state, one short sentence. */
void dom_reason(const struct dom_row *d, time_t now, char *out, size_t cap);
/* The rates between consecutive samples as an SVG line chart. */
void rate_chart(struct mbuf *b, const struct rate_sample *s, size_t n, time_t now);
/* The XDP filter's verdict counters by reason, or a line saying it is not attached. */
void xdp_section(struct mbuf *b, struct server *srv);

#endif
