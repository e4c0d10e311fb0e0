/* SPDX-License-Identifier: MIT */
/*
 * The NATS side shared by the appliance's shipper and the operator's commands: connecting
 * (reconnecting for ever, noticing a dead link within a few seconds), the events stream and
 * the status bucket. Errors come back as text with the library's reason.
 */
#ifndef ET_FLEET_NATS_LINK_H
#define ET_FLEET_NATS_LINK_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

struct nats_link_opts {
	const char *const *servers;
	int n_servers;
	const char *name;          /* shown by the server (connz) */
	bool wait_for_server;      /* start even when no server answers yet: the connection is
				      made in the background (and reconnected() called then) */
	natsConnectionHandler disconnected, reconnected, closed; /* may be NULL */
	void *closure;
};

/* 0 and *nc, or -1 with err. With wait_for_server *nc is usable at once: publishes are
   buffered until a server answers. */
int nats_link_connect(natsConnection **nc, const struct nats_link_opts *o, char *err,
		      size_t errlen);

/* "nats://a:1,nats://b:2" (the CLI's --nats) split in place into at most max URLs. */
int nats_link_split_urls(char *list, const char **urls, int max);

/* The events stream: subjects edgetrack.events.>, file storage, the given replicas, made
   when missing (an existing stream is used as it is). 0 or -1 with err. */
int nats_link_stream(jsCtx *js, const char *stream, unsigned replicas, char *err,
		     size_t errlen);

/* The status bucket (made when missing and create is set). 0 or -1 with err. */
int nats_link_bucket(kvStore **kv, jsCtx *js, const char *bucket, unsigned replicas,
		     bool create, char *err, size_t errlen);

/* err = "what: <library text>"; always -1. */
int nats_link_err(char *err, size_t errlen, const char *what, natsStatus s);

#endif
