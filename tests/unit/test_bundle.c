// SPDX-License-Identifier: MIT
/*
 * Bundles end to end through the library: build, sign (Ed and ED), verify, and every
 * refusal of bundle_verify with the reason it gives.
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

#include "bundle/bundle.h"
#include "bundle/bundle_build.h"
#include "bundle/identity.h"
#include "bundle/keyring.h"
#include "bundle/manifest.h"
#include "test_bundle_util.h"

#define NOW     ((time_t)1764480000)
#define DAY     86400
#define APPLIED 10

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKeyMaterial\n-----END PRIVATE KEY-----\n";
static const char config_json[] = "{\"keys\": [{\"id\": 1, \"secret\": \"00ff\"}]}\n";
#define TOKEN   "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEYAUTH TOKEN ".NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

enum signer { OP, OP_EXPIRED, OP_REVOKED, OP_UNKNOWN, OP_NEW, N_SIGNERS };

struct fx {
	char dir[64];   /* first: tb_teardown */
	char root_pub[96], keyring[96], rogue_keyring[96], id_dir[96], other_dir[96];
	char bundle[96], carried[96];
	struct minisig_pubkey root_pk, pk[N_SIGNERS];
	struct minisig_seckey root_sk, sk[N_SIGNERS];
	struct identity self, other;
	struct bundle_trust trust;
	char err[512];
};

/* Signs a keyring listing keys[0..n) valid until the given times, revoked ones after. */
static void make_keyring(struct fx *f, const struct minisig_seckey *by, uint64_t serial,
			 const enum signer *valid, size_t n, const time_t *until,
			 const enum signer *revoked, size_t nr, const char *path)
{
	struct keyring *kr = calloc(1, sizeof(*kr));
	struct frame_buf out = { 0 };

	kr->serial = serial;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(keyring_certify(kr, &f->pk[valid[i]], until[i], NULL, 0), 0);
	for (size_t i = 0; i < nr; i++)
		assert_int_equal(keyring_revoke(kr, f->pk[revoked[i]].key_id, NULL, 0), 0);
	assert_int_equal(keyring_sign(kr, by, &out, f->err, sizeof(f->err)), 0);
	tb_write_file(path, out.p, out.len);
	frame_buf_free(&out);
	free(kr);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static const enum signer valid[] = { OP, OP_EXPIRED, OP_REVOKED };
	static const enum signer revoked[] = { OP_REVOKED };
	const time_t until[] = { NOW + DAY, NOW - 1, NOW + DAY };
	char *pub;

	tb_mkdtemp(f->dir, sizeof(f->dir), "test_bundle");
	snprintf(f->root_pub, sizeof(f->root_pub), "%s/root.pub", f->dir);
	snprintf(f->keyring, sizeof(f->keyring), "%s/keyring", f->dir);
	snprintf(f->rogue_keyring, sizeof(f->rogue_keyring), "%s/rogue.keyring", f->dir);
	snprintf(f->carried, sizeof(f->carried), "%s/carried.keyring", f->dir);
	snprintf(f->id_dir, sizeof(f->id_dir), "%s/identity", f->dir);
	snprintf(f->other_dir, sizeof(f->other_dir), "%s/other", f->dir);
	snprintf(f->bundle, sizeof(f->bundle), "%s/b.bundle", f->dir);
	minisig_keygen(&f->root_pk, &f->root_sk);
	for (int i = 0; i < N_SIGNERS; i++)
		minisig_keygen(&f->pk[i], &f->sk[i]);
	pub = minisig_pubkey_format(&f->root_pk);
	tb_write_file(f->root_pub, pub, strlen(pub));
	free(pub);
	make_keyring(f, &f->root_sk, 5, valid, 3, until, revoked, 1, f->keyring);
	/* the same content signed by an operator key instead of the root */
	make_keyring(f, &f->sk[OP], 9, valid, 1, until, NULL, 0, f->rogue_keyring);
	assert_int_equal(identity_open(f->id_dir, &f->self, f->err, sizeof(f->err)), 0);
	assert_int_equal(identity_open(f->other_dir, &f->other, f->err, sizeof(f->err)), 0);
	f->trust = (struct bundle_trust){ .root_pubkey_path = f->root_pub,
					  .keyring_path = f->keyring, .identity_dir = f->id_dir,
					  .applied_serial = APPLIED, .now = NOW };
	*state = f;
	return 0;
}

/* ------------------------------------------------------------------ building blocks */

