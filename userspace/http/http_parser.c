// SPDX-License-Identifier: MIT
/*
 * Strict HTTP/1.1 request-head parser. See http_parser.h for the rules.
 *
 * One left-to-right pass. Every step knows the fewest bytes that could still complete an
 * acceptable head from where it stands, so a limit error (414/431) is returned as soon as
 * no completion within the limit is possible, and 0 ("more") only while one still is.
 * Internal steps return GO (> 0), MORE (0) or -status.
 */
#include "http/http_parser.h"

#include <arpa/inet.h>
#include <string.h>

#if defined(__SSE2__) && !defined(HTTP_PARSER_PORTABLE)
#include <emmintrin.h>
#define HTTP_HAVE_SSE2 1
#endif

#define GO   1
#define MORE 0

#define E_BAD     (-400)
#define E_LENGTH  (-411)
#define E_BODY    (-413)
#define E_URI     (-414)
#define E_FIELDS  (-431)
#define E_NOT_IMPL (-501)
#define E_VERSION (-505)

/* What a request line still needs after its target: " HTTP/1.1" (the CRLF is not counted). */
#define VERSION_TAIL 9

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- character classes */

/* tchar (RFC 9110 §5.6.2): header names and methods. */
static const unsigned char tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* pchar and '/' of RFC 3986 except '%', which is checked with its two hex digits. */
static const unsigned char uri_plain[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
	['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1,
	['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
	[':'] = 1, ['@'] = 1, ['/'] = 1,
};

/* reg-name of RFC 3986 except '%': unreserved and sub-delims. */
static const unsigned char host_plain[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
	['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1,
	['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1,
};

static inline bool is_digit(unsigned char c) { return (unsigned)(c - '0') < 10; }
static inline bool is_alpha(unsigned char c) { return (unsigned)((c | 0x20) - 'a') < 26; }
static inline bool is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

static inline bool is_hex(unsigned char c)
{
	return is_digit(c) || (unsigned)((c | 0x20) - 'a') < 6;
}

/* ASCII only: header names and values are never subject to the locale. */
static inline unsigned char lc(unsigned char c)
{
	return (unsigned)(c - 'A') < 26 ? c + ('a' - 'A') : c;
}

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static bool ci_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return false;
	return true;
}

/*
 * s equals the literal lit (lower-case letters, digits, '-'), ignoring ASCII case. Folding
 * with | 0x20 is exact here: the only other bytes it maps onto lit's characters are
 * controls (0x0d onto '-', 0x10-0x19 onto digits), which never occur in a parsed name or value.
 */
static inline bool str_is(struct http_str s, const char *lit, size_t lit_len)
{
	if (s.len != lit_len)
		return false;
	for (size_t i = 0; i < lit_len; i++)
		if (((unsigned char)s.p[i] | 0x20) != (unsigned char)lit[i])
			return false;
	return true;
}
#define STR_IS(s, lit) str_is((s), (lit), sizeof(lit) - 1)

/* ---------------------------------------------------------------- fast scan */

/*
 * Index of the first byte in s[p..end) that is a control character (including HTAB, CR and
 * LF) or DEL, or end. This finds both the line end and any forbidden byte of a field value
 * in the same pass.
 */
static inline bool ctl_byte(unsigned char c) { return c < 0x20 || c == 0x7f; }

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Some byte of w is < 0x20 or == 0x7f (exact test for the whole word; bytes >= 0x80 pass). */
static inline bool swar_has_ctl(uint64_t w)
{
	uint64_t lt = (w - ONES * 0x20) & ~w & HIGHS;
	uint64_t x = w ^ (ONES * 0x7f);
	uint64_t del = (x - ONES) & ~x & HIGHS;

	return (lt | del) != 0;
}

static size_t find_ctl(const unsigned char *s, size_t p, size_t end)
{
#ifdef HTTP_HAVE_SSE2
	const __m128i c1f = _mm_set1_epi8(0x1f), c7f = _mm_set1_epi8(0x7f);

	for (; p + 16 <= end; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + p));
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1f unsigned */
		__m128i del = _mm_cmpeq_epi8(v, c7f);
		int mask = _mm_movemask_epi8(_mm_or_si128(ctl, del));

		if (mask)
			return p + (size_t)__builtin_ctz((unsigned)mask);
	}
#endif
	for (; p + 8 <= end; p += 8) {
		uint64_t w;

		memcpy(&w, s + p, sizeof(w));
		if (swar_has_ctl(w))
			break;
	}
	while (p < end && !ctl_byte(s[p]))
		p++;
	return p;
}

/* ---------------------------------------------------------------- parser state */

struct parser {
	const unsigned char *s;
	size_t len;
	size_t pos;              /* next byte to look at */
	struct http_request *req;
	uint32_t max_body;
	bool seen_host;
	bool seen_user_agent;
	bool seen_content_type;
	bool conn_close;
	bool conn_keep_alive;
};

static inline struct http_str mkstr(const struct parser *ps, size_t from, size_t to)
{
	return (struct http_str){ (const char *)ps->s + from, (uint32_t)(to - from) };
}

/* ---------------------------------------------------------------- authority / Host */

enum auth_state { A_START, A_REG, A_PCT1, A_PCT2, A_IP6, A_IP6_END, A_PORT };

/* uri-host [ ":" port ] (RFC 3986 §3.2.2-3), fed one byte at a time. */
struct auth {
	enum auth_state st;
	size_t ip6_start;        /* index after '[' */
	uint32_t port;
	uint8_t port_digits;
};

/* IP-literal: only IPv6 addresses (no IPvFuture, no zone id); inet_pton does the check. */
static bool ip6_valid(const unsigned char *s, size_t from, size_t to)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (to - from >= sizeof(text))
		return false;
	memcpy(text, s + from, to - from);
	text[to - from] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1;
}

