// SPDX-License-Identifier: MIT
/*
 * OpenSSL 3 backend. One SSL_CTX with no certificate of its own: the servername callback picks
 * the domain's cert+key from the cert store for each handshake (SSL_use_cert_and_key takes its
 * own references, so the store's parsed object is released at once). The SSL reads and writes
 * through a small BIO over two tls_bufs that are freed whenever they drain; together with
 * SSL_MODE_RELEASE_BUFFERS an idle connection keeps no record buffers.
 */
#include "tls/tls_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static const char ciphers12[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char ciphers13[] =
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const unsigned char alpn_http11[] = "\x08http/1.1";

struct tls_server {
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;
	/* fetched once: EVP_aes_256_cbc() would be looked up again (provider store, engine
	 * check) for every ticket made or opened */
	EVP_CIPHER *ticket_cipher;
	struct cert_store *certs;
	struct tls_ticket_ring *tickets;
	char default_cert[CERT_NAME_MAX + 1];
};

struct tls_conn {
	SSL *ssl;
	struct tls_server *srv;
	struct tls_buf in, out;
	const char *err; /* static text: OpenSSL's reason strings or our own */
	bool established, closed, fatal;
};

const char *tls_backend_name(void)
{
	return "openssl";
}

/* ------------------------------------------------------------------ cert parser */

struct ossl_cert {
	X509 *leaf;
	STACK_OF(X509) *chain; /* intermediates only */
	EVP_PKEY *key;
};

static void ossl_cert_free(void *p)
{
	struct ossl_cert *c = p;

	if (!c)
		return;
	X509_free(c->leaf);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key);
	free(c);
}

static void *ossl_cert_parse(const struct cert_der *der, char *err, size_t errlen)
{
	struct ossl_cert *c = calloc(1, sizeof(*c));
	const unsigned char *p;

	if (!c || !(c->chain = sk_X509_new_null()))
		goto fail;
	p = der->cert[0];
	c->leaf = d2i_X509(NULL, &p, (long)der->cert_len[0]);
	if (!c->leaf)
		goto fail;
	for (size_t i = 1; i < der->n_certs; i++) {
		X509 *x;

		p = der->cert[i];
		x = d2i_X509(NULL, &p, (long)der->cert_len[i]);
		if (!x || !sk_X509_push(c->chain, x)) {
			X509_free(x);
			goto fail;
		}
	}
	p = der->key;
	/* The typed call skips OpenSSL 3's slow format probing (it takes PKCS#8 as well). */
	c->key = d2i_PrivateKey(der->key_type == CERT_KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL,
				&p, (long)der->key_len);
	if (!c->key)
		goto fail;
	return c;
fail:
	snprintf(err, errlen, "cannot parse stored certificate or key");
	ERR_clear_error();
	ossl_cert_free(c);
	return NULL;
}

static const struct cert_parser ossl_parser = {
	.parse = ossl_cert_parse,
	.free = ossl_cert_free,
};

const struct cert_parser *tls_cert_parser(void)
{
	return &ossl_parser;
}

/* ------------------------------------------------------------------ memory BIO */

static int bio_write(BIO *b, const char *data, int len)
{
	struct tls_conn *c = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	return tls_buf_append(&c->out, data, (size_t)len) ? -1 : len;
}

