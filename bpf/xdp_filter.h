/* SPDX-License-Identifier: MIT */
/*
 * Map ABI of the edgetrack XDP filter, shared by bpf/xdp_filter.bpf.c and userspace/xdp/.
 * Every struct here is read by both sides: change it only together with both.
 *
 * Rule sets and atomic swaps
 * --------------------------
 * A rule set is one generation: a struct xdp_rules in slot <gen> of the xdp_rules array plus
 * the inner maps in slot <gen> of the three map-in-map arrays (xdp_blk, xdp_mgmt, xdp_svc).
 * The program reads xdp_ctl.gen once per packet and uses that slot for every lookup, so a
 * packet sees either the old or the new rule set, never a mix. Userspace fills the idle slot
 * (new inner maps, new struct xdp_rules) and then flips xdp_ctl.gen with one 32-bit store.
 * The previous slot stays untouched until the next update replaces it, so packets in flight
 * during a flip still find their whole old rule set; replaced inner maps are freed by the
 * kernel after an RCU grace period, off the datapath.
 *
 * Addresses are 16 bytes everywhere; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so one LPM
 * trie holds both families and an IPv4 /n prefix is stored as /(96 + n).
 *
 * Return traffic of the box's own outbound connections (ACME, DNS, NTP, package updates)
 * ------------------------------------------------------------------------------------
 * There is no conntrack in XDP, so replies are recognised statelessly: the kernel picks the
 * local port of every outbound TCP connection and unconnected UDP query from the ephemeral
 * range (net.ipv4.ip_local_port_range, 32768-60999 by default), and the remote end answers
 * from a well-known port. A packet passes as return traffic when
 *   - its source port is flagged XDP_PORT_OUT_TCP (TCP) or XDP_PORT_OUT_UDP (UDP)
 *     (defaults: TCP 53, 80, 443; UDP 53, 123), and
 *   - its destination port lies in [eph_lo, eph_hi], or for UDP equals the source port
 *     (ntpd's symmetric 123 -> 123) or is 68 from 67 (DHCP lease renewals), and
 *   - for TCP it is not a bare SYN: nobody may open a connection to an ephemeral port.
 * Nothing listens on ephemeral ports on the appliance, so a spoofed "reply" reaches a closed
 * port and is answered with a RST by the kernel at worst. ICMP errors (needed for PMTU
 * discovery of those connections) pass under the ICMP rate limit. Keep the configured range
 * equal to ip_local_port_range and keep listeners off it.
 */
#ifndef EDGETRACK_BPF_XDP_FILTER_H
#define EDGETRACK_BPF_XDP_FILTER_H

#include <linux/types.h>

/* Generations (slots) of the rule set; see above. */
#define XDP_GENERATIONS 2

/* Capacities of the maps. Inner maps of a map-in-map must match their template exactly. */
#define XDP_BLK_MAX      262144 /* blocklist CIDRs (config + edgetrackctl xdp block) */
#define XDP_MGMT_MAX     4096   /* management CIDRs */
#define XDP_SVC_MAX      1024   /* service addresses */
#define XDP_SYN_SRC_MAX  131072 /* default size of the per-source SYN bucket LRU table */
#define XDP_STEER_MAX    64     /* CPUs a steered flow may be spread over */
#define XDP_CPUMAP_MAX   256    /* cpumap slots (clamped to the possible CPUs at load) */

/* One token, in the bucket's fixed-point unit: tokens are counted in nano-tokens so that a
 * refill of rate tokens/s over elapsed ns is exactly rate * elapsed units, with no division
 * and no floating point on the datapath. */
#define XDP_TOKEN_ONE 1000000000ULL

/* struct xdp_rules.ports[port] bits. */
#define XDP_PORT_SVC     0x01 /* TCP service port (80, 443) on a service address */
#define XDP_PORT_MGMT    0x02 /* TCP management port, only from management CIDRs */
#define XDP_PORT_OUT_TCP 0x04 /* remote TCP port the box connects to (return traffic) */
#define XDP_PORT_OUT_UDP 0x08 /* remote UDP port the box queries (return traffic) */

/* struct xdp_rules.flags */
#define XDP_RF_SVC_ANY_ADDR 0x01 /* no service address configured: any destination */
#define XDP_RF_DROP_FRAGS   0x02 /* drop every IP fragment (else: first fragments are
				      classified like whole packets, later ones pass) */
#define XDP_RF_STEER        0x04 /* spread service traffic over steer_cpu[] via the cpumap */
#define XDP_RF_SVC_INLINE   0x08 /* service addresses are svc_addr[0 .. svc_n - 1], not xdp_svc */

/* Up to this many service addresses are compared in place, saving a hash lookup. */
#define XDP_SVC_INLINE 4

