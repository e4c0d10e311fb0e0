// SPDX-License-Identifier: MIT
/*
 * TLS server sessions driven in memory against an OpenSSL client: the same tests for whichever
 * backend the build selected (tls_backend_name()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs/cert_store.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"
#include "test_tls_certs.h"
#include "test_tls_client.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* from sanitizer/allocator_interface.h, which Debian's gcc does not ship */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_bytes(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_bytes(void) { return mallinfo2().uordblks; }
#endif

static bool mbed(void)
{
	return strcmp(tls_backend_name(), "mbedtls") == 0;
}

struct fixture {
	char *dir;
	struct tc_ca ca;
	EVP_PKEY *ec, *rsa;
	struct cert_store *store;
	struct tls_settings set;
	struct tls_server *srv;
};

static struct tls_server *server(struct fixture *f)
{
	char err[256];
	struct tls_server *s = tls_server_new(&f->set, f->store, err, sizeof(err));

	if (!s)
		fail_msg("tls_server_new: %s", err);
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	f->dir = tc_tmpdir();
	f->ca = tc_ca_new("edgetrack test CA");
	f->ec = tc_ec_key();
	f->rsa = tc_rsa_key(2048);
	tc_domain(f->dir, "a.example.com", "a.example.com", &f->ca, f->ec);
	tc_domain(f->dir, "b.example.com", "b.example.com", &f->ca, f->rsa);
	tc_domain(f->dir, "c.example.net", "c.example.net", &f->ca, f->ec);
	tc_domain(f->dir, "_wildcard.w.example.com", "*.w.example.com", &f->ca, f->ec);
	f->store = cert_store_new(tls_cert_parser(), 64);
	if (cert_store_load_dir(f->store, f->dir, NULL, NULL, NULL, err, sizeof(err)))
		return -1;
	tls_settings_default(&f->set);
	f->srv = server(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tls_server_free(f->srv);
	cert_store_free(f->store);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->rsa);
	tc_ca_free(&f->ca);
	tc_rmdir(f->dir);
	free(f);
	return 0;
}

/* Full handshake with SNI name; returns the CN served. */
static void connect_cn(struct fixture *f, const char *sni, char *cn, size_t len)
{
	struct copts o = { .sni = sni };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);

	assert_int_equal(handshake(&c, s), 0);
	exchange(&c, s);
	peer_cn(&c, cn, len);
	if (sni)
		assert_string_equal(tls_conn_sni(s), sni);
	else
		assert_null(tls_conn_sni(s));
	tls_conn_free(s);
	client_free(&c);
}

/* ------------------------------------------------------------------ tests */

static void test_sni_picks_cert(void **state)
{
	struct fixture *f = *state;
	char cn[256];

	connect_cn(f, "a.example.com", cn, sizeof(cn));
	assert_string_equal(cn, "a.example.com");
	connect_cn(f, "b.example.com", cn, sizeof(cn)); /* RSA */
	assert_string_equal(cn, "b.example.com");
	connect_cn(f, "c.example.net", cn, sizeof(cn));
	assert_string_equal(cn, "c.example.net");
	connect_cn(f, "any.w.example.com", cn, sizeof(cn));
	assert_string_equal(cn, "*.w.example.com");
	connect_cn(f, "A.Example.COM", cn, sizeof(cn));
	assert_string_equal(cn, "a.example.com");
}

static void test_unknown_sni_gets_default(void **state)
{
	struct fixture *f = *state;
	char cn[256];

	tls_server_free(f->srv);
	snprintf(f->set.default_cert, sizeof(f->set.default_cert), "c.example.net");
	f->srv = server(f);
	connect_cn(f, "nope.example.org", cn, sizeof(cn));
	assert_string_equal(cn, "c.example.net");
	connect_cn(f, NULL, cn, sizeof(cn));
	assert_string_equal(cn, "c.example.net");
}

