// SPDX-License-Identifier: MIT
/* SPF addresses, identities and macro expansion (RFC 7208 §4.1, §5.5, §7). */
#include "dns/spf_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int parse_ip(const char *s, struct spf_ip *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->v4 = true;
	} else if (inet_pton(AF_INET6, s, ip->b) == 1) {
		if (!memcmp(ip->b, mapped, 12)) {
			memmove(ip->b, ip->b + 12, 4);
			ip->v4 = true;
		}
	} else {
		return -1;
	}
	inet_ntop(ip->v4 ? AF_INET : AF_INET6, ip->b, ip->text, sizeof(ip->text));
	return 0;
}

int spf_env_init(struct spf_env *env, struct dns_source *dns, const struct spf_request *req,
		 char *why, size_t cap)
{
	const char *sender = req->sender && *req->sender ? req->sender : NULL;
	const char *at;

	memset(env, 0, sizeof(*env));
	env->dns = dns;
	env->receiver = req->receiver && *req->receiver ? req->receiver : "unknown";
	if (!req->ip || parse_ip(req->ip, &env->ip)) {
		snprintf(why, cap, "\"%s\" is not an IP address", req->ip ? req->ip : "");
		return -1;
	}
	snprintf(env->helo, sizeof(env->helo), "%s", req->helo ? req->helo : "");
	/* §4.3: no MAIL FROM means the HELO identity; no local part means "postmaster" */
	if (!sender)
		snprintf(env->sender, sizeof(env->sender), "postmaster@%s", env->helo);
	else if (!(at = strrchr(sender, '@')) || at == sender)
		snprintf(env->sender, sizeof(env->sender), "postmaster@%s", at ? at + 1 : sender);
	else
		snprintf(env->sender, sizeof(env->sender), "%s", sender);
	at = strrchr(env->sender, '@');
	snprintf(env->local, sizeof(env->local), "%.*s", (int)(at - env->sender), env->sender);
	env->sender_domain = at + 1;
	return 0;
}

bool spf_ip_in_net(const struct spf_ip *ip, const unsigned char *net, int prefix)
{
	int bits = ip->v4 ? 32 : 128, full;

	if (prefix < 0 || prefix > bits)
		prefix = bits;
	full = prefix / 8;
	if (memcmp(ip->b, net, (size_t)full))
		return false;
	if (prefix % 8) {
		unsigned char mask = (unsigned char)(0xff << (8 - prefix % 8));
		return (ip->b[full] & mask) == (net[full] & mask);
	}
	return true;
}

bool spf_ip_in(const struct spf_ip *ip, const char *addr, int prefix)
{
	unsigned char net[16];

	if (inet_pton(ip->v4 ? AF_INET : AF_INET6, addr, net) != 1)
		return false;
	return spf_ip_in_net(ip, net, prefix);
}

/* The dotted form %{i} takes: a.b.c.d, or 32 nibbles for IPv6 (§7.3). */
static void ip_dotted(const struct spf_ip *ip, char *out, size_t cap)
{
	size_t o = 0;

	if (ip->v4) {
		snprintf(out, cap, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2], ip->b[3]);
		return;
	}
	for (int i = 0; i < 16 && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%x.%x", i ? "." : "", ip->b[i] >> 4,
				      ip->b[i] & 15);
}

void spf_ip_ptr_name(const struct spf_ip *ip, char *out, size_t cap)
{
	size_t o = 0;

	if (ip->v4) {
		snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", ip->b[3], ip->b[2], ip->b[1],
			 ip->b[0]);
		return;
	}
	for (int i = 15; i >= 0 && o + 5 < cap; i--)
		o += (size_t)snprintf(out + o, cap - o, "%x.%x.", ip->b[i] & 15, ip->b[i] >> 4);
	snprintf(out + o, cap - o, "ip6.arpa");
}

static bool under(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	return n >= d && !strcasecmp(name + n - d, domain) && (n == d || name[n - d - 1] == '.');
}

/* Is name validated: does its A/AAAA set hold ip? DNS errors skip the name (§5.5). */
static bool validated(struct spf_env *env, const char *name)
{
	const struct dns_answer *a = dns_lookup(env->dns, name, env->ip.v4 ? DNS_T_A : DNS_T_AAAA);

	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++)
		if (spf_ip_in(&env->ip, a->rr[i].text, -1))
			return true;
	return false;
}

void spf_validated_ptr(struct spf_env *env, const char *domain, char *out, size_t cap)
{
	char rev[80];
	const struct dns_answer *a;

	out[0] = '\0';
	spf_ip_ptr_name(&env->ip, rev, sizeof(rev));
	a = dns_lookup(env->dns, rev, DNS_T_PTR);
	for (size_t i = 0; a->status == DNS_OK && i < a->n && i < SPF_MAX_MX_PTR; i++) {
		const char *name = a->rr[i].text;
		if (!validated(env, name))
			continue;
		if (!domain || under(name, domain)) {
			snprintf(out, cap, "%s", name);
			return;
		}
		if (!out[0])
			snprintf(out, cap, "%s", name);
	}
}

