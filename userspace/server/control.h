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

/*
 * Fills set with the signals control_run handles and blocks SIGHUP alone: a reload asked
 * for during start-up waits for the control loop, while SIGTERM and SIGINT keep their
 * default action, so a start-up that takes long (a big cert directory) can still be stopped.
 */
int control_hold_reloads(sigset_t *set);
/* Blocks all of set; call before the first thread starts. 0, or -1 with a reason. */
int control_block_signals(const sigset_t *set, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT, then drains and joins the workers. */
int control_run(struct server *srv, const sigset_t *set, const char *socket_path);

#endif
