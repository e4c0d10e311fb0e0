/* SPDX-License-Identifier: MIT */
/*
 * The listening sockets the workers accept on: one per worker and address (SO_REUSEPORT),
 * and the check that no other process holds the address first.
 */
#ifndef ET_SERVER_LISTEN_H
#define ET_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"

/* A TCP socket (type flags added to SOCK_STREAM | SOCK_CLOEXEC) bound to cl's address as the
 * workers bind it: SO_REUSEADDR, IPv6 only for an IPv6 address, SO_REUSEPORT when asked. The
 * fd, or -1 with errno. */
int listen_bind(const struct config_listen *cl, int type, bool reuseport);

/* A worker's non-blocking listening socket on cl's address: the fd, or -1 with the reason in
 * err. With gone_owner >= 0 (the first worker's) the address is first checked to be free of
 * other processes; gone_owner > 0 is a previous owner of the data directory, gone, whose
 * listener the kernel may not have closed yet: that one is waited for a moment. */
int listen_open(const struct config_listen *cl, pid_t gone_owner, char *err, size_t errlen);

#endif
