// SPDX-License-Identifier: MIT
/* DKIM key records (RFC 6376 §3.2, §3.6.1; RFC 8301; RFC 8463) and the selector lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dns/dkim.h"
#include "expect_note.h"
#include "fake_dns.h"

static struct fake_dns dns;

/* base64 of a DER encoding of a fresh key: SubjectPublicKeyInfo, or for RSA with pkcs1 the
 * bare RSAPublicKey, or for Ed25519 with raw the 32-byte key. */
static char *key_b64(int type, int bits, bool alt)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(type, NULL);
	unsigned char der[4096], *p = der;
	char *out = malloc(8192);
	size_t len = sizeof(der);
	int n;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (type == EVP_PKEY_RSA)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	if (alt && type == EVP_PKEY_ED25519)
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, der, &len), 1);
	else
		len = (size_t)(alt ? i2d_PublicKey(k, &p) : i2d_PUBKEY(k, &p));
	n = EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	out[n] = '\0';
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return out;
}

/* The record pattern with its one "%s" replaced by the key. */
static struct dd_check judge(const char *pattern, const char *key)
{
	struct dd_check c = { .name = "dkim" };
	const char *at = strstr(pattern, "%s");
	char text[10000];

	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - pattern), pattern, key, at + 2);
	dkim_check_key(text, &c);
	return c;
}

