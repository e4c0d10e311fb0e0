// SPDX-License-Identifier: MIT
#include "bundle/bundle_build.h"
#include "bundle/manifest.h"
#include "bundle/util.h"
#include "core/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* What goes into the file for one item: its stored bytes (ciphertext when encrypted). */
struct stored {
	unsigned char *p;
	size_t len;
};

struct build {
	const struct bundle_spec *s;
	unsigned char data_key[BUNDLE_DATA_KEY_BYTES];
	struct stored *st;
	char *err;
	size_t errlen;
};

/* A config that carries token signing secrets ("keys") is key material like a private key:
 * whoever reads it can mint tokens for every customer domain. */
static bool config_has_secrets(const struct bundle_input *in)
{
	json_t *root = json_loadb((const char *)in->data, in->len, 0, NULL);
	json_t *keys = root ? json_object_get(root, "keys") : NULL;
	bool secret = !root || (json_is_array(keys) && json_array_size(keys) > 0);

	json_decref(root);
	return secret;
}

static bool is_secret(const struct bundle_input *in)
{
	return in->type == BUNDLE_ITEM_KEY || in->type == BUNDLE_ITEM_TICKET_KEYS ||
	       (in->type == BUNDLE_ITEM_CONFIG && config_has_secrets(in));
}

static bool must_encrypt(const struct bundle_spec *s, const struct bundle_input *in)
{
	return is_secret(in) || (in->type == BUNDLE_ITEM_CONFIG && s->n_recipients);
}

static bool has_secrets(const struct bundle_spec *s)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (is_secret(&s->items[i]))
			return true;
	return false;
}

static bool is_recipient(const struct bundle_spec *s, const char *id)
{
	for (size_t i = 0; i < s->n_recipients; i++)
		if (!strcmp(s->recipients[i].id, id))
			return true;
	return false;
}

/* Keys nobody in scope could decrypt are an operator mistake worth stopping at. */
static int check_recipients(struct build *b)
{
	const struct bundle_spec *s = b->s;

	if (!has_secrets(s))
		return 0;
	if (!s->n_recipients)
		return err_set(b->err, b->errlen, "private keys, ticket keys and a config with token "
			       "secrets travel encrypted: name at least one --recipient");
	for (size_t i = 0; i < s->n_scope; i++)
		if (!is_recipient(s, s->scope[i]))
			return err_set(b->err, b->errlen, "appliance %s is in scope but is no "
				       "recipient: it could not decrypt the keys", s->scope[i]);
	return 0;
}

static int encrypt_item(struct build *b, size_t i, struct stored *out)
{
	const struct bundle_input *in = &b->s->items[i];
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned char ad[4] = { (unsigned char)(i >> 24), (unsigned char)(i >> 16),
				(unsigned char)(i >> 8), (unsigned char)i };
	unsigned long long clen;

	out->p = malloc(in->len + BUNDLE_AEAD_OVERHEAD);
	if (!out->p)
		return err_set(b->err, b->errlen, "out of memory");
	randombytes_buf(out->p, nb);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->p + nb, &clen, in->data, in->len, ad,
						   sizeof(ad), NULL, out->p, b->data_key);
	out->len = nb + (size_t)clen;
	return 0;
}

static json_t *item_json(struct build *b, size_t i)
{
	const struct bundle_input *in = &b->s->items[i];
	json_t *o = json_pack("{s:s}", "type", bundle_item_type_name(in->type));
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65];

	if (!o)
		return NULL;
	if (in->domain)
		json_object_set_new(o, "domain", json_string(in->domain));
	if (in->type == BUNDLE_ITEM_CHALLENGE) {
		json_object_set_new(o, "token", json_string(in->token ? in->token : ""));
		json_object_set_new(o, "key_authorization",
				    json_string(in->key_authorization ? in->key_authorization : ""));
	}
	if (!bundle_item_has_data(in->type))
		return o;
	crypto_hash_sha256(h, b->st[i].p, b->st[i].len);
	hex32_format(h, hex);
	json_object_set_new(o, "sha256", json_string(hex));
	if (must_encrypt(b->s, in))
		json_object_set_new(o, "encrypted", json_true());
	return o;
}

