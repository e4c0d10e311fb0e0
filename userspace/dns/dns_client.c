// SPDX-License-Identifier: MIT
#include "dns/dns_client.h"
#include "core/clock.h"

#include <arpa/inet.h>
#include <ares.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CNAME_HOPS 8
#define C_IN 1

struct entry {
	struct dns_client *c;
	char name[DNS_NAME_MAX]; /* as asked */
	char cur[DNS_NAME_MAX];  /* the name asked now, after the CNAMEs followed so far */
	int type, hops;
	bool done;
	struct dns_answer ans;
};

struct dns_client {
	struct dns_source src; /* first: the source pointer is the client pointer */
	ares_channel ch;
	struct entry **e;
	size_t n, cap;
	unsigned pending;
	long long deadline; /* monotonic ms, 0: none */
	bool serial;
	unsigned long queries;
};

static void tempfail(struct entry *e, const char *why)
{
	dns_answer_clear(&e->ans);
	e->ans.status = DNS_TEMPFAIL;
	snprintf(e->ans.error, sizeof(e->ans.error), "%s", why);
	e->done = true;
}

/* ---------------------------------------------------------------- wire format */

struct rr_view {
	char owner[DNS_NAME_MAX];
	int type;
	const unsigned char *rdata;
	int rdlen;
};

struct reply {
	const unsigned char *buf;
	int len;
	struct rr_view *rr;
	size_t n;
};

static int expand(const struct reply *r, const unsigned char *at, char out[DNS_NAME_MAX],
		  long *enclen)
{
	char *name;
	long el;
	int ok = ares_expand_name(at, r->buf, r->len, &name, &el) == ARES_SUCCESS;

	if (!ok)
		return -1;
	ok = dns_name_canon(name, out);
	ares_free_string(name);
	if (enclen)
		*enclen = el;
	return ok ? 0 : -1;
}

/* The answer section as views into the buffer; the question is skipped. */
static int split_answers(struct reply *r)
{
	const unsigned char *p = r->buf + 12, *end = r->buf + r->len;
	unsigned qd, an;
	char name[DNS_NAME_MAX];
	long el;

	if (r->len < 12)
		return -1;
	qd = (unsigned)(r->buf[4] << 8 | r->buf[5]);
	an = (unsigned)(r->buf[6] << 8 | r->buf[7]);
	r->rr = calloc(an ? an : 1, sizeof(*r->rr));
	if (!r->rr)
		return -1;
	for (unsigned i = 0; i < qd; i++) {
		if (expand(r, p, name, &el) || end - (p + el) < 4)
			return -1;
		p += el + 4;
	}
	for (unsigned i = 0; i < an; i++) {
		struct rr_view *v = &r->rr[r->n];
		if (expand(r, p, v->owner, &el) || end - (p + el) < 10)
			return -1;
		p += el;
		v->type = p[0] << 8 | p[1];
		v->rdlen = p[8] << 8 | p[9];
		v->rdata = p + 10;
		if (end - v->rdata < v->rdlen)
			return -1;
		p = v->rdata + v->rdlen;
		r->n++;
	}
	return 0;
}

/* TXT and SPF: <len><bytes> strings, joined. */
static int add_txt(struct dns_answer *a, const struct rr_view *v)
{
	char *t = malloc((size_t)v->rdlen + 1);
	size_t o = 0;
	unsigned nstr = 0;
	int rc;

	if (!t)
		return -1;
	for (int i = 0; i < v->rdlen; nstr++) {
		int l = v->rdata[i++];
		if (l > v->rdlen - i)
			l = v->rdlen - i;
		memcpy(t + o, v->rdata + i, (size_t)l);
		o += (size_t)l;
		i += l;
	}
	rc = dns_answer_add(a, t, o, 0, nstr);
	free(t);
	return rc;
}

