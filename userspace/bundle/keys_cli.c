// SPDX-License-Identifier: MIT
/* edgetrackctl keys ... and edgetrackctl id: signing keys, the keyring, the appliance id. */
#include "bundle/bundle_cli.h"
#include "acme/atomic_file.h"
#include "bundle/identity.h"
#include "bundle/keyring.h"
#include "bundle/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERRLEN 1024
#define DEFAULT_DATA_DIR "/var/lib/edgetrack"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgetrackctl keys gen --pub FILE --sec FILE [--unencrypted] [--force]\n"
		"       edgetrackctl keys certify --root-key ROOT.key --keyring FILE --pub OP.pub\n"
		"           --not-after DURATION|TIME\n"
		"       edgetrackctl keys keyring show [--root ROOT.pub] FILE\n"
		"       edgetrackctl keys keyring revoke --root-key ROOT.key --keyring FILE KEYID|OP.pub\n"
		"       edgetrackctl keys keyring install --root ROOT.pub --keyring HELD FILE\n"
		"       edgetrackctl id [--data-dir DIR]\n"
		"Keys are minisign's format (minisign -G makes the same; --unencrypted as -W). The\n"
		"root key signs keyrings, which list operator keys and their expiry; operator keys\n"
		"sign bundles. certify and revoke create or update the keyring and raise its serial.\n"
		"Passwords come from $EDGETRACK_KEY_PASSWORD, else the terminal.\n"
		"id prints the appliance id and the X25519 key bundles are sealed to, making them\n"
		"in DIR/identity on first use (DIR defaults to " DEFAULT_DATA_DIR ").\n");
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "edgetrackctl: %s%s%s\n", what, why ? ": " : "", why ? why : "");
	return 1;
}

/* ------------------------------------------------------------------ gen */

static int new_password(char *pw, size_t cap, char *err)
{
	char again[MINISIG_PASSWORD_MAX];
	int rc = 0;

	if (minisig_password("Password: ", pw, cap, err, ERRLEN))
		return -1;
	if (!getenv("EDGETRACK_KEY_PASSWORD")) {
		if (minisig_password("Password (again): ", again, sizeof(again), err, ERRLEN))
			rc = -1;
		else if (strcmp(pw, again))
			rc = -1, snprintf(err, ERRLEN, "passwords differ");
		sodium_memzero(again, sizeof(again));
	}
	if (!rc && !pw[0])
		rc = -1, snprintf(err, ERRLEN, "empty password (use --unencrypted for none)");
	return rc;
}

static int write_keys(const struct minisig_pubkey *pk, const struct minisig_seckey *sk,
		      const char *pub, const char *sec, bool encrypt)
{
	char err[ERRLEN], pw[MINISIG_PASSWORD_MAX], *ptext = NULL, *stext = NULL;
	int rc = 1;

	if (encrypt && new_password(pw, sizeof(pw), err))
		goto out;
	/* minisign's own limits, so either tool opens the key */
	stext = minisig_seckey_format(sk, encrypt ? pw : NULL,
				      crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE,
				      crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE, err,
				      sizeof(err));
	ptext = minisig_pubkey_format(pk);
	if (!stext || !ptext)
		goto out;
	if (atomic_write_file(sec, stext, strlen(stext), 0600, err, sizeof(err)) ||
	    atomic_write_file(pub, ptext, strlen(ptext), 0644, err, sizeof(err)))
		goto out;
	rc = 0;
out:
	if (rc)
		fail("keys gen", err);
	sodium_memzero(pw, sizeof(pw));
	if (stext)
		sodium_memzero(stext, strlen(stext));
	free(stext);
	free(ptext);
	return rc;
}

static int cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pub", 1, 0, 'p' }, { "sec", 1, 0, 's' }, { "unencrypted", 0, 0, 'W' },
		{ "force", 0, 0, 'f' }, { 0, 0, 0, 0 },
	};
	const char *pub = NULL, *sec = NULL;
	bool encrypt = true, force = false;
	struct minisig_pubkey pk;
	struct minisig_seckey sk;
	char id[MINISIG_KEYID_HEX];
	int o, rc;

	while ((o = getopt_long(argc, argv, "W", opts, NULL)) != -1) {
		switch (o) {
		case 'p': pub = optarg; break;
		case 's': sec = optarg; break;
		case 'W': encrypt = false; break;
		case 'f': force = true; break;
		default: return 2;
		}
	}
	if (!pub || !sec || optind != argc)
		return 2;
	if (!force && (!access(pub, F_OK) || !access(sec, F_OK)))
		return fail("keys gen: the key files exist (--force replaces them)", NULL);
	minisig_keygen(&pk, &sk);
	rc = write_keys(&pk, &sk, pub, sec, encrypt);
	sodium_memzero(&sk, sizeof(sk));
	minisig_key_id_hex(pk.key_id, id);
	if (!rc)
		printf("key %s: public %s, secret %s%s\n", id, pub, sec,
		       encrypt ? " (encrypted)" : " (unencrypted)");
	return rc;
}

