/* SPDX-License-Identifier: MIT */
/* A seeded 64-bit hash of bytes for in-memory tables (not for anything an attacker must not
 * forge): FNV-1a with a splitmix finalizer, since FNV's low bits alone cluster for similar
 * inputs. */
#ifndef EDGETRACK_CORE_HASH_H
#define EDGETRACK_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_bytes(uint64_t seed, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

#endif
