// SPDX-License-Identifier: MIT
/* Which failures spend a domain's budget, the CA-wide backoff, and its record on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/failure.h"

#define NOW 1750000000L

static const struct failure_policy pol = { .retry_base = 300, .retry_max = 86400 };

static struct acme_error err_of(enum acme_err_kind kind, enum acme_prob_class prob)
{
	struct acme_error e = { .kind = kind, .prob = prob };

	snprintf(e.reason, sizeof(e.reason), "kind %d", kind);
	return e;
}

/* The error a problem document from the CA becomes (as the client makes it). */
static struct acme_error err_of_doc(const char *type, int http)
{
	char body[256];
	struct acme_problem p;

	snprintf(body, sizeof(body), "{\"type\":\"urn:ietf:params:acme:error:%s\",\"status\":%d}",
		 type, http);
	acme_problem_parse(body, strlen(body), http, &p);
	return err_of(p.cls == PROB_RATELIMIT ? ACME_E_RATELIMIT : ACME_E_PROBLEM, p.cls);
}

static void test_blame_by_kind(void **state)
{
	static const struct {
		enum acme_err_kind kind;
		enum acme_prob_class prob;
		enum acme_blame want;
	} cases[] = {
		{ ACME_E_INVALID, PROB_FATAL, BLAME_DOMAIN },
		{ ACME_E_PROBLEM, PROB_FATAL, BLAME_DOMAIN },
		{ ACME_E_RATELIMIT, PROB_RATELIMIT, BLAME_RATELIMIT },
		{ ACME_E_PROBLEM, PROB_BADNONCE, BLAME_CA },
		{ ACME_E_PROBLEM, PROB_RETRY, BLAME_CA },
		{ ACME_E_PROBLEM, PROB_ACCOUNT, BLAME_CA },
		{ ACME_E_PROBLEM, PROB_CLIENT, BLAME_CA },
		{ ACME_E_NETWORK, PROB_FATAL, BLAME_CA },
		{ ACME_E_TIMEOUT, PROB_FATAL, BLAME_CA },
		{ ACME_E_PROTOCOL, PROB_FATAL, BLAME_CA },
		{ ACME_E_LOCAL, PROB_FATAL, BLAME_LOCAL },
		{ ACME_E_NONE, PROB_FATAL, BLAME_LOCAL },
	};

	assert_int_equal(acme_blame_of(NULL), BLAME_LOCAL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct acme_error e = err_of(cases[i].kind, cases[i].prob);
		if (acme_blame_of(&e) != cases[i].want)
			fail_msg("case %zu: blame %s, want %s", i, acme_blame_name(acme_blame_of(&e)),
				 acme_blame_name(cases[i].want));
	}
}

