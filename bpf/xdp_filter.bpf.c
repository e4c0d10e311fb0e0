// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * edgetrack XDP filter: pass what the appliance serves (TCP service ports on the service
 * addresses, management ports from management CIDRs, ARP/ND, rate-limited ICMP, return
 * traffic of its own outbound connections), drop everything else, count every verdict.
 * Map layout and the rule-set generations: bpf/xdp_filter.h.
 *
 * Uses only helpers and map types available in Linux 6.1 (atomics need -mcpu=v3).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/xdp_filter.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ------------------------------------------------------------------ maps */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_ctl);
} xdp_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct xdp_rules);
} xdp_rules SEC(".maps");

/* Inner map templates give sizes, not BTF types: the key structs only live on the stack of
 * inlined functions, so clang emits no BTF definition for them. */
struct lpm_inner_blk {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_BLK_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct xdp_lpm_key));
	__uint(value_size, sizeof(__u32));
};

struct lpm_inner_mgmt {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_MGMT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct xdp_lpm_key));
	__uint(value_size, sizeof(__u32));
};

struct hash_inner_svc {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_SVC_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct xdp_addr));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDP_GENERATIONS);
	__type(key, __u32);
	__array(values, struct lpm_inner_blk);
} xdp_blk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDP_GENERATIONS);
	__type(key, __u32);
	__array(values, struct lpm_inner_mgmt);
} xdp_mgmt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDP_GENERATIONS);
	__type(key, __u32);
	__array(values, struct hash_inner_svc);
} xdp_svc SEC(".maps");

