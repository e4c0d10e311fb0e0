// SPDX-License-Identifier: MIT
/*
 * The XDP program under BPF_PROG_TEST_RUN: crafted packets for every verdict and reason,
 * IPv4 and IPv6, VLAN tags, truncation at every header boundary, token buckets, and
 * rule-set swaps under traffic. Needs CAP_BPF (root); skipped without it.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bpf/xdp_filter.skel.h"
#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"

/* ------------------------------------------------------------------ fixture */

struct fx {
	struct xdp_filter *skel;
	struct xdp_maps m;
	int prog;
};

static int no_privilege;

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->skel = xdp_filter__open();
	if (!f->skel)
		return -1;
	if (xdp_filter__load(f->skel) < 0) {
		/* Without CAP_BPF the verifier cannot be asked anything: skip, do not pass. */
		xdp_filter__destroy(f->skel);
		free(f);
		no_privilege = 1;
		*state = NULL;
		return 0;
	}
	xdp_maps_from_obj(f->skel->obj, &f->m);
	f->m.dyn = xdp_dyn_create();
	f->prog = bpf_program__fd(f->skel->progs.xdp_edgetrack);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	if (f->m.dyn >= 0)
		close(f->m.dyn);
	xdp_filter__destroy(f->skel);
	free(f);
	return 0;
}

#define FX()                                    \
	struct fx *f = *state;                  \
	if (!f) {                               \
		assert_true(no_privilege);      \
		skip();                         \
	}

static const char base_rules[] =
	"{\"interfaces\": [],"
	" \"service\": {\"addresses\": [\"192.0.2.1\", \"2001:db8::1\"], \"ports\": [80, 443]},"
	" \"management\": {\"ports\": [22], \"cidrs\": [\"198.51.100.0/24\", \"2001:db8:aa::/48\"]},"
	" \"blocklist\": [\"203.0.113.0/24\", \"2001:db8:bad::/48\"],"
	" \"syn\": {\"per_source\": 0, \"global\": 0},"
	" \"icmp\": {\"rate\": 0}}";

static void install(struct fx *f, const char *json)
{
	struct xdp_settings s;
	json_error_t jerr;
	char err[256] = "";
	json_t *o = json_loads(json, 0, &jerr);

	assert_non_null(o);
	if (xdp_settings_parse(o, &s, err, sizeof(err)) < 0)
		fail_msg("parse: %s", err);
	json_decref(o);
	if (xdp_rules_install(&f->m, &s, err, sizeof(err)) < 0)
		fail_msg("install: %s", err);
	xdp_settings_free(&s);
}

/* ------------------------------------------------------------------ packets */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20

struct po {
	int vlans;         /* tags before the IP header (2: 802.1ad + 802.1Q) */
	uint16_t ethertype;
	int family;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;
	int ihl;           /* IPv4 header words, default 5 */
	int doff;          /* TCP header words, default 5 */
	uint16_t frag;     /* IPv4 frag_off field, host order */
	int v6_dstopts;    /* destination-options headers before the L4 header */
	int v6_frag;       /* add a fragment header; v6_fragoff is its offset field */
	uint16_t v6_fragoff;
	uint8_t icmp_type;
	int payload;
	uint8_t version;   /* override the IP version nibble */
	uint16_t tot_len;  /* override IPv4 total length */
};

struct pkt {
	uint8_t b[1024];
	size_t n;
	size_t bounds[16]; /* offsets where a header ends */
	size_t nb;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static void mark(struct pkt *p) { p->bounds[p->nb++] = p->n; }

static void build_l4(struct pkt *p, const struct po *o)
{
	uint8_t *h = p->b + p->n;

	if (o->proto == IPPROTO_TCP) {
		int doff = o->doff ? o->doff : 5;

		put16(h, o->sport);
		put16(h + 2, o->dport);
		h[12] = (uint8_t)(doff << 4);
		h[13] = o->flags;
		put16(h + 14, 65535);
		p->n += 20;
		mark(p);
		if (doff > 5)
			p->n += (size_t)(doff - 5) * 4, mark(p);
	} else if (o->proto == IPPROTO_UDP) {
		put16(h, o->sport);
		put16(h + 2, o->dport);
		put16(h + 4, (uint16_t)(8 + o->payload));
		p->n += 8;
		mark(p);
	} else if (o->proto == IPPROTO_ICMP || o->proto == IPPROTO_ICMPV6) {
		h[0] = o->icmp_type;
		p->n += 8;
		mark(p);
	}
	p->n += (size_t)o->payload;
}

static void build_ip4(struct pkt *p, const struct po *o)
{
	uint8_t *h = p->b + p->n;
	int ihl = o->ihl ? o->ihl : 5;
	size_t start = p->n;

	h[0] = (uint8_t)(((o->version ? o->version : 4) << 4) | (ihl & 0xf));
	h[8] = 64;
	h[9] = o->proto;
	put16(h + 6, o->frag);
	inet_pton(AF_INET, o->src, h + 12);
	inet_pton(AF_INET, o->dst, h + 16);
	p->n += 20;
	mark(p);
	if (ihl > 5) {
		memset(h + 20, 1, (size_t)(ihl - 5) * 4); /* NOP options */
		p->n += (size_t)(ihl - 5) * 4;
		mark(p);
	}
	build_l4(p, o);
	put16(h + 2, o->tot_len ? o->tot_len : (uint16_t)(p->n - start));
}

static void build_ip6(struct pkt *p, const struct po *o)
{
	uint8_t *h = p->b + p->n, *nh = h + 6;
	size_t start = p->n;
	int i;

	h[0] = (uint8_t)((o->version ? o->version : 6) << 4);
	h[7] = 64;
	inet_pton(AF_INET6, o->src, h + 8);
	inet_pton(AF_INET6, o->dst, h + 24);
	p->n += 40;
	mark(p);
	for (i = 0; i < o->v6_dstopts; i++) {
		uint8_t *e = p->b + p->n;

		*nh = 60;
		nh = e;
		e[1] = 0;        /* 8 bytes */
		e[2] = 1;        /* PadN */
		e[3] = 4;
		p->n += 8;
		mark(p);
	}
	if (o->v6_frag) {
		uint8_t *e = p->b + p->n;

		*nh = 44;
		nh = e;
		put16(e + 2, o->v6_fragoff);
		p->n += 8;
		mark(p);
	}
	*nh = o->proto;
	build_l4(p, o);
	put16(h + 4, (uint16_t)(p->n - start - 40));
}

static struct pkt build(const struct po *o)
{
	struct pkt p;
	int i;

