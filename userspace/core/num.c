// SPDX-License-Identifier: MIT
#include "core/num.h"

#include <errno.h>
#include <stdlib.h>

int num_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

char *num_format_u64(uint64_t v, char out[NUM_U64_DIGITS])
{
	char *p = out + NUM_U64_DIGITS;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}