/* Buckets outlive rule-set swaps: a reload must not hand a flooding source a fresh burst. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDP_SYN_SRC_MAX);
	__type(key, struct xdp_src_key);
	__type(value, struct xdp_bucket);
} xdp_syn_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_BUCKETS);
	__type(key, __u32);
	__type(value, struct xdp_bucket);
} xdp_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_R_MAX);
	__type(key, __u32);
	__type(value, struct xdp_counter);
} xdp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, XDP_CPUMAP_MAX);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} xdp_cpumap SEC(".maps");

/* ------------------------------------------------------------------ parsing state */

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct pkt {
	void *end;
	const struct xdp_rules *rules;
	__u32 gen;
	__u32 steer_cpu;
	struct xdp_addr src, dst;
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* L4 protocol after IPv6 extension headers */
	__u8 frag;     /* a fragment of any kind */
	__u8 later_frag; /* a fragment other than the first: no L4 header */
	void *l4;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* ------------------------------------------------------------------ token buckets */

/*
 * Take one token. Lock-free and exact across CPUs: only the CPU that advances last_ns with
 * a compare-and-swap credits the elapsed time, so refills never double count; credit and
 * debit are atomic adds, so none is lost; a debit that finds no whole token is returned.
 */
/*
 * A port in host order, known to the verifier to be < 65536. Debian 12's 6.1 verifier loses
 * the bounds of a byte swap, and the port indexes the port-flags array; the mask in asm is
 * kept by the compiler and restores the bound.
 */
static __always_inline __u32 port_host(__u16 be)
{
	__u32 v = bpf_ntohs(be);

	asm volatile("%0 &= 0xffff" : "+r"(v));
	return v;
}

static __always_inline int bucket_take(struct xdp_bucket *b, const struct xdp_rate *r, __u64 now)
{
	__u64 last = b->last_ns;
	__s64 old;

	if (r->rate == 0)
		return 1;
	if (now > last && __sync_bool_compare_and_swap(&b->last_ns, last, now)) {
		__u64 elapsed = now - last;
		__s64 cap = (__s64)r->cap;
		__s64 add = elapsed >= r->fill_ns ? cap : (__s64)(elapsed * r->rate);
		__s64 t = __sync_add_and_fetch(&b->tokens, add);

		if (t > cap)
			__sync_fetch_and_add(&b->tokens, cap - t);
	}
	old = __sync_fetch_and_add(&b->tokens, -(__s64)XDP_TOKEN_ONE);
	if (old >= (__s64)XDP_TOKEN_ONE)
		return 1;
	__sync_fetch_and_add(&b->tokens, (__s64)XDP_TOKEN_ONE);
	return 0;
}

static __always_inline int global_take(__u32 which, const struct xdp_rate *r, __u64 now)
{
	struct xdp_bucket *b;

	if (r->rate == 0)
		return 1;
	b = bpf_map_lookup_elem(&xdp_buckets, &which);
	return b ? bucket_take(b, r, now) : 1;
}

static __always_inline int source_take(const struct pkt *p, __u64 now)
{
	const struct xdp_rate *r = &p->rules->syn_src;
	struct xdp_src_key key = {};
	struct xdp_bucket zero = {}, *b;

	if (r->rate == 0)
		return 1;
	key.family = p->family;
	if (p->family == 4)
		__builtin_memcpy(key.prefix, &p->src.addr[12], 4);
	else
		__builtin_memcpy(key.prefix, p->src.addr, 8);
	b = bpf_map_lookup_elem(&xdp_syn_src, &key);
	if (!b) {
		/* A new source starts with a full bucket (last_ns 0 refills it). */
		bpf_map_update_elem(&xdp_syn_src, &key, &zero, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&xdp_syn_src, &key);
		if (!b)
			return 1;
	}
	return bucket_take(b, r, now);
}

/* ------------------------------------------------------------------ rule lookups */

static __always_inline int lpm_match(void *outer, const struct pkt *p, const struct xdp_addr *a)
{
	struct xdp_lpm_key key;
	__u32 gen = p->gen;
	void *inner = bpf_map_lookup_elem(outer, &gen);

	if (!inner)
		return 0;
	key.prefixlen = 128;
	__builtin_memcpy(key.addr, a->addr, 16);
	return bpf_map_lookup_elem(inner, &key) != 0;
}

static __always_inline int is_service_addr(const struct pkt *p)
{
	__u32 gen = p->gen;
	void *inner;

	const struct xdp_rules *r = p->rules;
	int i;

	if (r->flags & XDP_RF_SVC_ANY_ADDR)
		return 1;
	if (r->flags & XDP_RF_SVC_INLINE) {
		__u64 d0 = *(const __u64 *)&p->dst.addr[0], d1 = *(const __u64 *)&p->dst.addr[8];

#pragma unroll
		for (i = 0; i < XDP_SVC_INLINE; i++)
			if ((__u32)i < r->svc_n && r->svc_addr[i][0] == d0 && r->svc_addr[i][1] == d1)
				return 1;
		return 0;
	}
	inner = bpf_map_lookup_elem(&xdp_svc, &gen);
	return inner && bpf_map_lookup_elem(inner, &p->dst) != 0;
}

static __always_inline int in_ephemeral(const struct xdp_rules *r, __u16 port)
{
	return port >= r->eph_lo && port <= r->eph_hi;
}

/* ------------------------------------------------------------------ L4 */

static __always_inline __u32 flow_hash(const struct pkt *p, __u32 ports)
{
	__u32 h = ports;
	int i;

#pragma unroll
	for (i = 0; i < 16; i += 4)
		h = (h ^ *(const __u32 *)&p->src.addr[i] ^ *(const __u32 *)&p->dst.addr[i]) * 0x9e3779b1;
	return h ^ (h >> 16);
}

static __always_inline int service_verdict(struct pkt *p, __u8 flags, __u32 ports)
{
	const struct xdp_rules *r = p->rules;

	if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		__u64 now = bpf_ktime_get_ns();

		/* Per source first: a flooding source spends its own budget, not the global one. */
		if (!source_take(p, now))
			return XDP_R_DROP_SYN_SOURCE;
		if (!global_take(XDP_BUCKET_SYN, &r->syn_global, now))
			return XDP_R_DROP_SYN_GLOBAL;
	}
	if ((r->flags & XDP_RF_STEER) && r->steer_ncpus) {
		__u32 n = r->steer_ncpus;
		__u32 i = flow_hash(p, ports) % (n < XDP_STEER_MAX ? n : XDP_STEER_MAX);

		/* The verifier does not bound a modulo; keep the check clang would prove away. */
		barrier_var(i);
		if (i < XDP_STEER_MAX) {
			p->steer_cpu = r->steer_cpu[i];
			return XDP_R_STEER_SERVICE;
		}
	}
	return XDP_R_PASS_SERVICE;
}