static void test_unknown_sni_alert(void **state)
{
	struct fixture *f = *state;
	struct copts o = { .sni = "nope.example.org" };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);

	assert_int_equal(handshake(&c, s), TLS_EFATAL);
	assert_non_null(strstr(tls_conn_error(s), "unrecognized_name"));
	/* the client saw the alert: unrecognized_name (112) */
	assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_TLSV1_UNRECOGNIZED_NAME);
	ERR_clear_error();
	assert_false(tls_conn_established(s));
	tls_conn_free(s);
	client_free(&c);

	/* no SNI and no default cert: refused too */
	o.sni = NULL;
	c = client_new(&o);
	s = tls_conn_new(f->srv);
	assert_int_equal(handshake(&c, s), TLS_EFATAL);
	ERR_clear_error();
	tls_conn_free(s);
	client_free(&c);
}

static void test_old_versions_refused(void **state)
{
	struct fixture *f = *state;
	static const int old[] = { TLS1_VERSION, TLS1_1_VERSION };

	for (int i = 0; i < 2; i++) {
		struct copts o = { .sni = "a.example.com", .min = old[i], .max = old[i] };
		struct client c = client_new(&o);
		struct tls_conn *s = tls_conn_new(f->srv);

		assert_int_equal(handshake(&c, s), TLS_EFATAL);
		printf("TLS version 0x%x refused: %s\n", old[i], tls_conn_error(s));
		ERR_clear_error();
		tls_conn_free(s);
		client_free(&c);
	}
}

static void check_version(struct fixture *f, int max, const char *want)
{
	struct copts o = { .sni = "a.example.com", .max = max };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);

	assert_int_equal(handshake(&c, s), 0);
	exchange(&c, s);
	assert_string_equal(tls_conn_version(s), want);
	assert_string_equal(SSL_get_version(c.ssl), want);
	/* AEAD suites only */
	assert_true(strstr(tls_conn_cipher(s), "GCM") || strstr(tls_conn_cipher(s), "CHACHA20"));
	printf("%s with %s\n", want, tls_conn_cipher(s));
	tls_conn_free(s);
	client_free(&c);
}

static void test_versions(void **state)
{
	struct fixture *f = *state;

	check_version(f, 0, mbed() ? "TLSv1.2" : "TLSv1.3");
	check_version(f, TLS1_2_VERSION, "TLSv1.2");
}

static void test_min_version_13(void **state)
{
	struct fixture *f = *state;
	struct copts o = { .sni = "a.example.com", .max = TLS1_2_VERSION };
	struct tls_server *srv;
	struct client c;
	struct tls_conn *s;
	char err[256];

	f->set.min_version = 13;
	srv = tls_server_new(&f->set, f->store, err, sizeof(err));
	if (mbed()) { /* mbedTLS 2.28 has no TLS 1.3 */
		assert_null(srv);
		assert_non_null(strstr(err, "TLS 1.3"));
		return;
	}
	assert_non_null(srv);
	c = client_new(&o);
	s = tls_conn_new(srv);
	assert_int_equal(handshake(&c, s), TLS_EFATAL);
	ERR_clear_error();
	tls_conn_free(s);
	client_free(&c);
	tls_server_free(srv);
}

static void test_alpn(void **state)
{
	struct fixture *f = *state;
	static const unsigned char both[] = "\x02h2\x08http/1.1", h2[] = "\x02h2";
	struct copts o = { .sni = "a.example.com", .alpn = both, .alpn_len = sizeof(both) - 1 };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);
	const unsigned char *sel;
	unsigned len;

	assert_int_equal(handshake(&c, s), 0);
	assert_string_equal(tls_conn_alpn(s), "http/1.1");
	SSL_get0_alpn_selected(c.ssl, &sel, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(sel, "http/1.1", 8);
	tls_conn_free(s);
	client_free(&c);

	o.alpn = NULL; /* no ALPN is fine */
	c = client_new(&o);
	s = tls_conn_new(f->srv);
	assert_int_equal(handshake(&c, s), 0);
	assert_null(tls_conn_alpn(s));
	tls_conn_free(s);
	client_free(&c);

	o.alpn = h2; /* only protocols we do not speak: no_application_protocol */
	o.alpn_len = sizeof(h2) - 1;
	c = client_new(&o);
	s = tls_conn_new(f->srv);
	assert_int_equal(handshake(&c, s), TLS_EFATAL);
	ERR_clear_error();
	tls_conn_free(s);
	client_free(&c);
}

