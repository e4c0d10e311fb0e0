// SPDX-License-Identifier: MIT
/*
 * mbedTLS 2.28 backend. Debian's mbedTLS 2.28 speaks TLS 1.2 only (its TLS 1.3 code is an
 * incomplete prototype that is not built), so this backend serves TLS 1.2 and refuses
 * min_version 1.3.
 *
 * The SNI callback installs the domain's parsed cert+key for the handshake; mbedTLS keeps
 * pointers to them, so the connection holds the cert store's reference until the handshake
 * ends. A ClientHello without SNI gets the config's own cert: the default cert, installed in
 * a config built per default-cert version (swapped by pointer, reference counted).
 * Tickets: our own write/parse callbacks seal mbedtls_ssl_session_save() output with
 * AES-256-GCM under the shared key ring, so appliances with the same secrets resume each
 * other's sessions. The ticket's authenticated data holds the session context of the server
 * name it was issued under, so it opens only under that name (RFC 6066 §3). mbedTLS parses
 * the ticket wherever the client put the extension, possibly before server_name, so the name
 * is read from the ClientHello before mbedTLS sees it, and the ticket callbacks reach the
 * connection through a per-connection copy of the config.
 */
#include "tls/tls_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TICKET_IV_LEN  12
#define TICKET_TAG_LEN 16
#define TICKET_HDR     (TLS_TICKET_NAME_LEN + TICKET_IV_LEN)
#define TICKET_AAD_LEN (TLS_TICKET_NAME_LEN + TLS_SESSION_CTX_LEN)

static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
	MBEDTLS_ECP_DP_NONE,
};
static const char *alpn_list[] = { "http/1.1", NULL };

/* A config for one version of the default cert; connections keep the one they started on. */
struct mconf {
	atomic_uint refs;
	mbedtls_ssl_config conf;
	struct cert_obj *def; /* default cert, NULL when none */
};

struct tls_server {
	struct cert_store *certs;
	struct tls_ticket_ring *tickets;
	char default_cert[CERT_NAME_MAX + 1];
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg; /* thread-safe: MBEDTLS_THREADING_C is on in Debian */
	pthread_mutex_t conf_lock;
	struct mconf *conf;
	/* settings' cert_file/key_file and client_ca, when set */
	mbedtls_x509_crt own_chain, client_ca;
	mbedtls_pk_context own_key;
	bool has_own, has_client_ca;
};

struct tls_conn {
	mbedtls_ssl_context ssl; /* first: the SNI callback finds the conn from it */
	struct tls_server *srv;
	struct mconf *conf;
	/* conf->conf with this connection as the ticket callbacks' context; it borrows every
	 * pointer of conf->conf (held above) and is never freed itself */
	mbedtls_ssl_config tconf;
	struct cert_obj *cert; /* the SNI choice, held until the handshake ends */
	char *sni;
	unsigned char session_ctx[TLS_SESSION_CTX_LEN]; /* of the ClientHello's server name */
	bool hello_read;                                  /* ... once the ClientHello is read */
	struct tls_buf in, out;
	char err[96];
	bool established, closed, fatal, resumed;
};

const char *tls_backend_name(void)
{
	return "mbedtls";
}

/* ------------------------------------------------------------------ cert parser */

struct mbed_cert {
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
};

static void mbed_cert_free(void *p)
{
	struct mbed_cert *c = p;

	if (!c)
		return;
	mbedtls_x509_crt_free(&c->chain);
	mbedtls_pk_free(&c->key);
	free(c);
}

static void *mbed_cert_parse(const struct cert_der *der, char *err, size_t errlen)
{
	struct mbed_cert *c = calloc(1, sizeof(*c));
	int rc = 0;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_x509_crt_init(&c->chain);
	mbedtls_pk_init(&c->key);
	for (size_t i = 0; i < der->n_certs && rc == 0; i++)
		rc = mbedtls_x509_crt_parse_der(&c->chain, der->cert[i], der->cert_len[i]);
	if (rc == 0)
		rc = mbedtls_pk_parse_key(&c->key, der->key, der->key_len, NULL, 0);
	if (rc) {
		char why[80];

		mbedtls_strerror(rc, why, sizeof(why));
		snprintf(err, errlen, "cannot parse stored certificate or key: %s", why);
		mbed_cert_free(c);
		return NULL;
	}
	return c;
}

