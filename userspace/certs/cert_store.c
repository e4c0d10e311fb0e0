// SPDX-License-Identifier: MIT
/*
 * Cert store: loads, shells and lookups (exact name, then one wildcard probe). Entries are
 * certs/cert_entry.c, the snapshots that index them certs/cert_snap.c; pairs are checked by
 * certs/cert_check.c, intermediates held once by certs/der_pool.c, parsed objects kept by
 * certs/cert_cache.c.
 */
#include "certs/cert_store.h"
#include "certs/cert_check.h"
#include "certs/cert_entry.h"
#include "certs/cert_snap.h"
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

#include <openssl/err.h>
#include <openssl/x509.h>

#define WILDCARD_PREFIX "_wildcard."

/* A pair the store refused on its own (first use, start-up pass), for the control thread. */
struct reject_note {
	struct reject_note *next;
	char *domain, *reason;
};

struct cert_store {
	struct cert_checker *checker; /* the loads' (under load_lock) */
	uint64_t seed;
	atomic_uint_fast64_t next_serial;

	pthread_mutex_t snap_lock; /* guards cur and generation */
	struct cert_snap *cur;
	uint64_t generation;

	pthread_mutex_t load_lock; /* one load at a time; guards checker */

	pthread_mutex_t lazy_lock; /* one first-use check at a time; guards lazy_checker */
	struct cert_checker *lazy_checker;

	/* the start-up pass: started and joined by the thread that loads at start-up */
	pthread_t pass;
	bool pass_started;
	atomic_bool pass_stop;
	struct cert_load_result pass_res; /* the start-up load's own counts, then the totals */
	struct cert_src *pass_src;

	pthread_mutex_t note_lock;
	struct reject_note *notes, **notes_tail;

	struct der_pool *pool; /* intermediates, one copy for every entry they serve */
	atomic_uint_fast64_t reload_copies; /* entries copied by loads of one domain */

	struct cert_cache *cache;
};

/* ------------------------------------------------------------------ names and hashing */

static uint64_t name_hash(uint64_t seed, const char *s, size_t len)
{
	return hash_bytes(seed, s, len);
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
	e->src = cert_src_ref(src);
	memcpy(e->data, domain, n + 1);
	return e;
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
	cert_snap_put(old);
}

static struct cert_entry *find_name(const struct cert_store *st, const struct cert_snap *s,
				    const char *name)
{
	size_t len = strlen(name);

	return cert_snap_find(s, name, len, name_hash(st->seed, name, len));
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
	if (e && ((ready = entry_ready(st, e, load)) || cert_entry_unchecked(e)))
		return ready;
	dot = strchr(name, '.');
	if (!dot || !strchr(dot + 1, '.'))
		return NULL;
	memmove(name + 1, dot, strlen(dot) + 1);
	name[0] = '*';
	e = find_name(st, s, name);
	return e ? entry_ready(st, e, load) : NULL;
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
					  struct cert_pair *p, char *err, size_t errlen)
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
		cert_openssl_reason(err, errlen);
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
	e->not_before = cert_asn1_time(X509_get0_notBefore(leaf));
	e->not_after = cert_asn1_time(X509_get0_notAfter(leaf));
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
static struct cert_entry *load_pair(struct cert_store *st, struct cert_checker *checker, int dirfd,
				    const char *domain, char *err, size_t errlen)
{
	char crt[CERT_NAME_MAX + 32], key[CERT_NAME_MAX + 32];
	char *cbuf = NULL, *kbuf = NULL;
	size_t clen, klen;
	struct file_id cid, kid;
	struct cert_pair p = { 0 };
	struct cert_entry *e = NULL;

	file_names(domain, crt, key, sizeof(crt));
	if (read_file(dirfd, crt, &cbuf, &clen, &cid, err, errlen) ||
	    read_file(dirfd, key, &kbuf, &klen, &kid, err, errlen))
		goto out;
	if (cert_checker_read(checker, cbuf, clen, kbuf, klen, &p, err, errlen) ||
	    cert_pair_check(domain, &p, time(NULL), err, errlen))
		goto out;
	e = entry_from_pair(st, domain, &p, err, errlen);
	if (e) {
		e->crt_id = cid;
		e->key_id = kid;
	}
out:
	cert_pair_free(&p);
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
				      struct cert_checker *checker)
{
	char why[512];
	struct cert_entry *e = load_pair(st, checker, sh->src->dirfd, cert_entry_name(sh), why, sizeof(why));
	struct cert_entry *none = NULL;

