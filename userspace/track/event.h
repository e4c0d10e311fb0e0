/* SPDX-License-Identifier: MIT */
/*
 * A tracking event: what the journal stores for every click, open and unsubscribe.
 * Fixed size and self-contained (no pointers) so it can be queued between threads and
 * framed on disk without serialisation work on the request path.
 */
#ifndef ET_TRACK_EVENT_H
#define ET_TRACK_EVENT_H

#include <stdint.h>

enum event_kind { EVENT_CLICK = 1, EVENT_OPEN = 2, EVENT_UNSUBSCRIBE = 3 };

enum event_flags {
	EVENT_TLS     = 1u << 0, /* arrived over HTTPS */
	EVENT_MACHINE = 1u << 1, /* HEAD, scanner/proxy CIDR, prefetch user agent, ... */
};

/* Why an event was flagged as machine traffic (bit set, 0 = human as far as we know). */
enum event_machine_reason {
	EVENT_MR_HEAD       = 1u << 0,
	EVENT_MR_CIDR       = 1u << 1,
	EVENT_MR_USER_AGENT = 1u << 2,
	EVENT_MR_FAST_CLICK = 1u << 3,
};

#define EVENT_HOST_MAX 253

struct event {
	uint64_t time_ns;         /* CLOCK_REALTIME */
	uint64_t message_id;
	uint64_t recipient_id;
	uint16_t link_index;
	uint8_t kind;             /* enum event_kind */
	uint8_t flags;            /* enum event_flags */
	uint8_t machine_reasons;  /* enum event_machine_reason */
	uint8_t addr_family;      /* 4 or 6 */
	uint8_t addr_prefix;      /* bits kept of the client address (privacy truncation) */
	uint8_t host_len;
	uint8_t addr[16];         /* client address, truncated to addr_prefix bits */
	uint8_t ua_digest[8];     /* first 8 bytes of SHA-256(User-Agent) */
	char host[EVENT_HOST_MAX + 1];
};

#include <stddef.h>

const char *event_kind_name(enum event_kind k);

/* "203.0.113.0/24" style text of the (truncated) client address; returns snprintf's count. */
int event_client_text(const struct event *ev, char *out, size_t cap);

#endif