static const struct cert_parser mbed_parser = {
	.parse = mbed_cert_parse,
	.free = mbed_cert_free,
};

const struct cert_parser *tls_cert_parser(void)
{
	return &mbed_parser;
}

/* ------------------------------------------------------------------ tickets */

/* Authenticated data of a ticket: its key name, then the session context it is bound to. */
static void ticket_aad(const struct tls_conn *c, const unsigned char *key_name,
		       unsigned char aad[TICKET_AAD_LEN])
{
	memcpy(aad, key_name, TLS_TICKET_NAME_LEN);
	memcpy(aad + TLS_TICKET_NAME_LEN, c->session_ctx, TLS_SESSION_CTX_LEN);
}

static int ticket_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
			const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
	struct tls_conn *c = p;
	struct tls_server *srv = c->srv;
	struct tls_ticket_dkey k;
	mbedtls_gcm_context gcm;
	unsigned char *iv = start + TLS_TICKET_NAME_LEN, *body = start + TICKET_HDR;
	unsigned char aad[TICKET_AAD_LEN];
	size_t avail = (size_t)(end - start), len;
	int rc;

	if (avail < TICKET_HDR + TICKET_TAG_LEN)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	rc = mbedtls_ssl_session_save(session, body, avail - TICKET_HDR - TICKET_TAG_LEN, &len);
	if (rc)
		return rc;
	tls_ticket_ring_current(srv->tickets, time(NULL), &k);
	memcpy(start, k.name, TLS_TICKET_NAME_LEN);
	ticket_aad(c, k.name, aad);
	rc = mbedtls_ctr_drbg_random(&srv->drbg, iv, TICKET_IV_LEN);
	mbedtls_gcm_init(&gcm);
	if (rc == 0)
		rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, k.enc, 256);
	if (rc == 0)
		rc = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, iv, TICKET_IV_LEN,
					       aad, sizeof(aad), body, body, TICKET_TAG_LEN,
					       body + len);
	mbedtls_gcm_free(&gcm);
	tls_cleanse(&k, sizeof(k));
	*tlen = TICKET_HDR + len + TICKET_TAG_LEN;
	*lifetime = tls_ticket_ring_lifetime(srv->tickets);
	return rc;
}

/* A ticket issued under another server name fails authentication: a full handshake follows. */
static int ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct tls_conn *c = p;
	struct tls_server *srv = c->srv;
	struct tls_ticket_dkey k;
	mbedtls_gcm_context gcm;
	unsigned char *body = buf + TICKET_HDR;
	unsigned char aad[TICKET_AAD_LEN];
	bool renew;
	size_t blen;
	int rc;

	if (len < TICKET_HDR + TICKET_TAG_LEN)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	if (tls_ticket_ring_find(srv->tickets, time(NULL), buf, &k, &renew) < 0)
		return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED; /* full handshake */
	blen = len - TICKET_HDR - TICKET_TAG_LEN;
	ticket_aad(c, buf, aad);
	mbedtls_gcm_init(&gcm);
	rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, k.enc, 256);
	if (rc == 0)
		rc = mbedtls_gcm_auth_decrypt(&gcm, blen, buf + TLS_TICKET_NAME_LEN, TICKET_IV_LEN,
					      aad, sizeof(aad), body + blen, TICKET_TAG_LEN,
					      body, body);
	mbedtls_gcm_free(&gcm);
	tls_cleanse(&k, sizeof(k));
	if (rc)
		return MBEDTLS_ERR_SSL_INVALID_MAC;
	rc = mbedtls_ssl_session_load(session, body, blen);
	if (rc == 0 && session->start + (time_t)tls_ticket_ring_lifetime(srv->tickets) < time(NULL))
		rc = MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
	return rc;
}