	if (e) {
		if (atomic_compare_exchange_strong(&sh->full, &none, e))
			return e;
		cert_entry_put(e);
		return none;
	}
	if (!atomic_exchange(&sh->rejected, true))
		note_reject(st, cert_entry_name(sh), why);
	return atomic_load_explicit(&sh->full, memory_order_acquire);
}

/* The validated entry serving e: e itself, or a shell's once checked (checking it now when
 * load and nobody has). NULL: refused, or not checked and not load. */
static struct cert_entry *entry_ready(struct cert_store *st, struct cert_entry *e, bool load)
{
	struct cert_entry *full;

	if (!e->src)
		return e;
	if (!load || !cert_entry_unchecked(e))
		return atomic_load_explicit(&e->full, memory_order_acquire);
	pthread_mutex_lock(&st->lazy_lock);
	full = cert_entry_unchecked(e) ? shell_check(st, e, st->lazy_checker) :
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
		cert_entry_put(v->v[i]);
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

	if (prev && cert_entry_unchecked(prev) && strcmp(prev->src->dir, src->dir) == 0) {
		r->pending++;
		return vec_push(v, cert_entry_ref(prev));
	}
	prev = prev ? entry_ready(st, prev, false) : NULL;
	if (prev && files_unchanged(src->dirfd, domain, prev) && prev->not_after > time(NULL)) {
		r->unchanged++;
		return vec_push(v, cert_entry_ref(prev));
	}
	e = load_pair(st, st->checker, src->dirfd, domain, why, sizeof(why));
	if (e) {
		r->loaded++;
		if (vec_push(v, e) == 0)
			return 0;
		cert_entry_put(e);
		return -1;
	}
	r->rejected++;
	report(reject, arg, domain, why, prev != NULL);
	if (!prev)
		return 0;
	r->kept++;
	return vec_push(v, cert_entry_ref(prev));
}

static struct cert_snap *snap_from_vec(struct entry_vec *v)
{
	struct cert_snap *s = cert_snap_new(v->n);
	size_t i = 0;

