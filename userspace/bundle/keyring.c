// SPDX-License-Identifier: MIT
#include "bundle/keyring.h"
#include "acme/atomic_file.h"
#include "bundle/util.h"
#include "core/err.h"
#include "core/json_member.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int keyring_split(const void *file, size_t len, const unsigned char **json, size_t *json_len,
		  const unsigned char **sig, size_t *sig_len, char *err, size_t errlen)
{
	struct frame_reader r;

	frame_reader_init(&r, file, len);
	if (frame_magic(&r, KEYRING_MAGIC, err, errlen) ||
	    frame_next(&r, "keyring", KEYRING_JSON_MAX, json, json_len, err, errlen) ||
	    frame_next(&r, "signature", MINISIG_FILE_MAX, sig, sig_len, err, errlen))
		return -1;
	if (!frame_at_end(&r))
		return err_set(err, errlen, "keyring: trailing data after the signature");
	return 0;
}

static int find_key(const struct keyring *kr, const unsigned char id[MINISIG_KEYID_BYTES])
{
	for (size_t i = 0; i < kr->n_keys; i++)
		if (!memcmp(kr->keys[i].pk.key_id, id, MINISIG_KEYID_BYTES))
			return (int)i;
	return -1;
}

static bool is_revoked(const struct keyring *kr, const unsigned char id[MINISIG_KEYID_BYTES])
{
	for (size_t i = 0; i < kr->n_revoked; i++)
		if (!memcmp(kr->revoked[i], id, MINISIG_KEYID_BYTES))
			return true;
	return false;
}

static int parse_key(json_t *o, size_t i, struct keyring *kr, char *err, size_t errlen)
{
	static const char *const known[] = { "key_id", "public_key", "not_after", NULL };
	const char *id = json_string_value(json_object_get(o, "key_id"));
	const char *pub = json_string_value(json_object_get(o, "public_key"));
	struct keyring_key *k = &kr->keys[kr->n_keys];
	unsigned char kid[MINISIG_KEYID_BYTES];
	const char *bad;
	long long na;

	if (!json_is_object(o) || (bad = json_unknown_member(o, known)))
		return err_set(err, errlen, "keyring: keys[%zu]: unknown member or not an object", i);
	if (!id || minisig_key_id_parse(id, kid))
		return err_set(err, errlen, "keyring: keys[%zu]: key_id must be 16 hex digits", i);
	if (!pub || minisig_pubkey_parse(pub, strlen(pub), &k->pk, NULL, 0))
		return err_set(err, errlen, "keyring: keys[%zu]: bad public_key", i);
	if (memcmp(kid, k->pk.key_id, sizeof(kid)))
		return err_set(err, errlen, "keyring: keys[%zu]: key_id is not the public key's", i);
	if (!json_int_in(json_object_get(o, "not_after"), 1, INT64_MAX, &na))
		return err_set(err, errlen, "keyring: keys[%zu]: not_after must be a time", i);
	if (find_key(kr, kid) >= 0)
		return err_set(err, errlen, "keyring: keys[%zu]: listed twice", i);
	k->not_after = (time_t)na;
	kr->n_keys++;
	return 0;
}

static int parse_revoked(json_t *a, struct keyring *kr, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) > KEYRING_MAX_KEYS)
		return err_set(err, errlen, "keyring: revoked must be a list of at most %d key ids",
			       KEYRING_MAX_KEYS);
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (!s || minisig_key_id_parse(s, kr->revoked[kr->n_revoked]))
			return err_set(err, errlen, "keyring: revoked[%zu]: not a key id", i);
		if (find_key(kr, kr->revoked[kr->n_revoked]) >= 0)
			return err_set(err, errlen, "keyring: revoked[%zu] is also listed as valid", i);
		kr->n_revoked++;
	}
	return 0;
}

