// SPDX-License-Identifier: MIT
#include "track/token.h"
#include "core/err.h"

#include "core/hostname.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FLAG_EXPIRY 0x01u
#define TAG_B64_LEN TOKEN_B64_LEN(TOKEN_TAG_LEN)
#define NKEYS 256

/*
 * One HMAC-SHA256 context per key, initialized with the key at build time: the algorithm and
 * digest are fetched once here, and a verify only copies (token_decode) or re-initializes
 * (token_verifier) a keyed state. The raw keys are not kept.
 */
struct token_keyring {
	EVP_MAC *mac;
	EVP_MAC_CTX *keys[NKEYS];
	int current;
};

struct token_verifier {
	const struct token_keyring *kr;
	EVP_MAC_CTX *ctx[NKEYS];
};

/* ------------------------------------------------------------------------ base64url */

/*
 * Written out rather than taken from OpenSSL: EVP_EncodeBlock/EVP_DecodeBlock speak the '+/'
 * alphabet with padding, skip whitespace and accept non-zero trailing bits, and would need a
 * translated copy of every token. This one decodes in place into the caller's scratch and
 * accepts exactly one spelling per byte string.
 */
static const char b64url_enc[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 6-bit value per character; 0xff = not in the alphabet (also every byte >= 0x80) */
static const uint8_t b64url_dec[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0x3f,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static size_t b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_enc[v >> 18];
		out[o++] = b64url_enc[(v >> 12) & 63];
		out[o++] = b64url_enc[(v >> 6) & 63];
		out[o++] = b64url_enc[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64url_enc[in[i] >> 2];
		out[o++] = b64url_enc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = b64url_enc[v >> 10];
		out[o++] = b64url_enc[(v >> 4) & 63];
		out[o++] = b64url_enc[(v & 15) << 2];
	}
	return o;
}

/* Decoded size of an unpadded base64url text, or -1 if no byte string encodes to that size. */
static long b64url_decoded_len(size_t len)
{
	return len % 4 == 1 ? -1 : (long)(len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
}

/* Strict decode; out has room for b64url_decoded_len(len) bytes. Returns 0 or -1. */
static int b64url_decode(const char *in, size_t len, uint8_t *out)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t a, b, c, d;
	size_t i = 0, o = 0;

	for (; i + 4 <= len; i += 4) {
		a = b64url_dec[s[i]];
		b = b64url_dec[s[i + 1]];
		c = b64url_dec[s[i + 2]];
		d = b64url_dec[s[i + 3]];
		if ((a | b | c | d) & 0x80)
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)(b << 4 | c >> 2);
		out[o++] = (uint8_t)(c << 6 | d);
	}
	switch (len - i) {
	case 0:
		return 0;
	case 2:
		a = b64url_dec[s[i]];
		b = b64url_dec[s[i + 1]];
		/* the 4 low bits of the last character carry nothing and must be zero */
		if (((a | b) & 0x80) || (b & 15))
			return -1;
		out[o] = (uint8_t)(a << 2 | b >> 4);
		return 0;
	case 3:
		a = b64url_dec[s[i]];
		b = b64url_dec[s[i + 1]];
		c = b64url_dec[s[i + 2]];
		if (((a | b | c) & 0x80) || (c & 3))
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o] = (uint8_t)(b << 4 | c >> 2);
		return 0;
	default:
		return -1;
	}
}

/* ------------------------------------------------------------------------ helpers */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Bytes a destination URL may hold: printable ASCII except space " < > \\ */
static int url_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\';
}

int token_url_valid(const char *url, size_t len)
{
	size_t i;

	if (!url || len == 0 || len > TOKEN_URL_MAX)
		return 0;
	if (len > 7 && strncasecmp(url, "http://", 7) == 0)
		i = 7;
	else if (len > 8 && strncasecmp(url, "https://", 8) == 0)
		i = 8;
	else
		return 0;
	if (url[i] == '/' || url[i] == '?' || url[i] == '#')
		return 0;   /* empty authority */
	for (i = 0; i < len; i++)
		if (!url_byte_ok((unsigned char)url[i]))
			return 0;
	return 1;
}