struct opts {
	enum signer by;
	enum minisig_alg alg;
	uint64_t serial;
	time_t not_after;
	const char *const *scope;
	size_t n_scope;
	bool to_other_only, no_sign, keyring_item;
};

static const struct opts defaults = { .by = OP, .alg = MINISIG_PREHASHED, .serial = APPLIED + 1,
				      .not_after = NOW + DAY };

/* Every item type, keys sealed to this appliance (or only to the other one). */
static void build(struct fx *f, const struct opts *o, struct frame_buf *out)
{
	struct bundle_recipient r[2];
	struct bundle_input in[7] = {
		{ .type = BUNDLE_ITEM_CONFIG, .data = (const void *)config_json,
		  .len = sizeof(config_json) - 1 },
		{ .type = BUNDLE_ITEM_CERT, .domain = "Click.Customer.com",
		  .data = (const void *)cert_pem, .len = sizeof(cert_pem) - 1 },
		{ .type = BUNDLE_ITEM_KEY, .domain = "click.customer.com",
		  .data = (const void *)key_pem, .len = sizeof(key_pem) - 1 },
		{ .type = BUNDLE_ITEM_REMOVE, .domain = "old.customer.com" },
		{ .type = BUNDLE_ITEM_CHALLENGE, .token = TOKEN, .key_authorization = KEYAUTH },
	};
	size_t n_in = 5, n_r = 0;
	struct bundle_spec s = { .serial = o->serial, .issued_at = NOW - 60,
				 .not_after = o->not_after, .scope = o->scope,
				 .n_scope = o->n_scope, .recipients = r, .items = in };
	unsigned char *carried = NULL;
	size_t carried_len = 0;

	if (!o->to_other_only) {
		snprintf(r[n_r].id, sizeof(r[n_r].id), "%s", f->self.id);
		memcpy(r[n_r++].pk, f->self.pk, sizeof(f->self.pk));
	}
	snprintf(r[n_r].id, sizeof(r[n_r].id), "%s", f->other.id);
	memcpy(r[n_r++].pk, f->other.pk, sizeof(f->other.pk));
	s.n_recipients = n_r;
	if (o->keyring_item) {
		FILE *kf = fopen(f->carried, "rb");
		assert_non_null(kf);
		carried = malloc(KEYRING_FILE_MAX);
		carried_len = fread(carried, 1, KEYRING_FILE_MAX, kf);
		fclose(kf);
		in[n_in++] = (struct bundle_input){ .type = BUNDLE_ITEM_KEYRING, .data = carried,
						    .len = carried_len };
	}
	s.n_items = n_in;
	memcpy(s.key_id, f->pk[o->by].key_id, sizeof(s.key_id));
	assert_int_equal(bundle_build(&s, out, f->err, sizeof(f->err)), 0);
	free(carried);
	if (o->no_sign)
		return;
	struct frame_buf signed_ = { 0 };
	assert_int_equal(bundle_sign(out->p, out->len, &f->sk[o->by], o->alg, NULL, &signed_,
				     f->err, sizeof(f->err)), 0);
	frame_buf_free(out);
	*out = signed_;
}

/* Verifies bytes through the file API; returns the bundle (NULL: the reason in f->err). */
static struct bundle *verify_bytes(struct fx *f, const void *p, size_t len)
{
	f->err[0] = '\0';
	tb_write_file(f->bundle, p, len);
	return bundle_verify(f->bundle, &f->trust, f->err, sizeof(f->err));
}

static void expect_refusal(struct fx *f, const struct opts *o, const char *reason)
{
	struct frame_buf b = { 0 };
	struct bundle *bu;

	build(f, o, &b);
	bu = verify_bytes(f, b.p, b.len);
	frame_buf_free(&b);
	if (bu || !strstr(f->err, reason))
		fail_msg("want refusal \"%s\", got %s \"%s\"", reason, bu ? "a bundle" : "",
			 f->err);
}

static void check_items(struct fx *f, const struct bundle *b)
{
	assert_int_equal(b->serial, APPLIED + 1);
	assert_int_equal(b->n_items, 5);
	assert_int_equal(b->items[0].type, BUNDLE_ITEM_CONFIG);
	assert_int_equal(b->items[0].len, strlen(config_json));
	assert_memory_equal(b->items[0].data, config_json, b->items[0].len);
	assert_int_equal(b->items[1].type, BUNDLE_ITEM_CERT);
	assert_string_equal(b->items[1].domain, "click.customer.com");   /* normalized */
	assert_string_equal((const char *)b->items[1].data, cert_pem);
	assert_int_equal(b->items[2].type, BUNDLE_ITEM_KEY);
	assert_string_equal((const char *)b->items[2].data, key_pem);   /* decrypted */
	assert_int_equal(b->items[3].type, BUNDLE_ITEM_REMOVE);
	assert_string_equal(b->items[3].domain, "old.customer.com");
	assert_null(b->items[3].data);
	assert_int_equal(b->items[4].type, BUNDLE_ITEM_CHALLENGE);
	assert_string_equal(b->items[4].token, TOKEN);
	assert_string_equal(b->items[4].key_authorization, KEYAUTH);
}