/* ------------------------------------------------------------------ keyring changes */

struct change {
	const char *root_key, *keyring, *pub, *not_after;
	struct minisig_seckey root;
	struct minisig_pubkey root_pk;
	struct keyring *kr;
	char err[ERRLEN];
};

/* Loads the root key and the keyring (a new, empty one when the file does not exist). */
static int change_open(struct change *c)
{
	c->kr = calloc(1, sizeof(*c->kr));
	if (!c->kr)
		return fail("out of memory", NULL);
	if (minisig_seckey_load(c->root_key, &c->root, c->err, sizeof(c->err)))
		return fail("--root-key", c->err);
	minisig_seckey_pubkey(&c->root, &c->root_pk);
	if (keyring_load(c->keyring, &c->root_pk, c->kr, c->err, sizeof(c->err)) < 0)
		return fail("--keyring", c->err);
	return 0;
}

/* Raises the serial, signs with the root key, replaces the file. */
static int change_commit(struct change *c)
{
	struct frame_buf b = { 0 };
	int rc = 0;

	c->kr->serial++;
	if (keyring_sign(c->kr, &c->root, &b, c->err, sizeof(c->err)) ||
	    atomic_write_file(c->keyring, b.p, b.len, 0644, c->err, sizeof(c->err)))
		rc = fail("keyring", c->err);
	else
		printf("%s: keyring serial %llu, %zu keys, %zu revoked\n", c->keyring,
		       (unsigned long long)c->kr->serial, c->kr->n_keys, c->kr->n_revoked);
	frame_buf_free(&b);
	return rc;
}

static void change_close(struct change *c)
{
	sodium_memzero(&c->root, sizeof(c->root));
	free(c->kr);
}

static int change_options(struct change *c, int argc, char **argv)
{
	const struct util_opt opts[] = {
		{ "root-key", &c->root_key }, { "keyring", &c->keyring }, { "pub", &c->pub },
		{ "not-after", &c->not_after },
	};

	if (util_getopts(argc, argv, opts, 4) < 0)
		return 2;
	return c->root_key && c->keyring ? 0 : 2;
}

static int certify(struct change *c)
{
	struct minisig_pubkey pk;
	time_t until;
	char id[MINISIG_KEYID_HEX], when[32];

	if (util_parse_when(c->not_after, time(NULL), &until))
		return fail("--not-after wants a duration (90d) or a time", c->not_after);
	if (minisig_pubkey_load(c->pub, &pk, c->err, sizeof(c->err)))
		return fail("--pub", c->err);
	if (keyring_certify(c->kr, &pk, until, c->err, sizeof(c->err)))
		return fail("certify", c->err);
	minisig_key_id_hex(pk.key_id, id);
	util_fmt_time(until, when, sizeof(when));
	printf("key %s may sign bundles until %s\n", id, when);
	return change_commit(c);
}

static int cmd_certify(int argc, char **argv)
{
	struct change c = { 0 };
	int rc = change_options(&c, argc, argv);

	if (!rc && (!c.pub || !c.not_after || optind != argc))
		rc = 2;
	if (!rc)
		rc = change_open(&c) ? 1 : certify(&c);
	change_close(&c);
	return rc;
}

static int revoke_key(struct change *c, const char *what)
{
	struct minisig_pubkey pk;

	if (minisig_key_id_parse(what, pk.key_id) &&
	    minisig_pubkey_load(what, &pk, c->err, sizeof(c->err)))
		return fail("revoke wants a key id (16 hex digits) or a public key file", c->err);
	if (keyring_revoke(c->kr, pk.key_id, c->err, sizeof(c->err)))
		return fail("revoke", c->err);
	minisig_key_id_hex(pk.key_id, c->err);
	printf("key %s revoked\n", c->err);
	return change_commit(c);
}

static int cmd_revoke(int argc, char **argv)
{
	struct change c = { 0 };
	int rc = change_options(&c, argc, argv);

	if (!rc && optind != argc - 1)
		rc = 2;
	if (!rc)
		rc = change_open(&c) ? 1 : revoke_key(&c, argv[optind]);
	change_close(&c);
	return rc;
}

