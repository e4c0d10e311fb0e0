// SPDX-License-Identifier: MIT
/*
 * edgetrackctl: the operator's command line.
 *
 *   edgetrackctl token encode|decode|verify ...     mint and read tracking tokens
 *   edgetrackctl [--socket PATH] status|ping|reload talk to a running edgetrackd
 *   edgetrackctl [--socket PATH] status --table|--json   tables for a person, or the JSON
 *   edgetrackctl [--socket PATH] challenge add TOKEN KEYAUTH | del TOKEN | list
 *   edgetrackctl bundle create|sign|verify|inspect|attach-signature ...   signed bundles
 *   edgetrackctl bundle push --to https://HOST:PORT[,...] --cert C --key K --ca CA FILE
 *   edgetrackctl keys gen|certify|keyring ...       signing keys and the keyring
 *   edgetrackctl id [--data-dir DIR]                 appliance id and X25519 key
 *   edgetrackctl events consume ... | fleet status   the fleet's events and status (NATS)
 *   edgetrackctl bundle publish | challenge publish --nats URL ...  into the fleet's buckets
 */
#include "acme/acme_cli.h"
#include "bundle/bundle_cli.h"
#include "dns/domain_cli.h"
#include "fleet/push.h"
#include "journal/events_cli.h"
#include "metrics/status_table.h"
#include "track/token_cli.h"
#ifdef CONFIG_FLEET
#include "fleet/consume.h"
#include "fleet/fleet_cli.h"
#include "fleet/publish_cli.h"
#endif
#ifdef CONFIG_XDP
#include "xdp/xdp.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackctl token encode|decode|verify [options]\n"
		"       edgetrackctl events tail|export|verify [options]\n"
#ifdef CONFIG_FLEET
		"       edgetrackctl events consume --nats URL [--durable NAME] [--state DIR] [--exec CMD]\n"
		"       edgetrackctl fleet status [--json] --nats URL\n"
		"       edgetrackctl bundle publish --nats URL[,URL...] [--bucket NAME] FILE\n"
		"       edgetrackctl challenge publish --nats URL --token T --key-authz KA [--ttl S]\n"
#endif
		"       edgetrackctl acme [--config FILE] issue DOMAIN... | renew | status [--json] | check DOMAIN\n"
		"       edgetrackctl bundle create|sign|verify|inspect|attach-signature [options]\n"
		"       edgetrackctl keys gen|certify|keyring show|revoke|install [options]\n"
		"       edgetrackctl id [--data-dir DIR]\n"
		"       edgetrackctl domain [--config FILE] check DOMAIN... | watch | token DOMAIN...\n"
		"       edgetrackctl spf eval --ip IP --sender ADDR --helo NAME [--json]\n"
#ifdef CONFIG_XDP
		"       edgetrackctl xdp stats|rules|block CIDR|unblock CIDR|attach|detach\n"
#endif
		"       edgetrackctl [--socket PATH] status [--table|--json] | ping | reload | cert reload [DOMAIN]\n"
		"       edgetrackctl [--socket PATH] challenge add TOKEN KEYAUTH | del TOKEN | list\n"
		"       edgetrackctl bundle push --to https://HOST:PORT[,...] --cert C --key K --ca CA FILE\n"
		"\n"
		"The control socket defaults to $EDGETRACK_SOCKET, else %s.\n"
		"status prints tables on a terminal and JSON otherwise, unless told.\n",
		CONFIG_CONTROL_SOCKET);
}

/* A body line: to stdout, or kept in *keep (a growing string) when keep is not NULL. */
static void body_line(char **keep, size_t *kept, const char *line, size_t n)
{
	char *p;

	if (!keep) {
		fwrite(line, 1, n, stdout);
		return;
	}
	p = realloc(*keep, *kept + n + 1);
	if (!p)
		return;
	memcpy(p + *kept, line, n);
	*kept += n;
	p[*kept] = '\0';
	*keep = p;
}

/* Sends one command line; prints the body (or keeps it in *keep, malloc'd, when keep is not
 * NULL); exit 0 on "ok", 1 on "error: ...". */
