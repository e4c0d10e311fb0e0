// SPDX-License-Identifier: MIT
/*
 * Generations built from bundles (server/state.h): every check refuses the whole bundle with
 * nothing changed on disk; a good one becomes current with unchanged certificates hard-linked,
 * the previous generation kept and the serial recorded; rollback, pruning, clean-up after a
 * killed run, and the config a restart serves. Bundles come from a test-only constructor:
 * what bundle_verify() would hand over after its checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "acme/atomic_file.h"
#include "bundle/bundle.h"
#include "core/config.h"
#include "server/state.h"
#include "test_tls_certs.h"

/* ---------------------------------------------------------------- test bundles */

static struct bundle *tb_new(uint64_t serial)
{
	struct bundle *b = calloc(1, sizeof(*b));

	b->serial = serial;
	b->items = calloc(16, sizeof(*b->items));
	snprintf(b->key_id, sizeof(b->key_id), "0123456789abcdef");
	return b;
}

static void tb_add(struct bundle *b, enum bundle_item_type type, const char *domain,
		   const char *data)
{
	struct bundle_item *it = &b->items[b->n_items++];

	assert_true(b->n_items <= 16);
	it->type = type;
	snprintf(it->domain, sizeof(it->domain), "%s", domain ? domain : "");
	if (data) {
		it->data = (unsigned char *)strdup(data);
		it->len = strlen(data);
	}
}

static void tb_challenge(struct bundle *b, const char *token, const char *keyauth)
{
	struct bundle_item *it = &b->items[b->n_items++];

	it->type = BUNDLE_ITEM_CHALLENGE;
	it->token = strdup(token);
	it->key_authorization = strdup(keyauth);
}

static void tb_free(struct bundle *b)
{
	for (size_t i = 0; i < b->n_items; i++) {
		free(b->items[i].data);
		free(b->items[i].token);
		free(b->items[i].key_authorization);
	}
	free(b->items);
	free(b);
}

/* ---------------------------------------------------------------- fixture */

struct fixture {
	char dir[256], certs[300], boot[300];
	struct tc_ca ca;
	EVP_PKEY *key_a, *key_b;
	struct config *served;       /* what the box serves: the --config file at first */
	struct state_store st;
};

