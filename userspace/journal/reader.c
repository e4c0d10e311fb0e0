// SPDX-License-Identifier: MIT
#include "journal/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/log.h"
#include "journal/segment.h"

struct journal_reader {
	int dirfd;
	char dir[256];
	uint64_t from_seq;
	uint64_t last_seq;      /* last record returned (0: none yet) */
	int open;               /* scan holds a segment */
	int final_pass;         /* a newer segment exists: this read of the current one is final */
	uint64_t tail_reported; /* offset of a TAIL problem already reported (+1), 0 none */
	struct seg_scan scan;
	journal_problem_fn *report;
	void *report_arg;
	uint64_t problems;
};

const char *journal_problem_name(enum journal_problem_kind k)
{
	switch (k) {
	case JOURNAL_PROBLEM_CORRUPT: return "corrupt";
	case JOURNAL_PROBLEM_TORN: return "torn";
	case JOURNAL_PROBLEM_TAIL: return "tail";
	case JOURNAL_PROBLEM_GAP: return "gap";
	case JOURNAL_PROBLEM_ORDER: return "order";
	case JOURNAL_PROBLEM_HEADER: return "header";
	}
	return "?";
}

static void log_problem(void *arg, const struct journal_problem *p)
{
	const char *dir = arg;

	log_warn("journal_problem", "dir=%s kind=%s segment=%020" PRIu64 " offset=%" PRIu64
		 " bytes=%" PRIu64 " expected=%" PRIu64 " got=%" PRIu64, dir,
		 journal_problem_name(p->kind), p->segment, p->offset, p->length, p->expected,
		 p->got);
}

static void problem(struct journal_reader *r, enum journal_problem_kind kind, uint64_t off,
		    uint64_t len, uint64_t expected, uint64_t got)
{
	struct journal_problem p = {
		.kind = kind, .segment = r->scan.first_seq, .offset = off, .length = len,
		.expected = expected, .got = got,
	};

	r->problems++;
	r->report(r->report_arg, &p);
}

struct journal_reader *journal_reader_open(const char *dir, uint64_t from_seq, char *err,
					   size_t errlen)
{
	struct journal_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		free(r);
		return NULL;
	}
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->from_seq = from_seq;
	r->report = log_problem;
	r->report_arg = r->dir;
	r->scan.fd = -1;
	return r;
}

void journal_reader_on_problem(struct journal_reader *r, journal_problem_fn *fn, void *arg)
{
	r->report = fn;
	r->report_arg = arg;
}

uint64_t journal_reader_problems(const struct journal_reader *r) { return r->problems; }

int journal_reader_position(const struct journal_reader *r, uint64_t *segment,
			    uint64_t *offset)
{
	if (!r->open)
		return -ENOENT;
	*segment = r->scan.first_seq;
	*offset = r->scan.off;
	return 0;
}

void journal_reader_close(struct journal_reader *r)
{
	if (!r)
		return;
	if (r->open)
		seg_scan_close(&r->scan);
	close(r->dirfd);
	free(r);
}

/* Opens the segment to start from, or the one after the current. 1 opened, 0 none, <0. */
static int open_next(struct journal_reader *r)
{
	struct seg_list l;
	size_t i;
	int rc = seg_list_load(r->dirfd, &l);

	if (rc)
		return rc;
	if (!r->open && r->scan.first_seq == 0 && r->last_seq == 0) {
		i = seg_list_find(&l, r->from_seq);
	} else {
		for (i = 0; i < l.n && l.first[i] <= r->scan.first_seq; i++)
			;
	}
	if (i >= l.n) {
		seg_list_free(&l);
		return 0;
	}
	uint64_t first = l.first[i];

	seg_list_free(&l);
	if (r->open)
		seg_scan_close(&r->scan);
	r->open = 0;
	rc = seg_scan_open(&r->scan, r->dirfd, first);
	if (rc == -ENOENT) /* deleted by retention meanwhile: the list is read again */
		return open_next(r);
	if (rc)
		return rc;
	r->open = 1;
	r->final_pass = 0;
	r->tail_reported = 0;
	if (r->scan.hdr_status == REC_CORRUPT)
		problem(r, JOURNAL_PROBLEM_HEADER, 0, SEG_HDR_LEN, first, 0);
	return 1;
}

