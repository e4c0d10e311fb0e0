// SPDX-License-Identifier: MIT
#include "journal/segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_BUF (256 * 1024)
#define SCAN_TAIL_MIN (16 * 1024) /* what a follower reads at least: many records */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int seg_list_push(struct seg_list *l, size_t *cap, uint64_t first)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint64_t *p = realloc(l->first, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->first = p;
		*cap = ncap;
	}
	l->first[l->n++] = first;
	return 0;
}

int seg_list_load(int dirfd, struct seg_list *out)
{
	struct dirent *de;
	size_t cap = 0;
	int fd, rc = 0;
	DIR *d;

	memset(out, 0, sizeof(*out));
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t first;

		if (seg_name_parse(de->d_name, &first) != 0)
			continue;
		rc = seg_list_push(out, &cap, first);
		if (rc)
			break;
	}
	closedir(d);
	if (rc) {
		seg_list_free(out);
		return rc;
	}
	if (out->n)
		qsort(out->first, out->n, sizeof(*out->first), cmp_u64);
	return 0;
}

void seg_list_free(struct seg_list *l)
{
	free(l->first);
	l->first = NULL;
	l->n = 0;
}

size_t seg_list_find(const struct seg_list *l, uint64_t seq)
{
	size_t lo = 0, hi = l->n;

	/* Binary search for the last first <= seq. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->first[mid] <= seq)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static ssize_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

void seg_scan_reread_header(struct seg_scan *s)
{
	uint8_t hdr[SEG_HDR_LEN];
	uint64_t first;
	ssize_t n = pread_full(s->fd, hdr, sizeof(hdr), 0);

	if (n < (ssize_t)sizeof(hdr)) {
		s->hdr_status = REC_SHORT;
		return;
	}
	if (seg_hdr_decode(hdr, &first, &s->created_ns) != 0 || first != s->first_seq)
		s->hdr_status = REC_CORRUPT;
	else
		s->hdr_status = REC_OK;
}

int seg_scan_open(struct seg_scan *s, int dirfd, uint64_t first_seq)
{
	char name[SEG_NAME_LEN + 1];

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->first_seq = first_seq;
	s->off = SEG_HDR_LEN;
	s->buf_cap = s->want = SCAN_BUF;
	s->buf = malloc(s->buf_cap);
	if (!s->buf)
		return -ENOMEM;
	seg_name(name, sizeof(name), first_seq);
	s->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int rc = -errno;

		free(s->buf);
		s->buf = NULL;
		return rc;
	}
	seg_scan_reread_header(s);
	return 0;
}

void seg_scan_close(struct seg_scan *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->fd = -1;
	s->buf = NULL;
}

static size_t follow_size(uint64_t last, size_t cap)
{
	uint64_t n = last + last / 2;

	return n < SCAN_TAIL_MIN ? SCAN_TAIL_MIN : n > cap ? cap : (size_t)n;
}

/* Makes the buffer start at off and hold the next want bytes of the file (fewer at its end). */
static int scan_fill(struct seg_scan *s, uint64_t off)
{
	ssize_t n = pread_full(s->fd, s->buf, s->want, off);

	if (n < 0) {
		s->err = (int)n;
		return -1;
	}
	s->buf_off = off;
	s->buf_len = (size_t)n;
	s->fresh = 1;
	return 0;
}

/* Bytes available at off, refilling unless a whole record is already buffered. A refill
   happens near the end of the file on every call, which is what lets a follower see growth. */
static int scan_view(struct seg_scan *s, uint64_t off, const uint8_t **p, size_t *avail)
{
	if (off < s->buf_off || off + REC_MAX_LEN > s->buf_off + s->buf_len) {
		if (s->buf_len == s->want) /* records filled the last read: more came than expected */
			s->want = s->want < s->buf_cap / 2 ? s->want * 2 : s->buf_cap;
		if (scan_fill(s, off) < 0)
			return -1;
	}
	*p = s->buf + (off - s->buf_off);
	*avail = s->buf_len - (size_t)(off - s->buf_off);
	return 0;
}

/* Finds the first offset in [from, limit) where a complete valid record starts; 0 if none. */
static int scan_resync(struct seg_scan *s, uint64_t from, uint64_t limit, uint64_t *found)
{
	struct journal_record tmp;
	uint64_t pos = from;

	for (;;) {
		const uint8_t *p;
		size_t avail, len;

		if (scan_view(s, pos, &p, &avail) < 0)
			return -1;
		if (pos >= limit)
			return 0;
		if (avail > limit - pos)
			avail = (size_t)(limit - pos);
		if (avail < 4)
			return 0;
		/* memmem over the buffered window for the magic, then a full check. */
		const uint8_t magic[4] = { 0x45, 0x54, 0x4a, 0x52 };
		const uint8_t *m = memmem(p, avail, magic, sizeof(magic));

		if (!m) {
			pos += avail - 3; /* the magic may straddle the window end */
			continue;
		}
		pos += (uint64_t)(m - p);
		if (scan_view(s, pos, &p, &avail) < 0)
			return -1;
		if (avail > limit - pos)
			avail = (size_t)(limit - pos);
		if (rec_decode(p, avail, &tmp, &len) == REC_OK) {
			*found = pos;
			return 1;
		}
		pos++;
	}
}

int seg_data_end(int fd, uint64_t off, uint64_t *end)
{
	uint8_t buf[16384];
	struct stat st;
	uint64_t pos;

	if (fstat(fd, &st) != 0)
		return -errno;
	/* Backwards from the end of the file: the first non-zero byte met is the last one. */
	pos = (uint64_t)st.st_size;
	while (pos > off) {
		size_t n = pos - off < sizeof(buf) ? (size_t)(pos - off) : sizeof(buf);
		ssize_t got = pread_full(fd, buf, n, pos - n);

		if (got < 0)
			return (int)got;
		if ((size_t)got < n) { /* the file shrank meanwhile: look again from its new end */
			pos -= n;
			pos += (uint64_t)got;
			continue;
		}
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1]) {
				*end = pos - n + i;
				return 0;
			}
		}
		pos -= n;
	}
	*end = off;
	return 0;
}

