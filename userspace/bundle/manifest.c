// SPDX-License-Identifier: MIT
#include "bundle/manifest.h"
#include "acme/challenge.h"
#include "bundle/frame.h"
#include "bundle/keyring.h"
#include "bundle/util.h"
#include "core/err.h"
#include "core/json_member.h"
#include "core/hostname.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_ITEM_MAX ((size_t)64 << 20)
#define CERT_ITEM_MAX   ((size_t)64 << 10)
#define KEY_ITEM_MAX    ((size_t)16 << 10)
#define TICKET_ITEM_MAX ((size_t)16 << 10)   /* 8 keys, with room for names and layout */
#define SECTION_MAX     (CONFIG_ITEM_MAX + BUNDLE_AEAD_OVERHEAD)

static const char *const type_names[] = {
	[BUNDLE_ITEM_CONFIG] = "config", [BUNDLE_ITEM_CERT] = "cert",
	[BUNDLE_ITEM_KEY] = "key",       [BUNDLE_ITEM_REMOVE] = "remove",
	[BUNDLE_ITEM_CHALLENGE] = "challenge", [BUNDLE_ITEM_KEYRING] = "keyring",
	[BUNDLE_ITEM_TICKET_KEYS] = "ticket_keys",
};

const char *bundle_item_type_name(enum bundle_item_type t)
{
	if (t < BUNDLE_ITEM_CONFIG || t > BUNDLE_ITEM_TICKET_KEYS)
		return "?";
	return type_names[t];
}

bool bundle_item_has_data(enum bundle_item_type t)
{
	return t != BUNDLE_ITEM_REMOVE && t != BUNDLE_ITEM_CHALLENGE;
}

size_t bundle_item_max(enum bundle_item_type t)
{
	switch (t) {
	case BUNDLE_ITEM_CONFIG:  return CONFIG_ITEM_MAX + BUNDLE_AEAD_OVERHEAD;
	case BUNDLE_ITEM_CERT:    return CERT_ITEM_MAX + BUNDLE_AEAD_OVERHEAD;
	case BUNDLE_ITEM_KEY:     return KEY_ITEM_MAX + BUNDLE_AEAD_OVERHEAD;
	case BUNDLE_ITEM_KEYRING: return KEYRING_FILE_MAX;
	case BUNDLE_ITEM_TICKET_KEYS: return TICKET_ITEM_MAX + BUNDLE_AEAD_OVERHEAD;
	default:                  return 0;
	}
}

bool bundle_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > BUNDLE_ID_MAX || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789._-") != n)
		return false;
	return strcmp(id, "fleet") != 0;   /* would read as the fleet scope */
}

/* ------------------------------------------------------------------ file sections */

int bundle_split(const void *file, size_t len, struct bundle_parts *p, char *err, size_t errlen)
{
	struct frame_reader r;
	size_t cap = 0;

	memset(p, 0, sizeof(*p));
	frame_reader_init(&r, file, len);
	if (frame_magic(&r, BUNDLE_MAGIC, err, errlen) ||
	    frame_next(&r, "manifest", BUNDLE_MANIFEST_MAX, &p->manifest, &p->manifest_len, err,
		       errlen) ||
	    frame_next(&r, "signature", MINISIG_FILE_MAX, &p->sig, &p->sig_len, err, errlen))
		return -1;
	while (!frame_at_end(&r)) {
		if (p->n_items == BUNDLE_MAX_ITEMS)
			return err_set(err, errlen, "more than %d item sections", BUNDLE_MAX_ITEMS);
		if (p->n_items == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			const unsigned char **ni = realloc(p->item, ncap * sizeof(*ni));
			size_t *nl = ni ? realloc(p->item_len, ncap * sizeof(*nl)) : NULL;
			if (ni)
				p->item = ni;
			if (!nl)
				return err_set(err, errlen, "out of memory");
			p->item_len = nl;
			cap = ncap;
		}
		if (frame_next(&r, "item", SECTION_MAX, &p->item[p->n_items],
			       &p->item_len[p->n_items], err, errlen))
			return -1;
		p->n_items++;
	}
	return 0;
}

