/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the bundle module's files. */
#ifndef ET_BUNDLE_UTIL_H
#define ET_BUNDLE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* A JSON integer in [min, max] into *out. */
bool json_int_in(json_t *v, long long min, long long max, long long *out);
/* Exactly 64 hex digits into 32 bytes. */
int hex32_parse(const char *s, unsigned char out[32]);
void hex32_format(const unsigned char in[32], char out[65]);
/* Whole file into a malloc'd buffer of at most max bytes; NULL with the reason. */
unsigned char *util_read_file(const char *path, size_t max, size_t *len, char *err,
			      size_t errlen);
/* A duration from now ("90d", "12h", "30m", "3600s", "2w") or a time ("2026-12-31T00:00:00Z",
 * "2026-12-31", "@1767139200"). 0 or -1. */
int util_parse_when(const char *s, time_t now, time_t *out);
/* Decimal, no sign, fits in 63 bits. 0 or -1. */
int util_parse_u64(const char *s, uint64_t *out);
/* A CLI subcommand table: runs the one argv[1] names on (argc - 1, argv + 1) with getopt
 * reset. 2 (usage) when argv[1] is missing or unknown (the latter said on stderr). */
struct util_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};
int util_dispatch(const struct util_cmd *cmds, size_t n, int argc, char **argv);
/* util_dispatch for a command's top level: -h/--help prints usage to stdout, a usage error
 * (exit code 2) prints it to stderr. */
int util_cli_main(const struct util_cmd *cmds, size_t n, int argc, char **argv,
		  void (*usage)(FILE *f));
/* Options that all take one value (--name VALUE), each stored into *val (the last one wins).
 * Returns optind (the first positional argument), or -1 on an unknown or incomplete option. */
struct util_opt {
	const char *name;
	const char **val;
};
int util_getopts(int argc, char **argv, const struct util_opt *opts, size_t n);
/* "2026-11-30T06:18:29Z" */
void util_fmt_time(time_t t, char *out, size_t cap);

#endif