enum scan_result seg_scan_next(struct seg_scan *s, struct journal_record *rec)
{
	const uint8_t *p;
	size_t avail, len;
	enum rec_status first;
	uint64_t next, limit, end = UINT64_MAX;
	int rc;

	s->fresh = 0;
	if (scan_view(s, s->off, &p, &avail) < 0)
		return SCAN_ERROR;
	if (avail == 0 && s->fresh)
		return SCAN_END;
	first = rec_decode(p, avail, rec, &len);
	if (first != REC_OK && !s->fresh) {
		/* The bytes after the last record may have been written since they were read
		   (the writer fills zeroed space, the file does not grow): read them again. As
		   much as was written between the last two looks and half again, not a whole
		   buffer of the zeros ahead of the writer each time. */
		if (s->tail_off && s->off > s->tail_off)
			s->want = follow_size(s->off - s->tail_off, s->buf_cap);
		s->tail_off = s->off;
		if (scan_fill(s, s->off) < 0)
			return SCAN_ERROR;
		p = s->buf;
		avail = s->buf_len;
		if (avail == 0)
			return SCAN_END;
		first = rec_decode(p, avail, rec, &len);
	}
	switch (first) {
	case REC_OK:
		s->rec_off = s->off;
		s->rec_len = len;
		s->off += len;
		return SCAN_RECORD;
	case REC_SHORT:
	case REC_CORRUPT:
		break;
	}
	/* A record never starts with a zero byte: zeros up to the end of the file are space the
	   writer reserved and has not written yet. */
	if (p[0] == 0) {
		rc = seg_data_end(s->fd, s->off, &end);
		if (rc) {
			s->err = rc;
			return SCAN_ERROR;
		}
		if (end == s->off)
			return SCAN_END;
	}
	/* An incomplete record is only a partial tail if no good record follows it: a damaged
	   length field could otherwise hide good records behind a fake "still being written".
	   That search stays within the bytes read together with the incomplete record: the
	   file may have grown since, completing it, and must not make it look damaged. */
	limit = first == REC_SHORT ? s->buf_off + s->buf_len : UINT64_MAX;
	rc = scan_resync(s, s->off + 1, limit, &next);
	if (rc < 0)
		return SCAN_ERROR;
	s->bad_off = s->off;
	if (rc == 0) {
		s->bad_len = s->buf_off + s->buf_len - s->off;
		if (first == REC_SHORT)
			return SCAN_PARTIAL;
		/* Less than a record of data, then zero-filled space: a record being copied
		   into the reserved space (or torn there by a crash), not damage yet. */
		if (end == UINT64_MAX && (rc = seg_data_end(s->fd, s->off, &end)) != 0) {
			s->err = rc;
			return SCAN_ERROR;
		}
		if (end - s->off < REC_MAX_LEN && end < s->buf_off + s->buf_len) {
			s->bad_len = end - s->off;
			return SCAN_PARTIAL;
		}
		return SCAN_CORRUPT_TAIL;
	}
	s->bad_len = next - s->off;
	s->off = next;
	return SCAN_CORRUPT;
}
