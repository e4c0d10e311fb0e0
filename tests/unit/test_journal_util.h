/* SPDX-License-Identifier: MIT */
/* Helpers shared by the journal unit tests: temporary directories, events, a writer. */
#ifndef ET_TEST_JOURNAL_UTIL_H
#define ET_TEST_JOURNAL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"
#include "journal/reader.h"
#include "journal/record.h"

static int tj_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static inline void tj_rmrf(const char *dir)
{
	nftw(dir, tj_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tj_mkdtemp(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/etjournal.XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static inline void tj_event(struct event *ev, uint64_t id)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = 1700000000000000000ull + id;
	ev->message_id = id;
	ev->recipient_id = id * 7 + 1;
	ev->link_index = (uint16_t)(id % 100);
	ev->kind = (uint8_t)(1 + id % 3);
	ev->flags = (uint8_t)(id % 4);
	ev->machine_reasons = (ev->flags & EVENT_MACHINE) ? EVENT_MR_HEAD : 0;
	ev->addr_family = 4;
	ev->addr_prefix = 24;
	ev->addr[0] = 192; ev->addr[1] = 0; ev->addr[2] = 2;
	memcpy(ev->ua_digest, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	ev->host_len = (uint8_t)snprintf(ev->host, sizeof(ev->host), "click%u.example.com",
					 (unsigned)(id % 13));
}

static inline void tj_settings(struct journal_settings *s, const char *dir, enum journal_sync m)
{
	journal_settings_default(s);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->sync = m;
	s->batch_window_us = 200;
	s->retain_bytes = 0;
	s->retain_days = 0;
	s->segment_age_s = 0;
}

/* Submits one event and waits for its completion; returns the completion status. */
static inline int tj_submit_wait(struct journal *j, int w, const struct event *ev,
				 uint64_t cookie, struct journal_done *d)
{
	int rc;

	while ((rc = journal_submit(j, w, ev, cookie)) == -EAGAIN)
		usleep(100);
	if (rc)
		return rc;
	while (journal_reap(j, w, d, 1) == 0)
		usleep(50);
	assert_int_equal(d->cookie, cookie);
	return d->status;
}

/* Writes events with ids [from, to) through a fresh journal in dir; all must be durable. */
static inline void tj_write(const struct journal_settings *s, uint64_t from, uint64_t to)
{
	char err[256];
	struct journal *j = journal_open(s, err, sizeof(err));
	struct journal_done d;
	struct event ev;
	int w;

	if (!j)
		fail_msg("journal_open: %s", err);
	w = journal_add_worker(j, -1);
	assert_int_equal(w, 0);
	assert_int_equal(journal_start(j), 0);
	for (uint64_t i = from; i < to; i++) {
		tj_event(&ev, i);
		assert_int_equal(tj_submit_wait(j, w, &ev, i, &d), 0);
	}
	journal_close(j);
}

/* journal_reader_next(), and for a record, that the reader's bytes of it are its framing. */
static inline int tj_next(struct journal_reader *r, struct journal_record *rec)
{
	uint8_t want[REC_MAX_LEN];
	const uint8_t *got;
	size_t len, n;
	int rc = journal_reader_next(r, rec);

	if (rc != 1)
		return rc;
	got = journal_reader_record_bytes(r, &len);
	n = rec_encode(want, rec->seq, rec->append_ns, &rec->ev);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	return rc;
}

/* Reads everything from seq from_seq; returns the count, checks ids increase by one. */
static inline uint64_t tj_read_all(const char *dir, uint64_t from_seq, uint64_t *first,
				   uint64_t *last, uint64_t *problems)
{
	char err[256];
	struct journal_reader *r = journal_reader_open(dir, from_seq, err, sizeof(err));
	struct journal_record rec;
	uint64_t n = 0, prev = 0;
	int rc;

	if (!r)
		fail_msg("reader: %s", err);
	while ((rc = tj_next(r, &rec)) == 1) {
		if (n == 0 && first)
			*first = rec.seq;
		if (n)
			assert_true(rec.seq > prev);
		prev = rec.seq;
		n++;
	}
	assert_int_equal(rc, 0);
	if (last)
		*last = prev;
	if (problems)
		*problems = journal_reader_problems(r);
	journal_reader_close(r);
	return n;
}

#endif
