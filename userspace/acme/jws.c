// SPDX-License-Identifier: MIT
#include "acme/jws.h"
#include "acme/atomic_file.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_encode(const void *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = in;
	size_t o = 0, need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);

	if (need + 1 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t rem = len - i;
		if (rem > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (rem > 2)
			v |= p[i + 2];
		out[o++] = b64url_alpha[(v >> 18) & 63];
		out[o++] = b64url_alpha[(v >> 12) & 63];
		if (rem > 1)
			out[o++] = b64url_alpha[(v >> 6) & 63];
		if (rem > 2)
			out[o++] = b64url_alpha[v & 63];
	}
	out[o] = '\0';
	return (int)o;
}

char *b64url_encode_alloc(const void *in, size_t len)
{
	size_t cap = len / 3 * 4 + 5;
	char *s = malloc(cap);

	if (s && b64url_encode(in, len, s, cap) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int b64url_val(char c)
{
	const char *p = c ? strchr(b64url_alpha, c) : NULL;

	return p ? (int)(p - b64url_alpha) : -1;
}

int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* the leftover bits must be zero for a canonical encoding */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	return (int)o;
}

EVP_PKEY *acme_key_new_p256(void)
{
	return EVP_EC_gen("P-256");
}

static int is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t glen;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return 0;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					    sizeof(group), &glen))
		return 0;
	return !strcmp(group, "prime256v1") || !strcmp(group, "P-256");
}

char *acme_key_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (!b)
		return NULL;
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		n = BIO_get_mem_data(b, &data);
		out = malloc((size_t)n + 1);
		if (out) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

static EVP_PKEY *create_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = acme_key_new_p256();
	char *pem = key ? acme_key_pem(key) : NULL;

	if (!pem || atomic_write_file(path, pem, strlen(pem), 0600, err, errlen)) {
		if (!pem)
			snprintf(err, errlen, "cannot generate a P-256 key");
		free(pem);
		EVP_PKEY_free(key);
		return NULL;
	}
	free(pem);
	return key;
}