/* Token bucket parameters; rate 0 means unlimited. */
struct xdp_rate {
	__u64 rate;    /* tokens per second */
	__u64 cap;     /* burst * XDP_TOKEN_ONE */
	__u64 fill_ns; /* time to refill an empty bucket: ceil(cap / rate) */
};

/* Token bucket state: per source in xdp_syn_src, global ones in xdp_buckets. */
struct xdp_bucket {
	__s64 tokens;  /* nano-tokens; may dip below zero transiently between CPUs */
	__u64 last_ns; /* bpf_ktime_get_ns() of the last refill */
};

enum xdp_global_bucket {
	XDP_BUCKET_SYN,  /* global SYN budget */
	XDP_BUCKET_ICMP, /* ICMP/ICMPv6 echo and errors */
	XDP_BUCKETS
};

struct xdp_rules {
	__u32 flags;
	__u16 eph_lo, eph_hi;   /* ephemeral local port range, host order */
	__u32 steer_ncpus;      /* entries used in steer_cpu[] */
	__u32 reserved;
	struct xdp_rate syn_src;    /* per-source SYN bucket (/32, /64) */
	struct xdp_rate syn_global; /* all SYNs to service ports */
	struct xdp_rate icmp;       /* ICMP echo + errors */
	__u32 steer_cpu[XDP_STEER_MAX];
	__u32 svc_n;            /* entries used in svc_addr[] with XDP_RF_SVC_INLINE */
	__u32 reserved2;
	__u64 svc_addr[XDP_SVC_INLINE][2]; /* struct xdp_addr bytes as two words */
	__u8 ports[65536];      /* XDP_PORT_* bits, indexed by host-order port */
};

struct xdp_ctl {
	__u32 gen; /* active slot, 0 .. XDP_GENERATIONS - 1 */
	__u32 reserved;
};

/* Key of the LPM tries (blocklist, management CIDRs). */
struct xdp_lpm_key {
	__u32 prefixlen; /* 0..128, IPv4 as 96 + n */
	__u8 addr[16];
};

/* Key of the service address hash. */
struct xdp_addr {
	__u8 addr[16];
};

/* Key of the per-source SYN buckets: IPv4 /32 or IPv6 /64. */
struct xdp_src_key {
	__u32 family; /* 4 or 6 */
	__u32 reserved;
	__u8 prefix[8]; /* IPv4: 4 address bytes then zeros; IPv6: the /64 */
};

struct xdp_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * Verdict reasons: every packet increments exactly one counter. X(name, "label").
 * Reasons before XDP_R_STEER_SERVICE pass, XDP_R_STEER_SERVICE redirects to the cpumap,
 * the rest drop.
 */
#define XDP_REASONS(X)                                    \
	X(PASS_SERVICE, "pass_service")                   \
	X(PASS_MGMT, "pass_mgmt")                         \
	X(PASS_RETURN, "pass_return")                     \
	X(PASS_ARP, "pass_arp")                           \
	X(PASS_ND, "pass_nd")                             \
	X(PASS_ICMP, "pass_icmp")                         \
	X(PASS_FRAGMENT, "pass_fragment")                 \
	X(PASS_NO_RULES, "pass_no_rules")                 \
	X(STEER_SERVICE, "steer_service")                 \
	X(DROP_TRUNCATED, "drop_truncated")               \
	X(DROP_BAD_L2, "drop_bad_l2")                     \
	X(DROP_BAD_IP, "drop_bad_ip")                     \
	X(DROP_BAD_IHL, "drop_bad_ihl")                   \
	X(DROP_BAD_TCP_DOFF, "drop_bad_tcp_doff")         \
	X(DROP_BAD_TCP_FLAGS, "drop_bad_tcp_flags")       \
	X(DROP_FRAGMENT, "drop_fragment")                 \
	X(DROP_BLOCKLIST, "drop_blocklist")               \
	X(DROP_SYN_SOURCE, "drop_syn_source_rate")        \
	X(DROP_SYN_GLOBAL, "drop_syn_global_rate")        \
	X(DROP_ICMP_RATE, "drop_icmp_rate")               \
	X(DROP_MGMT_SOURCE, "drop_mgmt_source")           \
	X(DROP_ETHERTYPE, "drop_ethertype")               \
	X(DROP_POLICY, "drop_policy")

#define XDP_REASON_ENUM(name, label) XDP_R_##name,
enum xdp_reason { XDP_REASONS(XDP_REASON_ENUM) XDP_R_MAX };
#undef XDP_REASON_ENUM

/* Names under which the maps are pinned (bpffs directory chosen by userspace). */
#define XDP_PROG_NAME "xdp_edgetrack"

#endif
