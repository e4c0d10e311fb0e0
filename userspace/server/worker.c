// SPDX-License-Identifier: MIT
/*
 * One worker: a thread, an io_uring, a listener per listen address (SO_REUSEPORT), and the
 * connections it accepted. Everything here runs on the worker's thread; the only shared
 * things are the snapshot slots (read through references) and the counters (single writer).
 *
 * Connection life: accept -> recv (provided buffer) -> parse -> route -> send -> recv ...
 * A connection has at most one recv or one send in flight, which gives natural
 * backpressure: a client that pipelines faster than it reads stops being read.
 * Requests are parsed straight out of the provided buffer; only an incomplete request is
 * copied into a pooled per-connection buffer, so idle keep-alive connections cost a small
 * struct and no buffers.
 */
#include "server/worker_int.h"
#include "core/clock.h"

#include "acme/challenge.h"
#include "core/log.h"
#include "http/http_parser.h"
#include "journal/journal.h"
#include "server/mgmt.h"
#include "track/token.h"
#include "track/track_state.h"
#ifdef CONFIG_TLS
#include "tls/tls.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_ENTRIES   1024
#define BUF_GROUP      1
#define BUF_COUNT      256           /* provided receive buffers per worker */
#define BUF_SIZE       4096
#define IN_CAP         (HTTP_MAX_HEAD + HTTP_MAX_BODY + BUF_SIZE)
#define OUT_RESERVE    (ROUTE_SCRATCH + 1024) /* room one response can need */
#define POOL_KEEP      64
#define REAP_BATCH     64

#ifdef CONFIG_TLS
#define IS_TLS_BUILD 1
#else
#define IS_TLS_BUILD 0
#endif
#define TICK_MS        100
#define LINGER_MS      2000
#define LINGER_BYTES   (64 * 1024)

size_t worker_size(void) { return sizeof(struct worker); }

const struct server_counters *worker_counters(const struct worker *w) { return &w->ctr; }

static inline void ctr(struct worker *w, enum server_counter c)
{
	counter_add(&w->ctr.c[c], 1);
}

/* ---------------------------------------------------------------- submission helpers */

struct io_uring_sqe *get_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (sqe)
		return sqe;
	/* SQ full: hand what we have to the kernel and try again. */
	io_uring_submit(&w->ring);
	return io_uring_get_sqe(&w->ring);
}

/* ---------------------------------------------------------------- buffers */

static struct pool_buf *pool_get(struct worker *w)
{
	struct pool_buf *b = w->pool;

	if (b) {
		w->pool = b->next;
		w->pool_n--;
		return b;
	}
	return malloc(sizeof(*b) + (IN_CAP > OUT_CAP ? IN_CAP : OUT_CAP));
}

static void pool_put(struct worker *w, struct pool_buf *b)
{
	if (!b)
		return;
	if (w->pool_n >= POOL_KEEP) {
		free(b);
		return;
	}
	b->next = w->pool;
	w->pool = b;
	w->pool_n++;
}

/* Gives c's output buffer back: to the pool, or to free() when it was a large answer's. */
static void out_release(struct worker *w, struct conn *c)
{
	if (c->out_big)
		free(c->out);
	else
		pool_put(w, c->out);
	c->out = NULL;
	c->out_big = false;
}

static void recycle_buf(struct worker *w, unsigned bid)
{
	io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid,
			      io_uring_buf_ring_mask(BUF_COUNT), 0);
	io_uring_buf_ring_advance(w->br, 1);
}

/* ---------------------------------------------------------------- TLS glue */

#ifdef CONFIG_TLS
static inline size_t tls_pending(struct conn *c, const void **p)
{
	return c->tls ? tls_conn_pending(c->tls, p) : 0;
}
#else
struct tls_conn;
static inline size_t tls_pending(struct conn *c, const void **p) { (void)c; (void)p; return 0; }
static inline void tls_conn_free(struct tls_conn *t) { (void)t; }
#endif

/* ---------------------------------------------------------------- timers */

static const struct config_limits *limits(struct worker *w)
{
	return &w->st->cfg->limits;
}

void timer_set(struct worker *w, struct conn *c, struct conn_list *l, uint32_t ms)
{
	conn_list_remove(&c->tnode);
	c->deadline_ms = w->now_ms + ms;
	conn_list_append(l, &c->tnode);
}

/* ---------------------------------------------------------------- connection lifecycle */

void conn_free(struct worker *w, struct conn *c)
{
	if (c->tls)
		tls_conn_free(c->tls);
	c->tls = NULL;
	if (c->m)
		mgmt_conn_end(c);
	close(c->fd);
	pool_put(w, c->in);
	c->in = NULL;
	out_release(w, c);
	conn_list_remove(&c->tnode);
	c->tnode.next = (struct conn_node *)w->free_conns;
	w->free_conns = c;
	w->n_conns--;
	counter_add(&w->ctr.open_conns, -1);
	ctr(w, CTR_CLOSED);
}

void conn_close(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->state == CS_CLOSING)
		return;
	c->state = CS_CLOSING;
	conn_list_remove(&c->tnode);
	if (!c->recv_armed && !c->send_armed) {
		/* a held response's event (or a file write, a management job) is still on its way:
		 * freed when it completes */
		if (conn_quiet(c))
			conn_free(w, c);
		return;
	}
	/* Pending ops complete with -ECANCELED; the last one frees the connection. */
	sqe = get_sqe(w);
	io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
	set_data(sqe, NULL, OP_IGNORE);
}

