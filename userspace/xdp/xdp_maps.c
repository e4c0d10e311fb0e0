// SPDX-License-Identifier: MIT
/* Rule-set installation by generations, dynamic blocks, counters, CIDR text. */
#include "xdp/xdp_maps.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *const xdp_map_pin_names[10] = {
	"xdp_ctl", "xdp_rules", "xdp_blk", "xdp_mgmt", "xdp_svc", "xdp_syn_src",
	"xdp_buckets", "xdp_counters", "xdp_cpumap", "xdp_blk_dyn",
};

int *xdp_maps_slot(struct xdp_maps *m, size_t i)
{
	int *slots[] = { &m->ctl, &m->rules, &m->blk, &m->mgmt, &m->svc, &m->syn_src,
			 &m->buckets, &m->counters, &m->cpumap, &m->dyn };

	return i < sizeof(slots) / sizeof(slots[0]) ? slots[i] : NULL;
}

void xdp_maps_init(struct xdp_maps *m)
{
	size_t i;

	for (i = 0; xdp_maps_slot(m, i); i++)
		*xdp_maps_slot(m, i) = -1;
}

void xdp_maps_from_obj(struct bpf_object *obj, struct xdp_maps *m)
{
	size_t i;

	xdp_maps_init(m);
	for (i = 0; i < 9; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, xdp_map_pin_names[i]);

		*xdp_maps_slot(m, i) = map ? bpf_map__fd(map) : -1;
	}
}

void xdp_maps_close(struct xdp_maps *m)
{
	size_t i;

	for (i = 0; xdp_maps_slot(m, i); i++) {
		int *fd = xdp_maps_slot(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

int xdp_maps_open_pinned(const char *dir, struct xdp_maps *m, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i;

	xdp_maps_init(m);
	for (i = 0; xdp_maps_slot(m, i); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, xdp_map_pin_names[i]);
		*xdp_maps_slot(m, i) = bpf_obj_get(path);
		if (*xdp_maps_slot(m, i) < 0) {
			int e = errno;

			xdp_maps_close(m);
			return err_set(err, errlen, "%s: %s (is the XDP filter running?)", path, strerror(e));
		}
	}
	return 0;
}

int xdp_dyn_create(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, "xdp_blk_dyn", sizeof(struct xdp_lpm_key),
			      sizeof(__u32), 65536, &o);
}

/* ------------------------------------------------------------------ CIDR text */

int xdp_cidr_parse(const char *s, struct xdp_cidr *out, char *err, size_t errlen)
{
	char buf[64], *slash, *end;
	struct xdp_cidr c = { 0 };
	unsigned max, i;
	long n;

	if (!s || strlen(s) >= sizeof(buf))
		return err_set(err, errlen, "bad CIDR");
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1)
		c.family = 4;
	else if (inet_pton(AF_INET6, buf, c.addr) == 1)
		c.family = 6;
	else
		return err_set(err, errlen, "bad CIDR \"%s\": not an address", s);
	max = c.family == 4 ? 32 : 128;
	c.prefixlen = (uint8_t)max;
	if (slash) {
		errno = 0;
		n = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || n < 0 || n > (long)max)
			return err_set(err, errlen, "bad CIDR \"%s\": prefix length", s);
		c.prefixlen = (uint8_t)n;
	}
	for (i = c.prefixlen; i < max; i++)
		if (c.addr[i / 8] & (0x80 >> (i % 8)))
			return err_set(err, errlen, "bad CIDR \"%s\": host bits set", s);
	*out = c;
	return 0;
}

void xdp_cidr_format(const struct xdp_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefixlen);
}

void xdp_cidr_to_key(const struct xdp_cidr *c, struct xdp_lpm_key *k)
{
	memset(k, 0, sizeof(*k));
	if (c->family == 4) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(&k->addr[12], c->addr, 4);
		k->prefixlen = 96u + c->prefixlen;
	} else {
		memcpy(k->addr, c->addr, 16);
		k->prefixlen = c->prefixlen;
	}
}

void xdp_key_to_cidr(const struct xdp_lpm_key *k, struct xdp_cidr *c)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(c, 0, sizeof(*c));
	if (k->prefixlen >= 96 && memcmp(k->addr, mapped, 12) == 0) {
		c->family = 4;
		memcpy(c->addr, &k->addr[12], 4);
		c->prefixlen = (uint8_t)(k->prefixlen - 96);
	} else {
		c->family = 6;
		memcpy(c->addr, k->addr, 16);
		c->prefixlen = (uint8_t)k->prefixlen;
	}
}

static void addr_key(const struct xdp_cidr *c, struct xdp_addr *a)
{
	struct xdp_lpm_key k;

	xdp_cidr_to_key(c, &k);
	memcpy(a->addr, k.addr, 16);
}

const char *xdp_reason_name(unsigned reason)
{
#define XDP_REASON_NAME(name, label) label,
	static const char *const names[] = { XDP_REASONS(XDP_REASON_NAME) };
#undef XDP_REASON_NAME
	return reason < XDP_R_MAX ? names[reason] : "unknown";
}