static bool auth_step(struct auth *a, const unsigned char *s, size_t i)
{
	unsigned char c = s[i];

	switch (a->st) {
	case A_START:
		if (c == '[') {
			a->st = A_IP6;
			a->ip6_start = i + 1;
			return true;
		}
		if (c == ':') /* a port without a host */
			return false;
		/* fall through */
	case A_REG:
		if (host_plain[c]) {
			a->st = A_REG;
			return true;
		}
		if (c == '%') {
			a->st = A_PCT1;
			return true;
		}
		a->st = A_PORT;
		return c == ':';
	case A_PCT1:
		a->st = A_PCT2;
		return is_hex(c);
	case A_PCT2:
		a->st = A_REG;
		return is_hex(c);
	case A_IP6:
		if (c == ']') {
			a->st = A_IP6_END;
			return ip6_valid(s, a->ip6_start, i);
		}
		return (is_hex(c) || c == ':' || c == '.') && i - a->ip6_start < INET6_ADDRSTRLEN - 1;
	case A_IP6_END:
		a->st = A_PORT;
		return c == ':';
	case A_PORT:
		if (!is_digit(c) || a->port_digits == 5)
			return false;
		a->port = a->port * 10 + (uint32_t)(c - '0');
		a->port_digits++;
		return a->port <= 65535;
	}
	return false;
}