static struct conn *conn_new(struct worker *w, int fd)
{
	struct conn *c = w->free_conns;

	if (c)
		w->free_conns = (struct conn *)c->tnode.next;
	else
		c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->fd = fd;
	c->state = CS_ACTIVE;
	conn_node_init(&c->tnode);
	w->n_conns++;
	counter_add(&w->ctr.open_conns, 1);
	return c;
}

static void arm_recv(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BUF_GROUP;
	set_data(sqe, c, OP_RECV);
	c->recv_armed = true;
}

static bool has_output(struct conn *c)
{
	const void *p;

	return (c->out && c->out_len > c->out_off) || tls_pending(c, &p);
}

static void arm_send(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(w);
	const void *data = c->out ? c->out->data + c->out_off : NULL;
	size_t len = c->out ? c->out_len - c->out_off : 0;

#ifdef CONFIG_TLS
	if (c->tls) {
		/* responses are encrypted as a whole; the plaintext buffer goes back at once */
		if (len && tls_conn_write(c->tls, data, len)) {
			io_uring_prep_nop(sqe);
			set_data(sqe, NULL, OP_IGNORE);
			conn_close(w, c);
			return;
		}
		out_release(w, c);
		c->out_len = c->out_off = 0;
		if (c->close_after_send && !c->tls_shut) {
			/* the last response: its close_notify leaves in the same send */
			c->tls_shut = true;
			tls_conn_shutdown(c->tls);
		}
		len = tls_conn_pending(c->tls, &data);
	}
#endif
	io_uring_prep_send(sqe, c->fd, data, len, MSG_NOSIGNAL);
	set_data(sqe, c, OP_SEND);
	c->send_armed = true;
	timer_set(w, c, &w->send_list, limits(w)->send_timeout_ms);
}

/* After the last response of a connection. A client that asked for the close and sent
 * nothing after its request has finished sending: the connection closes at once, the FIN
 * following the response. Otherwise stop sending but keep reading briefly, so the client gets
 * our response before the kernel would answer its unread bytes with a reset. */
