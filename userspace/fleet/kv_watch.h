/* SPDX-License-Identifier: MIT */
/*
 * The fleet's way in: edgetrackd's thread that watches the bundle bucket and the challenge
 * bucket (kv_item.h) on a connection of its own, off the request path and off the shipper's
 * loop (an apply may take the health window; events keep shipping meanwhile). What it sees
 * goes to hooks the server provides, which hand it to the control thread the way the
 * management API does and return when it is done. The buckets are made when missing (the
 * challenge bucket with a max age of KV_CHALLENGE_TTL_MAX).
 *
 * Starting (and after a reconnect that lost the watch) each watcher first gets the latest
 * value of every key: the latest bundle is offered once, and the hook skips it when its
 * serial is not above the applied one. nats.c 3.4.1's kvWatcher_Next may time out before
 * its time: a timeout is "nothing yet".
 */
#ifndef ET_FLEET_KV_WATCH_H
#define ET_FLEET_KV_WATCH_H

#include "fleet/fleet_settings.h"
#include "fleet/kv_item.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_watch_hooks {
	/* A bundle as it is in the bucket. 0 (applied, or skipped as not newer), or -1 with
	   the refusal's reason. */
	int (*bundle)(void *arg, const void *data, size_t len, uint64_t revision, char *why,
		      size_t whylen);
	/* A challenge answer (not expired). 0, or -1 with the reason. */
	int (*challenge)(void *arg, const struct kv_challenge *c, char *why, size_t whylen);
	void *arg;
};

struct kv_watch_config {
	struct fleet_settings set;
	const char *appliance_id;
	struct kv_watch_hooks hooks;
};

struct kv_watch;

/* Starts the thread; it connects in the background (no server answering is no error). */
struct kv_watch *kv_watch_start(const struct kv_watch_config *c, char *err, size_t errlen);
/* Stops the thread (a hook in progress finishes first), closes the connection, frees. */
void kv_watch_stop(struct kv_watch *w);

/* The last refusal or failure, "what: why" (empty when none) and when (unix s). */
void kv_watch_last_error(struct kv_watch *w, char *out, size_t cap, uint64_t *at);

#endif
