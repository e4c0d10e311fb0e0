/* SPDX-License-Identifier: MIT */
/*
 * ACME problem documents (RFC 8555 §6.7, RFC 7807) turned into one clear sentence and a class
 * that tells the client what to do next.
 */
#ifndef ET_ACME_PROBLEM_H
#define ET_ACME_PROBLEM_H

#include <stddef.h>

enum acme_prob_class {
	PROB_FATAL,      /* fix something about the name (DNS, CAA, policy) before trying again */
	PROB_CLIENT,     /* the CA refuses how we ask (key, algorithm, profile): every name alike */
	PROB_RETRY,      /* the CA had a transient trouble: retry later */
	PROB_BADNONCE,   /* resend with the fresh nonce of this response */
	PROB_RATELIMIT,  /* back off until Retry-After and report */
	PROB_ACCOUNT,    /* the account is unknown or needs operator action */
};

struct acme_problem {
	char type[128];     /* short name: "badNonce"; the full URN when not in the ACME space */
	char detail[512];
	int status;         /* HTTP status from the document, else from the response */
	enum acme_prob_class cls;
	char reason[1024];  /* what to show the operator */
};

/*
 * Parses a problem document. A body that is not a problem document still yields a reason
 * naming the HTTP status. Always fills p.
 */
void acme_problem_parse(const char *body, size_t len, int http_status, struct acme_problem *p);

/* The reason for a problem already decoded as JSON (e.g. a challenge's "error"). */
struct json_t;
void acme_problem_from_json(const struct json_t *doc, int http_status, struct acme_problem *p);

#endif
