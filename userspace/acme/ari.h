/* SPDX-License-Identifier: MIT */
/*
 * ACME Renewal Information (RFC 9773) and the renewal schedule.
 *
 * The certificate identifier is base64url(AKI keyIdentifier) "." base64url(serial DER
 * content bytes). The CA's renewalInfo gives a suggested window; the client picks a uniform
 * random time inside it (spreading load across a fleet). Without ARI, renewal starts when one
 * third of the lifetime remains (day 60 of 90, day 30 of 45, day 4 of 6).
 */
#ifndef ET_ACME_ARI_H
#define ET_ACME_ARI_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Identifier from raw AKI keyIdentifier and serial (DER INTEGER content, sign byte kept). */
int ari_cert_id_raw(const unsigned char *aki, size_t aki_len, const unsigned char *serial,
		    size_t serial_len, char *out, size_t cap);
/* Identifier of a certificate; -1 when it has no AKI keyIdentifier or cap is short. */
int ari_cert_id(X509 *cert, char *out, size_t cap);

struct ari_window {
	time_t start, end;
	char explanation[512]; /* explanationURL, "" when absent */
};

/* Parses a renewalInfo body. 0, or -1 with a reason (end must be after start). */
int ari_parse(const char *json, size_t len, struct ari_window *w, char *err, size_t errlen);

/* A time inside [start, end) chosen by rnd (uniform for a uniform rnd). */
time_t ari_pick(const struct ari_window *w, uint64_t rnd);

/* Without ARI: not_after minus one third of the lifetime. */
time_t renewal_default(time_t not_before, time_t not_after);

/* RFC 3339 "2025-01-02T04:00:00Z" (fractions and offsets accepted) to time_t; -1 if bad. */
time_t parse_rfc3339(const char *s);

#endif
