/* SPDX-License-Identifier: MIT */
/*
 * Pieces both TLS backends share: the ciphertext buffers a session reads from and writes to,
 * and the ticket key ring (secrets from the config, one derived key per rotation period).
 */
#ifndef ET_TLS_TLS_INTERNAL_H
#define ET_TLS_TLS_INTERNAL_H

#include "tls/tls.h"

#include <pthread.h>
#include <time.h>

/*
 * A byte queue: append at the end, take from the front. Freed as soon as it drains, so an
 * idle connection holds no buffer at all.
 */
struct tls_buf {
	unsigned char *p;
	size_t off, len, cap; /* live bytes are p[off, off + len) */
};

int tls_buf_append(struct tls_buf *b, const void *data, size_t len);
size_t tls_buf_take(struct tls_buf *b, void *out, size_t cap);
void tls_buf_consume(struct tls_buf *b, size_t n);
void tls_buf_free(struct tls_buf *b);

#define TLS_TICKET_NAME_LEN 16

struct tls_ticket_dkey {
	unsigned char name[TLS_TICKET_NAME_LEN]; /* sent in the clear in each ticket */
	unsigned char enc[32];                   /* cipher key */
	unsigned char mac[32];                   /* HMAC key (OpenSSL's ticket format) */
};

struct tls_ticket_ring;

struct tls_ticket_ring *tls_ticket_ring_new(const struct ticket_key *keys, size_t n,
					    uint32_t rotation_s, char *err, size_t errlen);
int tls_ticket_ring_set(struct tls_ticket_ring *r, const struct ticket_key *keys, size_t n,
			char *err, size_t errlen);
void tls_ticket_ring_free(struct tls_ticket_ring *r);

/* The key for new tickets at time now. */
void tls_ticket_ring_current(struct tls_ticket_ring *r, time_t now, struct tls_ticket_dkey *out);

/* The key a ticket names: 0 (and *renew when a newer key should reissue it), or -1. */
int tls_ticket_ring_find(struct tls_ticket_ring *r, time_t now,
			 const unsigned char name[TLS_TICKET_NAME_LEN], struct tls_ticket_dkey *out,
			 bool *renew);

/* Longest life of a ticket: two rotation periods. */
uint32_t tls_ticket_ring_lifetime(const struct tls_ticket_ring *r);

void tls_cleanse(void *p, size_t n);

/*
 * Sessions are bound to the server name they were made under: RFC 6066 §3 forbids resuming
 * a session when the ClientHello names another server, so a ticket from click.example.test
 * must not resume under open.example.test. The binding is a context, SHA-256 over a label
 * and the lower-cased name ("" without SNI), that both backends check on resumption; it is
 * the same on every appliance, so shared ticket keys still resume across them.
 */
#define TLS_SNI_MAX         255
#define TLS_SESSION_CTX_LEN 32

void tls_session_context(const char *name, unsigned char out[TLS_SESSION_CTX_LEN]);

/* The host name of a server_name extension's body (RFC 6066 §3), lower-cased: 0, or -1 when
 * the body is malformed or names no host (name is then ""). */
int tls_sni_from_ext(const unsigned char *ext, size_t len, char name[TLS_SNI_MAX + 1]);

/*
 * The host name of the ClientHello that starts rec (the first bytes a client sends): 1 while
 * the first record is incomplete, else 0 with name set ("" without SNI, or when the bytes are
 * no ClientHello this parser understands: the TLS library then says what is wrong).
 */
int tls_sni_from_hello(const unsigned char *rec, size_t len, char name[TLS_SNI_MAX + 1]);

#endif
