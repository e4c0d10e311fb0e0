// SPDX-License-Identifier: MIT
/* The event stream's messages: the journal's records behind a header, written by the shipper
   and turned into the consumer's lines. */
#include "fleet/event_msg.h"

#include "journal/record_json.h"

#include <endian.h>
#include <jansson.h>
#include <lz4.h>
#include <stdbool.h>
#include <string.h>

#define EVENT_MSG_MAGIC   "ETEM"
#define EVENT_MSG_VERSION 1
#define EVENT_MSG_LZ4     2
#define EVENT_MSG_LZ4_HDR (EVENT_MSG_HDR_LEN + 4)
/* the records of a message at most: a run of the longest ones */
#define EVENT_MSG_RECORDS_MAX ((size_t)FLEET_MSG_EVENTS_MAX * REC_MAX_LEN)
/* one event's line: every byte of host and appliance escaped as \u00XX fits */
#define LINE_MAX_LEN      4096

size_t event_msg_begin(uint8_t *buf, uint64_t prev)
{
	uint64_t le = htole64(prev);

	memcpy(buf, EVENT_MSG_MAGIC, 4);
	buf[4] = EVENT_MSG_VERSION;
	memset(buf + 5, 0, 3);
	memcpy(buf + 8, &le, 8);
	return EVENT_MSG_HDR_LEN;
}

size_t event_msg_add(uint8_t *buf, size_t cap, const uint8_t *rec, size_t len)
{
	if (cap < len)
		return 0;
	memcpy(buf, rec, len);
	return len;
}

size_t event_msg_pack(uint8_t *out, size_t cap, const uint8_t *msg, size_t len)
{
	uint32_t le;
	size_t n;
	int z;

	if (cap > len)
		cap = len; /* only a shorter message is worth it */
	if (cap <= EVENT_MSG_LZ4_HDR + 1 || len - EVENT_MSG_HDR_LEN > EVENT_MSG_RECORDS_MAX)
		return 0;
	n = len - EVENT_MSG_HDR_LEN;
	z = LZ4_compress_default((const char *)msg + EVENT_MSG_HDR_LEN,
				 (char *)out + EVENT_MSG_LZ4_HDR, (int)n,
				 (int)(cap - EVENT_MSG_LZ4_HDR - 1));
	if (z <= 0)
		return 0;
	memcpy(out, msg, EVENT_MSG_HDR_LEN);
	out[4] = EVENT_MSG_LZ4;
	le = htole32((uint32_t)n);
	memcpy(out + EVENT_MSG_HDR_LEN, &le, 4);
	return EVENT_MSG_LZ4_HDR + (size_t)z;
}

/* Enters the line just written at the end of out->text, seq after prev; it must follow the
   line before it, if any. */
static int add_line(struct event_lines *out, size_t off, uint64_t seq, uint64_t prev)
{
	if (out->n == FLEET_MSG_EVENTS_MAX || out->text.failed || prev >= seq ||
	    (out->n && prev != out->line[out->n - 1].seq))
		return -1;
	mbuf_put(&out->text, "\n", 1);
	out->line[out->n++] = (struct event_line){ .seq = seq, .prev = prev, .off = off,
						   .len = out->text.len - off };
	return out->text.failed ? -1 : 0;
}

/* ---------------------------------------------------------------- records */

static int record_line(struct event_lines *out, const char *appliance,
		       const struct journal_record *rec, uint64_t prev)
{
	size_t off = out->text.len, len;
	char *at = mbuf_room(&out->text, LINE_MAX_LEN);

	if (!at || !(len = journal_record_write(rec, appliance, at, LINE_MAX_LEN)))
		return -1;
	mbuf_added(&out->text, len);
	return add_line(out, off, rec->seq, prev);
}