	while (s && i < v->n)
		if (cert_snap_insert(s, v->v[i++])) {
			cert_snap_put(s);
			s = NULL;
		}
	/* the snapshot owns the references taken so far (or dropped them) */
	if (i < v->n)
		memmove(v->v, v->v + i, (v->n - i) * sizeof(*v->v));
	v->n -= i;
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
		cert_entry_put(e);
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
		if (!cert_domain_valid(domain)) {
			r->rejected++;
			report(reject, arg, de->d_name, "file name is not <domain>.crt in lower case",
			       false);
			continue;
		}
		still_there += find_name(st, old, domain) != NULL;
		rc = index_one(st, src, deadline, old, domain, &v, r, reject, arg);
	}
	r->removed = old->n - still_there;
	cert_snap_put(old);
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
	src = cert_src_open(dir, err, errlen);
	if (!src)
		return -1;
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open certificate directory %s: %s", dir, strerror(errno));
		cert_src_put(src);
		return -1;
	}
	pthread_mutex_lock(&st->load_lock);
	rc = load_dir_locked(st, d, src, deadline, r, reject, arg, err, errlen);
	pthread_mutex_unlock(&st->load_lock);
	closedir(d);
	cert_src_put(src);
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
	struct cert_snap *s = cert_snap_new(old->n);
	struct snap_iter it = { 0 };
	struct cert_entry *e;

	while (s && (e = cert_snap_next(old, &it))) {
		struct cert_entry *full = entry_ready(st, e, false);

		if (full && e->src)
			r->loaded++;
		else if (!full && cert_entry_unchecked(e) && ++r->pending)
			full = e; /* the pass was stopped, or a reload came after it */
		else if (!full)
			r->rejected++;
		if (full && cert_snap_insert(s, cert_entry_ref(full))) {
			cert_snap_put(s);
			return NULL;
		}
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
	cert_snap_put(old);
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
	struct cert_checker *checker = cert_checker_new();

	/* Handshakes come first: one whose pair is not checked yet checks it itself. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	if (checker) {
		struct snap_iter it = { 0 };
		struct cert_entry *e;

		while (!atomic_load(&st->pass_stop) && (e = cert_snap_next(s, &it)))
			if (cert_entry_unchecked(e))
				shell_check(st, e, checker);
		cert_checker_free(checker);
	}
	cert_snap_put(s);
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
	cert_src_put(st->pass_src);
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
	st->pass_src = cert_src_open(dir, err, errlen);
	atomic_store(&st->pass_stop, false);
	if (st->pass_src && pass_start(st) == 0)
		return 0;
	/* no pass: each pair is checked when first used */
	log_warn("cert_pass_not_started", "dir=%s pending=%zu", dir, r.pending);
	cert_src_put(st->pass_src);
	st->pass_src = NULL;
	return 0;
}

static bool kept_previous(struct cert_store *st, const struct cert_snap *old, const char *domain)
{
	struct cert_entry *prev = find_name(st, old, domain);

	return prev && entry_ready(st, prev, false);
}

/*
 * Under load_lock: domain's entry becomes e (NULL: removed) in the current snapshot, by a
 * copy of its shard put in place (see struct cert_snap). Past its share of replacements, or
 * once the shards hold four times their target, a fresh snapshot is made and swapped in
 * instead. The store holds its own reference to e. 0, or -1 when memory runs out.
 */
static int snap_set(struct cert_store *st, const char *domain, struct cert_entry *e)
{
	struct cert_snap *cur = st->cur; /* only loads swap it, and they hold load_lock */
	size_t len = strlen(domain), i;
	uint64_t h = name_hash(st->seed, domain, len);
	struct cert_entry *prev = cert_snap_find(cur, domain, len, h);
	struct cert_snap *fresh;
	struct cert_shard *sh;
	int rc;

	if (cert_snap_wants_fresh(cur)) {
		fresh = cert_snap_rebuilt(cur, prev, e);
		if (!fresh)
			return -1;
		atomic_fetch_add(&st->reload_copies, cur->n);
		snap_swap(st, fresh);
		return 0;
	}
	sh = cert_snap_shard_with(cur, h, prev, e, &i);
	if (!sh)
		return -1;
	atomic_fetch_add(&st->reload_copies, cert_snap_shard(cur, i)->n);
	/* under the lock: cert_store_stats reads the counts and walks the retired shards */
	pthread_mutex_lock(&st->snap_lock);
	rc = cert_snap_replace(cur, i, sh, prev, e);
	if (rc == 0)
		st->generation++;
	pthread_mutex_unlock(&st->snap_lock);
	return rc;
}

static int load_domain_locked(struct cert_store *st, int dirfd, const char *domain, char *err,
			      size_t errlen)
{
	char crt[CERT_NAME_MAX + 32], key[CERT_NAME_MAX + 32];
	struct cert_entry *e = NULL;
	bool gone;
	int rc;

	file_names(domain, crt, key, sizeof(crt));
	gone = faccessat(dirfd, crt, F_OK, 0) < 0 && faccessat(dirfd, key, F_OK, 0) < 0;
	if (!gone) {
		e = load_pair(st, st->checker, dirfd, domain, err, errlen);
		if (!e) {
			report(NULL, NULL, domain, err, kept_previous(st, st->cur, domain));
			return -1;
		}
	}
	rc = snap_set(st, domain, e);
	cert_entry_put(e);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_info("cert_reloaded", "domain=%s result=%s", domain, gone ? "removed" : "loaded");
	return 0;
}