void bundle_parts_free(struct bundle_parts *p)
{
	free(p->item);
	free(p->item_len);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------------ manifest */

struct ctx {
	char *err;
	size_t errlen;
};

static enum bundle_item_type type_of(const char *s)
{
	for (int t = BUNDLE_ITEM_CONFIG; s && t <= BUNDLE_ITEM_TICKET_KEYS; t++)
		if (!strcmp(s, type_names[t]))
			return (enum bundle_item_type)t;
	return 0;
}

static int parse_domain(json_t *o, size_t i, struct manifest_item *it, struct ctx *c)
{
	const char *d = json_string_value(json_object_get(o, "domain"));

	if (!d || hostname_normalize(d, strlen(d), it->domain, sizeof(it->domain),
				     HOSTNAME_ALLOW_WILDCARD | HOSTNAME_NAME_ONLY) < 0)
		return err_set(c->err, c->errlen, "items[%zu]: bad or missing domain", i);
	return 0;
}

static int parse_challenge(json_t *o, size_t i, struct manifest_item *it, struct ctx *c)
{
	const char *t = json_string_value(json_object_get(o, "token"));
	const char *k = json_string_value(json_object_get(o, "key_authorization"));
	size_t tl = t ? strlen(t) : 0;

	if (!t || !acme_token_valid(t, tl))
		return err_set(c->err, c->errlen, "items[%zu]: bad challenge token", i);
	if (!k || strlen(k) > ACME_KEYAUTH_MAX || strncmp(k, t, tl) || k[tl] != '.' ||
	    !acme_token_valid(k + tl + 1, strlen(k + tl + 1)))
		return err_set(c->err, c->errlen, "items[%zu]: key_authorization is not "
			       "\"<token>.<thumbprint>\"", i);
	it->token = strdup(t);
	it->key_authorization = strdup(k);
	if (!it->token || !it->key_authorization)
		return err_set(c->err, c->errlen, "out of memory");
	return 0;
}

static int parse_data(json_t *o, size_t i, struct manifest_item *it, struct ctx *c)
{
	json_t *enc = json_object_get(o, "encrypted");

	if (hex32_parse(json_string_value(json_object_get(o, "sha256")), it->sha256))
		return err_set(c->err, c->errlen, "items[%zu]: sha256 must be 64 hex digits", i);
	if (enc && !json_is_boolean(enc))
		return err_set(c->err, c->errlen, "items[%zu]: encrypted must be true or false", i);
	it->encrypted = json_is_true(enc);
	if (it->type == BUNDLE_ITEM_KEY && !it->encrypted)
		return err_set(c->err, c->errlen, "items[%zu]: a private key must be encrypted", i);
	if (it->type == BUNDLE_ITEM_TICKET_KEYS && !it->encrypted)
		return err_set(c->err, c->errlen, "items[%zu]: ticket keys must be encrypted", i);
	if (it->type == BUNDLE_ITEM_KEYRING && it->encrypted)
		return err_set(c->err, c->errlen, "items[%zu]: a keyring cannot be encrypted", i);
	return 0;
}

static int parse_item(json_t *o, size_t i, struct manifest_item *it, struct ctx *c)
{
	static const char *const known[][6] = {
		[BUNDLE_ITEM_CONFIG] = { "type", "sha256", "encrypted", NULL },
		[BUNDLE_ITEM_CERT] = { "type", "domain", "sha256", "encrypted", NULL },
		[BUNDLE_ITEM_KEY] = { "type", "domain", "sha256", "encrypted", NULL },
		[BUNDLE_ITEM_REMOVE] = { "type", "domain", NULL },
		[BUNDLE_ITEM_CHALLENGE] = { "type", "token", "key_authorization", NULL },
		[BUNDLE_ITEM_KEYRING] = { "type", "sha256", NULL },
		[BUNDLE_ITEM_TICKET_KEYS] = { "type", "sha256", "encrypted", NULL },
	};
	const char *bad;

	it->type = type_of(json_string_value(json_object_get(o, "type")));
	if (!it->type)
		return err_set(c->err, c->errlen, "items[%zu]: unknown or missing type", i);
	if ((bad = json_unknown_member(o, known[it->type])))
		return err_set(c->err, c->errlen, "items[%zu]: unknown member \"%s\"", i, bad);
	if (it->type == BUNDLE_ITEM_CERT || it->type == BUNDLE_ITEM_KEY ||
	    it->type == BUNDLE_ITEM_REMOVE)
		if (parse_domain(o, i, it, c))
			return -1;
	if (it->type == BUNDLE_ITEM_CHALLENGE)
		return parse_challenge(o, i, it, c);
	return bundle_item_has_data(it->type) ? parse_data(o, i, it, c) : 0;
}

/* Orders items by domain, then type, so clashes sit side by side. */
static int by_domain(const void *a, const void *b)
{
	const struct manifest_item *x = *(const struct manifest_item *const *)a;
	const struct manifest_item *y = *(const struct manifest_item *const *)b;
	int d = strcmp(x->domain, y->domain);

	return d ? d : (int)x->type - (int)y->type;
}

static int by_token(const void *a, const void *b)
{
	const struct manifest_item *x = *(const struct manifest_item *const *)a;
	const struct manifest_item *y = *(const struct manifest_item *const *)b;

	return strcmp(x->token ? x->token : "", y->token ? y->token : "");
}

/* One config, one keyring, one set of ticket keys, per domain one cert and one key or else one removal, one answer
 * per challenge token: anything else has no single meaning to apply. Sorted, not quadratic. */
static int check_clashes(const struct manifest *m, struct ctx *c)
{
	const struct manifest_item **v = calloc(m->n_items + 1, sizeof(*v));
	size_t n = m->n_items;
	int rc = 0;

	if (!v)
		return err_set(c->err, c->errlen, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = &m->items[i];
	qsort(v, n, sizeof(*v), by_domain);
	for (size_t i = 1; i < n && !rc; i++) {
		bool same_domain = !strcmp(v[i]->domain, v[i - 1]->domain);
		if (v[i]->type == v[i - 1]->type && v[i]->type != BUNDLE_ITEM_CHALLENGE &&
		    same_domain)
			rc = err_set(c->err, c->errlen, "two %s items%s%s",
				     bundle_item_type_name(v[i]->type), v[i]->domain[0] ? " for " : "",
				     v[i]->domain);
		else if (same_domain && v[i]->domain[0] && v[i]->type == BUNDLE_ITEM_REMOVE)
			rc = err_set(c->err, c->errlen, "%s is both removed and updated",
				     v[i]->domain);
	}
	qsort(v, n, sizeof(*v), by_token);
	for (size_t i = 1; i < n && !rc; i++)
		if (v[i]->token && v[i - 1]->token && !strcmp(v[i]->token, v[i - 1]->token))
			rc = err_set(c->err, c->errlen, "challenge token %s listed twice",
				     v[i]->token);
	free(v);
	return rc;
}

static int parse_items(json_t *a, struct manifest *m, struct ctx *c)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) > BUNDLE_MAX_ITEMS)
		return err_set(c->err, c->errlen, "items must be a list of at most %d items",
			       BUNDLE_MAX_ITEMS);
	m->items = calloc(json_array_size(a) + 1, sizeof(*m->items));
	if (!m->items)
		return err_set(c->err, c->errlen, "out of memory");
	json_array_foreach(a, i, v) {
		if (!json_is_object(v))
			return err_set(c->err, c->errlen, "items[%zu]: not an object", i);
		m->n_items++;
		if (parse_item(v, i, &m->items[i], c))
			return -1;
	}
	return check_clashes(m, c);
}

