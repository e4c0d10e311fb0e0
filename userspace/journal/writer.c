// SPDX-License-Identifier: MIT
/* Per-worker rings, the writer thread and group commit. */
#include "journal/journal_int.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define RETENTION_EVERY_NS (60ull * 1000000000ull)

/* ---------------------------------------------------------------- open / close */

struct journal *journal_open(const struct journal_settings *s, char *err, size_t errlen)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->set = *s;
	pthread_mutex_init(&j->commit_mu, NULL);
	atomic_store(&j->hold_from, s->hold_from);
	j->seg_fd = j->dirfd = j->wake_fd = -1;
	j->can_fallocate = 1;
	if (j->set.batch_max == 0 || j->set.queue_depth < 2 ||
	    (j->set.queue_depth & (j->set.queue_depth - 1))) {
		snprintf(err, errlen, "journal: batch_max must be > 0, queue_depth a power of two");
		free(j);
		return NULL;
	}
	j->batch_cap = (size_t)j->set.batch_max * REC_MAX_LEN;
	j->pend_cap = j->set.batch_max;
	j->batch = malloc(j->batch_cap);
	j->pend = calloc(j->pend_cap, sizeof(*j->pend));
	j->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!j->batch || !j->pend || j->wake_fd < 0) {
		snprintf(err, errlen, "journal: %s", strerror(errno ? errno : ENOMEM));
		journal_close(j);
		return NULL;
	}
	if (store_open(j, err, errlen) != 0) {
		journal_close(j);
		return NULL;
	}
	return j;
}

static void worker_free(struct jworker *w)
{
	if (!w)
		return;
	free(w->subs);
	free(w->dones);
	free(w);
}

