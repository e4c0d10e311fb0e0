// SPDX-License-Identifier: MIT
#include "acme/ari.h"
#include "acme/jws.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ari_cert_id_raw(const unsigned char *aki, size_t aki_len, const unsigned char *serial,
		    size_t serial_len, char *out, size_t cap)
{
	int a, s;

	if (!aki_len || !serial_len)
		return -1;
	a = b64url_encode(aki, aki_len, out, cap);
	if (a < 0 || (size_t)a + 2 > cap)
		return -1;
	out[a] = '.';
	s = b64url_encode(serial, serial_len, out + a + 1, cap - (size_t)a - 1);
	return s < 0 ? -1 : 0;
}

int ari_cert_id(X509 *cert, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(cert);
	const ASN1_INTEGER *ser = X509_get0_serialNumber(cert);
	unsigned char *der = NULL, *p;
	const unsigned char *q;
	long clen;
	int tag, cls, dlen, rc = -1;

	if (!kid || !ser)
		return -1;
	/* the serial as it is encoded in the certificate: DER INTEGER content, with any
	 * leading 0x00 sign byte (RFC 9773 §4.1) */
	dlen = i2d_ASN1_INTEGER(ser, &der);
	if (dlen <= 0)
		return -1;
	q = der;
	if (!(ASN1_get_object(&q, &clen, &tag, &cls, dlen) & 0x80) && tag == V_ASN1_INTEGER) {
		p = (unsigned char *)q;
		rc = ari_cert_id_raw(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid),
				     p, (size_t)clen, out, cap);
	}
	OPENSSL_free(der);
	return rc;
}

static int digits(const char **s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

time_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int off = 0;
	time_t t;

	if (!s || (tm.tm_year = digits(&s, 4)) < 0 || *s++ != '-' ||
	    (tm.tm_mon = digits(&s, 2)) < 1 || *s++ != '-' || (tm.tm_mday = digits(&s, 2)) < 1 ||
	    (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if ((tm.tm_hour = digits(&s, 2)) < 0 || *s++ != ':' || (tm.tm_min = digits(&s, 2)) < 0 ||
	    *s++ != ':' || (tm.tm_sec = digits(&s, 2)) < 0)
		return -1;
	if (tm.tm_mon > 12 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	if (*s == '.') /* fractions of a second do not matter for scheduling */
		for (s++; isdigit((unsigned char)*s); s++)
			;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, h = digits(&s, 2), m;
		if (h < 0 || *s++ != ':' || (m = digits(&s, 2)) < 0)
			return -1;
		off = sign * (h * 3600 + m * 60);
	} else {
		return -1;
	}
	if (*s)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	return t == (time_t)-1 ? -1 : t - off;
}

int ari_parse(const char *json, size_t len, struct ari_window *w, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);
	json_t *win = json_object_get(root, "suggestedWindow");
	const char *start = json_string_value(json_object_get(win, "start"));
	const char *end = json_string_value(json_object_get(win, "end"));
	const char *expl = json_string_value(json_object_get(root, "explanationURL"));
	int rc = -1;

	memset(w, 0, sizeof(*w));
	if (!root)
		snprintf(err, errlen, "renewalInfo is not JSON: %s", je.text);
	else if (!start || !end)
		snprintf(err, errlen, "renewalInfo has no suggestedWindow start/end");
	else if ((w->start = parse_rfc3339(start)) < 0 || (w->end = parse_rfc3339(end)) < 0)
		snprintf(err, errlen, "renewalInfo window has a bad timestamp");
	else if (w->end <= w->start)
		snprintf(err, errlen, "renewalInfo window ends before it starts");
	else
		rc = 0;
	if (!rc && expl)
		snprintf(w->explanation, sizeof(w->explanation), "%s", expl);
	json_decref(root);
	return rc;
}

time_t ari_pick(const struct ari_window *w, uint64_t rnd)
{
	uint64_t span = (uint64_t)(w->end - w->start);

	return span ? w->start + (time_t)(rnd % span) : w->start;
}

time_t renewal_default(time_t not_before, time_t not_after)
{
	return not_after - (not_after - not_before) / 3;
}
