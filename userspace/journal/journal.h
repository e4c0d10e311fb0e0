/* SPDX-License-Identifier: MIT */
/*
 * The durable event journal of edgetrackd.
 *
 * Workers (one thread and one io_uring each) hand events to the journal through a lock-free
 * single-producer/single-consumer ring per worker. One writer thread owns the segment files
 * and its own io_uring: it gathers events from every ring, assigns the global sequence
 * numbers in file order, writes the batch and makes it durable (group commit), then hands
 * completions back through a second per-worker ring and wakes the worker's eventfd. A worker
 * answers its client only when the completion of its event says 0 (durable).
 *
 * Threading: journal_settings_*, journal_open, journal_add_worker, journal_start,
 * journal_stop and journal_close belong to one controlling thread. journal_submit,
 * journal_queue, journal_flush and journal_reap for worker w are called only from worker
 * w's thread. journal_stats_get may be
 * called from any thread.
 *
 * Retention never consults exporters' cursors: the disk must not fill because an exporter is
 * gone. A reader whose position was deleted is told so (reader gap) and resumes at the
 * oldest segment still present. The one exception is the fleet shipper, for which the
 * journal is the outbox: with a hold set, retention keeps every segment holding an event not
 * yet shipped, and a disk that fills anyway fails new events (-ENOSPC, counted and logged).
 */
#ifndef ET_JOURNAL_JOURNAL_H
#define ET_JOURNAL_JOURNAL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"
#include "track/event.h"

enum journal_sync {
	JOURNAL_SYNC_BATCH = 0, /* one fdatasync covers every event of a short window */
	JOURNAL_SYNC_ALWAYS,    /* one fdatasync per event */
	JOURNAL_SYNC_NONE,      /* written to the page cache once per batch window; the server
				   answers at once (a crash loses what was not written yet) */
};

/* What the tracking routes do while the journal answers -ENOSPC (read by the server). */
enum journal_on_full {
	JOURNAL_FULL_REJECT = 0,          /* 503 + Retry-After */
	JOURNAL_FULL_REDIRECT_UNRECORDED, /* clicks still redirect, counted as unrecorded */
};

#define JOURNAL_MAX_WORKERS 256

struct journal_settings {
	char dir[PATH_MAX];         /* data directory, created if missing */
	enum journal_sync sync;     /* "sync": "batch" | "always" | "none" */
	uint32_t batch_window_us;   /* longest wait from the first event of a batch; 2000 */
	uint32_t batch_max;         /* events per batch at most; 1024 */
	uint32_t queue_depth;       /* in-flight events per worker (power of two); 4096 */
	uint64_t segment_bytes;     /* rotate when a segment would grow past this; 64 MiB */
	uint64_t segment_age_s;     /* rotate a segment older than this (0 = never); 3600 */
	uint64_t retain_bytes;      /* delete oldest segments above this total (0 = no limit) */
	uint64_t retain_days;       /* delete segments last written longer ago (0 = keep) */
	enum journal_on_full on_full; /* "on_full": "reject" | "redirect-unrecorded" */
	uint64_t hold_from;         /* keep segments holding seq >= hold_from (0 = no hold); not
				       a config key: the fleet shipper sets it, also at run time
				       through journal_hold_from */
	int preallocate;            /* write records over space allocated and zero-filled ahead
				       (in growing steps), so a full disk fails before any
				       record byte lands and fdatasync changes no metadata; 1 */
};

/* Defaults: dir /var/lib/edgetrack/journal, batch, 2000 us, 1024, 4096, 64 MiB, 3600 s,
   retain 8 GiB and 30 days, reject, preallocate. */
void journal_settings_default(struct journal_settings *s);

/* Parses the "journal" object of the edgetrackd config on top of *out (call
   journal_settings_default first). Unknown keys and bad values are errors; on error *out is
   unchanged and err says which key. Returns 0 or -EINVAL. */
int journal_settings_parse(const json_t *obj, struct journal_settings *out, char *err,
			   size_t errlen);

const char *journal_sync_name(enum journal_sync s);

struct journal;

