/* SPDX-License-Identifier: MIT */
/*
 * The operator-side workflow around the ACME client: prechecks, the per-domain status
 * record, issuance, installation into the appliance's cert directory with a hot reload over
 * the control socket, renewal scheduling (ARI or one third of the lifetime left), backoff, the
 * per-domain failure budget and the CA-wide backoff (failure.h), and the certificates held
 * when the cert dir does not take them (install.h).
 */
#ifndef ET_ACME_RUN_H
#define ET_ACME_RUN_H

#include "acme/acme_client.h"
#include "acme/acme_config.h"
#include "acme/cert_status.h"
#include "acme/dns_check.h"

#include <stdio.h>

struct acme_run {
	const struct acme_config *cfg;
	EVP_PKEY *key;
	struct acme_client *client; /* created on first use */
	struct acme_error client_err; /* why the client could not be created this run */
	struct dns_resolver *dns;
	struct ca_backoff ca;       /* the CA-wide backoff, as in the state dir */
	bool ca_failed;             /* the CA failed this run (since it last answered) */
	FILE *out;                  /* one progress line per step, NULL: quiet */
};

/* Loads (or creates) the account key and the resolver. 0 or -1 with err. */
int acme_run_init(struct acme_run *r, const struct acme_config *cfg, FILE *out, char *err,
		  size_t errlen);
void acme_run_fini(struct acme_run *r);

/* The time used for scheduling: the clock plus the configured offset. */
time_t acme_run_now(const struct acme_run *r);

/* Creates the client and registers (or finds) the account. */
int acme_run_account(struct acme_run *r, struct acme_error *e);

/* Prechecks only (registers the account when the CA is reachable, for CAA accounturi). */
int acme_run_check(struct acme_run *r, const char *domain, struct precheck_result *res);

/* Prechecks, order, install, status; or, when a certificate issued earlier is held, its
 * installation with no new order. Ignores the budget and the CA-wide backoff (the operator
 * asks). The resulting record is left in st. 0 when issued. */
int acme_run_issue(struct acme_run *r, const char *domain, struct cert_status *st);

/* Installs held certificates, renews every domain whose time has come, and retries failed
 * ones whose backoff passed and whose failure budget is not spent; while the CA-wide backoff
 * holds, no order is placed. Returns how many attempts failed (-1 if the state dir cannot be
 * read); *attempted and *skipped count the domains tried and held back. */
int acme_run_renew(struct acme_run *r, unsigned *attempted, unsigned *skipped);

/* Sends one control-socket command line; 0 when edgetrackd answers "ok", else -1 with the
 * answer (or the transport error) in err. */
int control_command(const char *sock_path, const char *line, char *err, size_t errlen);

#endif
