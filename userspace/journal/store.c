// SPDX-License-Identifier: MIT
/* Segment files of the writer: open + recovery, rotation, retention. */
#include "journal/journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "journal/segment.h"

uint64_t journal_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Creates (or resets) segment first_seq with its header, durable unless sync=none. */
static int seg_create(struct journal *j, uint64_t first_seq, uint64_t now, int *out_fd)
{
	char name[SEG_NAME_LEN + 1];
	uint8_t hdr[SEG_HDR_LEN];
	int fd, rc;

	seg_name(name, sizeof(name), first_seq);
	/* A file of that name can only be a leftover of a failed attempt: nothing acknowledged
	   lives in it, since its first record would have been first_seq. */
	fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	seg_hdr_encode(hdr, first_seq, now);
	rc = write_full(fd, hdr, sizeof(hdr), 0);
	if (rc == 0 && j->set.sync != JOURNAL_SYNC_NONE) {
		if (fdatasync(fd) != 0 || fsync(j->dirfd) != 0)
			rc = -errno;
	}
	if (rc) {
		close(fd);
		unlinkat(j->dirfd, name, 0);
		return rc;
	}
	*out_fd = fd;
	return 0;
}

/* ---------------------------------------------------------------- reserved space */

/* fdatasync has to write file metadata whenever a batch grows the file (or turns
   preallocated-but-unwritten extents into written ones). Records are therefore written over
   zeros that were written earlier: their fdatasync flushes data only. The zeroed space grows
   with the segment, 16 KiB to 1 MiB a step, so a small journal or a nearly full disk keeps
   little of it and a busy one pays a metadata-changing sync once per MiB of records. */
#define RESERVE_MIN (16u << 10)
#define RESERVE_MAX (1u << 20)
#define ZERO_BLOCK 4096
#define ZERO_IOV 64

