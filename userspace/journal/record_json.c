// SPDX-License-Identifier: MIT
#include "journal/record_json.h"
#include "core/num.h"

#include <inttypes.h>
#include <stdbool.h>
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
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[16] = '\0';
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

/* ---------------------------------------------------------------- written straight */

/* The fleet ships every event, so its JSON is written into the caller's buffer with no
   object built and nothing allocated; test_journal checks it against jansson's dump of
   journal_record_json() byte for byte. */
struct jw {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

#define PUT_LIT(w, lit) put(w, lit, sizeof(lit) - 1)

static void put_u64(struct jw *w, uint64_t v)
{
	char d[NUM_U64_DIGITS], *p = num_format_u64(v, d);

	put(w, p, (size_t)(d + sizeof(d) - p));
}

/* As json_u64() dumps it: a number, or a decimal string above INT64_MAX. */
static void put_u64_json(struct jw *w, uint64_t v)
{
	bool quoted = v > (uint64_t)INT64_MAX;

	if (quoted)
		PUT_LIT(w, "\"");
	put_u64(w, v);
	if (quoted)
		PUT_LIT(w, "\"");
}

/* A JSON string with jansson's escapes: the short ones, \u00XX for other control
   characters, bytes from 0x7f up as they are (the text is UTF-8 already). */
static void put_str(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
	size_t run = 0;

	PUT_LIT(w, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0 };
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		put(w, esc, elen);
	}
	put(w, s + run, n - run);
	PUT_LIT(w, "\"");
}

/* As event_client_text() writes it, or null; IPv4 without a printf per event. */
static void put_client(struct jw *w, const struct event *ev)
{
	char text[64];

	if (ev->addr_family != 4) {
		int n = event_client_text(ev, text, sizeof(text));

		if (!strcmp(text, "-"))
			PUT_LIT(w, "null");
		else
			put_str(w, text, (size_t)n);
		return;
	}
	PUT_LIT(w, "\"");
	for (int i = 0; i < 4; i++) {
		if (i)
			PUT_LIT(w, ".");
		put_u64(w, ev->addr[i]);
	}
	PUT_LIT(w, "/");
	put_u64(w, ev->addr_prefix);
	PUT_LIT(w, "\"");
}

size_t journal_record_write(const struct journal_record *rec, const char *appliance, char *buf,
			    size_t cap)
{
	const struct event *ev = &rec->ev;
	struct jw w = { .p = buf, .cap = cap };
	char ua[17];
	const char *kind = event_kind_name(ev->kind);
	bool first = true;

	journal_ua_hex(ev->ua_digest, ua);
	PUT_LIT(&w, "{\"seq\":");
	put_u64_json(&w, rec->seq);
	PUT_LIT(&w, ",\"time_ns\":");
	put_u64_json(&w, ev->time_ns);
	PUT_LIT(&w, ",\"kind\":");
	put_str(&w, kind, strlen(kind));
	PUT_LIT(&w, ",\"host\":");
	put_str(&w, ev->host, ev->host_len);
	PUT_LIT(&w, ",\"message_id\":");
	put_u64_json(&w, ev->message_id);
	PUT_LIT(&w, ",\"recipient_id\":");
	put_u64_json(&w, ev->recipient_id);
	PUT_LIT(&w, ",\"link_index\":");
	put_u64(&w, ev->link_index);
	PUT_LIT(&w, ",\"client\":");
	put_client(&w, ev);
	PUT_LIT(&w, ",\"ua_digest\":");
	put_str(&w, ua, 16);
	if (ev->flags & EVENT_TLS)
		PUT_LIT(&w, ",\"tls\":true");
	else
		PUT_LIT(&w, ",\"tls\":false");
	if (ev->flags & EVENT_MACHINE)
		PUT_LIT(&w, ",\"machine\":true");
	else
		PUT_LIT(&w, ",\"machine\":false");
	PUT_LIT(&w, ",\"machine_reasons\":[");
	for (unsigned i = 0; i < 4; i++) {
		if (!(ev->machine_reasons & (1u << i)))
			continue;
		if (!first)
			PUT_LIT(&w, ",");
		first = false;
		put_str(&w, reason_names[i], strlen(reason_names[i]));
	}
	PUT_LIT(&w, "]");
	if (appliance) {
		PUT_LIT(&w, ",\"appliance\":");
		put_str(&w, appliance, strlen(appliance));
	}
	PUT_LIT(&w, "}");
	return w.full ? 0 : w.len;
}
