// SPDX-License-Identifier: MIT
/*
 * The verifier. Order matters: framing and signature first, then what the signed manifest
 * says (serial, expiry, scope), then each item's bytes against the manifest, decryption last.
 * The manifest JSON is parsed before the signature is checked only because a keyring it
 * carries may be the one that certifies the signer; that keyring proves itself by the root
 * signature, not by the manifest.
 */
#include "bundle/bundle.h"
#include "bundle/identity.h"
#include "bundle/keyring.h"
#include "bundle/manifest.h"
#include "bundle/util.h"
#include "core/err.h"
#include "core/ticket_keys.h"

#include <stdlib.h>
#include <string.h>

struct verify {
	const struct bundle_trust *t;
	struct bundle_parts parts;
	struct manifest m;
	struct minisig sig;
	struct keyring held, carried;
	struct minisig_pubkey root;
	struct identity id;
	bool have_identity;
	char appliance[BUNDLE_ID_MAX + 1];
	unsigned char data_key[BUNDLE_DATA_KEY_BYTES];
	char *err;
	size_t errlen;
};

/* The section index of manifest item i (items without bytes have no section). */
static size_t section_of(const struct manifest *m, size_t i)
{
	size_t s = 0;

	for (size_t k = 0; k < i; k++)
		s += bundle_item_has_data(m->items[k].type);
	return s;
}

static int check_sections(struct verify *v)
{
	size_t want = section_of(&v->m, v->m.n_items);

	if (want != v->parts.n_items)
		return err_set(v->err, v->errlen, "truncated or padded: the manifest lists %zu items "
			       "with bytes, the file holds %zu", want, v->parts.n_items);
	return 0;
}

/* The newer of the held keyring and one the bundle carries; both must be root-signed. */
static const struct keyring *pick_keyring(struct verify *v)
{
	char why[512];
	int held = keyring_load(v->t->keyring_path, &v->root, &v->held, why, sizeof(why));
	const struct keyring *best = held == 0 ? &v->held : NULL;

	if (held < 0) {
		err_set(v->err, v->errlen, "held keyring refused: %s", why);
		return NULL;
	}
	for (size_t i = 0, s = 0; i < v->m.n_items; s += bundle_item_has_data(v->m.items[i].type), i++) {
		if (v->m.items[i].type != BUNDLE_ITEM_KEYRING)
			continue;
		if (keyring_parse(v->parts.item[s], v->parts.item_len[s], &v->root, &v->carried, why,
				  sizeof(why))) {
			err_set(v->err, v->errlen, "keyring in the bundle refused: %s", why);
			return NULL;
		}
		if (!best || v->carried.serial > best->serial)
			best = &v->carried;
	}
	if (!best)
		err_set(v->err, v->errlen, "no keyring: none held at %s and none in the bundle",
			v->t->keyring_path);
	return best;
}

static int check_signature(struct verify *v)
{
	const struct keyring *kr;
	const struct minisig_pubkey *signer;
	char why[512], a[MINISIG_KEYID_HEX], b[MINISIG_KEYID_HEX];

	if (minisig_pubkey_load(v->t->root_pubkey_path, &v->root, why, sizeof(why)))
		return err_set(v->err, v->errlen, "root key: %s", why);
	kr = pick_keyring(v);
	if (!kr)
		return -1;
	signer = keyring_signer(kr, v->sig.key_id, v->t->now, why, sizeof(why));
	if (!signer)
		return err_set(v->err, v->errlen, "%s", why);
	if (minisig_verify(&v->sig, signer, v->parts.manifest, v->parts.manifest_len, why,
			   sizeof(why)))
		return err_set(v->err, v->errlen, "manifest signature: %s", why);
	if (memcmp(v->m.key_id, v->sig.key_id, MINISIG_KEYID_BYTES)) {
		minisig_key_id_hex(v->m.key_id, a);
		minisig_key_id_hex(v->sig.key_id, b);
		return err_set(v->err, v->errlen, "manifest names key %s but is signed by key %s",
			       a, b);
	}
	return 0;
}

static int find_self(struct verify *v)
{
	char why[512];

	if (v->t->identity_dir && !identity_load(v->t->identity_dir, &v->id, why, sizeof(why)))
		v->have_identity = true;
	if (v->t->appliance_id) {
		snprintf(v->appliance, sizeof(v->appliance), "%s", v->t->appliance_id);
		return 0;
	}
	if (!v->have_identity)
		return err_set(v->err, v->errlen, "no appliance id: %s",
			       v->t->identity_dir ? why : "no identity directory given");
	memcpy(v->appliance, v->id.id, sizeof(v->id.id));
	return 0;
}

