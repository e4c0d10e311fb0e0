// SPDX-License-Identifier: MIT
#include "dns/dmarc.h"
#include "core/err.h"
#include "dns/dkim.h"

#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- organizational domain */

static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* Debian's publicsuffix list when it is newer than the one built into libpsl. */
static void psl_load(void)
{
	psl = psl_latest(NULL);
	if (!psl)
		psl = psl_builtin();
}

void org_domain(const char *domain, char out[DNS_NAME_MAX])
{
	const char *reg;

	if (!dns_name_canon(domain, out))
		out[0] = '\0';
	pthread_once(&psl_once, psl_load);
	reg = psl ? psl_registrable_domain(psl, out) : NULL;
	if (reg && reg != out)
		memmove(out, reg, strlen(reg) + 1);
}

bool dmarc_aligned(const char *a, const char *b, char mode)
{
	char oa[DNS_NAME_MAX], ob[DNS_NAME_MAX];

	if (!a || !b || !*a || !*b)
		return false;
	if (mode == 's')
		return dns_name_canon(a, oa) && dns_name_canon(b, ob) && !strcmp(oa, ob);
	org_domain(a, oa);
	org_domain(b, ob);
	return !strcmp(oa, ob);
}

/* ---------------------------------------------------------------- the record */

/* dmarc-uri *("," dmarc-uri); only mailto: URIs are kept, others are reported. */
static int uri_list(const char *v, char (*out)[256], size_t *n, const char *tag, char *err,
		    size_t errlen)
{
	*n = 0;
	while (*v) {
		size_t l = strcspn(v, ",");
		while (l && isspace((unsigned char)v[l - 1]))
			l--;
		while (l && isspace((unsigned char)*v))
			v++, l--;
		if (strncasecmp(v, "mailto:", 7) || !memchr(v, '@', l))
			return err_set(err, errlen, "%s: \"%.*s\" is not a mailto: address", tag,
				       (int)l, v);
		if (*n < DMARC_MAX_URIS)
			snprintf(out[(*n)++], 256, "%.*s", (int)l, v);
		v += strcspn(v, ",");
		if (*v == ',')
			v++;
	}
	return 0;
}

static bool policy_word(const char *v)
{
	return v && (!strcmp(v, "none") || !strcmp(v, "quarantine") || !strcmp(v, "reject"));
}

static int align_mode(const char *v, char *out, const char *tag, char *err, size_t errlen)
{
	if (!v)
		return 0;
	if (strcmp(v, "r") && strcmp(v, "s"))
		return err_set(err, errlen, "%s=%s: must be r or s", tag, v);
	*out = v[0];
	return 0;
}

static int parse_tags(const struct tag_list *l, struct dmarc_record *r, char *err, size_t errlen)
{
	const char *p = tag_get(l, "p"), *sp = tag_get(l, "sp"), *pct = tag_get(l, "pct");
	const char *rua = tag_get(l, "rua"), *ruf = tag_get(l, "ruf");

	if ((rua && uri_list(rua, r->rua, &r->n_rua, "rua", err, errlen)) ||
	    (ruf && uri_list(ruf, r->ruf, &r->n_ruf, "ruf", err, errlen)) ||
	    align_mode(tag_get(l, "adkim"), &r->adkim, "adkim", err, errlen) ||
	    align_mode(tag_get(l, "aspf"), &r->aspf, "aspf", err, errlen))
		return -1;
	if (!policy_word(p)) {
		if (!r->n_rua) {
			if (p)
				return err_set(err, errlen,
					       "p=%s: must be none, quarantine or reject", p);
			return err_set(err, errlen, "p= is missing");
		}
		r->p_missing = true; /* §6.6.3 step 6: a record with rua= counts as p=none */
		p = "none";
	}
	snprintf(r->p, sizeof(r->p), "%s", p);
	if (sp && !policy_word(sp))
		return err_set(err, errlen, "sp=%s: must be none, quarantine or reject", sp);
	snprintf(r->sp, sizeof(r->sp), "%s", sp ? sp : "");
	if (pct) {
		char *end;
		long v = strtol(pct, &end, 10);
		if (*end || end == pct || v < 0 || v > 100)
			return err_set(err, errlen, "pct=%s: must be 0 to 100", pct);
		r->pct = (int)v;
	}
	return 0;
}

int dmarc_parse(const char *text, struct dmarc_record *r, char *err, size_t errlen)
{
	struct tag_list l;
	int rc;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->adkim = r->aspf = 'r';
	if (tag_list_parse(text, &l, err, errlen))
		return -1;
	if (!l.n || strcmp(l.t[0].name, "v") || strcmp(l.t[0].value, "DMARC1")) {
		snprintf(err, errlen, "the record must start with v=DMARC1");
		tag_list_free(&l);
		return -1;
	}
	rc = parse_tags(&l, r, err, errlen);
	tag_list_free(&l);
	return rc;
}

/* ---------------------------------------------------------------- discovery */

static bool is_dmarc(const char *t)
{
	return !strncmp(t, "v=DMARC1", 8) &&
	       (t[8] == ';' || t[8] == ' ' || t[8] == '\t' || t[8] == '\0');
}

/* The policy record at _dmarc.<name>: 1 found (text set), 0 none, -1 temperror. */
static int fetch(struct dns_source *dns, const char *name, const char **text,
		 struct dd_check *c)
{
	char q[DNS_NAME_MAX + 8];
	const struct dns_answer *a;
	size_t found = 0;

