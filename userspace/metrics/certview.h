/* SPDX-License-Identifier: MIT */
/*
 * The configured domains with the state of the certificate that serves each, built on the
 * control thread for the metrics and the status page:
 *
 *   issued   a certificate within its validity serves the domain
 *   pending  no certificate for it yet (a new domain waits for its first issuance)
 *   unknown  its certificate was refused by the cert store (the note says why), or expired
 *
 * 100,000 domains must render fast and must not become 100,000 series: the view is built
 * once per change of config, certificates or rejection notes, and when a certificate's
 * validity begins or ends, by the control thread after what changed it, keeps the
 * counts per state and the earliest expiry, and three index orders (name, state, expiry) so
 * that a page is a filtered walk, never a sort.
 */
#ifndef ET_METRICS_CERTVIEW_H
#define ET_METRICS_CERTVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;

enum dom_state { DS_ISSUED, DS_PENDING, DS_UNKNOWN, DS__COUNT };

struct dom_row {
	const char *name;        /* the config's, held by the view's snapshot reference */
	const char *note;        /* the cert store's rejection (the view's copy), or NULL */
	int64_t not_before, not_after; /* of the serving certificate; 0 without one */
	uint8_t state;           /* enum dom_state */
};

enum certview_sort { CV_NAME, CV_STATE, CV_EXPIRY, CV__SORTS };

struct certview_query {
	const char *q;           /* substring of the name (lower case); NULL or "": all */
	int state;               /* enum dom_state, or -1 for all */
	enum certview_sort sort;
	bool desc;
	size_t first, max;       /* the matches [first, first + max) are returned */
};

const char *dom_state_name(enum dom_state s);

/* prev (may be NULL): the view this one replaces; its name order is taken over when the
 * config is the same. */
struct certview *certview_build(struct server *srv, const struct certview *prev);
void certview_free(struct certview *v);
/* Config, certificates or notes changed since v was built, or a certificate's validity began
 * or ended since. */
bool certview_stale(const struct certview *v, struct server *srv);

size_t certview_total(const struct certview *v);
size_t certview_count(const struct certview *v, enum dom_state s);
/* How long building the view took, in milliseconds. */
double certview_build_ms(const struct certview *v);
/* The earliest not-after among serving certificates (unix seconds), 0 when none. */
int64_t certview_earliest_expiry(const struct certview *v);
/* Fills out with up to q->max rows of the matches; returns how many match in all. */
size_t certview_select(const struct certview *v, const struct certview_query *q,
		       const struct dom_row **out);

#endif
