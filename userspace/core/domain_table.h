/* SPDX-License-Identifier: MIT */
/*
 * The set of configured tracking domains: exact names and "*.suffix" wildcards, each carrying
 * the server's per-domain settings as an opaque pointer.
 *
 * Built once (domain_table_add from one thread), then shared read-only by every worker:
 * lookups take no lock and write nothing. A new config builds a new table and swaps it in.
 *
 * Lookup is O(1): one probe sequence for the exact name, and if that misses, one for the
 * wildcard covering it. "*.example.com" matches "a.example.com" only: not "example.com", not
 * "a.b.example.com". Open addressing with linear probing, load <= 1/2, 64-bit hashes stored in
 * the slots so a probe rarely touches a name; the hash is seeded per table so that Host headers
 * chosen by a client cannot aim at a known cluster.
 */
#ifndef ET_CORE_DOMAIN_TABLE_H
#define ET_CORE_DOMAIN_TABLE_H

#include <stddef.h>

struct domain_table;

/* size_hint: expected number of names (0 is fine); the table grows while it is built. */
struct domain_table *domain_table_new(size_t size_hint);

/*
 * Adds a name (normalized here: case, one trailing dot; "*." allowed, no port) with its value.
 * value must not be NULL (NULL is what lookup returns for "no match").
 * Returns 0, or -1 with a reason in err on an invalid name, a duplicate, or no memory;
 * the table is unchanged on error.
 */
int domain_table_add(struct domain_table *t, const char *name, size_t len, void *value,
		     char *err, size_t errlen);

/* host must be normalized (hostname_normalize). Returns the value, or NULL if not served. */
void *domain_table_lookup(const struct domain_table *t, const char *host, size_t len);

/* As lookup; also reports whether the match was a wildcard (*wildcard = 1) or exact (0). */
void *domain_table_lookup_ex(const struct domain_table *t, const char *host, size_t len,
			     int *wildcard);

size_t domain_table_count(const struct domain_table *t);

/* Calls fn(name, len, value, arg) for every entry, in no particular order; names are in
 * config form ("*.example.com" for wildcards). Stops early and returns fn's value if nonzero. */
int domain_table_foreach(const struct domain_table *t,
			 int (*fn)(const char *name, size_t len, void *value, void *arg),
			 void *arg);

/* free_value (may be NULL) is called once per entry's value. */
void domain_table_free(struct domain_table *t, void (*free_value)(void *value));

#endif
