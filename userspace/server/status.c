// SPDX-License-Identifier: MIT
/*
 * What a running edgetrackd reports about itself: the control socket's `status` and the
 * management API's GET /v1/status print the same object.
 */
#include "server/server.h"

#include "acme/challenge.h"
#include "core/version.h"
#include "server/fleet_link.h"
#include "server/mgmt.h"
#include "server/state.h"
#include "track/track_state.h"
#ifdef CONFIG_TLS
#include "certs/cert_store.h"
#endif

#include <time.h>

enum cert_state { CERT_VALID, CERT_EXPIRING, CERT_EXPIRED, CERT_MISSING, CERT__COUNT };

static enum cert_state cert_state_of(struct server *srv, const char *domain, time_t now)
{
#ifdef CONFIG_TLS
	struct cert_info ci;

	if (!srv->certs || cert_store_lookup(srv->certs, domain, &ci))
		return CERT_MISSING;
	if (now > ci.not_after)
		return CERT_EXPIRED;
	/* renewal starts when a third of the lifetime is left */
	if (ci.not_after - now < (ci.not_after - ci.not_before) / 3)
		return CERT_EXPIRING;
	return CERT_VALID;
#else
	(void)srv, (void)domain, (void)now;
	return CERT_MISSING;
#endif
}

/* Configured domains by the state of the certificate that serves them. */
static json_t *certs_by_state(struct server *srv, const struct config *cfg)
{
	size_t n[CERT__COUNT] = { 0 };
	time_t now = time(NULL);

	for (unsigned i = 0; i < cfg->n_domains; i++)
		n[cert_state_of(srv, cfg->domains[i].name, now)]++;
	return json_pack("{sIsIsIsI}", "valid", (json_int_t)n[CERT_VALID], "expiring",
			 (json_int_t)n[CERT_EXPIRING], "expired", (json_int_t)n[CERT_EXPIRED],
			 "missing", (json_int_t)n[CERT_MISSING]);
}

static json_t *counters(struct server *srv, json_t *o)
{
	uint64_t ctr[CTR__COUNT], routes[ROUTE__COUNT], open;
	json_t *r = json_object();

	server_counters_sum(srv, ctr, routes, &open);
	json_object_set_new(o, "open_connections", json_integer((json_int_t)open));
	json_object_set_new(o, "challenges",
			    json_integer((json_int_t)challenge_table_count(srv->ctable)));
	for (unsigned i = 0; i < CTR__COUNT; i++)
		json_object_set_new(o, server_counter_name(i), json_integer((json_int_t)ctr[i]));
	for (unsigned i = 0; i < ROUTE__COUNT; i++)
		json_object_set_new(r, route_outcome_name(i), json_integer((json_int_t)routes[i]));
	json_object_set_new(o, "routes", r);
	return o;
}

/* The generation serving and the serials: applied (current's) and the highest ever taken. */
static void state_of(const struct config *cfg, json_t *o)
{
	struct state_store st;
	uint64_t serial = 0;
	char gen[64];
	bool has = false;

	state_init(&st, cfg->data_dir);
	has = !state_current(&st, gen, sizeof(gen), &serial);
	json_object_set_new(o, "generation", has ? json_string(gen) : json_null());
	json_object_set_new(o, "serial", json_integer((json_int_t)serial));
	json_object_set_new(o, "highest_serial",
			    json_integer((json_int_t)state_highest_serial(&st)));
}

json_t *server_status(struct server *srv)
{
	struct snapshot *s = snapshot_get(&srv->state);
	const struct config *cfg = track_state_of(s)->cfg;
	const char *id = srv->mgmt ? mgmt_appliance_id(srv->mgmt) : cfg->management.appliance_id;
	json_t *o = json_pack("{sIsIss}", "workers", (json_int_t)srv->n_workers, "domains",
			      (json_int_t)cfg->n_domains, "config", cfg->source);

	counters(srv, o);
	json_object_set_new(o, "version", json_string(EDGETRACK_VERSION));
	json_object_set_new(o, "appliance_id", id[0] ? json_string(id) : json_null());
	state_of(cfg, o);
	json_object_set_new(o, "certs", certs_by_state(srv, cfg));
	fleet_link_status(srv, o);
	snapshot_put(s);
	return o;
}
