// SPDX-License-Identifier: MIT
#include "core/config.h"

#include "core/file.h"
#include "core/hostname.h"
#include "core/json_member.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HTTPS joins the embedded defaults when the build has TLS. */
#ifdef CONFIG_TLS
#define ET_EMBEDDED_TLS_LISTEN ", {\"address\": \"127.0.0.1:8443\", \"tls\": true}"
#define ET_EMBEDDED_TLS_OBJ ",\n  \"tls\": {\"default_cert\": \"" CONFIG_DEMO_DOMAIN "\"}"
#else
#define ET_EMBEDDED_TLS_LISTEN ""
#define ET_EMBEDDED_TLS_OBJ ""
#endif

/*
 * The embedded defaults: a demo tracking domain (and its wildcard) on loopback, a demo key
 * and the RFC 7638 example thumbprint so every route answers with no config file at all.
 * The key is public: anyone can mint demo tokens, which is the point of a demo.
 */
static const char embedded_json[] =
	"{\n"
	"  \"listen\": [\"127.0.0.1:8080\"" ET_EMBEDDED_TLS_LISTEN "],\n"
	"  \"data_dir\": \"edgetrack-data\",\n"
	"  \"keys\": [{\"id\": 1, \"current\": true,\n"
	"    \"secret\": \"6564676574726163682d64656d6f2d6b65792d6e6f742d666f722d70726f6421\"}],\n"
	"  \"acme\": {\"thumbprints\": [\"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs\"]},\n"
	"  \"domains\": [{\"name\": \"" CONFIG_DEMO_DOMAIN "\", \"https\": true},\n"
	"              {\"name\": \"*.demo.edgetrack.test\"}]" ET_EMBEDDED_TLS_OBJ "\n"
	"}\n";

struct perr {
	char *buf;
	size_t len;
	const char *source;
};

static int fail(struct perr *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct perr *e, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->buf, e->len, "%s: %s: ", e->source, path);

	if (n < 0 || (size_t)n >= e->len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]))
			return -1;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = v;
	}
	return n / 2;
}

static int parse_listen_addr(const char *text, struct config_listen *l)
{
	char host[64];
	const char *colon, *port_s;
	char *end;
	long port;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&l->addr;
	size_t hl;

	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (!colon)
			return -1;
		hl = colon - text - 1;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, text + 1, hl);
		port_s = colon + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -1;
		hl = colon - text;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, text, hl);
		port_s = colon + 1;
	}
	host[hl] = '\0';
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -1;
	memset(&l->addr, 0, sizeof(l->addr));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		l->addr_len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		l->addr_len = sizeof(*in6);
	} else {
		return -1;
	}
	snprintf(l->text, sizeof(l->text), "%s", text);
	return 0;
}

int config_parse_cidr(const char *text, struct config_cidr *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t al = slash ? (size_t)(slash - text) : strlen(text);
	long prefix = -1;
	char *end;

	if (al >= sizeof(addr))
		return -1;
	memcpy(addr, text, al);
	addr[al] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = 6;
	else
		return -1;
	if (slash) {
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1)
			return -1;
	}
	if (prefix < 0)
		prefix = out->family == 4 ? 32 : 128;
	if (prefix > (out->family == 4 ? 32 : 128))
		return -1;
	out->prefix = prefix;
	return 0;
}

bool config_cidr_contains(const struct config_cidr *c, int family, const uint8_t *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, addr, full))
		return false;
	if (!rest)
		return true;
	return ((c->addr[full] ^ addr[full]) & (0xff00 >> rest) & 0xff) == 0;
}

/* ---- typed getters: each names the JSON path on error ------------------------------ */

