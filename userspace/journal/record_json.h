/* SPDX-License-Identifier: MIT */
/*
 * One journal record as the JSON object `edgetrackctl events tail|export|consume` print:
 * seq, time_ns, kind, host, message_id, recipient_id, link_index, client, ua_digest, tls,
 * machine, machine_reasons (in that order). Shared so every reader of the events sees one
 * format.
 */
#ifndef ET_JOURNAL_RECORD_JSON_H
#define ET_JOURNAL_RECORD_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/record.h"

/* The user-agent digest as 16 hex digits. */
void journal_ua_hex(const uint8_t d[8], char out[17]);

/* Name of machine-reason bit i (0..3): head, cidr, user_agent, fast_click. */
const char *journal_reason_name(unsigned i);

/* A new object (NULL when out of memory). */
json_t *journal_record_json(const struct journal_record *rec);

/* The same JSON as jansson's compact dump of journal_record_json(), with an "appliance"
   member last when appliance is not NULL (the fleet consumer's lines), written into buf with
   nothing allocated: its length, or 0 when it does not fit in cap. Not NUL-terminated. */
size_t journal_record_write(const struct journal_record *rec, const char *appliance, char *buf,
			    size_t cap);

/* JSON integers are signed 64-bit in jansson; larger values become decimal strings. */
json_t *json_u64(uint64_t v);

/* Reads a value json_u64 wrote: 0 and *out, or -1. */
int json_u64_value(const json_t *v, uint64_t *out);

#endif