	memset(&p, 0, sizeof(p));
	memset(p.b, 0x02, 12); /* MACs */
	p.n = 12;
	for (i = 0; i < o->vlans; i++) {
		put16(p.b + p.n, i == 0 && o->vlans > 1 ? 0x88a8 : 0x8100);
		put16(p.b + p.n + 2, (uint16_t)(100 + i));
		p.n += 4;
		mark(&p);
	}
	put16(p.b + p.n, o->ethertype ? o->ethertype : o->family == 6 ? 0x86dd : 0x0800);
	p.n += 2;
	mark(&p);
	if (o->ethertype && o->ethertype != 0x0800 && o->ethertype != 0x86dd) {
		p.n += 28;
		return p;
	}
	if (o->family == 6)
		build_ip6(&p, o);
	else
		build_ip4(&p, o);
	return p;
}

/* A TCP ACK from a client to the IPv4 service address, port 80. */
static struct po tcp4(void)
{
	return (struct po){ .family = 4, .src = "198.18.0.7", .dst = "192.0.2.1",
			    .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, .flags = F_ACK };
}

static struct po tcp6(void)
{
	return (struct po){ .family = 6, .src = "2001:db8:1:2::7", .dst = "2001:db8::1",
			    .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, .flags = F_ACK };
}

/* ------------------------------------------------------------------ running */

struct res {
	int action;
	int reason;
};

static struct res run_n(struct fx *f, const uint8_t *b, size_t n, int repeat,
			struct xdp_counter delta[XDP_R_MAX])
{
	struct xdp_counter before[XDP_R_MAX], after[XDP_R_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b, .data_size_in = (__u32)n,
		    .repeat = repeat);
	struct res r = { -1, -1 };
	int i, hits = 0;

