// SPDX-License-Identifier: MIT
#include "track/routes.h"

#include "acme/challenge.h"
#include "core/hostname.h"
#include "track/token.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <strings.h>

_Static_assert(TOKEN_SCRATCH <= ROUTE_SCRATCH, "route scratch must hold a decoded token");

/* The classic transparent 1x1 GIF89a, 43 bytes. */
static const unsigned char pixel_gif[43] = {
	0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

static const char unsub_page[] =
	"<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width\"><title>Unsubscribe</title></head>\n"
	"<body><p>Unsubscribe this address from these messages?</p>\n"
	"<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
	"<button type=\"submit\">Unsubscribe</button></form></body></html>\n";

static const char unsub_done[] =
	"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>\n"
	"<body><p>You have been unsubscribed.</p></body></html>\n";

#define PREFIX_ACME "/.well-known/acme-challenge/"

static const char *const outcome_names[ROUTE__COUNT] = {
	"click", "open", "unsubscribe_page", "unsubscribe", "acme", "health", "bad_token",
	"unknown_host", "not_found", "bad_method", "https_redirect", "bad_request",
};

const char *route_outcome_name(enum route_outcome o)
{
	return o < ROUTE__COUNT ? outcome_names[o] : "?";
}

static bool has_prefix(struct http_str s, const char *prefix, size_t plen)
{
	return s.len >= plen && !memcmp(s.p, prefix, plen);
}

static enum route_outcome answer(struct route_response *rs, int status, const char *text,
				 enum route_outcome o)
{
	rs->status = status;
	rs->content_type = "text/plain; charset=utf-8";
	rs->body = text;
	rs->body_len = strlen(text);
	return o;
}

static enum route_outcome bad_method(struct route_response *rs, const char *allow)
{
	rs->allow = allow;
	return answer(rs, 405, "method not allowed\n", ROUTE_BAD_METHOD);
}

/* Keeps the first `bits` bits of the address: events never store more than policy allows. */
static void truncate_addr(uint8_t *addr, unsigned len, unsigned bits)
{
	for (unsigned i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xff00 >> bits);
		bits = 0;
	}
}

static void fill_event(const struct route_request *rq, const char *host, size_t host_len,
		       const struct token *t, enum event_kind kind, struct event *ev)
{
	const struct config *cfg = rq->st->cfg;
	const struct http_request *req = rq->req;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	memset(ev, 0, offsetof(struct event, host));
	ev->time_ns = rq->now_ns;
	ev->kind = kind;
	ev->message_id = t->message_id;
	ev->recipient_id = t->recipient_id;
	ev->link_index = t->link_index;
	ev->flags = rq->tls ? EVENT_TLS : 0;
	ev->machine_reasons = machine_reasons(&cfg->machine, req->method == HTTP_HEAD, rq->family,
					      rq->addr, req->user_agent.p, req->user_agent.len);
	if (rq->family) {
		uint64_t now_ms = rq->now_ns / 1000000;
		if (kind == EVENT_OPEN)
			open_memory_note(rq->opens, rq->family, rq->addr, t->message_id,
					 t->recipient_id, now_ms);
		else if (kind == EVENT_CLICK &&
			 open_memory_recent(rq->opens, rq->family, rq->addr, t->message_id,
					    t->recipient_id, now_ms, cfg->machine.fast_click_ms))
			ev->machine_reasons |= EVENT_MR_FAST_CLICK;
		ev->addr_family = rq->family;
		ev->addr_prefix = rq->family == 6 ? cfg->ipv6_prefix : cfg->ipv4_prefix;
		memcpy(ev->addr, rq->addr, rq->family == 6 ? 16 : 4);
		truncate_addr(ev->addr, rq->family == 6 ? 16 : 4, ev->addr_prefix);
	}
	if (ev->machine_reasons)
		ev->flags |= EVENT_MACHINE;
	if (req->user_agent.len &&
	    EVP_Digest(req->user_agent.p, req->user_agent.len, digest, &dlen, EVP_sha256(), NULL))
		memcpy(ev->ua_digest, digest, sizeof(ev->ua_digest));
	ev->host_len = host_len;
	memcpy(ev->host, host, host_len);
	ev->host[host_len] = '\0';
}

