// SPDX-License-Identifier: MIT
#include "acme/cert_status.h"
#include "acme/ari.h"
#include "acme/atomic_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const state_names[] = { "unknown", "pending", "issued" };

const char *cert_state_name(enum cert_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "unknown";
}

static int state_from_name(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, state_names[i]))
			return i;
	return -1;
}

int cert_status_file_base(const char *domain, char *out, size_t cap)
{
	const char *name = domain;
	int n;

	if (!strncmp(domain, "*.", 2))
		name = domain + 2;
	if (!*name || strlen(name) > 253 || name[0] == '.' || strstr(name, ".."))
		return -1;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return -1;
	n = snprintf(out, cap, "%s%s", name == domain ? "" : "_wildcard.", name);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void fmt_time(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm)) {
		snprintf(out, cap, "-");
		return;
	}
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_time(json_t *o, const char *key, time_t t)
{
	char buf[32];

	if (!t)
		return;
	fmt_time(t, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

json_t *cert_status_to_json(const struct cert_status *st)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:i, s:b}", "domain", st->domain, "state",
			      cert_state_name(st->state), "reason", st->reason, "has_cert",
			      st->has_cert, "failures", (json_int_t)st->failures, "ari", st->ari);

	if (!o)
		return NULL;
	set_time(o, "updated", st->updated);
	set_time(o, "not_before", st->not_before);
	set_time(o, "not_after", st->not_after);
	set_time(o, "next_renewal", st->next_renewal);
	set_time(o, "retry_after", st->retry_after);
	if (st->ari_id[0])
		json_object_set_new(o, "ari_id", json_string(st->ari_id));
	if (st->serial[0])
		json_object_set_new(o, "serial", json_string(st->serial));
	if (st->order_url[0])
		json_object_set_new(o, "order_url", json_string(st->order_url));
	return o;
}

static int get_time(const json_t *o, const char *key, time_t *t)
{
	const json_t *v = json_object_get(o, key);

	*t = 0;
	if (!v)
		return 0;
	*t = parse_rfc3339(json_string_value(v));
	return *t < 0 ? -1 : 0;
}

static void get_str(const json_t *o, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(out, cap, "%s", s ? s : "");
}

int cert_status_from_json(const json_t *o, struct cert_status *st, char *err, size_t errlen)
{
	int state = state_from_name(json_string_value(json_object_get(o, "state")));
	json_int_t failures = json_integer_value(json_object_get(o, "failures"));

	if (!json_is_string(json_object_get(o, "domain")) || state < 0 || failures < 0) {
		snprintf(err, errlen, "status record lacks domain/state or has bad failures");
		return -1;
	}
	get_str(o, "domain", st->domain, sizeof(st->domain));
	st->state = (enum cert_state)state;
	get_str(o, "reason", st->reason, sizeof(st->reason));
	get_str(o, "ari_id", st->ari_id, sizeof(st->ari_id));
	get_str(o, "serial", st->serial, sizeof(st->serial));
	get_str(o, "order_url", st->order_url, sizeof(st->order_url));
	st->has_cert = json_is_true(json_object_get(o, "has_cert"));
	st->ari = json_is_true(json_object_get(o, "ari"));
	st->failures = (unsigned)failures;
	if (get_time(o, "updated", &st->updated) || get_time(o, "not_before", &st->not_before) ||
	    get_time(o, "not_after", &st->not_after) ||
	    get_time(o, "next_renewal", &st->next_renewal) ||
	    get_time(o, "retry_after", &st->retry_after)) {
		snprintf(err, errlen, "status record has a bad timestamp");
		return -1;
	}
	return 0;
}

static int status_path(const char *dir, const char *domain, char *out, size_t cap)
{
	char base[300];
	int n;

	if (cert_status_file_base(domain, base, sizeof(base)))
		return -1;
	n = snprintf(out, cap, "%s/%s.json", dir, base);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void init_status(struct cert_status *st, const char *domain)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->domain, sizeof(st->domain), "%s", domain);
	st->state = CERT_UNKNOWN;
	snprintf(st->reason, sizeof(st->reason), "no certificate issued yet");
}

