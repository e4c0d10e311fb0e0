// SPDX-License-Identifier: MIT
/* The "xdp" config object: strict parsing (unknown keys are errors) with JSON-path errors. */
#include "xdp/xdp.h"
#include "core/err.h"
#include "core/file.h"
#include "xdp/xdp_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* far above XDP_BLK_MAX CIDRs with comments; bounds what a bad path can make us read */
#define BLOCKLIST_FILE_MAX (64u << 20)
#define RATE_MAX 10000000u /* keeps rate * elapsed and burst * 1e9 far from overflow */

static int check_keys(const json_t *obj, const char *path, const char *const *allowed,
		      char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return err_set(err, errlen, "%s: must be an object", path);
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return err_set(err, errlen, "%s.%s: unknown key", path, key);
	}
	return 0;
}

static int get_uint(const json_t *v, const char *path, uint64_t max, uint64_t *out,
		    char *err, size_t errlen)
{
	json_int_t x;

	if (!json_is_integer(v))
		return err_set(err, errlen, "%s: must be an integer", path);
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x > max)
		return err_set(err, errlen, "%s: must be between 0 and %llu", path,
			    (unsigned long long)max);
	*out = (uint64_t)x;
	return 0;
}

static int parse_ports(const json_t *arr, const char *path, struct xdp_port_list *out,
		       char *err, size_t errlen)
{
	char p[128];
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(err, errlen, "%s: must be an array of ports", path);
	free(out->v);
	out->n = 0;
	out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
	if (!out->v)
		return err_set(err, errlen, "%s: out of memory", path);
	json_array_foreach(arr, i, v) {
		uint64_t port;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (get_uint(v, p, 65535, &port, err, errlen) < 0)
			return -1;
		if (port == 0)
			return err_set(err, errlen, "%s: port 0 is not a port", p);
		out->v[out->n++] = (uint16_t)port;
	}
	return 0;
}

static int cidr_append(struct xdp_cidr_list *l, size_t *cap, const struct xdp_cidr *c)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct xdp_cidr *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		l->v = nv;
		*cap = ncap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static int parse_cidrs(const json_t *arr, const char *path, bool hosts_only,
		       struct xdp_cidr_list *out, char *err, size_t errlen)
{
	size_t i, cap = out->n;
	char p[128], why[128];
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(err, errlen, "%s: must be an array of strings", path);
	json_array_foreach(arr, i, v) {
		struct xdp_cidr c;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_string(v))
			return err_set(err, errlen, "%s: must be a string", p);
		if (xdp_cidr_parse(json_string_value(v), &c, why, sizeof(why)) < 0)
			return err_set(err, errlen, "%s: %s", p, why);
		if (hosts_only && c.prefixlen != (c.family == 4 ? 32 : 128))
			return err_set(err, errlen, "%s: must be an address, not a prefix", p);
		if (cidr_append(out, &cap, &c) < 0)
			return err_set(err, errlen, "%s: out of memory", p);
	}
	return 0;
}

static int parse_blocklist_file(const char *file, const char *path, struct xdp_cidr_list *out,
				char *err, size_t errlen)
{
	size_t cap = out->n, lineno = 0, len = 0, size;
	char *line = NULL, *text, why[128];
	int rc = 0;
	FILE *f;

	/* read whole and non-blocking first: a FIFO at the name must not hang a reload */
	if (file_read(AT_FDCWD, file, BLOCKLIST_FILE_MAX, &text, &size, NULL, why, sizeof(why)))
		return err_set(err, errlen, "%s: %s", path, why);
	f = size ? fmemopen(text, size, "r") : NULL;
	if (!f) {
		free(text);
		return size ? err_set(err, errlen, "%s: %s: %s", path, file, strerror(errno)) : 0;
	}
	while (rc == 0 && getline(&line, &len, f) >= 0) {
		char *s = line, *e;
		struct xdp_cidr c;

		lineno++;
		if ((e = strchr(s, '#')))
			*e = '\0';
		s += strspn(s, " \t\r\n");
		e = s + strcspn(s, " \t\r\n");
		if (*e && e[strspn(e, " \t\r\n")])
			rc = err_set(err, errlen, "%s: %s:%zu: one CIDR per line", path, file, lineno);
		*e = '\0';
		if (rc || !*s)
			continue;
		if (xdp_cidr_parse(s, &c, why, sizeof(why)) < 0)
			rc = err_set(err, errlen, "%s: %s:%zu: %s", path, file, lineno, why);
		else if (cidr_append(out, &cap, &c) < 0)
			rc = err_set(err, errlen, "%s: out of memory", path);
	}
	free(line);
	fclose(f);
	free(text);
	return rc;
}

