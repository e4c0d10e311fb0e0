// SPDX-License-Identifier: MIT
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int err_usage(const char *cmd, const char *why, const char *usage_text)
{
	if (why)
		fprintf(stderr, "%s: %s\n", cmd, why);
	fputs(usage_text, stderr);
	return 2;
}
