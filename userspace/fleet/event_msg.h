/* SPDX-License-Identifier: MIT */
/*
 * A message of the event stream: a run of consecutive events of one appliance in the
 * journal's own record framing (journal/record.h), behind a 16-byte header. Little-endian:
 *
 *   0 magic "ETEM"   4 u8 version (1 or 2)   5 3 bytes reserved (0)
 *   8 u64 prev: the seq of the event before the first one in that appliance's journal
 *  16 version 1: records, back to back, each with its own magic, length and CRC; seqs
 *     consecutive
 *  16 version 2: u32 the length of those records, then the records as one LZ4 block
 *
 * Version 2 is what the appliance sends unless "compress" is off or LZ4 saves nothing: the
 * records hold counters and ids that repeat from one event to the next, and half their bytes
 * or more go. Every byte saved is one the uplink, each of the stream's replicas and
 * nats-server's own per-byte work do not see; the shipper pays about a sixth more CPU per
 * event for it (bench/README.md).
 *
 * The appliance is the subject's last token. Records rather than JSON lines because the
 * shipper runs on the appliance's serving core: they are under half the lines' bytes and
 * cost no formatting there; the consumer writes the JSON. It still reads the JSON lines
 * (one object per event with "appliance" and "prev" last) of firmware that shipped those;
 * they start with '{', never with the magic.
 */
#ifndef ET_FLEET_EVENT_MSG_H
#define ET_FLEET_EVENT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/mbuf.h"
#include "fleet/fleet_settings.h"
#include "journal/record.h"

#define EVENT_MSG_HDR_LEN 16

/* Writes the header into buf (EVENT_MSG_HDR_LEN bytes); returns its length. */
size_t event_msg_begin(uint8_t *buf, uint64_t prev);

/* Appends a record, len bytes in the journal's framing as the journal holds it (a journal
   reader's record bytes, or rec_encode()'s), at buf[0..cap): len, or 0 when it does not
   fit. The appliance copies its journal's bytes: no encoding and no second CRC per event. */
size_t event_msg_add(uint8_t *buf, size_t cap, const uint8_t *rec, size_t len);

/* The compressed form (version 2) of the version 1 message msg[0..len) into out[0..cap):
   its length, or 0 when it would not be shorter than len (send msg as it is). */
size_t event_msg_pack(uint8_t *out, size_t cap, const uint8_t *msg, size_t len);

/* A message read: one line per event as the consumer hands it on (the JSON of `events
   export` plus "appliance", and a newline), each with its seq and the seq before it. */
struct event_lines {
	size_t n;
	struct event_line {
		uint64_t seq, prev;
		size_t off, len; /* in text */
	} line[FLEET_MSG_EVENTS_MAX];
	struct mbuf text;
	struct mbuf records; /* a version 2 message's records, uncompressed */
};

/* Reads a message of appliance's subject, in any of the formats, into out: 0, or -1 (out
   empty) when it has no event, a damaged one, one of another appliance or one out of order. */
int event_msg_read(struct event_lines *out, const char *appliance, const void *data,
		   size_t len);

void event_lines_free(struct event_lines *l);

#endif
