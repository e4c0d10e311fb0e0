// SPDX-License-Identifier: MIT
/*
 * The control thread's metrics state: a timerfd that takes a rate sample every RATE_STEP_S,
 * the ring of samples, the cert store's rejection notes, the cached certificate view, and
 * the dispatch of the workers' GET /metrics and GET / jobs.
 */
#include "metrics/metrics.h"

#include "core/err.h"
#include "metrics/certview.h"
#include "metrics/collect.h"
#include "metrics/page.h"
#include "server/mgmt.h"
#include "server/server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct note {
	char *domain, *reason;
};

struct metrics {
	int tfd;
	struct rate_sample ring[RATE_SAMPLES];
	size_t ring_head, ring_n;      /* next slot, samples held */
	/* rejection notes: appended by loads, sorted on the first lookup after a change */
	struct note *notes;
	size_t n_notes, cap_notes;
	bool notes_sorted;
	uint64_t notes_gen;
	struct certview *view;
};

struct metrics *metrics_new(char *err, size_t errlen)
{
	struct itimerspec every = { .it_interval = { RATE_STEP_S, 0 }, .it_value = { RATE_STEP_S, 0 } };
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->tfd < 0 || timerfd_settime(m->tfd, 0, &every, NULL)) {
		err_set(err, errlen, "metrics timer: %s", strerror(errno));
		metrics_free(m);
		return NULL;
	}
	return m;
}

static void notes_clear(struct metrics *m)
{
	for (size_t i = 0; i < m->n_notes; i++) {
		free(m->notes[i].domain);
		free(m->notes[i].reason);
	}
	m->n_notes = 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->tfd >= 0)
		close(m->tfd);
	notes_clear(m);
	free(m->notes);
	certview_free(m->view);
	free(m);
}

int metrics_fd(const struct metrics *m)
{
	return m ? m->tfd : -1;
}

/* ---------------------------------------------------------------- rates */

void metrics_tick(struct server *srv)
{
	struct metrics *m = srv->metrics;
	uint64_t expirations, ctr[CTR__COUNT], routes[ROUTE__COUNT], open;
	struct rate_sample *s = &m->ring[m->ring_head];

	if (read(m->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	server_counters_sum(srv, ctr, routes, &open);
	s->t = time(NULL);
	s->requests = ctr[CTR_REQUESTS];
	s->events = ctr[CTR_EVENTS];
	m->ring_head = (m->ring_head + 1) % RATE_SAMPLES;
	if (m->ring_n < RATE_SAMPLES)
		m->ring_n++;
	/* certificates expire with time alone */
	metrics_refresh(srv);
}

size_t metrics_rates(const struct metrics *m, struct rate_sample *out)
{
	size_t first = (m->ring_head + RATE_SAMPLES - m->ring_n) % RATE_SAMPLES;

	for (size_t i = 0; i < m->ring_n; i++)
		out[i] = m->ring[(first + i) % RATE_SAMPLES];
	return m->ring_n;
}

/* ---------------------------------------------------------------- rejection notes */

static void note_drop(struct metrics *m, const char *domain)
{
	for (size_t i = 0; i < m->n_notes; i++) {
		if (strcmp(m->notes[i].domain, domain))
			continue;
		free(m->notes[i].domain);
		free(m->notes[i].reason);
		m->notes[i] = m->notes[--m->n_notes];
		m->notes_sorted = false;
		return;
	}
}

void metrics_certs_loading(struct metrics *m, const char *domain)
{
	if (!m)
		return;
	/* a whole directory reports every rejected pair again */
	if (domain)
		note_drop(m, domain);
	else
		notes_clear(m);
	m->notes_gen++;
}

void metrics_cert_rejected(struct metrics *m, const char *domain, const char *reason)
{
	struct note n;

	if (!m)
		return;
	if (m->n_notes == m->cap_notes) {
		size_t cap = m->cap_notes ? m->cap_notes * 2 : 64;
		struct note *v = realloc(m->notes, cap * sizeof(*v));

		if (!v)
			return; /* the page then says "no certificate yet": the log has the reason */
		m->notes = v;
		m->cap_notes = cap;
	}
	n.domain = strdup(domain);
	n.reason = strdup(reason);
	if (!n.domain || !n.reason) {
		free(n.domain);
		free(n.reason);
		return;
	}
	m->notes[m->n_notes++] = n;
	m->notes_sorted = false;
	m->notes_gen++;
}

static int note_cmp(const void *a, const void *b)
{
	return strcmp(((const struct note *)a)->domain, ((const struct note *)b)->domain);
}

const char *metrics_cert_note(const struct metrics *m, const char *domain)
{
	struct metrics *mm = (struct metrics *)m; /* sorting on demand changes no answer */
	struct note key = { .domain = (char *)domain }, *n;

	if (!m->n_notes)
		return NULL;
	if (!m->notes_sorted) {
		qsort(mm->notes, mm->n_notes, sizeof(*mm->notes), note_cmp);
		mm->notes_sorted = true;
	}
	n = bsearch(&key, m->notes, m->n_notes, sizeof(*m->notes), note_cmp);
	return n ? n->reason : NULL;
}

uint64_t metrics_notes_generation(const struct metrics *m)
{
	return m->notes_gen;
}

/* ---------------------------------------------------------------- the view and the jobs */

static void rebuild(struct server *srv)
{
	struct metrics *m = srv->metrics;
	struct certview *v = certview_build(srv, m->view);

	/* out of memory: the old view keeps serving, stale, until a build succeeds */
	if (v) {
		certview_free(m->view);
		m->view = v;
	}
}

struct certview *metrics_certview(struct server *srv)
{
	if (!srv->metrics->view)
		rebuild(srv);
	return srv->metrics->view;
}

void metrics_refresh(struct server *srv)
{
	struct metrics *m = srv->metrics;

	if (!m->view || certview_stale(m->view, srv))
		rebuild(srv);
}

void metrics_job_answer(struct mgmt_job *j, char *body, size_t len, const char *type)
{
	static const char oom[] = "out of memory\n";

	j->status = body ? 200 : 500;
	j->answer = body ? body : strdup(oom);
	j->answer_len = body ? len : sizeof(oom) - 1;
	j->content_type = body ? type : "text/plain; charset=utf-8";
	if (!j->answer) /* not even that: the worker answers its own 500 */
		j->answer_len = 0;
}

void metrics_run_job(struct server *srv, struct mgmt_job *j)
{
	if (j->kind == MGMT_METRICS)
		collect_metrics(srv, j);
	else
		page_render(srv, j);
}
