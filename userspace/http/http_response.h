/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 response writer: appends a response into a caller's buffer with no allocation.
 * Writes go through http_out; once one does not fit, every later one is ignored and
 * http_out_ok() says so, so callers check once at the end.
 */
#ifndef ET_HTTP_RESPONSE_H
#define ET_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct http_out {
	char *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* IMF-fixdate (RFC 9110 §5.6.7) into out[HTTP_DATE_LEN + 1]. */
void http_date(time_t t, char *out);

void http_out_raw(struct http_out *o, const void *p, size_t len);
void http_out_status(struct http_out *o, int status);
void http_out_header(struct http_out *o, const char *name, const char *value, size_t len);
/* Date, Server, Content-Type, Content-Length, Connection, then the body unless head_only. */
void http_out_finish(struct http_out *o, const char *date, const char *content_type,
		     const void *body, size_t body_len, bool head_only, bool keep_alive);
static inline bool http_out_ok(const struct http_out *o) { return !o->overflow; }

#endif
