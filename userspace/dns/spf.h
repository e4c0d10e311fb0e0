/* SPDX-License-Identifier: MIT */
/*
 * SPF (RFC 7208): record selection, the parser with the position of each error, macro
 * expansion (§7) and check_host() (§4) with every mechanism and modifier, the limit of 10
 * DNS-querying terms and of 2 void lookups (§4.6.4), and loop detection. DNS goes through
 * dns_source.h, so the evaluator runs on c-ares in the product and on a table in tests.
 */
#ifndef ET_DNS_SPF_H
#define ET_DNS_SPF_H

#include "dns/dns_source.h"

#include <stdbool.h>
#include <stddef.h>

#define SPF_MAX_LOOKUPS 10  /* §4.6.4: include, a, mx, ptr, exists, redirect */
#define SPF_MAX_VOID 2      /* §4.6.4: lookups answered NXDOMAIN or with no data */
#define SPF_MAX_MX_PTR 10   /* §4.6.4: names an mx or ptr term may look at */
#define SPF_MAX_INCLUDES 32 /* include/redirect targets a walk records */

enum spf_result {
	SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR,
};

enum spf_kind {
	SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS,
	SPF_REDIRECT, SPF_EXP, SPF_UNKNOWN_MOD,
};

struct spf_term {
	enum spf_kind kind;
	char qualifier;      /* '+', '-', '~', '?' (mechanisms) */
	size_t pos, len;     /* byte offset and length in the record */
	char *spec;          /* domain-spec / macro-string, "" when absent */
	int cidr4, cidr6;    /* prefix lengths, -1 when absent */
	unsigned char net[16];
};

struct spf_record {
	struct spf_term *t;
	size_t n;
	int redirect, exp;   /* index of that modifier, -1 when absent */
	char *text;          /* the record as parsed */
};

struct spf_error {
	size_t pos;          /* byte offset of the offending term */
	char msg[200];
};

/* "pass", "permerror", ... */
const char *spf_result_name(enum spf_result r);

/* Does this TXT string start an SPF record ("v=spf1" then a space or the end)? */
bool spf_is_record(const char *txt);

/* Parses one record (§4.6, §12). 0, or -1 with the first syntax error; rec is then empty. */
int spf_parse(const char *text, struct spf_record *rec, struct spf_error *err);
void spf_record_free(struct spf_record *rec);

/* The term's text, e.g. "-all" or "include:_spf.example.net". */
void spf_term_text(const struct spf_record *rec, const struct spf_term *t, char *out,
		   size_t cap);

/*
 * The SPF record of domain (§4.4, §4.5): SPF_PASS with *text pointing into the answer (valid
 * while the source keeps it), SPF_NONE when there is none, SPF_TEMPERROR when DNS failed,
 * SPF_PERMERROR when there are several. why says what was found in every case.
 */
enum spf_result spf_fetch(struct dns_source *dns, const char *domain, const char **text,
			  char *why, size_t cap);

struct spf_request {
	const char *ip;       /* the client address, IPv4 or IPv6 text */
	const char *sender;   /* MAIL FROM; NULL or "": the HELO identity is checked */
	const char *helo;
	const char *domain;   /* NULL: the sender's domain (or the HELO name) */
	const char *receiver; /* %{r}; NULL: "unknown" */
};

struct spf_outcome {
	enum spf_result result;
	char domain[DNS_NAME_MAX]; /* the record that decided */
	char term[320];            /* the term that matched, "" for a default or an error */
	char reason[640];          /* why, in words */
	char explanation[512];     /* the exp= text on fail, "" without one */
	unsigned lookups, void_lookups;
	/* walks only: every include/redirect target met, in order */
	char includes[SPF_MAX_INCLUDES][DNS_NAME_MAX];
	size_t n_includes;
};

/* check_host() (§4) for one message. */
enum spf_result spf_check(struct dns_source *dns, const struct spf_request *req,
			  struct spf_outcome *out);

/*
 * Walks domain's record the way a sender no term matches would be evaluated, following
 * every include and the redirect: the DNS-querying terms and void lookups that sender costs
 * (the worst case a receiver meets before "all"), the include targets, and the first error
 * any nested record has. The result is that of the walk (permerror/temperror on errors).
 */
enum spf_result spf_walk(struct dns_source *dns, const char *domain, struct spf_outcome *out);

/*
 * Macro expansion (§7.3) of a macro-string for the given request, with <domain> = domain.
 * explanation: the c, r and t letters are allowed (exp= text only). 0, or -1 on a syntax
 * error (out holds the reason then).
 */
int spf_expand(struct dns_source *dns, const struct spf_request *req, const char *domain,
	       const char *macro, bool explanation, char *out, size_t cap);

#endif