static int check_claims(struct verify *v)
{
	char when[32];
	bool in_scope = v->m.fleet;

	if (v->m.serial <= v->t->applied_serial)
		return err_set(v->err, v->errlen, "serial %llu is not above the applied serial %llu "
			       "(replayed or older bundle)", (unsigned long long)v->m.serial,
			       (unsigned long long)v->t->applied_serial);
	if (v->t->now > v->m.not_after) {
		util_fmt_time(v->m.not_after, when, sizeof(when));
		return err_set(v->err, v->errlen, "bundle expired at %s", when);
	}
	if (find_self(v))
		return -1;
	for (size_t i = 0; i < v->m.n_scope && !in_scope; i++)
		in_scope = !strcmp(v->m.scope[i], v->appliance);
	if (!in_scope)
		return err_set(v->err, v->errlen, "bundle is scoped to %zu other appliance%s, "
			       "not to %s", v->m.n_scope, v->m.n_scope == 1 ? "" : "s",
			       v->appliance);
	return 0;
}

static int check_hashes(struct verify *v)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	for (size_t i = 0, s = 0; i < v->m.n_items; i++) {
		const struct manifest_item *it = &v->m.items[i];
		if (!bundle_item_has_data(it->type))
			continue;
		if (v->parts.item_len[s] > bundle_item_max(it->type))
			return err_set(v->err, v->errlen, "item %zu (%s) is over %zu bytes", i,
				       bundle_item_type_name(it->type), bundle_item_max(it->type));
		crypto_hash_sha256(h, v->parts.item[s], v->parts.item_len[s]);
		if (sodium_memcmp(h, it->sha256, sizeof(h)))
			return err_set(v->err, v->errlen, "item %zu (%s%s%s): sha256 mismatch, the "
				       "payload was changed", i, bundle_item_type_name(it->type),
				       it->domain[0] ? " " : "", it->domain);
		s++;
	}
	return 0;
}

static bool any_encrypted(const struct manifest *m)
{
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].encrypted)
			return true;
	return false;
}

/* Opens the data key sealed to this appliance. */
static int open_data_key(struct verify *v)
{
	const struct manifest_recipient *r = NULL;

	for (size_t i = 0; i < v->m.n_recipients && !r; i++)
		if (!strcmp(v->m.recipients[i].id, v->appliance))
			r = &v->m.recipients[i];
	if (!r)
		return err_set(v->err, v->errlen, "cannot decrypt: no key sealed to appliance %s "
			       "(encrypted to %zu other appliance%s)", v->appliance,
			       v->m.n_recipients, v->m.n_recipients == 1 ? "" : "s");
	if (!v->have_identity)
		return err_set(v->err, v->errlen, "cannot decrypt: no identity key pair in %s",
			       v->t->identity_dir ? v->t->identity_dir : "(none given)");
	if (crypto_box_seal_open(v->data_key, r->sealed_key, sizeof(r->sealed_key), v->id.pk,
				 v->id.sk))
		return err_set(v->err, v->errlen, "cannot decrypt: the key sealed to %s does not "
			       "open with this appliance's identity", v->appliance);
	return 0;
}

static int decrypt_item(struct verify *v, size_t i, const unsigned char *c, size_t clen,
			struct bundle_item *out)
{
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned char ad[4] = { (unsigned char)(i >> 24), (unsigned char)(i >> 16),
				(unsigned char)(i >> 8), (unsigned char)i };
	unsigned long long plen;

	if (clen < BUNDLE_AEAD_OVERHEAD)
		return err_set(v->err, v->errlen, "item %zu: too short to be encrypted", i);
	out->data = malloc(clen - BUNDLE_AEAD_OVERHEAD + 1);
	if (!out->data)
		return err_set(v->err, v->errlen, "out of memory");
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->data, &plen, NULL, c + nb, clen - nb,
						       ad, sizeof(ad), c, v->data_key))
		return err_set(v->err, v->errlen, "item %zu: decryption failed", i);
	out->len = (size_t)plen;
	out->data[out->len] = '\0';
	return 0;
}

static int copy_item(struct verify *v, size_t i, size_t s, struct bundle_item *out)
{
	const struct manifest_item *it = &v->m.items[i];

	out->type = it->type;
	memcpy(out->domain, it->domain, sizeof(out->domain));
	if (it->token) {
		out->token = strdup(it->token);
		out->key_authorization = strdup(it->key_authorization);
		if (!out->token || !out->key_authorization)
			return err_set(v->err, v->errlen, "out of memory");
	}
	if (!bundle_item_has_data(it->type))
		return 0;
	if (it->encrypted)
		return decrypt_item(v, i, v->parts.item[s], v->parts.item_len[s], out);
	out->data = malloc(v->parts.item_len[s] + 1);   /* NUL after: text items parse as-is */
	if (!out->data)
		return err_set(v->err, v->errlen, "out of memory");
	memcpy(out->data, v->parts.item[s], v->parts.item_len[s]);
	out->len = v->parts.item_len[s];
	out->data[out->len] = '\0';
	return 0;
}

