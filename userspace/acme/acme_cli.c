// SPDX-License-Identifier: MIT
#include "acme/acme_cli.h"
#include "acme/acme_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONFIG "/etc/edgetrack/acme.json"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackctl acme [--config FILE] issue DOMAIN...\n"
		"       edgetrackctl acme [--config FILE] renew [--clock-offset SECONDS]\n"
		"       edgetrackctl acme [--config FILE] status [--json] [DOMAIN...]\n"
		"       edgetrackctl acme [--config FILE] check DOMAIN...\n"
		"       edgetrackctl acme [--config FILE] account\n"
		"The config defaults to $EDGETRACK_ACME_CONFIG, else " DEFAULT_CONFIG ".\n"
		"Appliances answer HTTP-01 statelessly when their config lists the account\n"
		"thumbprint (\"acme\": {\"thumbprints\": [...]}), which `account` prints.\n");
}

static int cmd_check(struct acme_run *r, int argc, char **argv)
{
	int failed = 0;

	for (int i = 0; i < argc; i++) {
		struct precheck_result res;
		if (acme_run_check(r, argv[i], &res)) {
			printf("%s: FAIL: %s\n", argv[i], res.reason);
			failed++;
		} else {
			printf("%s: %s\n", argv[i], res.reason);
		}
	}
	return failed ? 1 : 0;
}

static int cmd_issue(struct acme_run *r, int argc, char **argv)
{
	int failed = 0;

	for (int i = 0; i < argc; i++) {
		struct cert_status st;
		if (acme_run_issue(r, argv[i], &st))
			failed++;
	}
	return failed ? 1 : 0;
}

static int cmd_renew(struct acme_run *r)
{
	unsigned attempted, skipped;
	int failed = acme_run_renew(r, &attempted, &skipped);

	if (failed < 0) {
		fprintf(stderr, "edgetrackctl: cannot read %s\n", r->cfg->state_dir);
		return 2;
	}
	printf("renew: %u attempted, %d failed, %u not due or held back\n", attempted, failed,
	       skipped);
	return failed ? 1 : 0;
}

static int cmd_account(struct acme_run *r)
{
	struct acme_error e;

	if (acme_run_account(r, &e)) {
		fprintf(stderr, "edgetrackctl: account: %s\n", e.reason);
		return 1;
	}
	printf("account: %s\nthumbprint: %s\nprofiles: %s\nari: %s\n",
	       acme_client_account_url(r->client), acme_client_thumbprint(r->client),
	       acme_client_profiles(r->client)[0] ? acme_client_profiles(r->client) : "-",
	       acme_client_has_ari(r->client) ? "yes" : "no");
	return 0;
}

static void report_corrupt(void *arg, const char *file, const char *reason)
{
	fprintf(stderr, "edgetrackctl: skipping %s: %s\n", file, reason);
}

static bool wanted(const char *domain, int argc, char **argv)
{
	if (!argc)
		return true;
	for (int i = 0; i < argc; i++)
		if (!strcasecmp(argv[i], domain))
			return true;
	return false;
}

/* One line above the table while CA-side failures hold orders back. */
static void print_ca_backoff(const char *state_dir)
{
	struct ca_backoff ca;
	char err[512], t[32];

	if (ca_backoff_load(state_dir, &ca, err, sizeof(err))) {
		fprintf(stderr, "edgetrackctl: %s\n", err);
		return;
	}
	if (!ca.failures)
		return;
	fmt_time(ca.retry_after, t, sizeof(t));
	printf("CA: %u CA-side failures in a row, orders resume from %s (last: %s)\n", ca.failures, t,
	       ca.reason);
}

static int cmd_status(const struct acme_config *cfg, bool json, int argc, char **argv)
{
	struct cert_status *list;
	int n = cert_status_list(cfg->state_dir, &list, report_corrupt, NULL);
	json_t *arr = json ? json_array() : NULL;

	if (n < 0) {
		fprintf(stderr, "edgetrackctl: cannot read %s\n", cfg->state_dir);
		json_decref(arr);
		return 2;
	}
	if (!json) {
		print_ca_backoff(cfg->state_dir);
		printf("%-40s %-8s %-20s %-20s %s\n", "DOMAIN", "STATE", "NOT_AFTER", "NEXT_RENEWAL",
		       "REASON");
	}
	for (int i = 0; i < n; i++) {
		char na[32], nr[32];
		if (!wanted(list[i].domain, argc, argv))
			continue;
		if (json) {
			json_array_append_new(arr, cert_status_to_json(&list[i]));
			continue;
		}
		fmt_time(list[i].not_after, na, sizeof(na));
		fmt_time(list[i].next_renewal, nr, sizeof(nr));
		printf("%-40s %-8s %-20s %-20s %s\n", list[i].domain,
		       cert_state_name(list[i].state), na, nr, list[i].reason);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
	}
	json_decref(arr);
	free(list);
	return 0;
}

static int run(const struct acme_config *cfg, const char *cmd, int argc, char **argv)
{
	struct acme_run r;
	char err[1024];
	int rc = 2;

	if (acme_run_init(&r, cfg, stdout, err, sizeof(err))) {
		fprintf(stderr, "edgetrackctl: %s\n", err);
		return 2;
	}
	if (!strcmp(cmd, "issue") && argc)
		rc = cmd_issue(&r, argc, argv);
	else if (!strcmp(cmd, "check") && argc)
		rc = cmd_check(&r, argc, argv);
	else if (!strcmp(cmd, "renew") && !argc)
		rc = cmd_renew(&r);
	else if (!strcmp(cmd, "account") && !argc)
		rc = cmd_account(&r);
	else
		usage(stderr);
	acme_run_fini(&r);
	return rc;
}

int acme_cli_main(int argc, char **argv)
{
	const char *path = getenv("EDGETRACK_ACME_CONFIG"), *cmd;
	struct acme_config *cfg;
	char err[1024];
	long offset = 0;
	bool json = false, has_offset = false;
	int i = 1, rc, nargs = 0;
	char **args;

	if (!path)
		path = DEFAULT_CONFIG;
	if (i + 1 < argc && !strcmp(argv[i], "--config")) {
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	cmd = argv[i++];
	args = calloc((size_t)argc, sizeof(*args));
	cfg = calloc(1, sizeof(*cfg));
	if (!args || !cfg) {
		free(args);
		free(cfg);
		return 2;
	}
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--clock-offset") && i + 1 < argc) {
			char *end;
			offset = strtol(argv[++i], &end, 10);
			has_offset = !*end;
			if (*end) {
				fprintf(stderr, "edgetrackctl: --clock-offset wants seconds\n");
				free(args);
				free(cfg);
				return 2;
			}
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (acme_config_load(path, cfg, err, sizeof(err))) {
		fprintf(stderr, "edgetrackctl: %s\n", err);
		rc = 2;
	} else {
		if (has_offset)
			cfg->clock_offset = offset;
		rc = !strcmp(cmd, "status") ? cmd_status(cfg, json, nargs, args)
					     : run(cfg, cmd, nargs, args);
	}
	free(args);
	free(cfg);
	return rc;
}
