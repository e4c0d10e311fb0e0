// SPDX-License-Identifier: MIT
#include "acme/csr.h"
#include "acme/ari.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_san(X509_REQ *req, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	for (size_t i = 0; gens && i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (!g || !s || !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	ext = gens ? X509V3_EXT_i2d(NID_subject_alt_name, 0, gens) : NULL;
	if (ext && exts && sk_X509_EXTENSION_push(exts, ext) && X509_REQ_add_extensions(req, exts))
		rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return rc;
}

int csr_build(EVP_PKEY *key, const char *const *names, size_t n, unsigned char **der,
	      size_t *len, char *err, size_t errlen)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = X509_NAME_new();
	unsigned char *p = NULL;
	int dlen = -1;

	*der = NULL;
	if (!n || !names[0][0] || strlen(names[0]) > 64) {
		/* the subject CN is limited to 64 characters (RFC 5280 ub-common-name) */
		snprintf(err, errlen, "CSR needs 1 to 64-character names");
		goto out;
	}
	if (!req || !subj || !X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
					(const unsigned char *)names[0], -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, subj) || !X509_REQ_set_pubkey(req, key) ||
	    add_san(req, names, n) || !X509_REQ_sign(req, key, EVP_sha256())) {
		snprintf(err, errlen, "cannot build the CSR");
		goto out;
	}
	dlen = i2d_X509_REQ(req, &p);
	if (dlen <= 0) {
		snprintf(err, errlen, "cannot encode the CSR");
		goto out;
	}
	*der = p;
	*len = (size_t)dlen;
out:
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return *der ? 0 : -1;
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return timegm(&tm);
}

static void serial_hex(X509 *x, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, cap, "%s", h ? h : "");
	OPENSSL_free(h);
	BN_free(bn);
}

int chain_inspect(const char *pem, size_t len, const char *domain, struct chain_facts *f,
		  char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *leaf = NULL, *x;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (!leaf)
			leaf = x;
		else
			X509_free(x);
		f->n_certs++;
	}
	if (!leaf) {
		snprintf(err, errlen, "no PEM certificate in the chain");
		goto out;
	}
	f->not_before = asn1_time(X509_get0_notBefore(leaf));
	f->not_after = asn1_time(X509_get0_notAfter(leaf));
	if (f->not_before < 0 || f->not_after <= f->not_before) {
		snprintf(err, errlen, "leaf certificate has an unreadable validity period");
		goto out;
	}
	if (domain && X509_check_host(leaf, domain, 0, 0, NULL) != 1) {
		snprintf(err, errlen, "leaf certificate does not name %s", domain);
		goto out;
	}
	if (ari_cert_id(leaf, f->ari_id, sizeof(f->ari_id)))
		f->ari_id[0] = '\0';
	serial_hex(leaf, f->serial_hex, sizeof(f->serial_hex));
	rc = 0;
out:
	X509_free(leaf);
	BIO_free(b);
	return rc;
}