static int get_uint(struct perr *e, json_t *obj, const char *key, const char *path,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(e, path, "must be a non-negative integer");
	if ((uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return fail(e, path, "must be between %llu and %llu", (unsigned long long)min,
			    (unsigned long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int get_u32(struct perr *e, json_t *obj, const char *key, const char *path,
		   uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = *out;

	if (get_uint(e, obj, key, path, min, max, &v))
		return -1;
	*out = v;
	return 0;
}

static int get_bool(struct perr *e, json_t *obj, const char *key, const char *path, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(e, path, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_str(struct perr *e, json_t *obj, const char *key, const char *path, char *out,
		   size_t cap)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(e, path, "must be a string");
	if (json_string_length(v) == 0 || json_string_length(v) >= cap)
		return fail(e, path, "must be 1 to %zu characters", cap - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static json_t *get_array(struct perr *e, json_t *obj, const char *key, const char *path,
			 size_t max, int *rc)
{
	json_t *v = json_object_get(obj, key);

	*rc = 0;
	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		*rc = fail(e, path, "must be an array");
		return NULL;
	}
	if (json_array_size(v) > max) {
		*rc = fail(e, path, "at most %zu entries", max);
		return NULL;
	}
	return v;
}

static int check_keys(struct perr *e, json_t *obj, const char *path, const char *const *known)
{
	const char *key;

	if (!json_is_object(obj))
		return fail(e, path, "must be an object");
	key = json_unknown_member(obj, known);
	if (key)
		return fail(e, path, "unknown setting \"%s\"", key);
	return 0;
}

/* ---- sections ----------------------------------------------------------------------- */

static int parse_listen(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "address", "tls", NULL };
	char path[64];
	size_t i;
	json_t *v;
	int rc;
	json_t *arr = get_array(e, root, "listen", "listen", CONFIG_MAX_LISTEN, &rc);

	if (rc)
		return rc;
	if (!arr || json_array_size(arr) == 0)
		return fail(e, "listen", "at least one listen address is required");
	json_array_foreach(arr, i, v) {
		struct config_listen *l = &c->listen[c->n_listen++];
		const char *text;

		snprintf(path, sizeof(path), "listen[%zu]", i);
		if (json_is_object(v)) {
			if (check_keys(e, v, path, known) || get_bool(e, v, "tls", path, &l->tls))
				return -1;
			text = json_string_value(json_object_get(v, "address"));
		} else {
			text = json_string_value(v);
		}
		if (!text || parse_listen_addr(text, l))
			return fail(e, path, "expected \"ADDRESS:PORT\" or \"[IPV6]:PORT\"");
	}
	return 0;
}

static int parse_keys(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "id", "secret", "current", NULL };
	char path[64];
	bool seen[256] = { false }, have_current = false;
	size_t i;
	json_t *v;
	int rc;
	json_t *arr = get_array(e, root, "keys", "keys", CONFIG_MAX_KEYS, &rc);

	if (rc)
		return rc;
	if (!arr || json_array_size(arr) == 0)
		return fail(e, "keys", "at least one signing key is required");
	json_array_foreach(arr, i, v) {
		struct config_key *k = &c->keys[c->n_keys++];
		uint64_t id = 256;
		bool current = false;
		const char *hex;
		int n;

		snprintf(path, sizeof(path), "keys[%zu]", i);
		if (check_keys(e, v, path, known) || get_uint(e, v, "id", path, 0, 255, &id) ||
		    get_bool(e, v, "current", path, &current))
			return -1;
		if (id > 255)
			return fail(e, path, "\"id\" (0..255) is required");
		if (seen[id])
			return fail(e, path, "key id %llu appears twice", (unsigned long long)id);
		seen[id] = true;
		k->id = id;
		hex = json_string_value(json_object_get(v, "secret"));
		n = hex ? parse_hex(hex, k->secret, sizeof(k->secret)) : -1;
		if (n < 32)
			return fail(e, path, "\"secret\" must be 64 to 128 hex digits (32-64 bytes)");
		k->len = n;
		if (current) {
			if (have_current)
				return fail(e, path, "only one key can be current");
			have_current = true;
			c->current_key = k->id;
		}
	}
	if (!have_current)
		c->current_key = c->keys[c->n_keys - 1].id;
	return 0;
}

static bool valid_thumbprint(const char *s)
{
	size_t n = strlen(s);

	/* base64url of a SHA-256 digest, no padding */
	if (n != 43)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static int parse_acme(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "thumbprints", NULL };
	json_t *acme = json_object_get(root, "acme"), *arr, *v;
	char path[64];
	size_t i;
	int rc;

	if (!acme)
		return 0;
	if (check_keys(e, acme, "acme", known))
		return -1;
	arr = get_array(e, acme, "thumbprints", "acme.thumbprints", CONFIG_MAX_THUMBPRINTS, &rc);
	if (rc || !arr)
		return rc;
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "acme.thumbprints[%zu]", i);
		if (!json_is_string(v) || !valid_thumbprint(json_string_value(v)))
			return fail(e, path, "must be an RFC 7638 JWK thumbprint (43 base64url characters)");
		snprintf(c->thumbprints[c->n_thumbprints++], 64, "%s", json_string_value(v));
	}
	return 0;
}

static int parse_domain(struct perr *e, struct config_domain *d, json_t *v, const char *path)
{
	static const char *const known[] = { "name", "https", "https_redirect", "hsts",
					     "acme_thumbprint", NULL };
	static const char *const hsts_known[] = { "max_age", "include_subdomains", "preload", NULL };
	const char *name;
	json_t *hsts;
	char sub[96];

	if (check_keys(e, v, path, known))
		return -1;
	name = json_string_value(json_object_get(v, "name"));
	snprintf(sub, sizeof(sub), "%s.name", path);
	if (!name)
		return fail(e, sub, "a domain name is required");
	if (hostname_normalize(name, strlen(name), d->name, sizeof(d->name),
			       HOSTNAME_ALLOW_WILDCARD) < 0)
		return fail(e, sub, "\"%s\" is not a valid DNS name or \"*.\" wildcard", name);
	d->https = true;
	if (get_bool(e, v, "https", path, &d->https) ||
	    get_bool(e, v, "https_redirect", path, &d->https_redirect))
		return -1;
	snprintf(sub, sizeof(sub), "%s.acme_thumbprint", path);
	if (get_str(e, v, "acme_thumbprint", sub, d->acme_thumbprint, sizeof(d->acme_thumbprint)))
		return -1;
	if (d->acme_thumbprint[0] && !valid_thumbprint(d->acme_thumbprint))
		return fail(e, sub, "must be an RFC 7638 JWK thumbprint");
	hsts = json_object_get(v, "hsts");
	if (!hsts)
		return 0;
	snprintf(sub, sizeof(sub), "%s.hsts", path);
	if (check_keys(e, hsts, sub, hsts_known))
		return -1;
	d->hsts_max_age = 31536000;
	if (get_u32(e, hsts, "max_age", sub, 0, 63072000, &d->hsts_max_age) ||
	    get_bool(e, hsts, "include_subdomains", sub, &d->hsts_subdomains) ||
	    get_bool(e, hsts, "preload", sub, &d->hsts_preload))
		return -1;
	/* Browsers' preload lists require both; refuse a setting that cannot work. */
	if (d->hsts_preload && (!d->hsts_subdomains || d->hsts_max_age < 31536000))
		return fail(e, sub, "preload needs include_subdomains and max_age >= 31536000");
	return 0;
}

static int parse_domains(struct perr *e, struct config *c, json_t *root)
{
	char path[64];
	size_t i;
	json_t *v;
	int rc;
	json_t *arr = get_array(e, root, "domains", "domains", 10000000, &rc);

	if (rc)
		return rc;
	if (!arr || json_array_size(arr) == 0)
		return fail(e, "domains", "at least one tracking domain is required");
	c->domains = calloc(json_array_size(arr), sizeof(*c->domains));
	if (!c->domains)
		return fail(e, "domains", "out of memory");
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "domains[%zu]", i);
		if (parse_domain(e, &c->domains[c->n_domains], v, path))
			return -1;
		c->n_domains++;
	}
	return 0;
}

static int parse_limits(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "max_connections", "header_timeout_ms",
					     "idle_timeout_ms", "send_timeout_ms",
					     "max_keepalive_requests", NULL };
	struct config_limits *l = &c->limits;
	json_t *o = json_object_get(root, "limits");

	l->max_connections = CONFIG_MAX_CONNECTIONS;
	l->header_timeout_ms = 10000;
	l->idle_timeout_ms = 60000;
	l->send_timeout_ms = 30000;
	l->max_keepalive_requests = 10000;
	if (!o)
		return 0;
	if (check_keys(e, o, "limits", known))
		return -1;
	return get_u32(e, o, "max_connections", "limits.max_connections", 1, 1000000,
		       &l->max_connections) ||
	       get_u32(e, o, "header_timeout_ms", "limits.header_timeout_ms", 100, 600000,
		       &l->header_timeout_ms) ||
	       get_u32(e, o, "idle_timeout_ms", "limits.idle_timeout_ms", 100, 3600000,
		       &l->idle_timeout_ms) ||
	       get_u32(e, o, "send_timeout_ms", "limits.send_timeout_ms", 100, 600000,
		       &l->send_timeout_ms) ||
	       get_u32(e, o, "max_keepalive_requests", "limits.max_keepalive_requests", 1,
		       100000000, &l->max_keepalive_requests) ? -1 : 0;
}

