// SPDX-License-Identifier: MIT
/* JWS ES256 signing, the RFC 7638 thumbprint vector, base64url, external account binding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme/jws.h"

/* RFC 7638 §3.1: the example RSA key and its thumbprint */
static const char rfc7638_jwk[] =
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
	"\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

static void test_thumbprint_rfc7638(void **state)
{
	json_t *jwk = json_loads(rfc7638_jwk, 0, NULL);
	char tp[JWS_THUMBPRINT_LEN + 1];

	assert_non_null(jwk);
	assert_int_equal(jwk_thumbprint(jwk, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* a missing required member is an error, not a different thumbprint */
	json_object_del(jwk, "e");
	assert_int_equal(jwk_thumbprint(jwk, tp), -1);
	json_decref(jwk);
}

static void test_b64url(void **state)
{
	unsigned char out[16];
	char s[32];

	assert_int_equal(b64url_encode("", 0, s, sizeof(s)), 0);
	assert_int_equal(b64url_encode("f", 1, s, sizeof(s)), 2);
	assert_string_equal(s, "Zg");
	assert_int_equal(b64url_encode("foob", 4, s, sizeof(s)), 6);
	assert_string_equal(s, "Zm9vYg");
	assert_int_equal(b64url_encode("\xfb\xff", 2, s, sizeof(s)), 3);
	assert_string_equal(s, "-_8");
	assert_int_equal(b64url_encode("foobar", 6, s, 8), -1); /* needs 9 */
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(b64url_decode("Zm9v+mFy", 8, out, sizeof(out)), -1); /* not url alphabet */
	assert_int_equal(b64url_decode("Zh", 2, out, sizeof(out)), -1);       /* non-zero pad bits */
	assert_int_equal(b64url_decode("Z", 1, out, sizeof(out)), -1);
}

/* Verifies a flattened JWS with OpenSSL, as a CA would; returns the protected header. */
static json_t *verify_es256(const char *jws, EVP_PKEY *pub, const char *want_payload)
{
	json_t *o = json_loads(jws, 0, NULL);
	const char *prot = json_string_value(json_object_get(o, "protected"));
	const char *pay = json_string_value(json_object_get(o, "payload"));
	const char *sig = json_string_value(json_object_get(o, "signature"));
	unsigned char rs[80], hdr[1024], body[1024], *der = NULL;
	char input[4096];
	int n, hl, bl, dl;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	json_t *h;

	assert_non_null(prot);
	assert_non_null(pay);
	assert_non_null(sig);
	assert_int_equal(b64url_decode(sig, strlen(sig), rs, sizeof(rs)), 64);
	ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
	dl = i2d_ECDSA_SIG(es, &der);
	n = snprintf(input, sizeof(input), "%s.%s", prot, pay);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(ctx, der, dl, (unsigned char *)input, n), 1);
	/* a flipped byte must not verify */
	input[3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_not_equal(EVP_DigestVerify(ctx, der, dl, (unsigned char *)input, n), 1);
	bl = b64url_decode(pay, strlen(pay), body, sizeof(body) - 1);
	assert_true(bl >= 0);
	body[bl] = 0;
	assert_string_equal((char *)body, want_payload);
	hl = b64url_decode(prot, strlen(prot), hdr, sizeof(hdr) - 1);
	assert_true(hl > 0);
	h = json_loadb((char *)hdr, hl, 0, NULL);
	assert_non_null(h);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	json_decref(o);
	return h;
}

static void test_es256_sign_verifies(void **state)
{
	EVP_PKEY *key = acme_key_new_p256();
	char err[256], tp[JWS_THUMBPRINT_LEN + 1], tp2[JWS_THUMBPRINT_LEN + 1];
	char *jws;
	json_t *h;

	assert_non_null(key);
	/* new account: jwk in the header, no kid */
	jws = jws_sign(key, NULL, "nonce-1", "https://ca.test/new-acct",
		       "{\"termsOfServiceAgreed\":true}", err, sizeof(err));
	assert_non_null(jws);
	h = verify_es256(jws, key, "{\"termsOfServiceAgreed\":true}");
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(h, "nonce")), "nonce-1");
	assert_string_equal(json_string_value(json_object_get(h, "url")), "https://ca.test/new-acct");
	assert_null(json_object_get(h, "kid"));
	assert_int_equal(jwk_thumbprint(json_object_get(h, "jwk"), tp), 0);
	assert_int_equal(jws_thumbprint(key, tp2), 0);
	assert_string_equal(tp, tp2);
	assert_int_equal(strlen(tp), 43);
	json_decref(h);
	free(jws);

	/* POST-as-GET with kid: empty payload, kid and no jwk */
	jws = jws_sign(key, "https://ca.test/acct/1", "n2", "https://ca.test/order/7", "", err,
		       sizeof(err));
	assert_non_null(jws);
	h = verify_es256(jws, key, "");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), "https://ca.test/acct/1");
	assert_null(json_object_get(h, "jwk"));
	json_decref(h);
	free(jws);
	EVP_PKEY_free(key);
}

