/* SPDX-License-Identifier: MIT */
/*
 * An in-memory zone behind the dns_source interface, for the unit tests of the SPF, DKIM
 * and DMARC code. A name with records of other types answers "no data", a name without any
 * answers NXDOMAIN; the text "!TEMPFAIL" makes that (name, type) fail temporarily. A CNAME
 * entry is followed for every other type. TXT text may hold '\x01' between character-strings.
 */
#ifndef ET_TEST_FAKE_DNS_H
#define ET_TEST_FAKE_DNS_H

#include "dns/dns_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fake_rr {
	const char *name;
	int type;
	const char *text;
	unsigned num; /* MX preference, CAA flags */
};

#define FAKE_MAX_ANSWERS 512

struct fake_dns {
	struct dns_source src;
	const struct fake_rr *zone;
	struct dns_answer ans[FAKE_MAX_ANSWERS];
	size_t n;
	unsigned queries;
};

static bool fake_has_name(const struct fake_rr *z, const char *name)
{
	for (; z->name; z++)
		if (!strcasecmp(z->name, name))
			return true;
	return false;
}

static const char *fake_cname(const struct fake_rr *z, const char *name)
{
	for (; z->name; z++)
		if (z->type == DNS_T_CNAME && !strcasecmp(z->name, name))
			return z->text;
	return NULL;
}

static void fake_add_txt(struct dns_answer *a, const char *text, unsigned num)
{
	char joined[4096];
	size_t o = 0;
	unsigned nstr = 1;

	for (const char *p = text; *p && o + 1 < sizeof(joined); p++) {
		if (*p == '\x01')
			nstr++;
		else
			joined[o++] = *p;
	}
	dns_answer_add(a, joined, o, num, nstr);
}

static const struct dns_answer *fake_lookup(struct dns_source *s, const char *name, int type)
{
	struct fake_dns *f = (struct fake_dns *)s;
	struct dns_answer *a;
	const char *cur = name, *alias;

	if (f->n == FAKE_MAX_ANSWERS) {
		fprintf(stderr, "fake_dns: more than %d lookups\n", FAKE_MAX_ANSWERS);
		abort();
	}
	f->queries++;
	a = &f->ans[f->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	for (int hop = 0; type != DNS_T_CNAME && hop < 8 && (alias = fake_cname(f->zone, cur)); hop++) {
		snprintf(a->cname, sizeof(a->cname), "%s", alias);
		cur = alias;
	}
	for (const struct fake_rr *z = f->zone; z->name; z++) {
		if (strcasecmp(z->name, cur) || z->type != type)
			continue;
		if (!strcmp(z->text, "!TEMPFAIL")) {
			dns_answer_clear(a);
			a->status = DNS_TEMPFAIL;
			snprintf(a->error, sizeof(a->error), "Timeout while contacting DNS servers");
			return a;
		}
		if (type == DNS_T_TXT || type == DNS_T_SPF)
			fake_add_txt(a, z->text, z->num);
		else
			dns_answer_add(a, z->text, strlen(z->text), z->num, 0);
	}
	a->status = a->n ? DNS_OK : fake_has_name(f->zone, cur) ? DNS_NODATA : DNS_NXDOMAIN;
	return a;
}

static void fake_dns_init(struct fake_dns *f, const struct fake_rr *zone)
{
	memset(f, 0, sizeof(*f));
	f->src.lookup = fake_lookup;
	f->zone = zone;
}

static void fake_dns_free(struct fake_dns *f)
{
	for (size_t i = 0; i < f->n; i++)
		dns_answer_clear(&f->ans[i]);
	f->n = 0;
}

#endif
