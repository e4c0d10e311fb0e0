/* SPDX-License-Identifier: MIT */
/*
 * minisign's formats, read and written with libsodium so that `minisign -G/-S/-V` and
 * edgetrack interoperate both ways.
 *
 *   public key file   "untrusted comment: ...\n" base64("Ed" || key id (8) || Ed25519 pk (32))
 *   secret key file   "untrusted comment: ...\n" base64("Ed" || kdf "Sc" or "\0\0" || "B2" ||
 *                     salt (32) || opslimit (8, LE) || memlimit (8, LE) ||
 *                     key id (8) || Ed25519 sk (64) || BLAKE2b-256 checksum (32));
 *                     with "Sc" the last 104 bytes are XORed with scrypt(password, salt)
 *   signature file    "untrusted comment: ...\n" base64(alg || key id || sig (64)) "\n"
 *                     "trusted comment: TEXT\n" base64(global sig (64)) "\n"
 *
 * alg "Ed" signs the message itself, "ED" signs its BLAKE2b-512 hash; the global signature
 * signs sig || TEXT, so the trusted comment cannot be changed without the key.
 * A key id is printed as minisign prints it: 16 upper-case hex digits of the 8 bytes read as
 * a little-endian number.
 */
#ifndef ET_BUNDLE_MINISIG_H
#define ET_BUNDLE_MINISIG_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define MINISIG_KEYID_BYTES   8
#define MINISIG_KEYID_HEX     17        /* 16 digits and the NUL */
#define MINISIG_TRUSTED_MAX   8192      /* minisign's limit on a trusted comment line */
#define MINISIG_FILE_MAX      (MINISIG_TRUSTED_MAX + 2048)
#define MINISIG_PASSWORD_MAX  1024
#define MINISIG_PUBKEY_B64    57        /* 56 base64 characters and the NUL */

enum minisig_alg {
	MINISIG_PURE,        /* "Ed": minisign -l (legacy) */
	MINISIG_PREHASHED,   /* "ED": minisign's default since 0.10 */
};

struct minisig_pubkey {
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
};

struct minisig_seckey {
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

/* A parsed signature file. */
struct minisig {
	enum minisig_alg alg;
	unsigned char key_id[MINISIG_KEYID_BYTES];
	unsigned char sig[crypto_sign_BYTES];
	unsigned char global_sig[crypto_sign_BYTES];
	char trusted_comment[MINISIG_TRUSTED_MAX];
};

/* Key ids as text, both ways; parse takes either case and returns 0 or -1. */
void minisig_key_id_hex(const unsigned char id[MINISIG_KEYID_BYTES], char out[MINISIG_KEYID_HEX]);
int minisig_key_id_parse(const char *hex, unsigned char id[MINISIG_KEYID_BYTES]);

/* A fresh key pair with a random key id (as minisign -G makes). */
void minisig_keygen(struct minisig_pubkey *pk, struct minisig_seckey *sk);
void minisig_seckey_pubkey(const struct minisig_seckey *sk, struct minisig_pubkey *pk);

/* Public keys: a whole file or just its base64 line. 0, or -1 with the reason. */
int minisig_pubkey_parse(const char *text, size_t len, struct minisig_pubkey *pk, char *err,
			 size_t errlen);
int minisig_pubkey_load(const char *path, struct minisig_pubkey *pk, char *err, size_t errlen);
/* The base64 line ("RW..."), NUL-terminated in out. */
void minisig_pubkey_base64(const struct minisig_pubkey *pk, char out[MINISIG_PUBKEY_B64]);
/* The whole file text, malloc'd; NULL when out of memory. */
char *minisig_pubkey_format(const struct minisig_pubkey *pk);

/*
 * Secret key files. password may be NULL for an unencrypted key (minisign -G -W); an
 * encrypted key without one is refused, and so is a wrong password (the checksum tells).
 * minisig_seckey_encrypted: 1 encrypted, 0 not, -1 not a secret key file.
 */
int minisig_seckey_encrypted(const char *text, size_t len);
int minisig_seckey_parse(const char *text, size_t len, const char *password,
			 struct minisig_seckey *sk, char *err, size_t errlen);
/* Reads the file, asking for the password when the key is encrypted: $EDGETRACK_KEY_PASSWORD,
 * else a prompt on the terminal. */
int minisig_seckey_load(const char *path, struct minisig_seckey *sk, char *err, size_t errlen);
/* The whole file text, malloc'd. password NULL writes an unencrypted key; otherwise the scrypt
 * limits are stored in the file (minisign uses the _SENSITIVE ones). NULL on failure. */
char *minisig_seckey_format(const struct minisig_seckey *sk, const char *password,
			    unsigned long long opslimit, size_t memlimit, char *err, size_t errlen);
/* $EDGETRACK_KEY_PASSWORD, else the terminal (echo off). 0, or -1 with the reason. */
int minisig_password(const char *prompt, char *out, size_t cap, char *err, size_t errlen);

/* Signs msg; returns the signature file text (malloc'd), NULL with the reason. A NULL trusted
 * comment means minisign's own ("timestamp:T\tfile:NAME" and "\thashed" for ED). */
char *minisig_sign(const struct minisig_seckey *sk, const void *msg, size_t len,
		   enum minisig_alg alg, const char *file_name, const char *trusted_comment,
		   char *err, size_t errlen);

/* Parses a signature file (CRLF tolerated). 0, or -1 with the reason. */
int minisig_parse(const char *text, size_t len, struct minisig *s, char *err, size_t errlen);
/* The key ids match, the signature covers msg and the global signature covers the trusted
 * comment. 0, or -1 with the reason. */
int minisig_verify(const struct minisig *s, const struct minisig_pubkey *pk, const void *msg,
		   size_t len, char *err, size_t errlen);

#endif
