// SPDX-License-Identifier: MIT
/* The "xdp" config object: defaults, every key, and errors that name the JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "xdp/xdp.h"
#include "xdp/xdp_maps.h"

static int parse(const char *json, struct xdp_settings *s, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	int rc;

	if (!o)
		fail_msg("bad test JSON: %s", jerr.text);
	rc = xdp_settings_parse(o, s, err, errlen);
	json_decref(o);
	return rc;
}

static void test_defaults(void **state)
{
	struct xdp_settings s;
	char err[256];

	(void)state;
	assert_int_equal(xdp_settings_parse(NULL, &s, err, sizeof(err)), 0);
	assert_false(s.enabled);
	assert_int_equal(s.n_interfaces, 0);
	assert_string_equal(s.pin_dir, XDP_DEFAULT_PIN_DIR);
	assert_int_equal(s.service_ports.n, 2);
	assert_int_equal(s.service_ports.v[0], 80);
	assert_int_equal(s.service_ports.v[1], 443);
	assert_int_equal(s.eph_lo, 32768);
	assert_int_equal(s.eph_hi, 60999);
	assert_int_equal(s.fragments, XDP_FRAGS_DROP);
	assert_int_equal(s.syn_source.rate, 100);
	xdp_settings_free(&s);
	assert_int_equal(parse("{}", &s, err, sizeof(err)), 0);
	assert_true(s.enabled);
	xdp_settings_free(&s);
}

static void test_full(void **state)
{
	struct xdp_settings s;
	char err[256], buf[64];

	(void)state;
	assert_int_equal(parse("{\"interfaces\": [\"eth0\", \"eth1\"], \"mode\": \"generic\","
			       " \"pin_dir\": \"/sys/fs/bpf/et2\","
			       " \"service\": {\"addresses\": [\"192.0.2.1\", \"2001:db8::1\"], \"ports\": [8080]},"
			       " \"management\": {\"ports\": [22, 9000], \"cidrs\": [\"198.51.100.0/24\"]},"
			       " \"outbound\": {\"tcp_ports\": [443], \"udp_ports\": [53], \"ephemeral\": [40000, 50000]},"
			       " \"blocklist\": [\"203.0.113.0/24\", \"2001:db8:bad::/48\", \"0.0.0.0/0\"],"
			       " \"syn\": {\"per_source\": 5, \"burst\": 7, \"global\": 100, \"global_burst\": 150, \"table_size\": 4096},"
			       " \"icmp\": {\"rate\": 9},"
			       " \"fragments\": \"pass\","
			       " \"steer\": {\"cpus\": [0, 1], \"queue_size\": 512}}",
			       &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_interfaces, 2);
	assert_string_equal(s.interfaces[1], "eth1");
	assert_int_equal(s.mode, XDP_ATTACH_GENERIC);
	assert_string_equal(s.pin_dir, "/sys/fs/bpf/et2");
	assert_int_equal(s.service_addrs.n, 2);
	assert_int_equal(s.service_addrs.v[1].family, 6);
	assert_int_equal(s.service_ports.n, 1);
	assert_int_equal(s.mgmt_ports.v[1], 9000);
	assert_int_equal(s.eph_lo, 40000);
	assert_int_equal(s.blocklist.n, 3);
	xdp_cidr_format(&s.blocklist.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:bad::/48");
	xdp_cidr_format(&s.blocklist.v[2], buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0");
	assert_int_equal(s.syn_source.rate, 5);
	assert_int_equal(s.syn_source.burst, 7);
	assert_int_equal(s.syn_global.burst, 150);
	assert_int_equal(s.syn_table_size, 4096);
	assert_int_equal(s.icmp.rate, 9);
	assert_int_equal(s.icmp.burst, 9); /* burst defaults to one second of rate */
	assert_int_equal(s.fragments, XDP_FRAGS_PASS);
	assert_int_equal(s.n_steer_cpus, 2);
	assert_int_equal(s.steer_queue_size, 512);
	xdp_settings_free(&s);
}