static int parse_rate(const json_t *obj, const char *path, const char *rkey, const char *bkey,
		      struct xdp_rate_cfg *out, char *err, size_t errlen)
{
	const json_t *r = json_object_get(obj, rkey), *b = json_object_get(obj, bkey);
	char p[128];
	uint64_t x;

	if (r) {
		snprintf(p, sizeof(p), "%s.%s", path, rkey);
		if (get_uint(r, p, RATE_MAX, &x, err, errlen) < 0)
			return -1;
		out->rate = (uint32_t)x;
		if (!b)
			out->burst = out->rate ? out->rate : 1;
	}
	if (b) {
		snprintf(p, sizeof(p), "%s.%s", path, bkey);
		if (get_uint(b, p, RATE_MAX, &x, err, errlen) < 0)
			return -1;
		if (x == 0)
			return err_set(err, errlen, "%s: must be at least 1", p);
		out->burst = (uint32_t)x;
	}
	return 0;
}

static int set_defaults(struct xdp_settings *s)
{
	static const uint16_t svc[] = { 80, 443 }, otcp[] = { 53, 80, 443 }, oudp[] = { 53, 123 };

	memset(s, 0, sizeof(*s));
	s->mode = XDP_ATTACH_AUTO;
	s->pin_dir = strdup(XDP_DEFAULT_PIN_DIR);
	s->service_ports.v = malloc(sizeof(svc));
	s->out_tcp_ports.v = malloc(sizeof(otcp));
	s->out_udp_ports.v = malloc(sizeof(oudp));
	if (!s->pin_dir || !s->service_ports.v || !s->out_tcp_ports.v || !s->out_udp_ports.v)
		return -1;
	memcpy(s->service_ports.v, svc, sizeof(svc));
	s->service_ports.n = 2;
	memcpy(s->out_tcp_ports.v, otcp, sizeof(otcp));
	s->out_tcp_ports.n = 3;
	memcpy(s->out_udp_ports.v, oudp, sizeof(oudp));
	s->out_udp_ports.n = 2;
	s->eph_lo = 32768;
	s->eph_hi = 60999;
	s->syn_source = (struct xdp_rate_cfg){ 100, 200 };
	s->syn_global = (struct xdp_rate_cfg){ 50000, 50000 };
	s->icmp = (struct xdp_rate_cfg){ 100, 200 };
	s->syn_table_size = XDP_SYN_SRC_MAX;
	s->fragments = XDP_FRAGS_DROP;
	s->steer_queue_size = 2048;
	return 0;
}

static int parse_interfaces(const json_t *arr, struct xdp_settings *s, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(err, errlen, "xdp.interfaces: must be an array of names");
	s->interfaces = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!s->interfaces)
		return err_set(err, errlen, "xdp.interfaces: out of memory");
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);

		if (!name || !*name || strlen(name) >= 16 || strchr(name, '/'))
			return err_set(err, errlen, "xdp.interfaces[%zu]: must be an interface name", i);
		s->interfaces[i] = strdup(name);
		if (!s->interfaces[i])
			return err_set(err, errlen, "xdp.interfaces: out of memory");
		s->n_interfaces = i + 1;
	}
	return 0;
}

