// SPDX-License-Identifier: MIT
#include "dns/watch.h"
#include "acme/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *path, const char *domain)
{
	json_t *st = json_load_file(path, 0, NULL);

	if (!json_is_object(st)) {
		json_decref(st);
		st = json_pack("{s:s, s:b, s:s, s:{}, s:[]}", "domain", domain, "authorized", 0,
			       "ownership", "unverified", "levels", "history");
	}
	return st;
}

static void stamp(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void remember(json_t *st, time_t now, const char *what, const char *from, const char *to,
		     const char *summary)
{
	json_t *h = json_object_get(st, "history");

	json_array_append_new(h, json_pack("{s:I, s:s, s:s, s:s, s:s}", "at", (json_int_t)now,
					   "check", what, "from", from, "to", to, "summary", summary));
	while (json_array_size(h) > WATCH_HISTORY_MAX)
		json_array_remove(h, 0);
}

/* Ownership decides the authorization: found grants it, gone after found takes it away. */
static int ownership(json_t *st, const struct dd_report *r, time_t now, FILE *out,
		     const char *ts)
{
	const struct dd_check *c = &r->checks[DD_OWNERSHIP];
	char was[16]; /* a copy: setting the member below frees the string */
	const char *is;

	is = json_string_value(json_object_get(st, "ownership"));
	snprintf(was, sizeof(was), "%s", is ? is : "unverified");
	is = c->level == DD_OK ? "verified"
	     : c->level == DD_FAIL ? (!strcmp(was, "unverified") ? "unverified" : "lost") : was;
	if (r->skipped[DD_OWNERSHIP] || !strcmp(was, is))
		return 0;
	json_object_set_new(st, "ownership", json_string(is));
	json_object_set_new(st, "authorized", json_boolean(!strcmp(is, "verified")));
	remember(st, now, "authorization", was, is, dd_summary(c));
	if (!strcmp(is, "lost"))
		fprintf(out, "%s %s ownership lost: %s; the domain is no longer authorized\n", ts,
			r->domain, dd_summary(c));
	else
		fprintf(out, "%s %s ownership %s: the domain is authorized\n", ts, r->domain, is);
	return 1;
}

static int levels(json_t *st, const struct dd_report *r, time_t now, FILE *out, const char *ts)
{
	json_t *lv = json_object_get(st, "levels");
	int changes = 0;

	for (int i = 0; i < DD_N_CHECKS; i++) {
		const struct dd_check *c = &r->checks[i];
		const char *was = json_string_value(json_object_get(lv, c->name));
		const char *is = dd_level_name(c->level);
		if (r->skipped[i] || (was && !strcmp(was, is)))
			continue;
		fprintf(out, "%s %s %s: %s -> %s: %s\n", ts, r->domain, c->name, was ? was : "new",
			is, dd_summary(c));
		remember(st, now, c->name, was ? was : "new", is, dd_summary(c));
		json_object_set_new(lv, c->name, json_string(is));
		changes++;
	}
	return changes;
}

int watch_apply(const char *dir, const struct dd_report *r, time_t now, FILE *out, char *err,
		size_t errlen)
{
	char path[1400], ts[32];
	json_t *st;
	char *text;
	int changes, rc;

	if (ensure_dir(dir, 0755, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.json", dir, r->domain);
	st = load(path, r->domain);
	stamp(now, ts);
	changes = levels(st, r, now, out, ts) + ownership(st, r, now, out, ts);
	json_object_set_new(st, "level", json_string(dd_level_name(r->level)));
	json_object_set_new(st, "last_check", json_integer((json_int_t)now));
	text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS);
	rc = text ? atomic_write_file(path, text, strlen(text), 0644, err, errlen) : -1;
	if (!text)
		snprintf(err, errlen, "out of memory");
	free(text);
	json_decref(st);
	return rc ? -1 : changes;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int watch_domains(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l <= 5 || strcmp(e->d_name + l - 5, ".json") || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **nn = realloc(*names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (!nn)
				break;
			*names = nn;
		}
		if (((*names)[*n] = strndup(e->d_name, l - 5)))
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(**names), by_name);
	return 0;
}
