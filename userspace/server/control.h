/* SPDX-License-Identifier: MIT */
/*
 * The main thread's loop once workers run: signals (SIGHUP reload, SIGTERM/SIGINT drain)
 * and the local control socket used by edgetrackctl.
 *
 * Control protocol: the client sends one command line; the server answers with zero or
 * more body lines and a last line "ok" or "error: <reason>", then closes.
 *   ping | status | reload | challenge add TOKEN KEYAUTH | challenge del TOKEN | challenge list
 */
#ifndef ET_SERVER_CONTROL_H
#define ET_SERVER_CONTROL_H

#include "server/server.h"

#include <signal.h>

/* Blocks the signals control_run handles; call before any thread starts. */
int control_block_signals(sigset_t *set);
/* Runs until SIGTERM/SIGINT, then drains and joins the workers. */
int control_run(struct server *srv, const sigset_t *set, const char *socket_path);

#endif
