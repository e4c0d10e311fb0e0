// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the HTTP request-head parser.
 *
 * Parses the input and checks what every caller relies on: all strings inside the head,
 * counts and lengths within the limits, the head ending in CRLF CRLF, only the documented
 * statuses, and the answer not depending on how the bytes were split: a prefix answers 0
 * until the decision and then exactly what the whole input answers. Every parse reads from
 * an exact-size heap copy so an over-read is an ASan report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool ci_is(struct http_str s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s.p[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

static void check_inside(struct http_str s, const char *lo, const char *hi)
{
	CHECK(s.p != NULL);
	CHECK(s.p >= lo && s.p <= hi && s.len <= (size_t)(hi - s.p));
}

/* Does a Connection value list hold this token? An oracle separate from the parser's. */
static bool list_has(struct http_str v, const char *tok)
{
	size_t i = 0;

	while (i < v.len) {
		size_t a, b;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		a = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		b = i;
		while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t'))
			b--;
		if (b > a && ci_is((struct http_str){ v.p + a, (uint32_t)(b - a) }, tok))
			return true;
	}
	return false;
}

static void check_header(const struct http_header *h, const char *lo, const char *hi)
{
	check_inside(h->name, lo, hi);
	check_inside(h->value, lo, hi);
	CHECK(h->name.len > 0);
	for (uint32_t i = 0; i < h->name.len; i++)
		CHECK(tchar((unsigned char)h->name.p[i]));
	CHECK(h->name.p[h->name.len] == ':');
	for (uint32_t i = 0; i < h->value.len; i++) {
		unsigned char c = (unsigned char)h->value.p[i];

		CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
	}
	if (h->value.len) {
		CHECK(h->value.p[0] != ' ' && h->value.p[0] != '\t');
		CHECK(h->value.p[h->value.len - 1] != ' ' && h->value.p[h->value.len - 1] != '\t');
	}
}

/* Looking up a header's own name finds it or an earlier one of the same name. */
static void check_lookup(const struct http_request *req, const struct http_header *h)
{
	char *name = malloc(h->name.len + 1u);
	const struct http_header *f;

	CHECK(name != NULL);
	memcpy(name, h->name.p, h->name.len);
	name[h->name.len] = '\0';
	for (uint32_t i = 0; i < h->name.len; i++) /* the lookup ignores case */
		if (i % 2)
			name[i] = (char)lower((unsigned char)name[i]);
	f = http_find_header(req, name);
	CHECK(f != NULL && f <= h && f->name.len == h->name.len);
	for (uint32_t i = 0; i < h->name.len; i++)
		CHECK(lower((unsigned char)f->name.p[i]) == lower((unsigned char)h->name.p[i]));
	free(name);
}

static void check_complete(const char *buf, size_t len, int r, const struct http_request *req)
{
	const char *hi = buf + r;
	bool close = false, keep = false;
	int hosts = 0;

	CHECK((size_t)r <= len && r <= HTTP_MAX_HEAD && req->head_len == (uint32_t)r);
	CHECK(r >= 4 && memcmp(hi - 4, "\r\n\r\n", 4) == 0);
	CHECK(req->nheaders <= HTTP_MAX_HEADERS);
	CHECK(req->minor <= 1);
	CHECK(req->method <= HTTP_OTHER);
	CHECK(req->content_length <= HTTP_MAX_BODY);
	CHECK(req->has_content_length || req->content_length == 0);
	check_inside(req->method_str, buf, hi);
	check_inside(req->target, buf, hi);
	check_inside(req->host, buf, hi);
	check_inside(req->user_agent, buf, hi);
	check_inside(req->content_type, buf, hi);
	check_inside(req->path, req->target.p, req->target.p + req->target.len);
	check_inside(req->query, req->target.p, req->target.p + req->target.len);
	CHECK(req->path.len > 0 && req->path.p[0] == '/');
	CHECK(req->absolute_form || req->path.p == req->target.p);
	/* method SP target SP HTTP/1.x CRLF, within the request-line limit */
	CHECK(req->method_str.p == buf || req->method_str.p == buf + 2);
	CHECK(req->method_str.p[req->method_str.len] == ' ');
	CHECK(req->target.p == req->method_str.p + req->method_str.len + 1);
	CHECK(memcmp(req->target.p + req->target.len, " HTTP/1.", 8) == 0);
	CHECK(req->method_str.len + 1 + req->target.len + 9 <= HTTP_MAX_REQUEST_LINE);
	if (req->method != HTTP_OTHER) {
		const char *m = req->method == HTTP_GET ? "GET" : req->method == HTTP_HEAD ? "HEAD" : "POST";

		CHECK(req->method_str.len == strlen(m) && memcmp(req->method_str.p, m, strlen(m)) == 0);
	}
	if (req->absolute_form)
		check_inside(req->host, req->target.p, req->path.p);
	CHECK(http_find_header(req, "transfer-encoding") == NULL); /* always refused */
	CHECK(http_find_header(req, "") == NULL);
	for (uint16_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		check_header(h, buf, hi);
		check_lookup(req, h);
		if (ci_is(h->name, "host"))
			hosts++;
		if (ci_is(h->name, "connection")) {
			close |= list_has(h->value, "close");
			keep |= list_has(h->value, "keep-alive");
		}
	}
	CHECK(hosts <= 1 && (req->minor == 0 || hosts == 1));
	CHECK(req->keep_alive == (!close && (req->minor == 1 || keep)));
}

static int parse_copy(const uint8_t *data, size_t k, struct http_request *req, char **copy)
{
	*copy = malloc(k ? k : 1);
	CHECK(*copy != NULL);
	if (k)
		memcpy(*copy, data, k);
	return http_parse_request(*copy, k, req);
}

static void same_str(struct http_str a, const char *abuf, struct http_str b, const char *bbuf)
{
	CHECK(a.len == b.len && a.p - abuf == b.p - bbuf);
}

static void same_request(const struct http_request *a, const char *abuf,
			 const struct http_request *b, const char *bbuf)
{
	CHECK(a->method == b->method && a->minor == b->minor && a->nheaders == b->nheaders);
	CHECK(a->content_length == b->content_length && a->keep_alive == b->keep_alive);
	CHECK(a->head_len == b->head_len && a->absolute_form == b->absolute_form);
	CHECK(a->has_content_length == b->has_content_length);
	CHECK(a->expect_continue == b->expect_continue);
	same_str(a->target, abuf, b->target, bbuf);
	same_str(a->path, abuf, b->path, bbuf);
	same_str(a->query, abuf, b->query, bbuf);
	same_str(a->host, abuf, b->host, bbuf);
	same_str(a->user_agent, abuf, b->user_agent, bbuf);
	same_str(a->content_type, abuf, b->content_type, bbuf);
	for (uint16_t i = 0; i < a->nheaders; i++) {
		same_str(a->headers[i].name, abuf, b->headers[i].name, bbuf);
		same_str(a->headers[i].value, abuf, b->headers[i].value, bbuf);
	}
}

/* The prefix data[0..k) answers 0 before the decision point and `want` from it on. */
static void check_prefix(const uint8_t *data, size_t k, int want, size_t decision,
			 const struct http_request *full, const char *fullbuf,
			 struct http_request *req)
{
	char *copy;
	int r = parse_copy(data, k, req, &copy);

	CHECK(r == (k < decision ? 0 : want));
	if (r > 0 && k == (size_t)want)
		same_request(full, fullbuf, req, copy);
	free(copy);
}

/* First prefix length with a non-zero answer (answers are monotone: 0 ... 0 want ... want). */
static size_t find_decision(const uint8_t *data, size_t size, struct http_request *req)
{
	size_t lo = 0, hi = size; /* answer(hi) != 0; answer(lo - 1) == 0 */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char *copy;
		int r = parse_copy(data, mid, req, &copy);

		free(copy);
		if (r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request *full = malloc(sizeof(*full)), *req = malloc(sizeof(*req));
	size_t decision = size + 1, step;
	char *copy;
	int r;

	CHECK(full && req);
	r = parse_copy(data, size, full, &copy);
	if (r > 0) {
		check_complete(copy, size, r, full);
		decision = (size_t)r;
	} else if (r < 0) {
		CHECK(r == -400 || r == -411 || r == -413 || r == -414 || r == -431 || r == -501 ||
		      r == -505);
		decision = find_decision(data, size, req);
	} else {
		CHECK(size < HTTP_MAX_HEAD); /* a full-size buffer always gets an answer */
	}
	/* Every prefix of short inputs; near the decision and a spread of others otherwise. */
	step = size <= 256 ? 1 : size / 64;
	for (size_t k = 0; k <= size; k += step)
		check_prefix(data, k, r, decision, full, copy, req);
	for (size_t k = decision > 8 ? decision - 8 : 0; k <= size && k <= decision + 8; k++)
		check_prefix(data, k, r, decision, full, copy, req);
	/* Parsing the same bytes again gives the same answer (no hidden state). */
	CHECK(http_parse_request(copy, size, req) == r);
	if (r > 0)
		same_request(full, copy, req, copy);
	free(copy);
	free(full);
	free(req);
	return 0;
}