/* Prefetchers and link scanners that fetch every URL of a message before (or without) a
 * person: security gateways, preview bots, generic HTTP libraries. */
static const char *const default_agents[] = {
	"bot", "spider", "crawler", "preview", "barracuda", "mimecast", "proofpoint",
	"urldefense", "symantec", "trendmicro", "python-requests", "go-http-client", "curl/",
	"wget/", "libwww-perl", "java/", "okhttp", NULL,
};

static int parse_machine(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "cidrs", "user_agents", "fast_click_ms", NULL };
	struct config_machine *m = &c->machine;
	json_t *o = json_object_get(root, "machine"), *arr, *v;
	char path[64];
	size_t i;
	int rc;

	m->fast_click_ms = 2000;
	for (const char *const *a = default_agents; *a; a++) {
		m->agent_len[m->n_agents] = strlen(*a);
		memcpy(m->agents[m->n_agents++], *a, strlen(*a) + 1);
	}
	if (!o)
		return 0;
	if (check_keys(e, o, "machine", known) ||
	    get_u32(e, o, "fast_click_ms", "machine.fast_click_ms", 0, 600000, &m->fast_click_ms))
		return -1;
	arr = get_array(e, o, "cidrs", "machine.cidrs", CONFIG_MAX_CIDRS, &rc);
	if (rc)
		return rc;
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "machine.cidrs[%zu]", i);
		if (!json_is_string(v) || config_parse_cidr(json_string_value(v), &m->cidrs[m->n_cidrs]))
			return fail(e, path, "expected an address or CIDR (\"192.0.2.0/24\")");
		m->n_cidrs++;
	}
	arr = get_array(e, o, "user_agents", "machine.user_agents", CONFIG_MAX_AGENTS, &rc);
	if (rc || !arr)
		return rc;
	m->n_agents = 0; /* an explicit list replaces the defaults */
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "machine.user_agents[%zu]", i);
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= 64)
			return fail(e, path, "expected a substring of 1 to 63 characters");
		for (size_t k = 0; k <= json_string_length(v); k++)
			m->agents[m->n_agents][k] = tolower((unsigned char)json_string_value(v)[k]);
		m->agent_len[m->n_agents++] = json_string_length(v);
	}
	return 0;
}

