// SPDX-License-Identifier: MIT
#include "fleet/fleet_settings.h"

#include "core/err.h"
#include "core/json_member.h"

#include <stdio.h>
#include <string.h>

void fleet_settings_default(struct fleet_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->stream, sizeof(s->stream), "%s", FLEET_STREAM_DEFAULT);
	snprintf(s->status_bucket, sizeof(s->status_bucket), "%s", FLEET_BUCKET_DEFAULT);
	snprintf(s->bundle_bucket, sizeof(s->bundle_bucket), "%s", FLEET_BUNDLE_BUCKET_DEFAULT);
	snprintf(s->challenge_bucket, sizeof(s->challenge_bucket), "%s",
		 FLEET_CHALLENGE_BUCKET_DEFAULT);
	s->replicas = 3;
	s->max_pending = 4096;
	s->compress = true;
	s->ack_timeout_ms = 5000;
	s->status_interval_s = 10;
}

int fleet_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FLEET_NAME_MAX)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static int get_u32(const json_t *o, const char *key, uint32_t min, uint32_t max, uint32_t *out,
		   char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (!v)
		return 0;
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < (json_int_t)min || n > (json_int_t)max)
		return err_set(err, errlen, "nats.%s: must be an integer between %u and %u", key,
			       min, max);
	*out = (uint32_t)n;
	return 0;
}

static int get_bool(const json_t *o, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return err_set(err, errlen, "nats.%s: must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_name(const json_t *o, const char *key, char *out, size_t cap, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v) || !fleet_name_valid(json_string_value(v)))
		return err_set(err, errlen, "nats.%s: must be 1 to %d letters, digits, '_' or '-'",
			       key, FLEET_NAME_MAX);
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

static int url_valid(const char *u)
{
	return (strncmp(u, "nats://", 7) == 0 || strncmp(u, "tls://", 6) == 0) &&
	       strlen(u) < FLEET_URL_MAX && !strpbrk(u, " ,\t\r\n");
}

static int get_servers(const json_t *o, struct fleet_settings *s, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, "servers"), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > FLEET_MAX_SERVERS)
		return err_set(err, errlen, "nats.servers: must be a list of 1 to %d URLs",
			       FLEET_MAX_SERVERS);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !url_valid(json_string_value(v)))
			return err_set(err, errlen,
				       "nats.servers[%zu]: must be a nats:// or tls:// URL", i);
		snprintf(s->servers[i], sizeof(s->servers[i]), "%s", json_string_value(v));
	}
	s->n_servers = (unsigned)i;
	return 0;
}

/* One bucket per purpose: a status record read as a bundle would be refused for ever. */
static int distinct_buckets(const struct fleet_settings *s, char *err, size_t errlen)
{
	if (!strcmp(s->status_bucket, s->bundle_bucket) ||
	    !strcmp(s->status_bucket, s->challenge_bucket) ||
	    !strcmp(s->bundle_bucket, s->challenge_bucket))
		return err_set(err, errlen, "nats: status_bucket, bundle_bucket and "
			       "challenge_bucket must be three different buckets");
	return 0;
}

int fleet_settings_parse(const json_t *obj, struct fleet_settings *out, char *err,
			 size_t errlen)
{
	static const char *const known[] = { "servers", "stream", "replicas", "appliance_id",
					     "max_pending", "compress", "ack_timeout_ms",
					     "status_bucket", "status_interval_s", "bundle_bucket",
					     "challenge_bucket", NULL };
	struct fleet_settings s = *out;
	uint32_t replicas = s.replicas;
	const char *bad;

	if (!json_is_object(obj))
		return err_set(err, errlen, "nats: must be an object");
	bad = json_unknown_member((json_t *)obj, known);
	if (bad)
		return err_set(err, errlen, "nats.%s: unknown member", bad);
	if (get_servers(obj, &s, err, errlen) ||
	    get_name(obj, "stream", s.stream, sizeof(s.stream), err, errlen) ||
	    get_name(obj, "appliance_id", s.appliance_id, sizeof(s.appliance_id), err, errlen) ||
	    get_name(obj, "status_bucket", s.status_bucket, sizeof(s.status_bucket), err,
		     errlen) ||
	    get_name(obj, "bundle_bucket", s.bundle_bucket, sizeof(s.bundle_bucket), err,
		     errlen) ||
	    get_name(obj, "challenge_bucket", s.challenge_bucket, sizeof(s.challenge_bucket),
		     err, errlen) || distinct_buckets(&s, err, errlen) ||
	    get_u32(obj, "replicas", 1, 5, &replicas, err, errlen) ||
	    get_u32(obj, "max_pending", 1, 65536, &s.max_pending, err, errlen) ||
	    get_bool(obj, "compress", &s.compress, err, errlen) ||
	    get_u32(obj, "ack_timeout_ms", 100, 600000, &s.ack_timeout_ms, err, errlen) ||
	    get_u32(obj, "status_interval_s", 1, 3600, &s.status_interval_s, err, errlen))
		return -1;
	s.replicas = replicas;
	*out = s;
	return 0;
}
