// SPDX-License-Identifier: MIT
/* SPF (RFC 7208): parser, macros and check_host() against an in-memory zone, by section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/doctor.h"
#include "dns/spf.h"
#include "expect_note.h"
#include "fake_dns.h"

static struct fake_dns dns;

/* ------------------------------------------------------------ §4.6, §12: syntax */

struct syntax_case {
	const char *record;
	size_t pos;        /* of the error; (size_t)-1: the record is valid */
	const char *msg;   /* part of the message */
};

static void test_syntax(void **state)
{
	static const struct syntax_case cases[] = {
		{ "v=spf1", (size_t)-1, NULL },
		{ "v=spf1 -all", (size_t)-1, NULL },
		{ "V=SPF1 IP4:192.0.2.0/24 Include:_spf.example.net ~ALL", (size_t)-1, NULL },
		{ "v=spf1 a mx a:mail.example.com/28 mx:example.com//64 a/24//64 -all", (size_t)-1, NULL },
		{ "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.1 ptr ptr:example.org ?all", (size_t)-1, NULL },
		{ "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", (size_t)-1, NULL },
		{ "v=spf1 redirect=_spf.example.com exp=explain.%{d}", (size_t)-1, NULL },
		{ "v=spf1 foo=bar moo.cow-far_out=man:dog/cat -all", (size_t)-1, NULL },
		{ "v=spf1 -all   ", (size_t)-1, NULL },
		{ "v=spf1 inclde:_spf.example.net -all", 7, "unknown mechanism \"inclde\"" },
		{ "v=spf1 ip4:192.0.2.0/33 -all", 7, "prefix length" },
		{ "v=spf1 ip4:192.0.2 -all", 7, "not an IPv4 address" },
		{ "v=spf1 ip6:2001:db8::/129", 7, "prefix length" },
		{ "v=spf1 a:example.com/024", 7, "IPv4 prefix length" },
		{ "v=spf1 include -all", 7, "needs \":domain\"" },
		{ "v=spf1 include:localhost", 15, "not a domain name" },
		{ "v=spf1 a:192.0.2.1", 9, "not a domain name" },
		{ "v=spf1 all:example.com", 7, "takes no argument" },
		{ "v=spf1 mx -all redirect=a.example redirect=b.example", 34, "appears twice" },
		{ "v=spf1 exp=a.example exp=b.example", 21, "appears twice" },
		{ "v=spf1 exists:%{x}.example.com", 14, "bad macro" },
		{ "v=spf1 exists:%{c}.example.com", 14, "bad macro" },
		{ "v=spf1 exists:%{d0}.example.com", 14, "bad macro" },
		{ "v=spf1 a:%{d", 9, "bad macro" },
		{ "v=spf1 1foo=bar", 7, "bad modifier name" },
		{ "v=spf1\t-all", 0, "does not start with" },
		{ "v=spf1 +-all", 7, "unknown mechanism" },
		{ "v=spf2 -all", 0, "v=spf1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spf_record rec;
		struct spf_error err = { 0 };
		int rc = spf_parse(cases[i].record, &rec, &err);
		if (cases[i].pos == (size_t)-1) {
			if (rc)
				fail_msg("\"%s\": %s at %zu", cases[i].record, err.msg, err.pos);
			spf_record_free(&rec);
			continue;
		}
		if (!rc)
			fail_msg("\"%s\" parsed", cases[i].record);
		if (err.pos != cases[i].pos || !strstr(err.msg, cases[i].msg))
			fail_msg("\"%s\": got \"%s\" at %zu, want \"%s\" at %zu", cases[i].record,
				 err.msg, err.pos, cases[i].msg, cases[i].pos);
	}
}

static void test_terms(void **state)
{
	struct spf_record rec;
	struct spf_error err;
	char text[64];

	assert_int_equal(spf_parse("v=spf1 -a:mail.example.com/24//64 ~mx ip4:192.0.2.0/24 "
				   "redirect=%{d}.example.net", &rec, &err), 0);
	assert_int_equal(rec.n, 4);
	assert_int_equal(rec.t[0].kind, SPF_A);
	assert_int_equal(rec.t[0].qualifier, '-');
	assert_string_equal(rec.t[0].spec, "mail.example.com");
	assert_int_equal(rec.t[0].cidr4, 24);
	assert_int_equal(rec.t[0].cidr6, 64);
	assert_int_equal(rec.t[1].kind, SPF_MX);
	assert_int_equal(rec.t[1].qualifier, '~');
	assert_int_equal(rec.t[1].cidr4, -1);
	assert_int_equal(rec.t[2].kind, SPF_IP4);
	assert_int_equal(rec.t[2].cidr4, 24);
	assert_int_equal(rec.redirect, 3);
	assert_string_equal(rec.t[3].spec, "%{d}.example.net");
	spf_term_text(&rec, &rec.t[1], text, sizeof(text));
	assert_string_equal(text, "~mx");
	spf_record_free(&rec);
}

/* ------------------------------------------------------------ §7: macros */

static void test_macros(void **state)
{
	static const struct fake_rr zone[] = { { NULL, 0, NULL, 0 } };
	static const struct { const char *in, *out; } v4[] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
		{ "%%%_%-", "% %20" },
		{ "%{S}", "strong-bad%40email.example.com" },
		{ "%{h}", "mx.example.org" },
		{ "%{p}", "unknown" },
	};
	struct spf_request req = { .ip = "192.0.2.3", .sender = "strong-bad@email.example.com",
				   .helo = "mx.example.org" };
	char out[512];

	fake_dns_init(&dns, zone);
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		assert_int_equal(spf_expand(&dns.src, &req, "email.example.com", v4[i].in, false,
					    out, sizeof(out)), 0);
		if (strcmp(out, v4[i].out))
			fail_msg("%s: got %s, want %s", v4[i].in, out, v4[i].out);
	}
	req.ip = "2001:db8::cb01";
	assert_int_equal(spf_expand(&dns.src, &req, "email.example.com", "%{ir}.%{v}._spf.%{d2}",
				    false, out, sizeof(out)), 0);
	assert_string_equal(out, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
				 ".ip6._spf.example.com");
	/* c, r and t belong to explanations only */
	assert_int_equal(spf_expand(&dns.src, &req, "example.com", "%{c}", false, out,
				    sizeof(out)), -1);
	assert_int_equal(spf_expand(&dns.src, &req, "example.com", "%{c} via %{r}", true, out,
				    sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::cb01 via unknown");
	fake_dns_free(&dns);
}

/* ------------------------------------------------------------ §4, §5, §6: check_host() */

struct eval_case {
	const char *what;
	const char *ip, *sender;
	enum spf_result want;
	const char *reason;   /* part of the reason, or NULL */
	int lookups;          /* -1: not checked */
};

static void run_cases(const struct fake_rr *zone, const struct eval_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct spf_request req = { .ip = c[i].ip, .sender = c[i].sender,
					   .helo = "helo.example.org" };
		struct spf_outcome out;
		enum spf_result r;

		fake_dns_init(&dns, zone);
		r = spf_check(&dns.src, &req, &out);
		if (r != c[i].want || out.result != r)
			fail_msg("%s: got %s (%s), want %s", c[i].what, spf_result_name(r),
				 out.reason, spf_result_name(c[i].want));
		if (c[i].reason && !strstr(out.reason, c[i].reason))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", c[i].what, out.reason, c[i].reason);
		if (c[i].lookups >= 0 && out.lookups != (unsigned)c[i].lookups)
			fail_msg("%s: %u lookups, want %d", c[i].what, out.lookups, c[i].lookups);
		fake_dns_free(&dns);
	}
}

