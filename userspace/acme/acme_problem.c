// SPDX-License-Identifier: MIT
#include "acme/acme_problem.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define ACME_URN "urn:ietf:params:acme:error:"

struct prob_kind {
	const char *type;
	enum acme_prob_class cls;
	const char *what;
};

/* RFC 8555 §6.7 plus the registrations that followed (RFC 9773 alreadyReplaced, profiles). */
static const struct prob_kind kinds[] = {
	{ "accountDoesNotExist", PROB_ACCOUNT, "the ACME account does not exist at the CA" },
	{ "alreadyReplaced", PROB_FATAL, "the certificate named in 'replaces' was already replaced" },
	{ "alreadyRevoked", PROB_FATAL, "the certificate was already revoked" },
	{ "badCSR", PROB_FATAL, "the CA rejected the CSR" },
	{ "badNonce", PROB_BADNONCE, "the CA rejected the anti-replay nonce" },
	{ "badPublicKey", PROB_CLIENT, "the CA does not accept this public key" },
	{ "badRevocationReason", PROB_FATAL, "the revocation reason is not allowed" },
	{ "badSignatureAlgorithm", PROB_CLIENT, "the CA does not accept the signature algorithm" },
	{ "caa", PROB_FATAL, "CAA records forbid this CA from issuing" },
	{ "compound", PROB_FATAL, "several problems (see subproblems)" },
	{ "connection", PROB_FATAL, "the CA could not connect to the domain for validation" },
	{ "dns", PROB_FATAL, "the CA's DNS lookup of the domain failed" },
	{ "externalAccountRequired", PROB_ACCOUNT, "the CA requires external account binding" },
	{ "incorrectResponse", PROB_FATAL, "the challenge answer the CA received was wrong" },
	{ "invalidContact", PROB_ACCOUNT, "the CA rejected the contact address" },
	{ "invalidProfile", PROB_CLIENT, "the CA does not offer the requested profile" },
	{ "malformed", PROB_FATAL, "the CA found the request malformed" },
	{ "orderNotReady", PROB_RETRY, "the order was not ready to finalize" },
	{ "rateLimited", PROB_RATELIMIT, "rate limited by the CA" },
	{ "rejectedIdentifier", PROB_FATAL, "the CA will not issue for this name" },
	{ "serverInternal", PROB_RETRY, "the CA had an internal error" },
	{ "tls", PROB_FATAL, "TLS to the domain failed during validation" },
	{ "unauthorized", PROB_FATAL, "the CA found the client not authorized for this domain" },
	{ "unsupportedContact", PROB_ACCOUNT, "the CA does not support this contact scheme" },
	{ "unsupportedIdentifier", PROB_FATAL, "the CA does not support this identifier type" },
	{ "userActionRequired", PROB_ACCOUNT, "the CA requires the operator to act (e.g. agree to new terms)" },
};

static const struct prob_kind *find_kind(const char *type)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].type, type))
			return &kinds[i];
	return NULL;
}

/* The first subproblem, e.g. "click.example.com: Connection refused". */
static void subproblem(const json_t *doc, char *out, size_t cap)
{
	const json_t *sub = json_array_get(json_object_get(doc, "subproblems"), 0);
	const char *detail = json_string_value(json_object_get(sub, "detail"));
	const char *ident = json_string_value(
		json_object_get(json_object_get(sub, "identifier"), "value"));

	out[0] = '\0';
	if (detail)
		snprintf(out, cap, "; %s%s%s", ident ? ident : "", ident ? ": " : "", detail);
}

static void class_from_status(struct acme_problem *p)
{
	if (p->status == 429)
		p->cls = PROB_RATELIMIT;
	else if (p->status >= 500 || p->status == 0)
		p->cls = PROB_RETRY;
	else
		p->cls = PROB_FATAL;
}

void acme_problem_from_json(const json_t *doc, int http_status, struct acme_problem *p)
{
	const char *type = json_string_value(json_object_get(doc, "type"));
	const char *detail = json_string_value(json_object_get(doc, "detail"));
	json_int_t st = json_integer_value(json_object_get(doc, "status"));
	const struct prob_kind *k = NULL;
	char sub[600];

	memset(p, 0, sizeof(*p));
	p->status = st ? (int)st : http_status;
	if (type && !strncmp(type, ACME_URN, strlen(ACME_URN)))
		type += strlen(ACME_URN);
	snprintf(p->type, sizeof(p->type), "%s", type ? type : "");
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
	k = type ? find_kind(type) : NULL;
	if (k)
		p->cls = k->cls;
	else
		class_from_status(p);
	/* a 429 is a rate limit whatever the type says */
	if (p->status == 429)
		p->cls = PROB_RATELIMIT;
	subproblem(doc, sub, sizeof(sub));
	if (k)
		snprintf(p->reason, sizeof(p->reason), "%s%s%.400s%.300s", k->what,
			 p->detail[0] ? ": " : "", p->detail, sub);
	else if (type)
		snprintf(p->reason, sizeof(p->reason), "CA error %s (HTTP %d)%s%.400s%.300s", type,
			 p->status, p->detail[0] ? ": " : "", p->detail, sub);
	else
		snprintf(p->reason, sizeof(p->reason), "CA answered HTTP %d%s%s", p->status,
			 p->detail[0] ? ": " : "", p->detail);
}

void acme_problem_parse(const char *body, size_t len, int http_status, struct acme_problem *p)
{
	json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;

	if (json_is_object(doc)) {
		acme_problem_from_json(doc, http_status, p);
	} else {
		memset(p, 0, sizeof(*p));
		p->status = http_status;
		class_from_status(p);
		snprintf(p->reason, sizeof(p->reason),
			 "CA answered HTTP %d without a problem document", http_status);
	}
	json_decref(doc);
}