static int parse_id(json_t *v, char out[BUNDLE_ID_MAX + 1])
{
	const char *s = json_string_value(v);

	if (!s || !bundle_id_valid(s))
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int parse_scope(json_t *s, struct manifest *m, struct ctx *c)
{
	size_t i;
	json_t *v;

	if (json_is_string(s) && !strcmp(json_string_value(s), "fleet")) {
		m->fleet = true;
		return 0;
	}
	if (!json_is_array(s) || !json_array_size(s) || json_array_size(s) > BUNDLE_MAX_IDS)
		return err_set(c->err, c->errlen, "scope must be \"fleet\" or a list of appliance ids");
	m->scope = calloc(json_array_size(s), sizeof(*m->scope));
	if (!m->scope)
		return err_set(c->err, c->errlen, "out of memory");
	json_array_foreach(s, i, v) {
		if (parse_id(v, m->scope[i]))
			return err_set(c->err, c->errlen, "scope[%zu]: not an appliance id", i);
		m->n_scope++;
	}
	return 0;
}

static int parse_recipient(json_t *o, size_t i, struct manifest_recipient *r, struct ctx *c)
{
	static const char *const known[] = { "id", "sealed_key", NULL };
	const char *sk = json_string_value(json_object_get(o, "sealed_key")), *bad, *end;
	size_t n;

	if (!json_is_object(o) || (bad = json_unknown_member(o, known)))
		return err_set(c->err, c->errlen, "recipients[%zu]: not {id, sealed_key}", i);
	if (parse_id(json_object_get(o, "id"), r->id))
		return err_set(c->err, c->errlen, "recipients[%zu]: not an appliance id", i);
	if (!sk || sodium_base642bin(r->sealed_key, sizeof(r->sealed_key), sk, strlen(sk), NULL,
				     &n, &end, sodium_base64_VARIANT_ORIGINAL) ||
	    n != sizeof(r->sealed_key) || *end)
		return err_set(c->err, c->errlen, "recipients[%zu]: sealed_key must be base64 of "
			       "%d bytes", i, (int)sizeof(r->sealed_key));
	return 0;
}

static int parse_recipients(json_t *a, struct manifest *m, struct ctx *c)
{
	size_t i;
	json_t *v;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > BUNDLE_MAX_IDS)
		return err_set(c->err, c->errlen, "recipients must be a list");
	m->recipients = calloc(json_array_size(a) + 1, sizeof(*m->recipients));
	if (!m->recipients)
		return err_set(c->err, c->errlen, "out of memory");
	json_array_foreach(a, i, v) {
		if (parse_recipient(v, i, &m->recipients[i], c))
			return -1;
		m->n_recipients++;
	}
	return 0;
}

