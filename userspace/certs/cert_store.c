// SPDX-License-Identifier: MIT
/*
 * Cert store: validated DER per domain in immutable, reference-counted snapshots (open
 * addressing on a seeded 64-bit hash, O(1) exact + one wildcard probe), and an LRU of parsed
 * objects keyed by the entry's serial so a reloaded domain never serves a stale parse.
 * Validation uses OpenSSL whatever the TLS backend (libcrypto is always linked).
 */
#include "certs/cert_store.h"
#include "certs/der_pool.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define WILDCARD_PREFIX "_wildcard."

/* What identifies a file's content without reading it again on a reload. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* Where a shell's pair is read from: the directory of the load that indexed it. */
struct cert_src {
	atomic_uint refs;
	int dirfd;
	char dir[];
};

/*
 * A validated pair, or a shell: a name indexed at start-up whose files are read and checked
 * on first use or by the start-up pass. A shell's result is set once (the first check that
 * finishes wins) and a shell is never changed otherwise, so readers need no lock.
 */
struct cert_entry {
	atomic_uint refs;
	uint64_t serial;
	uint64_t hash;
	struct cert_src *src;              /* not NULL: a shell */
	_Atomic(struct cert_entry *) full; /* a shell's validated entry, once checked */
	atomic_bool rejected;              /* a shell whose check failed (reported then) */
	time_t not_before, not_after;
	struct file_id crt_id, key_id;
	struct der_pool *pool;             /* holds the intermediates (NULL in a shell) */
	uint32_t key_len;
	uint16_t name_len;
	uint8_t n_certs;
	uint8_t key_type;
	/* name NUL, key DER, the leaf (u32 length, DER), then n_certs - 1 pointers to the
	   intermediates in the pool (struct der_shared *, unaligned) */
	unsigned char data[];
};

struct cert_snap {
	atomic_uint refs;
	size_t n, cap; /* cap is a power of two, load <= 1/2 */
	size_t bytes;
	struct cert_entry **slots;
};

struct cert_obj {
	atomic_uint refs;
	uint64_t serial;
	const struct cert_parser *parser;
	void *parsed;
	struct cert_obj *prev, *next; /* LRU list, most recent first */
	struct cert_obj *hnext;       /* serial hash chain */
	char domain[];
};

/*
 * OpenSSL 3 builds a decoder chain on every PEM_read_bio_PrivateKey (~0.4 ms); one reused
 * context makes a 100,000-domain load ten times faster. One per thread that checks pairs.
 */
struct key_decoder {
	OSSL_DECODER_CTX *ctx;
	EVP_PKEY *out;
};

/* A pair the store refused on its own (first use, start-up pass), for the control thread. */
struct reject_note {
	struct reject_note *next;
	char *domain, *reason;
};

struct cert_store {
	const struct cert_parser *parser;
	struct key_decoder kd;
	uint64_t seed;
	atomic_uint_fast64_t next_serial;

	pthread_mutex_t snap_lock; /* guards cur and generation */
	struct cert_snap *cur;
	uint64_t generation;

	pthread_mutex_t load_lock; /* one load at a time; guards kd */

	pthread_mutex_t lazy_lock; /* one first-use check at a time; guards lazy_kd */
	struct key_decoder lazy_kd;

	/* the start-up pass: started and joined by the thread that loads at start-up */
	pthread_t pass;
	bool pass_started;
	atomic_bool pass_stop;
	struct cert_load_result pass_res; /* the start-up load's own counts, then the totals */
	struct cert_src *pass_src;

	pthread_mutex_t note_lock;
	struct reject_note *notes, **notes_tail;

	struct der_pool *pool; /* intermediates, one copy for every entry they serve */

	pthread_mutex_t lru_lock;
	size_t lru_cap, lru_n, lru_nb;
	struct cert_obj **lru_buckets;
	struct cert_obj *lru_head, *lru_tail;
	uint64_t hits, misses, evictions;
};

/* ------------------------------------------------------------------ names and hashing */

static uint64_t name_hash(uint64_t seed, const char *s, size_t len)
{
	return hash_bytes(seed, s, len);
}

/* Lower-case DNS name, optionally "*." + name; labels [a-z0-9-], 1..63 bytes, >= 2 labels. */
static bool domain_valid(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1;

	if (len == 0 || len > CERT_NAME_MAX)
		return false;
	if (d[0] == '*') {
		if (d[1] != '.')
			return false;
		d += 2;
	}
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			labels++;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
		if (label == 0 && *p == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && labels >= 2;
}

/* SNI as sent -> canonical form (lower case, no trailing dot); -1 if it cannot match. */
static int sni_normalize(const char *in, char *out)
{
	size_t len = strlen(in);

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > CERT_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '*' || (unsigned char)c < 0x21 || (unsigned char)c > 0x7e)
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return (int)len;
}

/* ------------------------------------------------------------------ entries */

static const char *entry_name(const struct cert_entry *e)
{
	return (const char *)e->data;
}

/* The i-th intermediate (1 <= i < n_certs) of a validated entry. */
static const struct der_shared *entry_chain(const struct cert_entry *e, size_t i)
{
	const unsigned char *p = e->data + e->name_len + 1 + e->key_len;
	const struct der_shared *d;
	uint32_t leaf_len;

	memcpy(&leaf_len, p, sizeof(leaf_len));
	p += sizeof(leaf_len) + leaf_len + (i - 1) * sizeof(d);
	memcpy(&d, p, sizeof(d));
	return d;
}

static void entry_der(const struct cert_entry *e, struct cert_der *d)
{
	const unsigned char *p = e->data + e->name_len + 1;
	uint32_t len;

	memset(d, 0, sizeof(*d));
	d->key = p;
	d->key_len = e->key_len;
	d->key_type = e->key_type;
	d->n_certs = e->n_certs;
	if (!e->n_certs)
		return;
	p += e->key_len;
	memcpy(&len, p, sizeof(len));
	d->cert[0] = p + sizeof(len);
	d->cert_len[0] = len;
	for (size_t i = 1; i < e->n_certs; i++) {
		const struct der_shared *c = entry_chain(e, i);

		d->cert[i] = c->der;
		d->cert_len[i] = c->len;
	}
}

