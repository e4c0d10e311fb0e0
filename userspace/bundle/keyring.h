/* SPDX-License-Identifier: MIT */
/*
 * The keyring: which operator keys may sign bundles, until when, and which are revoked.
 * A file of two sections (see frame.h), the second a minisign signature of the first by the
 * root key the image carries:
 *
 *     edgetrack-keyring 1\n
 *     keyring <len>\n{"serial": 7,
 *                     "keys": [{"key_id": "<16 hex>", "public_key": "RW...", "not_after": T}],
 *                     "revoked": ["<16 hex>", ...]}\n
 *     signature <len>\n<minisign signature of exactly the JSON bytes>\n
 *
 * Times are seconds since the epoch. A keyring with a higher serial replaces the held one; a
 * key it no longer lists, or lists as revoked, is refused from then on.
 */
#ifndef ET_BUNDLE_KEYRING_H
#define ET_BUNDLE_KEYRING_H

#include "bundle/frame.h"
#include "bundle/minisig.h"

#include <stdint.h>
#include <time.h>

#define KEYRING_MAGIC     "edgetrack-keyring 1"
#define KEYRING_MAX_KEYS  256
#define KEYRING_JSON_MAX  (128 * 1024)
#define KEYRING_FILE_MAX  (KEYRING_JSON_MAX + MINISIG_FILE_MAX + 64)

struct keyring_key {
	struct minisig_pubkey pk;
	time_t not_after;
};

struct keyring {
	uint64_t serial;
	size_t n_keys, n_revoked;
	struct keyring_key keys[KEYRING_MAX_KEYS];
	unsigned char revoked[KEYRING_MAX_KEYS][MINISIG_KEYID_BYTES];
};

/* The two sections of a keyring file, pointing into it. 0, or -1 with the reason. */
int keyring_split(const void *file, size_t len, const unsigned char **json, size_t *json_len,
		  const unsigned char **sig, size_t *sig_len, char *err, size_t errlen);
/* Checks the root signature, then reads the JSON. 0, or -1 with the reason. */
int keyring_parse(const void *file, size_t len, const struct minisig_pubkey *root,
		  struct keyring *kr, char *err, size_t errlen);
/* 0 loaded, 1 no file (kr empty, serial 0), -1 unreadable or not signed by root. */
int keyring_load(const char *path, const struct minisig_pubkey *root, struct keyring *kr,
		 char *err, size_t errlen);
/* Replaces the keyring at path with file when file is signed by root and its serial is
 * higher: 1 replaced, 0 the held one is as new (kept), -1 refused with the reason. */
int keyring_install(const char *path, const void *file, size_t len,
		    const struct minisig_pubkey *root, char *err, size_t errlen);
/* The key that may sign now: listed, not revoked, not expired. NULL with the reason. */
const struct minisig_pubkey *keyring_signer(const struct keyring *kr,
					    const unsigned char key_id[MINISIG_KEYID_BYTES],
					    time_t now, char *err, size_t errlen);

/* Operator side: add or renew a key (a revoked key stays revoked), revoke one, and write the
 * signed file. Serials are the caller's: bump before signing a changed keyring. */
int keyring_certify(struct keyring *kr, const struct minisig_pubkey *pk, time_t not_after,
		    char *err, size_t errlen);
int keyring_revoke(struct keyring *kr, const unsigned char key_id[MINISIG_KEYID_BYTES],
		   char *err, size_t errlen);
/* The JSON text (malloc'd), NULL when out of memory. */
char *keyring_json(const struct keyring *kr);
int keyring_sign(const struct keyring *kr, const struct minisig_seckey *root, struct frame_buf *out,
		 char *err, size_t errlen);

#endif