#define BOOT_JSON                                                                           \
	"{\"listen\": [\"127.0.0.1:1\"], \"data_dir\": \"%s\", \"tls\": {\"cert_dir\": \"%s\"},\n" \
	" \"keys\": [{\"id\": 1, \"secret\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}],\n" \
	" \"domains\": [{\"name\": \"a.example.com\"}, {\"name\": \"b.example.com\"}]}\n"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *tmp = tc_tmpdir(), err[512];
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "%s", tmp);
	free(tmp);
	snprintf(f->certs, sizeof(f->certs), "%s/certs", f->dir);
	snprintf(f->boot, sizeof(f->boot), "%s/et.json", f->dir);
	mkdir(f->certs, 0700);
	f->ca = tc_ca_new("test CA");
	f->key_a = tc_ec_key();
	f->key_b = tc_ec_key();
	tc_domain(f->certs, "a.example.com", "a.example.com", &f->ca, f->key_a);
	tc_domain(f->certs, "b.example.com", "b.example.com", &f->ca, f->key_b);
	fp = fopen(f->boot, "w");
	fprintf(fp, BOOT_JSON, f->dir, f->certs);
	fclose(fp);
	f->served = config_load_file(f->boot, err, sizeof(err));
	if (!f->served) {
		printf("%s\n", err);
		return -1;
	}
	state_init(&f->st, f->dir);
	assert_int_equal(state_prepare(&f->st, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[600];

	config_free(f->served);
	EVP_PKEY_free(f->key_a);
	EVP_PKEY_free(f->key_b);
	tc_ca_free(&f->ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A PEM chain (leaf + CA) for domain with key, and the key's PEM. */
static char *pem_chain(struct fixture *f, const char *domain, EVP_PKEY *key)
{
	char san[300], *leaf, *ca, *out;
	X509 *x;

	snprintf(san, sizeof(san), "DNS:%s", domain);
	x = tc_cert(domain, san, key, &f->ca, -3600, 90L * 86400, 0);
	leaf = tc_pem_cert(x);
	ca = tc_pem_cert(f->ca.cert);
	out = malloc(strlen(leaf) + strlen(ca) + 1);
	strcpy(out, leaf);
	strcat(out, ca);
	X509_free(x);
	free(leaf);
	free(ca);
	return out;
}

static void add_pair(struct fixture *f, struct bundle *b, const char *domain, EVP_PKEY *cert_key,
		     EVP_PKEY *key)
{
	char *crt = pem_chain(f, domain, cert_key), *k = tc_pem_key(key);

	tb_add(b, BUNDLE_ITEM_CERT, domain, crt);
	tb_add(b, BUNDLE_ITEM_KEY, domain, k);
	free(crt);
	free(k);
}

/* Stages and commits b over what f serves; 0, or -1 with the reason printed. */
static int apply(struct fixture *f, struct bundle *b, char *why, size_t len)
{
	char cert_dir[CONFIG_PATH_MAX];
	struct state_base base = { .served = f->served, .cert_dir = cert_dir };
	struct state_stage *sg;
	int rc;

	config_cert_dir(f->served, cert_dir, sizeof(cert_dir));
	sg = state_stage_bundle(&f->st, &base, b, time(NULL), why, len);
	if (!sg) {
		printf("refused: %s\n", why);
		return -1;
	}
	rc = state_commit(sg, why, len);
	state_stage_free(sg);
	return rc;
}

/* After an apply, the box serves the current generation (as a restart or SIGHUP loads it). */
static void reload(struct fixture *f)
{
	char err[512];

	config_free(f->served);
	f->served = state_load_config(f->boot, err, sizeof(err));
	if (!f->served)
		fail_msg("state_load_config: %s", err);
}

static bool exists(struct fixture *f, const char *rel)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/state/%s", f->dir, rel);
	return lstat(path, &sb) == 0;
}

static ino_t inode(struct fixture *f, const char *rel)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/state/%s", f->dir, rel);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_ino;
}

static char *state_file(struct fixture *f, const char *rel)
{
	char path[600], *text;

	snprintf(path, sizeof(path), "%s/state/%s", f->dir, rel);
	text = read_small_file(path, 1 << 20, NULL);
	assert_non_null(text);
	return text;
}

static const char *link_of(struct fixture *f, const char *rel)
{
	static char target[64];
	char path[600];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/state/%s", f->dir, rel);
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	return target;
}

/* Nothing on disk shows a refused bundle: the state directory holds what it held. */
static void assert_untouched(struct fixture *f, uint64_t serial)
{
	char gen[64];
	uint64_t cur;
	struct dirent *de;
	DIR *d;
	char path[600];

	snprintf(path, sizeof(path), "%s/state", f->dir);
	d = opendir(path);
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, ".tmp"));
	closedir(d);
	if (!serial) {
		assert_int_equal(state_current(&f->st, gen, sizeof(gen), &cur), -1);
	} else {
		assert_int_equal(state_current(&f->st, gen, sizeof(gen), &cur), 0);
		assert_int_equal(cur, serial);
	}
}

/* ---------------------------------------------------------------- tests */

static void test_first_bundle(void **state)
{
	struct fixture *f = *state;
	struct bundle *b = tb_new(5);
	EVP_PKEY *k = tc_ec_key();
	char why[512], gen[64], *crt, *want, *cfg;
	uint64_t serial;

	add_pair(f, b, "a.example.com", k, k);
	assert_int_equal(apply(f, b, why, sizeof(why)), 0);
	assert_int_equal(state_current(&f->st, gen, sizeof(gen), &serial), 0);
	assert_string_equal(gen, "gen-5");
	assert_int_equal(state_highest_serial(&f->st), 5);
	crt = state_file(f, "current/certs/a.example.com.crt");
	assert_string_equal(crt, (char *)b->items[0].data);
	/* b.example.com came along from the --config file's directory */
	assert_true(exists(f, "gen-5/certs/b.example.com.crt"));
	assert_true(exists(f, "gen-5/certs/b.example.com.key"));
	/* the stored config has none of the box's own settings */
	cfg = state_file(f, "gen-5/config.json");
	assert_null(strstr(cfg, "data_dir"));
	assert_null(strstr(cfg, "cert_dir"));
	assert_non_null(strstr(cfg, "a.example.com"));
	assert_false(exists(f, "previous"));
	/* what a restart serves: the generation, with the file's own settings */
	reload(f);
	assert_string_equal(f->served->data_dir, f->dir);
	want = malloc(700);
	snprintf(want, 700, "%s/state/gen-5/config.json", f->dir);
	assert_string_equal(f->served->source, want);
	config_cert_dir(f->served, want, 700);
	assert_non_null(strstr(want, "/state/gen-5/certs"));
	free(want);
	free(crt);
	free(cfg);
	EVP_PKEY_free(k);
	tb_free(b);
}

