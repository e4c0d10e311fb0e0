/* SPDX-License-Identifier: MIT */
/*
 * DKIM key records (RFC 6376 §3.6.1) with the algorithm rules of RFC 8301 and the Ed25519
 * keys of RFC 8463: the tag-list syntax (§3.2, shared with DMARC), the key record's tags, the
 * public key itself (OpenSSL parses it: RSA >= 1024 bits, warn below 2048; Ed25519 32 bytes),
 * a revoked key (empty p=), and the mistakes customers make when they paste a key into
 * their DNS provider's form.
 */
#ifndef ET_DNS_DKIM_H
#define ET_DNS_DKIM_H

#include "dns/check.h"
#include "dns/dns_source.h"

#include <stddef.h>

#define TAGS_MAX 32

struct tag {
	char name[24];
	const char *value;   /* trailing whitespace removed; points into the list's copy */
	size_t pos;          /* byte offset of the tag in the text */
};

struct tag_list {
	struct tag t[TAGS_MAX];
	size_t n;
	char *buf;
};

/* RFC 6376 §3.2. 0, or -1 with the reason (and its position) in err: duplicate tags, a bad
 * name, a value with characters outside VALCHAR, a missing '='. */
int tag_list_parse(const char *text, struct tag_list *out, char *err, size_t errlen);
void tag_list_free(struct tag_list *l);
/* The value of a tag (case-sensitive name), NULL when absent. */
const char *tag_get(const struct tag_list *l, const char *name);

/* Judges one key record's text into c (level, notes). */
void dkim_check_key(const char *text, struct dd_check *c);

/*
 * The full check of <selector>._domainkey.<domain>: the TXT set (following CNAMEs, which is
 * how customers delegate a selector to their ESP), one key record in it, the key judged.
 * target: where the selector should be delegated by CNAME, NULL/"" when a TXT is expected.
 */
void dkim_check(struct dns_source *dns, const char *domain, const char *selector,
		const char *target, struct dd_check *c);

#endif
