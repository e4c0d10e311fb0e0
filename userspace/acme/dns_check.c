// SPDX-License-Identifier: MIT
#include "acme/dns_check.h"

#include <arpa/inet.h>
#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>

enum { T_A = 1, T_CNAME = 5, T_AAAA = 28, T_CAA = 257, C_IN = 1 };

struct dns_resolver {
	ares_channel ch;
};

struct dns_reply {
	int done, status;
	unsigned char *buf;
	int len;
};

struct dns_resolver *dns_resolver_new(const char *servers, int timeout_ms, char *err,
				      size_t errlen)
{
	struct ares_options opt = { .timeout = timeout_ms > 0 ? timeout_ms : 2000, .tries = 2,
				    .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES };
	struct dns_resolver *r;
	int rc = ares_library_init(ARES_LIB_INIT_ALL);

	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		ares_library_cleanup();
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rc = ares_init_options(&r->ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc == ARES_SUCCESS && servers && *servers)
		rc = ares_set_servers_ports_csv(r->ch, servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver \"%s\": %s", servers ? servers : "system",
			 ares_strerror(rc));
		dns_resolver_free(r);
		return NULL;
	}
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (!r)
		return;
	if (r->ch)
		ares_destroy(r->ch);
	free(r);
	ares_library_cleanup();
}

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_reply *rep = arg;

	rep->done = 1;
	rep->status = status;
	if (abuf && alen > 0 && (rep->buf = malloc((size_t)alen))) {
		memcpy(rep->buf, abuf, (size_t)alen);
		rep->len = alen;
	}
}

/* One query, run to completion. The raw answer is kept even for NXDOMAIN/NODATA. */
static int query(struct dns_resolver *r, const char *name, int type, struct dns_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	ares_query(r->ch, name, C_IN, type, on_reply, rep);
	while (!rep->done) {
		fd_set rd, wr;
		struct timeval tv, *tvp;
		int nfds;
		FD_ZERO(&rd);
		FD_ZERO(&wr);
		nfds = ares_fds(r->ch, &rd, &wr);
		if (!nfds)
			break;
		tvp = ares_timeout(r->ch, NULL, &tv);
		select(nfds, &rd, &wr, NULL, tvp);
		ares_process(r->ch, &rd, &wr);
	}
	return rep->status;
}