static enum route_outcome acme_answer(const struct route_request *rq, const struct track_domain *d,
				      struct http_str token, struct route_response *rs)
{
	const char *ka = NULL;
	int n;

	if (!acme_token_valid(token.p, token.len))
		return answer(rs, 404, "not found\n", ROUTE_NOT_FOUND);
	if (rq->challenges)
		ka = challenge_store_find(rq->challenges, token.p, token.len, time(NULL));
	if (ka) {
		rs->status = 200;
		rs->body = ka;
		rs->body_len = strlen(ka);
	} else {
		if (!d->thumbprint)
			return answer(rs, 404, "not found\n", ROUTE_NOT_FOUND);
		n = acme_key_authorization(token.p, token.len, d->thumbprint, rs->scratch,
					   sizeof(rs->scratch));
		if (n < 0)
			return answer(rs, 404, "not found\n", ROUTE_NOT_FOUND);
		rs->status = 200;
		rs->body = rs->scratch;
		rs->body_len = n;
	}
	rs->content_type = "application/octet-stream";
	rs->no_store = true;
	return ROUTE_ACME;
}

/* RFC 8058: the POST body carries List-Unsubscribe=One-Click as a form field. */
static bool one_click_body(const struct http_request *req, const char *body, size_t len)
{
	static const char field[] = "List-Unsubscribe=One-Click";
	static const char mp_name[] = "name=\"List-Unsubscribe\"";
	const char *ct = req->content_type.p;
	size_t ctl = req->content_type.len;

	if (ctl >= 33 && !strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
		const char *p = body, *end = body + len;
		while (p < end) {
			const char *amp = memchr(p, '&', end - p);
			size_t fl = (amp ? amp : end) - p;
			if (fl == sizeof(field) - 1 && !memcmp(p, field, fl))
				return true;
			p += fl + 1;
		}
		return false;
	}
	if (ctl >= 19 && !strncasecmp(ct, "multipart/form-data", 19)) {
		const char *n = memmem(body, len, mp_name, sizeof(mp_name) - 1);
		const char *v = n ? memmem(n, body + len - n, "\r\n\r\n", 4) : NULL;
		return v && (size_t)(body + len - (v + 4)) >= 9 && !memcmp(v + 4, "One-Click", 9);
	}
	return false;
}

static enum route_outcome tracked(const struct route_request *rq, const char *host,
				  size_t host_len, struct http_str tok, enum token_kind want,
				  struct route_response *rs)
{
	const struct http_request *req = rq->req;
	struct token t;
	enum token_err te;

	time_t now = rq->now_ns / 1000000000ull;

	te = rq->verifier ? token_verifier_decode(rq->verifier, host, host_len, tok.p, tok.len, now,
						   &t, (uint8_t *)rs->scratch, sizeof(rs->scratch))
			  : token_decode(rq->st->keys, host, host_len, tok.p, tok.len, now, &t,
					 (uint8_t *)rs->scratch, sizeof(rs->scratch));
	/* A click never redirects on a bad token: no open redirect, whatever the input. */
	if (te != TOKEN_OK || t.kind != want)
		return answer(rs, 404, "not found\n", ROUTE_BAD_TOKEN);

	switch (want) {
	case TOKEN_CLICK:
		fill_event(rq, host, host_len, &t, EVENT_CLICK, &rs->ev);
		rs->has_event = true;
		rs->status = 302;
		rs->location = t.url;
		rs->location_len = t.url_len;
		rs->no_store = true;
		return ROUTE_CLICK;
	case TOKEN_OPEN:
		fill_event(rq, host, host_len, &t, EVENT_OPEN, &rs->ev);
		rs->has_event = true;
		rs->status = 200;
		rs->content_type = "image/gif";
		rs->body = (const char *)pixel_gif;
		rs->body_len = sizeof(pixel_gif);
		rs->no_store = true;
		return ROUTE_OPEN;
	case TOKEN_UNSUBSCRIBE:
		rs->content_type = "text/html; charset=utf-8";
		rs->no_store = true;
		if (req->method != HTTP_POST) {
			rs->status = 200;
			rs->body = unsub_page;
			rs->body_len = sizeof(unsub_page) - 1;
			return ROUTE_UNSUB_PAGE;
		}
		if (!one_click_body(req, rq->body, rq->body_len))
			return answer(rs, 400, "expected a form with List-Unsubscribe=One-Click\n",
				      ROUTE_BAD_REQUEST);
		fill_event(rq, host, host_len, &t, EVENT_UNSUBSCRIBE, &rs->ev);
		rs->has_event = true;
		rs->status = 200;
		rs->body = unsub_done;
		rs->body_len = sizeof(unsub_done) - 1;
		return ROUTE_UNSUB;
	}
	return answer(rs, 404, "not found\n", ROUTE_BAD_TOKEN);
}

