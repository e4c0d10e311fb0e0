// SPDX-License-Identifier: MIT
/* Cert store: layout, validation reasons, reloads that keep old certs, LRU, scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "certs/cert_store.h"
#include "tls/tls.h"
#include "test_tls_certs.h"

struct fixture {
	char *dir;
	struct tc_ca ca;
	EVP_PKEY *key;
	struct cert_store *store;
	char reasons[4096]; /* "domain: reason\n" lines from the last load */
};

static void on_reject(void *arg, const char *domain, const char *reason)
{
	struct fixture *f = arg;
	size_t n = strlen(f->reasons);

	snprintf(f->reasons + n, sizeof(f->reasons) - n, "%s: %s\n", domain, reason);
}

static int load(struct fixture *f, struct cert_load_result *r)
{
	char err[256];

	f->reasons[0] = '\0';
	return cert_store_load_dir(f->store, f->dir, r, on_reject, f, err, sizeof(err));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tc_tmpdir();
	f->ca = tc_ca_new("edgetrack test CA");
	f->key = tc_ec_key();
	f->store = cert_store_new(tls_cert_parser(), 16);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cert_store_free(f->store);
	EVP_PKEY_free(f->key);
	tc_ca_free(&f->ca);
	tc_rmdir(f->dir);
	free(f);
	return 0;
}

static void four_domains(struct fixture *f)
{
	tc_domain(f->dir, "a.example.com", "a.example.com", &f->ca, f->key);
	tc_domain(f->dir, "b.example.com", "b.example.com", &f->ca, f->key);
	tc_domain(f->dir, "c.example.net", "c.example.net", &f->ca, f->key);
	tc_domain(f->dir, "_wildcard.w.example.com", "*.w.example.com", &f->ca, f->key);
}

static void test_lookup_exact_then_wildcard(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_info info;

	four_domains(f);
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.loaded, 4);
	assert_int_equal(r.rejected, 0);

	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &info), 0);
	assert_string_equal(info.domain, "a.example.com");
	assert_int_equal(info.n_certs, 2);
	assert_true(info.not_after > time(NULL) + 80L * 86400);
	/* SNI is case-insensitive and may carry a trailing dot */
	assert_int_equal(cert_store_lookup(f->store, "B.Example.COM.", &info), 0);
	assert_string_equal(info.domain, "b.example.com");
	assert_int_equal(cert_store_lookup(f->store, "x.w.example.com", &info), 0);
	assert_string_equal(info.domain, "*.w.example.com");
	/* a wildcard covers one label only, and not its parent */
	assert_int_equal(cert_store_lookup(f->store, "y.x.w.example.com", &info), -1);
	assert_int_equal(cert_store_lookup(f->store, "w.example.com", &info), -1);
	assert_int_equal(cert_store_lookup(f->store, "d.example.com", &info), -1);
	assert_int_equal(cert_store_lookup(f->store, "*.w.example.com", &info), 0);
}

/* The CA certificate in every chain is held once, however many domains it serves. */
static void test_intermediates_shared(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_store_stats st;
	struct cert_info info;
	struct tc_ca other = tc_ca_new("another test CA");

	four_domains(f);
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.loaded, 4);
	cert_store_stats(f->store, &st);
	assert_int_equal(st.shared_certs, 1);
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &info), 0);
	assert_int_equal(info.n_certs, 2);

	tc_domain(f->dir, "o.example.org", "o.example.org", &other, f->key);
	assert_int_equal(load(f, &r), 0);
	cert_store_stats(f->store, &st);
	assert_int_equal(st.domains, 5);
	assert_int_equal(st.shared_certs, 2);
	{
		/* the parse sees the whole chain, the pooled CA certificate included */
		char err[256];
		struct cert_obj *o = cert_store_acquire(f->store, "o.example.org", NULL, err,
							sizeof(err));

		assert_non_null(o);
		cert_obj_put(o);
	}
	/* the last domain of a CA goes, and its certificate with it */
	tc_unlink(f->dir, "o.example.org.crt");
	tc_unlink(f->dir, "o.example.org.key");
	assert_int_equal(load(f, &r), 0);
	cert_store_stats(f->store, &st);
	assert_int_equal(st.domains, 4);
	assert_int_equal(st.shared_certs, 1);
	tc_ca_free(&other);
}