/* Full handshake on srv; returns the session the client got (ticket inside). */
static SSL_SESSION *first_session(struct tls_server *srv, int max, SSL_CTX *ctx)
{
	struct copts o = { .sni = "a.example.com", .max = max, .ctx = ctx };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(srv);
	SSL_SESSION *sess;

	assert_int_equal(handshake(&c, s), 0);
	assert_false(tls_conn_resumed(s));
	exchange(&c, s);
	sess = SSL_get1_session(c.ssl);
	assert_non_null(sess);
	assert_true(SSL_SESSION_is_resumable(sess));
	assert_true(SSL_SESSION_has_ticket(sess));
	tls_conn_free(s);
	client_free(&c);
	return sess;
}

static bool resumes_as(struct tls_server *srv, const char *sni, SSL_SESSION *sess, int max,
		       SSL_CTX *ctx)
{
	struct copts o = { .sni = sni, .max = max, .session = sess, .ctx = ctx };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(srv);
	bool r;

	assert_int_equal(handshake(&c, s), 0);
	exchange(&c, s);
	r = tls_conn_resumed(s);
	assert_int_equal(r, SSL_session_reused(c.ssl) == 1);
	tls_conn_free(s);
	client_free(&c);
	return r;
}

static bool resumes(struct tls_server *srv, SSL_SESSION *sess, int max, SSL_CTX *ctx)
{
	return resumes_as(srv, "a.example.com", sess, max, ctx);
}

static struct ticket_key tkey(const char *name, unsigned char fill)
{
	struct ticket_key k = { .secret_len = 32 };

	snprintf(k.name, sizeof(k.name), "%s", name);
	memset(k.secret, fill, k.secret_len);
	return k;
}

static void resumption_at(struct fixture *f, int max)
{
	struct ticket_key k1 = tkey("k1", 1), k2 = tkey("k2", 2), k3 = tkey("k3", 3);
	struct ticket_key ring[2] = { k2, k1 };
	struct tls_server *other;
	SSL_SESSION *sess;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	char err[256];

	assert_int_equal(tls_server_set_ticket_keys(f->srv, &k1, 1, err, sizeof(err)), 0);
	sess = first_session(f->srv, max, cctx);
	assert_true(resumes(f->srv, sess, max, cctx));

	/* another appliance with the same configured keys resumes it too */
	f->set.ticket_keys[0] = k1;
	f->set.n_ticket_keys = 1;
	other = server(f);
	assert_true(resumes(other, sess, max, cctx));
	tls_server_free(other);

	/* rotation: k2 now encrypts, k1 still decrypts */
	assert_int_equal(tls_server_set_ticket_keys(f->srv, ring, 2, err, sizeof(err)), 0);
	assert_true(resumes(f->srv, sess, max, cctx));
	/* k1 retired: the old ticket no longer resumes, the handshake falls back to full */
	assert_int_equal(tls_server_set_ticket_keys(f->srv, &k3, 1, err, sizeof(err)), 0);
	assert_false(resumes(f->srv, sess, max, cctx));
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);

	/* short secrets are refused and leave the keys in place */
	k1.secret_len = 8;
	assert_int_equal(tls_server_set_ticket_keys(f->srv, &k1, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "secret must be"));
}

static void test_resumption_tls12(void **state)
{
	resumption_at(*state, TLS1_2_VERSION);
}

static void test_resumption_tls13(void **state)
{
	if (mbed())
		skip();
	resumption_at(*state, TLS1_3_VERSION);
}

/*
 * RFC 6066 §3: a session made under a.example.com is not resumed under any other name, not
 * even one with the same key or under a wildcard, and still resumes under its own name.
 */
