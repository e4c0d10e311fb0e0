// SPDX-License-Identifier: MIT
#include "fleet/shipper.h"
#include "core/clock.h"

#include "core/deadline.h"
#include "core/err.h"
#include "core/log.h"
#include "fleet/event_msg.h"
#include "fleet/nats_link.h"
#include "fleet/ship_status.h"
#include "fleet/ship_window.h"
#include "journal/cursor.h"
#include "journal/journal.h"
#include "journal/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SHIP_ROUND        256      /* messages published per loop round at most */
#define SHIP_BATCH        FLEET_MSG_EVENTS_MAX
/* Messages unacknowledged at most, besides max_pending events: after a lost publish the
   consumer holds the messages stored behind it until the resend comes, and this bounds
   them per appliance (README: --max-ack-pending). Four full messages fill the default
   window; the rest is room for small ones and for resends while what was in flight on a
   lost connection times out. */
#define SHIP_MSGS_PENDING 64
#define SHIP_MSG_MAX      (512 * 1024) /* under nats-server's default max_payload (1 MiB) */
_Static_assert(SHIP_MSG_MAX >= EVENT_MSG_HDR_LEN + (size_t)SHIP_BATCH * REC_MAX_LEN,
	       "a message holds a whole run of the longest records");
/* a whole message and its protocol line in one write */
#define SHIP_IO_BUF       (SHIP_MSG_MAX + 64 * 1024)
#define POLL_MS           20       /* journal poll once caught up: at 50k clicks/s, a full run */
#define RETRY_MS          500      /* after a failed stream/bucket set-up */
/* cursor stores at most this often: each costs two syncs, and a cursor that trails only
   makes a restart resend more (the stream and the consumer drop those) */
#define CURSOR_EVERY_NS   (1000ull * 1000000)
#define FINAL_WAIT_MS     2000     /* acks awaited at stop */

struct shipper {
	struct shipper_config cfg;
	char id[FLEET_NAME_MAX + 1];
	char journal_dir[PATH_MAX], cursor_path[PATH_MAX];
	char subject[sizeof(FLEET_SUBJECT_BASE) + FLEET_NAME_MAX + 1];
	pthread_t thread;
	bool started;

	/* shared with the library's callbacks: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ship_window win;
	uint64_t *ev_ns;          /* per window slot: event time of the seq sent there */
	struct lag_hist lag;
	bool rewind, stop, connected, closed;
	bool want_acks;           /* the thread waits for room in the window: wake it on acks */
	char last_error[200];
	uint64_t last_error_at;   /* unix seconds */
	struct shipper_stats st;

	/* the shipper thread's own */
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	bool stream_ok;
	struct journal_reader *rd;
	struct journal_record held;
	const uint8_t *held_bytes; /* its journal framing, in the reader's buffer: the reader is
				      not called while an event is held (next_event()) */
	size_t held_len;
	bool have_held;
	uint64_t prev;            /* seq of the last event read (the next one's "prev") */
	uint64_t gap_logged;      /* the seq after the last gap counted */
	uint64_t stored, store_ns, status_ns;
	/* the message being built: a run of consecutive events (fleet/event_msg.h) */
	uint8_t msg[SHIP_MSG_MAX];
	size_t msg_len;
	uint8_t packed[SHIP_MSG_MAX]; /* msg compressed (event_msg_pack), when that is shorter */
	size_t sent_len;              /* what publish() handed over of msg or packed */
	uint64_t out_first, out_last, out_n; /* the message built, not handed over yet */
	uint64_t out_ns[SHIP_BATCH];         /* its events' times */
};

/* Under mu: "what: why" as the status bucket's last_error. */
static void set_error(struct shipper *s, const char *what, const char *why)
{
	size_t n = strlen(what);

	s->last_error_at = (uint64_t)time(NULL);
	if (n >= sizeof(s->last_error))
		n = sizeof(s->last_error) - 1;
	memcpy(s->last_error, what, n);
	s->last_error[n] = '\0';
	if (why && n + 3 < sizeof(s->last_error)) {
		strcat(s->last_error, ": ");
		strncat(s->last_error, why, sizeof(s->last_error) - n - 3);
	}
}

