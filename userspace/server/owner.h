/* SPDX-License-Identifier: MIT */
/*
 * One edgetrackd per data directory: <data_dir>/edgetrackd.lock holds an exclusive flock for
 * the owner's lifetime and the owner's pid as text. The kernel drops the lock the moment the
 * owner dies, even by SIGKILL, while its io_uring listeners may linger a few milliseconds
 * longer; so a free lock that names an earlier pid says "the previous owner is gone", and its
 * listeners may be waited for instead of taken for a live edgetrackd.
 */
#ifndef ET_SERVER_OWNER_H
#define ET_SERVER_OWNER_H

#include <stddef.h>
#include <sys/types.h>

struct owner {
	int fd;         /* the locked file, -1 when not held */
	pid_t previous; /* pid the file named before we took it; 0 when none */
};

/* Takes the data directory's lock and writes our pid. 0, or -1 with a reason (another live
 * edgetrackd and its pid, or why the file could not be used). */
int owner_lock(struct owner *o, const char *data_dir, char *err, size_t errlen);
void owner_release(struct owner *o);

#endif
