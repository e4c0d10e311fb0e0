// SPDX-License-Identifier: MIT
#include "bundle/frame.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 32

void frame_reader_init(struct frame_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->len = len;
	r->off = 0;
}

bool frame_at_end(const struct frame_reader *r)
{
	return r->off == r->len;
}

/* The rest of the current line (without "\n"); -1 when no "\n" follows within limit. */
static int line(struct frame_reader *r, size_t limit, const char **s, size_t *n)
{
	size_t left = r->len - r->off;
	const unsigned char *nl = memchr(r->p + r->off, '\n', left < limit ? left : limit);

	if (!nl)
		return -1;
	*s = (const char *)r->p + r->off;
	*n = (size_t)(nl - (r->p + r->off));
	r->off += *n + 1;
	return 0;
}

int frame_magic(struct frame_reader *r, const char *magic, char *err, size_t errlen)
{
	const char *s;
	size_t n;

	if (line(r, strlen(magic) + 1, &s, &n) || n != strlen(magic) || memcmp(s, magic, n))
		return err_set(err, errlen, "not an \"%s\" file", magic);
	return 0;
}

/* Decimal, no sign, no leading zero, at most max. */
static int parse_len(const char *s, size_t n, size_t max, size_t *out)
{
	uint64_t v = 0;

	if (!n || n > 12 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (size_t)v;
	return 0;
}

int frame_next(struct frame_reader *r, const char *name, size_t max, const unsigned char **data,
	       size_t *len, char *err, size_t errlen)
{
	size_t start = r->off, nlen = strlen(name), n;
	const char *s;

	if (frame_at_end(r))
		return err_set(err, errlen, "truncated: section \"%s\" missing at byte %zu", name,
			       start);
	if (line(r, nlen + 14, &s, &n) || n <= nlen + 1 || memcmp(s, name, nlen) || s[nlen] != ' ')
		return err_set(err, errlen, "expected section \"%s\" at byte %zu", name, start);
	if (parse_len(s + nlen + 1, n - nlen - 1, max, len))
		return err_set(err, errlen, "section \"%s\" at byte %zu: bad length or over %zu bytes",
			       name, start, max);
	if (r->len - r->off < *len + 1)
		return err_set(err, errlen, "truncated: section \"%s\" declares %zu bytes, %zu left",
			       name, *len, r->len - r->off);
	if (r->p[r->off + *len] != '\n')
		return err_set(err, errlen, "section \"%s\" at byte %zu does not end with a newline",
			       name, start);
	*data = r->p + r->off;
	r->off += *len + 1;
	return 0;
}

static void put(struct frame_buf *b, const void *data, size_t len)
{
	if (b->failed)
		return;
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *p;
		while (cap - b->len < len && cap < SIZE_MAX / 2)
			cap *= 2;
		p = cap - b->len >= len ? realloc(b->p, cap) : NULL;
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void frame_put_magic(struct frame_buf *b, const char *magic)
{
	put(b, magic, strlen(magic));
	put(b, "\n", 1);
}

void frame_put(struct frame_buf *b, const char *name, const void *data, size_t len)
{
	char head[NAME_MAX_LEN + 24];
	int n = snprintf(head, sizeof(head), "%s %zu\n", name, len);

	put(b, head, (size_t)n);
	put(b, data, len);
	put(b, "\n", 1);
}

void frame_buf_free(struct frame_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
