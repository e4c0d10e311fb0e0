// SPDX-License-Identifier: MIT
#include "metrics/expo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define TEXT_TYPE        "text/plain; version=0.0.4; charset=utf-8"

void expo_init(struct expo *e, bool openmetrics)
{
	memset(e, 0, sizeof(*e));
	e->openmetrics = openmetrics;
}

void expo_free(struct expo *e)
{
	mbuf_free(&e->b);
}

static void put(struct expo *e, const char *s, size_t n)
{
	mbuf_put(&e->b, s, n);
}

static void puts_(struct expo *e, const char *s)
{
	mbuf_puts(&e->b, s);
}

#define putf(e, ...) mbuf_printf(&(e)->b, __VA_ARGS__)

/* Backslash and newline always; the double quote in label values, and in OpenMetrics help. */
static void put_escaped(struct expo *e, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(e, "\\\\", 2);
		else if (*s == '\n')
			put(e, "\\n", 2);
		else if (*s == '"' && quote)
			put(e, "\\\"", 2);
		else
			put(e, s, 1);
	}
}

void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	/* the text format names a counter's family as its sample; OpenMetrics without _total */
	const char *suffix = type == EXPO_COUNTER && !e->openmetrics ? "_total" : "";

	snprintf(e->family, sizeof(e->family), "%s", name);
	e->type = type;
	puts_(e, "# HELP ");
	puts_(e, name);
	puts_(e, suffix);
	put(e, " ", 1);
	put_escaped(e, help, e->openmetrics);
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	puts_(e, suffix);
	put(e, " ", 1);
	puts_(e, types[type]);
	put(e, "\n", 1);
}

/* name{a="x",b="y"[,le="..."]} without the value */
static void series(struct expo *e, const char *suffix, const struct expo_label *l, size_t nl,
		   const char *le)
{
	puts_(e, e->family);
	puts_(e, suffix);
	if (!nl && !le)
		return;
	put(e, "{", 1);
	for (size_t i = 0; i < nl; i++) {
		if (i)
			put(e, ",", 1);
		puts_(e, l[i].name);
		put(e, "=\"", 2);
		put_escaped(e, l[i].value, true);
		put(e, "\"", 1);
	}
	if (le) {
		puts_(e, nl ? ",le=\"" : "le=\"");
		puts_(e, le);
		put(e, "\"", 1);
	}
	put(e, "}", 1);
}

static const char *value_suffix(const struct expo *e)
{
	return e->type == EXPO_COUNTER ? "_total" : "";
}

void expo_value(struct expo *e, const struct expo_label *l, size_t nl, uint64_t v)
{
	series(e, value_suffix(e), l, nl, NULL);
	putf(e, " %llu\n", (unsigned long long)v);
}

static void put_double(struct expo *e, double v)
{
	if (isnan(v))
		puts_(e, "NaN");
	else if (isinf(v))
		puts_(e, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		putf(e, "%lld", (long long)v); /* whole numbers as integers */
	else
		putf(e, "%.17g", v);
}

void expo_double(struct expo *e, const struct expo_label *l, size_t nl, double v)
{
	series(e, value_suffix(e), l, nl, NULL);
	put(e, " ", 1);
	put_double(e, v);
	put(e, "\n", 1);
}

void expo_hist(struct expo *e, const struct expo_label *l, size_t nl, const struct hist_sum *h)
{
	uint64_t cum = 0;

	for (unsigned i = 0; i <= HIST_BOUNDS; i++) {
		cum += h->n[i];
		series(e, "_bucket", l, nl, i < HIST_BOUNDS ? hist_bounds_text[i] : "+Inf");
		putf(e, " %llu\n", (unsigned long long)cum);
	}
	series(e, "_sum", l, nl, NULL);
	/* whole nanoseconds: nine decimals say it exactly */
	putf(e, " %llu.%09llu\n", (unsigned long long)(h->sum_ns / 1000000000ull),
	     (unsigned long long)(h->sum_ns % 1000000000ull));
	series(e, "_count", l, nl, NULL);
	putf(e, " %llu\n", (unsigned long long)cum);
}

char *expo_finish(struct expo *e, size_t *len)
{
	if (e->openmetrics)
		puts_(e, "# EOF\n");
	return mbuf_take(&e->b, len);
}

const char *expo_content_type(bool openmetrics)
{
	return openmetrics ? OPENMETRICS_TYPE : TEXT_TYPE;
}

/* ---------------------------------------------------------------- Accept */

struct media {
	const char *type;
	size_t type_len;
	double q;
	bool version_ok;  /* no version parameter, or one OpenMetrics 1.0 means */
};

static const char *trim(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* One "type/subtype;param=value;..." element of an Accept list. */
static void parse_media(const char *p, const char *end, struct media *m)
{
	const char *semi;

	p = trim(p, end);
	semi = memchr(p, ';', (size_t)(end - p));
	m->type = p;
	m->type_len = (size_t)((semi ? semi : end) - p);
	while (m->type_len && (p[m->type_len - 1] == ' ' || p[m->type_len - 1] == '\t'))
		m->type_len--;
	m->q = 1.0;
	m->version_ok = true;
	while (semi) {
		const char *param = trim(semi + 1, end);
		const char *next = memchr(param, ';', (size_t)(end - param));
		size_t plen = (size_t)((next ? next : end) - param);

		if (plen > 2 && !strncasecmp(param, "q=", 2))
			m->q = strtod(param + 2, NULL);
		else if (plen > 8 && !strncasecmp(param, "version=", 8))
			m->version_ok = plen >= 13 && !strncmp(param + 8, "1.0.0", 5);
		semi = next;
	}
}

static bool is_type(const struct media *m, const char *t)
{
	return m->type_len == strlen(t) && !strncasecmp(m->type, t, m->type_len);
}

bool expo_wants_openmetrics(const char *accept, size_t len)
{
	const char *p = accept, *end = accept + len;
	double om = 0, text = 0;

	while (accept && p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct media m;

		parse_media(p, comma ? comma : end, &m);
		if (is_type(&m, "application/openmetrics-text") && m.version_ok && m.q > om)
			om = m.q;
		else if ((is_type(&m, "text/plain") || is_type(&m, "*/*")) && m.q > text)
			text = m.q;
		p = comma ? comma + 1 : end;
	}
	/* a tie goes to OpenMetrics: a scraper that names it at all can read it */
	return om > 0 && om >= text;
}
