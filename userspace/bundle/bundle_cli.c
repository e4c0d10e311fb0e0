// SPDX-License-Identifier: MIT
#include "bundle/bundle_cli.h"
#include "acme/atomic_file.h"
#include "bundle/bundle.h"
#include "bundle/bundle_build.h"
#include "bundle/identity.h"
#include "bundle/manifest.h"
#include "bundle/util.h"
#include "core/ticket_keys.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERRLEN 1024
#define DEFAULT_NOT_AFTER "7d"
#define WILDCARD_PREFIX "_wildcard."

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackctl bundle create --serial N --signer OP.pub --out FILE\n"
		"           [--not-after DURATION|TIME] [--scope fleet|ID,...] [--recipient ID:PUBKEY]...\n"
		"           [--config FILE] [--cert DOMAIN=CRT[,KEY]]... [--cert-dir DIR]\n"
		"           [--remove DOMAIN]... [--challenge TOKEN=KEYAUTH]... [--keyring FILE]\n"
		"           [--ticket-keys FILE]\n"
		"       edgetrackctl bundle sign --key OP.key [--legacy] [--trusted-comment TEXT] FILE\n"
		"       edgetrackctl bundle verify --root ROOT.pub --keyring FILE [--identity DIR]\n"
		"           [--appliance-id ID] [--applied-serial N] FILE\n"
		"       edgetrackctl bundle inspect [--manifest-out F] [--signature-out F.minisig] FILE\n"
		"       edgetrackctl bundle attach-signature FILE SIG.minisig\n"
		"DURATION is 90d, 12h, 30m, 2w or 3600s from now; TIME is 2026-12-31[T00:00:00Z] or\n"
		"@EPOCH (default " DEFAULT_NOT_AFTER "). --cert-dir reads <domain>.crt and <domain>.key\n"
		"(_wildcard.<parent> for *.<parent>), as edgetrackctl acme writes them. --ticket-keys\n"
		"reads TLS session ticket secrets as the config's tls.ticket_keys writes them\n"
		"([{\"name\": ..., \"secret\": \"<64-128 hex>\"}]); the appliance then uses them\n"
		"instead of its config's. Keys, ticket keys, a config with token secrets, and any\n"
		"config when recipients are named, are encrypted to each --recipient (from\n"
		"`edgetrackctl id` on the appliance). An encrypted OP.key asks for its password, or\n"
		"reads $EDGETRACK_KEY_PASSWORD.\n");
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "edgetrackctl: %s%s%s\n", what, why ? ": " : "", why ? why : "");
	return 1;
}

static int write_out(const char *path, const struct frame_buf *b, char *err)
{
	if (atomic_write_file(path, b->p, b->len, 0644, err, ERRLEN))
		return fail("cannot write", err);
	return 0;
}

/* ------------------------------------------------------------------ create */

struct create {
	struct bundle_spec spec;
	struct bundle_input *in;
	struct bundle_recipient *rcpt;
	const char **scope;
	char *scope_text;
	unsigned char **bufs;
	size_t *buf_lens, n_bufs;
	char **strs;        /* domains and tokens split out of arguments */
	size_t n_strs;
	/* collected per kind, written in this order */
	const char *keyring, *config, *cert_dir, *ticket_keys;
	char **certs, **removes, **challenges;
	size_t n_certs, n_removes, n_challenges;
	char err[ERRLEN];
};

static char *keep_str(struct create *c, const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p)
		c->strs[c->n_strs++] = p;
	return p;
}

static const unsigned char *load(struct create *c, const char *path, size_t *len)
{
	unsigned char *p = util_read_file(path, BUNDLE_FILE_MAX, len, c->err, sizeof(c->err));

	if (p) {
		c->bufs[c->n_bufs] = p;
		c->buf_lens[c->n_bufs++] = *len;
	}
	return p;
}

