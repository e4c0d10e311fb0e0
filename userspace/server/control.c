// SPDX-License-Identifier: MIT
#include "server/control.h"
#include "server/fleet_link.h"

#include "acme/challenge.h"
#include "core/err.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "server/mgmt.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CMD_MAX 1024

int control_hold_reloads(sigset_t *set)
{
	sigset_t hup;

	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	return pthread_sigmask(SIG_BLOCK, &hup, NULL);
}

int control_block_signals(const sigset_t *set, char *err, size_t errlen)
{
	int rc = pthread_sigmask(SIG_BLOCK, set, NULL);

	return rc ? err_set(err, errlen, "cannot block signals: %s", strerror(rc)) : 0;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("control_socket_failed", "path=%s reason=\"path too long\"", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path); /* a stale socket of a previous run */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0600) || listen(fd, 16)) {
		log_error("control_socket_failed", "path=%s error=\"%s\"", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(int fd, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(fd, buf, n) != n)
		log_warn("control_reply_failed", "error=\"%s\"", strerror(errno));
}

static void cmd_status(struct server *srv, int fd)
{
	json_t *st = server_status(srv);
	char *line = st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (line)
		reply(fd, "%s\nok\n", line);
	else
		reply(fd, "error: out of memory\n");
	free(line);
	json_decref(st);
}

struct list_ctx {
	int fd;
	time_t now;
};

static void list_one(void *arg, const char *token, const char *keyauth, time_t added)
{
	struct list_ctx *lc = arg;

	reply(lc->fd, "%s %s %lld\n", token, keyauth, (long long)(lc->now - added));
}

static void cmd_challenge(struct server *srv, int fd, char *args)
{
	char *save = NULL, *verb = strtok_r(args, " ", &save);
	char *token = strtok_r(NULL, " ", &save), *keyauth = strtok_r(NULL, " ", &save);
	char err[256];

	if (verb && !strcmp(verb, "list")) {
		struct list_ctx lc = { fd, time(NULL) };
		challenge_table_each(srv->ctable, list_one, &lc);
		reply(fd, "ok\n");
		return;
	}
	if (verb && !strcmp(verb, "add") && token && keyauth) {
		if (challenge_table_add(srv->ctable, token, keyauth, time(NULL), err, sizeof(err))) {
			reply(fd, "error: %s\n", err);
			return;
		}
	} else if (verb && !strcmp(verb, "del") && token) {
		if (challenge_table_del(srv->ctable, token)) {
			reply(fd, "error: no challenge for that token\n");
			return;
		}
	} else {
		reply(fd, "error: usage: challenge add TOKEN KEYAUTH | del TOKEN | list\n");
		return;
	}
	if (server_publish_challenges(srv)) {
		reply(fd, "error: out of memory\n");
		return;
	}
	log_info("challenge_updated", "op=%s token=%s", verb, token);
	reply(fd, "ok\n");
}

static void handle_command(struct server *srv, int fd, char *line)
{
	char err[CONFIG_ERR_MAX];

	if (!strcmp(line, "ping")) {
		reply(fd, "ok\n");
	} else if (!strcmp(line, "status")) {
		cmd_status(srv, fd);
	} else if (!strcmp(line, "reload")) {
		if (server_reload(srv, err, sizeof(err))) {
			log_error("reload_refused", "reason=\"%s\"", err);
			reply(fd, "error: %s\n", err);
		} else {
			reply(fd, "ok\n");
		}
	} else if (!strcmp(line, "cert reload") || !strncmp(line, "cert reload ", 12)) {
		const char *domain = line[11] ? line + 12 : NULL;
		if (server_reload_certs(srv, domain, err, sizeof(err)))
			reply(fd, "error: %s\n", err);
		else
			reply(fd, "ok\n");
	} else if (!strncmp(line, "challenge ", 10)) {
		cmd_challenge(srv, fd, line + 10);
	} else {
		reply(fd, "error: unknown command (ping, status, reload, cert, challenge)\n");
	}
}

static void serve_client(struct server *srv, int lfd)
{
	struct timeval tv = { .tv_sec = 2 };
	char line[CMD_MAX];
	size_t len = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* a client that never finishes its line must not stall signal handling for long */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(line) - 1) {
		ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (len)
		handle_command(srv, fd, line);
	close(fd);
}

static bool handle_signal(struct server *srv, int sfd)
{
	struct signalfd_siginfo si;
	char err[CONFIG_ERR_MAX];

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGHUP) {
		if (server_reload(srv, err, sizeof(err)))
			log_error("reload_refused", "reason=\"%s\" keeping=previous", err);
		return false;
	}
	log_info("draining", "signal=%s", si.ssi_signo == SIGTERM ? "TERM" : "INT");
	return true;
}

int control_run(struct server *srv, const sigset_t *set, const char *socket_path)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);
	int lfd = open_socket(socket_path);
	/* a negative fd is skipped by poll: no control socket, no management API */
	struct pollfd pfd[4] = { { .fd = sfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN },
				 { .fd = srv->mgmt ? mgmt_fd(srv->mgmt) : -1, .events = POLLIN },
				 { .fd = metrics_fd(srv->metrics), .events = POLLIN } };

	if (sfd < 0) {
		log_error("signalfd_failed", "error=\"%s\"", strerror(errno));
		return -1;
	}
	metrics_refresh(srv);
	for (;;) {
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* pairs refused in the background: noted before a job renders the status page */
		server_take_cert_notes(srv);
		if ((pfd[0].revents & POLLIN) && handle_signal(srv, sfd))
			break;
		if (lfd >= 0 && (pfd[1].revents & POLLIN))
			serve_client(srv, lfd);
		if (pfd[2].revents & POLLIN)
			mgmt_run_jobs(srv);
		if (pfd[3].revents & POLLIN)
			metrics_tick(srv);
		/* a reload, a bundle or a command may have changed config or certificates: the
		 * certificate view is built again here, not while a page or a scrape waits */
		metrics_refresh(srv);
	}
	server_drain(srv);
	/* workers wait for their management jobs before they can finish */
	mgmt_close(srv);
	server_join(srv);
	if (lfd >= 0) {
		close(lfd);
		unlink(socket_path);
	}
	close(sfd);
	return 0;
}
