// SPDX-License-Identifier: MIT
#include "fleet/nats_link.h"

#include "core/err.h"
#include "fleet/fleet_settings.h"

#include <stdio.h>
#include <string.h>

#define NATS_WAIT_MS 5000

int nats_link_err(char *err, size_t errlen, const char *what, natsStatus s)
{
	const char *last = nats_GetLastError(NULL);

	return err_set(err, errlen, "%s: %s%s%s", what, natsStatus_GetText(s),
		       last && *last ? ": " : "", last ? last : "");
}

static void connected_noop(natsConnection *nc, void *arg)
{
	(void)nc;
	(void)arg;
}

static natsStatus set_opts(natsOptions *opts, const struct nats_link_opts *o)
{
	natsStatus s = natsOptions_SetServers(opts, (const char **)o->servers, o->n_servers);

	if (s == NATS_OK && o->name)
		s = natsOptions_SetName(opts, o->name);
	/* reconnect for ever; a link that stops answering pings is dead after ~3 s, so a cut
	   cable is noticed even when no TCP reset ever comes */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 250);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(opts, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(opts, 2);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	/* with a connected callback the first connect goes on in the background; without one
	   natsConnection_Connect would block until a server answers */
	if (s == NATS_OK && o->wait_for_server)
		s = natsOptions_SetRetryOnFailedConnect(opts, true, o->reconnected ? o->reconnected
										  : connected_noop,
							o->closure);
	if (s == NATS_OK && o->send_asap)
		s = natsOptions_SetSendAsap(opts, true);
	if (s == NATS_OK && o->io_buf_size)
		s = natsOptions_SetIOBufSize(opts, o->io_buf_size);
	if (s == NATS_OK && o->disconnected)
		s = natsOptions_SetDisconnectedCB(opts, o->disconnected, o->closure);
	if (s == NATS_OK && o->reconnected)
		s = natsOptions_SetReconnectedCB(opts, o->reconnected, o->closure);
	if (s == NATS_OK && o->closed)
		s = natsOptions_SetClosedCB(opts, o->closed, o->closure);
	return s;
}

int nats_link_connect(natsConnection **nc, const struct nats_link_opts *o, char *err,
		      size_t errlen)
{
	natsOptions *opts = NULL;
	natsStatus s = natsOptions_Create(&opts);

	*nc = NULL;
	if (s == NATS_OK)
		s = set_opts(opts, o);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	/* with RetryOnFailedConnect the connection exists and keeps trying */
	if (s == NATS_NOT_YET_CONNECTED && *nc)
		return 0;
	if (s != NATS_OK)
		return nats_link_err(err, errlen, "connect", s);
	return 0;
}

int nats_link_split_urls(char *list, const char **urls, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		urls[n++] = tok;
	return n;
}

int nats_link_stream(jsCtx *js, const char *stream, unsigned replicas, char *err,
		     size_t errlen)
{
	const char *subjects[] = { FLEET_SUBJECT_BASE ".>" };
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode code = 0;
	natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &code);

	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND)
		return nats_link_err(err, errlen, "stream info", s);
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = replicas;
	s = js_AddStream(&si, js, &cfg, NULL, &code);
	jsStreamInfo_Destroy(si);
	/* another appliance made it meanwhile: fine */
	if (s != NATS_OK && code != JSStreamNameExistErr)
		return nats_link_err(err, errlen, "add stream", s);
	return 0;
}

int nats_link_bucket(kvStore **kv, jsCtx *js, const char *bucket, unsigned replicas,
		     bool create, char *err, size_t errlen)
{
	return nats_link_bucket_aged(kv, js, bucket, replicas, 0, create, err, errlen);
}

int nats_link_bucket_aged(kvStore **kv, jsCtx *js, const char *bucket, unsigned replicas,
			  int64_t max_age_s, bool create, char *err, size_t errlen)
{
	kvConfig cfg;
	natsStatus s = js_KeyValue(kv, js, bucket);

	if (s == NATS_OK)
		return 0;
	if (s != NATS_NOT_FOUND || !create)
		return nats_link_err(err, errlen, bucket, s);
	kvConfig_Init(&cfg);
	cfg.Bucket = bucket;
	cfg.History = 1;
	cfg.Replicas = (int)replicas;
	cfg.TTL = max_age_s * 1000000000; /* the stream's MaxAge: nanoseconds */
	s = js_CreateKeyValue(kv, js, &cfg);
	if (s != NATS_OK)
		s = js_KeyValue(kv, js, bucket); /* made by another appliance meanwhile */
	return s == NATS_OK ? 0 : nats_link_err(err, errlen, "create bucket", s);
}

int nats_link_kv_open(struct nats_link_kv *l, const char *const *urls, int n_urls,
		      const char *bucket, unsigned replicas, int64_t max_age_s, bool create,
		      char *err, size_t errlen)
{
	struct nats_link_opts lo = { .servers = urls, .n_servers = n_urls,
				     .name = "edgetrackctl" };
	natsStatus s;

	*l = (struct nats_link_kv){ 0 };
	if (nats_link_connect(&l->nc, &lo, err, errlen))
		return -1;
	s = natsConnection_JetStream(&l->js, l->nc, NULL);
	if (s != NATS_OK)
		return nats_link_err(err, errlen, "jetstream", s);
	return nats_link_bucket_aged(&l->kv, l->js, bucket, replicas, max_age_s, create, err,
				     errlen);
}

void nats_link_kv_close(struct nats_link_kv *l)
{
	if (l->kv)
		kvStore_Destroy(l->kv);
	if (l->js)
		jsCtx_Destroy(l->js);
	if (l->nc)
		natsConnection_Destroy(l->nc);
	*l = (struct nats_link_kv){ 0 };
}
