/* SPDX-License-Identifier: MIT */
/*
 * The operator's side of bundles (format in bundle.h): build an unsigned bundle, sign its
 * manifest in place, or attach a signature made elsewhere (`minisign -S`).
 */
#ifndef ET_BUNDLE_BUNDLE_BUILD_H
#define ET_BUNDLE_BUNDLE_BUILD_H

#include "bundle/bundle.h"
#include "bundle/frame.h"
#include "bundle/minisig.h"

#include <sodium.h>

struct bundle_recipient {
	char id[BUNDLE_ID_MAX + 1];
	unsigned char pk[crypto_box_PUBLICKEYBYTES];   /* the appliance's X25519 key */
};

struct bundle_input {
	enum bundle_item_type type;
	const char *domain;                            /* cert, key, remove */
	const char *token, *key_authorization;         /* challenge */
	const unsigned char *data;                     /* config, cert, key, keyring, ticket_keys */
	size_t len;
};

struct bundle_spec {
	uint64_t serial;
	time_t issued_at, not_after;
	unsigned char key_id[MINISIG_KEYID_BYTES];     /* the key that is to sign */
	const char *const *scope;                      /* n_scope 0: the whole fleet */
	size_t n_scope;
	const struct bundle_recipient *recipients;
	size_t n_recipients;
	const struct bundle_input *items;              /* written in this order */
	size_t n_items;
};

/* An unsigned bundle into out. Keys and ticket keys are always encrypted, the config too when
 * recipients are named; every appliance of a listed scope needs a recipient entry when there
 * are keys. Item contents are packed as given: the verifier and the appliance judge them.
 * 0, or -1 with the reason. */
int bundle_build(const struct bundle_spec *s, struct frame_buf *out, char *err, size_t errlen);

/* The bundle file again with its signature section replaced: by a signature made now with
 * sk (whose key id the manifest must name), or by a signature file made elsewhere. */
int bundle_sign(const void *file, size_t len, const struct minisig_seckey *sk,
		enum minisig_alg alg, const char *trusted_comment, struct frame_buf *out,
		char *err, size_t errlen);
int bundle_attach_signature(const void *file, size_t len, const char *sig, size_t sig_len,
			    struct frame_buf *out, char *err, size_t errlen);

#endif