	assert_int_equal(xdp_counters_read(&f->m, before), 0);
	assert_int_equal(bpf_prog_test_run_opts(f->prog, &o), 0);
	assert_int_equal(xdp_counters_read(&f->m, after), 0);
	r.action = (int)o.retval;
	for (i = 0; i < XDP_R_MAX; i++) {
		delta[i].packets = after[i].packets - before[i].packets;
		delta[i].bytes = after[i].bytes - before[i].bytes;
		if (delta[i].packets) {
			hits++;
			r.reason = i;
		}
	}
	if (repeat <= 1) {
		/* Exactly one counter per packet, and it counts the packet's bytes. */
		assert_int_equal(hits, 1);
		assert_int_equal(delta[r.reason].bytes, n);
	}
	return r;
}

static int expect_action(int reason)
{
	if (reason == XDP_R_STEER_SERVICE)
		return XDP_REDIRECT;
	return reason < XDP_R_STEER_SERVICE ? XDP_PASS : XDP_DROP;
}

static void check_raw(struct fx *f, const uint8_t *b, size_t n, int want, const char *what)
{
	struct xdp_counter d[XDP_R_MAX];
	struct res r = run_n(f, b, n, 1, d);

	if (r.reason != want)
		fail_msg("%s: reason %s, want %s", what, xdp_reason_name((unsigned)r.reason),
			 xdp_reason_name((unsigned)want));
	assert_int_equal(r.action, expect_action(want));
}

static void check(struct fx *f, const struct po *o, int want, const char *what)
{
	struct pkt p = build(o);

	check_raw(f, p.b, p.n, want, what);
}

/* ------------------------------------------------------------------ bucket time */

/*
 * The buckets refill from bpf_ktime_get_ns(), CLOCK_MONOTONIC. Tests do not sleep and hope:
 * they freeze a bucket (a last refill in the future credits nothing), say how much time has
 * passed by moving last_ns back, and check the credit against the time the program itself
 * recorded in last_ns, so no count depends on how fast the machine runs the test.
 */
#define FROZEN UINT64_MAX

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct xdp_src_key src_key(const char *addr)
{
	struct xdp_src_key k = { 0 };
	uint8_t a[16];

	if (inet_pton(AF_INET, addr, a) == 1) {
		k.family = 4;
		memcpy(k.prefix, a, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		k.family = 6;
		memcpy(k.prefix, a, 8);
	}
	return k;
}

static struct xdp_bucket bucket_get(int fd, const void *key)
{
	struct xdp_bucket b;

	assert_int_equal(bpf_map_lookup_elem(fd, key, &b), 0);
	return b;
}

static void bucket_put(int fd, const void *key, int64_t tokens, uint64_t last_ns)
{
	struct xdp_bucket b = { .tokens = tokens, .last_ns = last_ns };

	assert_int_equal(bpf_map_update_elem(fd, key, &b, BPF_ANY), 0);
}

static void bucket_freeze(int fd, const void *key)
{
	bucket_put(fd, key, bucket_get(fd, key).tokens, FROZEN);
}

/*
 * Let ns pass for a frozen bucket of rate tokens/s and burst tokens, then send one packet.
 * The credit must be exactly the nanoseconds the program saw pass times the rate, capped at
 * the burst, and the packet must take a whole token if there is one. The bucket is frozen
 * again; returns the packet's reason.
 */
static int elapse_and_send(struct fx *f, int fd, const void *key, uint64_t ns, uint64_t rate,
			   uint64_t burst, const struct po *o)
{
	const int64_t one = (int64_t)XDP_TOKEN_ONE, cap = (int64_t)(burst * XDP_TOKEN_ONE);
	int64_t t0 = bucket_get(fd, key).tokens, t1;
	uint64_t start = mono_ns() - ns, seen;
	struct xdp_counter d[XDP_R_MAX];
	struct xdp_bucket after;
	struct pkt p = build(o);
	struct res r;

	bucket_put(fd, key, t0, start);
	r = run_n(f, p.b, p.n, 1, d);
	after = bucket_get(fd, key);
	assert_true(after.last_ns > start);
	seen = after.last_ns - start;
	t1 = t0 + (seen * rate > (uint64_t)cap ? cap : (int64_t)(seen * rate));
	if (t1 > cap)
		t1 = cap;
	if (t1 >= one)
		t1 -= one;
	else
		assert_true(r.reason != XDP_R_PASS_SERVICE && r.reason != XDP_R_PASS_ICMP);
	if (after.tokens != t1)
		fail_msg("%llu ns at %llu/s: %lld nano-tokens left, want %lld", (unsigned long long)seen,
			 (unsigned long long)rate, (long long)after.tokens, (long long)t1);
	bucket_freeze(fd, key);
	return r.reason;
}

/* ------------------------------------------------------------------ tests */

static void test_service_pass(void **state)
{
	FX();
	struct po o;

	install(f, base_rules);
	o = tcp4();
	check(f, &o, XDP_R_PASS_SERVICE, "v4 ack :80");
	o.dport = 443;
	check(f, &o, XDP_R_PASS_SERVICE, "v4 ack :443");
	o.flags = F_SYN;
	check(f, &o, XDP_R_PASS_SERVICE, "v4 syn :443");
	o = tcp6();
	check(f, &o, XDP_R_PASS_SERVICE, "v6 ack :80");
	o.vlans = 1;
	check(f, &o, XDP_R_PASS_SERVICE, "v6 802.1Q");
	o = tcp4();
	o.vlans = 2;
	check(f, &o, XDP_R_PASS_SERVICE, "v4 QinQ");
	o.ihl = 8;
	check(f, &o, XDP_R_PASS_SERVICE, "v4 with options");
	o.doff = 10;
	check(f, &o, XDP_R_PASS_SERVICE, "tcp options");
	o = tcp6();
	o.v6_dstopts = 3;
	check(f, &o, XDP_R_PASS_SERVICE, "v6 extension headers");
}

static void test_not_service(void **state)
{
	FX();
	struct po o;

	install(f, base_rules);
	o = tcp4();
	o.dst = "192.0.2.2";
	check(f, &o, XDP_R_DROP_POLICY, "v4 other address");
	o = tcp6();
	o.dst = "2001:db8::2";
	check(f, &o, XDP_R_DROP_POLICY, "v6 other address");
	o = tcp4();
	o.dport = 25;
	check(f, &o, XDP_R_DROP_POLICY, "v4 port 25");
	o = tcp4();
	o.proto = 47; /* GRE */
	check(f, &o, XDP_R_DROP_POLICY, "gre");
	o = tcp4();
	o.proto = IPPROTO_UDP;
	o.sport = 5000;
	check(f, &o, XDP_R_DROP_POLICY, "udp to :80");
	o = tcp4();
	o.ethertype = 0x88cc; /* LLDP */
	check(f, &o, XDP_R_DROP_ETHERTYPE, "lldp");
	o = tcp4();
	o.vlans = 3;
	check(f, &o, XDP_R_DROP_BAD_L2, "three vlan tags");
	o = tcp4();
	o.ethertype = 0x0806;
	check(f, &o, XDP_R_PASS_ARP, "arp");
	o.vlans = 1;
	check(f, &o, XDP_R_PASS_ARP, "arp in vlan");
	/* More service addresses than fit in place: the hash is used. */
	install(f, "{\"service\": {\"addresses\": [\"192.0.2.1\", \"192.0.2.2\", \"192.0.2.3\","
		   " \"192.0.2.4\", \"2001:db8::5\"]}}");
	o = tcp4();
	o.dst = "192.0.2.4";
	check(f, &o, XDP_R_PASS_SERVICE, "fourth of five addresses");
	o.dst = "192.0.2.5";
	check(f, &o, XDP_R_DROP_POLICY, "not one of five");
	o = tcp6();
	o.dst = "2001:db8::5";
	check(f, &o, XDP_R_PASS_SERVICE, "v6 fifth address");
	o.dst = "2001:db8::1";
	check(f, &o, XDP_R_DROP_POLICY, "v6 not one of five");
	/* No service address configured: every destination is served. */
	install(f, "{\"service\": {\"ports\": [80]}}");
	o = tcp4();
	o.dst = "192.0.2.77";
	check(f, &o, XDP_R_PASS_SERVICE, "any address");
}

static void test_mgmt(void **state)
{
	FX();
	struct po o;

	install(f, base_rules);
	o = tcp4();
	o.dport = 22;
	o.src = "198.51.100.9";
	check(f, &o, XDP_R_PASS_MGMT, "v4 mgmt allowed");
	o.src = "198.51.101.9";
	check(f, &o, XDP_R_DROP_MGMT_SOURCE, "v4 mgmt other source");
	o = tcp6();
	o.dport = 22;
	o.src = "2001:db8:aa:1::5";
	check(f, &o, XDP_R_PASS_MGMT, "v6 mgmt allowed");
	o.src = "2001:db8:ab::5";
	check(f, &o, XDP_R_DROP_MGMT_SOURCE, "v6 mgmt other source");
}

static void test_blocklist(void **state)
{
	FX();
	struct xdp_cidr c;
	char err[128];
	struct po o;

	install(f, base_rules);
	o = tcp4();
	o.src = "203.0.113.200";
	check(f, &o, XDP_R_DROP_BLOCKLIST, "v4 blocked");
	o.dport = 22;
	check(f, &o, XDP_R_DROP_BLOCKLIST, "v4 blocked mgmt port");
	o = tcp6();
	o.src = "2001:db8:bad:ffff::1";
	check(f, &o, XDP_R_DROP_BLOCKLIST, "v6 blocked");
	o.src = "2001:db8:bae::1";
	check(f, &o, XDP_R_PASS_SERVICE, "v6 next to blocked");

	/* Dynamic block: live at once, kept by the next install, removed by unblock. */
	o = tcp4();
	assert_int_equal(xdp_cidr_parse("198.18.0.0/16", &c, err, sizeof(err)), 0);
	assert_int_equal(xdp_block(&f->m, &c, true, err, sizeof(err)), 0);
	check(f, &o, XDP_R_DROP_BLOCKLIST, "dynamic block");
	install(f, base_rules);
	check(f, &o, XDP_R_DROP_BLOCKLIST, "dynamic block after reload");
	assert_int_equal(xdp_block(&f->m, &c, false, err, sizeof(err)), 0);
	check(f, &o, XDP_R_PASS_SERVICE, "unblocked");
	install(f, base_rules);
	check(f, &o, XDP_R_PASS_SERVICE, "unblocked after reload");
}

static void test_malformed(void **state)
{
	FX();
	struct po o;
	struct pkt p;

	install(f, base_rules);
	o = tcp4();
	o.ihl = 4;
	check(f, &o, XDP_R_DROP_BAD_IHL, "ihl 4");
	o = tcp4();
	o.version = 5;
	check(f, &o, XDP_R_DROP_BAD_IP, "version 5");
	o = tcp6();
	o.version = 4;
	check(f, &o, XDP_R_DROP_BAD_IP, "v6 ethertype, version 4");
	o = tcp4();
	o.tot_len = 19;
	check(f, &o, XDP_R_DROP_BAD_IP, "total length below header");
	o = tcp4();
	o.doff = 4;
	check(f, &o, XDP_R_DROP_BAD_TCP_DOFF, "doff 4");
	o = tcp4();
	p = build(&o);
	p.b[p.n - 20 + 12] = 15 << 4; /* 60-byte header in a 20-byte segment */
	check_raw(f, p.b, p.n, XDP_R_DROP_BAD_TCP_DOFF, "doff past end");

	o = tcp4();
	o.flags = F_SYN | F_FIN;
	check(f, &o, XDP_R_DROP_BAD_TCP_FLAGS, "syn+fin");
	o.flags = F_SYN | F_RST;
	check(f, &o, XDP_R_DROP_BAD_TCP_FLAGS, "syn+rst");
	o.flags = 0;
	check(f, &o, XDP_R_DROP_BAD_TCP_FLAGS, "null");
	o.flags = F_FIN | F_PSH | F_URG;
	check(f, &o, XDP_R_DROP_BAD_TCP_FLAGS, "xmas");
	o = tcp6();
	o.flags = F_SYN | F_FIN;
	check(f, &o, XDP_R_DROP_BAD_TCP_FLAGS, "v6 syn+fin");
	o = tcp6();
	o.v6_dstopts = 7;
	check(f, &o, XDP_R_DROP_BAD_IP, "v6 extension chain too long");
}

/* Cut the packet at every length from the Ethernet header to the last byte before the end of
 * its last header: each cut must be dropped as truncated (or as a TCP header whose data
 * offset runs past the end), never read past the end (the verifier guarantees that part). */
static void truncations(struct fx *f, const struct po *o, const char *what)
{
	struct pkt p = build(o);
	size_t end = p.bounds[p.nb - 1], len, i;

	for (len = 14; len < end; len++) {
		struct xdp_counter d[XDP_R_MAX];
		struct res r = run_n(f, p.b, len, 1, d);

		if (r.reason != XDP_R_DROP_TRUNCATED && r.reason != XDP_R_DROP_BAD_TCP_DOFF)
			fail_msg("%s cut at %zu: %s", what, len, xdp_reason_name((unsigned)r.reason));
		assert_int_equal(r.action, XDP_DROP);
	}
	/* Exactly at a boundary before the L4 header the reason is always "truncated". */
	for (i = 0; i + 2 < p.nb; i++) {
		char name[96];

		snprintf(name, sizeof(name), "%s at boundary %zu", what, p.bounds[i]);
		if (p.bounds[i] >= 14)
			check_raw(f, p.b, p.bounds[i], XDP_R_DROP_TRUNCATED, name);
	}
	check_raw(f, p.b, p.n, XDP_R_PASS_SERVICE, what);
}

static void test_truncated(void **state)
{
	FX();
	struct po o;

	install(f, base_rules);
	o = tcp4();
	truncations(f, &o, "v4");
	o.vlans = 2;
	o.ihl = 7;
	o.doff = 8;
	truncations(f, &o, "v4 qinq options");
	o = tcp6();
	truncations(f, &o, "v6");
	o.vlans = 1;
	o.v6_dstopts = 2;
	o.doff = 6;
	truncations(f, &o, "v6 vlan ext");
	/* UDP and ICMP headers cut short. */
	o = tcp4();
	o.proto = IPPROTO_UDP;
	{
		struct pkt p = build(&o);

		check_raw(f, p.b, p.n - 1, XDP_R_DROP_TRUNCATED, "udp short");
	}
	o.proto = IPPROTO_ICMP;
	o.icmp_type = 8;
	{
		struct pkt p = build(&o);

		check_raw(f, p.b, p.n - 5, XDP_R_DROP_TRUNCATED, "icmp short");
	}
	o = tcp6();
	o.proto = IPPROTO_ICMPV6;
	o.icmp_type = 128;
	{
		struct pkt p = build(&o);

		check_raw(f, p.b, p.n - 5, XDP_R_DROP_TRUNCATED, "icmpv6 short");
	}
}

static void test_fragments(void **state)
{
	FX();
	struct po o;

	install(f, base_rules); /* fragments: drop (default) */
	o = tcp4();
	o.frag = 0x2000; /* MF, offset 0: first fragment */
	check(f, &o, XDP_R_DROP_FRAGMENT, "v4 first fragment");
	o.frag = 0x0010; /* offset 128: what looks like a TCP header is payload */
	check(f, &o, XDP_R_DROP_FRAGMENT, "v4 later fragment");
	o = tcp6();
	o.v6_frag = 1;
	o.v6_fragoff = 0x0001; /* M, offset 0 */
	check(f, &o, XDP_R_DROP_FRAGMENT, "v6 first fragment");

	install(f, "{\"service\": {\"addresses\": [\"192.0.2.1\", \"2001:db8::1\"]},"
		   " \"fragments\": \"pass\", \"syn\": {\"per_source\": 0}}");
	o = tcp4();
	o.frag = 0x2000;
	check(f, &o, XDP_R_PASS_SERVICE, "v4 first fragment, pass policy");
	o.dport = 25;
	check(f, &o, XDP_R_DROP_POLICY, "v4 first fragment to closed port");
	o = tcp4();
	o.frag = 0x0010;
	o.flags = F_SYN | F_FIN; /* payload bytes, not flags */
	check(f, &o, XDP_R_PASS_FRAGMENT, "v4 later fragment, pass policy");
	o = tcp6();
	o.v6_frag = 1;
	o.v6_fragoff = 0x0008;
	o.flags = 0;
	check(f, &o, XDP_R_PASS_FRAGMENT, "v6 later fragment, pass policy");
	o.src = "2001:db8:bad::1";
	install(f, "{\"fragments\": \"pass\", \"blocklist\": [\"2001:db8:bad::/48\"]}");
	check(f, &o, XDP_R_DROP_BLOCKLIST, "fragment from blocked source");
}

static void test_return_traffic(void **state)
{
	FX();
	struct po o;

	install(f, base_rules);
	o = tcp4();
	o.src = "198.18.5.5";
	o.sport = 443;
	o.dport = 45000;
	o.flags = F_SYN | F_ACK;
	check(f, &o, XDP_R_PASS_RETURN, "tcp syn-ack from :443");
	o.flags = F_ACK | F_PSH;
	check(f, &o, XDP_R_PASS_RETURN, "tcp data from :443");
	o.flags = F_SYN;
	check(f, &o, XDP_R_DROP_POLICY, "bare syn to an ephemeral port");
	o.flags = F_ACK;
	o.dport = 8080;
	check(f, &o, XDP_R_DROP_POLICY, "tcp from :443 to a non-ephemeral port");
	o.dport = 45000;
	o.sport = 6667;
	check(f, &o, XDP_R_DROP_POLICY, "tcp from an unlisted port");
	o = tcp6();
	o.proto = IPPROTO_UDP;
	o.sport = 53;
	o.dport = 33000;
	check(f, &o, XDP_R_PASS_RETURN, "v6 dns answer");
	o = tcp4();
	o.proto = IPPROTO_UDP;
	o.sport = 123;
	o.dport = 123;
	check(f, &o, XDP_R_PASS_RETURN, "ntp 123->123");
	o.sport = 67;
	o.dport = 68;
	check(f, &o, XDP_R_DROP_POLICY, "dhcp answer while 67 is not an outbound port");
	o.sport = 68;
	o.dport = 67;
	check(f, &o, XDP_R_DROP_POLICY, "dhcp request to the box");
	o.sport = 53;
	o.dport = 5353;
	check(f, &o, XDP_R_DROP_POLICY, "udp :53 to a non-ephemeral port");
	o.sport = 5000;
	o.dport = 40000;
	check(f, &o, XDP_R_DROP_POLICY, "udp from an unlisted port");
	install(f, "{\"interfaces\": [], \"outbound\": {\"udp_ports\": [53, 67, 123]}}");
	o = tcp4();
	o.proto = IPPROTO_UDP;
	o.sport = 67;
	o.dport = 68;
	check(f, &o, XDP_R_PASS_RETURN, "dhcp answer 67->68 when 67 is outbound");
	o.dport = 69;
	check(f, &o, XDP_R_DROP_POLICY, "udp from 67 to a non-ephemeral port other than 68");
}

static void test_icmp(void **state)
{
	FX();
	const uint32_t icmp = XDP_BUCKET_ICMP;
	struct xdp_counter d[XDP_R_MAX];
	struct pkt p;
	struct po o;

	install(f, "{\"icmp\": {\"rate\": 1, \"burst\": 3}}");
	bucket_put(f->m.buckets, &icmp, 3 * (int64_t)XDP_TOKEN_ONE, FROZEN);
	o = tcp4();
	o.proto = IPPROTO_ICMP;
	o.icmp_type = 8;
	check(f, &o, XDP_R_PASS_ICMP, "echo request");
	o.icmp_type = 3;
	check(f, &o, XDP_R_PASS_ICMP, "unreachable");
	o.icmp_type = 13;
	check(f, &o, XDP_R_DROP_POLICY, "timestamp");
	o.icmp_type = 11;
	check(f, &o, XDP_R_PASS_ICMP, "time exceeded");
	o.icmp_type = 0;
	check(f, &o, XDP_R_DROP_ICMP_RATE, "burst of 3 spent");
	o = tcp6();
	o.proto = IPPROTO_ICMPV6;
	o.icmp_type = 128;
	check(f, &o, XDP_R_DROP_ICMP_RATE, "v6 echo, bucket shared");
	o.icmp_type = 135;
	p = build(&o);
	run_n(f, p.b, p.n, 100, d);
	assert_int_equal(d[XDP_R_PASS_ND].packets, 100); /* never rate limited */
	o.icmp_type = 143;
	check(f, &o, XDP_R_PASS_ND, "mldv2 report");
	o.icmp_type = 200;
	check(f, &o, XDP_R_DROP_POLICY, "unknown icmpv6");
	o.icmp_type = 2;
	check(f, &o, XDP_R_DROP_ICMP_RATE, "packet too big, limited");
	assert_int_equal(elapse_and_send(f, f->m.buckets, &icmp, 1000000000, 1, 3, &o),
			 XDP_R_PASS_ICMP); /* one token after a second */
	check(f, &o, XDP_R_DROP_ICMP_RATE, "and only one");
}

static void test_syn_source_bucket(void **state)
{
	FX();
	struct xdp_counter d[XDP_R_MAX];
	struct xdp_src_key k;
	struct pkt p;
	struct po o;

	install(f, "{\"syn\": {\"per_source\": 1, \"burst\": 10, \"global\": 0}}");
	o = tcp4();
	o.flags = F_SYN;
	p = build(&o);
	run_n(f, p.b, p.n, 100, d);
	assert_int_equal(d[XDP_R_PASS_SERVICE].packets, 10);
	assert_int_equal(d[XDP_R_DROP_SYN_SOURCE].packets, 90);
	/* Non-SYN segments of the same source are not limited. */
	o.flags = F_ACK;
	check(f, &o, XDP_R_PASS_SERVICE, "ack while over rate");
	/* Another /32 has its own bucket. */
	o.flags = F_SYN;
	o.src = "198.18.0.8";
	check(f, &o, XDP_R_PASS_SERVICE, "other source");
	/* One /64 is one source; the next /64 is another. */
	o = tcp6();
	o.flags = F_SYN;
	o.src = "2001:db8:1:2::1";
	p = build(&o);
	run_n(f, p.b, p.n, 10, d);
	assert_int_equal(d[XDP_R_PASS_SERVICE].packets, 10);
	o.src = "2001:db8:1:2:ffff::9";
	check(f, &o, XDP_R_DROP_SYN_SOURCE, "same /64");
	o.src = "2001:db8:1:3::1";
	check(f, &o, XDP_R_PASS_SERVICE, "next /64");
	/* A reload keeps the buckets: no fresh burst for a flooding source. */
	install(f, "{\"syn\": {\"per_source\": 1, \"burst\": 10, \"global\": 0}}");
	o.src = "2001:db8:1:2::1";
	k = src_key(o.src);
	bucket_freeze(f->m.syn_src, &k);
	check(f, &o, XDP_R_DROP_SYN_SOURCE, "bucket kept across reload");
	assert_int_equal(elapse_and_send(f, f->m.syn_src, &k, 1000000000, 1, 10, &o),
			 XDP_R_PASS_SERVICE); /* refilled one token */
	check(f, &o, XDP_R_DROP_SYN_SOURCE, "exactly one");
}

/*
 * Refill by elapsed nanoseconds: 100,000 tokens/s is one token per 10 us, so the credit for
 * half a millisecond is counted in nano-tokens exactly, whole tokens are admitted and the
 * rest dropped, and ten seconds fill the bucket to its burst and no further.
 */
static void test_syn_refill_rate(void **state)
{
	FX();
	const uint64_t rate = 100000, burst = 100;
	struct xdp_counter d[XDP_R_MAX];
	struct xdp_src_key k;
	int64_t whole;
	struct pkt p;
	struct po o;

	install(f, "{\"syn\": {\"per_source\": 100000, \"burst\": 100, \"global\": 0}}");
	o = tcp4();
	o.flags = F_SYN;
	o.src = "198.18.9.9";
	p = build(&o);
	check(f, &o, XDP_R_PASS_SERVICE, "a new source starts with a full bucket");
	k = src_key(o.src);
	bucket_put(f->m.syn_src, &k, 0, FROZEN);
	check(f, &o, XDP_R_DROP_SYN_SOURCE, "empty and frozen");

	assert_int_equal(elapse_and_send(f, f->m.syn_src, &k, 500000, rate, burst, &o),
			 XDP_R_PASS_SERVICE);
	whole = bucket_get(f->m.syn_src, &k).tokens / (int64_t)XDP_TOKEN_ONE;
	assert_true(whole >= 49 && whole < (int64_t)burst);
	run_n(f, p.b, p.n, 1000, d);
	assert_int_equal(d[XDP_R_PASS_SERVICE].packets, whole);
	assert_int_equal(d[XDP_R_DROP_SYN_SOURCE].packets, 1000 - whole);

	assert_int_equal(elapse_and_send(f, f->m.syn_src, &k, 10000000000ULL, rate, burst, &o),
			 XDP_R_PASS_SERVICE);
	assert_int_equal(bucket_get(f->m.syn_src, &k).tokens,
			 (int64_t)((burst - 1) * XDP_TOKEN_ONE));
	run_n(f, p.b, p.n, 1000, d);
	assert_int_equal(d[XDP_R_PASS_SERVICE].packets, burst - 1);
	assert_int_equal(d[XDP_R_DROP_SYN_SOURCE].packets, 1000 - (burst - 1));
}

static void test_syn_global(void **state)
{
	FX();
	const uint32_t syn = XDP_BUCKET_SYN;
	struct po o;
	char src[32];
	int i, pass = 0, drop = 0;

	install(f, "{\"syn\": {\"per_source\": 1000, \"burst\": 1000, \"global\": 1, "
		   "\"global_burst\": 5}}");
	bucket_put(f->m.buckets, &syn, 5 * (int64_t)XDP_TOKEN_ONE, FROZEN);
	o = tcp4();
	o.flags = F_SYN;
	for (i = 0; i < 10; i++) {
		struct xdp_counter d[XDP_R_MAX];
		struct pkt p;

		snprintf(src, sizeof(src), "198.18.1.%d", i + 1);
		o.src = src;
		p = build(&o);
		run_n(f, p.b, p.n, 1, d);
		pass += (int)d[XDP_R_PASS_SERVICE].packets;
		drop += (int)d[XDP_R_DROP_SYN_GLOBAL].packets;
	}
	assert_int_equal(pass, 5);
	assert_int_equal(drop, 5);
}

static void test_steer(void **state)
{
	FX();
	struct po o;

	install(f, "{\"steer\": {\"cpus\": [0]}}");
	o = tcp4();
	check(f, &o, XDP_R_STEER_SERVICE, "steered");
	o.dport = 25;
	check(f, &o, XDP_R_DROP_POLICY, "not service, not steered");
}

/* ------------------------------------------------------------------ swaps */

struct hammer {
	struct fx *f;
	struct pkt p;
	volatile int stop;
	unsigned long runs;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	while (!h->stop) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = h->p.b, .data_size_in = (__u32)h->p.n,
			    .repeat = 1000);
		if (bpf_prog_test_run_opts(h->f->prog, &o) < 0)
			break;
		h->runs += 1000;
	}
	return NULL;
}