#define RUN(zone, cases) run_cases(zone, cases, sizeof(cases) / sizeof(cases[0]))

static void test_mechanisms(void **state)
{
	static const struct fake_rr zone[] = {
		{ "ip.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all", 0 },
		{ "a.test", DNS_T_TXT, "v=spf1 a a:other.test/30 a:six.test//64 ~all", 0 },
		{ "a.test", DNS_T_A, "198.51.100.1", 0 },
		{ "other.test", DNS_T_A, "203.0.113.5", 0 },
		{ "six.test", DNS_T_AAAA, "2001:db8:1:2::1", 0 },
		{ "mx.test", DNS_T_TXT, "v=spf1 mx mx:mx.other.test/24 ?all", 0 },
		{ "mx.test", DNS_T_MX, "mail.mx.test", 10 },
		{ "mx.test", DNS_T_MX, "", 0 },
		{ "mail.mx.test", DNS_T_A, "192.0.2.25", 0 },
		{ "mx.other.test", DNS_T_MX, "mail.other.test", 10 },
		{ "mail.other.test", DNS_T_A, "203.0.113.200", 0 },
		{ "ptr.test", DNS_T_TXT, "v=spf1 ptr -all", 0 },
		{ "10.2.0.192.in-addr.arpa", DNS_T_PTR, "host.ptr.test", 0 },
		{ "10.2.0.192.in-addr.arpa", DNS_T_PTR, "liar.elsewhere.test", 0 },
		{ "host.ptr.test", DNS_T_A, "192.0.2.10", 0 },
		{ "11.2.0.192.in-addr.arpa", DNS_T_PTR, "forged.ptr.test", 0 },
		{ "forged.ptr.test", DNS_T_A, "192.0.2.99", 0 },
		{ "exists.test", DNS_T_TXT, "v=spf1 exists:%{ir}.allow.exists.test -all", 0 },
		{ "7.2.0.192.allow.exists.test", DNS_T_A, "127.0.0.2", 0 },
		{ "none.test", DNS_T_TXT, "google-site-verification=abc", 0 },
		{ "two.test", DNS_T_TXT, "v=spf1 -all", 0 },
		{ "two.test", DNS_T_TXT, "v=spf1 +all", 0 },
		{ "split.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24\x01-all", 0 },
		{ "notspf.test", DNS_T_TXT, "v=spf10 +all", 0 },
		{ "default.test", DNS_T_TXT, "v=spf1 ip4:10.0.0.1", 0 },
		{ "fail.test", DNS_T_TXT, "!TEMPFAIL", 0 },
		{ "helo.example.org", DNS_T_TXT, "v=spf1 ip4:192.0.2.200 -all", 0 },
		{ NULL, 0, NULL, 0 },
	};
	static const struct eval_case cases[] = {
		{ "ip4 in the network", "192.0.2.77", "u@ip.test", SPF_PASS, "ip4:192.0.2.0/24", 0 },
		{ "ip4 outside", "192.0.3.1", "u@ip.test", SPF_FAIL, "-all", 0 },
		{ "ip6 in the network", "2001:db8:0:5::1", "u@ip.test", SPF_PASS, "ip6:", 0 },
		{ "IPv4-mapped IPv6 is IPv4 (§5)", "::ffff:192.0.2.9", "u@ip.test", SPF_PASS, "ip4:", 0 },
		{ "a of the domain", "198.51.100.1", "u@a.test", SPF_PASS, "\"a\"", 1 },
		{ "a with /30", "203.0.113.6", "u@a.test", SPF_PASS, "a:other.test/30", 2 },
		{ "a outside /30", "203.0.113.9", "u@a.test", SPF_SOFTFAIL, "~all", 3 },
		{ "a with //64 for IPv6", "2001:db8:1:2::ffff", "u@a.test", SPF_PASS, "six.test//64", 3 },
		{ "mx host address (null MX skipped)", "192.0.2.25", "u@mx.test", SPF_PASS, "\"mx\"", 1 },
		{ "mx of another domain /24", "203.0.113.7", "u@mx.test", SPF_PASS, "mx:mx.other.test/24", 2 },
		{ "mx no match", "198.51.100.9", "u@mx.test", SPF_NEUTRAL, "?all", 2 },
		{ "ptr validated", "192.0.2.10", "u@ptr.test", SPF_PASS, "ptr", 1 },
		{ "ptr name not validated by A", "192.0.2.11", "u@ptr.test", SPF_FAIL, "-all", 1 },
		{ "exists with macros", "192.0.2.7", "u@exists.test", SPF_PASS, "exists:", 1 },
		{ "exists void", "192.0.2.8", "u@exists.test", SPF_FAIL, "-all", 1 },
		{ "no SPF record is none (§4.5)", "192.0.2.1", "u@none.test", SPF_NONE, "no SPF", 0 },
		{ "NXDOMAIN is none (§4.3)", "192.0.2.1", "u@nowhere.test", SPF_NONE, NULL, 0 },
		{ "v=spf10 is no record", "192.0.2.1", "u@notspf.test", SPF_NONE, NULL, 0 },
		{ "two records are permerror (§4.5)", "192.0.2.1", "u@two.test", SPF_PERMERROR, "2 SPF records", 0 },
		{ "strings are joined without a space (§3.3)", "192.0.2.1", "u@split.test", SPF_PERMERROR, "bad prefix length in \"192.0.2.0/24-all\"", 0 },
		{ "no match and no all is neutral (§4.7)", "192.0.2.1", "u@default.test", SPF_NEUTRAL, "default neutral", 0 },
		{ "DNS timeout is temperror (§4.4)", "192.0.2.1", "u@fail.test", SPF_TEMPERROR, "Timeout", 0 },
		{ "empty MAIL FROM checks HELO (§2.4)", "192.0.2.200", "", SPF_PASS, "helo.example.org", 0 },
		{ "single-label domain is none (§4.3)", "192.0.2.1", "u@localhost", SPF_NONE, NULL, 0 },
	};

	RUN(zone, cases);
}

