/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus exposition, written without a client library: the text format 0.0.4, or
 * OpenMetrics 1.0 when the scraper asks for it. Every family gets HELP and TYPE; counters
 * end in _total (OpenMetrics names the family without it, the text format with it, as each
 * format wants); label values and help texts are escaped; values are in base units.
 *
 *   struct expo e;
 *   expo_init(&e, openmetrics);
 *   expo_family(&e, "edgetrack_http_requests", EXPO_COUNTER, "Requests answered.");
 *   expo_value(&e, (struct expo_label[]){ {"route", "click"}, {"code", "302"} }, 2, n);
 *   body = expo_finish(&e, &len);       malloc'd; NULL when memory ran out
 */
#ifndef ET_METRICS_EXPO_H
#define ET_METRICS_EXPO_H

#include "metrics/hist.h"
#include "core/mbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum expo_type { EXPO_COUNTER, EXPO_GAUGE, EXPO_HISTOGRAM };

struct expo_label {
	const char *name, *value;
};

struct expo {
	struct mbuf b;
	bool openmetrics;
	enum expo_type type;     /* of the current family */
	char family[128];        /* its name, without _total */
};

void expo_init(struct expo *e, bool openmetrics);
/* Starts a family. name is [a-zA-Z_:][a-zA-Z0-9_:]*, without the _total of a counter. */
void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);
/* One sample of the current counter or gauge family. */
void expo_value(struct expo *e, const struct expo_label *l, size_t nl, uint64_t v);
void expo_double(struct expo *e, const struct expo_label *l, size_t nl, double v);
/* The samples of one histogram of the current family: buckets, _sum (seconds), _count. */
void expo_hist(struct expo *e, const struct expo_label *l, size_t nl, const struct hist_sum *h);
/* The body (OpenMetrics ends with "# EOF"); the caller frees it. NULL if memory ran out. */
char *expo_finish(struct expo *e, size_t *len);
void expo_free(struct expo *e);

const char *expo_content_type(bool openmetrics);
/* Content negotiation: true when the Accept header prefers OpenMetrics 1.0 to the text
 * format (Prometheus asks for it first); false without one, or for text/plain. */
bool expo_wants_openmetrics(const char *accept, size_t len);

#endif