/* Rule set A passes the probe, B blocks its source and no longer serves its port. A packet
 * that saw A's port rules with B's blocklist would still be dropped, but one that saw B's
 * ports with A's blocklist would be dropped by policy: that reason must never appear. */
static void test_atomic_swap(void **state)
{
	FX();
	static const char a[] = "{\"service\": {\"ports\": [80]}, \"syn\": {\"per_source\": 0}}";
	static const char b[] = "{\"service\": {\"ports\": [8080]}, \"syn\": {\"per_source\": 0},"
				" \"blocklist\": [\"198.18.0.0/15\"]}";
	struct xdp_counter before[XDP_R_MAX], after[XDP_R_MAX];
	struct hammer h = { .f = f };
	struct po o = tcp4();
	pthread_t th;
	int i;

	install(f, a);
	h.p = build(&o);
	assert_int_equal(xdp_counters_read(&f->m, before), 0);
	assert_int_equal(pthread_create(&th, NULL, hammer_run, &h), 0);
	for (i = 0; i < 200; i++)
		install(f, i % 2 ? a : b);
	h.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(xdp_counters_read(&f->m, after), 0);
	print_message("swap: %lu packets during 200 swaps: pass %llu, blocked %llu\n", h.runs,
		      (unsigned long long)(after[XDP_R_PASS_SERVICE].packets - before[XDP_R_PASS_SERVICE].packets),
		      (unsigned long long)(after[XDP_R_DROP_BLOCKLIST].packets - before[XDP_R_DROP_BLOCKLIST].packets));
	assert_true(h.runs > 0);
	assert_int_equal(after[XDP_R_DROP_POLICY].packets, before[XDP_R_DROP_POLICY].packets);
	assert_int_equal(after[XDP_R_PASS_SERVICE].packets - before[XDP_R_PASS_SERVICE].packets +
			 after[XDP_R_DROP_BLOCKLIST].packets - before[XDP_R_DROP_BLOCKLIST].packets,
			 h.runs);
}

