// SPDX-License-Identifier: MIT
#include "journal/cursor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURSOR_HEAD "edgetrack-journal-cursor 1\nlast_seq="

static int parse_cursor(const char *text, uint64_t *last_seq)
{
	const char *p = text + strlen(CURSOR_HEAD);
	uint64_t v = 0;

	if (strncmp(text, CURSOR_HEAD, strlen(CURSOR_HEAD)) != 0 || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, "\n") != 0)
		return -EINVAL;
	*last_seq = v;
	return 0;
}

int journal_cursor_load(const char *path, uint64_t *last_seq, char *err, size_t errlen)
{
	char buf[128];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		*last_seq = 0;
		return 0;
	}
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "read %s: %s", path, strerror(errno));
		return -EIO;
	}
	buf[n] = '\0';
	if (parse_cursor(buf, last_seq) != 0) {
		snprintf(err, errlen, "%s: not an edgetrack journal cursor", path);
		return -EINVAL;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int write_tmp(const char *tmp, uint64_t last_seq)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), CURSOR_HEAD "%" PRIu64 "\n", last_seq);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	else if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int journal_cursor_store(const char *path, uint64_t last_seq, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = write_tmp(tmp, last_seq);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_parent(path);
	if (rc) {
		unlink(tmp);
		snprintf(err, errlen, "write cursor %s: %s", path, strerror(-rc));
	}
	return rc;
}
