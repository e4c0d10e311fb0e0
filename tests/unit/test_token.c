// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "track/token.h"
#include "track/token_cli.h"

#define HOST "click.example.com"
#define URL  "https://shop.example.org/sale?utm_source=mail&id=42#top"
#define DAY  86400

static uint8_t key1[32], key2[64], key7[32];

struct fix {
	struct token_keyring *kr;   /* keys 1 (current) and 2 */
};

/* ------------------------------------------------------------------------ helpers */

static void fill_keys(void)
{
	for (int i = 0; i < 32; i++) {
		key1[i] = (uint8_t)(0xa0 + i);
		key7[i] = (uint8_t)i;   /* the known-answer key: 00 01 .. 1f */
	}
	for (int i = 0; i < 64; i++)
		key2[i] = (uint8_t)(i * 7 + 3);
}

static struct token_keyring *ring(int with1, int with2, int current)
{
	struct token_keyring *kr = token_keyring_new();
	char err[128];

	assert_non_null(kr);
	if (with1)
		assert_int_equal(token_keyring_add(kr, 1, key1, sizeof(key1), err, sizeof(err)), 0);
	if (with2)
		assert_int_equal(token_keyring_add(kr, 2, key2, sizeof(key2), err, sizeof(err)), 0);
	if (current >= 0)
		assert_int_equal(token_keyring_set_current(kr, (uint8_t)current), 0);
	return kr;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	fill_keys();
	f->kr = ring(1, 1, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	token_keyring_free(f->kr);
	free(f);
	return 0;
}

static struct token mk(enum token_kind kind, uint16_t expiry, const char *url)
{
	struct token t = {
		.kind = kind,
		.message_id = 0x8877665544332211ULL,
		.recipient_id = 987654321,
		.link_index = 65535,
		.expiry_days = expiry,
		.url = url,
		.url_len = (uint16_t)(url ? strlen(url) : 0),
	};
	return t;
}

static int enc(const struct token_keyring *kr, const char *host, const struct token *t,
	       char *out)
{
	char err[256] = "";
	int n = token_encode(kr, host, strlen(host), t, out, TOKEN_MAX_LEN + 1, err, sizeof(err));

	if (n < 0)
		assert_true(err[0] != '\0');
	return n;
}

static enum token_err dec(const struct token_keyring *kr, const char *host, const char *tok,
			  size_t len, time_t now, struct token *t)
{
	static _Thread_local uint8_t scratch[TOKEN_SCRATCH];

	return token_decode(kr, host, strlen(host), tok, len, now, t, scratch, sizeof(scratch));
}

/* base64url through OpenSSL's standard codec: an implementation independent of token.c */
static size_t b64u_enc(const uint8_t *in, size_t n, char *out)
{
	size_t len = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len && out[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[len] = '\0';
	return len;
}

static int b64u_dec(const char *in, size_t n, uint8_t *out)
{
	char buf[4096];
	size_t pad = (4 - n % 4) % 4;
	int len;

	assert_true(n + pad < sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	memset(buf + n, '=', pad);
	len = EVP_DecodeBlock(out, (unsigned char *)buf, (int)(n + pad));
	return len < 0 ? -1 : len - (int)pad;
}

/* A token for an arbitrary payload, tagged with key like token.c would: host || payload. */
static void sign_raw(const uint8_t *key, size_t klen, const char *host, const uint8_t *p,
		     size_t plen, char *out)
{
	uint8_t msg[4096], mac[32];
	size_t hl = strlen(host), mlen = 0, o;

	memcpy(msg, host, hl);
	memcpy(msg + hl, p, plen);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg, hl + plen,
				  mac, sizeof(mac), &mlen));
	o = b64u_enc(p, plen, out);
	out[o++] = '.';
	b64u_enc(mac, 16, out + o);
}

/* Splits a token into decoded payload and tag. */
static void split(const char *tok, uint8_t *p, size_t *plen, uint8_t tag[16])
{
	const char *dot = strchr(tok, '.');
	int n;

	assert_non_null(dot);
	n = b64u_dec(tok, (size_t)(dot - tok), p);
	assert_true(n > 0);
	*plen = (size_t)n;
	assert_int_equal(b64u_dec(dot + 1, strlen(dot + 1), tag), 16);
}

static void join(const uint8_t *p, size_t plen, const uint8_t tag[16], char *out)
{
	size_t o = b64u_enc(p, plen, out);

	out[o++] = '.';
	b64u_enc(tag, 16, out + o);
}

static void assert_same(const struct token *a, const struct token *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_true(a->message_id == b->message_id);
	assert_true(a->recipient_id == b->recipient_id);
	assert_int_equal(a->link_index, b->link_index);
	assert_int_equal(a->expiry_days, b->expiry_days);
	assert_int_equal(a->url_len, b->url_len);
	if (a->url_len)
		assert_memory_equal(a->url, b->url, a->url_len);
	else
		assert_null(b->url);
}

/* ------------------------------------------------------------------------ tests */

static void test_known_answer(void **state)
{
	/* computed independently (Python hmac/base64) from the layout documented in token.h */
	static const char click[] = "AQcBAQECAwQFBgcIAAAAAAAAACoAA04gABlodHRwczovL2V4YW1wbGUuY29t"
				    "L2E_Yj1j.45UklHUL1N3b3zTULlB5mA";
	static const char open_[] = "AQcCAAAAAAAAAAAFAAAAAAAAAAYAAA.YDySI7IS9KOpeC6QyeovCw";
	struct token_keyring *kr = token_keyring_new();
	struct token t = { .kind = TOKEN_CLICK, .message_id = 0x0102030405060708ULL,
			   .recipient_id = 42, .link_index = 3, .expiry_days = 20000,
			   .url = "https://example.com/a?b=c", .url_len = 25 };
	char out[TOKEN_MAX_LEN + 1];
	struct token d;

	(void)state;
	assert_int_equal(token_keyring_add(kr, 7, key7, sizeof(key7), NULL, 0), 0);
	assert_int_equal(token_keyring_set_current(kr, 7), 0);
	assert_int_equal(enc(kr, HOST, &t, out), (int)strlen(click));
	assert_string_equal(out, click);
	t = (struct token){ .kind = TOKEN_OPEN, .message_id = 5, .recipient_id = 6 };
	assert_int_equal(enc(kr, HOST, &t, out), (int)strlen(open_));
	assert_string_equal(out, open_);

	assert_int_equal(dec(kr, HOST, click, strlen(click), 20000L * DAY, &d), TOKEN_OK);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.key_id, 7);
	assert_int_equal(d.kind, TOKEN_CLICK);
	assert_true(d.message_id == 0x0102030405060708ULL);
	assert_true(d.recipient_id == 42);
	assert_int_equal(d.link_index, 3);
	assert_int_equal(d.expiry_days, 20000);
	assert_int_equal(d.url_len, 25);
	assert_memory_equal(d.url, "https://example.com/a?b=c", 25);
	token_keyring_free(kr);
}