/* ------------------------------------------------------------------ SNI */

static int sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct tls_server *srv = p;
	struct tls_conn *c = (struct tls_conn *)ssl; /* ssl is the conn's first member */
	char why[CERT_NAME_MAX + 64];
	struct mbed_cert *mc;

	if (len == 0 || len > CERT_NAME_MAX || memchr(name, '\0', len))
		return -1;
	free(c->sni);
	c->sni = strndup((const char *)name, len);
	if (!c->sni)
		return -1;
	cert_obj_put(c->cert);
	c->cert = cert_store_acquire(srv->certs, c->sni, srv->default_cert, why, sizeof(why));
	if (!c->cert) {
		/* mbedTLS answers a failing SNI callback with unrecognized_name */
		snprintf(c->err, sizeof(c->err), "no certificate for the requested name "
			 "(unrecognized_name)");
		return -1;
	}
	mc = cert_obj_parsed(c->cert);
	return mbedtls_ssl_set_hs_own_cert(ssl, &mc->chain, &mc->key);
}

/* ------------------------------------------------------------------ configs */

static void mconf_put(struct mconf *m)
{
	if (!m || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	mbedtls_ssl_config_free(&m->conf);
	cert_obj_put(m->def);
	free(m);
}

static struct mconf *mconf_new(struct tls_server *srv, struct cert_obj *def)
{
	struct mconf *m = calloc(1, sizeof(*m));
	mbedtls_ssl_config *conf;
	struct mbed_cert *mc;

	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	conf = &m->conf;
	mbedtls_ssl_config_init(conf);
	if (mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT))
		goto fail;
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(conf, suites);
	mbedtls_ssl_conf_curves(conf, curves);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &srv->drbg);
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	if (srv->certs)
		mbedtls_ssl_conf_sni(conf, sni_cb, srv);
	if (srv->has_client_ca) {
		/* a resumed session would skip the certificate: no tickets */
		mbedtls_ssl_conf_ca_chain(conf, &srv->client_ca, NULL);
		mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	}
	/* else the ticket callbacks are set per connection (tls_conn_new), with their context */
	if (mbedtls_ssl_conf_alpn_protocols(conf, alpn_list))
		goto fail;
	if (srv->has_own && mbedtls_ssl_conf_own_cert(conf, &srv->own_chain, &srv->own_key))
		goto fail;
	if (def) {
		mc = cert_obj_parsed(def);
		if (mbedtls_ssl_conf_own_cert(conf, &mc->chain, &mc->key))
			goto fail;
		m->def = def;
	}
	return m;
fail:
	mbedtls_ssl_config_free(conf);
	free(m);
	return NULL;
}

/*
 * The config for a new connection: the current one unless the default cert was reloaded
 * since it was built. Returns a reference.
 */
static struct mconf *conf_get(struct tls_server *srv)
{
	char why[CERT_NAME_MAX + 64];
	struct cert_obj *def = srv->default_cert[0] ?
		cert_store_acquire(srv->certs, NULL, srv->default_cert, why, sizeof(why)) : NULL;
	struct mconf *m, *old = NULL;

	pthread_mutex_lock(&srv->conf_lock);
	if (!srv->conf || srv->conf->def != def) {
		m = mconf_new(srv, def);
		if (m) {
			def = NULL; /* the config owns it now */
			old = srv->conf;
			srv->conf = m;
		}
	}
	m = srv->conf;
	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&srv->conf_lock);
	cert_obj_put(def);
	mconf_put(old);
	return m;
}

/* ------------------------------------------------------------------ server */

static int mbed_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char why[100];

	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(err, errlen, "%s %s: %s", what, path, why);
	return -1;
}