static __always_inline int tcp_verdict(struct pkt *p)
{
	const struct xdp_rules *r = p->rules;
	struct tcphdr *th = p->l4;
	__u16 sport, dport;
	__u8 flags, pf;

	if ((void *)(th + 1) > p->end)
		return XDP_R_DROP_TRUNCATED;
	if (th->doff < 5 || (void *)th + th->doff * 4 > p->end)
		return XDP_R_DROP_BAD_TCP_DOFF;
	flags = ((__u8 *)th)[13];
	if ((flags & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN) ||
	    (flags & (TCP_SYN | TCP_RST)) == (TCP_SYN | TCP_RST) ||
	    (flags & 0x3f) == 0 ||
	    (flags & (TCP_FIN | TCP_PSH | TCP_URG)) == (TCP_FIN | TCP_PSH | TCP_URG))
		return XDP_R_DROP_BAD_TCP_FLAGS;
	sport = port_host(th->source);
	dport = port_host(th->dest);
	pf = r->ports[dport];
	if (pf & XDP_PORT_MGMT) {
		if (lpm_match(&xdp_mgmt, p, &p->src))
			return XDP_R_PASS_MGMT;
		return XDP_R_DROP_MGMT_SOURCE;
	}
	if (pf & XDP_PORT_SVC) {
		if (p->frag && (r->flags & XDP_RF_DROP_FRAGS))
			return XDP_R_DROP_FRAGMENT;
		if (is_service_addr(p))
			return service_verdict(p, flags, ((__u32)sport << 16) | dport);
	}
	if ((r->ports[sport] & XDP_PORT_OUT_TCP) && in_ephemeral(r, dport) &&
	    (flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return XDP_R_PASS_RETURN;
	return XDP_R_DROP_POLICY;
}

static __always_inline int udp_verdict(struct pkt *p)
{
	const struct xdp_rules *r = p->rules;
	struct udphdr *uh = p->l4;
	__u16 sport, dport;

	if ((void *)(uh + 1) > p->end)
		return XDP_R_DROP_TRUNCATED;
	sport = port_host(uh->source);
	dport = port_host(uh->dest);
	/* DHCP answers from 67 to the client's fixed 68, so lease renewals need no special
	 * rule beyond listing 67 among the outbound UDP ports */
	if ((r->ports[sport] & XDP_PORT_OUT_UDP) &&
	    (in_ephemeral(r, dport) || dport == sport || (sport == 67 && dport == 68)))
		return XDP_R_PASS_RETURN;
	return XDP_R_DROP_POLICY;
}

static __always_inline int icmp_limited(struct pkt *p)
{
	if (global_take(XDP_BUCKET_ICMP, &p->rules->icmp, bpf_ktime_get_ns()))
		return XDP_R_PASS_ICMP;
	return XDP_R_DROP_ICMP_RATE;
}

static __always_inline int icmp_verdict(struct pkt *p)
{
	__u8 *h = p->l4;

	if ((void *)(h + 4) > p->end)
		return XDP_R_DROP_TRUNCATED;
	switch (h[0]) {
	case 0:  /* echo reply */
	case 3:  /* destination unreachable (PMTU) */
	case 8:  /* echo request */
	case 11: /* time exceeded */
	case 12: /* parameter problem */
		return icmp_limited(p);
	}
	return XDP_R_DROP_POLICY;
}

static __always_inline int icmp6_verdict(struct pkt *p)
{
	__u8 *h = p->l4;
	__u8 type;

	if ((void *)(h + 4) > p->end)
		return XDP_R_DROP_TRUNCATED;
	type = h[0];
	/* Neighbour discovery and MLD are never rate limited: losing them loses the link. */
	if ((type >= 130 && type <= 137) || type == 143)
		return XDP_R_PASS_ND;
	if ((type >= 1 && type <= 4) || type == 128 || type == 129)
		return icmp_limited(p);
	return XDP_R_DROP_POLICY;
}

static __always_inline int l4_verdict(struct pkt *p)
{
	if (p->later_frag)
		return (p->rules->flags & XDP_RF_DROP_FRAGS) ? XDP_R_DROP_FRAGMENT : XDP_R_PASS_FRAGMENT;
	if (p->frag && (p->rules->flags & XDP_RF_DROP_FRAGS))
		return XDP_R_DROP_FRAGMENT;
	switch (p->proto) {
	case IPPROTO_TCP:
		return tcp_verdict(p);
	case IPPROTO_UDP:
		return udp_verdict(p);
	case IPPROTO_ICMP:
		return p->family == 4 ? icmp_verdict(p) : XDP_R_DROP_POLICY;
	case IPPROTO_ICMPV6:
		return p->family == 6 ? icmp6_verdict(p) : XDP_R_DROP_POLICY;
	}
	return XDP_R_DROP_POLICY;
}

/* ------------------------------------------------------------------ L3 */

static __always_inline int parse_ipv4(struct pkt *p, void *l3)
{
	struct iphdr *ip = l3;
	__u32 *w;
	__u16 frag;

	if ((void *)(ip + 1) > p->end)
		return XDP_R_DROP_TRUNCATED;
	if (ip->version != 4)
		return XDP_R_DROP_BAD_IP;
	if (ip->ihl < 5)
		return XDP_R_DROP_BAD_IHL;
	if (l3 + ip->ihl * 4 > p->end)
		return XDP_R_DROP_TRUNCATED;
	if (bpf_ntohs(ip->tot_len) < ip->ihl * 4)
		return XDP_R_DROP_BAD_IP;
	p->family = 4;
	p->proto = ip->protocol;
	w = (__u32 *)p->src.addr;
	w[0] = 0, w[1] = 0, w[2] = bpf_htonl(0xffff), w[3] = ip->saddr;
	w = (__u32 *)p->dst.addr;
	w[0] = 0, w[1] = 0, w[2] = bpf_htonl(0xffff), w[3] = ip->daddr;
	frag = bpf_ntohs(ip->frag_off);
	p->frag = (frag & 0x3fff) != 0;      /* MF or an offset */
	p->later_frag = (frag & 0x1fff) != 0; /* an offset */
	p->l4 = l3 + ip->ihl * 4;
	return -1;
}

#define IPV6_EXT_MAX 6

struct ipv6_opt_hdr_min {
	__u8 nexthdr;
	__u8 hdrlen;
};

static __always_inline int parse_ipv6(struct pkt *p, void *l3)
{
	struct ipv6hdr *ip6 = l3;
	void *cur = ip6 + 1;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > p->end)
		return XDP_R_DROP_TRUNCATED;
	if (ip6->version != 6)
		return XDP_R_DROP_BAD_IP;
	p->family = 6;
	__builtin_memcpy(p->src.addr, &ip6->saddr, 16);
	__builtin_memcpy(p->dst.addr, &ip6->daddr, 16);
	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr_min *eh = cur;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_MH:
			if ((void *)(eh + 1) > p->end)
				return XDP_R_DROP_TRUNCATED;
			next = eh->nexthdr;
			cur += (eh->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(eh + 1) > p->end)
				return XDP_R_DROP_TRUNCATED;
			next = eh->nexthdr;
			cur += (eh->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			__u8 *f = cur;
			__u16 off;

			if ((void *)(f + 8) > p->end)
				return XDP_R_DROP_TRUNCATED;
			next = f[0];
			off = ((__u16)f[2] << 8) | f[3];
			p->frag = 1;
			cur += 8;
			if (off & 0xfff8) {
				/* What follows is payload, not headers. */
				p->later_frag = 1;
				p->proto = next;
				p->l4 = cur;
				return -1;
			}
			break;
		}
		default:
			p->proto = next;
			p->l4 = cur;
			return -1;
		}
	}
	return XDP_R_DROP_BAD_IP; /* longer extension chain than any legitimate packet needs */
}