static struct bundle_input *add(struct create *c, enum bundle_item_type t, const char *domain)
{
	struct bundle_input *in = &c->in[c->spec.n_items++];

	memset(in, 0, sizeof(*in));
	in->type = t;
	in->domain = domain;
	return in;
}

static int add_file(struct create *c, enum bundle_item_type t, const char *domain,
		    const char *path)
{
	struct bundle_input *in = add(c, t, domain);

	in->data = load(c, path, &in->len);
	return in->data ? 0 : fail("cannot read", c->err);
}

/* DOMAIN=CRT[,KEY] */
static int add_cert_arg(struct create *c, const char *arg)
{
	const char *eq = strchr(arg, '='), *comma;
	char *domain, *crt, *key = NULL;

	if (!eq)
		return fail("--cert wants DOMAIN=CRT[,KEY]", arg);
	comma = strchr(eq + 1, ',');
	domain = keep_str(c, arg, (size_t)(eq - arg));
	crt = keep_str(c, eq + 1, comma ? (size_t)(comma - eq - 1) : strlen(eq + 1));
	if (comma)
		key = keep_str(c, comma + 1, strlen(comma + 1));
	if (!domain || !crt || (comma && !key))
		return fail("out of memory", NULL);
	if (add_file(c, BUNDLE_ITEM_CERT, domain, crt))
		return -1;
	return key ? add_file(c, BUNDLE_ITEM_KEY, domain, key) : 0;
}

static int crt_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && !strcmp(d->d_name + n - 4, ".crt") && d->d_name[0] != '.';
}

