// SPDX-License-Identifier: MIT
#include "acme/dns_check.h"
#include "dns/dns_client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The DNS itself is dns/dns_client.c; this file holds the issuance policy on top of it. */
struct dns_resolver {
	struct dns_client *dc;
};

struct dns_resolver *dns_resolver_new(const char *servers, int timeout_ms, char *err,
				      size_t errlen)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->dc = dns_client_new(servers, timeout_ms, err, errlen);
	if (!r->dc) {
		free(r);
		return NULL;
	}
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (!r)
		return;
	dns_client_free(r->dc);
	free(r);
}

static int addrs_of(struct dns_source *s, const char *name, int type, struct dns_addrs *out,
		    char *err, size_t errlen)
{
	const struct dns_answer *a = dns_lookup(s, name, type);

	if (a->status == DNS_TEMPFAIL) {
		snprintf(err, errlen, "%s lookup of %s failed: %s", dns_type_name(type), name,
			 a->error);
		return -1;
	}
	for (size_t i = 0; i < a->n && out->n_addrs < DNS_MAX_ADDRS; i++)
		snprintf(out->addr[out->n_addrs++], sizeof(out->addr[0]), "%s", a->rr[i].text);
	return 0;
}

int dns_resolve(struct dns_resolver *r, const char *name, struct dns_addrs *out, char *err,
		size_t errlen)
{
	struct dns_source *s = dns_client_source(r->dc);

	memset(out, 0, sizeof(*out));
	dns_client_reset(r->dc, 0); /* a long renewal run must not answer from old data */
	if (dns_cname_chain(s, name, out->cname_chain, DNS_CNAME_DEPTH, &out->n_cnames, err,
			    errlen))
		return -1;
	return addrs_of(s, name, DNS_T_A, out, err, errlen) ||
	       addrs_of(s, name, DNS_T_AAAA, out, err, errlen) ? -1 : 0;
}

int dns_source_caa(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		   char cname[CAA_NAME_MAX], char *err, size_t errlen)
{
	const struct dns_answer *a = dns_lookup(arg, name, DNS_T_CAA);

	*n = 0;
	if (a->status == DNS_TEMPFAIL) {
		snprintf(err, errlen, "%s", a->error);
		return -1;
	}
	/* the client followed any CNAME already (RFC 8659 §3): the records are the target's */
	for (size_t i = 0; i < a->n && *n < cap; i++) {
		const char *sp = strchr(a->rr[i].text, ' ');
		rr[*n].flags = (unsigned char)a->rr[i].num;
		snprintf(rr[*n].tag, sizeof(rr[*n].tag), "%.*s",
			 (int)(sp ? sp - a->rr[i].text : 0), a->rr[i].text);
		snprintf(rr[*n].value, sizeof(rr[*n].value), "%s", sp ? sp + 1 : "");
		(*n)++;
	}
	return 0;
}

int dns_caa_lookup(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		   char cname[CAA_NAME_MAX], char *err, size_t errlen)
{
	struct dns_resolver *r = arg;

	return dns_source_caa(dns_client_source(r->dc), name, rr, cap, n, cname, err, errlen);
}

bool dns_addr_equal(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return false;
}

static void join(char *out, size_t cap, char list[][48], size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o < cap; i++) {
		int w = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", list[i]);
		if (w < 0)
			return;
		o += (size_t)w;
	}
}

static bool appliance_addr(const struct precheck_opts *o, const char *a)
{
	for (size_t i = 0; i < o->n_addresses; i++)
		if (dns_addr_equal(a, o->addresses[i]))
			return true;
	return false;
}

static int check_cname(const char *domain, const struct dns_addrs *d,
		       const struct precheck_opts *o, struct precheck_result *res)
{
	if (!o->tracking_target || !o->tracking_target[0])
		return 0;
	for (size_t i = 0; i < d->n_cnames; i++)
		if (!strcasecmp(d->cname_chain[i], o->tracking_target))
			return 0;
	res->fail = PRECHECK_CNAME;
	if (d->n_cnames)
		snprintf(res->reason, sizeof(res->reason),
			 "CNAME points elsewhere: %s -> %s, expected -> %s", domain,
			 d->cname_chain[0], o->tracking_target);
	else
		snprintf(res->reason, sizeof(res->reason), "no CNAME: %s must be a CNAME to %s",
			 domain, o->tracking_target);
	return -1;
}

static int check_addrs(const char *domain, struct dns_addrs *d, const struct precheck_opts *o,
		       struct precheck_result *res)
{
	char foreign[DNS_MAX_ADDRS][48], list[512];
	size_t nf = 0;

	if (!d->n_addrs) {
		res->fail = PRECHECK_ADDRESS;
		snprintf(res->reason, sizeof(res->reason), "%s has no A/AAAA records", domain);
		return -1;
	}
	if (!o->n_addresses)
		return 0;
	for (size_t i = 0; i < d->n_addrs; i++)
		if (!appliance_addr(o, d->addr[i]))
			memcpy(foreign[nf++], d->addr[i], 48);
	if (!nf)
		return 0;
	join(list, sizeof(list), foreign, nf);
	res->fail = PRECHECK_ADDRESS;
	snprintf(res->reason, sizeof(res->reason),
		 "proxied or pointing elsewhere: HTTP-01 would fail (%s resolves to %s, not an "
		 "appliance address)", domain, list);
	return -1;
}

int precheck_domain(struct dns_resolver *r, const char *domain, const struct precheck_opts *o,
		    struct precheck_result *res)
{
	struct dns_addrs d;
	char err[512];
	enum caa_verdict v;

	memset(res, 0, sizeof(*res));
	if (!strncmp(domain, "*.", 2)) {
		res->fail = PRECHECK_NAME;
		snprintf(res->reason, sizeof(res->reason),
			 "%s is a wildcard: HTTP-01 cannot validate wildcard names (DNS-01 needed)",
			 domain);
		return -1;
	}
	if (dns_resolve(r, domain, &d, err, sizeof(err))) {
		res->fail = PRECHECK_DNS;
		snprintf(res->reason, sizeof(res->reason), "DNS: %s", err);
		return -1;
	}
	if (d.n_cnames)
		snprintf(res->cname, sizeof(res->cname), "%s", d.cname_chain[0]);
	join(res->addrs, sizeof(res->addrs), d.addr, d.n_addrs);
	if (check_cname(domain, &d, o, res) || check_addrs(domain, &d, o, res))
		return -1;
	if (o->caa.ca_domain && o->caa.ca_domain[0]) {
		v = caa_check(domain, dns_caa_lookup, r, &o->caa, res->caa, sizeof(res->caa));
		if (v != CAA_ALLOW) {
			res->fail = v == CAA_DENY ? PRECHECK_CAA : PRECHECK_DNS;
			snprintf(res->reason, sizeof(res->reason), "%s", res->caa);
			return -1;
		}
	}
	snprintf(res->reason, sizeof(res->reason), "ok: %.253s%s%.253s resolves to %.200s; %.250s", domain,
		 res->cname[0] ? " -> " : "", res->cname, res->addrs,
		 res->caa[0] ? res->caa : "CAA not checked");
	return 0;
}
