// SPDX-License-Identifier: MIT
/*
 * Bundle, keyring and minisign parsers under arbitrary input, against fixed keys:
 *  - bundle_verify_mem never crashes, whatever the bytes;
 *  - the input re-signed with the trusted operator key reaches every check after the
 *    signature (manifest meaning, hashes, decryption) and never crashes either;
 *  - keyring, signature and key parsers refuse or accept without crashing;
 *  - a bundle that verifies has items the manifest allows (types, NUL-terminated data).
 * Seeds (tests/fuzz/seeds/bundle) are made by this target itself, signed with its fixed keys:
 *   FUZZ_BUNDLE_WRITE_SEEDS=DIR build/fuzz/tests/fuzz/fuzz_bundle -runs=0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/bundle_build.h"
#include "bundle/identity.h"
#include "bundle/keyring.h"
#include "bundle/util.h"

#define NOW ((time_t)1764480000)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char dir[64], root_pub[96], keyring[96], id_dir[96];
	struct minisig_seckey op;
	struct identity self;
	struct bundle_trust trust;
} fx;

static void seeded_key(unsigned char fill, struct minisig_pubkey *pk, struct minisig_seckey *sk)
{
	unsigned char seed[crypto_sign_SEEDBYTES];

	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(pk->pk, sk->sk, seed);
	memset(pk->key_id, fill, sizeof(pk->key_id));
	memcpy(sk->key_id, pk->key_id, sizeof(pk->key_id));
}

static void put_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, len, f) != len)
		abort();
	fclose(f);
}

static void write_identity(void)
{
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char text[64], path[128];
	char err[256];

	memset(sk, 7, sizeof(sk));
	sodium_bin2base64(text, sizeof(text), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	strcat(text, "\n");
	mkdir(fx.id_dir, 0700);
	snprintf(path, sizeof(path), "%s/" IDENTITY_FILE, fx.id_dir);
	put_file(path, text, strlen(text));
	if (identity_load(fx.id_dir, &fx.self, err, sizeof(err)))
		abort();
}

static void write_trust(void)
{
	struct minisig_pubkey root_pk, op_pk;
	struct minisig_seckey root;
	struct keyring *kr = calloc(1, sizeof(*kr));
	struct frame_buf b = { 0 };
	char *pub;

	seeded_key(1, &root_pk, &root);
	seeded_key(2, &op_pk, &fx.op);
	pub = minisig_pubkey_format(&root_pk);
	put_file(fx.root_pub, pub, strlen(pub));
	free(pub);
	if (!kr)
		abort();
	kr->serial = 1;
	if (keyring_certify(kr, &op_pk, NOW + 86400, NULL, 0) ||
	    keyring_sign(kr, &root, &b, NULL, 0))
		abort();
	put_file(fx.keyring, b.p, b.len);
	frame_buf_free(&b);
	free(kr);
}

/* One seed per shape: fleet with every item type, a listed scope, a carried keyring. */
static void write_seed(const char *dir, const char *name, const char *const *scope, size_t n_scope,
		       bool with_keyring)
{
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n";
	static const char cfg[] = "{\"workers\": 1}\n";
	struct bundle_recipient r;
	struct bundle_input in[6] = {
		{ .type = BUNDLE_ITEM_CONFIG, .data = (const void *)cfg, .len = sizeof(cfg) - 1 },
		{ .type = BUNDLE_ITEM_CERT, .domain = "*.t.example.net", .data = (const void *)cert,
		  .len = sizeof(cert) - 1 },
		{ .type = BUNDLE_ITEM_KEY, .domain = "*.t.example.net", .data = (const void *)key,
		  .len = sizeof(key) - 1 },
		{ .type = BUNDLE_ITEM_REMOVE, .domain = "old.example.com" },
		{ .type = BUNDLE_ITEM_CHALLENGE, .token = "abcdefghijklmnopqrstuvwxyz",
		  .key_authorization = "abcdefghijklmnopqrstuvwxyz.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" },
	};
	struct bundle_spec s = { .serial = 2, .issued_at = NOW, .not_after = NOW + 3600,
				 .scope = scope, .n_scope = n_scope, .recipients = &r,
				 .n_recipients = 1, .items = in, .n_items = 5 };
	struct frame_buf b = { 0 }, sb = { 0 };
	unsigned char *kr = NULL;
	size_t krlen = 0;
	char path[256], err[512];

	snprintf(r.id, sizeof(r.id), "%s", fx.self.id);
	memcpy(r.pk, fx.self.pk, sizeof(r.pk));
	memcpy(s.key_id, fx.op.key_id, sizeof(s.key_id));
	if (with_keyring) {
		kr = util_read_file(fx.keyring, KEYRING_FILE_MAX, &krlen, err, sizeof(err));
		in[s.n_items++] = (struct bundle_input){ .type = BUNDLE_ITEM_KEYRING, .data = kr,
							 .len = krlen };
	}
	if (bundle_build(&s, &b, err, sizeof(err)) ||
	    bundle_sign(b.p, b.len, &fx.op, MINISIG_PREHASHED, NULL, &sb, err, sizeof(err)))
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	put_file(path, sb.p, sb.len);
	free(kr);
	frame_buf_free(&b);
	frame_buf_free(&sb);
}

