/* SPDX-License-Identifier: MIT */
/*
 * The one DNS interface of the operator-side checks: a lookup of (name, type) that returns
 * the record set already decoded to text, with the four outcomes the RFCs distinguish:
 * records, no data (the name exists without that type), NXDOMAIN, and a temporary failure
 * (timeout, SERVFAIL, REFUSED, network). The checks and the SPF evaluator only see this
 * interface, so unit tests drive them with an in-memory zone and the product with c-ares
 * (dns_client.h).
 */
#ifndef ET_DNS_SOURCE_H
#define ET_DNS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#define DNS_NAME_MAX 254 /* text form without the trailing dot, plus NUL */

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SPF = 99, /* the retired SPF RR type (RFC 7208 §3.1): only ever reported */
	DNS_T_CAA = 257,
};

enum dns_status { DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_TEMPFAIL };

/*
 * One record in text form: A/AAAA the address, MX/PTR/CNAME the target name (MX with its
 * preference in num), TXT/SPF the character-strings joined without separator (nstr says how
 * many there were), CAA "tag value" with the flags in num.
 */
struct dns_rr {
	char *text;
	size_t len;
	unsigned num;
	unsigned nstr;
};

struct dns_answer {
	enum dns_status status;
	int type;
	size_t n;
	struct dns_rr *rr;
	char cname[DNS_NAME_MAX]; /* the last alias target when the name is a CNAME, else "" */
	char error[128];          /* why, for DNS_TEMPFAIL */
};

struct dns_question {
	const char *name;
	int type;
};

/*
 * A source owns the answers it returns; they stay valid until the source is reset or freed.
 * lookup never returns NULL (a failure is an answer with DNS_TEMPFAIL). prefetch, when not
 * NULL, asks several questions at once so that later lookups are answered from memory.
 */
struct dns_source {
	const struct dns_answer *(*lookup)(struct dns_source *s, const char *name, int type);
	void (*prefetch)(struct dns_source *s, const struct dns_question *q, size_t n);
};

static inline const struct dns_answer *dns_lookup(struct dns_source *s, const char *name,
						  int type)
{
	return s->lookup(s, name, type);
}

static inline void dns_prefetch(struct dns_source *s, const struct dns_question *q, size_t n)
{
	if (s->prefetch)
		s->prefetch(s, q, n);
}

/* "A", "TXT", ... for messages. */
const char *dns_type_name(int type);

/* "no data", "NXDOMAIN", ... for messages. */
const char *dns_status_name(enum dns_status st);

/* Appends one record (text copied); 0 or -1 when out of memory. */
int dns_answer_add(struct dns_answer *a, const char *text, size_t len, unsigned num,
		   unsigned nstr);

/* Frees the records; the answer is empty (DNS_NODATA) afterwards. */
void dns_answer_clear(struct dns_answer *a);

/*
 * The CNAME chain from name, one CNAME query per hop: chain[0] is what name points at,
 * chain[*n - 1] the canonical name (*n 0: name is no alias). 0, or -1 with a reason in err
 * when DNS failed or the chain loops or is longer than cap.
 */
int dns_cname_chain(struct dns_source *s, const char *name, char (*chain)[DNS_NAME_MAX],
		    size_t cap, size_t *n, char *err, size_t errlen);

/* Lower case, no trailing dot; false when it does not fit. */
bool dns_name_canon(const char *in, char out[DNS_NAME_MAX]);

#endif
