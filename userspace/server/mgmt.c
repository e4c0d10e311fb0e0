// SPDX-License-Identifier: MIT
/*
 * The management API's control-thread side: the job queue between workers and the control
 * thread, and what each job does. Jobs run one at a time on the control thread, the one
 * writer of the challenge table, the config and the state on disk, so a bundle, a challenge
 * and a SIGHUP never interleave.
 */
#include "server/mgmt.h"

#include "acme/challenge.h"
#include "bundle/bundle.h"
#include "bundle/identity.h"
#include "core/err.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "server/server.h"
#include "server/state.h"
#ifdef CONFIG_TLS
#include "tls/tls.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct mgmt {
	struct tls_server *tls;
	char incoming[CONFIG_PATH_MAX + 16];
	uint32_t max_bundle;
	/* what applying a bundle needs */
	struct state_store state;
	struct config_management conf;
	char keyring[CONFIG_PATH_MAX + 16], identity[CONFIG_PATH_MAX + 16];
	char appliance_id[65];          /* configured, else the identity key's */
	int efd;                        /* eventfd: jobs wait */
	pthread_mutex_t lock;           /* queue, closed */
	struct mgmt_job *queue, **tail;
	bool closed;
	unsigned n_workers;
	_Atomic(struct mgmt_job *) *answers; /* per worker, a stack the worker takes whole */
	struct mgmt_bundle_stats bundles;    /* control thread */
};

/* ---------------------------------------------------------------- jobs */

struct mgmt_job *mgmt_job_new(enum mgmt_kind kind, unsigned worker, void *conn,
			      const char *input, size_t input_len)
{
	struct mgmt_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->worker = worker;
	j->conn = conn;
	j->input = malloc(input_len + 1);
	if (!j->input) {
		free(j);
		return NULL;
	}
	memcpy(j->input, input, input_len);
	j->input[input_len] = '\0';
	j->input_len = input_len;
	return j;
}

void mgmt_job_free(struct mgmt_job *j)
{
	if (!j)
		return;
	free(j->input);
	free(j->answer);
	free(j);
}

int mgmt_submit(struct mgmt *m, struct mgmt_job *j)
{
	uint64_t one = 1;
	bool closed;

	j->next = NULL;
	pthread_mutex_lock(&m->lock);
	closed = m->closed;
	if (!closed) {
		*m->tail = j;
		m->tail = &j->next;
	}
	pthread_mutex_unlock(&m->lock);
	if (closed)
		return -1;
	if (write(m->efd, &one, sizeof(one)) < 0)
		log_warn("mgmt_wake_failed", "error=\"%s\"", strerror(errno));
	return 0;
}

static struct mgmt_job *take_job(struct mgmt *m)
{
	struct mgmt_job *j;

	pthread_mutex_lock(&m->lock);
	j = m->queue;
	if (j) {
		m->queue = j->next;
		if (!m->queue)
			m->tail = &m->queue;
	}
	pthread_mutex_unlock(&m->lock);
	return j;
}

struct mgmt_job *mgmt_answers(struct mgmt *m, unsigned worker)
{
	_Atomic(struct mgmt_job *) *slot = &m->answers[worker];

	/* the common case, nothing answered: one load, no write to a shared line */
	if (!atomic_load_explicit(slot, memory_order_relaxed))
		return NULL;
	return atomic_exchange_explicit(slot, NULL, memory_order_acquire);
}

static void post_answer(struct server *srv, struct mgmt_job *j)
{
	_Atomic(struct mgmt_job *) *slot = &srv->mgmt->answers[j->worker];
	struct mgmt_job *head;

	if (j->done) {
		j->done(j);
		return;
	}
	head = atomic_load_explicit(slot, memory_order_relaxed);
	do {
		j->next = head;
	} while (!atomic_compare_exchange_weak_explicit(slot, &head, j, memory_order_release,
							memory_order_relaxed));
	server_wake_worker(srv, j->worker);
}

/* Sets the job's answer: status and a JSON object (taken over). */
static void set_answer(struct mgmt_job *j, int status, json_t *body)
{
	j->status = status;
	j->answer = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!j->answer)
		j->status = 500; /* the worker answers with a fixed body */
}

static json_t *result(const char *what, const char *reason)
{
	json_t *o = json_pack("{ss}", "result", what);

	if (o && reason)
		json_object_set_new(o, "reason", json_string(reason));
	return o;
}

/* ---------------------------------------------------------------- the routes' work */

static void run_status(struct server *srv, struct mgmt_job *j)
{
	set_answer(j, 200, server_status(srv));
}

