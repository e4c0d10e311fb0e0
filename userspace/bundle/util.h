/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the bundle module's files. */
#ifndef ET_BUNDLE_UTIL_H
#define ET_BUNDLE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* A JSON integer in [min, max] into *out. */
bool json_int_in(json_t *v, long long min, long long max, long long *out);
/* Exactly 64 hex digits into 32 bytes. */
int hex32_parse(const char *s, unsigned char out[32]);
void hex32_format(const unsigned char in[32], char out[65]);
/* Whole file into a malloc'd buffer of at most max bytes; NULL with the reason. */
unsigned char *util_read_file(const char *path, size_t max, size_t *len, char *err,
			      size_t errlen);
/* "2026-11-30T06:18:29Z" */
void util_fmt_time(time_t t, char *out, size_t cap);

#endif
