/* SPDX-License-Identifier: MIT */
/*
 * Inside the bundle module: the file's sections and the manifest's JSON as structs (the
 * format is described in bundle.h). Shared by the verifier and the operator's tools.
 */
#ifndef ET_BUNDLE_MANIFEST_H
#define ET_BUNDLE_MANIFEST_H

#include "bundle/bundle.h"
#include "bundle/minisig.h"

#include <stdbool.h>
#include <sodium.h>

#define BUNDLE_MAGIC          "edgetrack-bundle 1"
#define BUNDLE_FILE_MAX       ((size_t)512 << 20)
#define BUNDLE_MANIFEST_MAX   ((size_t)64 << 20)
#define BUNDLE_MAX_ITEMS      262144
#define BUNDLE_MAX_IDS        65536       /* scope and recipients */
#define BUNDLE_DATA_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define BUNDLE_SEALED_BYTES   (crypto_box_SEALBYTES + BUNDLE_DATA_KEY_BYTES)
#define BUNDLE_AEAD_OVERHEAD  (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
			       crypto_aead_xchacha20poly1305_ietf_ABYTES)

struct manifest_item {
	enum bundle_item_type type;
	char domain[BUNDLE_DOMAIN_MAX + 1];
	char *token, *key_authorization;
	unsigned char sha256[crypto_hash_sha256_BYTES];
	bool encrypted;
};

struct manifest_recipient {
	char id[BUNDLE_ID_MAX + 1];
	unsigned char sealed_key[BUNDLE_SEALED_BYTES];
};

struct manifest {
	uint64_t serial;
	time_t issued_at, not_after;
	unsigned char key_id[MINISIG_KEYID_BYTES];
	bool fleet;
	char (*scope)[BUNDLE_ID_MAX + 1];
	size_t n_scope;
	struct manifest_recipient *recipients;
	size_t n_recipients;
	struct manifest_item *items;
	size_t n_items;
};

/* The sections of a bundle file, pointing into it; items in file order. */
struct bundle_parts {
	const unsigned char *manifest, *sig;
	size_t manifest_len, sig_len;
	const unsigned char **item;
	size_t *item_len;
	size_t n_items;
};

int bundle_split(const void *file, size_t len, struct bundle_parts *p, char *err, size_t errlen);
void bundle_parts_free(struct bundle_parts *p);

/* Reads and checks the manifest's structure (types, sizes, names); the verifier checks what
 * it means. 0, or -1 with the reason; manifest_free either way. */
int manifest_parse(const void *json, size_t len, struct manifest *m, char *err, size_t errlen);
void manifest_free(struct manifest *m);

const char *bundle_item_type_name(enum bundle_item_type t);
bool bundle_item_has_data(enum bundle_item_type t);
/* The most bytes one item of type t may hold as stored (plaintext cap + AEAD overhead). */
size_t bundle_item_max(enum bundle_item_type t);
/* An appliance id: 1..BUNDLE_ID_MAX of [A-Za-z0-9._-]. */
bool bundle_id_valid(const char *id);

#endif
