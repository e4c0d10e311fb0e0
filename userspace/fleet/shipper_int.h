/* SPDX-License-Identifier: MIT */
/*
 * The shipper's insides, shared by shipper.c (its thread: reading the journal, building and
 * publishing messages, the cursor and the status) and ship_link.c (its NATS connection and
 * the library's callbacks, which run on the library's threads).
 */
#ifndef ET_FLEET_SHIPPER_INT_H
#define ET_FLEET_SHIPPER_INT_H

#include "fleet/shipper.h"

#include "fleet/event_msg.h"
#include "fleet/nats_link.h"
#include "fleet/ship_status.h"
#include "fleet/ship_window.h"
#include "journal/reader.h"
#include "journal/record.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SHIP_BATCH        FLEET_MSG_EVENTS_MAX
/* Messages unacknowledged at most, besides max_pending events: after a lost publish the
   consumer holds the messages stored behind it until the resend comes, and this bounds
   them per appliance (README: --max-ack-pending). Four full messages fill the default
   window; the rest is room for small ones and for resends while what was in flight on a
   lost connection times out. */
#define SHIP_MSGS_PENDING 64
#define SHIP_MSG_MAX      (512 * 1024) /* under nats-server's default max_payload (1 MiB) */
_Static_assert(SHIP_MSG_MAX >= EVENT_MSG_HDR_LEN + (size_t)SHIP_BATCH * REC_MAX_LEN,
	       "a message holds a whole run of the longest records");
/* a whole message and its protocol line in one write */
#define SHIP_IO_BUF       (SHIP_MSG_MAX + 64 * 1024)
#define FINAL_WAIT_MS     2000     /* acks awaited at stop */

struct shipper {
	struct shipper_config cfg;
	char id[FLEET_NAME_MAX + 1];
	char journal_dir[PATH_MAX], cursor_path[PATH_MAX];
	char subject[sizeof(FLEET_SUBJECT_BASE) + FLEET_NAME_MAX + 1];
	pthread_t thread;
	bool started;

	/* shared with the library's callbacks: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ship_window win;
	uint64_t *ev_ns;          /* per window slot: event time of the seq sent there */
	struct lag_hist lag;
	bool rewind, stop, connected, closed;
	bool want_acks;           /* the thread waits for room in the window: wake it on acks */
	_Atomic bool idle;        /* the thread sleeps until the journal commits (on_commit) */
	char last_error[200];
	uint64_t last_error_at;   /* unix seconds */
	struct shipper_stats st;

	/* the shipper thread's own */
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	bool stream_ok;
	struct journal_reader *rd;
	struct journal_record held;
	const uint8_t *held_bytes; /* its journal framing, in the reader's buffer: the reader is
				      not called while an event is held (next_event()) */
	size_t held_len;
	bool have_held;
	uint64_t prev;            /* seq of the last event read (the next one's "prev") */
	uint64_t gap_logged;      /* the seq after the last gap counted */
	uint64_t stored, store_ns, status_ns;
	/* the message being built: a run of consecutive events (fleet/event_msg.h) */
	uint8_t msg[SHIP_MSG_MAX];
	size_t msg_len;
	uint8_t packed[SHIP_MSG_MAX]; /* msg compressed (event_msg_pack), when that is shorter */
	uint64_t out_first, out_last, out_n; /* the message built, not handed over yet */
	const uint8_t *out_body;             /* ... as it goes out: msg or packed */
	size_t out_len;
	uint64_t out_ns[SHIP_BATCH];         /* its events' times */
};

/* shipper.c */
/* Under mu: "what: why" as the status bucket's last_error. */
void ship_set_error(struct shipper *s, const char *what, const char *why);

/* ship_link.c */
/* Connects (in the background when no server answers yet) and makes the JetStream context
   whose acknowledgements the callbacks take: 0, or -1 logged. */
int ship_connect(struct shipper *s);
/* The stream exists (made here on first contact). False until a server answers. */
bool ship_stream_ready(struct shipper *s);
/* Drains the connection (acks still on their way are handled) and waits for the closed
   callback: the library's threads call into s until then. s->nc stays set if it never came. */
void ship_close(struct shipper *s);

#endif
