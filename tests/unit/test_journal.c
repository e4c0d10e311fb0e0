// SPDX-License-Identifier: MIT
/* Journal framing, CRC32C, recovery, rotation, retention, readers and cursors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "journal/crc32c.h"
#include "journal/cursor.h"
#include "journal/record_json.h"
#include "journal/segment.h"
#include "test_journal_util.h"

/* ---------------------------------------------------------------- CRC + framing */

static void test_crc32c_vectors(void **state)
{
	uint8_t zeros[32] = { 0 }, ones[32], inc[32];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* RFC 3720 B.4 and the common check value. */
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, zeros, 32), 0x8A9136AAu);
	assert_int_equal(crc32c(0, ones, 32), 0x62A8AB43u);
	assert_int_equal(crc32c(0, inc, 32), 0x46DD794Eu);
	assert_int_equal(crc32c_portable(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* Incremental equals one shot, hardware path equals table path, at every split. */
	for (size_t k = 0; k <= 9; k++)
		assert_int_equal(crc32c(crc32c(0, "123456789", k), &"123456789"[k], 9 - k),
				 0xE3069283u);
	for (size_t len = 0; len < 32; len++)
		assert_int_equal(crc32c(0, inc, len), crc32c_portable(0, inc, len));
}

static void test_record_roundtrip(void **state)
{
	uint8_t buf[REC_MAX_LEN + 8];
	struct journal_record rec;
	struct event ev;
	size_t len, got;

	(void)state;
	tj_event(&ev, 42);
	ev.addr_family = 6;
	ev.addr_prefix = 48;
	len = rec_encode(buf, 9, 123, &ev);
	assert_int_equal(len, REC_HDR_LEN + ev.host_len);
	assert_int_equal(rec_decode(buf, len, &rec, &got), REC_OK);
	assert_int_equal(got, len);
	assert_int_equal(rec.seq, 9);
	assert_int_equal(rec.append_ns, 123);
	assert_int_equal(rec.ev.message_id, 42);
	assert_int_equal(rec.ev.recipient_id, ev.recipient_id);
	assert_int_equal(rec.ev.time_ns, ev.time_ns);
	assert_int_equal(rec.ev.link_index, ev.link_index);
	assert_int_equal(rec.ev.kind, ev.kind);
	assert_int_equal(rec.ev.flags, ev.flags);
	assert_int_equal(rec.ev.addr_prefix, 48);
	assert_memory_equal(rec.ev.addr, ev.addr, 16);
	assert_memory_equal(rec.ev.ua_digest, ev.ua_digest, 8);
	assert_string_equal(rec.ev.host, ev.host);

	/* Every prefix is "short", never a record and never "corrupt". */
	for (size_t k = 0; k < len; k++)
		assert_int_equal(rec_decode(buf, k, &rec, &got), REC_SHORT);
	/* Every single flipped bit is caught. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(rec_decode(buf, len, &rec, &got), REC_OK);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(rec_decode(buf, len, &rec, &got), REC_OK);
}

static void test_record_rejects_bad_events(void **state)
{
	struct event ev;

	(void)state;
	tj_event(&ev, 1);
	assert_true(rec_event_valid(&ev));
	ev.kind = 9;
	assert_false(rec_event_valid(&ev));
	tj_event(&ev, 1);
	ev.addr_family = 5;
	assert_false(rec_event_valid(&ev));
	tj_event(&ev, 1);
	ev.addr_prefix = 33;
	assert_false(rec_event_valid(&ev));
	tj_event(&ev, 1);
	ev.host_len = 254;
	assert_false(rec_event_valid(&ev));
}

static void test_segment_names(void **state)
{
	char name[SEG_NAME_LEN + 1];
	uint64_t v;

	(void)state;
	seg_name(name, sizeof(name), 1234);
	assert_string_equal(name, "00000000000000001234.seg");
	assert_int_equal(seg_name_parse(name, &v), 0);
	assert_int_equal(v, 1234);
	assert_int_not_equal(seg_name_parse("0000000000000000123.seg", &v), 0);
	assert_int_not_equal(seg_name_parse("0000000000000000123x.seg", &v), 0);
	assert_int_not_equal(seg_name_parse("00000000000000001234.seg.tmp", &v), 0);
	assert_int_not_equal(seg_name_parse("99999999999999999999.seg", &v), 0);
}

/* ---------------------------------------------------------------- settings */

static void test_settings_parse(void **state)
{
	struct journal_settings s, before;
	json_error_t jerr;
	char err[256];
	json_t *o;

	(void)state;
	journal_settings_default(&s);
	assert_int_equal(s.sync, JOURNAL_SYNC_BATCH);
	assert_int_equal(s.batch_window_us, 2000);
	o = json_loads("{\"dir\":\"/data/j\",\"sync\":\"always\",\"batch_window_us\":500,"
		       "\"batch_max\":64,\"segment_bytes\":1048576,\"segment_age_s\":60,"
		       "\"retain_bytes\":10485760,\"retain_days\":7,\"queue_depth\":1024,"
		       "\"on_full\":\"redirect-unrecorded\",\"preallocate\":false}", 0, &jerr);
	assert_non_null(o);
	assert_int_equal(journal_settings_parse(o, &s, err, sizeof(err)), 0);
	json_decref(o);
	assert_string_equal(s.dir, "/data/j");
	assert_int_equal(s.sync, JOURNAL_SYNC_ALWAYS);
	assert_int_equal(s.batch_window_us, 500);
	assert_int_equal(s.batch_max, 64);
	assert_int_equal(s.segment_bytes, 1048576);
	assert_int_equal(s.segment_age_s, 60);
	assert_int_equal(s.retain_bytes, 10485760);
	assert_int_equal(s.retain_days, 7);
	assert_int_equal(s.queue_depth, 1024);
	assert_int_equal(s.on_full, JOURNAL_FULL_REDIRECT_UNRECORDED);
	assert_int_equal(s.preallocate, 0);

	const char *bad[] = {
		"{\"sync\":\"sometimes\"}", "{\"batch_max\":0}", "{\"queue_depth\":1000}",
		"{\"segment_bytes\":\"big\"}", "{\"dir\":\"\"}", "{\"colour\":1}",
		"{\"batch_window_us\":-1}", "{\"on_full\":\"drop\"}", "[]", "{\"preallocate\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		o = json_loads(bad[i], 0, &jerr);
		assert_non_null(o);
		before = s;
		err[0] = '\0';
		assert_int_equal(journal_settings_parse(o, &s, err, sizeof(err)), -EINVAL);
		assert_memory_equal(&before, &s, sizeof(s));
		assert_true(strncmp(err, "journal", 7) == 0);
		json_decref(o);
	}
}

/* ---------------------------------------------------------------- helpers */

static void seg_path(char *out, size_t len, const char *dir, uint64_t first)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, sizeof(name), first);
	snprintf(out, len, "%s/%s", dir, name);
}

