// SPDX-License-Identifier: MIT
/*
 * Load, pin, attach, update and detach the XDP filter.
 *
 * Each interface gets a bpf_link pinned as <pin_dir>/link_<ifname>. A pinned link survives
 * a crash of edgetrackd, so filtering continues with the last rule set; the next start finds
 * the pin and swaps its new program into the same link (bpf_link_update), which neither
 * stacks programs nor leaves a window without filtering.
 */
#include "xdp/xdp.h"
#include "core/err.h"
#include "xdp/xdp_maps.h"
#include "core/log.h"
#include "bpf/xdp_filter.skel.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

struct xdp_iface_link {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int fd;
};

struct xdp_runtime {
	bool active;
	char *pin_dir;
	struct xdp_filter *skel;
	struct xdp_maps maps; /* skeleton fds (owned by skel) + dyn (owned here) */
	struct xdp_iface_link *links;
	size_t n_links;
};

static struct xdp_runtime *runtime_new(const struct xdp_settings *s)
{
	struct xdp_runtime *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return NULL;
	xdp_maps_init(&rt->maps);
	rt->pin_dir = strdup(s->pin_dir ? s->pin_dir : XDP_DEFAULT_PIN_DIR);
	rt->links = calloc(s->n_interfaces + 1, sizeof(*rt->links));
	if (!rt->pin_dir || !rt->links) {
		free(rt->pin_dir);
		free(rt->links);
		free(rt);
		return NULL;
	}
	return rt;
}

static void runtime_free(struct xdp_runtime *rt)
{
	if (rt->maps.dyn >= 0)
		close(rt->maps.dyn);
	xdp_filter__destroy(rt->skel);
	free(rt->links);
	free(rt->pin_dir);
	free(rt);
}

static struct xdp_runtime *inactive(struct xdp_runtime *rt, const char *reason)
{
	log_info("xdp_inactive", "reason=%s", reason);
	xdp_filter__destroy(rt->skel);
	rt->skel = NULL;
	rt->active = false;
	return rt;
}

/* ------------------------------------------------------------------ bpffs and pins */

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC_NUMBER;
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t i;

	if (strlen(dir) >= sizeof(p))
		return -1;
	strcpy(p, dir);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* The pin directory must be on bpffs; the standard /sys/fs/bpf is mounted when missing. */
static int pin_dir_prepare(const char *dir, char *err, size_t errlen)
{
	static const char std[] = "/sys/fs/bpf";

	if (strncmp(dir, "/sys/fs/bpf/", sizeof(std)) == 0 && !is_bpffs(std)) {
		if (mount("bpf", std, "bpf", 0, "mode=0700") < 0)
			return err_set(err, errlen, "xdp.pin_dir: mounting bpffs on %s: %s", std,
				    strerror(errno));
		log_info("xdp_bpffs_mounted", "path=%s", std);
	}
	if (mkdir_p(dir) < 0)
		return err_set(err, errlen, "xdp.pin_dir: %s: %s", dir, strerror(errno));
	if (!is_bpffs(dir))
		return err_set(err, errlen, "xdp.pin_dir: %s is not on a bpf filesystem", dir);
	return 0;
}

static int pin_maps(struct xdp_runtime *rt, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "%s/%s", rt->pin_dir, xdp_map_pin_names[i]);
		/* Pins of a crashed instance are replaced by ours. */
		if (unlink(path) < 0 && errno != ENOENT)
			return err_set(err, errlen, "xdp: %s: %s", path, strerror(errno));
		if (bpf_obj_pin(*xdp_maps_slot(&rt->maps, i), path) < 0)
			return err_set(err, errlen, "xdp: pinning %s: %s", path, strerror(errno));
	}
	/* Dynamic blocks outlive restarts: reuse the pinned set if there is one. */
	snprintf(path, sizeof(path), "%s/%s", rt->pin_dir, xdp_map_pin_names[9]);
	rt->maps.dyn = bpf_obj_get(path);
	if (rt->maps.dyn >= 0)
		return 0;
	rt->maps.dyn = xdp_dyn_create();
	if (rt->maps.dyn < 0 || bpf_obj_pin(rt->maps.dyn, path) < 0)
		return err_set(err, errlen, "xdp: %s: %s", path, strerror(errno));
	return 0;
}

static void unpin_maps(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, xdp_map_pin_names[i]);
		unlink(path);
	}
}

/* ------------------------------------------------------------------ attach */

