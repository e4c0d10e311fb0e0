// SPDX-License-Identifier: MIT
/* The Prometheus/OpenMetrics writer: exact bytes for each kind of family, escaping, the
 * histogram's cumulative buckets, Accept negotiation, and the single-writer histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"
#include "metrics/hist.h"
#include "metrics/wstats.h"

static char *finish(struct expo *e)
{
	size_t len = 0;
	char *body = expo_finish(e, &len);

	assert_non_null(body);
	assert_int_equal(len, strlen(body));
	return body;
}

static void test_counter_text(void **state)
{
	struct expo e;
	char *body;

	(void)state;
	expo_init(&e, false);
	expo_family(&e, "edgetrack_http_requests", EXPO_COUNTER, "Requests answered.");
	expo_value(&e, (struct expo_label[]){ { "route", "click" }, { "code", "302" } }, 2, 7);
	expo_value(&e, NULL, 0, 0);
	body = finish(&e);
	assert_string_equal(body,
			    "# HELP edgetrack_http_requests_total Requests answered.\n"
			    "# TYPE edgetrack_http_requests_total counter\n"
			    "edgetrack_http_requests_total{route=\"click\",code=\"302\"} 7\n"
			    "edgetrack_http_requests_total 0\n");
	free(body);
}

static void test_counter_openmetrics(void **state)
{
	struct expo e;
	char *body;

	(void)state;
	expo_init(&e, true);
	expo_family(&e, "edgetrack_events", EXPO_COUNTER, "Events \"durable\".");
	expo_value(&e, NULL, 0, 3);
	expo_family(&e, "edgetrack_connections_open", EXPO_GAUGE, "Open connections.");
	expo_value(&e, NULL, 0, 5);
	body = finish(&e);
	/* the family without _total, its sample with it, quotes escaped in help, # EOF last */
	assert_string_equal(body,
			    "# HELP edgetrack_events Events \\\"durable\\\".\n"
			    "# TYPE edgetrack_events counter\n"
			    "edgetrack_events_total 3\n"
			    "# HELP edgetrack_connections_open Open connections.\n"
			    "# TYPE edgetrack_connections_open gauge\n"
			    "edgetrack_connections_open 5\n"
			    "# EOF\n");
	free(body);
}

