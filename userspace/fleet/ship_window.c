// SPDX-License-Identifier: MIT
#include "fleet/ship_window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_SENT, SLOT_ACKED };

static uint8_t *slot(const struct ship_window *w, uint64_t seq)
{
	return &w->state[seq & (w->cap - 1)];
}

int ship_window_init(struct ship_window *w, uint32_t cap, uint64_t cursor)
{
	uint32_t c = 2;

	while (c < cap && c < (1u << 30))
		c <<= 1;
	memset(w, 0, sizeof(*w));
	w->state = calloc(c, 1);
	if (!w->state)
		return -ENOMEM;
	w->cap = c;
	w->acked = w->floor = cursor;
	w->next = cursor + 1;
	return 0;
}

void ship_window_free(struct ship_window *w)
{
	free(w->state);
	w->state = NULL;
}

bool ship_window_room(const struct ship_window *w, uint64_t seq)
{
	return seq > w->acked && seq - w->acked <= w->cap;
}

bool ship_window_is_acked(const struct ship_window *w, uint64_t seq)
{
	if (seq <= w->acked)
		return true;
	return ship_window_room(w, seq) && *slot(w, seq) == SLOT_ACKED;
}

void ship_window_sent(struct ship_window *w, uint64_t seq)
{
	if (ship_window_room(w, seq) && *slot(w, seq) != SLOT_ACKED)
		*slot(w, seq) = SLOT_SENT;
	if (seq >= w->next)
		w->next = seq + 1;
}

bool ship_window_ack(struct ship_window *w, uint64_t seq)
{
	uint64_t before = w->acked;

	if (!ship_window_room(w, seq))
		return false;
	*slot(w, seq) = SLOT_ACKED;
	/* slots at or below the cursor are freed as it passes, so a slot never holds the state
	   of a seq one window back */
	while (*slot(w, w->acked + 1) == SLOT_ACKED) {
		*slot(w, w->acked + 1) = SLOT_FREE;
		w->acked++;
		w->floor = w->acked;
	}
	if (w->next <= w->acked)
		w->next = w->acked + 1;
	return w->acked != before;
}

void ship_window_failed(struct ship_window *w, uint64_t seq)
{
	if (ship_window_room(w, seq) && *slot(w, seq) == SLOT_SENT)
		*slot(w, seq) = SLOT_FREE;
	ship_window_rewind(w);
}

void ship_window_rewind(struct ship_window *w)
{
	w->next = w->acked + 1;
}

bool ship_window_skip_to(struct ship_window *w, uint64_t seq)
{
	if (seq <= w->acked + 1)
		return true;
	if (w->next != w->acked + 1 || ship_window_in_flight(w))
		return false;
	memset(w->state, SLOT_FREE, w->cap);
	w->acked = seq - 1;
	w->next = seq;
	return true;
}

uint64_t ship_window_in_flight(const struct ship_window *w)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < w->cap; i++)
		n += w->state[i] == SLOT_SENT;
	return n;
}
