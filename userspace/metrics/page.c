// SPDX-License-Identifier: MIT
#include "metrics/page.h"

#include "core/version.h"
#include "metrics/certview.h"
#include "core/mbuf.h"
#include "metrics/metrics.h"
#include "metrics/pagebits.h"
#include "server/mgmt.h"
#include "server/server.h"
#include "server/state.h"
#include "track/track_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const sort_names[CV__SORTS] = { "name", "state", "expiry" };

/* ---------------------------------------------------------------- the query */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URL-decodes [p, end) into out (lower case: names are), at most cap - 1 bytes. */
static void decode(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	for (; p < end && n + 1 < cap; p++) {
		char c = *p;

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		}
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
	}
	out[n] = '\0';
}

static void query_param(struct page_query *q, const char *key, size_t klen, const char *val)
{
	char *end;
	long n;

	if (klen == 1 && *key == 'q') {
		snprintf(q->q, sizeof(q->q), "%s", val);
	} else if (klen == 5 && !memcmp(key, "state", 5)) {
		for (int s = 0; s < DS__COUNT; s++)
			if (!strcmp(val, dom_state_name(s)))
				q->state = s;
	} else if (klen == 4 && !memcmp(key, "sort", 4)) {
		q->desc = val[0] == '-';
		for (int s = 0; s < CV__SORTS; s++)
			if (!strcmp(val + q->desc, sort_names[s]))
				q->sort = s;
	} else if (klen == 4 && !memcmp(key, "page", 4)) {
		n = strtol(val, &end, 10);
		if (!*end && n >= 1)
			q->page = (size_t)n;
	} else if (klen == 7 && !memcmp(key, "refresh", 7)) {
		n = strtol(val, &end, 10);
		if (!*end && n >= 5 && n <= 3600)
			q->refresh = (unsigned)n;
	}
}

void page_query_parse(const char *qs, size_t len, struct page_query *out)
{
	const char *p = qs, *end = qs + len;

	memset(out, 0, sizeof(*out));
	out->state = -1;
	out->sort = CV_NAME;
	out->page = 1;
	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		char val[256];

		if (eq) {
			decode(eq + 1, stop, val, sizeof(val));
			query_param(out, p, (size_t)(eq - p), val);
		}
		p = amp ? amp + 1 : end;
	}
}

/* "?q=..&amp;state=..": the parameters of q that are not their defaults, for an href. */
static void put_link(struct mbuf *b, const struct page_query *q)
{
	const char *sep = "?";

	if (q->q[0]) {
		mbuf_puts(b, "?q=");
		put_urlenc(b, q->q);
		sep = "&amp;";
	}
	if (q->state >= 0) {
		mbuf_printf(b, "%sstate=%s", sep, dom_state_name(q->state));
		sep = "&amp;";
	}
	if (q->sort != CV_NAME || q->desc) {
		mbuf_printf(b, "%ssort=%s%s", sep, q->desc ? "-" : "", sort_names[q->sort]);
		sep = "&amp;";
	}
	if (q->page > 1) {
		mbuf_printf(b, "%spage=%zu", sep, q->page);
		sep = "&amp;";
	}
	if (q->refresh)
		mbuf_printf(b, "%srefresh=%u", sep, q->refresh);
	else if (sep[0] == '?')
		mbuf_puts(b, "?");
}

/* <a href="LINK" ATTRS>TEXT</a> */
static void anchor(struct mbuf *b, const struct page_query *q, const char *attrs,
		   const char *text)
{
	mbuf_puts(b, "<a href=\"");
	put_link(b, q);
	mbuf_printf(b, "\"%s%s>", attrs[0] ? " " : "", attrs);
	mbuf_puts(b, text);
	mbuf_puts(b, "</a>");
}

/* ---------------------------------------------------------------- sections */

struct page_ctx {
	struct server *srv;
	const struct config *cfg;
	const struct certview *view;
	struct page_query q;
	time_t now;
};

static void head(struct mbuf *b, const struct page_ctx *c, const char *id)
{
	mbuf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
	if (c->q.refresh)
		mbuf_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">", c->q.refresh);
	mbuf_puts(b, "<title>edgetrack ");
	put_html(b, id);
	mbuf_puts(b, "</title><style>");
	mbuf_puts(b, page_css);
	mbuf_puts(b, "</style></head>\n<body>\n");
}

