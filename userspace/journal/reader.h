/* SPDX-License-Identifier: MIT */
/*
 * Reading a journal directory in sequence order, safely while edgetrackd appends to it.
 * Records are returned only when complete with a valid CRC; an incomplete record at the end
 * of the newest segment is "not yet" (next returns 0 and a later call continues there).
 * Damage is reported through a callback (default: a log line) and skipped, never silently.
 */
#ifndef ET_JOURNAL_READER_H
#define ET_JOURNAL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "journal/record.h"

enum journal_problem_kind {
	JOURNAL_PROBLEM_CORRUPT,      /* damaged bytes skipped, a good record follows */
	JOURNAL_PROBLEM_TORN,         /* damaged or incomplete bytes at the end of a closed segment */
	JOURNAL_PROBLEM_TAIL,         /* damaged bytes at the end of the newest segment */
	JOURNAL_PROBLEM_GAP,          /* sequence numbers missing (deleted or damaged records) */
	JOURNAL_PROBLEM_ORDER,        /* a sequence number not above the previous one */
	JOURNAL_PROBLEM_HEADER,       /* a segment header that is damaged or names another seq */
};

struct journal_problem {
	enum journal_problem_kind kind;
	uint64_t segment;     /* first sequence number of the segment (its file name) */
	uint64_t offset;      /* byte offset in the segment */
	uint64_t length;      /* damaged bytes (CORRUPT, TORN, TAIL) */
	uint64_t expected;    /* GAP/ORDER: the sequence number expected */
	uint64_t got;         /* GAP/ORDER: the one found */
};

const char *journal_problem_name(enum journal_problem_kind k);

typedef void journal_problem_fn(void *arg, const struct journal_problem *p);

struct journal_reader;

/* Opens a reader of dir returning records with seq >= from_seq (0 or 1: from the oldest).
   NULL and err on failure (directory missing, out of memory). */
struct journal_reader *journal_reader_open(const char *dir, uint64_t from_seq, char *err,
					   size_t errlen);

/* Replaces the default problem report (a log line). */
void journal_reader_on_problem(struct journal_reader *r, journal_problem_fn *fn, void *arg);

/* 1: *out holds the next record; 0: nothing more for now (call again to follow);
   -errno on a read error. */
int journal_reader_next(struct journal_reader *r, struct journal_record *out);

/* The bytes of the record the last journal_reader_next() returned, in the journal's
   framing (*len of them, its CRC checked): valid until the reader is called again. */
const uint8_t *journal_reader_record_bytes(const struct journal_reader *r, size_t *len);

/* Where the next read starts: segment (first seq) and byte offset; -ENOENT before the
   first segment is opened. For `events verify` to spot an incomplete tail. */
int journal_reader_position(const struct journal_reader *r, uint64_t *segment,
			    uint64_t *offset);

/* Problems reported so far. */
uint64_t journal_reader_problems(const struct journal_reader *r);

void journal_reader_close(struct journal_reader *r);

#endif
