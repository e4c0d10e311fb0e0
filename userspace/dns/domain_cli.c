// SPDX-License-Identifier: MIT
#include "dns/domain_cli.h"
#include "core/hostname.h"
#include "dns/dns_client.h"
#include "dns/report.h"
#include "dns/spf.h"
#include "dns/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/edgetrack/domain.json"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackctl domain check DOMAIN... [--json] [--serial]\n"
		"       edgetrackctl domain watch [DOMAIN...] [--once] [--interval SECONDS]\n"
		"                                 [--fail-exit]\n"
		"       edgetrackctl domain token DOMAIN...\n"
		"       edgetrackctl spf eval --ip IP --sender ADDR --helo NAME [--json]\n"
		"options of all: --config FILE, --selector S, --resolver HOST[:PORT],\n"
		"  --spf-include NAME, --return-path NAME, --state-dir DIR, --deadline-ms N,\n"
		"  --concurrency N\n"
		"The config defaults to $EDGETRACK_DOMAIN_CONFIG, else " DEFAULT_CONFIG
		" when it exists.\n"
		"check and watch --fail-exit exit 1 when a check fails or DNS did not answer.\n"
		"spf eval exits 0 on pass, 1 on any other result.\n");
}

struct opts {
	struct domain_config cfg;
	char **args;
	int nargs;
	bool json, serial, once, fail_exit;
	const char *ip, *sender, *helo;
};

/* Flags that set a member of the settings file, by its name there. */
static const struct { const char *flag, *key; } cfg_flags[] = {
	{ "--selector", "dkim_selector" },
	{ "--resolver", "resolver" },
	{ "--spf-include", "spf_include" },
	{ "--return-path", "return_path" },
	{ "--state-dir", "state_dir" },
	{ "--deadline-ms", "deadline_ms" },
	{ "--concurrency", "concurrency" },
	{ "--interval", "watch_interval_seconds" },
	{ NULL, NULL },
};

/* A flag with a value at argv[*i]; 1 when taken, 0 when not ours, -1 on error. */
static int value_flag(struct opts *o, const char *f, const char *v)
{
	char err[300];

	for (int k = 0; cfg_flags[k].flag; k++)
		if (!strcmp(f, cfg_flags[k].flag)) {
			if (!domain_config_set(&o->cfg, cfg_flags[k].key, v, f, err, sizeof(err)))
				return 1;
			fprintf(stderr, "edgetrackctl: %s\n", err);
			return -1;
		}
	if (!strcmp(f, "--ip") || !strcmp(f, "--sender") || !strcmp(f, "--helo")) {
		*(f[2] == 'i' ? &o->ip : f[2] == 's' ? &o->sender : &o->helo) = v;
		return 1;
	}
	return 0;
}

static int parse(struct opts *o, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int r;
		if (!strcmp(a, "--json") || !strcmp(a, "--serial") || !strcmp(a, "--once") ||
		    !strcmp(a, "--fail-exit")) {
			*(a[2] == 'j' ? &o->json : a[2] == 's' ? &o->serial : a[2] == 'o' ? &o->once
											   : &o->fail_exit) = true;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			o->args[o->nargs++] = argv[i];
			continue;
		}
		r = i + 1 < argc ? value_flag(o, a, argv[i + 1]) : 0;
		if (r <= 0) {
			if (!r)
				fprintf(stderr, "edgetrackctl: unknown option %s\n", a);
			return -1;
		}
		i++;
	}
	return 0;
}

/* The config file (before the flags, which override it). */
static int config(struct opts *o, int argc, char **argv)
{
	const char *path = getenv("EDGETRACK_DOMAIN_CONFIG");
	char err[1200];

	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			path = argv[i + 1];
	if (!path && !access(DEFAULT_CONFIG, R_OK))
		path = DEFAULT_CONFIG;
	if (domain_config_load(path, &o->cfg, err, sizeof(err))) {
		fprintf(stderr, "edgetrackctl: %s\n", err);
		return -1;
	}
	return 0;
}

/* Drops the --config pair so parse() sees only the other flags. */
static int without_config(int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			i++;
			continue;
		}
		argv[n++] = argv[i];
	}
	return n;
}

/* Canonical names; -1 naming the first argument that is not a DNS name. */
static int names(char **args, int n)
{
	for (int i = 0; i < n; i++)
		if (hostname_normalize(args[i], strlen(args[i]), args[i], strlen(args[i]) + 1,
				       HOSTNAME_NAME_ONLY) < 0) {
			fprintf(stderr, "edgetrackctl: \"%s\" is not a domain name\n", args[i]);
			return -1;
		}
	return 0;
}

static int bad(const struct dd_report *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].level >= DD_TEMPERROR)
			return 1;
	return 0;
}

static struct dd_report *run(struct opts *o, char **domains, size_t n)
{
	struct dd_report *r = calloc(n ? n : 1, sizeof(*r));
	char err[512];

	if (!r || doctor_run(&o->cfg, domains, n, o->serial, r, err, sizeof(err))) {
		fprintf(stderr, "edgetrackctl: %s\n", r ? err : "out of memory");
		free(r);
		return NULL;
	}
	return r;
}

