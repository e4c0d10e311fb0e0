// SPDX-License-Identifier: MIT
/*
 * Token codec under arbitrary input, against a fixed keyring and host:
 *  - decoding never crashes, and a token that verifies is exactly the re-encoding of what it
 *    decoded (one spelling per token, nothing unauthenticated in it);
 *  - the shared-keyring and per-thread verifier paths always agree;
 *  - whatever parses unverified re-encodes to the same payload text and then verifies;
 *  - the input read as token fields either encodes and decodes back to the same fields, or is
 *    refused for a reason the fields show;
 *  - hostname_normalize is idempotent on whatever it accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hostname.h"
#include "track/token.h"

#define HOST "click.example.com"
#define NOW  ((time_t)20000 * 86400)   /* a fixed clock: results must not depend on the day */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rings {
	struct token_keyring *some;   /* ids 0, 1, 200: decode side */
	struct token_keyring *all;    /* every id: re-encoding whatever key a token names */
	struct token_verifier *v;
};

static void derive_key(uint8_t id, uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(id * 31 + i * 7 + 1);
}

static const struct rings *rings(void)
{
	static struct rings r;
	uint8_t key[32];

	if (r.some)
		return &r;
	r.some = token_keyring_new();
	r.all = token_keyring_new();
	if (!r.some || !r.all)
		abort();
	for (int id = 0; id < 256; id++) {
		derive_key((uint8_t)id, key);
		if (token_keyring_add(r.all, (uint8_t)id, key, sizeof(key), NULL, 0) < 0)
			abort();
		if ((id == 0 || id == 1 || id == 200) &&
		    token_keyring_add(r.some, (uint8_t)id, key, sizeof(key), NULL, 0) < 0)
			abort();
	}
	if (token_keyring_set_current(r.some, 1) < 0 || token_keyring_set_current(r.all, 1) < 0)
		abort();
	r.v = token_verifier_new(r.some);
	if (!r.v)
		abort();
	return &r;
}

static int same(const struct token *a, const struct token *b)
{
	return a->kind == b->kind && a->message_id == b->message_id &&
	       a->recipient_id == b->recipient_id && a->link_index == b->link_index &&
	       a->expiry_days == b->expiry_days && a->url_len == b->url_len &&
	       (!a->url_len || memcmp(a->url, b->url, a->url_len) == 0);
}

static void check_decode(const struct rings *r, const char *tok, size_t len)
{
	static uint8_t s1[TOKEN_SCRATCH], s2[TOKEN_SCRATCH], s3[TOKEN_SCRATCH];
	static char out[TOKEN_MAX_LEN + 1];
	struct token a, b, u;
	enum token_err ea, eb, eu;
	int n;

	ea = token_decode(r->some, HOST, strlen(HOST), tok, len, NOW, &a, s1, sizeof(s1));
	eb = token_verifier_decode(r->v, HOST, strlen(HOST), tok, len, NOW, &b, s2, sizeof(s2));
	eu = token_parse_unverified(tok, len, &u, s3, sizeof(s3));
	if (ea != eb)
		abort();
	if (ea == TOKEN_OK) {
		if (!same(&a, &b) || eu != TOKEN_OK || !same(&a, &u) || a.key_id != u.key_id)
			abort();
		n = token_encode_key(r->some, a.key_id, HOST, strlen(HOST), &a, out, sizeof(out),
				     NULL, 0);
		if (n < 0 || (size_t)n != len || memcmp(out, tok, len) != 0)
			abort();
	}
	if (eu != TOKEN_OK)
		return;
	/* Structure is canonical: re-signing keeps the payload text and then verifies. */
	n = token_encode_key(r->all, u.key_id, HOST, strlen(HOST), &u, out, sizeof(out), NULL, 0);
	if (n < 0)
		abort();
	const char *dot = memchr(tok, '.', len);
	size_t plen = dot ? (size_t)(dot - tok) : len;
	if ((size_t)n < plen + 1 || memcmp(out, tok, plen) != 0 || out[plen] != '.')
		abort();
	ea = token_decode(r->all, HOST, strlen(HOST), out, (size_t)n, 0, &a, s1, sizeof(s1));
	if (ea != TOKEN_OK || !same(&a, &u))
		abort();
}

/* Input as fields: kind, flags, ids, expiry, then the URL bytes. */
static void check_encode(const struct rings *r, const uint8_t *d, size_t size)
{
	static uint8_t s[TOKEN_SCRATCH];
	static char out[TOKEN_MAX_LEN + 1];
	struct token t = { 0 }, back;
	int n;

	if (size < 21)
		return;
	t.kind = (enum token_kind)(d[0] % 5);
	for (int i = 0; i < 8; i++) {
		t.message_id = t.message_id << 8 | d[1 + i];
		t.recipient_id = t.recipient_id << 8 | d[9 + i];
	}
	t.link_index = (uint16_t)(d[17] << 8 | d[18]);
	t.expiry_days = (uint16_t)(d[19] << 8 | d[20]);
	if (size > 21) {
		t.url = (const char *)d + 21;
		t.url_len = (uint16_t)(size - 21 > 0xffff ? 0xffff : size - 21);
	}
	n = token_encode(r->some, HOST, strlen(HOST), &t, out, sizeof(out), NULL, 0);
	if (n < 0) {
		int fields_ok = token_kind_name(t.kind) &&
				(t.kind == TOKEN_CLICK ? token_url_valid(t.url, t.url_len)
						       : t.url_len == 0);
		if (fields_ok)
			abort();   /* refused valid fields */
		return;
	}
	if ((size_t)n > TOKEN_MAX_LEN || strlen(out) != (size_t)n)
		abort();
	if (token_decode(r->some, HOST, strlen(HOST), out, (size_t)n, 0, &back, s, sizeof(s)) !=
		    TOKEN_OK || back.key_id != 1 || !same(&t, &back))
		abort();
	/* bound to the host */
	if (token_decode(r->some, "click.example.org", 17, out, (size_t)n, 0, &back, s,
			 sizeof(s)) != TOKEN_EBADTAG)
		abort();
}

static void check_hostname(const uint8_t *d, size_t size)
{
	static const unsigned flags[] = { 0, HOSTNAME_ALLOW_WILDCARD, HOSTNAME_NAME_ONLY };
	char a[HOSTNAME_MAX + 3], b[HOSTNAME_MAX + 3];

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int n = hostname_normalize((const char *)d, size, a, sizeof(a), flags[i]);

		if (n < 0)
			continue;
		if ((size_t)n >= sizeof(a) || strlen(a) != (size_t)n)
			abort();
		if (hostname_normalize(a, (size_t)n, b, sizeof(b), flags[i]) != n ||
		    memcmp(a, b, (size_t)n) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rings *r = rings();

	check_decode(r, (const char *)data, size);
	check_encode(r, data, size);
	check_hostname(data, size);
	return 0;
}