/* What the entry itself holds: the pooled intermediates are counted once, by the pool. */
static size_t entry_size(const struct cert_entry *e)
{
	struct cert_der d;
	size_t n = sizeof(*e) + e->name_len + 1 + e->key_len;

	entry_der(e, &d);
	if (d.n_certs)
		n += sizeof(uint32_t) + d.cert_len[0] + (d.n_certs - 1) * sizeof(void *);
	return n;
}

static struct cert_entry *entry_ref(struct cert_entry *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

static struct cert_src *src_ref(struct cert_src *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

static void src_put(struct cert_src *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	close(s->dirfd);
	free(s);
}

static struct cert_src *src_open(const char *dir, char *err, size_t errlen)
{
	size_t n = strlen(dir);
	struct cert_src *s = malloc(sizeof(*s) + n + 1);

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errlen, "cannot open certificate directory %s: %s", dir,
			 strerror(errno));
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	memcpy(s->dir, dir, n + 1);
	return s;
}

static void entry_put(struct cert_entry *e)
{
	if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (e->src) {
		entry_put(atomic_load_explicit(&e->full, memory_order_acquire));
		src_put(e->src);
	}
	for (size_t i = 1; i < e->n_certs && e->pool; i++)
		der_pool_put(e->pool, entry_chain(e, i));
	free(e);
}

/* A shell for domain: the name alone, its pair read when first needed. */
static struct cert_entry *shell_new(struct cert_store *st, const char *domain,
				    struct cert_src *src)
{
	size_t n = strlen(domain);
	struct cert_entry *e = calloc(1, sizeof(*e) + n + 1);

	if (!e)
		return NULL;
	atomic_init(&e->refs, 1);
	atomic_init(&e->full, NULL);
	atomic_init(&e->rejected, false);
	e->serial = atomic_fetch_add(&st->next_serial, 1);
	e->hash = name_hash(st->seed, domain, n);
	e->name_len = (uint16_t)n;
	e->src = src_ref(src);
	memcpy(e->data, domain, n + 1);
	return e;
}

/* A shell nobody has checked yet. */
static bool entry_unchecked(const struct cert_entry *e)
{
	return e->src && !atomic_load_explicit(&e->full, memory_order_acquire) &&
	       !atomic_load_explicit(&e->rejected, memory_order_acquire);
}

/* ------------------------------------------------------------------ snapshots */

static struct cert_snap *snap_new(size_t n_hint)
{
	struct cert_snap *s = calloc(1, sizeof(*s));
	size_t cap = 16;

	if (!s)
		return NULL;
	while (cap < n_hint * 2)
		cap <<= 1;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	s->cap = cap;
	atomic_init(&s->refs, 1);
	return s;
}

static void snap_put(struct cert_snap *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->cap; i++)
		entry_put(s->slots[i]);
	free(s->slots);
	free(s);
}

static struct cert_entry *snap_find(const struct cert_snap *s, const char *name, size_t len,
				    uint64_t h)
{
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct cert_entry *e = s->slots[i];

		if (!e)
			return NULL;
		if (e->hash == h && e->name_len == len && memcmp(entry_name(e), name, len) == 0)
			return e;
	}
}

/* Takes over the caller's reference to e; the name must not be present yet. */
static void snap_insert(struct cert_snap *s, struct cert_entry *e)
{
	size_t i = e->hash & (s->cap - 1);

	while (s->slots[i])
		i = (i + 1) & (s->cap - 1);
	s->slots[i] = e;
	s->n++;
	s->bytes += entry_size(e);
}

static struct cert_snap *snap_get(struct cert_store *st)
{
	struct cert_snap *s;

	pthread_mutex_lock(&st->snap_lock);
	s = st->cur;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&st->snap_lock);
	return s;
}

static void snap_swap(struct cert_store *st, struct cert_snap *s)
{
	struct cert_snap *old;

	pthread_mutex_lock(&st->snap_lock);
	old = st->cur;
	st->cur = s;
	st->generation++;
	pthread_mutex_unlock(&st->snap_lock);
	snap_put(old);
}

static struct cert_entry *find_name(const struct cert_store *st, const struct cert_snap *s,
				    const char *name)
{
	size_t len = strlen(name);

	return snap_find(s, name, len, name_hash(st->seed, name, len));
}

static struct cert_entry *entry_ready(struct cert_store *st, struct cert_entry *e, bool load);

/*
 * The validated entry for a name: exact, then the "*.parent" wildcard (one label only, as
 * RFC 6125 says). A shell is checked first when load; without load a name whose pair is not
 * checked yet has no answer (the wildcard may not be what will serve it).
 */
static struct cert_entry *find_sni(struct cert_store *st, const struct cert_snap *s,
				   const char *sni, bool load)
{
	char name[CERT_NAME_MAX + 3];
	const char *dot;
	struct cert_entry *e, *ready = NULL;

	if (sni_normalize(sni, name) < 0)
		return NULL;
	e = find_name(st, s, name);
	if (e && ((ready = entry_ready(st, e, load)) || entry_unchecked(e)))
		return ready;
	dot = strchr(name, '.');
	if (!dot || !strchr(dot + 1, '.'))
		return NULL;
	memmove(name + 1, dot, strlen(dot) + 1);
	name[0] = '*';
	e = find_name(st, s, name);
	return e ? entry_ready(st, e, load) : NULL;
}

/* ------------------------------------------------------------------ validation (OpenSSL) */

struct pem_pair {
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	unsigned char *key_der; /* as in the file: PKCS#8, SEC1 or PKCS#1 */
	long key_der_len;
};

static int key_decoder_init(struct key_decoder *d)
{
	d->out = NULL;
	d->ctx = OSSL_DECODER_CTX_new_for_pkey(&d->out, "DER", NULL, NULL, EVP_PKEY_KEYPAIR,
					       NULL, NULL);
	return d->ctx ? 0 : -1;
}

static void key_decoder_fini(struct key_decoder *d)
{
	OSSL_DECODER_CTX_free(d->ctx);
	d->ctx = NULL;
}

static void pair_free(struct pem_pair *p)
{
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	if (p->key_der)
		OPENSSL_clear_free(p->key_der, (size_t)p->key_der_len);
	memset(p, 0, sizeof(*p));
}

static void ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "no details");
	ERR_clear_error();
}

