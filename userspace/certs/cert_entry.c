// SPDX-License-Identifier: MIT
#include "certs/cert_entry.h"
#include "certs/der_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cert_entry_name(const struct cert_entry *e)
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

void cert_entry_der(const struct cert_entry *e, struct cert_der *d)
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

size_t cert_entry_size(const struct cert_entry *e)
{
	struct cert_der d;
	size_t n = sizeof(*e) + e->name_len + 1 + e->key_len;

	cert_entry_der(e, &d);
	if (d.n_certs)
		n += sizeof(uint32_t) + d.cert_len[0] + (d.n_certs - 1) * sizeof(void *);
	return n;
}

struct cert_entry *cert_entry_ref(struct cert_entry *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	return e;
}

struct cert_src *cert_src_ref(struct cert_src *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void cert_src_put(struct cert_src *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	close(s->dirfd);
	free(s);
}

struct cert_src *cert_src_open(const char *dir, char *err, size_t errlen)
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

void cert_entry_put(struct cert_entry *e)
{
	if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (e->src) {
		cert_entry_put(atomic_load_explicit(&e->full, memory_order_acquire));
		cert_src_put(e->src);
	}
	for (size_t i = 1; i < e->n_certs && e->pool; i++)
		der_pool_put(e->pool, entry_chain(e, i));
	free(e);
}

bool cert_entry_unchecked(const struct cert_entry *e)
{
	return e->src && !atomic_load_explicit(&e->full, memory_order_acquire) &&
	       !atomic_load_explicit(&e->rejected, memory_order_acquire);
}
