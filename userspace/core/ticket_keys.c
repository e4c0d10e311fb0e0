// SPDX-License-Identifier: MIT
#include "core/ticket_keys.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *hex, unsigned char *out, size_t *outlen)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 < TICKET_SECRET_MIN || n / 2 > TICKET_SECRET_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

static int parse_member(const char *key, const json_t *v, const char *path, size_t i,
			struct ticket_key *k, char *err, size_t errlen)
{
	if (!strcmp(key, "name")) {
		if (!json_is_string(v) || json_string_length(v) > TICKET_NAME_MAX)
			return err_set(err, errlen, "%s[%zu].name: expected a string of at most %d "
				       "bytes", path, i, TICKET_NAME_MAX);
		snprintf(k->name, sizeof(k->name), "%s", json_string_value(v));
		return 0;
	}
	if (!strcmp(key, "secret")) {
		if (!json_is_string(v) || parse_hex(json_string_value(v), k->secret, &k->secret_len))
			return err_set(err, errlen, "%s[%zu].secret: expected %d to %d hex digits",
				       path, i, 2 * TICKET_SECRET_MIN, 2 * TICKET_SECRET_MAX);
		return 0;
	}
	return err_set(err, errlen, "%s[%zu].%s: unknown key", path, i, key);
}

static int parse_key(const json_t *o, const char *path, size_t i, struct ticket_key *k,
		     char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return err_set(err, errlen, "%s[%zu]: expected an object", path, i);
	json_object_foreach((json_t *)o, key, v)
		if (parse_member(key, v, path, i, k, err, errlen))
			return -1;
	if (!k->secret_len)
		return err_set(err, errlen, "%s[%zu].secret: missing", path, i);
	return 0;
}

int ticket_keys_parse(const json_t *a, const char *path, struct ticket_key keys[TICKET_KEYS_MAX],
		      size_t *n, char *err, size_t errlen)
{
	if (!json_is_array(a) || json_array_size(a) > TICKET_KEYS_MAX)
		return err_set(err, errlen, "%s: expected an array of at most %d keys", path,
			       TICKET_KEYS_MAX);
	memset(keys, 0, TICKET_KEYS_MAX * sizeof(*keys));
	*n = json_array_size(a);
	for (size_t i = 0; i < *n; i++)
		if (parse_key(json_array_get(a, i), path, i, &keys[i], err, errlen))
			return -1;
	return 0;
}

int ticket_keys_load(const void *text, size_t len, const char *path,
		     struct ticket_key keys[TICKET_KEYS_MAX], size_t *n, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!a)
		return err_set(err, errlen, "%s: bad JSON at line %d: %s", path, jerr.line,
			       jerr.text);
	rc = ticket_keys_parse(a, path, keys, n, err, errlen);
	json_decref(a);
	return rc;
}
