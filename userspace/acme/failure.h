/* SPDX-License-Identifier: MIT */
/*
 * What a failed attempt costs, and whom.
 *
 * The per-domain failure budget is for problems of the domain itself (validation failed, CAA,
 * a rejected identifier): those count, back the domain off, and stop automatic retries once
 * the budget is spent. Problems of the CA, of the network or of the account (unreachable,
 * 5xx, nonces still rejected at the deadline, an order that never settles, a refused key or
 * profile) would hit every domain alike: they back off once, CA-wide, and the schedule resumes
 * by itself when the CA answers again. A rate limit makes the domain wait for the CA's
 * Retry-After without counting. Our own trouble (appliance, cert dir, prechecks, which cost
 * the CA nothing) is reported and retried on the next run.
 *
 * Everything here is pure: times are the scheduling clock (wall clock plus the configured
 * offset), passed in.
 */
#ifndef ET_ACME_FAILURE_H
#define ET_ACME_FAILURE_H

#include "acme/acme_client.h"
#include "acme/cert_status.h"

#include <stdbool.h>
#include <time.h>

enum acme_blame {
	BLAME_LOCAL,     /* our side: reported, retried next run, no backoff */
	BLAME_DOMAIN,    /* the domain's own problem: counts against its budget */
	BLAME_RATELIMIT, /* the CA's rate limit: the domain waits for Retry-After */
	BLAME_CA,        /* the CA, the network or the account: one CA-wide backoff */
};

enum acme_blame acme_blame_of(const struct acme_error *e);
const char *acme_blame_name(enum acme_blame b);

struct failure_policy {
	long retry_base, retry_max; /* seconds: backoff doubles from base up to max */
	long clock_offset;          /* added to the CA's Retry-After (an absolute wall time) */
};

/* Backoff after the n-th consecutive failure (n >= 1): base, 2*base, ... up to max. */
long backoff_delay(const struct failure_policy *p, unsigned n);

/* True while the CA-wide backoff holds orders back. */
bool ca_backoff_active(const struct ca_backoff *ca, time_t now);

/*
 * A CA-wide failure. With count, and when no backoff holds, it counts and starts the next,
 * longer backoff (or the CA's Retry-After, when later). Otherwise it only updates the reason,
 * re-arming a backoff that ran out at its current length: a run counts the CA once however
 * often (and however slowly) it meets it.
 */
void ca_backoff_note(struct ca_backoff *ca, const struct acme_error *e,
		     const struct failure_policy *p, time_t now, bool count);

/* The CA answered as a CA should: the CA-wide backoff ends. */
void ca_backoff_clear(struct ca_backoff *ca);

/*
 * Books one failed attempt of st's domain (e NULL: a local failure with no CA involved):
 * the domain's failure count and backoff, or its rate-limit wait, or the CA-wide backoff.
 * *ca_failed says whether the CA failed this run since it last answered (kept up to date).
 * Leaves state and reason to the caller. Returns the blame.
 */
enum acme_blame failure_book(struct cert_status *st, struct ca_backoff *ca,
			     const struct acme_error *e, const struct failure_policy *p,
			     time_t now, bool *ca_failed);

#endif