/* ------------------------------------------------------------------ rule sets */

static void fill_rate(struct xdp_rate *r, const struct xdp_rate_cfg *c)
{
	memset(r, 0, sizeof(*r));
	if (!c->rate)
		return;
	r->rate = c->rate;
	r->cap = (uint64_t)c->burst * XDP_TOKEN_ONE;
	r->fill_ns = (r->cap + r->rate - 1) / r->rate;
}

static void mark_ports(struct xdp_rules *r, const struct xdp_port_list *l, uint8_t bit)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		r->ports[l->v[i]] |= bit;
}

static void build_rules(struct xdp_rules *r, const struct xdp_settings *s)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	if (s->service_addrs.n == 0)
		r->flags |= XDP_RF_SVC_ANY_ADDR;
	if (s->service_addrs.n && s->service_addrs.n <= XDP_SVC_INLINE) {
		r->flags |= XDP_RF_SVC_INLINE;
		r->svc_n = (uint32_t)s->service_addrs.n;
		for (i = 0; i < s->service_addrs.n; i++) {
			struct xdp_addr a;

			addr_key(&s->service_addrs.v[i], &a);
			memcpy(r->svc_addr[i], a.addr, 16);
		}
	}
	if (s->fragments == XDP_FRAGS_DROP)
		r->flags |= XDP_RF_DROP_FRAGS;
	if (s->n_steer_cpus) {
		r->flags |= XDP_RF_STEER;
		r->steer_ncpus = (uint32_t)s->n_steer_cpus;
		for (i = 0; i < s->n_steer_cpus && i < XDP_STEER_MAX; i++)
			r->steer_cpu[i] = s->steer_cpus[i];
	}
	r->eph_lo = s->eph_lo;
	r->eph_hi = s->eph_hi;
	fill_rate(&r->syn_src, &s->syn_source);
	fill_rate(&r->syn_global, &s->syn_global);
	fill_rate(&r->icmp, &s->icmp);
	mark_ports(r, &s->service_ports, XDP_PORT_SVC);
	mark_ports(r, &s->mgmt_ports, XDP_PORT_MGMT);
	mark_ports(r, &s->out_tcp_ports, XDP_PORT_OUT_TCP);
	mark_ports(r, &s->out_udp_ports, XDP_PORT_OUT_UDP);
}

static int lpm_create(const char *name, uint32_t max)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, sizeof(struct xdp_lpm_key),
			      sizeof(__u32), max, &o);
}

static int fill_lpm(int fd, const struct xdp_cidr_list *l)
{
	__u32 one = 1;
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct xdp_lpm_key k;

		xdp_cidr_to_key(&l->v[i], &k);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) < 0)
			return -1;
	}
	return 0;
}

/* Copy the dynamic blocks into a blocklist trie. */
static int copy_dyn(int dyn, int blk)
{
	struct xdp_lpm_key k, next;
	__u32 one = 1;
	void *prev = NULL;

	if (dyn < 0)
		return 0;
	while (bpf_map_get_next_key(dyn, prev, &next) == 0) {
		if (bpf_map_update_elem(blk, &next, &one, BPF_ANY) < 0)
			return -1;
		k = next;
		prev = &k;
	}
	return 0;
}

struct inner_set {
	int blk, mgmt, svc;
};

static void inner_close(struct inner_set *in)
{
	if (in->blk >= 0)
		close(in->blk);
	if (in->mgmt >= 0)
		close(in->mgmt);
	if (in->svc >= 0)
		close(in->svc);
}

static int inner_build(const struct xdp_maps *m, const struct xdp_settings *s,
		       struct inner_set *in, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	__u32 one = 1;
	size_t i;

	in->blk = lpm_create("xdp_blk_in", XDP_BLK_MAX);
	in->mgmt = lpm_create("xdp_mgmt_in", XDP_MGMT_MAX);
	in->svc = bpf_map_create(BPF_MAP_TYPE_HASH, "xdp_svc_in", sizeof(struct xdp_addr),
				 sizeof(__u32), XDP_SVC_MAX, &o);
	if (in->blk < 0 || in->mgmt < 0 || in->svc < 0)
		return err_set(err, errlen, "xdp: creating rule maps: %s", strerror(errno));
	if (fill_lpm(in->blk, &s->blocklist) < 0 || copy_dyn(m->dyn, in->blk) < 0)
		return err_set(err, errlen, "xdp: filling blocklist: %s", strerror(errno));
	if (fill_lpm(in->mgmt, &s->mgmt_cidrs) < 0)
		return err_set(err, errlen, "xdp: filling management CIDRs: %s", strerror(errno));
	for (i = 0; i < s->service_addrs.n; i++) {
		struct xdp_addr a;

		addr_key(&s->service_addrs.v[i], &a);
		if (bpf_map_update_elem(in->svc, &a, &one, BPF_ANY) < 0)
			return err_set(err, errlen, "xdp: filling service addresses: %s", strerror(errno));
	}
	return 0;
}

