// SPDX-License-Identifier: MIT
#include "metrics/certview.h"

#include "metrics/metrics.h"
#include "server/server.h"
#include "track/track_state.h"
#ifdef CONFIG_TLS
#include "certs/cert_store.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Certificates expire with time alone: a view older than this is built again. */
#define VIEW_MAX_AGE_S 60

struct certview {
	struct snapshot *snap;       /* the config the names belong to */
	uint64_t cert_gen, notes_gen;
	int64_t built;
	struct dom_row *rows;
	size_t n;
	uint32_t *order[CV__SORTS];  /* row indexes by name, by state, by expiry */
	size_t count[DS__COUNT];
	int64_t earliest;
};

const char *dom_state_name(enum dom_state s)
{
	static const char *const names[DS__COUNT] = { "issued", "pending", "unknown" };

	return s < DS__COUNT ? names[s] : "unknown";
}

static uint64_t cert_generation(struct server *srv)
{
#ifdef CONFIG_TLS
	struct cert_store_stats st;

	if (!srv->certs)
		return 0;
	cert_store_stats(srv->certs, &st);
	return st.generation;
#else
	(void)srv;
	return 0;
#endif
}

static void classify(struct server *srv, struct dom_row *r, int64_t now)
{
#ifdef CONFIG_TLS
	struct cert_info ci;

	if (srv->certs && !cert_store_lookup(srv->certs, r->name, &ci)) {
		r->not_before = ci.not_before;
		r->not_after = ci.not_after;
		r->state = now > ci.not_after ? DS_UNKNOWN : now < ci.not_before ? DS_PENDING
											 : DS_ISSUED;
		r->note = metrics_cert_note(srv->metrics, r->name); /* a newer pair refused */
		return;
	}
#endif
	r->note = metrics_cert_note(srv->metrics, r->name);
	r->state = r->note ? DS_UNKNOWN : DS_PENDING;
}

static int by_name(const void *a, const void *b, void *arg)
{
	const struct dom_row *rows = arg;

	return strcmp(rows[*(const uint32_t *)a].name, rows[*(const uint32_t *)b].name);
}

static int by_state(const void *a, const void *b, void *arg)
{
	const struct dom_row *ra = (const struct dom_row *)arg + *(const uint32_t *)a;
	const struct dom_row *rb = (const struct dom_row *)arg + *(const uint32_t *)b;

	/* the states that need an operator first: unknown, pending, issued */
	if (ra->state != rb->state)
		return rb->state - ra->state;
	return strcmp(ra->name, rb->name);
}

static int by_expiry(const void *a, const void *b, void *arg)
{
	const struct dom_row *ra = (const struct dom_row *)arg + *(const uint32_t *)a;
	const struct dom_row *rb = (const struct dom_row *)arg + *(const uint32_t *)b;
	/* no certificate sorts last */
	int64_t ea = ra->not_after ? ra->not_after : INT64_MAX;
	int64_t eb = rb->not_after ? rb->not_after : INT64_MAX;

	if (ea != eb)
		return ea < eb ? -1 : 1;
	return strcmp(ra->name, rb->name);
}

static int make_orders(struct certview *v)
{
	static int (*const cmp[CV__SORTS])(const void *, const void *, void *) = {
		by_name, by_state, by_expiry,
	};

	for (unsigned k = 0; k < CV__SORTS; k++) {
		v->order[k] = malloc((v->n ? v->n : 1) * sizeof(uint32_t));
		if (!v->order[k])
			return -1;
		/* each sort starts from the name order: fewer comparisons on a sorted config */
		if (k)
			memcpy(v->order[k], v->order[0], v->n * sizeof(uint32_t));
		else
			for (size_t i = 0; i < v->n; i++)
				v->order[k][i] = (uint32_t)i;
		qsort_r(v->order[k], v->n, sizeof(uint32_t), cmp[k], v->rows);
	}
	return 0;
}

struct certview *certview_build(struct server *srv)
{
	struct certview *v = calloc(1, sizeof(*v));
	const struct config *cfg;
	int64_t now = time(NULL);

	if (!v)
		return NULL;
	v->snap = snapshot_get(&srv->state);
	cfg = track_state_of(v->snap)->cfg;
	v->cert_gen = cert_generation(srv);
	v->notes_gen = metrics_notes_generation(srv->metrics);
	v->built = now;
	v->n = cfg->n_domains;
	v->rows = calloc(v->n ? v->n : 1, sizeof(*v->rows));
	if (!v->rows) {
		certview_free(v);
		return NULL;
	}
	for (size_t i = 0; i < v->n; i++) {
		struct dom_row *r = &v->rows[i];

		r->name = cfg->domains[i].name;
		classify(srv, r, now);
		v->count[r->state]++;
		if (r->state == DS_ISSUED && (!v->earliest || r->not_after < v->earliest))
			v->earliest = r->not_after;
	}
	if (make_orders(v)) {
		certview_free(v);
		return NULL;
	}
	return v;
}

void certview_free(struct certview *v)
{
	if (!v)
		return;
	for (unsigned k = 0; k < CV__SORTS; k++)
		free(v->order[k]);
	free(v->rows);
	if (v->snap)
		snapshot_put(v->snap);
	free(v);
}

bool certview_stale(const struct certview *v, struct server *srv)
{
	struct snapshot *cur = snapshot_get(&srv->state);
	bool stale = cur != v->snap || v->cert_gen != cert_generation(srv) ||
		     v->notes_gen != metrics_notes_generation(srv->metrics) ||
		     time(NULL) - v->built >= VIEW_MAX_AGE_S;

	snapshot_put(cur);
	return stale;
}

size_t certview_total(const struct certview *v)
{
	return v ? v->n : 0;
}

size_t certview_count(const struct certview *v, enum dom_state s)
{
	return v && s < DS__COUNT ? v->count[s] : 0;
}

int64_t certview_earliest_expiry(const struct certview *v)
{
	return v ? v->earliest : 0;
}

static bool matches(const struct dom_row *r, const struct certview_query *q)
{
	if (q->state >= 0 && r->state != q->state)
		return false;
	return !q->q || !q->q[0] || strstr(r->name, q->q);
}

size_t certview_select(const struct certview *v, const struct certview_query *q,
		       const struct dom_row **out)
{
	const uint32_t *order;
	size_t found = 0, got = 0;

	if (!v)
		return 0;
	order = v->order[q->sort < CV__SORTS ? q->sort : CV_NAME];
	for (size_t i = 0; i < v->n; i++) {
		const struct dom_row *r = &v->rows[order[q->desc ? v->n - 1 - i : i]];

		if (!matches(r, q))
			continue;
		if (found >= q->first && got < q->max)
			out[got++] = r;
		found++;
	}
	return found;
}
