/* SPDX-License-Identifier: MIT */
/*
 * A worker's insides, shared by worker.c (the io_uring loop and the tracking connections),
 * worker_request.c (their requests' answers and events) and mgmt_conn.c (the management
 * API's connections on the same loop). Nothing here is used outside the worker's own thread.
 */
#ifndef ET_SERVER_WORKER_INT_H
#define ET_SERVER_WORKER_INT_H

#include "server/server.h"

#include "http/http_parser.h"
#include "http/http_response.h"
#include "server/conn_list.h"
#include "track/machine.h"
#include "track/routes.h"

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define OUT_CAP        16384
#define BUF_GROUP      1
#define BUF_COUNT      256           /* provided receive buffers per worker */
#define BUF_SIZE       4096          /* a provided receive buffer */
#define IN_CAP         (HTTP_MAX_HEAD + HTTP_MAX_BODY + BUF_SIZE)
#define OUT_RESERVE    (ROUTE_SCRATCH + 1024) /* room one response can need */

struct mgmt_conn;
struct tls_conn;
struct tls_server;

enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_TIMER, OP_WAKE, OP_IGNORE, OP_WRITE };
#define OP_MASK 7ull

enum conn_state { CS_ACTIVE, CS_LINGER, CS_CLOSING };

struct pool_buf {
	struct pool_buf *next;
	char data[];
};

struct listener {
	int fd;
	bool tls;
	bool mgmt;                     /* the management API's, not a tracking listener */
	bool metrics_only;             /* the metrics listener's: GET /metrics and / only */
	bool armed;
	struct tls_server *tls_srv;    /* whose TLS sessions it accepts */
	char text[64];
} __attribute__((aligned(8)));

struct conn {
	struct conn_node tnode;        /* in exactly one timer list while open */
	uint64_t deadline_ms;
	struct worker *w;
	int fd;
	uint8_t state;
	bool recv_armed, send_armed;
	bool close_after_send;
	bool timed_out;                /* header timeout: recv cancelled, 408 follows */
	bool journal_wait;             /* the held response waits for its event to be durable */
	bool sent_continue;            /* 100 Continue sent for the request being read */
	bool held_click;               /* ... and it is a click (may redirect unrecorded) */
	bool mgmt;                     /* accepted on the management listener */
	bool metrics_only;             /* ... or on the metrics listener */
	bool hs_counted;               /* its TLS handshake is in the metrics */
	bool out_big;                  /* out is a large answer's own buffer, not a pooled one */
	uint8_t req_route;             /* the held request's route, for the metrics */
	uint16_t req_status;           /* ... its status, and when it started */
	uint64_t req_start_ns;
	bool ext_wait;                 /* a file write or a management job refers to c */
	uint32_t held_off;             /* where the held response starts in out */
	uint8_t family;                /* peer address, fetched on first event */
	uint8_t addr[16];
	uint32_t nreq;
	struct pool_buf *in;
	uint32_t in_len;
	struct pool_buf *out;
	uint32_t out_len, out_off, out_cap;
	uint32_t lingered;
	struct tls_conn *tls;          /* NULL on plain HTTP */
	bool tls_shut;                 /* close_notify queued */
	bool read_all;                 /* its last request ended the input: no linger */
	struct mgmt_conn *m;           /* management request state, NULL when none */
} __attribute__((aligned(8)));

struct worker {
	struct server *srv;
	unsigned id;
	pthread_t thread;
	bool started;
	struct io_uring ring;
	bool ring_ok;
	struct listener listeners[CONFIG_MAX_LISTEN + 2]; /* + the management and metrics ones */
	unsigned n_listeners;
	struct io_uring_buf_ring *br;
	char *bufs;
	int wake_fd;
	uint64_t wake_val;
	struct __kernel_timespec tick;
	/* timer lists, each ordered by deadline because each has one fixed timeout */
	struct conn_list header_list, idle_list, send_list, linger_list;
	struct conn *free_conns;
	unsigned n_conns;
	struct pool_buf *pool;
	unsigned pool_n;
	struct snapshot_ref state_ref, chal_ref;
	const struct track_state *st;
	struct token_verifier *verifier; /* for st->keys, remade when st changes */
	const struct challenge_store *chal;
	uint64_t now_ms;
	char date[HTTP_DATE_LEN + 1];
	time_t date_sec;
	int journal_id;                /* this worker's id at the journal */
	uint64_t full_logged_ms, full_since_log;
	bool draining;
	uint64_t drain_deadline_ms;
	uint64_t refused_logged_ms, refused_since_log;
	struct open_memory opens;
	struct server_counters ctr;
};

/* No operation in flight refers to c: it can be freed once closing. */
static inline bool conn_quiet(const struct conn *c)
{
	return !c->recv_armed && !c->send_armed && !c->journal_wait && !c->ext_wait;
}

static inline void set_data(struct io_uring_sqe *sqe, void *p, enum op op)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)p | op);
}

static inline struct http_out out_of(struct conn *c)
{
	struct http_out o = { c->out->data, c->out_len, c->out_cap, false };

	return o;
}

static inline void ctr(struct worker *w, enum server_counter c)
{
	counter_add(&w->ctr.c[c], 1);
}

static inline const struct config_limits *limits(struct worker *w)
{
	return &w->st->cfg->limits;
}

/* worker.c */
struct io_uring_sqe *get_sqe(struct worker *w);
bool ensure_out(struct worker *w, struct conn *c);
/* Room for need more bytes in c->out: a pooled buffer when they fit, else a buffer of its own
 * (a large management answer), freed once sent. */
bool out_reserve(struct worker *w, struct conn *c, size_t need);
void conn_close(struct worker *w, struct conn *c);
void conn_free(struct worker *w, struct conn *c);
void conn_next(struct worker *w, struct conn *c, bool request_started);
void resume(struct worker *w, struct conn *c);
void timer_set(struct worker *w, struct conn *c, struct conn_list *l, uint32_t ms);
/* Answers what c->in holds; false when the connection is gone. */
bool process_input(struct worker *w, struct conn *c, size_t *consumed);
/* Decrypts what TLS holds into c->in (up to its capacity); false when the connection is gone. */
bool tls_pull(struct worker *w, struct conn *c);

/* worker_request.c: a tracking connection's requests */
/* Parses and answers every complete request in buf; returns the bytes consumed. */
size_t process_requests(struct worker *w, struct conn *c, const char *buf, size_t len);
/* Parser errors: answers with the status and closes after it. */
void respond_error(struct worker *w, struct conn *c, int status);
/* Releases (or replaces) the answers whose events the journal finished. */
void reap_journal(struct worker *w);

/* mgmt_conn.c: the management API's side of a connection */
/* Takes what it can of buf (request heads, upload bytes); returns the bytes consumed. */
size_t mgmt_process(struct worker *w, struct conn *c, const char *buf, size_t len);
/* Called first by conn_next: true when the management request decided what c waits for. */
bool mgmt_next(struct worker *w, struct conn *c);
void mgmt_on_write(struct worker *w, struct conn *c, int res);
/* Answers the management jobs the control thread finished for this worker. */
void mgmt_reap(struct worker *w);
/* The connection is freed: its upload file goes too. */
void mgmt_conn_end(struct conn *c);

#endif
