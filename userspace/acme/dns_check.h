/* SPDX-License-Identifier: MIT */
/*
 * Domain prechecks before any ACME order, with DNS through c-ares and a configurable resolver:
 *   - the name's CNAME chain reaches the configured tracking target,
 *   - its A/AAAA addresses are all appliance addresses (anything else means a proxy or another
 *     host would receive the CA's HTTP-01 request),
 *   - CAA (RFC 8659/8657) allows the configured CA.
 * Every failure comes with a reason that names what was found.
 */
#ifndef ET_ACME_DNS_CHECK_H
#define ET_ACME_DNS_CHECK_H

#include "acme/caa.h"

#include <stdbool.h>
#include <stddef.h>

#define DNS_MAX_ADDRS 16
#define DNS_CNAME_DEPTH 8

struct dns_resolver;

/*
 * servers: c-ares "host[:port],..." list (e.g. "127.0.0.1:8053"), NULL or "" for the system's
 * resolv.conf. timeout_ms per try. NULL with a reason in err.
 */
struct dns_resolver *dns_resolver_new(const char *servers, int timeout_ms, char *err,
				      size_t errlen);
void dns_resolver_free(struct dns_resolver *r);

struct dns_addrs {
	char cname_chain[DNS_CNAME_DEPTH][CAA_NAME_MAX]; /* targets in order */
	size_t n_cnames;
	char addr[DNS_MAX_ADDRS][48]; /* text form, A then AAAA */
	size_t n_addrs;
};

/* A and AAAA of name, following CNAMEs. 0, or -1 with a reason when DNS failed (NXDOMAIN
 * and empty answers are not failures: the result is just empty). */
int dns_resolve(struct dns_resolver *r, const char *name, struct dns_addrs *out, char *err,
		size_t errlen);

/* A caa_lookup_fn; arg is a struct dns_source (dns/dns_source.h). */
int dns_source_caa(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		   char cname[CAA_NAME_MAX], char *err, size_t errlen);

/* A caa_lookup_fn; arg is the struct dns_resolver. */
int dns_caa_lookup(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		   char cname[CAA_NAME_MAX], char *err, size_t errlen);

struct precheck_opts {
	const char *tracking_target;     /* NULL/"": no CNAME requirement */
	const char *const *addresses;    /* appliance addresses (text); n 0: no address check */
	size_t n_addresses;
	struct caa_policy caa;           /* caa.ca_domain NULL/"": no CAA check */
};

enum precheck_fail { PRECHECK_OK, PRECHECK_NAME, PRECHECK_CNAME, PRECHECK_ADDRESS,
		     PRECHECK_CAA, PRECHECK_DNS };

struct precheck_result {
	enum precheck_fail fail;
	char reason[1024];   /* first failure, or "ok: ..." summary */
	char cname[300];     /* what the name CNAMEs to, "" if none */
	char addrs[512];     /* addresses found, comma separated */
	char caa[512];       /* CAA verdict reason */
};

/* Runs every check; returns 0 when all pass, else -1 (res->fail, res->reason). */
int precheck_domain(struct dns_resolver *r, const char *domain, const struct precheck_opts *o,
		    struct precheck_result *res);

/* Same address (IPv4 or IPv6, any text form)? */
bool dns_addr_equal(const char *a, const char *b);

#endif
