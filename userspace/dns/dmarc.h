/* SPDX-License-Identifier: MIT */
/*
 * DMARC (RFC 7489): the policy record's syntax (§6.3, tag lists as in DKIM), policy
 * discovery at the domain or its organizational domain (§6.6.3; the public suffix list
 * through libpsl), the authorization of external report destinations (§7.1), and whether
 * the ESP's DKIM d= and return-path would align with the From domain (§3.1).
 */
#ifndef ET_DNS_DMARC_H
#define ET_DNS_DMARC_H

#include "dns/check.h"
#include "dns/dns_source.h"

#include <stdbool.h>
#include <stddef.h>

#define DMARC_MAX_URIS 8

struct dmarc_record {
	char p[12], sp[12];     /* none / quarantine / reject; sp "" when absent */
	int pct;                /* 0..100, 100 by default */
	char adkim, aspf;       /* 'r' or 's' */
	char rua[DMARC_MAX_URIS][256], ruf[DMARC_MAX_URIS][256];
	size_t n_rua, n_ruf;
	bool p_missing;         /* no valid p=, taken as none because rua= is there (§6.6.3) */
};

/* 0, or -1 with the reason in err when the text is not a DMARC policy record. */
int dmarc_parse(const char *text, struct dmarc_record *r, char *err, size_t errlen);

/* The organizational domain (the registrable domain by the public suffix list); the name
 * itself when it is a public suffix or not a DNS name. */
void org_domain(const char *domain, char out[DNS_NAME_MAX]);

/* Identifier alignment (§3.1): strict is equality, relaxed the same organizational domain. */
bool dmarc_aligned(const char *a, const char *b, char mode);

struct dmarc_opts {
	const char *dkim_domain; /* the d= the ESP signs with */
	const char *return_path; /* the ESP's MAIL FROM domain for this customer */
};

/* The whole check for a From domain. */
void dmarc_check(struct dns_source *dns, const char *domain, const struct dmarc_opts *o,
		 struct dd_check *c);

#endif
