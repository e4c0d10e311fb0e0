// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/hostname.h"

/* Normalizes s with flags; returns the length and leaves the result in out. */
static int norm(const char *s, unsigned flags, char *out, size_t cap)
{
	memset(out, 'X', cap);
	return hostname_normalize(s, strlen(s), out, cap, flags);
}

static void expect_name(const char *in, unsigned flags, const char *want)
{
	char out[300];
	int n = norm(in, flags, out, sizeof(out));

	if (n < 0)
		fail_msg("'%s' rejected, want '%s'", in, want);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

static void expect_bad(const char *in, unsigned flags)
{
	char out[300];

	if (norm(in, flags, out, sizeof(out)) >= 0)
		fail_msg("'%s' accepted as '%s'", in, out);
}

static void test_case_folding(void **state)
{
	(void)state;
	expect_name("Click.Example.COM", 0, "click.example.com");
	expect_name("a-B0.c9", 0, "a-b0.c9");
	expect_name("x", 0, "x");
	expect_name("EXAMPLE", HOSTNAME_NAME_ONLY, "example");
}

static void test_port(void **state)
{
	(void)state;
	expect_name("example.com:443", 0, "example.com");
	expect_name("Example.com:8080", 0, "example.com");
	expect_name("example.com:", 0, "example.com");   /* RFC 3986: port = *DIGIT */
	expect_name("example.com:0", 0, "example.com");
	expect_name("example.com:65535", 0, "example.com");
	expect_bad("example.com:65536", 0);
	expect_bad("example.com:123456", 0);
	expect_bad("example.com:80a", 0);
	expect_bad("example.com:-1", 0);
	expect_bad("example.com:80:80", 0);
	expect_bad(":80", 0);
	/* config names and bare names never carry a port */
	expect_bad("example.com:443", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("example.com:443", HOSTNAME_NAME_ONLY);
}

static void test_ipv6(void **state)
{
	(void)state;
	expect_name("[::1]", 0, "[::1]");
	expect_name("[::1]:8080", 0, "[::1]");
	expect_name("[2001:DB8::A]:443", 0, "[2001:db8::a]");
	expect_name("[::ffff:192.0.2.1]", 0, "[::ffff:192.0.2.1]");
	expect_name("[::1]:", 0, "[::1]");
	expect_bad("[::1]:99999", 0);
	expect_bad("[::1]x", 0);
	expect_bad("[::1", 0);
	expect_bad("[]", 0);
	expect_bad("[]:80", 0);
	expect_bad("[zz::1]", 0);
	expect_bad("[fe80::1%eth0]", 0);
	expect_bad("[1.2.3.4]", 0);
	expect_bad("[::1]", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("[::1]", HOSTNAME_NAME_ONLY);
	expect_bad("::1", 0);
}

static void test_trailing_dot(void **state)
{
	(void)state;
	expect_name("example.com.", 0, "example.com");
	expect_name("example.com.:80", 0, "example.com");
	expect_name("*.example.com.", HOSTNAME_ALLOW_WILDCARD, "*.example.com");
	expect_bad("example.com..", 0);
	expect_bad(".", 0);
	expect_bad("..", 0);
	expect_bad(".example.com", 0);
	expect_bad("a..b", 0);
}

static void test_invalid_names(void **state)
{
	(void)state;
	expect_bad("", 0);
	expect_bad("-a.com", 0);
	expect_bad("a-.com", 0);
	expect_bad("a.-b.com", 0);
	expect_bad("a.b-", 0);
	expect_bad("a_b.com", 0);
	expect_bad("a b.com", 0);
	expect_bad("a/b", 0);
	expect_bad("caf\xc3\xa9.com", 0);
	expect_bad("a@b.com", 0);
	expect_bad("exa\tmple.com", 0);
	expect_name("xn--caf-dma.com", 0, "xn--caf-dma.com");   /* punycode is plain LDH */
	expect_name("1.2.3.4", 0, "1.2.3.4");
	/* an embedded NUL must not cut the name short */
	{
		char out[64];

		assert_int_equal(hostname_normalize("a.com\0evil", 10, out, sizeof(out), 0), -1);
		assert_int_equal(hostname_normalize("[::1\0]", 6, out, sizeof(out), 0), -1);
	}
	assert_int_equal(hostname_normalize(NULL, 3, (char[8]){ 0 }, 8, 0), -1);
}

static void test_wildcard(void **state)
{
	(void)state;
	expect_name("*.Example.com", HOSTNAME_ALLOW_WILDCARD, "*.example.com");
	expect_name("example.com", HOSTNAME_ALLOW_WILDCARD, "example.com");
	expect_bad("*.example.com", 0);
	expect_bad("*.example.com", HOSTNAME_NAME_ONLY);
	expect_bad("*", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("*.", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("a.*.example.com", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("*a.example.com", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("*.*.example.com", HOSTNAME_ALLOW_WILDCARD);
	expect_bad("**.example.com", HOSTNAME_ALLOW_WILDCARD);
	assert_true(hostname_is_wildcard("*.a.b", 5));
	assert_false(hostname_is_wildcard("a.b", 3));
	assert_false(hostname_is_wildcard("*", 1));
}

static void test_length_limits(void **state)
{
	char in[400], out[400];
	int n;

	(void)state;
	/* label of 63 ok, 64 not */
	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	expect_name(in, 0, in);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	expect_bad(in, 0);

	/* 253 total ok (4 x 63 - ... built as 63.63.63.61), 254 not */
	memset(in, 'a', 253);
	in[63] = in[127] = in[191] = '.';
	in[253] = '\0';
	expect_name(in, 0, in);
	strcpy(in + 253, ".");   /* trailing dot does not count */
	n = norm(in, 0, out, sizeof(out));
	assert_int_equal(n, 253);
	in[253] = 'a';
	in[254] = '\0';
	expect_bad(in, 0);

	/* wildcard counts its "*." */
	memset(in, 'a', 253);
	in[0] = '*';
	in[1] = in[63] = in[127] = in[191] = '.';
	in[253] = '\0';
	n = norm(in, HOSTNAME_ALLOW_WILDCARD, out, sizeof(out));
	assert_int_equal(n, 253);
	in[253] = 'a';
	in[254] = '\0';
	expect_bad(in, HOSTNAME_ALLOW_WILDCARD);

	/* output capacity must hold the NUL */
	assert_int_equal(hostname_normalize("abc.de", 6, out, 6, 0), -1);
	assert_int_equal(hostname_normalize("abc.de", 6, out, 7, 0), 6);
	assert_int_equal(hostname_normalize("[::1]", 5, out, 5, 0), -1);
	assert_int_equal(hostname_normalize("[::1]", 5, out, 6, 0), 5);
}

static void test_in_place(void **state)
{
	char buf[32] = "Click.Example.com.:80";
	int n;

	(void)state;
	n = hostname_normalize(buf, strlen(buf), buf, sizeof(buf), 0);
	assert_int_equal(n, 17);
	assert_string_equal(buf, "click.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_trailing_dot),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