/* Writes one bad pair as domain "bad.example.com" and returns the load's reason text. */
static const char *reject_reason(struct fixture *f)
{
	struct cert_load_result r;

	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.rejected, 1);
	return f->reasons;
}

static void test_rejects_expired_and_not_yet_valid(void **state)
{
	struct fixture *f = *state;
	X509 *x = tc_cert("bad.example.com", "DNS:bad.example.com", f->key, &f->ca, -90L * 86400,
			  -86400, 0);

	tc_write_pair(f->dir, "bad.example.com", x, f->ca.cert, f->key);
	X509_free(x);
	assert_non_null(strstr(reject_reason(f), "bad.example.com: certificate expired on"));

	x = tc_cert("bad.example.com", "DNS:bad.example.com", f->key, &f->ca, 86400, 90L * 86400, 0);
	tc_write_pair(f->dir, "bad.example.com", x, f->ca.cert, f->key);
	X509_free(x);
	assert_non_null(strstr(reject_reason(f), "not valid before"));
}

static void test_rejects_key_mismatch(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other = tc_ec_key();
	X509 *x = tc_cert("bad.example.com", "DNS:bad.example.com", f->key, &f->ca, -60, 86400, 0);

	tc_write_pair(f->dir, "bad.example.com", x, f->ca.cert, other);
	X509_free(x);
	EVP_PKEY_free(other);
	assert_non_null(strstr(reject_reason(f), "private key does not match the certificate"));
}

static void test_rejects_chain_order_and_names(void **state)
{
	struct fixture *f = *state;
	X509 *x = tc_cert("bad.example.com", "DNS:bad.example.com", f->key, &f->ca, -60, 86400, 0);
	X509 *other = tc_cert("other.example.com", "DNS:other.example.com", f->key, &f->ca, -60,
			      86400, 0);
	char *c1 = tc_pem_cert(x), *c2 = tc_pem_cert(f->ca.cert), *k = tc_pem_key(f->key);

	/* issuer first, leaf second */
	tc_write_file(f->dir, "bad.example.com.crt", c2, c1);
	tc_write_file(f->dir, "bad.example.com.key", k, NULL);
	assert_non_null(strstr(reject_reason(f), "chain out of order"));

	tc_write_pair(f->dir, "bad.example.com", other, f->ca.cert, f->key);
	assert_non_null(strstr(reject_reason(f), "certificate names do not cover bad.example.com"));

	X509_free(x);
	X509_free(other);
	free(c1);
	free(c2);
	free(k);
}

static void test_rejects_garbage_and_missing_files(void **state)
{
	struct fixture *f = *state;
	char *k = tc_pem_key(f->key);

	tc_write_file(f->dir, "bad.example.com.crt", "not a certificate\n", NULL);
	tc_write_file(f->dir, "bad.example.com.key", k, NULL);
	assert_non_null(strstr(reject_reason(f), "holds no PEM certificate"));

	tc_domain(f->dir, "bad.example.com", "bad.example.com", &f->ca, f->key);
	tc_write_file(f->dir, "bad.example.com.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
		      "-----END PRIVATE KEY-----\n", NULL);
	assert_non_null(strstr(reject_reason(f), "no usable private key"));

	tc_unlink(f->dir, "bad.example.com.key");
	assert_non_null(strstr(reject_reason(f), "cannot open bad.example.com.key"));

	tc_unlink(f->dir, "bad.example.com.crt");
	tc_domain(f->dir, "Upper.example.com", "upper.example.com", &f->ca, f->key);
	assert_non_null(strstr(reject_reason(f), "Upper.example.com.crt: file name is not"));
	free(k);
}

static void test_rejects_weak_rsa(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *rsa = tc_rsa_key(1024);
	X509 *x = tc_cert("bad.example.com", "DNS:bad.example.com", rsa, &f->ca, -60, 86400, 0);

	tc_write_pair(f->dir, "bad.example.com", x, f->ca.cert, rsa);
	X509_free(x);
	EVP_PKEY_free(rsa);
	assert_non_null(strstr(reject_reason(f), "RSA key of 1024 bits is too short"));
}