static void summary(struct mbuf *b, const struct page_ctx *c, const char *id)
{
	uint64_t ctr[CTR__COUNT], routes[ROUTE__COUNT], open, serial = 0;
	struct timespec mono;
	struct state_store st;
	struct page_query r = c->q;
	char gen[64], up[64];

	server_counters_sum(c->srv, ctr, routes, &open);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	fmt_duration((int64_t)mono.tv_sec - (int64_t)(c->srv->started_ns / 1000000000ull), up,
		     sizeof(up));
	state_init(&st, c->cfg->data_dir);
	state_current(&st, gen, sizeof(gen), &serial);
	mbuf_puts(b, "<header><h1>edgetrack <span id=\"identity\">");
	put_html(b, id);
	mbuf_puts(b, "</span></h1>\n<dl id=\"summary\">");
	mbuf_printf(b, "<div><dt>Version</dt><dd id=\"version\">%s</dd></div>", EDGETRACK_VERSION);
	mbuf_printf(b, "<div><dt>Uptime</dt><dd id=\"uptime\">%s</dd></div>", up);
	mbuf_printf(b, "<div><dt>Bundle serial</dt><dd id=\"serial\">%llu</dd></div>",
		    (unsigned long long)serial);
	mbuf_printf(b, "<div><dt>Domains</dt><dd id=\"domains\">%u</dd></div>",
		    c->cfg->n_domains);
	mbuf_printf(b, "<div><dt>Workers</dt><dd>%u</dd></div>", c->srv->n_workers);
	mbuf_printf(b, "<div><dt>Open connections</dt><dd>%llu</dd></div>",
		    (unsigned long long)open);
	mbuf_printf(b, "<div><dt>Requests</dt><dd id=\"requests\">%llu</dd></div>",
		    (unsigned long long)ctr[CTR_REQUESTS]);
	mbuf_printf(b, "<div><dt>Events</dt><dd id=\"events\">%llu</dd></div></dl>\n",
		    (unsigned long long)ctr[CTR_EVENTS]);
	mbuf_puts(b, "<p class=\"refresh\">Auto-refresh: ");
	r.refresh = 10;
	anchor(b, &r, c->q.refresh == 10 ? "class=\"on\"" : "", "every 10 s");
	mbuf_puts(b, " · ");
	r.refresh = 60;
	anchor(b, &r, c->q.refresh == 60 ? "class=\"on\"" : "", "every minute");
	mbuf_puts(b, " · ");
	r.refresh = 0;
	anchor(b, &r, c->q.refresh ? "" : "class=\"on\"", "off");
	mbuf_puts(b, "</p></header>\n");
}

static void chart(struct mbuf *b, const struct page_ctx *c)
{
	struct rate_sample s[RATE_SAMPLES + 1];
	size_t n = metrics_rates(c->srv->metrics, s);
	uint64_t ctr[CTR__COUNT], routes[ROUTE__COUNT], open;

	/* the counters now close the chart, so it moves before the next sample */
	server_counters_sum(c->srv, ctr, routes, &open);
	s[n].t = c->now;
	s[n].requests = ctr[CTR_REQUESTS];
	s[n].events = ctr[CTR_EVENTS];
	mbuf_puts(b, "<section id=\"rates\"><h2>Requests and events per second, last ten "
		     "minutes</h2>\n");
	rate_chart(b, s, n + 1, c->now);
	mbuf_puts(b, "</section>\n");
}

static void state_links(struct mbuf *b, const struct page_ctx *c)
{
	struct page_query r = c->q;
	char text[96];

	mbuf_puts(b, "<p id=\"state-counts\">");
	for (int s = -1; s < DS__COUNT; s++) {
		size_t n = s < 0 ? certview_total(c->view) : certview_count(c->view, s);
		char attrs[96];

		r.state = s;
		r.page = 1;
		snprintf(attrs, sizeof(attrs), "class=\"st-%s%s\" data-state=\"%s\"",
			 s < 0 ? "all" : dom_state_name(s), c->q.state == s ? " on" : "",
			 s < 0 ? "all" : dom_state_name(s));
		snprintf(text, sizeof(text), "%s <b class=\"count\">%zu</b>",
			 s < 0 ? "all" : dom_state_name(s), n);
		anchor(b, &r, attrs, text);
		mbuf_puts(b, " ");
	}
	mbuf_puts(b, "</p>\n");
}

static void search_form(struct mbuf *b, const struct page_ctx *c)
{
	mbuf_puts(b, "<form method=\"get\" role=\"search\"><input type=\"search\" name=\"q\" "
		     "placeholder=\"domain contains\" value=\"");
	put_html(b, c->q.q);
	mbuf_puts(b, "\"><select name=\"sort\">");
	for (int k = 0; k < CV__SORTS; k++)
		for (int d = 0; d < 2; d++)
			mbuf_printf(b, "<option value=\"%s%s\"%s>%s%s</option>", d ? "-" : "",
				    sort_names[k], c->q.sort == k && c->q.desc == d ? " selected" : "",
				    sort_names[k], d ? ", descending" : "");
	mbuf_puts(b, "</select>");
	if (c->q.state >= 0)
		mbuf_printf(b, "<input type=\"hidden\" name=\"state\" value=\"%s\">",
			    dom_state_name(c->q.state));
	if (c->q.refresh)
		mbuf_printf(b, "<input type=\"hidden\" name=\"refresh\" value=\"%u\">", c->q.refresh);
	mbuf_puts(b, "<button type=\"submit\">Search</button></form>\n");
}

static void column(struct mbuf *b, const struct page_ctx *c, int key, const char *title)
{
	struct page_query r = c->q;

	r.sort = key;
	/* a second click on the column that sorts turns the order round */
	r.desc = c->q.sort == key && !c->q.desc;
	r.page = 1;
	mbuf_printf(b, "<th%s>", c->q.sort == key ? (c->q.desc ? " class=\"desc\"" : " class=\"asc\"")
						  : "");
	anchor(b, &r, "", title);
	mbuf_puts(b, "</th>");
}

