// SPDX-License-Identifier: MIT
#include "acme/challenge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct challenge_entry {
	char token[ACME_TOKEN_MAX + 1];
	char keyauth[ACME_KEYAUTH_MAX + 1];
	time_t added;
	time_t expires;     /* answered while now < expires */
};

struct challenge_store {
	struct snapshot snap;
	size_t n;
	struct challenge_entry e[]; /* sorted by token */
};

struct challenge_table {
	time_t ttl;
	size_t n;
	struct challenge_entry e[CHALLENGE_TABLE_MAX];
};

static bool b64url_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool acme_token_valid(const char *token, size_t len)
{
	if (len < ACME_TOKEN_MIN || len > ACME_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!b64url_char(token[i]))
			return false;
	return true;
}

int acme_key_authorization(const char *token, size_t len, const char *thumbprint, char *out,
			   size_t cap)
{
	int n = snprintf(out, cap, "%.*s.%s", (int)len, token, thumbprint);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

struct challenge_store *challenge_store_snapshot(struct snapshot *s)
{
	return (struct challenge_store *)((char *)s - offsetof(struct challenge_store, snap));
}

static int cmp_token(const char *token, size_t len, const char *entry)
{
	int c = strncmp(token, entry, len);

	if (c)
		return c;
	return entry[len] ? -1 : 0;
}

const char *challenge_store_find(const struct challenge_store *cs, const char *token, size_t len,
				 time_t now)
{
	size_t lo = 0, hi = cs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_token(token, len, cs->e[mid].token);
		if (!c)
			return now < cs->e[mid].expires ? cs->e[mid].keyauth : NULL;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct challenge_table *challenge_table_new(time_t ttl_seconds)
{
	struct challenge_table *t = calloc(1, sizeof(*t));

	if (t)
		t->ttl = ttl_seconds;
	return t;
}

void challenge_table_free(struct challenge_table *t)
{
	free(t);
}

static struct challenge_entry *table_find(struct challenge_table *t, const char *token)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].token, token))
			return &t->e[i];
	return NULL;
}

int challenge_pair_valid(const char *token, const char *keyauth, char *err, size_t errlen)
{
	size_t tl = strlen(token), kl = strlen(keyauth);

	if (!acme_token_valid(token, tl)) {
		snprintf(err, errlen, "token must be %d to %d base64url characters", ACME_TOKEN_MIN,
			 ACME_TOKEN_MAX);
		return -1;
	}
	/* RFC 8555 §8.1: keyAuthorization = token || '.' || base64url(Thumbprint(accountKey)) */
	if (kl > ACME_KEYAUTH_MAX || kl < tl + 2 || strncmp(keyauth, token, tl) ||
	    keyauth[tl] != '.' || !acme_token_valid(keyauth + tl + 1, kl - tl - 1) ||
	    kl - tl - 1 != 43) {
		snprintf(err, errlen, "key authorization must be \"<token>.<43-character thumbprint>\"");
		return -1;
	}
	return 0;
}

int challenge_table_add(struct challenge_table *t, const char *token, const char *keyauth,
			time_t now, char *err, size_t errlen)
{
	return challenge_table_add_until(t, token, keyauth, now, 0, err, errlen);
}

int challenge_table_add_until(struct challenge_table *t, const char *token, const char *keyauth,
			      time_t now, time_t expires, char *err, size_t errlen)
{
	struct challenge_entry *e;

	if (challenge_pair_valid(token, keyauth, err, errlen))
		return -1;
	e = table_find(t, token);
	if (!e) {
		if (t->n == CHALLENGE_TABLE_MAX) {
			snprintf(err, errlen, "challenge table full (%d entries)", CHALLENGE_TABLE_MAX);
			return -1;
		}
		e = &t->e[t->n++];
	}
	snprintf(e->token, sizeof(e->token), "%s", token);
	snprintf(e->keyauth, sizeof(e->keyauth), "%s", keyauth);
	e->added = now;
	e->expires = expires ? expires : now + t->ttl;
	return 0;
}

int challenge_table_del(struct challenge_table *t, const char *token)
{
	struct challenge_entry *e = table_find(t, token);

	if (!e)
		return -1;
	*e = t->e[--t->n];
	return 0;
}

unsigned challenge_table_expire(struct challenge_table *t, time_t now)
{
	unsigned dropped = 0;

	for (size_t i = 0; i < t->n;) {
		if (now < t->e[i].expires) {
			i++;
			continue;
		}
		t->e[i] = t->e[--t->n];
		dropped++;
	}
	return dropped;
}

size_t challenge_table_count(const struct challenge_table *t)
{
	return t->n;
}

void challenge_table_each(const struct challenge_table *t,
			  void (*fn)(void *arg, const char *token, const char *keyauth, time_t added),
			  void *arg)
{
	for (size_t i = 0; i < t->n; i++)
		fn(arg, t->e[i].token, t->e[i].keyauth, t->e[i].added);
}

static void store_release(struct snapshot *s)
{
	free(challenge_store_snapshot(s));
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct challenge_entry *)a)->token,
		      ((const struct challenge_entry *)b)->token);
}

struct snapshot *challenge_table_build(const struct challenge_table *t)
{
	struct challenge_store *cs = malloc(sizeof(*cs) + t->n * sizeof(cs->e[0]));

	if (!cs)
		return NULL;
	snapshot_init(&cs->snap, store_release);
	cs->n = t->n;
	memcpy(cs->e, t->e, t->n * sizeof(cs->e[0]));
	qsort(cs->e, cs->n, sizeof(cs->e[0]), entry_cmp);
	return &cs->snap;
}