static int parse_privacy(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "ipv4_prefix", "ipv6_prefix", NULL };
	json_t *o = json_object_get(root, "privacy");
	uint32_t p4 = 24, p6 = 48;

	if (o && (check_keys(e, o, "privacy", known) ||
		  get_u32(e, o, "ipv4_prefix", "privacy.ipv4_prefix", 0, 32, &p4) ||
		  get_u32(e, o, "ipv6_prefix", "privacy.ipv6_prefix", 0, 128, &p6)))
		return -1;
	c->ipv4_prefix = p4;
	c->ipv6_prefix = p6;
	return 0;
}

/* A string setting that must be present. */
static int need_str(struct perr *e, json_t *obj, const char *key, const char *path, char *out,
		    size_t cap)
{
	if (!json_object_get(obj, key))
		return fail(e, path, "is required");
	return get_str(e, obj, key, path, out, cap);
}

static bool valid_appliance_id(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static bool same_address(const struct config_listen *a, const struct config_listen *b)
{
	return a->addr_len == b->addr_len && !memcmp(&a->addr, &b->addr, a->addr_len);
}

static int parse_management(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "listen", "cert", "key", "client_ca",
					     "max_bundle_bytes", "health_window_ms", "root_key",
					     "appliance_id", NULL };
	struct config_management *m = &c->management;
	json_t *o = json_object_get(root, "management");
	const char *addr;

	if (!o)
		return 0;
	if (check_keys(e, o, "management", known))
		return -1;
	m->enabled = true;
	m->max_bundle_bytes = 64u << 20;
	m->health_window_ms = 5000;
	snprintf(m->root_key, sizeof(m->root_key), "%s", CONFIG_BUNDLE_ROOT_KEY);
	addr = json_string_value(json_object_get(o, "listen"));
	if (!addr || parse_listen_addr(addr, &m->listen))
		return fail(e, "management.listen", "expected \"ADDRESS:PORT\" or \"[IPV6]:PORT\"");
	m->listen.tls = true;
	if (need_str(e, o, "cert", "management.cert", m->cert, sizeof(m->cert)) ||
	    need_str(e, o, "key", "management.key", m->key, sizeof(m->key)) ||
	    need_str(e, o, "client_ca", "management.client_ca", m->client_ca,
		     sizeof(m->client_ca)) ||
	    get_str(e, o, "root_key", "management.root_key", m->root_key, sizeof(m->root_key)) ||
	    get_str(e, o, "appliance_id", "management.appliance_id", m->appliance_id,
		    sizeof(m->appliance_id)) ||
	    get_u32(e, o, "max_bundle_bytes", "management.max_bundle_bytes", 1024, 1u << 30,
		    &m->max_bundle_bytes) ||
	    get_u32(e, o, "health_window_ms", "management.health_window_ms", 100, 600000,
		    &m->health_window_ms))
		return -1;
	if (!valid_appliance_id(m->appliance_id) || !strcmp(m->appliance_id, "fleet"))
		return fail(e, "management.appliance_id",
			    "letters, digits, '-', '_' and '.' only, and not \"fleet\"");
	for (unsigned i = 0; i < c->n_listen; i++)
		if (same_address(&c->listen[i], &m->listen))
			return fail(e, "management.listen", "%s is a tracking listener too",
				    m->listen.text);
	return 0;
}

