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
	enum { RSA2048, RSA1024, RSA512, PKCS1, ED, ED_SPKI, SPACED, TRUNCATED, NONE };
	static const struct {
		const char *pattern; /* the record, its "%s" replaced by the key */
		int key;
		enum dd_level want;
		const char *part;
	} cases[] = {
		{ "v=DKIM1; k=rsa; p=%s", RSA2048, DD_OK, "RSA key of 2048 bits" },
		/* v= and k= are optional; the bare RSAPublicKey is allowed */
		{ "p=%s", PKCS1, DD_OK, "RSA key of 2048 bits" },
		{ "v=DKIM1; p=%s", RSA1024, DD_WARN, "1024 bits" },
		{ "v=DKIM1; p=%s", RSA512, DD_FAIL, "under 1024 bits" },
		{ "v=DKIM1; k=ed25519; p=%s", ED, DD_OK, "Ed25519" },
		{ "v=DKIM1; k=ed25519; p=%s", ED_SPKI, DD_FAIL, "not its SubjectPublicKeyInfo" },
		{ "v=DKIM1; k=ed25519; p=%s", RSA2048, DD_FAIL, "Ed25519 key is the bare 32-byte key" },
		{ "v=DKIM1; p=%s", ED_SPKI, DD_FAIL, "but k= says rsa" },
		{ "v=DKIM1; k=rsa; p=%s", NONE, DD_FAIL, "revoked" },
		{ "v=DKIM1; p=-----BEGIN PUBLIC KEY-----%s-----END PUBLIC KEY-----", RSA2048, DD_FAIL,
		  "PEM armour" },
		{ "v=DKIM1; p=\"%s\"", RSA2048, DD_FAIL, "quotes" },
		{ "v=DKIM1; p=%s", TRUNCATED, DD_FAIL, "not valid base64" },
		{ "v=DKIM1; p=%s", SPACED, DD_WARN, "spaces or line breaks" },
		{ "k=rsa; v=DKIM1; p=%s", RSA2048, DD_FAIL, "first tag" },
		{ "v=DKIM2; p=%s", RSA2048, DD_FAIL, "DKIM1" },
		{ "v=DKIM1; k=dsa; p=%s", RSA2048, DD_FAIL, "unknown key type" },
		{ "v=DKIM1; h=sha1; p=%s", RSA2048, DD_FAIL, "RFC 8301" },
		{ "v=DKIM1; h=sha1:sha256; t=y; p=%s", RSA2048, DD_WARN, "t=y" },
		{ "v=DKIM1; s=tlsrpt; p=%s", RSA2048, DD_FAIL, "not for email" },
		{ "v=DKIM1; k=rsa%s", NONE, DD_FAIL, "no p= tag" },
	};
	char *keys[NONE + 1] = {
		[RSA2048] = key_b64(EVP_PKEY_RSA, 2048, false),
		[RSA1024] = key_b64(EVP_PKEY_RSA, 1024, false),
		[RSA512] = key_b64(EVP_PKEY_RSA, 512, false),
		[PKCS1] = key_b64(EVP_PKEY_RSA, 2048, true),
		[ED] = key_b64(EVP_PKEY_ED25519, 0, true),
		[ED_SPKI] = key_b64(EVP_PKEY_ED25519, 0, false),
		[SPACED] = malloc(9000),
		[TRUNCATED] = strdup("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr"),
		[NONE] = strdup(""),
	};

	snprintf(keys[SPACED], 9000, "%.100s %s", keys[RSA2048], keys[RSA2048] + 100);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dd_check c = judge(cases[i].pattern, keys[cases[i].key]);
		expect(&c, cases[i].want, cases[i].part);
	}
	for (size_t i = 0; i <= NONE; i++)
		free(keys[i]);
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
	static const struct {
		const char *domain, *target; /* the selector is s1 */
		enum dd_level want;
		const char *part;
		const char *found, *publish; /* parts of c.found and c.publish, or NULL */
	} cases[] = {
		{ "own.test", NULL, DD_OK, "2048 bits", NULL, NULL },
		{ "cname.test", "s1.dkim.esp.test", DD_OK, "delegated by CNAME to s1.dkim.esp.test",
		  "CNAME -> s1.dkim.esp.test", NULL },
		{ "own.test", "s1.dkim.esp.test", DD_WARN, "should be a CNAME to s1.dkim.esp.test",
		  NULL, NULL },
		{ "split.test", NULL, DD_FAIL, "split across 2 TXT records", NULL, NULL },
		{ "slow.test", NULL, DD_TEMPERROR, "failed", NULL, NULL },
		{ "nodata.test", NULL, DD_FAIL, "the name does not exist", NULL,
		  "s1._domainkey.nodata.test TXT \"v=DKIM1; k=rsa; p=" },
	};

	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", key);
	snprintf(half1, sizeof(half1), "v=DKIM1; k=rsa; p=%.200s", key);
	fake_dns_init(&dns, zone);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dd_check c = { 0 };
		dkim_check(&dns.src, cases[i].domain, "s1", cases[i].target, &c);
		expect(&c, cases[i].want, cases[i].part);
		if (cases[i].found && !strstr(c.found, cases[i].found))
			fail_msg("%s: found \"%s\" lacks \"%s\"", cases[i].domain, c.found,
				 cases[i].found);
		if (cases[i].publish && !strstr(c.publish, cases[i].publish))
			fail_msg("%s: publish \"%s\" lacks \"%s\"", cases[i].domain, c.publish,
				 cases[i].publish);
	}
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
