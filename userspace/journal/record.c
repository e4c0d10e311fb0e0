// SPDX-License-Identifier: MIT
#include "journal/record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "journal/crc32c.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

int rec_event_valid(const struct event *ev)
{
	if (ev->kind < EVENT_CLICK || ev->kind > EVENT_UNSUBSCRIBE)
		return 0;
	if (ev->host_len > EVENT_HOST_MAX)
		return 0;
	if (ev->addr_family != 0 && ev->addr_family != 4 && ev->addr_family != 6)
		return 0;
	if (ev->addr_prefix > (ev->addr_family == 4 ? 32 : 128))
		return 0;
	return 1;
}

static uint32_t rec_crc(const uint8_t *buf, size_t len)
{
	return crc32c(crc32c(0, buf, 8), buf + 12, len - 12);
}

size_t rec_encode(uint8_t *buf, uint64_t seq, uint64_t append_ns, const struct event *ev)
{
	size_t len = REC_HDR_LEN + ev->host_len;

	put32(buf, REC_MAGIC);
	put32(buf + 4, (uint32_t)len);
	buf[12] = REC_TYPE_EVENT;
	buf[13] = REC_VERSION;
	put16(buf + 14, 0);
	put64(buf + 16, seq);
	put64(buf + 24, append_ns);
	put64(buf + 32, ev->time_ns);
	put64(buf + 40, ev->message_id);
	put64(buf + 48, ev->recipient_id);
	put16(buf + 56, ev->link_index);
	buf[58] = ev->kind;
	buf[59] = ev->flags;
	buf[60] = ev->machine_reasons;
	buf[61] = ev->addr_family;
	buf[62] = ev->addr_prefix;
	buf[63] = ev->host_len;
	memcpy(buf + 64, ev->addr, 16);
	memcpy(buf + 80, ev->ua_digest, 8);
	memcpy(buf + 88, ev->host, ev->host_len);
	put32(buf + 8, rec_crc(buf, len));
	return len;
}

int rec_magic_at(const uint8_t *buf, size_t avail)
{
	return avail >= 4 && get32(buf) == REC_MAGIC;
}

static void rec_fill(const uint8_t *buf, struct journal_record *out)
{
	struct event *ev = &out->ev;

	memset(out, 0, sizeof(*out));
	out->seq = get64(buf + 16);
	out->append_ns = get64(buf + 24);
	ev->time_ns = get64(buf + 32);
	ev->message_id = get64(buf + 40);
	ev->recipient_id = get64(buf + 48);
	ev->link_index = get16(buf + 56);
	ev->kind = buf[58];
	ev->flags = buf[59];
	ev->machine_reasons = buf[60];
	ev->addr_family = buf[61];
	ev->addr_prefix = buf[62];
	ev->host_len = buf[63];
	memcpy(ev->addr, buf + 64, 16);
	memcpy(ev->ua_digest, buf + 80, 8);
	memcpy(ev->host, buf + 88, ev->host_len);
	ev->host[ev->host_len] = '\0';
}

enum rec_status rec_decode(const uint8_t *buf, size_t avail, struct journal_record *out,
			   size_t *len)
{
	uint32_t rlen;

	*len = 0;
	if (avail < 8)
		return avail >= 4 && get32(buf) != REC_MAGIC ? REC_CORRUPT : REC_SHORT;
	if (get32(buf) != REC_MAGIC)
		return REC_CORRUPT;
	rlen = get32(buf + 4);
	if (rlen < REC_HDR_LEN || rlen > REC_MAX_LEN)
		return REC_CORRUPT;
	*len = rlen;
	if (avail < rlen)
		return REC_SHORT;
	if (get32(buf + 8) != rec_crc(buf, rlen))
		return REC_CORRUPT;
	if (buf[12] != REC_TYPE_EVENT || buf[13] != REC_VERSION || get16(buf + 14) != 0 ||
	    rlen != REC_HDR_LEN + (uint32_t)buf[63])
		return REC_CORRUPT;
	rec_fill(buf, out);
	if (!rec_event_valid(&out->ev))
		return REC_CORRUPT;
	return REC_OK;
}

void seg_hdr_encode(uint8_t buf[SEG_HDR_LEN], uint64_t first_seq, uint64_t created_ns)
{
	memcpy(buf, SEG_MAGIC, 8);
	put64(buf + 8, first_seq);
	put64(buf + 16, created_ns);
	put32(buf + 24, 0);
	put32(buf + 28, crc32c(0, buf, 28));
}

int seg_hdr_decode(const uint8_t buf[SEG_HDR_LEN], uint64_t *first_seq, uint64_t *created_ns)
{
	if (memcmp(buf, SEG_MAGIC, 8) != 0 || get32(buf + 28) != crc32c(0, buf, 28))
		return -EINVAL;
	*first_seq = get64(buf + 8);
	*created_ns = get64(buf + 16);
	return 0;
}

void seg_name(char *name, size_t size, uint64_t first_seq)
{
	snprintf(name, size, "%020" PRIu64 ".seg", first_seq);
}

int seg_name_parse(const char *name, uint64_t *first_seq)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strcmp(name + 20, ".seg") != 0)
		return -EINVAL;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*first_seq = v;
	return 0;
}