int journal_add_worker(struct journal *j, int notify_fd)
{
	struct jworker *w;

	if (j->started)
		return -EBUSY;
	if (j->nworkers >= JOURNAL_MAX_WORKERS)
		return -ENOSPC;
	w = aligned_alloc(64, sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	w->mask = j->set.queue_depth - 1;
	w->notify_fd = notify_fd;
	w->subs = calloc(j->set.queue_depth, sizeof(*w->subs));
	w->dones = calloc(j->set.queue_depth, sizeof(*w->dones));
	if (!w->subs || !w->dones) {
		worker_free(w);
		return -ENOMEM;
	}
	j->workers[j->nworkers] = w;
	return j->nworkers++;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	journal_stop(j);
	for (int i = 0; i < j->nworkers; i++)
		worker_free(j->workers[i]);
	store_close(j);
	if (j->wake_fd >= 0)
		close(j->wake_fd);
	free(j->batch);
	free(j->pend);
	pthread_mutex_destroy(&j->commit_mu);
	free(j);
}

void journal_stats_get(struct journal *j, struct journal_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->appended = atomic_load(&j->c.appended);
	out->batches = atomic_load(&j->c.batches);
	out->fsyncs = atomic_load(&j->c.fsyncs);
	out->enospc = atomic_load(&j->c.enospc);
	out->io_errors = atomic_load(&j->c.io_errors);
	out->corrupt_skipped = atomic_load(&j->c.corrupt_skipped);
	out->truncated_bytes = atomic_load(&j->c.truncated_bytes);
	out->segments_created = atomic_load(&j->c.segments_created);
	out->segments_deleted = atomic_load(&j->c.segments_deleted);
	out->next_seq = atomic_load(&j->c.next_seq);
	hist_merge(&out->commit, &j->c.commit);
	for (int i = 0; i < j->nworkers; i++)
		out->full_rejects += atomic_load_explicit(&j->workers[i]->full_rejects,
							  memory_order_relaxed);
}

uint64_t journal_next_seq(struct journal *j)
{
	return atomic_load(&j->c.next_seq);
}

bool journal_failing(struct journal *j)
{
	return atomic_load_explicit(&j->failing, memory_order_relaxed);
}

void journal_hold_from(struct journal *j, uint64_t seq)
{
	atomic_store(&j->hold_from, seq);
}

void journal_on_commit(struct journal *j, journal_commit_fn *fn, void *arg)
{
	pthread_mutex_lock(&j->commit_mu);
	j->commit_fn = fn;
	j->commit_arg = arg;
	atomic_store(&j->commit_set, fn != NULL);
	pthread_mutex_unlock(&j->commit_mu);
}

/* The follower's call after a commit; the lock only while one is set, so that setting NULL
   waits out a call in progress. */
static void commit_notify(struct journal *j)
{
	if (!atomic_load(&j->commit_set))
		return;
	pthread_mutex_lock(&j->commit_mu);
	if (j->commit_fn)
		j->commit_fn(j->commit_arg);
	pthread_mutex_unlock(&j->commit_mu);
}

int journal_retention_run(struct journal *j)
{
	if (j->started && !atomic_load(&j->stopped))
		return -EBUSY;
	return store_retention(j);
}

/* ---------------------------------------------------------------- worker side */

int journal_queue(struct journal *j, int wid, const struct event *ev, uint64_t cookie)
{
	struct jworker *w;
	struct event *dst;
	uint64_t tail;

	if (wid < 0 || wid >= j->nworkers)
		return -EINVAL;
	w = j->workers[wid];
	if (atomic_load_explicit(&j->stopping, memory_order_relaxed))
		return -ESHUTDOWN;
	if (!rec_event_valid(ev))
		return -EINVAL;
	/* Completions never outnumber the in-flight limit, so the done ring cannot overflow. */
	if (w->submitted - w->reaped > w->mask) {
		atomic_fetch_add_explicit(&w->full_rejects, 1, memory_order_relaxed);
		return -EAGAIN;
	}
	tail = atomic_load_explicit(&w->sub_tail, memory_order_relaxed);
	/* Most of an event is its fixed-size host field: copy only the part in use. */
	dst = &w->subs[tail & w->mask].ev;
	memcpy(dst, ev, offsetof(struct event, host) + ev->host_len);
	dst->host[ev->host_len] = '\0';
	w->subs[tail & w->mask].cookie = cookie;
	atomic_store_explicit(&w->sub_tail, tail + 1, memory_order_seq_cst);
	w->submitted++;
	w->unflushed = 1;
	return 0;
}

void journal_flush(struct journal *j, int wid)
{
	struct jworker *w;

	if (wid < 0 || wid >= j->nworkers || !j->workers[wid]->unflushed)
		return;
	w = j->workers[wid];
	w->unflushed = 0;
	/* Pairs with the writer's store to idle followed by its ring check (Dekker style):
	   either the writer sees our events or we see it idle and wake it. */
	if (atomic_load_explicit(&j->idle, memory_order_seq_cst) &&
	    atomic_exchange(&j->idle, 0)) {
		uint64_t one = 1;

		/* EAGAIN: the counter is saturated, the writer is awake anyway. */
		if (write(j->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("journal_wake_failed", "worker=%d err=%s", wid, strerror(errno));
	}
}

int journal_submit(struct journal *j, int wid, const struct event *ev, uint64_t cookie)
{
	int rc = journal_queue(j, wid, ev, cookie);

	if (rc == 0)
		journal_flush(j, wid);
	return rc;
}

size_t journal_reap(struct journal *j, int wid, struct journal_done *out, size_t max)
{
	struct jworker *w;
	uint64_t head, tail;
	size_t n = 0;

	if (wid < 0 || wid >= j->nworkers)
		return 0;
	w = j->workers[wid];
	head = atomic_load_explicit(&w->done_head, memory_order_relaxed);
	tail = atomic_load_explicit(&w->done_tail, memory_order_acquire);

	while (head + n < tail && n < max) {
		out[n] = w->dones[(head + n) & w->mask];
		n++;
	}
	atomic_store_explicit(&w->done_head, head + n, memory_order_release);
	w->reaped += n;
	return n;
}

/* ---------------------------------------------------------------- writer: gathering */

static int rings_empty(struct journal *j)
{
	for (int i = 0; i < j->nworkers; i++) {
		struct jworker *w = j->workers[i];

		if (atomic_load_explicit(&w->sub_tail, memory_order_seq_cst) !=
		    atomic_load_explicit(&w->sub_head, memory_order_relaxed))
			return 0;
	}
	return 1;
}

/* Moves queued events into the batch (encoding them, assigning sequence numbers). */
static size_t gather(struct journal *j, uint64_t now)
{
	size_t got = 0;

	for (int k = 0; k < j->nworkers && j->npend < j->pend_cap; k++) {
		int wi = (j->rr + k) % j->nworkers;
		struct jworker *w = j->workers[wi];
		uint64_t head = atomic_load_explicit(&w->sub_head, memory_order_relaxed);
		uint64_t tail = atomic_load_explicit(&w->sub_tail, memory_order_acquire);

		for (; head < tail && j->npend < j->pend_cap; head++) {
			struct journal_sub *s = &w->subs[head & w->mask];
			struct pending *p = &j->pend[j->npend++];

			p->worker = wi;
			p->cookie = s->cookie;
			p->seq = j->next_seq++;
			p->off = (uint32_t)j->batch_len;
			p->len = (uint32_t)rec_encode(j->batch + j->batch_len, p->seq, now, &s->ev);
			j->batch_len += p->len;
			got++;
		}
		atomic_store_explicit(&w->sub_head, head, memory_order_release);
	}
	j->rr = j->nworkers ? (j->rr + 1) % j->nworkers : 0;
	return got;
}

/* Sleeps until a worker submits, or timeout_ns passes (-1: no limit). */
static void wait_for_work(struct journal *j, int64_t timeout_ns)
{
	struct pollfd pfd = { .fd = j->wake_fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	uint64_t v;

	atomic_store_explicit(&j->idle, 1, memory_order_seq_cst);
	if (!rings_empty(j) || atomic_load(&j->stopping)) {
		atomic_store(&j->idle, 0);
		return;
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	ppoll(&pfd, 1, tsp, NULL);
	if (read(j->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("journal_wake_read", "err=%s", strerror(errno));
	atomic_store(&j->idle, 0);
}

/* ---------------------------------------------------------------- writer: committing */

/* write(+fdatasync) of buf at off. Plain syscalls: this thread has nothing else to do while
   they run, and an io_uring write or sync would be handed to a kernel worker thread, one
   more wake-up on a CPU that a request worker may share. Returns bytes written (>= 0, maybe
   short) and sets *sync_rc; or -errno of the write. */
static ssize_t write_sync(struct journal *j, const uint8_t *buf, size_t len, uint64_t off,
			     int do_sync, int *sync_rc)
{
	ssize_t wres = pwrite(j->seg_fd, buf, len, (off_t)off);

	*sync_rc = 0;
	if (wres < 0)
		return -errno;
	if (do_sync && (size_t)wres == len && fdatasync(j->seg_fd) != 0)
		*sync_rc = -errno;
	return wres;
}

/* Writes batch bytes [from, from+len) at the end of the active segment and syncs them. */
static int append(struct journal *j, size_t from, size_t len, int do_sync)
{
	size_t done = 0;
	int rc = store_reserve(j, len), sync_rc = 0;

	while (rc == 0 && done < len) {
		ssize_t n = write_sync(j, j->batch + from + done, len - done,
					  j->seg_size + done, do_sync, &sync_rc);

		if (n < 0)
			rc = (int)n;
		else if (n == 0)
			rc = -ENOSPC;
		else
			done += (size_t)n;
	}
	if (rc == 0 && do_sync) {
		rc = sync_rc;
		atomic_fetch_add_explicit(&j->c.fsyncs, 1, memory_order_relaxed);
	}
	if (rc == 0)
		return 0;
	/* Never leave a partial record: cut back to the last good offset (the reserved space
	   after it goes too; the next batch reserves again). */
	if (ftruncate(j->seg_fd, (off_t)j->seg_size) != 0) {
		log_error("journal_truncate_failed", "segment=%020" PRIu64 " offset=%" PRIu64
			  " err=%s", j->seg_first, j->seg_size, strerror(errno));
		j->seg_broken = 1;
	} else {
		j->seg_alloc = j->seg_size;
	}
	/* After a failed sync the page cache may no longer match the disk. */
	if (do_sync && rc != -ENOSPC)
		j->seg_broken = 1;
	return rc;
}

static void push_done(struct journal *j, const struct pending *p, int status)
{
	struct jworker *w = j->workers[p->worker];
	uint64_t tail = atomic_load_explicit(&w->done_tail, memory_order_relaxed);
	struct journal_done *d = &w->dones[tail & w->mask];

	d->cookie = p->cookie;
	d->seq = status == 0 ? p->seq : 0;
	d->status = status;
	atomic_store_explicit(&w->done_tail, tail + 1, memory_order_release);
	/* Only a held response is worth a wake-up: an event nobody waits for (cookie 0, a
	   sync=none answer already sent) is reaped on the worker's next turn or tick. */
	if (p->cookie)
		w->notify_pending = 1;
}

static void notify_workers(struct journal *j)
{
	for (int i = 0; i < j->nworkers; i++) {
		struct jworker *w = j->workers[i];
		uint64_t one = 1;

		if (!w->notify_pending)
			continue;
		w->notify_pending = 0;
		if (w->notify_fd >= 0 && write(w->notify_fd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			log_warn("journal_notify_failed", "worker=%d err=%s", i, strerror(errno));
	}
}

static void log_failure(struct journal *j, int rc, size_t events)
{
	if (rc == -ENOSPC) {
		if (!j->space_failing)
			log_error("journal_full", "dir=%s segment=%020" PRIu64 " events=%zu",
				  j->set.dir, j->seg_first, events);
		j->space_failing = 1;
		atomic_fetch_add(&j->c.enospc, events);
		return;
	}
	log_error("journal_write_failed", "dir=%s segment=%020" PRIu64 " events=%zu err=%s",
		  j->set.dir, j->seg_first, events, strerror(-rc));
	atomic_fetch_add(&j->c.io_errors, events);
}

/* Commits pending records [a, b): rotation if due, write, sync, completions. Sequence
   numbers of a failed commit are handed out again, so the file stays gap-free. */
static void commit_range(struct journal *j, size_t a, size_t b, int do_sync)
{
	size_t from = j->pend[a].off, len = j->pend[b - 1].off + j->pend[b - 1].len - from;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), took;
	int rc = 0;

	if (store_needs_rotation(j, len))
		rc = store_rotate(j, j->pend[a].seq);
	if (rc == 0)
		rc = append(j, from, len, do_sync);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	hist_observe(&j->c.commit, took);
	log_debug("journal_commit", "events=%zu bytes=%zu sync=%d rc=%d us=%" PRIu64, b - a, len,
		  do_sync, rc, took / 1000);
	if (rc == 0) {
		j->seg_size += len;
		if (j->seg_alloc < j->seg_size)
			j->seg_alloc = j->seg_size; /* appended past the reserved space */
		j->seg_records += b - a;
		atomic_fetch_add_explicit(&j->c.appended, b - a, memory_order_relaxed);
		atomic_fetch_add_explicit(&j->c.batches, 1, memory_order_relaxed);
		if (j->space_failing)
			log_info("journal_space_ok", "dir=%s", j->set.dir);
		j->space_failing = 0;
		atomic_store_explicit(&j->failing, 0, memory_order_relaxed);
	} else {
		atomic_store_explicit(&j->failing, 1, memory_order_relaxed);
		log_failure(j, rc == -ENOSPC || rc == -EDQUOT ? -ENOSPC : rc, b - a);
		rc = rc == -ENOSPC || rc == -EDQUOT ? -ENOSPC : -EIO;
	}
	for (size_t i = a; i < b; i++)
		push_done(j, &j->pend[i], rc);
	notify_workers(j);
}

/* Renumbers the records left after a failed commit so the sequence stays gap-free. */
static void renumber(struct journal *j, size_t from, uint64_t seq)
{
	for (size_t i = from; i < j->npend; i++) {
		struct journal_record rec;
		size_t len;

		rec_decode(j->batch + j->pend[i].off, j->pend[i].len, &rec, &len);
		j->pend[i].seq = seq;
		rec_encode(j->batch + j->pend[i].off, seq++, rec.append_ns, &rec.ev);
	}
	j->next_seq = seq;
}

static void commit_batch(struct journal *j)
{
	int always = j->set.sync == JOURNAL_SYNC_ALWAYS;
	int do_sync = j->set.sync != JOURNAL_SYNC_NONE;
	size_t a = 0;

	while (a < j->npend) {
		size_t b = always ? a + 1 : j->npend;
		uint64_t before = atomic_load(&j->c.appended);

		commit_range(j, a, b, do_sync);
		if (atomic_load(&j->c.appended) == before)
			renumber(j, b, j->pend[a].seq);
		a = b;
	}
	atomic_store(&j->c.next_seq, j->next_seq);
	j->npend = 0;
	j->batch_len = 0;
	commit_notify(j);
}

/* ---------------------------------------------------------------- writer thread */

static int64_t until(uint64_t deadline)
{
	uint64_t now = journal_now_ns();

	return deadline > now ? (int64_t)(deadline - now) : 0;
}

/* Sleeps ns without asking workers to wake us: their events just wait in the rings. */
static void nap(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	nanosleep(&ts, NULL);
}

/* The writer was idle when the first event of this batch came: waits up to the window from
   that event for more to join. It naps in slices of a twentieth of the window (100 us by
   default; no wake-up per event) and stops early after a slice that brought nothing: the
   burst that woke it is over, and waiting longer would only add latency. */
static void fill_window(struct journal *j, uint64_t first_ns)
{
	uint64_t window = (uint64_t)j->set.batch_window_us * 1000ull;
	uint64_t deadline = first_ns + window, slice = window / 20;

	while (j->npend < j->pend_cap && !atomic_load(&j->stopping)) {
		int64_t left = until(deadline);

		if (left <= 0)
			break;
		nap(left < (int64_t)slice ? left : (int64_t)slice);
		if (gather(j, journal_now_ns()) == 0)
			break;
	}
}

/* Group commit: events that queued up while a commit was in flight have already waited a
   whole write + fdatasync, so they are committed together as soon as it completes; only an
   event that finds the writer idle opens a batch window. Under sync=none nobody waits for a
   commit, so a batch that is not full takes the whole window: one write (and one wake-up of
   this thread) per window unless more than batch_max events arrive in it. */
static void *writer_main(void *arg)
{
	struct journal *j = arg;
	int after_commit = 0;

	/* The window's naps are short: the default 50 us of timer slack would stretch them. */
	prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0);

	for (;;) {
		uint64_t now = journal_now_ns();

		if (gather(j, now) == 0) {
			after_commit = 0;
			if (atomic_load(&j->stopping) && rings_empty(j))
				break;
			if (now - j->last_retention_ns >= RETENTION_EVERY_NS)
				store_retention(j);
			wait_for_work(j, (int64_t)RETENTION_EVERY_NS);
			continue;
		}
		if (j->set.sync == JOURNAL_SYNC_NONE) {
			/* a full batch is written at once: the nap must not cap the event rate */
			if (j->npend < j->pend_cap && !atomic_load(&j->stopping)) {
				nap((int64_t)j->set.batch_window_us * 1000);
				gather(j, journal_now_ns());
			}
		} else if (j->set.sync == JOURNAL_SYNC_BATCH && !after_commit) {
			fill_window(j, now);
		}
		commit_batch(j);
		after_commit = 1;
	}
	atomic_store(&j->stopped, 1);
	return NULL;
}

int journal_start(struct journal *j)
{
	int rc;

	if (j->started)
		return -EALREADY;
	rc = pthread_create(&j->thread, NULL, writer_main, j);
	if (rc)
		return -rc;
	j->started = 1;
	log_info("journal_started", "dir=%s sync=%s window_us=%u batch_max=%u workers=%d",
		 j->set.dir, journal_sync_name(j->set.sync), j->set.batch_window_us,
		 j->set.batch_max, j->nworkers);
	return 0;
}

void journal_stop(struct journal *j)
{
	uint64_t one = 1;

	if (!j->started || atomic_load(&j->stopped) == 2)
		return;
	atomic_store(&j->stopping, 1);
	if (write(j->wake_fd, &one, sizeof(one)) < 0)
		log_warn("journal_wake_failed", "err=%s", strerror(errno));
	pthread_join(j->thread, NULL);
	atomic_store(&j->stopped, 2);
}