static int newer_exists(struct journal_reader *r)
{
	struct seg_list l;
	int found;

	if (seg_list_load(r->dirfd, &l) != 0)
		return 0;
	found = l.n && l.first[l.n - 1] > r->scan.first_seq;
	seg_list_free(&l);
	return found;
}

/* Checks the sequence of a good record; 1 if it is to be returned. */
static int accept_record(struct journal_reader *r, const struct journal_record *rec)
{
	uint64_t expected = r->last_seq ? r->last_seq + 1 : r->from_seq;

	if (rec->seq < r->from_seq)
		return 0;
	if (r->last_seq && rec->seq <= r->last_seq) {
		problem(r, JOURNAL_PROBLEM_ORDER, r->scan.rec_off, 0, expected, rec->seq);
		return 0;
	}
	if (expected > 1 && rec->seq > expected)
		problem(r, JOURNAL_PROBLEM_GAP, r->scan.rec_off, 0, expected, rec->seq);
	r->last_seq = rec->seq;
	return 1;
}

/* True while a writer holds the journal directory's lock. The probe holds a shared lock
   for an instant; a starting writer retries its own lock for a moment because of it. */
static int writer_running(struct journal_reader *r)
{
	if (flock(r->dirfd, LOCK_SH | LOCK_NB) == 0) {
		flock(r->dirfd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK;
}

/* Damage in the segment a running writer appends to is a write being copied into the
   zero-filled space ahead of the records (a concurrent read may see any part of it), not
   damage yet: the writer starts each run on an undamaged segment. Such a reader stops
   there for now and reads those bytes again next time. */
static int write_in_progress(struct journal_reader *r)
{
	return !newer_exists(r) && writer_running(r);
}

/* At the end of the current segment's readable bytes: 1 to keep reading, 0 to stop. */
static int at_end(struct journal_reader *r, enum scan_result res)
{
	int rc;

	if (!newer_exists(r)) {
		if (res == SCAN_CORRUPT_TAIL && r->tail_reported != r->scan.off + 1) {
			problem(r, JOURNAL_PROBLEM_TAIL, r->scan.off, r->scan.bad_len, 0, 0);
			r->tail_reported = r->scan.off + 1;
		}
		return 0;
	}
	/* The writer finished this segment before it created the next: one more read sees
	   everything it will ever hold. */
	if (!r->final_pass) {
		r->final_pass = 1;
		return 1;
	}
	if (res != SCAN_END)
		problem(r, JOURNAL_PROBLEM_TORN, r->scan.off, r->scan.bad_len, 0, 0);
	rc = open_next(r);
	return rc > 0;
}

const uint8_t *journal_reader_record_bytes(const struct journal_reader *r, size_t *len)
{
	*len = r->scan.rec_len;
	return r->scan.buf + (r->scan.rec_off - r->scan.buf_off);
}

int journal_reader_next(struct journal_reader *r, struct journal_record *out)
{
	if (!r->open) {
		int rc = open_next(r);

		if (rc <= 0)
			return rc;
	}
	for (;;) {
		enum scan_result res = seg_scan_next(&r->scan, out);

		switch (res) {
		case SCAN_RECORD:
			if (accept_record(r, out))
				return 1;
			break;
		case SCAN_CORRUPT:
			if (write_in_progress(r)) {
				r->scan.off = r->scan.bad_off;
				return 0;
			}
			if (!r->final_pass && newer_exists(r)) {
				/* These bytes may have been read while the writer was still copying
				   them, before it finished this segment and started the next: one
				   more read sees what the segment will always hold. */
				r->final_pass = 1;
				r->scan.off = r->scan.bad_off;
				break;
			}
			problem(r, JOURNAL_PROBLEM_CORRUPT, r->scan.bad_off, r->scan.bad_len, 0, 0);
			break;
		case SCAN_ERROR:
			return r->scan.err;
		case SCAN_CORRUPT_TAIL:
			if (write_in_progress(r))
				return 0;
			/* fall through */
		case SCAN_END:
		case SCAN_PARTIAL:
			if (!at_end(r, res))
				return 0;
			break;
		}
	}
}
