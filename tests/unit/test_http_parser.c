// SPDX-License-Identifier: MIT
/* Unit tests of the strict HTTP/1.1 request-head parser (userspace/http/http_parser.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/http_parser.h"

#define H "Host: h\r\n"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- helpers */

static void assert_str(struct http_str s, const char *want)
{
	size_t n = strlen(want);

	if (s.len != n || memcmp(s.p, want, n) != 0)
		fail_msg("got \"%.*s\" (%u), want \"%s\"", (int)s.len, s.p ? s.p : "", s.len, want);
}

/* s lies inside buf[0..len) and is never NULL. */
static void assert_inside(struct http_str s, const char *buf, size_t len)
{
	assert_non_null(s.p);
	assert_true(s.p >= buf && s.p + s.len <= buf + len);
}

static void assert_all_inside(const struct http_request *req, const char *buf, size_t len)
{
	assert_inside(req->method_str, buf, len);
	assert_inside(req->target, buf, len);
	assert_inside(req->path, buf, len);
	assert_inside(req->query, buf, len);
	assert_inside(req->host, buf, len);
	assert_inside(req->user_agent, buf, len);
	assert_inside(req->content_type, buf, len);
	for (unsigned i = 0; i < req->nheaders; i++) {
		assert_inside(req->headers[i].name, buf, len);
		assert_inside(req->headers[i].value, buf, len);
	}
}

static void assert_same_str(struct http_str a, const char *abuf, struct http_str b, const char *bbuf)
{
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.p - abuf, b.p - bbuf);
}

/* Two parses of the same bytes in different buffers filled the same fields. */
static void assert_same_request(const struct http_request *a, const char *abuf,
				const struct http_request *b, const char *bbuf)
{
	assert_int_equal(a->method, b->method);
	assert_same_str(a->method_str, abuf, b->method_str, bbuf);
	assert_same_str(a->target, abuf, b->target, bbuf);
	assert_same_str(a->path, abuf, b->path, bbuf);
	assert_same_str(a->query, abuf, b->query, bbuf);
	assert_same_str(a->host, abuf, b->host, bbuf);
	assert_same_str(a->user_agent, abuf, b->user_agent, bbuf);
	assert_same_str(a->content_type, abuf, b->content_type, bbuf);
	assert_int_equal(a->minor, b->minor);
	assert_int_equal(a->nheaders, b->nheaders);
	for (unsigned i = 0; i < a->nheaders; i++) {
		assert_same_str(a->headers[i].name, abuf, b->headers[i].name, bbuf);
		assert_same_str(a->headers[i].value, abuf, b->headers[i].value, bbuf);
	}
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->keep_alive, b->keep_alive);
	assert_int_equal(a->head_len, b->head_len);
	assert_int_equal(a->absolute_form, b->absolute_form);
	assert_int_equal(a->has_content_length, b->has_content_length);
	assert_int_equal(a->expect_continue, b->expect_continue);
}

/*
 * Parses every prefix of s[0..len), each from an exact-size heap copy so ASan reports any
 * read past the end. A complete head must give 0 for every shorter prefix and the same
 * answer and fields from head_len on; an error must give 0 up to some prefix and that same
 * error for every longer one. Returns the answer for the whole buffer.
 */
static int check_prefixes(const char *s, size_t len)
{
	struct http_request *full = malloc(sizeof(*full)), *part = malloc(sizeof(*part));
	int want, r;
	bool decided = false;

	assert_non_null(full);
	assert_non_null(part);
	want = http_parse_request(s, len, full);
	for (size_t k = 0; k <= len; k++) {
		char *b = malloc(k ? k : 1);

		assert_non_null(b);
		memcpy(b, s, k);
		r = http_parse_request(b, k, part);
		if (want > 0 && k < (size_t)want) {
			if (r != 0)
				fail_msg("prefix %zu of %zu: %d before the head is complete", k, len, r);
		} else if (want > 0) {
			assert_int_equal(r, want);
			assert_same_request(full, s, part, b);
			assert_all_inside(part, b, k);
		} else {
			if (r != 0)
				decided = true;
			if (r != (decided ? want : 0))
				fail_msg("prefix %zu of %zu: %d, whole buffer %d", k, len, r, want);
		}
		free(b);
	}
	free(full);
	free(part);
	return want;
}

static int parse(const char *s, struct http_request *req)
{
	int r = http_parse_request(s, strlen(s), req);

	if (r > 0)
		assert_all_inside(req, s, strlen(s));
	return r;
}

/* A complete head that is the whole string. */
static void parse_ok(const char *s, struct http_request *req)
{
	int r = parse(s, req);

	if (r != (int)strlen(s))
		fail_msg("\"%s\": %d, want %zu", s, r, strlen(s));
	assert_int_equal(req->head_len, r);
}

struct verdict {
	const char *s;
	size_t len;  /* 0: strlen(s) */
	int want;    /* 1: complete head of the whole string, else -status or 0 */
};

#define V(str, w) { str, 0, w }
#define VN(str, w) { str, sizeof(str) - 1, w } /* with NUL bytes */

