/* SPDX-License-Identifier: MIT */
/*
 * The domain doctor: before an ESP sends mail for a customer's domain or serves its tracking
 * domain, it checks ownership (a TXT token, HMAC of the operator secret and the domain, so no
 * database is needed), SPF, DKIM, DMARC, MX, the tracking host's CNAME and CAA, each with a
 * level, reasons a customer can act on and the records to publish.
 *
 * Domains are checked side by side, each worker thread with its own c-ares client; one
 * domain's independent lookups go out together, and all of its checks share one deadline.
 */
#ifndef ET_DNS_DOCTOR_H
#define ET_DNS_DOCTOR_H

#include "dns/check.h"
#include "dns/dns_source.h"
#include "dns/domain_config.h"

#include <stdbool.h>

enum dd_check_id { DD_OWNERSHIP, DD_SPF, DD_DKIM, DD_DMARC, DD_MX, DD_CNAME, DD_CAA, DD_N_CHECKS };

struct dd_report {
	char domain[DNS_NAME_MAX];
	enum dd_level level;        /* the worst check's */
	struct dd_check checks[DD_N_CHECKS];
	bool skipped[DD_N_CHECKS];  /* not configured */
	unsigned long queries;      /* DNS queries sent for this domain */
	double seconds;
};

/* "ownership", "spf", ... */
const char *dd_check_name(enum dd_check_id id);

/* The ownership token of a domain: 32 hex digits of HMAC-SHA256(secret, domain). */
void doctor_token(const struct domain_config *cfg, const char *domain, char out[65]);

/* The checks of one domain against a DNS source (a c-ares client or a test zone). */
void doctor_check(struct dns_source *dns, const struct domain_config *cfg, const char *domain,
		  struct dd_report *r);

/* The SPF part (doctor_spf.c). */
void doctor_spf(struct dns_source *dns, const struct domain_config *cfg, const char *domain,
		struct dd_check *c);

/*
 * Every domain, cfg->concurrency at a time (serial: one domain and one query at a time, the
 * baseline of the benchmark). reports has n entries. 0, or -1 with err when no resolver
 * could be set up.
 */
int doctor_run(const struct domain_config *cfg, char *const *domains, size_t n, bool serial,
	       struct dd_report *reports, char *err, size_t errlen);

#endif