static void expect_success(struct fx *f, const struct opts *o)
{
	struct frame_buf b = { 0 };
	struct bundle *bu;

	build(f, o, &b);
	bu = verify_bytes(f, b.p, b.len);
	frame_buf_free(&b);
	if (!bu)
		fail_msg("refused: %s", f->err);
	check_items(f, bu);
	bundle_free(bu);
}

/* ------------------------------------------------------------------ success paths */

static void test_fleet_prehashed(void **state)
{
	expect_success(*state, &defaults);
}

static void test_list_scope_pure(void **state)
{
	struct fx *f = *state;
	const char *scope[] = { f->other.id, f->self.id };
	struct opts o = defaults;

	o.alg = MINISIG_PURE;
	o.scope = scope;
	o.n_scope = 2;
	expect_success(f, &o);
}

static void test_manifest_is_pretty_json_with_sealed_keys(void **state)
{
	struct fx *f = *state;
	struct frame_buf b = { 0 };
	struct bundle_parts p;
	struct manifest m;

	build(f, &defaults, &b);
	assert_int_equal(bundle_split(b.p, b.len, &p, f->err, sizeof(f->err)), 0);
	assert_int_equal(manifest_parse(p.manifest, p.manifest_len, &m, f->err, sizeof(f->err)), 0);
	assert_true(m.fleet);
	assert_int_equal(m.n_recipients, 2);
	assert_true(m.items[0].encrypted);   /* config: recipients named */
	assert_false(m.items[1].encrypted);
	assert_true(m.items[2].encrypted);
	assert_int_equal(p.n_items, 3);      /* remove and challenge have no bytes */
	/* the key is not in the file in the clear */
	assert_null(memmem(b.p, b.len, "KeyMaterial", 11));
	assert_null(memmem(b.p, b.len, "00ff", 4));   /* nor the config's token secret */
	manifest_free(&m);
	bundle_parts_free(&p);
	frame_buf_free(&b);
}

static void test_carried_keyring_certifies_new_signer(void **state)
{
	struct fx *f = *state;
	static const enum signer valid[] = { OP, OP_NEW };
	const time_t until[] = { NOW + DAY, NOW + DAY };
	struct opts o = defaults;

	o.by = OP_NEW;
	expect_refusal(f, &o, "unknown signing key");
	make_keyring(f, &f->root_sk, 6, valid, 2, until, NULL, 0, f->carried);
	o.keyring_item = true;
	struct frame_buf b = { 0 };
	build(f, &o, &b);
	struct bundle *bu = verify_bytes(f, b.p, b.len);
	frame_buf_free(&b);
	if (!bu)
		fail_msg("refused: %s", f->err);
	assert_int_equal(bu->n_items, 6);
	assert_int_equal(bu->items[5].type, BUNDLE_ITEM_KEYRING);
	bundle_free(bu);
	/* an older carried keyring does not override the held one */
	make_keyring(f, &f->root_sk, 4, valid, 2, until, NULL, 0, f->carried);
	expect_refusal(f, &o, "unknown signing key");
	/* nor does one the root did not sign */
	make_keyring(f, &f->sk[OP], 7, valid, 2, until, NULL, 0, f->carried);
	expect_refusal(f, &o, "keyring in the bundle refused: keyring is not signed by the root");
}

/* Peeking trusts nothing: a signed bundle's claimed serial, an unsigned or broken one refused. */
static void test_peek(void **state)
{
	struct fx *f = *state;
	struct opts o = defaults;
	struct frame_buf b = { 0 };
	uint64_t serial = 0;

	o.by = OP_UNKNOWN; /* not checked here */
	o.serial = 77;
	build(f, &o, &b);
	assert_int_equal(bundle_peek(b.p, b.len, &serial, f->err, sizeof(f->err)), 0);
	assert_int_equal(serial, 77);
	assert_int_equal(bundle_peek(b.p, b.len / 2, &serial, f->err, sizeof(f->err)), -1);
	frame_buf_free(&b);
	o.no_sign = true;
	build(f, &o, &b);
	assert_int_equal(bundle_peek(b.p, b.len, &serial, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "bundle is not signed"));
	frame_buf_free(&b);
	assert_int_equal(bundle_peek("{\"serial\": 9}", 13, &serial, f->err, sizeof(f->err)), -1);
}