static void test_include_redirect(void **state)
{
	static const struct fake_rr zone[] = {
		{ "inc.test", DNS_T_TXT, "v=spf1 include:pass.test include:fail.test include:soft.test ~all", 0 },
		{ "pass.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 -all", 0 },
		{ "fail.test", DNS_T_TXT, "v=spf1 -ip4:192.0.2.2 ip4:192.0.2.3", 0 },
		{ "soft.test", DNS_T_TXT, "v=spf1 ~all", 0 },
		{ "incperm.test", DNS_T_TXT, "v=spf1 include:broken.test -all", 0 },
		{ "broken.test", DNS_T_TXT, "v=spf1 ip4:300.1.1.1 -all", 0 },
		{ "incnone.test", DNS_T_TXT, "v=spf1 include:empty.test -all", 0 },
		{ "empty.test", DNS_T_A, "192.0.2.50", 0 },
		{ "inctemp.test", DNS_T_TXT, "v=spf1 include:slow.test -all", 0 },
		{ "slow.test", DNS_T_TXT, "!TEMPFAIL", 0 },
		{ "redir.test", DNS_T_TXT, "v=spf1 ip4:198.51.100.1 redirect=pass.test", 0 },
		{ "redirall.test", DNS_T_TXT, "v=spf1 -all redirect=pass.test", 0 },
		{ "redirnone.test", DNS_T_TXT, "v=spf1 redirect=empty.test", 0 },
		{ "redirmacro.test", DNS_T_TXT, "v=spf1 redirect=_spf.%{d}", 0 },
		{ "_spf.redirmacro.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.60 -all", 0 },
		{ "loop1.test", DNS_T_TXT, "v=spf1 include:loop2.test -all", 0 },
		{ "loop2.test", DNS_T_TXT, "v=spf1 redirect=loop1.test", 0 },
		{ "self.test", DNS_T_TXT, "v=spf1 include:self.test -all", 0 },
		{ "exp.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 -all exp=why.exp.test", 0 },
		{ "why.exp.test", DNS_T_TXT, "%{i} is not one of %{d}'s mail servers", 0 },
		{ NULL, 0, NULL, 0 },
	};
	static const struct eval_case cases[] = {
		{ "include pass matches", "192.0.2.1", "u@inc.test", SPF_PASS, "include:pass.test", 1 },
		{ "include fail does not match (§5.2)", "192.0.2.2", "u@inc.test", SPF_SOFTFAIL, "~all", 3 },
		{ "include neutral does not match", "192.0.2.9", "u@inc.test", SPF_SOFTFAIL, "~all", 3 },
		{ "include of a permerror is permerror", "192.0.2.9", "u@incperm.test", SPF_PERMERROR, "broken.test: syntax error", 1 },
		{ "include of no record is permerror", "192.0.2.9", "u@incnone.test", SPF_PERMERROR, "include:empty.test has no SPF record", 1 },
		{ "include of a temperror is temperror", "192.0.2.9", "u@inctemp.test", SPF_TEMPERROR, "slow.test", 1 },
		{ "redirect when nothing matched (§6.1)", "192.0.2.1", "u@redir.test", SPF_PASS, "ip4:192.0.2.1", 1 },
		{ "redirect result is the target's", "192.0.2.9", "u@redir.test", SPF_FAIL, "in the record of pass.test", 1 },
		{ "redirect ignored with all", "192.0.2.1", "u@redirall.test", SPF_FAIL, "-all", 0 },
		{ "redirect to no record is permerror", "192.0.2.1", "u@redirnone.test", SPF_PERMERROR, "redirect=empty.test", 1 },
		{ "redirect with a macro", "192.0.2.60", "u@redirmacro.test", SPF_PASS, "_spf.redirmacro.test", 1 },
		{ "include/redirect loop", "192.0.2.1", "u@loop1.test", SPF_PERMERROR, "loop", 2 },
		{ "include of itself", "192.0.2.1", "u@self.test", SPF_PERMERROR, "loop", 1 },
	};
	struct spf_request req = { .ip = "192.0.2.7", .sender = "u@exp.test", .helo = "h.test" };
	struct spf_outcome out;

	RUN(zone, cases);
	/* §6.2: the explanation of a fail, macro-expanded */
	fake_dns_init(&dns, zone);
	assert_int_equal(spf_check(&dns.src, &req, &out), SPF_FAIL);
	assert_string_equal(out.explanation, "192.0.2.7 is not one of exp.test's mail servers");
	fake_dns_free(&dns);
}

