// SPDX-License-Identifier: MIT
#include "acme/caa.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CAA_CNAME_DEPTH 8

static bool known_tag(const char *tag)
{
	static const char *const known[] = { "issue", "issuewild", "iodef", "contactemail",
					     "contactphone", "issuemail", "issuevmc", NULL };

	for (size_t i = 0; known[i]; i++)
		if (!strcasecmp(tag, known[i]))
			return true;
	return false;
}

static const char *skip_wsp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

struct issue_value {
	char issuer[256];
	bool malformed;
	bool has_account, account_ok;
	bool has_methods, method_ok;
};

static bool value_char(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* validationmethods = method *("," method) (RFC 8657 §4) */
static bool methods_list(const char *v, size_t len, const char *method)
{
	size_t ml = method ? strlen(method) : 0;

	for (size_t i = 0; i <= len;) {
		size_t j = i;
		while (j < len && v[j] != ',')
			j++;
		if (ml && j - i == ml && !strncmp(v + i, method, ml))
			return true;
		i = j + 1;
	}
	return false;
}

static void parse_param(struct issue_value *iv, const char *tag, size_t tl, const char *val,
			size_t vl, const struct caa_policy *p)
{
	if (tl == 10 && !strncasecmp(tag, "accounturi", tl)) {
		iv->has_account = true;
		iv->account_ok = p->account_uri && strlen(p->account_uri) == vl &&
				 !strncmp(val, p->account_uri, vl);
	} else if (tl == 17 && !strncasecmp(tag, "validationmethods", tl)) {
		iv->has_methods = true;
		iv->method_ok = methods_list(val, vl, p->method);
	}
	/* other parameters are CA-specific and ignored (RFC 8659 §4.2) */
}

/* issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]] */
static void parse_issue(const char *v, const struct caa_policy *p, struct issue_value *iv)
{
	const char *s = skip_wsp(v);
	size_t n = 0;

	memset(iv, 0, sizeof(*iv));
	while (*s && (isalnum((unsigned char)*s) || *s == '-' || *s == '.') &&
	       n + 1 < sizeof(iv->issuer))
		iv->issuer[n++] = *s++;
	iv->issuer[n] = '\0';
	s = skip_wsp(s);
	if (!*s)
		return;
	if (*s++ != ';') {
		iv->malformed = true;
		return;
	}
	for (;;) {
		const char *tag, *val;
		size_t tl, vl;
		s = skip_wsp(s);
		if (!*s)
			return;
		for (tag = s; isalnum((unsigned char)*s); s++)
			;
		tl = (size_t)(s - tag);
		s = skip_wsp(s);
		if (!tl || *s++ != '=') {
			iv->malformed = true;
			return;
		}
		s = skip_wsp(s);
		for (val = s; value_char(*s); s++)
			;
		vl = (size_t)(s - val);
		parse_param(iv, tag, tl, val, vl, p);
		s = skip_wsp(s);
		if (*s == ';')
			s++;
		else if (*s) {
			iv->malformed = true;
			return;
		}
	}
}

/* Why a record naming us does not authorize us, or NULL when it does. */
static const char *param_refusal(const struct issue_value *iv)
{
	if (iv->malformed)
		return "malformed";
	if (iv->has_account && !iv->account_ok)
		return "accounturi names another account";
	if (iv->has_methods && !iv->method_ok)
		return "validationmethods excludes our method";
	return NULL;
}

static void list_issuers(const struct caa_rr *rr, size_t n, const char *tag,
			 const struct caa_policy *p, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct issue_value iv;
		int w;
		if (strcasecmp(rr[i].tag, tag))
			continue;
		parse_issue(rr[i].value, p, &iv);
		w = snprintf(out + o, cap - o, "%s%s", o ? ", " : "",
			     iv.issuer[0] ? iv.issuer : "no CA");
		if (w < 0 || (size_t)w >= cap - o)
			return;
		o += (size_t)w;
	}
}

enum caa_verdict caa_evaluate(const struct caa_rr *rr, size_t n, bool wildcard, const char *at,
			      const struct caa_policy *p, char *reason, size_t cap)
{
	const char *tag = "issue", *refusal = NULL;
	bool any = false;
	char names[512];

	if (!n) {
		snprintf(reason, cap, "no CAA records: any CA may issue");
		return CAA_ALLOW;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rr[i].flags & 0x80) && !known_tag(rr[i].tag)) {
			snprintf(reason, cap, "CAA at %s has unknown critical tag \"%s\": no CA may issue",
				 at, rr[i].tag);
			return CAA_DENY;
		}
		if (wildcard && !strcasecmp(rr[i].tag, "issuewild"))
			tag = "issuewild";
	}
	for (size_t i = 0; i < n; i++) {
		struct issue_value iv;
		if (strcasecmp(rr[i].tag, tag))
			continue;
		any = true;
		parse_issue(rr[i].value, p, &iv);
		if (!iv.issuer[0] || strcasecmp(iv.issuer, p->ca_domain))
			continue;
		refusal = param_refusal(&iv);
		if (!refusal) {
			snprintf(reason, cap, "CAA at %s allows %s", at, p->ca_domain);
			return CAA_ALLOW;
		}
	}
	if (!any) {
		snprintf(reason, cap, "CAA at %s has no %s property: any CA may issue", at, tag);
		return CAA_ALLOW;
	}
	if (refusal) {
		snprintf(reason, cap, "CAA %s at %s names %s but %s", tag, at, p->ca_domain, refusal);
		return CAA_DENY;
	}
	list_issuers(rr, n, tag, p, names, sizeof(names));
	snprintf(reason, cap, "CAA %s at %s allows only %s, not %s", tag, at, names, p->ca_domain);
	return CAA_DENY;
}

/* The RRset of one name, following a CNAME chain of bounded length. */
static int lookup_follow(const char *name, caa_lookup_fn lookup, void *arg, struct caa_rr *rr,
			 size_t *n, char *err, size_t errlen)
{
	char cur[CAA_NAME_MAX], cname[CAA_NAME_MAX];

	snprintf(cur, sizeof(cur), "%s", name);
	for (int depth = 0; depth <= CAA_CNAME_DEPTH; depth++) {
		cname[0] = '\0';
		*n = 0;
		if (lookup(arg, cur, rr, CAA_MAX_RR, n, cname, err, errlen))
			return -1;
		if (*n || !cname[0])
			return 0;
		snprintf(cur, sizeof(cur), "%s", cname);
	}
	snprintf(err, errlen, "CNAME chain from %s is longer than %d", name, CAA_CNAME_DEPTH);
	return -1;
}

enum caa_verdict caa_check(const char *domain, caa_lookup_fn lookup, void *arg,
			   const struct caa_policy *p, char *reason, size_t cap)
{
	bool wildcard = !strncmp(domain, "*.", 2);
	const char *name = wildcard ? domain + 2 : domain;
	struct caa_rr rr[CAA_MAX_RR];
	char err[256];
	size_t n;

	/* climb: example.com, then com; the root is never queried (RFC 8659 §3) */
	while (*name) {
		if (lookup_follow(name, lookup, arg, rr, &n, err, sizeof(err))) {
			snprintf(reason, cap, "CAA lookup for %s failed: %s", name, err);
			return CAA_ERROR;
		}
		if (n)
			return caa_evaluate(rr, n, wildcard, name, p, reason, cap);
		name = strchr(name, '.');
		if (!name)
			break;
		name++;
	}
	snprintf(reason, cap, "no CAA records: any CA may issue");
	return CAA_ALLOW;
}
