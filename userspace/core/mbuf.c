// SPDX-License-Identifier: MIT
#include "core/mbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool room(struct mbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->failed)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void mbuf_puts(struct mbuf *b, const char *s)
{
	mbuf_put(b, s, strlen(s));
}

void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !room(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *mbuf_room(struct mbuf *b, size_t n)
{
	return room(b, n) ? b->p + b->len : NULL;
}

void mbuf_added(struct mbuf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

void mbuf_reset(struct mbuf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->p)
		b->p[0] = '\0';
}

char *mbuf_take(struct mbuf *b, size_t *len)
{
	char *p;

	room(b, 0); /* an empty text is "", not NULL */
	if (b->failed) {
		mbuf_free(b);
		return NULL;
	}
	p = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void mbuf_free(struct mbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
