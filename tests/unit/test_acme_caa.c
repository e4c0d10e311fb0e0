// SPDX-License-Identifier: MIT
/* CAA policy table: the cases RFC 8659 and RFC 8657 describe, against a fake DNS zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acme/caa.h"

#define ACCT "https://ca.example.net/acct/1234"

/* One zone entry: a CAA record or a CNAME at a name. */
struct zrec {
	const char *name;
	int flags;       /* -1: the entry is a CNAME to value */
	const char *tag;
	const char *value;
};

struct zone {
	const struct zrec *r;
	const char *servfail; /* a name whose lookup fails */
	int lookups;
};

static int fake_lookup(void *arg, const char *name, struct caa_rr *rr, size_t cap, size_t *n,
		       char cname[CAA_NAME_MAX], char *err, size_t errlen)
{
	struct zone *z = arg;

	z->lookups++;
	if (z->servfail && !strcasecmp(name, z->servfail)) {
		snprintf(err, errlen, "SERVFAIL");
		return -1;
	}
	for (const struct zrec *e = z->r; e->name; e++) {
		if (strcasecmp(e->name, name))
			continue;
		if (e->flags < 0) {
			snprintf(cname, CAA_NAME_MAX, "%s", e->value);
			return 0;
		}
		if (*n < cap) {
			rr[*n].flags = (unsigned char)e->flags;
			snprintf(rr[*n].tag, sizeof(rr[*n].tag), "%s", e->tag);
			snprintf(rr[*n].value, sizeof(rr[*n].value), "%s", e->value);
			(*n)++;
		}
	}
	return 0;
}

struct caa_case {
	const char *what;
	const char *domain;
	struct zrec zone[8];
	int want;               /* CAA_ALLOW / CAA_DENY / CAA_ERROR */
	const char *reason_has; /* substring of the reason */
};

