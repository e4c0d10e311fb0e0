// SPDX-License-Identifier: MIT
#include "dns/doctor.h"
#include "acme/dns_check.h"
#include "core/err.h"
#include "dns/dkim.h"
#include "dns/dmarc.h"
#include "dns/dns_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *dd_check_name(enum dd_check_id id)
{
	static const char *const names[] = { "ownership", "spf", "dkim", "dmarc", "mx", "cname",
					     "caa" };

	return (unsigned)id < DD_N_CHECKS ? names[id] : "?";
}

void doctor_token(const struct domain_config *cfg, const char *domain, char out[65])
{
	unsigned char mac[32];
	unsigned len = 0;
	char canon[DNS_NAME_MAX];

	if (!dns_name_canon(domain, canon))
		canon[0] = '\0';
	HMAC(EVP_sha256(), cfg->secret, (int)cfg->secret_len, (const unsigned char *)canon,
	     strlen(canon), mac, &len);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* ---------------------------------------------------------------- ownership */

static void ownership(struct dns_source *dns, const struct domain_config *cfg,
		      const char *domain, struct dd_check *c)
{
	const struct dns_answer *a = dns_lookup(dns, domain, DNS_T_TXT);
	size_t pl = strlen(cfg->prefix), others = 0;
	char token[65];

	c->why = "only the domain's owner can publish the token: it proves the customer may "
		 "send mail and serve tracking links as this domain";
	doctor_token(cfg, domain, token);
	dd_publish(c, "%s TXT \"%s=%s\"", domain, cfg->prefix, token);
	if (a->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "TXT lookup of %s failed: %s", domain, a->error);
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *t = a->rr[i].text;
		if (strncmp(t, cfg->prefix, pl) || t[pl] != '=')
			continue;
		dd_found(c, "%s TXT \"%s\"", domain, t);
		if (!strcmp(t + pl + 1, token)) {
			c->publish[0] = '\0';
			dd_note(c, DD_OK, "ownership verified by %s=%s", cfg->prefix, token);
			return;
		}
		others++;
	}
	if (others)
		dd_note(c, DD_FAIL, "%s has a %s record with another token (one made for another "
			"domain, or before a secret change)", domain, cfg->prefix);
	else
		dd_note(c, DD_FAIL, "no %s record at %s%s", cfg->prefix, domain,
			a->status == DNS_NXDOMAIN ? " (the domain does not exist)" : "");
}

/* ---------------------------------------------------------------- MX */

/* Does name have an address? 1 yes, 0 no, -1 DNS failed (noted). */
static int resolves(struct dns_source *dns, const char *name, struct dd_check *c)
{
	const struct dns_answer *a = dns_lookup(dns, name, DNS_T_A);
	const struct dns_answer *b = dns_lookup(dns, name, DNS_T_AAAA);

	if (a->status == DNS_TEMPFAIL || b->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "address lookup of %s failed: %s", name,
			a->status == DNS_TEMPFAIL ? a->error : b->error);
		return -1;
	}
	return a->n + b->n > 0;
}

static void mx(struct dns_source *dns, const char *domain, struct dd_check *c)
{
	const struct dns_answer *a = dns_lookup(dns, domain, DNS_T_MX);
	size_t good = 0;

	c->why = "receivers check that the sender's domain can receive mail (replies, bounces, "
		 "complaints); a domain without a working MX looks like a throwaway";
	if (a->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "MX lookup of %s failed: %s", domain, a->error);
		return;
	}
	if (a->status != DNS_OK) {
		dd_note(c, DD_FAIL, "%s has no MX record (%s)", domain,
			a->status == DNS_NXDOMAIN ? "the domain does not exist" : "no data");
		dd_publish(c, "%s MX 10 <your mail server>", domain);
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *host = a->rr[i].text;
		int r;
		dd_found(c, "%s MX %u %s", domain, a->rr[i].num, host[0] ? host : ".");
		if (!host[0]) {
			dd_note(c, DD_FAIL, "null MX (RFC 7505): %s says it accepts no mail, and "
				"receivers refuse mail from such domains", domain);
			return;
		}
		if ((r = resolves(dns, host, c)) < 0)
			return;
		if (!r)
			dd_note(c, DD_FAIL, "MX host %s has no A or AAAA record", host);
		else if (dns_lookup(dns, host, DNS_T_A)->cname[0])
			dd_note(c, DD_WARN, "MX host %s is an alias (CNAME): RFC 2181 §10.3 says an "
				"MX must name the host itself; some senders refuse it", host);
		good += (size_t)r;
	}
	if (good == a->n)
		dd_note(c, DD_OK, "%zu MX host%s, all resolve", good, good == 1 ? "" : "s");
}