static void resumption_by_name(struct fixture *f, int max)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_SESSION *sess = first_session(f->srv, max, cctx);

	assert_false(resumes_as(f->srv, "c.example.net", sess, max, cctx)); /* same EC key */
	assert_false(resumes_as(f->srv, "b.example.com", sess, max, cctx));
	assert_false(resumes_as(f->srv, "x.w.example.com", sess, max, cctx));
	assert_true(resumes_as(f->srv, "a.example.com", sess, max, cctx));
	assert_true(resumes_as(f->srv, "A.Example.COM", sess, max, cctx));
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
}

static void test_resumption_by_name_tls12(void **state)
{
	resumption_by_name(*state, TLS1_2_VERSION);
}

static void test_resumption_by_name_tls13(void **state)
{
	if (mbed())
		skip();
	resumption_by_name(*state, TLS1_3_VERSION);
}

/* The first bytes an OpenSSL client sends for sni (NULL: no SNI). */
static size_t client_hello(const char *sni, unsigned char *buf, size_t cap)
{
	struct copts o = { .sni = sni, .max = TLS1_2_VERSION };
	struct client c = client_new(&o);
	int n;

	SSL_do_handshake(c.ssl);
	n = BIO_read(c.wbio, buf, (int)cap);
	assert_true(n > 0);
	client_free(&c);
	return (size_t)n;
}

/* Moves the server_name extension of a one-record ClientHello to the end of the list, as
 * clients that shuffle their extensions may send it (after session_ticket). */
static void sni_last(unsigned char *h, size_t len)
{
	size_t off = 9 + 34, ext_end;
	unsigned char tmp[512];

	off += 1 + h[off];                          /* session id */
	off += 2 + ((size_t)h[off] << 8 | h[off + 1]); /* cipher suites */
	off += 1 + h[off];                          /* compression */
	ext_end = off + 2 + ((size_t)h[off] << 8 | h[off + 1]);
	assert_int_equal(ext_end, len);
	for (off += 2; off < ext_end;) {
		size_t n = 4 + ((size_t)h[off + 2] << 8 | h[off + 3]);

		if (h[off] == 0 && h[off + 1] == 0) {
			assert_true(n <= sizeof(tmp));
			memcpy(tmp, h + off, n);
			memmove(h + off, h + off + n, ext_end - off - n);
			memcpy(h + ext_end - n, tmp, n);
			return;
		}
		off += n;
	}
	fail_msg("no server_name extension");
}

static void test_sni_from_hello(void **state)
{
	unsigned char h[4096];
	char name[TLS_SNI_MAX + 1];
	size_t n;

	(void)state;
	n = client_hello("Click.Example.TEST", h, sizeof(h));
	for (size_t cut = 0; cut < n; cut++) /* nothing before the whole record */
		assert_int_equal(tls_sni_from_hello(h, cut, name), 1);
	assert_int_equal(tls_sni_from_hello(h, n, name), 0);
	assert_string_equal(name, "click.example.test");
	sni_last(h, n);
	assert_int_equal(tls_sni_from_hello(h, n, name), 0);
	assert_string_equal(name, "click.example.test");
	n = client_hello(NULL, h, sizeof(h));
	assert_int_equal(tls_sni_from_hello(h, n, name), 0);
	assert_string_equal(name, "");
	assert_int_equal(tls_sni_from_hello((const unsigned char *)"GET / HTTP/1.1\r\n", 16, name), 0);
	assert_string_equal(name, "");
}

