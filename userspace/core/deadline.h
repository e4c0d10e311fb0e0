/* SPDX-License-Identifier: MIT */
/* A deadline for pthread_cond_timedwait on a condition variable of CLOCK_MONOTONIC. */
#ifndef ET_CORE_DEADLINE_H
#define ET_CORE_DEADLINE_H

#include <time.h>

static inline struct timespec deadline_after_ms(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

#endif
