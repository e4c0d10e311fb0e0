/* SPDX-License-Identifier: MIT */
/*
 * Host names as they arrive in Host headers, SNI and config files, reduced to one canonical
 * form so that lookups and token tags compare plain bytes.
 *
 * Canonical form: lower case, no ":port", no trailing dot. DNS names must be 1..253 bytes of
 * labels of 1..63 bytes from [a-z0-9-] that neither start nor end with '-'. An IPv6 literal
 * ("[2001:db8::1]" with or without ":port") is accepted and kept in brackets, lower case, so
 * callers can tell it apart; it never matches a configured domain.
 */
#ifndef ET_CORE_HOSTNAME_H
#define ET_CORE_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX 253     /* longest DNS name in text form, without trailing dot */
#define HOSTNAME_LABEL_MAX 63

enum hostname_flags {
	/* Config names: a leading "*." is allowed; a port or an IPv6 literal is not. */
	HOSTNAME_ALLOW_WILDCARD = 1u << 0,
	/* A bare DNS name (SNI, the host a token is minted for): no port, no IPv6 literal. */
	HOSTNAME_NAME_ONLY      = 1u << 1,
};

/*
 * flags 0 is the Host header form: strips a ":port" (digits, <= 65535; also after "[v6]"),
 * strips one trailing dot, lowercases, validates; no wildcard.
 * Writes a NUL-terminated name into out (outcap must leave room for the NUL; in and out may
 * be the same buffer) and returns its length, or -1 if the input is not a valid host or
 * does not fit.
 */
int hostname_normalize(const char *in, size_t len, char *out, size_t outcap, unsigned flags);

/* True if a normalized name is a wildcard ("*.example.com"). */
int hostname_is_wildcard(const char *name, size_t len);

#endif
