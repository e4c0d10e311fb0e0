// SPDX-License-Identifier: MIT
/* Every ACME problem document maps to a class and a clear reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "acme/acme_problem.h"

struct pcase {
	const char *body;
	int http;
	enum acme_prob_class cls;
	const char *type;
	const char *reason_has[2];
};

static const struct pcase cases[] = {
	{ "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"JWS has an invalid anti-replay nonce\",\"status\":400}",
	  400, PROB_BADNONCE, "badNonce", { "nonce", "invalid anti-replay" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"too many certificates (5) already issued for this exact set of domains\"}",
	  429, PROB_RATELIMIT, "rateLimited", { "rate limited", "too many certificates" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA record for example.com prevents issuance\",\"status\":403}",
	  403, PROB_FATAL, "caa", { "CAA records forbid", "prevents issuance" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"oops\",\"status\":500}",
	  500, PROB_RETRY, "serverInternal", { "internal error", "oops" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":\"Connection refused\"}",
	  400, PROB_FATAL, "connection", { "could not connect", "Connection refused" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"The key authorization file from the server did not match this challenge\"}",
	  403, PROB_FATAL, "unauthorized", { "not authorized", "did not match" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\",\"detail\":\"no account\"}",
	  400, PROB_ACCOUNT, "accountDoesNotExist", { "account does not exist", NULL } },
	{ "{\"type\":\"urn:ietf:params:acme:error:externalAccountRequired\"}", 400, PROB_ACCOUNT,
	  "externalAccountRequired", { "external account binding", NULL } },
	{ "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"policy forbids\"}",
	  400, PROB_FATAL, "rejectedIdentifier", { "will not issue", "policy forbids" } },
	{ "{\"type\":\"urn:ietf:params:acme:error:invalidProfile\",\"detail\":\"unknown profile\"}",
	  400, PROB_CLIENT, "invalidProfile", { "profile", NULL } },
	{ "{\"type\":\"urn:ietf:params:acme:error:alreadyReplaced\"}", 409, PROB_FATAL,
	  "alreadyReplaced", { "replaces", NULL } },
	/* RFC 8555 §6.7.1 example: subproblems name the identifier */
	{ "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"Some of the identifiers requested were rejected\","
	  "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"Invalid underscore in DNS name \\\"_example.org\\\"\","
	  "\"identifier\":{\"type\":\"dns\",\"value\":\"_example.org\"}}]}",
	  400, PROB_FATAL, "malformed", { "malformed", "_example.org: Invalid underscore" } },
	/* a 429 without the rateLimited type is still a rate limit */
	{ "{\"type\":\"about:blank\",\"detail\":\"slow down\"}", 429, PROB_RATELIMIT, "about:blank",
	  { "about:blank", "slow down" } },
	/* unknown ACME type: named, status kept */
	{ "{\"type\":\"urn:ietf:params:acme:error:somethingNew\",\"detail\":\"x\"}", 400, PROB_FATAL,
	  "somethingNew", { "somethingNew", "HTTP 400" } },
	/* not a problem document at all */
	{ "<html>bad gateway</html>", 502, PROB_RETRY, "", { "HTTP 502", "without a problem" } },
	{ "", 503, PROB_RETRY, "", { "HTTP 503", NULL } },
};

static void test_problem_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct acme_problem p;

		acme_problem_parse(c->body, strlen(c->body), c->http, &p);
		if (p.cls != c->cls || strcmp(p.type, c->type))
			fail_msg("case %zu: class %d type \"%s\" (want %d \"%s\")", i, p.cls, p.type,
				 c->cls, c->type);
		for (int k = 0; k < 2; k++)
			if (c->reason_has[k] && !strstr(p.reason, c->reason_has[k]))
				fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, p.reason,
					 c->reason_has[k]);
	}
}

static void test_status_from_document(void **state)
{
	struct acme_problem p;
	const char *b = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"status\":429}";

	/* the document's status wins over the transport's */
	acme_problem_parse(b, strlen(b), 400, &p);
	assert_int_equal(p.status, 429);
	assert_int_equal(p.cls, PROB_RATELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_table),
		cmocka_unit_test(test_status_from_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