/* One directory entry "<base>.crt" (and "<base>.key" when present). */
static int add_cert_file(struct create *c, const char *dir, const char *name)
{
	size_t pre = strlen(WILDCARD_PREFIX), n = strlen(name) - 4;
	char path[4096], *domain;
	bool wild = n > pre && !strncmp(name, WILDCARD_PREFIX, pre);

	domain = wild ? NULL : keep_str(c, name, n);
	if (wild && asprintf(&domain, "*.%.*s", (int)(n - pre), name + pre) >= 0)
		c->strs[c->n_strs++] = domain;
	if (!domain)
		return fail("out of memory", NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (add_file(c, BUNDLE_ITEM_CERT, domain, path))
		return -1;
	snprintf(path, sizeof(path), "%s/%.*s.key", dir, (int)n, name);
	return access(path, F_OK) ? 0 : add_file(c, BUNDLE_ITEM_KEY, domain, path);
}

static int add_cert_dir(struct create *c, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, crt_file, alphasort), rc = 0;

	if (n < 0)
		return fail(dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (!rc)
			rc = add_cert_file(c, dir, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return rc;
}

/* TOKEN=KEYAUTH */
static int add_challenge(struct create *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct bundle_input *in;

	if (!eq)
		return fail("--challenge wants TOKEN=KEYAUTH", arg);
	in = add(c, BUNDLE_ITEM_CHALLENGE, NULL);
	in->token = keep_str(c, arg, (size_t)(eq - arg));
	in->key_authorization = eq + 1;
	return in->token ? 0 : fail("out of memory", NULL);
}

/* ID:PUBKEY */
static int add_recipient(struct create *c, const char *arg)
{
	struct bundle_recipient *r = (struct bundle_recipient *)&c->spec.recipients[c->spec.n_recipients];
	const char *colon = strchr(arg, ':');

	if (!colon || (size_t)(colon - arg) > BUNDLE_ID_MAX)
		return fail("--recipient wants ID:PUBKEY", arg);
	memcpy(r->id, arg, (size_t)(colon - arg));
	r->id[colon - arg] = '\0';
	if (!bundle_id_valid(r->id) || identity_pk_parse(colon + 1, r->pk))
		return fail("--recipient: bad appliance id or X25519 public key", arg);
	c->spec.n_recipients++;
	return 0;
}

static int set_scope(struct create *c)
{
	char *save = NULL, *tok;

	if (!c->scope_text)
		return 0;
	for (tok = strtok_r(c->scope_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		c->scope[c->spec.n_scope++] = tok;
	if (!c->spec.n_scope)
		return fail("--scope wants fleet or a list of appliance ids", NULL);
	c->spec.scope = c->scope;
	return 0;
}

/* The operator hears about a malformed file now, not from each appliance that refuses it. */
static int add_ticket_keys(struct create *c, const char *path)
{
	struct ticket_key keys[TICKET_KEYS_MAX];
	struct bundle_input *in;
	size_t n = 0;
	int rc = 0;

	if (add_file(c, BUNDLE_ITEM_TICKET_KEYS, NULL, path))
		return -1;
	in = &c->in[c->spec.n_items - 1];
	if (ticket_keys_load(in->data, in->len, "ticket_keys", keys, &n, c->err, sizeof(c->err)))
		rc = fail(path, c->err);
	else if (!n)
		rc = fail(path, "no ticket key in the list");
	sodium_memzero(keys, sizeof(keys));
	return rc;
}

static int add_items(struct create *c)
{
	if (set_scope(c))
		return -1;
	if (c->keyring && add_file(c, BUNDLE_ITEM_KEYRING, NULL, c->keyring))
		return -1;
	if (c->config && add_file(c, BUNDLE_ITEM_CONFIG, NULL, c->config))
		return -1;
	if (c->ticket_keys && add_ticket_keys(c, c->ticket_keys))
		return -1;
	for (size_t i = 0; i < c->n_certs; i++)
		if (add_cert_arg(c, c->certs[i]))
			return -1;
	if (c->cert_dir && add_cert_dir(c, c->cert_dir))
		return -1;
	for (size_t i = 0; i < c->n_removes; i++)
		add(c, BUNDLE_ITEM_REMOVE, c->removes[i]);
	for (size_t i = 0; i < c->n_challenges; i++)
		if (add_challenge(c, c->challenges[i]))
			return -1;
	return 0;
}

static void create_free(struct create *c)
{
	for (size_t i = 0; i < c->n_bufs; i++) {
		sodium_memzero(c->bufs[i], c->buf_lens[i]);   /* private keys */
		free(c->bufs[i]);
	}
	for (size_t i = 0; i < c->n_strs; i++)
		free(c->strs[i]);
	free(c->in);
	free(c->rcpt);
	free(c->scope);
	free(c->scope_text);
	free(c->bufs);
	free(c->buf_lens);
	free(c->strs);
	free(c->certs);
	free(c->removes);
	free(c->challenges);
}

/* Room for what the options name: argc bounds the repeated options. */
static int alloc_options(struct create *c, size_t argc)
{
	c->rcpt = calloc(argc, sizeof(*c->rcpt));
	c->certs = calloc(argc, sizeof(*c->certs));
	c->removes = calloc(argc, sizeof(*c->removes));
	c->challenges = calloc(argc, sizeof(*c->challenges));
	c->spec.recipients = c->rcpt;
	return c->rcpt && c->certs && c->removes && c->challenges ? 0 : -1;
}

static size_t count_certs(const char *dir)
{
	struct dirent **list;
	int n = dir ? scandir(dir, &list, crt_file, NULL) : 0;

	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n > 0)
		free(list);
	return n > 0 ? (size_t)n : 0;
}

/* Room for the items, once the options say how many there can be. */
static int alloc_items(struct create *c)
{
	size_t n = 3 + 2 * c->n_certs + 2 * count_certs(c->cert_dir) + c->n_removes +
		   c->n_challenges;
	size_t ids = 1;

	for (const char *p = c->scope_text; p && *p; p++)
		ids += *p == ',';
	c->in = calloc(n, sizeof(*c->in));
	c->bufs = calloc(n, sizeof(*c->bufs));
	c->buf_lens = calloc(n, sizeof(*c->buf_lens));
	c->strs = calloc(2 * n, sizeof(*c->strs));
	c->scope = calloc(ids, sizeof(*c->scope));
	c->spec.items = c->in;
	return c->in && c->bufs && c->buf_lens && c->strs && c->scope ? 0 : -1;
}

static int create_options(struct create *c, int argc, char **argv, const char **out)
{
	static const struct option opts[] = {
		{ "serial", 1, 0, 'n' }, { "not-after", 1, 0, 'a' }, { "scope", 1, 0, 's' },
		{ "recipient", 1, 0, 'r' }, { "signer", 1, 0, 'k' }, { "config", 1, 0, 'c' },
		{ "cert", 1, 0, 'C' }, { "cert-dir", 1, 0, 'D' }, { "remove", 1, 0, 'R' },
		{ "challenge", 1, 0, 'H' }, { "keyring", 1, 0, 'K' }, { "out", 1, 0, 'o' },
		{ "ticket-keys", 1, 0, 'T' }, { 0, 0, 0, 0 },
	};
	const char *not_after = DEFAULT_NOT_AFTER, *signer = NULL;
	struct minisig_pubkey pk;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n': if (util_parse_u64(optarg, &c->spec.serial)) return fail("--serial", optarg); break;
		case 'a': not_after = optarg; break;
		case 's': free(c->scope_text); c->scope_text = strcmp(optarg, "fleet") ? strdup(optarg) : NULL; break;
		case 'r': if (add_recipient(c, optarg)) return 1; break;
		case 'k': signer = optarg; break;
		case 'c': c->config = optarg; break;
		case 'C': c->certs[c->n_certs++] = optarg; break;
		case 'D': c->cert_dir = optarg; break;
		case 'R': c->removes[c->n_removes++] = optarg; break;
		case 'H': c->challenges[c->n_challenges++] = optarg; break;
		case 'K': c->keyring = optarg; break;
		case 'T': c->ticket_keys = optarg; break;
		case 'o': *out = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc || !*out || !signer || !c->spec.serial)
		return 2;
	if (minisig_pubkey_load(signer, &pk, c->err, sizeof(c->err)))
		return fail("--signer", c->err);
	memcpy(c->spec.key_id, pk.key_id, sizeof(pk.key_id));
	c->spec.issued_at = time(NULL);
	if (util_parse_when(not_after, c->spec.issued_at, &c->spec.not_after))
		return fail("--not-after wants a duration (7d) or a time", not_after);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct create c = { 0 };
	struct frame_buf b = { 0 };
	const char *out = NULL;
	int rc = 1;

	if (alloc_options(&c, (size_t)argc))
		rc = fail("out of memory", NULL);
	else if ((rc = create_options(&c, argc, argv, &out)) == 2)
		;
	else if (!rc && alloc_items(&c))
		rc = fail("out of memory", NULL);
	else if (!rc && !(rc = add_items(&c) ? 1 : 0)) {
		if (bundle_build(&c.spec, &b, c.err, sizeof(c.err)))
			rc = fail("cannot build the bundle", c.err);
		else if (!(rc = write_out(out, &b, c.err)))
			printf("%s: serial %llu, %zu items, unsigned (next: edgetrackctl bundle sign)\n",
			       out, (unsigned long long)c.spec.serial, c.spec.n_items);
	}
	frame_buf_free(&b);
	create_free(&c);
	return rc;
}

/* ------------------------------------------------------------------ sign, attach */

/* Replaces the bundle at path with what make() builds from its bytes. */
static int rewrite(const char *path, int (*make)(const unsigned char *, size_t, void *,
						 struct frame_buf *, char *),
		   void *arg)
{
	char err[ERRLEN];
	struct frame_buf b = { 0 };
	size_t len;
	unsigned char *file = util_read_file(path, BUNDLE_FILE_MAX, &len, err, sizeof(err));
	int rc;

	if (!file)
		return fail("cannot read", err);
	rc = make(file, len, arg, &b, err) ? fail(path, err) : write_out(path, &b, err);
	free(file);
	frame_buf_free(&b);
	return rc;
}

struct sign_args {
	struct minisig_seckey sk;
	enum minisig_alg alg;
	const char *comment;
};

static int make_signed(const unsigned char *file, size_t len, void *arg, struct frame_buf *out,
		       char *err)
{
	struct sign_args *a = arg;

	return bundle_sign(file, len, &a->sk, a->alg, a->comment, out, err, ERRLEN);
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", 1, 0, 'k' }, { "legacy", 0, 0, 'l' }, { "trusted-comment", 1, 0, 't' },
		{ 0, 0, 0, 0 },
	};
	struct sign_args a = { .alg = MINISIG_PREHASHED };
	const char *key = NULL;
	char err[ERRLEN];
	int o, rc;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'k')
			key = optarg;
		else if (o == 'l')
			a.alg = MINISIG_PURE;
		else if (o == 't')
			a.comment = optarg;
		else
			return 2;
	}
	if (!key || optind != argc - 1)
		return 2;
	if (minisig_seckey_load(key, &a.sk, err, sizeof(err)))
		return fail("--key", err);
	rc = rewrite(argv[optind], make_signed, &a);
	sodium_memzero(&a.sk, sizeof(a.sk));
	if (!rc)
		printf("%s: manifest signed (%s)\n", argv[optind], a.alg == MINISIG_PURE ? "Ed" : "ED");
	return rc;
}

