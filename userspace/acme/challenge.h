/* SPDX-License-Identifier: MIT */
/*
 * HTTP-01 answers on the appliance (RFC 8555 §8.3).
 *
 * Stateless first: the key authorization is token "." thumbprint, and the box knows the
 * thumbprints of the operator's ACME accounts from its config, so every appliance answers
 * every challenge of a configured domain without any token distribution. For accounts whose
 * thumbprint the box does not hold, operators push explicit token -> key authorization pairs
 * through the control socket into a challenge table; workers read an immutable snapshot of it.
 */
#ifndef ET_ACME_CHALLENGE_H
#define ET_ACME_CHALLENGE_H

#include "core/snapshot.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define ACME_TOKEN_MIN 16   /* >= 128 bits of entropy in base64url (RFC 8555 §8.3) */
#define ACME_TOKEN_MAX 128
#define ACME_KEYAUTH_MAX (ACME_TOKEN_MAX + 1 + 64)
#define CHALLENGE_TABLE_MAX 10000

/* base64url alphabet, no padding, bounded length. */
bool acme_token_valid(const char *token, size_t len);
/* "token.thumbprint"; returns its length, -1 when it does not fit. */
int acme_key_authorization(const char *token, size_t len, const char *thumbprint, char *out,
			   size_t cap);

/* Immutable, shared by workers through a snapshot slot. */
struct challenge_store;
struct challenge_store *challenge_store_snapshot(struct snapshot *s);
/* The explicit key authorization for token, NULL when none or expired at now. */
const char *challenge_store_find(const struct challenge_store *cs, const char *token, size_t len,
				 time_t now);

/* Mutable table owned by the control thread; publish() builds and swaps in a new snapshot. */
struct challenge_table;
struct challenge_table *challenge_table_new(time_t ttl_seconds);
void challenge_table_free(struct challenge_table *t);
/* A token and a key authorization for it (token "." 43-character thumbprint): 0, or -1
   with the reason. */
int challenge_pair_valid(const char *token, const char *keyauth, char *err, size_t errlen);
/* 0, or -1 with a reason (bad token, key authorization not for this token, table full).
   Answered for the table's TTL from now. */
int challenge_table_add(struct challenge_table *t, const char *token, const char *keyauth,
			time_t now, char *err, size_t errlen);
/* The same, answered until expires (unix seconds; 0: the table's TTL from now). */
int challenge_table_add_until(struct challenge_table *t, const char *token, const char *keyauth,
			      time_t now, time_t expires, char *err, size_t errlen);
/* 0 when removed, -1 when absent. */
int challenge_table_del(struct challenge_table *t, const char *token);
/* Drops entries expired at now; returns how many. */
unsigned challenge_table_expire(struct challenge_table *t, time_t now);
size_t challenge_table_count(const struct challenge_table *t);
/* Calls fn for each entry (token, keyauth, added). */
void challenge_table_each(const struct challenge_table *t,
			  void (*fn)(void *arg, const char *token, const char *keyauth, time_t added),
			  void *arg);
/* A new snapshot holding the table's entries (refcount 1), NULL on allocation failure. */
struct snapshot *challenge_table_build(const struct challenge_table *t);

#endif
