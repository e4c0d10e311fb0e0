/* SPDX-License-Identifier: MIT */
/* Whole-file writes that readers never see half done: temp file in the same directory,
 * fsync, rename over the target, fsync the directory. */
#ifndef ET_ACME_ATOMIC_FILE_H
#define ET_ACME_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* 0, or -1 with the reason in err (the old file, if any, is left as it was). */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, char *err,
		      size_t errlen);

/* Creates dir (the last component) unless it exists. 0 or -1 with the reason. */
int ensure_dir(const char *dir, mode_t mode, char *err, size_t errlen);

/* write(2) until all of data is written (EINTR retried). 0 or -1 with errno. */
int write_all(int fd, const void *data, size_t len);

/* Reads a whole regular file (at most max bytes) into a malloc'd NUL-terminated buffer, as
 * file_read() does (never waiting on a FIFO or a device); NULL with errno set (ENOENT when
 * absent, EFBIG when larger than max, EINVAL when not a regular file). */
char *read_small_file(const char *path, size_t max, size_t *len);

#endif
