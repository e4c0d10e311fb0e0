// SPDX-License-Identifier: MIT
/* Journal writer: several worker threads, group commit, sync modes, concurrent readers,
   a full disk (a real small tmpfs when we may mount one), and a throughput measurement. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <time.h>

#include "core/log.h"
#include "test_journal_util.h"

struct wctx {
	struct journal *j;
	int w;
	uint64_t n;            /* events to submit */
	uint64_t *seq_of;      /* per event: the sequence number it got */
	int failures;
	uint64_t eagain;
	double seconds;        /* bench: run for this long instead of n events */
	uint64_t done;
	uint64_t *sent_ns;     /* bench: submit time per cookie slot (LAT_SLOTS) */
	uint64_t *lat_ns;      /* bench: completion latencies */
	size_t nlat, lat_cap;
	int efd;               /* bench: sleep on the journal's eventfd instead of spinning */
};

#define LAT_SLOTS (1u << 16)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reap_some(struct wctx *c)
{
	struct journal_done d[64];
	size_t n = journal_reap(c->j, c->w, d, 64);

	for (size_t i = 0; i < n; i++) {
		if (d[i].status != 0) {
			c->failures++;
			continue;
		}
		if (c->seq_of)
			c->seq_of[d[i].cookie & 0xffffffffu] = d[i].seq;
		if (c->sent_ns && c->nlat < c->lat_cap)
			c->lat_ns[c->nlat++] = now_ns() - c->sent_ns[d[i].cookie % LAT_SLOTS];
		c->done++;
	}
}

/* A worker: submits as fast as it can, reaping when its queue is full. */
static void *worker_main(void *arg)
{
	struct wctx *c = arg;
	uint64_t deadline = c->seconds > 0 ? now_ns() + (uint64_t)(c->seconds * 1e9) : 0;
	struct event ev;
	uint64_t i = 0;

	for (; deadline ? now_ns() < deadline : i < c->n; i++) {
		uint64_t cookie = (uint64_t)c->w << 32 | i;

		tj_event(&ev, cookie);
		if (c->sent_ns)
			c->sent_ns[cookie % LAT_SLOTS] = now_ns();
		while (journal_submit(c->j, c->w, &ev, cookie) == -EAGAIN) {
			c->eagain++;
			if (c->efd > 0) {
				/* Like a server worker: sleep until the journal says completions wait. */
				struct pollfd pfd = { .fd = c->efd, .events = POLLIN };
				uint64_t v;

				if (poll(&pfd, 1, 10) == 1 && read(c->efd, &v, sizeof(v)) < 0)
					c->failures++;
			}
			reap_some(c);
		}
		reap_some(c);
	}
	c->n = i;
	while (c->done + (uint64_t)c->failures < c->n)
		reap_some(c);
	return NULL;
}

static void run_workers(struct journal *j, struct wctx *cs, int nw)
{
	pthread_t th[8];

	assert_int_equal(journal_start(j), 0);
	for (int i = 0; i < nw; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &cs[i]), 0);
	for (int i = 0; i < nw; i++)
		pthread_join(th[i], NULL);
}

static struct journal *open_journal(const struct journal_settings *s)
{
	char err[256];
	struct journal *j = journal_open(s, err, sizeof(err));

	if (!j)
		fail_msg("journal_open: %s", err);
	return j;
}

/* A started journal of one worker, notified on *efd, in the fresh directory dir. */
static struct journal *start_one(char *dir, size_t cap, enum journal_sync mode, int *efd)
{
	struct journal_settings s;
	struct journal *j;

	tj_mkdtemp(dir, cap);
	tj_settings(&s, dir, mode);
	*efd = eventfd(0, EFD_NONBLOCK);
	j = open_journal(&s);
	assert_int_equal(journal_add_worker(j, *efd), 0);
	assert_int_equal(journal_start(j), 0);
	return j;
}