static void test_bad_reload_keeps_old_cert(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_info before, after;
	char err[256];
	EVP_PKEY *other = tc_ec_key();
	X509 *x;

	four_domains(f);
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &before), 0);

	/* a.example.com gets a cert whose key does not match */
	x = tc_cert("a.example.com", "DNS:a.example.com", f->key, &f->ca, -60, 30L * 86400, 0);
	tc_write_pair(f->dir, "a.example.com", x, f->ca.cert, other);
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.kept, 1);
	assert_int_equal(r.unchanged, 3);
	assert_non_null(strstr(f->reasons, "a.example.com: private key does not match"));
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &after), 0);
	assert_int_equal(after.not_after, before.not_after);

	/* same through a one-domain reload */
	assert_int_equal(cert_store_load_domain(f->store, f->dir, "a.example.com", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "private key does not match"));
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &after), 0);
	assert_int_equal(after.not_after, before.not_after);

	/* a good new cert for one domain replaces the old one */
	tc_write_pair(f->dir, "a.example.com", x, f->ca.cert, f->key);
	assert_int_equal(cert_store_load_domain(f->store, f->dir, "a.example.com", err, sizeof(err)),
			 0);
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &after), 0);
	assert_true(after.not_after < before.not_after);
	assert_int_equal(cert_store_lookup(f->store, "x.w.example.com", &after), 0);

	/* removed files remove the domain */
	tc_unlink(f->dir, "b.example.com.crt");
	tc_unlink(f->dir, "b.example.com.key");
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.removed, 1);
	assert_int_equal(cert_store_lookup(f->store, "b.example.com", &after), -1);

	/* an unreadable directory leaves the store as it was */
	assert_int_equal(cert_store_load_dir(f->store, "/nonexistent/certs", &r, NULL, NULL, err,
					     sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open certificate directory"));
	assert_int_equal(cert_store_lookup(f->store, "c.example.net", &after), 0);
	X509_free(x);
	EVP_PKEY_free(other);
}

static void test_acquire_and_fallback(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_obj *o;
	char err[256];

	four_domains(f);
	assert_int_equal(load(f, &r), 0);
	o = cert_store_acquire(f->store, "q.w.example.com", NULL, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cert_obj_domain(o), "*.w.example.com");
	assert_non_null(cert_obj_parsed(o));
	cert_obj_put(o);
	o = cert_store_acquire(f->store, "unknown.example.org", "c.example.net", err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cert_obj_domain(o), "c.example.net");
	cert_obj_put(o);
	o = cert_store_acquire(f->store, NULL, "c.example.net", err, sizeof(err));
	assert_non_null(o);
	cert_obj_put(o);
	assert_null(cert_store_acquire(f->store, "unknown.example.org", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no certificate for unknown.example.org"));
}

static int load_lazy(struct fixture *f, bool pass, struct cert_load_result *r)
{
	char err[256];

	f->reasons[0] = '\0';
	return cert_store_load_dir_lazy(f->store, f->dir, 0, pass, r, on_reject, f, err,
					sizeof(err));
}

/* Four good pairs and a bad one (a key that does not match its cert). */
static void four_and_a_bad_one(struct fixture *f)
{
	EVP_PKEY *other = tc_ec_key();
	X509 *x = tc_cert("bad.example.com", "DNS:bad.example.com", f->key, &f->ca, -60, 86400, 0);

	four_domains(f);
	tc_write_pair(f->dir, "bad.example.com", x, f->ca.cert, other);
	X509_free(x);
	EVP_PKEY_free(other);
}

/* No budget, no pass: nothing is read at load; each pair is checked by its first use. */
static void test_lazy_checks_on_first_use(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_info info;
	struct cert_obj *o;
	char err[256];

	four_and_a_bad_one(f);
	assert_int_equal(load_lazy(f, false, &r), 0);
	assert_int_equal(r.pending, 5);
	assert_int_equal(r.loaded + r.rejected, 0);
	assert_string_equal(f->reasons, "");
	/* not checked yet: the status side does not know it, and does not check it */
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &info), -1);
	assert_int_equal(cert_store_lookup(f->store, "x.w.example.com", &info), -1);

	o = cert_store_acquire(f->store, "a.example.com", NULL, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cert_obj_domain(o), "a.example.com");
	cert_obj_put(o);
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &info), 0);
	o = cert_store_acquire(f->store, "q.w.example.com", NULL, err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cert_obj_domain(o), "*.w.example.com");
	cert_obj_put(o);

	/* the bad pair is refused at its first use, reported once, and serves as if absent */
	assert_null(cert_store_acquire(f->store, "bad.example.com", NULL, err, sizeof(err)));
	o = cert_store_acquire(f->store, "bad.example.com", "c.example.net", err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(cert_obj_domain(o), "c.example.net");
	cert_obj_put(o);
	cert_store_take_rejects(f->store, on_reject, f);
	assert_string_equal(f->reasons, "bad.example.com: private key does not match the certificate\n");
	f->reasons[0] = '\0';
	cert_store_take_rejects(f->store, on_reject, f);
	assert_string_equal(f->reasons, "");

	/* a full reload checks what changed: the pairs not used yet stay lazy */
	assert_int_equal(load(f, &r), 0);
	assert_int_equal(r.unchanged, 3);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.pending, 1);
	assert_non_null(strstr(f->reasons, "bad.example.com: private key does not match"));
}

