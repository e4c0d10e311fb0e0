/* SPDX-License-Identifier: MIT */
/*
 * The "nats" object of edgetrackd's config: where the fleet's NATS JetStream servers are and
 * how the appliance ships its events and status there. No "nats" object: no fleet at all.
 *
 *   "nats": {"servers": ["nats://10.0.0.1:4222", ...],  required, 1..16 URLs
 *            "stream": "EDGETRACK_EVENTS",               events stream (made if missing)
 *            "replicas": 3,                              its replicas when made here, 1..5
 *            "appliance_id": "pop1-a",                   default: the identity's id
 *            "max_pending": 4096,                        events unacknowledged, 1..65536
 *            "compress": true,                           messages LZ4-compressed (event_msg.h);
 *                                                        false for consumers that predate it
 *            "ack_timeout_ms": 5000,                     a publish unanswered this long is resent
 *            "status_bucket": "edgetrack_status",        KV bucket of appliance status
 *            "status_interval_s": 10,                    status refresh period, 1..3600
 *            "bundle_bucket": "edgetrack_bundles",       KV bucket of signed bundles (watched)
 *            "challenge_bucket": "edgetrack_challenges"} KV bucket of ACME challenge answers
 */
#ifndef ET_FLEET_FLEET_SETTINGS_H
#define ET_FLEET_FLEET_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_MAX_SERVERS  16
#define FLEET_NAME_MAX     64  /* stream, bucket and appliance id names */
#define FLEET_URL_MAX      256
/* events in one stream message at most: the shipper's runs, what the consumer accepts */
#define FLEET_MSG_EVENTS_MAX 1024
#define FLEET_SUBJECT_BASE "edgetrack.events"
#define FLEET_STREAM_DEFAULT "EDGETRACK_EVENTS"
#define FLEET_BUCKET_DEFAULT "edgetrack_status"
#define FLEET_BUNDLE_BUCKET_DEFAULT "edgetrack_bundles"
#define FLEET_CHALLENGE_BUCKET_DEFAULT "edgetrack_challenges"

struct fleet_settings {
	char servers[FLEET_MAX_SERVERS][FLEET_URL_MAX];
	unsigned n_servers;
	char stream[FLEET_NAME_MAX + 1];
	unsigned replicas;
	char appliance_id[FLEET_NAME_MAX + 1]; /* empty: the identity's */
	uint32_t max_pending;
	bool compress;
	uint32_t ack_timeout_ms;
	char status_bucket[FLEET_NAME_MAX + 1];
	uint32_t status_interval_s;
	char bundle_bucket[FLEET_NAME_MAX + 1];
	char challenge_bucket[FLEET_NAME_MAX + 1];
};

void fleet_settings_default(struct fleet_settings *s);

/* Parses the "nats" object on top of the defaults. Unknown members and bad values are
   errors naming the member ("nats.replicas: ..."). 0 or -1. */
int fleet_settings_parse(const json_t *obj, struct fleet_settings *out, char *err,
			 size_t errlen);

/* Stream, bucket and appliance names: 1..64 of [A-Za-z0-9_-] (they become NATS subject
   tokens and stream names). */
int fleet_name_valid(const char *name);

#endif
