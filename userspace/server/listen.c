// SPDX-License-Identifier: MIT
/* The listening sockets of the workers (and the probes of bundle-applied listen addresses). */
#include "server/listen.h"

#include "core/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * SO_REUSEPORT lets the workers share a port, but it would also let a second edgetrackd (same
 * user) share it and silently take half the connections. Before the first worker binds, a
 * plain bind of the address tells whether anything is listening there already.
 * True when the address is in use (any other error is the real bind's to report).
 */
static bool in_use(const struct config_listen *cl)
{
	int fd = listen_bind(cl, 0, false);

	if (fd < 0)
		return errno == EADDRINUSE;
	close(fd);
	return false;
}

/*
 * A previous owner of the data directory that is gone (its lock was free) may still hold
 * the address for a moment: the kernel closes io_uring's listeners after the process is
 * reaped. Only then is the address waited for, and for a bounded time; otherwise whoever
 * holds it is alive and the start is refused at once.
 */
#define PROBE_WAIT_MS 2000
#define PROBE_STEP_MS 10

static int probe_address(const struct config_listen *cl, pid_t gone_owner, char *err,
			 size_t errlen)
{
	const struct timespec step = { 0, PROBE_STEP_MS * 1000000L };

	for (int waited = 0;; waited += PROBE_STEP_MS) {
		if (!in_use(cl))
			return 0;
		if (!gone_owner || waited >= PROBE_WAIT_MS)
			break;
		if (waited == 0)
			log_info("listen_wait", "address=%s previous_pid=%d reason=\"the previous "
				 "owner is gone but its listener is not closed yet\"", cl->text,
				 (int)gone_owner);
		nanosleep(&step, NULL);
	}
	snprintf(err, errlen, "listen %s: address already in use by another process "
		 "(is another edgetrackd running?)", cl->text);
	return -1;
}

int listen_bind(const struct config_listen *cl, int type, bool reuseport)
{
	int one = 1, e;
	int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (cl->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)&cl->addr, cl->addr_len)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int listen_open(const struct config_listen *cl, pid_t gone_owner, char *err, size_t errlen)
{
	int fd;

	if (gone_owner >= 0 && probe_address(cl, gone_owner, err, errlen))
		return -1;
	fd = listen_bind(cl, SOCK_NONBLOCK, true);
	if (fd < 0 || listen(fd, 4096)) {
		snprintf(err, errlen, "listen %s: %s", cl->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}