static int detach_legacy(int ifindex, const char *ifname, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	__u32 flags;
	int fd;

	if (bpf_xdp_query(ifindex, 0, &q) < 0 || q.prog_id == 0)
		return 0;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return err_set(err, errlen, "xdp: %s: inspecting attached program: %s", ifname,
			    strerror(errno));
	}
	close(fd);
	if (strcmp(info.name, XDP_PROG_NAME) != 0)
		return err_set(err, errlen, "xdp: %s: another XDP program (%s) is attached", ifname,
			    info.name);
	flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
		q.attach_mode == XDP_ATTACHED_HW ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE;
	if (bpf_xdp_detach(ifindex, flags, NULL) < 0)
		return err_set(err, errlen, "xdp: %s: an edgetrack XDP program is attached and held "
			    "by a running process: %s", ifname, strerror(errno));
	log_info("xdp_replaced_stale", "iface=%s prog_id=%u", ifname, q.prog_id);
	return 0;
}

static int link_create(int prog, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);

	return bpf_link_create(prog, ifindex, BPF_XDP, &o);
}

static int attach_new(int prog, struct xdp_iface_link *l, enum xdp_attach_mode mode,
		      char *err, size_t errlen)
{
	int fd = -1;

	if (mode != XDP_ATTACH_GENERIC) {
		fd = link_create(prog, l->ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			log_info("xdp_attached", "iface=%s mode=native", l->ifname);
			return fd;
		}
		if (mode == XDP_ATTACH_NATIVE)
			return err_set(err, errlen, "xdp: %s: native attach: %s", l->ifname, strerror(errno));
		log_warn("xdp_generic_fallback", "iface=%s native_error=\"%s\"", l->ifname,
			 strerror(errno));
	}
	fd = link_create(prog, l->ifindex, XDP_FLAGS_SKB_MODE);
	if (fd < 0)
		return err_set(err, errlen, "xdp: %s: generic attach: %s", l->ifname, strerror(errno));
	log_info("xdp_attached", "iface=%s mode=generic", l->ifname);
	return fd;
}

static int attach_one(struct xdp_runtime *rt, const struct xdp_settings *s, size_t i,
		      char *err, size_t errlen)
{
	struct xdp_iface_link *l = &rt->links[i];
	int prog = bpf_program__fd(rt->skel->progs.xdp_edgetrack);
	char path[PATH_MAX];

	snprintf(l->ifname, sizeof(l->ifname), "%s", s->interfaces[i]);
	l->fd = -1;
	l->ifindex = (int)if_nametoindex(l->ifname);
	if (!l->ifindex)
		return err_set(err, errlen, "xdp.interfaces[%zu]: no such interface %s", i, l->ifname);
	snprintf(path, sizeof(path), "%s/%s%s", rt->pin_dir, XDP_PIN_LINK_PREFIX, l->ifname);
	l->fd = bpf_obj_get(path);
	if (l->fd >= 0) {
		if (bpf_link_update(l->fd, prog, NULL) == 0) {
			log_info("xdp_replaced_stale", "iface=%s link=%s", l->ifname, path);
			return 0;
		}
		/* A link whose interface went away: start over with a fresh one. */
		close(l->fd);
		l->fd = -1;
	}
	unlink(path);
	if (detach_legacy(l->ifindex, l->ifname, err, errlen) < 0)
		return -1;
	l->fd = attach_new(prog, l, s->mode, err, errlen);
	if (l->fd < 0)
		return -1;
	if (bpf_obj_pin(l->fd, path) < 0)
		return err_set(err, errlen, "xdp: pinning %s: %s", path, strerror(errno));
	return 0;
}

static void detach_all(struct xdp_runtime *rt)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < rt->n_links; i++) {
		struct xdp_iface_link *l = &rt->links[i];

		if (l->fd < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", rt->pin_dir, XDP_PIN_LINK_PREFIX, l->ifname);
		unlink(path);
		if (bpf_link_detach(l->fd) < 0)
			log_warn("xdp_detach_failed", "iface=%s error=\"%s\"", l->ifname, strerror(errno));
		else
			log_info("xdp_detached", "iface=%s", l->ifname);
		close(l->fd);
		l->fd = -1;
	}
	rt->n_links = 0;
}

/* ------------------------------------------------------------------ load */

