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