static void conn_linger(struct worker *w, struct conn *c)
{
#ifdef CONFIG_TLS
	if (c->tls && !c->tls_shut) {
		/* a clean TLS close: send close_notify before the FIN */
		c->tls_shut = true;
		tls_conn_shutdown(c->tls);
		if (has_output(c)) {
			arm_send(w, c);
			return;
		}
	}
#endif
	if (c->read_all) {
		conn_close(w, c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = CS_LINGER;
	pool_put(w, c->in);
	c->in = NULL;
	c->in_len = 0;
	timer_set(w, c, &w->linger_list, LINGER_MS);
	arm_recv(w, c);
}

/* ---------------------------------------------------------------- events */

static void peer_address(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (c->family || getpeername(c->fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		memcpy(c->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		c->family = 4;
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(c->addr, &a->s6_addr[12], 4);
			c->family = 4;
		} else {
			memcpy(c->addr, a, 16);
			c->family = 6;
		}
	}
}

/* ---------------------------------------------------------------- requests */

bool ensure_out(struct worker *w, struct conn *c)
{
	if (c->out)
		return true;
	c->out = pool_get(w);
	c->out_len = c->out_off = 0;
	c->out_cap = OUT_CAP;
	return c->out != NULL;
}

bool out_reserve(struct worker *w, struct conn *c, size_t need)
{
	struct pool_buf *big;

	if (!ensure_out(w, c))
		return false;
	if (c->out_cap - c->out_len >= need)
		return true;
	if (c->out_len + need > UINT32_MAX - sizeof(*big))
		return false;
	big = malloc(sizeof(*big) + c->out_len + need);
	if (!big)
		return false;
	/* what is queued already (a 100 Continue) goes first */
	memcpy(big->data, c->out->data, c->out_len);
	out_release(w, c);
	c->out = big;
	c->out_big = true;
	c->out_cap = c->out_len + (uint32_t)need;
	return true;
}

/* Parser errors: answer with the status and close. */
static void respond_error(struct worker *w, struct conn *c, int status)
{
	static const char body[] = "bad request\n";
	struct http_out o;

	if (!ensure_out(w, c)) {
		conn_close(w, c);
		return;
	}
	o = out_of(c);
	http_out_status(&o, status);
	http_out_finish(&o, w->date, "text/plain; charset=utf-8", body, sizeof(body) - 1, false,
			false);
	if (http_out_ok(&o))
		c->out_len = o.len;
	c->close_after_send = true;
	if (!c->mgmt)
		wstats_response(&w->ctr.ws, WSTATS_ROUTE_INVALID, status);
}

static void write_route_response(struct worker *w, struct conn *c, const struct http_request *req,
				 const struct route_response *rs, bool keep_alive)
{
	struct http_out o = out_of(c);

	http_out_status(&o, rs->status);
	if (rs->location)
		http_out_header(&o, "Location", rs->location, rs->location_len);
	if (rs->allow)
		http_out_header(&o, "Allow", rs->allow, strlen(rs->allow));
	if (rs->hsts)
		http_out_raw(&o, rs->hsts, rs->hsts_len);
	if (rs->no_store)
		http_out_raw(&o, "Cache-Control: no-store\r\n", 25);
	if (rs->status == 302)
		http_out_raw(&o, "Referrer-Policy: no-referrer\r\n", 30);
	http_out_finish(&o, w->date, rs->content_type, rs->body, rs->body_len,
			req->method == HTTP_HEAD, keep_alive);
	if (!http_out_ok(&o)) {
		/* OUT_RESERVE makes this unreachable; fail closed rather than send half. */
		respond_error(w, c, 500);
		return;
	}
	c->out_len = o.len;
}

static size_t process(struct worker *w, struct conn *c, const char *buf, size_t len);
static bool keep_input(struct worker *w, struct conn *c, const char *buf, size_t len);
static bool tls_established(struct conn *c);

/* 503 while events cannot be recorded: the client (or the ESP's retry) comes back later. */
static void respond_unavailable(struct worker *w, struct conn *c, const struct http_request *req,
				bool keep_alive)
{
	static const char body[] = "event store unavailable, retry later\n";
	struct http_out o = out_of(c);

	http_out_status(&o, 503);
	http_out_raw(&o, "Retry-After: 5\r\nCache-Control: no-store\r\n", 41);
	http_out_finish(&o, w->date, "text/plain; charset=utf-8", body, sizeof(body) - 1,
			req && req->method == HTTP_HEAD, keep_alive);
	if (http_out_ok(&o))
		c->out_len = o.len;
	if (!keep_alive)
		c->close_after_send = true;
}

static void log_journal_full(struct worker *w, int status)
{
	w->full_since_log++;
	if (w->now_ms - w->full_logged_ms < 1000)
		return;
	log_error("journal_unavailable", "worker=%u error=\"%s\" events=%llu action=%s", w->id,
		  strerror(-status), (unsigned long long)w->full_since_log,
		  w->srv->journal_cfg.on_full == JOURNAL_FULL_REDIRECT_UNRECORDED
			  ? "redirect_unrecorded_clicks"
			  : "503");
	w->full_logged_ms = w->now_ms;
	w->full_since_log = 0;
}

/* Queues the event. The response written next is held until the journal says durable,
 * except under sync=none while the journal is healthy: then it goes out at once and the
 * event's completion only counts (cookie 0). */
static bool submit_event(struct worker *w, struct conn *c, const struct event *ev)
{
	struct journal *j = w->srv->journal;
	bool hold = w->srv->journal_cfg.sync != JOURNAL_SYNC_NONE || journal_failing(j);
	/* The writer is woken once per loop iteration (journal_flush), not once per event. */
	int rc = journal_queue(j, w->journal_id, ev, hold ? (uint64_t)(uintptr_t)c : 0);

	if (rc) {
		ctr(w, CTR_EVENTS_FAILED);
		log_journal_full(w, rc);
		return false;
	}
	if (!hold)
		return true;
	c->journal_wait = true;
	c->held_click = ev->kind == EVENT_CLICK;
	c->held_off = c->out_len;
	return true;
}

/* An event answered before it was written (sync=none) is done: count it. One the disk
 * refused was answered already; it is counted as lost, and the journal now reports failing,
 * so the following answers wait for their events again. */
static void unheld_event_done(struct worker *w, int status)
{
	if (!status) {
		ctr(w, CTR_EVENTS);
		return;
	}
	ctr(w, CTR_EVENTS_LOST);
	log_journal_full(w, status);
}

/* The journal finished c's event: release the held response, or replace it. */
static void event_done(struct worker *w, struct conn *c, int status)
{
	bool keep_alive = !c->close_after_send;

	c->journal_wait = false;
	if (c->state == CS_CLOSING) {
		if (conn_quiet(c))
			conn_free(w, c);
		return;
	}
	if (!status) {
		ctr(w, CTR_EVENTS);
	} else if (c->held_click &&
		   w->srv->journal_cfg.on_full == JOURNAL_FULL_REDIRECT_UNRECORDED) {
		ctr(w, CTR_CLICKS_UNRECORDED);
		log_journal_full(w, status);
	} else {
		ctr(w, CTR_EVENTS_FAILED);
		log_journal_full(w, status);
		c->out_len = c->held_off;
		respond_unavailable(w, c, NULL, keep_alive);
		c->req_status = 503;
	}
	/* the held answer is ready now: its duration includes the wait for the disk */
	wstats_request(&w->ctr.ws, c->req_route, c->req_status,
		       clock_ns(CLOCK_MONOTONIC) - c->req_start_ns);
	resume(w, c);
}

static void reap_journal(struct worker *w)
{
	struct journal_done done[REAP_BATCH];
	size_t n;

	do {
		n = journal_reap(w->srv->journal, w->journal_id, done, REAP_BATCH);
		for (size_t i = 0; i < n; i++) {
			struct conn *c = (struct conn *)(uintptr_t)done[i].cookie;

			if (c)
				event_done(w, c, done[i].status);
			else
				unheld_event_done(w, done[i].status);
		}
	} while (n == REAP_BATCH);
}

static void handle_request(struct worker *w, struct conn *c, const struct http_request *req,
			   const char *body)
{
	struct route_response rs;
	struct route_request rq = {
		.req = req, .body = body, .body_len = req->content_length, .tls = c->tls != NULL,
		.now_ns = clock_ns(CLOCK_REALTIME), .st = w->st, .challenges = w->chal,
		.opens = &w->opens, .verifier = w->verifier,
	};
	uint64_t start = clock_ns(CLOCK_MONOTONIC);
	enum route_outcome o;
	bool keep_alive;

	if (req->path.len > 3 && req->path.p[0] == '/' && req->path.p[2] == '/') {
		/* tracking routes record the client address */
		peer_address(c);
		rq.family = c->family;
		memcpy(rq.addr, c->addr, sizeof(rq.addr));
	}
	o = route_handle(&rq, &rs);
	counter_add(&w->ctr.routes[o], 1);
	ctr(w, CTR_REQUESTS);
	c->nreq++;
	keep_alive = req->keep_alive && !rs.close && !w->draining &&
		     c->nreq < limits(w)->max_keepalive_requests;
	if (rs.has_event && !submit_event(w, c, &rs.ev)) {
		respond_unavailable(w, c, req, keep_alive);
		wstats_request(&w->ctr.ws, o, 503, clock_ns(CLOCK_MONOTONIC) - start);
		return;
	}
	write_route_response(w, c, req, &rs, keep_alive);
	if (!keep_alive)
		c->close_after_send = true;
	if (c->journal_wait) {
		/* counted when the journal releases (or replaces) the answer */
		c->req_route = o;
		c->req_status = rs.status;
		c->req_start_ns = start;
		return;
	}
	wstats_request(&w->ctr.ws, o, rs.status, clock_ns(CLOCK_MONOTONIC) - start);
}

/* Parses and answers every complete request in buf; returns the bytes consumed. */
static size_t process(struct worker *w, struct conn *c, const char *buf, size_t len)
{
	struct http_request req;
	size_t off = 0;

	if (c->mgmt)
		return mgmt_process(w, c, buf, len);
	while (off < len && !c->close_after_send && !c->journal_wait) {
		int r;

		if (!ensure_out(w, c)) {
			conn_close(w, c);
			return len;
		}
		if (OUT_CAP - c->out_len < OUT_RESERVE)
			break; /* send what we have; the rest waits in the input buffer */
		r = http_parse_request(buf + off, len - off, &req);
		if (r == 0)
			break;
		if (r < 0) {
			ctr(w, CTR_PARSE_ERRORS);
			respond_error(w, c, -r);
			return len;
		}
		if (len - off < (size_t)r + req.content_length) {
			/* body not complete yet; a client waiting for 100-continue gets it once */
			if (req.expect_continue && !c->sent_continue) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				memcpy(c->out->data + c->out_len, cont, sizeof(cont) - 1);
				c->out_len += sizeof(cont) - 1;
				c->sent_continue = true;
			}
			break;
		}
		c->sent_continue = false;
		handle_request(w, c, &req, buf + off + r);
		off += r + req.content_length;
		/* the connection's last request, and no byte came after it */
		c->read_all = c->close_after_send && off == len && len < IN_CAP;
	}
	return off;
}

/* Keeps the unconsumed tail of the input for the next recv. */
static bool keep_input(struct worker *w, struct conn *c, const char *buf, size_t len)
{
	if (!len) {
		pool_put(w, c->in);
		c->in = NULL;
		c->in_len = 0;
		return true;
	}
	if (!c->in && !(c->in = pool_get(w)))
		return false;
	if (len > IN_CAP)
		return false;
	memmove(c->in->data, buf, len);
	c->in_len = len;
	return true;
}

/* What to do once nothing is in flight for c: send, read more, or finish. */
void conn_next(struct worker *w, struct conn *c, bool request_started)
{
	if (c->state == CS_CLOSING || (c->mgmt && mgmt_next(w, c)))
		return;
	if (c->journal_wait) {
		/* a disk that stalls this long fails the connection, not the worker */
		timer_set(w, c, &w->send_list, limits(w)->send_timeout_ms);
		return;
	}
	if (has_output(c)) {
		arm_send(w, c);
		return;
	}
	if (c->close_after_send) {
		conn_linger(w, c);
		return;
	}
	if (w->draining && !c->in_len) {
		conn_close(w, c);
		return;
	}
	if (c->tls && !tls_established(c)) {
		/* the handshake counts against the header timeout set at accept */
	} else if (c->in_len) {
		/* a request has started: the header timeout runs from its first byte */
		if (!request_started)
			timer_set(w, c, &w->header_list, limits(w)->header_timeout_ms);
	} else {
		timer_set(w, c, &w->idle_list, limits(w)->idle_timeout_ms);
	}
	arm_recv(w, c);
}

/* Answers the complete requests buffered in c->in and keeps the rest; false when the
 * connection is gone. */
bool process_input(struct worker *w, struct conn *c, size_t *consumed)
{
	size_t n = process(w, c, c->in->data, c->in_len);

	*consumed = n;
	if (c->state == CS_CLOSING)
		return false;
	if (!keep_input(w, c, c->in->data + n, c->close_after_send ? 0 : c->in_len - n)) {
		conn_close(w, c);
		return false;
	}
	return true;
}

#ifdef CONFIG_TLS
static bool tls_established(struct conn *c)
{
	return tls_conn_established(c->tls);
}

/* Moves decrypted bytes into c->in; false when the connection is gone. A failed handshake
 * or a peer's close_notify ends the connection after the pending records (alert) are sent. */
bool tls_pull(struct worker *w, struct conn *c)
{
	for (;;) {
		long n;

		if (!c->in && !(c->in = pool_get(w))) {
			conn_close(w, c);
			return false;
		}
		if (c->in_len == IN_CAP)
			return true; /* processing makes room; the rest waits inside TLS */
		n = tls_conn_read(c->tls, c->in->data + c->in_len, IN_CAP - c->in_len);
		if (n > 0) {
			c->in_len += n;
			continue;
		}
		if (!c->in_len) {
			pool_put(w, c->in);
			c->in = NULL;
		}
		if (n == 0)
			return true;
		if (n == TLS_EFATAL) {
			ctr(w, CTR_TLS_FAILURES);
			/* a client the management API refused is worth a line at any level */
			log_line(c->mgmt ? LOG_WARN : LOG_DEBUG, c->mgmt ? "management_refused" :
				 "tls_failed", "worker=%u reason=\"%s\"", w->id,
				 tls_conn_error(c->tls));
		}
		pool_put(w, c->in);
		c->in = NULL;
		c->in_len = 0;
		c->close_after_send = true;
		return true;
	}
}

static void consume_tls(struct worker *w, struct conn *c, const char *data, size_t len)
{
	bool started = c->in_len > 0;

	if (tls_conn_feed(c->tls, data, len)) {
		conn_close(w, c);
		return;
	}
	if (!tls_pull(w, c))
		return;
	if (!c->hs_counted && tls_conn_established(c->tls)) {
		c->hs_counted = true;
		wstats_handshake(&w->ctr.ws, tls_conn_version(c->tls), tls_conn_resumed(c->tls));
	}
	if (c->in_len && !c->close_after_send) {
		size_t n;
		if (!process_input(w, c, &n))
			return;
		started = started && n == 0;
	}
	conn_next(w, c, started);
}
#else
static bool tls_established(struct conn *c) { (void)c; return true; }
bool tls_pull(struct worker *w, struct conn *c) { (void)w; (void)c; return true; }
static void consume_tls(struct worker *w, struct conn *c, const char *data, size_t len)
{
	(void)data; (void)len;
	conn_close(w, c);
}
#endif

/* Nothing in flight any more: answer requests already buffered (pipelining), then go on. */
void resume(struct worker *w, struct conn *c)
{
	size_t n;

	if (c->tls && !c->close_after_send && !c->journal_wait && !tls_pull(w, c))
		return;
	if (c->in_len && !c->close_after_send && !process_input(w, c, &n))
		return;
	conn_next(w, c, false);
}

static void consume(struct worker *w, struct conn *c, const char *data, size_t len)
{
	bool started = c->in_len > 0;
	const char *buf = data;
	size_t n;

	if (c->tls) {
		consume_tls(w, c, data, len);
		return;
	}
	if (c->in_len) {
		if (c->in_len + len > IN_CAP) {
			respond_error(w, c, 431);
			conn_next(w, c, true);
			return;
		}
		memcpy(c->in->data + c->in_len, data, len);
		c->in_len += len;
		buf = c->in->data;
		len = c->in_len;
	}
	n = process(w, c, buf, len);
	if (c->state == CS_CLOSING)
		return;
	if (!keep_input(w, c, buf + n, c->close_after_send ? 0 : len - n)) {
		conn_close(w, c);
		return;
	}
	conn_next(w, c, started && n == 0);
}

/* ---------------------------------------------------------------- completions */

static void on_recv(struct worker *w, struct conn *c, int res, unsigned flags)
{
	unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

	c->recv_armed = false;
	if (c->state == CS_CLOSING) {
		if (flags & IORING_CQE_F_BUFFER)
			recycle_buf(w, bid);
		if (conn_quiet(c))
			conn_free(w, c);
		return;
	}
	if (c->timed_out) {
		/* whatever arrived with the cancelled read is too late */
		if (flags & IORING_CQE_F_BUFFER)
			recycle_buf(w, bid);
		pool_put(w, c->in);
		c->in = NULL;
		c->in_len = 0;
		respond_error(w, c, 408);
		conn_next(w, c, true);
		return;
	}
	if (res == -ENOBUFS) {
		arm_recv(w, c);
		return;
	}
	if (res <= 0) {
		if (flags & IORING_CQE_F_BUFFER)
			recycle_buf(w, bid);
		conn_close(w, c);
		return;
	}
	if (c->state == CS_LINGER) {
		recycle_buf(w, bid);
		c->lingered += res;
		if (c->lingered > LINGER_BYTES)
			conn_close(w, c);
		else
			arm_recv(w, c);
		return;
	}
	consume(w, c, w->bufs + (size_t)bid * BUF_SIZE, res);
	recycle_buf(w, bid);
}

static void on_send(struct worker *w, struct conn *c, int res)
{
	c->send_armed = false;
	if (c->state == CS_CLOSING) {
		if (conn_quiet(c))
			conn_free(w, c);
		return;
	}
	if (res <= 0) {
		conn_close(w, c);
		return;
	}
#ifdef CONFIG_TLS
	if (c->tls) {
		tls_conn_consume(c->tls, res);
		if (has_output(c)) {
			arm_send(w, c);
			return;
		}
		if (c->tls_shut) {
			conn_linger(w, c);
			return;
		}
		resume(w, c);
		return;
	}
#endif
	c->out_off += res;
	if (c->out_off < c->out_len) {
		arm_send(w, c);
		return;
	}
	out_release(w, c);
	c->out_len = c->out_off = 0;
	resume(w, c);
}

static void log_refused(struct worker *w)
{
	w->refused_since_log++;
	ctr(w, CTR_REFUSED_MAX_CONN);
	if (w->now_ms - w->refused_logged_ms < 1000)
		return;
	log_warn("connection_refused",
		 "worker=%u reason=max_connections limit=%u refused=%llu", w->id,
		 limits(w)->max_connections, (unsigned long long)w->refused_since_log);
	w->refused_logged_ms = w->now_ms;
	w->refused_since_log = 0;
}

static void arm_accept(struct worker *w, struct listener *l)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	set_data(sqe, l, OP_ACCEPT);
	l->armed = true;
}

static void on_accept(struct worker *w, struct listener *l, int res, unsigned flags)
{
	struct conn *c;
	int one = 1;

	if (!(flags & IORING_CQE_F_MORE))
		l->armed = false; /* re-armed on the next tick unless draining */
	if (res < 0) {
		if (res != -ECANCELED)
			log_warn("accept_failed", "worker=%u listen=%s error=\"%s\"", w->id,
				 l->text, strerror(-res));
		return;
	}
	if (w->draining || w->n_conns >= limits(w)->max_connections) {
		close(res);
		if (!w->draining)
			log_refused(w);
		return;
	}
	c = conn_new(w, res);
	if (!c) {
		close(res);
		return;
	}
#ifdef CONFIG_TLS
	if (l->tls && !(c->tls = tls_conn_new(l->tls_srv))) {
		conn_free(w, c);
		return;
	}
#endif
	c->mgmt = l->mgmt;
	c->metrics_only = l->metrics_only;
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ctr(w, CTR_ACCEPTED);
	timer_set(w, c, &w->header_list, limits(w)->header_timeout_ms);
	arm_recv(w, c);
}

static void expire_list(struct worker *w, struct conn_list *l, enum server_counter cause)
{
	struct conn_node *n;

	while ((n = conn_list_first(l))) {
		struct conn *c = container_of(n, struct conn, tnode);

		if (c->deadline_ms > w->now_ms)
			break;
		conn_list_remove(n);
		if (cause != CTR__COUNT)
			ctr(w, cause);
		if (cause == CTR_HEADER_TIMEOUTS && c->recv_armed && c->state == CS_ACTIVE) {
			/* slow or stalled request head: cancel the read, answer 408, close */
			struct io_uring_sqe *sqe = get_sqe(w);
			io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)c | OP_RECV, 0);
			set_data(sqe, NULL, OP_IGNORE);
			c->timed_out = true;
			continue;
		}
		conn_close(w, c);
	}
}