static void expect_error(const char *json, const char *want)
{
	struct xdp_settings s;
	char err[256] = "";

	memset(&s, 0x5a, sizeof(s));
	if (parse(json, &s, err, sizeof(err)) == 0)
		fail_msg("accepted %s", json);
	if (!strstr(err, want))
		fail_msg("%s: error \"%s\" lacks \"%s\"", json, err, want);
	/* Untouched on error. */
	assert_int_equal(((unsigned char *)&s)[0], 0x5a);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[]", "xdp: must be an object");
	expect_error("{\"interface\": []}", "xdp.interface: unknown key");
	expect_error("{\"interfaces\": [\"eth0\", 3]}", "xdp.interfaces[1]");
	expect_error("{\"interfaces\": [\"a-very-long-interface-name\"]}", "xdp.interfaces[0]");
	expect_error("{\"mode\": \"fast\"}", "xdp.mode: unknown value");
	expect_error("{\"pin_dir\": \"relative\"}", "xdp.pin_dir");
	expect_error("{\"blocklist\": [\"1.2.3.0/24\", \"1.2.3.4/33\"]}", "xdp.blocklist[1]: bad CIDR");
	expect_error("{\"blocklist\": [\"1.2.3.0/24\", \"x\", \"y\", \"1.2.3.4/24\"]}", "xdp.blocklist[1]");
	expect_error("{\"blocklist\": [\"1.2.3.4/24\"]}", "host bits set");
	expect_error("{\"blocklist\": [\"2001:db8::/129\"]}", "prefix length");
	expect_error("{\"blocklist\": [\"1.2.3.4/\"]}", "prefix length");
	expect_error("{\"blocklist\": \"1.2.3.4\"}", "xdp.blocklist: must be an array");
	expect_error("{\"service\": {\"addresses\": [\"192.0.2.0/24\"]}}",
		     "xdp.service.addresses[0]: must be an address");
	expect_error("{\"service\": {\"ports\": [80, 65536]}}", "xdp.service.ports[1]");
	expect_error("{\"service\": {\"ports\": [0]}}", "xdp.service.ports[0]");
	expect_error("{\"service\": {\"port\": [80]}}", "xdp.service.port: unknown key");
	expect_error("{\"management\": {\"cidrs\": [\"10.0.0.0/8\", 7]}}", "xdp.management.cidrs[1]");
	expect_error("{\"outbound\": {\"ephemeral\": [50000, 40000]}}", "xdp.outbound.ephemeral");
	expect_error("{\"outbound\": {\"ephemeral\": [80, 40000]}}", "xdp.outbound.ephemeral");
	expect_error("{\"syn\": {\"per_source\": -1}}", "xdp.syn.per_source");
	expect_error("{\"syn\": {\"burst\": 0}}", "xdp.syn.burst");
	expect_error("{\"syn\": {\"global\": 100000000}}", "xdp.syn.global");
	expect_error("{\"syn\": {\"table_size\": 10}}", "xdp.syn.table_size");
	expect_error("{\"icmp\": {\"rate\": \"fast\"}}", "xdp.icmp.rate");
	expect_error("{\"fragments\": \"reassemble\"}", "xdp.fragments");
	expect_error("{\"steer\": {\"cpus\": []}}", "xdp.steer.cpus");
	expect_error("{\"steer\": {\"cpus\": [0, 999]}}", "xdp.steer.cpus[1]");
	expect_error("{\"blocklist_file\": \"/nonexistent/blocklist\"}", "xdp.blocklist_file");
}

static void test_blocklist_file(void **state)
{
	char path[] = "/tmp/et-xdp-blocklist-XXXXXX", err[256];
	struct xdp_settings s;
	char json[256];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# scanners\n203.0.113.0/24\n\n  2001:db8:bad::/48  # comment\n198.51.100.7\n", f);
	fclose(f);
	snprintf(json, sizeof(json), "{\"blocklist\": [\"192.0.2.0/24\"], \"blocklist_file\": \"%s\"}", path);
	assert_int_equal(parse(json, &s, err, sizeof(err)), 0);
	assert_int_equal(s.blocklist.n, 4);
	assert_int_equal(s.blocklist.v[3].prefixlen, 32);
	xdp_settings_free(&s);

	f = fopen(path, "w");
	fputs("203.0.113.0/24\n203.0.113.0/33\n", f);
	fclose(f);
	expect_error(json, ":2: bad CIDR");
	f = fopen(path, "w");
	fputs("203.0.113.0/24 198.51.100.0/24\n", f);
	fclose(f);
	expect_error(json, ":1: one CIDR per line");
	unlink(path);
}

static void test_cidr_keys(void **state)
{
	struct xdp_cidr c, back;
	struct xdp_lpm_key k;
	char err[128], buf[64];

	(void)state;
	assert_int_equal(xdp_cidr_parse("192.0.2.0/24", &c, err, sizeof(err)), 0);
	xdp_cidr_to_key(&c, &k);
	assert_int_equal(k.prefixlen, 120);
	assert_int_equal(k.addr[10], 0xff);
	assert_int_equal(k.addr[12], 192);
	xdp_key_to_cidr(&k, &back);
	xdp_cidr_format(&back, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24");
	assert_int_equal(xdp_cidr_parse("2001:db8::/32", &c, err, sizeof(err)), 0);
	xdp_cidr_to_key(&c, &k);
	assert_int_equal(k.prefixlen, 32);
	xdp_key_to_cidr(&k, &back);
	xdp_cidr_format(&back, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	assert_int_equal(strcmp(xdp_reason_name(XDP_R_DROP_BLOCKLIST), "drop_blocklist"), 0);
	assert_int_equal(strcmp(xdp_reason_name(XDP_R_MAX), "unknown"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_blocklist_file),
		cmocka_unit_test(test_cidr_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
