// SPDX-License-Identifier: MIT
/* The shipper's NATS connection: connecting, the stream, closing, and the library's
   callbacks, which run on its threads (acknowledgements, disconnects). */
#include "fleet/shipper_int.h"

#include "core/clock.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- library callbacks */

/* The run of seqs a message carried, from its id "<appliance>:<first>[-<last>]"; 0 when the
   id is not one of ours. */
static uint64_t msg_range(natsMsg *m, uint64_t *first)
{
	const char *id = NULL, *colon;
	char *end;
	uint64_t last;

	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK || !id ||
	    !(colon = strrchr(id, ':')))
		return 0;
	*first = last = strtoull(colon + 1, &end, 10);
	if (*end == '-')
		last = strtoull(end + 1, NULL, 10);
	return *first && last >= *first && last - *first < SHIP_BATCH ? last : 0;
}

/* Under mu: the stream stored seq. */
static void acked_one(struct shipper *s, uint64_t seq, uint64_t now)
{
	uint64_t slot = seq & (s->win.cap - 1);

	if (ship_window_room(&s->win, seq) && s->ev_ns[slot])
		lag_hist_add(&s->lag, now > s->ev_ns[slot] ? (now - s->ev_ns[slot]) / 1000000 : 0);
	ship_window_ack(&s->win, seq);
	s->st.acked++;
}

static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *arg)
{
	struct shipper *s = arg;
	uint64_t first = 0, last = msg_range(m, &first);

	(void)js;
	pthread_mutex_lock(&s->mu);
	if (last && pa) {
		uint64_t now = clock_ns(CLOCK_REALTIME);

		for (uint64_t seq = first; seq <= last; seq++)
			acked_one(s, seq, now);
		if (!s->want_acks)
			goto out; /* no wake-up per ack: the thread polls the journal anyway */
	} else if (last) {
		for (uint64_t seq = first; seq <= last; seq++)
			ship_window_failed(&s->win, seq);
		s->rewind = true;
		s->st.failed += last - first + 1;
		ship_set_error(s, "publish", pae && pae->ErrText ? pae->ErrText
					       : natsStatus_GetText(pae ? pae->Err : NATS_ERR));
	}
	s->want_acks = false;
	pthread_cond_signal(&s->cv);
out:
	pthread_mutex_unlock(&s->mu);
	natsMsg_Destroy(m);
}

static void on_disconnected(natsConnection *nc, void *arg)
{
	struct shipper *s = arg;

	(void)nc;
	bool stopping;

	pthread_mutex_lock(&s->mu);
	s->connected = false;
	stopping = s->stop;
	if (!stopping)
		ship_set_error(s, "disconnected from NATS", NULL);
	pthread_mutex_unlock(&s->mu);
	if (!stopping)
		log_warn("fleet_disconnected", "appliance=%s", s->id);
}

/* What was in flight on the old connection may be lost: resend from the cursor (the stream
   drops what it has already). */
static void on_reconnected(natsConnection *nc, void *arg)
{
	struct shipper *s = arg;

	(void)nc;
	pthread_mutex_lock(&s->mu);
	s->connected = true;
	s->rewind = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	log_info("fleet_reconnected", "appliance=%s", s->id);
}

/* The library's last callback: after it none of the others runs, so the shipper may go. */
static void on_closed(natsConnection *nc, void *arg)
{
	struct shipper *s = arg;

	(void)nc;
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- connection */

int ship_connect(struct shipper *s)
{
	const char *urls[FLEET_MAX_SERVERS];
	struct nats_link_opts o = {
		.servers = urls, .n_servers = (int)s->cfg.set.n_servers, .name = s->id,
		.wait_for_server = true, .send_asap = true, .io_buf_size = SHIP_IO_BUF,
		.disconnected = on_disconnected,
		.reconnected = on_reconnected, .closed = on_closed, .closure = s,
	};
	jsOptions jo;
	char err[256];
	natsStatus st;

	for (unsigned i = 0; i < s->cfg.set.n_servers; i++)
		urls[i] = s->cfg.set.servers[i];
	if (nats_link_connect(&s->nc, &o, err, sizeof(err))) {
		log_error("fleet_connect_failed", "reason=\"%s\"", err);
		return -1;
	}
	jsOptions_Init(&jo);
	jo.Wait = s->cfg.set.ack_timeout_ms;
	jo.PublishAsync.MaxPending = SHIP_MSGS_PENDING;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = s;
	jo.PublishAsync.StallWait = 20;
	st = natsConnection_JetStream(&s->js, s->nc, &jo);
	if (st != NATS_OK) {
		nats_link_err(err, sizeof(err), "jetstream", st);
		log_error("fleet_connect_failed", "reason=\"%s\"", err);
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	s->connected = natsConnection_Status(s->nc) == NATS_CONN_STATUS_CONNECTED;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

bool ship_stream_ready(struct shipper *s)
{
	char err[256];

	if (s->stream_ok)
		return true;
	if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
		return false;
	if (nats_link_stream(s->js, s->cfg.set.stream, s->cfg.set.replicas, err, sizeof(err))) {
		pthread_mutex_lock(&s->mu);
		ship_set_error(s, err, NULL);
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	s->stream_ok = true;
	pthread_mutex_lock(&s->mu);
	s->connected = true;
	s->rewind = true; /* anything sent before the stream existed went nowhere */
	pthread_mutex_unlock(&s->mu);
	log_info("fleet_stream_ready", "appliance=%s stream=%s subject=%s", s->id,
		 s->cfg.set.stream, s->subject);
	return true;
}

void ship_close(struct shipper *s)
{
	struct timespec ts;

	if (natsConnection_DrainTimeout(s->nc, FINAL_WAIT_MS) != NATS_OK)
		natsConnection_Close(s->nc);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += FINAL_WAIT_MS / 1000 + 2;
	pthread_mutex_lock(&s->mu);
	while (!s->closed)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts)) {
			/* never seen; better to leak the connection than to free under it */
			pthread_mutex_unlock(&s->mu);
			log_error("fleet_close_timeout", "appliance=%s", s->id);
			return;
		}
	pthread_mutex_unlock(&s->mu);
	natsConnection_Destroy(s->nc);
	s->nc = NULL;
}
