/* SPDX-License-Identifier: MIT */
/* The release both binaries and the status reports name. */
#ifndef ET_CORE_VERSION_H
#define ET_CORE_VERSION_H

#define EDGETRACK_VERSION "0.1.0"

#endif