/* Submits n (<= 8) events of worker 0 with cookie and reaps their n completions into d. */
static void submit_reap(struct journal *j, size_t n, uint64_t cookie, struct journal_done *d)
{
	struct event ev;
	size_t got = 0;

	tj_event(&ev, 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(journal_submit(j, 0, &ev, cookie), 0);
	for (int tries = 0; got < n && tries < 5000; tries++) {
		got += journal_reap(j, 0, d + got, n - got);
		if (got < n)
			usleep(1000);
	}
	assert_int_equal(got, n);
}

/* Four workers on their own threads: every event completes, sequence numbers are unique,
   gap-free and in file order, and each record holds the event whose completion named it. */
static void test_workers_gap_free(void **state)
{
	enum { NW = 4, N = 5000 };
	struct journal_settings s;
	struct wctx cs[NW];
	struct journal_reader *r;
	struct journal_record rec;
	char dir[64], err[256];
	uint8_t *seen;
	uint64_t count = 0;
	struct journal *j;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	s.segment_bytes = 64 * 1024;
	s.queue_depth = 256;
	j = open_journal(&s);
	for (int i = 0; i < NW; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].j = j;
		cs[i].n = N;
		cs[i].seq_of = calloc(N, sizeof(uint64_t));
		cs[i].w = journal_add_worker(j, -1);
		assert_int_equal(cs[i].w, i);
	}
	run_workers(j, cs, NW);
	journal_close(j);

	seen = calloc(NW * N + 1, 1);
	for (int i = 0; i < NW; i++) {
		assert_int_equal(cs[i].failures, 0);
		for (int k = 0; k < N; k++) {
			uint64_t q = cs[i].seq_of[k];

			assert_true(q >= 1 && q <= NW * N);
			assert_false(seen[q]);
			seen[q] = 1;
		}
	}
	r = journal_reader_open(dir, 0, err, sizeof(err));
	assert_non_null(r);
	while (journal_reader_next(r, &rec) == 1) {
		uint64_t cookie = rec.ev.message_id;

		count++;
		assert_int_equal(rec.seq, count);
		assert_int_equal(cs[cookie >> 32].seq_of[cookie & 0xffffffffu], rec.seq);
	}
	assert_int_equal(journal_reader_problems(r), 0);
	journal_reader_close(r);
	assert_int_equal(count, NW * N);
	for (int i = 0; i < NW; i++)
		free(cs[i].seq_of);
	free(seen);
	tj_rmrf(dir);
}

static void sync_mode(enum journal_sync mode, struct journal_stats *st)
{
	struct journal_settings s;
	struct wctx c = { 0 };
	struct journal *j;
	char dir[64];

	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, mode);
	s.batch_window_us = 2000;
	j = open_journal(&s);
	c.j = j;
	c.n = 300;
	c.w = journal_add_worker(j, -1);
	run_workers(j, &c, 1);
	journal_stats_get(j, st);
	journal_close(j);
	assert_int_equal(c.failures, 0);
	assert_int_equal(st->appended, 300);
	assert_int_equal(tj_read_all(dir, 0, NULL, NULL, NULL), 300);
	tj_rmrf(dir);
}

static void test_sync_modes(void **state)
{
	struct journal_stats st;

	(void)state;
	sync_mode(JOURNAL_SYNC_ALWAYS, &st);
	assert_int_equal(st.fsyncs, 300);
	assert_int_equal(st.batches, 300);
	sync_mode(JOURNAL_SYNC_BATCH, &st);
	assert_int_equal(st.fsyncs, st.batches);
	assert_true(st.batches < 300); /* one fsync covers many events */
	sync_mode(JOURNAL_SYNC_NONE, &st);
	assert_int_equal(st.fsyncs, 0);
	assert_true(st.batches >= 1);
}

/* Completions of cookie-0 submissions (nobody waits for them) wake no one; they are reaped
   all the same. */
