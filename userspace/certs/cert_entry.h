/* SPDX-License-Identifier: MIT */
/*
 * The cert store's entries (inside certs/ only): one domain's validated pair as DER in one
 * allocation (the name, the key, the leaf, then pointers to the intermediates held once in a
 * der_pool), or a shell: a name indexed at start-up whose files are read and checked on
 * first use or by the start-up pass. Reference counted; never changed once shared, except a
 * shell's result, which is set once.
 */
#ifndef ET_CERTS_CERT_ENTRY_H
#define ET_CERTS_CERT_ENTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "certs/cert_cache.h"

struct der_pool;

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

const char *cert_entry_name(const struct cert_entry *e);
/* The DER a parser gets: the key, the leaf and the pooled intermediates. */
void cert_entry_der(const struct cert_entry *e, struct cert_der *d);
/* What the entry itself holds: the pooled intermediates are counted once, by the pool. */
size_t cert_entry_size(const struct cert_entry *e);
struct cert_entry *cert_entry_ref(struct cert_entry *e);
void cert_entry_put(struct cert_entry *e); /* NULL is fine */
/* A shell nobody has checked yet. */
bool cert_entry_unchecked(const struct cert_entry *e);

/* A directory held open for the shells indexed from it. NULL with err when it cannot be. */
struct cert_src *cert_src_open(const char *dir, char *err, size_t errlen);
struct cert_src *cert_src_ref(struct cert_src *s);
void cert_src_put(struct cert_src *s); /* NULL is fine */

#endif
