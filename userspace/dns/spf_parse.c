// SPDX-License-Identifier: MIT
/* SPF record syntax (RFC 7208 §4.6.1 and the ABNF of §12). */
#include "dns/spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail",
					     "temperror", "permerror" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

bool spf_is_record(const char *txt)
{
	return !strncasecmp(txt, "v=spf1", 6) && (txt[6] == ' ' || txt[6] == '\0');
}

__attribute__((format(printf, 3, 4)))
static int fail(struct spf_error *err, size_t pos, const char *fmt, ...)
{
	va_list ap;

	err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* macro-expand = "%{" letter *DIGIT ["r"] *delimiter "}" / "%%" / "%_" / "%-" (§7.1).
 * Returns the length of the expand at s, or 0 when it is malformed. */
static size_t macro_len(const char *s, bool explanation)
{
	const char *letters = explanation ? "slodiphcrtv" : "slodiphv";
	size_t i = 2;

	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || !s[2] || !strchr(letters, tolower((unsigned char)s[2])))
		return 0;
	i = 3;
	if (s[i] == '0')
		return 0; /* a digit transformer of 0 is not allowed */
	while (isdigit((unsigned char)s[i]))
		i++;
	if (s[i] == 'r' || s[i] == 'R')
		i++;
	while (s[i] && strchr(".-+,/_=", s[i]))
		i++;
	return s[i] == '}' ? i + 1 : 0;
}

/* macro-string: macro-literal (%x21-24 / %x26-7E) and macro-expands. Sets *ends_macro when
 * the string ends with a macro-expand. Returns the offset of a bad character, or -1. */
static long bad_macro_string(const char *s, size_t len, bool *ends_macro)
{
	*ends_macro = false;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			size_t m = macro_len(s + i, false);
			if (!m || i + m > len)
				return (long)i;
			i += m;
			*ends_macro = true;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return (long)i;
		*ends_macro = false;
		i++;
	}
	return -1;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel(const char *s, size_t n)
{
	bool alpha = false;

	if (!n || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		alpha |= isalpha((unsigned char)s[i]) || s[i] == '-';
	}
	return alpha;
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int check_domain_spec(const char *s, size_t len, size_t pos, struct spf_error *err)
{
	bool ends_macro;
	long bad = bad_macro_string(s, len, &ends_macro);
	size_t end = len, dot;

	if (!len)
		return fail(err, pos, "a domain is missing");
	if (bad >= 0)
		return fail(err, pos + (size_t)bad, "bad macro or character in \"%.*s\"", (int)len, s);
	if (ends_macro)
		return 0;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (!dot || !toplabel(s + dot, end - dot))
		return fail(err, pos, "\"%.*s\" is not a domain name (it needs a dot and a "
			    "top label with a letter)", (int)len, s);
	return 0;
}

/* "/" ("0" / %x31-39 0*nDIGIT) at s; the length it takes, 0 when absent, -1 when bad. */
static int cidr_at(const char *s, size_t len, int max, int *out)
{
	size_t i = 1;
	long v = 0;

	if (!len || s[0] != '/')
		return 0;
	if (i >= len || !isdigit((unsigned char)s[i]) || (s[i] == '0' && i + 1 < len && isdigit((unsigned char)s[i + 1])))
		return -1;
	while (i < len && isdigit((unsigned char)s[i]) && v <= max)
		v = v * 10 + (s[i++] - '0');
	if (v > max)
		return -1;
	*out = (int)v;
	return (int)i;
}

/* Where a trailing "/digits" starts in s[0..n), or n when there is none. */
static size_t digits_tail(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i < n && i > 0 && s[i - 1] == '/' ? i - 1 : n;
}

/* [ "/" ip4-len ] [ "//" ip6-len ] at the end of a or mx; shortens *len past them. */
static int dual_cidr(const char *s, size_t *len, struct spf_term *t, size_t pos,
		     struct spf_error *err)
{
	size_t n = *len, at = digits_tail(s, n);

	if (at < n && at > 0 && s[at - 1] == '/') {
		if (cidr_at(s + at, n - at, 128, &t->cidr6) != (int)(n - at))
			return fail(err, pos, "bad IPv6 prefix length in \"%.*s\"", (int)*len, s);
		n = at - 1;
		at = digits_tail(s, n);
	}
	if (at < n) {
		if (cidr_at(s + at, n - at, 32, &t->cidr4) != (int)(n - at))
			return fail(err, pos, "bad IPv4 prefix length in \"%.*s\"", (int)*len, s);
		n = at;
	}
	*len = n;
	return 0;
}

static int ip_network(struct spf_term *t, const char *s, size_t len, size_t pos,
		      struct spf_error *err)
{
	bool v4 = t->kind == SPF_IP4;
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	char addr[64];
	int *cidr = v4 ? &t->cidr4 : &t->cidr6;

	if (!alen || alen >= sizeof(addr))
		return fail(err, pos, "%s needs an address", v4 ? "ip4" : "ip6");
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(v4 ? AF_INET : AF_INET6, addr, t->net) != 1)
		return fail(err, pos, "\"%s\" is not an %s address", addr, v4 ? "IPv4" : "IPv6");
	if (slash && cidr_at(slash, len - alen, v4 ? 32 : 128, cidr) != (int)(len - alen))
		return fail(err, pos, "bad prefix length in \"%.*s\"", (int)len, s);
	return 0;
}

