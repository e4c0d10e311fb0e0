// SPDX-License-Identifier: MIT
/*
 * The management API on a worker: one request at a time per connection. A request head is
 * routed here; status and challenge requests become jobs for the control thread at once,
 * a bundle upload first goes to a file. Upload bytes are copied into a bounded buffer and
 * written with io_uring; while a write is in flight the connection is not read, which holds
 * a fast client back and costs the worker nothing. Answers come back through mgmt_reap.
 */
#include "server/worker_int.h"

#include "core/log.h"
#include "http/http_parser.h"
#include "server/mgmt.h"
#include "track/track_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPLOAD_BUF (64 * 1024)

/* A bundle being uploaded. */
struct mgmt_conn {
	int fd;
	char path[CONFIG_PATH_MAX + 32];
	uint64_t remaining;     /* body bytes still to come */
	uint64_t written;       /* file offset of buf[0] */
	uint32_t fill;          /* bytes waiting in buf */
	bool keep_alive;
	char buf[UPLOAD_BUF];
};

enum mroute { MR_BUNDLE, MR_STATUS, MR_CHALLENGES, MR_METRICS, MR_PAGE, MR_NONE };

static const struct {
	const char *path, *method;
	bool reading;          /* served on the metrics listener too */
} routes[] = {
	[MR_BUNDLE] = { "/v1/bundle", "PUT", false },
	[MR_STATUS] = { "/v1/status", "GET", false },
	[MR_CHALLENGES] = { "/v1/challenges", "POST", false },
	[MR_METRICS] = { "/metrics", "GET", true },
	[MR_PAGE] = { "/", "GET", true },
};

static bool str_eq(struct http_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.p, lit, s.len);
}

/* ---------------------------------------------------------------- answers */

/* Room for the status line and headers of an answer, besides its body. */
#define HEAD_ROOM 512

static void answer_body(struct worker *w, struct conn *c, int status, const char *body,
			size_t len, const char *type, const char *allow, bool keep_alive)
{
	struct http_out o;

	if (!out_reserve(w, c, len + HEAD_ROOM)) {
		conn_close(w, c);
		return;
	}
	keep_alive = keep_alive && !w->draining;
	o = out_of(c);
	http_out_status(&o, status);
	if (allow)
		http_out_header(&o, "Allow", allow, strlen(allow));
	http_out_raw(&o, "Cache-Control: no-store\r\n", 25);
	http_out_finish(&o, w->date, type ? type : "application/json", body, len, false,
			keep_alive);
	if (!http_out_ok(&o)) {
		/* only a head larger than HEAD_ROOM gets here */
		o = out_of(c);
		http_out_status(&o, 500);
		http_out_finish(&o, w->date, "application/json", "{\"result\":\"error\"}", 18,
				false, false);
		keep_alive = false;
	}
	c->out_len = o.len;
	if (!keep_alive)
		c->close_after_send = true;
}

static void answer(struct worker *w, struct conn *c, int status, const char *json,
		   const char *allow, bool keep_alive)
{
	answer_body(w, c, status, json, strlen(json), NULL, allow, keep_alive);
}

/* An error the worker decides alone; the connection closes (an unread body may follow). */
static void answer_error(struct worker *w, struct conn *c, int status, const char *reason,
			 const char *allow)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"result\":\"error\",\"reason\":\"%s\"}", reason);
	answer(w, c, status, json, allow, false);
}

static void send_continue(struct worker *w, struct conn *c, const struct http_request *req)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!req->expect_continue || c->sent_continue || !ensure_out(w, c))
		return;
	memcpy(c->out->data + c->out_len, cont, sizeof(cont) - 1);
	c->out_len += sizeof(cont) - 1;
	c->sent_continue = true;
}

/* ---------------------------------------------------------------- jobs */

static void submit(struct worker *w, struct conn *c, struct mgmt_job *j, bool keep_alive)
{
	if (!j) {
		answer_error(w, c, 500, "out of memory", NULL);
		return;
	}
	j->keep_alive = keep_alive;
	if (mgmt_submit(w->srv->mgmt, j)) {
		mgmt_job_free(j);
		answer_error(w, c, 503, "shutting down", NULL);
		return;
	}
	/* the control thread answers; no timer runs meanwhile */
	c->ext_wait = true;
	conn_list_remove(&c->tnode);
}