	snprintf(q, sizeof(q), "_dmarc.%s", name);
	a = dns_lookup(dns, q, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "TXT lookup of %s failed: %s", q, a->error);
		return -1;
	}
	for (size_t i = 0; i < a->n; i++)
		if (is_dmarc(a->rr[i].text) && !found++)
			*text = a->rr[i].text;
	if (found > 1)
		dd_note(c, DD_FAIL, "%s has %zu DMARC records: receivers then apply none (§6.6.3); "
			"keep one", q, found);
	if (found == 1)
		dd_found(c, "%s TXT \"%s\"", q, *text);
	return found == 1;
}

/* ---------------------------------------------------------------- the check */

/* §7.1: a report address outside the policy domain's organization must agree to it. */
static void check_destination(struct dns_source *dns, const char *at, const char *uri,
			      struct dd_check *c)
{
	const char *host = strrchr(uri, '@') + 1;
	char q[DNS_NAME_MAX * 2], dest[DNS_NAME_MAX];
	const struct dns_answer *a;
	size_t hl = strcspn(host, "!");

	snprintf(dest, sizeof(dest), "%.*s", (int)hl, host);
	if (dmarc_aligned(dest, at, 'r'))
		return;
	snprintf(q, sizeof(q), "%s._report._dmarc.%s", at, dest);
	a = dns_lookup(dns, q, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "TXT lookup of %s failed: %s", q, a->error);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (is_dmarc(a->rr[i].text)) {
			dd_note(c, DD_OK, "reports to %s: %s accepts them", uri, dest);
			return;
		}
	dd_note(c, DD_WARN, "reports to %s are dropped: %s has not authorized them (it must "
		"publish %s TXT \"v=DMARC1\")", uri, dest, q);
}

static void check_alignment(const char *domain, const struct dmarc_record *r,
			    const struct dmarc_opts *o, struct dd_check *c)
{
	bool dkim = dmarc_aligned(o->dkim_domain, domain, r->adkim);
	bool spf = dmarc_aligned(o->return_path, domain, r->aspf);
	const char *dk = o->dkim_domain && *o->dkim_domain ? o->dkim_domain : "(none)";
	const char *rp = o->return_path && *o->return_path ? o->return_path : "(none)";

	if (!dkim && !spf) {
		dd_note(c, DD_FAIL, "DMARC would fail for mail sent through us: neither DKIM "
			"d=%s (adkim=%c) nor return-path %s (aspf=%c) aligns with %s", dk,
			r->adkim, rp, r->aspf, domain);
		return;
	}
	dd_note(c, DD_OK, "alignment: DKIM d=%s %s (adkim=%c), return-path %s %s (aspf=%c)", dk,
		dkim ? "aligns" : "does not align", r->adkim, rp,
		spf ? "aligns" : "does not align", r->aspf);
}

static void judge(struct dns_source *dns, const char *domain, const char *at,
		  const struct dmarc_record *r, const struct dmarc_opts *o, struct dd_check *c)
{
	bool sub = strcasecmp(at, domain) != 0;
	const char *policy = sub && r->sp[0] ? r->sp : r->p;

	dd_note(c, DD_OK, "policy p=%s%s%s%s for %s", policy, sub ? " (from the organizational "
		"domain " : "", sub ? at : "", sub ? ")" : "", domain);
	if (r->p_missing)
		dd_note(c, DD_WARN, "p= is missing or invalid: receivers take p=none because rua= "
			"is set; state the policy");
	if (!strcmp(policy, "none"))
		dd_note(c, DD_OK, "p=none meets the Gmail/Yahoo minimum; move to quarantine or "
			"reject once the reports show only your own mail");
	else if (r->pct < 100)
		dd_note(c, DD_WARN, "pct=%d: the policy applies to only %d%% of failing mail",
			r->pct, r->pct);
	if (!r->n_rua)
		dd_note(c, DD_WARN, "no rua=: you get no aggregate reports to see who sends as %s",
			domain);
	for (size_t i = 0; i < r->n_rua; i++)
		check_destination(dns, at, r->rua[i], c);
	for (size_t i = 0; i < r->n_ruf; i++)
		check_destination(dns, at, r->ruf[i], c);
	check_alignment(domain, r, o, c);
}

void dmarc_check(struct dns_source *dns, const char *domain, const struct dmarc_opts *o,
		 struct dd_check *c)
{
	char org[DNS_NAME_MAX], err[300];
	const char *text = NULL, *at = domain;
	struct dmarc_record r;
	int found;

	c->why = "Gmail and Yahoo require a DMARC record (p=none at least) whose DKIM or SPF "
		 "identity aligns with the From domain";
	org_domain(domain, org);
	found = fetch(dns, domain, &text, c);
	if (!found && strcasecmp(org, domain)) {
		at = org;
		found = fetch(dns, org, &text, c);
	}
	if (found < 0)
		return;
	if (!found) {
		dd_note(c, DD_FAIL, "no DMARC record at _dmarc.%s%s%s", domain,
			strcasecmp(org, domain) ? " or _dmarc." : "",
			strcasecmp(org, domain) ? org : "");
		dd_publish(c, "_dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"",
			   domain, domain);
		return;
	}
	if (dmarc_parse(text, &r, err, sizeof(err))) {
		dd_note(c, DD_FAIL, "the record at _dmarc.%s is invalid: %s", at, err);
		dd_publish(c, "_dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"", at,
			   at);
		return;
	}
	judge(dns, domain, at, &r, o, c);
}
