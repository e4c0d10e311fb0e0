// SPDX-License-Identifier: MIT
#include "track/track_state.h"

#include "core/domain_table.h"
#include "track/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct track_state *track_state_of(struct snapshot *s)
{
	return (struct track_state *)((char *)s - offsetof(struct track_state, snap));
}

static void state_free(struct track_state *st, bool free_cfg)
{
	if (st->table)
		domain_table_free(st->table, NULL);
	if (st->keys)
		token_keyring_free(st->keys);
	for (unsigned i = 0; st->domains && i < st->cfg->n_domains; i++)
		free(st->domains[i].hsts);
	free(st->domains);
	if (free_cfg)
		config_free(st->cfg);
	free(st);
}

static void state_release(struct snapshot *s)
{
	state_free(track_state_of(s), true);
}

/* 0, or -1 when out of memory. */
static int domain_prepare(struct track_domain *d, const struct config_domain *c,
			  const struct config *cfg)
{
	char hsts[160];
	int n;

	d->conf = c;
	d->thumbprint = c->acme_thumbprint[0] ? c->acme_thumbprint
			: cfg->n_thumbprints   ? cfg->thumbprints[0]
					       : NULL;
	/* HTTPS turned off for a domain: its cert stays loaded for old links, but nothing
	 * pushes clients towards HTTPS any more */
	d->https_redirect = c->https && c->https_redirect;
	if (!c->hsts_max_age || !c->https)
		return 0;
	n = snprintf(hsts, sizeof(hsts), "Strict-Transport-Security: max-age=%u%s%s\r\n",
		     c->hsts_max_age, c->hsts_subdomains ? "; includeSubDomains" : "",
		     c->hsts_preload ? "; preload" : "");
	d->hsts = strndup(hsts, (size_t)n);
	d->hsts_len = (unsigned)n;
	return d->hsts ? 0 : -1;
}

static int build_keys(struct track_state *st, char *err, size_t errlen)
{
	const struct config *cfg = st->cfg;

	st->keys = token_keyring_new();
	if (!st->keys) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_keys; i++) {
		const struct config_key *k = &cfg->keys[i];
		if (token_keyring_add(st->keys, k->id, k->secret, k->len, err, errlen))
			return -1;
	}
	return token_keyring_set_current(st->keys, cfg->current_key);
}

static int build_domains(struct track_state *st, char *err, size_t errlen)
{
	const struct config *cfg = st->cfg;

	st->domains = calloc(cfg->n_domains, sizeof(*st->domains));
	st->table = domain_table_new(cfg->n_domains);
	if (!st->domains || !st->table) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_domains; i++) {
		const struct config_domain *c = &cfg->domains[i];
		struct track_domain *d = &st->domains[i];
		char why[128];

		if (domain_prepare(d, c, cfg)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (domain_table_add(st->table, c->name, strlen(c->name), d, why, sizeof(why))) {
			snprintf(err, errlen, "%s: domains[%u]: %s", cfg->source, i, why);
			return -1;
		}
	}
	return 0;
}

struct snapshot *track_state_build(struct config *cfg, char *err, size_t errlen)
{
	struct track_state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->cfg = cfg;
	if (build_keys(st, err, errlen) || build_domains(st, err, errlen)) {
		state_free(st, false);
		return NULL;
	}
	snapshot_init(&st->snap, state_release);
	return &st->snap;
}

const struct track_domain *track_state_lookup(const struct track_state *st, const char *host,
					      size_t len)
{
	return domain_table_lookup(st->table, host, len);
}