/* ------------------------------------------------------------------ refusals */

static void test_unsigned(void **state)
{
	struct opts o = defaults;

	o.no_sign = true;
	expect_refusal(*state, &o, "bundle is not signed");
}

/* Builds a good bundle, overwrites the first byte of needle + at with c, wants reason. */
static void expect_tampered(struct fx *f, const char *needle, size_t at, char c,
			    const char *reason)
{
	struct frame_buf b = { 0 };
	unsigned char *p;

	build(f, &defaults, &b);
	p = memmem(b.p, b.len, needle, strlen(needle));
	assert_non_null(p);
	p[at] = (unsigned char)c;
	assert_null(verify_bytes(f, b.p, b.len));
	if (!strstr(f->err, reason))
		fail_msg("want \"%s\", got \"%s\"", reason, f->err);
	frame_buf_free(&b);
}

static void test_bad_signature(void **state)
{
	/* still valid JSON, different bytes: only the signature can tell */
	expect_tampered(*state, "\n  \"", 1, '\t', "manifest signature: bad signature");
}

static void test_unknown_key(void **state)
{
	struct opts o = defaults;

	o.by = OP_UNKNOWN;
	expect_refusal(*state, &o, "unknown signing key");
}

static void test_expired_key(void **state)
{
	struct opts o = defaults;

	o.by = OP_EXPIRED;
	expect_refusal(*state, &o, "expired at 2025-11-30T05:19:59Z");
}

static void test_revoked_key(void **state)
{
	struct opts o = defaults;

	o.by = OP_REVOKED;
	expect_refusal(*state, &o, "is revoked");
}

static void test_keyring_not_signed_by_root(void **state)
{
	struct fx *f = *state;

	f->trust.keyring_path = f->rogue_keyring;
	expect_refusal(f, &defaults, "held keyring refused");
	expect_refusal(f, &defaults, "keyring is not signed by the root key");
	f->trust.keyring_path = f->carried;   /* absent, and the bundle carries none */
	expect_refusal(f, &defaults, "no keyring");
}

static void test_wrong_scope(void **state)
{
	struct fx *f = *state;
	const char *scope[] = { f->other.id };
	struct opts o = defaults;

	o.scope = scope;
	o.n_scope = 1;
	expect_refusal(f, &o, "scoped to 1 other appliance, not to");
	/* an id from the config overrides the derived one */
	f->trust.appliance_id = "pop1-edge2";
	expect_refusal(f, &o, "not to pop1-edge2");
}

static void test_replayed_and_lower_serial(void **state)
{
	struct opts o = defaults;

	o.serial = APPLIED;
	expect_refusal(*state, &o, "serial 10 is not above the applied serial 10");
	o.serial = 3;
	expect_refusal(*state, &o, "serial 3 is not above");
}

static void test_expired_bundle(void **state)
{
	struct opts o = defaults;

	o.not_after = NOW - 1;
	expect_refusal(*state, &o, "bundle expired at 2025-11-30T05:19:59Z");
}

static void test_tampered_payload(void **state)
{
	/* the cert is stored in the clear */
	expect_tampered(*state, "MIIB", 0, 'X', "item 1 (cert click.customer.com): sha256 mismatch");
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	struct frame_buf b = { 0 };
	struct bundle *bu;

	build(f, &defaults, &b);
	for (size_t cut = 0; cut < b.len; cut++) {
		bu = bundle_verify_mem(b.p, cut, &f->trust, f->err, sizeof(f->err));
		if (bu)
			fail_msg("accepted a file cut at %zu of %zu bytes", cut, b.len);
		assert_true(f->err[0] != '\0');
	}
	bu = bundle_verify_mem(b.p, b.len - 10, &f->trust, f->err, sizeof(f->err));
	assert_null(bu);
	assert_non_null(strstr(f->err, "truncated: section \"item\" declares"));
	/* a whole item section cut off */
	const unsigned char *last = b.p + b.len - 1;
	while (last > b.p && memcmp(last, "\nitem ", 6))
		last--;
	bu = bundle_verify_mem(b.p, (size_t)(last - b.p) + 1, &f->trust, f->err, sizeof(f->err));
	assert_null(bu);
	assert_non_null(strstr(f->err, "truncated or padded: the manifest lists 3 items"));
	assert_null(bundle_verify_mem("", 0, &f->trust, f->err, sizeof(f->err)));
	assert_non_null(strstr(f->err, "not an \"edgetrack-bundle 1\" file"));
	frame_buf_free(&b);
}