static bool auth_complete(const struct auth *a, bool allow_empty)
{
	switch (a->st) {
	case A_START:
		return allow_empty;
	case A_REG:
	case A_IP6_END:
	case A_PORT:
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- request line */

struct method_name {
	const char *name;
	uint8_t len;
	enum http_method method;
};

/* GET, HEAD, POST first: the fast path tries those three. */
static const struct method_name methods[] = {
	{ "GET", 3, HTTP_GET },        { "HEAD", 4, HTTP_HEAD },      { "POST", 4, HTTP_POST },
	{ "PUT", 3, HTTP_OTHER },      { "DELETE", 6, HTTP_OTHER },   { "OPTIONS", 7, HTTP_OTHER },
	{ "PATCH", 5, HTTP_OTHER },    { "TRACE", 5, HTTP_OTHER },    { "CONNECT", 7, HTTP_OTHER },
};

/* The known method that s[0..n) is (exact) or starts (!exact); NULL when none. */
static const struct method_name *match_method(const unsigned char *s, size_t n, bool exact)
{
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		const struct method_name *m = &methods[i];

		if (n <= m->len && (!exact || n == m->len) && memcmp(s, m->name, n) == 0)
			return m;
	}
	return NULL;
}

static int set_method(struct parser *ps, const struct method_name *m)
{
	ps->req->method = m->method;
	ps->req->method_str = mkstr(ps, ps->pos, ps->pos + m->len);
	ps->pos += m->len + 1u;
	return GO;
}

/* method SP. An unknown method is 501 from the first byte that no known method has there. */
static int parse_method(struct parser *ps)
{
	const unsigned char *s = ps->s + ps->pos;
	size_t avail = ps->len - ps->pos, i;
	const struct method_name *m;

	/* The common methods in one comparison each. */
	for (i = 0; i < 3; i++)
		if (avail > methods[i].len && s[methods[i].len] == ' ' &&
		    memcmp(s, methods[i].name, methods[i].len) == 0)
			return set_method(ps, &methods[i]);

	for (i = 0; i < avail && s[i] != ' '; i++) {
		if (!tchar[s[i]])
			return E_BAD;
		if (!match_method(s, i + 1, false))
			return E_NOT_IMPL;
	}
	if (i == avail)
		return MORE;
	if (i == 0)
		return E_BAD;
	m = match_method(s, i, true);
	return m ? set_method(ps, m) : E_NOT_IMPL;
}

/* The lower-case literal lit at *pp, ignoring ASCII case; *pp moves past it. */
static int expect_ci(const struct parser *ps, size_t *pp, const char *lit)
{
	for (; *lit; lit++, (*pp)++) {
		if (*pp == ps->len)
			return MORE;
		if (lc(ps->s[*pp]) != (unsigned char)*lit)
			return E_BAD;
	}
	return GO;
}

/*
 * "http" ["s"] "://" authority, up to the '/' that starts the path (left at *pp).
 * RFC 9112 §3.2.2: the authority replaces the Host header for routing.
 */
static int parse_scheme_authority(struct parser *ps, size_t *pp, size_t lim)
{
	const unsigned char *s = ps->s;
	struct auth a = { .st = A_START };
	size_t p = *pp, from;
	int rc;

	rc = expect_ci(ps, &p, "http");
	if (rc <= 0)
		return rc;
	if (p == ps->len)
		return MORE;
	if (lc(s[p]) == 's')
		p++;
	rc = expect_ci(ps, &p, "://");
	if (rc <= 0)
		return rc;
	for (from = p;; p++) {
		/* Still needed: the path's '/' and " HTTP/1.1". */
		if (p + 1 + VERSION_TAIL > lim)
			return E_URI;
		if (p == ps->len)
			return MORE;
		if (s[p] == '/')
			break;
		if (!auth_step(&a, s, p))
			return E_BAD;
	}
	if (!auth_complete(&a, false))
		return E_BAD;
	ps->req->host = mkstr(ps, from, p);
	ps->req->absolute_form = true;
	*pp = p;
	return GO;
}

/*
 * The rest of the target from the path's first '/' to the SP before the version.
 * A byte at p can be part of the target only if " HTTP/1.1" still fits before lim.
 */
static int scan_path_query(struct parser *ps, size_t p, size_t lim, size_t *sp, size_t *qmark)
{
	const unsigned char *s = ps->s;
	size_t stop = min_size(ps->len, lim - VERSION_TAIL + 1);

	*qmark = 0; /* none: a real '?' is never at index 0 */
	for (;;) {
		unsigned char c;

		while (p < stop && uri_plain[s[p]])
			p++;
		if (p >= stop)
			return p + VERSION_TAIL > lim ? E_URI : MORE;
		c = s[p];
		if (c == ' ') {
			*sp = p;
			return GO;
		}
		if (c == '?') {
			if (!*qmark)
				*qmark = p;
			p++;
			continue;
		}
		if (c != '%')
			return E_BAD;
		/* "%" HEXDIG HEXDIG, then " HTTP/1.1" */
		if (p + 3 + VERSION_TAIL > lim)
			return E_URI;
		for (size_t k = 1; k <= 2; k++) {
			if (p + k == ps->len)
				return MORE;
			if (!is_hex(s[p + k]))
				return E_BAD;
		}
		p += 3;
	}
}

/* request-target SP: origin-form, or absolute-form with an http(s) scheme. */
static int parse_target(struct parser *ps, size_t lim)
{
	struct http_request *req = ps->req;
	size_t start = ps->pos, p = start, sp, qmark;
	int rc;

	if (p == ps->len)
		return MORE;
	if (is_alpha(ps->s[p])) {
		rc = parse_scheme_authority(ps, &p, lim);
		if (rc <= 0)
			return rc;
	} else if (ps->s[p] != '/') {
		return E_BAD; /* asterisk-form, authority-form, SP, anything else */
	}
	rc = scan_path_query(ps, p + 1, lim, &sp, &qmark);
	if (rc <= 0)
		return rc;
	req->target = mkstr(ps, start, sp);
	req->path = mkstr(ps, p, qmark ? qmark : sp);
	req->query = qmark ? mkstr(ps, qmark + 1, sp) : mkstr(ps, sp, sp);
	ps->pos = sp + 1;
	return GO;
}

/*
 * "HTTP/1.0" or "HTTP/1.1" CRLF. Another digit where a 1 / 0-1 stands is 505 at that byte;
 * any other deviation is 400.
 */
static int parse_version(struct parser *ps)
{
	static const char want[] = "HTTP/1.1\r\n";
	const unsigned char *s = ps->s + ps->pos;
	size_t avail = ps->len - ps->pos;

	if (avail >= 10 && memcmp(s, want, 10) == 0) {
		ps->req->minor = 1;
		ps->pos += 10;
		return GO;
	}
	for (size_t i = 0; i < 10; i++) {
		unsigned char c;

		if (i == avail)
			return MORE;
		c = s[i];
		if (i == 5 || i == 7) {
			if (!is_digit(c))
				return E_BAD;
			if (i == 5 ? c != '1' : c > '1')
				return E_VERSION;
		} else if (c != (unsigned char)want[i]) {
			return E_BAD;
		}
	}
	ps->req->minor = (uint8_t)(s[7] - '0');
	ps->pos += 10;
	return GO;
}

static int parse_request_line(struct parser *ps)
{
	/* Content bytes lie below lim; the CR may sit at lim itself. */
	size_t lim = ps->pos + HTTP_MAX_REQUEST_LINE;
	int rc;

	rc = parse_method(ps);
	if (rc <= 0)
		return rc;
	rc = parse_target(ps, lim);
	if (rc <= 0)
		return rc;
	return parse_version(ps);
}

/* ---------------------------------------------------------------- header fields */

/* Next element of a #list (RFC 9110 §5.6.1): empty elements skipped, OWS trimmed. */
static bool list_next(struct http_str *rest, struct http_str *elem)
{
	const char *p = rest->p, *end = rest->p + rest->len, *e0, *e1;

	while (p < end && (is_ows((unsigned char)*p) || *p == ','))
		p++;
	e0 = p;
	while (p < end && *p != ',')
		p++;
	e1 = p;
	while (e1 > e0 && is_ows((unsigned char)e1[-1]))
		e1--;
	*elem = (struct http_str){ e0, (uint32_t)(e1 - e0) };
	*rest = (struct http_str){ p, (uint32_t)(end - p) };
	return e1 > e0;
}

static bool is_token(struct http_str t)
{
	if (t.len == 0)
		return false;
	for (uint32_t i = 0; i < t.len; i++)
		if (!tchar[(unsigned char)t.p[i]])
			return false;
	return true;
}

static int on_host(struct parser *ps, struct http_str v)
{
	struct auth a = { .st = A_START };
	const unsigned char *s = (const unsigned char *)v.p;
	size_t i = 0;

	if (ps->seen_host)
		return E_BAD;
	ps->seen_host = true;
	/* The common case, a plain name, without the byte-wise state machine. */
	while (i < v.len && host_plain[s[i]])
		i++;
	if (i)
		a.st = A_REG;
	for (; i < v.len; i++)
		if (!auth_step(&a, s, i))
			return E_BAD;
	if (!auth_complete(&a, true))
		return E_BAD;
	if (!ps->req->absolute_form)
		ps->req->host = v;
	return GO;
}

static int on_connection(struct parser *ps, struct http_str v)
{
	struct http_str elem;

	while (list_next(&v, &elem)) {
		if (!is_token(elem))
			return E_BAD;
		if (STR_IS(elem, "close"))
			ps->conn_close = true;
		else if (STR_IS(elem, "keep-alive"))
			ps->conn_keep_alive = true;
	}
	return GO;
}

static int on_content_length(struct parser *ps, struct http_str v)
{
	struct http_request *req = ps->req;
	uint64_t n = 0;

	/* Repeated or comma-joined lengths are refused even when equal: no guessing on framing. */
	if (req->has_content_length || v.len == 0)
		return E_BAD;
	for (uint32_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!is_digit(c))
			return E_BAD;
		if (n <= ps->max_body) /* stays above the limit once there, never overflows */
			n = n * 10 + (uint32_t)(c - '0');
	}
	if (n > ps->max_body)
		return E_BODY;
	req->content_length = (uint32_t)n;
	req->has_content_length = true;
	return GO;
}

