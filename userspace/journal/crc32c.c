// SPDX-License-Identifier: MIT
#include "journal/crc32c.h"

#include <string.h>

/*
 * Table-driven CRC32C; the table is a compile-time constant (no lazily initialised state).
 * On x86-64 with SSE4.2 the crc32 instruction computes the same polynomial 8 bytes at a time.
 */
#define P 0x82F63B78u
#define B1(c) (((c) >> 1) ^ (((c) & 1u) ? P : 0u))
#define B8(c) B1(B1(B1(B1(B1(B1(B1(B1(c))))))))
#define R2(n) B8(n), B8((n) + 1)
#define R4(n) R2(n), R2((n) + 2)
#define R8(n) R4(n), R4((n) + 4)
#define R16(n) R8(n), R8((n) + 8)
#define R32(n) R16(n), R16((n) + 16)
#define R64(n) R32(n), R32((n) + 32)
#define R128(n) R64(n), R64((n) + 64)
#define R256(n) R128(n), R128((n) + 128)

static const uint32_t crc_table[256] = { R256(0u) };

static uint32_t crc_bytewise(uint32_t c, const uint8_t *p, size_t len)
{
	while (len--)
		c = (c >> 8) ^ crc_table[(c ^ *p++) & 0xffu];
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t c64 = c;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

static int have_sse42(void)
{
	/* __builtin_cpu_supports reads a table the runtime fills before main(). */
	return __builtin_cpu_supports("sse4.2");
}
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;

#if defined(__x86_64__)
	if (have_sse42())
		return ~crc_sse42(c, p, len);
#endif
	return ~crc_bytewise(c, p, len);
}

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	return ~crc_bytewise(~crc, data, len);
}