static void test_roundtrip(void **state)
{
	struct fix *f = *state;
	struct token_verifier *v = token_verifier_new(f->kr);
	enum token_kind kinds[] = { TOKEN_CLICK, TOKEN_OPEN, TOKEN_UNSUBSCRIBE };
	uint16_t exps[] = { 0, 1, 30000, 65535 };
	char out[TOKEN_MAX_LEN + 1];
	uint8_t scratch[TOKEN_SCRATCH];

	assert_non_null(v);
	for (size_t k = 0; k < 3; k++) {
		for (size_t e = 0; e < 4; e++) {
			struct token t = mk(kinds[k], exps[e], kinds[k] == TOKEN_CLICK ? URL : NULL);
			struct token d;
			int n = enc(f->kr, HOST, &t, out);

			assert_true(n > 0);
			assert_int_equal(strlen(out), n);
			assert_true(n <= TOKEN_MAX_LEN);
			assert_null(strpbrk(out, "=+/ "));
			assert_int_equal(dec(f->kr, HOST, out, n, 0, &d), TOKEN_OK);
			assert_int_equal(d.version, 1);
			assert_int_equal(d.key_id, 1);
			assert_same(&t, &d);
			/* the url points into the scratch, not into the token text */
			if (d.url)
				assert_true(d.url < out || d.url >= out + n);
			/* per-thread verifier, twice: its MAC state is reused */
			for (int i = 0; i < 2; i++) {
				memset(&d, 0, sizeof(d));
				assert_int_equal(token_verifier_decode(v, HOST, strlen(HOST), out, n, 0,
								       &d, scratch, sizeof(scratch)),
						 TOKEN_OK);
				assert_same(&t, &d);
			}
			memset(&d, 0, sizeof(d));
			assert_int_equal(token_parse_unverified(out, n, &d, scratch,
								sizeof(scratch)), TOKEN_OK);
			assert_same(&t, &d);
		}
	}
	/* extremes of every integer field */
	struct token t = mk(TOKEN_OPEN, 0, NULL), d;
	t.message_id = UINT64_MAX;
	t.recipient_id = 0;
	t.link_index = 0;
	int n = enc(f->kr, HOST, &t, out);
	assert_int_equal(dec(f->kr, HOST, out, n, 0, &d), TOKEN_OK);
	assert_same(&t, &d);
	token_verifier_free(v);
}