static void test_cookie_zero_wakes_nobody(void **state)
{
	struct journal_stats st;
	struct journal_done d[8];
	struct journal *j;
	uint64_t v;
	char dir[64];
	int efd;

	(void)state;
	j = start_one(dir, sizeof(dir), JOURNAL_SYNC_NONE, &efd);
	submit_reap(j, 8, 0, d);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(d[i].status, 0);
	journal_stats_get(j, &st);
	assert_int_equal(st.appended, 8);
	assert_int_equal(read(efd, &v, sizeof(v)), -1);
	assert_int_equal(errno, EAGAIN);
	journal_close(j);
	close(efd);
	tj_rmrf(dir);
}

struct commits {
	_Atomic unsigned calls;
	struct journal *j;
	_Atomic uint64_t seen_next; /* journal_next_seq at the last call */
};

static void count_commit(void *arg)
{
	struct commits *c = arg;

	atomic_fetch_add(&c->calls, 1);
	atomic_store(&c->seen_next, journal_next_seq(c->j));
}

/* A follower's commit hook: called after commits, with the committed seq already moved;
   never again once removed. */
static void test_commit_hook(void **state)
{
	struct commits c = { 0 };
	struct journal_done d[8];
	struct journal *j;
	unsigned after;
	char dir[64];
	int efd;

	(void)state;
	c.j = j = start_one(dir, sizeof(dir), JOURNAL_SYNC_BATCH, &efd);
	journal_on_commit(j, count_commit, &c);
	submit_reap(j, 5, 1, d);
	/* the answers go out before the hook runs: wait for it (2 s at most) */
	for (int tries = 0; atomic_load(&c.seen_next) != 6 && tries < 2000; tries++)
		usleep(1000);
	assert_int_equal(atomic_load(&c.seen_next), 6); /* called with the seq already moved */
	assert_true(atomic_load(&c.calls) >= 1 && atomic_load(&c.calls) <= 5);
	journal_on_commit(j, NULL, NULL);
	after = atomic_load(&c.calls);
	submit_reap(j, 3, 1, d);
	assert_int_equal(journal_next_seq(j), 9);
	assert_int_equal(atomic_load(&c.calls), after);
	journal_close(j);
	close(efd);
	tj_rmrf(dir);
}

/* The worker's eventfd is signalled when its completions are ready. */
static void test_notify_fd_and_validation(void **state)
{
	struct journal_settings s;
	struct journal_done d;
	struct pollfd pfd;
	struct journal *j;
	struct event ev;
	uint64_t v;
	char dir[64];
	int efd;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	s.queue_depth = 4;
	efd = eventfd(0, EFD_NONBLOCK);
	j = open_journal(&s);
	assert_int_equal(journal_add_worker(j, efd), 0);
	tj_event(&ev, 1);
	ev.kind = 0;
	assert_int_equal(journal_submit(j, 0, &ev, 1), -EINVAL);
	tj_event(&ev, 1);
	/* Before the writer starts nothing completes: the fifth in-flight event is refused. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(journal_submit(j, 0, &ev, (uint64_t)i), 0);
	assert_int_equal(journal_submit(j, 0, &ev, 9), -EAGAIN);
	assert_int_equal(journal_start(j), 0);
	pfd.fd = efd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(efd, &v, sizeof(v)), 8);
	size_t got = 0;
	for (int tries = 0; got < 4 && tries < 1000; tries++) {
		got += journal_reap(j, 0, &d, 1);
		if (got < 4)
			usleep(1000);
	}
	assert_int_equal(got, 4);
	{
		struct journal_stats st;

		journal_stats_get(j, &st);
		assert_int_equal(st.full_rejects, 1);
		assert_int_equal(st.next_seq, 5);
	}
	journal_stop(j);
	assert_int_equal(journal_submit(j, 0, &ev, 10), -ESHUTDOWN);
	journal_close(j);
	close(efd);
	tj_rmrf(dir);
}

struct rctx {
	const char *dir;
	uint64_t want;
	uint64_t got;
	uint64_t problems;
	int bad_order;
};

/* A follower reading while the writer appends and rotates sees every record once, in
   order, and never a damaged one. */
static void *follower_main(void *arg)
{
	struct rctx *rc = arg;
	char err[256];
	struct journal_reader *r = journal_reader_open(rc->dir, 0, err, sizeof(err));
	struct journal_record rec;
	uint64_t deadline = now_ns() + 30ull * 1000000000ull;

	while (rc->got < rc->want && now_ns() < deadline) {
		int n = journal_reader_next(r, &rec);

		if (n == 1) {
			if (rec.seq != rc->got + 1)
				rc->bad_order++;
			rc->got++;
		} else {
			usleep(200);
		}
	}
	rc->problems = journal_reader_problems(r);
	journal_reader_close(r);
	return NULL;
}

static void test_concurrent_reader(void **state)
{
	enum { N = 20000 };
	struct journal_settings s;
	struct wctx cs[2];
	struct rctx rc = { 0 };
	pthread_t rt;
	struct journal *j;
	char dir[64];

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	s.segment_bytes = 32 * 1024;
	s.batch_max = 16;
	j = open_journal(&s);
	rc.dir = dir;
	rc.want = N;
	assert_int_equal(pthread_create(&rt, NULL, follower_main, &rc), 0);
	for (int i = 0; i < 2; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].j = j;
		cs[i].n = N / 2;
		cs[i].w = journal_add_worker(j, -1);
	}
	run_workers(j, cs, 2);
	journal_close(j);
	pthread_join(rt, NULL);
	assert_int_equal(rc.got, N);
	assert_int_equal(rc.bad_order, 0);
	assert_int_equal(rc.problems, 0);
	tj_rmrf(dir);
}

