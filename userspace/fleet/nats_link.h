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
#include <stdint.h>

struct nats_link_opts {
	const char *const *servers;
	int n_servers;
	const char *name;          /* shown by the server (connz) */
	bool wait_for_server;      /* start even when no server answers yet: the connection is
				      made in the background (and reconnected() called then) */
	bool send_asap;            /* each publish written to the socket by its caller: for a
				      single thread that publishes large messages, the library's
				      flusher thread would only add a wake-up per message */
	int io_buf_size;           /* the library's read and write buffers (0: its 32 KiB); a
				      message that fits goes out in one write, which wakes the
				      server once instead of once per 32 KiB and once more for
				      the closing CRLF */
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

/* A bucket of one value per key (made when missing and create is set). 0 or -1 with err. */
int nats_link_bucket(kvStore **kv, jsCtx *js, const char *bucket, unsigned replicas,
		     bool create, char *err, size_t errlen);
/* The same, values older than max_age_s dropped by the server when it makes the bucket
   (0: kept). An existing bucket is used as it is. */
int nats_link_bucket_aged(kvStore **kv, jsCtx *js, const char *bucket, unsigned replicas,
			  int64_t max_age_s, bool create, char *err, size_t errlen);

/* An operator command's connection to one bucket. */
struct nats_link_kv {
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
};

/* Connects to urls (no waiting for a server) and opens the bucket as nats_link_bucket_aged
   does. 0, or -1 with err (nats_link_kv_close still frees what was made). */
int nats_link_kv_open(struct nats_link_kv *l, const char *const *urls, int n_urls,
		      const char *bucket, unsigned replicas, int64_t max_age_s, bool create,
		      char *err, size_t errlen);
void nats_link_kv_close(struct nats_link_kv *l);

/* err = "what: <library text>"; always -1. */
int nats_link_err(char *err, size_t errlen, const char *what, natsStatus s);

#endif
