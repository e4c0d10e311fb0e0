// SPDX-License-Identifier: MIT
#include "http/http_response.h"

#include "http/http_parser.h"
#include "core/num.h"

#include <stdio.h>
#include <string.h>

void http_date(time_t t, char *out)
{
	struct tm tm;

	/* the process never calls setlocale(), so %a and %b are the C locale's English names */
	gmtime_r(&t, &tm);
	strftime(out, HTTP_DATE_LEN + 1, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void http_out_raw(struct http_out *o, const void *p, size_t len)
{
	if (o->overflow || len > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, p, len);
	o->len += len;
}

static void out_str(struct http_out *o, const char *s)
{
	http_out_raw(o, s, strlen(s));
}

static void out_uint(struct http_out *o, size_t v)
{
	char d[NUM_U64_DIGITS], *p = num_format_u64(v, d);

	http_out_raw(o, p, (size_t)(d + sizeof(d) - p));
}

void http_out_status(struct http_out *o, int status)
{
	char tmp[] = "HTTP/1.1 000 ";

	if (status < 100 || status > 999)
		status = 500;
	tmp[9] = (char)('0' + status / 100);
	tmp[10] = (char)('0' + status / 10 % 10);
	tmp[11] = (char)('0' + status % 10);
	http_out_raw(o, tmp, sizeof(tmp) - 1);
	out_str(o, http_reason(status));
	http_out_raw(o, "\r\n", 2);
}

void http_out_header(struct http_out *o, const char *name, const char *value, size_t len)
{
	out_str(o, name);
	http_out_raw(o, ": ", 2);
	http_out_raw(o, value, len);
	http_out_raw(o, "\r\n", 2);
}

void http_out_finish(struct http_out *o, const char *date, const char *content_type,
		     const void *body, size_t body_len, bool head_only, bool keep_alive)
{
	http_out_raw(o, "Date: ", 6);
	http_out_raw(o, date, HTTP_DATE_LEN);
	out_str(o, "\r\nServer: edgetrack\r\n");
	if (content_type) {
		out_str(o, "Content-Type: ");
		out_str(o, content_type);
		http_out_raw(o, "\r\n", 2);
	}
	out_str(o, "Content-Length: ");
	out_uint(o, body_len);
	out_str(o, keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
	if (!head_only && body_len)
		http_out_raw(o, body, body_len);
}
