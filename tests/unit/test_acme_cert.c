// SPDX-License-Identifier: MIT
/* CSR contents, chain facts, RFC 9773 ARI identifiers and windows, renewal timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "acme/ari.h"
#include "acme/csr.h"
#include "acme/jws.h"

static void test_csr_contents(void **state)
{
	EVP_PKEY *key = acme_key_new_p256();
	const char *names[] = { "click.example.com", "www.click.example.com" };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len;
	char err[256], cn[128];
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *san;
	EVP_PKEY *pub;

	assert_int_equal(csr_build(key, names, 2, &der, &len, err, sizeof(err)), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	/* self-signature verifies with the key it carries, which is ours */
	pub = X509_REQ_get0_pubkey(req);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "click.example.com");
	exts = X509_REQ_get_extensions(req);
	san = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	for (int i = 0; i < 2; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), names[i]);
	}
	GENERAL_NAMES_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	OPENSSL_free(der);
	/* a name too long for the CN is refused with a reason */
	names[0] = "a-very-long-label-that-goes-on-and-on.and-on-and-on.example-domain.com";
	assert_int_equal(csr_build(key, names, 1, &der, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "64"));
	EVP_PKEY_free(key);
}

/* A self-made leaf with the RFC 9773 example AKI and serial. */
static X509 *make_cert(EVP_PKEY *key, long serial, const unsigned char *aki, size_t aki_len,
		       const char *dns, long days)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	char san[300];
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)dns, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
	X509_set_pubkey(x, key);
	akid->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(akid->keyid, aki, (int)aki_len);
	X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
	snprintf(san, sizeof(san), "DNS:%s", dns);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, key, EVP_sha256());
	AUTHORITY_KEYID_free(akid);
	X509_NAME_free(n);
	return x;
}

static const unsigned char rfc_aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
					 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };

static void test_ari_cert_id_rfc9773(void **state)
{
	/* RFC 9773 §4.1: keyIdentifier 69:88:5B:...:D4, serial 00:87:65:43:21 */
	static const unsigned char serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	EVP_PKEY *key = acme_key_new_p256();
	char id[160];
	X509 *x;

	assert_int_equal(ari_cert_id_raw(rfc_aki, sizeof(rfc_aki), serial, sizeof(serial), id,
					 sizeof(id)), 0);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	/* from a certificate: the serial keeps its DER sign byte */
	x = make_cert(key, 0x87654321L, rfc_aki, sizeof(rfc_aki), "click.example.com", 90);
	assert_int_equal(ari_cert_id(x, id, sizeof(id)), 0);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	assert_int_equal(ari_cert_id(x, id, 20), -1);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void test_ari_window_rfc9773(void **state)
{
	/* RFC 9773 §4.2 example response */
	const char *body = "{\n  \"suggestedWindow\": {\n    \"start\": \"2025-01-02T04:00:00Z\",\n"
			   "    \"end\": \"2025-01-03T04:00:00Z\"\n  },\n"
			   "  \"explanationURL\": \"https://acme.example.com/docs/ari\"\n}";
	struct ari_window w;
	char err[256];
	time_t t;

	assert_int_equal(ari_parse(body, strlen(body), &w, err, sizeof(err)), 0);
	assert_int_equal(w.start, 1735790400);
	assert_int_equal(w.end, 1735876800);
	assert_string_equal(w.explanation, "https://acme.example.com/docs/ari");
	assert_int_equal(ari_pick(&w, 0), w.start);
	t = ari_pick(&w, UINT64_MAX);
	assert_true(t >= w.start && t < w.end);
	/* bad windows are refused with a reason */
	body = "{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\","
	       "\"end\":\"2025-01-02T04:00:00Z\"}}";
	assert_int_equal(ari_parse(body, strlen(body), &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ends before"));
	assert_int_equal(ari_parse("{}", 2, &w, err, sizeof(err)), -1);
	assert_int_equal(ari_parse("nope", 4, &w, err, sizeof(err)), -1);
}

static void test_rfc3339(void **state)
{
	assert_int_equal(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_rfc3339("2025-01-02T04:00:00.123456Z"), 1735790400);
	assert_int_equal(parse_rfc3339("2025-01-02T05:30:00+01:30"), 1735790400);
	assert_int_equal(parse_rfc3339("2025-01-02 04:00:00Z"), 1735790400);
	assert_int_equal(parse_rfc3339("2025-13-02T04:00:00Z"), -1);
	assert_int_equal(parse_rfc3339("2025-01-02T04:00:00"), -1);
	assert_int_equal(parse_rfc3339("2025-01-02T04:00:00Zjunk"), -1);
}

static void test_renewal_default(void **state)
{
	const time_t day = 86400;

	assert_int_equal(renewal_default(0, 90 * day), 60 * day);
	assert_int_equal(renewal_default(0, 45 * day), 30 * day);
	assert_int_equal(renewal_default(0, 6 * day), 4 * day);
}

static void test_chain_inspect(void **state)
{
	EVP_PKEY *key = acme_key_new_p256();
	X509 *x = make_cert(key, 0x87654321L, rfc_aki, sizeof(rfc_aki), "click.example.com", 90);
	BIO *b = BIO_new(BIO_s_mem());
	struct chain_facts f;
	char err[256], *pem;
	long len;

	PEM_write_bio_X509(b, x);
	PEM_write_bio_X509(b, x); /* stands in for an intermediate */
	len = BIO_get_mem_data(b, &pem);
	assert_int_equal(chain_inspect(pem, len, "click.example.com", &f, err, sizeof(err)), 0);
	assert_int_equal(f.n_certs, 2);
	assert_int_equal(f.not_after - f.not_before, 90 * 86400);
	assert_string_equal(f.ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	assert_string_equal(f.serial_hex, "87654321");
	assert_int_equal(chain_inspect(pem, len, "other.example.com", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not name"));
	assert_int_equal(chain_inspect("junk", 4, NULL, &f, err, sizeof(err)), -1);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_contents),
		cmocka_unit_test(test_ari_cert_id_rfc9773),
		cmocka_unit_test(test_ari_window_rfc9773),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_renewal_default),
		cmocka_unit_test(test_chain_inspect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
