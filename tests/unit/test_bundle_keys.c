// SPDX-License-Identifier: MIT
/*
 * The pieces under bundles: minisign keys (plain and scrypt-encrypted) and signatures, the
 * keyring (root signature, expiry, revocation, replace-if-newer), the appliance identity,
 * and the operator's time arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/identity.h"
#include "bundle/keyring.h"
#include "bundle/minisig.h"
#include "bundle/util.h"
#include "test_bundle_util.h"

#define NOW ((time_t)1764480000)

/* A key pair minisign 0.11 made with -G -W, and a signature it made of "hello\n" (-S). */
static const char ms_pub[] = "untrusted comment: minisign public key 67787ADB9A45DF29\n"
			     "RWQp30Wa23p4Z7bnumohR2U74emD3WbXOFnqpWGWf8rLrEjodLZhx3CP\n";
static const char ms_sig[] =
	"untrusted comment: signature from minisign secret key\n"
	"RUQp30Wa23p4Z3iE3Z771wGpOinzrasVnJbVhrwC1mgVz3twcyG7FwTuglbfxkTnoNGUxkTmiAt22ThvmnEhiGwB6lQMNgCPKQk=\n"
	"trusted comment: timestamp:1796019633\tfile:m\thashed\n"
	"prP5chfQaADeAYED3ArYdMCvsVToIasxvupFaD1jSr7jtn1ehKCr7NuCCCgeuImwGTuXD4qYNv6YPxbbNZ1aDw==\n";

static void test_minisign_made_signature(void **state)
{
	struct minisig_pubkey pk;
	struct minisig s;
	char err[256], id[MINISIG_KEYID_HEX];

	assert_int_equal(minisig_pubkey_parse(ms_pub, strlen(ms_pub), &pk, err, sizeof(err)), 0);
	minisig_key_id_hex(pk.key_id, id);
	assert_string_equal(id, "67787ADB9A45DF29");   /* as the comment line says */
	assert_int_equal(minisig_parse(ms_sig, strlen(ms_sig), &s, err, sizeof(err)), 0);
	assert_int_equal(s.alg, MINISIG_PREHASHED);
	assert_string_equal(s.trusted_comment, "timestamp:1796019633\tfile:m\thashed");
	assert_int_equal(minisig_verify(&s, &pk, "hello\n", 6, err, sizeof(err)), 0);
	assert_int_equal(minisig_verify(&s, &pk, "hellO\n", 6, err, sizeof(err)), -1);
	assert_string_equal(err, "bad signature");
	s.trusted_comment[0] = 'T';   /* the global signature covers the trusted comment */
	assert_int_equal(minisig_verify(&s, &pk, "hello\n", 6, err, sizeof(err)), -1);
	assert_string_equal(err, "bad signature on the trusted comment");
}