static void cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/" IDENTITY_FILE, fx.id_dir);
	unlink(path);
	rmdir(fx.id_dir);
	unlink(fx.root_pub);
	unlink(fx.keyring);
	rmdir(fx.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("FUZZ_BUNDLE_WRITE_SEEDS");

	if (sodium_init() < 0)
		abort();
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/fuzz_bundle.XXXXXX");
	if (!mkdtemp(fx.dir))
		abort();
	atexit(cleanup);
	snprintf(fx.root_pub, sizeof(fx.root_pub), "%s/root.pub", fx.dir);
	snprintf(fx.keyring, sizeof(fx.keyring), "%s/keyring", fx.dir);
	snprintf(fx.id_dir, sizeof(fx.id_dir), "%s/identity", fx.dir);
	write_trust();
	write_identity();
	fx.trust = (struct bundle_trust){ .root_pubkey_path = fx.root_pub, .keyring_path = fx.keyring,
					  .identity_dir = fx.id_dir, .applied_serial = 1, .now = NOW };
	if (seeds) {
		const char *scope[] = { fx.self.id };
		write_seed(seeds, "fleet", NULL, 0, false);
		write_seed(seeds, "scoped", scope, 1, false);
		write_seed(seeds, "with_keyring", NULL, 0, true);
	}
	return 0;
}

static void check_bundle(struct bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_items; i++) {
		const struct bundle_item *it = &b->items[i];
		if (it->type < BUNDLE_ITEM_CONFIG || it->type > BUNDLE_ITEM_KEYRING)
			abort();
		if (it->data && it->data[it->len] != '\0')
			abort();
		if (it->type == BUNDLE_ITEM_CHALLENGE && (!it->token || !it->key_authorization))
			abort();
	}
	bundle_free(b);
}

static void parse_others(const uint8_t *data, size_t size)
{
	static struct keyring kr;
	static struct minisig sig;
	struct minisig_pubkey root, pk;
	struct minisig_seckey sk;
	char *text = malloc(size + 1);
	time_t t;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!minisig_pubkey_load(fx.root_pub, &root, NULL, 0))
		keyring_parse(data, size, &root, &kr, NULL, 0);
	minisig_parse(text, size, &sig, NULL, 0);
	minisig_pubkey_parse(text, size, &pk, NULL, 0);
	/* no password: an input's scrypt limits must not decide how much memory this takes */
	minisig_seckey_parse(text, size, NULL, &sk, NULL, 0);
	util_parse_when(text, NOW, &t);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_buf resigned = { 0 };
	char err[512];

	check_bundle(bundle_verify_mem(data, size, &fx.trust, err, sizeof(err)));
	if (!bundle_sign(data, size, &fx.op, MINISIG_PURE, "fuzz", &resigned, err, sizeof(err)))
		check_bundle(bundle_verify_mem(resigned.p, resigned.len, &fx.trust, err, sizeof(err)));
	frame_buf_free(&resigned);
	parse_others(data, size);
	return 0;
}