struct attach_args {
	const char *sig;
	size_t len;
};

static int make_attached(const unsigned char *file, size_t len, void *arg, struct frame_buf *out,
			 char *err)
{
	struct attach_args *a = arg;

	return bundle_attach_signature(file, len, a->sig, a->len, out, err, ERRLEN);
}

static int cmd_attach(int argc, char **argv)
{
	struct attach_args a;
	char err[ERRLEN];
	int rc;

	if (argc != 3)
		return 2;
	a.sig = (const char *)util_read_file(argv[2], MINISIG_FILE_MAX, &a.len, err, sizeof(err));
	if (!a.sig)
		return fail("cannot read", err);
	rc = rewrite(argv[1], make_attached, &a);
	free((void *)a.sig);
	if (!rc)
		printf("%s: signature attached\n", argv[1]);
	return rc;
}

/* ------------------------------------------------------------------ verify */

/* Ticket keys by name only: a listing goes to terminals and logs, the secrets never do. */
static void print_ticket_names(const struct bundle_item *it)
{
	struct ticket_key keys[TICKET_KEYS_MAX];
	size_t n = 0;
	char why[256];

	if (ticket_keys_load(it->data, it->len, "ticket_keys", keys, &n, why, sizeof(why)))
		n = 0;   /* the verifier refused such an item already */
	for (size_t k = 0; k < n; k++)
		printf("%s%s", k ? ", " : "", keys[k].name[0] ? keys[k].name : "(unnamed)");
	printf(" (%zu key%s)", n, n == 1 ? "" : "s");
	sodium_memzero(keys, sizeof(keys));
}