static void update_clock(struct worker *w)
{
	struct timespec ts;

	w->now_ms = clock_ms(CLOCK_MONOTONIC_COARSE);
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != w->date_sec) {
		w->date_sec = ts.tv_sec;
		http_date(ts.tv_sec, w->date);
	}
}

static void arm_tick(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_timeout(sqe, &w->tick, 0, 0);
	set_data(sqe, w, OP_TIMER);
}

static void arm_wake(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, w->wake_fd, &w->wake_val, sizeof(w->wake_val), 0);
	set_data(sqe, w, OP_WAKE);
}

static void close_listeners(struct worker *w)
{
	for (unsigned i = 0; i < w->n_listeners; i++) {
		if (w->listeners[i].fd < 0)
			continue;
		/* closing the fd ends its multishot accept */
		struct io_uring_sqe *sqe = get_sqe(w);
		io_uring_prep_cancel_fd(sqe, w->listeners[i].fd, IORING_ASYNC_CANCEL_ALL);
		set_data(sqe, NULL, OP_IGNORE);
		io_uring_submit(&w->ring);
		close(w->listeners[i].fd);
		w->listeners[i].fd = -1;
	}
}

static void start_drain(struct worker *w)
{
	struct conn_node *n;

	w->draining = true;
	w->drain_deadline_ms = w->now_ms + w->srv->drain_timeout_ms;
	close_listeners(w);
	/* idle keep-alive connections have nothing in flight worth waiting for */
	while ((n = conn_list_first(&w->idle_list)))
		conn_close(w, container_of(n, struct conn, tnode));
	log_info("worker_draining", "worker=%u open=%u", w->id, w->n_conns);
}