static void test_blame_by_problem_document(void **state)
{
	static const struct {
		const char *type;
		int http;
		enum acme_blame want;
	} cases[] = {
		/* the domain's own: these spend its budget */
		{ "caa", 403, BLAME_DOMAIN },
		{ "rejectedIdentifier", 400, BLAME_DOMAIN },
		{ "unauthorized", 403, BLAME_DOMAIN },
		{ "dns", 400, BLAME_DOMAIN },
		{ "connection", 400, BLAME_DOMAIN },
		{ "incorrectResponse", 400, BLAME_DOMAIN },
		{ "somethingNew", 400, BLAME_DOMAIN }, /* unknown 4xx: the safe side */
		/* the CA's, transient or every domain alike: one CA-wide backoff */
		{ "badNonce", 400, BLAME_CA },
		{ "serverInternal", 500, BLAME_CA },
		{ "somethingNew", 503, BLAME_CA },
		{ "userActionRequired", 403, BLAME_CA },
		{ "invalidProfile", 400, BLAME_CA },
		{ "badSignatureAlgorithm", 400, BLAME_CA },
		/* the CA's limit: wait, do not count */
		{ "rateLimited", 429, BLAME_RATELIMIT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct acme_error e = err_of_doc(cases[i].type, cases[i].http);
		if (acme_blame_of(&e) != cases[i].want)
			fail_msg("%s (HTTP %d): blame %s, want %s", cases[i].type, cases[i].http,
				 acme_blame_name(acme_blame_of(&e)), acme_blame_name(cases[i].want));
	}
}

static void test_backoff_delay(void **state)
{
	struct failure_policy zero = { .retry_base = 0, .retry_max = 10 };

	assert_int_equal(backoff_delay(&pol, 1), 300);
	assert_int_equal(backoff_delay(&pol, 2), 600);
	assert_int_equal(backoff_delay(&pol, 3), 1200);
	assert_int_equal(backoff_delay(&pol, 9), 76800);
	assert_int_equal(backoff_delay(&pol, 10), 86400);
	assert_int_equal(backoff_delay(&pol, 4000000000u), 86400);
	assert_int_equal(backoff_delay(&zero, 1), 1);
}

static void test_domain_failure_spends_budget(void **state)
{
	struct cert_status st = { .failures = 1 };
	struct ca_backoff ca = { .failures = 2, .retry_after = NOW + 50 };
	struct acme_error e = err_of(ACME_E_INVALID, PROB_FATAL);
	bool ca_failed = true;

	assert_int_equal(failure_book(&st, &ca, &e, &pol, NOW, &ca_failed), BLAME_DOMAIN);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.retry_after, NOW + 600);
	/* the CA judged the name, so the CA works: its backoff ends */
	assert_false(ca_failed);
	assert_int_equal(ca.failures, 0);
	assert_false(ca_backoff_active(&ca, NOW));
}

static void test_ca_failure_spends_no_budget(void **state)
{
	struct cert_status st = { .failures = 1 };
	struct ca_backoff ca = { 0 };
	struct acme_error e = err_of(ACME_E_NETWORK, PROB_FATAL);
	bool ca_failed = false;

	assert_int_equal(failure_book(&st, &ca, &e, &pol, NOW, &ca_failed), BLAME_CA);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.retry_after, 0);
	assert_int_equal(ca.failures, 1);
	assert_int_equal(ca.retry_after, NOW + 300);
	assert_string_equal(ca.reason, e.reason);
	assert_true(ca_backoff_active(&ca, NOW + 299));
	assert_false(ca_backoff_active(&ca, NOW + 300));
}

static void test_ca_failure_counts_once_per_run(void **state)
{
	struct cert_status a = { 0 }, b = { 0 };
	struct ca_backoff ca = { 0 };
	struct acme_error e = err_of(ACME_E_TIMEOUT, PROB_FATAL);
	bool ca_failed = false;

	/* one run meets the dead CA three times, the last after its backoff ran out (a slow
	 * run): one failure, and the backoff re-armed at the same length */
	failure_book(&a, &ca, &e, &pol, NOW, &ca_failed);
	assert_true(ca_failed);
	failure_book(&b, &ca, &e, &pol, NOW + 10, &ca_failed);
	assert_int_equal(ca.failures, 1);
	assert_int_equal(ca.retry_after, NOW + 300);
	assert_int_equal(ca.updated, NOW + 10);
	failure_book(&b, &ca, &e, &pol, NOW + 400, &ca_failed);
	assert_int_equal(ca.failures, 1);
	assert_int_equal(ca.retry_after, NOW + 700);
	/* the next runs, each after the backoff: the backoff doubles, no domain counts */
	for (unsigned run = 2; run <= 4; run++) {
		time_t now = ca.retry_after;
		ca_failed = false;
		failure_book(&a, &ca, &e, &pol, now, &ca_failed);
		assert_int_equal(ca.failures, run);
		assert_int_equal(ca.retry_after, now + backoff_delay(&pol, run));
	}
	/* a run while the backoff holds (the operator's explicit issue) counts nothing */
	ca_failed = false;
	failure_book(&a, &ca, &e, &pol, ca.retry_after - 1, &ca_failed);
	assert_int_equal(ca.failures, 4);
	assert_int_equal(a.failures + b.failures, 0);
	assert_int_equal(a.retry_after + b.retry_after, 0);
}

