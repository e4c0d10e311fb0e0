// SPDX-License-Identifier: MIT
/* DMARC (RFC 7489): record syntax (§6.3), organizational domains (§3.2), policy discovery
 * (§6.6.3), external report destinations (§7.1) and alignment (§3.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/dmarc.h"
#include "expect_note.h"
#include "fake_dns.h"

static struct fake_dns dns;

static void test_parse(void **state)
{
	struct dmarc_record r;
	char err[300];

	assert_int_equal(dmarc_parse("v=DMARC1; p=reject; sp=none; pct=50; adkim=s; "
				     "rua=mailto:a@example.com, mailto:b@example.net!10m; "
				     "ruf=mailto:f@example.com", &r, err, sizeof(err)), 0);
	assert_string_equal(r.p, "reject");
	assert_string_equal(r.sp, "none");
	assert_int_equal(r.pct, 50);
	assert_int_equal(r.adkim, 's');
	assert_int_equal(r.aspf, 'r');
	assert_int_equal(r.n_rua, 2);
	assert_string_equal(r.rua[1], "mailto:b@example.net!10m");
	assert_int_equal(r.n_ruf, 1);

	assert_int_equal(dmarc_parse("v=DMARC1;p=none", &r, err, sizeof(err)), 0);
	assert_int_equal(r.pct, 100);
	assert_false(r.p_missing);
	/* §6.6.3: no valid p= but a rua= is a monitoring record */
	assert_int_equal(dmarc_parse("v=DMARC1; rua=mailto:a@example.com", &r, err, sizeof(err)), 0);
	assert_true(r.p_missing);
	assert_string_equal(r.p, "none");

	static const struct { const char *text, *err; } bad[] = {
		{ "p=none; v=DMARC1", "start with v=DMARC1" },
		{ "v=DMARC2; p=none", "start with v=DMARC1" },
		{ "v=DMARC1", "p= is missing" },
		{ "v=DMARC1; p=block", "must be none, quarantine or reject" },
		{ "v=DMARC1; p=none; sp=all", "sp=all" },
		{ "v=DMARC1; p=none; pct=101", "pct=101" },
		{ "v=DMARC1; p=none; adkim=x", "adkim=x" },
		{ "v=DMARC1; p=none; rua=https://example.com/r", "not a mailto:" },
		{ "v=DMARC1; p=none; p=reject", "appears twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!dmarc_parse(bad[i].text, &r, err, sizeof(err)))
			fail_msg("\"%s\" parsed", bad[i].text);
		if (!strstr(err, bad[i].err))
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].text, err, bad[i].err);
	}
}

static void test_org_domain(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "mail.example.com", "example.com" },
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "Example.COM.", "example.com" },
		{ "co.uk", "co.uk" },
		{ "news.customer.test", "customer.test" },
	};
	char out[DNS_NAME_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		org_domain(cases[i].in, out);
		if (strcmp(out, cases[i].out))
			fail_msg("%s: got %s, want %s", cases[i].in, out, cases[i].out);
	}
	assert_true(dmarc_aligned("bounce.example.com", "example.com", 'r'));
	assert_false(dmarc_aligned("bounce.example.com", "example.com", 's'));
	assert_true(dmarc_aligned("EXAMPLE.com", "example.com.", 's'));
	assert_false(dmarc_aligned("example.co.uk", "other.co.uk", 'r'));
	assert_false(dmarc_aligned(NULL, "example.com", 'r'));
}

static const struct fake_rr zone[] = {
	{ "_dmarc.cust.test", DNS_T_TXT, "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@cust.test", 0 },
	{ "_dmarc.ext.test", DNS_T_TXT, "v=DMARC1; p=none; rua=mailto:r@reports.test,mailto:x@nowhere.test", 0 },
	{ "ext.test._report._dmarc.reports.test", DNS_T_TXT, "v=DMARC1", 0 },
	{ "_dmarc.two.test", DNS_T_TXT, "v=DMARC1; p=none", 0 },
	{ "_dmarc.two.test", DNS_T_TXT, "v=DMARC1; p=reject", 0 },
	{ "_dmarc.bad.test", DNS_T_TXT, "v=DMARC1; p=block", 0 },
	{ "_dmarc.slow.test", DNS_T_TXT, "!TEMPFAIL", 0 },
	{ "_dmarc.strict.test", DNS_T_TXT, "v=DMARC1; p=quarantine; pct=20; adkim=s; aspf=s; rua=mailto:d@strict.test", 0 },
	{ NULL, 0, NULL, 0 },
};

static struct dd_check check(const char *domain, const char *dkim, const char *rp)
{
	struct dmarc_opts o = { .dkim_domain = dkim, .return_path = rp };
	struct dd_check c = { .name = "dmarc" };

	fake_dns_init(&dns, zone);
	dmarc_check(&dns.src, domain, &o, &c);
	fake_dns_free(&dns);
	return c;
}

static void test_check(void **state)
{
	struct dd_check c;

	c = check("cust.test", "cust.test", "bounce.esp.test");
	expect(&c, DD_OK, "policy p=reject for cust.test");
	expect(&c, DD_OK, "DKIM d=cust.test aligns (adkim=r), return-path bounce.esp.test does not align");
	/* a subdomain inherits the organizational domain's record, with sp= */
	c = check("news.cust.test", "esp.test", "bounce.news.cust.test");
	expect(&c, DD_OK, "policy p=quarantine (from the organizational domain cust.test)");
	expect(&c, DD_OK, "return-path bounce.news.cust.test aligns");
	/* neither identity aligns */
	c = check("cust.test", "esp.test", "bounce.esp.test");
	expect(&c, DD_FAIL, "DMARC would fail");
	/* strict alignment refuses a subdomain */
	c = check("strict.test", "mail.strict.test", "strict.test");
	expect(&c, DD_WARN, "pct=20");
	expect(&c, DD_WARN, "return-path strict.test aligns (aspf=s)");
	c = check("strict.test", "mail.strict.test", "bounce.strict.test");
	expect(&c, DD_FAIL, "DMARC would fail");
	/* external report destinations */
	c = check("ext.test", "ext.test", "ext.test");
	expect(&c, DD_WARN, "reports to mailto:x@nowhere.test are dropped");
	expect(&c, DD_WARN, "mailto:r@reports.test: reports.test accepts them");
	expect(&c, DD_WARN, "publish ext.test._report._dmarc.nowhere.test TXT");
	/* discovery failures */
	c = check("none.test", "none.test", "none.test");
	expect(&c, DD_FAIL, "no DMARC record at _dmarc.none.test");
	assert_non_null(strstr(c.publish, "_dmarc.none.test TXT \"v=DMARC1; p=none"));
	c = check("two.test", "two.test", "two.test");
	expect(&c, DD_FAIL, "2 DMARC records");
	c = check("bad.test", "bad.test", "bad.test");
	expect(&c, DD_FAIL, "p=block");
	c = check("slow.test", "slow.test", "slow.test");
	expect(&c, DD_TEMPERROR, "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