static void print_bundle(const struct bundle *b)
{
	char ia[32], na[32];

	util_fmt_time(b->issued_at, ia, sizeof(ia));
	util_fmt_time(b->not_after, na, sizeof(na));
	printf("ok: serial %llu, signed by key %s, issued %s, valid until %s, %zu items\n",
	       (unsigned long long)b->serial, b->key_id, ia, na, b->n_items);
	for (size_t i = 0; i < b->n_items; i++) {
		const struct bundle_item *it = &b->items[i];
		printf("  %-9s %s", bundle_item_type_name(it->type),
		       it->type == BUNDLE_ITEM_CHALLENGE ? it->token : it->domain);
		if (it->type == BUNDLE_ITEM_TICKET_KEYS)
			print_ticket_names(it);
		else if (it->data)
			printf("%s(%zu bytes)", it->domain[0] ? " " : "", it->len);
		printf("\n");
	}
}

static int cmd_verify(int argc, char **argv)
{
	struct bundle_trust t = { .now = time(NULL) };
	const char *applied = NULL;
	const struct util_opt opts[] = {
		{ "root", &t.root_pubkey_path }, { "keyring", &t.keyring_path },
		{ "identity", &t.identity_dir }, { "appliance-id", &t.appliance_id },
		{ "applied-serial", &applied },
	};
	char err[ERRLEN];
	struct bundle *b;

	if (util_getopts(argc, argv, opts, 5) != argc - 1 || !t.root_pubkey_path ||
	    !t.keyring_path)
		return 2;
	if (applied && util_parse_u64(applied, &t.applied_serial))
		return fail("--applied-serial", applied);
	b = bundle_verify(argv[optind], &t, err, sizeof(err));
	if (!b)
		return fail("bundle refused", err);
	print_bundle(b);
	bundle_free(b);
	return 0;
}