static void test_limits(void **state)
{
	static const struct fake_rr zone[] = {
		/* 10 DNS-querying terms are fine, the 11th is permerror (§4.6.4) */
		{ "ten.test", DNS_T_TXT, "v=spf1 include:i1.test include:i2.test include:i3.test "
		  "include:i4.test include:i5.test a:h1.test a:h2.test mx:m1.test exists:e1.test "
		  "include:i6.test ip4:192.0.2.1 -all", 0 },
		{ "eleven.test", DNS_T_TXT, "v=spf1 include:ten.test", 0 },
		{ "i1.test", DNS_T_TXT, "v=spf1 ?all", 0 }, { "i2.test", DNS_T_TXT, "v=spf1 ?all", 0 },
		{ "i3.test", DNS_T_TXT, "v=spf1 ?all", 0 }, { "i4.test", DNS_T_TXT, "v=spf1 ?all", 0 },
		{ "i5.test", DNS_T_TXT, "v=spf1 ?all", 0 }, { "i6.test", DNS_T_TXT, "v=spf1 ?all", 0 },
		{ "h1.test", DNS_T_A, "198.51.100.1", 0 }, { "h2.test", DNS_T_A, "198.51.100.2", 0 },
		{ "m1.test", DNS_T_MX, "h1.test", 0 }, /* e1.test: void */
		/* void lookups: two allowed, the third is permerror */
		{ "void2.test", DNS_T_TXT, "v=spf1 a:nx1.test a:nx2.test ip4:192.0.2.1 -all", 0 },
		{ "void3.test", DNS_T_TXT, "v=spf1 a:nx1.test mx:nodata.test exists:nx3.test ip4:192.0.2.1 -all", 0 },
		{ "nodata.test", DNS_T_TXT, "something", 0 },
		/* more than 10 MX names */
		{ "bigmx.test", DNS_T_TXT, "v=spf1 mx -all", 0 },
		{ "bigmx.test", DNS_T_MX, "m1.bigmx.test", 1 }, { "bigmx.test", DNS_T_MX, "m2.bigmx.test", 2 },
		{ "bigmx.test", DNS_T_MX, "m3.bigmx.test", 3 }, { "bigmx.test", DNS_T_MX, "m4.bigmx.test", 4 },
		{ "bigmx.test", DNS_T_MX, "m5.bigmx.test", 5 }, { "bigmx.test", DNS_T_MX, "m6.bigmx.test", 6 },
		{ "bigmx.test", DNS_T_MX, "m7.bigmx.test", 7 }, { "bigmx.test", DNS_T_MX, "m8.bigmx.test", 8 },
		{ "bigmx.test", DNS_T_MX, "m9.bigmx.test", 9 }, { "bigmx.test", DNS_T_MX, "m10.bigmx.test", 10 },
		{ "bigmx.test", DNS_T_MX, "m11.bigmx.test", 11 },
		/* a temporary failure in an a term */
		{ "atemp.test", DNS_T_TXT, "v=spf1 a:slow.test -all", 0 },
		{ "slow.test", DNS_T_A, "!TEMPFAIL", 0 },
		{ NULL, 0, NULL, 0 },
	};
	static const struct eval_case cases[] = {
		{ "10 lookups", "192.0.2.1", "u@ten.test", SPF_PASS, NULL, 10 },
		{ "11 lookups", "192.0.2.1", "u@eleven.test", SPF_PERMERROR, "more than 10 DNS-querying terms", 11 },
		{ "2 void lookups", "192.0.2.1", "u@void2.test", SPF_PASS, NULL, 2 },
		{ "3 void lookups", "192.0.2.1", "u@void3.test", SPF_PERMERROR, "more than 2 void lookups", 3 },
		{ "11 MX names", "192.0.2.1", "u@bigmx.test", SPF_PERMERROR, "11 MX records", 1 },
		{ "a lookup timeout", "192.0.2.1", "u@atemp.test", SPF_TEMPERROR, "slow.test", 1 },
	};
	struct spf_outcome out;

	RUN(zone, cases);
	/* a walk costs what a sender no term matches costs, and lists the includes */
	fake_dns_init(&dns, zone);
	assert_int_equal(spf_walk(&dns.src, "ten.test", &out), SPF_FAIL);
	assert_int_equal(out.lookups, 10);
	assert_int_equal(out.n_includes, 6);
	assert_string_equal(out.includes[5], "i6.test");
	assert_int_equal(spf_walk(&dns.src, "eleven.test", &out), SPF_PERMERROR);
	fake_dns_free(&dns);
}

