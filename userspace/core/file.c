// SPDX-License-Identifier: MIT
#include "core/file.h"

#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a directory";
	return "not a plain file";
}

/* open() failed: a socket fails with ENXIO, so say what is there when it is not a file. */
static int open_failed(int dirfd, const char *path, char *err, size_t errlen)
{
	int e = errno;
	struct stat sb;

	if (fstatat(dirfd, path, &sb, 0) == 0 && !S_ISREG(sb.st_mode)) {
		err_set(err, errlen, "%s is not a regular file (%s)", path, kind_of(sb.st_mode));
		errno = EINVAL;
		return -1;
	}
	err_set(err, errlen, "cannot open %s: %s", path, strerror(e));
	errno = e;   /* callers tell a missing file (ENOENT) from a bad one */
	return -1;
}

static int read_all(int fd, char *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* EOF before st_size: it shrank under us */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_read(int dirfd, const char *path, size_t max, char **buf, size_t *len, struct stat *st,
	      char *err, size_t errlen)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat sb;
	int rc = -1, e = 0;

	*buf = NULL;
	if (fd < 0)
		return open_failed(dirfd, path, err, errlen);
	if (fstat(fd, &sb)) {
		e = errno;
		err_set(err, errlen, "cannot stat %s: %s", path, strerror(e));
	} else if (!S_ISREG(sb.st_mode)) {
		e = EINVAL;
		err_set(err, errlen, "%s is not a regular file (%s)", path, kind_of(sb.st_mode));
	} else if ((size_t)sb.st_size > max) {
		e = EFBIG;
		err_set(err, errlen, "%s is larger than %zu bytes", path, max);
	} else if (!(*buf = malloc((size_t)sb.st_size + 1))) {
		e = ENOMEM;
		err_set(err, errlen, "%s: out of memory", path);
	} else if ((rc = read_all(fd, *buf, (size_t)sb.st_size)) != 0) {
		e = -rc;
		err_set(err, errlen, "cannot read %s: %s", path,
			rc == -EIO ? "short read" : strerror(-rc));
		free(*buf);
		*buf = NULL;
		rc = -1;
	} else {
		(*buf)[sb.st_size] = '\0';
		*len = (size_t)sb.st_size;
		if (st)
			*st = sb;
	}
	close(fd);
	if (rc)
		errno = e;
	return rc;
}