/* Every Transfer-Encoding is refused; only the status differs. */
static int on_transfer_encoding(struct parser *ps, struct http_str v)
{
	struct http_str elem;
	unsigned chunked = 0, other = 0;

	/* RFC 9112 §6.1 and §6.3: ambiguous framing is a 400 and closes the connection. */
	if (ps->req->has_content_length || ps->req->minor == 0)
		return E_BAD;
	while (list_next(&v, &elem)) {
		if (STR_IS(elem, "chunked"))
			chunked++;
		else if (tchar[(unsigned char)elem.p[0]])
			other++; /* a coding, maybe with parameters: not implemented */
		else
			return E_BAD;
	}
	if (other)
		return E_NOT_IMPL;
	if (chunked != 1)
		return E_BAD;
	return E_LENGTH;
}

static int on_field(struct parser *ps, struct http_str name, struct http_str value)
{
	struct http_request *req = ps->req;

	switch (name.len) {
	case 4:
		if (STR_IS(name, "host"))
			return on_host(ps, value);
		break;
	case 6:
		/* RFC 9110 §10.1.1: a 100-continue in an HTTP/1.0 request is ignored. */
		if (STR_IS(name, "expect") && STR_IS(value, "100-continue") && req->minor == 1)
			req->expect_continue = true;
		break;
	case 10:
		if (STR_IS(name, "connection"))
			return on_connection(ps, value);
		if (STR_IS(name, "user-agent") && !ps->seen_user_agent) {
			ps->seen_user_agent = true;
			req->user_agent = value;
		}
		break;
	case 12:
		if (STR_IS(name, "content-type")) {
			if (ps->seen_content_type)
				return E_BAD; /* which one would the handler believe? */
			ps->seen_content_type = true;
			req->content_type = value;
		}
		break;
	case 14:
		if (STR_IS(name, "content-length"))
			return on_content_length(ps, value);
		break;
	case 17:
		if (STR_IS(name, "transfer-encoding"))
			return on_transfer_encoding(ps, value);
		break;
	}
	return GO;
}

