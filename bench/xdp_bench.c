// SPDX-License-Identifier: MIT
/*
 * ns per packet through BPF_PROG_TEST_RUN for the edgetrack XDP filter and xdp-tools'
 * xdp-filter, on the same packets, in one run:
 *   pass: TCP ACK from 198.18.0.7:40000 to 192.0.2.1:80
 *   drop: the same from 203.0.113.9, a blocked source
 * edgetrack: service 192.0.2.1 ports 80/443, blocklist 203.0.113.0/24 + 2001:db8:bad::/48,
 * management port 22 from 198.51.100.0/24, per-source and global SYN buckets.
 * xdp-filter (allow policy, all features: its closest equivalent): source 203.0.113.9 and
 * TCP destination port 22 denied. It matches exact addresses only, no CIDRs, no rates.
 *   xdp_bench XDP_FILTER_OBJECT [REPEAT [RULES_JSON]]
 * Prints "BENCH xdp_pass_ns <ours> <xdp-filter> <ratio>" and the same for xdp_drop_ns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bpf/xdp_filter.skel.h"
#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"

#define ROUNDS 5

/* xdp-filter's map value flags (xdp-tools common_kern_user.h). */
#define XF_SRC 1
#define XF_DST 2
#define XF_TCP 4

static const char rules[] =
	"{\"service\": {\"addresses\": [\"192.0.2.1\"], \"ports\": [80, 443]},"
	" \"management\": {\"ports\": [22], \"cidrs\": [\"198.51.100.0/24\"]},"
	" \"blocklist\": [\"203.0.113.0/24\", \"2001:db8:bad::/48\"],"
	" \"syn\": {\"per_source\": 100, \"burst\": 200, \"global\": 50000}}";

static size_t build(uint8_t *b, const char *src)
{
	memset(b, 0, 54);
	memset(b, 0x02, 12);
	b[12] = 0x08;
	b[14] = 0x45;
	b[16] = 0, b[17] = 40;
	b[22] = 64;
	b[23] = 6;
	inet_pton(AF_INET, src, b + 26);
	inet_pton(AF_INET, "192.0.2.1", b + 30);
	b[34] = 40000 >> 8, b[35] = 40000 & 0xff;
	b[36] = 0, b[37] = 80;
	b[46] = 5 << 4;
	b[47] = 0x10; /* ACK */
	return 54;
}

/* Best of ROUNDS runs of `repeat` packets: ns per packet. */
static int measure(int prog, const uint8_t *pkt, size_t n, unsigned repeat, int want,
		   unsigned *best)
{
	int i;

	*best = ~0u;
	for (i = 0; i < ROUNDS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)n,
			    .repeat = repeat);
		if (bpf_prog_test_run_opts(prog, &o) < 0) {
			fprintf(stderr, "xdp_bench: test run: %s\n", strerror(errno));
			return -1;
		}
		if ((int)o.retval != want) {
			fprintf(stderr, "xdp_bench: verdict %u, want %d\n", o.retval, want);
			return -1;
		}
		if (o.duration < *best)
			*best = o.duration;
	}
	return 0;
}

static int load_ours(struct xdp_filter **skel, struct xdp_maps *m, const char *json)
{
	struct xdp_settings s;
	json_error_t jerr;
	char err[256];
	json_t *o;
	int rc;

	*skel = xdp_filter__open_and_load();
	if (!*skel) {
		fprintf(stderr, "xdp_bench: loading edgetrack filter: %s\n", strerror(errno));
		return -1;
	}
	xdp_maps_from_obj((*skel)->obj, m);
	m->dyn = xdp_dyn_create();
	o = json_loads(json, 0, &jerr);
	rc = o ? xdp_settings_parse(o, &s, err, sizeof(err)) : -1;
	json_decref(o);
	if (rc == 0) {
		rc = xdp_rules_install(m, &s, err, sizeof(err));
		xdp_settings_free(&s);
	}
	if (rc < 0)
		fprintf(stderr, "xdp_bench: rules: %s\n", err);
	return rc;
}

static int percpu_set(int fd, const void *key, __u64 v)
{
	int n = libbpf_num_possible_cpus(), i, rc;
	__u64 *vals = calloc((size_t)n, sizeof(*vals));

	if (!vals)
		return -1;
	for (i = 0; i < n; i++)
		vals[i] = v;
	rc = bpf_map_update_elem(fd, key, vals, BPF_ANY);
	free(vals);
	return rc;
}

/* xdp-filter's object, loaded directly (no libxdp dispatcher), maps unpinned. */
static struct bpf_object *load_theirs(const char *path, int *prog)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p;
	struct bpf_map *map;
	__u32 key;
	int fd4, fdp;

	if (!obj) {
		fprintf(stderr, "xdp_bench: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	if (bpf_object__load(obj) < 0) {
		fprintf(stderr, "xdp_bench: loading %s: %s\n", path, strerror(errno));
		bpf_object__close(obj);
		return NULL;
	}
	p = bpf_object__next_program(obj, NULL);
	fd4 = bpf_object__find_map_fd_by_name(obj, "filter_ipv4");
	fdp = bpf_object__find_map_fd_by_name(obj, "filter_ports");
	if (!p || fd4 < 0 || fdp < 0) {
		fprintf(stderr, "xdp_bench: %s: not an xdp-filter object\n", path);
		bpf_object__close(obj);
		return NULL;
	}
	*prog = bpf_program__fd(p);
	inet_pton(AF_INET, "203.0.113.9", &key);
	if (percpu_set(fd4, &key, XF_SRC) < 0)
		goto fail;
	key = htons(22);
	if (percpu_set(fdp, &key, XF_DST | XF_TCP) < 0)
		goto fail;
	return obj;
fail:
	fprintf(stderr, "xdp_bench: filling xdp-filter maps: %s\n", strerror(errno));
	bpf_object__close(obj);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned repeat = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000000;
	unsigned ours_pass, ours_drop, theirs_pass, theirs_drop;
	uint8_t pass[64], drop[64];
	struct xdp_filter *skel = NULL;
	struct bpf_object *theirs;
	struct xdp_maps m;
	size_t n;
	int prog2, rc = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: xdp_bench XDP_FILTER_OBJECT [REPEAT]\n");
		return 2;
	}
	xdp_maps_init(&m);
	n = build(pass, "198.18.0.7");
	build(drop, "203.0.113.9");
	if (load_ours(&skel, &m, argc > 3 ? argv[3] : rules) < 0)
		goto out;
	theirs = load_theirs(argv[1], &prog2);
	if (!theirs)
		goto out;
	if (measure(bpf_program__fd(skel->progs.xdp_edgetrack), pass, n, repeat, XDP_PASS, &ours_pass) ||
	    measure(prog2, pass, n, repeat, XDP_PASS, &theirs_pass) ||
	    measure(bpf_program__fd(skel->progs.xdp_edgetrack), drop, n, repeat, XDP_DROP, &ours_drop) ||
	    measure(prog2, drop, n, repeat, XDP_DROP, &theirs_drop)) {
		bpf_object__close(theirs);
		goto out;
	}
	printf("BENCH xdp_pass_ns %u %u %.2f\n", ours_pass, theirs_pass,
	       theirs_pass ? (double)ours_pass / theirs_pass : 0.0);
	printf("BENCH xdp_drop_ns %u %u %.2f\n", ours_drop, theirs_drop,
	       theirs_drop ? (double)ours_drop / theirs_drop : 0.0);
	bpf_object__close(theirs);
	rc = 0;
out:
	if (m.dyn >= 0)
		close(m.dyn);
	xdp_filter__destroy(skel);
	return rc;
}
