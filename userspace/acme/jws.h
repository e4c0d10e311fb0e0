/* SPDX-License-Identifier: MIT */
/*
 * JSON Web Signatures for ACME (RFC 8555 §6.2, RFC 7515/7518/7638).
 *
 * Account keys are ECDSA P-256 (alg ES256). Signatures are the raw 64-byte r||s form JWS
 * requires, converted from OpenSSL's DER. The thumbprint is RFC 7638's: SHA-256 over the
 * required JWK members in lexicographic order with no whitespace, base64url.
 */
#ifndef ET_ACME_JWS_H
#define ET_ACME_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#define JWS_THUMBPRINT_LEN 43 /* base64url of 32 bytes, no padding */

/* base64url without padding. Returns the length written (NUL-terminated), -1 if cap is short. */
int b64url_encode(const void *in, size_t len, char *out, size_t cap);
/* Malloc'd base64url string, NULL on allocation failure. */
char *b64url_encode_alloc(const void *in, size_t len);
/* Decodes base64url (no padding); returns the byte count, -1 on bad input or short cap. */
int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* A fresh ECDSA P-256 key, NULL on failure. */
EVP_PKEY *acme_key_new_p256(void);
/*
 * Loads the PEM private key at path; when the file does not exist and create is set, makes a
 * new P-256 key and writes it (mode 0600, atomically). Rejects keys that are not EC P-256.
 */
EVP_PKEY *acme_key_load(const char *path, int create, char *err, size_t errlen);
/* PEM (PKCS#8) of a private key, malloc'd, NULL on failure. */
char *acme_key_pem(EVP_PKEY *key);

/* The public JWK {"crv","kty","x","y"} of a P-256 key; new reference, NULL on failure. */
json_t *jws_jwk(EVP_PKEY *key);
/* RFC 7638 thumbprint of a JWK object (EC or RSA); 0, or -1 on a missing member. */
int jwk_thumbprint(const json_t *jwk, char out[JWS_THUMBPRINT_LEN + 1]);
/* Thumbprint of the key's public JWK. */
int jws_thumbprint(EVP_PKEY *key, char out[JWS_THUMBPRINT_LEN + 1]);

/*
 * Flattened JWS JSON (RFC 7515 §7.2.2) over payload ("" for POST-as-GET), protected header
 * {"alg":"ES256","nonce","url"} plus "kid" when kid is set, else "jwk". Malloc'd string, NULL
 * with a reason in err.
 */
char *jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	       const char *payload, char *err, size_t errlen);

/*
 * External account binding (RFC 8555 §7.3.4): an HS256 JWS over the account's JWK, with
 * header {"alg":"HS256","kid":eab_kid,"url"}. hmac_b64 is the CA's base64url MAC key.
 * New reference, NULL with a reason in err.
 */
json_t *jws_eab(EVP_PKEY *account_key, const char *eab_kid, const char *hmac_b64,
		const char *url, char *err, size_t errlen);

#endif