static void test_sign_verify_both_algorithms(void **state)
{
	struct minisig_pubkey pk, other;
	struct minisig_seckey sk, osk;
	struct minisig s;
	char err[256], *text;

	minisig_keygen(&pk, &sk);
	minisig_keygen(&other, &osk);
	for (int alg = MINISIG_PURE; alg <= MINISIG_PREHASHED; alg++) {
		text = minisig_sign(&sk, "msg", 3, (enum minisig_alg)alg, "f", NULL, err, sizeof(err));
		assert_non_null(text);
		assert_int_equal(minisig_parse(text, strlen(text), &s, err, sizeof(err)), 0);
		assert_int_equal(s.alg, alg);
		assert_int_equal(minisig_verify(&s, &pk, "msg", 3, err, sizeof(err)), 0);
		assert_int_equal(minisig_verify(&s, &other, "msg", 3, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "signed by key"));
		free(text);
	}
	/* malformed signature files are refused with a reason, never read past */
	assert_int_equal(minisig_parse("untrusted comment: x\n", 21, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "signature truncated (1 of 4 lines)");
	assert_int_equal(minisig_parse("x\ny\nz\nw\n", 8, &s, err, sizeof(err)), -1);
	assert_null(minisig_sign(&sk, "m", 1, MINISIG_PURE, NULL, "two\nlines", err, sizeof(err)));
}

static void test_secret_key_files(void **state)
{
	struct minisig_pubkey pk, pk2;
	struct minisig_seckey sk, back;
	char err[256], *plain, *enc;
	/* low scrypt limits keep the test fast; minisign reads whatever limits the file holds */
	const unsigned long long ops = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN;
	const size_t mem = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN;

	minisig_keygen(&pk, &sk);
	plain = minisig_seckey_format(&sk, NULL, 0, 0, err, sizeof(err));
	enc = minisig_seckey_format(&sk, "hunter2", ops, mem, err, sizeof(err));
	assert_non_null(plain);
	assert_non_null(enc);
	assert_int_equal(minisig_seckey_encrypted(plain, strlen(plain)), 0);
	assert_int_equal(minisig_seckey_encrypted(enc, strlen(enc)), 1);
	assert_int_equal(minisig_seckey_parse(plain, strlen(plain), NULL, &back, err, sizeof(err)), 0);
	assert_memory_equal(&back, &sk, sizeof(sk));
	assert_int_equal(minisig_seckey_parse(enc, strlen(enc), NULL, &back, err, sizeof(err)), -1);
	assert_string_equal(err, "the secret key is encrypted and no password was given");
	assert_int_equal(minisig_seckey_parse(enc, strlen(enc), "hunter3", &back, err, sizeof(err)), -1);
	assert_string_equal(err, "wrong password for that secret key");
	assert_int_equal(minisig_seckey_parse(enc, strlen(enc), "hunter2", &back, err, sizeof(err)), 0);
	assert_memory_equal(&back, &sk, sizeof(sk));
	minisig_seckey_pubkey(&back, &pk2);
	assert_memory_equal(&pk2, &pk, sizeof(pk));
	assert_int_equal(minisig_seckey_encrypted("junk", 4), -1);
	free(plain);
	free(enc);
}

struct kfx {
	char dir[64];   /* first: tb_teardown */
	struct minisig_pubkey root_pk, pk[3];
	struct minisig_seckey root, sk[3];
	struct keyring kr;
	char path[96];
};

static int kfx_setup(void **state)
{
	struct kfx *f = calloc(1, sizeof(*f));

	minisig_keygen(&f->root_pk, &f->root);
	for (int i = 0; i < 3; i++)
		minisig_keygen(&f->pk[i], &f->sk[i]);
	tb_mkdtemp(f->dir, sizeof(f->dir), "test_bundle_keys");
	snprintf(f->path, sizeof(f->path), "%s/keyring", f->dir);
	*state = f;
	return 0;
}

static void signed_keyring(struct kfx *f, uint64_t serial, struct frame_buf *out)
{
	f->kr.serial = serial;
	assert_int_equal(keyring_sign(&f->kr, &f->root, out, NULL, 0), 0);
}

static void test_keyring_rules(void **state)
{
	struct kfx *f = *state;
	struct keyring *back = calloc(1, sizeof(*back));
	struct frame_buf b = { 0 };
	char err[256];

	assert_int_equal(keyring_certify(&f->kr, &f->pk[0], NOW + 10, err, sizeof(err)), 0);
	assert_int_equal(keyring_certify(&f->kr, &f->pk[1], NOW - 10, err, sizeof(err)), 0);
	assert_int_equal(keyring_certify(&f->kr, &f->pk[2], NOW + 10, err, sizeof(err)), 0);
	assert_int_equal(keyring_revoke(&f->kr, f->pk[2].key_id, err, sizeof(err)), 0);
	assert_int_equal(keyring_certify(&f->kr, &f->pk[2], NOW + 10, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is revoked and stays so"));
	signed_keyring(f, 3, &b);
	assert_int_equal(keyring_parse(b.p, b.len, &f->root_pk, back, err, sizeof(err)), 0);
	assert_int_equal(back->serial, 3);
	assert_int_equal(back->n_keys, 2);
	assert_int_equal(back->n_revoked, 1);
	assert_non_null(keyring_signer(back, f->pk[0].key_id, NOW, err, sizeof(err)));
	assert_null(keyring_signer(back, f->pk[1].key_id, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "expired at"));
	assert_null(keyring_signer(back, f->pk[2].key_id, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "is revoked"));
	assert_null(keyring_signer(back, f->root_pk.key_id, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown signing key"));
	/* only the root's signature makes a keyring */
	assert_int_equal(keyring_parse(b.p, b.len, &f->pk[0], back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keyring is not signed by the root key"));
	((unsigned char *)memmem(b.p, b.len, "\"serial\"", 8))[-1] = '\t';   /* still JSON */
	assert_int_equal(keyring_parse(b.p, b.len, &f->root_pk, back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keyring is not signed by the root key: bad signature"));
	frame_buf_free(&b);
	free(back);
}

static void test_keyring_replace_if_newer(void **state)
{
	struct kfx *f = *state;
	struct frame_buf v2 = { 0 }, v3 = { 0 };
	struct keyring *held = calloc(1, sizeof(*held));
	char err[256];

	assert_int_equal(keyring_load(f->path, &f->root_pk, held, err, sizeof(err)), 1);
	assert_int_equal(keyring_certify(&f->kr, &f->pk[0], NOW + 10, NULL, 0), 0);
	signed_keyring(f, 2, &v2);
	assert_int_equal(keyring_revoke(&f->kr, f->pk[0].key_id, NULL, 0), 0);
	signed_keyring(f, 3, &v3);
	assert_int_equal(keyring_install(f->path, v2.p, v2.len, &f->root_pk, err, sizeof(err)), 1);
	assert_int_equal(keyring_install(f->path, v2.p, v2.len, &f->root_pk, err, sizeof(err)), 0);
	assert_int_equal(keyring_install(f->path, v3.p, v3.len, &f->root_pk, err, sizeof(err)), 1);
	/* an older keyring never comes back: the revocation holds */
	assert_int_equal(keyring_install(f->path, v2.p, v2.len, &f->root_pk, err, sizeof(err)), 0);
	assert_int_equal(keyring_load(f->path, &f->root_pk, held, err, sizeof(err)), 0);
	assert_int_equal(held->serial, 3);
	assert_null(keyring_signer(held, f->pk[0].key_id, NOW, err, sizeof(err)));
	assert_int_equal(keyring_install(f->path, v3.p, v3.len, &f->pk[1], err, sizeof(err)), -1);
	frame_buf_free(&v2);
	frame_buf_free(&v3);
	free(held);
}

static void test_identity(void **state)
{
	struct kfx *f = *state;
	struct identity a, b;
	unsigned char h[32];
	char dir[128], path[160], hex[65], err[256], b64[IDENTITY_PK_B64];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/data/identity", f->dir);
	assert_int_equal(identity_load(dir, &a, err, sizeof(err)), -1);   /* load never makes */
	assert_int_equal(identity_open(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(identity_open(dir, &b, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));   /* made once */
	snprintf(path, sizeof(path), "%s/" IDENTITY_FILE, dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	crypto_hash_sha256(h, a.pk, sizeof(a.pk));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	assert_memory_equal(a.id, hex, IDENTITY_ID_LEN);
	assert_int_equal(strlen(a.id), IDENTITY_ID_LEN);
	identity_pk_base64(&a, b64);
	assert_int_equal(identity_pk_parse(b64, h), 0);
	assert_memory_equal(h, a.pk, sizeof(a.pk));
	assert_int_equal(identity_pk_parse("AAAA", h), -1);
}

static void test_when(void **state)
{
	time_t t;

	assert_int_equal(util_parse_when("90d", NOW, &t), 0);
	assert_int_equal(t, NOW + 90 * 86400);
	assert_int_equal(util_parse_when("12h", NOW, &t), 0);
	assert_int_equal(t, NOW + 12 * 3600);
	assert_int_equal(util_parse_when("2w", NOW, &t), 0);
	assert_int_equal(t, NOW + 14 * 86400);
	assert_int_equal(util_parse_when("2026-12-31T00:00:00Z", NOW, &t), 0);
	assert_int_equal(t, 1798675200);
	assert_int_equal(util_parse_when("2026-12-31", NOW, &t), 0);
	assert_int_equal(t, 1798675200);
	assert_int_equal(util_parse_when("@1798675200", NOW, &t), 0);
	assert_int_equal(t, 1798675200);
	assert_int_equal(util_parse_when("5y", NOW, &t), -1);
	assert_int_equal(util_parse_when("-5d", NOW, &t), -1);
	assert_int_equal(util_parse_when("99999999999999999999d", NOW, &t), -1);
	assert_int_equal(util_parse_when("2026-12-31T00:00:00", NOW, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minisign_made_signature),
		cmocka_unit_test(test_sign_verify_both_algorithms),
		cmocka_unit_test(test_secret_key_files),
		cmocka_unit_test_setup_teardown(test_keyring_rules, kfx_setup, tb_teardown),
		cmocka_unit_test_setup_teardown(test_keyring_replace_if_newer, kfx_setup, tb_teardown),
		cmocka_unit_test_setup_teardown(test_identity, kfx_setup, tb_teardown),
		cmocka_unit_test(test_when),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
