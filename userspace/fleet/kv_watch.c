// SPDX-License-Identifier: MIT
#include "fleet/kv_watch.h"

#include "core/deadline.h"
#include "core/err.h"
#include "core/log.h"
#include "fleet/nats_link.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_MS  100  /* each watcher's wait per round */
#define RETRY_MS 500  /* after a failed bucket or watch set-up */

struct kv_watch {
	struct kv_watch_config cfg;
	char id[FLEET_NAME_MAX + 1];
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;       /* stop, last_error */
	pthread_cond_t cv;
	bool stop;
	char last_error[256];
	uint64_t last_error_at;

	/* the thread's own */
	natsConnection *nc;
	jsCtx *js;
	kvStore *bkv, *ckv;
	kvWatcher *bw, *cw;
	bool open_failed_logged;
};

static void set_error(struct kv_watch *w, const char *what, const char *why)
{
	pthread_mutex_lock(&w->mu);
	err_set(w->last_error, sizeof(w->last_error), "%s: %s", what, why); /* cut to fit */
	w->last_error_at = (uint64_t)time(NULL);
	pthread_mutex_unlock(&w->mu);
}

void kv_watch_last_error(struct kv_watch *w, char *out, size_t cap, uint64_t *at)
{
	pthread_mutex_lock(&w->mu);
	snprintf(out, cap, "%s", w->last_error);
	*at = w->last_error_at;
	pthread_mutex_unlock(&w->mu);
}

/* false once stopping */
static bool pause_ms(struct kv_watch *w, unsigned ms)
{
	struct timespec ts = deadline_after_ms(ms);
	bool stop;

	pthread_mutex_lock(&w->mu);
	if (!w->stop && ms)
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	return !stop;
}

/* ---------------------------------------------------------------- watches */

static void close_watches(struct kv_watch *w)
{
	kvWatcher_Destroy(w->bw);
	kvWatcher_Destroy(w->cw);
	kvStore_Destroy(w->bkv);
	kvStore_Destroy(w->ckv);
	w->bw = w->cw = NULL;
	w->bkv = w->ckv = NULL;
}

static int watch_bucket(struct kv_watch *w, const char *bucket, int64_t max_age_s,
			kvStore **kv, kvWatcher **wt, char *err, size_t errlen)
{
	kvWatchOptions wo;
	natsStatus s;

	if (nats_link_bucket_aged(kv, w->js, bucket, w->cfg.set.replicas, max_age_s, true, err,
				  errlen))
		return -1;
	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_WatchAll(wt, *kv, &wo);
	return s == NATS_OK ? 0 : nats_link_err(err, errlen, bucket, s);
}

/* Both buckets watched; -1 (logged once per outage) while it cannot be done. */
static int open_watches(struct kv_watch *w)
{
	char err[256];

	if (natsConnection_Status(w->nc) != NATS_CONN_STATUS_CONNECTED)
		return -1;
	if (watch_bucket(w, w->cfg.set.bundle_bucket, 0, &w->bkv, &w->bw, err, sizeof(err)) ||
	    watch_bucket(w, w->cfg.set.challenge_bucket, KV_CHALLENGE_TTL_MAX, &w->ckv, &w->cw,
			 err, sizeof(err))) {
		close_watches(w);
		if (!w->open_failed_logged)
			log_warn("fleet_watch_failed", "appliance=%s reason=\"%s\"", w->id, err);
		w->open_failed_logged = true;
		set_error(w, "watch", err);
		return -1;
	}
	w->open_failed_logged = false;
	log_info("fleet_watching", "appliance=%s bundles=%s challenges=%s", w->id,
		 w->cfg.set.bundle_bucket, w->cfg.set.challenge_bucket);
	return 0;
}

/* ---------------------------------------------------------------- entries */