EVP_PKEY *acme_key_load(const char *path, int create, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key;

	if (!f && errno == ENOENT && create)
		return create_key(path, err, errlen);
	if (!f) {
		snprintf(err, errlen, "cannot open account key %s: %s", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		snprintf(err, errlen, "%s is not a PEM private key", path);
		return NULL;
	}
	if (!is_p256(key)) {
		snprintf(err, errlen, "%s: account key must be ECDSA P-256 (ES256)", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* A big number as exactly len big-endian bytes, base64url. */
static json_t *bn_b64(EVP_PKEY *key, const char *param, size_t len)
{
	BIGNUM *bn = NULL;
	unsigned char buf[66];
	char out[96];
	json_t *s = NULL;

	if (len > sizeof(buf) || !EVP_PKEY_get_bn_param(key, param, &bn))
		return NULL;
	if (BN_bn2binpad(bn, buf, (int)len) == (int)len &&
	    b64url_encode(buf, len, out, sizeof(out)) > 0)
		s = json_string(out);
	BN_free(bn);
	return s;
}

json_t *jws_jwk(EVP_PKEY *key)
{
	json_t *x, *y;

	if (!is_p256(key))
		return NULL;
	x = bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	y = bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	if (!x || !y) {
		json_decref(x);
		json_decref(y);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
}

int jwk_thumbprint(const json_t *jwk, char out[JWS_THUMBPRINT_LEN + 1])
{
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *members;
	unsigned char md[SHA256_DIGEST_LENGTH];
	json_t *req;
	char *s;

	if (!kty)
		return -1;
	if (!strcmp(kty, "EC"))
		members = ec;
	else if (!strcmp(kty, "RSA"))
		members = rsa;
	else
		return -1;
	req = json_object();
	for (size_t i = 0; req && members[i]; i++) {
		json_t *v = json_object_get(jwk, members[i]);
		if (!json_is_string(v) || json_object_set(req, members[i], v)) {
			json_decref(req);
			return -1;
		}
	}
	/* RFC 7638 §3: members sorted, no whitespace; values are plain ASCII so no escaping */
	s = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(req);
	if (!s)
		return -1;
	SHA256((const unsigned char *)s, strlen(s), md);
	free(s);
	return b64url_encode(md, sizeof(md), out, JWS_THUMBPRINT_LEN + 1) < 0 ? -1 : 0;
}

int jws_thumbprint(EVP_PKEY *key, char out[JWS_THUMBPRINT_LEN + 1])
{
	json_t *jwk = jws_jwk(key);
	int rc = jwk ? jwk_thumbprint(jwk, out) : -1;

	json_decref(jwk);
	return rc;
}

/* ES256 over data: 64 bytes r||s (RFC 7518 §3.4), from OpenSSL's DER signature. */
static int es256_sign(EVP_PKEY *key, const char *data, size_t len, unsigned char rs[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;

	if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, der, &dlen, (const unsigned char *)data, len) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32)
		rc = 0;
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* "b64(protected).b64(payload)" and the flattened JSON around a detached signature. */
static char *flatten(const char *prot_b64, const char *pay_b64, const unsigned char *sig,
		     size_t siglen)
{
	char sig_b64[128];
	json_t *o;
	char *s;

	if (b64url_encode(sig, siglen, sig_b64, sizeof(sig_b64)) < 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:s}", "protected", prot_b64, "payload", pay_b64,
		      "signature", sig_b64);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static char *json_b64(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT), *b;

	if (!s)
		return NULL;
	b = b64url_encode_alloc(s, strlen(s));
	free(s);
	return b;
}

static char *signing_input(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (s) {
		memcpy(s, a, la);
		s[la] = '.';
		memcpy(s + la + 1, b, lb + 1);
	}
	return s;
}

char *jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	       const char *payload, char *err, size_t errlen)
{
	json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce ? nonce : "",
				"url", url);
	char *prot = NULL, *pay = NULL, *input = NULL, *out = NULL;
	unsigned char rs[64];

	if (hdr && kid)
		json_object_set_new(hdr, "kid", json_string(kid));
	else if (hdr)
		json_object_set_new(hdr, "jwk", jws_jwk(key));
	if (hdr && !json_object_get(hdr, kid ? "kid" : "jwk")) {
		json_decref(hdr);
		hdr = NULL;
	}
	prot = hdr ? json_b64(hdr) : NULL;
	pay = b64url_encode_alloc(payload, strlen(payload));
	input = prot && pay ? signing_input(prot, pay) : NULL;
	if (!input || es256_sign(key, input, strlen(input), rs))
		snprintf(err, errlen, "cannot sign the ACME request (ES256)");
	else if (!(out = flatten(prot, pay, rs, sizeof(rs))))
		snprintf(err, errlen, "out of memory");
	json_decref(hdr);
	free(prot);
	free(pay);
	free(input);
	return out;
}

json_t *jws_eab(EVP_PKEY *account_key, const char *eab_kid, const char *hmac_b64,
		const char *url, char *err, size_t errlen)
{
	unsigned char mac_key[256], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int klen = b64url_decode(hmac_b64, strlen(hmac_b64), mac_key, sizeof(mac_key));
	json_t *hdr, *jwk, *out = NULL;
	char *prot = NULL, *pay = NULL, *input = NULL, sig[128];

	if (klen <= 0) {
		snprintf(err, errlen, "external account binding HMAC key is not base64url");
		return NULL;
	}
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid, "url", url);
	jwk = jws_jwk(account_key);
	prot = hdr ? json_b64(hdr) : NULL;
	pay = jwk ? json_b64(jwk) : NULL;
	input = prot && pay ? signing_input(prot, pay) : NULL;
	if (input && HMAC(EVP_sha256(), mac_key, klen, (const unsigned char *)input, strlen(input),
			  mac, &maclen) && b64url_encode(mac, maclen, sig, sizeof(sig)) > 0)
		out = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", pay,
				"signature", sig);
	if (!out)
		snprintf(err, errlen, "cannot build the external account binding");
	OPENSSL_cleanse(mac_key, sizeof(mac_key));
	json_decref(hdr);
	json_decref(jwk);
	free(prot);
	free(pay);
	free(input);
	return out;
}