static void close_all(struct worker *w, struct conn_list *l)
{
	struct conn_node *n;

	while ((n = conn_list_first(l)))
		conn_close(w, container_of(n, struct conn, tnode));
}

static void on_tick(struct worker *w)
{
	expire_list(w, &w->header_list, CTR_HEADER_TIMEOUTS);
	expire_list(w, &w->idle_list, CTR_IDLE_TIMEOUTS);
	expire_list(w, &w->send_list, CTR_SEND_TIMEOUTS);
	expire_list(w, &w->linger_list, CTR__COUNT);
	if (w->draining && w->now_ms >= w->drain_deadline_ms) {
		close_all(w, &w->header_list);
		close_all(w, &w->send_list);
		close_all(w, &w->linger_list);
		close_all(w, &w->idle_list);
	}
	for (unsigned i = 0; i < w->n_listeners && !w->draining; i++)
		if (!w->listeners[i].armed && w->listeners[i].fd >= 0)
			arm_accept(w, &w->listeners[i]);
	arm_tick(w);
}

static void sync_snapshots(struct worker *w)
{
	const struct track_state *st = track_state_of(snapshot_ref_sync(&w->srv->state, &w->state_ref));

	if (st != w->st || !w->verifier) {
		/* the old verifier is keyed for the old keyring, which may be gone now */
		token_verifier_free(w->verifier);
		w->verifier = token_verifier_new(st->keys);
		w->st = st;
	}
	w->chal = challenge_store_snapshot(snapshot_ref_sync(&w->srv->challenges, &w->chal_ref));
}

