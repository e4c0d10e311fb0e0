// SPDX-License-Identifier: MIT
/*
 * The consumer's reading of the event stream's messages (fleet/event_msg.h) under arbitrary
 * input: what the stream hands it is bytes anyone with publish rights could have written.
 *  - reading never crashes, and it either refuses the message with nothing in the lines, or
 *    gives 1..FLEET_MSG_EVENTS_MAX lines, each ending in a newline inside the text, each
 *    after the one before (seq = prev + 1), the first after the message's prev;
 *  - a version 1 message that reads packs (version 2) into fewer bytes that read to exactly
 *    the same lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/event_msg.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s\n", #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lines(const struct event_lines *l)
{
	CHECK(l->n >= 1 && l->n <= FLEET_MSG_EVENTS_MAX);
	for (size_t i = 0; i < l->n; i++) {
		const struct event_line *e = &l->line[i];

		CHECK(e->len > 0 && e->off + e->len <= l->text.len);
		CHECK(l->text.p[e->off + e->len - 1] == '\n');
		CHECK(e->prev < e->seq);
		CHECK(!i || (e->prev == l->line[i - 1].seq && e->off == l->line[i - 1].off +
							     l->line[i - 1].len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_lines l, again;
	static uint8_t packed[FLEET_MSG_EVENTS_MAX * (REC_MAX_LEN + 1)];
	size_t n;

	if (event_msg_read(&l, "pop-1", data, size)) {
		CHECK(l.n == 0);
		return 0;
	}
	check_lines(&l);
	if (size <= EVENT_MSG_HDR_LEN || memcmp(data, "ETEM", 4) || data[4] != 1)
		return 0;
	n = event_msg_pack(packed, sizeof(packed), data, size);
	if (!n)
		return 0; /* no shorter: sent as it is */
	CHECK(n < size);
	CHECK(event_msg_read(&again, "pop-1", packed, n) == 0);
	CHECK(again.n == l.n && again.text.len == l.text.len);
	CHECK(!memcmp(again.text.p, l.text.p, l.text.len));
	return 0;
}
