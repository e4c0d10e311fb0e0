// SPDX-License-Identifier: MIT
#include "track/event.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

const char *event_kind_name(enum event_kind k)
{
	switch (k) {
	case EVENT_CLICK: return "click";
	case EVENT_OPEN: return "open";
	case EVENT_UNSUBSCRIBE: return "unsubscribe";
	}
	return "unknown";
}

int event_client_text(const struct event *ev, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	int af = ev->addr_family == 6 ? AF_INET6 : AF_INET;

	if (ev->addr_family != 4 && ev->addr_family != 6)
		return snprintf(out, cap, "-");
	if (!inet_ntop(af, ev->addr, addr, sizeof(addr)))
		return snprintf(out, cap, "-");
	return snprintf(out, cap, "%s/%u", addr, ev->addr_prefix);
}

static const char *const machine_reason_names[] = { "head", "cidr", "user_agent", "fast_click" };

int event_format_json(const struct event *ev, uint64_t seq, char *out, size_t cap)
{
	char client[INET6_ADDRSTRLEN + 8], ua[17], reasons[64] = "";
	size_t rl = 0;

	event_client_text(ev, client, sizeof(client));
	for (int i = 0; i < 8; i++)
		snprintf(ua + 2 * i, 3, "%02x", ev->ua_digest[i]);
	for (unsigned i = 0; i < sizeof(machine_reason_names) / sizeof(*machine_reason_names); i++) {
		if (!(ev->machine_reasons & (1u << i)))
			continue;
		rl += snprintf(reasons + rl, sizeof(reasons) - rl, "%s\"%s\"", rl ? "," : "",
			       machine_reason_names[i]);
	}
	/* host holds only validated DNS name characters: no JSON escaping needed. */
	return snprintf(out, cap,
			"{\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"kind\":\"%s\",\"host\":\"%.*s\","
			"\"message_id\":%" PRIu64 ",\"recipient_id\":%" PRIu64 ",\"link_index\":%u,"
			"\"client\":\"%s\",\"ua_digest\":\"%s\",\"tls\":%s,\"machine\":%s,"
			"\"machine_reasons\":[%s]}\n",
			seq, ev->time_ns, event_kind_name(ev->kind), ev->host_len, ev->host,
			ev->message_id, ev->recipient_id, ev->link_index, client, ua,
			(ev->flags & EVENT_TLS) ? "true" : "false",
			(ev->flags & EVENT_MACHINE) ? "true" : "false", reasons);
}