static void test_big_blocklist(void **state)
{
	FX();
	struct xdp_settings s;
	struct timespec a, b;
	char err[256];
	struct po o;
	size_t i;

	assert_int_equal(xdp_settings_parse(NULL, &s, err, sizeof(err)), 0);
	s.blocklist.v = calloc(100000, sizeof(*s.blocklist.v));
	assert_non_null(s.blocklist.v);
	for (i = 0; i < 100000; i++) {
		struct xdp_cidr *c = &s.blocklist.v[i];

		c->family = i % 2 ? 6 : 4;
		if (c->family == 4) {
			c->prefixlen = 32;
			c->addr[0] = 10;
			c->addr[1] = (uint8_t)(i >> 16);
			c->addr[2] = (uint8_t)(i >> 8);
			c->addr[3] = (uint8_t)i;
		} else {
			c->prefixlen = 64;
			c->addr[0] = 0x20, c->addr[1] = 0x01, c->addr[2] = 0x0d, c->addr[3] = 0xb8;
			c->addr[5] = (uint8_t)(i >> 16);
			c->addr[6] = (uint8_t)(i >> 8);
			c->addr[7] = (uint8_t)i;
		}
	}
	s.blocklist.n = 100000;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(xdp_rules_install(&f->m, &s, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("100000-entry blocklist installed in %.0f ms\n",
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	o = tcp4();
	o.dst = "192.0.2.99";
	o.src = "10.1.134.158"; /* i = 99998 */
	check(f, &o, XDP_R_DROP_BLOCKLIST, "v4 entry of the big list");
	o = tcp6();
	o.dst = "2001:db8::99";
	o.src = "2001:db8:0:1:ffff::1"; /* odd i = 1 */
	check(f, &o, XDP_R_DROP_BLOCKLIST, "v6 entry of the big list");
	xdp_settings_free(&s);
	/* Swapping it out frees it without disturbing lookups. */
	install(f, base_rules);
	o = tcp4();
	o.src = "10.1.134.158";
	check(f, &o, XDP_R_PASS_SERVICE, "after swap to the small list");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_pass),
		cmocka_unit_test(test_not_service),
		cmocka_unit_test(test_mgmt),
		cmocka_unit_test(test_blocklist),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_return_traffic),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_syn_source_bucket),
		cmocka_unit_test(test_syn_refill_rate),
		cmocka_unit_test(test_syn_global),
		cmocka_unit_test(test_steer),
		cmocka_unit_test(test_atomic_swap),
		cmocka_unit_test(test_big_blocklist),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