static int parse_json(const unsigned char *text, size_t len, struct keyring *kr, char *err,
		      size_t errlen)
{
	static const char *const known[] = { "serial", "keys", "revoked", NULL };
	json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *keys = json_object_get(root, "keys"), *v;
	const char *bad = NULL;
	long long serial;
	int rc = -1;
	size_t i;

	memset(kr, 0, sizeof(*kr));
	if (!json_is_object(root) || (bad = json_unknown_member(root, known)))
		err_set(err, errlen, "keyring: not a JSON object of serial, keys, revoked%s%s",
			bad ? ": unknown member " : "", bad ? bad : "");
	else if (!json_int_in(json_object_get(root, "serial"), 1, INT64_MAX, &serial))
		err_set(err, errlen, "keyring: serial must be a positive integer");
	else if (!json_is_array(keys) || json_array_size(keys) > KEYRING_MAX_KEYS)
		err_set(err, errlen, "keyring: keys must be a list of at most %d keys",
			KEYRING_MAX_KEYS);
	else
		rc = 0;
	if (rc)
		goto out;
	kr->serial = (uint64_t)serial;
	json_array_foreach(keys, i, v)
		if ((rc = parse_key(v, i, kr, err, errlen)))
			goto out;
	if (json_object_get(root, "revoked"))
		rc = parse_revoked(json_object_get(root, "revoked"), kr, err, errlen);
out:
	json_decref(root);
	return rc;
}

int keyring_parse(const void *file, size_t len, const struct minisig_pubkey *root,
		  struct keyring *kr, char *err, size_t errlen)
{
	const unsigned char *json, *sig;
	size_t jlen, slen;
	struct minisig *s = malloc(sizeof(*s));
	char why[256];
	int rc = -1;

	if (!s)
		return err_set(err, errlen, "out of memory");
	if (keyring_split(file, len, &json, &jlen, &sig, &slen, err, errlen))
		goto out;
	if (minisig_parse((const char *)sig, slen, s, why, sizeof(why)))
		err_set(err, errlen, "keyring signature: %s", why);
	else if (minisig_verify(s, root, json, jlen, why, sizeof(why)))
		err_set(err, errlen, "keyring is not signed by the root key: %s", why);
	else
		rc = parse_json(json, jlen, kr, err, errlen);
out:
	free(s);
	return rc;
}

int keyring_load(const char *path, const struct minisig_pubkey *root, struct keyring *kr,
		 char *err, size_t errlen)
{
	char why[512];
	unsigned char *file;
	size_t len;
	int rc;

	memset(kr, 0, sizeof(*kr));
	file = util_read_file(path, KEYRING_FILE_MAX, &len, why, sizeof(why));
	if (!file && errno == ENOENT)
		return 1;
	if (!file)
		return err_set(err, errlen, "%s", why);
	rc = keyring_parse(file, len, root, kr, why, sizeof(why));
	free(file);
	if (rc)
		return err_set(err, errlen, "%s: %s", path, why);
	return 0;
}

int keyring_install(const char *path, const void *file, size_t len,
		    const struct minisig_pubkey *root, char *err, size_t errlen)
{
	struct keyring *held = malloc(sizeof(*held)), *next = malloc(sizeof(*next));
	int rc = -1, h;

	if (!held || !next) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	if (keyring_parse(file, len, root, next, err, errlen))
		goto out;
	h = keyring_load(path, root, held, err, errlen);
	if (h < 0)
		goto out;
	if (h == 0 && next->serial <= held->serial)
		rc = 0;
	else
		rc = atomic_write_file(path, file, len, 0644, err, errlen) ? -1 : 1;
out:
	free(held);
	free(next);
	return rc;
}

const struct minisig_pubkey *keyring_signer(const struct keyring *kr,
					    const unsigned char key_id[MINISIG_KEYID_BYTES],
					    time_t now, char *err, size_t errlen)
{
	char id[MINISIG_KEYID_HEX], when[32];
	int i;

	minisig_key_id_hex(key_id, id);
	if (is_revoked(kr, key_id)) {
		err_set(err, errlen, "signing key %s is revoked (keyring serial %llu)", id,
			(unsigned long long)kr->serial);
		return NULL;
	}
	i = find_key(kr, key_id);
	if (i < 0) {
		err_set(err, errlen, "unknown signing key %s (not in keyring serial %llu)", id,
			(unsigned long long)kr->serial);
		return NULL;
	}
	if (now > kr->keys[i].not_after) {
		util_fmt_time(kr->keys[i].not_after, when, sizeof(when));
		err_set(err, errlen, "signing key %s expired at %s", id, when);
		return NULL;
	}
	return &kr->keys[i].pk;
}

