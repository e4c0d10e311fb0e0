// SPDX-License-Identifier: MIT
#include "bundle/util.h"
#include "core/err.h"
#include "core/file.h"
#include "core/num.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool json_int_in(json_t *v, long long min, long long max, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

int hex32_parse(const char *s, unsigned char out[32])
{
	size_t n;
	const char *end;

	if (!s || strlen(s) != 64)
		return -1;
	if (sodium_hex2bin(out, 32, s, 64, NULL, &n, &end) || n != 32 || end != s + 64)
		return -1;
	return 0;
}

void hex32_format(const unsigned char in[32], char out[65])
{
	sodium_bin2hex(out, 65, in, 32);
}

/* Sized by the file, not by max: a bundle cap of hundreds of MiB must not cost that much
 * memory for a small file. A missing file leaves errno at ENOENT. */
unsigned char *util_read_file(const char *path, size_t max, size_t *len, char *err,
			      size_t errlen)
{
	char *p;

	if (file_read(AT_FDCWD, path, max, &p, len, NULL, err, errlen))
		return NULL;
	return (unsigned char *)p;
}

void util_fmt_time(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "@%lld", (long long)t);
}

int util_parse_u64(const char *s, uint64_t *out)
{
	return num_parse_u64(s, INT64_MAX, out);
}

static int parse_duration(const char *s, time_t now, time_t *out)
{
	static const struct { char unit; long long secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	size_t n = strlen(s);
	char num[24];
	uint64_t v;

	if (n < 2 || n > sizeof(num))
		return -1;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (util_parse_u64(num, &v))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit && v <= (uint64_t)(INT64_MAX - now) / units[i].secs) {
			*out = now + (time_t)(v * (uint64_t)units[i].secs);
			return 0;
		}
	return -1;
}

int util_parse_when(const char *s, time_t now, time_t *out)
{
	struct tm tm = { 0 };
	uint64_t v;
	const char *end;

	if (s[0] == '@') {
		if (util_parse_u64(s + 1, &v))
			return -1;
		*out = (time_t)v;
		return 0;
	}
	if (!parse_duration(s, now, out))
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int util_dispatch(const struct util_cmd *cmds, size_t n, int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		optind = 0;   /* GNU getopt: start afresh on the subcommand's arguments */
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "edgetrackctl: unknown command \"%s %s\"\n", argv[0], argv[1]);
	return 2;
}

int util_cli_main(const struct util_cmd *cmds, size_t n, int argc, char **argv,
		  void (*usage)(FILE *f))
{
	int rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	rc = util_dispatch(cmds, n, argc, argv);
	if (rc == 2)
		usage(stderr);
	return rc;
}

int util_getopts(int argc, char **argv, const struct util_opt *opts, size_t n)
{
	struct option lo[16] = { { 0 } };
	int o;

	if (n >= sizeof(lo) / sizeof(lo[0]))
		return -1;
	for (size_t i = 0; i < n; i++)
		lo[i] = (struct option){ opts[i].name, required_argument, NULL, (int)i + 1 };
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o < 1 || (size_t)o > n)
			return -1;
		*opts[o - 1].val = optarg;
	}
	return optind;
}
