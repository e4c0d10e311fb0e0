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


struct certview {
	struct snapshot *snap;       /* the config the names belong to */
	uint64_t cert_gen, notes_gen;
	int64_t due;                 /* a state changes with time alone then (0: never) */
	double build_ms;
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

/* The view keeps its own copy: the notes change with the next load, the view serves on. */
static const char *note_copy(struct server *srv, const char *name)
{
	const char *note = metrics_cert_note(srv->metrics, name);

	return note ? strdup(note) : NULL;
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
		r->note = note_copy(srv, r->name); /* a newer pair refused */
		return;
	}
#endif
	r->note = note_copy(srv, r->name);
	r->state = r->note ? DS_UNKNOWN : DS_PENDING;
}

/*
 * The orders. The name order depends on the config alone, so a view built for the same config
 * takes it over; sorting 100,000 names is most of a build's time otherwise, and names are
 * compared by their first eight bytes as one integer before strcmp. The state order is one
 * stable pass over the name order per state; the expiry order sorts integers only, the rank
 * in the name order breaking ties.
 */
struct name_keys {
	const struct dom_row *rows;
	const uint64_t *prefix;
};

static uint64_t prefix_of(const char *name)
{
	uint64_t k = 0;

	for (int i = 0; i < 8; i++) {
		k = k << 8 | (unsigned char)*name;
		if (*name)
			name++;
	}
	return k;
}

static int by_name(const void *a, const void *b, void *arg)
{
	const struct name_keys *nk = arg;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;

	if (nk->prefix[ia] != nk->prefix[ib])
		return nk->prefix[ia] < nk->prefix[ib] ? -1 : 1;
	return strcmp(nk->rows[ia].name, nk->rows[ib].name);
}

static int name_order(struct certview *v, const struct certview *prev)
{
	struct name_keys nk = { v->rows, NULL };
	uint64_t *prefix;

	if (prev && prev->snap == v->snap && prev->n == v->n) {
		memcpy(v->order[CV_NAME], prev->order[CV_NAME], v->n * sizeof(uint32_t));
		return 0;
	}
	prefix = malloc((v->n ? v->n : 1) * sizeof(*prefix));
	if (!prefix)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		prefix[i] = prefix_of(v->rows[i].name);
		v->order[CV_NAME][i] = (uint32_t)i;
	}
	nk.prefix = prefix;
	qsort_r(v->order[CV_NAME], v->n, sizeof(uint32_t), by_name, &nk);
	free(prefix);
	return 0;
}

/* The states that need an operator first: unknown, pending, issued; by name within each. */
static void state_order(struct certview *v)
{
	static const uint8_t first[DS__COUNT] = { DS_UNKNOWN, DS_PENDING, DS_ISSUED };
	size_t k = 0;

	for (unsigned s = 0; s < DS__COUNT; s++)
		for (size_t i = 0; i < v->n; i++)
			if (v->rows[v->order[CV_NAME][i]].state == first[s])
				v->order[CV_STATE][k++] = v->order[CV_NAME][i];
}

struct expiry_key {
	int64_t not_after;     /* no certificate: last */
	uint32_t rank, row;
};

static int by_expiry(const void *a, const void *b)
{
	const struct expiry_key *ka = a, *kb = b;

	if (ka->not_after != kb->not_after)
		return ka->not_after < kb->not_after ? -1 : 1;
	return ka->rank < kb->rank ? -1 : ka->rank > kb->rank;
}

static int expiry_order(struct certview *v)
{
	struct expiry_key *keys = malloc((v->n ? v->n : 1) * sizeof(*keys));

	if (!keys)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		uint32_t row = v->order[CV_NAME][i];
		int64_t na = v->rows[row].not_after;

		keys[i] = (struct expiry_key){ na ? na : INT64_MAX, (uint32_t)i, row };
	}
	qsort(keys, v->n, sizeof(*keys), by_expiry);
	for (size_t i = 0; i < v->n; i++)
		v->order[CV_EXPIRY][i] = keys[i].row;
	free(keys);
	return 0;
}

static int make_orders(struct certview *v, const struct certview *prev)
{
	for (unsigned k = 0; k < CV__SORTS; k++) {
		v->order[k] = malloc((v->n ? v->n : 1) * sizeof(uint32_t));
		if (!v->order[k])
			return -1;
	}
	if (name_order(v, prev))
		return -1;
	state_order(v);
	return expiry_order(v);
}

/* Certificates change state with time alone: an issued one expires after its not-after, one
 * not valid yet becomes issued at its not-before. The view is built again at the first such
 * moment, not on a schedule. */
static void note_due(struct certview *v, const struct dom_row *r)
{
	int64_t at = r->state == DS_ISSUED			     ? r->not_after + 1
		     : r->state == DS_PENDING && r->not_before ? r->not_before
							       : 0;

	if (at && (!v->due || at < v->due))
		v->due = at;
}

struct certview *certview_build(struct server *srv, const struct certview *prev)
{
	struct certview *v = calloc(1, sizeof(*v));
	const struct config *cfg;
	int64_t now = time(NULL);
	struct timespec t0, t1;

	if (!v)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	v->snap = snapshot_get(&srv->state);
	cfg = track_state_of(v->snap)->cfg;
	v->cert_gen = cert_generation(srv);
	v->notes_gen = metrics_notes_generation(srv->metrics);
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
		note_due(v, r);
	}
	if (make_orders(v, prev)) {
		certview_free(v);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	v->build_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	return v;
}

double certview_build_ms(const struct certview *v)
{
	return v ? v->build_ms : 0;
}

void certview_free(struct certview *v)
{
	if (!v)
		return;
	for (unsigned k = 0; k < CV__SORTS; k++)
		free(v->order[k]);
	for (size_t i = 0; v->rows && i < v->n; i++)
		free((char *)v->rows[i].note);
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
		     (v->due && time(NULL) >= v->due);

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