int cert_store_load_domain(struct cert_store *st, const char *dir, const char *domain,
			   char *err, size_t errlen)
{
	int dirfd, rc;

	if (!cert_domain_valid(domain)) {
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

struct cert_obj *cert_store_acquire(struct cert_store *st, const char *name,
				    const char *fallback, char *err, size_t errlen)
{
	struct cert_snap *s = snap_get(st);
	struct cert_entry *e = name ? find_sni(st, s, name, true) : NULL;
	struct cert_der der;
	struct cert_obj *o;

	if (!e && fallback && *fallback)
		e = find_name(st, s, fallback);
	if (e)
		e = entry_ready(st, e, true);
	if (e)
		cert_entry_ref(e);
	cert_snap_put(s);
	if (!e) {
		snprintf(err, errlen, "no certificate for %s%s", name ? name : "(no SNI)",
			 fallback && *fallback ? " and no default certificate loaded" : "");
		return NULL;
	}
	o = cert_cache_find(st->cache, e->serial);
	if (!o) { /* the DER view is built for a parse only, not on every handshake */
		cert_entry_der(e, &der);
		o = cert_cache_add(st->cache, e->serial, cert_entry_name(e), &der, err, errlen);
	}
	cert_entry_put(e);
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
		snprintf(info->domain, sizeof(info->domain), "%s", cert_entry_name(e));
		info->not_before = e->not_before;
		info->not_after = e->not_after;
		info->n_certs = e->n_certs;
	}
	cert_snap_put(s);
	return e ? 0 : -1;
}

void cert_store_stats(struct cert_store *st, struct cert_store_stats *out)
{
	struct cert_cache_stats cs;
	size_t shared;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->snap_lock);
	out->domains = st->cur->n;
	der_pool_count(st->pool, &out->shared_certs, &shared);
	out->der_bytes = st->cur->bytes + cert_snap_table_bytes(st->cur) + shared;
	out->generation = st->generation;
	out->shards = st->cur->nshards;
	out->reload_copies = atomic_load(&st->reload_copies);
	pthread_mutex_unlock(&st->snap_lock);
	cert_cache_stats(st->cache, &cs);
	out->lru_entries = cs.entries;
	out->lru_hits = cs.hits;
	out->lru_misses = cs.misses;
	out->lru_evictions = cs.evictions;
}

/* ------------------------------------------------------------------ lifetime */

struct cert_store *cert_store_new(const struct cert_parser *parser, size_t lru_slots)
{
	struct cert_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->cache = cert_cache_new(parser, lru_slots);
	st->cur = cert_snap_new(0);
	st->pool = der_pool_new();
	st->checker = cert_checker_new();
	st->lazy_checker = cert_checker_new();
	if (!st->cache || !st->cur || !st->pool || !st->checker || !st->lazy_checker ||
	    getrandom(&st->seed, sizeof(st->seed), 0) < 0) {
		cert_checker_free(st->checker);
		cert_checker_free(st->lazy_checker);
		cert_cache_free(st->cache);
		cert_snap_put(st->cur);
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
	return st;
}

void cert_store_free(struct cert_store *st)
{
	if (!st)
		return;
	atomic_store(&st->pass_stop, true);
	cert_store_wait_pass(st);
	cert_store_take_rejects(st, NULL, NULL);
	cert_cache_free(st->cache);
	cert_snap_put(st->cur);
	der_pool_release(st->pool); /* entries still held elsewhere keep the pool */
	cert_checker_free(st->checker);
	cert_checker_free(st->lazy_checker);
	pthread_mutex_destroy(&st->snap_lock);
	pthread_mutex_destroy(&st->load_lock);
	pthread_mutex_destroy(&st->lazy_lock);
	pthread_mutex_destroy(&st->note_lock);
	free(st);
}
