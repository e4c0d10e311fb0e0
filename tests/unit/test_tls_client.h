/* SPDX-License-Identifier: MIT */
/*
 * An OpenSSL client driven in memory against a tls_conn: the TLS unit tests' harness.
 * Included by the TLS unit tests (one program each).
 */
#ifndef ET_TESTS_TLS_CLIENT_H
#define ET_TESTS_TLS_CLIENT_H

#include <openssl/ssl.h>

#include "tls/tls.h"


struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio; /* server -> client, client -> server */
};

struct copts {
	const char *sni;
	int min, max;              /* protocol versions, 0 for defaults */
	const unsigned char *alpn; /* wire format, NULL for none */
	unsigned alpn_len;
	SSL_SESSION *session;      /* resume this one */
	SSL_CTX *ctx;              /* the context the session came from */
	X509 *cert;                /* client certificate (mutual TLS), NULL for none */
	EVP_PKEY *key;
};

static inline struct client client_new(const struct copts *o)
{
	struct client c;

	if (o->ctx) {
		c.ctx = o->ctx;
		SSL_CTX_up_ref(c.ctx);
	} else {
		c.ctx = SSL_CTX_new(TLS_client_method());
	}
	if (o->min && o->min < TLS1_2_VERSION) { /* old versions need the old security level */
		SSL_CTX_set_security_level(c.ctx, 0);
		SSL_CTX_set_cipher_list(c.ctx, "DEFAULT:@SECLEVEL=0");
	}
	if (o->min)
		SSL_CTX_set_min_proto_version(c.ctx, o->min);
	if (o->max)
		SSL_CTX_set_max_proto_version(c.ctx, o->max);
	SSL_CTX_set_session_cache_mode(c.ctx, SSL_SESS_CACHE_OFF);
	c.ssl = SSL_new(c.ctx);
	c.rbio = BIO_new(BIO_s_mem());
	c.wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(c.rbio, -1);
	SSL_set_bio(c.ssl, c.rbio, c.wbio);
	SSL_set_connect_state(c.ssl);
	if (o->sni)
		SSL_set_tlsext_host_name(c.ssl, o->sni);
	if (o->alpn)
		SSL_set_alpn_protos(c.ssl, o->alpn, o->alpn_len);
	if (o->session)
		SSL_set_session(c.ssl, o->session);
	if (o->cert && (SSL_use_certificate(c.ssl, o->cert) != 1 ||
			SSL_use_PrivateKey(c.ssl, o->key) != 1))
		abort();
	return c;
}

static inline void client_free(struct client *c)
{
	/* As after a clean close: OpenSSL marks the session of an unshut SSL not resumable. */
	SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN);
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
}

/* Moves client output to the server and server output to the client; returns bytes moved. */
static inline size_t pump(struct client *c, struct tls_conn *s)
{
	char buf[16384];
	const void *p;
	size_t moved = 0, n;
	int r;

	while ((r = BIO_read(c->wbio, buf, sizeof(buf))) > 0) {
		assert_int_equal(tls_conn_feed(s, buf, (size_t)r), 0);
		moved += (size_t)r;
	}
	while ((n = tls_conn_pending(s, &p)) > 0) {
		assert_int_equal(BIO_write(c->rbio, p, (int)n), (int)n);
		tls_conn_consume(s, n);
		moved += n;
	}
	return moved;
}

/* Runs the handshake: 0 when both ends are done, else the server's TLS_EFATAL. */
static inline long handshake(struct client *c, struct tls_conn *s)
{
	char buf[256];
	long sr = 0;

	for (int round = 0; round < 20; round++) {
		int cr = SSL_do_handshake(c->ssl);

		pump(c, s);
		sr = tls_conn_read(s, buf, sizeof(buf));
		assert_true(sr <= 0); /* no application data during the handshake */
		pump(c, s);
		if (sr == TLS_EFATAL) {
			SSL_do_handshake(c->ssl); /* let the client read the alert */
			return sr;
		}
		if (cr == 1 && tls_conn_established(s))
			return 0;
	}
	return TLS_EFATAL;
}

/* One request/response each way; also delivers TLS 1.3 tickets to the client. */
static inline void exchange(struct client *c, struct tls_conn *s)
{
	char buf[256];
	long n;

	assert_int_equal(SSL_write(c->ssl, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	pump(c, s);
	n = tls_conn_read(s, buf, sizeof(buf));
	assert_int_equal(n, 18);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(tls_conn_read(s, buf, sizeof(buf)), 0);
	assert_int_equal(tls_conn_write(s, "HTTP/1.1 204 No Content\r\n\r\n", 27), 0);
	pump(c, s);
	n = SSL_read(c->ssl, buf, sizeof(buf));
	assert_int_equal(n, 27);
	assert_memory_equal(buf, "HTTP/1.1 204", 12);
}

/* CN of the cert the client got */
static inline void peer_cn(struct client *c, char *cn, size_t len)
{
	X509 *x = SSL_get1_peer_certificate(c->ssl);

	cn[0] = '\0';
	if (x)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)len);
	X509_free(x);
}

#endif