void mgmt_reap(struct worker *w)
{
	struct mgmt_job *j, *next;

	if (!w->srv->mgmt)
		return;
	for (j = mgmt_answers(w->srv->mgmt, w->id); j; j = next) {
		struct conn *c = j->conn;

		next = j->next;
		c->ext_wait = false;
		if (c->state == CS_CLOSING) {
			if (conn_quiet(c))
				conn_free(w, c);
		} else {
			const char *body = j->answer ? j->answer : "{\"result\":\"error\"}";

			answer_body(w, c, j->status, body,
				    j->answer && j->answer_len ? j->answer_len : strlen(body),
				    j->answer ? j->content_type : NULL, NULL, j->keep_alive);
			c->sent_continue = false;
			resume(w, c);
		}
		mgmt_job_free(j);
	}
}

/* ---------------------------------------------------------------- upload */

static void upload_drop(struct conn *c)
{
	struct mgmt_conn *m = c->m;

	close(m->fd);
	unlink(m->path);
	free(m);
	c->m = NULL;
}

void mgmt_conn_end(struct conn *c)
{
	upload_drop(c);
}

static bool upload_start(struct worker *w, struct conn *c, const struct http_request *req)
{
	const char *dir = mgmt_incoming_dir(w->srv->mgmt);
	struct mgmt_conn *m;

	if (!req->has_content_length) {
		answer_error(w, c, 411, "a bundle needs a Content-Length", NULL);
		return false;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		answer_error(w, c, 500, "out of memory", NULL);
		return false;
	}
	snprintf(m->path, sizeof(m->path), "%s/bundle-XXXXXX", dir);
	m->fd = mkostemp(m->path, O_CLOEXEC);
	if (m->fd < 0) {
		log_error("bundle_upload_failed", "dir=%s error=\"%s\"", dir, strerror(errno));
		free(m);
		answer_error(w, c, 500, "cannot store the upload", NULL);
		return false;
	}
	m->remaining = req->content_length;
	m->written = m->fill = 0;
	m->keep_alive = req->keep_alive;
	c->m = m;
	send_continue(w, c, req);
	log_info("bundle_upload", "worker=%u bytes=%u", w->id, req->content_length);
	return true;
}

static size_t upload_take(struct mgmt_conn *m, const char *buf, size_t len)
{
	size_t n = len;

	if (n > m->remaining)
		n = m->remaining;
	if (n > UPLOAD_BUF - m->fill)
		n = UPLOAD_BUF - m->fill;
	memcpy(m->buf + m->fill, buf, n);
	m->fill += n;
	m->remaining -= n;
	return n;
}

static void upload_write(struct worker *w, struct conn *c)
{
	struct mgmt_conn *m = c->m;
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_write(sqe, m->fd, m->buf, m->fill, m->written);
	set_data(sqe, c, OP_WRITE);
	c->ext_wait = true;
	/* a disk that stalls this long fails the upload, not the worker */
	timer_set(w, c, &w->send_list, w->st->cfg->limits.send_timeout_ms);
}

/* The whole body is on disk: the control thread verifies and applies it. */
static void upload_done(struct worker *w, struct conn *c)
{
	struct mgmt_conn *m = c->m;
	struct mgmt_job *j = mgmt_job_new(MGMT_BUNDLE, w->id, c, m->path, strlen(m->path));
	bool keep_alive = m->keep_alive;

	close(m->fd);
	if (!j)
		unlink(m->path);
	free(m);
	c->m = NULL;
	submit(w, c, j, keep_alive);
}

void mgmt_on_write(struct worker *w, struct conn *c, int res)
{
	struct mgmt_conn *m = c->m;

	c->ext_wait = false;
	if (c->state == CS_CLOSING) {
		if (conn_quiet(c))
			conn_free(w, c);
		return;
	}
	if (res <= 0) {
		log_error("bundle_upload_failed", "path=%s error=\"%s\"", m->path,
			  strerror(res ? -res : ENOSPC));
		upload_drop(c);
		answer_error(w, c, 500, "cannot store the upload", NULL);
		conn_next(w, c, false);
		return;
	}
	m->written += (uint64_t)res;
	m->fill -= (uint32_t)res;
	memmove(m->buf, m->buf + res, m->fill);
	resume(w, c);
}

/*
 * c->in holds at most one pull of plaintext; the rest of a body the client sent waits inside
 * TLS, and the socket has nothing more to say. Take it all before waiting on the socket.
 * False when the connection is gone.
 */