static void on_bundle(struct kv_watch *w, kvEntry *e)
{
	char why[512];

	if (strcmp(kvEntry_Key(e), KV_BUNDLE_KEY)) {
		log_warn("fleet_bundle_ignored", "appliance=%s key=%s reason=\"not the key %s\"",
			 w->id, kvEntry_Key(e), KV_BUNDLE_KEY);
		return;
	}
	if (!w->cfg.hooks.bundle(w->cfg.hooks.arg, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e),
				 kvEntry_Revision(e), why, sizeof(why)))
		return;
	log_warn("fleet_bundle_refused", "appliance=%s revision=%" PRIu64 " reason=\"%s\"", w->id,
		 kvEntry_Revision(e), why);
	set_error(w, "bundle refused", why);
}

static void on_challenge(struct kv_watch *w, kvEntry *e)
{
	struct kv_challenge c;
	char why[256];

	if (kv_challenge_parse(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), &c, why,
			       sizeof(why)) == 0) {
		if (c.expires_at <= (uint64_t)time(NULL))
			return; /* aged out while nobody watched: nothing to answer */
		if (!w->cfg.hooks.challenge(w->cfg.hooks.arg, &c, why, sizeof(why)))
			return;
	}
	log_warn("fleet_challenge_refused", "appliance=%s key=%s reason=\"%s\"", w->id,
		 kvEntry_Key(e), why);
	set_error(w, "challenge refused", why);
}

/* One entry or a timeout. 0, or -1 when the watch failed (it is made again). */
static int next(struct kv_watch *w, kvWatcher *wt, void (*handle)(struct kv_watch *, kvEntry *))
{
	kvEntry *e = NULL;
	natsStatus s = kvWatcher_Next(&e, wt, STEP_MS);
	char err[256];

	if (s == NATS_TIMEOUT)
		return 0; /* nothing yet (3.4.1 may also say so early) */
	if (s != NATS_OK) {
		nats_link_err(err, sizeof(err), "watch", s);
		log_warn("fleet_watch_failed", "appliance=%s reason=\"%s\"", w->id, err);
		set_error(w, "watch", err);
		return -1;
	}
	if (!e)
		return 0; /* the end of the initial values */
	if (kvEntry_Operation(e) == kvOp_Put)
		handle(w, e);
	kvEntry_Destroy(e);
	return 0;
}

static void *run(void *arg)
{
	struct kv_watch *w = arg;

	while (pause_ms(w, 0)) {
		if (!w->bw && open_watches(w)) {
			pause_ms(w, RETRY_MS);
			continue;
		}
		if (next(w, w->bw, on_bundle) || next(w, w->cw, on_challenge)) {
			close_watches(w);
			pause_ms(w, RETRY_MS);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- start, stop */

static int connect_nats(struct kv_watch *w, char *err, size_t errlen)
{
	const char *urls[FLEET_MAX_SERVERS];
	char name[FLEET_NAME_MAX + 8];
	struct nats_link_opts o = { .servers = urls, .n_servers = (int)w->cfg.set.n_servers,
				    .name = name, .wait_for_server = true };
	natsStatus s;

	for (unsigned i = 0; i < w->cfg.set.n_servers; i++)
		urls[i] = w->cfg.set.servers[i];
	snprintf(name, sizeof(name), "%s-watch", w->id);
	if (nats_link_connect(&w->nc, &o, err, errlen))
		return -1;
	s = natsConnection_JetStream(&w->js, w->nc, NULL);
	return s == NATS_OK ? 0 : nats_link_err(err, errlen, "jetstream", s);
}

struct kv_watch *kv_watch_start(const struct kv_watch_config *c, char *err, size_t errlen)
{
	struct kv_watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = *c;
	snprintf(w->id, sizeof(w->id), "%s", c->appliance_id);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (connect_nats(w, err, errlen)) {
		kv_watch_stop(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, run, w)) {
		err_set(err, errlen, "cannot start the fleet watch thread");
		kv_watch_stop(w);
		return NULL;
	}
	w->started = true;
	pthread_setname_np(w->thread, "et-fleetwatch");
	return w;
}

void kv_watch_stop(struct kv_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	close_watches(w);
	jsCtx_Destroy(w->js);
	if (w->nc) {
		natsConnection_Close(w->nc);
		natsConnection_Destroy(w->nc);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