/* ---------------------------------------------------------------- tracking host, CAA */

static void cname(struct dns_source *dns, const struct domain_config *cfg, const char *host,
		  struct dd_check *c)
{
	char chain[8][DNS_NAME_MAX], err[300];
	size_t n;
	int r;

	c->why = "tracking links use this host; it must reach our appliances through a CNAME so "
		 "we can serve it and obtain its certificate";
	if (dns_cname_chain(dns, host, chain, 8, &n, err, sizeof(err))) {
		dd_note(c, strstr(err, "failed") ? DD_TEMPERROR : DD_FAIL, "%s", err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dd_found(c, "%s CNAME %s", i ? chain[i - 1] : host, chain[i]);
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(chain[i], cfg->tracking_target)) {
			r = resolves(dns, host, c);
			if (r > 0 && i)
				dd_note(c, DD_WARN, "%s reaches %s only through %s: a change there "
					"breaks tracking links; point it straight at %s", host,
					cfg->tracking_target, chain[0], cfg->tracking_target);
			else if (r > 0)
				dd_note(c, DD_OK, "%s -> %s", host, cfg->tracking_target);
			else if (!r)
				dd_note(c, DD_FAIL, "%s -> %s, but that has no address", host,
					cfg->tracking_target);
			return;
		}
	dd_publish(c, "%s CNAME %s", host, cfg->tracking_target);
	if (n)
		dd_note(c, DD_FAIL, "%s points to %s, not to %s", host, chain[0],
			cfg->tracking_target);
	else
		dd_note(c, DD_FAIL, "%s is not a CNAME to %s", host, cfg->tracking_target);
}

static void caa(struct dns_source *dns, const struct domain_config *cfg, const char *host,
		struct dd_check *c)
{
	struct caa_policy p = { .ca_domain = cfg->caa_identifier, .method = "http-01" };
	char reason[512];
	enum caa_verdict v;

	c->why = "CAA records say which CAs may issue certificates for the name; ours must be "
		 "allowed or HTTPS tracking links cannot get a certificate";
	v = caa_check(host, dns_source_caa, dns, &p, reason, sizeof(reason));
	if (v == CAA_ALLOW) {
		dd_note(c, DD_OK, "%s", reason);
		return;
	}
	dd_note(c, v == CAA_DENY ? DD_FAIL : DD_TEMPERROR, "%s", reason);
	if (v == CAA_DENY)
		dd_publish(c, "%s CAA 0 issue \"%s\"", host, cfg->caa_identifier);
}

/* ---------------------------------------------------------------- one domain */

/* The lookups every check starts with, asked together. */
static void prefetch(struct dns_source *dns, const struct domain_config *cfg,
		     const char *domain, const char *dkim, const char *host)
{
	char dmarc[DNS_NAME_MAX + 8];
	struct dns_question q[] = {
		{ domain, DNS_T_TXT }, { domain, DNS_T_SPF }, { domain, DNS_T_MX },
		{ dkim, DNS_T_TXT }, { dmarc, DNS_T_TXT }, { host, DNS_T_CNAME },
		{ host, DNS_T_A }, { host, DNS_T_CAA },
	};
	size_t n = sizeof(q) / sizeof(q[0]);

	snprintf(dmarc, sizeof(dmarc), "_dmarc.%s", domain);
	if (!host[0])
		n -= 3;
	else if (!cfg->caa_identifier[0])
		n -= 1;
	dns_prefetch(dns, q, n);
}

static void check_mail(struct dns_source *dns, const struct domain_config *cfg,
		       const char *domain, struct dd_report *r)
{
	char target[DNS_NAME_MAX], rp[DNS_NAME_MAX];
	struct dmarc_opts o = { .return_path = rp };

	domain_template(cfg->dkim_target, domain, cfg->selector, target, sizeof(target));
	domain_template(cfg->return_path, domain, cfg->selector, rp, sizeof(rp));
	doctor_spf(dns, cfg, domain, &r->checks[DD_SPF]);
	dkim_check(dns, domain, cfg->selector, target, &r->checks[DD_DKIM]);
	/* the ESP signs with the customer's d= only when the customer's selector has a key */
	o.dkim_domain = r->checks[DD_DKIM].level <= DD_WARN ? domain : cfg->dkim_domain;
	dmarc_check(dns, domain, &o, &r->checks[DD_DMARC]);
	mx(dns, domain, &r->checks[DD_MX]);
}

void doctor_check(struct dns_source *dns, const struct domain_config *cfg, const char *domain,
		  struct dd_report *r)
{
	char host[DNS_NAME_MAX], dkim[DNS_NAME_MAX + 80];

