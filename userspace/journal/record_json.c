// SPDX-License-Identifier: MIT
#include "journal/record_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[] = { "head", "cidr", "user_agent", "fast_click" };

const char *journal_reason_name(unsigned i)
{
	return i < 4 ? reason_names[i] : "?";
}

void journal_ua_hex(const uint8_t d[8], char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

int json_u64_value(const json_t *v, uint64_t *out)
{
	const char *s;
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s || *s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

json_t *journal_record_json(const struct journal_record *rec)
{
	const struct event *ev = &rec->ev;
	char client[64], ua[17];
	json_t *o = json_object(), *reasons = json_array();

	if (!o || !reasons) {
		json_decref(o);
		json_decref(reasons);
		return NULL;
	}
	journal_ua_hex(ev->ua_digest, ua);
	event_client_text(ev, client, sizeof(client));
	for (unsigned i = 0; i < 4; i++)
		if (ev->machine_reasons & (1u << i))
			json_array_append_new(reasons, json_string(reason_names[i]));
	json_object_set_new(o, "seq", json_u64(rec->seq));
	json_object_set_new(o, "time_ns", json_u64(ev->time_ns));
	json_object_set_new(o, "kind", json_string(event_kind_name(ev->kind)));
	json_object_set_new(o, "host", json_stringn(ev->host, ev->host_len));
	json_object_set_new(o, "message_id", json_u64(ev->message_id));
	json_object_set_new(o, "recipient_id", json_u64(ev->recipient_id));
	json_object_set_new(o, "link_index", json_integer(ev->link_index));
	json_object_set_new(o, "client", strcmp(client, "-") ? json_string(client) : json_null());
	json_object_set_new(o, "ua_digest", json_string(ua));
	json_object_set_new(o, "tls", json_boolean(ev->flags & EVENT_TLS));
	json_object_set_new(o, "machine", json_boolean(ev->flags & EVENT_MACHINE));
	json_object_set_new(o, "machine_reasons", reasons);
	return o;
}