/* Allocates and writes zeros over [from, to) of the active segment. */
static int zero_fill(struct journal *j, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[ZERO_BLOCK];
	struct iovec iov[ZERO_IOV];

	/* Allocation first: a full disk fails here, before anything is written. */
	if (j->can_fallocate && fallocate(j->seg_fd, 0, (off_t)from, (off_t)(to - from)) != 0) {
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		j->can_fallocate = 0;
	}
	while (from < to) {
		uint64_t left = to - from;
		int cnt = 0;
		ssize_t n;

		for (; cnt < ZERO_IOV && left; cnt++) {
			iov[cnt].iov_base = (void *)zeros;
			iov[cnt].iov_len = left < ZERO_BLOCK ? (size_t)left : ZERO_BLOCK;
			left -= iov[cnt].iov_len;
		}
		n = pwritev(j->seg_fd, iov, cnt, (off_t)from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		from += (uint64_t)n;
	}
	return 0;
}

/* Puts the file back to seg_alloc bytes after a failed reservation. */
static void reserve_undo(struct journal *j)
{
	if (ftruncate(j->seg_fd, (off_t)j->seg_alloc) != 0)
		log_warn("journal_reserve_undo_failed", "segment=%020" PRIu64 " size=%" PRIu64
			 " err=%s", j->seg_first, j->seg_alloc, strerror(errno));
}

int store_reserve(struct journal *j, size_t len)
{
	uint64_t need = j->seg_size + len, step = j->seg_alloc, target, cap;
	int rc;

	if (!j->set.preallocate || need <= j->seg_alloc)
		return 0;
	step = step < RESERVE_MIN ? RESERVE_MIN : step > RESERVE_MAX ? RESERVE_MAX : step;
	cap = need > j->set.segment_bytes ? need : j->set.segment_bytes;
	target = j->seg_alloc + step;
	target = target < need ? need : target > cap ? cap : target;
	rc = zero_fill(j, j->seg_alloc, target);
	if ((rc == -ENOSPC || rc == -EDQUOT) && target > need) {
		/* Nearly full: reserve just what this batch needs. */
		reserve_undo(j);
		target = need;
		rc = zero_fill(j, j->seg_alloc, target);
	}
	if (rc) {
		reserve_undo(j);
		return rc;
	}
	j->seg_alloc = target;
	return 0;
}

void store_trim(struct journal *j)
{
	if (j->seg_fd < 0 || j->seg_alloc <= j->seg_size)
		return;
	/* Not synced: zeros after the last record read as the end of a segment anyway, and
	   recovery cuts them from the last one. */
	if (ftruncate(j->seg_fd, (off_t)j->seg_size) != 0) {
		log_warn("journal_trim_failed", "segment=%020" PRIu64 " size=%" PRIu64 " err=%s",
			 j->seg_first, j->seg_size, strerror(errno));
		return;
	}
	j->seg_alloc = j->seg_size;
}

/* ---------------------------------------------------------------- rotation */

int store_rotate(struct journal *j, uint64_t first_seq)
{
	uint64_t now = journal_now_ns();
	int fd = -1, rc;

	/* The finished segment ends at its last record before the next one appears. */
	store_trim(j);
	rc = seg_create(j, first_seq, now, &fd);
	if (rc) {
		log_error("journal_rotate_failed", "dir=%s first_seq=%" PRIu64 " err=%s", j->set.dir,
			  first_seq, strerror(-rc));
		return rc;
	}
	if (j->seg_fd >= 0)
		close(j->seg_fd);
	log_info("journal_segment_opened", "dir=%s first_seq=%" PRIu64, j->set.dir, first_seq);
	j->seg_fd = fd;
	j->seg_first = first_seq;
	j->seg_size = j->seg_alloc = SEG_HDR_LEN;
	j->seg_created_ns = now;
	j->seg_records = 0;
	j->seg_broken = 0;
	atomic_fetch_add(&j->c.segments_created, 1);
	store_retention(j);
	return 0;
}

int store_needs_rotation(const struct journal *j, size_t len)
{
	uint64_t age_ns = j->set.segment_age_s * 1000000000ull, now;

	if (j->seg_broken)
		return 1;
	if (j->seg_records == 0)
		return 0;
	if (j->seg_size + len > j->set.segment_bytes)
		return 1;
	if (!j->set.segment_age_s)
		return 0;
	now = journal_now_ns();
	/* A clock stepped backwards does not count as age. */
	return now > j->seg_created_ns && now - j->seg_created_ns >= age_ns;
}

/* ---------------------------------------------------------------- retention */

static int seg_stat(struct journal *j, uint64_t first, struct stat *st)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, sizeof(name), first);
	return fstatat(j->dirfd, name, st, 0) == 0 ? 0 : -errno;
}

static int seg_expired(const struct journal *j, const struct stat *st, uint64_t total)
{
	time_t now = time(NULL);

	if (j->set.retain_bytes && total > j->set.retain_bytes)
		return 1;
	return j->set.retain_days &&
	       (uint64_t)(now - st->st_mtime) > j->set.retain_days * 86400ull;
}

/* The segment starting at first ends before next_first; it may go only when every event in
   it is below the hold. Logged once per episode of expired segments kept for the hold. */
static int seg_held(struct journal *j, uint64_t next_first)
{
	uint64_t hold = atomic_load(&j->hold_from);

	if (!hold || next_first <= hold)
		return 0;
	if (!j->held_logged)
		log_warn("journal_retention_held", "dir=%s first_unshipped=%" PRIu64
			 " reason=\"expired segments hold events not shipped yet\"", j->set.dir, hold);
	j->held_logged = 1;
	return 1;
}

