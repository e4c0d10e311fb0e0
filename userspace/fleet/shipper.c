// SPDX-License-Identifier: MIT
/* The shipper's thread: reads the journal, builds and publishes the messages, stores the
   cursor and refreshes the status (shipper.h); its NATS connection is ship_link.c's. */
#include "fleet/shipper_int.h"

#include "core/clock.h"
#include "core/deadline.h"
#include "core/err.h"
#include "core/log.h"
#include "journal/cursor.h"
#include "journal/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SHIP_ROUND        256      /* messages published per loop round at most */
#define POLL_MS           20       /* between looks at the journal: at 50k clicks/s, a full run */
/* Asleep with nothing to read, the thread looks at least this often anyway: the cursor's
   store, the status and a lost wake-up wait no longer than this. */
#define IDLE_MS           250
#define RETRY_MS          500      /* after a failed stream/bucket set-up */
/* cursor stores at most this often: each costs two syncs, and a cursor that trails only
   makes a restart resend more (the stream and the consumer drop those) */
#define CURSOR_EVERY_NS   (1000ull * 1000000)

void ship_set_error(struct shipper *s, const char *what, const char *why)
{
	s->last_error_at = (uint64_t)time(NULL);
	if (why)
		err_set(s->last_error, sizeof(s->last_error), "%s: %s", what, why); /* cut to fit */
	else
		err_set(s->last_error, sizeof(s->last_error), "%s", what);
}

int shipper_cursor_read(const char *state_dir, uint64_t *cursor, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/cursor", state_dir) >= sizeof(path))
		return err_set(err, errlen, "%s: path too long", state_dir);
	return journal_cursor_load(path, cursor, err, errlen) ? -1 : 0;
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
	natsMsg *m = NULL;
	jsPubOptions po;
	natsStatus st;

	if (first == last)
		snprintf(msgid, sizeof(msgid), "%s:%" PRIu64, s->id, first);
	else
		snprintf(msgid, sizeof(msgid), "%s:%" PRIu64 "-%" PRIu64, s->id, first, last);
	jsPubOptions_Init(&po);
	po.MsgId = msgid;
	po.MaxWait = s->cfg.set.ack_timeout_ms;
	/* natsMsg_Create copies the text: the buffers are the shipper's, reused */
	st = natsMsg_Create(&m, s->subject, NULL, (const char *)s->out_body, (int)s->out_len);
	if (st == NATS_OK)
		st = js_PublishMsgAsync(s->js, &m, &po);
	natsMsg_Destroy(m);
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

/* The message's body as it goes out, once however often the library's full queue makes it
   wait: compressed (event_msg.h) unless that is off or saves nothing. */
static void pack(struct shipper *s)
{
	s->out_len = s->cfg.set.compress
			     ? event_msg_pack(s->packed, sizeof(s->packed), s->msg, s->msg_len)
			     : 0;
	s->out_body = s->out_len ? s->packed : s->msg;
	if (!s->out_len)
		s->out_len = s->msg_len;
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
	pack(s);
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
		s->st.bytes_sent += s->out_len;
	} else {
		for (uint64_t seq = s->out_first; seq <= s->out_last; seq++)
			ship_window_failed(&s->win, seq);
		s->rewind = true;
		s->st.failed += s->out_n;
		ship_set_error(s, "publish", natsStatus_GetText(st));
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

/* The journal's writer, after a commit: wakes the thread if it sleeps for want of events. */
static void on_commit(void *arg)
{
	struct shipper *s = arg;

	if (!atomic_load(&s->idle))
		return;
	pthread_mutex_lock(&s->mu);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* POLL_MS, so that under load a message carries what came in that time; then, if the
   journal has committed nothing the thread has not read, until it does (at most IDLE_MS):
   an idle appliance's shipper sleeps instead of looking 50 times a second, and the first
   event after a quiet spell goes at once. False once stopping. */
static bool wait_for_events(struct shipper *s)
{
	struct timespec ts;
	bool stop;

	if (!wait_a_little(s, POLL_MS))
		return false;
	ts = deadline_after_ms(IDLE_MS);
	pthread_mutex_lock(&s->mu);
	/* the flag before the look, the writer's seq before its look at the flag: one of the
	   two sees the other (both sequentially consistent), so no commit goes unnoticed */
	atomic_store(&s->idle, true);
	if (!s->stop && !s->rewind && !unread_committed(s))
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	atomic_store(&s->idle, false);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return !stop;
}

static void *run(void *arg)
{
	struct shipper *s = arg;

	reopen_reader(s, s->win.acked + 1, s->win.floor);
	if (ship_connect(s))
		return NULL;
	while (wait_a_little(s, 0)) {
		if (!ship_stream_ready(s)) {
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
			wait_for_events(s);
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
	journal_on_commit(c->journal, on_commit, s);
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
	journal_on_commit(s->cfg.journal, NULL, NULL); /* the writer calls into s no more */
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
		ship_close(s);
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