static int query_ok(int status)
{
	return status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

struct rr_view {
	char owner[CAA_NAME_MAX];
	int type;
	const unsigned char *rdata;
	int rdlen;
};

/* Walks the answer section: the header, the question, then each RR with its owner name. */
static int each_answer(const struct dns_reply *rep, int (*fn)(void *, const struct rr_view *),
		       void *arg)
{
	const unsigned char *p, *end;
	unsigned qd, an;
	long enclen;
	char *name;

	if (!rep->buf || rep->len < 12)
		return 0;
	p = rep->buf + 12;
	end = rep->buf + rep->len;
	qd = (unsigned)(rep->buf[4] << 8 | rep->buf[5]);
	an = (unsigned)(rep->buf[6] << 8 | rep->buf[7]);
	for (unsigned i = 0; i < qd; i++) {
		if (ares_expand_name(p, rep->buf, rep->len, &name, &enclen) != ARES_SUCCESS)
			return -1;
		ares_free_string(name);
		p += enclen + 4;
		if (p > end)
			return -1;
	}
	for (unsigned i = 0; i < an; i++) {
		struct rr_view v;
		if (ares_expand_name(p, rep->buf, rep->len, &name, &enclen) != ARES_SUCCESS)
			return -1;
		snprintf(v.owner, sizeof(v.owner), "%s", name);
		ares_free_string(name);
		p += enclen;
		if (end - p < 10)
			return -1;
		v.type = p[0] << 8 | p[1];
		v.rdlen = p[8] << 8 | p[9];
		v.rdata = p + 10;
		p += 10 + v.rdlen;
		if (p > end)
			return -1;
		if (fn(arg, &v))
			break;
	}
	return 0;
}

struct addr_walk {
	const struct dns_reply *rep;
	char cur[CAA_NAME_MAX];
	char cname[CAA_NAME_MAX];
	struct dns_addrs *out;
	int type;
};

static int addr_rr(void *arg, const struct rr_view *v)
{
	struct addr_walk *w = arg;
	char *name;
	long len;

	if (strcasecmp(v->owner, w->cur))
		return 0;
	if (v->type == T_CNAME &&
	    ares_expand_name(v->rdata, w->rep->buf, w->rep->len, &name, &len) == ARES_SUCCESS) {
		snprintf(w->cname, sizeof(w->cname), "%s", name);
		ares_free_string(name);
	} else if (v->type == w->type && w->out->n_addrs < DNS_MAX_ADDRS &&
		   v->rdlen == (w->type == T_A ? 4 : 16)) {
		inet_ntop(w->type == T_A ? AF_INET : AF_INET6, v->rdata,
			  w->out->addr[w->out->n_addrs++], 48);
	}
	return 0;
}

static void add_cname(struct dns_addrs *out, const char *target)
{
	for (size_t i = 0; i < out->n_cnames; i++)
		if (!strcasecmp(out->cname_chain[i], target))
			return;
	if (out->n_cnames < DNS_CNAME_DEPTH)
		snprintf(out->cname_chain[out->n_cnames++], CAA_NAME_MAX, "%s", target);
}

/* One address type along the CNAME chain: the answer may hold the whole chain (a recursive
 * resolver) or only the first CNAME (an authoritative server), so follow by querying. */
static int resolve_type(struct dns_resolver *r, const char *name, int type,
			struct dns_addrs *out, char *err, size_t errlen)
{
	struct addr_walk w = { .out = out, .type = type };

	snprintf(w.cur, sizeof(w.cur), "%s", name);
	for (int depth = 0; depth <= DNS_CNAME_DEPTH; depth++) {
		struct dns_reply rep;
		size_t before = out->n_addrs;
		int st = query(r, w.cur, type, &rep);
		if (!query_ok(st)) {
			snprintf(err, errlen, "%s lookup of %s failed: %s",
				 type == T_A ? "A" : "AAAA", w.cur, ares_strerror(st));
			free(rep.buf);
			return -1;
		}
		w.rep = &rep;
		/* within one answer: follow owner -> CNAME -> ... */
		for (int hop = 0; hop <= DNS_CNAME_DEPTH; hop++) {
			w.cname[0] = '\0';
			each_answer(&rep, addr_rr, &w);
			if (!w.cname[0] || !strcasecmp(w.cname, w.cur))
				break;
			add_cname(out, w.cname);
			snprintf(w.cur, sizeof(w.cur), "%s", w.cname);
		}
		free(rep.buf);
		if (out->n_addrs > before || !w.cname[0])
			return 0;
		/* the answer ended in a CNAME without data: ask for the target */
	}
	snprintf(err, errlen, "CNAME chain of %s is longer than %d", name, DNS_CNAME_DEPTH);
	return -1;
}

int dns_resolve(struct dns_resolver *r, const char *name, struct dns_addrs *out, char *err,
		size_t errlen)
{
	struct dns_addrs aaaa;

	memset(out, 0, sizeof(*out));
	memset(&aaaa, 0, sizeof(aaaa));
	if (resolve_type(r, name, T_A, out, err, errlen) ||
	    resolve_type(r, name, T_AAAA, &aaaa, err, errlen))
		return -1;
	for (size_t i = 0; i < aaaa.n_cnames; i++)
		add_cname(out, aaaa.cname_chain[i]);
	for (size_t i = 0; i < aaaa.n_addrs && out->n_addrs < DNS_MAX_ADDRS; i++)
		memcpy(out->addr[out->n_addrs++], aaaa.addr[i], 48);
	return 0;
}

struct caa_walk {
	const struct dns_reply *rep;
	const char *name;
	char cname[CAA_NAME_MAX];
	int has_caa;
};

static int caa_rr_scan(void *arg, const struct rr_view *v)
{
	struct caa_walk *w = arg;
	char *name;
	long len;

	if (v->type == T_CAA)
		w->has_caa = 1;
	else if (v->type == T_CNAME && !strcasecmp(v->owner, w->name) &&
		 ares_expand_name(v->rdata, w->rep->buf, w->rep->len, &name, &len) == ARES_SUCCESS) {
		snprintf(w->cname, sizeof(w->cname), "%s", name);
		ares_free_string(name);
	}
	return 0;
}

int dns_caa_lookup(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		   char cname[CAA_NAME_MAX], char *err, size_t errlen)
{
	struct dns_resolver *r = arg;
	struct ares_caa_reply *caa = NULL;
	struct caa_walk w = { .name = name };
	struct dns_reply rep;
	int st = query(r, name, T_CAA, &rep);

	*n = 0;
	if (!query_ok(st)) {
		snprintf(err, errlen, "%s", ares_strerror(st));
		free(rep.buf);
		return -1;
	}
	w.rep = &rep;
	each_answer(&rep, caa_rr_scan, &w);
	if (w.has_caa && ares_parse_caa_reply(rep.buf, rep.len, &caa) == ARES_SUCCESS) {
		for (struct ares_caa_reply *c = caa; c && *n < cap; c = c->next) {
			rr[*n].flags = c->critical ? 0x80 : 0;
			snprintf(rr[*n].tag, sizeof(rr[*n].tag), "%.*s", (int)c->plength,
				 (const char *)c->property);
			snprintf(rr[*n].value, sizeof(rr[*n].value), "%.*s", (int)c->length,
				 (const char *)c->value);
			(*n)++;
		}
		ares_free_data(caa);
	} else if (w.cname[0]) {
		snprintf(cname, CAA_NAME_MAX, "%s", w.cname);
	}
	free(rep.buf);
	return 0;
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
