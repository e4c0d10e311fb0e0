// SPDX-License-Identifier: MIT
#include "dns/domain_config.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct member {
	const char *key;
	size_t off, cap; /* a string member; cap 0: an int member from lo to hi */
	long lo, hi;
};

#define S(k, f) { k, offsetof(struct domain_config, f), sizeof(((struct domain_config *)0)->f), 0, 0 }
#define I(k, f, l, h) { k, offsetof(struct domain_config, f), 0, l, h }

static const struct member members[] = {
	S("verification_prefix", prefix), S("spf_include", spf_include),
	S("dkim_selector", selector), S("dkim_target", dkim_target),
	S("dkim_domain", dkim_domain), S("return_path", return_path),
	S("tracking_host", tracking_host), S("tracking_target", tracking_target),
	S("caa_identifier", caa_identifier), S("resolver", resolver), S("state_dir", state_dir),
	I("dns_timeout_ms", dns_timeout_ms, 100, 60000), I("deadline_ms", deadline_ms, 100, 600000),
	I("concurrency", concurrency, 1, 256),
	I("watch_interval_seconds", interval, 1, 30L * 86400),
	{ NULL, 0, 0, 0, 0 },
};

static void defaults(struct domain_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->prefix, sizeof(c->prefix), "edgetrack-verification");
	snprintf(c->selector, sizeof(c->selector), "edgetrack");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/edgetrack/domains");
	c->dns_timeout_ms = 2000;
	c->deadline_ms = 10000;
	c->concurrency = 32;
	c->interval = 3600;
}

int domain_config_secret(struct domain_config *cfg, const char *hex)
{
	size_t n = strlen(hex);

	if (n < 64 || n > 128 || n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]) ||
		    sscanf(hex + i, "%2x", &v) != 1)
			return -1;
		cfg->secret[i / 2] = (unsigned char)v;
	}
	cfg->secret_len = n / 2;
	return 0;
}

/* Sets m from a string (s, len) or an integer (n); ok is false when the value had the other
 * type. where names the source (the file, or the command-line flag) in the error. */
static int set(const struct member *m, struct domain_config *c, bool ok, const char *s,
	       size_t len, long long n, const char *where, char *err, size_t errlen)
{
	char *base = (char *)c + m->off;

	if (m->cap) {
		if (!ok || len >= m->cap)
			return err_set(err, errlen, "%s: %s: must be a string shorter than %zu",
				       where, m->key, m->cap);
		memcpy(base, s, len);
		base[len] = '\0';
		return 0;
	}
	if (!ok || n < m->lo || n > m->hi)
		return err_set(err, errlen, "%s: %s: must be an integer from %ld to %ld", where,
			       m->key, m->lo, m->hi);
	*(int *)(void *)base = (int)n;
	return 0;
}

static const struct member *find(const char *key)
{
	const struct member *m = members;

	while (m->key && strcmp(m->key, key))
		m++;
	return m->key ? m : NULL;
}

int domain_config_set(struct domain_config *c, const char *key, const char *value,
		      const char *where, char *err, size_t errlen)
{
	const struct member *m = find(key);
	char *end;
	long long n;

	if (!m)
		return err_set(err, errlen, "%s: %s: unknown member", where, key);
	if (m->cap)
		return set(m, c, true, value, strlen(value), 0, where, err, errlen);
	errno = 0;
	n = strtoll(value, &end, 10);
	return set(m, c, *value && !*end && !errno, NULL, 0, n, where, err, errlen);
}

static int load(json_t *root, struct domain_config *c, const char *path, char *err,
		size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return err_set(err, errlen, "%s: must be a JSON object", path);
	json_object_foreach(root, key, v) {
		const struct member *m = find(key);
		if (!strcmp(key, "secret")) {
			if (!json_is_string(v) || domain_config_secret(c, json_string_value(v)))
				return err_set(err, errlen, "%s: secret: must be 64 to 128 hex digits",
					       path);
			continue;
		}
		if (!m)
			return err_set(err, errlen, "%s: %s: unknown member", path, key);
		if (m->cap ? set(m, c, json_is_string(v), json_string_value(v),
				 json_string_length(v), 0, path, err, errlen)
			   : set(m, c, json_is_integer(v), NULL, 0, json_integer_value(v), path,
				 err, errlen))
			return -1;
	}
	return 0;
}

int domain_config_load(const char *path, struct domain_config *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int rc;

	defaults(c);
	if (!path)
		return 0;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return err_set(err, errlen, "%s:%d: %s", path, je.line, je.text);
	rc = load(root, c, path, err, errlen);
	json_decref(root);
	return rc;
}

void domain_template(const char *tmpl, const char *domain, const char *selector, char *out,
		     size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = tmpl; *p && o + 1 < cap;) {
		const char *with = NULL;
		if (!strncmp(p, "{domain}", 8))
			with = domain, p += 8;
		else if (!strncmp(p, "{selector}", 10))
			with = selector, p += 10;
		if (with) {
			o += (size_t)snprintf(out + o, cap - o, "%s", with);
			continue;
		}
		out[o++] = *p++;
		out[o] = '\0';
	}
	if (o >= cap)
		out[cap - 1] = '\0';
}
