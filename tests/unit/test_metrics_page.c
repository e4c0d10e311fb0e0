// SPDX-License-Identifier: MIT
/* The status page's pieces that need no server: the query string, escaping, times, the
 * reasons, and the rate chart's points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "metrics/certview.h"
#include "core/mbuf.h"
#include "metrics/page.h"
#include "metrics/pagebits.h"

static void test_query(void **state)
{
	static const char qs[] = "q=D1%2Eok+x&state=pending&sort=-expiry&page=3&refresh=10&x=1";
	struct page_query q;

	(void)state;
	page_query_parse(qs, strlen(qs), &q);
	assert_string_equal(q.q, "d1.ok x"); /* decoded, lower case */
	assert_int_equal(q.state, DS_PENDING);
	assert_int_equal(q.sort, CV_EXPIRY);
	assert_true(q.desc);
	assert_int_equal(q.page, 3);
	assert_int_equal(q.refresh, 10);
}

static void test_query_defaults_and_bad_values(void **state)
{
	static const char qs[] = "state=gone&sort=size&page=0&refresh=1&q&page=-2&q=%zz";
	struct page_query q;

	(void)state;
	page_query_parse(qs, strlen(qs), &q);
	assert_int_equal(q.state, -1);
	assert_int_equal(q.sort, CV_NAME);
	assert_false(q.desc);
	assert_int_equal(q.page, 1);
	assert_int_equal(q.refresh, 0);
	assert_string_equal(q.q, "%zz"); /* a bad escape stays as it is */
	page_query_parse(NULL, 0, &q);
	assert_int_equal(q.page, 1);
}

static void test_escaping(void **state)
{
	struct mbuf b = { 0 };
	size_t len;
	char *s;

	(void)state;
	put_html(&b, "<a href=\"x\">'&'</a>");
	mbuf_puts(&b, "|");
	put_urlenc(&b, "d1.ok x&y=<z>");
	s = mbuf_take(&b, &len);
	assert_string_equal(s, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
			       "|d1.ok%20x%26y%3D%3Cz%3E");
	assert_int_equal(len, strlen(s));
	free(s);
}

static void test_times(void **state)
{
	char out[64];

	(void)state;
	fmt_duration(3 * 86400 + 4 * 3600 + 5 * 60 + 6, out, sizeof(out));
	assert_string_equal(out, "3 d 04:05:06");
	fmt_duration(59, out, sizeof(out));
	assert_string_equal(out, "00:00:59");
	fmt_expiry(0, 1000, out, sizeof(out));
	assert_string_equal(out, "—");
	fmt_expiry(86400 * 10, 86400 * 3, out, sizeof(out));
	assert_string_equal(out, "1970-01-11 (in 7 d)");
	fmt_expiry(86400, 86400 * 3 + 5, out, sizeof(out));
	assert_string_equal(out, "1970-01-02 (2 d ago)");
}

static void test_reasons(void **state)
{
	struct dom_row r = { .name = "a.example.com", .not_before = 0, .not_after = 90 * 86400,
			     .state = DS_ISSUED };
	char out[160];

	(void)state;
	dom_reason(&r, 10 * 86400, out, sizeof(out));
	assert_string_equal(out, "valid until 1970-04-01");
	dom_reason(&r, 70 * 86400, out, sizeof(out)); /* less than a third left */
	assert_string_equal(out, "valid, renewal due: expires 1970-04-01");
	r.state = DS_UNKNOWN;
	dom_reason(&r, 91 * 86400, out, sizeof(out));
	assert_string_equal(out, "certificate expired on 1970-04-01");
	r = (struct dom_row){ .name = "b.example.com", .note = "key does not match",
			      .state = DS_UNKNOWN };
	dom_reason(&r, 0, out, sizeof(out));
	assert_string_equal(out, "certificate refused: key does not match");
	r = (struct dom_row){ .name = "c.example.com", .state = DS_PENDING };
	dom_reason(&r, 0, out, sizeof(out));
	assert_string_equal(out, "no certificate yet");
}

static void test_chart(void **state)
{
	struct rate_sample s[3] = { { 1000, 0, 0 }, { 1010, 100, 50 }, { 1020, 300, 100 } };
	struct mbuf b = { 0 };
	size_t len;
	char *svg;

	(void)state;
	rate_chart(&b, s, 3, 1020);
	svg = mbuf_take(&b, &len);
	/* 10/s then 20/s: the scale tops at 20; the last point is "now", at the right edge */
	assert_non_null(strstr(svg, ">20/s</text>"));
	assert_non_null(strstr(svg, "<polyline class=\"req\" points=\"630.1,79.0 640.0,0.0\"/>"));
	assert_non_null(strstr(svg, "<polyline class=\"ev\" points=\"630.1,118.5 640.0,118.5\"/>"));
	assert_null(strstr(svg, "no samples yet"));
	free(svg);
	rate_chart(&b, s, 1, 1000);
	svg = mbuf_take(&b, &len);
	assert_non_null(strstr(svg, "no samples yet"));
	free(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_defaults_and_bad_values),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_chart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
