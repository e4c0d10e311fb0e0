// SPDX-License-Identifier: MIT
#include "journal/journal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void journal_settings_default(struct journal_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", "/var/lib/edgetrack/journal");
	s->sync = JOURNAL_SYNC_BATCH;
	s->batch_window_us = 2000;
	s->batch_max = 1024;
	s->queue_depth = 4096;
	s->segment_bytes = 64ull << 20;
	s->segment_age_s = 3600;
	s->retain_bytes = 8ull << 30;
	s->retain_days = 30;
	s->on_full = JOURNAL_FULL_REJECT;
	s->preallocate = 1;
}

const char *journal_sync_name(enum journal_sync s)
{
	switch (s) {
	case JOURNAL_SYNC_BATCH: return "batch";
	case JOURNAL_SYNC_ALWAYS: return "always";
	case JOURNAL_SYNC_NONE: return "none";
	}
	return "?";
}

static int fail(char *err, size_t errlen, const char *key, const char *why)
{
	snprintf(err, errlen, "journal.%s: %s", key, why);
	return -EINVAL;
}

/* Integer key within [min, max]. */
static int get_uint(const char *key, json_t *v, uint64_t min, uint64_t max, uint64_t *out,
		    char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(err, errlen, key, "must be an integer");
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
		snprintf(err, errlen, "journal.%s: must be between %llu and %llu", key,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

static int parse_sync(json_t *v, enum journal_sync *out, char *err, size_t errlen)
{
	const char *s = json_string_value(v);

	if (!s)
		return fail(err, errlen, "sync", "must be a string");
	if (strcmp(s, "batch") == 0)
		*out = JOURNAL_SYNC_BATCH;
	else if (strcmp(s, "always") == 0)
		*out = JOURNAL_SYNC_ALWAYS;
	else if (strcmp(s, "none") == 0)
		*out = JOURNAL_SYNC_NONE;
	else
		return fail(err, errlen, "sync", "must be \"batch\", \"always\" or \"none\"");
	return 0;
}

static int parse_on_full(json_t *v, enum journal_on_full *out, char *err, size_t errlen)
{
	const char *s = json_string_value(v);

	if (!s)
		return fail(err, errlen, "on_full", "must be a string");
	if (strcmp(s, "reject") == 0)
		*out = JOURNAL_FULL_REJECT;
	else if (strcmp(s, "redirect-unrecorded") == 0)
		*out = JOURNAL_FULL_REDIRECT_UNRECORDED;
	else
		return fail(err, errlen, "on_full", "must be \"reject\" or \"redirect-unrecorded\"");
	return 0;
}

static int parse_dir(json_t *v, struct journal_settings *s, char *err, size_t errlen)
{
	const char *d = json_string_value(v);

	if (!d || !*d)
		return fail(err, errlen, "dir", "must be a non-empty string");
	if (strlen(d) >= sizeof(s->dir))
		return fail(err, errlen, "dir", "path too long");
	snprintf(s->dir, sizeof(s->dir), "%s", d);
	return 0;
}

static int parse_key(const char *key, json_t *v, struct journal_settings *s, char *err,
		     size_t errlen)
{
	uint64_t n;
	int rc;

	if (strcmp(key, "dir") == 0)
		return parse_dir(v, s, err, errlen);
	if (strcmp(key, "sync") == 0)
		return parse_sync(v, &s->sync, err, errlen);
	if (strcmp(key, "on_full") == 0)
		return parse_on_full(v, &s->on_full, err, errlen);
	if (strcmp(key, "preallocate") == 0) {
		if (!json_is_boolean(v))
			return fail(err, errlen, key, "must be true or false");
		s->preallocate = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "batch_window_us") == 0) {
		rc = get_uint(key, v, 0, 1000000, &n, err, errlen);
		s->batch_window_us = (uint32_t)n;
	} else if (strcmp(key, "batch_max") == 0) {
		rc = get_uint(key, v, 1, 65536, &n, err, errlen);
		s->batch_max = (uint32_t)n;
	} else if (strcmp(key, "queue_depth") == 0) {
		rc = get_uint(key, v, 2, 1u << 20, &n, err, errlen);
		if (rc == 0 && (n & (n - 1)) != 0)
			return fail(err, errlen, key, "must be a power of two");
		s->queue_depth = (uint32_t)n;
	} else if (strcmp(key, "segment_bytes") == 0) {
		rc = get_uint(key, v, 4096, 1ull << 40, &s->segment_bytes, err, errlen);
	} else if (strcmp(key, "segment_age_s") == 0) {
		rc = get_uint(key, v, 0, 1ull << 32, &s->segment_age_s, err, errlen);
	} else if (strcmp(key, "retain_bytes") == 0) {
		rc = get_uint(key, v, 0, 1ull << 50, &s->retain_bytes, err, errlen);
	} else if (strcmp(key, "retain_days") == 0) {
		rc = get_uint(key, v, 0, 36500, &s->retain_days, err, errlen);
	} else {
		return fail(err, errlen, key, "unknown key");
	}
	return rc;
}

int journal_settings_parse(const json_t *obj, struct journal_settings *out, char *err,
			   size_t errlen)
{
	struct journal_settings s = *out;
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "journal: must be an object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		int rc = parse_key(key, v, &s, err, errlen);

		if (rc)
			return rc;
	}
	*out = s;
	return 0;
}
