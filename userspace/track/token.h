/* SPDX-License-Identifier: MIT */
/*
 * Tracking tokens: the stateless, signed part of every /c/, /o/ and /u/ URL.
 *
 *   token = base64url(payload) "." base64url(tag)      (RFC 4648 §5 alphabet, no '=' padding)
 *
 * Payload, version 1 (all integers big-endian):
 *
 *   offset size  field
 *   0      1     version        = 1
 *   1      1     key id         which key of the keyring made the tag (0..255)
 *   2      1     kind           1 click, 2 open, 3 unsubscribe
 *   3      1     flags          bit 0: expiry present; bits 1..7 must be 0
 *   4      8     message id
 *   12     8     recipient id
 *   20     2     link index
 *   22     2     expiry         only if flags bit 0: last valid day, in days since 1970-01-01
 *                               (UTC); never 0
 *   ..     2     url length     click only, 1..TOKEN_URL_MAX
 *   ..     n     url            click only: absolute http:// or https:// URL (see
 *                               token_url_valid)
 *
 * Nothing may follow the last field. Open and unsubscribe tokens carry no URL.
 *
 *   tag = first 16 bytes of HMAC-SHA256(key[key id], host || payload)
 *
 * host is the normalized tracking host (core/hostname.h) the token is served on; binding it
 * stops a token minted for one customer's domain from working on another's. A normalized host
 * never contains byte 0x01 and the payload starts with it, so host || payload is unambiguous.
 *
 * Decoding is strict: exactly one encoding is accepted for a given token (no padding, zero
 * unused bits in the last base64url character, reserved flags zero, no trailing bytes), so a
 * token that verifies is byte-for-byte what token_encode produced.
 *
 * A token is valid through the whole UTC day of its expiry and expired from the next day on.
 * Checks run in the order structure, key id, tag, expiry, so TOKEN_EEXPIRED is only ever
 * reported for an authentic token.
 *
 * Threads: a keyring is built by one thread, then used read-only by any number of threads
 * (token_decode, token_encode). token_decode copies the key's prepared HMAC state per call; a
 * worker that verifies many tokens should own a token_verifier, which keeps its own prepared
 * states and only restarts them (about 40% faster). Neither allocates memory of its own: the
 * payload goes to the caller's scratch (OpenSSL still copies a digest state internally).
 */
#ifndef ET_TRACK_TOKEN_H
#define ET_TRACK_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_VERSION     1
#define TOKEN_TAG_LEN     16
#define TOKEN_KEY_MIN     32
#define TOKEN_KEY_MAX     64
#define TOKEN_URL_MAX     2048
#define TOKEN_FIXED_LEN   22                                   /* version .. link index */
#define TOKEN_PAYLOAD_MAX (TOKEN_FIXED_LEN + 2 + 2 + TOKEN_URL_MAX)
#define TOKEN_B64_LEN(n)  (((n) * 4 + 2) / 3)                  /* unpadded base64url */
/* Longest token text, without the NUL. */
#define TOKEN_MAX_LEN     (TOKEN_B64_LEN(TOKEN_PAYLOAD_MAX) + 1 + TOKEN_B64_LEN(TOKEN_TAG_LEN))
/* Scratch for token_decode: the decoded payload (the URL of a click points into it). */
#define TOKEN_SCRATCH     TOKEN_PAYLOAD_MAX

enum token_kind { TOKEN_CLICK = 1, TOKEN_OPEN = 2, TOKEN_UNSUBSCRIBE = 3 };

enum token_err {
	TOKEN_OK = 0,
	TOKEN_EMALFORMED,    /* not a token: syntax, base64url, field layout, bad URL */
	TOKEN_EVERSION,      /* well-formed prefix but a version this code does not read */
	TOKEN_EUNKNOWN_KEY,  /* key id not in the keyring */
	TOKEN_EBADTAG,       /* tag does not match (forged, altered, or other host) */
	TOKEN_EEXPIRED,      /* authentic but past its expiry day */
	TOKEN_EKIND,         /* kind byte is not click/open/unsubscribe */
	TOKEN_ETOOLONG,      /* longer than TOKEN_MAX_LEN, or does not fit the scratch */
	TOKEN_EINTERNAL,     /* missing argument or crypto library failure (fails closed) */
};