/* ------------------------------------------------------------------ inspect */

static int write_part(const char *path, const unsigned char *p, size_t len, const char *what)
{
	char err[ERRLEN];

	if (atomic_write_file(path, p, len, 0644, err, sizeof(err)))
		return fail("cannot write", err);
	printf("%s written to %s (%zu bytes)\n", what, path, len);
	return 0;
}

static void print_signature(const struct bundle_parts *p)
{
	struct minisig *s = malloc(sizeof(*s));
	char why[256], id[MINISIG_KEYID_HEX];

	if (!p->sig_len)
		printf("signature: none (unsigned)\n");
	else if (!s || minisig_parse((const char *)p->sig, p->sig_len, s, why, sizeof(why)))
		printf("signature: unreadable: %s\n", s ? why : "out of memory");
	else {
		minisig_key_id_hex(s->key_id, id);
		printf("signature: %s by key %s (not verified here: use bundle verify)\n"
		       "trusted comment: %s\n", s->alg == MINISIG_PURE ? "Ed" : "ED", id,
		       s->trusted_comment);
	}
	free(s);
}

static int inspect(const unsigned char *file, size_t len, const char *mout, const char *sout)
{
	struct bundle_parts p;
	char err[ERRLEN];
	int rc = 0;

	if (bundle_split(file, len, &p, err, sizeof(err))) {
		bundle_parts_free(&p);
		return fail("not a readable bundle", err);
	}
	if (mout)
		rc = write_part(mout, p.manifest, p.manifest_len, "manifest");
	if (!rc && sout && !p.sig_len)
		rc = fail("the bundle is not signed: no signature to write", NULL);
	else if (!rc && sout)
		rc = write_part(sout, p.sig, p.sig_len, "signature");
	if (!mout && !sout) {
		fwrite(p.manifest, 1, p.manifest_len, stdout);
		print_signature(&p);
		printf("item sections: %zu\n", p.n_items);
	}
	bundle_parts_free(&p);
	return rc;
}

static int cmd_inspect(int argc, char **argv)
{
	const char *mout = NULL, *sout = NULL;
	const struct util_opt opts[] = { { "manifest-out", &mout }, { "signature-out", &sout } };
	char err[ERRLEN];
	unsigned char *file;
	size_t len;
	int rc;

	if (util_getopts(argc, argv, opts, 2) != argc - 1)
		return 2;
	file = util_read_file(argv[optind], BUNDLE_FILE_MAX, &len, err, sizeof(err));
	if (!file)
		return fail("cannot read", err);
	rc = inspect(file, len, mout, sout);
	free(file);
	return rc;
}

int bundle_cli_main(int argc, char **argv)
{
	static const struct util_cmd cmds[] = {
		{ "create", cmd_create }, { "sign", cmd_sign }, { "verify", cmd_verify },
		{ "inspect", cmd_inspect }, { "attach-signature", cmd_attach },
	};

	return util_cli_main(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, usage);
}