static const char *const kind_names[] = {
	[TOKEN_CLICK] = "click", [TOKEN_OPEN] = "open", [TOKEN_UNSUBSCRIBE] = "unsubscribe",
};

const char *token_kind_name(enum token_kind k)
{
	return (k >= TOKEN_CLICK && k <= TOKEN_UNSUBSCRIBE) ? kind_names[k] : NULL;
}

int token_kind_parse(const char *s, enum token_kind *k)
{
	for (int i = TOKEN_CLICK; i <= TOKEN_UNSUBSCRIBE; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum token_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *token_strerror(enum token_err e)
{
	switch (e) {
	case TOKEN_OK:           return "ok";
	case TOKEN_EMALFORMED:   return "malformed token";
	case TOKEN_EVERSION:     return "unsupported token version";
	case TOKEN_EUNKNOWN_KEY: return "unknown key id";
	case TOKEN_EBADTAG:      return "bad tag";
	case TOKEN_EEXPIRED:     return "token expired";
	case TOKEN_EKIND:        return "unknown token kind";
	case TOKEN_ETOOLONG:     return "token too long";
	case TOKEN_EINTERNAL:    return "internal error";
	}
	return "unknown error";
}

/* ------------------------------------------------------------------------ keyring */

struct token_keyring *token_keyring_new(void)
{
	struct token_keyring *kr = calloc(1, sizeof(*kr));

	if (!kr)
		return NULL;
	kr->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!kr->mac) {
		free(kr);
		return NULL;
	}
	kr->current = -1;
	return kr;
}

int token_keyring_add(struct token_keyring *kr, uint8_t key_id, const uint8_t *key, size_t len,
		      char *err, size_t errlen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;

	if (!kr || !key) {
		err_set(err, errlen, "key %u: no key given", key_id);
		return -1;
	}
	if (len < TOKEN_KEY_MIN || len > TOKEN_KEY_MAX) {
		err_set(err, errlen, "key %u: length %zu, want %d..%d bytes", key_id, len,
			TOKEN_KEY_MIN, TOKEN_KEY_MAX);
		return -1;
	}
	if (kr->keys[key_id]) {
		err_set(err, errlen, "key %u: id already in the keyring", key_id);
		return -1;
	}
	ctx = EVP_MAC_CTX_new(kr->mac);
	if (!ctx || !EVP_MAC_init(ctx, key, len, params)) {
		EVP_MAC_CTX_free(ctx);
		err_set(err, errlen, "key %u: HMAC-SHA256 setup failed", key_id);
		return -1;
	}
	kr->keys[key_id] = ctx;
	return 0;
}

int token_keyring_set_current(struct token_keyring *kr, uint8_t key_id)
{
	if (!kr || !kr->keys[key_id])
		return -1;
	kr->current = key_id;
	return 0;
}

int token_keyring_current(const struct token_keyring *kr)
{
	return kr ? kr->current : -1;
}

int token_keyring_has(const struct token_keyring *kr, uint8_t key_id)
{
	return kr && kr->keys[key_id];
}

void token_keyring_free(struct token_keyring *kr)
{
	if (!kr)
		return;
	for (int i = 0; i < NKEYS; i++)
		EVP_MAC_CTX_free(kr->keys[i]);
	EVP_MAC_free(kr->mac);
	free(kr);
}

/* HMAC over host || payload with a ready (keyed, freshly initialized) context. */
static int mac_run(EVP_MAC_CTX *ctx, const char *host, size_t host_len, const uint8_t *payload,
		   size_t plen, uint8_t out[EVP_MAX_MD_SIZE])
{
	size_t olen = 0;

	if (host_len && !EVP_MAC_update(ctx, (const unsigned char *)host, host_len))
		return -1;
	if (!EVP_MAC_update(ctx, payload, plen) ||
	    !EVP_MAC_final(ctx, out, &olen, EVP_MAX_MD_SIZE) || olen < TOKEN_TAG_LEN)
		return -1;
	return 0;
}

/* Thread-safe on a shared keyring: works on a private copy of the keyed template. */
static int mac_tag_shared(const struct token_keyring *kr, uint8_t key_id, const char *host,
			  size_t host_len, const uint8_t *payload, size_t plen,
			  uint8_t out[EVP_MAX_MD_SIZE])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(kr->keys[key_id]);
	int rc;

	if (!ctx)
		return -1;
	rc = mac_run(ctx, host, host_len, payload, plen, out);
	EVP_MAC_CTX_free(ctx);
	return rc;
}

