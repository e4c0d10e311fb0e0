/* SPDX-License-Identifier: MIT */
/*
 * The "machine" flag of an event: link scanners, security gateways and image prefetchers
 * fetch tracking URLs without a person. Such events are kept and flagged, never dropped,
 * so the ESP decides what counts.
 */
#ifndef ET_TRACK_MACHINE_H
#define ET_TRACK_MACHINE_H

#include "core/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reasons known from the request alone (HEAD, CIDR, user agent): enum event_machine_reason. */
uint8_t machine_reasons(const struct config_machine *m, bool head, int family,
			const uint8_t *addr, const char *ua, size_t ua_len);

/*
 * Recent opens per client and message, to flag a click that follows an open within
 * fast_click_ms (a prefetcher rendering and then following every link). A fixed-size table
 * per worker: newer opens overwrite older ones in the same slot, which only ever loses a
 * flag, never an event.
 */
#define OPEN_MEMORY_SLOTS 4096

struct open_memory {
	struct {
		uint64_t key;
		uint64_t time_ms;
	} slot[OPEN_MEMORY_SLOTS];
};

void open_memory_note(struct open_memory *om, int family, const uint8_t *addr,
		      uint64_t message_id, uint64_t recipient_id, uint64_t now_ms);
bool open_memory_recent(const struct open_memory *om, int family, const uint8_t *addr,
			uint64_t message_id, uint64_t recipient_id, uint64_t now_ms,
			uint64_t window_ms);

#endif