struct mech_name {
	const char *name;
	enum spf_kind kind;
	char arg; /* 'n': none, 'o': optional domain, 'r': required domain, 'i': address */
};

static const struct mech_name mechs[] = {
	{ "all", SPF_ALL, 'n' }, { "include", SPF_INCLUDE, 'r' }, { "a", SPF_A, 'o' },
	{ "mx", SPF_MX, 'o' }, { "ptr", SPF_PTR, 'o' }, { "ip4", SPF_IP4, 'i' },
	{ "ip6", SPF_IP6, 'i' }, { "exists", SPF_EXISTS, 'r' }, { NULL, 0, 0 },
};

static int set_spec(struct spf_term *t, const char *s, size_t len)
{
	t->spec = strndup(s, len);
	return t->spec ? 0 : -1;
}

/* directive = [ qualifier ] mechanism */
static int parse_mechanism(struct spf_term *t, const char *s, size_t len,
			   struct spf_error *err)
{
	const struct mech_name *m;
	const char *start = s;
	size_t nl = 0, pos = t->pos;

	t->qualifier = '+';
	if (len && strchr("+-~?", s[0])) {
		t->qualifier = s[0];
		s++, len--;
	}
	while (nl < len && s[nl] != ':' && s[nl] != '/')
		nl++;
	for (m = mechs; m->name; m++)
		if (strlen(m->name) == nl && !strncasecmp(s, m->name, nl))
			break;
	if (!m->name)
		return fail(err, pos, "unknown mechanism \"%.*s\"", (int)nl, s);
	t->kind = m->kind;
	s += nl, len -= nl;
	if (m->arg == 'n' || m->arg == 'i' || m->arg == 'r') {
		if (m->arg == 'n' && len)
			return fail(err, pos, "\"%s\" takes no argument", m->name);
		if (m->arg == 'n')
			return set_spec(t, "", 0);
		if (!len || s[0] != ':')
			return fail(err, pos, "\"%s\" needs \":%s\"", m->name,
				    m->arg == 'i' ? "address" : "domain");
		s++, len--;
		if (m->arg == 'i')
			return ip_network(t, s, len, pos, err) ? -1 : set_spec(t, "", 0);
		return check_domain_spec(s, len, pos + (size_t)(s - start), err) ? -1
										  : set_spec(t, s, len);
	}
	if (t->kind != SPF_PTR && dual_cidr(s, &len, t, pos, err))
		return -1;
	if (!len)
		return set_spec(t, "", 0);
	if (s[0] != ':')
		return fail(err, pos, "unexpected \"%.*s\" after \"%s\"", (int)len, s, m->name);
	if (check_domain_spec(s + 1, len - 1, pos + (size_t)(s + 1 - start), err))
		return -1;
	return set_spec(t, s + 1, len - 1);
}