static void test_forged_bits(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_CLICK, 30000, URL), d;
	char tok[TOKEN_MAX_LEN + 1], forged[TOKEN_MAX_LEN + 1];
	uint8_t p[TOKEN_PAYLOAD_MAX], tag[16];
	size_t plen;
	int n = enc(f->kr, HOST, &t, tok);

	assert_true(n > 0);
	split(tok, p, &plen, tag);
	join(p, plen, tag, forged);
	assert_string_equal(forged, tok);   /* the independent codec agrees */

	for (int bit = 0; bit < 128; bit++) {
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		join(p, plen, tag, forged);
		assert_int_equal(dec(f->kr, HOST, forged, strlen(forged), 0, &d), TOKEN_EBADTAG);
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < plen * 8; bit++) {
		enum token_err e;

		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		join(p, plen, tag, forged);
		e = dec(f->kr, HOST, forged, strlen(forged), 0, &d);
		if (e == TOKEN_OK)
			fail_msg("payload bit %zu flipped still verifies", bit);
		/* a flipped key id may name the other key: then it is the tag that fails */
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* every character of the text replaced by another alphabet character */
	for (int i = 0; i < n; i++) {
		if (tok[i] == '.')
			continue;
		memcpy(forged, tok, (size_t)n + 1);
		forged[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(dec(f->kr, HOST, forged, (size_t)n, 0, &d), TOKEN_OK);
	}
	assert_int_equal(dec(f->kr, HOST, tok, (size_t)n, 0, &d), TOKEN_OK);
}

static void test_wrong_host(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_OPEN, 0, NULL), d;
	char tok[TOKEN_MAX_LEN + 1];
	int n = enc(f->kr, HOST, &t, tok);

	assert_int_equal(dec(f->kr, "click.example.org", tok, n, 0, &d), TOKEN_EBADTAG);
	assert_int_equal(dec(f->kr, "click.example.co", tok, n, 0, &d), TOKEN_EBADTAG);
	assert_int_equal(dec(f->kr, "lick.example.com", tok, n, 0, &d), TOKEN_EBADTAG);
	assert_int_equal(dec(f->kr, "", tok, n, 0, &d), TOKEN_EBADTAG);
	assert_int_equal(dec(f->kr, HOST, tok, n, 0, &d), TOKEN_OK);

	/* encode refuses hosts that are not in normalized form: the tag binds exact bytes */
	const char *bad[] = { "Click.example.com", "click.example.com.", "click.example.com:80",
			      "", "*.example.com", "[::1]", "a..b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(enc(f->kr, bad[i], &t, tok), -1);
}

static void test_unknown_key_and_rotation(void **state)
{
	struct token_keyring *old = ring(1, 0, 1), *next = ring(1, 1, 2), *only2 = ring(0, 1, 2);
	char tok_old[TOKEN_MAX_LEN + 1], tok_new[TOKEN_MAX_LEN + 1];
	struct token t = mk(TOKEN_CLICK, 0, URL), d;

	(void)state;
	assert_true(enc(old, HOST, &t, tok_old) > 0);
	assert_true(enc(next, HOST, &t, tok_new) > 0);
	assert_int_equal(token_keyring_current(next), 2);

	/* the old token still verifies after rotation; the new one uses key 2 */
	assert_int_equal(dec(next, HOST, tok_old, strlen(tok_old), 0, &d), TOKEN_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(dec(next, HOST, tok_new, strlen(tok_new), 0, &d), TOKEN_OK);
	assert_int_equal(d.key_id, 2);
	/* a box that has not yet received key 2 */
	assert_int_equal(dec(old, HOST, tok_new, strlen(tok_new), 0, &d), TOKEN_EUNKNOWN_KEY);
	/* key 1 retired */
	assert_int_equal(dec(only2, HOST, tok_old, strlen(tok_old), 0, &d), TOKEN_EUNKNOWN_KEY);

	/* same id with a different key: the tag fails */
	struct token_keyring *impostor = token_keyring_new();
	uint8_t other[32];
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(token_keyring_add(impostor, 1, other, sizeof(other), NULL, 0), 0);
	assert_int_equal(dec(impostor, HOST, tok_old, strlen(tok_old), 0, &d), TOKEN_EBADTAG);

	/* explicit key id for encoding */
	char tok[TOKEN_MAX_LEN + 1], err[128];
	assert_true(token_encode_key(next, 1, HOST, strlen(HOST), &t, tok, sizeof(tok), err,
				     sizeof(err)) > 0);
	assert_string_equal(tok, tok_old);
	assert_int_equal(token_encode_key(next, 9, HOST, strlen(HOST), &t, tok, sizeof(tok), err,
					  sizeof(err)), -1);
	assert_non_null(strstr(err, "not in the keyring"));

	token_keyring_free(impostor);
	token_keyring_free(old);
	token_keyring_free(next);
	token_keyring_free(only2);
}

static void test_keyring_errors(void **state)
{
	struct token_keyring *kr = token_keyring_new();
	struct token t = mk(TOKEN_OPEN, 0, NULL), d;
	char tok[TOKEN_MAX_LEN + 1], err[128];
	uint8_t big[65] = { 0 };

	(void)state;
	assert_int_equal(token_keyring_current(kr), -1);
	assert_int_equal(token_keyring_set_current(kr, 3), -1);
	err[0] = '\0';
	assert_int_equal(token_encode(kr, HOST, strlen(HOST), &t, tok, sizeof(tok), err,
				      sizeof(err)), -1);
	assert_non_null(strstr(err, "no current"));

	assert_int_equal(token_keyring_add(kr, 3, key1, 31, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "32..64"));
	assert_int_equal(token_keyring_add(kr, 3, big, 65, err, sizeof(err)), -1);
	assert_int_equal(token_keyring_add(kr, 3, NULL, 32, err, sizeof(err)), -1);
	assert_false(token_keyring_has(kr, 3));
	assert_int_equal(token_keyring_add(kr, 3, key1, 32, err, sizeof(err)), 0);
	assert_int_equal(token_keyring_add(kr, 255, key2, 64, err, sizeof(err)), 0);
	assert_int_equal(token_keyring_add(kr, 0, key2, 33, err, sizeof(err)), 0);
	assert_int_equal(token_keyring_set_current(kr, 3), 0);
	assert_true(enc(kr, HOST, &t, tok) > 0);

	/* re-adding an id fails and keeps the old key */
	assert_int_equal(token_keyring_add(kr, 3, key2, 64, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already"));
	assert_int_equal(dec(kr, HOST, tok, strlen(tok), 0, &d), TOKEN_OK);
	assert_int_equal(token_keyring_current(kr), 3);
	for (int id = 0; id < 256; id++)
		assert_int_equal(token_keyring_has(kr, (uint8_t)id), id == 0 || id == 3 || id == 255);
	token_keyring_free(kr);
	token_keyring_free(NULL);
}

static void test_expiry(void **state)
{
	struct fix *f = *state;
	const uint16_t day = 20500;
	struct token t = mk(TOKEN_UNSUBSCRIBE, day, NULL), d;
	char tok[TOKEN_MAX_LEN + 1];
	int n = enc(f->kr, HOST, &t, tok);
	time_t start = (time_t)day * DAY;

	assert_int_equal(dec(f->kr, HOST, tok, n, 0, &d), TOKEN_OK);
	assert_int_equal(dec(f->kr, HOST, tok, n, start - 1, &d), TOKEN_OK);
	assert_int_equal(dec(f->kr, HOST, tok, n, start, &d), TOKEN_OK);
	assert_int_equal(dec(f->kr, HOST, tok, n, start + DAY - 1, &d), TOKEN_OK);  /* last second */
	assert_int_equal(dec(f->kr, HOST, tok, n, start + DAY, &d), TOKEN_EEXPIRED);
	assert_int_equal(dec(f->kr, HOST, tok, n, start + 400 * DAY, &d), TOKEN_EEXPIRED);
	/* an expired token with a bad tag reports the tag: expiry is only told to real tokens */
	assert_int_equal(dec(f->kr, "other.example.com", tok, n, start + DAY, &d), TOKEN_EBADTAG);
	/* no expiry: valid forever */
	t = mk(TOKEN_OPEN, 0, NULL);
	n = enc(f->kr, HOST, &t, tok);
	assert_int_equal(dec(f->kr, HOST, tok, n, (time_t)65535 * DAY * 2, &d), TOKEN_OK);
	assert_int_equal(token_day(-1), -1);
	assert_int_equal(token_day(0), 0);
	assert_int_equal(token_day(DAY - 1), 0);
	assert_int_equal(token_day(DAY), 1);
}

static void test_truncated(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_CLICK, 100, URL), d;
	char tok[TOKEN_MAX_LEN + 1];
	uint8_t scratch[TOKEN_SCRATCH];
	int n = enc(f->kr, HOST, &t, tok);

	for (int len = 0; len < n; len++) {
		char *copy = malloc((size_t)len + 1);   /* exact size: ASan sees any overread */

		memcpy(copy, tok, (size_t)len);
		copy[len] = '\0';
		assert_int_not_equal(dec(f->kr, HOST, copy, (size_t)len, 0, &d), TOKEN_OK);
		assert_int_not_equal(token_parse_unverified(copy, (size_t)len, &d, scratch,
							    sizeof(scratch)), TOKEN_OK);
		/* and the tail of the token, cut at the front */
		memcpy(copy, tok + n - len, (size_t)len);
		assert_int_not_equal(dec(f->kr, HOST, copy, (size_t)len, 0, &d), TOKEN_OK);
		free(copy);
	}
}

static void test_bad_base64(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_OPEN, 0, NULL), d;
	char tok[TOKEN_MAX_LEN + 1], bad[TOKEN_MAX_LEN + 8];
	int n = enc(f->kr, HOST, &t, tok);
	char *dot = strchr(tok, '.');
	size_t pl = (size_t)(dot - tok);

	assert_int_equal(dec(f->kr, HOST, tok, n, 0, &d), TOKEN_OK);
	/* characters outside the alphabet, anywhere */
	const char subst[] = { '+', '/', '=', ' ', '\0', '\n', '%', '\x80', '\xff', '.' };
	for (size_t s = 0; s < sizeof(subst); s++) {
		for (int i = 0; i < n; i++) {
			if (tok[i] == '.' || (subst[s] == '.' && (size_t)i + 1 == pl))
				continue;
			memcpy(bad, tok, (size_t)n + 1);
			bad[i] = subst[s];
			assert_int_equal(dec(f->kr, HOST, bad, n, 0, &d), TOKEN_EMALFORMED);
		}
	}
	/* padding appended to either part */
	snprintf(bad, sizeof(bad), "%.*s=.%s", (int)pl, tok, dot + 1);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
	snprintf(bad, sizeof(bad), "%s==", tok);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
	/* no dot, two dots, empty parts */
	assert_int_equal(dec(f->kr, HOST, tok, pl, 0, &d), TOKEN_EMALFORMED);
	snprintf(bad, sizeof(bad), "%s.", tok);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
	snprintf(bad, sizeof(bad), ".%s", dot + 1);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
	assert_int_equal(dec(f->kr, HOST, ".", 1, 0, &d), TOKEN_EMALFORMED);
	assert_int_equal(dec(f->kr, HOST, "", 0, 0, &d), TOKEN_EMALFORMED);
	assert_int_equal(token_decode(f->kr, HOST, 17, NULL, 5, 0, &d, (uint8_t[8]){ 0 }, 8),
			 TOKEN_EMALFORMED);

	/* non-canonical: unused low bits of the last character set (same bytes otherwise) */
	memcpy(bad, tok, (size_t)n + 1);
	assert_int_equal((n - 1 - (int)pl) % 4, 2);   /* tag = 22 chars: 4 unused bits */
	bad[n - 1]++;   /* canonical last chars are A, Q, g, w: +1 keeps the alphabet */
	assert_int_equal(dec(f->kr, HOST, bad, n, 0, &d), TOKEN_EMALFORMED);
	/* open payload = 22 bytes = 30 chars: 2 chars tail, 4 unused bits */
	assert_int_equal(pl % 4, 2);
	memcpy(bad, tok, (size_t)n + 1);
	bad[pl - 1]++;
	assert_int_equal(dec(f->kr, HOST, bad, n, 0, &d), TOKEN_EMALFORMED);
	/* a payload part of length 4k+1 cannot be base64 */
	snprintf(bad, sizeof(bad), "%.*s.%s", (int)pl - 1, tok, dot + 1);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
	snprintf(bad, sizeof(bad), "A.%s", dot + 1);
	assert_int_equal(dec(f->kr, HOST, bad, strlen(bad), 0, &d), TOKEN_EMALFORMED);
}

static void test_sizes(void **state)
{
	struct fix *f = *state;
	char url[TOKEN_URL_MAX + 2], tok[TOKEN_MAX_LEN + 2], err[256];
	uint8_t scratch[TOKEN_SCRATCH];
	struct token t, d;
	int n;

	memcpy(url, "https://example.com/", 20);
	memset(url + 20, 'x', sizeof(url) - 20);
	url[TOKEN_URL_MAX] = '\0';

	t = mk(TOKEN_CLICK, 65535, url);
	n = enc(f->kr, HOST, &t, tok);
	assert_int_equal(n, TOKEN_MAX_LEN);   /* the largest token there is */
	assert_int_equal(token_decode(f->kr, HOST, strlen(HOST), tok, n, 0, &d, scratch,
				      TOKEN_SCRATCH), TOKEN_OK);
	assert_int_equal(d.url_len, TOKEN_URL_MAX);
	/* scratch one byte short */
	assert_int_equal(token_decode(f->kr, HOST, strlen(HOST), tok, n, 0, &d, scratch,
				      TOKEN_SCRATCH - 1), TOKEN_ETOOLONG);
	assert_int_equal(token_decode(f->kr, HOST, strlen(HOST), tok, n, 0, &d, NULL, 0),
			 TOKEN_ETOOLONG);
	/* one character more than the maximum */
	tok[n] = 'A';
	tok[n + 1] = '\0';
	assert_int_equal(dec(f->kr, HOST, tok, n + 1, 0, &d), TOKEN_ETOOLONG);
	assert_int_equal(token_parse_unverified(tok, n + 1, &d, scratch, sizeof(scratch)),
			 TOKEN_ETOOLONG);

	/* a URL of 2049 bytes does not encode */
	url[TOKEN_URL_MAX] = 'x';
	url[TOKEN_URL_MAX + 1] = '\0';
	t = mk(TOKEN_CLICK, 0, url);
	t.url_len = TOKEN_URL_MAX + 1;
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);

	/* output buffer: exact size works, one byte less fails */
	t = mk(TOKEN_OPEN, 0, NULL);
	n = enc(f->kr, HOST, &t, tok);
	assert_int_equal(token_encode(f->kr, HOST, strlen(HOST), &t, tok, (size_t)n + 1, err,
				      sizeof(err)), n);
	assert_int_equal(token_encode(f->kr, HOST, strlen(HOST), &t, tok, (size_t)n, err,
				      sizeof(err)), -1);
	assert_non_null(strstr(err, "too small"));
}

static void test_url_rules(void **state)
{
	struct fix *f = *state;
	const char *good[] = {
		"http://a", "https://a", "HTTPS://EXAMPLE.COM/", "https://a.b/c?d=e&f=%20#g",
		"http://[::1]:8080/x", "https://user@host:1/p", "https://a/{x}|^`~!$'()*+,;=:@",
	};
	const char *bad[] = {
		"", "https://", "http://", "https:///path", "https://?q", "https://#f", "ftp://a",
		"javascript:alert(1)", "//example.com", "https:/a", "https:a", "mailto:a@b",
		"https://a/b c", "https://a/\tb", "https://a/\r\nX: y", "https://a/\x7f",
		"https://a/\xc3\xa9", "https://a/\"", "https://a/<", "https://a/>",
		"https:\\\\evil.com", "https://a\\@b", " https://a", "https://a ",
	};
	struct token t, d;
	char tok[TOKEN_MAX_LEN + 1];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!token_url_valid(good[i], strlen(good[i])))
			fail_msg("rejected good url '%s'", good[i]);
		t = mk(TOKEN_CLICK, 0, good[i]);
		int n = enc(f->kr, HOST, &t, tok);
		assert_true(n > 0);
		assert_int_equal(dec(f->kr, HOST, tok, n, 0, &d), TOKEN_OK);
		assert_same(&t, &d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (token_url_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted bad url '%s'", bad[i]);
		t = mk(TOKEN_CLICK, 0, bad[i]);
		assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
	}
	/* embedded NUL */
	assert_false(token_url_valid("https://a/\0b", 12));
	assert_false(token_url_valid(NULL, 0));
	/* click without URL, open/unsubscribe with one, unknown kind */
	t = mk(TOKEN_CLICK, 0, NULL);
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
	t = mk(TOKEN_OPEN, 0, URL);
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
	t = mk(TOKEN_UNSUBSCRIBE, 0, URL);
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
	t = mk((enum token_kind)4, 0, NULL);
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
	t = mk((enum token_kind)0, 0, NULL);
	assert_int_equal(enc(f->kr, HOST, &t, tok), -1);
}

/* Payloads with a valid tag but a wrong layout: the structure checks, not the tag, reject. */
static void test_layout_signed(void **state)
{
	struct fix *f = *state;
	static const char good_url[] = "https://a.example/";
	uint8_t base[TOKEN_PAYLOAD_MAX];
	char tok[TOKEN_MAX_LEN + 1];
	struct token d;
	size_t ul = sizeof(good_url) - 1;

	/* click, no expiry: v1, key 1, kind 1, flags 0, ids, link, url */
	memset(base, 0, sizeof(base));
	base[0] = 1;
	base[1] = 1;
	base[2] = 1;
	base[11] = 9;
	base[22] = 0;
	base[23] = (uint8_t)ul;
	memcpy(base + 24, good_url, ul);

#define TRY(len, want)                                                         \
	do {                                                                   \
		sign_raw(key1, sizeof(key1), HOST, p, (len), tok);             \
		assert_int_equal(dec(f->kr, HOST, tok, strlen(tok), 0, &d), (want)); \
	} while (0)

	uint8_t p[TOKEN_PAYLOAD_MAX + 4];
	memcpy(p, base, sizeof(base));
	TRY(24 + ul, TOKEN_OK);   /* control: the crafting is right */
	assert_true(d.message_id == 9);

	memcpy(p, base, sizeof(base));
	p[0] = 2;
	TRY(24 + ul, TOKEN_EVERSION);
	p[0] = 0;
	TRY(24 + ul, TOKEN_EVERSION);
	memcpy(p, base, sizeof(base));
	p[2] = 0;
	TRY(24 + ul, TOKEN_EKIND);
	p[2] = 4;
	TRY(24 + ul, TOKEN_EKIND);
	p[2] = 255;
	TRY(24 + ul, TOKEN_EKIND);
	memcpy(p, base, sizeof(base));
	p[3] = 2;   /* reserved flag */
	TRY(24 + ul, TOKEN_EMALFORMED);
	p[3] = 0x80;
	TRY(24 + ul, TOKEN_EMALFORMED);
	memcpy(p, base, sizeof(base));
	p[24 + ul] = 0;   /* trailing byte */
	TRY(24 + ul + 1, TOKEN_EMALFORMED);
	TRY(24 + ul - 1, TOKEN_EMALFORMED);   /* url shorter than its length says */
	TRY(22, TOKEN_EMALFORMED);            /* click without url */
	TRY(23, TOKEN_EMALFORMED);
	TRY(21, TOKEN_EMALFORMED);            /* fixed part cut */
	TRY(1, TOKEN_EMALFORMED);
	p[23] = 0;                            /* url length 0 */
	TRY(24, TOKEN_EMALFORMED);
	memcpy(p, base, sizeof(base));
	p[24 + 5] = ' ';                      /* invalid url byte */
	TRY(24 + ul, TOKEN_EMALFORMED);
	memcpy(p, base, sizeof(base));
	p[22] = 0x08;                         /* url length 2049+ */
	p[23] = 0x01;
	memset(p + 24, 'x', TOKEN_URL_MAX + 1);
	memcpy(p + 24, good_url, ul);
	TRY(24 + 0x801, TOKEN_EMALFORMED);

	/* expiry flag: day follows; day 0 is not a valid encoding */
	memcpy(p, base, sizeof(base));
	p[3] = 1;
	p[22] = 0x50;
	p[23] = 0x00;
	p[24] = 0;
	p[25] = (uint8_t)ul;
	memcpy(p + 26, good_url, ul);
	TRY(26 + ul, TOKEN_OK);
	assert_int_equal(d.expiry_days, 0x5000);
	p[22] = p[23] = 0;
	TRY(26 + ul, TOKEN_EMALFORMED);

	/* open with a url appended (only click carries one) */
	memcpy(p, base, sizeof(base));
	p[2] = 2;
	TRY(22, TOKEN_OK);
	TRY(24 + ul, TOKEN_EMALFORMED);
	p[2] = 3;
	TRY(22, TOKEN_OK);
	TRY(23, TOKEN_EMALFORMED);
	/* key id not in the keyring, even with a tag from some key */
	p[1] = 200;
	TRY(22, TOKEN_EUNKNOWN_KEY);
#undef TRY
}

struct thread_arg {
	const struct token_keyring *kr;
	const char *tok;
	int use_verifier;
	int failures;
};

static void *worker(void *p)
{
	struct thread_arg *a = p;
	struct token_verifier *v = a->use_verifier ? token_verifier_new(a->kr) : NULL;
	uint8_t scratch[TOKEN_SCRATCH];
	struct token d;

	for (int i = 0; i < 3000; i++) {
		enum token_err e = v ? token_verifier_decode(v, HOST, strlen(HOST), a->tok,
							     strlen(a->tok), 0, &d, scratch,
							     sizeof(scratch))
				     : token_decode(a->kr, HOST, strlen(HOST), a->tok,
						    strlen(a->tok), 0, &d, scratch, sizeof(scratch));
		if (e != TOKEN_OK || d.url_len != strlen(URL) || memcmp(d.url, URL, d.url_len))
			a->failures++;
		/* interleave a forged check so a shared state would mix up results */
		if (i % 7 == 0 &&
		    token_decode(a->kr, "x.example.com", 13, a->tok, strlen(a->tok), 0, &d,
				 scratch, sizeof(scratch)) != TOKEN_EBADTAG)
			a->failures++;
	}
	token_verifier_free(v);
	return NULL;
}

static void test_threads(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_CLICK, 0, URL);
	char tok[TOKEN_MAX_LEN + 1];
	pthread_t th[6];
	struct thread_arg args[6];

	assert_true(enc(f->kr, HOST, &t, tok) > 0);
	for (int i = 0; i < 6; i++) {
		args[i] = (struct thread_arg){ .kr = f->kr, .tok = tok, .use_verifier = i % 2 };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per verify of a typical click token (timing is reported, not judged). */
static void test_verify_speed(void **state)
{
	struct fix *f = *state;
	struct token t = mk(TOKEN_CLICK, 30000, URL), d;
	struct token_verifier *v = token_verifier_new(f->kr);
	char tok[TOKEN_MAX_LEN + 1];
	uint8_t scratch[TOKEN_SCRATCH];
	int n = enc(f->kr, HOST, &t, tok), iters = 100000, ok = 0;
	double t0, t1, t2;

	t0 = mono();
	for (int i = 0; i < iters; i++)
		ok += token_decode(f->kr, HOST, strlen(HOST), tok, n, 0, &d, scratch,
				   sizeof(scratch)) == TOKEN_OK;
	t1 = mono();
	for (int i = 0; i < iters; i++)
		ok += token_verifier_decode(v, HOST, strlen(HOST), tok, n, 0, &d, scratch,
					    sizeof(scratch)) == TOKEN_OK;
	t2 = mono();
	assert_int_equal(ok, 2 * iters);
	print_message("token: %d-char click token: token_decode %.0f ns/verify, "
		      "token_verifier_decode %.0f ns/verify\n", n, (t1 - t0) / iters,
		      (t2 - t1) / iters);
	token_verifier_free(v);
}

/* ------------------------------------------------------------------------ CLI */

struct cli_out {
	int rc;
	char out[8192], err[8192];
};

static void cli(struct cli_out *r, ...)
{
	char *argv[40], *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	int argc = 0;
	va_list ap;
	FILE *o = open_memstream(&obuf, &olen), *e = open_memstream(&ebuf, &elen);

	argv[argc++] = (char *)"token";
	va_start(ap, r);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	r->rc = token_cli_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	snprintf(r->out, sizeof(r->out), "%s", obuf);
	snprintf(r->err, sizeof(r->err), "%s", ebuf);
	free(obuf);
	free(ebuf);
}

#define K1HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"

/* The first line of s into tok (a token fits TOKEN_MAX_LEN). */
static void first_line(const char *s, char tok[TOKEN_MAX_LEN + 1])
{
	size_t n = strcspn(s, "\n");

	assert_true(n <= TOKEN_MAX_LEN);
	memcpy(tok, s, n);
	tok[n] = '\0';
}

static void test_cli_encode_decode_verify(void **state)
{
	struct fix *f = *state;
	struct cli_out r;
	char tok[TOKEN_MAX_LEN + 1], url[TOKEN_MAX_LEN + 64];
	struct token d;
	json_t *j;

	cli(&r, "encode", "--host", "Click.Example.com:443", "--key-id", "1", "--key", K1HEX,
	    "--kind", "click", "--message", "18446744073709551615", "--recipient", "7",
	    "--link", "4", "--url", URL, "--expires", "2030-01-01", NULL);
	assert_int_equal(r.rc, 0);
	first_line(r.out, tok);
	/* the library accepts what the CLI minted */
	assert_int_equal(dec(f->kr, HOST, tok, strlen(tok), 0, &d), TOKEN_OK);
	assert_true(d.message_id == UINT64_MAX);
	assert_true(d.recipient_id == 7);
	assert_int_equal(d.link_index, 4);
	assert_int_equal(d.expiry_days, 21915);   /* 2030-01-01 */

	cli(&r, "decode", tok, NULL);
	assert_int_equal(r.rc, 0);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "click");
	assert_string_equal(json_string_value(json_object_get(j, "message_id")),
			    "18446744073709551615");
	assert_string_equal(json_string_value(json_object_get(j, "recipient_id")), "7");
	assert_int_equal(json_integer_value(json_object_get(j, "key_id")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "link_index")), 4);
	assert_string_equal(json_string_value(json_object_get(j, "expires")), "2030-01-01");
	assert_string_equal(json_string_value(json_object_get(j, "url")), URL);
	json_decref(j);

	/* verify: right host, any spelling of it; key id taken from the token */
	cli(&r, "verify", "--host", "CLICK.example.com.", "--key", K1HEX, "--at", "2029-12-31",
	    tok, NULL);
	assert_int_equal(r.rc, 0);
	j = json_loads(r.out, 0, NULL);
	assert_true(json_is_true(json_object_get(j, "valid")));
	json_decref(j);
	/* a whole tracking URL in place of the token */
	snprintf(url, sizeof(url), "https://click.example.com/c/%s?x=1", tok);
	cli(&r, "verify", "--host", HOST, "--key-id", "1", "--key", K1HEX, "--at", "2030-01-01",
	    url, NULL);
	assert_int_equal(r.rc, 0);
	/* expired the day after */
	cli(&r, "verify", "--host", HOST, "--key", K1HEX, "--at", "2030-01-02", tok, NULL);
	assert_int_equal(r.rc, 1);
	j = json_loads(r.out, 0, NULL);
	assert_true(json_is_false(json_object_get(j, "valid")));
	assert_string_equal(json_string_value(json_object_get(j, "error")), "token expired");
	json_decref(j);
	assert_non_null(strstr(r.err, "expired"));
	/* wrong host, wrong key, key under another id */
	cli(&r, "verify", "--host", "click.example.net", "--key", K1HEX, "--at", "0", tok, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "bad tag"));
	/* (not K1HEX "00": HMAC pads short keys with zeros, so that is the same key) */
	cli(&r, "verify", "--host", HOST, "--key", K1HEX "01", "--at", "0", tok, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "bad tag"));
	cli(&r, "verify", "--host", HOST, "--key-id", "3", "--key", K1HEX, "--at", "0", tok, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "unknown key id"));
	/* several keys: each binds to the --key-id before it */
	cli(&r, "verify", "--host", HOST, "--key-id", "3", "--key", K1HEX "0102", "--key-id", "1",
	    "--key", K1HEX, "--at", "0", tok, NULL);
	assert_int_equal(r.rc, 0);
	/* garbage */
	cli(&r, "decode", "not-a-token", NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "malformed"));
	cli(&r, "verify", "--host", HOST, "--key", K1HEX, "x.y", NULL);
	assert_int_equal(r.rc, 1);
}

