// SPDX-License-Identifier: MIT
/* check_host() (RFC 7208 §4 to §6). */
#include "dns/spf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STACK_MAX 24 /* nesting; the lookup limit stops any real record far earlier */

struct eval {
	struct spf_env env;
	struct spf_outcome *out;
	bool walk;            /* no term matches: count what a non-matching sender costs */
	int in_include;       /* explanations only come from the deciding record chain */
	enum spf_result err;  /* the error a term returned -1 for */
	char stack[STACK_MAX][DNS_NAME_MAX];
	int depth;
};

enum { NO_MATCH = 0, MATCH = 1, ERROR = -1 };

/* Records the first error with where it happened; returns ERROR. */
__attribute__((format(printf, 4, 5)))
static int error(struct eval *ev, enum spf_result r, const char *domain, const char *fmt, ...)
{
	va_list ap;

	ev->err = r;
	if (!ev->out->reason[0]) {
		int n = snprintf(ev->out->reason, sizeof(ev->out->reason), "%s: ", domain);
		va_start(ap, fmt);
		vsnprintf(ev->out->reason + n, sizeof(ev->out->reason) - (size_t)n, fmt, ap);
		va_end(ap);
		snprintf(ev->out->domain, sizeof(ev->out->domain), "%s", domain);
	}
	return ERROR;
}

