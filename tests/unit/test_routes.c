// SPDX-License-Identifier: MIT
/* The router's answers that need no token: the HTTPS redirect of a domain with https_redirect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "http/http_parser.h"
#include "track/routes.h"
#include "track/track_state.h"

static struct snapshot *state(void)
{
	static const char json[] =
		"{\"listen\": [\"127.0.0.1:1\"], \"keys\": [{\"id\": 1, \"secret\": "
		"\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}], "
		"\"domains\": [{\"name\": \"secure.example.org\", \"https_redirect\": true}]}";
	char err[CONFIG_ERR_MAX];
	struct config *c = config_load_string(json, "test", err, sizeof(err));
	struct snapshot *s = c ? track_state_build(c, err, sizeof(err)) : NULL;

	if (!s)
		fail_msg("%s", err);
	return s;
}

/* Routes one plain-HTTP request line (Host secure.example.org); expects a 308 to want. */
static void expect_redirect(const char *target, const char *want)
{
	struct snapshot *s = state();
	char buf[1024];
	struct http_request req;
	struct route_request rq = { .req = &req, .st = track_state_of(s) };
	struct route_response rs;
	int n = snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: secure.example.org\r\n\r\n",
			 target);

	assert_int_equal(http_parse_request(buf, (size_t)n, &req), n);
	assert_int_equal(route_handle(&rq, &rs), ROUTE_REDIRECT);
	assert_int_equal(rs.status, 308);
	assert_int_equal(rs.location_len, strlen(want));
	assert_memory_equal(rs.location, want, rs.location_len);
	snapshot_put(s);
}

static void test_redirect_origin_form(void **st)
{
	(void)st;
	expect_redirect("/c/T", "https://secure.example.org/c/T");
	expect_redirect("/o/T?a=1&b=%20", "https://secure.example.org/o/T?a=1&b=%20");
	expect_redirect("/c/T?", "https://secure.example.org/c/T?");
}

/* RFC 9112 §3.2.2: the authority of an absolute-form target is the host; the Location is
 * built from the host and the path + query only, never from the target as sent. */
static void test_redirect_absolute_form(void **st)
{
	(void)st;
	expect_redirect("http://secure.example.org/c/T", "https://secure.example.org/c/T");
	expect_redirect("HTTP://Secure.Example.ORG:8080/c/T?x=1", "https://secure.example.org/c/T?x=1");
	expect_redirect("http://secure.example.org/o/T?", "https://secure.example.org/o/T?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_origin_form),
		cmocka_unit_test(test_redirect_absolute_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
