/* SPDX-License-Identifier: MIT */
/*
 * CAA policy (RFC 8659) with the account and method parameters of RFC 8657.
 *
 * The relevant record set is the CAA RRset of the closest name, climbing from the domain
 * (without a leading "*.") toward the root, where each lookup follows CNAMEs. An empty search
 * allows every CA. In the relevant set: an unknown tag with the critical flag denies; a
 * wildcard name uses "issuewild" records when there are any, else "issue"; with no record of
 * the property in use, issuance is not restricted; otherwise one record must name the CA's
 * identifier and, if present, its "accounturi" must equal ours and its "validationmethods"
 * must list ours. The DNS side is a callback so the policy is testable without a resolver.
 */
#ifndef ET_ACME_CAA_H
#define ET_ACME_CAA_H

#include <stdbool.h>
#include <stddef.h>

#define CAA_MAX_RR 32
#define CAA_NAME_MAX 254

struct caa_rr {
	unsigned char flags; /* bit 7 (128) is "issuer critical" */
	char tag[16];
	char value[256];
};

struct caa_policy {
	const char *ca_domain;   /* issuer-domain-name, e.g. "letsencrypt.org" */
	const char *account_uri; /* our ACME account URL; NULL: records with accounturi fail */
	const char *method;      /* "http-01" */
};

/*
 * One CAA lookup for name, as a resolver answers it. Fills rr[0..*n) with the CAA records,
 * or when the answer is only a CNAME, sets cname to its target (and *n = 0). Returns 0 (also
 * for NXDOMAIN/no data), -1 with a reason in err when the DNS could not answer.
 */
typedef int (*caa_lookup_fn)(void *arg, const char *name, struct caa_rr *rr, size_t cap,
			     size_t *n, char cname[CAA_NAME_MAX], char *err, size_t errlen);

enum caa_verdict { CAA_ERROR = -1, CAA_DENY = 0, CAA_ALLOW = 1 };

/* Evaluates one relevant record set found at `at`. The reason is set in every case. */
enum caa_verdict caa_evaluate(const struct caa_rr *rr, size_t n, bool wildcard, const char *at,
			      const struct caa_policy *p, char *reason, size_t cap);

/* The full check for domain ("*.x" for a wildcard). DNS failures give CAA_ERROR: a CA
 * must not issue when CAA cannot be read, so neither do we. */
enum caa_verdict caa_check(const char *domain, caa_lookup_fn lookup, void *arg,
			   const struct caa_policy *p, char *reason, size_t cap);

#endif