static void run_challenge(struct server *srv, struct mgmt_job *j)
{
	json_error_t jerr;
	json_t *req = json_loadb(j->input, j->input_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *token = json_string_value(json_object_get(req, "token"));
	const char *keyauth = json_string_value(json_object_get(req, "key_authorization"));
	char why[256];

	if (!token || !keyauth) {
		set_answer(j, 400, result("error", "expected {\"token\": \"...\", "
					  "\"key_authorization\": \"...\"}"));
	} else if (challenge_table_add_until(srv->ctable, token, keyauth, time(NULL), j->expires,
					     why, sizeof(why))) {
		set_answer(j, 422, result("refused", why));
	} else if (server_publish_challenges(srv)) {
		set_answer(j, 500, result("error", "out of memory"));
	} else {
		log_info("challenge_updated", "op=add token=%s via=%s", token,
			 j->done ? "fleet" : "management");
		set_answer(j, 200, json_pack("{ssss}", "result", "added", "token", token));
	}
	json_decref(req);
}

static void run_bundle(struct server *srv, struct mgmt_job *j)
{
	struct mgmt *m = srv->mgmt;
	struct bundle_trust trust = {
		.root_pubkey_path = m->conf.root_key, .keyring_path = m->keyring,
		.identity_dir = m->identity,
		.appliance_id = m->conf.appliance_id[0] ? m->conf.appliance_id : NULL,
		.applied_serial = state_highest_serial(&m->state), .now = time(NULL),
	};
	char why[CONFIG_ERR_MAX] = "";
	uint64_t serial = 0;
	enum mgmt_apply r = MGMT_REFUSED;
	json_t *o;

	if (m->conf.enabled)
		r = mgmt_apply_bundle(srv, &m->state, &trust, j->input, m->conf.health_window_ms,
				      &serial, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "no \"management\" object: no root key to verify with");
	unlink(j->input);
	m->bundles.applies[r]++;
	m->bundles.any = true;
	m->bundles.last = r;
	m->bundles.last_serial = serial;
	m->bundles.last_time = time(NULL);
	if (r == MGMT_APPLIED) {
		set_answer(j, 200, json_pack("{sssI}", "result", "applied", "serial",
					     (json_int_t)serial));
		return;
	}
	log_warn("bundle_refused", "serial=%llu reason=\"%s\"", (unsigned long long)serial, why);
	o = result(r == MGMT_REFUSED ? "refused" : "rolled_back", why);
	if (r == MGMT_ROLLED_BACK)
		json_object_set_new(o, "serial", json_integer((json_int_t)serial));
	set_answer(j, 422, o);
}

void mgmt_run_jobs(struct server *srv)
{
	struct mgmt *m = srv->mgmt;
	struct mgmt_job *j;
	uint64_t n;

	if (read(m->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("mgmt_read_failed", "error=\"%s\"", strerror(errno));
	while ((j = take_job(m))) {
		switch (j->kind) {
		case MGMT_STATUS: run_status(srv, j); break;
		case MGMT_CHALLENGE: run_challenge(srv, j); break;
		case MGMT_BUNDLE: run_bundle(srv, j); break;
		case MGMT_METRICS: case MGMT_PAGE: metrics_run_job(srv, j); break;
		}
		post_answer(srv, j);
	}
}

void mgmt_close(struct server *srv)
{
	struct mgmt *m = srv->mgmt;
	struct mgmt_job *j;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->closed = true;
	pthread_mutex_unlock(&m->lock);
	while ((j = take_job(m))) {
		if (j->kind == MGMT_BUNDLE)
			unlink(j->input);
		set_answer(j, 503, result("error", "shutting down"));
		post_answer(srv, j);
	}
}

/* ---------------------------------------------------------------- setup */

#ifdef CONFIG_TLS
struct tls_server *mgmt_tls_new(const struct config_management *mc, char *err, size_t errlen)
{
	struct tls_settings ts;
	struct tls_server *t;
	char why[512];

	tls_settings_default(&ts);
	snprintf(ts.cert_file, sizeof(ts.cert_file), "%s", mc->cert);
	snprintf(ts.key_file, sizeof(ts.key_file), "%s", mc->key);
	snprintf(ts.client_ca, sizeof(ts.client_ca), "%s", mc->client_ca);
	t = tls_server_new(&ts, NULL, why, sizeof(why));
	if (!t)
		err_set(err, errlen, "management: %s", why);
	return t;
}
#else
struct tls_server *mgmt_tls_new(const struct config_management *mc, char *err, size_t errlen)
{
	(void)mc;
	err_set(err, errlen, "management: this build has no TLS (CONFIG_TLS)");
	return NULL;
}
#endif

struct tls_server *mgmt_tls(struct mgmt *m)
{
	return m->tls;
}

bool mgmt_takes_bundles(const struct mgmt *m)
{
	return m && m->conf.enabled;
}

bool mgmt_serials(const struct mgmt *m, uint64_t *current, uint64_t *highest)
{
	char gen[64];

	*current = 0;
	*highest = m && m->conf.enabled ? state_highest_serial(&m->state) : 0;
	return m && m->conf.enabled && state_current(&m->state, gen, sizeof(gen), current) == 0;
}

void mgmt_bundle_stats(const struct mgmt *m, struct mgmt_bundle_stats *out)
{
	*out = m->bundles;
}

const char *mgmt_incoming_dir(const struct mgmt *m)
{
	return m->incoming;
}

uint32_t mgmt_max_bundle(const struct mgmt *m)
{
	return m->max_bundle;
}

int mgmt_fd(const struct mgmt *m)
{
	return m->efd;
}

/* The X25519 key pair bundles seal private keys to, made at first start; the id. */
static int identity(struct mgmt *m, const char *configured, char *err, size_t errlen)
{
	struct identity id;
	char why[256];

	if (identity_open(m->identity, &id, why, sizeof(why)))
		return err_set(err, errlen, "identity %s: %s", m->identity, why);
	snprintf(m->appliance_id, sizeof(m->appliance_id), "%s", configured[0] ? configured : id.id);
	identity_wipe(&id);
	return 0;
}

const char *mgmt_appliance_id(const struct mgmt *m)
{
	return m->appliance_id;
}

/* <data_dir>/incoming, emptied of uploads a previous run left behind. */
static int incoming_dir(struct mgmt *m, const char *data_dir, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;

	snprintf(m->incoming, sizeof(m->incoming), "%s/incoming", data_dir);
	if (mkdir(m->incoming, 0700) && errno != EEXIST)
		return err_set(err, errlen, "cannot create %s: %s", m->incoming, strerror(errno));
	d = opendir(m->incoming);
	if (!d)
		return err_set(err, errlen, "cannot read %s: %s", m->incoming, strerror(errno));
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "bundle-", 7))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return 0;
}

int mgmt_init(struct server *srv, const struct config *cfg, unsigned n_workers, char *err,
	      size_t errlen)
{
	struct mgmt *m;

	if (!cfg->management.enabled && !cfg->metrics.enabled && !cfg->nats)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return err_set(err, errlen, "out of memory");
	srv->mgmt = m;
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->answers = calloc(n_workers, sizeof(*m->answers));
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->queue;
	m->n_workers = n_workers;
	m->max_bundle = cfg->management.max_bundle_bytes;
	m->conf = cfg->management;
	snprintf(m->keyring, sizeof(m->keyring), "%s/keyring", cfg->data_dir);
	snprintf(m->identity, sizeof(m->identity), "%s/identity", cfg->data_dir);
	state_init(&m->state, cfg->data_dir);
	if (m->efd < 0 || !m->answers)
		return err_set(err, errlen, "management: %s", strerror(errno ? errno : ENOMEM));
	if (!cfg->management.enabled)
		return 0; /* the metrics listener's and the fleet's jobs alone */
	if (incoming_dir(m, cfg->data_dir, err, errlen) || state_prepare(&m->state, err, errlen) ||
	    identity(m, cfg->management.appliance_id, err, errlen))
		return -1;
	m->tls = mgmt_tls_new(&cfg->management, err, errlen);
	if (!m->tls)
		return -1;
	log_info("management_ready", "listen=%s client_ca=%s appliance_id=%s",
		 cfg->management.listen.text, cfg->management.client_ca, m->appliance_id);
	return 0;
}

void mgmt_free(struct mgmt *m)
{
	struct mgmt_job *j;

	if (!m)
		return;
	while ((j = take_job(m)))
		mgmt_job_free(j);
	for (unsigned i = 0; m->answers && i < m->n_workers; i++) {
		struct mgmt_job *next;

		for (j = atomic_load(&m->answers[i]); j; j = next) {
			next = j->next;
			mgmt_job_free(j);
		}
	}
#ifdef CONFIG_TLS
	if (m->tls)
		tls_server_free(m->tls);
#endif
	if (m->efd >= 0)
		close(m->efd);
	free(m->answers);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
