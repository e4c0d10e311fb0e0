/* SPDX-License-Identifier: MIT */
/* A clock's reading as one integer: nanoseconds or milliseconds since its epoch. */
#ifndef ET_CORE_CLOCK_H
#define ET_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ms(clockid_t clk)
{
	return clock_ns(clk) / 1000000;
}

#endif
