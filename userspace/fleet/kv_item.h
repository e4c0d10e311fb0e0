/* SPDX-License-Identifier: MIT */
/*
 * What the fleet's inbound key-value buckets hold (edgetrackctl writes, appliances read):
 *
 *   bundle bucket     key "latest": a signed bundle file as it is (bundle.h)
 *   challenge bucket  key <token>: {"token": "...", "key_authorization": "...",
 *                                   "expires_at": <unix s>}
 *
 * nats-server 2.9 has no per-key TTL: the challenge bucket's max age bounds every entry,
 * and expires_at, carried in the value, is when appliances stop answering (a watcher sees
 * no delete for a message that aged out).
 */
#ifndef ET_FLEET_KV_ITEM_H
#define ET_FLEET_KV_ITEM_H

#include "acme/challenge.h"

#include <stddef.h>
#include <stdint.h>

#define KV_BUNDLE_KEY          "latest"
#define KV_CHALLENGE_TTL_MAX   86400u   /* seconds; also the challenge bucket's max age */
#define KV_CHALLENGE_TTL_DEFAULT 3600u

struct kv_challenge {
	char token[ACME_TOKEN_MAX + 1];
	char key_authorization[ACME_KEYAUTH_MAX + 1];
	uint64_t expires_at;
};

/* The value for a token answered until expires_at; NULL on bad input (err) or no memory.
   The caller frees. */
char *kv_challenge_json(const char *token, const char *keyauth, uint64_t expires_at,
			char *err, size_t errlen);

/* Reads a value: members exactly the three above, a valid pair (challenge.h), expires_at
   a positive integer. 0, or -1 with the reason. */
int kv_challenge_parse(const void *data, size_t len, struct kv_challenge *out, char *err,
		       size_t errlen);

/* "--ttl S": 1..KV_CHALLENGE_TTL_MAX seconds. 0, or -1 with the reason. */
int kv_challenge_ttl(const char *text, uint32_t *ttl, char *err, size_t errlen);

#endif
