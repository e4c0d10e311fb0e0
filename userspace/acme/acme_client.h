/* SPDX-License-Identifier: MIT */
/*
 * ACME v2 client (RFC 8555) over libcurl: directory, nonces, account (ES256, optional external
 * account binding), orders with HTTP-01 authorizations, polling that honours Retry-After,
 * finalize with a CSR for a fresh P-256 key, chain download. badNonce is resent with the
 * fresh nonce the error carries, as often as the CA asks within poll_timeout; rate limits come back as ACME_E_RATELIMIT with the CA's
 * Retry-After; every problem document becomes a reason (acme_problem.h). Profiles and ARI
 * (RFC 9773 renewalInfo, "replaces") are used when the directory offers them.
 *
 * The client answers no challenge itself: the appliances answer HTTP-01 statelessly from the
 * account thumbprint in their config, or the caller pushes explicit key authorizations
 * through the challenge hook.
 */
#ifndef ET_ACME_CLIENT_H
#define ET_ACME_CLIENT_H

#include "acme/acme_problem.h"
#include "acme/ari.h"
#include "acme/jws.h"

#include <stdbool.h>
#include <time.h>

struct acme_client_opts {
	const char *directory_url;
	const char *ca_file;      /* trust anchors for the CA's own TLS; NULL: system store */
	EVP_PKEY *account_key;    /* borrowed, P-256 */
	const char *contact;      /* "mailto:ops@example.com", NULL: none */
	const char *eab_kid;      /* external account binding, NULL: none */
	const char *eab_hmac;     /* base64url MAC key */
	const char *profile;      /* requested profile, NULL: the CA's default */
	int http_timeout;         /* seconds per HTTP request (default 30) */
	int poll_timeout;         /* seconds per wait on an authorization or order (default 120) */
	int max_retries;          /* 5xx retries per request (default 5) */
};

enum acme_err_kind {
	ACME_E_NONE,
	ACME_E_PROBLEM,   /* the CA refused: problem document in reason */
	ACME_E_RATELIMIT, /* the CA rate-limited us; retry_after set */
	ACME_E_NETWORK,   /* the CA could not be reached */
	ACME_E_TIMEOUT,   /* an order or authorization did not settle in time */
	ACME_E_INVALID,   /* validation failed (authorization or order invalid) */
	ACME_E_LOCAL,     /* our side: key, CSR, memory, the appliance, the cert dir */
	ACME_E_PROTOCOL,  /* the CA answered something unusable (no JSON, no nonce, no URL) */
};

struct acme_error {
	enum acme_err_kind kind;
	enum acme_prob_class prob; /* with ACME_E_PROBLEM and ACME_E_RATELIMIT */
	char reason[1024];
	time_t retry_after;  /* absolute; 0 when the CA gave none */
	bool order_created;  /* an order exists at the CA (counts against CA limits) */
};

struct acme_client;

struct acme_client *acme_client_new(const struct acme_client_opts *o, struct acme_error *e);
void acme_client_free(struct acme_client *c);

/* Registers (or finds) the account; idempotent. 0 or -1 with e. */
int acme_client_account(struct acme_client *c, struct acme_error *e);
const char *acme_client_account_url(const struct acme_client *c);
const char *acme_client_thumbprint(const struct acme_client *c);
bool acme_client_has_ari(const struct acme_client *c);
/* Space-separated profile names the directory offers ("" when none). */
const char *acme_client_profiles(const struct acme_client *c);

/* The CA's renewal window for a certificate identifier (RFC 9773). */
int acme_client_renewal_info(struct acme_client *c, const char *cert_id, struct ari_window *w,
			     struct acme_error *e);

/* Called when an order exists (stage "order") and as it progresses. */
typedef void (*acme_progress_fn)(void *arg, const char *stage, const char *order_url);
/* Pushes (add) or withdraws (!add) an explicit key authorization; 0 or -1 with a reason. */
typedef int (*acme_challenge_fn)(void *arg, const char *domain, const char *token,
				 const char *keyauth, bool add, char *err, size_t errlen);

struct acme_order_req {
	const char *domain;
	const char *replaces;         /* ARI identifier of the cert being renewed, or NULL */
	acme_progress_fn progress;    /* may be NULL */
	acme_challenge_fn challenge;  /* may be NULL (stateless answers on the appliances) */
	void *arg;
};

struct acme_cert {
	char *chain_pem;  /* leaf first */
	char *key_pem;    /* PKCS#8 of the fresh P-256 key */
	char order_url[512];
	bool replaced;    /* "replaces" was sent */
};

int acme_client_issue(struct acme_client *c, const struct acme_order_req *req,
		      struct acme_cert *out, struct acme_error *e);
void acme_cert_free(struct acme_cert *cert);

/* Retry-After (delta seconds or HTTP-date) as an absolute time; 0 when absent or bad. */
time_t acme_parse_retry_after(const char *value, time_t now);

#endif