/* The value of one macro letter before transformers. */
static void letter_value(struct spf_env *env, const char *domain, char letter, char *out,
			 size_t cap)
{
	switch (letter) {
	case 's': snprintf(out, cap, "%s", env->sender); break;
	case 'l': snprintf(out, cap, "%s", env->local); break;
	case 'o': snprintf(out, cap, "%s", env->sender_domain); break;
	case 'd': snprintf(out, cap, "%s", domain); break;
	case 'i': ip_dotted(&env->ip, out, cap); break;
	case 'p':
		spf_validated_ptr(env, domain, out, cap);
		if (!out[0])
			snprintf(out, cap, "unknown");
		break;
	case 'v': snprintf(out, cap, "%s", env->ip.v4 ? "in-addr" : "ip6"); break;
	case 'h': snprintf(out, cap, "%s", env->helo); break;
	case 'c': snprintf(out, cap, "%s", env->ip.text); break;
	case 'r': snprintf(out, cap, "%s", env->receiver); break;
	case 't': snprintf(out, cap, "%lld", (long long)time(NULL)); break;
	default: out[0] = '\0';
	}
}

/* Splits on delims, keeps the rightmost keep parts (0: all), reverses, joins with dots. */
static void transform(const char *v, const char *delims, size_t keep, bool reverse,
		      char *out, size_t cap)
{
	const char *part[128];
	size_t plen[128], n = 0, o = 0, first;

	for (const char *p = v;; ) {
		size_t l = strcspn(p, delims);
		if (n < 128) {
			part[n] = p;
			plen[n++] = l;
		}
		if (!p[l])
			break;
		p += l + 1;
	}
	if (reverse)
		for (size_t i = 0; i < n / 2; i++) {
			const char *tp = part[i];
			size_t tl = plen[i];
			part[i] = part[n - 1 - i], plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = tp, plen[n - 1 - i] = tl;
		}
	first = keep && keep < n ? n - keep : 0;
	out[0] = '\0';
	for (size_t i = first; i < n && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i > first ? "." : "",
				      (int)plen[i], part[i]);
}

/* Uppercase letters URL-escape their value (§7.3): all but unreserved characters. */
static void url_escape(const char *v, char *out, size_t cap)
{
	size_t o = 0;

	for (; *v && o + 4 < cap; v++) {
		unsigned char c = (unsigned char)*v;
		if (isalnum(c) || strchr("-._~", c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* One "%{...}" at m; appends to out. Returns its length, 0 when malformed. */
static size_t expand_one(struct spf_env *env, const char *domain, const char *m,
			 bool explanation, char *out, size_t cap)
{
	const char *letters = explanation ? "slodiphcrtv" : "slodiphv";
	char value[1024], done[1024], delims[8] = "";
	size_t i = 3, keep = 0, nd = 0;
	char letter = m[2];
	bool reverse = false;

	if (!letter || !strchr(letters, tolower((unsigned char)letter)) || m[3] == '0')
		return 0;
	while (isdigit((unsigned char)m[i]) && keep < 1000)
		keep = keep * 10 + (size_t)(m[i++] - '0');
	if (m[i] == 'r' || m[i] == 'R')
		reverse = true, i++;
	while (m[i] && strchr(".-+,/_=", m[i]) && nd < sizeof(delims) - 1)
		delims[nd++] = m[i++];
	if (m[i] != '}')
		return 0;
	letter_value(env, domain, (char)tolower((unsigned char)letter), value, sizeof(value));
	transform(value, nd ? delims : ".", keep, reverse, done, sizeof(done));
	if (isupper((unsigned char)letter))
		url_escape(done, value, sizeof(value));
	snprintf(out, cap, "%s", isupper((unsigned char)letter) ? value : done);
	return i + 1;
}

int spf_expand_env(struct spf_env *env, const char *domain, const char *macro,
		   bool explanation, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *m = macro; *m && o + 1 < cap;) {
		size_t used;
		if (*m != '%') {
			out[o++] = *m++;
			out[o] = '\0';
			continue;
		}
		if (m[1] == '%' || m[1] == '_' || m[1] == '-') {
			o += (size_t)snprintf(out + o, cap - o, "%s",
					      m[1] == '%' ? "%" : m[1] == '_' ? " " : "%20");
			m += 2;
			continue;
		}
		used = m[1] == '{' ? expand_one(env, domain, m, explanation, out + o, cap - o) : 0;
		if (!used) {
			snprintf(out, cap, "bad macro at \"%.20s\"", m);
			return -1;
		}
		o += strlen(out + o);
		m += used;
	}
	return 0;
}

int spf_expand(struct dns_source *dns, const struct spf_request *req, const char *domain,
	       const char *macro, bool explanation, char *out, size_t cap)
{
	struct spf_env env;

	if (spf_env_init(&env, dns, req, out, cap))
		return -1;
	return spf_expand_env(&env, domain, macro, explanation, out, cap);
}