static int control(const char *path, int argc, char **argv, char **keep)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char cmd[1024], buf[4096], *last;
	size_t len = 0, cl = 0, kept = 0;
	ssize_t n;
	int fd;

	for (int i = 0; i < argc; i++) {
		int w = snprintf(cmd + cl, sizeof(cmd) - cl, "%s%s", i ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(cmd) - cl - 1) {
			fprintf(stderr, "edgetrackctl: command too long\n");
			return 2;
		}
		cl += w;
	}
	cmd[cl++] = '\n';
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "edgetrackctl: socket path too long: %s\n", path);
		return 2;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "edgetrackctl: cannot reach edgetrackd at %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, cmd, cl) != (ssize_t)cl) {
		fprintf(stderr, "edgetrackctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	/* print everything but the status line, which decides the exit code */
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		char *nl;
		len += n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) && (size_t)(nl - buf) + 1 < len) {
			body_line(keep, &kept, buf, nl - buf + 1);
			memmove(buf, nl + 1, len - (nl - buf + 1));
			len -= nl - buf + 1;
			buf[len] = '\0';
		}
		if (len == sizeof(buf) - 1) { /* an overlong body line: pass it through */
			body_line(keep, &kept, buf, len);
			len = 0;
		}
	}
	close(fd);
	buf[len] = '\0';
	last = buf;
	last[strcspn(last, "\n")] = '\0';
	if (!strcmp(last, "ok"))
		return 0;
	fprintf(stderr, "edgetrackctl: %s\n", last[0] ? last : "no answer from edgetrackd");
	return 1;
}

/* status [--table|--json]: tables on a terminal, the JSON for scripts and pipes. */
static int status(const char *sock, int argc, char **argv)
{
	bool table = isatty(STDOUT_FILENO);
	char *body = NULL, *cmd[] = { "status" };
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--table") || !strcmp(argv[i], "--json")) {
			table = argv[i][2] == 't';
		} else {
			fprintf(stderr, "edgetrackctl: status [--table|--json]\n");
			return 2;
		}
	}
	rc = control(sock, 1, cmd, table ? &body : NULL);
	if (!rc && table && status_table_print(body ? body : "", stdout)) {
		fprintf(stderr, "edgetrackctl: not a status object: %s", body ? body : "\n");
		rc = 1;
	}
	free(body);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("EDGETRACK_SOCKET");
	int i = 1;

	if (!sock)
		sock = CONFIG_CONTROL_SOCKET;
	if (i + 1 < argc && !strcmp(argv[i], "--socket")) {
		sock = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (!strcmp(argv[i], "token"))
		return token_cli_main(argc - i, argv + i);
#ifdef CONFIG_FLEET
	if (!strcmp(argv[i], "events") && i + 1 < argc && !strcmp(argv[i + 1], "consume"))
		return consume_main(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "fleet"))
		return fleet_cli_main(argc - i, argv + i);
	if ((!strcmp(argv[i], "bundle") || !strcmp(argv[i], "challenge")) && i + 1 < argc &&
	    !strcmp(argv[i + 1], "publish"))
		return argv[i][0] == 'b' ? bundle_publish_main(argc - i - 1, argv + i + 1)
					 : challenge_publish_main(argc - i - 1, argv + i + 1);
#endif
	if (!strcmp(argv[i], "acme")) return acme_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "bundle") && i + 1 < argc && !strcmp(argv[i + 1], "push"))
		return bundle_push_main(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "domain"))
		return domain_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "spf"))
		return spf_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "events"))
		return events_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "bundle"))
		return bundle_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "keys"))
		return keys_cli_main(argc - i, argv + i);
	if (!strcmp(argv[i], "id"))
		return id_cli_main(argc - i, argv + i);
#ifdef CONFIG_XDP
	if (!strcmp(argv[i], "xdp"))
		return xdp_cli_main(argc - i, argv + i);
#endif
	if (!strcmp(argv[i], "status"))
		return status(sock, argc - i, argv + i);
	if (!strcmp(argv[i], "ping") || !strcmp(argv[i], "reload") ||
	    !strcmp(argv[i], "challenge") || !strcmp(argv[i], "cert"))
		return control(sock, argc - i, argv + i, NULL);
	fprintf(stderr, "edgetrackctl: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return 2;
}