static int load_file(const char *path, struct cert_status *st, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	int rc;

	if (!o) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	rc = cert_status_from_json(o, st, err, errlen);
	json_decref(o);
	return rc;
}

int cert_status_load(const char *dir, const char *domain, struct cert_status *st, char *err,
		     size_t errlen)
{
	char path[4096];
	FILE *f;

	init_status(st, domain);
	if (status_path(dir, domain, path, sizeof(path))) {
		snprintf(err, errlen, "bad domain name \"%s\"", domain);
		return -1;
	}
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	fclose(f);
	if (load_file(path, st, err, errlen)) {
		init_status(st, domain);
		return -1;
	}
	return 1;
}

/* Writes o (consumed) pretty-printed and atomically. */
static int save_json(const char *path, json_t *o, char *err, size_t errlen)
{
	char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(o);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = atomic_write_file(path, s, strlen(s), 0644, err, errlen);
	free(s);
	return rc;
}

int cert_status_save(const char *dir, const struct cert_status *st, char *err, size_t errlen)
{
	char path[4096];

	if (status_path(dir, st->domain, path, sizeof(path))) {
		snprintf(err, errlen, "bad domain name \"%s\"", st->domain);
		return -1;
	}
	return save_json(path, cert_status_to_json(st), err, errlen);
}

#define CA_FILE "_ca.json"

int ca_backoff_load(const char *dir, struct ca_backoff *ca, char *err, size_t errlen)
{
	char path[4096];
	json_error_t je;
	json_t *o;
	json_int_t n;
	int rc = 0;

	memset(ca, 0, sizeof(*ca));
	snprintf(path, sizeof(path), "%s/" CA_FILE, dir);
	o = json_load_file(path, 0, &je);
	if (!o) {
		if (access(path, F_OK) && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	n = json_integer_value(json_object_get(o, "failures"));
	ca->failures = n > 0 ? (unsigned)n : 0;
	get_str(o, "reason", ca->reason, sizeof(ca->reason));
	if (get_time(o, "retry_after", &ca->retry_after) || get_time(o, "updated", &ca->updated)) {
		snprintf(err, errlen, "%s: bad timestamp", path);
		memset(ca, 0, sizeof(*ca));
		rc = -1;
	}
	json_decref(o);
	return rc;
}

int ca_backoff_save(const char *dir, const struct ca_backoff *ca, char *err, size_t errlen)
{
	char path[4096];
	json_t *o = json_pack("{s:i, s:s}", "failures", (json_int_t)ca->failures, "reason",
			      ca->reason);

	snprintf(path, sizeof(path), "%s/" CA_FILE, dir);
	if (o) {
		set_time(o, "retry_after", ca->retry_after);
		set_time(o, "updated", ca->updated);
	}
	return save_json(path, o, err, errlen);
}

static int by_domain(const void *a, const void *b)
{
	return strcmp(((const struct cert_status *)a)->domain,
		      ((const struct cert_status *)b)->domain);
}

static bool is_record(const char *name)
{
	size_t n = strlen(name);

	/* "_" starts no domain's file but a wildcard's: "_ca.json" is the CA-wide record */
	return n > 5 && name[0] != '.' && (name[0] != '_' || !strncmp(name, "_wildcard.", 10)) &&
	       !strcmp(name + n - 5, ".json");
}

int cert_status_list(const char *dir, struct cert_status **out, cert_status_err_fn err_fn,
		     void *arg)
{
	DIR *d = opendir(dir);
	struct cert_status *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		char path[4096], err[512];
		if (!is_record(e->d_name))
			continue;
		if (n == cap) {
			struct cert_status *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		memset(&v[n], 0, sizeof(v[n]));
		if (load_file(path, &v[n], err, sizeof(err))) {
			if (err_fn)
				err_fn(arg, e->d_name, err);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), by_domain);
	*out = v;
	return (int)n;
}
