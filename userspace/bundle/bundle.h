/* SPDX-License-Identifier: MIT */
/*
 * Signed cert/config bundles: the one way state reaches an appliance from outside.
 *
 * A bundle is one file:
 *
 *     edgetrack-bundle 1\n
 *     manifest <len>\n<len bytes of JSON>\n
 *     signature <len>\n<len bytes: a minisign signature of exactly the manifest bytes>\n
 *     item <len>\n<len bytes>\n          (one per manifest item, in manifest order)
 *
 * The manifest is what is signed (minisign's format, Ed25519, pure "Ed" or prehashed "ED"
 * BLAKE2b-512, so `minisign -S -m manifest.json` and `minisign -V` work on it as a file):
 *
 *     {"format": 1, "serial": 42, "issued_at": 1764480000, "not_after": 1765084800,
 *      "key_id": "<16 hex digits: the minisign key id of the signing key>",
 *      "scope": "fleet" | ["<appliance id>", ...],
 *      "recipients": [{"id": "<appliance id>", "sealed_key": "<base64: crypto_box_seal of
 *                      the per-bundle 32-byte data key to the appliance's X25519 key>"}],
 *      "items": [
 *        {"type": "config",    "sha256": "<hex of the item bytes as stored>"},
 *        {"type": "cert",      "domain": "click.customer.com", "sha256": "..."},
 *        {"type": "key",       "domain": "click.customer.com", "sha256": "...",
 *                              "encrypted": true},
 *        {"type": "remove",    "domain": "old.customer.com"},          (no item bytes)
 *        {"type": "challenge", "token": "...", "key_authorization": "..."}, (no item bytes)
 *        {"type": "keyring",   "sha256": "..."},
 *        {"type": "ticket_keys", "sha256": "...", "encrypted": true}
 *      ]}
 *
 * Items with bytes are stored in the file in manifest order; items without bytes have no
 * "item" section. An "encrypted" item is XChaCha20-Poly1305 (libsodium's IETF AEAD) under the
 * data key: 24-byte nonce || ciphertext, with the manifest's sha256 over exactly those stored
 * bytes and the item's index in the manifest's "items" (4 bytes big-endian) as associated
 * data. Private keys and ticket keys are always encrypted; a bundle with key material needs a
 * recipient entry for each appliance that is to apply it. "encrypted" may be set on config and cert items too
 * (edgetrackctl encrypts the config whenever recipients are named: it holds token secrets),
 * never on a keyring. A cert and a key pair up by domain; a domain is either updated or
 * removed in one bundle, never both. Unknown members are refused: a new field is a new format.
 * The signature section is empty (length 0) until the manifest is signed.
 *
 * A ticket_keys item holds the TLS session ticket secrets the appliance is to use, in the
 * config's "tls.ticket_keys" format (core/ticket_keys.h), at least one key; the verifier
 * refuses one that does not parse. Whoever reads them can decrypt every session resumed
 * under them, so they travel sealed like private keys and a listing shows their names only.
 *
 * Sizes are capped: the file 512 MiB, the manifest 64 MiB, 262144 items, a config 64 MiB,
 * a cert chain 64 KiB, a key 16 KiB, a keyring 138 KiB, ticket keys 16 KiB.
 *
 * Trust: the image carries a root public key (minisign format). A keyring file lists operator
 * signing keys, each with an expiry, and is itself signed by the root key; a keyring with a
 * higher serial replaces the held one (a key it no longer lists, or lists as revoked, is
 * refused from then on). Keyrings travel inside bundles or through `edgetrackctl keys`; the
 * verifier checks a bundle's signer against the newer of the held keyring and one the bundle
 * carries (root-signed either way), so a bundle can bring the keyring that certifies its own
 * new signing key. See keyring.h for the keyring file.
 *
 * An appliance's identity: an X25519 key pair made at first start in <data_dir>/identity/;
 * its id is the first 16 hex digits of SHA-256 of the public key unless the config names one
 * (ids are 1..64 of [A-Za-z0-9._-], and never "fleet"). See identity.h.
 */
#ifndef ET_BUNDLE_BUNDLE_H
#define ET_BUNDLE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BUNDLE_FORMAT       1
#define BUNDLE_ID_MAX       64
#define BUNDLE_DOMAIN_MAX   253

enum bundle_item_type {
	BUNDLE_ITEM_CONFIG = 1,
	BUNDLE_ITEM_CERT,
	BUNDLE_ITEM_KEY,
	BUNDLE_ITEM_REMOVE,
	BUNDLE_ITEM_CHALLENGE,
	BUNDLE_ITEM_KEYRING,
	BUNDLE_ITEM_TICKET_KEYS,
};

/* One item after verification; data is plaintext (decrypted when it was encrypted). */
struct bundle_item {
	enum bundle_item_type type;
	char domain[BUNDLE_DOMAIN_MAX + 1];   /* cert, key, remove */
	char *token, *key_authorization;      /* challenge */
	unsigned char *data;                  /* config, cert, key, keyring, ticket_keys;
					       * NUL after len */
	size_t len;
};

/* A bundle that passed every check of bundle_verify(). */
struct bundle {
	uint64_t serial;
	time_t issued_at, not_after;
	char key_id[17];
	struct bundle_item *items;
	size_t n_items;
};

/* What the verifier trusts and who it is. */
struct bundle_trust {
	const char *root_pubkey_path;    /* minisign public key file, read-only image */
	const char *keyring_path;        /* the held keyring (may not exist yet) */
	const char *identity_dir;        /* X25519 key pair and id */
	const char *appliance_id;        /* NULL: derived from the identity */
	uint64_t applied_serial;         /* a bundle must be above it */
	time_t now;
};

/*
 * Checks the whole file: framing, signature, signing key in the keyring (known, not expired,
 * not revoked), scope names this appliance, serial > applied_serial, now <= not_after, each
 * item's SHA-256, decryption of every encrypted item. Returns a bundle the caller frees with
 * bundle_free(), or NULL with the reason in err. Nothing on disk changes.
 * Checking certificates/keys against each other and the config as --check-config does is the
 * applier's job (it owns the cert store and the config parser).
 */
struct bundle *bundle_verify(const char *path, const struct bundle_trust *trust,
			     char *err, size_t errlen);
/* The same for a bundle already in memory (a request body); file is not kept. */
struct bundle *bundle_verify_mem(const void *file, size_t len, const struct bundle_trust *trust,
				 char *err, size_t errlen);
void bundle_free(struct bundle *b);

/* Without any trust: the file is a bundle (framing, a manifest that parses, a signature
 * section that parses as minisign's) and its claimed serial. Nothing here is verified: it
 * tells an operator's tool it holds a signed bundle, and an appliance which serial a bundle
 * says it has before it asks for the whole check. 0, or -1 with the reason. */
int bundle_peek(const void *file, size_t len, uint64_t *serial, char *err, size_t errlen);

#endif
