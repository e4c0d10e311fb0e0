/* SPDX-License-Identifier: MIT */
/*
 * SNI certificate store: one PEM chain + private key per domain, loaded from a directory,
 * validated, kept as DER, and parsed on first use into a bounded LRU of library objects.
 *
 * Directory layout (one pair per domain, names in lower case):
 *     <domain>.crt              PEM chain, leaf first, then intermediates in issuing order
 *     <domain>.key              PEM private key (EC P-256/P-384 or RSA >= 2048), unencrypted
 *     _wildcard.<parent>.crt    cert for "*.<parent>" (and _wildcard.<parent>.key)
 * Other files are ignored.
 *
 * Each pair is validated before use (certs/cert_check.h): both parse, the key matches the
 * leaf, the leaf is within its validity period, every chain cert is issued by the next one,
 * and the leaf's DNS subjectAltNames cover the domain. A bad pair is reported with its reason
 * and skipped; a cert already loaded for that domain keeps serving.
 *
 * Start-up with many domains (cert_store_load_dir_lazy): pairs are validated for a time budget,
 * the rest are indexed by file name alone, so the server serves at once. Such a pair is read
 * and validated on first use (the handshake that needs it) or by a background pass, whichever
 * comes first, with the same checks and the same report when refused.
 *
 * Concurrency: a load of the whole directory builds a new snapshot and swaps it in by pointer;
 * readers take a reference under a short lock. A load of one domain copies the shard of about
 * 64 names that holds it and puts the copy in place, so it costs the same with 100 or
 * 100,000 domains; a reader keeps whatever entry it found. Parsed objects live in a
 * cert_cache (certs/cert_cache.h). All functions are thread-safe.
 *
 * The store does not know the TLS backend: the backend supplies a cert_parser that turns DER
 * into its own objects (OpenSSL X509/EVP_PKEY, mbedTLS x509_crt/pk_context).
 */
#ifndef ET_CERTS_CERT_STORE_H
#define ET_CERTS_CERT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "certs/cert_cache.h"

#define CERT_NAME_MAX   253 /* DNS name in text form, no trailing dot */
#define CERT_FILE_MAX   (256 * 1024)

struct cert_store;

/* lru_slots: how many parsed cert+key objects are kept (at least 1). */
struct cert_store *cert_store_new(const struct cert_parser *parser, size_t lru_slots);
void cert_store_free(struct cert_store *s);

/* Called once per rejected pair; the reason is a short sentence. */
typedef void (*cert_reject_fn)(void *arg, const char *domain, const char *reason);

struct cert_load_result {
	size_t loaded;    /* new or changed pairs that passed validation */
	size_t unchanged; /* pairs whose files did not change since the last load */
	size_t rejected;  /* pairs that failed validation (each reported) */
	size_t kept;      /* of the rejected, domains whose previous cert keeps serving */
	size_t removed;   /* domains whose files are gone */
	size_t pending;   /* pairs indexed but not read yet (cert_store_load_dir_lazy) */
};

/*
 * Loads the whole directory into a new snapshot and swaps it in. Returns 0 (even when some
 * pairs were rejected), or -1 with a reason in err if the directory cannot be read, in which
 * case the store is unchanged. res and reject may be NULL; rejects are also logged.
 */
int cert_store_load_dir(struct cert_store *s, const char *dir, struct cert_load_result *res,
			cert_reject_fn reject, void *arg, char *err, size_t errlen);

/*
 * As cert_store_load_dir for budget_ms (CERT_BUDGET_NONE: no limit), then each new pair is
 * indexed by its file name alone and validated on first use: so a start-up with 100,000
 * domains serves within the budget. With pass, a background thread then validates every
 * pair not used yet, logs certs_loaded with the totals and swaps in a snapshot without the
 * indexed-only entries. A pair refused then is logged and left out (nothing served before it),
 * and kept for cert_store_take_rejects. Until checked, cert_store_lookup does not know a pair.
 * Meant for start-up: a pass still running is waited for first.
 */
#define CERT_BUDGET_NONE UINT32_MAX
int cert_store_load_dir_lazy(struct cert_store *s, const char *dir, unsigned budget_ms, bool pass,
			     struct cert_load_result *res, cert_reject_fn reject, void *arg,
			     char *err, size_t errlen);
/* Waits for the background pass of the last lazy load, if any (tests, shutdown). */
void cert_store_wait_pass(struct cert_store *s);
/* Pairs refused on first use or by the pass since the last call, each handed to fn once on the
 * caller's thread (they are logged already). fn may be NULL to drop them. */
void cert_store_take_rejects(struct cert_store *s, cert_reject_fn fn, void *arg);

/*
 * Reloads one domain ("*.example.com" for a wildcard) from dir. If its files are gone the
 * domain is removed. Returns 0, or -1 with the reason in err and the store unchanged.
 */
int cert_store_load_domain(struct cert_store *s, const char *dir, const char *domain,
			   char *err, size_t errlen);

/*
 * The parsed cert+key serving name (SNI form; exact name first, then the wildcard covering
 * it), else the one of fallback (may be NULL). Returns a reference to release with
 * cert_obj_put, or NULL with a reason in err.
 */
struct cert_obj *cert_store_acquire(struct cert_store *s, const char *name,
				    const char *fallback, char *err, size_t errlen);

struct cert_info {
	char domain[CERT_NAME_MAX + 1]; /* the entry that serves the name */
	time_t not_before, not_after;
	size_t n_certs;
};

/* Which entry serves name (exact, then wildcard): 0 and info, or -1 if none. */
int cert_store_lookup(struct cert_store *s, const char *name, struct cert_info *info);

struct cert_store_stats {
	size_t domains;      /* in the current snapshot */
	size_t der_bytes;    /* DER + entry overhead held by the current snapshot */
	size_t shared_certs; /* distinct intermediates, each held once for all its entries */
	size_t lru_entries;
	uint64_t lru_hits, lru_misses, lru_evictions;
	uint64_t generation; /* bumps on every swap */
	size_t shards;       /* of the current snapshot (about 64 names each) */
	uint64_t reload_copies; /* entries copied by loads of one domain, in total: a shard's
				   worth each, and a snapshot's once per shard's worth of them */
};
void cert_store_stats(struct cert_store *s, struct cert_store_stats *st);

#endif