static void test_ca_retry_after_honoured(void **state)
{
	struct failure_policy off = pol;
	struct cert_status st = { 0 };
	struct ca_backoff ca = { 0 };
	struct acme_error e = err_of(ACME_E_PROBLEM, PROB_RETRY);
	bool ca_failed = false;

	off.clock_offset = 1000;
	e.retry_after = NOW + 7200; /* the CA's Retry-After, a wall-clock time */
	failure_book(&st, &ca, &e, &off, NOW + 1000, &ca_failed);
	assert_int_equal(ca.retry_after, NOW + 7200 + 1000);
	/* while active, a later Retry-After extends the wait without counting */
	e.retry_after = NOW + 9000;
	failure_book(&st, &ca, &e, &off, NOW + 1100, &ca_failed);
	assert_int_equal(ca.failures, 1);
	assert_int_equal(ca.retry_after, NOW + 9000 + 1000);
	/* and an earlier one does not shorten it */
	e.retry_after = NOW + 10;
	failure_book(&st, &ca, &e, &off, NOW + 1200, &ca_failed);
	assert_int_equal(ca.retry_after, NOW + 9000 + 1000);
}

static void test_rate_limit_waits_without_counting(void **state)
{
	struct cert_status st = { .failures = 1 };
	struct ca_backoff ca = { .failures = 1, .retry_after = NOW + 5 };
	struct acme_error e = err_of(ACME_E_RATELIMIT, PROB_RATELIMIT);
	bool ca_failed = false;

	e.retry_after = NOW + 3600;
	assert_int_equal(failure_book(&st, &ca, &e, &pol, NOW, &ca_failed), BLAME_RATELIMIT);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.retry_after, NOW + 3600);
	assert_int_equal(ca.failures, 0);
}

static void test_local_failure_changes_nothing(void **state)
{
	struct cert_status st = { .failures = 1, .retry_after = NOW - 5 };
	struct ca_backoff ca = { .failures = 2, .retry_after = NOW + 5 };
	struct acme_error e = err_of(ACME_E_LOCAL, PROB_FATAL);
	bool ca_failed = false;

	assert_int_equal(failure_book(&st, &ca, NULL, &pol, NOW, &ca_failed), BLAME_LOCAL);
	assert_int_equal(failure_book(&st, &ca, &e, &pol, NOW, &ca_failed), BLAME_LOCAL);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.retry_after, NOW - 5);
	assert_int_equal(ca.failures, 2);
	assert_int_equal(ca.retry_after, NOW + 5);
}

static void test_ca_record_on_disk(void **state)
{
	char dir[] = "/tmp/acme-failure-XXXXXX", path[256], err[256];
	struct ca_backoff ca = { .failures = 3, .retry_after = NOW + 60, .updated = NOW }, back;
	struct cert_status st = { .domain = "click.example.com" }, *list;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(ca_backoff_load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.failures, 0);
	snprintf(ca.reason, sizeof(ca.reason), "CA unreachable");
	assert_int_equal(ca_backoff_save(dir, &ca, err, sizeof(err)), 0);
	assert_int_equal(ca_backoff_load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.failures, 3);
	assert_int_equal(back.retry_after, NOW + 60);
	assert_int_equal(back.updated, NOW);
	assert_string_equal(back.reason, "CA unreachable");
	/* the CA-wide record is not a domain's */
	assert_int_equal(cert_status_save(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(cert_status_list(dir, &list, NULL, NULL), 1);
	assert_string_equal(list[0].domain, "click.example.com");
	free(list);
	snprintf(path, sizeof(path), "%s/_ca.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/click.example.com.json", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blame_by_kind),
		cmocka_unit_test(test_blame_by_problem_document),
		cmocka_unit_test(test_backoff_delay),
		cmocka_unit_test(test_domain_failure_spends_budget),
		cmocka_unit_test(test_ca_failure_spends_no_budget),
		cmocka_unit_test(test_ca_failure_counts_once_per_run),
		cmocka_unit_test(test_ca_retry_after_honoured),
		cmocka_unit_test(test_rate_limit_waits_without_counting),
		cmocka_unit_test(test_local_failure_changes_nothing),
		cmocka_unit_test(test_ca_record_on_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
