/* SPDX-License-Identifier: MIT */
/*
 * On-disk framing of the journal. All integers little-endian.
 *
 * Segment file "<first seq, 20 digits>.seg" starts with a 32-byte header:
 *   0 magic "ETJSEG01"  8 u64 first_seq  16 u64 created_ns  24 u32 reserved  28 u32 crc32c(0..28)
 *
 * Then records, back to back:
 *   0 u32 magic "ETJR"   4 u32 len (whole record)   8 u32 crc32c of bytes [0,8) and [12,len)
 *  12 u8 type (1 = event)  13 u8 version (1)  14 u16 reserved (0)
 *  16 u64 seq   24 u64 append_ns (writer clock)   32 u64 time_ns (event)
 *  40 u64 message_id   48 u64 recipient_id   56 u16 link_index
 *  58 u8 kind, flags, machine_reasons, addr_family, addr_prefix, host_len
 *  64 addr[16]   80 ua_digest[8]   88 host[host_len]          len = 88 + host_len
 *
 * The per-record magic lets a reader find the next record after one whose length is damaged.
 * Zero bytes may follow the last record up to the end of the file (space the writer reserved
 * ahead; cut when a segment is finished); as a record starts with its magic, a zero byte
 * where a record would start, with nothing but zeros after it, is the end of the records.
 */
#ifndef ET_JOURNAL_RECORD_H
#define ET_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "track/event.h"

#define REC_MAGIC 0x524a5445u /* "ETJR" */
#define REC_TYPE_EVENT 1
#define REC_VERSION 1
#define REC_HDR_LEN 88
#define REC_MAX_LEN (REC_HDR_LEN + EVENT_HOST_MAX)

#define SEG_HDR_LEN 32
#define SEG_MAGIC "ETJSEG01"
#define SEG_NAME_LEN 24 /* 20 digits + ".seg" */

struct journal_record {
	uint64_t seq;
	uint64_t append_ns;
	struct event ev; /* ev.host is NUL-terminated */
};

enum rec_status {
	REC_OK = 0,
	REC_SHORT,   /* fewer bytes than the record needs: incomplete (maybe still being written) */
	REC_CORRUPT, /* bad magic, length, CRC or field values */
};

/* Checks an event before it is queued: kind known, host_len within bounds, family 0/4/6. */
int rec_event_valid(const struct event *ev);

/* Encodes into buf (at least REC_MAX_LEN bytes); returns the record length. */
size_t rec_encode(uint8_t *buf, uint64_t seq, uint64_t append_ns, const struct event *ev);

/* Decodes the record at buf[0..avail). On REC_OK *len is its length and out is filled;
   on REC_SHORT *len is the length it needs (0 if even the header is incomplete). */
enum rec_status rec_decode(const uint8_t *buf, size_t avail, struct journal_record *out,
			   size_t *len);

/* True when buf[0..avail) may be the start of a record (magic matches); used to resync. */
int rec_magic_at(const uint8_t *buf, size_t avail);

void seg_hdr_encode(uint8_t buf[SEG_HDR_LEN], uint64_t first_seq, uint64_t created_ns);
/* 0 if valid; fills first_seq/created_ns. */
int seg_hdr_decode(const uint8_t buf[SEG_HDR_LEN], uint64_t *first_seq, uint64_t *created_ns);

/* "%020llu.seg" into name (at least SEG_NAME_LEN + 1 bytes). */
void seg_name(char *name, size_t size, uint64_t first_seq);
/* 0 and *first_seq if name is a segment file name. */
int seg_name_parse(const char *name, uint64_t *first_seq);

#endif
