/* SPDX-License-Identifier: MIT */
/*
 * The shipper's publish window: which journal sequence numbers are in flight to JetStream and
 * which are acknowledged, and the cursor that follows the acknowledgements.
 *
 * The cursor is the highest sequence number below which every event is acknowledged (stored
 * by the stream): it is what the shipper keeps durably and resends from after a restart.
 * Acknowledgements arrive in any order and some never arrive (a publish error, a timeout, a
 * lost connection); the cursor moves only over an unbroken run of acknowledgements, so an
 * event is never counted as shipped when one before it may not have been.
 *
 * At most cap sequence numbers above the cursor are tracked: that bounds both the memory and
 * how far the stream's order may stray from the journal's (a consumer that reorders needs
 * to hold at most cap events per appliance). Pure logic, no locking: the caller serializes.
 */
#ifndef ET_FLEET_SHIP_WINDOW_H
#define ET_FLEET_SHIP_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct ship_window {
	uint64_t acked;  /* every seq <= acked is acknowledged (or does not exist) */
	uint64_t floor;  /* the highest acknowledged seq <= acked that exists: what is stored as
			    the cursor, so a restart resumes right after a real event and the
			    first event it ships names a real predecessor */
	uint64_t next;   /* the next seq to publish */
	uint32_t cap;    /* power of two */
	uint8_t *state;  /* per slot (seq & (cap - 1)): SLOT_FREE, SLOT_SENT or SLOT_ACKED */
};

/* cap is rounded up to a power of two (at least 2). Starts after cursor. 0 or -ENOMEM. */
int ship_window_init(struct ship_window *w, uint32_t cap, uint64_t cursor);
void ship_window_free(struct ship_window *w);

/* Whether seq may be published now: it lies within cap of the cursor. */
bool ship_window_room(const struct ship_window *w, uint64_t seq);

/* Whether seq was acknowledged already (a resend skips it). */
bool ship_window_is_acked(const struct ship_window *w, uint64_t seq);

/* seq was handed to the library; next moves past it. The caller checked room first. */
void ship_window_sent(struct ship_window *w, uint64_t seq);

/* The stream acknowledged seq (perhaps from an earlier round of sends: an ack is an ack).
   Returns true when the cursor moved. Acks outside the window are ignored. */
bool ship_window_ack(struct ship_window *w, uint64_t seq);

/* seq failed (error or timeout): the next publish starts again right after the cursor,
   skipping what is acknowledged already. */
void ship_window_failed(struct ship_window *w, uint64_t seq);

/* Starts again right after the cursor (a new connection: whatever was in flight on the old
   one may be lost). */
void ship_window_rewind(struct ship_window *w);

/* The journal has no events between the cursor and seq (damaged or deleted records): once
   nothing is in flight the cursor jumps to seq - 1. Returns false while events are still in
   flight (call again after their acks). */
bool ship_window_skip_to(struct ship_window *w, uint64_t seq);

/* Events published but not acknowledged yet, as far as the window knows. */
uint64_t ship_window_in_flight(const struct ship_window *w);

#endif