/* Each verdict for the whole string and, through check_prefixes, for every prefix. */
static void check_verdicts(const struct verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = v[i].len ? v[i].len : strlen(v[i].s);
		int want = v[i].want == 1 ? (int)len : v[i].want;
		int r = check_prefixes(v[i].s, len);

		if (r != want)
			fail_msg("case %zu \"%.*s\": %d, want %d", i, (int)len, v[i].s, r, want);
	}
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* printf into a fresh heap string. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

/* ---------------------------------------------------------------- basic requests */

static void test_get(void **state)
{
	static const char s[] = "GET /c/abc?x=1&y HTTP/1.1\r\n"
				"Host: click.example.com\r\n"
				"User-Agent: Mozilla/5.0 (X11)\r\n"
				"Accept: */*\r\n"
				"\r\n";
	struct http_request req;

	(void)state;
	parse_ok(s, &req);
	assert_int_equal(req.method, HTTP_GET);
	assert_str(req.method_str, "GET");
	assert_str(req.target, "/c/abc?x=1&y");
	assert_str(req.path, "/c/abc");
	assert_str(req.query, "x=1&y");
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.nheaders, 3);
	assert_str(req.headers[0].name, "Host");
	assert_str(req.headers[0].value, "click.example.com");
	assert_str(req.headers[2].name, "Accept");
	assert_str(req.headers[2].value, "*/*");
	assert_str(req.host, "click.example.com");
	assert_str(req.user_agent, "Mozilla/5.0 (X11)");
	assert_int_equal(req.content_type.len, 0);
	assert_int_equal(req.content_length, 0);
	assert_false(req.has_content_length);
	assert_true(req.keep_alive);
	assert_false(req.absolute_form);
	assert_false(req.expect_continue);
	assert_int_equal(check_prefixes(s, strlen(s)), (int)strlen(s));
}

static void test_absent_strings_point_into_buffer(void **state)
{
	static const char s[] = "GET /o/t HTTP/1.0\r\n\r\n";
	struct http_request req;

	(void)state;
	parse_ok(s, &req);
	assert_int_equal(req.minor, 0);
	assert_int_equal(req.nheaders, 0);
	assert_ptr_equal(req.host.p, s);
	assert_int_equal(req.host.len, 0);
	assert_ptr_equal(req.user_agent.p, s);
	assert_ptr_equal(req.content_type.p, s);
	/* no '?': an empty query at the end of the target */
	assert_str(req.path, "/o/t");
	assert_int_equal(req.query.len, 0);
	assert_ptr_equal(req.query.p, req.target.p + req.target.len);
	assert_false(req.keep_alive);
}

static void test_query_split(void **state)
{
	struct http_request req;

	(void)state;
	parse_ok("GET /p? HTTP/1.1\r\n" H "\r\n", &req);
	assert_str(req.path, "/p");
	assert_str(req.query, "");
	assert_ptr_equal(req.query.p, req.path.p + 3);
	parse_ok("GET /p??x HTTP/1.1\r\n" H "\r\n", &req);
	assert_str(req.path, "/p");
	assert_str(req.query, "?x");
	parse_ok("GET /?a/b?c=%20 HTTP/1.1\r\n" H "\r\n", &req);
	assert_str(req.path, "/");
	assert_str(req.query, "a/b?c=%20");
	parse_ok("GET /a/b;c=d,e@f:g!$&'()*+=~-._%41%2f HTTP/1.1\r\n" H "\r\n", &req);
	assert_str(req.path, "/a/b;c=d,e@f:g!$&'()*+=~-._%41%2f");
	parse_ok("GET //x/../y HTTP/1.1\r\n" H "\r\n", &req);
	assert_str(req.path, "//x/../y"); /* raw: no normalisation */
}

static void test_head_and_post(void **state)
{
	static const char post[] = "POST /u/tok HTTP/1.1\r\n"
				   "Host: h\r\n"
				   "Content-Type: application/x-www-form-urlencoded\r\n"
				   "Content-Length: 26\r\n"
				   "\r\n"
				   "List-Unsubscribe=One-Click";
	struct http_request req;
	int r;

	(void)state;
	parse_ok("HEAD /o/x HTTP/1.1\r\n" H "\r\n", &req);
	assert_int_equal(req.method, HTTP_HEAD);
	assert_str(req.method_str, "HEAD");

	r = parse(post, &req);
	assert_int_equal(r, strlen(post) - 26);
	assert_int_equal(req.method, HTTP_POST);
	assert_int_equal(req.content_length, 26);
	assert_true(req.has_content_length);
	assert_str(req.content_type, "application/x-www-form-urlencoded");
	assert_memory_equal(post + r, "List-Unsubscribe=One-Click", 26);
	assert_int_equal(check_prefixes(post, strlen(post)), r);

	parse_ok("POST /u/x HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", &req);
	assert_int_equal(req.content_length, 0);
	assert_true(req.has_content_length);
	parse_ok("POST /u/x HTTP/1.1\r\n" H "Content-Length: 007\r\n\r\n", &req);
	assert_int_equal(req.content_length, 7);
}

