// SPDX-License-Identifier: MIT
#include "dns/dns_source.h"
#include "core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dns_type_name(int type)
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_CNAME: return "CNAME";
	case DNS_T_PTR: return "PTR";
	case DNS_T_MX: return "MX";
	case DNS_T_TXT: return "TXT";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_SPF: return "SPF";
	case DNS_T_CAA: return "CAA";
	default: return "?";
	}
}

const char *dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NODATA: return "no data";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	default: return "temporary failure";
	}
}

int dns_answer_add(struct dns_answer *a, const char *text, size_t len, unsigned num,
		   unsigned nstr)
{
	struct dns_rr *rr = realloc(a->rr, (a->n + 1) * sizeof(*rr));
	char *t;

	if (!rr)
		return -1;
	a->rr = rr;
	t = malloc(len + 1);
	if (!t)
		return -1;
	memcpy(t, text, len);
	t[len] = '\0';
	a->rr[a->n++] = (struct dns_rr){ .text = t, .len = len, .num = num, .nstr = nstr };
	return 0;
}

void dns_answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rr[i].text);
	free(a->rr);
	a->rr = NULL;
	a->n = 0;
	a->status = DNS_NODATA;
}

bool dns_name_canon(const char *in, char out[DNS_NAME_MAX])
{
	size_t n = strlen(in);

	if (n && in[n - 1] == '.')
		n--;
	if (n >= DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return true;
}

int dns_cname_chain(struct dns_source *s, const char *name, char (*chain)[DNS_NAME_MAX],
		    size_t cap, size_t *n, char *err, size_t errlen)
{
	const char *cur = name;

	*n = 0;
	for (;;) {
		const struct dns_answer *a = dns_lookup(s, cur, DNS_T_CNAME);
		if (a->status == DNS_TEMPFAIL)
			return err_set(err, errlen, "CNAME lookup of %s failed: %s", cur, a->error);
		if (a->status != DNS_OK)
			return 0;
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(chain[i], a->rr[0].text))
				return err_set(err, errlen, "CNAME chain of %s loops at %s", name,
					       a->rr[0].text);
		if (*n == cap)
			return err_set(err, errlen, "CNAME chain of %s is longer than %zu", name, cap);
		snprintf(chain[*n], DNS_NAME_MAX, "%s", a->rr[0].text);
		cur = chain[(*n)++];
	}
}
