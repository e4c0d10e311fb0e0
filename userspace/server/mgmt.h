/* SPDX-License-Identifier: MIT */
/*
 * The management API: a listener of edgetrackd's own io_uring/TLS server (config
 * "management"), HTTPS with mutual TLS against the operator's CA. A client without a
 * certificate from that CA fails the handshake and never reaches a route.
 *
 *   PUT  /v1/bundle      a signed bundle, Content-Length at most max_bundle_bytes (else 413):
 *                        200 {"result":"applied","serial":N}, or 422 {"result":"refused",
 *                        "reason":"..."} (nothing changed) or {"result":"rolled_back",
 *                        "serial":N,"reason":"..."} (applied, unhealthy, previous state back)
 *   GET  /v1/status      200, the JSON `edgetrackctl status` prints
 *   POST /v1/challenges  {"token":"...","key_authorization":"..."}: 200 {"result":"added"}
 *   GET  /metrics        Prometheus text format 0.0.4, or OpenMetrics 1.0 by Accept
 *   GET  /               the status page (HTML; ?q= ?sort= ?page= ?state= ?refresh=)
 *
 * The metrics listener (config "metrics", plain HTTP) serves GET /metrics and GET / alone,
 * through the same job queue, so this part exists when either listener is configured.
 *
 * Tracking routes are not served here, nor these routes on the tracking listeners.
 *
 * Workers parse requests and stream an upload to <data_dir>/incoming/ through a bounded buffer
 * with io_uring writes, so a slow or large upload holds no worker. Each request then becomes
 * a job for the control thread, which owns what requests change (challenge table, config,
 * certificates, the state on disk), runs one job at a time and hands the answer back to the
 * worker whose connection waits for it.
 */
#ifndef ET_SERVER_MGMT_H
#define ET_SERVER_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct server;
struct mgmt;
struct tls_server;
struct config;
struct config_management;

struct bundle_trust;
struct state_store;

/* Sets up srv->mgmt when cfg has a "management", a "metrics" or a "nats" object (the fleet's
   watcher hands bundles and challenges to the control thread as jobs); nothing otherwise. */
int mgmt_init(struct server *srv, const struct config *cfg, unsigned n_workers, char *err,
	      size_t errlen);
void mgmt_free(struct mgmt *m);
/* This appliance's id: the configured one, else its identity key's. */
const char *mgmt_appliance_id(const struct mgmt *m);
/* The management listener's TLS server. */
struct tls_server *mgmt_tls(struct mgmt *m);
/* A TLS server with the listener's files (also how --check-config checks them). */
struct tls_server *mgmt_tls_new(const struct config_management *mc, char *err, size_t errlen);

/* ---- control thread */

/* Readable when jobs wait. */
int mgmt_fd(const struct mgmt *m);
void mgmt_run_jobs(struct server *srv);
/* Draining: answers waiting jobs, and any submitted later, with 503. */
void mgmt_close(struct server *srv);

/* apply.c: verifies the bundle file at path and applies it (control thread). */
enum mgmt_apply { MGMT_APPLIED, MGMT_REFUSED, MGMT_ROLLED_BACK };

enum mgmt_apply mgmt_apply_bundle(struct server *srv, const struct state_store *st,
				  const struct bundle_trust *trust, const char *path,
				  uint32_t window_ms, uint64_t *serial, char *why, size_t len);

/* ---- jobs: a worker's request handed to the control thread */

enum mgmt_kind { MGMT_STATUS, MGMT_CHALLENGE, MGMT_BUNDLE, MGMT_METRICS, MGMT_PAGE };

struct mgmt_job {
	struct mgmt_job *next;
	enum mgmt_kind kind;
	unsigned worker;       /* whose connection waits for the answer */
	void *conn;
	bool keep_alive;
	char *input;           /* challenge: the request body; bundle: the uploaded file;
				  metrics: the Accept header; page: the query string */
	size_t input_len;
	int status;            /* the answer: HTTP status and a body, */
	char *answer;
	size_t answer_len;     /* ... its length (0: strlen), */
	const char *content_type; /* ... and its type (static; NULL: JSON) */
	time_t expires;        /* challenge: answered until then (0: the table's TTL) */
	/* a job from another thread than a worker (the fleet's watcher): called on the control
	   thread with the answer instead of handing it to a worker; it then owns the job */
	void (*done)(struct mgmt_job *j);
	void *done_arg;
};

struct mgmt_job *mgmt_job_new(enum mgmt_kind kind, unsigned worker, void *conn,
			      const char *input, size_t input_len);
void mgmt_job_free(struct mgmt_job *j);
/* Queues a job for the control thread; -1 when draining (the caller answers 503). */
int mgmt_submit(struct mgmt *m, struct mgmt_job *j);
/* The jobs answered for this worker since its last call, as a list through next. */
struct mgmt_job *mgmt_answers(struct mgmt *m, unsigned worker);
/* The last bundle applied through the management API, for the metrics (control thread). */
struct mgmt_bundle_stats {
	uint64_t applies[3];          /* by enum mgmt_apply */
	bool any;                     /* a bundle came since the start */
	enum mgmt_apply last;
	uint64_t last_serial;
	int64_t last_time;            /* unix seconds */
};
void mgmt_bundle_stats(const struct mgmt *m, struct mgmt_bundle_stats *out);

/* Whether bundles can be applied (a "management" object with its root key). */
bool mgmt_takes_bundles(const struct mgmt *m);
/* The serial of the generation served (false when none) and the highest serial applied
   (0 for none): what a bundle's serial is compared with. Any thread. */
bool mgmt_serials(const struct mgmt *m, uint64_t *current, uint64_t *highest);

/* Where uploads go, and the largest one taken. */
const char *mgmt_incoming_dir(const struct mgmt *m);
uint32_t mgmt_max_bundle(const struct mgmt *m);

#endif