/* The pass checks every pair in the background, reports the bad one and leaves it out. */
static void test_lazy_pass_checks_the_rest(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	struct cert_store_stats st;
	struct cert_info info;
	char err[256];

	four_and_a_bad_one(f);
	assert_int_equal(load_lazy(f, true, &r), 0);
	assert_int_equal(r.pending, 5);
	cert_store_wait_pass(f->store);
	assert_int_equal(cert_store_lookup(f->store, "b.example.com", &info), 0);
	assert_int_equal(cert_store_lookup(f->store, "x.w.example.com", &info), 0);
	assert_string_equal(info.domain, "*.w.example.com");
	assert_int_equal(cert_store_lookup(f->store, "bad.example.com", &info), -1);
	cert_store_take_rejects(f->store, on_reject, f);
	assert_string_equal(f->reasons, "bad.example.com: private key does not match the certificate\n");
	cert_store_stats(f->store, &st);
	assert_int_equal(st.domains, 4); /* settled: the refused one is gone */

	/* a bad reload of a domain the pass checked keeps the checked cert */
	tc_write_file(f->dir, "a.example.com.crt", "not a certificate\n", NULL);
	assert_int_equal(cert_store_load_domain(f->store, f->dir, "a.example.com", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "holds no PEM certificate"));
	assert_int_equal(cert_store_lookup(f->store, "a.example.com", &info), 0);
}

/* First uses from several threads while the pass runs: one result per pair, no leak. */
static void *acquire_all(void *arg)
{
	struct fixture *f = arg;
	static const char *const names[] = { "a.example.com", "b.example.com", "c.example.net",
					     "z.w.example.com", "bad.example.com" };
	char err[256];

	for (int round = 0; round < 50; round++)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			cert_obj_put(cert_store_acquire(f->store, names[i], NULL, err, sizeof(err)));
	return NULL;
}

static void test_lazy_races(void **state)
{
	struct fixture *f = *state;
	struct cert_load_result r;
	pthread_t t[3];

	four_and_a_bad_one(f);
	assert_int_equal(load_lazy(f, true, &r), 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, acquire_all, f);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cert_store_wait_pass(f->store);
	cert_store_take_rejects(f->store, on_reject, f);
	assert_string_equal(f->reasons, "bad.example.com: private key does not match the certificate\n");
}