int shipper_cursor_read(const char *state_dir, uint64_t *cursor, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/cursor", state_dir) >= sizeof(path))
		return err_set(err, errlen, "%s: path too long", state_dir);
	return journal_cursor_load(path, cursor, err, errlen) ? -1 : 0;
}

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
		set_error(s, "publish", pae && pae->ErrText ? pae->ErrText
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
		set_error(s, "disconnected from NATS", NULL);
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

static int connect_nats(struct shipper *s)
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

/* The stream exists (made here on first contact). False until a server answers. */
static bool stream_ready(struct shipper *s)
{
	char err[256];

	if (s->stream_ok)
		return true;
	if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
		return false;
	if (nats_link_stream(s->js, s->cfg.set.stream, s->cfg.set.replicas, err, sizeof(err))) {
		pthread_mutex_lock(&s->mu);
		set_error(s, err, NULL);
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

/* ---------------------------------------------------------------- shipping */

static void reopen_reader(struct shipper *s, uint64_t from, uint64_t prev)
{
	char err[256];

	if (s->rd)
		journal_reader_close(s->rd);
	s->rd = journal_reader_open(s->journal_dir, from, err, sizeof(err));
	if (!s->rd)
		log_error("fleet_reader_failed", "dir=%s reason=\"%s\"", s->journal_dir, err);
	s->have_held = false;
	s->out_n = 0; /* its events are read again */
	s->prev = prev;
}

static void take_rewind(struct shipper *s)
{
	uint64_t from, prev;

	pthread_mutex_lock(&s->mu);
	if (!s->rewind) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->rewind = false;
	ship_window_rewind(&s->win);
	from = s->win.acked + 1;
	prev = s->win.floor;
	s->st.rewinds++;
	pthread_mutex_unlock(&s->mu);
	reopen_reader(s, from, prev);
}

/* Appends the held event to the message being built, after the header when it is the first
   (a run of SHIP_BATCH always fits). */
static void encode(struct shipper *s, uint64_t prev)
{
	if (!s->msg_len)
		s->msg_len = event_msg_begin(s->msg, prev);
	s->msg_len += event_msg_add(s->msg + s->msg_len, sizeof(s->msg) - s->msg_len,
				    s->held_bytes, s->held_len);
}

/* Publishes the message built for first..last, id "<appliance>:<first>" for one event and
   "<appliance>:<first>-<last>" for more: a resend of the same run is dropped by the stream. */
static natsStatus publish(struct shipper *s, uint64_t first, uint64_t last)
{
	char msgid[FLEET_NAME_MAX + 48];
	const uint8_t *body = s->msg;
	natsMsg *m = NULL;
	size_t n = 0;
	jsPubOptions po;
	natsStatus st;

	if (first == last)
		snprintf(msgid, sizeof(msgid), "%s:%" PRIu64, s->id, first);
	else
		snprintf(msgid, sizeof(msgid), "%s:%" PRIu64 "-%" PRIu64, s->id, first, last);
	jsPubOptions_Init(&po);
	po.MsgId = msgid;
	po.MaxWait = s->cfg.set.ack_timeout_ms;
	if (s->cfg.set.compress)
		n = event_msg_pack(s->packed, sizeof(s->packed), s->msg, s->msg_len);
	if (n)
		body = s->packed;
	else
		n = s->msg_len;
	/* natsMsg_Create copies the text: the buffers are the shipper's, reused */
	st = natsMsg_Create(&m, s->subject, NULL, (const char *)body, (int)n);
	if (st == NATS_OK)
		st = js_PublishMsgAsync(s->js, &m, &po);
	natsMsg_Destroy(m);
	s->sent_len = n;
	return st;
}

/* Events missing between the last one read and rec (damaged or deleted records): counted
   and logged once, and the cursor jumps over them once everything before is acknowledged.
   False while it has to wait. */
static bool pass_gap(struct shipper *s, const struct journal_record *rec)
{
	bool ok;

	if (rec->seq <= s->prev + 1)
		return true;
	if (s->gap_logged != rec->seq) {
		s->gap_logged = rec->seq;
		log_warn("fleet_journal_gap", "appliance=%s missing_from=%" PRIu64 " missing_to=%"
			 PRIu64, s->id, s->prev + 1, rec->seq - 1);
		pthread_mutex_lock(&s->mu);
		s->st.gap_events += rec->seq - s->prev - 1;
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_lock(&s->mu);
	ok = ship_window_skip_to(&s->win, rec->seq);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* STEP_SENT_ALL: a message went out, and what is left does not make a full one */
enum step { STEP_SENT, STEP_SENT_ALL, STEP_SKIPPED, STEP_WAIT, STEP_IDLE };

/* Events the journal has committed and the shipper has not read (the held one included). */
static uint64_t unread_committed(const struct shipper *s)
{
	uint64_t next = journal_next_seq(s->cfg.journal);

	return next > s->prev + 1 ? next - 1 - s->prev : 0;
}

/* The next event into held (unless one is held already); false when there is none yet. */
static bool next_event(struct shipper *s)
{
	int rc;

	if (s->have_held)
		return true;
	/* only events the writer has committed (made durable, unless sync=none): an event
	   shipped and then lost with the page cache would have its seq used again. This also
	   spares the reader its search for the end of the records through the writer's
	   zero-filled reserve every time it reaches it. */
	if (!unread_committed(s))
		return false;
	rc = s->rd ? journal_reader_next(s->rd, &s->held) : 0;
	if (rc < 0) {
		/* opened again from the cursor on the next round */
		log_warn("fleet_reader_error", "dir=%s err=%s", s->journal_dir, strerror(-rc));
		journal_reader_close(s->rd);
		s->rd = NULL;
	}
	if (rc <= 0)
		return false;
	s->held_bytes = journal_reader_record_bytes(s->rd, &s->held_len);
	s->have_held = true;
	return true;
}

enum claim { CLAIM_OK, CLAIM_ACKED, CLAIM_FULL };

/* How far a message starting at seq may run: up to *last, every seq in the window and none
   acknowledged already (a resend skips what the stream has). One look under the lock per
   message: acknowledgements only ever make room, and one that comes for a seq of the run
   meanwhile costs a duplicate the stream and the consumer drop. */
static enum claim claim_run(struct shipper *s, uint64_t seq, uint64_t *last)
{
	enum claim c = CLAIM_OK;

	pthread_mutex_lock(&s->mu);
	if (ship_window_is_acked(&s->win, seq)) {
		c = CLAIM_ACKED;
	} else if (!ship_window_room(&s->win, seq)) {
		c = CLAIM_FULL;
	} else {
		*last = seq;
		while (*last - seq + 1 < SHIP_BATCH && ship_window_room(&s->win, *last + 1) &&
		       !ship_window_is_acked(&s->win, *last + 1))
			(*last)++;
	}
	pthread_mutex_unlock(&s->mu);
	return c;
}

/* Enters the message's events into the window as sent, with their event times. */
static void mark_sent(struct shipper *s)
{
	pthread_mutex_lock(&s->mu);
	for (uint64_t seq = s->out_first; seq <= s->out_last; seq++) {
		ship_window_sent(&s->win, seq);
		s->ev_ns[seq & (s->win.cap - 1)] = s->out_ns[seq - s->out_first];
	}
	pthread_mutex_unlock(&s->mu);
}

/* Builds the next message from the held event and those right after it that are committed
   already (never waiting for more): at most SHIP_BATCH, consecutive seqs, entered in the
   window together. Returns what happened to the first one. */
static enum step build(struct shipper *s)
{
	uint64_t last = 0;
	size_t n = 0;

	s->msg_len = 0;
	while (n < SHIP_BATCH && next_event(s)) {
		const struct journal_record *rec = &s->held;

		if (n && (rec->seq != s->out_last + 1 || rec->seq > last))
			break; /* a gap (the next message starts at it, after pass_gap()) or the
				  end of the window's room */
		if (!n) {
			if (!pass_gap(s, rec))
				return STEP_WAIT;
			switch (claim_run(s, rec->seq, &last)) {
			case CLAIM_FULL:
				return STEP_WAIT;
			case CLAIM_ACKED:
				s->prev = rec->seq;
				s->have_held = false;
				return STEP_SKIPPED;
			case CLAIM_OK:
				break;
			}
		}
		encode(s, s->prev);
		if (!n)
			s->out_first = rec->seq;
		s->out_ns[n] = rec->ev.time_ns;
		s->out_last = rec->seq;
		s->prev = rec->seq;
		s->have_held = false;
		n++;
	}
	s->out_n = n;
	if (!n)
		return STEP_IDLE;
	mark_sent(s);
	return STEP_SENT;
}

/* After a message: whether the events committed and not read yet make a full one (as long
   a run as a message or the window takes). When they do not, the round ends and they wait
   POLL_MS for company: under load messages go out full, not one full and one of the
   remainder per look at the journal. */
static bool full_run_waiting(const struct shipper *s)
{
	return unread_committed(s) >= (SHIP_BATCH < s->win.cap ? SHIP_BATCH : s->win.cap);
}

/* Builds a message (unless one waits for the library's queue) and publishes it. */
static enum step ship_one(struct shipper *s)
{
	enum step step = STEP_SENT;
	natsStatus st;

	if (!s->out_n && (step = build(s)) != STEP_SENT)
		return step;
	if (!s->out_n)
		return STEP_WAIT; /* the window is full */
	st = publish(s, s->out_first, s->out_last);
	if (st == NATS_TIMEOUT)
		return STEP_WAIT; /* the library's queue is full: the same message later */
	pthread_mutex_lock(&s->mu);
	if (st == NATS_OK) {
		s->st.published += s->out_n;
		s->st.bytes_records += s->msg_len - EVENT_MSG_HDR_LEN;
		s->st.bytes_sent += s->sent_len;
	} else {
		for (uint64_t seq = s->out_first; seq <= s->out_last; seq++)
			ship_window_failed(&s->win, seq);
		s->rewind = true;
		s->st.failed += s->out_n;
		set_error(s, "publish", natsStatus_GetText(st));
	}
	pthread_mutex_unlock(&s->mu);
	s->out_n = 0;
	if (st != NATS_OK)
		return STEP_WAIT;
	return full_run_waiting(s) ? STEP_SENT : STEP_SENT_ALL;
}

/* Publishes a round of messages; true when it stopped with more to send right away. Once
   what is left does not make a full message (or there was nothing) the thread waits
   POLL_MS, so the next message carries the events of that time instead of a message per
   commit of the journal writer at the rate they come.
   Waiting for acks (a full window, a gap to pass), it asks the ack handler for a wake-up. */
static bool ship_round(struct shipper *s)
{
	for (int i = 0; i < SHIP_ROUND; i++) {
		enum step st = ship_one(s);

		if (st == STEP_WAIT) {
			pthread_mutex_lock(&s->mu);
			s->want_acks = true;
			pthread_mutex_unlock(&s->mu);
		}
		if (st == STEP_WAIT || st == STEP_IDLE || st == STEP_SENT_ALL)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- cursor and status */

static void store_cursor(struct shipper *s, bool force)
{
	uint64_t floor, t = clock_ns(CLOCK_MONOTONIC);
	char err[256];

	pthread_mutex_lock(&s->mu);
	floor = s->win.floor;
	s->st.cursor = floor;
	pthread_mutex_unlock(&s->mu);
	if (floor == s->stored || (!force && t - s->store_ns < CURSOR_EVERY_NS))
		return;
	s->store_ns = t;
	if (journal_cursor_store(s->cursor_path, floor, err, sizeof(err))) {
		log_error("fleet_cursor_failed", "path=%s reason=\"%s\"", s->cursor_path, err);
		return;
	}
	s->stored = floor;
	journal_hold_from(s->cfg.journal, floor + 1);
}

/* Age of the oldest event not acknowledged yet (under mu). */
static uint64_t oldest_lag_ms(struct shipper *s)
{
	uint64_t t = clock_ns(CLOCK_REALTIME), ev = 0;

	if (s->win.next > s->win.acked + 1)
		ev = s->ev_ns[(s->win.acked + 1) & (s->win.cap - 1)];
	else if (s->have_held)
		ev = s->held.ev.time_ns;
	return ev && t > ev ? (t - ev) / 1000000 : 0;
}

static void status_fill_own(struct shipper *s, struct ship_status_in *in)
{
	struct journal_stats js = { 0 };

	journal_stats_get(s->cfg.journal, &js);
	in->id = s->id;
	in->version = s->cfg.version;
	in->now_s = (uint64_t)time(NULL);
	in->interval_s = s->cfg.set.status_interval_s;
	in->journal_seq = js.next_seq ? js.next_seq - 1 : 0;
	in->lost_disk_full = js.enospc;
	pthread_mutex_lock(&s->mu);
	in->shipped_seq = s->win.floor;
	in->lag_ms = oldest_lag_ms(s);
	in->lag_p99_ms = lag_hist_quantile(&s->lag, 0.99);
	in->connected = s->connected;
	pthread_mutex_unlock(&s->mu);
}

static void put_status(struct shipper *s)
{
	struct ship_status_in in = { 0 };
	char err[256], last[sizeof(s->last_error)];
	json_t *o;
	char *text;
	natsStatus st;

	if (!s->kv && nats_link_bucket(&s->kv, s->js, s->cfg.set.status_bucket,
				       s->cfg.set.replicas, true, err, sizeof(err))) {
		log_warn("fleet_status_failed", "bucket=%s reason=\"%s\"", s->cfg.set.status_bucket,
			 err);
		return;
	}
	status_fill_own(s, &in);
	pthread_mutex_lock(&s->mu);
	snprintf(last, sizeof(last), "%s", s->last_error);
	in.last_error_at = s->last_error_at;
	pthread_mutex_unlock(&s->mu);
	in.last_error = last;
	o = ship_status_json(&in);
	if (s->cfg.status_fill)
		s->cfg.status_fill(s->cfg.status_arg, o);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	st = text ? kvStore_PutString(NULL, s->kv, s->id, text) : NATS_NO_MEMORY;
	free(text);
	if (st != NATS_OK)
		log_warn("fleet_status_failed", "bucket=%s reason=\"%s\"", s->cfg.set.status_bucket,
			 natsStatus_GetText(st));
}

static void status_if_due(struct shipper *s)
{
	uint64_t t = clock_ns(CLOCK_MONOTONIC);

	if (t < s->status_ns)
		return;
	s->status_ns = t + (uint64_t)s->cfg.set.status_interval_s * 1000000000ull;
	put_status(s);
}

/* ---------------------------------------------------------------- the thread */

static bool wait_a_little(struct shipper *s, unsigned ms)
{
	struct timespec ts = deadline_after_ms(ms);
	bool stop;

	pthread_mutex_lock(&s->mu);
	if (!s->stop && !s->rewind)
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return !stop;
}

static void *run(void *arg)
{
	struct shipper *s = arg;

	reopen_reader(s, s->win.acked + 1, s->win.floor);
	if (connect_nats(s))
		return NULL;
	while (wait_a_little(s, 0)) {
		if (!stream_ready(s)) {
			wait_a_little(s, RETRY_MS);
			continue;
		}
		if (!s->rd) {
			pthread_mutex_lock(&s->mu);
			s->rewind = true;
			pthread_mutex_unlock(&s->mu);
		}
		take_rewind(s);
		if (!s->rd) { /* the journal directory cannot be read: logged, tried again */
			wait_a_little(s, RETRY_MS);
			continue;
		}
		bool more = ship_round(s);
		store_cursor(s, false);
		status_if_due(s);
		if (!more)
			wait_a_little(s, POLL_MS);
	}
	return NULL;
}

static int init_paths(struct shipper *s, const struct shipper_config *c, char *err,
		      size_t errlen)
{
	snprintf(s->id, sizeof(s->id), "%s", c->appliance_id);
	if (!fleet_name_valid(s->id))
		return err_set(err, errlen, "appliance id \"%s\" is not a valid name", s->id);
	snprintf(s->subject, sizeof(s->subject), "%s.%s", FLEET_SUBJECT_BASE, s->id);
	if ((size_t)snprintf(s->journal_dir, sizeof(s->journal_dir), "%s", c->journal_dir) >=
		    sizeof(s->journal_dir) ||
	    (size_t)snprintf(s->cursor_path, sizeof(s->cursor_path), "%s/cursor", c->state_dir) >=
		    sizeof(s->cursor_path))
		return err_set(err, errlen, "path too long");
	if (mkdir(c->state_dir, 0750) && errno != EEXIST)
		return err_set(err, errlen, "mkdir %s: %s", c->state_dir, strerror(errno));
	return 0;
}

struct shipper *shipper_start(const struct shipper_config *c, char *err, size_t errlen)
{
	struct shipper *s = calloc(1, sizeof(*s));
	uint64_t cursor = 0;

	if (!s) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = *c;
	if (errlen)
		err[0] = '\0';
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (init_paths(s, c, err, errlen) || shipper_cursor_read(c->state_dir, &cursor, err, errlen) ||
	    ship_window_init(&s->win, c->set.max_pending, cursor) ||
	    !(s->ev_ns = calloc(s->win.cap, sizeof(*s->ev_ns)))) {
		if (!err[0])
			err_set(err, errlen, "out of memory");
		shipper_stop(s);
		return NULL;
	}
	s->stored = cursor;
	journal_hold_from(c->journal, cursor + 1);
	if (pthread_create(&s->thread, NULL, run, s)) {
		err_set(err, errlen, "cannot start the shipper thread");
		shipper_stop(s);
		return NULL;
	}
	s->started = true;
	pthread_setname_np(s->thread, "et-shipper"); /* top -H, perf: its CPU apart */
	log_info("fleet_shipper_started", "appliance=%s cursor=%" PRIu64 " servers=%u", s->id,
		 cursor, c->set.n_servers);
	return s;
}

/* Drains the connection (acks still on their way are handled) and waits for the closed
   callback: the library's threads call into s until then. */
static void close_nats(struct shipper *s)
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

void shipper_stop(struct shipper *s)
{
	jsPubOptions po;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		pthread_join(s->thread, NULL);
	if (s->js) {
		/* what was published gets a last chance to be acknowledged before the cursor is
		   stored; the rest is resent by the next start */
		jsPubOptions_Init(&po);
		po.MaxWait = FINAL_WAIT_MS;
		js_PublishAsyncComplete(s->js, &po);
	}
	if (s->kv)
		kvStore_Destroy(s->kv);
	if (s->nc)
		close_nats(s);
	if (s->nc)
		return; /* the library still holds s */
	if (s->js) {
		store_cursor(s, true);
		jsCtx_Destroy(s->js);
	}
	if (s->rd)
		journal_reader_close(s->rd);
	log_info("fleet_shipper_stopped", "appliance=%s cursor=%" PRIu64, s->id, s->stored);
	ship_window_free(&s->win);
	free(s->ev_ns);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void shipper_stats_get(struct shipper *s, struct shipper_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	out->cursor = s->win.floor;
	out->connected = s->connected;
	pthread_mutex_unlock(&s->mu);
}