/* Open and load the program; -EPERM when the process may not load BPF. */
static int load(struct xdp_runtime *rt, const struct xdp_settings *s, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus(), rc;

	rt->skel = xdp_filter__open();
	if (!rt->skel)
		return err_set(err, errlen, "xdp: opening the BPF object: %s", strerror(errno));
	bpf_map__set_max_entries(rt->skel->maps.xdp_syn_src, s->syn_table_size);
	if (ncpu > 0 && ncpu < XDP_CPUMAP_MAX)
		bpf_map__set_max_entries(rt->skel->maps.xdp_cpumap, (__u32)ncpu);
	rc = xdp_filter__load(rt->skel);
	if (rc == -EPERM || rc == -EACCES)
		return -EPERM;
	if (rc < 0)
		return err_set(err, errlen, "xdp: loading the BPF program: %s", strerror(-rc));
	xdp_maps_from_obj(rt->skel->obj, &rt->maps);
	return 0;
}

struct xdp_runtime *xdp_runtime_start(const struct xdp_settings *s, char *err, size_t errlen)
{
	struct xdp_runtime *rt = runtime_new(s);
	size_t i;
	int rc;

	if (!rt) {
		err_set(err, errlen, "xdp: out of memory");
		return NULL;
	}
	if (!s->enabled || s->n_interfaces == 0)
		return inactive(rt, "no_interface");
	rc = load(rt, s, err, errlen);
	/* root that gets EPERM is a refusal (verifier, lockdown), not missing privilege */
	if (rc == -EPERM && geteuid() != 0)
		return inactive(rt, "no_privilege");
	if (rc < 0 || pin_dir_prepare(rt->pin_dir, err, errlen) < 0 ||
	    pin_maps(rt, err, errlen) < 0 || xdp_rules_install(&rt->maps, s, err, errlen) < 0)
		goto fail;
	for (i = 0; i < s->n_interfaces; i++) {
		rt->n_links = i + 1;
		if (attach_one(rt, s, i, err, errlen) < 0)
			goto fail;
	}
	rt->active = true;
	log_info("xdp_active", "interfaces=%zu pin_dir=%s blocklist=%zu", s->n_interfaces,
		 rt->pin_dir, s->blocklist.n);
	return rt;
fail:
	detach_all(rt);
	if (rt->maps.ctl >= 0)
		unpin_maps(rt->pin_dir);
	runtime_free(rt);
	return NULL;
}

bool xdp_runtime_active(const struct xdp_runtime *rt)
{
	return rt && rt->active;
}

int xdp_runtime_counters(const struct xdp_runtime *rt, struct xdp_counter *out)
{
	if (!rt || !rt->active)
		return -1;
	return xdp_counters_read(&rt->maps, out);
}

static bool same_interfaces(const struct xdp_runtime *rt, const struct xdp_settings *s)
{
	size_t i;

	if (rt->n_links != s->n_interfaces)
		return false;
	for (i = 0; i < s->n_interfaces; i++)
		if (strcmp(rt->links[i].ifname, s->interfaces[i]) != 0)
			return false;
	return true;
}

int xdp_runtime_update(struct xdp_runtime *rt, const struct xdp_settings *s, char *err, size_t errlen)
{
	if (!rt)
		return err_set(err, errlen, "xdp: no runtime");
	if (!rt->active) {
		if (s->enabled && s->n_interfaces)
			log_warn("xdp_restart_needed", "reason=%s", "interfaces added while inactive");
		return 0;
	}
	if (!same_interfaces(rt, s) || strcmp(rt->pin_dir, s->pin_dir) != 0)
		log_warn("xdp_restart_needed", "reason=%s", "interfaces or pin_dir changed");
	if (xdp_rules_install(&rt->maps, s, err, errlen) < 0)
		return -1;
	log_info("xdp_rules_swapped", "gen=%d blocklist=%zu", xdp_active_gen(&rt->maps),
		 s->blocklist.n);
	return 0;
}

void xdp_runtime_stop(struct xdp_runtime *rt)
{
	if (!rt)
		return;
	if (rt->active) {
		detach_all(rt);
		unpin_maps(rt->pin_dir);
		rmdir(rt->pin_dir); /* stays when dynamic blocks are pinned in it */
	}
	runtime_free(rt);
}

void xdp_runtime_release(struct xdp_runtime *rt)
{
	size_t i;

	if (!rt)
		return;
	for (i = 0; i < rt->n_links; i++)
		if (rt->links[i].fd >= 0)
			close(rt->links[i].fd);
	runtime_free(rt);
}