static void test_lru_eviction_and_reparse(void **state)
{
	struct fixture *f = *state;
	struct cert_store *s = cert_store_new(tls_cert_parser(), 2);
	struct cert_store_stats st;
	struct cert_obj *held, *o;
	char err[256];

	four_domains(f);
	assert_int_equal(cert_store_load_dir(s, f->dir, NULL, NULL, NULL, err, sizeof(err)), 0);
	held = cert_store_acquire(s, "a.example.com", NULL, err, sizeof(err));
	assert_non_null(held);
	o = cert_store_acquire(s, "b.example.com", NULL, err, sizeof(err));
	cert_obj_put(o);
	o = cert_store_acquire(s, "c.example.net", NULL, err, sizeof(err)); /* evicts a */
	cert_obj_put(o);
	cert_store_stats(s, &st);
	assert_int_equal(st.lru_entries, 2);
	assert_int_equal(st.lru_evictions, 1);
	assert_int_equal(st.lru_misses, 3);
	/* the evicted object stays valid for its holder */
	assert_string_equal(cert_obj_domain(held), "a.example.com");
	assert_non_null(cert_obj_parsed(held));

	o = cert_store_acquire(s, "c.example.net", NULL, err, sizeof(err)); /* hit */
	cert_obj_put(o);
	o = cert_store_acquire(s, "a.example.com", NULL, err, sizeof(err)); /* re-parse */
	assert_non_null(o);
	assert_ptr_not_equal(o, held);
	cert_obj_put(o);
	cert_obj_put(held);
	cert_store_stats(s, &st);
	assert_int_equal(st.lru_hits, 1);
	assert_int_equal(st.lru_misses, 4);
	assert_int_equal(st.lru_evictions, 2);
	assert_int_equal(st.domains, 4);
	cert_store_free(s);
}

struct race {
	struct cert_store *s;
	int stop;
	unsigned long got, short_stats; /* stats that counted fewer than the three names used */
};

