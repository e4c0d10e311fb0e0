/* SPDX-License-Identifier: MIT */
/*
 * edgetrackd's server: N workers, each one thread with one io_uring and its own
 * SO_REUSEPORT listener per listen address. Shared state (domains, keys, challenge answers)
 * is read through snapshot slots; the main thread reloads config and serves the control
 * socket, the workers never block and take no lock on the request path.
 */
#ifndef ET_SERVER_H
#define ET_SERVER_H

#include "core/config.h"
#include "core/snapshot.h"
#include "journal/journal.h"
#include "metrics/wstats.h"
#include "server/owner.h"
#include "track/routes.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct worker;
struct challenge_table;
struct xdp_runtime;
struct tls_server;
struct cert_store;
struct mgmt;
struct metrics;
struct shipper;
struct fleet_in;

/* Counters: written by one worker only (relaxed stores), read by the control thread. */
enum server_counter {
	CTR_ACCEPTED, CTR_REFUSED_MAX_CONN, CTR_CLOSED, CTR_REQUESTS, CTR_PARSE_ERRORS,
	CTR_HEADER_TIMEOUTS, CTR_IDLE_TIMEOUTS, CTR_SEND_TIMEOUTS, CTR_EVENTS,
	CTR_EVENTS_FAILED, CTR_EVENTS_LOST, CTR_CLICKS_UNRECORDED, CTR_TLS_FAILURES, CTR__COUNT
};

struct server_counters {
	_Atomic uint64_t c[CTR__COUNT];
	_Atomic uint64_t routes[ROUTE__COUNT];
	_Atomic uint64_t open_conns;
	struct wstats ws;              /* what the metrics add: routes by code, durations, TLS */
};

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	/* single writer: a plain load+store, no locked instruction on the hot path */
	single_writer_add(c, n);
}

struct server {
	char config_path[CONFIG_PATH_MAX]; /* empty: embedded defaults */
	struct owner owner;                /* the data directory's lock, held while we run */
	struct snapshot_slot state;        /* struct track_state */
	struct snapshot_slot challenges;   /* struct challenge_store */
	struct challenge_table *ctable;    /* owned by the control thread */
	unsigned n_workers;
	struct worker *workers;
	struct journal *journal;           /* every event, durable before its response */
	struct journal_settings journal_cfg;
	struct xdp_runtime *xdp;           /* NULL without CONFIG_XDP */
	struct tls_server *tls;            /* NULL when no listener speaks TLS */
	struct cert_store *certs;
	bool bundle_tickets;               /* the ticket keys in force are a generation's */
	struct shipper *shipper;           /* fleet: NULL without a "nats" config */
	struct fleet_in *fleet_in;         /* fleet: the bundle and challenge watch, likewise */
	char cert_dir[256];
	/* the addresses the workers listen on: a reload does not change them */
	struct config_listen bound[CONFIG_MAX_LISTEN];
	unsigned n_bound;
	struct mgmt *mgmt;                 /* the management API and the metrics listener's
					      requests; NULL when neither is configured */
	struct metrics *metrics;           /* the control thread's side of the metrics */
	atomic_bool draining;
	uint32_t drain_timeout_ms;
	uint64_t started_ns;
};

const char *server_counter_name(enum server_counter c);

/* Takes ownership of cfg. Binds every listener of every worker (errors are reported here,
 * before anything runs). config_path is what SIGHUP reloads (NULL: embedded defaults). */
int server_init(struct server *srv, struct config *cfg, const char *config_path, char *err,
		size_t errlen);
int server_start(struct server *srv, char *err, size_t errlen);
/* SIGHUP: load, validate, build and swap; on any error the old config keeps serving. */
int server_reload(struct server *srv, char *err, size_t errlen);
/* Reloads certificates: one domain, or the whole directory (domain NULL). Bad files are
 * reported and skipped; the previous cert of that domain keeps serving. */
int server_reload_certs(struct server *srv, const char *domain, char *err, size_t errlen);
/* The control thread's: the pairs the cert store refused on its own since the last call (a
 * first handshake or the start-up pass checks pairs indexed at start-up) become status notes. */
void server_take_cert_notes(struct server *srv);
/* Publish the challenge table's current contents to the workers. */
int server_publish_challenges(struct server *srv);
/* Everything --check-config checks, on a loaded config: the config as a whole, the "tls",
 * "xdp" and "journal" objects, the management listener's files. Frees cfg. */
int server_check_config(struct config *cfg, char *err, size_t errlen);
/* What `status` reports (status.c); the control thread's, it reads the challenge table. */
json_t *server_status(struct server *srv);
void server_wake_worker(struct server *srv, unsigned i);
/* SIGTERM: stop accepting, finish in-flight requests, close keep-alive connections. */
void server_drain(struct server *srv);
void server_join(struct server *srv);
void server_destroy(struct server *srv);
/* Sum of every worker's counters. */
void server_counters_sum(const struct server *srv, uint64_t *ctr, uint64_t *routes,
			 uint64_t *open_conns);

/* worker.c */
int worker_create(struct server *srv, unsigned id, const struct config *cfg, char *err,
		  size_t errlen);
int worker_spawn(struct worker *w);
void worker_wake(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);
const struct server_counters *worker_counters(const struct worker *w);
/* Worker i's counters (any thread; read them with relaxed loads). */
const struct server_counters *server_worker_counters(const struct server *srv, unsigned i);
size_t worker_size(void);

#endif