/* modifier = name "=" macro-string; redirect and exp take a domain-spec. */
static int parse_modifier(struct spf_record *rec, struct spf_term *t, const char *s,
			  size_t nl, size_t len, struct spf_error *err)
{
	const char *v = s + nl + 1;
	size_t vl = len - nl - 1;
	bool ends_macro;
	long bad;

	if (!isalpha((unsigned char)s[0]))
		return fail(err, t->pos, "bad modifier name \"%.*s\"", (int)nl, s);
	for (size_t i = 0; i < nl; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return fail(err, t->pos, "bad modifier name \"%.*s\"", (int)nl, s);
	t->kind = SPF_UNKNOWN_MOD;
	if (nl == 8 && !strncasecmp(s, "redirect", 8))
		t->kind = SPF_REDIRECT;
	else if (nl == 3 && !strncasecmp(s, "exp", 3))
		t->kind = SPF_EXP;
	if (t->kind == SPF_UNKNOWN_MOD) {
		bad = bad_macro_string(v, vl, &ends_macro);
		if (bad >= 0)
			return fail(err, t->pos + nl + 1 + (size_t)bad, "bad macro in \"%.*s\"",
				    (int)len, s);
		return set_spec(t, v, vl);
	}
	if ((t->kind == SPF_REDIRECT ? rec->redirect : rec->exp) >= 0)
		return fail(err, t->pos, "\"%.*s\" appears twice (§6)", (int)nl, s);
	if (check_domain_spec(v, vl, t->pos + nl + 1, err))
		return -1;
	*(t->kind == SPF_REDIRECT ? &rec->redirect : &rec->exp) = (int)rec->n;
	return set_spec(t, v, vl);
}

static int parse_term(struct spf_record *rec, const char *s, size_t len, size_t pos,
		      struct spf_error *err)
{
	struct spf_term *t, *nt = realloc(rec->t, (rec->n + 1) * sizeof(*nt));
	size_t nl = 0;

	if (!nt)
		return fail(err, pos, "out of memory");
	rec->t = nt;
	t = &rec->t[rec->n];
	*t = (struct spf_term){ .pos = pos, .len = len, .cidr4 = -1, .cidr6 = -1 };
	while (nl < len && (isalnum((unsigned char)s[nl]) || strchr("-_.", s[nl])))
		nl++;
	if (nl < len && s[nl] == '=' && nl) {
		if (parse_modifier(rec, t, s, nl, len, err))
			goto bad;
	} else if (parse_mechanism(t, s, len, err)) {
		goto bad;
	}
	if (!t->spec)
		return fail(err, pos, "out of memory");
	rec->n++;
	return 0;
bad:
	free(t->spec);
	return -1;
}

int spf_parse(const char *text, struct spf_record *rec, struct spf_error *err)
{
	size_t i = 6, len = strlen(text);

	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
	if (!spf_is_record(text))
		return fail(err, 0, "the record does not start with \"v=spf1\"");
	rec->text = strdup(text);
	if (!rec->text)
		return fail(err, 0, "out of memory");
	while (i < len) {
		size_t start;
		while (i < len && text[i] == ' ')
			i++;
		start = i;
		while (i < len && text[i] != ' ')
			i++;
		if (i > start && parse_term(rec, text + start, i - start, start, err))
			goto bad;
	}
	return 0;
bad:
	spf_record_free(rec);
	return -1;
}

void spf_record_free(struct spf_record *rec)
{
	for (size_t i = 0; i < rec->n; i++)
		free(rec->t[i].spec);
	free(rec->t);
	free(rec->text);
	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
}

void spf_term_text(const struct spf_record *rec, const struct spf_term *t, char *out,
		   size_t cap)
{
	snprintf(out, cap, "%.*s", (int)t->len, rec->text + t->pos);
}