/* Refuses a passphrase prompt: encrypted keys cannot be used unattended. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int parse_chain(const void *crt, size_t crt_len, struct pem_pair *p, char *err,
		       size_t errlen)
{
	char why[256];
	BIO *b = BIO_new_mem_buf(crt, (int)crt_len);
	X509 *x;

	ERR_clear_error();
	p->chain = sk_X509_new_null();
	if (!b || !p->chain) {
		BIO_free(b);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL))) {
		if (sk_X509_num(p->chain) == CERT_CHAIN_MAX || !sk_X509_push(p->chain, x)) {
			X509_free(x);
			BIO_free(b);
			snprintf(err, errlen, "chain holds more than %d certificates", CERT_CHAIN_MAX);
			return -1;
		}
	}
	BIO_free(b);
	/* The loop ends on "no start line" at end of input; anything else is a real error. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(p->chain) == 0) {
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "%s (%s)",
			 sk_X509_num(p->chain) ? "certificate file does not parse" :
			 "certificate file holds no PEM certificate", why);
		return -1;
	}
	ERR_clear_error();
	return 0;
}

/* The first key block's DER, skipping "EC PARAMETERS" blocks (openssl ecparam -genkey). */
static int read_key_der(const void *key, size_t key_len, struct pem_pair *p, char *err,
			size_t errlen)
{
	BIO *b = BIO_new_mem_buf(key, (int)key_len);
	char *name = NULL, *header = NULL;
	int rc = -1;

	while (b && PEM_read_bio(b, &name, &header, &p->key_der, &p->key_der_len) == 1) {
		if (strcmp(name, "EC PARAMETERS") != 0)
			break;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(p->key_der);
		name = header = NULL;
		p->key_der = NULL;
	}
	BIO_free(b);
	ERR_clear_error();
	if (!name)
		snprintf(err, errlen, "key file holds no PEM private key");
	else if (strstr(name, "ENCRYPTED") || strstr(header, "ENCRYPTED"))
		snprintf(err, errlen, "key file holds an encrypted key (not supported: the "
			 "server starts unattended)");
	else if (strcmp(name, "PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY") &&
		 strcmp(name, "RSA PRIVATE KEY"))
		snprintf(err, errlen, "key file holds a PEM '%s' block, not a private key", name);
	else
		rc = 0;
	OPENSSL_free(name);
	OPENSSL_free(header);
	return rc;
}

static int pair_parse(struct key_decoder *kd, const void *crt, size_t crt_len, const void *key,
		      size_t key_len, struct pem_pair *p, char *err, size_t errlen)
{
	const unsigned char *d;
	size_t dlen;
	char why[256];

	if (parse_chain(crt, crt_len, p, err, errlen) || read_key_der(key, key_len, p, err, errlen))
		return -1;
	d = p->key_der;
	dlen = (size_t)p->key_der_len;
	kd->out = NULL;
	if (!OSSL_DECODER_from_data(kd->ctx, &d, &dlen) || !kd->out) {
		EVP_PKEY_free(kd->out);
		kd->out = NULL;
		ssl_reason(why, sizeof(why));
		snprintf(err, errlen, "key file holds no usable private key (%s)", why);
		return -1;
	}
	p->key = kd->out;
	kd->out = NULL;
	return 0;
}

static int key_type_ok(EVP_PKEY *k, char *err, size_t errlen)
{
	char group[64] = "";

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(k) >= 2048)
			return 0;
		snprintf(err, errlen, "RSA key of %d bits is too short (2048 at least)",
			 EVP_PKEY_get_bits(k));
		return -1;
	case EVP_PKEY_EC:
		EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), NULL);
		if (!strcmp(group, "prime256v1") || !strcmp(group, "secp384r1"))
			return 0;
		snprintf(err, errlen, "EC key on curve '%s' is not supported (P-256 or P-384)", group);
		return -1;
	default:
		snprintf(err, errlen, "key type %s is not supported (ECDSA P-256/P-384 or RSA)",
			 EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "unknown");
		return -1;
	}
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int validity_ok(X509 *x, size_t pos, time_t now, char *err, size_t errlen)
{
	time_t nb = asn1_time(X509_get0_notBefore(x)), na = asn1_time(X509_get0_notAfter(x));
	char when[32];

	if (na <= now) {
		fmt_time(na, when, sizeof(when));
		snprintf(err, errlen, "%s expired on %s", pos ? "chain certificate" : "certificate",
			 when);
		return -1;
	}
	if (nb > now) {
		fmt_time(nb, when, sizeof(when));
		snprintf(err, errlen, "%s is not valid before %s",
			 pos ? "chain certificate" : "certificate", when);
		return -1;
	}
	return 0;
}

static bool dns_eq(const ASN1_STRING *s, const char *name)
{
	size_t len = strlen(name);

	return (size_t)ASN1_STRING_length(s) == len &&
	       strncasecmp((const char *)ASN1_STRING_get0_data(s), name, len) == 0;
}

/* True if one DNS SAN names domain, or (for an exact domain) is the wildcard covering it. */
static int names_cover(X509 *leaf, const char *domain, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	const char *dot = strchr(domain, '.');
	char wild[CERT_NAME_MAX + 3];
	bool ok = false, any = false;

	snprintf(wild, sizeof(wild), "*%s", dot ? dot : "");
	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		any = true;
		ok = dns_eq(g->d.dNSName, domain) || (domain[0] != '*' && dns_eq(g->d.dNSName, wild));
	}
	GENERAL_NAMES_free(gens);
	if (ok)
		return 0;
	snprintf(err, errlen, any ? "certificate names do not cover %s" :
		 "certificate has no DNS subjectAltName (needed for %s)", domain);
	return -1;
}

static int chain_ok(STACK_OF(X509) *chain, time_t now, char *err, size_t errlen)
{
	int n = sk_X509_num(chain);

	for (int i = 0; i + 1 < n; i++) {
		X509 *sub = sk_X509_value(chain, i), *iss = sk_X509_value(chain, i + 1);

		/* Names and key identifiers only: signatures are the client's to check, and
		 * verifying 100,000 of them would slow every start. */
		if (X509_check_issued(iss, sub) != X509_V_OK) {
			ERR_clear_error();
			snprintf(err, errlen, "chain out of order: certificate %d is not issued by "
				 "certificate %d (leaf first, then each issuer)", i + 1, i + 2);
			return -1;
		}
		if (validity_ok(iss, (size_t)i + 1, now, err, errlen))
			return -1;
	}
	return 0;
}

