/* SPDX-License-Identifier: MIT */
/*
 * GET /: the operator's status page, one server-rendered HTML document with no script and no
 * external asset: identity, version, uptime, applied bundle serial; the domains with their
 * certificate's state, reason and expiry (searchable, sortable, paginated by query
 * parameters, so it works with JavaScript off and 100,000 domains cost one page of rows);
 * request and event rates of the last ten minutes as an inline SVG chart; XDP counters.
 *
 *   ?q=TEXT        domains whose name contains TEXT
 *   ?state=S       issued | pending | unknown
 *   ?sort=K        name | state | expiry, "-K" descending
 *   ?page=N        1-based, PAGE_ROWS rows a page
 *   ?refresh=S     reload every S seconds (5 to 3600)
 */
#ifndef ET_METRICS_PAGE_H
#define ET_METRICS_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#define PAGE_ROWS 100

struct server;
struct mgmt_job;

struct page_query {
	char q[256];
	int state;               /* enum dom_state, -1: all */
	int sort;                /* enum certview_sort */
	bool desc;
	size_t page;             /* 1-based */
	unsigned refresh;        /* seconds, 0: off */
};

/* Parses a query string ("q=a&sort=-expiry"); unknown or bad parameters are ignored. */
void page_query_parse(const char *qs, size_t len, struct page_query *out);
/* Answers a MGMT_PAGE job (its input is the query string). */
void page_render(struct server *srv, struct mgmt_job *j);

#endif