static void test_fetch(void **state)
{
	static const struct fake_rr zone[] = {
		{ "one.test", DNS_T_TXT, "v=spf1 include:_spf.\x01" "esp.test -all", 0 },
		{ "one.test", DNS_T_TXT, "other=1", 0 },
		{ NULL, 0, NULL, 0 },
	};
	const char *text;
	char why[300];

	fake_dns_init(&dns, zone);
	assert_int_equal(spf_fetch(&dns.src, "one.test", &text, why, sizeof(why)), SPF_PASS);
	assert_string_equal(text, "v=spf1 include:_spf.esp.test -all");
	assert_int_equal(spf_fetch(&dns.src, "nx.test", &text, why, sizeof(why)), SPF_NONE);
	assert_non_null(strstr(why, "NXDOMAIN"));
	fake_dns_free(&dns);
}

/* ------------------------------------------------------------ the doctor's warnings */

static void test_doctor_lint(void **state)
{
	static char big[600];
	const struct fake_rr zone[] = {
		{ "_spf.esp.test", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 -all", 0 },
		{ "plus.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test +all", 0 },
		{ "query.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test ?all", 0 },
		{ "after.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test -all ip4:192.0.2.1", 0 },
		{ "noall.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test", 0 },
		{ "ptr.test", DNS_T_TXT, "v=spf1 ptr include:_spf.esp.test -all", 0 },
		{ "big.test", DNS_T_TXT, big, 0 },
		{ "old.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test -all", 0 },
		{ "old.test", DNS_T_SPF, "v=spf1 -all", 0 },
		{ "good.test", DNS_T_TXT, "v=spf1 include:_spf.esp.test -all", 0 },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { const char *domain; enum dd_level want; const char *part; } cases[] = {
		{ "good.test", DD_OK, "include:_spf.esp.test is there" },
		{ "plus.test", DD_WARN, "lets every server on the internet send as you" },
		{ "query.test", DD_WARN, "\"?all\" says nothing" },
		{ "after.test", DD_WARN, "\"ip4:192.0.2.1\" comes after \"all\"" },
		{ "noall.test", DD_WARN, "has no \"all\"" },
		{ "ptr.test", DD_WARN, "ptr is slow" },
		{ "big.test", DD_WARN, "over 450" },
		{ "old.test", DD_WARN, "retired SPF type (99)" },
	};
	struct domain_config cfg = { .spf_include = "_spf.esp.test" };
	size_t o = (size_t)snprintf(big, sizeof(big), "v=spf1 include:_spf.esp.test");

	for (int i = 1; o < 460; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, " ip4:198.51.100.%d", i);
	snprintf(big + o, sizeof(big) - o, " -all");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dd_check c = { .name = "spf" };
		fake_dns_init(&dns, zone);
		doctor_spf(&dns.src, &cfg, cases[i].domain, &c);
		expect(&c, cases[i].want, cases[i].part);
		fake_dns_free(&dns);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_include_redirect),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_doctor_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