static bool is_loopback(const struct config_listen *l)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l->addr;

	if (l->addr.ss_family == AF_INET)
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* The host part of a and b is the same (ports may differ). */
static bool same_host(const struct config_listen *a, const struct config_listen *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->addr, *b4 = (const void *)&b->addr;
	const struct sockaddr_in6 *a6 = (const void *)&a->addr, *b6 = (const void *)&b->addr;

	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

static int parse_metrics(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "listen", NULL };
	struct config_metrics *m = &c->metrics;
	json_t *o = json_object_get(root, "metrics");
	const char *addr;

	if (!o)
		return 0;
	if (check_keys(e, o, "metrics", known))
		return -1;
	addr = json_string_value(json_object_get(o, "listen"));
	if (!addr || parse_listen_addr(addr, &m->listen))
		return fail(e, "metrics.listen", "expected \"ADDRESS:PORT\" or \"[IPV6]:PORT\"");
	/* plain HTTP without client certificates: only where the operator's own network is */
	if (!is_loopback(&m->listen) &&
	    !(c->management.enabled && same_host(&m->listen, &c->management.listen)))
		return fail(e, "metrics.listen", "%s: a loopback address or the management "
			    "listener's address", m->listen.text);
	if (c->management.enabled && same_address(&m->listen, &c->management.listen))
		return fail(e, "metrics.listen", "%s is the management listener", m->listen.text);
	for (unsigned i = 0; i < c->n_listen; i++)
		if (same_address(&c->listen[i], &m->listen))
			return fail(e, "metrics.listen", "%s is a tracking listener too",
				    m->listen.text);
	m->enabled = true;
	return 0;
}

