/* SPDX-License-Identifier: MIT */
/*
 * edgetrackd's side of the fleet: the "nats" config object, the shipper's start and stop
 * around the journal, and what the shipper reports for the server (certificates by state).
 * Without a "nats" object none of it runs; without CONFIG_FLEET a "nats" object is refused.
 */
#ifndef ET_SERVER_FLEET_LINK_H
#define ET_SERVER_FLEET_LINK_H

#include <jansson.h>
#include <stddef.h>

#include "core/config.h"
#include "journal/journal.h"

struct server;

/* --check-config and start-up: the "nats" object parses (or is absent). 0 or -1 with err. */
int fleet_link_check(const struct config *cfg, char *err, size_t errlen);

/* Before the journal opens: with a "nats" object, retention keeps what is not shipped. */
int fleet_link_hold(const struct config *cfg, struct journal_settings *js, char *err,
		    size_t errlen);

/* After the journal writer started: starts the shipper when the config has "nats". */
int fleet_link_start(struct server *srv, const struct config *cfg, char *err, size_t errlen);

/* For the status (control socket and management API): a "fleet" member with the shipper's
   counters, or nothing without a shipper. */
void fleet_link_status(struct server *srv, json_t *o);

/* Stops the shipper (if any). */
void fleet_link_stop(struct server *srv);

#endif
