// SPDX-License-Identifier: MIT
#include "core/version.h"
#include "server/fleet_link.h"

#include "core/err.h"
#include "server/server.h"

#ifdef CONFIG_FLEET
#include "bundle/bundle.h"
#include "bundle/identity.h"
#include "certs/cert_store.h"
#include "core/log.h"
#include "fleet/fleet_settings.h"
#include "fleet/kv_watch.h"
#include "fleet/shipper.h"
#include "journal/record_json.h"
#include "server/mgmt.h"
#include "track/track_state.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The watch's side on the server: where a bundle from the bucket is written for the apply
   path, and the watch itself. */
struct fleet_in {
	struct server *srv;
	char dir[PATH_MAX];
	struct kv_watch *watch;
};

static int settings_of(const struct config *cfg, struct fleet_settings *set, char *err,
		       size_t errlen)
{
	char why[256];

	fleet_settings_default(set);
	if (fleet_settings_parse(cfg->nats, set, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
	return 0;
}

int fleet_link_check(const struct config *cfg, char *err, size_t errlen)
{
	struct fleet_settings set;

	return cfg->nats ? settings_of(cfg, &set, err, errlen) : 0;
}

static void state_dir(const struct config *cfg, char *out, size_t cap)
{
	snprintf(out, cap, "%.200s/fleet", cfg->data_dir);
}

int fleet_link_hold(const struct config *cfg, struct journal_settings *js, char *err,
		    size_t errlen)
{
	char dir[PATH_MAX], why[256];
	uint64_t cursor = 0;

	if (!cfg->nats)
		return 0;
	state_dir(cfg, dir, sizeof(dir));
	if (shipper_cursor_read(dir, &cursor, why, sizeof(why)))
		return err_set(err, errlen, "fleet cursor: %s", why);
	js->hold_from = cursor + 1;
	return 0;
}

/* The serial served, and the watch's last refusal when it is the latest error. */
static void fill_bundle(struct server *srv, json_t *status)
{
	uint64_t cur, highest, at = 0, shipper_at = 0;
	char last[256] = "";

	if (mgmt_serials(srv->mgmt, &cur, &highest))
		json_object_set_new(status, "bundle_serial", json_u64(cur));
	if (!srv->fleet_in)
		return;
	kv_watch_last_error(srv->fleet_in->watch, last, sizeof(last), &at);
	json_u64_value(json_object_get(status, "last_error_at"), &shipper_at);
	if (last[0] && at >= shipper_at) {
		json_object_set_new(status, "last_error", json_string(last));
		json_object_set_new(status, "last_error_at", json_u64(at));
	}
}

/* Certificates by state, for the status bucket: a domain whose cert serves and has not
   expired is issued; one without (or expired) is unknown. Orders in flight are the
   operator's to know (pending stays 0 here). */
static void fill_status(void *arg, json_t *status)
{
	struct server *srv = arg;
	struct snapshot *snap = snapshot_get(&srv->state);
	const struct config *cfg = track_state_of(snap)->cfg;
	uint64_t issued = 0, unknown = 0;
	time_t now = time(NULL);

	for (unsigned i = 0; i < cfg->n_domains; i++) {
		struct cert_info info;
		bool ok = srv->certs && cert_store_lookup(srv->certs, cfg->domains[i].name, &info) == 0 &&
			  info.not_after > now;

		issued += ok;
		unknown += !ok;
	}
	snapshot_put(snap);
	json_object_set_new(status, "certs", json_pack("{s:o,s:i,s:o}", "issued", json_u64(issued),
						       "pending", 0, "unknown", json_u64(unknown)));
	fill_bundle(srv, status);
}


/* ---------------------------------------------------------------- bundles and challenges in */

struct job_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* On the control thread, once the job ran (or was answered 503 while draining). */
static void job_done(struct mgmt_job *j)
{
	struct job_wait *jw = j->done_arg;

	pthread_mutex_lock(&jw->mu);
	jw->done = true;
	pthread_cond_signal(&jw->cv);
	pthread_mutex_unlock(&jw->mu);
}

/* Runs j on the control thread as the management API's requests run, and waits for it: the
   HTTP status it answered, why with the answer's reason when not 200. Frees j. */
static int run_job(struct server *srv, struct mgmt_job *j, char *why, size_t len)
{
	struct job_wait jw = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	json_t *answer;
	int status;

	j->done = job_done;
	j->done_arg = &jw;
	if (mgmt_submit(srv->mgmt, j)) {
		mgmt_job_free(j);
		return err_set(why, len, "shutting down");
	}
	pthread_mutex_lock(&jw.mu);
	while (!jw.done)
		pthread_cond_wait(&jw.cv, &jw.mu);
	pthread_mutex_unlock(&jw.mu);
	pthread_cond_destroy(&jw.cv);
	pthread_mutex_destroy(&jw.mu);
	status = j->status;
	answer = j->answer ? json_loads(j->answer, 0, NULL) : NULL;
	if (status != 200)
		err_set(why, len, "%s", json_string_value(json_object_get(answer, "reason"))
					    ? json_string_value(json_object_get(answer, "reason"))
					    : "no answer");
	json_decref(answer);
	mgmt_job_free(j);
	return status;
}

/* The bucket's bundle as a file for the apply path (which removes it). */
static int bundle_file(const struct fleet_in *fi, const void *data, size_t len, char *path,
		       size_t cap, char *why, size_t whylen)
{
	int fd;

	if ((size_t)snprintf(path, cap, "%.*s/bundle-XXXXXX", (int)(cap - 16), fi->dir) >= cap)
		return err_set(why, whylen, "%s: path too long", fi->dir);
	fd = mkstemp(path);
	if (fd < 0)
		return err_set(why, whylen, "%s: %s", path, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len) {
		err_set(why, whylen, "%s: %s", path, strerror(errno ? errno : EIO));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int take_bundle(void *arg, const void *data, size_t len, uint64_t revision, char *why,
		       size_t whylen)
{
	struct fleet_in *fi = arg;
	uint64_t serial, cur, highest;
	char path[PATH_MAX], err[CONFIG_ERR_MAX];
	struct mgmt_job *j;

	if (bundle_peek(data, len, &serial, why, whylen))
		return -1;
	mgmt_serials(fi->srv->mgmt, &cur, &highest);
	if (serial <= highest && mgmt_takes_bundles(fi->srv->mgmt)) {
		log_info("fleet_bundle_skipped", "serial=%" PRIu64 " revision=%" PRIu64
			 " applied=%" PRIu64, serial, revision, highest);
		return 0;
	}
	if (bundle_file(fi, data, len, path, sizeof(path), why, whylen))
		return -1;
	j = mgmt_job_new(MGMT_BUNDLE, 0, NULL, path, strlen(path));
	if (!j) {
		unlink(path);
		return err_set(why, whylen, "out of memory");
	}
	if (run_job(fi->srv, j, err, sizeof(err)) != 200)
		return err_set(why, whylen, "serial %" PRIu64 ": %s", serial, err);
	log_info("fleet_bundle_applied", "serial=%" PRIu64 " revision=%" PRIu64, serial, revision);
	return 0;
}

static int take_challenge(void *arg, const struct kv_challenge *c, char *why, size_t whylen)
{
	struct fleet_in *fi = arg;
	json_t *o = json_pack("{s:s,s:s}", "token", c->token, "key_authorization",
			      c->key_authorization);
	char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct mgmt_job *j = body ? mgmt_job_new(MGMT_CHALLENGE, 0, NULL, body, strlen(body)) : NULL;

	json_decref(o);
	free(body);
	if (!j)
		return err_set(why, whylen, "out of memory");
	j->expires = (time_t)c->expires_at;
	if (run_job(fi->srv, j, why, whylen) != 200)
		return -1;
	log_info("fleet_challenge_added", "token=%s expires_at=%" PRIu64, c->token, c->expires_at);
	return 0;
}

static int start_watch(struct server *srv, const struct fleet_settings *set, const char *dir,
		       char *err, size_t errlen)
{
	struct fleet_in *fi = calloc(1, sizeof(*fi));
	struct kv_watch_config wc = { .set = *set, .appliance_id = set->appliance_id,
				      .hooks = { .bundle = take_bundle,
						 .challenge = take_challenge } };

	if (!fi)
		return err_set(err, errlen, "out of memory");
	if (mkdir(dir, 0750) && errno != EEXIST) {
		free(fi);
		return err_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
	}
	fi->srv = srv;
	snprintf(fi->dir, sizeof(fi->dir), "%s", dir);
	wc.hooks.arg = fi;
	fi->watch = kv_watch_start(&wc, err, errlen);
	if (!fi->watch) {
		free(fi);
		return -1;
	}
	srv->fleet_in = fi;
	return 0;
}

static void stop_watch(struct server *srv)
{
	if (!srv->fleet_in)
		return;
	/* a hook waiting for the control thread gets its answer (503) and returns */
	mgmt_close(srv);
	kv_watch_stop(srv->fleet_in->watch);
	free(srv->fleet_in);
	srv->fleet_in = NULL;
}

int fleet_link_start(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct shipper_config sc = { .journal_dir = srv->journal_cfg.dir, .version = EDGETRACK_VERSION,
				     .journal = srv->journal, .status_fill = fill_status,
				     .status_arg = srv };
	char dir[PATH_MAX], id_dir[PATH_MAX];
	struct identity id;

	if (!cfg->nats)
		return 0;
	if (settings_of(cfg, &sc.set, err, errlen))
		return -1;
	state_dir(cfg, dir, sizeof(dir));
	sc.state_dir = dir;
	if (!sc.set.appliance_id[0]) {
		snprintf(id_dir, sizeof(id_dir), "%.200s/identity", cfg->data_dir);
		if (identity_open(id_dir, &id, err, errlen))
			return -1;
		snprintf(sc.set.appliance_id, sizeof(sc.set.appliance_id), "%s", id.id);
		identity_wipe(&id);
	}
	sc.appliance_id = sc.set.appliance_id;
	/* the watch first: the shipper's status reads it */
	if (start_watch(srv, &sc.set, dir, err, errlen))
		return -1;
	srv->shipper = shipper_start(&sc, err, errlen);
	return srv->shipper ? 0 : -1;
}

void fleet_link_status(struct server *srv, json_t *o)
{
	struct shipper_stats st;

	if (!srv->shipper)
		return;
	shipper_stats_get(srv->shipper, &st);
	json_object_set_new(o, "fleet", json_pack("{sIsIsIsIsIsIsIsIsb}",
		"shipped_seq", (json_int_t)st.cursor, "published", (json_int_t)st.published,
		"acked", (json_int_t)st.acked, "failed", (json_int_t)st.failed,
		"rewinds", (json_int_t)st.rewinds, "gap_events", (json_int_t)st.gap_events,
		"bytes_records", (json_int_t)st.bytes_records,
		"bytes_sent", (json_int_t)st.bytes_sent, "connected", (int)st.connected));
}

void fleet_link_stop(struct server *srv)
{
	shipper_stop(srv->shipper);
	srv->shipper = NULL;
	stop_watch(srv);
}

#else /* no CONFIG_FLEET */

int fleet_link_check(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->nats)
		return 0;
	return err_set(err, errlen, "%s: nats: this build has no fleet support (CONFIG_FLEET)",
		       cfg->source);
}

int fleet_link_hold(const struct config *cfg, struct journal_settings *js, char *err,
		    size_t errlen)
{
	(void)js;
	return fleet_link_check(cfg, err, errlen);
}

int fleet_link_start(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	(void)srv;
	return fleet_link_check(cfg, err, errlen);
}

void fleet_link_status(struct server *srv, json_t *o)
{
	(void)srv;
	(void)o;
}

void fleet_link_stop(struct server *srv)
{
	(void)srv;
}
#endif