/*
 * Plain-HTTP tracking request on a domain that asks for HTTPS: 308 keeps POST a POST. The
 * Location is the host and the target from the path on (path, '?' and query as sent), never
 * the whole target: an absolute-form target carries its own scheme and authority.
 */
static enum route_outcome https_redirect(const char *host, size_t host_len,
					 const struct http_request *req, struct route_response *rs)
{
	size_t rest = (size_t)(req->target.p + req->target.len - req->path.p);
	int n = snprintf(rs->scratch, sizeof(rs->scratch), "https://%.*s%.*s", (int)host_len, host,
			 (int)rest, req->path.p);

	if (n < 0 || (size_t)n >= sizeof(rs->scratch))
		return answer(rs, 414, "request target too long\n", ROUTE_BAD_REQUEST);
	rs->status = 308;
	rs->location = rs->scratch;
	rs->location_len = n;
	return ROUTE_REDIRECT;
}

static bool route_token(struct http_str path, const char *prefix, size_t plen, struct http_str *tok)
{
	if (!has_prefix(path, prefix, plen))
		return false;
	tok->p = path.p + plen;
	tok->len = path.len - plen;
	return true;
}

enum route_outcome route_handle(const struct route_request *rq, struct route_response *rs)
{
	const struct http_request *req = rq->req;
	const struct track_domain *d;
	struct http_str tok;
	enum token_kind kind;
	char host[256];
	int hl;

	memset(rs, 0, offsetof(struct route_response, ev));
	if (req->path.len == 8 && !memcmp(req->path.p, "/healthz", 8)) {
		if (req->method != HTTP_GET && req->method != HTTP_HEAD)
			return bad_method(rs, "GET, HEAD");
		rs->no_store = true;
		return answer(rs, 200, "ok\n", ROUTE_HEALTH);
	}
	hl = req->host.len ? hostname_normalize(req->host.p, req->host.len, host, sizeof(host), 0)
			   : -1;
	if (hl < 0 && req->host.len)
		return answer(rs, 400, "bad Host header\n", ROUTE_BAD_REQUEST);
	d = hl > 0 ? track_state_lookup(rq->st, host, hl) : NULL;
	if (!d)
		return answer(rs, 421, "unknown host\n", ROUTE_UNKNOWN_HOST);
	if (rq->tls && d->hsts_len) {
		rs->hsts = d->hsts;
		rs->hsts_len = d->hsts_len;
	}

	if (route_token(req->path, PREFIX_ACME, sizeof(PREFIX_ACME) - 1, &tok)) {
		if (req->method != HTTP_GET && req->method != HTTP_HEAD)
			return bad_method(rs, "GET, HEAD");
		if (req->content_length)
			return answer(rs, 413, "this route takes no body\n", ROUTE_BAD_REQUEST);
		return acme_answer(rq, d, tok, rs);
	}
	if (route_token(req->path, "/c/", 3, &tok))
		kind = TOKEN_CLICK;
	else if (route_token(req->path, "/o/", 3, &tok))
		kind = TOKEN_OPEN;
	else if (route_token(req->path, "/u/", 3, &tok))
		kind = TOKEN_UNSUBSCRIBE;
	else
		return answer(rs, 404, "not found\n", ROUTE_NOT_FOUND);

	if (kind == TOKEN_UNSUBSCRIBE) {
		if (req->method == HTTP_OTHER)
			return bad_method(rs, "GET, HEAD, POST");
	} else if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		return bad_method(rs, "GET, HEAD");
	}
	if (req->content_length && req->method != HTTP_POST)
		return answer(rs, 413, "this route takes no body\n", ROUTE_BAD_REQUEST);
	if (!rq->tls && d->https_redirect)
		return https_redirect(host, hl, req, rs);
	return tracked(rq, host, hl, tok, kind, rs);
}
