/* SPDX-License-Identifier: MIT */
/* Numbers from command lines and text formats: whole, decimal, nothing around them. */
#ifndef EDGETRACK_CORE_NUM_H
#define EDGETRACK_CORE_NUM_H

#include <stdint.h>

/* s is decimal digits only (no sign, space or suffix) and at most max: 0, else -1 and *out
 * untouched. "5s", "" and "-1" are errors, not 5, 0 and a huge number. */
int num_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* v's decimal digits, without printf (hot paths write numbers per response and per event):
 * they end at out + NUM_U64_DIGITS; returns where they start. */
#define NUM_U64_DIGITS 20
char *num_format_u64(uint64_t v, char out[NUM_U64_DIGITS]);

#endif
