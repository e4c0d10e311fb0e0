// SPDX-License-Identifier: MIT
#include "bundle/util.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
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

/* Sized by fstat, not by max: a bundle cap of hundreds of MiB must not cost that much
 * memory for a small file. */
unsigned char *util_read_file(const char *path, size_t max, size_t *len, char *err,
			      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *p = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0) {
		int e = errno;   /* callers tell a missing file from a bad one */
		err_set(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		err_set(err, errlen, "%s: not a regular file of at most %zu bytes", path, max);
		goto out;
	}
	p = malloc((size_t)st.st_size + 1);
	while (p && got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (!p || got != (size_t)st.st_size) {
		err_set(err, errlen, "%s: %s", path, p ? "short read" : "out of memory");
		free(p);
		p = NULL;
		goto out;
	}
	p[got] = '\0';
	*len = got;
out:
	close(fd);
	return p;
}

void util_fmt_time(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "@%lld", (long long)t);
}