/* The server's own identity and the client CA, from the settings' files. */
static int load_files(struct tls_server *srv, const struct tls_settings *s, char *err,
		      size_t errlen)
{
	int rc;

	if (s->cert_file[0]) {
		srv->has_own = true;
		rc = mbedtls_x509_crt_parse_file(&srv->own_chain, s->cert_file);
		if (rc)
			return mbed_fail(err, errlen, "certificate", s->cert_file, rc);
		rc = mbedtls_pk_parse_keyfile(&srv->own_key, s->key_file, NULL);
		if (rc)
			return mbed_fail(err, errlen, "key", s->key_file, rc);
		rc = mbedtls_pk_check_pair(&srv->own_chain.pk, &srv->own_key);
		if (rc)
			return mbed_fail(err, errlen, "key does not match the certificate",
					 s->key_file, rc);
	}
	if (s->client_ca[0]) {
		srv->has_client_ca = true;
		rc = mbedtls_x509_crt_parse_file(&srv->client_ca, s->client_ca);
		if (rc)
			return mbed_fail(err, errlen, "client CA", s->client_ca, rc);
	}
	return 0;
}

struct tls_server *tls_server_new(const struct tls_settings *s, struct cert_store *certs,
				  char *err, size_t errlen)
{
	static const char pers[] = "edgetrack tls";
	struct tls_server *srv;

	if (s->min_version > 12) {
		snprintf(err, errlen, "TLS 1.3 is not available with mbedTLS 2.28 (TLS 1.2 only): "
			 "set tls.min_version to \"1.2\" or build with OpenSSL");
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->certs = certs;
	snprintf(srv->default_cert, sizeof(srv->default_cert), "%s", s->default_cert);
	pthread_mutex_init(&srv->conf_lock, NULL);
	mbedtls_entropy_init(&srv->entropy);
	mbedtls_ctr_drbg_init(&srv->drbg);
	mbedtls_x509_crt_init(&srv->own_chain);
	mbedtls_x509_crt_init(&srv->client_ca);
	mbedtls_pk_init(&srv->own_key);
	if (load_files(srv, s, err, errlen))
		goto fail;
	srv->tickets = tls_ticket_ring_new(s->ticket_keys, s->n_ticket_keys, s->ticket_rotation_s,
					   err, errlen);
	if (!srv->tickets)
		goto fail;
	if (mbedtls_ctr_drbg_seed(&srv->drbg, mbedtls_entropy_func, &srv->entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1)) {
		snprintf(err, errlen, "cannot seed the random generator");
		goto fail;
	}
	srv->conf = mconf_new(srv, NULL);
	if (!srv->conf) {
		snprintf(err, errlen, "cannot configure mbedTLS");
		goto fail;
	}
	return srv;
fail:
	tls_server_free(srv);
	return NULL;
}

void tls_server_free(struct tls_server *srv)
{
	if (!srv)
		return;
	mconf_put(srv->conf);
	tls_ticket_ring_free(srv->tickets);
	mbedtls_ctr_drbg_free(&srv->drbg);
	mbedtls_entropy_free(&srv->entropy);
	mbedtls_x509_crt_free(&srv->own_chain);
	mbedtls_x509_crt_free(&srv->client_ca);
	mbedtls_pk_free(&srv->own_key);
	pthread_mutex_destroy(&srv->conf_lock);
	free(srv);
}

int tls_server_set_ticket_keys(struct tls_server *srv, const struct ticket_key *keys,
			       size_t n, char *err, size_t errlen)
{
	return tls_ticket_ring_set(srv->tickets, keys, n, err, errlen);
}

/* ------------------------------------------------------------------ connections */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;

	if (tls_buf_append(&c->out, buf, len))
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;
	size_t n = tls_buf_take(&c->in, buf, len);

	return n ? (int)n : MBEDTLS_ERR_SSL_WANT_READ;
}

struct tls_conn *tls_conn_new(struct tls_server *srv)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	mbedtls_ssl_init(&c->ssl);
	c->conf = conf_get(srv);
	if (!c->conf) {
		tls_conn_free(c);
		return NULL;
	}
	c->tconf = c->conf->conf;
	if (!srv->has_client_ca)
		mbedtls_ssl_conf_session_tickets_cb(&c->tconf, ticket_write, ticket_parse, c);
	if (mbedtls_ssl_setup(&c->ssl, &c->tconf)) {
		tls_conn_free(c);
		return NULL;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return c;
}

