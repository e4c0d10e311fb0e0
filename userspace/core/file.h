/* SPDX-License-Identifier: MIT */
/*
 * Reading a file the daemon is handed (config, certificates, keys, lists) without ever
 * waiting on what sits at the name. A FIFO there would block open() until a writer comes,
 * a device could feed read() forever, and either would hold the thread that handles
 * signals and the control socket. So the name is opened non-blocking and anything but a
 * regular file is refused, with its kind in the reason, before the first read.
 */
#ifndef ET_CORE_FILE_H
#define ET_CORE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Reads path (relative to dirfd, or AT_FDCWD) into a new NUL-terminated buffer of at most max
 * bytes: *buf (free() it), *len, and the file's stat in *st when st is non-NULL.
 * Symlinks are followed. Returns 0, or -1 with a reason naming path in err (NULL: none) and
 * errno set (ENOENT when absent, EFBIG when larger than max, EINVAL when not a regular file).
 */
int file_read(int dirfd, const char *path, size_t max, char **buf, size_t *len, struct stat *st,
	      char *err, size_t errlen);

#endif