static size_t list_segments(const char *dir, uint64_t *firsts, size_t max)
{
	struct seg_list l;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	size_t n;

	assert_true(fd >= 0);
	assert_int_equal(seg_list_load(fd, &l), 0);
	close(fd);
	n = l.n < max ? l.n : max;
	memcpy(firsts, l.first, n * sizeof(*firsts));
	n = l.n;
	seg_list_free(&l);
	return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static struct journal *open_journal(const struct journal_settings *s)
{
	char err[256];
	struct journal *j = journal_open(s, err, sizeof(err));

	if (!j)
		fail_msg("journal_open: %s", err);
	return j;
}

/* Captures stderr (log lines) into a file while a block runs. */
struct capture { int saved; char path[64]; };

static void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/etjournal-log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(struct capture *c)
{
	size_t len;
	char *text;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	text = (char *)slurp(c->path, &len);
	text[len] = '\0';
	unlink(c->path);
	return text;
}

/* ---------------------------------------------------------------- recovery */

static void test_fresh_and_reopen(void **state)
{
	struct journal_settings s;
	struct journal_stats st;
	uint64_t first, last, problems;
	struct journal *j;
	char dir[64];

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	tj_write(&s, 1, 11);
	j = open_journal(&s);
	journal_stats_get(j, &st);
	assert_int_equal(st.next_seq, 11);
	assert_int_equal(st.truncated_bytes, 0);
	assert_int_equal(st.corrupt_skipped, 0);
	/* One writer per directory. */
	{
		char err[256];

		assert_null(journal_open(&s, err, sizeof(err)));
		assert_non_null(strstr(err, "in use"));
	}
	journal_close(j);
	tj_write(&s, 11, 21);
	assert_int_equal(tj_read_all(dir, 0, &first, &last, &problems), 20);
	assert_int_equal(first, 1);
	assert_int_equal(last, 20);
	assert_int_equal(problems, 0);
	tj_rmrf(dir);
}

/* Truncates the last record at every byte offset: recovery cuts it, keeps the rest and
   continues the sequence; the next event lands right after. */
static void test_torn_tail_every_offset(void **state)
{
	struct journal_settings s;
	uint64_t firsts[4], last_off;
	char dir[64], path[PATH_MAX];
	uint8_t *orig;
	size_t len;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	tj_write(&s, 1, 6);
	assert_int_equal(list_segments(dir, firsts, 4), 1);
	seg_path(path, sizeof(path), dir, firsts[0]);
	orig = slurp(path, &len);
	{
		struct event ev;

		tj_event(&ev, 5);
		last_off = len - (REC_HDR_LEN + ev.host_len);
	}
	for (size_t cut = last_off; cut <= len; cut++) {
		struct journal_stats st;
		struct journal_done d;
		struct journal *j;
		struct event ev;
		uint64_t first, last, problems, expect_next = cut == len ? 6 : 5;

		spit(path, orig, cut);
		j = open_journal(&s);
		journal_stats_get(j, &st);
		assert_int_equal(st.next_seq, expect_next);
		assert_int_equal(st.truncated_bytes, cut == len ? 0 : cut - last_off);
		assert_int_equal(journal_add_worker(j, -1), 0);
		assert_int_equal(journal_start(j), 0);
		tj_event(&ev, 100);
		assert_int_equal(tj_submit_wait(j, 0, &ev, 100, &d), 0);
		assert_int_equal(d.seq, expect_next);
		journal_close(j);
		assert_int_equal(tj_read_all(dir, 0, &first, &last, &problems), expect_next);
		assert_int_equal(first, 1);
		assert_int_equal(last, expect_next);
		assert_int_equal(problems, 0);
	}
	free(orig);
	tj_rmrf(dir);
}

/* Garbage (zeros, as a power cut can leave) after the last record is cut too. */
static void test_zero_filled_tail(void **state)
{
	struct journal_settings s;
	struct journal_stats st;
	uint64_t firsts[2], last;
	char dir[64], path[PATH_MAX];
	uint8_t zeros[300] = { 0 };
	struct journal *j;
	int fd;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	tj_write(&s, 1, 4);
	list_segments(dir, firsts, 2);
	seg_path(path, sizeof(path), dir, firsts[0]);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
	close(fd);
	j = open_journal(&s);
	journal_stats_get(j, &st);
	assert_int_equal(st.next_seq, 4);
	assert_int_equal(st.truncated_bytes, sizeof(zeros));
	journal_close(j);
	assert_int_equal(tj_read_all(dir, 0, NULL, &last, NULL), 3);
	tj_rmrf(dir);
}

/* Appends records from..to at *off of fd (inside the zeroed space ahead, as the writer
   does); the new end in *off. */
static void follow_append(int fd, uint64_t *off, uint64_t from, uint64_t to)
{
	uint8_t buf[REC_MAX_LEN];
	struct event ev;

	for (uint64_t seq = from; seq <= to; seq++) {
		size_t len;

		tj_event(&ev, seq);
		len = rec_encode(buf, seq, seq, &ev);
		assert_int_equal(pwrite(fd, buf, len, (off_t)*off), (ssize_t)len);
		*off += len;
	}
}

/* Every record up to the end of the written bytes: the next seq expected after them. */
static uint64_t follow_drain(struct seg_scan *sc, uint64_t next)
{
	struct journal_record rec;
	enum scan_result r;

	while ((r = seg_scan_next(sc, &rec)) == SCAN_RECORD)
		assert_int_equal(rec.seq, next++);
	assert_int_equal(r, SCAN_END);
	assert_true(sc->want <= sc->buf_cap);
	return next;
}

/* A reader that follows the writer reads about what came since its last look, and grows
   its reads when a burst fills them: every size it reads fits its buffer, and it sees
   every record once, in order, whatever the bursts. */
static void test_follower_reads(void **state)
{
	static const uint64_t bursts[] = { 20, 200, 12000, 1, 150, 30000, 7, 0, 5000 };
	uint8_t hdr[SEG_HDR_LEN];
	uint64_t off = SEG_HDR_LEN, seq = 1, next = 1;
	char dir[64], path[PATH_MAX];
	struct seg_scan sc;
	int dirfd, fd;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	seg_path(path, sizeof(path), dir, 1);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	seg_hdr_encode(hdr, 1, 1);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	assert_int_equal(ftruncate(fd, 8 << 20), 0); /* the zeroed reserve */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(seg_scan_open(&sc, dirfd, 1), 0);
	next = follow_drain(&sc, next);
	for (size_t i = 0; i < sizeof(bursts) / sizeof(bursts[0]); i++) {
		follow_append(fd, &off, seq, seq + bursts[i] - 1);
		seq += bursts[i];
		next = follow_drain(&sc, next);
		assert_int_equal(next, seq);
		/* a look with nothing new */
		next = follow_drain(&sc, next);
	}
	assert_true(off > 2 * (256 << 10)); /* the bursts went past a whole buffer */
	seg_scan_close(&sc);
	close(dirfd);
	close(fd);
	tj_rmrf(dir);
}

struct problems { int n; struct journal_problem p[8]; };

static void collect(void *arg, const struct journal_problem *p)
{
	struct problems *ps = arg;

	if (ps->n < 8)
		ps->p[ps->n] = *p;
	ps->n++;
}

/* A damaged record in the middle is reported (log line with segment and offset), counted,
   skipped by readers, and never truncates the good records after it. */
static void check_middle_corruption(size_t flip_at)
{
	struct journal_settings s;
	struct journal_stats st;
	struct journal_record rec;
	struct journal_reader *r;
	struct problems ps = { 0 };
	struct capture cap;
	uint64_t firsts[2], rec_off = SEG_HDR_LEN, ids[16];
	char dir[64], path[PATH_MAX], err[256], *log, want[128];
	struct journal *j;
	struct event ev;
	uint8_t *buf;
	size_t len, n = 0;

	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	tj_write(&s, 1, 11);
	list_segments(dir, firsts, 2);
	seg_path(path, sizeof(path), dir, firsts[0]);
	buf = slurp(path, &len);
	for (uint64_t i = 1; i < 5; i++) {
		tj_event(&ev, i);
		rec_off += REC_HDR_LEN + ev.host_len;
	}
	buf[rec_off + flip_at] ^= 0x40; /* inside record 5 */
	spit(path, buf, len);
	free(buf);

	capture_start(&cap);
	j = open_journal(&s);
	log = capture_end(&cap);
	journal_stats_get(j, &st);
	assert_int_equal(st.corrupt_skipped, 1);
	assert_int_equal(st.truncated_bytes, 0);
	assert_int_equal(st.next_seq, 11);
	journal_close(j);
	snprintf(want, sizeof(want), "segment=00000000000000000001.seg offset=%llu",
		 (unsigned long long)rec_off);
	assert_non_null(strstr(log, "journal_corrupt_record"));
	assert_non_null(strstr(log, want));
	free(log);

	r = journal_reader_open(dir, 0, err, sizeof(err));
	assert_non_null(r);
	journal_reader_on_problem(r, collect, &ps);
	while (tj_next(r, &rec) == 1) /* the bytes of those after the damage too */
		ids[n++] = rec.seq;
	journal_reader_close(r);
	assert_int_equal(n, 9);
	assert_int_equal(ids[3], 4);
	assert_int_equal(ids[4], 6);
	assert_int_equal(ps.n, 2);
	assert_int_equal(ps.p[0].kind, JOURNAL_PROBLEM_CORRUPT);
	assert_int_equal(ps.p[0].segment, 1);
	assert_int_equal(ps.p[0].offset, rec_off);
	assert_int_equal(ps.p[1].kind, JOURNAL_PROBLEM_GAP);
	assert_int_equal(ps.p[1].expected, 5);
	assert_int_equal(ps.p[1].got, 6);
	tj_rmrf(dir);
}

static void test_corrupt_middle_payload(void **state) { (void)state; check_middle_corruption(70); }
static void test_corrupt_middle_length(void **state) { (void)state; check_middle_corruption(5); }
static void test_corrupt_middle_magic(void **state) { (void)state; check_middle_corruption(1); }

/* ---------------------------------------------------------------- rotation, retention */

static void test_rotation_by_size(void **state)
{
	struct journal_settings s;
	uint64_t firsts[64], first, last, problems;
	char dir[64], path[PATH_MAX];
	size_t n;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	s.segment_bytes = 4096;
	tj_write(&s, 1, 301);
	n = list_segments(dir, firsts, 64);
	assert_true(n >= 6 && n <= 64);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		uint64_t f = 0;

		seg_path(path, sizeof(path), dir, firsts[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true((uint64_t)st.st_size <= s.segment_bytes);
		/* A segment is named by the sequence number of its first record. */
		if (i + 1 < n) {
			assert_int_equal(tj_read_all(dir, firsts[i], &f, NULL, NULL),
					 300 - firsts[i] + 1);
			assert_int_equal(f, firsts[i]);
		}
	}
	assert_int_equal(tj_read_all(dir, 0, &first, &last, &problems), 300);
	assert_int_equal(first, 1);
	assert_int_equal(last, 300);
	assert_int_equal(problems, 0);
	/* Reading from the middle starts exactly there. */
	assert_int_equal(tj_read_all(dir, 123, &first, &last, NULL), 178);
	assert_int_equal(first, 123);
	tj_rmrf(dir);
}

static void test_rotation_by_age(void **state)
{
	struct journal_settings s;
	struct journal_done d;
	struct journal *j;
	struct event ev;
	uint64_t firsts[8];
	char dir[64];

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	s.segment_age_s = 1;
	j = open_journal(&s);
	assert_int_equal(journal_add_worker(j, -1), 0);
	assert_int_equal(journal_start(j), 0);
	tj_event(&ev, 1);
	assert_int_equal(tj_submit_wait(j, 0, &ev, 1, &d), 0);
	assert_int_equal(tj_submit_wait(j, 0, &ev, 2, &d), 0);
	assert_int_equal(list_segments(dir, firsts, 8), 1);
	usleep(1100 * 1000);
	assert_int_equal(tj_submit_wait(j, 0, &ev, 3, &d), 0);
	journal_close(j);
	assert_int_equal(list_segments(dir, firsts, 8), 2);
	assert_int_equal(firsts[0], 1);
	assert_int_equal(firsts[1], 3);
	assert_int_equal(tj_read_all(dir, 0, NULL, NULL, NULL), 3);
	tj_rmrf(dir);
}

static uint64_t dir_bytes(const char *dir)
{
	uint64_t firsts[256], total = 0;
	size_t n = list_segments(dir, firsts, 256);
	char path[PATH_MAX];

	for (size_t i = 0; i < n && i < 256; i++) {
		struct stat st;

		seg_path(path, sizeof(path), dir, firsts[i]);
		assert_int_equal(stat(path, &st), 0);
		total += (uint64_t)st.st_size;
	}
	return total;
}

static void test_retention_by_bytes(void **state)
{
	struct journal_settings s;
	uint64_t firsts[64], first, last, problems;
	char dir[64];
	size_t n;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	s.segment_bytes = 4096;
	s.retain_bytes = 12000;
	tj_write(&s, 1, 501);
	n = list_segments(dir, firsts, 64);
	assert_true(n >= 3 && n <= 4);
	assert_true(dir_bytes(dir) <= s.retain_bytes);
	/* What is left is the newest part, contiguous up to the last event. */
	assert_true(tj_read_all(dir, 0, &first, &last, &problems) == 500 - firsts[0] + 1);
	assert_int_equal(first, firsts[0]);
	assert_int_equal(last, 500);
	assert_int_equal(problems, 0);
	/* A reader asking for deleted records is told about the gap. */
	assert_true(tj_read_all(dir, 2, &first, NULL, &problems) > 0);
	assert_int_equal(first, firsts[0]);
	assert_int_equal(problems, 1);
	tj_rmrf(dir);
}

static void age_file(const char *path, int days)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= (time_t)days * 86400;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_retention_by_days(void **state)
{
	struct journal_settings s;
	struct journal_stats st;
	uint64_t firsts[64], after[64];
	char dir[64], path[PATH_MAX];
	struct journal *j;
	size_t n, m;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	s.segment_bytes = 4096;
	tj_write(&s, 1, 201);
	n = list_segments(dir, firsts, 64);
	assert_true(n >= 4);
	/* The two oldest are 40 days old, the third 20, and the active one 40 as well. */
	for (size_t i = 0; i < 2; i++) {
		seg_path(path, sizeof(path), dir, firsts[i]);
		age_file(path, 40);
	}
	seg_path(path, sizeof(path), dir, firsts[2]);
	age_file(path, 20);
	seg_path(path, sizeof(path), dir, firsts[n - 1]);
	age_file(path, 40);
	s.retain_days = 30;
	j = open_journal(&s);
	journal_stats_get(j, &st);
	journal_close(j);
	assert_int_equal(st.segments_deleted, 2);
	m = list_segments(dir, after, 64);
	assert_int_equal(m, n - 2);
	assert_int_equal(after[0], firsts[2]);
	assert_int_equal(after[m - 1], firsts[n - 1]);
	tj_rmrf(dir);
}

/* ---------------------------------------------------------------- cursor */

static void test_cursor_file(void **state)
{
	char dir[64], path[PATH_MAX], tmp[PATH_MAX + 8], err[256];
	uint64_t v = 99;
	int fd;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/exporter.cursor", dir);
	assert_int_equal(journal_cursor_load(path, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(journal_cursor_store(path, 12345, err, sizeof(err)), 0);
	assert_int_equal(journal_cursor_load(path, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 12345);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(journal_cursor_store(path, UINT64_MAX, err, sizeof(err)), 0);
	assert_int_equal(journal_cursor_load(path, &v, err, sizeof(err)), 0);
	assert_true(v == UINT64_MAX);
	/* A damaged cursor is an error, and the position is not changed. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "last_seq=7\n", 11), 11);
	close(fd);
	v = 5;
	assert_int_equal(journal_cursor_load(path, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(v, 5);
	assert_non_null(strstr(err, "cursor"));
	/* A cursor in a missing directory fails cleanly. */
	snprintf(path, sizeof(path), "%s/none/c", dir);
	assert_true(journal_cursor_store(path, 1, err, sizeof(err)) < 0);
	tj_rmrf(dir);
}

static void test_cursor_resume(void **state)
{
	struct journal_settings s;
	uint64_t first, last, acked = 0;
	char dir[64], cpath[PATH_MAX], err[256];

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	snprintf(cpath, sizeof(cpath), "%s/c", dir);
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	s.segment_bytes = 4096;
	tj_write(&s, 1, 101);
	/* An exporter acknowledges the first 60, stops, and resumes exactly after them. */
	assert_int_equal(journal_cursor_store(cpath, 60, err, sizeof(err)), 0);
	tj_write(&s, 101, 151);
	assert_int_equal(journal_cursor_load(cpath, &acked, err, sizeof(err)), 0);
	assert_int_equal(tj_read_all(dir, acked + 1, &first, &last, NULL), 90);
	assert_int_equal(first, 61);
	assert_int_equal(last, 150);
	tj_rmrf(dir);
}

/* ---------------------------------------------------------------- reader edge cases */

static void test_reader_empty_and_missing(void **state)
{
	struct journal_record rec;
	struct journal_reader *r;
	char dir[64], err[256];

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	r = journal_reader_open(dir, 0, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(journal_reader_next(r, &rec), 0);
	journal_reader_close(r);
	tj_rmrf(dir);
	assert_null(journal_reader_open(dir, 0, err, sizeof(err)));
	assert_non_null(strstr(err, dir));
}

/* The straight JSON writer gives jansson's compact dump byte for byte: every flag, reason
   set, address family, numbers either side of INT64_MAX and hosts that need escapes. */
static void expect_same_json(const struct journal_record *rec, const char *appliance)
{
	char want[2048], got[2048];
	json_t *o = journal_record_json(rec);
	size_t wlen, glen;

	assert_non_null(o);
	if (appliance)
		json_object_set_new(o, "appliance", json_string(appliance));
	wlen = json_dumpb(o, want, sizeof(want), JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	glen = journal_record_write(rec, appliance, got, sizeof(got));
	assert_true(wlen > 0 && wlen < sizeof(want));
	want[wlen] = '\0';
	got[glen < sizeof(got) ? glen : 0] = '\0';
	assert_string_equal(got, want);
	/* one byte short: nothing, never a cut line */
	assert_int_equal(journal_record_write(rec, appliance, got, glen - 1), 0);
	assert_int_equal(journal_record_write(rec, appliance, got, glen), glen);
}

static void test_record_json_written_straight(void **state)
{
	static const char *const hosts[] = {
		"click.example.com", "q\"uote", "back\\slash", "tab\there", "nl\ncr\rff\fbs\b",
		"ctl\x01\x1f\x7f", "/slash/", "",
	};
	static const uint64_t big[] = { 0, 1, 9, 10, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
					UINT64_MAX };
	struct journal_record rec;
	const char *appliance = "pop-7.fra\"q";

	(void)state;
	for (uint64_t i = 0; i < 64; i++) {
		memset(&rec, 0, sizeof(rec));
		tj_event(&rec.ev, i);
		rec.seq = i + 1;
		rec.ev.flags = (uint8_t)(i % 4);
		rec.ev.machine_reasons = (uint8_t)(i % 16);
		rec.ev.addr_family = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 4 : 6);
		rec.ev.addr_prefix = (uint8_t)(rec.ev.addr_family == 6 ? 48 + i : i % 33);
		for (int b = 0; b < 16; b++)
			rec.ev.addr[b] = (uint8_t)(i * 37 + b * 101);
		rec.ev.link_index = (uint16_t)(i * 1031);
		rec.ev.message_id = big[i % 7];
		rec.ev.recipient_id = big[(i + 3) % 7];
		rec.ev.time_ns = big[(i + 5) % 7];
		rec.ev.host_len = (uint8_t)strlen(hosts[i % 8]);
		memcpy(rec.ev.host, hosts[i % 8], rec.ev.host_len + 1);
		expect_same_json(&rec, i % 2 ? appliance : NULL);
	}
	/* the longest host there is */
	memset(rec.ev.host, 'a', EVENT_HOST_MAX);
	rec.ev.host[EVENT_HOST_MAX] = '\0';
	rec.ev.host_len = EVENT_HOST_MAX;
	expect_same_json(&rec, appliance);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_rejects_bad_events),
		cmocka_unit_test(test_record_json_written_straight),
		cmocka_unit_test(test_segment_names),
		cmocka_unit_test(test_settings_parse),
		cmocka_unit_test(test_fresh_and_reopen),
		cmocka_unit_test(test_torn_tail_every_offset),
		cmocka_unit_test(test_zero_filled_tail),
		cmocka_unit_test(test_follower_reads),
		cmocka_unit_test(test_corrupt_middle_payload),
		cmocka_unit_test(test_corrupt_middle_length),
		cmocka_unit_test(test_corrupt_middle_magic),
		cmocka_unit_test(test_rotation_by_size),
		cmocka_unit_test(test_rotation_by_age),
		cmocka_unit_test(test_retention_by_bytes),
		cmocka_unit_test(test_retention_by_days),
		cmocka_unit_test(test_cursor_file),
		cmocka_unit_test(test_cursor_resume),
		cmocka_unit_test(test_reader_empty_and_missing),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
