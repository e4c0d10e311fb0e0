/* SPDX-License-Identifier: MIT */
/*
 * A growing text buffer: the answers the control thread writes (the exposition, the status
 * page), the fleet consumer's lines. Out of memory is sticky: later writes do nothing and
 * mbuf_take says NULL, so writers check once at the end.
 */
#ifndef ET_CORE_MBUF_H
#define ET_CORE_MBUF_H

#include <stdbool.h>
#include <stddef.h>

struct mbuf {
	char *p;                 /* NUL-terminated while not failed */
	size_t len, cap;
	bool failed;
};

void mbuf_put(struct mbuf *b, const char *s, size_t n);
void mbuf_puts(struct mbuf *b, const char *s);
void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for n more bytes at b->p + b->len, for a writer that fills it in place and then
   calls mbuf_added() with what it wrote; NULL when memory ran out. */
char *mbuf_room(struct mbuf *b, size_t n);
void mbuf_added(struct mbuf *b, size_t n);
/* Empties b for reuse: keeps its memory, forgets a failure. */
void mbuf_reset(struct mbuf *b);
/* The text (the caller frees it) and its length; NULL when memory ran out. b is emptied. */
char *mbuf_take(struct mbuf *b, size_t *len);
void mbuf_free(struct mbuf *b);

#endif