/* Opens (creating) the journal directory and recovers it: the last segment's tail is scanned,
   a torn last record truncated, damaged records in it reported (log line with segment and
   offset) and counted, and the sequence continues after the last good record. Takes an
   exclusive lock on the directory: a second writer fails. NULL and err on failure. */
struct journal *journal_open(const struct journal_settings *s, char *err, size_t errlen);

/* Before journal_start: registers a worker; returns its id (0, 1, ...) or -errno.
   notify_fd is an eventfd (or -1) the writer adds 1 to when completions are ready, for
   submissions with a cookie other than 0; those with cookie 0 wait in the completion ring
   for the worker's next journal_reap without waking it. */
int journal_add_worker(struct journal *j, int notify_fd);

/* Starts the writer thread. 0 or -errno. */
int journal_start(struct journal *j);

/* Worker w's thread: queues a copy of ev. The cookie comes back in the completion.
   Lock-free; -EAGAIN when the worker already has queue_depth events in flight,
   -EINVAL for a malformed event, -ESHUTDOWN after journal_stop. */
int journal_submit(struct journal *j, int w, const struct event *ev, uint64_t cookie);

/* Worker w's thread: like journal_submit, but does not wake the writer; journal_flush does,
   once for every event queued since the last flush. A worker that handles many requests
   per loop iteration queues their events and flushes before it waits again, so the writer
   (often on the same CPU) is woken once per iteration instead of once per event. */
int journal_queue(struct journal *j, int w, const struct event *ev, uint64_t cookie);
void journal_flush(struct journal *j, int w);

struct journal_done {
	uint64_t cookie;
	uint64_t seq;   /* sequence number of the record (0 when status != 0) */
	int status;     /* 0 durable (written for sync=none), -ENOSPC, -EIO */
};

/* Worker w's thread: collects up to max finished submissions in completion order. */
size_t journal_reap(struct journal *j, int w, struct journal_done *out, size_t max);

/* Stops accepting work, writes and syncs everything already submitted, joins the writer.
   Workers should stop submitting first. Completions stay available to journal_reap. */
void journal_stop(struct journal *j);

/* Stops if needed and frees everything. */
void journal_close(struct journal *j);

struct journal_stats {
	uint64_t appended;         /* events written (durable unless sync=none) */
	uint64_t batches;          /* write commits */
	uint64_t fsyncs;           /* fdatasync calls */
	uint64_t full_rejects;     /* journal_submit answered -EAGAIN */
	uint64_t enospc;           /* events completed with -ENOSPC */
	uint64_t io_errors;        /* events completed with -EIO */
	uint64_t corrupt_skipped;  /* damaged ranges found by recovery */
	uint64_t truncated_bytes;  /* torn tail bytes removed by recovery */
	uint64_t segments_created;
	uint64_t segments_deleted;
	uint64_t next_seq;         /* sequence number the next event will get */
	struct hist_sum commit;    /* how long commits took: rotation, write and sync */
};

void journal_stats_get(struct journal *j, struct journal_stats *out);

/* Any thread: journal_stats_get's next_seq alone, one atomic load (a follower asks per
   event; the whole stats would copy the commit histogram each time). */
uint64_t journal_next_seq(struct journal *j);

/* Any thread: true while the last commit failed (disk full, I/O error) and no later one has
   succeeded. The server holds answers for the outcome of their event while this is true, also
   under sync=none, so a client never gets a success for an event the disk refuses. */
bool journal_failing(struct journal *j);

/* Any thread: retention keeps from now on every segment that holds a seq >= seq (the first
   event not yet shipped); 0 lifts the hold. */
void journal_hold_from(struct journal *j, uint64_t seq);

/* Called on the writer's thread after each commit that moved journal_next_seq, so that a
   follower with nothing to read can sleep until there is: it must return at once (one
   atomic load when nobody sleeps). One at a time; NULL removes it, after which the writer
   no longer calls the old one once the call that set NULL returned. */
typedef void journal_commit_fn(void *arg);
void journal_on_commit(struct journal *j, journal_commit_fn *fn, void *arg);

/* Runs retention now (also run after every rotation and once a minute by the writer).
   Only before journal_start or after journal_stop. Returns segments deleted or -errno. */
int journal_retention_run(struct journal *j);

#endif
