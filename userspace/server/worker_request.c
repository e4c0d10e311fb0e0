// SPDX-License-Identifier: MIT
/*
 * A tracking connection's requests, on its worker's thread: each complete request parsed out
 * of the input, routed (track/routes.h) and answered into the connection's output buffer.
 * A request that records an event queues it with the journal; under sync=batch its answer is
 * held until the journal says the event is durable (reap_journal), and replaced by a 503 if
 * the journal could not take it.
 */
#include "server/worker_int.h"

#include "core/clock.h"
#include "core/log.h"
#include "journal/journal.h"
#include "server/mgmt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define REAP_BATCH     64

/* ---------------------------------------------------------------- the client's address */

/* What an event records of the client: its address, looked up once per connection. */
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

/* ---------------------------------------------------------------- answers */

void respond_error(struct worker *w, struct conn *c, int status)
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

void reap_journal(struct worker *w)
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

size_t process_requests(struct worker *w, struct conn *c, const char *buf, size_t len)
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
