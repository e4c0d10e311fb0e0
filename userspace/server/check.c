// SPDX-License-Identifier: MIT
/*
 * A config checked as a whole without serving it: what --check-config runs and what a bundle's
 * config must pass before anything on the appliance changes.
 */
#include "server/fleet_link.h"
#include "server/server.h"

#include "core/err.h"
#include "server/mgmt.h"
#include "track/track_state.h"
#ifdef CONFIG_TLS
#include "tls/tls.h"
#endif
#ifdef CONFIG_XDP
#include "xdp/xdp.h"
#endif

#include <stdio.h>

/* The sub-objects other subsystems parse when they start. */
static int check_objects(const struct config *cfg, char *err, size_t errlen)
{
	struct journal_settings js;
	char why[256];

	journal_settings_default(&js);
	if (cfg->journal && journal_settings_parse(cfg->journal, &js, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
#ifdef CONFIG_TLS
	struct tls_settings ts;

	tls_settings_default(&ts);
	if (cfg->tls && tls_settings_parse(cfg->tls, &ts, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
#endif
#ifdef CONFIG_XDP
	struct xdp_settings xs;

	if (xdp_settings_parse(cfg->xdp, &xs, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
	xdp_settings_free(&xs);
#else
	if (cfg->xdp)
		return err_set(err, errlen, "%s: xdp: this build has no XDP support (CONFIG_XDP)",
			       cfg->source);
#endif
	return 0;
}

/* The management listener's certificate, key and client CA load and fit together. */
static int check_management(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_server *t;

	if (!cfg->management.enabled)
		return 0;
	t = mgmt_tls_new(&cfg->management, err, errlen);
	if (!t)
		return -1;
#ifdef CONFIG_TLS
	tls_server_free(t);
#endif
	return 0;
}

int server_check_config(struct config *cfg, char *err, size_t errlen)
{
	struct snapshot *st;

	if (check_objects(cfg, err, errlen) || check_management(cfg, err, errlen) ||
	    fleet_link_check(cfg, err, errlen)) {
		config_free(cfg);
		return -1;
	}
	/* building the runtime state also checks what only the whole can show (duplicates) */
	st = track_state_build(cfg, err, errlen);
	if (!st) {
		config_free(cfg);
		return -1;
	}
	snapshot_put(st);
	return 0;
}
