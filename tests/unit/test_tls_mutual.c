// SPDX-License-Identifier: MIT
/*
 * A TLS server with an identity of its own (cert_file/key_file, no cert store) and mutual TLS
 * (client_ca), as the management listener uses it: a client without a certificate, or with
 * one from another CA, fails the handshake. Same tests for whichever backend was built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/tls.h"
#include "test_tls_certs.h"
#include "test_tls_client.h"

struct fixture {
	char *dir;
	struct tc_ca op, other;     /* the operator's CA and a stranger's */
	EVP_PKEY *key;
	X509 *op_client, *other_client;
	struct tls_settings set;
	struct tls_server *srv;
};

static void path_in(const struct fixture *f, const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", f->dir, file);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256], *pem;
	X509 *server_cert;

	f->dir = tc_tmpdir();
	f->op = tc_ca_new("operator CA");
	f->other = tc_ca_new("other CA");
	f->key = tc_ec_key();
	server_cert = tc_cert("mgmt.appliance.test", "DNS:mgmt.appliance.test,IP:127.0.0.1",
			      f->key, &f->op, -3600, 86400, 0);
	tc_write_pair(f->dir, "server", server_cert, f->op.cert, f->key);
	X509_free(server_cert);
	pem = tc_pem_cert(f->op.cert);
	tc_write_file(f->dir, "operator-ca.pem", pem, NULL);
	free(pem);
	f->op_client = tc_cert("operator", NULL, f->key, &f->op, -3600, 86400, 0);
	f->other_client = tc_cert("operator", NULL, f->key, &f->other, -3600, 86400, 0);
	tls_settings_default(&f->set);
	path_in(f, "server.crt", f->set.cert_file, sizeof(f->set.cert_file));
	path_in(f, "server.key", f->set.key_file, sizeof(f->set.key_file));
	path_in(f, "operator-ca.pem", f->set.client_ca, sizeof(f->set.client_ca));
	f->srv = tls_server_new(&f->set, NULL, err, sizeof(err));
	if (!f->srv) {
		printf("tls_server_new: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tls_server_free(f->srv);
	X509_free(f->op_client);
	X509_free(f->other_client);
	EVP_PKEY_free(f->key);
	tc_ca_free(&f->op);
	tc_ca_free(&f->other);
	tc_rmdir(f->dir);
	free(f);
	return 0;
}

/*
 * A handshake with an optional client cert, up to TLS version max (0: the highest): 0 when
 * both ends finished and a request went through, else TLS_EFATAL.
 */
static long try_client(struct fixture *f, X509 *cert, int max, char *cn, size_t cnlen)
{
	struct copts o = { .sni = "mgmt.appliance.test", .max = max, .cert = cert, .key = f->key };
	struct client c = client_new(&o);
	struct tls_conn *s = tls_conn_new(f->srv);
	long rc;

	assert_non_null(s);
	rc = handshake(&c, s);
	if (rc == 0) {
		SSL_SESSION *sess;

		exchange(&c, s);
		peer_cn(&c, cn, cnlen);
		/* no ticket to resume with: the next connection shows its certificate again */
		sess = SSL_get1_session(c.ssl);
		assert_non_null(sess);
		assert_false(SSL_SESSION_has_ticket(sess));
		SSL_SESSION_free(sess);
		printf("accepted: %s\n", tls_conn_version(s));
	} else {
		printf("refused: %s\n", tls_conn_error(s));
		assert_false(tls_conn_established(s));
	}
	ERR_clear_error();
	tls_conn_free(s);
	client_free(&c);
	return rc;
}

static void test_operator_cert_accepted(void **state)
{
	struct fixture *f = *state;
	char cn[128] = "";

	assert_int_equal(try_client(f, f->op_client, 0, cn, sizeof(cn)), 0);
	/* the server's own identity whatever the SNI: no cert store behind it */
	assert_string_equal(cn, "mgmt.appliance.test");
}

static void test_no_client_cert_refused(void **state)
{
	struct fixture *f = *state;
	char cn[128];

	assert_int_equal(try_client(f, NULL, 0, cn, sizeof(cn)), TLS_EFATAL);
}

static void test_other_ca_refused(void **state)
{
	struct fixture *f = *state;
	char cn[128];

	assert_int_equal(try_client(f, f->other_client, 0, cn, sizeof(cn)), TLS_EFATAL);
}

static void test_tls12_too(void **state)
{
	struct fixture *f = *state;
	char cn[128];

	assert_int_equal(try_client(f, NULL, TLS1_2_VERSION, cn, sizeof(cn)), TLS_EFATAL);
	assert_int_equal(try_client(f, f->other_client, TLS1_2_VERSION, cn, sizeof(cn)),
			 TLS_EFATAL);
	assert_int_equal(try_client(f, f->op_client, TLS1_2_VERSION, cn, sizeof(cn)), 0);
}

/* Files that cannot serve are refused when the server is made, naming the file. */
static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	struct tls_settings s = f->set;
	EVP_PKEY *other = tc_ec_key();
	char err[256], *pem = tc_pem_key(other);

	tc_write_file(f->dir, "other.key", pem, NULL);
	free(pem);
	EVP_PKEY_free(other);
	path_in(f, "other.key", s.key_file, sizeof(s.key_file));
	assert_null(tls_server_new(&s, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "other.key"));
	printf("mismatched key: %s\n", err);

	s = f->set;
	path_in(f, "missing-ca.pem", s.client_ca, sizeof(s.client_ca));
	assert_null(tls_server_new(&s, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "missing-ca.pem"));

	s = f->set;
	path_in(f, "missing.crt", s.cert_file, sizeof(s.cert_file));
	assert_null(tls_server_new(&s, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.crt"));
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_operator_cert_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_client_cert_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_ca_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls12_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	};

	printf("TLS backend: %s\n", tls_backend_name());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