/* The records p[0..len), the first one after prev. */
static int read_records(struct event_lines *out, const char *appliance, uint64_t prev,
			const uint8_t *p, size_t len)
{
	struct journal_record rec;
	size_t at, rlen;

	for (at = 0; at < len; at += rlen) {
		if (rec_decode(p + at, len - at, &rec, &rlen) != REC_OK ||
		    (out->n && rec.seq != prev + 1) || record_line(out, appliance, &rec, prev))
			return -1;
		prev = rec.seq;
	}
	return 0;
}

/* A version 2 message's records into out->records: NULL when the block is damaged or does
   not hold exactly the length its header states (at most a run of the longest records). */
static const uint8_t *unpack(struct event_lines *out, const uint8_t *p, size_t len, size_t *n)
{
	uint32_t le;
	uint8_t *at;

	if (len <= EVENT_MSG_LZ4_HDR)
		return NULL;
	memcpy(&le, p + EVENT_MSG_HDR_LEN, 4);
	*n = le32toh(le);
	mbuf_reset(&out->records);
	if (!*n || *n > EVENT_MSG_RECORDS_MAX ||
	    !(at = (uint8_t *)mbuf_room(&out->records, *n)))
		return NULL;
	if (LZ4_decompress_safe((const char *)p + EVENT_MSG_LZ4_HDR, (char *)at,
				(int)(len - EVENT_MSG_LZ4_HDR), (int)*n) != (int)*n)
		return NULL;
	return at;
}

static int read_msg(struct event_lines *out, const char *appliance, const uint8_t *p,
		    size_t len)
{
	const uint8_t *recs = p + EVENT_MSG_HDR_LEN;
	size_t n;
	uint64_t le;

	if (len <= EVENT_MSG_HDR_LEN || p[5] || p[6] || p[7])
		return -1;
	n = len - EVENT_MSG_HDR_LEN;
	if (p[4] == EVENT_MSG_LZ4)
		recs = unpack(out, p, len, &n);
	else if (p[4] != EVENT_MSG_VERSION)
		return -1;
	if (!recs)
		return -1;
	memcpy(&le, p + 8, 8);
	return read_records(out, appliance, le64toh(le), recs, n);
}

/* ---------------------------------------------------------------- JSON lines */

static int text_put(const char *data, size_t n, void *arg)
{
	struct mbuf *b = arg;

	mbuf_put(b, data, n);
	return b->failed ? -1 : 0;
}

/* One line of appliance's: its object without "prev", dumped as jansson prints it. */
static int json_line(struct event_lines *out, const char *appliance, const char *text,
		     size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *app = json_string_value(json_object_get(o, "appliance"));
	size_t off = out->text.len;
	uint64_t seq, prev;
	int rc = -1;

	if (!app || strcmp(app, appliance) || json_u64_value(json_object_get(o, "seq"), &seq) ||
	    json_u64_value(json_object_get(o, "prev"), &prev))
		goto out;
	json_object_del(o, "prev");
	if (json_dump_callback(o, text_put, &out->text, JSON_COMPACT | JSON_PRESERVE_ORDER))
		goto out;
	rc = add_line(out, off, seq, prev);
out:
	json_decref(o);
	return rc;
}

static int read_json_lines(struct event_lines *out, const char *appliance, const char *d,
			   size_t len)
{
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(d + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - d) : len;

		if (end > at && json_line(out, appliance, d + at, end - at))
			return -1;
		at = end + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- either */

int event_msg_read(struct event_lines *out, const char *appliance, const void *data,
		   size_t len)
{
	bool records = len >= 4 && !memcmp(data, EVENT_MSG_MAGIC, 4);
	int rc;

	out->n = 0;
	mbuf_reset(&out->text);
	rc = records ? read_msg(out, appliance, data, len)
		     : read_json_lines(out, appliance, data, len);
	if (rc || !out->n) {
		out->n = 0;
		return -1;
	}
	return 0;
}

void event_lines_free(struct event_lines *l)
{
	mbuf_free(&l->text);
	mbuf_free(&l->records);
	l->n = 0;
}