static void row(struct mbuf *b, const struct dom_row *d, time_t now)
{
	char reason[160], expiry[64];

	dom_reason(d, now, reason, sizeof(reason));
	fmt_expiry(d->not_after, now, expiry, sizeof(expiry));
	mbuf_printf(b, "<tr class=\"st-%s\"><td class=\"name\">", dom_state_name(d->state));
	put_html(b, d->name);
	mbuf_printf(b, "</td><td class=\"state\">%s</td><td class=\"reason\">",
		    dom_state_name(d->state));
	put_html(b, reason);
	if (d->note && d->state == DS_ISSUED) {
		mbuf_puts(b, " (a newer pair was refused: ");
		put_html(b, d->note);
		mbuf_puts(b, ")");
	}
	mbuf_printf(b, "</td><td class=\"expiry\">%s</td></tr>\n", expiry);
}

static void pager(struct mbuf *b, const struct page_ctx *c, size_t pages)
{
	struct page_query r = c->q;

	mbuf_puts(b, "<nav id=\"pages\">");
	if (c->q.page > 1) {
		r.page = c->q.page - 1;
		anchor(b, &r, "rel=\"prev\"", "« previous");
		mbuf_puts(b, " ");
	}
	mbuf_printf(b, "page <b id=\"page\">%zu</b> of <b id=\"page-count\">%zu</b>", c->q.page,
		    pages);
	if (c->q.page < pages) {
		r.page = c->q.page + 1;
		mbuf_puts(b, " ");
		anchor(b, &r, "rel=\"next\"", "next »");
	}
	mbuf_puts(b, "</nav>\n");
}

static void domains(struct mbuf *b, struct page_ctx *c)
{
	const struct dom_row *rows[PAGE_ROWS];
	struct certview_query cq = { .q = c->q.q, .state = c->q.state, .sort = c->q.sort,
				     .desc = c->q.desc, .max = PAGE_ROWS };
	size_t matches, got, pages;

	cq.first = (c->q.page - 1) * PAGE_ROWS;
	matches = certview_select(c->view, &cq, rows);
	pages = matches ? (matches + PAGE_ROWS - 1) / PAGE_ROWS : 1;
	if (c->q.page > pages) { /* past the end: the last page */
		c->q.page = pages;
		cq.first = (pages - 1) * PAGE_ROWS;
		certview_select(c->view, &cq, rows);
	}
	got = matches - cq.first < PAGE_ROWS ? matches - cq.first : PAGE_ROWS;
	mbuf_puts(b, "<section id=\"certs\"><h2>Domains and certificates</h2>\n");
	state_links(b, c);
	search_form(b, c);
	mbuf_printf(b, "<p id=\"matches\"><b id=\"match-count\">%zu</b> domains match</p>\n",
		    matches);
	mbuf_puts(b, "<table id=\"domains\"><thead><tr>");
	column(b, c, CV_NAME, "Domain");
	column(b, c, CV_STATE, "State");
	mbuf_puts(b, "<th>Reason</th>");
	column(b, c, CV_EXPIRY, "Expires");
	mbuf_puts(b, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < got; i++)
		row(b, rows[i], c->now);
	mbuf_puts(b, "</tbody></table>\n");
	pager(b, c, pages);
	mbuf_puts(b, "</section>\n");
}

static void identity(const struct page_ctx *c, char *out, size_t cap)
{
	/* the management API's (configured, else its identity key's), else the host name */
	const char *id = c->srv->mgmt ? mgmt_appliance_id(c->srv->mgmt)
				      : c->cfg->management.appliance_id;

	if (id[0]) {
		snprintf(out, cap, "%s", id);
		return;
	}
	if (gethostname(out, cap))
		snprintf(out, cap, "appliance");
	out[cap - 1] = '\0';
}

void page_render(struct server *srv, struct mgmt_job *j)
{
	struct snapshot *s = snapshot_get(&srv->state);
	struct page_ctx c = { .srv = srv, .cfg = track_state_of(s)->cfg, .now = time(NULL) };
	struct timespec t0, t1;
	struct mbuf b = { 0 };
	char id[80], *body;
	size_t len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	page_query_parse(j->input, j->input_len, &c.q);
	c.view = metrics_certview(srv);
	identity(&c, id, sizeof(id));
	head(&b, &c, id);
	summary(&b, &c, id);
	chart(&b, &c);
	domains(&b, &c);
	xdp_section(&b, srv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the server's own time for this page, for operators and the bench */
	mbuf_printf(&b, "<footer>Rendered in <span id=\"render-ms\">%.2f</span> ms at %s "
		    "(the certificate view of %zu domains took <span id=\"view-ms\">%.1f</span> ms "
		    "when it was last built).</footer>\n</body></html>\n",
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
		    fmt_utc(c.now, id, sizeof(id)), certview_total(c.view),
		    certview_build_ms(c.view));
	snapshot_put(s);
	body = mbuf_take(&b, &len);
	metrics_job_answer(j, body, len, "text/html; charset=utf-8");
}
