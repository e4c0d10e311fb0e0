/* SPDX-License-Identifier: MIT */
/*
 * The appliance's identity: an X25519 key pair that private keys in bundles are sealed to.
 * Made at first use in <data_dir>/identity/x25519.key (mode 0600, base64 of the secret key);
 * the id is the first 16 hex digits of SHA-256 of the public key unless the config names one.
 */
#ifndef ET_BUNDLE_IDENTITY_H
#define ET_BUNDLE_IDENTITY_H

#include <sodium.h>
#include <stddef.h>

#define IDENTITY_FILE    "x25519.key"
#define IDENTITY_ID_LEN  16
#define IDENTITY_PK_B64  45    /* 44 base64 characters and the NUL */

struct identity {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char id[IDENTITY_ID_LEN + 1];
};

/* Reads dir/x25519.key. 0, or -1 with the reason (also when absent). */
int identity_load(const char *dir, struct identity *id, char *err, size_t errlen);
/* Loads, or makes dir and the key pair when there is none. Two processes racing at first
 * start end up with the same key: the file appears whole and only once. */
int identity_open(const char *dir, struct identity *id, char *err, size_t errlen);
void identity_id_of(const unsigned char pk[crypto_box_PUBLICKEYBYTES],
		    char out[IDENTITY_ID_LEN + 1]);
void identity_pk_base64(const struct identity *id, char out[IDENTITY_PK_B64]);
/* A recipient's public key as identity_pk_base64 prints it. 0 or -1. */
int identity_pk_parse(const char *b64, unsigned char pk[crypto_box_PUBLICKEYBYTES]);
void identity_wipe(struct identity *id);

#endif