static int parse_root(struct perr *e, struct config *c, json_t *root)
{
	static const char *const known[] = { "workers", "listen", "data_dir", "control_socket",
					     "keys", "acme", "domains", "limits",
					     "machine", "privacy", "tls", "xdp", "journal",
					     "management", "metrics", "nats", NULL };
	uint32_t workers = CONFIG_WORKERS;

	if (check_keys(e, root, "(top level)", known) ||
	    get_u32(e, root, "workers", "workers", 0, 256, &workers))
		return -1;
	c->workers = workers;
	snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/edgetrack");
	if (get_str(e, root, "data_dir", "data_dir", c->data_dir, sizeof(c->data_dir)))
		return -1;
	if ((size_t)snprintf(c->control_socket, sizeof(c->control_socket), "%s/control.sock",
			     c->data_dir) >= sizeof(c->control_socket))
		return fail(e, "data_dir", "path too long");
	if (get_str(e, root, "control_socket", "control_socket", c->control_socket,
		    sizeof(c->control_socket)))
		return -1;
	if (parse_listen(e, c, root) || parse_keys(e, c, root) || parse_acme(e, c, root) ||
	    parse_domains(e, c, root) || parse_limits(e, c, root) || parse_machine(e, c, root) ||
	    parse_privacy(e, c, root) || parse_management(e, c, root) ||
	    parse_metrics(e, c, root))
		return -1;
	c->tls = json_object_get(root, "tls");
	c->xdp = json_object_get(root, "xdp");
	c->journal = json_object_get(root, "journal");
	c->nats = json_object_get(root, "nats");
	return 0;
}

static struct config *finish(json_t *root, json_error_t *jerr, const char *source, bool embedded,
			     char *err, size_t errlen)
{
	struct perr e = { err, errlen, source };
	struct config *c;

	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", source, jerr->line, jerr->column, jerr->text);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(root);
		snprintf(err, errlen, "%s: out of memory", source);
		return NULL;
	}
	c->root = root;
	c->embedded = embedded;
	snprintf(c->source, sizeof(c->source), "%s", source);
	if (!json_is_object(root)) {
		fail(&e, "(top level)", "must be a JSON object");
		config_free(c);
		return NULL;
	}
	if (parse_root(&e, c, root)) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_load_file(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	char *text;
	size_t len;

	/* not json_load_file: a FIFO at the path would block it, and SIGHUP with it */
	if (file_read(AT_FDCWD, path, CONFIG_FILE_MAX, &text, &len, NULL, err, errlen))
		return NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	return finish(root, &jerr, path, false, err, errlen);
}

struct config *config_load_string(const char *json, const char *source, char *err, size_t errlen)
{
	json_error_t jerr;

	return finish(json_loads(json, JSON_REJECT_DUPLICATES, &jerr), &jerr, source, false, err,
		      errlen);
}

struct config *config_load_embedded(char *err, size_t errlen)
{
	json_error_t jerr;

	return finish(json_loads(embedded_json, JSON_REJECT_DUPLICATES, &jerr), &jerr,
		      "<embedded>", true, err, errlen);
}

void config_cert_dir(const struct config *c, char *out, size_t cap)
{
	const char *dir = json_string_value(json_object_get(c->tls, "cert_dir"));

	/* certificates live with the rest of the box's state unless the config says otherwise */
	if (dir)
		snprintf(out, cap, "%s", dir);
	else
		snprintf(out, cap, "%.200s/certs", c->data_dir);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->domains);
	json_decref(c->root);
	free(c);
}
