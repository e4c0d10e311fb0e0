/* SPDX-License-Identifier: MIT */
/*
 * The framing shared by bundle and keyring files: a magic line, then sections
 *
 *     <name> <len>\n<len bytes>\n
 *
 * Lengths are decimal without leading zeros and capped per section by the reader, so a
 * truncated or hostile file is a clear error before any allocation follows from it.
 */
#ifndef ET_BUNDLE_FRAME_H
#define ET_BUNDLE_FRAME_H

#include <stdbool.h>
#include <stddef.h>

struct frame_reader {
	const unsigned char *p;
	size_t len, off;
};

struct frame_buf {
	unsigned char *p;
	size_t len, cap;
	bool failed;          /* an allocation failed; the content is incomplete */
};

void frame_reader_init(struct frame_reader *r, const void *data, size_t len);
/* The first line must be exactly magic. 0, or -1 with the reason. */
int frame_magic(struct frame_reader *r, const char *magic, char *err, size_t errlen);
/* The next section must be called name and hold at most max bytes. 0 with data/len pointing
 * into the input, -1 with the reason (truncation names what was cut). */
int frame_next(struct frame_reader *r, const char *name, size_t max, const unsigned char **data,
	       size_t *len, char *err, size_t errlen);
bool frame_at_end(const struct frame_reader *r);

/* Appends; a failed allocation sets b->failed and later appends do nothing. */
void frame_put_magic(struct frame_buf *b, const char *magic);
void frame_put(struct frame_buf *b, const char *name, const void *data, size_t len);
void frame_buf_free(struct frame_buf *b);

#endif