static int parse_enum(const json_t *v, const char *path, const char *const *names, int *out,
		      char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	int i;

	if (!v)
		return 0;
	for (i = 0; s && names[i]; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return err_set(err, errlen, "%s: unknown value", path);
}

static int parse_top(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "interfaces", "mode", "pin_dir", "service",
		"management", "outbound", "blocklist", "blocklist_file", "syn", "icmp",
		"fragments", "steer", NULL };
	static const char *const modes[] = { "auto", "native", "generic", NULL };
	static const char *const frags[] = { "drop", "pass", NULL };
	const json_t *v;
	int e;

	if (check_keys(obj, "xdp", keys, err, errlen) < 0 ||
	    parse_interfaces(json_object_get(obj, "interfaces"), s, err, errlen) < 0)
		return -1;
	e = (int)s->mode;
	if (parse_enum(json_object_get(obj, "mode"), "xdp.mode", modes, &e, err, errlen) < 0)
		return -1;
	s->mode = (enum xdp_attach_mode)e;
	e = (int)s->fragments;
	if (parse_enum(json_object_get(obj, "fragments"), "xdp.fragments", frags, &e, err, errlen) < 0)
		return -1;
	s->fragments = (enum xdp_frag_policy)e;
	if ((v = json_object_get(obj, "pin_dir"))) {
		const char *d = json_string_value(v);

		if (!d || d[0] != '/')
			return err_set(err, errlen, "xdp.pin_dir: must be an absolute path");
		free(s->pin_dir);
		if (!(s->pin_dir = strdup(d)))
			return err_set(err, errlen, "xdp.pin_dir: out of memory");
	}
	if (parse_cidrs(json_object_get(obj, "blocklist"), "xdp.blocklist", false, &s->blocklist,
			err, errlen) < 0)
		return -1;
	if ((v = json_object_get(obj, "blocklist_file"))) {
		if (!json_is_string(v))
			return err_set(err, errlen, "xdp.blocklist_file: must be a path");
		if (parse_blocklist_file(json_string_value(v), "xdp.blocklist_file", &s->blocklist,
					 err, errlen) < 0)
			return -1;
	}
	if (s->blocklist.n > XDP_BLK_MAX)
		return err_set(err, errlen, "xdp.blocklist: more than %d entries", XDP_BLK_MAX);
	return 0;
}

static int parse_service(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "addresses", "ports", NULL };

	if (!obj)
		return 0;
	if (check_keys(obj, "xdp.service", keys, err, errlen) < 0 ||
	    parse_cidrs(json_object_get(obj, "addresses"), "xdp.service.addresses", true,
			&s->service_addrs, err, errlen) < 0 ||
	    parse_ports(json_object_get(obj, "ports"), "xdp.service.ports", &s->service_ports,
			err, errlen) < 0)
		return -1;
	if (s->service_addrs.n > XDP_SVC_MAX)
		return err_set(err, errlen, "xdp.service.addresses: more than %d", XDP_SVC_MAX);
	return 0;
}

static int parse_mgmt(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "ports", "cidrs", NULL };

	if (!obj)
		return 0;
	if (check_keys(obj, "xdp.management", keys, err, errlen) < 0 ||
	    parse_ports(json_object_get(obj, "ports"), "xdp.management.ports", &s->mgmt_ports,
			err, errlen) < 0 ||
	    parse_cidrs(json_object_get(obj, "cidrs"), "xdp.management.cidrs", false,
			&s->mgmt_cidrs, err, errlen) < 0)
		return -1;
	if (s->mgmt_cidrs.n > XDP_MGMT_MAX)
		return err_set(err, errlen, "xdp.management.cidrs: more than %d", XDP_MGMT_MAX);
	return 0;
}

static int parse_outbound(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "tcp_ports", "udp_ports", "ephemeral", NULL };
	const json_t *eph;
	uint64_t lo, hi;

	if (!obj)
		return 0;
	if (check_keys(obj, "xdp.outbound", keys, err, errlen) < 0 ||
	    parse_ports(json_object_get(obj, "tcp_ports"), "xdp.outbound.tcp_ports",
			&s->out_tcp_ports, err, errlen) < 0 ||
	    parse_ports(json_object_get(obj, "udp_ports"), "xdp.outbound.udp_ports",
			&s->out_udp_ports, err, errlen) < 0)
		return -1;
	eph = json_object_get(obj, "ephemeral");
	if (!eph)
		return 0;
	if (!json_is_array(eph) || json_array_size(eph) != 2)
		return err_set(err, errlen, "xdp.outbound.ephemeral: must be [low, high]");
	if (get_uint(json_array_get(eph, 0), "xdp.outbound.ephemeral[0]", 65535, &lo, err, errlen) < 0 ||
	    get_uint(json_array_get(eph, 1), "xdp.outbound.ephemeral[1]", 65535, &hi, err, errlen) < 0)
		return -1;
	if (lo < 1024 || lo > hi)
		return err_set(err, errlen, "xdp.outbound.ephemeral: need 1024 <= low <= high");
	s->eph_lo = (uint16_t)lo;
	s->eph_hi = (uint16_t)hi;
	return 0;
}

