// SPDX-License-Identifier: MIT
/*
 * Opens N keep-alive connections to a server, sends one request on each, reads its whole
 * response, then keeps every connection open and idle until it is told to stop.
 *   idle_conns ADDRESS PORT COUNT HOST PATH
 * Prints "ready COUNT" on stdout once all COUNT connections have had their answer, then
 * holds them until SIGTERM or SIGINT ends the process (the kernel closes them).
 * Exit status 1, with the reason on stderr, if a connection or a response fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 100000
#define RESP_MAX 16384

struct target {
	struct sockaddr_in addr;
	char request[1024];
	size_t request_len;
};

static int parse_count(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || *out < 1 || *out > MAX_CONNS ? -1 : 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Content-Length of a response head (the bytes before the blank line); 0 if absent. */
static long content_length(const char *head)
{
	const char *p = head;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "content-length:", 15) == 0)
			return strtol(p + 15, NULL, 10);
	}
	return 0;
}

/* Reads one whole response (head and Content-Length body); 0 when complete. */
static int read_response(int fd, int *status)
{
	char buf[RESP_MAX + 1];
	size_t got = 0;
	char *end = NULL;

	while (!end || got < (size_t)(end - buf) + 4 + (size_t)content_length(buf)) {
		ssize_t n;

		if (got == RESP_MAX)
			return -1;
		n = recv(fd, buf + got, RESP_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL)
			*end = '\0'; /* content_length() reads the head only */
	}
	return sscanf(buf, "HTTP/1.%*d %d", status) == 1 ? 0 : -1;
}

/* One connection that has had one request answered; its fd, or -1. */
static int open_one(const struct target *t, long i)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, status = 0;

	if (fd < 0) {
		fprintf(stderr, "idle_conns: socket %ld: %s\n", i, strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&t->addr, sizeof(t->addr)) != 0 ||
	    send_all(fd, t->request, t->request_len) != 0 || read_response(fd, &status) != 0) {
		fprintf(stderr, "idle_conns: connection %ld: %s\n", i,
			errno ? strerror(errno) : "bad or missing response");
		close(fd);
		return -1;
	}
	if (status < 200 || status >= 400) {
		fprintf(stderr, "idle_conns: connection %ld: status %d\n", i, status);
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct target t = { .addr.sin_family = AF_INET };
	struct rlimit rl;
	long count, port;
	int *fds, n;

	if (argc != 6 || inet_pton(AF_INET, argv[1], &t.addr.sin_addr) != 1 ||
	    parse_count(argv[2], &port) != 0 || port > 65535 || parse_count(argv[3], &count) != 0) {
		fprintf(stderr, "usage: idle_conns ADDRESS PORT COUNT HOST PATH\n");
		return 1;
	}
	t.addr.sin_port = htons((uint16_t)port);
	n = snprintf(t.request, sizeof(t.request),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: idle_conns\r\n\r\n", argv[5], argv[4]);
	if (n < 0 || (size_t)n >= sizeof(t.request)) {
		fprintf(stderr, "idle_conns: HOST and PATH too long\n");
		return 1;
	}
	t.request_len = (size_t)n;
	/* Room for COUNT sockets plus stdio. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)count + 16) {
		rl.rlim_cur = (rlim_t)count + 16 <= rl.rlim_max ? (rlim_t)count + 16 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc((size_t)count, sizeof(*fds));
	if (!fds) {
		fprintf(stderr, "idle_conns: out of memory\n");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		fds[i] = open_one(&t, i);
		if (fds[i] < 0)
			return 1;
	}
	printf("ready %ld\n", count);
	fflush(stdout);
	/* SIGTERM's default action ends the wait, and the kernel closes every socket. */
	for (;;)
		pause();
}