static void test_key_sealed_to_another_appliance(void **state)
{
	struct fx *f = *state;
	struct opts o = defaults;

	o.to_other_only = true;
	expect_refusal(f, &o, "cannot decrypt: no key sealed to appliance");
	/* our id, someone else's key pair: the seal does not open */
	f->trust.appliance_id = f->other.id;
	expect_refusal(f, &o, "does not open with this appliance's identity");
}

static void test_build_refuses_unreadable_keys(void **state)
{
	struct fx *f = *state;
	const char *scope[] = { "pop9" };
	struct bundle_input in = { .type = BUNDLE_ITEM_KEY, .domain = "a.example.com",
				   .data = (const void *)key_pem, .len = 10 };
	struct bundle_recipient r = { .id = "pop1" };
	struct bundle_spec s = { .serial = 1, .not_after = NOW, .items = &in, .n_items = 1 };
	struct frame_buf b = { 0 };

	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "name at least one --recipient"));
	s.recipients = &r;
	s.n_recipients = 1;
	s.scope = scope;
	s.n_scope = 1;
	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "pop9 is in scope but is no recipient"));
	s.n_scope = 0;
	in.domain = "bad..name";
	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "items[0]: bad or missing domain"));
	frame_buf_free(&b);
}

/* Token secrets in a config are key material: never in the clear; a config without
 * them may travel in the clear to a fleet nobody listed. */
static void test_build_encrypts_config_secrets(void **state)
{
	struct fx *f = *state;
	static const char plain_cfg[] = "{\"domains\": [{\"name\": \"a.example.com\"}]}";
	struct bundle_input in = { .type = BUNDLE_ITEM_CONFIG, .data = (const void *)config_json,
				   .len = sizeof(config_json) - 1 };
	struct bundle_spec s = { .serial = 1, .not_after = NOW, .items = &in, .n_items = 1 };
	struct frame_buf b = { 0 };

	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "token secrets travel encrypted"));
	in.data = (const void *)plain_cfg;
	in.len = sizeof(plain_cfg) - 1;
	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), 0);
	assert_non_null(memmem(b.p, b.len, "a.example.com", 13));
	frame_buf_free(&b);
}

/* ------------------------------------------------------------------ ticket keys */

#define TICKET_SECRET "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
static const char tickets_json[] =
	"[{\"name\": \"2025-06\", \"secret\": \"" TICKET_SECRET "\"},\n"
	" {\"name\": \"2025-07\", \"secret\": \"" TICKET_SECRET "0123\"}]\n";

/* One ticket_keys item with data (and a cert beside it), sealed to this appliance, signed. */
static void build_tickets(struct fx *f, const char *data, struct frame_buf *out)
{
	struct bundle_recipient r = { 0 };
	struct bundle_input in[2] = {
		{ .type = BUNDLE_ITEM_CERT, .domain = "click.customer.com",
		  .data = (const void *)cert_pem, .len = sizeof(cert_pem) - 1 },
		{ .type = BUNDLE_ITEM_TICKET_KEYS, .data = (const void *)data, .len = strlen(data) },
	};
	struct bundle_spec s = { .serial = APPLIED + 1, .issued_at = NOW - 60,
				 .not_after = NOW + DAY, .recipients = &r, .n_recipients = 1,
				 .items = in, .n_items = 2 };
	struct frame_buf unsigned_ = { 0 };

	snprintf(r.id, sizeof(r.id), "%s", f->self.id);
	memcpy(r.pk, f->self.pk, sizeof(r.pk));
	memcpy(s.key_id, f->pk[OP].key_id, sizeof(s.key_id));
	assert_int_equal(bundle_build(&s, &unsigned_, f->err, sizeof(f->err)), 0);
	assert_int_equal(bundle_sign(unsigned_.p, unsigned_.len, &f->sk[OP], MINISIG_PREHASHED,
				     NULL, out, f->err, sizeof(f->err)), 0);
	frame_buf_free(&unsigned_);
}

/* Built, sealed, verified, decrypted as they were; neither the secrets nor even their names
 * are in the file's bytes, and the manifest says the item is encrypted. */