static json_t *recipients_json(struct build *b)
{
	unsigned char sealed[BUNDLE_SEALED_BYTES];
	char b64[sodium_base64_ENCODED_LEN(BUNDLE_SEALED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	json_t *a = json_array();

	for (size_t i = 0; a && i < b->s->n_recipients; i++) {
		const struct bundle_recipient *r = &b->s->recipients[i];
		crypto_box_seal(sealed, b->data_key, sizeof(b->data_key), r->pk);
		sodium_bin2base64(b64, sizeof(b64), sealed, sizeof(sealed),
				  sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(a, json_pack("{s:s, s:s}", "id", r->id, "sealed_key", b64));
	}
	return a;
}

static json_t *scope_json(const struct bundle_spec *s)
{
	json_t *a;

	if (!s->n_scope)
		return json_string("fleet");
	a = json_array();
	for (size_t i = 0; a && i < s->n_scope; i++)
		json_array_append_new(a, json_string(s->scope[i]));
	return a;
}

/* The manifest text, with a final newline so the extracted file reads well. */
static char *manifest_text(struct build *b)
{
	const struct bundle_spec *s = b->s;
	char kid[MINISIG_KEYID_HEX], *text, *out = NULL;
	json_t *items = json_array(), *root;

	minisig_key_id_hex(s->key_id, kid);
	for (size_t i = 0; items && i < s->n_items; i++)
		json_array_append_new(items, item_json(b, i));
	root = json_pack("{s:i, s:I, s:I, s:I, s:s, s:o, s:o, s:o}", "format", BUNDLE_FORMAT,
			 "serial", (json_int_t)s->serial, "issued_at", (json_int_t)s->issued_at,
			 "not_after", (json_int_t)s->not_after, "key_id", kid, "scope",
			 scope_json(s), "recipients", recipients_json(b), "items", items);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	json_decref(root);
	if (!out)
		err_set(b->err, b->errlen, "cannot write the manifest (bad input or out of memory)");
	return out;
}

static int store_items(struct build *b)
{
	for (size_t i = 0; i < b->s->n_items; i++) {
		const struct bundle_input *in = &b->s->items[i];
		if (!bundle_item_has_data(in->type))
			continue;
		if (must_encrypt(b->s, in)) {
			if (encrypt_item(b, i, &b->st[i]))
				return -1;
			continue;
		}
		b->st[i].p = malloc(in->len + 1);
		if (!b->st[i].p)
			return err_set(b->err, b->errlen, "out of memory");
		memcpy(b->st[i].p, in->data, in->len);
		b->st[i].len = in->len;
	}
	return 0;
}

/* The builder's output must pass the verifier's own structural checks (names, tokens,
 * clashes, sizes): one set of rules, not two. */
static int self_check(struct build *b, const char *manifest)
{
	struct manifest m;
	char why[512];
	int rc = manifest_parse(manifest, strlen(manifest), &m, why, sizeof(why));

	for (size_t i = 0; !rc && i < b->s->n_items; i++)
		if (b->st[i].len > bundle_item_max(b->s->items[i].type))
			rc = err_set(why, sizeof(why), "item %zu (%s) is over %zu bytes", i,
				     bundle_item_type_name(b->s->items[i].type),
				     bundle_item_max(b->s->items[i].type));
	manifest_free(&m);
	return rc ? err_set(b->err, b->errlen, "%s", why) : 0;
}

int bundle_build(const struct bundle_spec *s, struct frame_buf *out, char *err, size_t errlen)
{
	struct build b = { .s = s, .err = err, .errlen = errlen };
	char *manifest = NULL;
	int rc = -1;

	b.st = calloc(s->n_items + 1, sizeof(*b.st));
	if (!b.st || sodium_init() < 0) {
		free(b.st);
		return err_set(err, errlen, "out of memory or no libsodium");
	}
	randombytes_buf(b.data_key, sizeof(b.data_key));
	if (check_recipients(&b) || store_items(&b))
		goto out;
	manifest = manifest_text(&b);
	if (!manifest || self_check(&b, manifest))
		goto out;
	frame_put_magic(out, BUNDLE_MAGIC);
	frame_put(out, "manifest", manifest, strlen(manifest));
	frame_put(out, "signature", "", 0);
	for (size_t i = 0; i < s->n_items; i++)
		if (bundle_item_has_data(s->items[i].type))
			frame_put(out, "item", b.st[i].p, b.st[i].len);
	rc = out->failed ? err_set(err, errlen, "out of memory") : 0;
out:
	for (size_t i = 0; i < s->n_items; i++)
		free(b.st[i].p);
	free(b.st);
	free(manifest);
	sodium_memzero(b.data_key, sizeof(b.data_key));
	return rc;
}

/* The key id the manifest names, read with the verifier's parser. */
static int manifest_key_id(const struct bundle_parts *p, unsigned char id[MINISIG_KEYID_BYTES],
			   char *err, size_t errlen)
{
	struct manifest m;
	int rc = manifest_parse(p->manifest, p->manifest_len, &m, err, errlen);

	if (!rc)
		memcpy(id, m.key_id, MINISIG_KEYID_BYTES);
	manifest_free(&m);
	return rc;
}

static int reframe(const struct bundle_parts *p, const char *sig, size_t sig_len,
		   struct frame_buf *out, char *err, size_t errlen)
{
	frame_put_magic(out, BUNDLE_MAGIC);
	frame_put(out, "manifest", p->manifest, p->manifest_len);
	frame_put(out, "signature", sig, sig_len);
	for (size_t i = 0; i < p->n_items; i++)
		frame_put(out, "item", p->item[i], p->item_len[i]);
	return out->failed ? err_set(err, errlen, "out of memory") : 0;
}

/* Splits the file and checks that a signature by key_id belongs on it. */
static int open_for_signature(const void *file, size_t len, const unsigned char *key_id,
			      struct bundle_parts *p, char *err, size_t errlen)
{
	unsigned char want[MINISIG_KEYID_BYTES];
	char a[MINISIG_KEYID_HEX], b[MINISIG_KEYID_HEX];

	if (bundle_split(file, len, p, err, errlen) || manifest_key_id(p, want, err, errlen))
		return -1;
	if (memcmp(want, key_id, sizeof(want))) {
		minisig_key_id_hex(key_id, a);
		minisig_key_id_hex(want, b);
		return err_set(err, errlen, "the signature is by key %s but the manifest names key %s",
			       a, b);
	}
	return 0;
}

int bundle_sign(const void *file, size_t len, const struct minisig_seckey *sk,
		enum minisig_alg alg, const char *trusted_comment, struct frame_buf *out,
		char *err, size_t errlen)
{
	struct bundle_parts p;
	char *sig = NULL;
	int rc = -1;

	if (open_for_signature(file, len, sk->key_id, &p, err, errlen))
		goto out;
	sig = minisig_sign(sk, p.manifest, p.manifest_len, alg, "manifest.json", trusted_comment,
			   err, errlen);
	if (sig)
		rc = reframe(&p, sig, strlen(sig), out, err, errlen);
out:
	free(sig);
	bundle_parts_free(&p);
	return rc;
}

int bundle_attach_signature(const void *file, size_t len, const char *sig, size_t sig_len,
			    struct frame_buf *out, char *err, size_t errlen)
{
	struct minisig *s = malloc(sizeof(*s));
	struct bundle_parts p = { 0 };
	char why[256];
	int rc = -1;

	if (!s)
		return err_set(err, errlen, "out of memory");
	if (minisig_parse(sig, sig_len, s, why, sizeof(why)))
		err_set(err, errlen, "not a minisign signature: %s", why);
	else if (!open_for_signature(file, len, s->key_id, &p, err, errlen))
		rc = reframe(&p, sig, sig_len, out, err, errlen);
	free(s);
	bundle_parts_free(&p);
	return rc;
}
