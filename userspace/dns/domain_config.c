// SPDX-License-Identifier: MIT
#include "dns/domain_config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct member {
	const char *key;
	size_t off, cap; /* a string member; cap 0: an integer member (int, or long for interval) */
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

static int member(const struct member *m, json_t *v, struct domain_config *c, const char *path,
		  char *err, size_t errlen)
{
	char *base = (char *)c + m->off;

	if (m->cap) {
		if (!json_is_string(v) || json_string_length(v) >= m->cap) {
			snprintf(err, errlen, "%s: %s: must be a string shorter than %zu", path,
				 m->key, m->cap);
			return -1;
		}
		snprintf(base, m->cap, "%s", json_string_value(v));
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < m->lo || json_integer_value(v) > m->hi) {
		snprintf(err, errlen, "%s: %s: must be an integer from %ld to %ld", path, m->key,
			 m->lo, m->hi);
		return -1;
	}
	if (m->off == offsetof(struct domain_config, interval))
		c->interval = (long)json_integer_value(v);
	else
		*(int *)(void *)base = (int)json_integer_value(v);
	return 0;
}

static int load(json_t *root, struct domain_config *c, const char *path, char *err,
		size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: must be a JSON object", path);
		return -1;
	}
	json_object_foreach(root, key, v) {
		const struct member *m = members;
		if (!strcmp(key, "secret")) {
			if (!json_is_string(v) || domain_config_secret(c, json_string_value(v))) {
				snprintf(err, errlen, "%s: secret: must be 64 to 128 hex digits", path);
				return -1;
			}
			continue;
		}
		while (m->key && strcmp(m->key, key))
			m++;
		if (!m->key) {
			snprintf(err, errlen, "%s: %s: unknown member", path, key);
			return -1;
		}
		if (member(m, v, c, path, err, errlen))
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
	if (!root) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
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