static int parse_syn_icmp(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const skeys[] = { "per_source", "burst", "global", "global_burst",
		"table_size", NULL };
	static const char *const ikeys[] = { "rate", "burst", NULL };
	const json_t *syn = json_object_get(obj, "syn"), *icmp = json_object_get(obj, "icmp");

	if (syn) {
		const json_t *t = json_object_get(syn, "table_size");
		uint64_t x;

		if (check_keys(syn, "xdp.syn", skeys, err, errlen) < 0 ||
		    parse_rate(syn, "xdp.syn", "per_source", "burst", &s->syn_source, err, errlen) < 0 ||
		    parse_rate(syn, "xdp.syn", "global", "global_burst", &s->syn_global, err, errlen) < 0)
			return -1;
		if (t) {
			if (get_uint(t, "xdp.syn.table_size", 1u << 24, &x, err, errlen) < 0)
				return -1;
			if (x < 1024)
				return err_set(err, errlen, "xdp.syn.table_size: must be at least 1024");
			s->syn_table_size = (uint32_t)x;
		}
	}
	if (icmp && (check_keys(icmp, "xdp.icmp", ikeys, err, errlen) < 0 ||
		     parse_rate(icmp, "xdp.icmp", "rate", "burst", &s->icmp, err, errlen) < 0))
		return -1;
	return 0;
}

static int parse_steer(const json_t *obj, struct xdp_settings *s, char *err, size_t errlen)
{
	static const char *const keys[] = { "cpus", "queue_size", NULL };
	const json_t *cpus, *q, *v;
	char p[64];
	uint64_t x;
	size_t i;

	if (!obj)
		return 0;
	if (check_keys(obj, "xdp.steer", keys, err, errlen) < 0)
		return -1;
	cpus = json_object_get(obj, "cpus");
	if (!json_is_array(cpus) || json_array_size(cpus) == 0 ||
	    json_array_size(cpus) > XDP_STEER_MAX)
		return err_set(err, errlen, "xdp.steer.cpus: must be an array of 1..%d CPU numbers",
			    XDP_STEER_MAX);
	s->steer_cpus = calloc(json_array_size(cpus), sizeof(*s->steer_cpus));
	if (!s->steer_cpus)
		return err_set(err, errlen, "xdp.steer: out of memory");
	json_array_foreach(cpus, i, v) {
		snprintf(p, sizeof(p), "xdp.steer.cpus[%zu]", i);
		if (get_uint(v, p, XDP_CPUMAP_MAX - 1, &x, err, errlen) < 0)
			return -1;
		s->steer_cpus[s->n_steer_cpus++] = (uint32_t)x;
	}
	if ((q = json_object_get(obj, "queue_size"))) {
		if (get_uint(q, "xdp.steer.queue_size", 16384, &x, err, errlen) < 0)
			return -1;
		if (x < 64)
			return err_set(err, errlen, "xdp.steer.queue_size: must be at least 64");
		s->steer_queue_size = (uint32_t)x;
	}
	return 0;
}

int xdp_settings_parse(const json_t *obj, struct xdp_settings *out, char *err, size_t errlen)
{
	struct xdp_settings s;

	if (set_defaults(&s) < 0) {
		xdp_settings_free(&s);
		return err_set(err, errlen, "xdp: out of memory");
	}
	if (obj) {
		s.enabled = true;
		if (parse_top(obj, &s, err, errlen) < 0 ||
		    parse_service(json_object_get(obj, "service"), &s, err, errlen) < 0 ||
		    parse_mgmt(json_object_get(obj, "management"), &s, err, errlen) < 0 ||
		    parse_outbound(json_object_get(obj, "outbound"), &s, err, errlen) < 0 ||
		    parse_syn_icmp(obj, &s, err, errlen) < 0 ||
		    parse_steer(json_object_get(obj, "steer"), &s, err, errlen) < 0) {
			xdp_settings_free(&s);
			return -1;
		}
	}
	*out = s;
	return 0;
}

void xdp_settings_free(struct xdp_settings *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; s->interfaces && s->interfaces[i]; i++)
		free(s->interfaces[i]);
	free(s->interfaces);
	free(s->pin_dir);
	free(s->service_addrs.v);
	free(s->service_ports.v);
	free(s->mgmt_ports.v);
	free(s->mgmt_cidrs.v);
	free(s->out_tcp_ports.v);
	free(s->out_udp_ports.v);
	free(s->blocklist.v);
	free(s->steer_cpus);
	memset(s, 0, sizeof(*s));
}