/* ------------------------------------------------------------------------ encode */

static int payload_build(const struct token *t, uint8_t key_id, uint8_t *p, size_t *plen,
			 char *err, size_t errlen)
{
	size_t o = TOKEN_FIXED_LEN;

	if (!token_kind_name(t->kind)) {
		err_set(err, errlen, "unknown token kind %d", (int)t->kind);
		return -1;
	}
	if (t->kind == TOKEN_CLICK && !token_url_valid(t->url, t->url_len)) {
		err_set(err, errlen, "click needs an absolute http(s) URL of 1..%d printable "
			"ASCII bytes without spaces, quotes, '<', '>' or '\\'", TOKEN_URL_MAX);
		return -1;
	}
	if (t->kind != TOKEN_CLICK && t->url_len) {
		err_set(err, errlen, "only click tokens carry a URL");
		return -1;
	}
	p[0] = TOKEN_VERSION;
	p[1] = key_id;
	p[2] = (uint8_t)t->kind;
	p[3] = t->expiry_days ? FLAG_EXPIRY : 0;
	put_u64(p + 4, t->message_id);
	put_u64(p + 12, t->recipient_id);
	put_u16(p + 20, t->link_index);
	if (t->expiry_days) {
		put_u16(p + o, t->expiry_days);
		o += 2;
	}
	if (t->kind == TOKEN_CLICK) {
		put_u16(p + o, t->url_len);
		memcpy(p + o + 2, t->url, t->url_len);
		o += 2 + t->url_len;
	}
	*plen = o;
	return 0;
}

static int host_ok(const char *host, size_t host_len)
{
	char norm[HOSTNAME_MAX + 1];
	int n;

	if (!host)
		return 0;
	n = hostname_normalize(host, host_len, norm, sizeof(norm), HOSTNAME_NAME_ONLY);
	return n >= 0 && (size_t)n == host_len && memcmp(norm, host, host_len) == 0;
}

int token_encode_key(const struct token_keyring *kr, uint8_t key_id, const char *host,
		     size_t host_len, const struct token *t, char *out, size_t outlen, char *err,
		     size_t errlen)
{
	uint8_t payload[TOKEN_PAYLOAD_MAX], tag[EVP_MAX_MD_SIZE];
	size_t plen, need, o;

	if (!kr || !t || !out) {
		err_set(err, errlen, "missing argument");
		return -1;
	}
	if (!kr->keys[key_id]) {
		err_set(err, errlen, "key %u is not in the keyring", key_id);
		return -1;
	}
	if (!host_ok(host, host_len)) {
		err_set(err, errlen, "host must be a normalized DNS name (lower case, no port)");
		return -1;
	}
	if (payload_build(t, key_id, payload, &plen, err, errlen) < 0)
		return -1;
	need = TOKEN_B64_LEN(plen) + 1 + TAG_B64_LEN + 1;
	if (outlen < need) {
		err_set(err, errlen, "output buffer too small (%zu < %zu)", outlen, need);
		return -1;
	}
	if (mac_tag_shared(kr, key_id, host, host_len, payload, plen, tag) < 0) {
		err_set(err, errlen, "HMAC-SHA256 failed");
		return -1;
	}
	o = b64url_encode(payload, plen, out);
	out[o++] = '.';
	o += b64url_encode(tag, TOKEN_TAG_LEN, out + o);
	out[o] = '\0';
	return (int)o;
}