static int pair_check(const char *domain, struct pem_pair *p, time_t now, char *err,
		      size_t errlen)
{
	X509 *leaf = sk_X509_value(p->chain, 0);

	/* Order first: a chain that starts with its issuer would read as a key mismatch. */
	if (chain_ok(p->chain, now, err, errlen) || key_type_ok(p->key, err, errlen))
		return -1;
	if (X509_check_private_key(leaf, p->key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "private key does not match the certificate");
		return -1;
	}
	if (validity_ok(leaf, 0, now, err, errlen))
		return -1;
	return names_cover(leaf, domain, err, errlen);
}

/* The decoder is what a check would otherwise set up again each time (most of its cost). */
struct cert_checker {
	struct key_decoder kd;
};

struct cert_checker *cert_checker_new(void)
{
	struct cert_checker *c = calloc(1, sizeof(*c));

	if (c && key_decoder_init(&c->kd)) {
		free(c);
		return NULL;
	}
	return c;
}

void cert_checker_free(struct cert_checker *c)
{
	if (!c)
		return;
	key_decoder_fini(&c->kd);
	free(c);
}

int cert_checker_check(struct cert_checker *c, const char *domain, const void *crt,
		       size_t crt_len, const void *key, size_t key_len, time_t now, char *err,
		       size_t errlen)
{
	struct pem_pair p = { 0 };
	int rc;

	if (!domain_valid(domain)) {
		snprintf(err, errlen, "'%s' is not a domain name", domain);
		return -1;
	}
	rc = pair_parse(&c->kd, crt, crt_len, key, key_len, &p, err, errlen);
	if (rc == 0)
		rc = pair_check(domain, &p, now, err, errlen);
	pair_free(&p);
	ERR_clear_error();
	return rc;
}

int cert_validate_pem(const char *domain, const void *crt, size_t crt_len, const void *key,
		      size_t key_len, time_t now, char *err, size_t errlen)
{
	struct cert_checker *c = cert_checker_new();
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = cert_checker_check(c, domain, crt, crt_len, key, key_len, now, err, errlen);
	cert_checker_free(c);
	return rc;
}

/* ------------------------------------------------------------------ building entries */

/* Puts chain[1..n) in the pool; false (with nothing held) when a cert cannot be encoded or
   memory runs out. */
static bool pool_chain(struct der_pool *pool, STACK_OF(X509) *x, size_t n,
		       const struct der_shared **chain)
{
	for (size_t i = 1; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(x, (int)i), &der);

		chain[i] = len > 0 ? der_pool_get(pool, der, (size_t)len) : NULL;
		OPENSSL_free(der);
		if (!chain[i]) {
			while (--i)
				der_pool_put(pool, chain[i]);
			return false;
		}
	}
	return true;
}

static struct cert_entry *entry_from_pair(struct cert_store *st, const char *domain,
					  struct pem_pair *p, char *err, size_t errlen)
{
	size_t name_len = strlen(domain), total, n = (size_t)sk_X509_num(p->chain);
	int key_len = (int)p->key_der_len, leaf_len;
	const struct der_shared *chain[CERT_CHAIN_MAX] = { 0 };
	X509 *leaf = sk_X509_value(p->chain, 0);
	struct cert_entry *e;
	unsigned char *w;
	uint32_t len;

