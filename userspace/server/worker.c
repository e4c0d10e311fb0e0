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
 *
 * This file is the loop and the connections' I/O; worker_request.c answers the requests and
 * holds answers for their events, worker_setup.c makes and unmakes a worker, and
 * listen.c opens the listening sockets.
 */
#include "server/worker_int.h"
#include "core/clock.h"

#include "acme/challenge.h"
#include "core/log.h"
#include "journal/journal.h"
#include "server/mgmt.h"
#include "track/token.h"
#include "track/track_state.h"
#ifdef CONFIG_TLS
#include "tls/tls.h"
#endif

#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define POOL_KEEP      64

#define LINGER_MS      2000
#define LINGER_BYTES   (64 * 1024)

size_t worker_size(void) { return sizeof(struct worker); }

const struct server_counters *worker_counters(const struct worker *w) { return &w->ctr; }

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

static bool tls_established(struct conn *c);

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
	size_t n = process_requests(w, c, c->in->data, c->in_len);

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
	n = process_requests(w, c, buf, len);
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