/* §4.3: labels of 1..63 bytes, 253 in all, at least two labels. */
static bool valid_domain(const char *d)
{
	size_t len = strlen(d), labels = 0;

	if (len && d[len - 1] == '.')
		len--;
	if (!len || len > 253 || d[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; labels++) {
		size_t l = strcspn(d + i, ".");
		if (!l || l > 63)
			return false;
		i += l + 1;
	}
	return labels >= 2;
}

static int count_lookup(struct eval *ev, const char *domain, const struct spf_record *rec,
			const struct spf_term *t)
{
	char text[320];

	if (++ev->out->lookups <= SPF_MAX_LOOKUPS)
		return 0;
	spf_term_text(rec, t, text, sizeof(text));
	return error(ev, SPF_PERMERROR, domain,
		     "more than %d DNS-querying terms (include, a, mx, ptr, exists, redirect); "
		     "the one over is \"%s\"", SPF_MAX_LOOKUPS, text);
}

/* 1: the answer has data, 0: void (counted), ERROR: temperror or too many voids. */
static int answered(struct eval *ev, const char *domain, const char *name,
		    const struct dns_answer *a)
{
	if (a->status == DNS_TEMPFAIL)
		return error(ev, SPF_TEMPERROR, domain, "%s lookup of %s failed: %s",
			     dns_type_name(a->type), name, a->error);
	if (a->status == DNS_OK)
		return 1;
	if (++ev->out->void_lookups > SPF_MAX_VOID)
		return error(ev, SPF_PERMERROR, domain,
			     "more than %d void lookups (the last: %s of %s, %s)", SPF_MAX_VOID,
			     dns_type_name(a->type), name, dns_status_name(a->status));
	return 0;
}

/* The target name of a term: its domain-spec expanded, or the current domain. */
static int target(struct eval *ev, const char *domain, const struct spf_term *t,
		  char out[DNS_NAME_MAX])
{
	char buf[1024], *p = buf;
	size_t n;

	if (!t->spec[0]) {
		snprintf(out, DNS_NAME_MAX, "%s", domain);
		return 0;
	}
	if (spf_expand_env(&ev->env, domain, t->spec, false, buf, sizeof(buf)))
		return error(ev, SPF_PERMERROR, domain, "%s", buf);
	n = strlen(p);
	if (n && p[n - 1] == '.')
		p[--n] = '\0';
	/* §7.3: over 253 bytes, labels are dropped from the left */
	while (n > 253 && strchr(p, '.')) {
		char *dot = strchr(p, '.');
		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	snprintf(out, DNS_NAME_MAX, "%.253s", p);
	return 0;
}

static int addr_match(struct eval *ev, const char *domain, const char *name,
		      const struct spf_term *t, bool count_void)
{
	int type = ev->env.ip.v4 ? DNS_T_A : DNS_T_AAAA;
	const struct dns_answer *a = dns_lookup(ev->env.dns, name, type);
	int prefix = ev->env.ip.v4 ? t->cidr4 : t->cidr6;
	int r;

	if (count_void) {
		if ((r = answered(ev, domain, name, a)) <= 0)
			return r;
	} else if (a->status == DNS_TEMPFAIL) {
		return error(ev, SPF_TEMPERROR, domain, "%s lookup of %s failed: %s",
			     dns_type_name(type), name, a->error);
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (spf_ip_in(&ev->env.ip, a->rr[i].text, prefix))
			return ev->walk ? NO_MATCH : MATCH;
	return NO_MATCH;
}

static int mx_match(struct eval *ev, const char *domain, const char *name,
		    const struct spf_term *t)
{
	const struct dns_answer *a = dns_lookup(ev->env.dns, name, DNS_T_MX);
	int r = answered(ev, domain, name, a);

	if (r <= 0)
		return r;
	if (a->n > SPF_MAX_MX_PTR)
		return error(ev, SPF_PERMERROR, domain, "mx: %s has %zu MX records, more than %d",
			     name, a->n, SPF_MAX_MX_PTR);
	for (size_t i = 0; i < a->n; i++) {
		if (!a->rr[i].text[0]) /* null MX (RFC 7505) */
			continue;
		if ((r = addr_match(ev, domain, a->rr[i].text, t, false)) != NO_MATCH)
			return r;
	}
	return NO_MATCH;
}

static int ptr_match(struct eval *ev, const char *name)
{
	char found[DNS_NAME_MAX];
	size_t n, d = strlen(name);

	if (ev->walk)
		return NO_MATCH;
	spf_validated_ptr(&ev->env, name, found, sizeof(found));
	n = strlen(found);
	return n >= d && !strcasecmp(found + n - d, name) && (n == d || found[n - d - 1] == '.');
}

static enum spf_result check_host(struct eval *ev, const char *domain);

static int include_match(struct eval *ev, const char *domain, const char *name)
{
	enum spf_result r;

	ev->in_include++;
	r = check_host(ev, name);
	ev->in_include--;
	switch (r) {
	case SPF_PASS:
		return ev->walk ? NO_MATCH : MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return NO_MATCH;
	case SPF_NONE:
		return error(ev, SPF_PERMERROR, domain, "include:%s has no SPF record", name);
	default:
		ev->err = r;
		return ERROR;
	}
}

static void note_include(struct eval *ev, const char *name)
{
	struct spf_outcome *o = ev->out;

	if (o->n_includes < SPF_MAX_INCLUDES)
		snprintf(o->includes[o->n_includes++], DNS_NAME_MAX, "%s", name);
}

/* One mechanism: MATCH, NO_MATCH or ERROR (ev->err). */
static int mechanism(struct eval *ev, const char *domain, const struct spf_record *rec,
		     const struct spf_term *t)
{
	char name[DNS_NAME_MAX];

	switch (t->kind) {
	case SPF_ALL:
		return MATCH;
	case SPF_IP4:
	case SPF_IP6:
		if (ev->walk || ev->env.ip.v4 != (t->kind == SPF_IP4))
			return NO_MATCH;
		return spf_ip_in_net(&ev->env.ip, t->net, t->kind == SPF_IP4 ? t->cidr4 : t->cidr6);
	default:
		break;
	}
	if (count_lookup(ev, domain, rec, t) || target(ev, domain, t, name))
		return ERROR;
	switch (t->kind) {
	case SPF_A:
		return addr_match(ev, domain, name, t, true);
	case SPF_MX:
		return mx_match(ev, domain, name, t);
	case SPF_PTR:
		return ptr_match(ev, name);
	case SPF_EXISTS: {
		int r = answered(ev, domain, name, dns_lookup(ev->env.dns, name, DNS_T_A));
		return r <= 0 ? r : ev->walk ? NO_MATCH : MATCH;
	}
	case SPF_INCLUDE:
		note_include(ev, name);
		return include_match(ev, domain, name);
	default:
		return NO_MATCH;
	}
}

/* §6.2: the exp= text of a fail, when there is exactly one TXT record; errors ignored. */
static void explain(struct eval *ev, const char *domain, const struct spf_record *rec)
{
	char name[DNS_NAME_MAX];
	const struct dns_answer *a;
	struct spf_outcome *o = ev->out;
	char reason[sizeof(o->reason)];

	if (rec->exp < 0 || ev->in_include || ev->walk)
		return;
	memcpy(reason, o->reason, sizeof(reason)); /* a failing exp is no error of the check */
	if (!target(ev, domain, &rec->t[rec->exp], name)) {
		a = dns_lookup(ev->env.dns, name, DNS_T_TXT);
		if (a->status == DNS_OK && a->n == 1 &&
		    spf_expand_env(&ev->env, domain, a->rr[0].text, true, o->explanation,
				   sizeof(o->explanation)))
			o->explanation[0] = '\0';
	}
	memcpy(o->reason, reason, sizeof(reason));
}

static enum spf_result qualified(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

static enum spf_result redirect(struct eval *ev, const char *domain,
				const struct spf_record *rec)
{
	const struct spf_term *t = &rec->t[rec->redirect];
	char name[DNS_NAME_MAX];
	enum spf_result r;

	if (count_lookup(ev, domain, rec, t) || target(ev, domain, t, name))
		return ev->err;
	note_include(ev, name);
	r = check_host(ev, name);
	if (r == SPF_NONE) {
		error(ev, SPF_PERMERROR, domain, "redirect=%s has no SPF record", name);
		return SPF_PERMERROR;
	}
	return r;
}

static enum spf_result evaluate(struct eval *ev, const char *domain,
				const struct spf_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		const struct spf_term *t = &rec->t[i];
		int m;
		if (t->kind >= SPF_REDIRECT)
			continue;
		m = mechanism(ev, domain, rec, t);
		if (m == ERROR)
			return ev->err;
		if (m == NO_MATCH)
			continue;
		if (!ev->in_include) {
			spf_term_text(rec, t, ev->out->term, sizeof(ev->out->term));
			snprintf(ev->out->domain, sizeof(ev->out->domain), "%s", domain);
		}
		if (qualified(t->qualifier) == SPF_FAIL)
			explain(ev, domain, rec);
		return qualified(t->qualifier);
	}
	if (rec->redirect >= 0)
		return redirect(ev, domain, rec);
	if (!ev->in_include) {
		ev->out->term[0] = '\0';
		snprintf(ev->out->domain, sizeof(ev->out->domain), "%s", domain);
	}
	return SPF_NEUTRAL;
}

static enum spf_result check_host(struct eval *ev, const char *domain)
{
	struct spf_record rec;
	struct spf_error perr;
	const char *text;
	char why[300];
	enum spf_result r;

	if (!valid_domain(domain))
		return SPF_NONE;
	for (int i = 0; i < ev->depth; i++)
		if (!strcasecmp(ev->stack[i], domain)) {
			error(ev, SPF_PERMERROR, ev->stack[ev->depth - 1],
			      "loop: the record includes or redirects back to %s", domain);
			return SPF_PERMERROR;
		}
	if (ev->depth == STACK_MAX) {
		error(ev, SPF_PERMERROR, domain, "records nest too deep");
		return SPF_PERMERROR;
	}
	r = spf_fetch(ev->env.dns, domain, &text, why, sizeof(why));
	if (r != SPF_PASS) {
		if (r != SPF_NONE)
			error(ev, r, domain, "%s", why);
		return r;
	}
	if (spf_parse(text, &rec, &perr)) {
		error(ev, SPF_PERMERROR, domain, "syntax error at column %zu: %s", perr.pos + 1,
		      perr.msg);
		return SPF_PERMERROR;
	}
	snprintf(ev->stack[ev->depth++], DNS_NAME_MAX, "%s", domain);
	r = evaluate(ev, domain, &rec);
	ev->depth--;
	spf_record_free(&rec);
	return r;
}

enum spf_result spf_fetch(struct dns_source *dns, const char *domain, const char **text,
			  char *why, size_t cap)
{
	const struct dns_answer *a = dns_lookup(dns, domain, DNS_T_TXT);
	size_t found = 0;

	*text = NULL;
	if (a->status == DNS_TEMPFAIL) {
		snprintf(why, cap, "TXT lookup of %s failed: %s", domain, a->error);
		return SPF_TEMPERROR;
	}
	for (size_t i = 0; i < a->n; i++)
		if (spf_is_record(a->rr[i].text) && !found++)
			*text = a->rr[i].text;
	if (found > 1) {
		snprintf(why, cap, "%s has %zu SPF records; there must be exactly one (§4.5)",
			 domain, found);
		return SPF_PERMERROR;
	}
	if (!found) {
		snprintf(why, cap, "%s has no SPF record (%s)", domain,
			 a->status == DNS_OK ? "TXT records, none starts with v=spf1"
					     : dns_status_name(a->status));
		return SPF_NONE;
	}
	snprintf(why, cap, "%s", *text);
	return SPF_PASS;
}

static void describe(struct spf_outcome *o, const char *domain)
{
	if (o->reason[0])
		return;
	if (o->result == SPF_NONE)
		snprintf(o->reason, sizeof(o->reason), "%s has no SPF record (or is not a valid "
			 "domain)", domain);
	else if (o->term[0])
		snprintf(o->reason, sizeof(o->reason), "\"%.250s\" in the record of %.253s matched",
			 o->term, o->domain);
	else
		snprintf(o->reason, sizeof(o->reason), "no term of the record of %s matched "
			 "(default neutral)", o->domain);
}

static enum spf_result run(struct eval *ev, const char *domain)
{
	ev->out->result = check_host(ev, domain);
	describe(ev->out, domain);
	return ev->out->result;
}

enum spf_result spf_check(struct dns_source *dns, const struct spf_request *req,
			  struct spf_outcome *out)
{
	struct eval *ev = calloc(1, sizeof(*ev));
	enum spf_result r;
	char domain[DNS_NAME_MAX];

	memset(out, 0, sizeof(*out));
	if (!ev || spf_env_init(&ev->env, dns, req, out->reason, sizeof(out->reason))) {
		free(ev);
		if (!out->reason[0])
			snprintf(out->reason, sizeof(out->reason), "out of memory");
		return out->result = SPF_PERMERROR;
	}
	ev->out = out;
	dns_name_canon(req->domain && *req->domain ? req->domain : ev->env.sender_domain, domain);
	r = run(ev, domain);
	free(ev);
	return r;
}

enum spf_result spf_walk(struct dns_source *dns, const char *domain, struct spf_outcome *out)
{
	struct spf_request req = { .ip = "192.0.2.1", .helo = domain, .domain = domain };
	struct eval *ev = calloc(1, sizeof(*ev));
	enum spf_result r;

	memset(out, 0, sizeof(*out));
	if (!ev || spf_env_init(&ev->env, dns, &req, out->reason, sizeof(out->reason))) {
		free(ev);
		return out->result = SPF_TEMPERROR;
	}
	ev->out = out;
	ev->walk = true;
	r = run(ev, domain);
	free(ev);
	return r;
}