static void test_other_methods(void **state)
{
	static const char *const names[] = { "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT" };
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *s = fmt("%s /c/x HTTP/1.1\r\n" H "\r\n", names[i]);

		parse_ok(s, &req);
		assert_int_equal(req.method, HTTP_OTHER);
		assert_str(req.method_str, names[i]);
		assert_int_equal(check_prefixes(s, strlen(s)), (int)strlen(s));
		free(s);
	}
}

static void test_leading_empty_line(void **state)
{
	static const char s[] = "\r\nGET / HTTP/1.1\r\n" H "\r\n";
	struct http_request req;

	(void)state;
	parse_ok(s, &req);
	assert_ptr_equal(req.method_str.p, s + 2);
	assert_int_equal(check_prefixes(s, strlen(s)), (int)strlen(s));
}

/* ---------------------------------------------------------------- statuses */

static void test_bad_request_line(void **state)
{
	static const struct verdict v[] = {
		V(" / HTTP/1.1\r\n" H "\r\n", -400),              /* empty method */
		V("GET  / HTTP/1.1\r\n" H "\r\n", -400),          /* two SP */
		V("GET / HTTP/1.1 \r\n" H "\r\n", -400),          /* trailing SP */
		V("GET /  HTTP/1.1\r\n" H "\r\n", -400),
		V("GET\t/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET / HTTP/1.1\n" H "\r\n", -400),             /* bare LF */
		V("GET / HTTP/1.1\r\r\n" H "\r\n", -400),         /* bare CR */
		V("GET / HTTP/1.1\rX", -400),
		V("GET /\r\n\r\n", -400),                         /* HTTP/0.9 */
		V("GET / \r\n\r\n", -400),
		V("GET\r\n\r\n", -400),
		V("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", -400), /* TLS ClientHello */
		V("\n", -400),
		V("\r\r", -400),
		V("\r\n\n", -400),
		V("\r\n\r\n", -400),                              /* only one empty line skipped */
		V("\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "\n", -400),             /* bare LF ends the head */
		V("GET / HTTP/1.1\r\n" H "\r\r\n", -400),
		VN("GET /\0 HTTP/1.1\r\n" H "\r\n", -400),
		VN("G\0T / HTTP/1.1\r\n" H "\r\n", -400),
		VN("\0", -400),
	};

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_unknown_method(void **state)
{
	static const struct verdict v[] = {
		V("get / HTTP/1.1\r\n" H "\r\n", -501), /* case-sensitive */
		V("Get / HTTP/1.1\r\n" H "\r\n", -501),
		V("GETS / HTTP/1.1\r\n" H "\r\n", -501),
		V("GE / HTTP/1.1\r\n" H "\r\n", -501),
		V("G / HTTP/1.1\r\n" H "\r\n", -501),
		V("FOO / HTTP/1.1\r\n" H "\r\n", -501),
		V("POSTX / HTTP/1.1\r\n" H "\r\n", -501),
		V("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -501), /* HTTP/2 preface */
		V("XYZ", -501),                              /* known before the SP */
		V("GET!", -501),
		V("DELET", 0),
		V("OPTION", 0),
		V("G", 0),
		V("GE{", -400),                              /* not a token character */
		V("GET:", -400),
	};

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_version(void **state)
{
	static const struct verdict v[] = {
		V("GET / HTTP/1.0\r\n\r\n", 1),
		V("GET / HTTP/1.1\r\n" H "\r\n", 1),
		V("GET / HTTP/1.2\r\n" H "\r\n", -505),
		V("GET / HTTP/1.9\r\n" H "\r\n", -505),
		V("GET / HTTP/2.0\r\n" H "\r\n", -505),
		V("GET / HTTP/3.0\r\n" H "\r\n", -505),
		V("GET / HTTP/0.9\r\n" H "\r\n", -505),
		V("GET / HTTP/2", -505),                  /* decided at the digit */
		V("GET / HTTP/20\r\n", -505),
		V("GET / HTTP/1.10\r\n" H "\r\n", -400),
		V("GET / HTTP/11.1\r\n" H "\r\n", -400),
		V("GET / HTTP/1\r\n" H "\r\n", -400),
		V("GET / HTTP/1.\r\n" H "\r\n", -400),
		V("GET / HTTP/1.x\r\n" H "\r\n", -400),
		V("GET / HTTP/x.1\r\n" H "\r\n", -400),
		V("GET / http/1.1\r\n" H "\r\n", -400),
		V("GET / HTTPS/1.1\r\n" H "\r\n", -400),
		V("GET / HTTP/ 1.1\r\n" H "\r\n", -400),
		V("GET / HTTP/1.1x\r\n" H "\r\n", -400),
		V("GET / HTTP/1.1", 0),
		V("GET / HTTP/1.1\r", 0),
	};

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_target(void **state)
{
	static const struct verdict v[] = {
		V("GET * HTTP/1.1\r\n" H "\r\n", -400),          /* asterisk-form */
		V("OPTIONS * HTTP/1.1\r\n" H "\r\n", -400),
		V("CONNECT h:443 HTTP/1.1\r\n" H "\r\n", -400),  /* authority-form */
		V("GET a HTTP/1.1\r\n" H "\r\n", -400),
		V("GET %2F HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a#b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\"b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a<b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a>b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a{b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a}b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a|b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\\b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a^b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a`b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a[b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a]b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\x7f HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\x80 HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\xff HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\x01 HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /a\t HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /?a#b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /?a b HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /% HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /%4 HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /%4G HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /%G4 HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /%%41 HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /?%zz HTTP/1.1\r\n" H "\r\n", -400),
		V("GET /abc\x01", -400),                        /* before the line is complete */
		V("GET /%4", 0),
		V("GET /%aF HTTP/1.1\r\n" H "\r\n", 1),
	};

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_absolute_form(void **state)
{
	static const char s[] = "GET http://Click.Example.COM:8080/c/x?y=1 HTTP/1.1\r\n"
				"Host: other.example\r\n\r\n";
	static const struct verdict v[] = {
		V("GET https://h/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET HTTP://h/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET HtTpS://h/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://[::1]:8443/p HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://[2001:db8::7]/p HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://127.0.0.1/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://h:/ HTTP/1.1\r\n" H "\r\n", 1),          /* empty port */
		V("GET http://h:65535/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://h%41/ HTTP/1.1\r\n" H "\r\n", 1),
		V("GET http://h/ HTTP/1.0\r\n\r\n", 1),                /* 1.0 needs no Host */
		V("GET http://h/ HTTP/1.1\r\n\r\n", -400),             /* 1.1 still needs Host */
		V("GET http://h/ HTTP/1.1\r\nHost: a b\r\n\r\n", -400),/* and a valid one */
		V("GET http:/h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http//h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET ftp://h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET httpx://h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET httpss://h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http:// HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http:///p HTTP/1.1\r\n" H "\r\n", -400),        /* empty host */
		V("GET http://h HTTP/1.1\r\n" H "\r\n", -400),         /* empty path */
		V("GET http://h?x HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://u@h/ HTTP/1.1\r\n" H "\r\n", -400),      /* userinfo */
		V("GET http://u:p@h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h:80:80/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h:99999/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h:65536/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h:8x/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://:80/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[::1/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[xyz]/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[1:2]/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[]/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[v1.x]/ HTTP/1.1\r\n" H "\r\n", -400),   /* IPvFuture */
		V("GET http://[::1]x/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h%zz/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://[g", -400),                              /* decided at the byte */
		V("GET http://[1111111111111111111111111111111111111111111111", -400), /* too long */
		V("GET http://h:123456", -400),
		V("GET http://h h/ HTTP/1.1\r\n" H "\r\n", -400),
		V("GET http://h/#f HTTP/1.1\r\n" H "\r\n", -400),
	};
	struct http_request req;

	(void)state;
	parse_ok(s, &req);
	assert_true(req.absolute_form);
	assert_str(req.target, "http://Click.Example.COM:8080/c/x?y=1");
	assert_str(req.host, "Click.Example.COM:8080"); /* the authority, not the Host header */
	assert_str(req.path, "/c/x");
	assert_str(req.query, "y=1");
	assert_str(http_find_header(&req, "host")->value, "other.example");
	assert_int_equal(check_prefixes(s, strlen(s)), (int)strlen(s));
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_header_syntax(void **state)
{
	static const struct verdict v[] = {
		V("GET / HTTP/1.1\r\nHost : h\r\n\r\n", -400),      /* whitespace before colon */
		V("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X-No-Colon\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H ": v\r\n\r\n", -400),       /* empty name */
		V("GET / HTTP/1.1\r\n Host: h\r\n\r\n", -400),       /* leading whitespace */
		V("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", -400), /* obs-fold */
		V("GET / HTTP/1.1\r\n" H "X: a\r\n\tb\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\x01" "b\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\x1f" "b\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\x7f" "b\r\n\r\n", -400),
		VN("GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n", -400),
		VN("GET / HTTP/1.1\r\n" H "X\0: b\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\nb\r\n\r\n", -400),   /* bare LF in a value */
		V("GET / HTTP/1.1\r\n" H "X: a\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n", -400),   /* bare CR in a value */
		V("GET / HTTP/1.1\r\n" H "X: a\r\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X(Y): z\r\n\r\n", -400),   /* name not a token */
		V("GET / HTTP/1.1\r\n" H "X\x80: z\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X Y: z\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X/Y: z\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X\"Y: z\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "X: a\x01", -400),          /* before the line is complete */
		V("GET / HTTP/1.1\r\n" H "X: \x80\xff\r\n\r\n", 1), /* obs-text */
		V("GET / HTTP/1.1\r\n" H "X:\r\n\r\n", 1),
		V("GET / HTTP/1.1\r\n" H "X: a\tb\r\n\r\n", 1),
		V("GET / HTTP/1.1\r\n" H "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", 1),
	};
	static const char trim[] = "GET / HTTP/1.1\r\nHost:  \t x.example \t \r\nX-Empty: \t \r\n"
				   "X-Tab:\ta \t b\t\r\n\r\n";
	struct http_request req;

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
	parse_ok(trim, &req);
	assert_str(req.host, "x.example");
	assert_str(req.headers[1].value, "");
	assert_str(req.headers[2].value, "a \t b");
}

static void test_host(void **state)
{
	static const char *const good[] = {
		"example.com", "example.com.", "EXAMPLE.com:443", "[2001:db8::1]:8443", "[::1]",
		"127.0.0.1:80", "h:", "[::1]:", "", "h:65535", "h:0", "xn--bcher-kva.example", "a_b-c~d",
		"h%41", "a,b;c=d!$&'()*+",
	};
	static const char *const bad[] = {
		"a b", "a/b", "a@b", "u@h", "[::1", "[::1]x", "h:abc", "h:123456", "h:65536",
		":80", "h%2", "h%zz", "h%4z", "h%z4", "h:000080", "h:-1", "[v1.x]", "[1:2:3]", "a\"b", "h:80:80", "a?b", "a#b",
		"[::1]]", "h\x80", "[]",
	};
	static const struct verdict v[] = {
		V("GET / HTTP/1.1\r\n\r\n", -400),                       /* missing in 1.1 */
		V("GET / HTTP/1.1\r\nX: y\r\n\r\n", -400),
		V("GET / HTTP/1.0\r\n\r\n", 1),                          /* optional in 1.0 */
		V("GET / HTTP/1.1\r\n" H H "\r\n", -400),                 /* duplicate */
		V("GET / HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n", -400),
		V("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", -400),
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char *s = fmt("GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);

		parse_ok(s, &req);
		assert_str(req.host, good[i]);
		free(s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *s = fmt("GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);

		if (parse(s, &req) != -400)
			fail_msg("Host \"%s\" accepted", bad[i]);
		assert_int_equal(check_prefixes(s, strlen(s)), -400);
		free(s);
	}
	check_verdicts(v, ARRAY_SIZE(v));
	parse_ok("GET / HTTP/1.1\r\nhOsT: Mixed.Case\r\n\r\n", &req);
	assert_str(req.host, "Mixed.Case");
}

static void test_content_length(void **state)
{
	static const struct { const char *len; uint32_t max; long long want; } big[] = {
		{ "1073741824", 1u << 30, 1073741824 },
		{ "1073741825", 1u << 30, -413 },
		{ "4294967295", UINT32_MAX, 4294967295 },
		{ "4294967296", UINT32_MAX, -413 },
		{ "99999999999999999999", UINT32_MAX, -413 },
		{ "4097", HTTP_MAX_BODY, -413 },
	};
	static const char *const bad[] = {
		"", "abc", "-1", "+5", "1 2", "5,5", "5, 5", "0x10", "1.0", "1e3", "\x80",
	};
	static const struct verdict v[] = {
		V("POST / HTTP/1.1\r\n" H "Content-Length: 4096\r\n\r\n", 1),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 4097\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 0004097\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 40960\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 409\r\n\r\n", 1),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999999\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 4294967296\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", -400),
		/* decided when its line completes, before later lines */
		V("POST / HTTP/1.1\r\n" H "Content-Length: 5000\r\nBad Header: x\r\n\r\n", -413),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 5000\r\n", -413),
		V("GET / HTTP/1.1\r\n" H "Content-Length: 3\r\n\r\n", 1),
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *s = fmt("POST / HTTP/1.1\r\n" H "Content-Length: %s\r\n\r\n", bad[i]);

		if (parse(s, &req) != -400)
			fail_msg("Content-Length \"%s\" accepted", bad[i]);
		free(s);
	}
	check_verdicts(v, ARRAY_SIZE(v));
	parse_ok("POST / HTTP/1.1\r\n" H "Content-Length: 4096\r\n\r\n", &req);
	assert_int_equal(req.content_length, HTTP_MAX_BODY);
	/* a caller's own limit (the management API's uploads), up to the largest uint32 */
	for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
		char *s = fmt("PUT / HTTP/1.1\r\n" H "Content-Length: %s\r\n\r\n", big[i].len);
		int r = http_parse_request_max(s, strlen(s), &req, big[i].max);

		if (big[i].want < 0) {
			assert_int_equal(r, big[i].want);
		} else {
			assert_true(r > 0);
			assert_int_equal(req.content_length, big[i].want);
		}
		free(s);
	}
}

static void test_transfer_encoding(void **state)
{
	static const struct verdict v[] = {
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n", -411),
		V("POST / HTTP/1.1\r\n" H "transfer-encoding: Chunked\r\n\r\n", -411),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding:  chunked \r\n\r\n", -411),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n", -411), /* at its line */
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", -501),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", -501),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", -501),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", -501),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;x=1\r\n\r\n", -501),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n", -400),
		/* both framings */
		V("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Content-Length: 0\r\nTransfer-Encoding: gzip\r\n\r\n", -400),
		/* Transfer-Encoding in HTTP/1.0 */
		V("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
	};

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
}

static void test_keep_alive(void **state)
{
	static const struct {
		const char *s;
		bool keep;
	} v[] = {
		{ "GET / HTTP/1.1\r\n" H "\r\n", true },
		{ "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: Close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: foo, CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: , close ,\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: te\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\n" H "Connection: closed\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\n" H "Connection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\n" H "Connection:\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\n" H "X-Connection: close\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: upgrade, keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keepalive\r\n\r\n", false },
	};
	static const struct verdict bad[] = {
		V("GET / HTTP/1.1\r\n" H "Connection: close;x\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "Connection: close keep-alive\r\n\r\n", -400),
		V("GET / HTTP/1.1\r\n" H "Connection: \"close\"\r\n\r\n", -400),
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		parse_ok(v[i].s, &req);
		if (req.keep_alive != v[i].keep)
			fail_msg("\"%s\": keep_alive %d", v[i].s, req.keep_alive);
	}
	check_verdicts(bad, ARRAY_SIZE(bad));
}

static void test_singletons(void **state)
{
	static const struct verdict v[] = {
		V("POST / HTTP/1.1\r\n" H "Content-Type: a/b\r\nContent-Type: a/b\r\n\r\n", -400),
		V("POST / HTTP/1.1\r\n" H "Content-Type: a/b\r\ncontent-type: c/d\r\n\r\n", -400),
	};
	struct http_request req;

	(void)state;
	check_verdicts(v, ARRAY_SIZE(v));
	parse_ok("GET / HTTP/1.1\r\n" H "User-Agent: first\r\nUser-Agent: second\r\n\r\n", &req);
	assert_str(req.user_agent, "first");
	parse_ok("GET / HTTP/1.1\r\n" H "User-Agent:\r\nUser-Agent: second\r\n\r\n", &req);
	assert_str(req.user_agent, "");
}

static void test_expect(void **state)
{
	struct http_request req;

	(void)state;
	parse_ok("POST / HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &req);
	assert_true(req.expect_continue);
	parse_ok("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &req);
	assert_false(req.expect_continue); /* RFC 9110 §10.1.1: ignored in HTTP/1.0 */
	parse_ok("POST / HTTP/1.1\r\n" H "Expect: something\r\n\r\n", &req);
	assert_false(req.expect_continue);
}

/* ---------------------------------------------------------------- limits */

/*
 * "GET <prefix><padding><suffix> HTTP/1.1" CRLF <rest>, with a request line of exactly
 * `line` bytes (without CRLF).
 */
static char *long_line(size_t line, const char *prefix, const char *suffix, const char *rest)
{
	size_t fill = line - strlen("GET ") - strlen(prefix) - strlen(suffix) - strlen(" HTTP/1.1");
	char *pad = repeat('a', fill), *s;

	s = fmt("GET %s%s%s HTTP/1.1\r\n%s", prefix, pad, suffix, rest);
	free(pad);
	return s;
}

static char *long_line_request(size_t line, const char *prefix, const char *rest)
{
	return long_line(line, prefix, "", rest);
}

static void test_request_line_limit(void **state)
{
	static const char *const fix[][2] = {
		{ "/", "" }, { "/?", "" }, { "/x?%41", "" }, { "http://h/", "" },
		{ "/", "%41" }, { "/", "?" }, { "http://", "/" }, { "http://", ":80/" },
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fix); i++) {
		char *at = long_line(HTTP_MAX_REQUEST_LINE, fix[i][0], fix[i][1], H "\r\n");
		char *over = long_line(HTTP_MAX_REQUEST_LINE + 1, fix[i][0], fix[i][1], H "\r\n");
		char *lead = fmt("\r\n%s", at);

		parse_ok(at, &req);
		assert_int_equal(req.target.len, HTTP_MAX_REQUEST_LINE - 13);
		assert_int_equal(parse(over, &req), -414);
		parse_ok(lead, &req); /* the skipped empty line is not part of the request line */
		if (i == 0) {
			assert_int_equal(check_prefixes(at, strlen(at)), (int)strlen(at));
			assert_int_equal(check_prefixes(over, strlen(over)), -414);
		}
		free(at);
		free(over);
		free(lead);
	}
}

static void test_request_line_limit_early(void **state)
{
	char *over = long_line_request(2 * HTTP_MAX_REQUEST_LINE, "/", H "\r\n");
	char *auth = repeat('a', HTTP_MAX_REQUEST_LINE);
	char *abs = fmt("GET http://%s", auth);
	char *pct = fmt("GET /%s", auth);
	size_t sp = strlen(over) - strlen(" HTTP/1.1\r\n" H "\r\n");
	size_t n;

	(void)state;
	/*
	 * The line is refused as soon as " HTTP/1.1" can no longer fit: once the target has
	 * reached byte 4088 (index 4087), long before its SP and CRLF.
	 */
	n = HTTP_MAX_REQUEST_LINE - strlen(" HTTP/1.1") + 1;
	assert_true(n < sp);
	assert_int_equal(http_parse_request(over, n, &(struct http_request){ 0 }), -414);
	assert_int_equal(http_parse_request(over, n - 1, &(struct http_request){ 0 }), 0);
	/*
	 * A "%" needs room for its two digits and " HTTP/1.1": refused at index 4085, where
	 * 4085 + 3 + 9 = 4097 > 4096, and still waited for at index 4084.
	 */
	pct[4085] = '%';
	assert_int_equal(http_parse_request(pct, 4086, &(struct http_request){ 0 }), -414);
	pct[4085] = 'a';
	pct[4084] = '%';
	assert_int_equal(http_parse_request(pct, 4085, &(struct http_request){ 0 }), 0);
	assert_int_equal(http_parse_request(pct, 4087, &(struct http_request){ 0 }), 0);
	/* An absolute-form authority needs room for '/' and " HTTP/1.1" after it. */
	assert_int_equal(http_parse_request(abs, strlen(abs), &(struct http_request){ 0 }), -414);
	assert_int_equal(http_parse_request(abs, 4087, &(struct http_request){ 0 }), -414);
	assert_int_equal(http_parse_request(abs, 4086, &(struct http_request){ 0 }), 0);
	free(over);
	free(auth);
	free(abs);
	free(pct);
}

/* A head of exactly `total` bytes: a padding header fills what the rest leaves. */
static char *sized_head(size_t total)
{
	const char *start = "GET / HTTP/1.1\r\n" H "X-Pad: ";
	size_t fill = total - strlen(start) - strlen("\r\n\r\n");
	char *pad = repeat('p', fill), *s;

	s = fmt("%s%s\r\n\r\n", start, pad);
	free(pad);
	assert_int_equal(strlen(s), total);
	return s;
}

static void test_head_limit(void **state)
{
	char *at = sized_head(HTTP_MAX_HEAD), *over = sized_head(HTTP_MAX_HEAD + 1);
	char *endless = sized_head(2 * HTTP_MAX_HEAD);
	struct http_request req;

	(void)state;
	parse_ok(at, &req);
	assert_int_equal(req.head_len, HTTP_MAX_HEAD);
	assert_int_equal(parse(over, &req), -431);
	assert_int_equal(check_prefixes(at, strlen(at)), HTTP_MAX_HEAD);
	assert_int_equal(check_prefixes(over, strlen(over)), -431);
	/* HTTP_MAX_HEAD bytes that are not a complete head are refused without waiting. */
	assert_int_equal(http_parse_request(over, HTTP_MAX_HEAD, &req), -431);
	assert_int_equal(http_parse_request(endless, HTTP_MAX_HEAD, &req), -431);
	/* A value that can no longer fit its CRLF CRLF before the limit. */
	assert_int_equal(http_parse_request(endless, HTTP_MAX_HEAD - 3, &req), -431);
	assert_int_equal(http_parse_request(endless, HTTP_MAX_HEAD - 4, &req), 0);
	/* A name that can no longer fit ":" CRLF CRLF: at index 8187 it still could. */
	memcpy(endless + HTTP_MAX_HEAD - 40, "\r\nName", 6);
	assert_int_equal(http_parse_request(endless, HTTP_MAX_HEAD - 4, &req), -431);
	assert_int_equal(http_parse_request(endless, HTTP_MAX_HEAD - 5, &req), 0);
	free(at);
	free(over);
	free(endless);
}

static void test_head_limit_with_body(void **state)
{
	/* The body does not count in the head: a head and a body both at their limits. */
	const char *start = "POST / HTTP/1.1\r\n" H "Content-Length: 4096\r\nX-Pad: ";
	char *pad = repeat('p', HTTP_MAX_HEAD - strlen(start) - 4);
	char *body = repeat('b', HTTP_MAX_BODY);
	char *s = fmt("%s%s\r\n\r\n%s", start, pad, body);
	struct http_request req;

	(void)state;
	assert_int_equal(parse(s, &req), HTTP_MAX_HEAD);
	assert_int_equal(req.content_length, HTTP_MAX_BODY);
	assert_int_equal(strlen(s) - req.head_len, HTTP_MAX_BODY);
	free(pad);
	free(body);
	free(s);
}

/* "GET / HTTP/1.1" plus n header lines (the first is Host). */
static char *many_headers(unsigned n, const char *tail)
{
	size_t cap = 64 + (size_t)n * 16 + strlen(tail);
	char *s = malloc(cap);
	size_t off;

	assert_non_null(s);
	off = (size_t)sprintf(s, "GET / HTTP/1.1\r\n" H);
	for (unsigned i = 1; i < n; i++)
		off += (size_t)sprintf(s + off, "X-%u: v\r\n", i);
	sprintf(s + off, "%s", tail);
	return s;
}

static void test_header_count_limit(void **state)
{
	char *at = many_headers(HTTP_MAX_HEADERS, "\r\n");
	char *over = many_headers(HTTP_MAX_HEADERS + 1, "\r\n");
	char *early = many_headers(HTTP_MAX_HEADERS, "X");
	struct http_request req;

	(void)state;
	parse_ok(at, &req);
	assert_int_equal(req.nheaders, HTTP_MAX_HEADERS);
	assert_str(req.headers[HTTP_MAX_HEADERS - 1].name, "X-63");
	assert_int_equal(parse(over, &req), -431);
	assert_int_equal(check_prefixes(over, strlen(over)), -431);
	/* the first byte of a 65th line is enough */
	assert_int_equal(parse(early, &req), -431);
	free(at);
	free(over);
	free(early);
}

/* ---------------------------------------------------------------- incremental, pipelining */

static void test_incremental(void **state)
{
	static const char *const reqs[] = {
		("GET /c/AAECAwQFBgcICQ.abcdefghijklmnop HTTP/1.1\r\n"
		 "Host: click.customer.example\r\n"
		 "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36\r\n"
		 "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"
		 "Accept-Language: en-US,en;q=0.5\r\n"
		 "Accept-Encoding: gzip, deflate, br\r\n"
		 "Connection: keep-alive\r\n"
		 "Upgrade-Insecure-Requests: 1\r\n\r\n"),
		("POST /u/tok HTTP/1.1\r\nHost: h\r\nContent-Length: 26\r\n"
		 "Content-Type: application/x-www-form-urlencoded\r\n\r\n"),
		"\r\nHEAD /o/x?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET http://[::1]:8080/p?q HTTP/1.1\r\nHost: [::1]:8080\r\nX:\t\x80 v \t\r\n\r\n",
		"OPTIONS /x HTTP/1.1\r\nhost:h\r\nexpect: 100-continue\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++)
		assert_int_equal(check_prefixes(reqs[i], strlen(reqs[i])), (int)strlen(reqs[i]));
}

static void test_pipelined(void **state)
{
	static const char s[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				"POST /u/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
				"HEAD /o/y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
				"\r\nGET /z HTTP/1.0\r\n\r\n"
				"GET /partial HTTP/1.1\r\nHo";
	static const char *const paths[] = { "/a", "/u/x", "/o/y", "/z" };
	struct http_request req;
	size_t off = 0, len = strlen(s);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		int r = http_parse_request(s + off, len - off, &req);

		assert_true(r > 0);
		assert_str(req.path, paths[i]);
		if (i == 1)
			assert_memory_equal(s + off + r, "hello", 5);
		off += (size_t)r + req.content_length;
	}
	assert_int_equal(http_parse_request(s + off, len - off, &req), 0);
}

static void test_pipelined_garbage(void **state)
{
	static const char *const tails[] = {
		"garbage\r\n\r\n", "\x01\x02\x03", " GET / HTTP/1.1\r\n", "\r\n\r\n", "\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n\x16\x03\x01",
	};
	static const int want[] = { -501, -400, -400, -400, -400, -400 };
	static const char first[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		char *s = fmt("%s%s", first, tails[i]);
		size_t off = 0, len = strlen(s);
		int r;

		while ((r = http_parse_request(s + off, len - off, &req)) > 0)
			off += (size_t)r;
		assert_int_equal(r, want[i]);
		free(s);
	}
}

/* ---------------------------------------------------------------- lookup, reasons */

static void test_find_header(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nx-dup: two\r\n"
				"Accept-Language: en\r\n\r\n";
	struct http_request req;
	const struct http_header *h;

	(void)state;
	parse_ok(s, &req);
	h = http_find_header(&req, "x-DUP");
	assert_non_null(h);
	assert_str(h->value, "one"); /* first match */
	assert_str(http_find_header(&req, "ACCEPT-LANGUAGE")->value, "en");
	assert_str(http_find_header(&req, "host")->value, "h");
	assert_null(http_find_header(&req, "Accept"));
	assert_null(http_find_header(&req, "X-Du"));
	assert_null(http_find_header(&req, "X-Dupe"));
	assert_null(http_find_header(&req, ""));
}

static void test_reason(void **state)
{
	static const struct {
		int status;
		const char *reason;
	} v[] = {
		{ 200, "OK" }, { 302, "Found" }, { 404, "Not Found" }, { 400, "Bad Request" },
		{ 405, "Method Not Allowed" }, { 411, "Length Required" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" }, { 421, "Misdirected Request" },
		{ 431, "Request Header Fields Too Large" }, { 501, "Not Implemented" },
		{ 505, "HTTP Version Not Supported" }, { 0, "Unknown" }, { -400, "Unknown" },
		{ 299, "Unknown" }, { 999, "Unknown" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		assert_string_equal(http_reason(v[i].status), v[i].reason);
}

static void test_empty_input(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(http_parse_request(NULL, 0, &req), 0);
	assert_int_equal(http_parse_request("", 0, &req), 0);
	assert_int_equal(http_parse_request("\r", 1, &req), 0);
	assert_int_equal(http_parse_request("\r\n", 2, &req), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_absent_strings_point_into_buffer),
		cmocka_unit_test(test_query_split),
		cmocka_unit_test(test_head_and_post),
		cmocka_unit_test(test_other_methods),
		cmocka_unit_test(test_leading_empty_line),
		cmocka_unit_test(test_bad_request_line),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_header_syntax),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_transfer_encoding),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_singletons),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_request_line_limit),
		cmocka_unit_test(test_request_line_limit_early),
		cmocka_unit_test(test_head_limit),
		cmocka_unit_test(test_head_limit_with_body),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_pipelined_garbage),
		cmocka_unit_test(test_find_header),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_empty_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