int token_encode(const struct token_keyring *kr, const char *host, size_t host_len,
		 const struct token *t, char *out, size_t outlen, char *err, size_t errlen)
{
	if (!kr || kr->current < 0) {
		err_set(err, errlen, "no current signing key");
		return -1;
	}
	return token_encode_key(kr, (uint8_t)kr->current, host, host_len, t, out, outlen, err,
				errlen);
}

/* ------------------------------------------------------------------------ decode */

/* Field layout of a decoded payload; URL syntax is checked too (defence in depth). */
static enum token_err payload_parse(const uint8_t *p, size_t plen, struct token *t)
{
	size_t o = TOKEN_FIXED_LEN;

	if (plen < 1)
		return TOKEN_EMALFORMED;
	if (p[0] != TOKEN_VERSION)
		return TOKEN_EVERSION;
	if (plen < TOKEN_FIXED_LEN)
		return TOKEN_EMALFORMED;
	if (!token_kind_name((enum token_kind)p[2]))
		return TOKEN_EKIND;
	if (p[3] & ~FLAG_EXPIRY)
		return TOKEN_EMALFORMED;
	t->version = p[0];
	t->key_id = p[1];
	t->kind = (enum token_kind)p[2];
	t->message_id = get_u64(p + 4);
	t->recipient_id = get_u64(p + 12);
	t->link_index = get_u16(p + 20);
	t->expiry_days = 0;
	t->url = NULL;
	t->url_len = 0;
	if (p[3] & FLAG_EXPIRY) {
		if (plen < o + 2 || get_u16(p + o) == 0)
			return TOKEN_EMALFORMED;
		t->expiry_days = get_u16(p + o);
		o += 2;
	}
	if (t->kind == TOKEN_CLICK) {
		if (plen < o + 2)
			return TOKEN_EMALFORMED;
		t->url_len = get_u16(p + o);
		t->url = (const char *)p + o + 2;
		o += 2;
		if (plen - o < t->url_len || !token_url_valid(t->url, t->url_len))
			return TOKEN_EMALFORMED;
		o += t->url_len;
	}
	return o == plen ? TOKEN_OK : TOKEN_EMALFORMED;
}

/* Splits and decodes the text; payload into scratch, tag into tag. */
static enum token_err token_split(const char *tok, size_t tok_len, uint8_t *scratch,
				  size_t scratch_len, size_t *plen, uint8_t tag[TOKEN_TAG_LEN])
{
	const char *dot;
	size_t b64len;
	long dlen;

	if (!tok)
		return TOKEN_EMALFORMED;
	if (tok_len > TOKEN_MAX_LEN)
		return TOKEN_ETOOLONG;
	dot = memchr(tok, '.', tok_len);
	if (!dot)
		return TOKEN_EMALFORMED;
	b64len = (size_t)(dot - tok);
	if (tok_len - b64len - 1 != TAG_B64_LEN)
		return TOKEN_EMALFORMED;
	dlen = b64url_decoded_len(b64len);
	if (dlen <= 0)
		return TOKEN_EMALFORMED;
	if (!scratch || (size_t)dlen > scratch_len)
		return TOKEN_ETOOLONG;
	if (b64url_decode(tok, b64len, scratch) < 0 || b64url_decode(dot + 1, TAG_B64_LEN, tag) < 0)
		return TOKEN_EMALFORMED;
	*plen = (size_t)dlen;
	return TOKEN_OK;
}

