// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/domain_table.h"

static int v1, v2, v3, v4;

static void *look(const struct domain_table *t, const char *host)
{
	return domain_table_lookup(t, host, strlen(host));
}

static int add(struct domain_table *t, const char *name, void *v)
{
	char err[128] = "";
	int rc = domain_table_add(t, name, strlen(name), v, err, sizeof(err));

	assert_true(rc == 0 || err[0] != '\0');   /* a failure always says why */
	return rc;
}

static void test_exact(void **state)
{
	struct domain_table *t = domain_table_new(0);

	(void)state;
	assert_non_null(t);
	assert_int_equal(add(t, "click.example.com", &v1), 0);
	assert_int_equal(add(t, "Track.Other.ORG.", &v2), 0);   /* normalized on add */
	assert_ptr_equal(look(t, "click.example.com"), &v1);
	assert_ptr_equal(look(t, "track.other.org"), &v2);
	assert_null(look(t, "example.com"));
	assert_null(look(t, "a.click.example.com"));
	assert_null(look(t, "click.example.co"));
	assert_null(look(t, "click.example.comm"));
	assert_null(look(t, ""));
	assert_null(domain_table_lookup(t, "click.example.com", 5));
	assert_int_equal(domain_table_count(t), 2);
	domain_table_free(t, NULL);
}

static void test_wildcard(void **state)
{
	struct domain_table *t = domain_table_new(4);
	int wild = -1;

	(void)state;
	assert_int_equal(add(t, "*.example.com", &v1), 0);
	assert_int_equal(add(t, "special.example.com", &v2), 0);
	assert_int_equal(add(t, "example.com", &v3), 0);

	assert_ptr_equal(domain_table_lookup_ex(t, "a.example.com", 13, &wild), &v1);
	assert_int_equal(wild, 1);
	assert_ptr_equal(look(t, "xn--80a.example.com"), &v1);
	/* exact beats wildcard */
	assert_ptr_equal(domain_table_lookup_ex(t, "special.example.com", 19, &wild), &v2);
	assert_int_equal(wild, 0);
	/* the apex is its own entry, never the wildcard's */
	assert_ptr_equal(look(t, "example.com"), &v3);
	/* one label only */
	assert_null(look(t, "a.b.example.com"));
	assert_null(look(t, "a.special.example.com"));
	assert_null(look(t, "aexample.com"));
	assert_null(look(t, ".example.com"));
	assert_null(look(t, "com"));
	domain_table_free(t, NULL);

	/* without an apex entry the wildcard still does not match the apex */
	t = domain_table_new(0);
	assert_int_equal(add(t, "*.example.net", &v4), 0);
	assert_null(look(t, "example.net"));
	assert_null(look(t, "net"));
	assert_ptr_equal(look(t, "x.example.net"), &v4);
	/* a wildcard for a deeper name does not cover its parent's children */
	assert_int_equal(add(t, "*.b.example.org", &v2), 0);
	assert_null(look(t, "a.example.org"));
	assert_ptr_equal(look(t, "a.b.example.org"), &v2);
	domain_table_free(t, NULL);
}

static void test_duplicates_and_invalid(void **state)
{
	struct domain_table *t = domain_table_new(0);
	char err[128];

	(void)state;
	assert_int_equal(add(t, "a.example.com", &v1), 0);
	assert_int_equal(add(t, "*.example.com", &v2), 0);

	err[0] = '\0';
	assert_int_equal(domain_table_add(t, "A.EXAMPLE.com.", 14, &v3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(domain_table_add(t, "*.example.COM", 13, &v3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));

	const char *bad[] = { "", "*", "a..b", "-a.com", "a.*.com", "a.com:80", "[::1]",
			      "a b.com", "*.", "x_y.com" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(domain_table_add(t, bad[i], strlen(bad[i]), &v3, err,
						  sizeof(err)), -1);
		assert_non_null(strstr(err, "invalid"));
	}
	assert_int_equal(domain_table_add(t, "ok.com", 6, NULL, err, sizeof(err)), -1);
	assert_int_equal(domain_table_add(t, NULL, 0, &v1, NULL, 0), -1);

	/* state intact after every failure */
	assert_int_equal(domain_table_count(t), 2);
	assert_ptr_equal(look(t, "a.example.com"), &v1);
	assert_ptr_equal(look(t, "b.example.com"), &v2);
	assert_null(look(t, "ok.com"));
	domain_table_free(t, NULL);
}

static int count_cb(const char *name, size_t len, void *value, void *arg)
{
	size_t *n = arg;

	assert_true(len > 0 && name[0] != '\0');
	assert_non_null(value);
	(*n)++;
	return 0;
}

static int frees;
static void count_free(void *v)
{
	(void)v;
	frees++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BIG 100000

/* 100,000 names (a third of them wildcards), then every kind of hit and miss. */
static void test_large(void **state)
{
	struct domain_table *t = domain_table_new(0);   /* no hint: growth is exercised */
	uintptr_t *vals = calloc(BIG, sizeof(*vals));
	char name[64];
	double t0, t1, t2;
	size_t n = 0;
	long hits = 0;

	(void)state;
	assert_non_null(vals);
	t0 = now_s();
	for (int i = 0; i < BIG; i++) {
		vals[i] = (uintptr_t)i + 1;
		if (i % 3 == 0)
			snprintf(name, sizeof(name), "*.c%d.mail%d.example", i, i % 97);
		else
			snprintf(name, sizeof(name), "click%d.customer%d.example", i, i % 89);
		assert_int_equal(add(t, name, &vals[i]), 0);
	}
	t1 = now_s();
	assert_int_equal(domain_table_count(t), BIG);
	assert_int_equal(domain_table_foreach(t, count_cb, &n), 0);
	assert_int_equal(n, BIG);

	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < BIG; i++) {
			int len;

			if (i % 3 == 0)
				len = snprintf(name, sizeof(name), "x%d.c%d.mail%d.example", round, i,
					       i % 97);
			else
				len = snprintf(name, sizeof(name), "click%d.customer%d.example", i,
					       i % 89);
			if (domain_table_lookup(t, name, (size_t)len) != &vals[i])
				fail_msg("lookup %s", name);
			hits++;
			/* misses: a wrong suffix, an extra label, the wildcard apex */
			len = snprintf(name, sizeof(name), "click%d.customer%d.example", i,
				       i % 89 + 1);
			assert_null(domain_table_lookup(t, name, (size_t)len));
			len = snprintf(name, sizeof(name), "a.b.c%d.mail%d.example", i, i % 97);
			assert_null(domain_table_lookup(t, name, (size_t)len));
		}
	}
	t2 = now_s();
	print_message("domain_table: %d adds %.1f ms (%.0f ns/add), %ld hits + %ld misses "
		      "%.0f ns/lookup\n", BIG, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / BIG, hits,
		      2 * hits, (t2 - t1) * 1e9 / (3.0 * hits));
	/* generous bounds (sanitizer builds are slow): catches quadratic behaviour only */
	assert_true(t1 - t0 < 5.0);
	assert_true((t2 - t1) * 1e9 / (3.0 * hits) < 20000);

	frees = 0;
	domain_table_free(t, count_free);
	assert_int_equal(frees, BIG);
	free(vals);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_duplicates_and_invalid),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
