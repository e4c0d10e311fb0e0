// SPDX-License-Identifier: MIT
#include "core/version.h"
#include "server/fleet_link.h"

#include "core/err.h"
#include "server/server.h"

#ifdef CONFIG_FLEET
#include "bundle/identity.h"
#include "certs/cert_store.h"
#include "core/log.h"
#include "fleet/fleet_settings.h"
#include "fleet/shipper.h"
#include "journal/record_json.h"
#include "track/track_state.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

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
	srv->shipper = shipper_start(&sc, err, errlen);
	return srv->shipper ? 0 : -1;
}

void fleet_link_status(struct server *srv, json_t *o)
{
	struct shipper_stats st;

	if (!srv->shipper)
		return;
	shipper_stats_get(srv->shipper, &st);
	json_object_set_new(o, "fleet", json_pack("{sIsIsIsIsIsIsb}",
		"shipped_seq", (json_int_t)st.cursor, "published", (json_int_t)st.published,
		"acked", (json_int_t)st.acked, "failed", (json_int_t)st.failed,
		"rewinds", (json_int_t)st.rewinds, "gap_events", (json_int_t)st.gap_events,
		"connected", (int)st.connected));
}

void fleet_link_stop(struct server *srv)
{
	shipper_stop(srv->shipper);
	srv->shipper = NULL;
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
