// SPDX-License-Identifier: MIT
/* The doctor's SPF check: one record, its syntax, the ESP's include, the lookup budget a
 * receiver spends on it, and the habits RFC 7208 warns about. */
#include "dns/doctor.h"
#include "dns/spf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SPF_MAX_BYTES 450 /* keeps the TXT answer inside a 512-byte UDP reply */

/* The record with include:<esp> put before its "all" (or at the end). */
static void suggest(const struct spf_record *rec, const char *text, const char *esp,
		    char *out, size_t cap)
{
	for (size_t i = 0; rec && i < rec->n; i++)
		if (rec->t[i].kind == SPF_ALL) {
			snprintf(out, cap, "%.*sinclude:%s %s", (int)rec->t[i].pos, text, esp,
				 text + rec->t[i].pos);
			return;
		}
	snprintf(out, cap, "%s include:%s", text, esp);
}

static void lint(const struct spf_record *rec, size_t len, struct dd_check *c)
{
	int all = -1;

	if (len > SPF_MAX_BYTES)
		dd_note(c, DD_WARN, "the record is %zu bytes: over %d it may not fit one UDP "
			"answer and some receivers fail it; use fewer terms", len, SPF_MAX_BYTES);
	for (size_t i = 0; i < rec->n; i++) {
		const struct spf_term *t = &rec->t[i];
		char text[320];
		spf_term_text(rec, t, text, sizeof(text));
		if (t->kind == SPF_PTR)
			dd_note(c, DD_WARN, "\"%s\": ptr is slow and unreliable (RFC 7208 §5.5 says "
				"do not use it); list the addresses or use a:/include:", text);
		if (all >= 0 && t->kind != SPF_EXP && t->kind != SPF_UNKNOWN_MOD)
			dd_note(c, DD_WARN, "\"%s\" comes after \"all\" and is never used", text);
		if (t->kind != SPF_ALL || all >= 0)
			continue;
		all = (int)i;
		if (t->qualifier == '+')
			dd_note(c, DD_WARN, "\"%s\" lets every server on the internet send as you; "
				"end with ~all or -all", text);
		else if (t->qualifier == '?')
			dd_note(c, DD_WARN, "\"?all\" says nothing about other servers; end with "
				"~all or -all");
	}
	if (all < 0 && rec->redirect < 0)
		dd_note(c, DD_WARN, "the record has no \"all\": unlisted servers get neutral; end "
			"with ~all or -all");
}

static bool includes(const struct spf_record *rec, const struct spf_outcome *walk,
		     const char *esp, bool *direct)
{
	*direct = false;
	for (size_t i = 0; i < rec->n; i++)
		if ((rec->t[i].kind == SPF_INCLUDE || rec->t[i].kind == SPF_REDIRECT) &&
		    !strcasecmp(rec->t[i].spec, esp))
			*direct = true;
	for (size_t i = 0; !*direct && i < walk->n_includes; i++)
		if (!strcasecmp(walk->includes[i], esp))
			return true;
	return *direct;
}

/* The receiver's cost of the record and the ESP include in it. */
static void judge_walk(struct dns_source *dns, const struct domain_config *cfg,
		       const char *domain, const struct spf_record *rec, const char *text,
		       struct dd_check *c)
{
	struct spf_outcome walk;
	enum spf_result r = spf_walk(dns, domain, &walk);
	char fixed[1200];
	bool direct;

	if (r == SPF_TEMPERROR)
		dd_note(c, DD_TEMPERROR, "%s", walk.reason);
	else if (r == SPF_PERMERROR)
		dd_note(c, DD_FAIL, "receivers get permerror: %s", walk.reason);
	else
		dd_note(c, DD_OK, "%u of %d DNS lookups, %u void", walk.lookups, SPF_MAX_LOOKUPS,
			walk.void_lookups);
	if (!cfg->spf_include[0])
		return;
	if (includes(rec, &walk, cfg->spf_include, &direct)) {
		dd_note(c, DD_OK, "include:%s is there%s", cfg->spf_include,
			direct ? "" : " (inside another include)");
		return;
	}
	dd_note(c, DD_FAIL, "include:%s is missing: our servers are not allowed to send as %s",
		cfg->spf_include, domain);
	suggest(rec, text, cfg->spf_include, fixed, sizeof(fixed));
	dd_publish(c, "%s TXT \"%s\"", domain, fixed);
}

/* A leftover record of the retired SPF type (RFC 7208 §3.1). */
static void type99(struct dns_source *dns, const char *domain, struct dd_check *c)
{
	const struct dns_answer *a = dns_lookup(dns, domain, DNS_T_SPF);

	if (a->status == DNS_OK)
		dd_note(c, DD_WARN, "%s still has a record of the retired SPF type (99): "
			"receivers ignore it; delete it so it cannot drift from the TXT one", domain);
}

void doctor_spf(struct dns_source *dns, const struct domain_config *cfg, const char *domain,
		struct dd_check *c)
{
	const char *text;
	char why[300], fresh[300];
	struct spf_record rec;
	struct spf_error err;
	enum spf_result r = spf_fetch(dns, domain, &text, why, sizeof(why));

	c->why = "Gmail and Yahoo require SPF: receivers check that the server handing over "
		 "the mail is listed for the envelope sender's domain";
	snprintf(fresh, sizeof(fresh), "v=spf1 %s%s%s~all", cfg->spf_include[0] ? "include:" : "",
		 cfg->spf_include, cfg->spf_include[0] ? " " : "");
	if (r == SPF_TEMPERROR) {
		dd_note(c, DD_TEMPERROR, "%s", why);
		return;
	}
	if (r != SPF_PASS) {
		dd_note(c, DD_FAIL, "%s", why);
		dd_publish(c, "%s TXT \"%s\"%s", domain, fresh,
			   r == SPF_PERMERROR ? " (one record: merge them into this)" : "");
		type99(dns, domain, c);
		return;
	}
	dd_found(c, "%s TXT \"%s\"", domain, text);
	if (spf_parse(text, &rec, &err)) {
		dd_note(c, DD_FAIL, "syntax error at column %zu: %s", err.pos + 1, err.msg);
		dd_publish(c, "%s TXT \"%s\"", domain, fresh);
		type99(dns, domain, c);
		return;
	}
	lint(&rec, strlen(text), c);
	judge_walk(dns, cfg, domain, &rec, text, c);
	type99(dns, domain, c);
	spf_record_free(&rec);
}