static void *acquirer(void *arg)
{
	struct race *r = arg;
	static const char *const names[] = { "a.example.com", "b.example.com", "z.w.example.com" };
	char err[256];

	for (unsigned i = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE); i++) {
		struct cert_obj *o = cert_store_acquire(r->s, names[i % 3], NULL, err, sizeof(err));

		if (o) {
			__atomic_add_fetch(&r->got, 1, __ATOMIC_RELAXED);
			cert_obj_put(o);
		}
		if (i % 64 == 0) { /* the stats walk the tables the reloads change */
			struct cert_store_stats st;

			cert_store_stats(r->s, &st);
			if (st.domains < 3)
				__atomic_add_fetch(&r->short_stats, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Lookups and stats on several threads while reloads change snapshots underneath. */
static void test_concurrent_reload(void **state)
{
	struct fixture *f = *state;
	struct race r = { .s = cert_store_new(tls_cert_parser(), 2) };
	pthread_t t[3];
	char err[256];

	four_domains(f);
	assert_int_equal(cert_store_load_dir(r.s, f->dir, NULL, NULL, NULL, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, acquirer, &r);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(cert_store_load_domain(r.s, f->dir, "a.example.com", err, sizeof(err)), 0);
		assert_int_equal(cert_store_load_dir(r.s, f->dir, NULL, NULL, NULL, err, sizeof(err)), 0);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert_true(r.got > 0);
	assert_int_equal(r.short_stats, 0);
	cert_store_free(r.s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#if defined(__SANITIZE_ADDRESS__)
#define SCALE_DEFAULT 20000 /* ASan's allocator makes OpenSSL's PEM decoding ~8x slower */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCALE_DEFAULT 20000
#endif
#endif
#ifndef SCALE_DEFAULT
#define SCALE_DEFAULT 100000
#endif

#define ONE_RELOADS 2000

/*
 * Reloads of one domain at a time, more of them than the store has shards (so fresh
 * snapshots come in between): each copies a shard's worth of entries on average, whatever
 * the number of domains, and every name is still found after them. Returns the seconds.
 */
static double reload_one_at_a_time(struct cert_store *s, const char *dir, long n,
				   double *copies)
{
	struct cert_store_stats a, b;
	struct cert_info info;
	char err[256], name[64];
	double t0 = now_s(), t;

	cert_store_stats(s, &a);
	assert_true(a.shards >= (size_t)n / 128);
	for (long i = 0; i < ONE_RELOADS; i++) {
		snprintf(name, sizeof(name), "d%ld.example.com", (i * 31) % n);
		assert_int_equal(cert_store_load_domain(s, dir, name, err, sizeof(err)), 0);
	}
	t = now_s() - t0;
	cert_store_stats(s, &b);
	*copies = (double)(b.reload_copies - a.reload_copies) / ONE_RELOADS;
	/* a shard holds 64 names on average: far below the 20,000 a whole copy would take */
	assert_true(*copies <= 8 * 64);
	assert_int_equal(b.domains, (size_t)n);
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "d%ld.example.com", i);
		assert_int_equal(cert_store_lookup(s, name, &info), 0);
	}
	return t;
}

/*
 * 100,000 domains (20,000 under ASan; ET_CERT_SCALE overrides), one CA and one key shared:
 * load time and memory, and reloads of one domain.
 */
static void test_scale(void **state)
{
	struct fixture *f = *state;
	const char *env = getenv("ET_CERT_SCALE");
	long n = env ? atol(env) : SCALE_DEFAULT;
	char *ca_pem = tc_pem_cert(f->ca.cert), *key_pem = tc_pem_key(f->key);
	struct cert_store *s = cert_store_new(tls_cert_parser(), 1024);
	struct cert_load_result r;
	struct cert_store_stats st;
	struct cert_info info;
	char err[256], name[64], file[80], san[80];
	double t0, t_load, t_reload, t_lookup, t_one, copies;
	long rss0, rss1;

	t0 = now_s();
	for (long i = 0; i < n; i++) {
		X509 *x;
		char *pem;

		snprintf(name, sizeof(name), "d%ld.example.com", i);
		snprintf(san, sizeof(san), "DNS:%s", name);
		x = tc_cert(name, san, f->key, &f->ca, -3600, 90L * 86400, 0);
		pem = tc_pem_cert(x);
		snprintf(file, sizeof(file), "%s.crt", name);
		tc_write_file(f->dir, file, pem, ca_pem);
		snprintf(file, sizeof(file), "%s.key", name);
		tc_write_file(f->dir, file, key_pem, NULL);
		free(pem);
		X509_free(x);
	}
	printf("CERTSCALE generated %ld domains in %.1f s\n", n, now_s() - t0);

	rss0 = tc_rss_kib();
	t0 = now_s();
	assert_int_equal(cert_store_load_dir(s, f->dir, &r, NULL, NULL, err, sizeof(err)), 0);
	t_load = now_s() - t0;
	rss1 = tc_rss_kib();
	assert_int_equal(r.loaded, (size_t)n);
	t0 = now_s();
	assert_int_equal(cert_store_load_dir(s, f->dir, &r, NULL, NULL, err, sizeof(err)), 0);
	t_reload = now_s() - t0;
	assert_int_equal(r.unchanged, (size_t)n);

	t0 = now_s();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "d%ld.example.com", (i * 7919) % n);
		assert_int_equal(cert_store_lookup(s, name, &info), 0);
	}
	t_lookup = now_s() - t0;
	for (long i = 0; i < 5000; i++) { /* parsed objects stay bounded by the LRU */
		struct cert_obj *o;

		snprintf(name, sizeof(name), "d%ld.example.com", (i * 104729) % n);
		o = cert_store_acquire(s, name, NULL, err, sizeof(err));
		assert_non_null(o);
		cert_obj_put(o);
	}
	cert_store_stats(s, &st);
	assert_true(st.lru_entries <= 1024);
	t_one = reload_one_at_a_time(s, f->dir, n, &copies);
	printf("CERTSCALE domains=%ld load_s=%.2f reload_unchanged_s=%.2f lookup_ns=%.0f "
	       "store_bytes=%zu bytes_per_domain=%zu rss_delta_kib=%ld lru=%zu shards=%zu "
	       "one_domain_reload_us=%.0f copies_per_reload=%.0f\n",
	       n, t_load, t_reload, t_lookup / (double)n * 1e9, st.der_bytes,
	       st.der_bytes / (size_t)n, rss1 - rss0, st.lru_entries, st.shards,
	       t_one / ONE_RELOADS * 1e6, copies);
	cert_store_free(s);
	free(ca_pem);
	free(key_pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_exact_then_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intermediates_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_expired_and_not_yet_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_key_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_chain_order_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_garbage_and_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_weak_rsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_reload_keeps_old_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_and_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_checks_on_first_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_pass_checks_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_races, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru_eviction_and_reparse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