static int bio_read(BIO *b, char *data, int len)
{
	struct tls_conn *c = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = tls_buf_take(&c->in, data, (size_t)len);
	if (n == 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn *c = BIO_get_data(b);

	(void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return c ? (long)c->in.len : 0;
	case BIO_CTRL_WPENDING:
		return c ? (long)c->out.len : 0;
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "edgetrack");

	if (m && (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
		  !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------------ callbacks */

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *srv = arg;
	struct tls_conn *c = SSL_get_app_data(ssl);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char why[CERT_NAME_MAX + 64];
	struct cert_obj *o = cert_store_acquire(srv->certs, name, srv->default_cert, why,
						sizeof(why));
	struct ossl_cert *pc;
	int ok;

	if (!o) {
		c->err = "no certificate for the requested name (unrecognized_name)";
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	pc = cert_obj_parsed(o);
	ok = SSL_use_cert_and_key(ssl, pc->leaf, pc->key, pc->chain, 1);
	cert_obj_put(o);
	if (ok != 1) {
		c->err = "cannot install the domain's certificate";
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Runs first, before OpenSSL looks at the session the client offers (a TLS 1.2 ticket or a
 * TLS 1.3 PSK): the session id context becomes the requested name's, so a session made
 * under another name fails OpenSSL's context check and the handshake is a full one, and the
 * new session is bound to this name.
 */
static int hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *ext;
	size_t len;
	char name[TLS_SNI_MAX + 1] = "";
	unsigned char ctx[TLS_SESSION_CTX_LEN];

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len))
		tls_sni_from_ext(ext, len, name);
	tls_session_context(name, ctx);
	if (!SSL_set_session_id_context(ssl, ctx, sizeof(ctx))) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	unsigned char *sel;

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof(alpn_http11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED) {
		c->err = "client offers no ALPN protocol we speak (http/1.1)";
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	struct tls_ticket_dkey k;
	OSSL_PARAM params[3];
	bool renew = false;
	int rc = 1;
	const EVP_CIPHER *cipher = c->srv->ticket_cipher;

	if (enc) {
		tls_ticket_ring_current(c->srv->tickets, time(NULL), &k);
		memcpy(name, k.name, TLS_TICKET_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1 ||
		    !EVP_EncryptInit_ex2(cctx, cipher, k.enc, iv, NULL))
			rc = -1;
	} else if (tls_ticket_ring_find(c->srv->tickets, time(NULL), name, &k, &renew) < 0) {
		return 0; /* unknown or expired key: full handshake */
	} else if (!EVP_DecryptInit_ex2(cctx, cipher, k.enc, iv, NULL)) {
		rc = -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.mac, sizeof(k.mac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (rc == 1 && !EVP_MAC_CTX_set_params(hctx, params))
		rc = -1;
	tls_cleanse(&k, sizeof(k));
	/* 2: the ticket was good but under an older key; OpenSSL issues a fresh one */
	return rc == 1 && renew ? 2 : rc;
}

/* ------------------------------------------------------------------ server */

static int ctx_setup(struct tls_server *srv, const struct tls_settings *s, char *err,
		     size_t errlen)
{
	SSL_CTX *ctx = srv->ctx;
	int minv = s->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;

	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Stateless tickets only: no server-side session cache to grow or share. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_timeout(ctx, (long)tls_ticket_ring_lifetime(srv->tickets));
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
	if (srv->certs) {
		SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx, srv);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, srv);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	if (!SSL_CTX_set_min_proto_version(ctx, minv) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, ciphers12) || !SSL_CTX_set_ciphersuites(ctx, ciphers13) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") ||
	    !SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"edgetrack", 9)) {
		snprintf(err, errlen, "cannot configure the TLS context");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Formats err as "what: OpenSSL's reason" and clears OpenSSL's error queue. */
static int ossl_fail(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long code = ERR_peek_last_error();
	const char *why = code ? ERR_reason_error_string(code) : NULL;

	snprintf(err, errlen, "%s %s: %s", what, path, why ? why : "cannot be loaded");
	ERR_clear_error();
	return -1;
}

static int own_identity(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) != 1)
		return ossl_fail(err, errlen, "certificate", s->cert_file);
	if (SSL_CTX_use_PrivateKey_file(ctx, s->key_file, SSL_FILETYPE_PEM) != 1)
		return ossl_fail(err, errlen, "key", s->key_file);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ossl_fail(err, errlen, "key does not match the certificate", s->key_file);
	return 0;
}

static int client_verify(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ctx, s->client_ca, NULL) != 1)
		return ossl_fail(err, errlen, "client CA", s->client_ca);
	names = SSL_load_client_CA_file(s->client_ca);
	if (!names)
		return ossl_fail(err, errlen, "client CA", s->client_ca);
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* a resumed session would skip the certificate: no tickets of either version */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	return 0;
}

struct tls_server *tls_server_new(const struct tls_settings *s, struct cert_store *certs,
				  char *err, size_t errlen)
{
	struct tls_server *srv = calloc(1, sizeof(*srv));

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->certs = certs;
	snprintf(srv->default_cert, sizeof(srv->default_cert), "%s", s->default_cert);
	srv->tickets = tls_ticket_ring_new(s->ticket_keys, s->n_ticket_keys, s->ticket_rotation_s,
					   err, errlen);
	if (!srv->tickets)
		goto fail;
	srv->ctx = SSL_CTX_new(TLS_server_method());
	srv->bio_method = bio_method_new();
	srv->ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (!srv->ctx || !srv->bio_method || !srv->ticket_cipher) {
		snprintf(err, errlen, "cannot create the TLS context");
		goto fail;
	}
	if (ctx_setup(srv, s, err, errlen) ||
	    (s->cert_file[0] && own_identity(srv->ctx, s, err, errlen)) ||
	    (s->client_ca[0] && client_verify(srv->ctx, s, err, errlen)))
		goto fail;
	return srv;
fail:
	tls_server_free(srv);
	return NULL;
}

void tls_server_free(struct tls_server *srv)
{
	if (!srv)
		return;
	SSL_CTX_free(srv->ctx);
	BIO_meth_free(srv->bio_method);
	EVP_CIPHER_free(srv->ticket_cipher);
	tls_ticket_ring_free(srv->tickets);
	free(srv);
}

int tls_server_set_ticket_keys(struct tls_server *srv, const struct ticket_key *keys,
			       size_t n, char *err, size_t errlen)
{
	return tls_ticket_ring_set(srv->tickets, keys, n, err, errlen);
}

/* ------------------------------------------------------------------ connections */

struct tls_conn *tls_conn_new(struct tls_server *srv)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	BIO *bio;

	if (!c)
		return NULL;
	c->srv = srv;
	c->err = "";
	c->ssl = SSL_new(srv->ctx);
	bio = BIO_new(srv->bio_method);
	if (!c->ssl || !bio) {
		BIO_free(bio);
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	BIO_set_data(bio, c);
	SSL_set_bio(c->ssl, bio, bio); /* one reference for both directions */
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	tls_buf_free(&c->in);
	tls_buf_free(&c->out);
	free(c);
}

int tls_conn_feed(struct tls_conn *c, const void *data, size_t len)
{
	return tls_buf_append(&c->in, data, len);
}

/* Maps an SSL_get_error result: 0 (wants input), TLS_CLOSED or TLS_EFATAL. */
static long ssl_result(struct tls_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		c->closed = true;
		return TLS_CLOSED;
	default:
		code = ERR_peek_last_error();
		if (code && (!c->err || !*c->err))
			c->err = ERR_reason_error_string(code);
		if (!c->err || !*c->err)
			c->err = e == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "TLS failure";
		ERR_clear_error();
		c->fatal = true;
		return TLS_EFATAL;
	}
}

