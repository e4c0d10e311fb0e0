/* SPDX-License-Identifier: MIT */
/* Helpers shared by the bundle unit tests: a private directory and whole-file writes. */
#ifndef ET_TEST_BUNDLE_UTIL_H
#define ET_TEST_BUNDLE_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int tb_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static inline void tb_mkdtemp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(buf));
}

static inline void tb_rmrf(const char *dir)
{
	assert_int_equal(nftw(dir, tb_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Teardown of fixtures whose first member is their directory (char dir[]). */
static inline int tb_teardown(void **state)
{
	tb_rmrf((const char *)*state);
	free(*state);
	return 0;
}

static inline void tb_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

#endif
