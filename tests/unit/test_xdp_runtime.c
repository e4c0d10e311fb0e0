// SPDX-License-Identifier: MIT
/*
 * The XDP runtime on real links: inactive modes, native attach with generic fallback, rule
 * swaps, crash recovery through the pinned links, clean stop. Runs in private network and
 * mount namespaces (unshare), so its links and bpffs vanish with the process. Needs root;
 * skipped without it.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"

#define BPFFS "/tmp/et-xdp-runtime-test"
#define PIN BPFFS "/pins"

static int isolated;

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return 0; /* no privilege: every test skips */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (mkdir(BPFFS, 0700) < 0 && errno != EEXIST) ||
	    mount("bpf", BPFFS, "bpf", 0, "mode=0700") < 0)
		return -1;
	if (system("ip link add etx0 type veth peer name etx1 && ip link set etx0 up && "
		   "ip link set etx1 up") != 0)
		return -1;
	isolated = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (isolated) {
		umount(BPFFS);
		rmdir(BPFFS);
	}
	return 0;
}

#define NEED_ROOT()                  \
	do {                         \
		if (!isolated)       \
			skip();      \
	} while (0)

static void settings(const char *json, struct xdp_settings *s)
{
	json_error_t jerr;
	char err[256];
	json_t *o = json_loads(json, 0, &jerr);

	assert_non_null(o);
	if (xdp_settings_parse(o, s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	json_decref(o);
}

static __u32 attached_id(const char *ifname, __u8 *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	assert_int_equal(bpf_xdp_query((int)if_nametoindex(ifname), 0, &q), 0);
	if (mode)
		*mode = q.attach_mode;
	return q.prog_id;
}

static void test_inactive(void **state)
{
	struct xdp_settings s;
	struct xdp_runtime *rt;
	char err[256];

	(void)state;
	/* No "xdp" object, or no interface: a runtime in inactive mode, not an error. */
	assert_int_equal(xdp_settings_parse(NULL, &s, err, sizeof(err)), 0);
	rt = xdp_runtime_start(&s, err, sizeof(err));
	assert_non_null(rt);
	assert_false(xdp_runtime_active(rt));
	assert_int_equal(xdp_runtime_update(rt, &s, err, sizeof(err)), 0);
	xdp_runtime_stop(rt);
	xdp_settings_free(&s);
	settings("{\"interfaces\": []}", &s);
	rt = xdp_runtime_start(&s, err, sizeof(err));
	assert_non_null(rt);
	assert_false(xdp_runtime_active(rt));
	xdp_runtime_stop(rt);
	xdp_settings_free(&s);
}

static void test_errors(void **state)
{
	struct xdp_settings s;
	char err[256] = "";

	NEED_ROOT();
	(void)state;
	settings("{\"interfaces\": [\"etx0\", \"nosuch0\"], \"pin_dir\": \"" PIN "\"}", &s);
	assert_null(xdp_runtime_start(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "xdp.interfaces[1]: no such interface nosuch0"));
	/* The failed start left nothing attached behind. */
	assert_int_equal(attached_id("etx0", NULL), 0);
	xdp_settings_free(&s);

	settings("{\"interfaces\": [\"lo\"], \"mode\": \"native\", \"pin_dir\": \"" PIN "\"}", &s);
	assert_null(xdp_runtime_start(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "lo: native attach"));
	xdp_settings_free(&s);

	settings("{\"interfaces\": [\"etx0\"], \"pin_dir\": \"/tmp\"}", &s);
	assert_null(xdp_runtime_start(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "not on a bpf filesystem"));
	xdp_settings_free(&s);
}

static void test_lifecycle(void **state)
{
	struct xdp_settings s, s2;
	struct xdp_runtime *rt;
	struct xdp_maps m;
	struct stat st;
	__u32 id1, id2;
	char err[256];
	__u8 mode;
	int gen;

	NEED_ROOT();
	(void)state;
	settings("{\"interfaces\": [\"etx0\", \"lo\"], \"pin_dir\": \"" PIN "\","
		 " \"blocklist\": [\"203.0.113.0/24\"]}", &s);
	rt = xdp_runtime_start(&s, err, sizeof(err));
	if (!rt)
		fail_msg("%s", err);
	assert_true(xdp_runtime_active(rt));
	id1 = attached_id("etx0", &mode);
	assert_int_not_equal(id1, 0);
	assert_int_equal(mode, XDP_ATTACHED_DRV);
	/* Loopback has no native XDP: auto mode falls back to generic. */
	assert_int_equal(attached_id("lo", &mode), id1);
	assert_int_equal(mode, XDP_ATTACHED_SKB);
	assert_int_equal(stat(PIN "/link_etx0", &st), 0);

	/* SIGHUP: a new rule set, one generation switch. */
	assert_int_equal(xdp_maps_open_pinned(PIN, &m, err, sizeof(err)), 0);
	gen = xdp_active_gen(&m);
	settings("{\"interfaces\": [\"etx0\", \"lo\"], \"pin_dir\": \"" PIN "\","
		 " \"service\": {\"ports\": [8080]}}", &s2);
	assert_int_equal(xdp_runtime_update(rt, &s2, err, sizeof(err)), 0);
	assert_int_equal(xdp_active_gen(&m), 1 - gen);
	xdp_maps_close(&m);

	/* Crash: the process goes away without detaching; links stay pinned and attached. */
	xdp_runtime_release(rt);
	assert_int_equal(attached_id("etx0", NULL), id1);
	rt = xdp_runtime_start(&s2, err, sizeof(err));
	if (!rt)
		fail_msg("restart: %s", err);
	id2 = attached_id("etx0", &mode);
	assert_int_not_equal(id2, id1); /* the new program replaced the stale one */
	assert_int_equal(mode, XDP_ATTACHED_DRV);
	assert_int_equal(attached_id("lo", NULL), id2);

	xdp_runtime_stop(rt);
	assert_int_equal(attached_id("etx0", NULL), 0);
	assert_int_equal(attached_id("lo", NULL), 0);
	assert_int_not_equal(stat(PIN "/link_etx0", &st), 0);
	assert_int_not_equal(stat(PIN "/xdp_counters", &st), 0);
	assert_int_equal(stat(PIN "/xdp_blk_dyn", &st), 0); /* dynamic blocks are kept */
	xdp_settings_free(&s);
	xdp_settings_free(&s2);
}

/* A program attached the old way (netlink) by an earlier edgetrack is replaced, a foreign
 * one is left alone with a clear error. */
static void test_legacy_attach(void **state)
{
	struct xdp_settings s;
	struct xdp_runtime *rt;
	char err[256];
	int ifx = (int)if_nametoindex("etx0");
	struct bpf_object *obj;
	struct bpf_program *p;
	__u32 id;

	NEED_ROOT();
	(void)state;
	settings("{\"interfaces\": [\"etx0\"], \"pin_dir\": \"" PIN "\"}", &s);
	/* Attach our own program by netlink, as a stale leftover. */
	rt = xdp_runtime_start(&s, err, sizeof(err));
	assert_non_null(rt);
	id = attached_id("etx0", NULL);
	{
		int fd = bpf_prog_get_fd_by_id(id);

		xdp_runtime_stop(rt);
		assert_int_equal(bpf_xdp_attach(ifx, fd, XDP_FLAGS_DRV_MODE, NULL), 0);
		close(fd);
	}
	rt = xdp_runtime_start(&s, err, sizeof(err));
	if (!rt)
		fail_msg("%s", err);
	assert_int_not_equal(attached_id("etx0", NULL), id);
	xdp_runtime_stop(rt);
	assert_int_equal(attached_id("etx0", NULL), 0);

	/* A foreign program: refuse. */
	obj = bpf_object__open_file("/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o", NULL);
	if (!obj) {
		xdp_settings_free(&s);
		return; /* xdp-tools not installed: the foreign case is not testable here */
	}
	{
		struct bpf_map *map;

		bpf_object__for_each_map(map, obj)
			bpf_map__set_pin_path(map, NULL);
	}
	assert_int_equal(bpf_object__load(obj), 0);
	p = bpf_object__next_program(obj, NULL);
	assert_int_equal(bpf_xdp_attach(ifx, bpf_program__fd(p), XDP_FLAGS_DRV_MODE, NULL), 0);
	assert_null(xdp_runtime_start(&s, err, sizeof(err)));
	assert_non_null(strstr(err, "another XDP program"));
	assert_int_not_equal(attached_id("etx0", NULL), 0);
	bpf_xdp_detach(ifx, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	xdp_settings_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inactive),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_legacy_attach),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