static int add_rr(const struct reply *r, struct dns_answer *a, const struct rr_view *v)
{
	char text[DNS_NAME_MAX + 300];
	int off = 0;

	switch (v->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (v->rdlen != (v->type == DNS_T_A ? 4 : 16))
			return 0;
		inet_ntop(v->type == DNS_T_A ? AF_INET : AF_INET6, v->rdata, text, sizeof(text));
		return dns_answer_add(a, text, strlen(text), 0, 0);
	case DNS_T_MX:
		if (v->rdlen < 3)
			return 0;
		off = 2;
		/* fall through */
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (expand(r, v->rdata + off, text, NULL))
			return 0;
		return dns_answer_add(a, text, strlen(text),
				      off ? (unsigned)(v->rdata[0] << 8 | v->rdata[1]) : 0, 0);
	case DNS_T_TXT:
	case DNS_T_SPF:
		return add_txt(a, v);
	case DNS_T_CAA:
		if (v->rdlen < 2 || v->rdata[1] > v->rdlen - 2)
			return 0;
		off = snprintf(text, sizeof(text), "%.*s %.*s", v->rdata[1], v->rdata + 2,
			       v->rdlen - 2 - v->rdata[1], v->rdata + 2 + v->rdata[1]);
		return dns_answer_add(a, text, (size_t)off < sizeof(text) ? (size_t)off : sizeof(text) - 1,
				      v->rdata[0], 0);
	}
	return 0;
}

/* Follows the CNAMEs of the answer from e->cur to the name the data should be at. */
static void chain_end(struct entry *e, const struct reply *r, char cur[DNS_NAME_MAX])
{
	snprintf(cur, DNS_NAME_MAX, "%s", e->cur);
	if (e->type == DNS_T_CNAME)
		return;
	for (int hop = 0; hop < CNAME_HOPS; hop++) {
		size_t i;
		for (i = 0; i < r->n; i++)
			if (r->rr[i].type == DNS_T_CNAME && !strcmp(r->rr[i].owner, cur))
				break;
		if (i == r->n)
			break;
		if (expand(r, r->rr[i].rdata, cur, NULL))
			break;
		snprintf(e->ans.cname, sizeof(e->ans.cname), "%s", cur);
	}
}

/* Decodes one reply into e->ans; true when a CNAME target still has to be asked for. */
static bool decode(struct entry *e, int status, const unsigned char *buf, int len)
{
	struct reply r = { .buf = buf, .len = len };
	char at[DNS_NAME_MAX];
	bool recursive;

	if (status != ARES_SUCCESS && status != ARES_ENODATA && status != ARES_ENOTFOUND) {
		tempfail(e, status == ARES_ECANCELLED || status == ARES_EDESTRUCTION
				    ? "no answer within the deadline"
				    : ares_strerror(status));
		return false;
	}
	if (!buf || split_answers(&r)) {
		free(r.rr);
		tempfail(e, "malformed answer");
		return false;
	}
	recursive = buf[3] & 0x80; /* RA: a recursive answer carries the whole chain */
	chain_end(e, &r, at);
	for (size_t i = 0; i < r.n; i++)
		if (r.rr[i].type == e->type && !strcmp(r.rr[i].owner, at) &&
		    add_rr(&r, &e->ans, &r.rr[i])) {
			free(r.rr);
			tempfail(e, "out of memory");
			return false;
		}
	free(r.rr);
	e->ans.status = e->ans.n ? DNS_OK : status == ARES_ENOTFOUND ? DNS_NXDOMAIN : DNS_NODATA;
	e->done = true;
	if (e->ans.n || recursive || !strcmp(at, e->cur) || status == ARES_ENOTFOUND)
		return false;
	if (++e->hops > CNAME_HOPS) {
		tempfail(e, "CNAME chain too long");
		return false;
	}
	snprintf(e->cur, sizeof(e->cur), "%s", at);
	e->done = false;
	return true;
}

/* ---------------------------------------------------------------- queries */

static void submit(struct entry *e);

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct entry *e = arg;

	e->c->pending--;
	if (decode(e, status, abuf, alen))
		submit(e);
}

static void submit(struct entry *e)
{
	struct dns_client *c = e->c;

	if (c->deadline && (long long)clock_ms(CLOCK_MONOTONIC) >= c->deadline) {
		tempfail(e, "no answer within the deadline");
		return;
	}
	c->pending++;
	c->queries++;
	ares_query(c->ch, e->cur, C_IN, e->type, on_reply, e);
}