struct token {
	uint8_t version, key_id;     /* set by decode; encode ignores version and uses key_id
					only through token_encode_key */
	enum token_kind kind;
	uint64_t message_id, recipient_id;
	uint16_t link_index;
	uint16_t expiry_days;        /* last valid day since 1970-01-01; 0 = no expiry */
	const char *url;             /* click only; after decode, points into caller scratch */
	uint16_t url_len;
};

struct token_keyring;   /* opaque */
struct token_verifier;  /* opaque, one per thread */

/* --- keyring ----------------------------------------------------------------------------- */

struct token_keyring *token_keyring_new(void);
/*
 * Adds key key_id (32..64 random bytes). Fails, leaving the keyring unchanged, if the id is
 * taken. (As with any HMAC key, appending zero bytes to a key does not change it.)
 */
int token_keyring_add(struct token_keyring *kr, uint8_t key_id, const uint8_t *key, size_t len,
		      char *err, size_t errlen);
/* The key token_encode signs with; must have been added. Returns 0 or -1. */
int token_keyring_set_current(struct token_keyring *kr, uint8_t key_id);
/* Current key id, or -1 if none was set. */
int token_keyring_current(const struct token_keyring *kr);
int token_keyring_has(const struct token_keyring *kr, uint8_t key_id);
void token_keyring_free(struct token_keyring *kr);

/* --- encode ------------------------------------------------------------------------------ */

/*
 * Encode with the current key: writes a NUL-terminated token into out; returns its length or
 * -1 with err set. host must be normalized. outlen of TOKEN_MAX_LEN + 1 always suffices.
 */
int token_encode(const struct token_keyring *kr, const char *host, size_t host_len,
		 const struct token *t, char *out, size_t outlen, char *err, size_t errlen);
/* Same with an explicit key id (operator tooling, tests, re-signing). */
int token_encode_key(const struct token_keyring *kr, uint8_t key_id, const char *host,
		     size_t host_len, const struct token *t, char *out, size_t outlen, char *err,
		     size_t errlen);

/* --- decode ------------------------------------------------------------------------------ */

/*
 * Decode + verify for host (already normalized) at time now (seconds since the epoch).
 * scratch must hold at least TOKEN_SCRATCH bytes; t->url points into it. Thread-safe on a
 * shared const keyring. On error *t is unspecified.
 */
enum token_err token_decode(const struct token_keyring *kr, const char *host, size_t host_len,
			    const char *tok, size_t tok_len, time_t now, struct token *t,
			    uint8_t *scratch, size_t scratch_len);

/* Decode without verifying the tag (operator `token decode`); still checks structure. */
enum token_err token_parse_unverified(const char *tok, size_t tok_len, struct token *t,
				      uint8_t *scratch, size_t scratch_len);

const char *token_strerror(enum token_err e);

/* --- per-thread verifier (request path) -------------------------------------------------- */

/*
 * Holds one keyed HMAC state per key of kr, restarted for each verify instead of copied.
 * kr must outlive the verifier; a new keyring needs a new verifier. NULL on no memory.
 */
struct token_verifier *token_verifier_new(const struct token_keyring *kr);
void token_verifier_free(struct token_verifier *v);
/* token_decode through v; v must not be used by two threads at once. */
enum token_err token_verifier_decode(struct token_verifier *v, const char *host,
				     size_t host_len, const char *tok, size_t tok_len,
				     time_t now, struct token *t, uint8_t *scratch,
				     size_t scratch_len);

/* --- helpers ----------------------------------------------------------------------------- */

/*
 * Destination URL rule: 1..TOKEN_URL_MAX bytes, "http://" or "https://" (scheme in any case)
 * followed by a non-empty authority, then only printable ASCII other than space, '"', '<',
 * '>' and '\' (non-ASCII must be percent-encoded). That keeps it safe to put in a Location
 * header and unambiguous for browsers.
 */
int token_url_valid(const char *url, size_t len);

const char *token_kind_name(enum token_kind k);   /* "click", "open", "unsubscribe" or NULL */
int token_kind_parse(const char *s, enum token_kind *k);   /* 0 or -1 */

/* Day number (days since 1970-01-01 UTC) of a time. */
static inline long token_day(time_t now)
{
	return (long)(now >= 0 ? now / 86400 : -((-now + 86399) / 86400));
}

#endif