static void dispatch(struct worker *w, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	void *p = (void *)(uintptr_t)(ud & ~OP_MASK);

	switch ((enum op)(ud & OP_MASK)) {
	case OP_ACCEPT: on_accept(w, p, cqe->res, cqe->flags); break;
	case OP_RECV: on_recv(w, p, cqe->res, cqe->flags); break;
	case OP_SEND: on_send(w, p, cqe->res); break;
	case OP_TIMER: on_tick(w); break;
	case OP_WAKE: arm_wake(w); break;
	case OP_WRITE: mgmt_on_write(w, p, cqe->res); break;
	case OP_IGNORE: break;
	}
}

/*
 * Under load, sleep until a batch of completions is ready rather than the first one: on a
 * virtual machine each sleep and wake-up of this thread costs more than a request, and with
 * DEFER_TASKRUN the kernel does not wake us before `want` completions (or BATCH_WAIT_US)
 * have arrived. Asking for as many as the last turn brought follows the load: keep-alive
 * clients settle into answering in one turn what arrived in one turn, and a quiet turn drops
 * back to waking on every completion. The cost is at most BATCH_WAIT_US of added latency
 * when load falls. (Measured with `make bench`: about 12% less CPU per request than half the
 * last turn with 50 us.)
 *
 * A turn that brought fewer than BATCH_MIN_CLIENTS client events (accepts and receives; the
 * rest are our own sends completing) waits for one completion. With so few clients the next
 * event hangs on one client's round trip (a TLS client computing its next flight, a
 * keep-alive client reading its answer before it sends again), which the batch would only
 * wait out: a handful of wake-ups saved at the price of every request's latency. Measured
 * with four keep-alive clients on one CPU (wrk -c4, the open): the batch held the worker at
 * 40-44k requests/s against 62-66k waking on each completion, at the same CPU per request at
 * 16 and 64 clients.
 */