static void test_escaping(void **state)
{
	struct expo e;
	char *body;

	(void)state;
	expo_init(&e, false);
	expo_family(&e, "x_info", EXPO_GAUGE, "Back\\slash\nand \"quote\".");
	expo_value(&e, (struct expo_label[]){ { "v", "a\"b\\c\nd" } }, 1, 1);
	body = finish(&e);
	/* the text format leaves quotes in help alone, and escapes them in label values */
	assert_string_equal(body, "# HELP x_info Back\\\\slash\\nand \"quote\".\n"
				  "# TYPE x_info gauge\n"
				  "x_info{v=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(body);
}

static void test_doubles(void **state)
{
	struct expo e;
	char *body;

	(void)state;
	expo_init(&e, false);
	expo_family(&e, "t_seconds", EXPO_GAUGE, "T.");
	expo_double(&e, NULL, 0, 1750000000.0);
	expo_double(&e, NULL, 0, 0.25);
	expo_double(&e, NULL, 0, -2.0);
	body = finish(&e);
	assert_string_equal(body, "# HELP t_seconds T.\n# TYPE t_seconds gauge\n"
				  "t_seconds 1750000000\nt_seconds 0.25\nt_seconds -2\n");
	free(body);
}

static void test_histogram(void **state)
{
	struct hist h;
	struct hist_sum s;
	struct expo e;
	char *body, line[128];

	(void)state;
	memset(&h, 0, sizeof(h));
	hist_observe(&h, 1000);          /* 1 us: first bucket */
	hist_observe(&h, 25000);         /* on the bound: le is inclusive */
	hist_observe(&h, 3000000);       /* 3 ms: le 0.005 */
	hist_observe(&h, 20000000000ull); /* 20 s: +Inf only */
	memset(&s, 0, sizeof(s));
	hist_merge(&s, &h);
	hist_merge(&s, &h);              /* two writers with the same observations */
	assert_int_equal(hist_count(&s), 8);
	expo_init(&e, false);
	expo_family(&e, "d_seconds", EXPO_HISTOGRAM, "D.");
	expo_hist(&e, (struct expo_label[]){ { "k", "v" } }, 1, &s);
	body = finish(&e);
	assert_non_null(strstr(body, "d_seconds_bucket{k=\"v\",le=\"2.5e-05\"} 4\n"));
	assert_non_null(strstr(body, "d_seconds_bucket{k=\"v\",le=\"0.0025\"} 4\n"));
	assert_non_null(strstr(body, "d_seconds_bucket{k=\"v\",le=\"0.005\"} 6\n"));
	assert_non_null(strstr(body, "d_seconds_bucket{k=\"v\",le=\"10.0\"} 6\n"));
	assert_non_null(strstr(body, "d_seconds_bucket{k=\"v\",le=\"+Inf\"} 8\n"));
	snprintf(line, sizeof(line), "d_seconds_sum{k=\"v\"} %s\n", "40.006052000");
	assert_non_null(strstr(body, line));
	assert_non_null(strstr(body, "d_seconds_count{k=\"v\"} 8\n"));
	free(body);
}

static void test_bounds_ordered(void **state)
{
	(void)state;
	for (unsigned i = 1; i < HIST_BOUNDS; i++)
		assert_true(hist_bounds_ns[i - 1] < hist_bounds_ns[i]);
	for (unsigned i = 0; i < HIST_BOUNDS; i++) {
		double s = strtod(hist_bounds_text[i], NULL);
		assert_true(s * 1e9 > hist_bounds_ns[i] - 1 && s * 1e9 < hist_bounds_ns[i] + 1);
		assert_int_equal(hist_bucket(hist_bounds_ns[i]), i);
		assert_int_equal(hist_bucket(hist_bounds_ns[i] + 1), i + 1);
	}
	assert_int_equal(hist_bucket(0), 0);
}

static void test_accept(void **state)
{
	static const char prom[] = "application/openmetrics-text;version=1.0.0,application/"
				   "openmetrics-text;version=0.0.1;q=0.75,text/plain;"
				   "version=0.0.4;q=0.5,*/*;q=0.1";
	static const char *const text[] = {
		"", "*/*", "text/plain", "text/plain;version=0.0.4",
		"application/openmetrics-text;version=0.0.1",
		"text/plain, application/openmetrics-text; q=0.5",
		"application/openmetrics-text;q=0",
	};
	static const char *const om[] = {
		"application/openmetrics-text", "Application/OpenMetrics-Text; version=1.0.0",
		"text/plain;q=0.5, application/openmetrics-text",
	};

	(void)state;
	assert_true(expo_wants_openmetrics(prom, strlen(prom)));
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (expo_wants_openmetrics(text[i], strlen(text[i])))
			fail_msg("'%s' got OpenMetrics", text[i]);
	for (size_t i = 0; i < sizeof(om) / sizeof(om[0]); i++)
		if (!expo_wants_openmetrics(om[i], strlen(om[i])))
			fail_msg("'%s' got the text format", om[i]);
	assert_false(expo_wants_openmetrics(NULL, 0));
	assert_non_null(strstr(expo_content_type(true), "openmetrics-text; version=1.0.0"));
	assert_non_null(strstr(expo_content_type(false), "version=0.0.4"));
}

static void test_wstats_labels(void **state)
{
	struct wstats s;

	(void)state;
	memset(&s, 0, sizeof(s));
	wstats_request(&s, ROUTE_CLICK, 302, 5000);
	wstats_response(&s, WSTATS_ROUTE_INVALID, 400);
	wstats_response(&s, ROUTE_OPEN, 299);
	wstats_handshake(&s, "TLSv1.3", true);
	wstats_handshake(&s, "TLSv1.2", false);
	assert_int_equal(s.http[ROUTE_CLICK][wstats_code(302)], 1);
	assert_int_equal(s.http[WSTATS_ROUTE_INVALID][wstats_code(400)], 1);
	assert_int_equal(s.http[ROUTE_OPEN][WC_OTHER], 1);
	assert_int_equal(s.duration.n[0], 1);
	assert_int_equal(s.handshakes[WT_TLS13], 1);
	assert_int_equal(s.handshakes[WT_TLS12], 1);
	assert_int_equal(s.resumed, 1);
	assert_string_equal(wstats_code_label(wstats_code(431)), "431");
	assert_string_equal(wstats_code_label(WC_OTHER), "other");
	assert_string_equal(wstats_route_label(ROUTE_CLICK), "click");
	assert_string_equal(wstats_route_label(WSTATS_ROUTE_INVALID), "invalid");
	assert_string_equal(wstats_tls_label(WT_TLS13), "1.3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_text),
		cmocka_unit_test(test_counter_openmetrics),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bounds_ordered),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_wstats_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
