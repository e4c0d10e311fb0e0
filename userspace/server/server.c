// SPDX-License-Identifier: MIT
#include "server/server.h"

#include "acme/challenge.h"
#include "core/err.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "server/fleet_link.h"
#include "server/mgmt.h"
#include "server/state.h"
#include "track/track_state.h"
#ifdef CONFIG_XDP
#include "xdp/xdp.h"
#endif
#ifdef CONFIG_TLS
#include "tls/tls.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHALLENGE_TTL_S (7 * 24 * 3600)
/* Start-up checks certificate pairs for this long (a few thousand of them), then serves and
 * checks the rest in the background or on first use. */
#define CERT_START_BUDGET_MS 1000

static const char *const counter_names[CTR__COUNT] = {
	"accepted", "refused_max_connections", "closed", "requests", "parse_errors",
	"header_timeouts", "idle_timeouts", "send_timeouts", "events", "events_failed",
	"events_lost", "clicks_unrecorded", "tls_failures",
};

const char *server_counter_name(enum server_counter c)
{
	return c < CTR__COUNT ? counter_names[c] : "?";
}

static struct worker *worker_at(const struct server *srv, unsigned i)
{
	return (struct worker *)((char *)srv->workers + i * worker_size());
}

/* mkdir -p for the directory part of path (or path itself when is_dir). */
static int make_dirs(const char *path, bool is_dir, char *err, size_t errlen)
{
	char tmp[CONFIG_PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (!is_dir) {
		p = strrchr(tmp, '/');
		if (!p)
			return 0;
		*p = '\0';
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (tmp[0] && mkdir(tmp, 0750) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create directory %s: %s", tmp, strerror(errno));
	return -1;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* each connection is a descriptor; take what the hard limit allows */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static unsigned worker_count(const struct config *cfg)
{
	long n = cfg->workers ? (long)cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (unsigned)n;
}

/* Starts the XDP filter, or swaps its rule set on reload; a bad "xdp" object refuses the
 * whole config. Without CONFIG_XDP an "xdp" object is refused rather than ignored. */
static int apply_xdp(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
#ifdef CONFIG_XDP
	struct xdp_settings xs;
	char why[256];
	int rc = 0;

	if (xdp_settings_parse(cfg->xdp, &xs, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", cfg->source, why);
		return -1;
	}
	if (!srv->xdp) {
		srv->xdp = xdp_runtime_start(&xs, why, sizeof(why));
		rc = srv->xdp ? 0 : -1;
	} else {
		rc = xdp_runtime_update(srv->xdp, &xs, why, sizeof(why));
	}
	xdp_settings_free(&xs);
	if (rc)
		snprintf(err, errlen, "xdp: %s", why);
	return rc;
#else
	(void)srv;
	if (!cfg->xdp)
		return 0;
	snprintf(err, errlen, "%s: xdp: this build has no XDP support (CONFIG_XDP)", cfg->source);
	return -1;
#endif
}

#ifdef CONFIG_TLS
static void cert_rejected(void *arg, const char *domain, const char *reason)
{
	struct server *srv = arg;

	log_error("cert_rejected", "domain=%s reason=\"%s\" action=keep_previous", domain, reason);
	/* the status page says why a domain has no certificate */
	metrics_cert_rejected(srv->metrics, domain, reason);
}

static bool wants_tls(const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->n_listen; i++)
		if (cfg->listen[i].tls)
			return true;
	return false;
}

/* A refusal the store found on its own (a first handshake, the start-up pass): logged there. */
static void cert_noted(void *arg, const char *domain, const char *reason)
{
	struct server *srv = arg;

	metrics_cert_rejected(srv->metrics, domain, reason);
}

void server_take_cert_notes(struct server *srv)
{
	if (srv->certs)
		cert_store_take_rejects(srv->certs, cert_noted, srv);
}

int server_reload_certs(struct server *srv, const char *domain, char *err, size_t errlen)
{
	struct cert_load_result res = { 0 };

	if (!srv->certs)
		return err_set(err, errlen, "HTTPS is not set up (no TLS listener)");
	/* older notes first: the load below clears what it checks again */
	server_take_cert_notes(srv);
	metrics_certs_loading(srv->metrics, domain);
	if (domain) {
		if (cert_store_load_domain(srv->certs, srv->cert_dir, domain, err, errlen)) {
			metrics_cert_rejected(srv->metrics, domain, err);
			return -1;
		}
		log_info("cert_loaded", "domain=%s", domain);
		return 0;
	}
	return cert_store_load_dir(srv->certs, srv->cert_dir, &res, cert_rejected, srv, err,
				   errlen);
}

/* The applied generation's ticket keys (a bundle's ticket_keys item) over the config's
 * tls.ticket_keys: 1 when ts now holds the generation's, 0 when it keeps the config's (or
 * none), -1 with err. */
static int applied_tickets(const struct config *cfg, struct tls_settings *ts, char *err,
			   size_t errlen)
{
	char why[512];
	int rc;

	if (cfg->embedded)
		return 0;
	rc = state_ticket_keys(cfg->data_dir, ts->ticket_keys, &ts->n_ticket_keys, why,
			       sizeof(why));
	return rc < 0 ? err_set(err, errlen, "ticket keys: %s", why) : rc;
}

/* Names only: the log says which secrets serve, never what they are. */
static void log_tickets(const struct tls_settings *ts, bool from_gen)
{
	char names[TLS_TICKET_KEYS_MAX * (TICKET_NAME_MAX + 1) + 1] = "";
	size_t off = 0;

	for (size_t i = 0; i < ts->n_ticket_keys && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? "," : "",
					ts->ticket_keys[i].name);
	log_info("tls_ticket_keys", "source=%s keys=%zu names=\"%s\"",
		 from_gen ? "bundle" : ts->n_ticket_keys ? "config" : "random",
		 ts->n_ticket_keys ? ts->n_ticket_keys : 1, names);
}

/* HTTPS: the cert store (loaded from the cert directory) and one server context for every
 * domain. The embedded defaults make a self-signed demo cert on first start. */
static int setup_tls(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct tls_settings ts;
	char why[256];
	int from_gen;

	if (!wants_tls(cfg))
		return 0;
	tls_settings_default(&ts);
	if (cfg->tls && tls_settings_parse(cfg->tls, &ts, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
	from_gen = applied_tickets(cfg, &ts, err, errlen);
	if (from_gen < 0)
		return -1;
	config_cert_dir(cfg, srv->cert_dir, sizeof(srv->cert_dir));
	if (make_dirs(srv->cert_dir, true, err, errlen))
		return -1;
	if (cfg->embedded && tls_demo_cert(CONFIG_DEMO_DOMAIN, srv->cert_dir, why, sizeof(why)))
		return err_set(err, errlen, "demo certificate: %s", why);
	srv->certs = cert_store_new(tls_cert_parser(), ts.cert_cache);
	if (!srv->certs)
		return err_set(err, errlen, "out of memory");
	/* 100,000 pairs take ~20 s to check: serve after the budget, check the rest meanwhile */
	if (cert_store_load_dir_lazy(srv->certs, srv->cert_dir, CERT_START_BUDGET_MS, true, NULL,
				     cert_rejected, srv, err, errlen))
		return -1;
	srv->tls = tls_server_new(&ts, srv->certs, why, sizeof(why));
	if (!srv->tls)
		return err_set(err, errlen, "tls: %s", why);
	srv->bundle_tickets = from_gen;
	log_tickets(&ts, from_gen);
	log_info("tls_ready", "backend=%s cert_dir=%s", tls_backend_name(), srv->cert_dir);
	return 0;
}

/* SIGHUP: new certificates (from a new directory when the config names one: an applied
 * bundle's generation) and ticket keys; the rest of "tls" needs a restart. A config without
 * ticket keys keeps the ones in force, unless those were a generation's that is no longer
 * current (a rollback to one without any): they stop, and a random key takes over. */
static int reload_tls(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct tls_settings ts;
	char why[256], dir[sizeof(srv->cert_dir)];
	int from_gen;

	if (!srv->tls)
		return 0;
	tls_settings_default(&ts);
	if (cfg->tls && tls_settings_parse(cfg->tls, &ts, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
	from_gen = applied_tickets(cfg, &ts, err, errlen);
	if (from_gen < 0)
		return -1;
	if (ts.n_ticket_keys || srv->bundle_tickets) {
		if (tls_server_set_ticket_keys(srv->tls, ts.ticket_keys, ts.n_ticket_keys, why,
					       sizeof(why)))
			return err_set(err, errlen, "ticket keys (%s): %s",
				       from_gen ? "applied bundle" : "tls.ticket_keys", why);
		srv->bundle_tickets = from_gen;
		log_tickets(&ts, from_gen);
	}
	config_cert_dir(cfg, dir, sizeof(dir));
	server_take_cert_notes(srv);
	metrics_certs_loading(srv->metrics, NULL);
	if (cert_store_load_dir(srv->certs, dir, NULL, cert_rejected, srv, err, errlen))
		return -1;
	snprintf(srv->cert_dir, sizeof(srv->cert_dir), "%s", dir);
	return 0;
}
#else
static int setup_tls(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	(void)srv; (void)cfg; (void)err; (void)errlen;
	return 0;
}

static int reload_tls(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	(void)srv; (void)cfg; (void)err; (void)errlen;
	return 0;
}

int server_reload_certs(struct server *srv, const char *domain, char *err, size_t errlen)
{
	(void)srv; (void)domain;
	return err_set(err, errlen, "this build has no TLS (CONFIG_TLS)");
}

void server_take_cert_notes(struct server *srv)
{
	(void)srv;
}
#endif

static int open_journal(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct journal_settings *js = &srv->journal_cfg;
	char why[256];

	journal_settings_default(js);
	if ((size_t)snprintf(js->dir, sizeof(js->dir), "%s/journal", cfg->data_dir) >=
	    sizeof(js->dir)) {
		snprintf(err, errlen, "data_dir too long");
		return -1;
	}
	if (cfg->journal && journal_settings_parse(cfg->journal, js, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", cfg->source, why);
		return -1;
	}
	if (fleet_link_hold(cfg, js, err, errlen))
		return -1;
	srv->journal = journal_open(js, why, sizeof(why));
	if (!srv->journal) {
		snprintf(err, errlen, "journal %s: %s", js->dir, why);
		return -1;
	}
	log_info("journal_open", "dir=%s sync=%s", js->dir, journal_sync_name(js->sync));
	return 0;
}

int server_init(struct server *srv, struct config *cfg, const char *config_path, char *err,
		size_t errlen)
{
	struct snapshot *st, *chal;
	unsigned n = worker_count(cfg);

	memset(srv, 0, sizeof(*srv));
	srv->owner.fd = -1;
	srv->drain_timeout_ms = 10000;
	snprintf(srv->config_path, sizeof(srv->config_path), "%s", config_path ? config_path : "");
	srv->metrics = metrics_new(err, errlen);
	/* the lock first: nothing in the data directory is touched while another owner lives */
	if (!srv->metrics || make_dirs(cfg->data_dir, true, err, errlen) ||
	    owner_lock(&srv->owner, cfg->data_dir, err, errlen) ||
	    make_dirs(cfg->control_socket, false, err, errlen) || open_journal(srv, cfg, err, errlen) ||
	    setup_tls(srv, cfg, err, errlen)) {
		config_free(cfg);
		return -1;
	}
	srv->ctable = challenge_table_new(CHALLENGE_TTL_S);
	chal = srv->ctable ? challenge_table_build(srv->ctable) : NULL;
	if (!chal) {
		config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snapshot_slot_init(&srv->challenges, chal);
	st = track_state_build(cfg, err, errlen);
	if (!st) {
		config_free(cfg);
		return -1;
	}
	snapshot_slot_init(&srv->state, st);
	raise_nofile();
	srv->workers = calloc(n, worker_size());
	if (!srv->workers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mgmt_init(srv, cfg, n, err, errlen))
		return -1;
	memcpy(srv->bound, cfg->listen, sizeof(srv->bound));
	srv->n_bound = cfg->n_listen;
	for (unsigned i = 0; i < n; i++) {
		srv->n_workers++;
		if (worker_create(srv, i, cfg, err, errlen))
			return -1;
	}
	return apply_xdp(srv, cfg, err, errlen);
}

int server_start(struct server *srv, char *err, size_t errlen)
{
	struct timespec ts;

	int jrc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srv->started_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	jrc = journal_start(srv->journal);
	if (jrc) {
		snprintf(err, errlen, "journal writer: %s", strerror(-jrc));
		return -1;
	}
	{
		struct snapshot *snap = snapshot_get(&srv->state);
		int frc = fleet_link_start(srv, track_state_of(snap)->cfg, err, errlen);

		snapshot_put(snap);
		if (frc)
			return -1;
	}
	for (unsigned i = 0; i < srv->n_workers; i++) {
		int rc = worker_spawn(worker_at(srv, i));
		if (rc) {
			snprintf(err, errlen, "worker %u: %s", i, strerror(rc));
			return -1;
		}
	}
	return 0;
}

static void wake_all(struct server *srv)
{
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_wake(worker_at(srv, i));
}

void server_wake_worker(struct server *srv, unsigned i)
{
	worker_wake(worker_at(srv, i));
}

static bool same_listeners(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (unsigned i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) || a->listen[i].tls != b->listen[i].tls)
			return false;
	return true;
}

int server_reload(struct server *srv, char *err, size_t errlen)
{
	struct config *cfg;
	struct snapshot *old, *st;
	bool listeners_same;

	/* an applied bundle's generation, when there is one, else the --config file */
	cfg = state_load_config(srv->config_path[0] ? srv->config_path : NULL, err, errlen);
	if (!cfg)
		return -1;
	old = snapshot_get(&srv->state);
	listeners_same = same_listeners(track_state_of(old)->cfg, cfg);
	snapshot_put(old);
	st = track_state_build(cfg, err, errlen);
	if (!st) {
		config_free(cfg);
		return -1;
	}
	if (apply_xdp(srv, cfg, err, errlen) || reload_tls(srv, cfg, err, errlen)) {
		snapshot_put(st); /* frees cfg with it */
		return -1;
	}
	if (!listeners_same)
		log_warn("reload_listen_unchanged",
			 "reason=\"listen addresses change only with a restart\"");
	snapshot_publish(&srv->state, st);
	wake_all(srv);
	log_info("config_reloaded", "source=%s domains=%u keys=%u", cfg->source, cfg->n_domains,
		 cfg->n_keys);
	return 0;
}

int server_publish_challenges(struct server *srv)
{
	struct snapshot *s;

	challenge_table_expire(srv->ctable, time(NULL));
	s = challenge_table_build(srv->ctable);
	if (!s)
		return -1;
	snapshot_publish(&srv->challenges, s);
	wake_all(srv);
	return 0;
}

void server_drain(struct server *srv)
{
	atomic_store(&srv->draining, true);
	wake_all(srv);
}

void server_join(struct server *srv)
{
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_join(worker_at(srv, i));
	/* workers are gone: everything they submitted is written and synced here */
	if (srv->journal)
		journal_stop(srv->journal);
	fleet_link_stop(srv);
}

void server_destroy(struct server *srv)
{
	fleet_link_stop(srv);
#ifdef CONFIG_TLS
	if (srv->tls)
		tls_server_free(srv->tls);
	if (srv->certs)
		cert_store_free(srv->certs);
	srv->tls = NULL;
	srv->certs = NULL;
#endif
#ifdef CONFIG_XDP
	if (srv->xdp)
		xdp_runtime_stop(srv->xdp);
	srv->xdp = NULL;
#endif
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_destroy(worker_at(srv, i));
	free(srv->workers);
	srv->workers = NULL;
	mgmt_free(srv->mgmt);
	srv->mgmt = NULL;
	metrics_free(srv->metrics);
	srv->metrics = NULL;
	if (srv->state.cur)
		snapshot_slot_destroy(&srv->state);
	if (srv->challenges.cur)
		snapshot_slot_destroy(&srv->challenges);
	challenge_table_free(srv->ctable);
	if (srv->journal)
		journal_close(srv->journal);
	srv->journal = NULL;
	owner_release(&srv->owner);
}

const struct server_counters *server_worker_counters(const struct server *srv, unsigned i)
{
	return worker_counters(worker_at(srv, i));
}

void server_counters_sum(const struct server *srv, uint64_t *ctr, uint64_t *routes,
			 uint64_t *open_conns)
{
	memset(ctr, 0, CTR__COUNT * sizeof(*ctr));
	memset(routes, 0, ROUTE__COUNT * sizeof(*routes));
	*open_conns = 0;
	for (unsigned i = 0; i < srv->n_workers; i++) {
		const struct server_counters *c = worker_counters(worker_at(srv, i));
		for (unsigned k = 0; k < CTR__COUNT; k++)
			ctr[k] += atomic_load_explicit(&c->c[k], memory_order_relaxed);
		for (unsigned k = 0; k < ROUTE__COUNT; k++)
			routes[k] += atomic_load_explicit(&c->routes[k], memory_order_relaxed);
		*open_conns += atomic_load_explicit(&c->open_conns, memory_order_relaxed);
	}
}
