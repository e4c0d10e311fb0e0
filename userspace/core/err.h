/* SPDX-License-Identifier: MIT */
/* Error text for callers that pass (char *err, size_t errlen): one helper for every module. */
#ifndef ET_CORE_ERR_H
#define ET_CORE_ERR_H

#include <stddef.h>

/* Formats into err (when err is non-NULL and errlen > 0); always returns -1. */
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A command's misuse: "CMD: WHY" (when why is non-NULL) and the usage text on stderr; always
   returns 2, the exit status of a usage error. */
int err_usage(const char *cmd, const char *why, const char *usage_text);

#endif