/* Runs the channel until nothing is pending or the deadline passes. */
static void run(struct dns_client *c)
{
	while (c->pending) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp;
		/* the bit macros of ares.h shift into the sign bit: test the bits unsigned */
		unsigned bits = (unsigned)ares_getsock(c->ch, socks, ARES_GETSOCK_MAXNUM);
		int nfd = 0;
		long long wait, left = c->deadline ? c->deadline - (long long)clock_ms(CLOCK_MONOTONIC) : 0;

		if (c->deadline && left <= 0) {
			ares_cancel(c->ch); /* every pending query answers ARES_ECANCELLED */
			return;
		}
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = (short)((bits >> i & 1u ? POLLIN : 0) |
					   (bits >> (i + ARES_GETSOCK_MAXNUM) & 1u ? POLLOUT : 0));
			if (ev)
				pfd[nfd++] = (struct pollfd){ .fd = socks[i], .events = ev };
		}
		tvp = ares_timeout(c->ch, NULL, &tv);
		wait = tvp ? (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 + 1 : 1000;
		if (c->deadline && wait > left)
			wait = left;
		if (poll(pfd, (nfds_t)nfd, (int)wait) <= 0) {
			ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < nfd; i++)
			if (pfd[i].revents)
				ares_process_fd(c->ch,
						pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
						pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

static struct entry *find(struct dns_client *c, const char *name, int type)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i]->type == type && !strcmp(c->e[i]->name, name))
			return c->e[i];
	return NULL;
}

/* The cached entry for (name, type), or a new one that has been sent. */
static struct entry *ask(struct dns_client *c, const char *name, int type)
{
	struct entry *e;
	char canon[DNS_NAME_MAX];
	bool valid = dns_name_canon(name, canon);

	if (!valid)
		snprintf(canon, sizeof(canon), "%.*s", DNS_NAME_MAX - 1, name);
	if ((e = find(c, canon, type)))
		return e;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct entry **ne = realloc(c->e, cap * sizeof(*ne));
		if (!ne)
			return NULL;
		c->e = ne;
		c->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	*e = (struct entry){ .c = c, .type = type, .ans = { .type = type } };
	snprintf(e->name, sizeof(e->name), "%s", canon);
	snprintf(e->cur, sizeof(e->cur), "%s", canon);
	c->e[c->n++] = e;
	if (!valid || !canon[0])
		tempfail(e, "not a valid DNS name");
	else
		submit(e);
	return e;
}

static const struct dns_answer *client_lookup(struct dns_source *s, const char *name, int type)
{
	static const struct dns_answer oom = { .status = DNS_TEMPFAIL, .error = "out of memory" };
	struct dns_client *c = (struct dns_client *)s;
	struct entry *e = ask(c, name, type);

	if (!e)
		return &oom;
	while (!e->done && c->pending)
		run(c);
	if (!e->done)
		tempfail(e, "no answer within the deadline");
	return &e->ans;
}

static void client_prefetch(struct dns_source *s, const struct dns_question *q, size_t n)
{
	struct dns_client *c = (struct dns_client *)s;

	if (c->serial)
		return;
	for (size_t i = 0; i < n; i++)
		ask(c, q[i].name, q[i].type);
	run(c);
}

/* ---------------------------------------------------------------- life cycle */

struct dns_client *dns_client_new(const char *servers, int timeout_ms, char *err,
				  size_t errlen)
{
	struct ares_options opt = { .timeout = timeout_ms > 0 ? timeout_ms : 2000, .tries = 2,
				    .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES };
	struct dns_client *c;
	int rc = ares_library_init(ARES_LIB_INIT_ALL);

	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ares_library_cleanup();
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->src = (struct dns_source){ .lookup = client_lookup, .prefetch = client_prefetch };
	rc = ares_init_options(&c->ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc == ARES_SUCCESS && servers && *servers)
		rc = ares_set_servers_ports_csv(c->ch, servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver \"%s\": %s", servers ? servers : "system",
			 ares_strerror(rc));
		dns_client_free(c);
		return NULL;
	}
	return c;
}

static void drop_entries(struct dns_client *c)
{
	for (size_t i = 0; i < c->n; i++) {
		dns_answer_clear(&c->e[i]->ans);
		free(c->e[i]);
	}
	c->n = 0;
}

void dns_client_free(struct dns_client *c)
{
	if (!c)
		return;
	if (c->ch)
		ares_destroy(c->ch); /* pending callbacks run now, while the entries exist */
	drop_entries(c);
	free(c->e);
	free(c);
	ares_library_cleanup();
}

struct dns_source *dns_client_source(struct dns_client *c)
{
	return &c->src;
}

void dns_client_reset(struct dns_client *c, int deadline_ms)
{
	if (c->pending)
		ares_cancel(c->ch);
	drop_entries(c);
	c->deadline = deadline_ms > 0 ? (long long)clock_ms(CLOCK_MONOTONIC) + deadline_ms : 0;
}

void dns_client_set_serial(struct dns_client *c, bool serial)
{
	c->serial = serial;
}

unsigned long dns_client_queries(const struct dns_client *c)
{
	return c->queries;
}
