/* SPDX-License-Identifier: MIT */
/*
 * TLS termination on memory buffers: the io_uring loop hands received ciphertext to a session
 * (tls_conn_feed), reads plaintext out (tls_conn_read), encrypts responses (tls_conn_write) and
 * sends whatever ciphertext is pending (tls_conn_pending / tls_conn_consume). No sockets here.
 *
 * One interface, two backends chosen by Kconfig: OpenSSL 3 (CONFIG_TLS_OPENSSL) and mbedTLS
 * 2.28 (CONFIG_TLS_MBEDTLS). Both serve TLS 1.2 with ECDHE + AEAD suites (AES-GCM,
 * ChaCha20-Poly1305), ECDSA P-256/P-384 and RSA certs chosen by SNI from a cert_store, ALPN
 * http/1.1, and stateless session tickets whose keys rotate. OpenSSL also serves TLS 1.3;
 * Debian's mbedTLS 2.28 speaks TLS 1.2 only, so min_version 1.3 is refused with that backend.
 *
 * Ticket keys: each configured secret derives one key per rotation period
 * (HMAC-SHA256(secret, label || period)), so appliances that share the secrets through the
 * config rotate in step with no coordination. New tickets use the first secret's current key;
 * every secret's keys for the current, previous and next period are accepted, so a ticket
 * lives between one and two periods. Without configured secrets a random one is drawn at start
 * (resumption then works on this process only). The secrets come from the caller: edgetrackd
 * takes an applied bundle's (server/state.h) before the config's "tls.ticket_keys". A session resumes only under the server name
 * (SNI, case-insensitive) it was made under, as RFC 6066 §3 requires; under any other name,
 * even one the same certificate covers, the handshake is a full one.
 *
 * Threads: a tls_server is shared by all workers (all functions thread-safe); a tls_conn is
 * used by one thread at a time.
 */
#ifndef ET_TLS_TLS_H
#define ET_TLS_TLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certs/cert_store.h"
#include "core/ticket_keys.h"

#define TLS_TICKET_KEYS_MAX   TICKET_KEYS_MAX
#define TLS_TICKET_SECRET_MIN TICKET_SECRET_MIN
#define TLS_TICKET_SECRET_MAX TICKET_SECRET_MAX

/* tls_conn_read results besides a plaintext length */
#define TLS_CLOSED (-1L) /* the peer sent close_notify */
#define TLS_EFATAL (-2L) /* handshake or record failure; flush pending output, then close */

struct tls_settings {
	char cert_dir[256];
	char default_cert[CERT_NAME_MAX + 1]; /* served for no/unknown SNI; "" = unrecognized_name */
	int min_version;                      /* 12 or 13 (TLS 1.2 / 1.3) */
	struct ticket_key ticket_keys[TLS_TICKET_KEYS_MAX];
	size_t n_ticket_keys;                 /* 0: one random key for this process */
	uint32_t ticket_rotation_s;           /* period of each derived ticket key */
	uint32_t cert_cache;                  /* parsed cert+key objects kept (LRU) */
	/* One identity of the server's own instead of a cert store (the management listener):
	 * PEM chain (leaf first) and key files, served whatever the SNI. Empty: the cert store. */
	char cert_file[256], key_file[256];
	/* Mutual TLS when set: clients must present a certificate issued by a CA of this PEM
	 * file; a client without one, or with one from another CA, fails the handshake. Such a
	 * server issues no session tickets, so every connection shows its certificate. */
	char client_ca[256];
};

/* Defaults: /etc/edgetrack/certs, no default cert, TLS 1.2, 12 h rotation, 1024 parsed certs. */
void tls_settings_default(struct tls_settings *s);

/*
 * Parses the "tls" object of the edgetrackd config over the defaults:
 *   { "cert_dir": "/etc/edgetrack/certs", "default_cert": "click.example.com",
 *     "min_version": "1.2", "ticket_rotation": 43200, "cert_cache": 1024,
 *     "ticket_keys": [ { "name": "2025-06", "secret": "<64 to 128 hex digits>" } ] }
 * Unknown keys are refused. Returns 0, or -1 with an error naming the JSON path (tls.x[i].y);
 * out is left untouched on error.
 */
int tls_settings_parse(const json_t *obj, struct tls_settings *out, char *err, size_t errlen);

/* "openssl" or "mbedtls" */
const char *tls_backend_name(void);

/* The backend's DER parser for cert_store_new(). */
const struct cert_parser *tls_cert_parser(void);

struct tls_server;
struct tls_conn;

/* certs stays owned by the caller and must outlive the server; NULL with s->cert_file. */
struct tls_server *tls_server_new(const struct tls_settings *s, struct cert_store *certs,
				  char *err, size_t errlen);
void tls_server_free(struct tls_server *srv);

/* Replaces the ticket secrets (config reload); tickets under the old ones stop resuming. */
int tls_server_set_ticket_keys(struct tls_server *srv, const struct ticket_key *keys,
			       size_t n, char *err, size_t errlen);

struct tls_conn *tls_conn_new(struct tls_server *srv);
void tls_conn_free(struct tls_conn *c);

/* Hands ciphertext received from the socket to the session. 0, or -1 (out of memory). */
int tls_conn_feed(struct tls_conn *c, const void *data, size_t len);

/*
 * Advances the handshake and decrypts: > 0 plaintext bytes (call again until it returns 0),
 * 0 needs more input (send tls_conn_pending first), TLS_CLOSED, TLS_EFATAL (reason in
 * tls_conn_error; pending output may hold an alert to send before closing).
 */
long tls_conn_read(struct tls_conn *c, void *buf, size_t cap);

/* Encrypts plaintext into the pending output; needs an established session. 0 or -1. */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len);

/* Ciphertext waiting to be sent (handshake records, alerts, application data). */
size_t tls_conn_pending(struct tls_conn *c, const void **data);
void tls_conn_consume(struct tls_conn *c, size_t n);

bool tls_conn_established(const struct tls_conn *c);
const char *tls_conn_sni(const struct tls_conn *c);     /* NULL when the client sent none */
const char *tls_conn_version(const struct tls_conn *c); /* "TLSv1.3", "TLSv1.2" */
const char *tls_conn_alpn(const struct tls_conn *c);    /* "http/1.1" or NULL */
const char *tls_conn_cipher(const struct tls_conn *c);
bool tls_conn_resumed(const struct tls_conn *c);
const char *tls_conn_error(const struct tls_conn *c);   /* last failure, "" if none */

/* Queues close_notify. */
void tls_conn_shutdown(struct tls_conn *c);

/*
 * Creates a self-signed ECDSA P-256 cert + key for domain in dir (<domain>.crt/.key, the
 * cert_store layout) unless both exist. Used by edgetrackd's embedded demo defaults.
 * Returns 0, or -1 with a reason in err.
 */
int tls_demo_cert(const char *domain, const char *dir, char *err, size_t errlen);

#endif