enum token_err token_parse_unverified(const char *tok, size_t tok_len, struct token *t,
				      uint8_t *scratch, size_t scratch_len)
{
	uint8_t tag[TOKEN_TAG_LEN];
	size_t plen;
	enum token_err e = token_split(tok, tok_len, scratch, scratch_len, &plen, tag);

	if (e != TOKEN_OK)
		return e;
	return payload_parse(scratch, plen, t);
}

/* Everything after splitting: layout, key, tag, expiry. v NULL = shared keyring path. */
static enum token_err verify_payload(const struct token_keyring *kr, struct token_verifier *v,
				     const char *host, size_t host_len, time_t now,
				     struct token *t, const uint8_t *payload, size_t plen,
				     const uint8_t tag[TOKEN_TAG_LEN])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	enum token_err e = payload_parse(payload, plen, t);
	int rc;

	if (e != TOKEN_OK)
		return e;
	if (!kr->keys[t->key_id])
		return TOKEN_EUNKNOWN_KEY;
	if (v) {
		EVP_MAC_CTX *ctx = v->ctx[t->key_id];

		/* init with no key restarts HMAC with the key already set: no allocation */
		rc = (!ctx || !EVP_MAC_init(ctx, NULL, 0, NULL)) ? -1 :
		     mac_run(ctx, host, host_len, payload, plen, mac);
	} else {
		rc = mac_tag_shared(kr, t->key_id, host, host_len, payload, plen, mac);
	}
	if (rc < 0)
		return TOKEN_EINTERNAL;
	if (CRYPTO_memcmp(mac, tag, TOKEN_TAG_LEN) != 0)
		return TOKEN_EBADTAG;
	if (t->expiry_days && token_day(now) > (long)t->expiry_days)
		return TOKEN_EEXPIRED;
	return TOKEN_OK;
}

static enum token_err decode_common(const struct token_keyring *kr, struct token_verifier *v,
				    const char *host, size_t host_len, const char *tok,
				    size_t tok_len, time_t now, struct token *t,
				    uint8_t *scratch, size_t scratch_len)
{
	uint8_t tag[TOKEN_TAG_LEN];
	size_t plen;
	enum token_err e;

	if (!kr || !t)
		return TOKEN_EINTERNAL;
	e = token_split(tok, tok_len, scratch, scratch_len, &plen, tag);
	if (e != TOKEN_OK)
		return e;
	return verify_payload(kr, v, host, host_len, now, t, scratch, plen, tag);
}

enum token_err token_decode(const struct token_keyring *kr, const char *host, size_t host_len,
			    const char *tok, size_t tok_len, time_t now, struct token *t,
			    uint8_t *scratch, size_t scratch_len)
{
	return decode_common(kr, NULL, host, host_len, tok, tok_len, now, t, scratch,
			     scratch_len);
}

/* ------------------------------------------------------------------------ verifier */

struct token_verifier *token_verifier_new(const struct token_keyring *kr)
{
	struct token_verifier *v;

	if (!kr)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->kr = kr;
	for (int i = 0; i < NKEYS; i++) {
		if (!kr->keys[i])
			continue;
		v->ctx[i] = EVP_MAC_CTX_dup(kr->keys[i]);
		if (!v->ctx[i]) {
			token_verifier_free(v);
			return NULL;
		}
	}
	return v;
}

void token_verifier_free(struct token_verifier *v)
{
	if (!v)
		return;
	for (int i = 0; i < NKEYS; i++)
		EVP_MAC_CTX_free(v->ctx[i]);
	free(v);
}

enum token_err token_verifier_decode(struct token_verifier *v, const char *host,
				     size_t host_len, const char *tok, size_t tok_len,
				     time_t now, struct token *t, uint8_t *scratch,
				     size_t scratch_len)
{
	if (!v)
		return TOKEN_EINTERNAL;
	return decode_common(v->kr, v, host, host_len, tok, tok_len, now, t, scratch,
			     scratch_len);
}
