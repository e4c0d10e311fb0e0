/* SPDX-License-Identifier: MIT */
/*
 * The shipper: edgetrackd's thread that ships every journal event to the fleet's JetStream
 * stream (subject edgetrack.events.<appliance id>) exactly once, and refreshes the
 * appliance's status in the status bucket. It never touches the request path: it reads the
 * journal's files like any reader, so NATS being slow or gone changes nothing for clients.
 *
 * The journal is the outbox. Events are published asynchronously, at most max_pending
 * unacknowledged, with message id "<appliance id>:<seq>" so the stream drops resends within
 * its duplicate window. <data_dir>/fleet/cursor holds the highest seq below which every event
 * is acknowledged (ship_window.h); it moves only on acknowledgements, and after a restart, a
 * reconnect or a publish error shipping resumes right after it. The journal keeps every
 * segment holding an event above the cursor (journal_hold_from).
 *
 * A message carries a run of consecutive events in the journal's own framing, LZ4-compressed
 * (event_msg.h), with "prev", the seq of the event before the run in this appliance's
 * journal, so a consumer can tell a gap that will be filled by a resend from events that
 * never existed (hwm.h).
 */
#ifndef ET_FLEET_SHIPPER_H
#define ET_FLEET_SHIPPER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet/fleet_settings.h"

struct journal;

/* What the shipper reports but does not know: filled into the status object each refresh
   (certs, bundle serial), on the shipper's thread. */
typedef void shipper_status_fn(void *arg, json_t *status);

struct shipper_config {
	struct fleet_settings set;
	const char *appliance_id;   /* resolved: config or identity */
	const char *journal_dir;
	const char *state_dir;      /* <data_dir>/fleet: the cursor */
	const char *version;
	struct journal *journal;    /* the running journal: committed seq, hold, counters */
	shipper_status_fn *status_fill;
	void *status_arg;
};

struct shipper;

/* The cursor as stored (0 when nothing was shipped yet): edgetrackd reads it before opening
   the journal so retention at start-up already keeps what is not shipped. */
int shipper_cursor_read(const char *state_dir, uint64_t *cursor, char *err, size_t errlen);

/* Starts the thread. It connects in the background: no server answering is no error. */
struct shipper *shipper_start(const struct shipper_config *c, char *err, size_t errlen);

/* Stops the thread, stores the cursor, closes the connection and frees. */
void shipper_stop(struct shipper *s);

struct shipper_stats {
	uint64_t cursor;      /* every seq <= cursor is in the stream */
	uint64_t published;   /* publishes handed to the library, resends included */
	uint64_t acked;       /* acknowledgements */
	uint64_t failed;      /* publish errors and timeouts */
	uint64_t rewinds;     /* resends from the cursor */
	uint64_t gap_events;  /* seqs missing from the journal (damaged or deleted) */
	uint64_t bytes_records; /* journal record bytes published, resends included */
	uint64_t bytes_sent;  /* the messages' bytes that carried them (compressed) */
	bool connected;
};

void shipper_stats_get(struct shipper *s, struct shipper_stats *out);

#endif
