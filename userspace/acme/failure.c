// SPDX-License-Identifier: MIT
#include "acme/failure.h"

#include <stdio.h>
#include <string.h>

static enum acme_blame blame_of_problem(enum acme_prob_class cls)
{
	switch (cls) {
	case PROB_FATAL:
		return BLAME_DOMAIN;
	case PROB_RATELIMIT:
		return BLAME_RATELIMIT;
	case PROB_CLIENT:    /* refused key, algorithm or profile: every domain alike */
	case PROB_RETRY:     /* 5xx still failing after the retries */
	case PROB_BADNONCE:  /* nonces still rejected at the deadline */
	case PROB_ACCOUNT:   /* the account needs the operator, not the domain */
		return BLAME_CA;
	}
	return BLAME_DOMAIN;
}

enum acme_blame acme_blame_of(const struct acme_error *e)
{
	if (!e)
		return BLAME_LOCAL;
	switch (e->kind) {
	case ACME_E_INVALID:
		return BLAME_DOMAIN;
	case ACME_E_RATELIMIT:
		return BLAME_RATELIMIT;
	case ACME_E_PROBLEM:
		return blame_of_problem(e->prob);
	case ACME_E_NETWORK:
	case ACME_E_TIMEOUT:
	case ACME_E_PROTOCOL:
		return BLAME_CA;
	case ACME_E_NONE:
	case ACME_E_LOCAL:
		break;
	}
	return BLAME_LOCAL;
}

const char *acme_blame_name(enum acme_blame b)
{
	static const char *const names[] = { "local", "domain", "rate limit", "CA" };

	return (unsigned)b < sizeof(names) / sizeof(names[0]) ? names[b] : "?";
}

long backoff_delay(const struct failure_policy *p, unsigned n)
{
	long d = p->retry_base > 0 ? p->retry_base : 1;

	for (unsigned i = 1; i < n && d < p->retry_max; i++)
		d *= 2;
	return d < p->retry_max ? d : p->retry_max;
}

/* now + the n-th backoff, or the CA's Retry-After when that is later. */
static time_t retry_time(const struct acme_error *e, const struct failure_policy *p,
			 unsigned n, time_t now)
{
	time_t t = now + backoff_delay(p, n);

	if (e && e->retry_after && e->retry_after + p->clock_offset > t)
		t = e->retry_after + p->clock_offset;
	return t;
}

bool ca_backoff_active(const struct ca_backoff *ca, time_t now)
{
	return ca->retry_after && now < ca->retry_after;
}

void ca_backoff_note(struct ca_backoff *ca, const struct acme_error *e,
		     const struct failure_policy *p, time_t now, bool count)
{
	bool active = ca_backoff_active(ca, now);

	snprintf(ca->reason, sizeof(ca->reason), "%.500s", e ? e->reason : "");
	ca->updated = now;
	if (count && !active)
		ca->failures++;
	if (!active) {
		ca->retry_after = retry_time(e, p, ca->failures ? ca->failures : 1, now);
	} else if (e && e->retry_after && e->retry_after + p->clock_offset > ca->retry_after) {
		ca->retry_after = e->retry_after + p->clock_offset;
	}
}

void ca_backoff_clear(struct ca_backoff *ca)
{
	memset(ca, 0, sizeof(*ca));
}

enum acme_blame failure_book(struct cert_status *st, struct ca_backoff *ca,
			     const struct acme_error *e, const struct failure_policy *p,
			     time_t now, bool *ca_failed)
{
	enum acme_blame b = acme_blame_of(e);

	switch (b) {
	case BLAME_DOMAIN:
		st->failures++;
		st->retry_after = retry_time(e, p, st->failures, now);
		ca_backoff_clear(ca); /* the CA judged the name: it works */
		*ca_failed = false;
		break;
	case BLAME_RATELIMIT:
		st->retry_after = retry_time(e, p, 1, now);
		ca_backoff_clear(ca);
		*ca_failed = false;
		break;
	case BLAME_CA:
		ca_backoff_note(ca, e, p, now, !*ca_failed);
		*ca_failed = true;
		break;
	case BLAME_LOCAL:
		break;
	}
	return b;
}