static void drop_cert(struct tls_conn *c)
{
	cert_obj_put(c->cert);
	c->cert = NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	mbedtls_ssl_free(&c->ssl);
	drop_cert(c);
	mconf_put(c->conf);
	free(c->sni);
	tls_buf_free(&c->in);
	tls_buf_free(&c->out);
	free(c);
}

int tls_conn_feed(struct tls_conn *c, const void *data, size_t len)
{
	return tls_buf_append(&c->in, data, len);
}

static long fatal(struct tls_conn *c, int rc)
{
	if (!c->err[0])
		mbedtls_strerror(rc, c->err, sizeof(c->err));
	c->fatal = true;
	return TLS_EFATAL;
}

/*
 * Takes the server name from the ClientHello before mbedTLS reads it, for the ticket
 * callbacks. False until the whole first record has arrived (mbedTLS waits for it anyway).
 */
static bool read_hello(struct tls_conn *c)
{
	char name[TLS_SNI_MAX + 1];

	if (c->hello_read)
		return true;
	if (tls_sni_from_hello(c->in.p ? c->in.p + c->in.off : NULL, c->in.len, name))
		return false;
	tls_session_context(name, c->session_ctx);
	c->hello_read = true;
	return true;
}

/*
 * Steps the handshake by hand to see whether it resumes: after ServerHello a resumed
 * session goes straight to ChangeCipherSpec, a full one to Certificate.
 */
static long handshake(struct tls_conn *c)
{
	if (!read_hello(c))
		return 0;
	while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
		int before = c->ssl.state, rc = mbedtls_ssl_handshake_step(&c->ssl);

		if (before == MBEDTLS_SSL_SERVER_HELLO &&
		    c->ssl.state == MBEDTLS_SSL_SERVER_CHANGE_CIPHER_SPEC)
			c->resumed = true;
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (rc)
			return fatal(c, rc);
	}
	c->established = true;
	drop_cert(c); /* the handshake's cert pointers are gone now */
	return 1;
}

long tls_conn_read(struct tls_conn *c, void *buf, size_t cap)
{
	int rc;

	if (c->fatal)
		return TLS_EFATAL;
	if (c->closed)
		return TLS_CLOSED;
	if (!c->established) {
		long h = handshake(c);

		if (h <= 0)
			return h;
	}
	rc = mbedtls_ssl_read(&c->ssl, buf, cap);
	if (rc > 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
		c->closed = true;
		return TLS_CLOSED;
	}
	return fatal(c, rc);
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!c->established || c->fatal || c->closed)
		return -1;
	while (len) {
		int rc = mbedtls_ssl_write(&c->ssl, p, len);

		if (rc <= 0) {
			fatal(c, rc);
			return -1;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

size_t tls_conn_pending(struct tls_conn *c, const void **data)
{
	*data = c->out.p ? c->out.p + c->out.off : NULL;
	return c->out.len;
}

void tls_conn_consume(struct tls_conn *c, size_t n)
{
	tls_buf_consume(&c->out, n);
}

bool tls_conn_established(const struct tls_conn *c)
{
	return c->established;
}

const char *tls_conn_sni(const struct tls_conn *c)
{
	return c->sni;
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return c->established ? mbedtls_ssl_get_version(&c->ssl) : NULL;
}

const char *tls_conn_alpn(const struct tls_conn *c)
{
	return mbedtls_ssl_get_alpn_protocol(&c->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	return c->established ? mbedtls_ssl_get_ciphersuite(&c->ssl) : NULL;
}

bool tls_conn_resumed(const struct tls_conn *c)
{
	return c->resumed;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

void tls_conn_shutdown(struct tls_conn *c)
{
	if (c->established && !c->fatal)
		mbedtls_ssl_close_notify(&c->ssl);
}
