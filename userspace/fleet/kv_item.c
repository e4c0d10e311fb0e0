// SPDX-License-Identifier: MIT
#include "fleet/kv_item.h"

#include "core/err.h"
#include "core/json_member.h"
#include "core/num.h"
#include "journal/record_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kv_challenge_json(const char *token, const char *keyauth, uint64_t expires_at,
			char *err, size_t errlen)
{
	json_t *o;
	char *text;

	if (challenge_pair_valid(token, keyauth, err, errlen))
		return NULL;
	o = json_pack("{s:s,s:s,s:o}", "token", token, "key_authorization", keyauth,
		      "expires_at", json_u64(expires_at));
	text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		err_set(err, errlen, "out of memory");
	return text;
}

static int parse_members(const json_t *o, struct kv_challenge *out, char *err, size_t errlen)
{
	static const char *const known[] = { "token", "key_authorization", "expires_at", NULL };
	const char *token = json_string_value(json_object_get(o, "token"));
	const char *ka = json_string_value(json_object_get(o, "key_authorization"));
	const char *bad = json_unknown_member((json_t *)o, known);

	if (bad)
		return err_set(err, errlen, "challenge: %s: unknown member", bad);
	if (!token || !ka)
		return err_set(err, errlen, "challenge: token and key_authorization are required");
	if (json_u64_value(json_object_get(o, "expires_at"), &out->expires_at) ||
	    !out->expires_at)
		return err_set(err, errlen, "challenge: expires_at must be a positive integer");
	if (challenge_pair_valid(token, ka, err, errlen))
		return -1;
	snprintf(out->token, sizeof(out->token), "%s", token);
	snprintf(out->key_authorization, sizeof(out->key_authorization), "%s", ka);
	return 0;
}

int kv_challenge_parse(const void *data, size_t len, struct kv_challenge *out, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(err, errlen, "challenge: not a JSON object");
	}
	rc = parse_members(o, out, err, errlen);
	json_decref(o);
	return rc;
}

int kv_challenge_ttl(const char *text, uint32_t *ttl, char *err, size_t errlen)
{
	uint64_t v;

	if (num_parse_u64(text, KV_CHALLENGE_TTL_MAX, &v) || v < 1)
		return err_set(err, errlen, "--ttl: must be 1 to %u seconds", KV_CHALLENGE_TTL_MAX);
	*ttl = (uint32_t)v;
	return 0;
}