static void test_mismatched_key_refuses_all(void **state)
{
	struct fixture *f = *state;
	struct bundle *b = tb_new(5);
	EVP_PKEY *k = tc_ec_key(), *other = tc_ec_key();
	char why[512];

	add_pair(f, b, "a.example.com", k, k);            /* good */
	add_pair(f, b, "b.example.com", k, other);        /* cert and key do not match */
	assert_int_equal(apply(f, b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "b.example.com: "));
	assert_untouched(f, 0);
	assert_int_equal(state_highest_serial(&f->st), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	tb_free(b);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *k = tc_ec_key();
	char why[512], *crt = pem_chain(f, "a.example.com", k), *key = tc_pem_key(k);
	char *wrong = pem_chain(f, "c.example.com", k);
	static const char *const cfg_bad[] = {
		"{ broken",
		"[1, 2]",
		"{\"listen\": [\"127.0.0.1:1\"], \"data_dir\": \"/elsewhere\"}",
		"{\"management\": {}}",
		"{\"tls\": {\"cert_dir\": \"/x\"}}",
		("{\"listen\": [\"127.0.0.1:1\"], \"keys\": [{\"id\": 1, \"secret\": \"00\"}], "
		 "\"domains\": [{\"name\": \"a.example.com\"}]}"),
	};
	static const char *const cfg_why[] = {
		"config: ", "config: not a JSON object", "\"data_dir\" is the appliance's own",
		"\"management\" is the appliance's own", "\"tls.cert_dir\" is the appliance's own",
		"keys[0]",
	};
	struct {
		struct bundle *b;
		const char *why;
	} cases[16];
	size_t n = 0;

	/* a cert whose names do not cover the domain */
	cases[n].b = tb_new(5), cases[n].why = "a.example.com: ";
	tb_add(cases[n].b, BUNDLE_ITEM_CERT, "a.example.com", wrong);
	tb_add(cases[n++].b, BUNDLE_ITEM_KEY, "a.example.com", key);
	/* a new domain's cert without a key anywhere */
	cases[n].b = tb_new(5), cases[n].why = "c.example.com: a cert without its key";
	tb_add(cases[n++].b, BUNDLE_ITEM_CERT, "c.example.com", crt);
	/* a name that is no domain, or would leave the cert directory */
	cases[n].b = tb_new(5), cases[n].why = "is not a domain name";
	tb_add(cases[n++].b, BUNDLE_ITEM_CERT, "../../etc/passwd", crt);
	/* two certs for one domain; a removal of a domain that gets files */
	cases[n].b = tb_new(5), cases[n].why = "changes it twice";
	tb_add(cases[n].b, BUNDLE_ITEM_CERT, "a.example.com", crt);
	tb_add(cases[n++].b, BUNDLE_ITEM_CERT, "A.Example.com.", crt);
	cases[n].b = tb_new(5), cases[n].why = "changes it twice";
	tb_add(cases[n].b, BUNDLE_ITEM_CERT, "a.example.com", crt);
	tb_add(cases[n++].b, BUNDLE_ITEM_REMOVE, "a.example.com", NULL);
	/* a challenge the store would not take */
	cases[n].b = tb_new(5), cases[n].why = "challenge: ";
	tb_challenge(cases[n++].b, "short", "short.x");
	for (size_t i = 0; i < sizeof(cfg_bad) / sizeof(cfg_bad[0]); i++) {
		cases[n].b = tb_new(5), cases[n].why = cfg_why[i];
		tb_add(cases[n++].b, BUNDLE_ITEM_CONFIG, NULL, cfg_bad[i]);
	}
	for (size_t i = 0; i < n; i++) {
		int rc = apply(f, cases[i].b, why, sizeof(why));

		if (rc != -1 || !strstr(why, cases[i].why))
			fail_msg("case %zu: rc %d, reason \"%s\", want \"%s\"", i, rc, why,
				 cases[i].why);
		assert_untouched(f, 0);
		tb_free(cases[i].b);
	}
	free(crt);
	free(key);
	free(wrong);
	EVP_PKEY_free(k);
}

static void test_generations(void **state)
{
	struct fixture *f = *state;
	struct bundle *b5 = tb_new(5), *b6 = tb_new(6), *b7 = tb_new(7);
	EVP_PKEY *k = tc_ec_key();
	char why[512], *renewed = pem_chain(f, "a.example.com", k), *cfg;

	add_pair(f, b5, "a.example.com", k, k);
	assert_int_equal(apply(f, b5, why, sizeof(why)), 0);
	reload(f);
	/* a cert alone pairs with the key in place (a renewal on the same key) */
	tb_add(b6, BUNDLE_ITEM_CERT, "a.example.com", renewed);
	tb_add(b6, BUNDLE_ITEM_REMOVE, "b.example.com", NULL);
	tb_add(b6, BUNDLE_ITEM_CONFIG, NULL,
	       "{\"listen\": [\"127.0.0.1:1\"], \"keys\": [{\"id\": 1, \"secret\": "
	       "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}], "
	       "\"domains\": [{\"name\": \"a.example.com\"}, {\"name\": \"new.example.com\"}]}");
	assert_int_equal(apply(f, b6, why, sizeof(why)), 0);
	/* the unchanged key is the same file, linked; the removed domain is gone */
	assert_int_equal(inode(f, "gen-6/certs/a.example.com.key"),
			 inode(f, "gen-5/certs/a.example.com.key"));
	assert_false(exists(f, "gen-6/certs/b.example.com.crt"));
	cfg = state_file(f, "current/config.json");
	assert_non_null(strstr(cfg, "new.example.com"));
	free(cfg);
	assert_string_equal(link_of(f, "previous"), "gen-5");
	reload(f);
	assert_int_equal(f->served->n_domains, 2);
	/* a third generation: the first is pruned, the one before kept */
	add_pair(f, b7, "new.example.com", k, k);
	assert_int_equal(apply(f, b7, why, sizeof(why)), 0);
	state_prune(&f->st);
	assert_false(exists(f, "gen-5"));
	assert_true(exists(f, "gen-6"));
	assert_true(exists(f, "gen-7"));
	assert_int_equal(state_highest_serial(&f->st), 7);
	/* rolled back: gen-6 serves again, serial 7 stays spent */
	assert_int_equal(state_rollback(&f->st, 7, why, sizeof(why)), 0);
	assert_untouched(f, 6);
	assert_int_equal(state_highest_serial(&f->st), 7);
	free(renewed);
	EVP_PKEY_free(k);
	tb_free(b5);
	tb_free(b6);
	tb_free(b7);
}

/* Rolling back the first bundle leaves no generation: the --config file serves again. */
static void test_rollback_first(void **state)
{
	struct fixture *f = *state;
	struct bundle *b = tb_new(3);
	char why[512];

	add_pair(f, b, "a.example.com", f->key_a, f->key_a);
	assert_int_equal(apply(f, b, why, sizeof(why)), 0);
	assert_int_equal(state_rollback(&f->st, 3, why, sizeof(why)), 0);
	assert_untouched(f, 0);
	assert_int_equal(state_highest_serial(&f->st), 3);
	reload(f);
	assert_string_equal(f->served->source, f->boot);
	tb_free(b);
}

#define TK1 "[{\"name\": \"k1\", \"secret\": \"" \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}]"
#define TK2 "[{\"name\": \"k2\", \"secret\": \"" \
	"1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201001f1e\"}]"

/* The name of the first ticket key the current generation serves; "" for none. */
static const char *current_ticket_name(struct fixture *f)
{
	static struct ticket_key keys[TICKET_KEYS_MAX];
	char err[512];
	size_t n = 0;
	int rc = state_ticket_keys(f->dir, keys, &n, err, sizeof(err));

	if (rc < 0)
		fail_msg("state_ticket_keys: %s", err);
	return rc ? keys[0].name : "";
}

/* A bundle's ticket keys become the generation's (0600); one without keeps them (the same
 * file, linked); the next set replaces them; a rollback serves the previous generation's. */
static void test_ticket_keys(void **state)
{
	struct fixture *f = *state;
	struct bundle *b5 = tb_new(5), *b6 = tb_new(6), *b7 = tb_new(7);
	char why[512];
	struct stat sb;
	char path[600];

	assert_string_equal(current_ticket_name(f), "");
	tb_add(b5, BUNDLE_ITEM_TICKET_KEYS, NULL, TK1);
	assert_int_equal(apply(f, b5, why, sizeof(why)), 0);
	snprintf(path, sizeof(path), "%s/state/gen-5/ticket_keys.json", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_string_equal(current_ticket_name(f), "k1");
	reload(f);
	tb_add(b6, BUNDLE_ITEM_REMOVE, "b.example.com", NULL);
	assert_int_equal(apply(f, b6, why, sizeof(why)), 0);
	assert_int_equal(inode(f, "gen-6/ticket_keys.json"), inode(f, "gen-5/ticket_keys.json"));
	assert_string_equal(current_ticket_name(f), "k1");
	reload(f);
	tb_add(b7, BUNDLE_ITEM_TICKET_KEYS, NULL, TK2);
	assert_int_equal(apply(f, b7, why, sizeof(why)), 0);
	assert_string_equal(current_ticket_name(f), "k2");
	assert_int_equal(state_rollback(&f->st, 7, why, sizeof(why)), 0);
	assert_string_equal(current_ticket_name(f), "k1");
	tb_free(b5);
	tb_free(b6);
	tb_free(b7);
}

/* A generation's ticket file that does not parse is an error, not a silent fallback to the
 * config's keys. */
static void test_ticket_keys_unreadable(void **state)
{
	struct fixture *f = *state;
	struct bundle *b = tb_new(5);
	struct ticket_key keys[TICKET_KEYS_MAX];
	char why[512], path[600];
	size_t n;

	tb_add(b, BUNDLE_ITEM_TICKET_KEYS, NULL, TK1);
	assert_int_equal(apply(f, b, why, sizeof(why)), 0);
	snprintf(path, sizeof(path), "%s/state/gen-5/ticket_keys.json", f->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(atomic_write_file(path, "[{\"secret\": \"00\"}]", 18, 0600, why,
					   sizeof(why)), 0);
	assert_int_equal(state_ticket_keys(f->dir, keys, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ticket_keys.json[0].secret: expected 64 to 128 hex digits"));
	tb_free(b);
}

/* What a run killed mid-apply leaves is cleaned up; the serial being built is free again. */
static void test_leftovers(void **state)
{
	struct fixture *f = *state;
	struct bundle *b = tb_new(9);
	char path[600], why[512];

	snprintf(path, sizeof(path), "%s/state/gen-9.tmp", f->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/gen-9.tmp/config.json", f->dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/state/current.tmp", f->dir);
	assert_int_equal(symlink("gen-9", path), 0);
	assert_int_equal(state_prepare(&f->st, why, sizeof(why)), 0);
	assert_untouched(f, 0);
	/* a generation named but never made current (killed before the switch) */
	snprintf(path, sizeof(path), "%s/state/gen-9", f->dir);
	mkdir(path, 0700);
	add_pair(f, b, "a.example.com", f->key_a, f->key_a);
	assert_int_equal(apply(f, b, why, sizeof(why)), 0);
	assert_untouched(f, 9);
	tb_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatched_key_refuses_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_keys_unreadable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