	leaf_len = leaf && n <= CERT_CHAIN_MAX ? i2d_X509(leaf, NULL) : -1;
	if (key_len <= 0 || leaf_len <= 0) {
		ssl_reason(err, errlen);
		return NULL;
	}
	total = sizeof(*e) + name_len + 1 + (size_t)key_len + sizeof(len) + (size_t)leaf_len +
		(n - 1) * sizeof(chain[0]);
	e = calloc(1, total);
	if (!e || !pool_chain(st->pool, p->chain, n, chain)) {
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->serial = atomic_fetch_add(&st->next_serial, 1);
	e->hash = name_hash(st->seed, domain, name_len);
	e->pool = st->pool;
	e->name_len = (uint16_t)name_len;
	e->n_certs = (uint8_t)n;
	e->key_len = (uint32_t)key_len;
	e->key_type = EVP_PKEY_get_base_id(p->key) == EVP_PKEY_RSA ? CERT_KEY_RSA : CERT_KEY_EC;
	e->not_before = asn1_time(X509_get0_notBefore(leaf));
	e->not_after = asn1_time(X509_get0_notAfter(leaf));
	memcpy(e->data, domain, name_len + 1);
	w = e->data + name_len + 1;
	memcpy(w, p->key_der, (size_t)key_len);
	w += key_len;
	len = (uint32_t)leaf_len;
	memcpy(w, &len, sizeof(len));
	w += sizeof(len);
	i2d_X509(leaf, &w);
	for (size_t i = 1; i < n; i++) {
		memcpy(w, &chain[i], sizeof(chain[i]));
		w += sizeof(chain[i]);
	}
	return e;
}

static int read_file(int dirfd, const char *name, char **buf, size_t *len, struct file_id *id,
		     char *err, size_t errlen)
{
	struct stat sb;

	/* symlinks are fine (certbot's live/ layout); FIFOs, sockets and devices are refused */
	if (file_read(dirfd, name, CERT_FILE_MAX, buf, len, &sb, err, errlen))
		return -1;
	*id = (struct file_id){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim };
	return 0;
}

static void file_names(const char *domain, char *crt, char *key, size_t len)
{
	const char *stem = domain[0] == '*' ? domain + 2 : domain;
	const char *pre = domain[0] == '*' ? WILDCARD_PREFIX : "";

	snprintf(crt, len, "%s%s.crt", pre, stem);
	snprintf(key, len, "%s%s.key", pre, stem);
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static bool files_unchanged(int dirfd, const char *domain, const struct cert_entry *old)
{
	char crt[CERT_NAME_MAX + 32], key[CERT_NAME_MAX + 32];
	struct stat a, b;
	struct file_id ia, ib;

	file_names(domain, crt, key, sizeof(crt));
	if (fstatat(dirfd, crt, &a, 0) < 0 || fstatat(dirfd, key, &b, 0) < 0)
		return false;
	ia = (struct file_id){ a.st_dev, a.st_ino, a.st_size, a.st_mtim };
	ib = (struct file_id){ b.st_dev, b.st_ino, b.st_size, b.st_mtim };
	return same_file(&ia, &old->crt_id) && same_file(&ib, &old->key_id);
}

/* Reads and validates one domain's pair; returns a new entry or NULL with a reason. */
static struct cert_entry *load_pair(struct cert_store *st, struct key_decoder *kd, int dirfd,
				    const char *domain, char *err, size_t errlen)
{
	char crt[CERT_NAME_MAX + 32], key[CERT_NAME_MAX + 32];
	char *cbuf = NULL, *kbuf = NULL;
	size_t clen, klen;
	struct file_id cid, kid;
	struct pem_pair p = { 0 };
	struct cert_entry *e = NULL;

	file_names(domain, crt, key, sizeof(crt));
	if (read_file(dirfd, crt, &cbuf, &clen, &cid, err, errlen) ||
	    read_file(dirfd, key, &kbuf, &klen, &kid, err, errlen))
		goto out;
	if (pair_parse(kd, cbuf, clen, kbuf, klen, &p, err, errlen) ||
	    pair_check(domain, &p, time(NULL), err, errlen))
		goto out;
	e = entry_from_pair(st, domain, &p, err, errlen);
	if (e) {
		e->crt_id = cid;
		e->key_id = kid;
	}
out:
	pair_free(&p);
	ERR_clear_error();
	/* The key's PEM text must not linger in freed memory. */
	if (kbuf)
		OPENSSL_cleanse(kbuf, klen);
	free(cbuf);
	free(kbuf);
	return e;
}

/* "_wildcard.example.com.crt" -> "*.example.com"; "a.example.com.crt" -> "a.example.com". */
static int domain_of_file(const char *file, char *domain, size_t len)
{
	size_t n = strlen(file);
	size_t pre = strlen(WILDCARD_PREFIX);

	if (n < 5 || strcmp(file + n - 4, ".crt") != 0)
		return -1;
	n -= 4;
	if (n > pre && strncmp(file, WILDCARD_PREFIX, pre) == 0)
		return snprintf(domain, len, "*.%.*s", (int)(n - pre), file + pre) >= (int)len ? -1 : 0;
	return snprintf(domain, len, "%.*s", (int)n, file) >= (int)len ? -1 : 0;
}

/* ------------------------------------------------------------------ shells */

static void report(cert_reject_fn reject, void *arg, const char *domain, const char *reason,
		   bool kept);

static void note_free(struct reject_note *n)
{
	if (!n)
		return;
	free(n->domain);
	free(n->reason);
	free(n);
}

/* Logged now; the control thread takes the note later (cert_store_take_rejects). */
static void note_reject(struct cert_store *st, const char *domain, const char *reason)
{
	struct reject_note *n = calloc(1, sizeof(*n));

	report(NULL, NULL, domain, reason, false);
	if (n) {
		n->domain = strdup(domain);
		n->reason = strdup(reason);
	}
	if (!n || !n->domain || !n->reason) {
		note_free(n);
		return; /* the log has it */
	}
	pthread_mutex_lock(&st->note_lock);
	*st->notes_tail = n;
	st->notes_tail = &n->next;
	pthread_mutex_unlock(&st->note_lock);
}

/* Reads and validates a shell's pair. The first result set wins, and a refusal is reported
 * once. Returns the shell's validated entry, or NULL if refused. */
static struct cert_entry *shell_check(struct cert_store *st, struct cert_entry *sh,
				      struct key_decoder *kd)
{
	char why[512];
	struct cert_entry *e = load_pair(st, kd, sh->src->dirfd, entry_name(sh), why, sizeof(why));
	struct cert_entry *none = NULL;

	if (e) {
		if (atomic_compare_exchange_strong(&sh->full, &none, e))
			return e;
		entry_put(e);
		return none;
	}
	if (!atomic_exchange(&sh->rejected, true))
		note_reject(st, entry_name(sh), why);
	return atomic_load_explicit(&sh->full, memory_order_acquire);
}

/* The validated entry serving e: e itself, or a shell's once checked (checking it now when
 * load and nobody has). NULL: refused, or not checked and not load. */
static struct cert_entry *entry_ready(struct cert_store *st, struct cert_entry *e, bool load)
{
	struct cert_entry *full;

	if (!e->src)
		return e;
	if (!load || !entry_unchecked(e))
		return atomic_load_explicit(&e->full, memory_order_acquire);
	pthread_mutex_lock(&st->lazy_lock);
	full = entry_unchecked(e) ? shell_check(st, e, &st->lazy_kd) :
	       atomic_load_explicit(&e->full, memory_order_acquire);
	pthread_mutex_unlock(&st->lazy_lock);
	return full;
}

void cert_store_take_rejects(struct cert_store *st, cert_reject_fn fn, void *arg)
{
	struct reject_note *n;

	pthread_mutex_lock(&st->note_lock);
	n = st->notes;
	st->notes = NULL;
	st->notes_tail = &st->notes;
	pthread_mutex_unlock(&st->note_lock);
	while (n) {
		struct reject_note *next = n->next;

		if (fn)
			fn(arg, n->domain, n->reason);
		note_free(n);
		n = next;
	}
}

/* ------------------------------------------------------------------ loading */

struct entry_vec {
	struct cert_entry **v;
	size_t n, cap;
};

static int vec_push(struct entry_vec *v, struct cert_entry *e)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct cert_entry **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = e;
	return 0;
}

static void vec_drop(struct entry_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		entry_put(v->v[i]);
	free(v->v);
}

static void report(cert_reject_fn reject, void *arg, const char *domain, const char *reason,
		   bool kept)
{
	log_warn("cert_rejected", "domain=%s kept_previous=%s reason=\"%s\"", domain,
		 kept ? "yes" : "no", reason);
	if (reject)
		reject(arg, domain, reason);
}

/* One directory entry: reuse, reload, or keep the old entry; pushes at most one entry. A shell
 * not checked yet stays one if it reads the same directory: its files are read when used. */
static int load_one(struct cert_store *st, struct cert_src *src, struct cert_snap *old,
		    const char *domain, struct entry_vec *v, struct cert_load_result *r,
		    cert_reject_fn reject, void *arg)
{
	char why[512];
	struct cert_entry *prev = find_name(st, old, domain), *e;

	if (prev && entry_unchecked(prev) && strcmp(prev->src->dir, src->dir) == 0) {
		r->pending++;
		return vec_push(v, entry_ref(prev));
	}
	prev = prev ? entry_ready(st, prev, false) : NULL;
	if (prev && files_unchanged(src->dirfd, domain, prev) && prev->not_after > time(NULL)) {
		r->unchanged++;
		return vec_push(v, entry_ref(prev));
	}
	e = load_pair(st, &st->kd, src->dirfd, domain, why, sizeof(why));
	if (e) {
		r->loaded++;
		if (vec_push(v, e) == 0)
			return 0;
		entry_put(e);
		return -1;
	}
	r->rejected++;
	report(reject, arg, domain, why, prev != NULL);
	if (!prev)
		return 0;
	r->kept++;
	return vec_push(v, entry_ref(prev));
}

static struct cert_snap *snap_from_vec(struct entry_vec *v)
{
	struct cert_snap *s = snap_new(v->n);