static void test_ticket_keys_round_trip(void **state)
{
	struct fx *f = *state;
	struct frame_buf b = { 0 };
	struct bundle *bu;

	build_tickets(f, tickets_json, &b);
	assert_null(memmem(b.p, b.len, TICKET_SECRET, 16));
	assert_null(memmem(b.p, b.len, "2025-06", 7));
	assert_non_null(memmem(b.p, b.len, "\"ticket_keys\"", 13));
	assert_non_null(memmem(b.p, b.len, "\"encrypted\": true", 17));
	bu = verify_bytes(f, b.p, b.len);
	frame_buf_free(&b);
	if (!bu)
		fail_msg("refused: %s", f->err);
	assert_int_equal(bu->n_items, 2);
	assert_int_equal(bu->items[1].type, BUNDLE_ITEM_TICKET_KEYS);
	assert_string_equal((const char *)bu->items[1].data, tickets_json);
	bundle_free(bu);
}

/* A ticket_keys item the server could not use refuses the whole bundle, saying why. */
static void test_ticket_keys_malformed(void **state)
{
	static const struct { const char *data, *reason; } bad[] = {
		{ "[{\"name\": \"k\", \"secret\": \"abc\"}]",
		  "item 1 (ticket_keys): ticket_keys[0].secret: expected 64 to 128 hex digits" },
		{ "[{\"name\": \"k\"}]", "item 1 (ticket_keys): ticket_keys[0].secret: missing" },
		{ "[{\"secret\": \"" TICKET_SECRET "\", \"x\": 1}]",
		  "item 1 (ticket_keys): ticket_keys[0].x: unknown key" },
		{ "[]", "item 1 (ticket_keys): no key in the list" },
		{ "{\"name\": \"k\"}", "ticket_keys: expected an array of at most 8 keys" },
		{ "[{", "item 1 (ticket_keys): ticket_keys: bad JSON" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct frame_buf b = { 0 };
		struct bundle *bu;

		build_tickets(f, bad[i].data, &b);
		bu = verify_bytes(f, b.p, b.len);
		frame_buf_free(&b);
		if (bu || !strstr(f->err, bad[i].reason))
			fail_msg("%s: want refusal \"%s\", got %s \"%s\"", bad[i].data,
				 bad[i].reason, bu ? "a bundle" : "", f->err);
	}
}

/* Ticket keys are key material: no bundle carries them without a recipient, and a manifest
 * that claims them in the clear is refused. */
static void test_ticket_keys_sealed_only(void **state)
{
	struct fx *f = *state;
	struct bundle_input in = { .type = BUNDLE_ITEM_TICKET_KEYS,
				   .data = (const void *)tickets_json,
				   .len = sizeof(tickets_json) - 1 };
	struct bundle_spec s = { .serial = 1, .not_after = NOW, .items = &in, .n_items = 1 };
	struct frame_buf b = { 0 };
	struct manifest m;
	static const char clear[] =
		"{\"format\": 1, \"serial\": 1, \"issued_at\": 0, \"not_after\": 1, "
		"\"key_id\": \"0123456789abcdef\", \"scope\": \"fleet\", \"items\": [{\"type\": "
		"\"ticket_keys\", \"sha256\": \"" TICKET_SECRET "\"}]}";

	assert_int_equal(bundle_build(&s, &b, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "ticket keys"));
	assert_non_null(strstr(f->err, "name at least one --recipient"));
	assert_int_equal(manifest_parse(clear, strlen(clear), &m, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "items[0]: ticket keys must be encrypted"));
	manifest_free(&m);
	frame_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tb_teardown)
		T(test_fleet_prehashed),
		T(test_list_scope_pure),
		T(test_manifest_is_pretty_json_with_sealed_keys),
		T(test_carried_keyring_certifies_new_signer),
		T(test_peek),
		T(test_unsigned),
		T(test_bad_signature),
		T(test_unknown_key),
		T(test_expired_key),
		T(test_revoked_key),
		T(test_keyring_not_signed_by_root),
		T(test_wrong_scope),
		T(test_replayed_and_lower_serial),
		T(test_expired_bundle),
		T(test_tampered_payload),
		T(test_truncated),
		T(test_key_sealed_to_another_appliance),
		T(test_build_refuses_unreadable_keys),
		T(test_build_encrypts_config_secrets),
		T(test_ticket_keys_round_trip),
		T(test_ticket_keys_malformed),
		T(test_ticket_keys_sealed_only),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