/* The value from p (just after the colon) to its CRLF; *cr gets the index of the CR. */
static int scan_value(const struct parser *ps, size_t *pp, size_t *cr)
{
	const unsigned char *s = ps->s;
	/* From here the head still needs CRLF CRLF: a byte at q needs q + 4 <= HTTP_MAX_HEAD. */
	const size_t stop = min_size(ps->len, HTTP_MAX_HEAD - 3);
	size_t q = *pp;

	for (;;) {
		q = find_ctl(s, q, stop);
		if (q >= stop)
			return q + 4 > HTTP_MAX_HEAD ? E_FIELDS : MORE;
		if (s[q] == '\t') {
			q++;
			continue;
		}
		if (s[q] != '\r')
			return E_BAD; /* bare LF, NUL, other controls, DEL */
		if (q + 1 == ps->len)
			return MORE;
		if (s[q + 1] != '\n')
			return E_BAD;
		*cr = q;
		*pp = q + 2;
		return GO;
	}
}

/* One "name: value" CRLF line starting at *pp (a tchar). */
static int parse_field(struct parser *ps, size_t *pp)
{
	struct http_request *req = ps->req;
	const unsigned char *s = ps->s;
	size_t name = *pp, p = name + 1, colon, v0, v1, stop;
	int rc;

	/* A name byte at p still needs ":" CRLF CRLF after it. */
	stop = min_size(ps->len, HTTP_MAX_HEAD - 4);
	while (p < stop && tchar[s[p]])
		p++;
	if (p >= stop)
		return p + 5 > HTTP_MAX_HEAD ? E_FIELDS : MORE;
	if (s[p] != ':')
		return E_BAD; /* whitespace before the colon, or a byte outside tchar */
	colon = p++;
	rc = scan_value(ps, &p, &v1);
	if (rc <= 0)
		return rc;
	v0 = colon + 1;
	while (v0 < v1 && is_ows(s[v0]))
		v0++;
	while (v1 > v0 && is_ows(s[v1 - 1]))
		v1--;
	req->headers[req->nheaders].name = mkstr(ps, name, colon);
	req->headers[req->nheaders].value = mkstr(ps, v0, v1);
	req->nheaders++;
	*pp = p;
	return on_field(ps, mkstr(ps, name, colon), mkstr(ps, v0, v1));
}

