/* SPDX-License-Identifier: MIT */
/*
 * Per-domain certificate status on disk: <state_dir>/<domain>.json ("_wildcard.<parent>" for
 * "*.<parent>"), each written atomically, so a crash never leaves a half-written status and
 * one domain's record never touches another's.
 *
 *   issued   a valid certificate is deployed (reason says when and from which order)
 *   pending  an order is in flight, or waiting on DNS
 *   unknown  no certificate, or the last attempt failed (reason says why)
 *
 * The record also carries the schedule: not-after of the deployed cert, the next renewal time
 * (ARI window or one third of the lifetime left), the ARI identifier for "replaces", and the
 * failure count that drives backoff and the per-domain failure budget.
 *
 * Beside the records, <state_dir>/_ca.json holds the one CA-wide backoff (failure.h), and
 * <state_dir>/held/ the certificates the CA issued that could not be installed yet.
 */
#ifndef ET_ACME_CERT_STATUS_H
#define ET_ACME_CERT_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum cert_state { CERT_UNKNOWN, CERT_PENDING, CERT_ISSUED };

struct cert_status {
	char domain[254];
	enum cert_state state;
	char reason[1024];
	time_t updated;
	/* the deployed certificate (kept when a renewal fails) */
	bool has_cert;
	time_t not_before, not_after;
	char ari_id[160];
	char serial[80];
	/* schedule */
	time_t next_renewal;   /* 0: none scheduled */
	bool ari;              /* next_renewal came from the CA's ARI window */
	unsigned failures;     /* consecutive failures of the domain's own (the budget) */
	time_t retry_after;    /* no attempt before this (backoff or the CA's Retry-After) */
	char order_url[512];
};

/* The CA-wide backoff: CA, network and account failures, counted once for all domains. */
struct ca_backoff {
	unsigned failures;   /* consecutive CA-wide failures */
	time_t retry_after;  /* no order before this (scheduling clock); 0: none */
	time_t updated;      /* of the last CA-wide failure (scheduling clock) */
	char reason[512];    /* the last CA-wide failure */
};

const char *cert_state_name(enum cert_state s);

/* Domain name to file base ("*.x" -> "_wildcard.x"); -1 for names unsafe as file names. */
int cert_status_file_base(const char *domain, char *out, size_t cap);

/* 1 and st filled from disk, 0 when no record (st initialised to unknown), -1 on a corrupt or
 * unreadable record (reason in err, st initialised). */
int cert_status_load(const char *dir, const char *domain, struct cert_status *st, char *err,
		     size_t errlen);
/* 0, or -1 with a reason; the previous record stays intact on failure. */
int cert_status_save(const char *dir, const struct cert_status *st, char *err, size_t errlen);

/* Every record in dir, sorted by domain (malloc'd array in *out). Corrupt files are reported
 * through err_fn and skipped. Returns the count, -1 if dir cannot be read. */
typedef void (*cert_status_err_fn)(void *arg, const char *file, const char *reason);
int cert_status_list(const char *dir, struct cert_status **out, cert_status_err_fn err_fn,
		     void *arg);

/* The CA-wide backoff: 0 (zeroed when there is none) or -1 with a reason (zeroed too). */
int ca_backoff_load(const char *dir, struct ca_backoff *ca, char *err, size_t errlen);
int ca_backoff_save(const char *dir, const struct ca_backoff *ca, char *err, size_t errlen);

json_t *cert_status_to_json(const struct cert_status *st);
int cert_status_from_json(const json_t *o, struct cert_status *st, char *err, size_t errlen);

/* "2025-01-02T04:00:00Z", or "-" for 0. */
void fmt_time(time_t t, char *out, size_t cap);

#endif