static bool pull_body(struct worker *w, struct conn *c)
{
	size_t n;

	while (c->tls && c->m && c->m->remaining && c->m->fill < UPLOAD_BUF &&
	       !c->close_after_send) {
		uint32_t before = c->in_len;

		if (!tls_pull(w, c))
			return false;
		if (c->in_len == before)
			return true;
		if (!process_input(w, c, &n))
			return false;
	}
	return true;
}

bool mgmt_next(struct worker *w, struct conn *c)
{
	struct mgmt_conn *m;

	if (c->ext_wait)
		return true;
	if (!pull_body(w, c))
		return true; /* gone */
	m = c->m;
	if (!m)
		return false;
	if (m->fill == UPLOAD_BUF || (m->fill && !m->remaining)) {
		upload_write(w, c);
		return true;
	}
	if (!m->remaining) {
		upload_done(w, c);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- requests */

static enum mroute route_of(const struct conn *c, const struct http_request *req,
			    const char **allow)
{
	for (enum mroute r = 0; r < MR_NONE; r++) {
		if (!str_eq(req->path, routes[r].path) || (c->metrics_only && !routes[r].reading))
			continue;
		*allow = routes[r].method;
		return str_eq(req->method_str, routes[r].method) ? r : MR_NONE;
	}
	*allow = NULL;
	return MR_NONE;
}

/* A request with a small body in memory: a job once the whole body is there. */
static size_t small_request(struct worker *w, struct conn *c, const struct http_request *req,
			    enum mgmt_kind kind, const char *body, size_t avail)
{
	if (req->content_length > HTTP_MAX_BODY) {
		answer_error(w, c, 413, "body too large", NULL);
		return req->head_len + avail;
	}
	if (avail < req->content_length) {
		send_continue(w, c, req);
		return 0; /* parsed again once the body is in */
	}
	c->sent_continue = false;
	submit(w, c, mgmt_job_new(kind, w->id, c, body, req->content_length), req->keep_alive);
	return req->head_len + req->content_length;
}

/* The metrics and the status page: what the job needs is in the head (Accept, the query). */
static size_t reading_request(struct worker *w, struct conn *c, const struct http_request *req,
			      enum mroute r)
{
	const struct http_header *accept = http_find_header(req, "Accept");
	struct http_str in = r == MR_PAGE ? req->query
			     : accept ? accept->value : (struct http_str){ "", 0 };

	if (req->content_length) {
		answer_error(w, c, 400, "no body expected", NULL);
		return req->head_len;
	}
	submit(w, c, mgmt_job_new(r == MR_PAGE ? MGMT_PAGE : MGMT_METRICS, w->id, c, in.p, in.len),
	       req->keep_alive);
	return req->head_len;
}

size_t mgmt_process(struct worker *w, struct conn *c, const char *buf, size_t len)
{
	struct http_request req;
	const char *allow;
	enum mroute mr;
	int r;

	if (c->m)
		return upload_take(c->m, buf, len);
	/* one request at a time: the next waits until this one's answer is out */
	if (c->ext_wait || c->close_after_send || (c->out && c->out_len > c->out_off))
		return 0;
	r = c->metrics_only ? http_parse_request(buf, len, &req)
			    : http_parse_request_max(buf, len, &req, mgmt_max_bundle(w->srv->mgmt));
	if (r == 0)
		return 0;
	if (r < 0) {
		answer_error(w, c, -r, http_reason(-r), NULL);
		return len;
	}
	mr = route_of(c, &req, &allow);
	switch (mr) {
	case MR_BUNDLE:
		if (!upload_start(w, c, &req))
			return len;
		return (size_t)r + upload_take(c->m, buf + r, len - (size_t)r);
	case MR_STATUS:
		return small_request(w, c, &req, MGMT_STATUS, buf + r, len - (size_t)r);
	case MR_CHALLENGES:
		return small_request(w, c, &req, MGMT_CHALLENGE, buf + r, len - (size_t)r);
	case MR_METRICS:
	case MR_PAGE:
		return reading_request(w, c, &req, mr);
	case MR_NONE:
		break;
	}
	if (allow)
		answer_error(w, c, 405, "method not allowed", allow);
	else
		answer_error(w, c, 404, "no such management route", NULL);
	return len;
}
