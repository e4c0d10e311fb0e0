// SPDX-License-Identifier: MIT
/*
 * Load generator of the journal crash test: many keep-alive clients send click and open
 * requests, each with its own (message id, recipient id), to an edgetrackd that the test
 * kills and restarts underneath them. A client reconnects whenever the server is gone.
 *
 *   loadgen -p PORT -H HOST -k KEYHEX [-c CLIENTS] [-t SECONDS] [-m MESSAGE_BASE]
 *
 * Client i uses message id MESSAGE_BASE + i and recipient ids 1, 2, 3... in order; every
 * fourth request is an open, the rest are clicks. It writes to stdout, one line each:
 *   S <message> <recipient>           just before the request is sent
 *   A <message> <recipient> <status>  once the whole response was read and was the success
 *                                     answer of its route (302 to the signed URL, 200 GIF)
 *   R <message> <recipient> <status>  a whole response with any other status
 * A request without an A or R line got no complete answer (the server died first).
 * Runs until SECONDS pass or SIGTERM/SIGINT, then prints totals on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "track/token.h"

#define MAX_CLIENTS 512
#define RESP_CAP    8192
#define IO_TIMEOUT_S 3
#define DEST_URL    "https://shop.example.com/landing?from=loadgen"
#define GIF_LEN     43

struct shared {
	const struct token_keyring *kr;
	const char *host;
	struct sockaddr_in addr;
	uint64_t message_base;
	atomic_int stop;
	atomic_ulong sent, acked, other, failed;
};

struct client {
	struct shared *sh;
	unsigned idx;
	pthread_t thread;
};

/* ---------------------------------------------------------------- connection */