/* Ticket keys the server could not take would fail the apply halfway: refused here with the
 * reason, like any other malformed item. A bundle that keeps the keys in force has no such
 * item, so an empty list means nothing and is refused too. */
static int check_ticket_keys(struct verify *v, size_t i, const struct bundle_item *it)
{
	struct ticket_key keys[TICKET_KEYS_MAX];
	size_t n = 0;
	char why[256];
	int rc = 0;

	if (ticket_keys_load(it->data, it->len, "ticket_keys", keys, &n, why, sizeof(why)))
		rc = err_set(v->err, v->errlen, "item %zu (ticket_keys): %s", i, why);
	else if (!n)
		rc = err_set(v->err, v->errlen, "item %zu (ticket_keys): no key in the list", i);
	sodium_memzero(keys, sizeof(keys));
	return rc;
}

static struct bundle *assemble(struct verify *v)
{
	struct bundle *b = calloc(1, sizeof(*b));

	if (b)
		b->items = calloc(v->m.n_items + 1, sizeof(*b->items));
	if (!b || !b->items) {
		free(b);
		err_set(v->err, v->errlen, "out of memory");
		return NULL;
	}
	b->serial = v->m.serial;
	b->issued_at = v->m.issued_at;
	b->not_after = v->m.not_after;
	minisig_key_id_hex(v->m.key_id, b->key_id);
	for (size_t i = 0, s = 0; i < v->m.n_items; i++) {
		b->n_items++;
		if (copy_item(v, i, s, &b->items[i]) ||
		    (b->items[i].type == BUNDLE_ITEM_TICKET_KEYS &&
		     check_ticket_keys(v, i, &b->items[i]))) {
			bundle_free(b);
			return NULL;
		}
		s += bundle_item_has_data(v->m.items[i].type);
	}
	return b;
}

static struct bundle *verify(struct verify *v, const void *file, size_t len)
{
	char why[512];

	if (bundle_split(file, len, &v->parts, v->err, v->errlen))
		return NULL;
	if (!v->parts.sig_len) {
		err_set(v->err, v->errlen, "bundle is not signed");
		return NULL;
	}
	if (minisig_parse((const char *)v->parts.sig, v->parts.sig_len, &v->sig, why, sizeof(why))) {
		err_set(v->err, v->errlen, "signature section: %s", why);
		return NULL;
	}
	if (manifest_parse(v->parts.manifest, v->parts.manifest_len, &v->m, v->err, v->errlen) ||
	    check_sections(v) || check_signature(v) || check_claims(v) || check_hashes(v))
		return NULL;
	if (any_encrypted(&v->m) && open_data_key(v))
		return NULL;
	return assemble(v);
}

int bundle_peek(const void *file, size_t len, uint64_t *serial, char *err, size_t errlen)
{
	struct bundle_parts parts;
	struct manifest m = { 0 };
	struct minisig sig;
	char why[512];
	int rc = -1;

	if (bundle_split(file, len, &parts, err, errlen))
		goto out;
	if (!parts.sig_len) {
		err_set(err, errlen, "bundle is not signed");
		goto out;
	}
	if (minisig_parse((const char *)parts.sig, parts.sig_len, &sig, why, sizeof(why))) {
		err_set(err, errlen, "signature section: %s", why);
		goto out;
	}
	if (manifest_parse(parts.manifest, parts.manifest_len, &m, err, errlen))
		goto out;
	*serial = m.serial;
	rc = 0;
out:
	manifest_free(&m);
	bundle_parts_free(&parts);
	return rc;
}

struct bundle *bundle_verify_mem(const void *file, size_t len, const struct bundle_trust *trust,
				 char *err, size_t errlen)
{
	struct verify *v = calloc(1, sizeof(*v));
	struct bundle *b;

	if (!v || sodium_init() < 0) {
		free(v);
		err_set(err, errlen, "out of memory or no libsodium");
		return NULL;
	}
	v->t = trust;
	v->err = err;
	v->errlen = errlen;
	b = verify(v, file, len);
	bundle_parts_free(&v->parts);
	manifest_free(&v->m);
	sodium_memzero(v, sizeof(*v));   /* data key and identity */
	free(v);
	return b;
}

struct bundle *bundle_verify(const char *path, const struct bundle_trust *trust, char *err,
			     size_t errlen)
{
	size_t len;
	unsigned char *file = util_read_file(path, BUNDLE_FILE_MAX, &len, err, errlen);
	struct bundle *b;

	if (!file)
		return NULL;
	b = bundle_verify_mem(file, len, trust, err, errlen);
	free(file);
	return b;
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_items; i++) {
		struct bundle_item *it = &b->items[i];
		if (it->data)
			sodium_memzero(it->data, it->len);   /* private keys */
		free(it->data);
		free(it->token);
		free(it->key_authorization);
	}
	free(b->items);
	free(b);
}