/* A bad replacement cert is rejected and the old one keeps serving handshakes. */
static void test_bad_cert_keeps_serving(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	EVP_PKEY *other = tc_ec_key();
	X509 *x = tc_cert("a.example.com", "DNS:a.example.com", f->ec, &f->ca, -60, 86400, 0);
	X509 *expired = tc_cert("c.example.net", "DNS:c.example.net", f->ec, &f->ca, -7200, -60, 0);
	char err[256], cn[256];

	tc_write_pair(f->dir, "a.example.com", x, f->ca.cert, other); /* key mismatch */
	tc_write_pair(f->dir, "c.example.net", expired, f->ca.cert, f->ec);
	assert_int_equal(cert_store_load_dir(f->store, f->dir, &r, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(r.rejected, 2);
	assert_int_equal(r.kept, 2);
	connect_cn(f, "a.example.com", cn, sizeof(cn));
	assert_string_equal(cn, "a.example.com");
	connect_cn(f, "c.example.net", cn, sizeof(cn));
	assert_string_equal(cn, "c.example.net");
	X509_free(x);
	X509_free(expired);
	EVP_PKEY_free(other);
}

/* A reload during a handshake: the handshake finishes with the cert it started with. */
static void test_swap_mid_handshake(void **state)
{
	struct fixture *f = *state;
	struct copts o = { .sni = "a.example.com" };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);
	char buf[64], err[256], cn[256];
	EVP_PKEY *k2 = tc_ec_key();
	X509 *x = tc_cert("a.example.com", "DNS:a.example.com", k2, &f->ca, -60, 86400, 0);

	SSL_do_handshake(c.ssl); /* ClientHello */
	pump(&c, s);
	assert_int_equal(tls_conn_read(s, buf, sizeof(buf)), 0); /* cert chosen, flight sent */
	tc_write_pair(f->dir, "a.example.com", x, f->ca.cert, k2);
	assert_int_equal(cert_store_load_domain(f->store, f->dir, "a.example.com", err,
						sizeof(err)), 0);
	assert_int_equal(handshake(&c, s), 0);
	exchange(&c, s);
	tls_conn_free(s);
	client_free(&c);
	connect_cn(f, "a.example.com", cn, sizeof(cn)); /* new handshakes use the new cert */
	assert_string_equal(cn, "a.example.com");
	X509_free(x);
	EVP_PKEY_free(k2);
}

static void test_close_notify(void **state)
{
	struct fixture *f = *state;
	struct copts o = { .sni = "a.example.com" };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);
	char buf[64];

	assert_int_equal(handshake(&c, s), 0);
	exchange(&c, s);
	SSL_shutdown(c.ssl);
	pump(&c, s);
	assert_int_equal(tls_conn_read(s, buf, sizeof(buf)), TLS_CLOSED);
	tls_conn_shutdown(s);
	pump(&c, s);
	assert_int_equal(SSL_read(c.ssl, buf, sizeof(buf)), 0);
	assert_int_equal(SSL_get_error(c.ssl, 0), SSL_ERROR_ZERO_RETURN);
	tls_conn_free(s);
	client_free(&c);

	/* garbage instead of a ClientHello is fatal, not a hang */
	s = tls_conn_new(f->srv);
	assert_int_equal(tls_conn_feed(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 0);
	assert_int_equal(tls_conn_read(s, buf, sizeof(buf)), TLS_EFATAL);
	assert_true(tls_conn_error(s)[0] != '\0');
	tls_conn_free(s);
}

/* Heap bytes held per established, idle connection (handshake done, buffers drained). */
static void test_idle_memory(void **state)
{
	struct fixture *f = *state;
	enum { N = 200 };
	struct tls_conn *conns[N];
	size_t before = 0;

	for (int i = 0; i <= N; i++) {
		struct copts o = { .sni = "a.example.com" };
		struct client c = client_new(&o);
		struct tls_conn *s = tls_conn_new(f->srv);

		assert_int_equal(handshake(&c, s), 0);
		exchange(&c, s);
		client_free(&c);
		if (i == 0) { /* warm-up: caches, LRU, ticket keys */
			tls_conn_free(s);
			before = heap_bytes();
			continue;
		}
		conns[i - 1] = s;
	}
	printf("TLSMEM backend=%s idle_bytes_per_conn=%zu (%d connections, %s)\n",
	       tls_backend_name(), (heap_bytes() - before) / N, N,
	       mbed() ? "TLSv1.2" : "TLSv1.3");
	for (int i = 0; i < N; i++)
		tls_conn_free(conns[i]);
}

static void test_settings_parse(void **state)
{
	struct tls_settings s;
	json_error_t jerr;
	char err[256];
	json_t *j;

	(void)state;
	tls_settings_default(&s);
	j = json_loads("{\"cert_dir\":\"/tmp/c\",\"default_cert\":\"click.example.com\","
		       "\"min_version\":\"1.3\",\"ticket_rotation\":3600,\"cert_cache\":50,"
		       "\"ticket_keys\":[{\"name\":\"k1\",\"secret\":"
		       "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}",
		       0, &jerr);
	assert_int_equal(tls_settings_parse(j, &s, err, sizeof(err)), 0);
	json_decref(j);
	assert_string_equal(s.cert_dir, "/tmp/c");
	assert_string_equal(s.default_cert, "click.example.com");
	assert_int_equal(s.min_version, 13);
	assert_int_equal(s.ticket_rotation_s, 3600);
	assert_int_equal(s.cert_cache, 50);
	assert_int_equal(s.n_ticket_keys, 1);
	assert_int_equal(s.ticket_keys[0].secret_len, 32);
	assert_int_equal(s.ticket_keys[0].secret[1], 0x11);

	static const struct { const char *json, *want; } bad[] = {
		{ "{\"min_version\":\"1.1\"}", "tls.min_version:" },
		{ "{\"ticket_keys\":[{\"name\":\"k\",\"secret\":\"abc\"}]}", "tls.ticket_keys[0].secret:" },
		{ "{\"ticket_keys\":[{\"secret\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"x\":1}]}",
		  "tls.ticket_keys[0].x: unknown key" },
		{ "{\"ticket_rotation\":5}", "tls.ticket_rotation:" },
		{ "{\"default_cert\":\"Bad Name\"}", "tls.default_cert:" },
		{ "{\"certdir\":\"/x\"}", "tls.certdir: unknown key" },
		{ "[]", "tls: expected an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tls_settings before = s;

		j = json_loads(bad[i].json, 0, &jerr);
		assert_non_null(j);
		assert_int_equal(tls_settings_parse(j, &s, err, sizeof(err)), -1);
		json_decref(j);
		assert_non_null(strstr(err, bad[i].want));
		assert_memory_equal(&before, &s, sizeof(s)); /* left intact */
	}
}

static void test_demo_cert(void **state)
{
	struct fixture *f = *state;
	struct cert_info info;
	char err[256], cn[256], *dir = tc_tmpdir();
	struct cert_store *store = cert_store_new(tls_cert_parser(), 4);
	struct cert_store *saved = f->store;

	assert_int_equal(tls_demo_cert("demo.edgetrack.test", dir, err, sizeof(err)), 0);
	assert_int_equal(tls_demo_cert("demo.edgetrack.test", dir, err, sizeof(err)), 0); /* kept */
	assert_int_equal(cert_store_load_dir(store, dir, NULL, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(cert_store_lookup(store, "demo.edgetrack.test", &info), 0);
	tls_server_free(f->srv);
	f->store = store;
	f->srv = server(f);
	connect_cn(f, "demo.edgetrack.test", cn, sizeof(cn));
	assert_string_equal(cn, "demo.edgetrack.test");
	tls_server_free(f->srv);
	f->store = saved;
	f->srv = server(f);
	cert_store_free(store);
	tc_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sni_picks_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_sni_gets_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_sni_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_versions_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_version_13, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alpn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls13, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_by_name_tls12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_by_name_tls13, setup, teardown),
		cmocka_unit_test(test_sni_from_hello),
		cmocka_unit_test_setup_teardown(test_bad_cert_keeps_serving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_mid_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_memory, setup, teardown),
		cmocka_unit_test(test_settings_parse),
		cmocka_unit_test_setup_teardown(test_demo_cert, setup, teardown),
	};

	printf("TLS backend: %s\n", tls_backend_name());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
