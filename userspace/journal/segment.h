/* SPDX-License-Identifier: MIT */
/*
 * Segment files of a journal directory: listing them in sequence order and scanning the
 * records of one segment. The scanner never trusts the file: it stops at the last complete
 * record with a valid CRC, reports damaged byte ranges, and finds the next good record after
 * one (the per-record magic plus a full CRC check decide where that is).
 */
#ifndef ET_JOURNAL_SEGMENT_H
#define ET_JOURNAL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "journal/record.h"

struct seg_list {
	uint64_t *first; /* first sequence number of each segment, ascending */
	size_t n;
};

/* Lists the "*.seg" files of the directory dirfd. 0 or -errno. */
int seg_list_load(int dirfd, struct seg_list *out);
void seg_list_free(struct seg_list *l);
/* Index of the segment that holds seq (the last one whose first <= seq), or 0. */
size_t seg_list_find(const struct seg_list *l, uint64_t seq);

enum scan_result {
	SCAN_RECORD,       /* a good record: rec filled, rec_off/rec_len set */
	SCAN_END,          /* clean end: nothing but zero-filled space from off to the end */
	SCAN_PARTIAL,      /* an incomplete record at the end of the written bytes (maybe
			      being written) */
	SCAN_CORRUPT,      /* damaged bytes [bad_off, bad_off+bad_len); off moved past them */
	SCAN_CORRUPT_TAIL, /* damaged bytes from off to the end, no good record after them */
	SCAN_ERROR,        /* read error: err holds -errno */
};

struct seg_scan {
	int fd;
	uint64_t first_seq;   /* from the file name */
	int hdr_status;       /* REC_OK, REC_SHORT (file shorter than a header), REC_CORRUPT */
	uint64_t created_ns;  /* from the header when valid */
	uint64_t off;         /* offset of the next record to read */
	uint64_t rec_off;     /* offset and length of the record last returned */
	size_t rec_len;
	uint64_t bad_off, bad_len;
	int err;
	uint8_t *buf;         /* file bytes [buf_off, buf_off + buf_len) */
	size_t buf_cap, buf_len;
	uint64_t buf_off;
	size_t want;          /* bytes a read asks for: less than buf_cap while following the
				 writer, about what it wrote since the last look */
	uint64_t tail_off;    /* where the last look at the end of the written bytes started */
	int fresh;            /* the buffer was read during this step */
};

/* The writer zero-fills segment space ahead of its records (so fdatasync of a batch changes
   no metadata): zero bytes after the last record are space not yet written. Sets *end to
   one past the last non-zero byte in [off, end of file) (off when there is none). 0 or
   -errno. */
int seg_data_end(int fd, uint64_t off, uint64_t *end);

/* Opens segment <first_seq>.seg of dirfd read-only. 0 or -errno. */
int seg_scan_open(struct seg_scan *s, int dirfd, uint64_t first_seq);
/* Re-reads the header (for a follower that opened a segment still being created). */
void seg_scan_reread_header(struct seg_scan *s);
enum scan_result seg_scan_next(struct seg_scan *s, struct journal_record *rec);
void seg_scan_close(struct seg_scan *s);

#endif