/* ------------------------------------------------------------------ show, install */

static void print_keyring(const struct keyring *kr, time_t now)
{
	char id[MINISIG_KEYID_HEX], when[32];

	printf("serial %llu\n", (unsigned long long)kr->serial);
	for (size_t i = 0; i < kr->n_keys; i++) {
		minisig_key_id_hex(kr->keys[i].pk.key_id, id);
		util_fmt_time(kr->keys[i].not_after, when, sizeof(when));
		printf("key %s until %s%s\n", id, when, now > kr->keys[i].not_after ? " (expired)" : "");
	}
	for (size_t i = 0; i < kr->n_revoked; i++) {
		minisig_key_id_hex(kr->revoked[i], id);
		printf("revoked %s\n", id);
	}
}

/* Without the root key only the JSON can be shown, said to be unchecked. */
static int show_unverified(const unsigned char *file, size_t len, char *err)
{
	const unsigned char *json, *sig;
	size_t jl, sl;

	if (keyring_split(file, len, &json, &jl, &sig, &sl, err, ERRLEN))
		return fail("not a keyring", err);
	fwrite(json, 1, jl, stdout);
	printf("\n(signature not checked: pass --root ROOT.pub)\n");
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	const char *root = NULL;
	const struct util_opt opts[] = { { "root", &root } };
	struct minisig_pubkey pk;
	struct keyring *kr;
	char err[ERRLEN];
	unsigned char *file = NULL;
	size_t len;
	int rc;

	if (util_getopts(argc, argv, opts, 1) != argc - 1)
		return 2;
	kr = calloc(1, sizeof(*kr));
	if (!kr)
		return fail("out of memory", NULL);
	file = util_read_file(argv[optind], KEYRING_FILE_MAX, &len, err, sizeof(err));
	if (!file)
		rc = fail("cannot read", err);
	else if (!root)
		rc = show_unverified(file, len, err);
	else if (minisig_pubkey_load(root, &pk, err, sizeof(err)) ||
		 keyring_parse(file, len, &pk, kr, err, sizeof(err)))
		rc = fail("keyring refused", err);
	else
		rc = 0, print_keyring(kr, time(NULL));
	free(file);
	free(kr);
	return rc;
}

static int cmd_install(int argc, char **argv)
{
	const char *root = NULL, *held = NULL;
	const struct util_opt opts[] = { { "root", &root }, { "keyring", &held } };
	struct minisig_pubkey pk;
	char err[ERRLEN];
	unsigned char *file;
	size_t len;
	int rc;

	if (util_getopts(argc, argv, opts, 2) != argc - 1 || !root || !held)
		return 2;
	if (minisig_pubkey_load(root, &pk, err, sizeof(err)))
		return fail("--root", err);
	file = util_read_file(argv[optind], KEYRING_FILE_MAX, &len, err, sizeof(err));
	if (!file)
		return fail("cannot read", err);
	rc = keyring_install(held, file, len, &pk, err, sizeof(err));
	free(file);
	if (rc < 0)
		return fail("keyring refused", err);
	printf("%s: %s\n", held, rc ? "installed" : "kept (the held keyring is as new or newer)");
	return 0;
}

/* ------------------------------------------------------------------ dispatch */

static int cmd_keyring(int argc, char **argv)
{
	static const struct util_cmd cmds[] = {
		{ "show", cmd_show }, { "revoke", cmd_revoke }, { "install", cmd_install },
	};

	return util_dispatch(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

int keys_cli_main(int argc, char **argv)
{
	static const struct util_cmd cmds[] = {
		{ "gen", cmd_gen }, { "certify", cmd_certify }, { "keyring", cmd_keyring },
	};

	return util_cli_main(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, usage);
}

int id_cli_main(int argc, char **argv)
{
	const char *data_dir = DEFAULT_DATA_DIR;
	char dir[4096], err[ERRLEN], pk[IDENTITY_PK_B64];
	struct identity id;

	if (argc == 3 && !strcmp(argv[1], "--data-dir"))
		data_dir = argv[2];
	else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/identity", data_dir) >= sizeof(dir))
		return fail("--data-dir too long", NULL);
	if (identity_open(dir, &id, err, sizeof(err)))
		return fail("identity", err);
	identity_pk_base64(&id, pk);
	printf("id: %s\npublic_key: %s\nrecipient: %s:%s\n", id.id, pk, id.id, pk);
	identity_wipe(&id);
	return 0;
}