#define BATCH_WAIT_US     100
#define BATCH_WANT_MAX    64
#define BATCH_MIN_CLIENTS 4

static unsigned batch_want(unsigned last_turn, unsigned client_events)
{
	if (client_events < BATCH_MIN_CLIENTS || last_turn < 1)
		return 1;
	return last_turn > BATCH_WANT_MAX ? BATCH_WANT_MAX : last_turn;
}

static bool client_event(const struct io_uring_cqe *cqe)
{
	enum op op = (enum op)(io_uring_cqe_get_data64(cqe) & OP_MASK);

	return op == OP_ACCEPT || op == OP_RECV;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct __kernel_timespec batch_wait = { .tv_nsec = BATCH_WAIT_US * 1000 };
	unsigned want = 1;
	/* Debian's liburing 2.3 declares io_uring_enable_rings() but does not export it */
	int rc = syscall(__NR_io_uring_register, w->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
			 NULL, 0);

	if (rc) {
		log_error("ring_failed", "worker=%u error=\"%s\"", w->id, strerror(errno));
		return NULL;
	}
	update_clock(w);
	sync_snapshots(w);
	for (unsigned i = 0; i < w->n_listeners; i++)
		arm_accept(w, &w->listeners[i]);
	arm_tick(w);
	arm_wake(w);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0, from_clients = 0;

		if (want > 1)
			rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, want, &batch_wait, NULL);
		else
			rc = io_uring_submit_and_wait(&w->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
			log_error("ring_failed", "worker=%u error=\"%s\"", w->id, strerror(-rc));
			break;
		}
		update_clock(w);
		sync_snapshots(w);
		if (!w->draining && atomic_load(&w->srv->draining))
			start_drain(w);
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			from_clients += client_event(cqe);
			dispatch(w, cqe);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
		want = batch_want(n, from_clients);
		reap_journal(w);
		mgmt_reap(w);
		journal_flush(w->srv->journal, w->journal_id);
		if (w->draining && !w->n_conns)
			break;
	}
	log_info("worker_stopped", "worker=%u", w->id);
	return NULL;
}

/* ---------------------------------------------------------------- setup */

/*
 * SO_REUSEPORT lets the workers share a port, but it would also let a second edgetrackd (same
 * user) share it and silently take half the connections. Before the first worker binds, a
 * plain bind of the address tells whether anything is listening there already.
 * True when the address is in use (any other error is the real bind's to report).
 */
static bool in_use(const struct config_listen *cl)
{
	int fd = listen_bind(cl, 0, false);

	if (fd < 0)
		return errno == EADDRINUSE;
	close(fd);
	return false;
}

/*
 * A previous owner of the data directory that is gone (its lock was free) may still hold
 * the address for a moment: the kernel closes io_uring's listeners after the process is
 * reaped. Only then is the address waited for, and for a bounded time; otherwise whoever
 * holds it is alive and the start is refused at once.
 */
#define PROBE_WAIT_MS 2000
#define PROBE_STEP_MS 10

static int probe_address(const struct config_listen *cl, pid_t gone_owner, char *err,
			 size_t errlen)
{
	const struct timespec step = { 0, PROBE_STEP_MS * 1000000L };

	for (int waited = 0;; waited += PROBE_STEP_MS) {
		if (!in_use(cl))
			return 0;
		if (!gone_owner || waited >= PROBE_WAIT_MS)
			break;
		if (waited == 0)
			log_info("listen_wait", "address=%s previous_pid=%d reason=\"the previous "
				 "owner is gone but its listener is not closed yet\"", cl->text,
				 (int)gone_owner);
		nanosleep(&step, NULL);
	}
	snprintf(err, errlen, "listen %s: address already in use by another process "
		 "(is another edgetrackd running?)", cl->text);
	return -1;
}

