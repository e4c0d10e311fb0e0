// SPDX-License-Identifier: MIT
/*
 * edgetrackd: the appliance's tracking server.
 *
 *   edgetrackd                      embedded demo defaults (127.0.0.1:8080, demo domain)
 *   edgetrackd --config FILE        the appliance's config
 *   edgetrackd --check-config FILE  validate and exit
 */
#include "core/config.h"
#include "core/hostname.h"
#include "core/log.h"
#include "core/version.h"
#include "server/control.h"
#include "server/fleet_link.h"
#include "server/server.h"
#include "server/state.h"
#include "track/token.h"
#include "track/track_state.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackd [--config FILE] [--workers N] [--verbose]\n"
		"       edgetrackd --check-config FILE\n"
		"\n"
		"With no --config, serves the embedded demo defaults on 127.0.0.1:8080.\n"
		"Once a bundle has been applied, <data_dir>/state/current is the config and\n"
		"certificate source; --config then supplies data_dir, control_socket and management.\n"
		"Signals: SIGHUP reloads the config (a bad one is refused, the old one keeps\n"
		"serving); SIGTERM finishes in-flight requests and exits.\n");
}

static const char *abs_path(const char *path, char *buf, size_t cap)
{
	char dir[PATH_MAX];

	if (path[0] == '/' || !getcwd(dir, sizeof(dir)))
		return path;
	snprintf(buf, cap, "%.*s/%s", (int)(cap / 2), dir, path);
	return buf;
}

/* edgetrackctl is built next to edgetrackd. */
static const char *ctl_path(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	char *slash;

	if (n <= 0)
		return "edgetrackctl";
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/edgetrackctl") > cap)
		return "edgetrackctl";
	strcpy(slash, "/edgetrackctl");
	return buf;
}

/* Prints working demo URLs minted with the embedded demo key. */
static void print_demo(struct server *srv)
{
	struct snapshot *s = snapshot_get(&srv->state);
	const struct track_state *st = track_state_of(s);
	const char *host = CONFIG_DEMO_DOMAIN;
	const char *listen = st->cfg->listen[0].text;
	const char *port = strrchr(listen, ':') + 1;
	struct token t = { .version = 1, .message_id = 1001, .recipient_id = 42, .link_index = 1 };
	static const char *const names[] = { "click", "open", "unsubscribe" };
	static const char *const paths[] = { "c", "o", "u" };
	char tok[TOKEN_MAX_LEN + 1], err[128], abs[PATH_MAX], ctl[PATH_MAX];

	printf("edgetrackd %s: embedded demo defaults (the demo key is public: not for production)\n"
	       "Try:\n", EDGETRACK_VERSION);
	for (int i = 0; i < 3; i++) {
		t.kind = i + 1;
		t.url = i == 0 ? "https://example.com/welcome" : NULL;
		t.url_len = i == 0 ? strlen(t.url) : 0;
		if (token_encode(st->keys, host, strlen(host), &t, tok, sizeof(tok), err,
				 sizeof(err)) < 0) {
			log_error("demo_token_failed", "reason=\"%s\"", err);
			continue;
		}
		printf("  %-11s curl -si --resolve %s:%s:127.0.0.1 %shttp://%s:%s/%s/%s\n", names[i],
		       host, port, i == 2 ? "-d List-Unsubscribe=One-Click " : "", host, port,
		       paths[i], tok);
	}
	printf("  %-11s curl -si --resolve %s:%s:127.0.0.1 http://%s:%s/.well-known/acme-challenge/"
	       "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\n", "acme", host, port, host, port);
	/* absolute paths: the lines must work from whatever directory they are pasted in */
	if (srv->tls)
		printf("  %-11s curl -si --cacert %s/%s.crt --resolve %s:8443:127.0.0.1 "
		       "https://%s:8443/healthz\n", "https", abs_path(srv->cert_dir, abs, sizeof(abs)),
		       host, host, host);
	printf("Events:      %s events tail --dir %s\n", ctl_path(ctl, sizeof(ctl)),
	       abs_path(srv->journal_cfg.dir, abs, sizeof(abs)));
	printf("Status:      %s --socket %s status\n", ctl,
	       abs_path(st->cfg->control_socket, abs, sizeof(abs)));
	fflush(stdout);
	snapshot_put(s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "workers", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = NULL;
	char err[CONFIG_ERR_MAX], sock[sizeof(((struct config *)0)->control_socket)];
	struct config *cfg;
	struct server srv;
	bool check_only = false, embedded;
	long workers = -1;
	sigset_t sigs;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:C:w:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'C': check_only = true; /* fallthrough */
		case 'c': config_path = optarg; break;
		case 'w': workers = strtol(optarg, NULL, 10); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'V': printf("edgetrackd %s\n", EDGETRACK_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (workers != -1 && (workers < 1 || workers > 256))) {
		usage(stderr);
		return 2;
	}
#ifndef CONFIG_DEMO_DEFAULTS
	if (!config_path) {
		fprintf(stderr, "edgetrackd: --config FILE is required (no embedded defaults)\n");
		return 2;
	}
#endif
	/* --check-config checks the file; a server serves what bundles left, if any (state.h) */
	cfg = check_only ? config_load_file(config_path, err, sizeof(err))
			 : state_load_config(config_path, err, sizeof(err));
	if (!cfg) {
		log_error("config_refused", "reason=\"%s\"", err);
		return 1;
	}
	if (check_only) {
		unsigned nd = cfg->n_domains, nk = cfg->n_keys, nl = cfg->n_listen;
		bool mgmt = cfg->management.enabled, metrics = cfg->metrics.enabled;

		if (server_check_config(cfg, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s: ok (%u domains, %u keys, %u listeners%s%s)\n", config_path, nd, nk, nl,
		       mgmt ? ", management API" : "", metrics ? ", metrics listener" : "");
		return 0;
	}
	if (workers > 0)
		cfg->workers = workers;
	embedded = cfg->embedded;
	snprintf(sock, sizeof(sock), "%s", cfg->control_socket);
	if (control_hold_reloads(&sigs)) {
		log_error("signals_failed", "reason=\"cannot block signals\"");
		config_free(cfg);
		return 1;
	}
	if (server_init(&srv, cfg, config_path, err, sizeof(err)) ||
	    control_block_signals(&sigs, err, sizeof(err)) || server_start(&srv, err, sizeof(err))) {
		log_error("start_failed", "reason=\"%s\"", err);
		server_destroy(&srv);
		return 1;
	}
	log_info("started", "workers=%u config=%s pid=%d", srv.n_workers,
		 config_path ? config_path : "<embedded>", (int)getpid());
	if (embedded)
		print_demo(&srv);
	rc = control_run(&srv, &sigs, sock);
	server_destroy(&srv);
	log_info("stopped", "status=%d", rc);
	return rc ? 1 : 0;
}