int keyring_certify(struct keyring *kr, const struct minisig_pubkey *pk, time_t not_after,
		    char *err, size_t errlen)
{
	char id[MINISIG_KEYID_HEX];
	int i = find_key(kr, pk->key_id);

	minisig_key_id_hex(pk->key_id, id);
	if (is_revoked(kr, pk->key_id))
		return err_set(err, errlen, "key %s is revoked and stays so", id);
	if (i >= 0 && memcmp(kr->keys[i].pk.pk, pk->pk, sizeof(pk->pk)))
		return err_set(err, errlen, "key id %s is already listed for another key", id);
	if (i < 0 && kr->n_keys == KEYRING_MAX_KEYS)
		return err_set(err, errlen, "keyring full (%d keys)", KEYRING_MAX_KEYS);
	if (i < 0)
		i = (int)kr->n_keys++;
	kr->keys[i].pk = *pk;
	kr->keys[i].not_after = not_after;
	return 0;
}

int keyring_revoke(struct keyring *kr, const unsigned char key_id[MINISIG_KEYID_BYTES],
		   char *err, size_t errlen)
{
	int i = find_key(kr, key_id);

	if (is_revoked(kr, key_id))
		return 0;
	if (kr->n_revoked == KEYRING_MAX_KEYS)
		return err_set(err, errlen, "revocation list full (%d keys)", KEYRING_MAX_KEYS);
	if (i >= 0) {
		memmove(&kr->keys[i], &kr->keys[i + 1], (kr->n_keys - (size_t)i - 1) * sizeof(kr->keys[0]));
		kr->n_keys--;
	}
	memcpy(kr->revoked[kr->n_revoked++], key_id, MINISIG_KEYID_BYTES);
	return 0;
}

static json_t *key_json(const struct keyring_key *k)
{
	char id[MINISIG_KEYID_HEX], b64[MINISIG_PUBKEY_B64];

	minisig_key_id_hex(k->pk.key_id, id);
	minisig_pubkey_base64(&k->pk, b64);
	return json_pack("{s:s, s:s, s:I}", "key_id", id, "public_key", b64, "not_after",
			 (json_int_t)k->not_after);
}

char *keyring_json(const struct keyring *kr)
{
	json_t *keys = json_array(), *revoked = json_array(), *root;
	char id[MINISIG_KEYID_HEX], *out;

	for (size_t i = 0; i < kr->n_keys; i++)
		json_array_append_new(keys, key_json(&kr->keys[i]));
	for (size_t i = 0; i < kr->n_revoked; i++) {
		minisig_key_id_hex(kr->revoked[i], id);
		json_array_append_new(revoked, json_string(id));
	}
	root = json_pack("{s:I, s:o, s:o}", "serial", (json_int_t)kr->serial, "keys", keys,
			 "revoked", revoked);
	out = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	return out;
}

int keyring_sign(const struct keyring *kr, const struct minisig_seckey *root, struct frame_buf *out,
		 char *err, size_t errlen)
{
	char *json = keyring_json(kr), *sig = NULL;
	int rc = -1;

	if (!json) {
		err_set(err, errlen, "out of memory");
		goto done;
	}
	sig = minisig_sign(root, json, strlen(json), MINISIG_PREHASHED, "keyring", NULL, err, errlen);
	if (!sig)
		goto done;
	frame_put_magic(out, KEYRING_MAGIC);
	frame_put(out, "keyring", json, strlen(json));
	frame_put(out, "signature", sig, strlen(sig));
	rc = out->failed ? err_set(err, errlen, "out of memory") : 0;
done:
	free(json);
	free(sig);
	return rc;
}
