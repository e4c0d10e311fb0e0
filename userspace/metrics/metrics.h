/* SPDX-License-Identifier: MIT */
/*
 * The control thread's side of the metrics: answering GET /metrics and GET / (jobs the
 * workers hand over, see server/mgmt.h), the ring of rate samples behind the status page's
 * chart, and what the cert store's loads rejected. Everything here runs on the control
 * thread: the workers only count (wstats.h), so a scrape costs the tracking path nothing
 * but the few bytes of its own request.
 */
#ifndef ET_METRICS_METRICS_H
#define ET_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct mgmt_job;
struct server;

/* A rate sample every RATE_STEP_S, the last RATE_SAMPLES of them (ten minutes). */
#define RATE_STEP_S  10
#define RATE_SAMPLES 61

struct rate_sample {
	int64_t t;               /* unix seconds */
	uint64_t requests, events;
};

struct metrics *metrics_new(char *err, size_t errlen);
void metrics_free(struct metrics *m);
/* Readable every RATE_STEP_S: call metrics_tick. */
int metrics_fd(const struct metrics *m);
void metrics_tick(struct server *srv);
/* Answers a MGMT_METRICS or MGMT_PAGE job. */
void metrics_run_job(struct server *srv, struct mgmt_job *j);

/* Sets the job's answer: 200 with body (taken over), or 500 when body is NULL (out of
 * memory while writing it). */
void metrics_job_answer(struct mgmt_job *j, char *body, size_t len, const char *type);

/* The rate samples, oldest first; returns how many (at most RATE_SAMPLES). */
size_t metrics_rates(const struct metrics *m, struct rate_sample *out);

/* The cert store's loads: a load of the whole directory (domain NULL) or of one domain
 * begins, then each pair it rejects is reported, so the status page can say why a domain
 * has no certificate. */
void metrics_certs_loading(struct metrics *m, const char *domain);
void metrics_cert_rejected(struct metrics *m, const char *domain, const char *reason);
/* Why domain's pair was rejected, or NULL. */
const char *metrics_cert_note(const struct metrics *m, const char *domain);
/* Bumps on every change of the notes. */
uint64_t metrics_notes_generation(const struct metrics *m);

/* The view of the domains' certificates (certview.h). A page or a scrape takes it as it is
 * (built now only when there is none): building it for 100,000 domains takes 100 ms or more,
 * which is paid by metrics_refresh after what changes it, never by a waiting request. */
struct certview;
struct certview *metrics_certview(struct server *srv);
/* Builds the view again when the config, the certificates or the notes changed, or a
 * certificate's validity began or ended: the control thread calls it after reloads, bundles
 * and control commands, and on every tick. */
void metrics_refresh(struct server *srv);

#endif