	if (!s)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		snap_insert(s, v->v[i]);
	v->n = 0; /* the snapshot owns the references now */
	return s;
}

/* After the deadline (monotonic ns; 0: none) a new pair is indexed as a shell, not read. */
static int index_one(struct cert_store *st, struct cert_src *src, uint64_t deadline,
		     struct cert_snap *old, const char *domain, struct entry_vec *v,
		     struct cert_load_result *r, cert_reject_fn reject, void *arg)
{
	struct cert_entry *e;

	if (!deadline || clock_ns(CLOCK_MONOTONIC) < deadline || find_name(st, old, domain))
		return load_one(st, src, old, domain, v, r, reject, arg);
	e = shell_new(st, domain, src);
	if (!e || vec_push(v, e)) {
		entry_put(e);
		return -1;
	}
	r->pending++;
	return 0;
}

static int load_dir_locked(struct cert_store *st, DIR *d, struct cert_src *src,
			   uint64_t deadline, struct cert_load_result *r, cert_reject_fn reject,
			   void *arg, char *err, size_t errlen)
{
	struct cert_snap *old = snap_get(st), *s;
	struct entry_vec v = { 0 };
	size_t still_there = 0;
	struct dirent *de;
	char domain[CERT_NAME_MAX + 3];
	int rc = 0;

	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || domain_of_file(de->d_name, domain, sizeof(domain)))
			continue;
		if (!domain_valid(domain)) {
			r->rejected++;
			report(reject, arg, de->d_name, "file name is not <domain>.crt in lower case",
			       false);
			continue;
		}
		still_there += find_name(st, old, domain) != NULL;
		rc = index_one(st, src, deadline, old, domain, &v, r, reject, arg);
	}
	r->removed = old->n - still_there;
	snap_put(old);
	s = rc == 0 ? snap_from_vec(&v) : NULL;
	vec_drop(&v);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snap_swap(st, s);
	return 0;
}

static void log_loaded(const char *msg, const char *dir, const struct cert_load_result *r)
{
	log_info(msg, "dir=%s loaded=%zu unchanged=%zu rejected=%zu kept=%zu removed=%zu "
		 "pending=%zu", dir, r->loaded, r->unchanged, r->rejected, r->kept, r->removed,
		 r->pending);
}

static int load_dir(struct cert_store *st, const char *dir, unsigned budget_ms,
		    struct cert_load_result *r, cert_reject_fn reject, void *arg, char *err,
		    size_t errlen)
{
	uint64_t deadline = 0;
	struct cert_src *src;
	DIR *d;
	int rc;

	if (budget_ms != CERT_BUDGET_NONE)
		deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)budget_ms * 1000000u;
	src = src_open(dir, err, errlen);
	if (!src)
		return -1;
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open certificate directory %s: %s", dir, strerror(errno));
		src_put(src);
		return -1;
	}
	pthread_mutex_lock(&st->load_lock);
	rc = load_dir_locked(st, d, src, deadline, r, reject, arg, err, errlen);
	pthread_mutex_unlock(&st->load_lock);
	closedir(d);
	src_put(src);
	if (rc == 0)
		log_loaded(r->pending ? "certs_indexed" : "certs_loaded", dir, r);
	return rc;
}

int cert_store_load_dir(struct cert_store *st, const char *dir, struct cert_load_result *res,
			cert_reject_fn reject, void *arg, char *err, size_t errlen)
{
	struct cert_load_result r = { 0 };
	int rc = load_dir(st, dir, CERT_BUDGET_NONE, &r, reject, arg, err, errlen);

	if (res)
		*res = r;
	return rc;
}

/*
 * The start-up pass: checks every shell of the snapshot of its start, then, under the load
 * lock, settles the current snapshot (checked entries in place of their shells, refused ones
 * gone) so lookups skip the shells and their memory goes.
 */
static struct cert_snap *snap_settle(struct cert_store *st, const struct cert_snap *old,
				     struct cert_load_result *r)
{
	struct cert_snap *s = snap_new(old->n);

	for (size_t i = 0; s && i < old->cap; i++) {
		struct cert_entry *e = old->slots[i], *full;

		if (!e)
			continue;
		full = entry_ready(st, e, false);
		if (full && e->src)
			r->loaded++;
		else if (!full && entry_unchecked(e) && ++r->pending)
			full = e; /* the pass was stopped, or a reload came after it */
		else if (!full)
			r->rejected++;
		if (full)
			snap_insert(s, entry_ref(full));
	}
	return s;
}

static void pass_settle(struct cert_store *st)
{
	struct cert_load_result r = st->pass_res;
	struct cert_snap *old, *s;

	r.pending = 0;
	pthread_mutex_lock(&st->load_lock);
	old = snap_get(st);
	s = snap_settle(st, old, &r);
	snap_put(old);
	if (s)
		snap_swap(st, s);
	pthread_mutex_unlock(&st->load_lock);
	/* out of memory: the shells serve on, each checked already */
	if (!s)
		return;
	/* The shells and the parser's scratch memory are free now, spread between the entries
	 * that stay: give those pages back. */
	malloc_trim(0);
	log_loaded("certs_loaded", st->pass_src->dir, &r);
}

