/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the journal's store (segment files: recovery, rotation, retention)
 * and its writer (rings, writer thread, group commit). Not for other modules.
 */
#ifndef ET_JOURNAL_INT_H
#define ET_JOURNAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "journal/journal.h"
#include "journal/record.h"

struct journal_sub {
	struct event ev;
	uint64_t cookie;
};

/* One worker's two SPSC rings. Indices grow forever; slot = index & mask. Each index is
   written by one side only and sits on its own cache line. */
struct jworker {
	_Alignas(64) _Atomic uint64_t sub_tail; /* worker: next slot to fill */
	uint64_t submitted, reaped;             /* worker-only counters */
	int unflushed;                          /* worker-only: queued since the last wake */
	_Atomic uint64_t full_rejects;
	_Alignas(64) _Atomic uint64_t sub_head; /* writer: next slot to take */
	_Alignas(64) _Atomic uint64_t done_tail; /* writer: next completion slot */
	_Alignas(64) _Atomic uint64_t done_head; /* worker: next completion to reap */
	_Alignas(64) struct journal_sub *subs;
	struct journal_done *dones;
	uint64_t mask;
	int notify_fd;
	int notify_pending; /* writer-only: completions pushed since the last wake */
};

struct pending {
	int worker;
	uint64_t cookie;
	uint64_t seq;
	uint32_t off, len; /* record position in the batch buffer */
};

struct jcounters {
	_Atomic uint64_t appended, batches, fsyncs, enospc, io_errors, corrupt_skipped,
		truncated_bytes, segments_created, segments_deleted, next_seq;
	struct hist commit;  /* commit durations: written by the writer thread alone */
};

struct journal {
	struct journal_settings set;
	int dirfd;

	/* The active segment (writer thread only once started). */
	int seg_fd;
	uint64_t seg_first, seg_size, seg_created_ns, seg_records;
	uint64_t seg_alloc; /* file size: [seg_size, seg_alloc) is zero-filled reserved space */
	int seg_broken;     /* a failed sync left the segment untrusted: rotate before writing */
	int can_fallocate;  /* fallocate works on this filesystem */
	uint64_t next_seq;


	pthread_t thread;
	int started;
	_Atomic int stopping;
	_Atomic int stopped;
	_Atomic int idle;   /* writer is (about to be) asleep on wake_fd */
	_Atomic int failing; /* the last commit failed (read by workers: journal_failing) */
	int wake_fd;

	struct jworker *workers[JOURNAL_MAX_WORKERS];
	int nworkers;
	int rr;             /* round-robin start of gathering */

	uint8_t *batch;     /* encoded records of the batch being gathered */
	size_t batch_len, batch_cap;
	struct pending *pend;
	size_t npend, pend_cap;

	_Atomic uint64_t hold_from; /* see journal_hold_from */
	pthread_mutex_t commit_mu;  /* journal_on_commit: taken by the writer only when set */
	journal_commit_fn *commit_fn;
	void *commit_arg;
	_Atomic int commit_set;
	int held_logged;    /* retention was held back by the hold (log once per episode) */
	int space_failing;  /* the last commit failed with ENOSPC (log once per episode) */
	uint64_t last_retention_ns;
	struct jcounters c;
};

uint64_t journal_now_ns(void);
int store_open(struct journal *j, char *err, size_t errlen);
void store_close(struct journal *j);
/* Starts a new active segment whose first record will be first_seq. 0 or -errno. */
int store_rotate(struct journal *j, uint64_t first_seq);
/* With preallocation: makes sure [seg_size, seg_size + len) of the active segment is
   allocated, zero-filled space (reserving more ahead in growing steps), so the write and
   fdatasync of a batch change no file metadata and a full disk fails before any record byte
   is written. 0, -ENOSPC or -errno; on failure the file is as it was. */
int store_reserve(struct journal *j, size_t len);
/* Gives the reserved space after seg_size back (after a failed write, before rotation and at
   close), so a finished segment ends at its last record. */
void store_trim(struct journal *j);
/* True when the active segment must be closed before appending len more bytes. */
int store_needs_rotation(const struct journal *j, size_t len);
int store_retention(struct journal *j);

#endif