static void test_jwk_members(void **state)
{
	EVP_PKEY *key = acme_key_new_p256();
	json_t *jwk = jws_jwk(key);
	unsigned char x[40];
	const char *xs = json_string_value(json_object_get(jwk, "x"));

	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	/* coordinates are fixed-width 32 bytes even with leading zeros */
	assert_int_equal(b64url_decode(xs, strlen(xs), x, sizeof(x)), 32);
	assert_null(json_object_get(jwk, "d"));
	json_decref(jwk);
	EVP_PKEY_free(key);
}

static void test_key_file(void **state)
{
	char dir[] = "/tmp/acme-jws-XXXXXX", path[256], err[256];
	char tp1[JWS_THUMBPRINT_LEN + 1], tp2[JWS_THUMBPRINT_LEN + 1];
	EVP_PKEY *k1, *k2;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/account.key", dir);
	assert_null(acme_key_load(path, 0, err, sizeof(err)));
	k1 = acme_key_load(path, 1, err, sizeof(err));
	assert_non_null(k1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	k2 = acme_key_load(path, 1, err, sizeof(err)); /* loads, does not replace */
	assert_non_null(k2);
	jws_thumbprint(k1, tp1);
	jws_thumbprint(k2, tp2);
	assert_string_equal(tp1, tp2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	/* an RSA key is refused: ACME accounts here are ES256 only */
	k1 = EVP_RSA_gen(2048);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, k1, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_free(k1);
	assert_null(acme_key_load(path, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "P-256"));
	unlink(path);
	rmdir(dir);
}

static void test_eab(void **state)
{
	EVP_PKEY *key = acme_key_new_p256();
	const char *hmac_b64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
	unsigned char mk[64], mac[64], sig[64];
	unsigned int ml;
	char err[256], input[2048], hdr[512];
	json_t *eab = jws_eab(key, "kid-1", hmac_b64, "https://ca.test/new-acct", err, sizeof(err));
	const char *prot, *pay, *s;
	json_t *h;
	int kl, hl;

	assert_non_null(eab);
	prot = json_string_value(json_object_get(eab, "protected"));
	pay = json_string_value(json_object_get(eab, "payload"));
	s = json_string_value(json_object_get(eab, "signature"));
	hl = b64url_decode(prot, strlen(prot), (unsigned char *)hdr, sizeof(hdr) - 1);
	hdr[hl] = 0;
	h = json_loads(hdr, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), "kid-1");
	assert_null(json_object_get(h, "nonce")); /* RFC 8555 §7.3.4: no nonce */
	json_decref(h);
	kl = b64url_decode(hmac_b64, strlen(hmac_b64), mk, sizeof(mk));
	snprintf(input, sizeof(input), "%s.%s", prot, pay);
	HMAC(EVP_sha256(), mk, kl, (unsigned char *)input, strlen(input), mac, &ml);
	assert_int_equal(b64url_decode(s, strlen(s), sig, sizeof(sig)), 32);
	assert_memory_equal(sig, mac, 32);
	json_decref(eab);
	assert_null(jws_eab(key, "kid-1", "not base64!", "https://ca.test/x", err, sizeof(err)));
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_es256_sign_verifies),
		cmocka_unit_test(test_jwk_members),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_eab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