long tls_conn_read(struct tls_conn *c, void *buf, size_t cap)
{
	int ret;

	if (c->fatal)
		return TLS_EFATAL;
	if (c->closed)
		return TLS_CLOSED;
	if (!c->established) {
		ret = SSL_do_handshake(c->ssl);
		if (ret != 1)
			return ssl_result(c, ret);
		c->established = true;
	}
	if (cap > INT32_MAX)
		cap = INT32_MAX;
	ret = SSL_read(c->ssl, buf, (int)cap);
	return ret > 0 ? ret : ssl_result(c, ret);
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!c->established || c->fatal || c->closed)
		return -1;
	while (len) {
		int chunk = len > INT32_MAX ? INT32_MAX : (int)len;
		int ret = SSL_write(c->ssl, p, chunk);

		if (ret <= 0) {
			ssl_result(c, ret);
			return -1;
		}
		p += ret;
		len -= (size_t)ret;
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
	return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return c->established ? SSL_get_version(c->ssl) : NULL;
}

const char *tls_conn_alpn(const struct tls_conn *c)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(c->ssl, &p, &len);
	/* The only protocol we ever select is http/1.1. */
	return len ? "http/1.1" : NULL;
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	return c->established ? SSL_get_cipher_name(c->ssl) : NULL;
}

bool tls_conn_resumed(const struct tls_conn *c)
{
	return SSL_session_reused(c->ssl) == 1;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err ? c->err : "";
}

void tls_conn_shutdown(struct tls_conn *c)
{
	if (c->established && !c->fatal)
		SSL_shutdown(c->ssl);
	ERR_clear_error();
}