static int steer_setup(const struct xdp_maps *m, const struct xdp_settings *s, char *err,
		       size_t errlen)
{
	struct bpf_cpumap_val v = { .qsize = s->steer_queue_size };
	size_t i;

	for (i = 0; i < s->n_steer_cpus; i++) {
		__u32 cpu = s->steer_cpus[i];

		if (bpf_map_update_elem(m->cpumap, &cpu, &v, BPF_ANY) < 0)
			return err_set(err, errlen, "xdp.steer.cpus[%zu]: cpu %u: %s", i, cpu,
				    strerror(errno));
	}
	return 0;
}

int xdp_active_gen(const struct xdp_maps *m)
{
	struct xdp_ctl c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->ctl, &zero, &c) < 0 || c.gen >= XDP_GENERATIONS)
		return -1;
	return (int)c.gen;
}

int xdp_rules_install(const struct xdp_maps *m, const struct xdp_settings *s, char *err, size_t errlen)
{
	struct inner_set in = { -1, -1, -1 };
	struct xdp_rules *r;
	struct xdp_ctl c = { 0 };
	__u32 zero = 0, next;
	int cur = xdp_active_gen(m), rc = -1;

	if (cur < 0)
		return err_set(err, errlen, "xdp: cannot read the active generation: %s", strerror(errno));
	next = (__u32)(cur + 1) % XDP_GENERATIONS;
	r = malloc(sizeof(*r));
	if (!r)
		return err_set(err, errlen, "xdp: out of memory");
	build_rules(r, s);
	if (inner_build(m, s, &in, err, errlen) < 0 || steer_setup(m, s, err, errlen) < 0)
		goto out;
	/* Everything of the idle slot first; the datapath does not look at it yet. */
	if (bpf_map_update_elem(m->rules, &next, r, BPF_ANY) < 0 ||
	    bpf_map_update_elem(m->blk, &next, &in.blk, BPF_ANY) < 0 ||
	    bpf_map_update_elem(m->mgmt, &next, &in.mgmt, BPF_ANY) < 0 ||
	    bpf_map_update_elem(m->svc, &next, &in.svc, BPF_ANY) < 0) {
		err_set(err, errlen, "xdp: installing rule set: %s", strerror(errno));
		goto out;
	}
	/* The switch: generation values 0 and 1 differ in one byte, so even a byte-wise copy
	 * of the value is seen as either the old or the new one. */
	c.gen = next;
	if (bpf_map_update_elem(m->ctl, &zero, &c, BPF_ANY) < 0) {
		err_set(err, errlen, "xdp: switching generation: %s", strerror(errno));
		goto out;
	}
	/* A `block` that raced with this install wrote to the old slot; carry it over. */
	if (copy_dyn(m->dyn, in.blk) < 0) {
		err_set(err, errlen, "xdp: carrying dynamic blocks: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	inner_close(&in);
	free(r);
	return rc;
}

/* ------------------------------------------------------------------ dynamic blocks */

static int blk_inner_fd(const struct xdp_maps *m, __u32 gen)
{
	__u32 id;

	if (bpf_map_lookup_elem(m->blk, &gen, &id) < 0)
		return -1;
	return bpf_map_get_fd_by_id(id);
}

int xdp_block(const struct xdp_maps *m, const struct xdp_cidr *c, bool block, char *err, size_t errlen)
{
	struct xdp_lpm_key k;
	__u32 one = 1, gen;
	int active = xdp_active_gen(m);

	if (active < 0)
		return err_set(err, errlen, "xdp: no active rule set");
	xdp_cidr_to_key(c, &k);
	if (block && bpf_map_update_elem(m->dyn, &k, &one, BPF_ANY) < 0)
		return err_set(err, errlen, "xdp: recording block: %s", strerror(errno));
	if (!block && bpf_map_delete_elem(m->dyn, &k) < 0 && errno != ENOENT)
		return err_set(err, errlen, "xdp: removing block: %s", strerror(errno));
	/* Both slots: the idle one may become active again through a racing install. */
	for (gen = 0; gen < XDP_GENERATIONS; gen++) {
		int fd = blk_inner_fd(m, gen), rc;

		if (fd < 0) {
			if ((int)gen == active)
				return err_set(err, errlen, "xdp: active blocklist: %s", strerror(errno));
			continue;
		}
		rc = block ? bpf_map_update_elem(fd, &k, &one, BPF_ANY) : bpf_map_delete_elem(fd, &k);
		if (rc < 0 && (block || errno != ENOENT) && (int)gen == active) {
			err_set(err, errlen, "xdp: updating blocklist: %s", strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

int xdp_counters_read(const struct xdp_maps *m, struct xdp_counter out[XDP_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct xdp_counter *pc;
	__u32 i;
	int c;

	if (ncpu <= 0)
		return -1;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -1;
	memset(out, 0, sizeof(*out) * XDP_R_MAX);
	for (i = 0; i < XDP_R_MAX; i++) {
		if (bpf_map_lookup_elem(m->counters, &i, pc) < 0) {
			free(pc);
			return -1;
		}
		for (c = 0; c < ncpu; c++) {
			out[i].packets += pc[c].packets;
			out[i].bytes += pc[c].bytes;
		}
	}
	free(pc);
	return 0;
}
