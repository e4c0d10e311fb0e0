// SPDX-License-Identifier: MIT
#include "track/machine.h"

#include "track/event.h"

#include <string.h>

/* Agents are stored lower-case with their lengths (config.c); the User-Agent is lowered once, then each agent
 * is one memmem() instead of a case-insensitive compare at every offset. */
static bool agent_matches(const struct config_machine *m, const char *ua, size_t len)
{
	char low[512];

	if (len > sizeof(low))
		len = sizeof(low); /* the identifying part of a User-Agent comes first */
	for (size_t i = 0; i < len; i++)
		low[i] = (ua[i] >= 'A' && ua[i] <= 'Z') ? ua[i] + 32 : ua[i];
	for (unsigned i = 0; i < m->n_agents; i++)
		if (memmem(low, len, m->agents[i], m->agent_len[i]))
			return true;
	return false;
}

uint8_t machine_reasons(const struct config_machine *m, bool head, int family,
			const uint8_t *addr, const char *ua, size_t ua_len)
{
	uint8_t r = 0;

	if (head)
		r |= EVENT_MR_HEAD;
	for (unsigned i = 0; i < m->n_cidrs; i++) {
		if (config_cidr_contains(&m->cidrs[i], family, addr)) {
			r |= EVENT_MR_CIDR;
			break;
		}
	}
	/* No User-Agent at all is a script, not a mail client. */
	if (!ua_len || agent_matches(m, ua, ua_len))
		r |= EVENT_MR_USER_AGENT;
	return r;
}

/* FNV-1a over the identifying fields; 0 is reserved for an empty slot. */
static uint64_t open_key(int family, const uint8_t *addr, uint64_t mid, uint64_t rid)
{
	uint64_t h = 1469598103934665603ull;
	size_t alen = family == 6 ? 16 : 4;
	uint8_t buf[16 + 16];

	memcpy(buf, addr, alen);
	memcpy(buf + alen, &mid, 8);
	memcpy(buf + alen + 8, &rid, 8);
	for (size_t i = 0; i < alen + 16; i++) {
		h ^= buf[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

void open_memory_note(struct open_memory *om, int family, const uint8_t *addr,
		      uint64_t message_id, uint64_t recipient_id, uint64_t now_ms)
{
	uint64_t k = open_key(family, addr, message_id, recipient_id);

	om->slot[k % OPEN_MEMORY_SLOTS].key = k;
	om->slot[k % OPEN_MEMORY_SLOTS].time_ms = now_ms;
}

bool open_memory_recent(const struct open_memory *om, int family, const uint8_t *addr,
			uint64_t message_id, uint64_t recipient_id, uint64_t now_ms,
			uint64_t window_ms)
{
	uint64_t k = open_key(family, addr, message_id, recipient_id);

	if (!window_ms || om->slot[k % OPEN_MEMORY_SLOTS].key != k)
		return false;
	return now_ms - om->slot[k % OPEN_MEMORY_SLOTS].time_ms <= window_ms;
}