static void *pass_main(void *arg)
{
	struct cert_store *st = arg;
	struct cert_snap *s = snap_get(st);
	struct key_decoder kd;

	/* Handshakes come first: one whose pair is not checked yet checks it itself. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	if (key_decoder_init(&kd) == 0) {
		for (size_t i = 0; i < s->cap && !atomic_load(&st->pass_stop); i++)
			if (s->slots[i] && entry_unchecked(s->slots[i]))
				shell_check(st, s->slots[i], &kd);
		key_decoder_fini(&kd);
	}
	snap_put(s);
	if (!atomic_load(&st->pass_stop))
		pass_settle(st);
	return NULL;
}

/* The pass takes no signal: the process's are the control thread's (signalfd), which may not
 * block them yet when the store loads. */
static int pass_start(struct cert_store *st)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->pass, NULL, pass_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	st->pass_started = rc == 0;
	return rc;
}

void cert_store_wait_pass(struct cert_store *st)
{
	if (!st->pass_started)
		return;
	pthread_join(st->pass, NULL);
	st->pass_started = false;
	src_put(st->pass_src);
	st->pass_src = NULL;
}

int cert_store_load_dir_lazy(struct cert_store *st, const char *dir, unsigned budget_ms,
			     bool pass, struct cert_load_result *res, cert_reject_fn reject,
			     void *arg, char *err, size_t errlen)
{
	struct cert_load_result r = { 0 };
	int rc;

	cert_store_wait_pass(st);
	rc = load_dir(st, dir, budget_ms, &r, reject, arg, err, errlen);
	if (res)
		*res = r;
	if (rc || !r.pending || !pass)
		return rc;
	st->pass_res = r;
	st->pass_src = src_open(dir, err, errlen);
	atomic_store(&st->pass_stop, false);
	if (st->pass_src && pass_start(st) == 0)
		return 0;
	/* no pass: each pair is checked when first used */
	log_warn("cert_pass_not_started", "dir=%s pending=%zu", dir, r.pending);
	src_put(st->pass_src);
	st->pass_src = NULL;
	return 0;
}

static bool kept_previous(struct cert_store *st, const struct cert_snap *old, const char *domain)
{
	struct cert_entry *prev = find_name(st, old, domain);

	return prev && entry_ready(st, prev, false);
}

/* A copy of old with domain's entry replaced by e (NULL: removed). */
static struct cert_snap *snap_replace(struct cert_store *st, struct cert_snap *old,
				      const char *domain, struct cert_entry *e)
{
	struct cert_snap *s = snap_new(old->n + 1);
	struct cert_entry *prev = find_name(st, old, domain);

	if (!s)
		return NULL;
	for (size_t i = 0; i < old->cap; i++)
		if (old->slots[i] && old->slots[i] != prev)
			snap_insert(s, entry_ref(old->slots[i]));
	if (e)
		snap_insert(s, e);
	return s;
}

