// SPDX-License-Identifier: MIT
/* `edgetrackctl xdp ...`: works on the maps and links pinned by the running filter. */
#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static const char usage[] =
	"usage: edgetrackctl xdp [--pin-dir DIR] COMMAND\n"
	"  stats                 packets and bytes per verdict reason\n"
	"  rules                 the active rule set and blocklist\n"
	"  block CIDR            drop a source prefix now (kept across reloads)\n"
	"  unblock CIDR          remove a prefix from the live blocklist\n"
	"  attach --config FILE  attach with the \"xdp\" object of an edgetrackd config and exit\n"
	"  detach                detach from every interface and remove the pins\n";

static int cmd_stats(const struct xdp_maps *m)
{
	struct xdp_counter c[XDP_R_MAX];
	unsigned long long pass = 0, drop = 0;
	unsigned i;

	if (xdp_counters_read(m, c) < 0) {
		fprintf(stderr, "xdp stats: reading counters: %s\n", strerror(errno));
		return 1;
	}
	printf("%-24s %14s %16s\n", "reason", "packets", "bytes");
	for (i = 0; i < XDP_R_MAX; i++) {
		printf("%-24s %14llu %16llu\n", xdp_reason_name(i),
		       (unsigned long long)c[i].packets, (unsigned long long)c[i].bytes);
		if (i < XDP_R_DROP_TRUNCATED)
			pass += c[i].packets;
		else
			drop += c[i].packets;
	}
	printf("%-24s %14llu\n%-24s %14llu\n", "total_pass", pass, "total_drop", drop);
	return 0;
}

static void print_ports(const char *label, const struct xdp_rules *r, uint8_t bit)
{
	unsigned p;

	printf("%-20s", label);
	for (p = 1; p < 65536; p++)
		if (r->ports[p] & bit)
			printf(" %u", p);
	printf("\n");
}

static void print_rate(const char *label, const struct xdp_rate *r)
{
	if (!r->rate)
		printf("%-20s unlimited\n", label);
	else
		printf("%-20s %llu/s burst %llu\n", label, (unsigned long long)r->rate,
		       (unsigned long long)(r->cap / XDP_TOKEN_ONE));
}

/* Print every key of the inner map in slot gen of outer; dyn marks dynamic entries. */
static size_t print_inner(int outer, __u32 gen, bool lpm, int dyn, const char *label)
{
	union { struct xdp_lpm_key l; struct xdp_addr a; } k, prev;
	void *pk = NULL;
	size_t n = 0;
	__u32 id, v;
	int fd;

	if (bpf_map_lookup_elem(outer, &gen, &id) < 0 || (fd = bpf_map_get_fd_by_id(id)) < 0)
		return 0;
	while (bpf_map_get_next_key(fd, pk, &k) == 0) {
		struct xdp_cidr c;
		char buf[64];

		if (lpm) {
			xdp_key_to_cidr(&k.l, &c);
		} else {
			struct xdp_lpm_key lk = { .prefixlen = 128 };

			memcpy(lk.addr, k.a.addr, 16);
			xdp_key_to_cidr(&lk, &c);
		}
		xdp_cidr_format(&c, buf, sizeof(buf));
		printf("%s %s%s\n", label, buf,
		       lpm && dyn >= 0 && bpf_map_lookup_elem(dyn, &k.l, &v) == 0 ? " dynamic" : "");
		prev = k;
		pk = &prev;
		n++;
	}
	close(fd);
	return n;
}

static int cmd_rules(const struct xdp_maps *m)
{
	struct xdp_rules *r = malloc(sizeof(*r));
	int gen = xdp_active_gen(m);
	__u32 g = (__u32)gen, i;

	if (!r || gen < 0 || bpf_map_lookup_elem(m->rules, &g, r) < 0) {
		fprintf(stderr, "xdp rules: reading the active rule set: %s\n", strerror(errno));
		free(r);
		return 1;
	}
	printf("%-20s %d\n", "generation", gen);
	printf("%-20s %s\n", "fragments", r->flags & XDP_RF_DROP_FRAGS ? "drop" : "pass");
	print_ports("service_ports", r, XDP_PORT_SVC);
	print_ports("management_ports", r, XDP_PORT_MGMT);
	print_ports("outbound_tcp_ports", r, XDP_PORT_OUT_TCP);
	print_ports("outbound_udp_ports", r, XDP_PORT_OUT_UDP);
	printf("%-20s %u-%u\n", "ephemeral", r->eph_lo, r->eph_hi);
	print_rate("syn_per_source", &r->syn_src);
	print_rate("syn_global", &r->syn_global);
	print_rate("icmp", &r->icmp);
	printf("%-20s", "steer_cpus");
	for (i = 0; r->flags & XDP_RF_STEER && i < r->steer_ncpus && i < XDP_STEER_MAX; i++)
		printf(" %u", r->steer_cpu[i]);
	printf("\n");
	if (r->flags & XDP_RF_SVC_ANY_ADDR)
		printf("service_address any\n");
	else
		print_inner(m->svc, g, false, -1, "service_address");
	print_inner(m->mgmt, g, true, -1, "management_cidr");
	printf("%-20s %zu\n", "blocklist_entries", print_inner(m->blk, g, true, m->dyn, "block"));
	free(r);
	return 0;
}