int store_retention(struct journal *j)
{
	struct seg_list l;
	uint64_t total = 0;
	int deleted = 0, rc;

	j->last_retention_ns = journal_now_ns();
	rc = seg_list_load(j->dirfd, &l);
	if (rc)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		struct stat st;

		if (seg_stat(j, l.first[i], &st) == 0)
			total += (uint64_t)st.st_size;
	}
	/* Oldest first; the active segment is never deleted. */
	for (size_t i = 0; i < l.n && l.first[i] != j->seg_first; i++) {
		char name[SEG_NAME_LEN + 1];
		struct stat st;

		if (seg_stat(j, l.first[i], &st) != 0 || !seg_expired(j, &st, total))
			break;
		if (i + 1 < l.n && seg_held(j, l.first[i + 1]))
			break;
		j->held_logged = 0;
		seg_name(name, sizeof(name), l.first[i]);
		if (unlinkat(j->dirfd, name, 0) != 0) {
			log_warn("journal_retention_failed", "segment=%s err=%s", name, strerror(errno));
			break;
		}
		log_info("journal_segment_deleted", "dir=%s segment=%s bytes=%lld", j->set.dir, name,
			 (long long)st.st_size);
		total -= (uint64_t)st.st_size;
		deleted++;
	}
	seg_list_free(&l);
	atomic_fetch_add(&j->c.segments_deleted, (uint64_t)deleted);
	return deleted;
}

/* ---------------------------------------------------------------- recovery */

static void report_damage(struct journal *j, const char *msg, const char *seg,
			  const struct seg_scan *s)
{
	log_warn(msg, "dir=%s segment=%s offset=%" PRIu64 " bytes=%" PRIu64, j->set.dir, seg,
		 s->bad_off, s->bad_len);
}

/* Truncates a torn tail (or the zero-filled space a stop without clean close left after
   the last record) away; durable before any new record lands after it. */
static int cut_tail(struct journal *j, int fd, const char *seg, struct seg_scan *s,
		    int zeros)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size <= s->off)
		return 0;
	if (zeros)
		log_info("journal_reserved_tail_cut", "dir=%s segment=%s offset=%" PRIu64
			 " bytes=%" PRIu64, j->set.dir, seg, s->off, (uint64_t)st.st_size - s->off);
	else
		log_warn("journal_torn_tail", "dir=%s segment=%s offset=%" PRIu64
			 " bytes=%" PRIu64, j->set.dir, seg, s->off,
			 (uint64_t)st.st_size - s->off);
	if (ftruncate(fd, (off_t)s->off) != 0 || fsync(fd) != 0)
		return -errno;
	atomic_fetch_add(&j->c.truncated_bytes, (uint64_t)st.st_size - s->off);
	return 0;
}

/* Scans the last segment; leaves s->off at the end of its last good record. */
static int scan_last(struct journal *j, struct seg_scan *s, int fd, const char *seg,
		     uint64_t *last_seq)
{
	struct journal_record rec;

	for (;;) {
		switch (seg_scan_next(s, &rec)) {
		case SCAN_RECORD:
			if (*last_seq && rec.seq <= *last_seq)
				log_warn("journal_seq_backwards", "segment=%s offset=%" PRIu64
					 " seq=%" PRIu64, seg, s->rec_off, rec.seq);
			else if (*last_seq && rec.seq != *last_seq + 1)
				log_warn("journal_seq_gap", "segment=%s offset=%" PRIu64
					 " seq=%" PRIu64 " expected=%" PRIu64, seg, s->rec_off,
					 rec.seq, *last_seq + 1);
			if (rec.seq > *last_seq)
				*last_seq = rec.seq;
			j->seg_records++;
			break;
		case SCAN_CORRUPT:
			report_damage(j, "journal_corrupt_record", seg, s);
			atomic_fetch_add(&j->c.corrupt_skipped, 1);
			break;
		case SCAN_END:
			return cut_tail(j, fd, seg, s, 1);
		case SCAN_PARTIAL:
		case SCAN_CORRUPT_TAIL:
			return cut_tail(j, fd, seg, s, 0);
		case SCAN_ERROR:
			return s->err;
		}
	}
}