static void test_tag_list(void **state)
{
	struct tag_list l;
	char err[200];

	assert_int_equal(tag_list_parse(" v = DKIM1 ;k=rsa;\tp=AB CD\r\n EF ; ", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(tag_get(&l, "v"), "DKIM1");
	assert_string_equal(tag_get(&l, "p"), "AB CD\r\n EF");
	assert_null(tag_get(&l, "h"));
	tag_list_free(&l);
	assert_int_equal(tag_list_parse("v=DKIM1; p=a; p=b", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "appears twice"));
	assert_int_equal(tag_list_parse("v=DKIM1; k", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no '='"));
	assert_int_equal(tag_list_parse("v=DKIM1; 9x=1", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad tag name"));
}

static void test_keys(void **state)
{
	char *rsa2048 = key_b64(EVP_PKEY_RSA, 2048, false);
	char *rsa1024 = key_b64(EVP_PKEY_RSA, 1024, false);
	char *rsa512 = key_b64(EVP_PKEY_RSA, 512, false);
	char *pkcs1 = key_b64(EVP_PKEY_RSA, 2048, true);
	char *ed = key_b64(EVP_PKEY_ED25519, 0, true);
	char *ed_spki = key_b64(EVP_PKEY_ED25519, 0, false);
	struct dd_check c;
	char spaced[9000];

	c = judge("v=DKIM1; k=rsa; p=%s", rsa2048);
	expect(&c, DD_OK, "RSA key of 2048 bits");
	c = judge("p=%s", pkcs1); /* v= and k= are optional; the bare RSAPublicKey is allowed */
	expect(&c, DD_OK, "RSA key of 2048 bits");
	c = judge("v=DKIM1; p=%s", rsa1024);
	expect(&c, DD_WARN, "1024 bits");
	c = judge("v=DKIM1; p=%s", rsa512);
	expect(&c, DD_FAIL, "under 1024 bits");
	c = judge("v=DKIM1; k=ed25519; p=%s", ed);
	expect(&c, DD_OK, "Ed25519");
	c = judge("v=DKIM1; k=ed25519; p=%s", ed_spki);
	expect(&c, DD_FAIL, "not its SubjectPublicKeyInfo");
	c = judge("v=DKIM1; k=ed25519; p=%s", rsa2048);
	expect(&c, DD_FAIL, "Ed25519 key is the bare 32-byte key");
	c = judge("v=DKIM1; p=%s", ed_spki);
	expect(&c, DD_FAIL, "but k= says rsa");
	c = judge("v=DKIM1; k=rsa; p=%s", "");
	expect(&c, DD_FAIL, "revoked");
	c = judge("v=DKIM1; p=-----BEGIN PUBLIC KEY-----%s-----END PUBLIC KEY-----", rsa2048);
	expect(&c, DD_FAIL, "PEM armour");
	c = judge("v=DKIM1; p=\"%s\"", rsa2048);
	expect(&c, DD_FAIL, "quotes");
	c = judge("v=DKIM1; p=%s", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr");
	expect(&c, DD_FAIL, "not valid base64");
	snprintf(spaced, sizeof(spaced), "%.100s %s", rsa2048, rsa2048 + 100);
	c = judge("v=DKIM1; p=%s", spaced);
	expect(&c, DD_WARN, "spaces or line breaks");
	c = judge("k=rsa; v=DKIM1; p=%s", rsa2048);
	expect(&c, DD_FAIL, "first tag");
	c = judge("v=DKIM2; p=%s", rsa2048);
	expect(&c, DD_FAIL, "DKIM1");
	c = judge("v=DKIM1; k=dsa; p=%s", rsa2048);
	expect(&c, DD_FAIL, "unknown key type");
	c = judge("v=DKIM1; h=sha1; p=%s", rsa2048);
	expect(&c, DD_FAIL, "RFC 8301");
	c = judge("v=DKIM1; h=sha1:sha256; t=y; p=%s", rsa2048);
	expect(&c, DD_WARN, "t=y");
	c = judge("v=DKIM1; s=tlsrpt; p=%s", rsa2048);
	expect(&c, DD_FAIL, "not for email");
	c = judge("v=DKIM1; k=rsa%s", "");
	expect(&c, DD_FAIL, "no p= tag");
	free(rsa2048), free(rsa1024), free(rsa512), free(pkcs1), free(ed), free(ed_spki);
}

static void test_selector(void **state)
{
	char *key = key_b64(EVP_PKEY_RSA, 2048, false);
	char rec[4096], half1[4096];
	const struct fake_rr zone[] = {
		{ "s1._domainkey.own.test", DNS_T_TXT, rec, 0 },
		{ "s1._domainkey.cname.test", DNS_T_CNAME, "s1.dkim.esp.test", 0 },
		{ "s1.dkim.esp.test", DNS_T_TXT, rec, 0 },
		{ "s1._domainkey.split.test", DNS_T_TXT, half1, 0 },
		{ "s1._domainkey.split.test", DNS_T_TXT, key + 200, 0 },
		{ "s1._domainkey.slow.test", DNS_T_TXT, "!TEMPFAIL", 0 },
		{ "_domainkey.nodata.test", DNS_T_TXT, "o=-", 0 },
		{ NULL, 0, NULL, 0 },
	};
	struct dd_check c;

	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", key);
	snprintf(half1, sizeof(half1), "v=DKIM1; k=rsa; p=%.200s", key);
	fake_dns_init(&dns, zone);
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "own.test", "s1", NULL, &c);
	expect(&c, DD_OK, "2048 bits");
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "cname.test", "s1", "s1.dkim.esp.test", &c);
	expect(&c, DD_OK, "delegated by CNAME to s1.dkim.esp.test");
	assert_non_null(strstr(c.found, "CNAME -> s1.dkim.esp.test"));
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "own.test", "s1", "s1.dkim.esp.test", &c);
	expect(&c, DD_WARN, "should be a CNAME to s1.dkim.esp.test");
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "split.test", "s1", NULL, &c);
	expect(&c, DD_FAIL, "split across 2 TXT records");
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "slow.test", "s1", NULL, &c);
	expect(&c, DD_TEMPERROR, "failed");
	c = (struct dd_check){ 0 };
	dkim_check(&dns.src, "nodata.test", "s1", NULL, &c);
	expect(&c, DD_FAIL, "the name does not exist");
	assert_non_null(strstr(c.publish, "s1._domainkey.nodata.test TXT \"v=DKIM1; k=rsa; p="));
	fake_dns_free(&dns);
	free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_list),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_selector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