static const struct caa_case cases[] = {
	{ "no CAA anywhere: any CA", "www.example.com", { { 0 } }, CAA_ALLOW, "any CA" },
	{ "RFC 8659 §4.2: issue names the CA", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "issue names another CA", "example.com",
	  { { "example.com", 0, "issue", "other.example.org" }, { 0 } }, CAA_DENY,
	  "allows only other.example.org" },
	{ "one of several issue records names the CA", "example.com",
	  { { "example.com", 0, "issue", "other.example.org" },
	    { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "issue \";\" forbids every CA", "example.com",
	  { { "example.com", 0, "issue", ";" }, { 0 } }, CAA_DENY, "no CA" },
	{ "climb: parent's record set applies", "click.shop.example.com",
	  { { "example.com", 0, "issue", "other.example.org" }, { 0 } }, CAA_DENY, "at example.com" },
	{ "climb stops at the closest record set", "click.shop.example.com",
	  { { "shop.example.com", 0, "issue", "ca.example.net" },
	    { "example.com", 0, "issue", ";" }, { 0 } }, CAA_ALLOW, "at shop.example.com" },
	{ "RFC 8659 §4.2: parameters after the issuer are ignored", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; account=230123" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "tags are case-insensitive", "example.com",
	  { { "example.com", 0, "ISSUE", "CA.Example.NET" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "RFC 8659 §4.1: critical unknown tag denies", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net" },
	    { "example.com", 128, "tbs", "Unknown" }, { 0 } }, CAA_DENY, "unknown critical tag" },
	{ "non-critical unknown tag is ignored", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net" },
	    { "example.com", 0, "tbs", "Unknown" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "only iodef: issuance not restricted", "example.com",
	  { { "example.com", 0, "iodef", "mailto:security@example.com" }, { 0 } }, CAA_ALLOW,
	  "no issue property" },
	{ "critical known tag (iodef) does not deny", "example.com",
	  { { "example.com", 128, "iodef", "mailto:security@example.com" },
	    { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "RFC 8659 §4.3: issuewild governs wildcards", "*.example.com",
	  { { "example.com", 0, "issue", "ca.example.net" },
	    { "example.com", 0, "issuewild", ";" }, { 0 } }, CAA_DENY, "issuewild" },
	{ "issuewild does not affect non-wildcard names", "www.example.com",
	  { { "example.com", 0, "issue", "ca.example.net" },
	    { "example.com", 0, "issuewild", ";" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "wildcard without issuewild falls back to issue", "*.example.com",
	  { { "example.com", 0, "issue", "other.example.org" }, { 0 } }, CAA_DENY, "issue at" },
	{ "issuewild can allow what issue forbids", "*.example.com",
	  { { "example.com", 0, "issue", ";" },
	    { "example.com", 0, "issuewild", "ca.example.net" }, { 0 } }, CAA_ALLOW, "allows" },
	{ "RFC 8659 §3: CNAME target's record set is used", "alias.example.com",
	  { { "alias.example.com", -1, NULL, "other.example.net" },
	    { "other.example.net", 0, "issue", "other.example.org" },
	    { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_DENY,
	  "at alias.example.com" },
	{ "CNAME target without CAA: climb from the alias, not the target", "alias.example.com",
	  { { "alias.example.com", -1, NULL, "host.other.example" },
	    { "other.example", 0, "issue", ";" },
	    { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_ALLOW, "at example.com" },
	{ "CNAME loop is an error, not an allow", "loop.example.com",
	  { { "loop.example.com", -1, NULL, "loop2.example.com" },
	    { "loop2.example.com", -1, NULL, "loop.example.com" }, { 0 } }, CAA_ERROR, "CNAME chain" },
	{ "RFC 8657 §3: accounturi matching our account", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; accounturi=" ACCT }, { 0 } }, CAA_ALLOW,
	  "allows" },
	{ "RFC 8657 §3: accounturi of another account", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; accounturi=https://ca.example.net/acct/99" },
	    { 0 } }, CAA_DENY, "accounturi" },
	{ "RFC 8657 §4: validationmethods without http-01", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; validationmethods=dns-01" }, { 0 } },
	  CAA_DENY, "validationmethods" },
	{ "RFC 8657 §4: validationmethods listing http-01", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; validationmethods=dns-01,http-01" }, { 0 } },
	  CAA_ALLOW, "allows" },
	{ "RFC 8657: both parameters, one record must satisfy both", "example.com",
	  { { "example.com", 0, "issue",
	      "ca.example.net; accounturi=" ACCT "; validationmethods=dns-01" },
	    { "example.com", 0, "issue",
	      "ca.example.net; accounturi=" ACCT " ; validationmethods=http-01" }, { 0 } },
	  CAA_ALLOW, "allows" },
	{ "malformed parameters do not authorize", "example.com",
	  { { "example.com", 0, "issue", "ca.example.net; =broken" }, { 0 } }, CAA_DENY, "malformed" },
	{ "DNS failure is an error (fail closed)", "www.example.com",
	  { { "example.com", 0, "issue", "ca.example.net" }, { 0 } }, CAA_ERROR, "SERVFAIL" },
};

static void test_caa_table(void **state)
{
	struct caa_policy p = { .ca_domain = "ca.example.net", .account_uri = ACCT,
				.method = "http-01" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct caa_case *c = &cases[i];
		struct zone z = { .r = c->zone };
		char reason[512];
		enum caa_verdict v;

		if (c->want == CAA_ERROR && strstr(c->reason_has, "SERVFAIL"))
			z.servfail = "www.example.com";
		v = caa_check(c->domain, fake_lookup, &z, &p, reason, sizeof(reason));
		if ((int)v != c->want || !strstr(reason, c->reason_has))
			fail_msg("case \"%s\": verdict %d (want %d), reason \"%s\" (want \"%s\")",
				 c->what, v, c->want, reason, c->reason_has);
	}
}

static void test_no_root_query(void **state)
{
	struct caa_policy p = { .ca_domain = "ca.example.net", .method = "http-01" };
	struct zrec none[] = { { 0 } };
	struct zone z = { .r = none };
	char reason[256];

	/* a.b.example.com, b.example.com, example.com, com: four lookups, never "" */
	assert_int_equal(caa_check("a.b.example.com", fake_lookup, &z, &p, reason, sizeof(reason)),
			 CAA_ALLOW);
	assert_int_equal(z.lookups, 4);
}

static void test_accounturi_without_account(void **state)
{
	/* not registered yet: a record bound to an account cannot be satisfied */
	struct caa_policy p = { .ca_domain = "ca.example.net", .method = "http-01" };
	struct caa_rr rr = { 0, "issue", "ca.example.net; accounturi=" ACCT };
	char reason[256];

	assert_int_equal(caa_evaluate(&rr, 1, false, "example.com", &p, reason, sizeof(reason)),
			 CAA_DENY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caa_table),
		cmocka_unit_test(test_no_root_query),
		cmocka_unit_test(test_accounturi_without_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
