/* SPDX-License-Identifier: MIT */
/*
 * Map-level operations of the XDP filter, shared by the runtime (skeleton maps), the CLI
 * (pinned maps) and the tests: install a rule set as a new generation, dynamic
 * block/unblock, counters, CIDR text.
 */
#ifndef ET_XDP_XDP_MAPS_H
#define ET_XDP_XDP_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "bpf/xdp_filter.h"
#include "xdp/xdp.h"

/* File descriptors of the program's maps; -1 when absent. */
struct xdp_maps {
	int ctl, rules, blk, mgmt, svc, syn_src, buckets, counters, cpumap;
	int dyn; /* userspace-only hash of CIDRs blocked through `edgetrackctl xdp block` */
};

/* Pin names under the pin directory, in struct xdp_maps order (dyn last). */
extern const char *const xdp_map_pin_names[10];
#define XDP_PIN_LINK_PREFIX "link_"

struct bpf_object;

void xdp_maps_init(struct xdp_maps *m);
/* The fds of a loaded xdp_filter object (owned by the object; dyn stays -1). */
void xdp_maps_from_obj(struct bpf_object *obj, struct xdp_maps *m);
/* Open every pinned map of dir; err names the missing one. */
int xdp_maps_open_pinned(const char *dir, struct xdp_maps *m, char *err, size_t errlen);
void xdp_maps_close(struct xdp_maps *m);
int *xdp_maps_slot(struct xdp_maps *m, size_t i);
/* Create the dynamic-block hash (not pinned). */
int xdp_dyn_create(void);

/* Build every map of s into the idle generation, then switch the active generation. The
 * datapath sees the old or the new rule set, never a mix; on error nothing changes. */
int xdp_rules_install(const struct xdp_maps *m, const struct xdp_settings *s, char *err, size_t errlen);
/* Active generation (0 or 1), or -1. */
int xdp_active_gen(const struct xdp_maps *m);

/* Add or remove one CIDR in the live blocklist and in the dynamic set that later
 * installs carry over. Removing a CIDR that came from the config lasts until the next
 * install. */
int xdp_block(const struct xdp_maps *m, const struct xdp_cidr *c, bool block, char *err, size_t errlen);

/* Counters summed over CPUs, indexed by enum xdp_reason. */
int xdp_counters_read(const struct xdp_maps *m, struct xdp_counter out[XDP_R_MAX]);
const char *xdp_reason_name(unsigned reason);

/* "a.b.c.d[/n]" or "x::y[/n]"; host bits must be zero. */
int xdp_cidr_parse(const char *s, struct xdp_cidr *out, char *err, size_t errlen);
void xdp_cidr_format(const struct xdp_cidr *c, char *buf, size_t len);
/* LPM key (IPv4-mapped) of a CIDR and back. */
void xdp_cidr_to_key(const struct xdp_cidr *c, struct xdp_lpm_key *k);
void xdp_key_to_cidr(const struct xdp_lpm_key *k, struct xdp_cidr *c);

#endif
