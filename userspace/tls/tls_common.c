// SPDX-License-Identifier: MIT
/*
 * Backend-independent TLS pieces: settings, ciphertext buffers, the ticket key ring and the
 * demo certificate. Key derivation and the demo cert use libcrypto, which every build links.
 */
#include "tls/tls_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ buffers */

int tls_buf_append(struct tls_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (b->off + b->len + len > b->cap) {
		if (b->off) { /* slide the live bytes down before growing */
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + len > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			unsigned char *p;

			while (cap < b->len + len)
				cap *= 2;
			p = realloc(b->p, cap);
			if (!p)
				return -1;
			b->p = p;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, data, len);
	b->len += len;
	return 0;
}

void tls_buf_consume(struct tls_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		tls_buf_free(b);
}

size_t tls_buf_take(struct tls_buf *b, void *out, size_t cap)
{
	size_t n = cap < b->len ? cap : b->len;

	if (n)
		memcpy(out, b->p + b->off, n);
	tls_buf_consume(b, n);
	return n;
}

void tls_buf_free(struct tls_buf *b)
{
	free(b->p);
	*b = (struct tls_buf){ 0 };
}

void tls_cleanse(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

/* ------------------------------------------------------------------ session binding */

/* SHA-256 fetched once: EVP_sha256() would make OpenSSL 3 look the provider up again, under
 * its store lock, on every handshake (callgrind: 6.5k instructions a digest, 3.6k fetched). */
static EVP_MD *session_md;
static pthread_once_t session_md_once = PTHREAD_ONCE_INIT;

static void session_md_fetch(void)
{
	session_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void tls_session_context(const char *name, unsigned char out[TLS_SESSION_CTX_LEN])
{
	static const char label[] = "edgetrack session for server name ";
	char msg[sizeof(label) + TLS_SNI_MAX];
	int n = snprintf(msg, sizeof(msg), "%s%.*s", label, TLS_SNI_MAX, name);

	pthread_once(&session_md_once, session_md_fetch);
	if (!session_md || !EVP_Digest(msg, (size_t)n, out, NULL, session_md, NULL))
		/* fail closed: a context no other handshake gets resumes nothing */
		RAND_bytes(out, TLS_SESSION_CTX_LEN);
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int tls_sni_from_ext(const unsigned char *ext, size_t len, char name[TLS_SNI_MAX + 1])
{
	size_t list, i;

	name[0] = '\0';
	if (len < 2 || (list = get16(ext)) + 2 != len)
		return -1;
	/* entries: type (1), length (2), name; the first host_name (type 0) counts */
	for (i = 2; i + 3 <= len;) {
		size_t n = get16(ext + i + 1);

		if (i + 3 + n > len)
			return -1;
		if (ext[i] == 0) {
			if (n == 0 || n > TLS_SNI_MAX || memchr(ext + i + 3, '\0', n))
				return -1;
			for (size_t k = 0; k < n; k++)
				name[k] = (char)tolower(ext[i + 3 + k]);
			name[n] = '\0';
			return 0;
		}
		i += 3 + n;
	}
	return -1;
}

/* Skips a vector with a len_bytes-byte length at *off; false when it overruns len. */
static bool skip_vec(const unsigned char *p, size_t len, size_t *off, int len_bytes)
{
	size_t n;

	if (*off + (size_t)len_bytes > len)
		return false;
	n = len_bytes == 1 ? p[*off] : get16(p + *off);
	*off += (size_t)len_bytes + n;
	return *off <= len;
}

/* body: a ClientHello's body (after the 4-byte handshake header) */
static void sni_from_hello_body(const unsigned char *b, size_t len, char *name)
{
	size_t off = 34; /* version (2) and random (32) */

	if (!skip_vec(b, len, &off, 1) || !skip_vec(b, len, &off, 2) ||
	    !skip_vec(b, len, &off, 1) || off + 2 > len || off + 2 + get16(b + off) != len)
		return; /* malformed, or no extensions at all */
	for (off += 2; off + 4 <= len;) {
		unsigned type = get16(b + off);
		size_t n = get16(b + off + 2);

		if (off + 4 + n > len)
			return;
		if (type == 0) { /* server_name */
			tls_sni_from_ext(b + off + 4, n, name);
			return;
		}
		off += 4 + n;
	}
}

int tls_sni_from_hello(const unsigned char *rec, size_t len, char name[TLS_SNI_MAX + 1])
{
	size_t rlen, hlen;

	name[0] = '\0';
	if (len >= 1 && rec[0] != 22) /* not a handshake record (an SSLv2 hello, garbage) */
		return 0;
	if (len < 5)
		return 1;
	rlen = get16(rec + 3);
	if (rlen > 16384 + 2048) /* longer than any record may be */
		return 0;
	if (len < 5 + rlen)
		return 1;
	if (rlen < 4 || rec[5] != 1) /* client_hello */
		return 0;
	hlen = (size_t)rec[6] << 16 | get16(rec + 7);
	if (hlen <= rlen - 4) /* a ClientHello split across records is left to the library */
		sni_from_hello_body(rec + 9, hlen, name);
	return 0;
}

/* ------------------------------------------------------------------ ticket key ring */

#define RING_SPAN 3 /* periods accepted around now: current, previous, next */

struct tls_ticket_ring {
	pthread_rwlock_t lock;
	uint32_t rotation;
	struct ticket_key keys[TLS_TICKET_KEYS_MAX];
	size_t n;
	int64_t period; /* the period derived[] was computed for; -1: none */
	struct tls_ticket_dkey derived[TLS_TICKET_KEYS_MAX][RING_SPAN];
};

static void derive_one(const struct ticket_key *k, const char *label, int64_t period,
		       unsigned char *out, size_t len)
{
	unsigned char msg[64], md[32];
	size_t n = strlen(label);
	unsigned int mdlen = sizeof(md);

	memcpy(msg, label, n);
	for (int i = 0; i < 8; i++)
		msg[n + (size_t)i] = (unsigned char)((uint64_t)period >> (56 - 8 * i));
	HMAC(EVP_sha256(), k->secret, (int)k->secret_len, msg, n + 8, md, &mdlen);
	memcpy(out, md, len);
	tls_cleanse(md, sizeof(md));
}

static void derive(const struct ticket_key *k, int64_t period, struct tls_ticket_dkey *d)
{
	derive_one(k, "edgetrack ticket name", period, d->name, sizeof(d->name));
	derive_one(k, "edgetrack ticket enc", period, d->enc, sizeof(d->enc));
	derive_one(k, "edgetrack ticket mac", period, d->mac, sizeof(d->mac));
}

/* Under the write lock. */
static void ring_refresh(struct tls_ticket_ring *r, int64_t period)
{
	static const int64_t delta[RING_SPAN] = { 0, -1, 1 };

	if (r->period == period)
		return;
	for (size_t i = 0; i < r->n; i++)
		for (int d = 0; d < RING_SPAN; d++)
			derive(&r->keys[i], period + delta[d], &r->derived[i][d]);
	r->period = period;
}

static int keys_check(const struct ticket_key *keys, size_t n, char *err, size_t errlen)
{
	if (n > TLS_TICKET_KEYS_MAX) {
		snprintf(err, errlen, "at most %d ticket keys", TLS_TICKET_KEYS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].secret_len < TLS_TICKET_SECRET_MIN ||
		    keys[i].secret_len > TLS_TICKET_SECRET_MAX) {
			snprintf(err, errlen, "ticket key %zu: secret must be %d to %d bytes", i,
				 TLS_TICKET_SECRET_MIN, TLS_TICKET_SECRET_MAX);
			return -1;
		}
	}
	return 0;
}

/* Without configured keys: one random secret for this process. */
static int ring_load(struct tls_ticket_ring *r, const struct ticket_key *keys, size_t n,
		     char *err, size_t errlen)
{
	if (keys_check(keys, n, err, errlen))
		return -1;
	tls_cleanse(r->keys, sizeof(r->keys));
	tls_cleanse(r->derived, sizeof(r->derived));
	if (n) {
		memcpy(r->keys, keys, n * sizeof(*keys));
		r->n = n;
	} else {
		snprintf(r->keys[0].name, sizeof(r->keys[0].name), "random");
		r->keys[0].secret_len = TLS_TICKET_SECRET_MIN;
		if (RAND_bytes(r->keys[0].secret, TLS_TICKET_SECRET_MIN) != 1) {
			snprintf(err, errlen, "no randomness for a ticket key");
			return -1;
		}
		r->n = 1;
	}
	r->period = -1;
	return 0;
}

struct tls_ticket_ring *tls_ticket_ring_new(const struct ticket_key *keys, size_t n,
					    uint32_t rotation_s, char *err, size_t errlen)
{
	struct tls_ticket_ring *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->rotation = rotation_s ? rotation_s : 43200;
	if (ring_load(r, keys, n, err, errlen)) {
		free(r);
		return NULL;
	}
	pthread_rwlock_init(&r->lock, NULL);
	return r;
}

int tls_ticket_ring_set(struct tls_ticket_ring *r, const struct ticket_key *keys, size_t n,
			char *err, size_t errlen)
{
	int rc;

	if (keys_check(keys, n, err, errlen))
		return -1;
	pthread_rwlock_wrlock(&r->lock);
	rc = ring_load(r, keys, n, err, errlen);
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

void tls_ticket_ring_free(struct tls_ticket_ring *r)
{
	if (!r)
		return;
	pthread_rwlock_destroy(&r->lock);
	tls_cleanse(r, sizeof(*r));
	free(r);
}

uint32_t tls_ticket_ring_lifetime(const struct tls_ticket_ring *r)
{
	return 2 * r->rotation;
}

/* Takes the read lock with derived[] valid for now's period. */
static void ring_lock(struct tls_ticket_ring *r, time_t now)
{
	int64_t period = (int64_t)now / r->rotation;

	pthread_rwlock_rdlock(&r->lock);
	if (r->period == period)
		return;
	pthread_rwlock_unlock(&r->lock);
	pthread_rwlock_wrlock(&r->lock);
	ring_refresh(r, period);
	pthread_rwlock_unlock(&r->lock);
	pthread_rwlock_rdlock(&r->lock);
	/* Another thread may have moved on meanwhile; any period still gives sound keys. */
}

void tls_ticket_ring_current(struct tls_ticket_ring *r, time_t now, struct tls_ticket_dkey *out)
{
	ring_lock(r, now);
	*out = r->derived[0][0];
	pthread_rwlock_unlock(&r->lock);
}

int tls_ticket_ring_find(struct tls_ticket_ring *r, time_t now,
			 const unsigned char name[TLS_TICKET_NAME_LEN], struct tls_ticket_dkey *out,
			 bool *renew)
{
	int rc = -1;

	ring_lock(r, now);
	for (size_t i = 0; i < r->n && rc < 0; i++) {
		for (int d = 0; d < RING_SPAN && rc < 0; d++) {
			if (CRYPTO_memcmp(r->derived[i][d].name, name, TLS_TICKET_NAME_LEN))
				continue;
			*out = r->derived[i][d];
			*renew = i != 0 || d != 0;
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

/* ------------------------------------------------------------------ settings */

void tls_settings_default(struct tls_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->cert_dir, sizeof(s->cert_dir), "/etc/edgetrack/certs");
	s->min_version = 12;
	s->ticket_rotation_s = 43200;
	s->cert_cache = 1024;
}

static int parse_ticket_keys(const json_t *a, struct tls_settings *s, char *err, size_t errlen)
{
	return ticket_keys_parse(a, "tls.ticket_keys", s->ticket_keys, &s->n_ticket_keys, err,
				 errlen);
}

static int parse_uint(const json_t *v, const char *key, json_int_t lo, json_int_t hi,
		      uint32_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "tls.%s: expected an integer from %lld to %lld", key,
			 (long long)lo, (long long)hi);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int parse_string(const json_t *v, const char *key, char *out, size_t cap, char *err,
			size_t errlen)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap) {
		snprintf(err, errlen, "tls.%s: expected a non-empty string of at most %zu bytes", key,
			 cap - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int parse_default_cert(const json_t *v, struct tls_settings *s, char *err, size_t errlen)
{
	if (json_is_null(v)) {
		s->default_cert[0] = '\0';
		return 0;
	}
	if (parse_string(v, "default_cert", s->default_cert, sizeof(s->default_cert), err, errlen))
		return -1;
	for (const char *p = s->default_cert; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.' || *p == '*')) {
			snprintf(err, errlen, "tls.default_cert: '%s' is not a domain name in lower case",
				 s->default_cert);
			return -1;
		}
	}
	return 0;
}

static int parse_member(const char *key, const json_t *v, struct tls_settings *s, char *err,
			size_t errlen)
{
	if (!strcmp(key, "cert_dir"))
		return parse_string(v, key, s->cert_dir, sizeof(s->cert_dir), err, errlen);
	if (!strcmp(key, "default_cert"))
		return parse_default_cert(v, s, err, errlen);
	if (!strcmp(key, "min_version")) {
		const char *ver = json_string_value(v);

		if (ver && !strcmp(ver, "1.2"))
			s->min_version = 12;
		else if (ver && !strcmp(ver, "1.3"))
			s->min_version = 13;
		else {
			snprintf(err, errlen, "tls.min_version: expected \"1.2\" or \"1.3\"");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "ticket_rotation"))
		return parse_uint(v, key, 60, 7 * 86400, &s->ticket_rotation_s, err, errlen);
	if (!strcmp(key, "cert_cache"))
		return parse_uint(v, key, 1, 1000000, &s->cert_cache, err, errlen);
	if (!strcmp(key, "ticket_keys"))
		return parse_ticket_keys(v, s, err, errlen);
	snprintf(err, errlen, "tls.%s: unknown key", key);
	return -1;
}

int tls_settings_parse(const json_t *obj, struct tls_settings *out, char *err, size_t errlen)
{
	struct tls_settings s = *out;
	const char *key;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "tls: expected an object");
		return -1;
	}
	json_object_foreach((json_t *)obj, key, v) {
		rc = parse_member(key, v, &s, err, errlen);
		if (rc)
			break;
	}
	if (rc == 0)
		*out = s;
	tls_cleanse(&s, sizeof(s));
	return rc;
}

/* ------------------------------------------------------------------ demo certificate */

static int add_san(X509 *x, const char *domain)
{
	char san[CERT_NAME_MAX + 8];
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	int ok;

	snprintf(san, sizeof(san), "DNS:%s", domain);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *demo_x509(const char *domain, EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), (uint64_t)time(NULL)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) || !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)domain,
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || add_san(x, domain) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int write_pem(const char *path, mode_t mode, X509 *x, EVP_PKEY *key)
{
	/* O_NONBLOCK: a FIFO planted at the name fails the open instead of blocking it */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW,
		      mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int tls_demo_cert(const char *domain, const char *dir, char *err, size_t errlen)
{
	char crt[512], key[512], tmp_crt[520], tmp_key[520];
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int rc = -1;

	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, domain);
	snprintf(key, sizeof(key), "%s/%s.key", dir, domain);
	if (access(crt, F_OK) == 0 && access(key, F_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(tmp_crt, sizeof(tmp_crt), "%s.tmp", crt);
	snprintf(tmp_key, sizeof(tmp_key), "%s.tmp", key);
	pk = EVP_EC_gen("P-256");
	x = pk ? demo_x509(domain, pk) : NULL;
	if (!x) {
		snprintf(err, errlen, "cannot create a demo certificate for %s", domain);
		goto out;
	}
	/* Key first, then cert: a reader that sees the cert also finds its key. */
	if (write_pem(tmp_key, 0600, NULL, pk) || write_pem(tmp_crt, 0644, x, NULL) ||
	    rename(tmp_key, key) || rename(tmp_crt, crt)) {
		snprintf(err, errlen, "cannot write the demo certificate in %s: %s", dir,
			 strerror(errno));
		unlink(tmp_key);
		unlink(tmp_crt);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}
