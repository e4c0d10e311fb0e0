/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal record.
 * It is a checksum against torn and rotten bytes, not an authenticator.
 */
#ifndef ET_JOURNAL_CRC32C_H
#define ET_JOURNAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0; crc32c(crc32c(0, a), b) == crc32c(0, a||b).
   Uses the SSE4.2 instruction when the CPU has it. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The same function without the hardware path (tests compare both). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