static int cmd_block(const struct xdp_maps *m, const char *arg, bool block)
{
	struct xdp_cidr c;
	char err[256];

	if (!arg) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (xdp_cidr_parse(arg, &c, err, sizeof(err)) < 0 ||
	    xdp_block(m, &c, block, err, sizeof(err)) < 0) {
		fprintf(stderr, "xdp %s: %s\n", block ? "block" : "unblock", err);
		return 1;
	}
	printf("%s %s\n", block ? "blocked" : "unblocked", arg);
	return 0;
}

static int cmd_attach(const char *config, const char *pin_dir)
{
	struct xdp_settings s;
	struct xdp_runtime *rt;
	json_error_t jerr;
	char err[512];
	json_t *root;
	int rc;

	root = json_load_file(config, 0, &jerr);
	if (!root) {
		fprintf(stderr, "xdp attach: %s:%d: %s\n", config, jerr.line, jerr.text);
		return 1;
	}
	rc = xdp_settings_parse(json_object_get(root, "xdp"), &s, err, sizeof(err));
	json_decref(root);
	if (rc < 0) {
		fprintf(stderr, "xdp attach: %s: %s\n", config, err);
		return 1;
	}
	if (pin_dir) {
		free(s.pin_dir);
		s.pin_dir = strdup(pin_dir);
	}
	rt = s.pin_dir ? xdp_runtime_start(&s, err, sizeof(err)) : NULL;
	xdp_settings_free(&s);
	if (!rt) {
		fprintf(stderr, "xdp attach: %s\n", err);
		return 1;
	}
	rc = xdp_runtime_active(rt) ? 0 : 1;
	if (rc)
		fprintf(stderr, "xdp attach: nothing attached (no interface or no privilege)\n");
	xdp_runtime_release(rt);
	return rc;
}

static int cmd_detach(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	int rc = 0, n = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "xdp detach: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		int fd;

		if (strncmp(e->d_name, XDP_PIN_LINK_PREFIX, strlen(XDP_PIN_LINK_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_link_detach(fd) < 0) {
			fprintf(stderr, "xdp detach: %s: %s\n", path, strerror(errno));
			rc = 1;
		} else {
			printf("detached %s\n", e->d_name + strlen(XDP_PIN_LINK_PREFIX));
			n++;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	closedir(d);
	for (size_t i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, xdp_map_pin_names[i]);
		unlink(path);
	}
	rmdir(dir);
	if (!n && !rc)
		printf("nothing attached\n");
	return rc;
}

int xdp_cli_main(int argc, char **argv)
{
	const char *pin_dir = NULL, *config = NULL, *cmd = NULL, *arg = NULL;
	struct xdp_maps m;
	char err[512];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pin-dir") == 0 && i + 1 < argc)
			pin_dir = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return fputs(usage, stdout), 0;
		else if (!cmd)
			cmd = argv[i];
		else if (!arg)
			arg = argv[i];
		else
			return fputs(usage, stderr), 2;
	}
	if (!cmd)
		return fputs(usage, stderr), 2;
	if (strcmp(cmd, "attach") == 0) {
		if (!config)
			return fputs(usage, stderr), 2;
		return cmd_attach(config, pin_dir);
	}
	if (!pin_dir)
		pin_dir = XDP_DEFAULT_PIN_DIR;
	if (strcmp(cmd, "detach") == 0)
		return cmd_detach(pin_dir);
	if (strcmp(cmd, "stats") && strcmp(cmd, "rules") && strcmp(cmd, "block") &&
	    strcmp(cmd, "unblock"))
		return fputs(usage, stderr), 2;
	if (xdp_maps_open_pinned(pin_dir, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "xdp %s: %s\n", cmd, err);
		return 1;
	}
	if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&m);
	else if (strcmp(cmd, "rules") == 0)
		rc = cmd_rules(&m);
	else
		rc = cmd_block(&m, arg, strcmp(cmd, "block") == 0);
	xdp_maps_close(&m);
	return rc;
}
