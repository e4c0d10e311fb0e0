/* SPDX-License-Identifier: MIT */
/*
 * Strict HTTP/1.1 request-head parser (RFC 9110, RFC 9112) for the edge of the appliance.
 *
 * No allocation and no copying: every string in struct http_request points into the caller's
 * buffer, which must outlive the request. The caller re-parses from the start of the request
 * each time more bytes arrive; one call is a single pass over at most HTTP_MAX_HEAD bytes.
 *
 * Rules (where RFC 9112 leaves a choice, the strict one is taken):
 *  - Lines end in CRLF. A bare LF, or a CR not followed by LF, anywhere in the head is 400.
 *  - One empty line (CRLF) before the request line is skipped (RFC 9112 §2.2, for clients
 *    that send an extra CRLF after a body); it counts in head_len. A second one is 400.
 *  - Request line: method SP request-target SP HTTP-version, exactly one SP each.
 *    Methods are case-sensitive: GET, HEAD, POST; PUT DELETE OPTIONS PATCH TRACE CONNECT are
 *    HTTP_OTHER; any other token is 501 (as soon as the bytes so far cannot start a known
 *    method). A byte that is not a token character is 400.
 *  - request-target: origin-form "/path?query" with the characters of RFC 3986 (pchar, '/',
 *    '?', "%" HEXDIG HEXDIG); anything else ('#', '"', '<', '{', '|', '\', '^', '`', '[', ']',
 *    SP, controls, bytes >= 0x80, bad %-escapes) is 400. The path is not decoded or normalised.
 *    absolute-form "http://authority/path?query" (or https, scheme case-insensitive) is
 *    accepted: per RFC 9112 §3.2.2 its authority becomes req->host and the Host header is
 *    ignored for routing (it is still required in HTTP/1.1 and still validated). An empty
 *    authority, userinfo ("user@") or an empty path is 400. asterisk-form and
 *    authority-form are 400.
 *  - HTTP-version: "HTTP/1.0" or "HTTP/1.1"; another "HTTP/<digit>.<digit>" is 505, decided at
 *    the first digit that differs; anything else is 400.
 *  - Header fields: name is a token, ':' follows it directly (whitespace before the colon is
 *    400), value is VCHAR / obs-text / SP / HTAB with surrounding SP/HTAB trimmed. obs-fold
 *    (a line starting with SP or HTAB) is 400, and so is any control byte but HTAB (NUL
 *    included) or DEL.
 *  - Host: at most one (400 otherwise), required in HTTP/1.1; its value must be
 *    uri-host [":" port] (reg-name, IPv4, or "[IPv6]"; port empty or up to 5 digits,
 *    <= 65535); an empty value is allowed.
 *  - Content-Length: 1*DIGIT, at most one field line; > HTTP_MAX_BODY (or the caller's
 *    limit) is 413.
 *  - Transfer-Encoding is always refused (bodies must have a Content-Length), as soon as its
 *    line completes: 400 after a Content-Length or in HTTP/1.0; else 501 when it lists any
 *    coding but chunked, 411 for chunked alone, 400 for chunked twice or an empty list.
 *  - Content-Type: at most one (400 otherwise). User-Agent: the first one is kept.
 *  - Connection: comma list of tokens, case-insensitive; "close" wins over "keep-alive".
 *    HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close.
 *
 * Decisions are taken in byte order: the first byte, or completed header line, that makes the
 * request unacceptable decides the status, so the answer never depends on how the bytes were
 * split across reads. Bytes are checked as they arrive (a field's value against that field's
 * own rules when its line completes; the HTTP/1.1 Host requirement at the end of the head),
 * and 414/431 come as soon as no completion within the limit is left: any buffer of
 * HTTP_MAX_HEAD bytes or more gets a non-zero answer.
 */
#ifndef ET_HTTP_PARSER_H
#define ET_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD          8192 /* request line + headers incl. final CRLFCRLF */
#define HTTP_MAX_HEADERS       64
#define HTTP_MAX_BODY          4096 /* largest body any route takes */
#define HTTP_MAX_REQUEST_LINE  4096 /* method SP target SP version, without its CRLF */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER /* PUT DELETE OPTIONS PATCH TRACE CONNECT */ };

/* A string inside the caller's buffer. Absent strings have len 0 and a valid, non-NULL p. */
struct http_str { const char *p; uint32_t len; };
struct http_header { struct http_str name, value; };

struct http_request {
	enum http_method method;
	struct http_str method_str;
	struct http_str target;      /* request-target as sent, origin-form "/c/abc?x" */
	struct http_str path;        /* target up to '?' (absolute-form: after the authority) */
	struct http_str query;       /* after '?', may be empty */
	uint8_t minor;               /* HTTP/1.<minor>, 0 or 1 */
	uint16_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	struct http_str host;        /* Host header value, trimmed; absolute-form: its authority */
	struct http_str user_agent;
	struct http_str content_type;
	uint32_t content_length;     /* 0 when absent */
	bool keep_alive;             /* from version + Connection header */
	uint32_t head_len;           /* bytes of request line + headers incl. CRLFCRLF */
	/* Additions. */
	bool absolute_form;          /* target was "http[s]://authority/..." */
	bool has_content_length;     /* a Content-Length field was present (even "0") */
	bool expect_continue;        /* "Expect: 100-continue": answer 100 before reading the body */
};

/*
 * Parse the head of one request at buf[0..len).
 * Returns  > 0  the head is complete: head_len; *req filled. The body (content_length bytes)
 *               follows at buf + head_len; the caller checks it has arrived.
 *          0    incomplete: call again with more bytes (len grew).
 *          < 0  -status to answer before closing the connection: 400, 411, 413, 414, 431,
 *               501 or 505 (see the rules above). Never 405: HTTP_OTHER is the router's.
 * On 0 or < 0 the contents of *req are unspecified.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req);
/* The same with another body limit than HTTP_MAX_BODY (the management API's uploads). */
int http_parse_request_max(const char *buf, size_t len, struct http_request *req,
			   uint32_t max_body);

/* Reason phrase for a status code ("Found", "Not Found", ...); "Unknown" otherwise. */
const char *http_reason(int status);

/* Case-insensitive header lookup in a parsed request (first match); NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

#endif