static int load_domain_locked(struct cert_store *st, int dirfd, const char *domain, char *err,
			      size_t errlen)
{
	char crt[CERT_NAME_MAX + 32], key[CERT_NAME_MAX + 32];
	struct cert_snap *old = snap_get(st), *s;
	struct cert_entry *e = NULL;
	bool gone;

	file_names(domain, crt, key, sizeof(crt));
	gone = faccessat(dirfd, crt, F_OK, 0) < 0 && faccessat(dirfd, key, F_OK, 0) < 0;
	if (!gone) {
		e = load_pair(st, &st->kd, dirfd, domain, err, errlen);
		if (!e) {
			report(NULL, NULL, domain, err, kept_previous(st, old, domain));
			snap_put(old);
			return -1;
		}
	}
	s = snap_replace(st, old, domain, e);
	snap_put(old);
	if (!s) {
		entry_put(e);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snap_swap(st, s);
	log_info("cert_reloaded", "domain=%s result=%s", domain, gone ? "removed" : "loaded");
	return 0;
}

int cert_store_load_domain(struct cert_store *st, const char *dir, const char *domain,
			   char *err, size_t errlen)
{
	int dirfd, rc;

	if (!domain_valid(domain)) {
		snprintf(err, errlen, "'%s' is not a domain name", domain);
		return -1;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, errlen, "cannot open certificate directory %s: %s", dir, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&st->load_lock);
	rc = load_domain_locked(st, dirfd, domain, err, errlen);
	pthread_mutex_unlock(&st->load_lock);
	close(dirfd);
	return rc;
}

/* ------------------------------------------------------------------ parsed-object LRU */

static void obj_free(struct cert_obj *o)
{
	o->parser->free(o->parsed);
	free(o);
}

void cert_obj_put(struct cert_obj *o)
{
	if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		obj_free(o);
}

void *cert_obj_parsed(const struct cert_obj *o)
{
	return o->parsed;
}

const char *cert_obj_domain(const struct cert_obj *o)
{
	return o->domain;
}

static size_t lru_bucket(const struct cert_store *st, uint64_t serial)
{
	return (size_t)(serial * 0x9e3779b97f4a7c15ull >> 20) & (st->lru_nb - 1);
}

static void lru_unlink(struct cert_store *st, struct cert_obj *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		st->lru_head = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		st->lru_tail = o->prev;
	o->prev = o->next = NULL;
}

static void lru_push_front(struct cert_store *st, struct cert_obj *o)
{
	o->prev = NULL;
	o->next = st->lru_head;
	if (st->lru_head)
		st->lru_head->prev = o;
	st->lru_head = o;
	if (!st->lru_tail)
		st->lru_tail = o;
}

static struct cert_obj *lru_find(struct cert_store *st, uint64_t serial)
{
	struct cert_obj *o = st->lru_buckets[lru_bucket(st, serial)];

	while (o && o->serial != serial)
		o = o->hnext;
	return o;
}

static void lru_remove(struct cert_store *st, struct cert_obj *o)
{
	struct cert_obj **pp = &st->lru_buckets[lru_bucket(st, o->serial)];

	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	lru_unlink(st, o);
	st->lru_n--;
}

/* Under lru_lock: the cached object with a reference for the caller, or NULL. */
static struct cert_obj *lru_hit(struct cert_store *st, uint64_t serial)
{
	struct cert_obj *o = lru_find(st, serial);

	if (!o)
		return NULL;
	lru_unlink(st, o);
	lru_push_front(st, o);
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

/* Under lru_lock: inserts o (one reference for the cache), evicting the least recent. */
static void lru_insert(struct cert_store *st, struct cert_obj *o)
{
	size_t b = lru_bucket(st, o->serial);
	struct cert_obj *victim = NULL;

	o->hnext = st->lru_buckets[b];
	st->lru_buckets[b] = o;
	lru_push_front(st, o);
	st->lru_n++;
	if (st->lru_n > st->lru_cap) {
		victim = st->lru_tail;
		lru_remove(st, victim);
		st->evictions++;
		/* Handshakes holding it keep it alive; the cache's reference goes. */
		cert_obj_put(victim);
	}
}

static struct cert_obj *obj_parse(struct cert_store *st, const struct cert_entry *e, char *err,
				  size_t errlen)
{
	struct cert_obj *o = calloc(1, sizeof(*o) + e->name_len + 1);
	struct cert_der der;

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	entry_der(e, &der);
	o->parsed = st->parser->parse(&der, err, errlen);
	if (!o->parsed) {
		free(o);
		return NULL;
	}
	atomic_init(&o->refs, 2); /* the cache's and the caller's */
	o->serial = e->serial;
	o->parser = st->parser;
	memcpy(o->domain, entry_name(e), e->name_len + 1);
	return o;
}

static struct cert_obj *lru_get(struct cert_store *st, const struct cert_entry *e, char *err,
				size_t errlen)
{
	struct cert_obj *o, *raced;

	pthread_mutex_lock(&st->lru_lock);
	o = lru_hit(st, e->serial);
	if (o)
		st->hits++;
	else
		st->misses++;
	pthread_mutex_unlock(&st->lru_lock);
	if (o)
		return o;
	/* Parse outside the lock: other handshakes go on meanwhile. */
	o = obj_parse(st, e, err, errlen);
	if (!o)
		return NULL;
	pthread_mutex_lock(&st->lru_lock);
	raced = lru_hit(st, e->serial);
	if (!raced)
		lru_insert(st, o);
	pthread_mutex_unlock(&st->lru_lock);
	if (!raced)
		return o;
	atomic_store(&o->refs, 1);
	cert_obj_put(o);
	return raced;
}

struct cert_obj *cert_store_acquire(struct cert_store *st, const char *name,
				    const char *fallback, char *err, size_t errlen)
{
	struct cert_snap *s = snap_get(st);
	struct cert_entry *e = name ? find_sni(st, s, name, true) : NULL;
	struct cert_obj *o;

	if (!e && fallback && *fallback)
		e = find_name(st, s, fallback);
	if (e)
		e = entry_ready(st, e, true);
	if (e)
		entry_ref(e);
	snap_put(s);
	if (!e) {
		snprintf(err, errlen, "no certificate for %s%s", name ? name : "(no SNI)",
			 fallback && *fallback ? " and no default certificate loaded" : "");
		return NULL;
	}
	o = lru_get(st, e, err, errlen);
	entry_put(e);
	return o;
}

int cert_store_lookup(struct cert_store *st, const char *name, struct cert_info *info)
{
	struct cert_snap *s = snap_get(st);
	struct cert_entry *e = name[0] != '*' ? find_sni(st, s, name, false) :
			       find_name(st, s, name);

	if (e)
		e = entry_ready(st, e, false);
	if (e) {
		snprintf(info->domain, sizeof(info->domain), "%s", entry_name(e));
		info->not_before = e->not_before;
		info->not_after = e->not_after;
		info->n_certs = e->n_certs;
	}
	snap_put(s);
	return e ? 0 : -1;
}

void cert_store_stats(struct cert_store *st, struct cert_store_stats *out)
{
	size_t shared;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->snap_lock);
	out->domains = st->cur->n;
	der_pool_count(st->pool, &out->shared_certs, &shared);
	out->der_bytes = st->cur->bytes + st->cur->cap * sizeof(void *) + shared;
	out->generation = st->generation;
	pthread_mutex_unlock(&st->snap_lock);
	pthread_mutex_lock(&st->lru_lock);
	out->lru_entries = st->lru_n;
	out->lru_hits = st->hits;
	out->lru_misses = st->misses;
	out->lru_evictions = st->evictions;
	pthread_mutex_unlock(&st->lru_lock);
}

/* ------------------------------------------------------------------ lifetime */

struct cert_store *cert_store_new(const struct cert_parser *parser, size_t lru_slots)
{
	struct cert_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->parser = parser;
	st->lru_cap = lru_slots ? lru_slots : 1;
	st->lru_nb = 16;
	while (st->lru_nb < st->lru_cap)
		st->lru_nb <<= 1;
	st->lru_buckets = calloc(st->lru_nb, sizeof(*st->lru_buckets));
	st->cur = snap_new(0);
	st->pool = der_pool_new();
	if (!st->lru_buckets || !st->cur || !st->pool ||
	    getrandom(&st->seed, sizeof(st->seed), 0) < 0 ||
	    key_decoder_init(&st->kd) || key_decoder_init(&st->lazy_kd)) {
		key_decoder_fini(&st->kd);
		key_decoder_fini(&st->lazy_kd);
		free(st->lru_buckets);
		snap_put(st->cur);
		der_pool_release(st->pool);
		free(st);
		return NULL;
	}
	atomic_init(&st->next_serial, 1);
	atomic_init(&st->pass_stop, false);
	st->notes_tail = &st->notes;
	pthread_mutex_init(&st->snap_lock, NULL);
	pthread_mutex_init(&st->load_lock, NULL);
	pthread_mutex_init(&st->lazy_lock, NULL);
	pthread_mutex_init(&st->note_lock, NULL);
	pthread_mutex_init(&st->lru_lock, NULL);
	return st;
}

void cert_store_free(struct cert_store *st)
{
	if (!st)
		return;
	atomic_store(&st->pass_stop, true);
	cert_store_wait_pass(st);
	cert_store_take_rejects(st, NULL, NULL);
	while (st->lru_head) {
		struct cert_obj *o = st->lru_head;

		lru_remove(st, o);
		cert_obj_put(o);
	}
	snap_put(st->cur);
	der_pool_release(st->pool); /* entries still held elsewhere keep the pool */
	free(st->lru_buckets);
	key_decoder_fini(&st->kd);
	key_decoder_fini(&st->lazy_kd);
	pthread_mutex_destroy(&st->snap_lock);
	pthread_mutex_destroy(&st->load_lock);
	pthread_mutex_destroy(&st->lazy_lock);
	pthread_mutex_destroy(&st->note_lock);
	pthread_mutex_destroy(&st->lru_lock);
	free(st);
}