static int parse_fields(struct parser *ps)
{
	const unsigned char *s = ps->s;
	size_t p = ps->pos;

	for (;;) {
		int rc;

		/*
		 * At a line start the head needs at least the final CRLF. scan_value's own limit
		 * already ensures it; the check keeps this loop correct on its own.
		 */
		if (p + 2 > HTTP_MAX_HEAD)
			return E_FIELDS;
		if (p == ps->len)
			return MORE;
		if (s[p] == '\r') {
			if (p + 1 == ps->len)
				return MORE;
			if (s[p + 1] != '\n')
				return E_BAD;
			ps->pos = p + 2;
			return GO;
		}
		if (ps->req->nheaders == HTTP_MAX_HEADERS)
			return E_FIELDS;
		/* LF, SP or HTAB (obs-fold), ':' (empty name), any other non-tchar */
		if (!tchar[s[p]])
			return E_BAD;
		rc = parse_field(ps, &p);
		if (rc <= 0)
			return rc;
	}
}

/* ---------------------------------------------------------------- entry points */

static int skip_leading_crlf(struct parser *ps)
{
	if (ps->len == 0)
		return MORE;
	if (ps->s[0] != '\r')
		return GO; /* a bare LF fails as a method byte */
	if (ps->len == 1)
		return MORE;
	if (ps->s[1] != '\n')
		return E_BAD;
	ps->pos = 2;
	return GO;
}

static void request_init(struct http_request *req, const char *buf)
{
	const struct http_str none = { buf, 0 };

	req->method = HTTP_OTHER;
	req->method_str = none;
	req->target = req->path = req->query = none;
	req->minor = 0;
	req->nheaders = 0;
	req->host = req->user_agent = req->content_type = none;
	req->content_length = 0;
	req->keep_alive = false;
	req->head_len = 0;
	req->absolute_form = false;
	req->has_content_length = false;
	req->expect_continue = false;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	return http_parse_request_max(buf, len, req, HTTP_MAX_BODY);
}

int http_parse_request_max(const char *buf, size_t len, struct http_request *req,
			   uint32_t max_body)
{
	struct parser ps = { .s = (const unsigned char *)buf, .len = len, .req = req,
			     .max_body = max_body };
	int rc;

	request_init(req, buf);
	rc = skip_leading_crlf(&ps);
	if (rc > 0)
		rc = parse_request_line(&ps);
	if (rc > 0)
		rc = parse_fields(&ps);
	if (rc <= 0)
		return rc;
	/* RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400. */
	if (req->minor == 1 && !ps.seen_host)
		return E_BAD;
	req->keep_alive = !ps.conn_close && (req->minor == 1 || ps.conn_keep_alive);
	req->head_len = (uint32_t)ps.pos;
	return (int)ps.pos;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Unknown";
	}
}

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (uint16_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (h->name.len == n && ci_equal(h->name.p, name, n))
			return h;
	}
	return NULL;
}