static int recover_last(struct journal *j, uint64_t first, char *err, size_t errlen)
{
	char seg[SEG_NAME_LEN + 1];
	uint64_t last_seq = 0;
	struct seg_scan s;
	int fd, rc;

	seg_name(seg, sizeof(seg), first);
	fd = openat(j->dirfd, seg, O_RDWR | O_CLOEXEC);
	if (fd < 0 || (rc = seg_scan_open(&s, j->dirfd, first)) != 0) {
		rc = fd < 0 ? -errno : rc;
		snprintf(err, errlen, "open %s/%s: %s", j->set.dir, seg, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (s.hdr_status != REC_OK) {
		/* Only a crash while the segment was being created leaves a bad header on the
		   last segment; its records (if any) are still scanned below. */
		uint8_t hdr[SEG_HDR_LEN];

		log_warn("journal_segment_header_rewritten", "dir=%s segment=%s", j->set.dir, seg);
		s.created_ns = journal_now_ns();
		seg_hdr_encode(hdr, first, s.created_ns);
		rc = write_full(fd, hdr, sizeof(hdr), 0);
		if (rc == 0 && fsync(fd) != 0)
			rc = -errno;
	}
	j->seg_records = 0;
	if (rc == 0)
		rc = scan_last(j, &s, fd, seg, &last_seq);
	if (rc) {
		snprintf(err, errlen, "recover %s/%s: %s", j->set.dir, seg, strerror(-rc));
		seg_scan_close(&s);
		close(fd);
		return rc;
	}
	j->seg_fd = fd;
	j->seg_first = first;
	j->seg_size = j->seg_alloc = s.off;
	j->seg_created_ns = s.created_ns;
	j->next_seq = last_seq >= first ? last_seq + 1 : first;
	log_info("journal_recovered", "dir=%s segment=%s records=%" PRIu64 " next_seq=%" PRIu64,
		 j->set.dir, seg, j->seg_records, j->next_seq);
	seg_scan_close(&s);
	return 0;
}

static int lock_dir(struct journal *j, char *err, size_t errlen)
{
	j->dirfd = open(j->set.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		snprintf(err, errlen, "open %s: %s", j->set.dir, strerror(errno));
		return -errno;
	}
	/* A reader checking whether a writer runs holds a shared lock for an instant. */
	for (int tries = 0; flock(j->dirfd, LOCK_EX | LOCK_NB) != 0; tries++) {
		int rc = -errno;
		struct timespec pause = { 0, 2000000 };

		if (rc == -EWOULDBLOCK && tries < 50) {
			nanosleep(&pause, NULL);
			continue;
		}
		snprintf(err, errlen, "%s: %s", j->set.dir,
			 rc == -EWOULDBLOCK ? "journal in use by another writer" : strerror(-rc));
		return rc;
	}
	return 0;
}

int store_open(struct journal *j, char *err, size_t errlen)
{
	struct seg_list l;
	int rc;

	rc = mkdir_p(j->set.dir);
	if (rc) {
		snprintf(err, errlen, "mkdir %s: %s", j->set.dir, strerror(-rc));
		return rc;
	}
	rc = lock_dir(j, err, errlen);
	if (rc)
		return rc;
	rc = seg_list_load(j->dirfd, &l);
	if (rc) {
		snprintf(err, errlen, "list %s: %s", j->set.dir, strerror(-rc));
		return rc;
	}
	if (l.n == 0) {
		j->next_seq = 1;
		rc = store_rotate(j, 1);
		if (rc)
			snprintf(err, errlen, "create segment in %s: %s", j->set.dir, strerror(-rc));
	} else {
		rc = recover_last(j, l.first[l.n - 1], err, errlen);
		/* Readers take damage in the segment a running writer appends to for a write in
		   progress, so new records never go after damage found at start-up. */
		if (rc == 0 && atomic_load(&j->c.corrupt_skipped) && j->next_seq > j->seg_first) {
			rc = store_rotate(j, j->next_seq);
			if (rc)
				snprintf(err, errlen, "create segment in %s: %s", j->set.dir,
					 strerror(-rc));
		}
		if (rc == 0)
			store_retention(j);
	}
	seg_list_free(&l);
	atomic_store(&j->c.next_seq, j->next_seq);
	return rc;
}

void store_close(struct journal *j)
{
	store_trim(j);
	if (j->seg_fd >= 0)
		close(j->seg_fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	j->seg_fd = j->dirfd = -1;
}