static void print(const struct opts *o, const struct dd_report *r, size_t n)
{
	json_t *arr;
	char *s;

	if (!o->json) {
		for (size_t i = 0; i < n; i++)
			report_print(stdout, &r[i]);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, report_json(&r[i]));
	s = json_dumps(arr, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	json_decref(arr);
}

static int cmd_check(struct opts *o)
{
	struct dd_report *r;
	int rc;

	if (!o->nargs || names(o->args, o->nargs))
		return 2;
	if (!(r = run(o, o->args, (size_t)o->nargs)))
		return 2;
	print(o, r, (size_t)o->nargs);
	rc = bad(r, (size_t)o->nargs);
	free(r);
	return rc;
}

/* One pass of the watch: the named domains and every one already watched. */
static int watch_pass(struct opts *o)
{
	char **list, err[512];
	size_t n, all;
	struct dd_report *r;
	int rc = 0;

	if (watch_domains(o->cfg.state_dir, &list, &n)) {
		fprintf(stderr, "edgetrackctl: cannot read %s\n", o->cfg.state_dir);
		return 2;
	}
	all = n;
	for (int i = 0; i < o->nargs; i++) {
		bool known = false;
		for (size_t k = 0; k < n; k++)
			known |= !strcmp(list[k], o->args[i]);
		char **nl = known ? list : realloc(list, (all + 1) * sizeof(*nl));
		if (!known && nl)
			(list = nl)[all++] = strdup(o->args[i]);
	}
	if (!all)
		fprintf(stderr, "edgetrackctl: no domains to watch in %s\n", o->cfg.state_dir);
	if (all && (r = run(o, list, all))) {
		for (size_t i = 0; i < all && rc != 2; i++)
			if (watch_apply(o->cfg.state_dir, &r[i], time(NULL), stdout, err, sizeof(err)) < 0) {
				fprintf(stderr, "edgetrackctl: %s\n", err);
				rc = 2;
			}
		if (!rc && o->fail_exit)
			rc = bad(r, all);
		free(r);
	} else if (all) {
		rc = 2;
	}
	fflush(stdout);
	for (size_t i = 0; i < all; i++)
		free(list[i]);
	free(list);
	return rc;
}

static int cmd_watch(struct opts *o)
{
	int rc;

	if (names(o->args, o->nargs))
		return 2;
	while ((rc = watch_pass(o)) != 2 && !o->once && !(rc && o->fail_exit))
		sleep((unsigned)o->cfg.interval);
	return rc;
}

static int cmd_token(struct opts *o)
{
	char token[65];

	if (!o->nargs || names(o->args, o->nargs))
		return 2;
	if (!o->cfg.secret_len) {
		fprintf(stderr, "edgetrackctl: no secret in the config\n");
		return 2;
	}
	for (int i = 0; i < o->nargs; i++) {
		doctor_token(&o->cfg, o->args[i], token);
		printf("%s TXT \"%s=%s\"\n", o->args[i], o->cfg.prefix, token);
	}
	return 0;
}

static int cmd_spf_eval(struct opts *o)
{
	struct spf_request req = { .ip = o->ip, .sender = o->sender, .helo = o->helo };
	struct spf_outcome out;
	struct dns_client *dc;
	char err[512];

	if (!o->ip || !o->helo || o->nargs) {
		usage(stderr);
		return 2;
	}
	dc = dns_client_new(o->cfg.resolver, o->cfg.dns_timeout_ms, err, sizeof(err));
	if (!dc) {
		fprintf(stderr, "edgetrackctl: %s\n", err);
		return 2;
	}
	dns_client_reset(dc, o->cfg.deadline_ms);
	spf_check(dns_client_source(dc), &req, &out);
	dns_client_free(dc);
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "result",
				      spf_result_name(out.result), "domain", out.domain, "term",
				      out.term, "reason", out.reason, "explanation", out.explanation,
				      "lookups", (int)out.lookups, "void_lookups", (int)out.void_lookups);
		char *s = json_dumps(j, JSON_INDENT(2));
		puts(s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		printf("%s: %s (%u of %d lookups, %u void)%s%s\n", spf_result_name(out.result),
		       out.reason, out.lookups, SPF_MAX_LOOKUPS, out.void_lookups,
		       out.explanation[0] ? "\nexplanation: " : "", out.explanation);
	}
	return out.result == SPF_PASS ? 0 : 1;
}

static int dispatch(const char *top, int argc, char **argv)
{
	struct opts *o = calloc(1, sizeof(*o));
	const char *cmd = "";
	int rc = 2, n = 0;

	if (!o || !(o->args = calloc((size_t)argc + 1, sizeof(char *)))) {
		free(o);
		return 2;
	}
	/* the subcommand is the first word that is no option value ("--config F check ...") */
	for (int i = 1; i < argc; i++) {
		if (!cmd[0] && argv[i][0] != '-') {
			cmd = argv[i];
			continue;
		}
		if (!cmd[0] && !strcmp(argv[i], "--config") && i + 1 < argc)
			argv[n++] = argv[i++];
		argv[n++] = argv[i];
	}
	if (!strcmp(cmd, "") && argc > 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
		usage(stdout);
		rc = 0;
	} else if (config(o, n, argv) || parse(o, without_config(n, argv), argv)) {
		rc = 2;
	} else if (!strcmp(top, "spf") && !strcmp(cmd, "eval")) {
		rc = cmd_spf_eval(o);
	} else if (!strcmp(top, "domain") && !strcmp(cmd, "check")) {
		rc = cmd_check(o);
	} else if (!strcmp(top, "domain") && !strcmp(cmd, "watch")) {
		rc = cmd_watch(o);
	} else if (!strcmp(top, "domain") && !strcmp(cmd, "token")) {
		rc = cmd_token(o);
	} else {
		usage(stderr);
	}
	free(o->args);
	free(o);
	return rc;
}

int domain_cli_main(int argc, char **argv)
{
	return dispatch("domain", argc, argv);
}

int spf_cli_main(int argc, char **argv)
{
	return dispatch("spf", argc, argv);
}