	memset(r, 0, sizeof(*r));
	if (!dns_name_canon(domain, r->domain))
		snprintf(r->domain, sizeof(r->domain), "%.200s", domain);
	for (int i = 0; i < DD_N_CHECKS; i++)
		r->checks[i].name = dd_check_name((enum dd_check_id)i);
	domain_template(cfg->tracking_host, r->domain, cfg->selector, host, sizeof(host));
	snprintf(dkim, sizeof(dkim), "%s._domainkey.%s", cfg->selector, r->domain);
	prefetch(dns, cfg, r->domain, dkim, host);
	r->skipped[DD_OWNERSHIP] = !cfg->secret_len;
	r->skipped[DD_CNAME] = !host[0] || !cfg->tracking_target[0];
	r->skipped[DD_CAA] = !host[0] || !cfg->caa_identifier[0];
	if (!r->skipped[DD_OWNERSHIP])
		ownership(dns, cfg, r->domain, &r->checks[DD_OWNERSHIP]);
	check_mail(dns, cfg, r->domain, r);
	if (!r->skipped[DD_CNAME])
		cname(dns, cfg, host, &r->checks[DD_CNAME]);
	if (!r->skipped[DD_CAA])
		caa(dns, cfg, host, &r->checks[DD_CAA]);
	for (int i = 0; i < DD_N_CHECKS; i++)
		if (!r->skipped[i] && r->checks[i].level > r->level)
			r->level = r->checks[i].level;
}

/* ---------------------------------------------------------------- many domains */

struct pool {
	const struct domain_config *cfg;
	char *const *domains;
	struct dd_report *reports;
	size_t n, next;
};

struct worker {
	struct pool *pool;
	struct dns_client *dc;
	pthread_t tid;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n) {
		unsigned long q0 = dns_client_queries(w->dc);
		double t0 = now_s();
		dns_client_reset(w->dc, p->cfg->deadline_ms);
		doctor_check(dns_client_source(w->dc), p->cfg, p->domains[i], &p->reports[i]);
		p->reports[i].queries = dns_client_queries(w->dc) - q0;
		p->reports[i].seconds = now_s() - t0;
	}
	dns_client_reset(w->dc, 0);
	return NULL;
}

int doctor_run(const struct domain_config *cfg, char *const *domains, size_t n, bool serial,
	       struct dd_report *reports, char *err, size_t errlen)
{
	struct pool pool = { .cfg = cfg, .domains = domains, .reports = reports, .n = n };
	size_t nw = serial ? 1 : (size_t)cfg->concurrency, started = 0;
	struct worker *w;
	int rc = 0;

	if (nw > n)
		nw = n ? n : 1;
	w = calloc(nw, sizeof(*w));
	if (!w)
		return err_set(err, errlen, "out of memory");
	/* clients are made here, on one thread: c-ares' library init is not thread-safe */
	for (size_t i = 0; i < nw && !rc; i++) {
		w[i].pool = &pool;
		w[i].dc = dns_client_new(cfg->resolver, cfg->dns_timeout_ms, err, errlen);
		if (!w[i].dc)
			rc = -1;
		else
			dns_client_set_serial(w[i].dc, serial);
	}
	for (; !rc && started < nw; started++)
		if (pthread_create(&w[started].tid, NULL, work, &w[started]))
			break;
	if (!rc && !started)
		work(&w[0]); /* no thread could start: check them here */
	for (size_t i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	for (size_t i = 0; i < nw; i++)
		dns_client_free(w[i].dc);
	free(w);
	return rc;
}
