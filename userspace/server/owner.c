// SPDX-License-Identifier: MIT
#include "server/owner.h"

#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME "edgetrackd.lock"

/* The pid the file names, 0 when it names none (new file, or a write cut short). */
static pid_t read_pid(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;
	char *end;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return pid > 0 && pid <= 0x7fffffff && *end == '\n' ? (pid_t)pid : 0;
}

static int write_pid(int fd)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

int owner_lock(struct owner *o, const char *data_dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat sb;
	pid_t live;

	o->fd = -1;
	o->previous = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/" LOCK_NAME, data_dir) >= sizeof(path))
		return err_set(err, errlen, "data_dir too long");
	/* O_NONBLOCK: whatever sits at that name, opening it must not wait */
	o->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0640);
	if (o->fd < 0)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(o->fd, &sb) || !S_ISREG(sb.st_mode)) {
		owner_release(o);
		return err_set(err, errlen, "%s: not a regular file", path);
	}
	if (flock(o->fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		live = read_pid(o->fd);
		owner_release(o);
		if (e != EWOULDBLOCK)
			return err_set(err, errlen, "%s: lock: %s", path, strerror(e));
		if (live)
			return err_set(err, errlen, "data_dir %s is used by edgetrackd pid %d "
				       "(is another edgetrackd running?)", data_dir, (int)live);
		return err_set(err, errlen, "data_dir %s is used by another edgetrackd", data_dir);
	}
	o->previous = read_pid(o->fd);
	if (write_pid(o->fd)) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		owner_release(o);
		return -1;
	}
	return 0;
}

void owner_release(struct owner *o)
{
	/* The pid stays in the file: the next start learns that an owner was here before. */
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}