static int parse_header(json_t *root, struct manifest *m, struct ctx *c)
{
	static const char *const known[] = { "format", "serial", "issued_at", "not_after",
		"key_id", "scope", "recipients", "items", NULL };
	const char *bad, *kid = json_string_value(json_object_get(root, "key_id"));
	long long format, serial, ia, na;

	if (!json_is_object(root))
		return err_set(c->err, c->errlen, "manifest is not a JSON object");
	if ((bad = json_unknown_member(root, known)))
		return err_set(c->err, c->errlen, "manifest: unknown member \"%s\"", bad);
	if (!json_int_in(json_object_get(root, "format"), 0, INT32_MAX, &format) ||
	    format != BUNDLE_FORMAT)
		return err_set(c->err, c->errlen, "manifest: format must be %d", BUNDLE_FORMAT);
	if (!json_int_in(json_object_get(root, "serial"), 1, INT64_MAX, &serial))
		return err_set(c->err, c->errlen, "manifest: serial must be a positive integer");
	if (!json_int_in(json_object_get(root, "issued_at"), 0, INT64_MAX, &ia) ||
	    !json_int_in(json_object_get(root, "not_after"), ia, INT64_MAX, &na))
		return err_set(c->err, c->errlen, "manifest: issued_at and not_after must be times, "
			       "not_after not before issued_at");
	if (!kid || minisig_key_id_parse(kid, m->key_id))
		return err_set(c->err, c->errlen, "manifest: key_id must be 16 hex digits");
	m->serial = (uint64_t)serial;
	m->issued_at = (time_t)ia;
	m->not_after = (time_t)na;
	return 0;
}

int manifest_parse(const void *json, size_t len, struct manifest *m, char *err, size_t errlen)
{
	struct ctx c = { err, errlen };
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(m, 0, sizeof(*m));
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, errlen, "manifest: bad JSON at line %d: %s", jerr.line, jerr.text);
	rc = parse_header(root, m, &c);
	if (!rc)
		rc = parse_scope(json_object_get(root, "scope"), m, &c);
	if (!rc)
		rc = parse_recipients(json_object_get(root, "recipients"), m, &c);
	if (!rc)
		rc = parse_items(json_object_get(root, "items"), m, &c);
	json_decref(root);
	return rc;
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n_items; i++) {
		free(m->items[i].token);
		free(m->items[i].key_authorization);
	}
	free(m->items);
	free(m->scope);
	free(m->recipients);
	memset(m, 0, sizeof(*m));
}