/* ------------------------------------------------------------------ L2 and main */

static __always_inline int classify(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u32 zero = 0;
	struct xdp_ctl *c;
	__be16 proto;
	int i, r;

	p->end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > p->end)
		return XDP_R_DROP_TRUNCATED;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > p->end)
			return XDP_R_DROP_TRUNCATED;
		proto = vh->proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return XDP_R_DROP_BAD_L2;
	if (proto == bpf_htons(ETH_P_ARP))
		return XDP_R_PASS_ARP;

	c = bpf_map_lookup_elem(&xdp_ctl, &zero);
	if (!c)
		return XDP_R_PASS_NO_RULES;
	p->gen = c->gen;
	p->rules = bpf_map_lookup_elem(&xdp_rules, &p->gen);
	if (!p->rules)
		return XDP_R_PASS_NO_RULES;

	if (proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(p, cur);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(p, cur);
	else
		return XDP_R_DROP_ETHERTYPE;
	if (r >= 0)
		return r;
	if (lpm_match(&xdp_blk, p, &p->src))
		return XDP_R_DROP_BLOCKLIST;
	return l4_verdict(p);
}

SEC("xdp")
int xdp_edgetrack(struct xdp_md *ctx)
{
	struct pkt p = {};
	__u32 reason = classify(ctx, &p);
	struct xdp_counter *cnt = bpf_map_lookup_elem(&xdp_counters, &reason);

	if (cnt) {
		cnt->packets++;
		cnt->bytes += ctx->data_end - ctx->data;
	}
	if (reason == XDP_R_STEER_SERVICE)
		return bpf_redirect_map(&xdp_cpumap, p.steer_cpu, XDP_PASS);
	return reason < XDP_R_STEER_SERVICE ? XDP_PASS : XDP_DROP;
}