/* ---------------------------------------------------------------- disk full */

static int fill_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int total = 0;

	memset(buf, 'x', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		total += (int)sizeof(buf);
	close(fd);
	return total;
}

/* On a real full filesystem: events fail with -ENOSPC, no partial record is left, a log
   line and a counter say so, and writing resumes by itself once space returns. */
static void disk_full(int preallocate)
{
	struct journal_settings s;
	struct journal_stats st;
	struct journal_done d;
	struct journal *j;
	struct event ev;
	char dir[64], jdir[PATH_MAX], filler[PATH_MAX];
	uint64_t ok = 0, first, last, problems, id = 0;
	int full = 0;

	tj_mkdtemp(dir, sizeof(dir));
	if (mount("etjournal", dir, "tmpfs", 0, "size=256k") != 0) {
		tj_rmrf(dir);
		skip();
	}
	snprintf(jdir, sizeof(jdir), "%s/journal", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	tj_settings(&s, jdir, JOURNAL_SYNC_BATCH);
	s.segment_bytes = 1 << 20;
	s.preallocate = preallocate;
	j = open_journal(&s);
	assert_int_equal(journal_add_worker(j, -1), 0);
	assert_int_equal(journal_start(j), 0);
	for (int i = 0; i < 10; i++, ok++) {
		tj_event(&ev, ++id);
		assert_int_equal(tj_submit_wait(j, 0, &ev, id, &d), 0);
	}
	/* Take (almost) all the rest of the space, then write until the journal is full. */
	assert_true(fill_file(filler) > 0);
	for (int i = 0; i < 5000 && full < 20; i++) {
		tj_event(&ev, ++id);
		int rc = tj_submit_wait(j, 0, &ev, id, &d);

		if (rc == 0) {
			assert_int_equal(d.seq, ok + 1);
			ok++;
		} else {
			assert_int_equal(rc, -ENOSPC);
			full++;
		}
	}
	assert_int_equal(full, 20);
	journal_stats_get(j, &st);
	assert_true(st.enospc >= 20);
	/* What is on disk is exactly the acknowledged events, no partial record. */
	assert_int_equal(tj_read_all(jdir, 0, &first, &last, &problems), ok);
	assert_int_equal(problems, 0);
	/* Space returns: service resumes with no restart, the sequence stays gap-free. */
	assert_int_equal(unlink(filler), 0);
	for (int i = 0; i < 10; i++) {
		tj_event(&ev, ++id);
		assert_int_equal(tj_submit_wait(j, 0, &ev, id, &d), 0);
		assert_int_equal(d.seq, ++ok);
	}
	journal_close(j);
	assert_int_equal(tj_read_all(jdir, 0, &first, &last, &problems), ok);
	assert_int_equal(last, ok);
	assert_int_equal(problems, 0);
	assert_int_equal(umount(dir), 0);
	tj_rmrf(dir);
}

/* With preallocation a full disk fails before any byte is written... */
static void test_disk_full(void **state) { (void)state; disk_full(1); }
/* ...without it the write comes up short and the partial bytes are cut off again. */
static void test_disk_full_short_write(void **state) { (void)state; disk_full(0); }

/* ---------------------------------------------------------------- throughput */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct bench_result { double eps; uint64_t fsyncs, p50_us, p99_us; };

static void bench_mode(enum journal_sync mode, double seconds, struct bench_result *res)
{
	enum { NW = 2 };
	struct journal_settings s;
	struct journal_stats st;
	struct wctx cs[NW];
	struct journal *j;
	uint64_t total = 0, t0;
	char dir[64];

	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, mode);
	s.batch_window_us = 2000;
	/* In-flight events per worker, like concurrent connections waiting on their event;
	   small for sync=always so the drain after the deadline stays short. */
	s.queue_depth = mode == JOURNAL_SYNC_ALWAYS ? 16 : 1024;
	j = open_journal(&s);
	for (int i = 0; i < NW; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].j = j;
		cs[i].seconds = seconds;
		cs[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		cs[i].w = journal_add_worker(j, cs[i].efd);
		cs[i].sent_ns = calloc(LAT_SLOTS, sizeof(uint64_t));
		cs[i].lat_cap = 4u << 20;
		cs[i].lat_ns = malloc(cs[i].lat_cap * sizeof(uint64_t));
	}
	t0 = now_ns();
	run_workers(j, cs, NW);
	double el = (double)(now_ns() - t0) / 1e9;
	journal_stats_get(j, &st);
	journal_close(j);
	size_t nlat = 0;
	uint64_t *all = malloc(NW * cs[0].lat_cap * sizeof(uint64_t));

	for (int i = 0; i < NW; i++) {
		assert_int_equal(cs[i].failures, 0);
		total += cs[i].done;
		memcpy(all + nlat, cs[i].lat_ns, cs[i].nlat * sizeof(uint64_t));
		nlat += cs[i].nlat;
		free(cs[i].lat_ns);
		free(cs[i].sent_ns);
		close(cs[i].efd);
	}
	qsort(all, nlat, sizeof(*all), cmp_u64);
	res->p50_us = nlat ? all[nlat / 2] / 1000 : 0;
	res->p99_us = nlat ? all[nlat * 99 / 100] / 1000 : 0;
	free(all);
	res->fsyncs = st.fsyncs;
	res->eps = (double)total / el;
	tj_rmrf(dir);
}

static void test_throughput(void **state)
{
	const char *env = getenv("ET_JOURNAL_BENCH_SECONDS");
	double secs = env ? atof(env) : 1.0;
	const enum journal_sync modes[] = { JOURNAL_SYNC_BATCH, JOURNAL_SYNC_NONE,
					    JOURNAL_SYNC_ALWAYS };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct bench_result r;

		bench_mode(modes[i], secs, &r);
		printf("BENCH journal sync=%s workers=2 events_per_s=%.0f fsyncs=%llu "
		       "latency_p50_us=%llu latency_p99_us=%llu\n", journal_sync_name(modes[i]),
		       r.eps, (unsigned long long)r.fsyncs, (unsigned long long)r.p50_us,
		       (unsigned long long)r.p99_us);
		assert_true(r.eps > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_gap_free),
		cmocka_unit_test(test_sync_modes),
		cmocka_unit_test(test_notify_fd_and_validation),
		cmocka_unit_test(test_cookie_zero_wakes_nobody),
		cmocka_unit_test(test_commit_hook),
		cmocka_unit_test(test_concurrent_reader),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_disk_full_short_write),
		cmocka_unit_test(test_throughput),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