static int connect_to(const struct shared *sh)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&sh->addr, sizeof(sh->addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------- responses */

struct response {
	int status;
	int close;               /* server said Connection: close */
	char location[256];
	size_t body_len;
};

/* Value of header name in the head [p, end), or NULL; *len gets its length. */
static const char *header_value(const char *p, const char *end, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;

			while (v < eol && *v == ' ')
				v++;
			*len = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

static int parse_head(const char *buf, size_t head_len, struct response *r, size_t *clen)
{
	const char *end = buf + head_len, *v;
	size_t vl;

	if (head_len < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	r->status = atoi(buf + 9);
	*clen = 0;
	v = header_value(buf, end, "Content-Length", &vl);
	if (v)
		*clen = strtoul(v, NULL, 10);
	v = header_value(buf, end, "Connection", &vl);
	r->close = v && vl == 5 && strncasecmp(v, "close", 5) == 0;
	r->location[0] = 0;
	v = header_value(buf, end, "Location", &vl);
	if (v && vl < sizeof(r->location)) {
		memcpy(r->location, v, vl);
		r->location[vl] = 0;
	}
	return 0;
}

/* Reads one whole response (head and Content-Length body). 0, or -1 if it did not arrive. */
static int read_response(int fd, struct response *r)
{
	char buf[RESP_CAP];
	size_t len = 0, head_len = 0, clen = 0;

	for (;;) {
		ssize_t n;

		if (head_len && len >= head_len + clen) {
			r->body_len = clen;
			return 0;
		}
		if (len == sizeof(buf))
			return -1;
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (!head_len) {
			const char *e = memmem(buf, len, "\r\n\r\n", 4);

			if (!e)
				continue;
			head_len = (size_t)(e - buf) + 4;
			if (parse_head(buf, head_len, r, &clen) != 0)
				return -1;
		}
	}
}

/* ---------------------------------------------------------------- clients */

static int mint(const struct shared *sh, enum token_kind kind, uint64_t msg, uint64_t rcp,
		char *out, size_t outlen)
{
	struct token t = {
		.kind = kind, .message_id = msg, .recipient_id = rcp,
		.link_index = (uint16_t)(rcp & 0xffff),
	};
	char err[128];

	if (kind == TOKEN_CLICK) {
		t.url = DEST_URL;
		t.url_len = sizeof(DEST_URL) - 1;
	}
	if (token_encode(sh->kr, sh->host, strlen(sh->host), &t, out, outlen, err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: token: %s\n", err);
		return -1;
	}
	return 0;
}

static int success(enum token_kind kind, const struct response *r)
{
	if (kind == TOKEN_CLICK)
		return r->status == 302 && strcmp(r->location, DEST_URL) == 0;
	return r->status == 200 && r->body_len == GIF_LEN;
}

/* One request on fd; returns 0 if the connection can carry the next one. */
static int one_request(struct client *cl, int fd, uint64_t rcp)
{
	struct shared *sh = cl->sh;
	uint64_t msg = sh->message_base + cl->idx;
	enum token_kind kind = rcp % 4 == 0 ? TOKEN_OPEN : TOKEN_CLICK;
	char tok[TOKEN_MAX_LEN + 1], req[TOKEN_MAX_LEN + 256];
	struct response r;
	int n;

	if (mint(sh, kind, msg, rcp, tok, sizeof(tok)) != 0)
		return -1;
	n = snprintf(req, sizeof(req),
		     "GET /%c/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: edgetrack-loadgen/1\r\n\r\n",
		     kind == TOKEN_CLICK ? 'c' : 'o', tok, sh->host);
	/* Logged before sending: whatever the journal holds must have been asked for. */
	printf("S %" PRIu64 " %" PRIu64 "\n", msg, rcp);
	atomic_fetch_add(&sh->sent, 1);
	if (send_all(fd, req, (size_t)n) != 0 || read_response(fd, &r) != 0) {
		atomic_fetch_add(&sh->failed, 1);
		return -1;
	}
	if (success(kind, &r)) {
		printf("A %" PRIu64 " %" PRIu64 " %d\n", msg, rcp, r.status);
		atomic_fetch_add(&sh->acked, 1);
	} else {
		printf("R %" PRIu64 " %" PRIu64 " %d\n", msg, rcp, r.status);
		atomic_fetch_add(&sh->other, 1);
	}
	return r.close ? -1 : 0;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	struct timespec pause = { .tv_nsec = 20 * 1000000 };
	uint64_t rcp = 1;
	int fd = -1;

	while (!atomic_load(&cl->sh->stop)) {
		if (fd < 0 && (fd = connect_to(cl->sh)) < 0) {
			nanosleep(&pause, NULL); /* server down: try again shortly */
			continue;
		}
		if (one_request(cl, fd, rcp++) != 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* ---------------------------------------------------------------- main */

static int hex_key(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static struct token_keyring *make_keyring(const char *hex)
{
	uint8_t key[TOKEN_KEY_MAX];
	char err[128];
	size_t len;
	struct token_keyring *kr;

	if (hex_key(hex, key, sizeof(key), &len) != 0) {
		fprintf(stderr, "loadgen: -k wants %d..%d bytes of hex\n", TOKEN_KEY_MIN,
			TOKEN_KEY_MAX);
		return NULL;
	}
	kr = token_keyring_new();
	if (!kr || token_keyring_add(kr, 1, key, len, err, sizeof(err)) != 0 ||
	    token_keyring_set_current(kr, 1) != 0) {
		fprintf(stderr, "loadgen: key: %s\n", kr ? err : "out of memory");
		token_keyring_free(kr);
		return NULL;
	}
	return kr;
}

static int usage(void)
{
	fputs("usage: loadgen -p PORT -H HOST -k KEYHEX [-c CLIENTS] [-t SECONDS] "
	      "[-m MESSAGE_BASE]\n", stderr);
	return 2;
}

/* Waits for SIGTERM/SIGINT or the deadline, with those signals blocked in every thread. */
static void wait_until_done(const sigset_t *set, unsigned seconds)
{
	struct timespec ts = { .tv_sec = seconds };

	while (sigtimedwait(set, NULL, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	static struct client clients[MAX_CLIENTS];
	struct shared sh = { .addr = { .sin_family = AF_INET } };
	const char *key = NULL;
	unsigned nclients = 32, seconds = 30;
	sigset_t set;
	int opt, port = 0;

	while ((opt = getopt(argc, argv, "p:H:k:c:t:m:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'H': sh.host = optarg; break;
		case 'k': key = optarg; break;
		case 'c': nclients = (unsigned)atoi(optarg); break;
		case 't': seconds = (unsigned)atoi(optarg); break;
		case 'm': sh.message_base = strtoull(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (port <= 0 || port > 65535 || !sh.host || !key || !nclients ||
	    nclients > MAX_CLIENTS)
		return usage();
	sh.addr.sin_port = htons((uint16_t)port);
	sh.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sh.kr = make_keyring(key);
	if (!sh.kr)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < nclients; i++) {
		clients[i] = (struct client){ .sh = &sh, .idx = i };
		int rc = pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);

		if (rc != 0) {
			fprintf(stderr, "loadgen: thread: %s\n", strerror(rc));
			nclients = i;
			break;
		}
	}
	wait_until_done(&set, seconds);
	atomic_store(&sh.stop, 1);
	for (unsigned i = 0; i < nclients; i++)
		pthread_join(clients[i].thread, NULL);
	fflush(stdout);
	fprintf(stderr, "loadgen: clients=%u sent=%lu acked=%lu other=%lu failed=%lu\n", nclients,
		atomic_load(&sh.sent), atomic_load(&sh.acked), atomic_load(&sh.other),
		atomic_load(&sh.failed));
	token_keyring_free((struct token_keyring *)sh.kr);
	return 0;
}
