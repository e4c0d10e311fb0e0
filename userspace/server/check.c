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

#include <arpa/inet.h>
#include <stdio.h>

#ifdef CONFIG_XDP
static uint16_t listen_port(const struct config_listen *l)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l->addr;

	return ntohs(l->addr.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
}

static bool port_listed(const struct xdp_port_list *l, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == port)
			return true;
	return false;
}

/* XDP in front of the box drops what it is not told to pass: a config (a bundle's above
 * all) that filters the interfaces must let operators reach the management listener, or
 * the appliance locks out the only way to push the config that would undo it. */
static int check_mgmt_reachable(const struct config *cfg, const struct xdp_settings *xs,
				char *err, size_t errlen)
{
	uint16_t port;

	if (!cfg->management.enabled || !xs->enabled || !xs->n_interfaces)
		return 0;
	port = listen_port(&cfg->management.listen);
	if ((port_listed(&xs->mgmt_ports, port) && xs->mgmt_cidrs.n) ||
	    port_listed(&xs->service_ports, port))
		return 0;
	return err_set(err, errlen,
		       "%s: xdp: the management listener's port %u is not in xdp.management.ports "
		       "(with cidrs): XDP would drop every operator connection",
		       cfg->source, port);
}
#endif

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

	int rc;

	if (xdp_settings_parse(cfg->xdp, &xs, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", cfg->source, why);
	rc = check_mgmt_reachable(cfg, &xs, err, errlen);
	xdp_settings_free(&xs);
	if (rc)
		return -1;
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
