/* SPDX-License-Identifier: MIT */
/*
 * XDP filter in front of the service ports: settings from the "xdp" object of the config,
 * a runtime that loads, attaches, updates and detaches bpf/xdp_filter.bpf.c, and the
 * `edgetrackctl xdp ...` commands.
 *
 * The runtime pins its maps and per-interface links under a bpffs directory (pin_dir,
 * default /sys/fs/bpf/edgetrack; /sys/fs/bpf is mounted if it is not). The CLI works on
 * those pins, so it needs no control socket, and a restarted edgetrackd finds the links of
 * a crashed one there and swaps its program in instead of stacking a second one.
 */
#ifndef ET_XDP_XDP_H
#define ET_XDP_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define XDP_DEFAULT_PIN_DIR "/sys/fs/bpf/edgetrack"

enum xdp_attach_mode {
	XDP_ATTACH_AUTO,    /* native, falling back to generic (logged) */
	XDP_ATTACH_NATIVE,  /* driver mode only */
	XDP_ATTACH_GENERIC, /* skb mode only */
};

enum xdp_frag_policy {
	XDP_FRAGS_DROP, /* drop every IP fragment */
	XDP_FRAGS_PASS, /* classify first fragments by their ports, pass later ones */
};

/* An IPv4 or IPv6 prefix; addr holds the address in network order (IPv4 in addr[0..3]). */
struct xdp_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefixlen;
	uint8_t addr[16];
};

struct xdp_cidr_list {
	struct xdp_cidr *v;
	size_t n;
};

struct xdp_port_list {
	uint16_t *v;
	size_t n;
};

/* Token bucket: rate per second (0 = unlimited) and burst. */
struct xdp_rate_cfg {
	uint32_t rate;
	uint32_t burst;
};

/*
 * The "xdp" config object, every key optional:
 * {
 *   "interfaces": ["eth0"],            none: XDP stays off (logged "inactive" mode)
 *   "mode": "auto" | "native" | "generic",
 *   "pin_dir": "/sys/fs/bpf/edgetrack",
 *   "service":    {"addresses": ["192.0.2.1", "2001:db8::1"], "ports": [80, 443]},
 *                 no addresses: any destination address
 *   "management": {"ports": [22], "cidrs": ["198.51.100.0/24"]},
 *   "outbound":   {"tcp_ports": [53, 80, 443], "udp_ports": [53, 123],
 *                  "ephemeral": [32768, 60999]},      return traffic, see bpf/xdp_filter.h
 *   "blocklist": ["203.0.113.0/24", "2001:db8:bad::/48"],
 *   "blocklist_file": "/etc/edgetrack/blocklist.txt", one CIDR per line, '#' comments
 *   "syn":  {"per_source": 100, "burst": 200, "global": 50000, "global_burst": 50000,
 *            "table_size": 131072},
 *   "icmp": {"rate": 100, "burst": 200},
 *   "fragments": "drop" | "pass",
 *   "steer": {"cpus": [0, 1, 2, 3], "queue_size": 2048}
 * }
 */
struct xdp_settings {
	bool enabled; /* the "xdp" object was present */
	char **interfaces;
	size_t n_interfaces;
	enum xdp_attach_mode mode;
	char *pin_dir;
	struct xdp_cidr_list service_addrs; /* host addresses (full-length prefixes) */
	struct xdp_port_list service_ports;
	struct xdp_port_list mgmt_ports;
	struct xdp_cidr_list mgmt_cidrs;
	struct xdp_port_list out_tcp_ports;
	struct xdp_port_list out_udp_ports;
	uint16_t eph_lo, eph_hi;
	struct xdp_cidr_list blocklist;
	struct xdp_rate_cfg syn_source;
	struct xdp_rate_cfg syn_global;
	struct xdp_rate_cfg icmp;
	uint32_t syn_table_size;
	enum xdp_frag_policy fragments;
	uint32_t *steer_cpus;
	size_t n_steer_cpus;
	uint32_t steer_queue_size;
};

struct xdp_runtime;

/* Parse the "xdp" object of the edgetrackd JSON config (jansson json_t*). obj NULL = XDP off
 * (out gets the defaults with enabled = false). Errors name the JSON path
 * (e.g. "xdp.blocklist[3]: bad CIDR"); out is untouched on error. */
int xdp_settings_parse(const json_t *obj, struct xdp_settings *out, char *err, size_t errlen);
void xdp_settings_free(struct xdp_settings *s);

/* Load + attach on every configured interface (native, falling back to generic with a log
 * line), replacing a stale edgetrack program left by a crashed instance. No interface
 * configured, or no privilege: returns a runtime in a logged "inactive" mode, not an error.
 * NULL with err set on real errors (unknown interface, foreign XDP program, bad bpffs). */
struct xdp_runtime *xdp_runtime_start(const struct xdp_settings *s, char *err, size_t errlen);
/* True when the program is loaded and attached. */
bool xdp_runtime_active(const struct xdp_runtime *rt);
/* The verdict counters summed over CPUs, indexed by enum xdp_reason (bpf/xdp_filter.h),
 * packets and bytes for each; -1 when the filter is not active. */
struct xdp_counter;
int xdp_runtime_counters(const struct xdp_runtime *rt, struct xdp_counter *out);
/* SIGHUP: swap the rule set atomically (new maps, then one generation switch). Interfaces,
 * mode and pin_dir changes need a restart (logged); everything else applies. On error the
 * running rule set stays. */
int xdp_runtime_update(struct xdp_runtime *rt, const struct xdp_settings *s, char *err, size_t errlen);
/* Detach from every interface, remove the pins (dynamic blocks stay pinned), free. */
void xdp_runtime_stop(struct xdp_runtime *rt);
/* Free the runtime but leave program, links and maps pinned and attached (for
 * `edgetrackctl xdp attach`, whose process exits while the filter keeps running). */
void xdp_runtime_release(struct xdp_runtime *rt);

/* `edgetrackctl xdp stats|rules|block CIDR|unblock CIDR|attach --config FILE|detach`
 * (argv[0] = "xdp"); --pin-dir DIR selects the bpffs directory. Returns an exit status. */
int xdp_cli_main(int argc, char **argv);

#endif
