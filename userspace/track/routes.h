/* SPDX-License-Identifier: MIT */
/*
 * The routes of a tracking domain, independent of how bytes move:
 *   /c/<token>                          302 to the signed destination, click event
 *   /o/<token>                          200 1x1 GIF, no-store, open event
 *   /u/<token>                          GET confirmation page; POST one-click (RFC 8058) event
 *   /.well-known/acme-challenge/<token> HTTP-01 key authorization
 *   /healthz                            200 for load balancers
 * The server hands a parsed request in and serializes the answer that comes out.
 */
#ifndef ET_TRACK_ROUTES_H
#define ET_TRACK_ROUTES_H

#include "http/http_parser.h"
#include "track/event.h"
#include "track/machine.h"
#include "track/track_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct challenge_store;
struct token_verifier;

struct route_request {
	const struct http_request *req;
	const char *body;
	size_t body_len;
	bool tls;
	int family;              /* 4 or 6; 0 when the peer address is unknown */
	uint8_t addr[16];
	uint64_t now_ns;         /* CLOCK_REALTIME */
	const struct track_state *st;
	const struct challenge_store *challenges;
	struct open_memory *opens; /* this worker's */
	struct token_verifier *verifier; /* this worker's for st->keys; NULL: token_decode */
};

#define ROUTE_SCRATCH 2560

struct route_response {
	int status;
	const char *content_type;
	const char *body;
	size_t body_len;
	const char *location;    /* Location header value, or NULL */
	size_t location_len;
	const char *allow;       /* Allow header for 405 */
	const char *hsts;        /* full header line incl. CRLF, or NULL */
	size_t hsts_len;
	bool no_store;
	bool close;              /* close the connection after this response */
	bool has_event;
	struct event ev;
	char scratch[ROUTE_SCRATCH]; /* token payload, key authorization, redirect URL */
};

/* Counters a worker keeps per route outcome (indexes). */
enum route_outcome {
	ROUTE_CLICK, ROUTE_OPEN, ROUTE_UNSUB_PAGE, ROUTE_UNSUB, ROUTE_ACME, ROUTE_HEALTH,
	ROUTE_BAD_TOKEN, ROUTE_UNKNOWN_HOST, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD, ROUTE_REDIRECT,
	ROUTE_BAD_REQUEST, ROUTE__COUNT
};

/* Fills rs (always: every request gets an answer); returns the outcome for counters. */
enum route_outcome route_handle(const struct route_request *rq, struct route_response *rs);

const char *route_outcome_name(enum route_outcome o);

#endif