int listen_bind(const struct config_listen *cl, int type, bool reuseport)
{
	int one = 1, e;
	int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (cl->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)&cl->addr, cl->addr_len)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_listener(const struct server *srv, const struct config_listen *cl, bool first,
			 char *err, size_t errlen)
{
	int fd;

	if (first && probe_address(cl, srv->owner.previous, err, errlen))
		return -1;
	fd = listen_bind(cl, SOCK_NONBLOCK, true);
	if (fd < 0 || listen(fd, 4096)) {
		snprintf(err, errlen, "listen %s: %s", cl->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int setup_ring(struct worker *w, char *err, size_t errlen)
{
	struct io_uring_params p = { 0 };
	struct io_uring_buf_reg reg = { 0 };
	int rc;

	/*
	 * DEFER_TASKRUN runs completions only when this thread waits: fewer interruptions.
	 * SINGLE_ISSUER binds the ring to the thread that enables it, so it starts disabled
	 * here and the worker thread enables it (setup errors still surface at start-up).
	 */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
		  IORING_SETUP_R_DISABLED;
	rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (rc) {
		snprintf(err, errlen, "io_uring setup: %s", strerror(-rc));
		return -1;
	}
	w->ring_ok = true;
	w->br = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	w->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
	if (w->br == MAP_FAILED || !w->bufs) {
		w->br = w->br == MAP_FAILED ? NULL : w->br;
		snprintf(err, errlen, "out of memory for receive buffers");
		return -1;
	}
	reg.ring_addr = (uintptr_t)w->br;
	reg.ring_entries = BUF_COUNT;
	reg.bgid = BUF_GROUP;
	rc = io_uring_register_buf_ring(&w->ring, &reg, 0);
	if (rc) {
		snprintf(err, errlen, "io_uring provided buffers: %s", strerror(-rc));
		return -1;
	}
	io_uring_buf_ring_init(w->br);
	for (unsigned i = 0; i < BUF_COUNT; i++)
		io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, i,
				      io_uring_buf_ring_mask(BUF_COUNT), i);
	io_uring_buf_ring_advance(w->br, BUF_COUNT);
	return 0;
}

/* Opens one listener of this worker; tls_srv takes its TLS sessions (NULL: plain HTTP). */
static int add_listener(struct worker *w, const struct config_listen *cl,
			struct tls_server *tls_srv, bool mgmt, char *err, size_t errlen)
{
	struct listener *l = &w->listeners[w->n_listeners];

	snprintf(l->text, sizeof(l->text), "%s", cl->text);
	l->tls = cl->tls;
	if (l->tls && !tls_srv) {
		snprintf(err, errlen, "listen %s: TLS listener but HTTPS is not set up%s", l->text,
			 IS_TLS_BUILD ? "" : " (this build has no CONFIG_TLS)");
		return -1;
	}
	l->fd = open_listener(w->srv, cl, w->id == 0, err, errlen);
	if (l->fd < 0)
		return -1;
	l->tls_srv = tls_srv;
	l->mgmt = mgmt;
	w->n_listeners++;
	return 0;
}

int worker_create(struct server *srv, unsigned id, const struct config *cfg, char *err,
		  size_t errlen)
{
	struct worker *w = &srv->workers[id];

	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->id = id;
	w->wake_fd = -1;
	w->tick.tv_nsec = TICK_MS * 1000000L;
	conn_list_init(&w->header_list);
	conn_list_init(&w->idle_list);
	conn_list_init(&w->send_list);
	conn_list_init(&w->linger_list);
	for (unsigned i = 0; i < sizeof(w->listeners) / sizeof(w->listeners[0]); i++)
		w->listeners[i].fd = -1;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", id, strerror(errno));
		return -1;
	}
	/* the journal wakes this worker through the same eventfd when events are durable */
	w->journal_id = journal_add_worker(srv->journal, w->wake_fd);
	if (w->journal_id < 0) {
		snprintf(err, errlen, "worker %u: journal: %s", id, strerror(-w->journal_id));
		return -1;
	}
	if (setup_ring(w, err, errlen))
		return -1;
	for (unsigned i = 0; i < cfg->n_listen; i++)
		if (add_listener(w, &cfg->listen[i], srv->tls, false, err, errlen))
			return -1;
	if (cfg->management.enabled &&
	    add_listener(w, &cfg->management.listen, mgmt_tls(srv->mgmt), true, err, errlen))
		return -1;
	/* the metrics listener's requests go the management API's way, restricted to reading */
	if (cfg->metrics.enabled) {
		if (add_listener(w, &cfg->metrics.listen, NULL, true, err, errlen))
			return -1;
		w->listeners[w->n_listeners - 1].metrics_only = true;
	}
	return 0;
}

int worker_spawn(struct worker *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);

	w->started = rc == 0;
	return rc;
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		log_warn("worker_wake_failed", "worker=%u error=\"%s\"", w->id, strerror(errno));
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_destroy(struct worker *w)
{
	struct pool_buf *b;
	struct conn *c;

	for (unsigned i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].fd >= 0)
			close(w->listeners[i].fd);
	if (w->ring_ok)
		io_uring_queue_exit(&w->ring);
	if (w->br)
		munmap(w->br, BUF_COUNT * sizeof(struct io_uring_buf));
	free(w->bufs);
	while ((b = w->pool)) {
		w->pool = b->next;
		free(b);
	}
	while ((c = w->free_conns)) {
		w->free_conns = (struct conn *)c->tnode.next;
		free(c);
	}
	token_verifier_free(w->verifier);
	snapshot_ref_drop(&w->state_ref);
	snapshot_ref_drop(&w->chal_ref);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
}
