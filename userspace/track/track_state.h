/* SPDX-License-Identifier: MIT */
/*
 * What the tracking routes need to answer a request, built once from a validated config:
 * the domain table (exact + wildcard, O(1)), per-domain answers precomputed (HSTS header,
 * ACME thumbprint) and the token keyring. Immutable after build; shared by all workers
 * through a snapshot slot and replaced whole on reload.
 */
#ifndef ET_TRACK_STATE_H
#define ET_TRACK_STATE_H

#include "core/config.h"
#include "core/snapshot.h"

#include <stdbool.h>
#include <stddef.h>

struct token_keyring;
struct domain_table;

struct track_domain {
	const struct config_domain *conf;
	const char *thumbprint;   /* stateless ACME answer, NULL when none configured */
	bool https_redirect;      /* plain-HTTP tracking routes answer 308 to https:// */
	char *hsts;               /* "Strict-Transport-Security: ...\r\n", or NULL: most of
				     100,000 domains have none, so none carries a buffer for it */
	unsigned hsts_len;
};

struct track_state {
	struct snapshot snap;
	struct config *cfg;
	struct domain_table *table;
	struct track_domain *domains;
	struct token_keyring *keys;
};

/* Takes ownership of cfg on success; NULL with err (cfg still the caller's) on failure. */
struct snapshot *track_state_build(struct config *cfg, char *err, size_t errlen);
struct track_state *track_state_of(struct snapshot *s);
/* host must be normalized (core/hostname.h). */
const struct track_domain *track_state_lookup(const struct track_state *st, const char *host,
					      size_t len);

#endif
