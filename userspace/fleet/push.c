// SPDX-License-Identifier: MIT
/*
 * bundle push (push.h): one libcurl multi handle drives an upload per appliance in parallel;
 * each reads the bundle file through a stream of its own. An appliance answers only once it
 * has verified and applied the bundle (or refused it), so the transfers stay open for that.
 */
#include "fleet/push.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS  256
#define BODY_MAX     4096
#define PROGRESS_MS  200   /* progress refresh on a terminal */
#define LOG_EVERY_S  5     /* progress line when stderr is no terminal */

struct target {
	const char *name;      /* as given: https://host:port */
	char url[600];
	CURL *curl;
	FILE *in;
	char body[BODY_MAX + 1];
	size_t body_len;
	curl_off_t sent;
	bool done;
};

struct opts {
	char *to[MAX_TARGETS];
	size_t n_to;
	const char *cert, *key, *ca, *file;
	long timeout_s;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: edgetrackctl bundle push --to https://HOST:PORT[,https://HOST:PORT...]\n"
		   "                                --cert CRT --key KEY --ca CA [--timeout SECONDS] FILE\n");
}

/* "--to a,b --to c": every appliance named. */
static int add_targets(struct opts *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->n_to == MAX_TARGETS || strncmp(t, "https://", 8)) {
			fprintf(stderr, "edgetrackctl: %s: expected https://HOST:PORT (at most %d)\n",
				t, MAX_TARGETS);
			return -1;
		}
		o->to[o->n_to++] = t;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' }, { "ca", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 'T' }, { 0 },
	};
	int opt;

	o->timeout_s = 600;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't': if (add_targets(o, optarg)) return -1; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'T': o->timeout_s = strtol(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (optind + 1 != argc || !o->n_to || !o->cert || !o->key || !o->ca || o->timeout_s < 1)
		return -1;
	o->file = argv[optind];
	return 0;
}

/* ---------------------------------------------------------------- transfers */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct target *t = arg;
	size_t len = size * n, room = BODY_MAX - t->body_len;

	memcpy(t->body + t->body_len, p, len < room ? len : room);
	t->body_len += len < room ? len : room;
	t->body[t->body_len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal;
	((struct target *)arg)->sent = ulnow;
	return 0;
}

static int target_start(struct target *t, const struct opts *o, curl_off_t size, CURLM *multi)
{
	CURL *c;

	snprintf(t->url, sizeof(t->url), "%.*s/v1/bundle", (int)strcspn(t->name + 8, "/") + 8,
		 t->name);
	t->in = fopen(o->file, "rb");
	t->curl = c = curl_easy_init();
	if (!t->in || !c)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READDATA, t->in);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
	curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	return curl_multi_add_handle(multi, c) == CURLM_OK ? 0 : -1;
}

/* The appliance's answer as one line; 0 when it applied the bundle. */
static int report(struct target *t, CURLcode rc)
{
	json_t *j = json_loads(t->body, 0, NULL);
	const char *res = json_string_value(json_object_get(j, "result"));
	const char *why = json_string_value(json_object_get(j, "reason"));
	json_int_t serial = json_integer_value(json_object_get(j, "serial"));
	long status = 0;
	bool applied;

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	applied = rc == CURLE_OK && res && status == 200 && !strcmp(res, "applied");
	if (applied)
		printf("%s applied serial=%lld\n", t->name, (long long)serial);
	else if (rc != CURLE_OK)
		printf("%s failed: %s\n", t->name, curl_easy_strerror(rc));
	else if (!res)
		printf("%s failed: HTTP %ld without an answer\n", t->name, status);
	else if (json_object_get(j, "serial"))
		printf("%s %s serial=%lld: %s\n", t->name, res, (long long)serial, why ? why : "");
	else
		printf("%s %s: %s\n", t->name, res, why ? why : "");
	fflush(stdout);
	json_decref(j);
	t->done = true;
	return applied ? 0 : 1;
}

static void progress(const struct target *ts, size_t n, curl_off_t size, bool tty)
{
	curl_off_t sent = 0;
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		sent += ts[i].sent;
		done += ts[i].done;
	}
	fprintf(stderr, "%spushing: %lld%% of %lld bytes sent, %zu of %zu appliances answered%s",
		tty ? "\r" : "", size ? (long long)(sent * 100 / (size * (curl_off_t)n)) : 100LL,
		(long long)size, done, n, tty ? "   " : "\n");
}

/* Runs every transfer to its end; returns how many appliances did not apply the bundle. */
static int run(CURLM *multi, struct target *ts, size_t n, curl_off_t size)
{
	bool tty = isatty(STDERR_FILENO);
	time_t last_log = time(NULL);
	int running = 1, bad = 0;

	while (running) {
		CURLMsg *m;
		int left;

		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left))) {
			struct target *t;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			if (tty)
				fputc('\n', stderr);
			bad += report(t, m->data.result);
		}
		if (tty || time(NULL) - last_log >= LOG_EVERY_S) {
			progress(ts, n, size, tty);
			last_log = time(NULL);
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, PROGRESS_MS, NULL);
	}
	if (tty)
		fputc('\n', stderr);
	return bad;
}

int bundle_push_main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct target *ts;
	struct stat sb;
	CURLM *multi;
	int bad = 0;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (stat(o.file, &sb) || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "edgetrackctl: %s: not a readable file\n", o.file);
		return 2;
	}
	ts = calloc(o.n_to, sizeof(*ts));
	if (!ts || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(multi = curl_multi_init())) {
		fprintf(stderr, "edgetrackctl: cannot set up the transfers\n");
		free(ts);
		return 1;
	}
	fprintf(stderr, "pushing %s (%lld bytes) to %zu appliance(s)\n", o.file,
		(long long)sb.st_size, o.n_to);
	for (size_t i = 0; i < o.n_to; i++) {
		ts[i].name = o.to[i];
		if (target_start(&ts[i], &o, sb.st_size, multi)) {
			printf("%s failed: cannot start the transfer\n", ts[i].name);
			ts[i].done = true;
			bad++;
		}
	}
	bad += run(multi, ts, o.n_to, sb.st_size);
	for (size_t i = 0; i < o.n_to; i++) {
		if (ts[i].curl)
			curl_multi_remove_handle(multi, ts[i].curl);
		curl_easy_cleanup(ts[i].curl);
		if (ts[i].in)
			fclose(ts[i].in);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	free(ts);
	return bad ? 1 : 0;
}