static void test_cli_key_file_and_kinds(void **state)
{
	struct fix *f = *state;
	char path[] = "/tmp/et-token-key-XXXXXX", tok[TOKEN_MAX_LEN + 1];
	struct cli_out r;
	struct token d;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "  " K1HEX "\n", 67), 67);
	close(fd);
	cli(&r, "encode", "--host=click.example.com", "--key-file", path, "--key-id=1",
	    "--kind=unsubscribe", "--message=1", "--recipient=2", "--expires", "30", NULL);
	assert_int_equal(r.rc, 0);
	first_line(r.out, tok);
	assert_int_equal(dec(f->kr, HOST, tok, strlen(tok), time(NULL), &d), TOKEN_OK);
	assert_int_equal(d.kind, TOKEN_UNSUBSCRIBE);
	assert_int_equal(d.expiry_days, token_day(time(NULL)) + 30);
	assert_null(d.url);

	cli(&r, "encode", "--host", HOST, "--key-file", path, "--key-id", "1", "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	assert_int_equal(r.rc, 0);
	cli(&r, "verify", "--host", HOST, "--key-file", path, r.out, NULL);
	assert_int_equal(r.rc, 1);   /* r.out still has its newline: not a token */
	unlink(path);
	cli(&r, "encode", "--host", HOST, "--key-file", path, "--key-id", "1", "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	assert_int_equal(r.rc, 1);   /* the file is gone: I/O error, not usage */
	assert_non_null(strstr(r.err, path));
}

static void expect_usage(const char *why, struct cli_out *r)
{
	if (r->rc != 2)
		fail_msg("%s: exit %d, want 2 (err: %s)", why, r->rc, r->err);
	assert_true(r->err[0] != '\0');
}

static void test_cli_usage_errors(void **state)
{
	struct cli_out r;
	char *argv[] = { (char *)"token", NULL };
	FILE *null = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(null);
	assert_int_equal(token_cli_run(1, argv, null, null), 2);
	fclose(null);
	cli(&r, "--help", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "usage:"));
	cli(&r, "encode", "--help", NULL);
	assert_int_equal(r.rc, 0);

#define ENC "encode", "--host", HOST, "--key-id", "1", "--key", K1HEX
	cli(&r, "mint", NULL);
	expect_usage("unknown command", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--bogus", "1", NULL);
	expect_usage("unknown option", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "-x", NULL);
	expect_usage("short option", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", NULL);
	expect_usage("missing value", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--at", "0", NULL);
	expect_usage("--at is for verify", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "stray", NULL);
	expect_usage("stray argument", &r);
	cli(&r, ENC, "--kind", "open", "--kind", "open", "--message", "1", "--recipient", "2", NULL);
	expect_usage("twice", &r);
	cli(&r, ENC, "--kind", "peek", "--message", "1", "--recipient", "2", NULL);
	expect_usage("bad kind", &r);
	cli(&r, ENC, "--kind", "open", "--recipient", "2", NULL);
	expect_usage("no message", &r);
	cli(&r, ENC, "--kind", "open", "--message", "-1", "--recipient", "2", NULL);
	expect_usage("negative", &r);
	cli(&r, ENC, "--kind", "open", "--message", "18446744073709551616", "--recipient", "2",
	    NULL);
	expect_usage("u64 overflow", &r);
	cli(&r, ENC, "--kind", "open", "--message", "0x10", "--recipient", "2", NULL);
	expect_usage("hex id", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--link", "65536",
	    NULL);
	expect_usage("link range", &r);
	cli(&r, ENC, "--kind", "click", "--message", "1", "--recipient", "2", NULL);
	expect_usage("click without url", &r);
	cli(&r, ENC, "--kind", "click", "--message", "1", "--recipient", "2", "--url",
	    "javascript:alert(1)", NULL);
	expect_usage("bad url", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--url", URL, NULL);
	expect_usage("open with url", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--expires",
	    "2024-02-30", NULL);
	expect_usage("no such date", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--expires", "0",
	    NULL);
	expect_usage("zero days", &r);
	cli(&r, ENC, "--kind", "open", "--message", "1", "--recipient", "2", "--expires",
	    "2150-01-01", NULL);
	expect_usage("past u16 days", &r);
	cli(&r, "encode", "--host", "bad host", "--key-id", "1", "--key", K1HEX, "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	expect_usage("bad host", &r);
	cli(&r, "encode", "--key-id", "1", "--key", K1HEX, "--kind", "open", "--message", "1",
	    "--recipient", "2", NULL);
	expect_usage("no host", &r);
	cli(&r, "encode", "--host", HOST, "--key", K1HEX, "--kind", "open", "--message", "1",
	    "--recipient", "2", NULL);
	expect_usage("no key id", &r);
	cli(&r, "encode", "--host", HOST, "--key-id", "256", "--key", K1HEX, "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	expect_usage("key id range", &r);
	cli(&r, "encode", "--host", HOST, "--key-id", "1", "--kind", "open", "--message", "1",
	    "--recipient", "2", NULL);
	expect_usage("no key", &r);
	cli(&r, "encode", "--host", HOST, "--key-id", "1", "--key", "abcd", "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	expect_usage("short key", &r);
	cli(&r, "encode", "--host", HOST, "--key-id", "1", "--key", K1HEX "zz", "--kind", "open",
	    "--message", "1", "--recipient", "2", NULL);
	expect_usage("not hex", &r);
	cli(&r, "decode", NULL);
	expect_usage("decode without token", &r);
	cli(&r, "decode", "--host", HOST, "abc.def", NULL);
	expect_usage("decode takes no options", &r);
	cli(&r, "verify", "--key", K1HEX, "abc.def", NULL);
	expect_usage("verify without host", &r);
	cli(&r, "verify", "--host", HOST, "abc.def", NULL);
	expect_usage("verify without key", &r);
	cli(&r, "verify", "--host", HOST, "--key", K1HEX, "--at", "yesterday", "abc.def", NULL);
	expect_usage("bad --at", &r);
#undef ENC
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_and_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_base64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_speed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_encode_decode_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_key_file_and_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_usage_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
