// SPDX-License-Identifier: MIT
#include "core/hostname.h"

#include <arpa/inet.h>
#include <string.h>

static char lower_ascii(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ":port" after the host: RFC 3986 allows an empty port; a present one must be a u16. */
static int port_valid(const char *p, size_t len)
{
	unsigned long v = 0;

	if (len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v <= 65535;
}

static int ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Lowercases name into out and checks label syntax; out has room for len bytes. */
static int dns_name_copy(const char *name, size_t len, char *out)
{
	size_t label = 0;

	if (len == 0 || len > HOSTNAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = lower_ascii(name[i]);

		out[i] = c;
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!ldh(c) || (label == 0 && c == '-') || ++label > HOSTNAME_LABEL_MAX)
			return -1;
	}
	if (label == 0 || out[len - 1] == '-')
		return -1;
	return 0;
}

/* "[v6]" or "[v6]:port" (brackets included in the output, as in URLs). */
static int ipv6_normalize(const char *in, size_t len, char *out, size_t outcap)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *close = memchr(in, ']', len);
	size_t alen, rest;

	if (!close)
		return -1;
	alen = (size_t)(close - in) - 1;
	rest = len - alen - 2;
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	if (rest > 0 && (close[1] != ':' || !port_valid(close + 2, rest - 1)))
		return -1;
	for (size_t i = 0; i < alen; i++)
		addr[i] = lower_ascii(in[1 + i]);
	addr[alen] = '\0';
	/* inet_pton stops at NUL: an embedded NUL must not pass as a shorter address. */
	if (strlen(addr) != alen || inet_pton(AF_INET6, addr, bin) != 1)
		return -1;
	if (alen + 3 > outcap)
		return -1;
	out[0] = '[';
	memcpy(out + 1, addr, alen);
	out[alen + 1] = ']';
	out[alen + 2] = '\0';
	return (int)alen + 2;
}

int hostname_normalize(const char *in, size_t len, char *out, size_t outcap, unsigned flags)
{
	/* only the Host header form carries ports and address literals */
	int header = !(flags & (HOSTNAME_ALLOW_WILDCARD | HOSTNAME_NAME_ONLY));
	const char *colon;
	size_t off = 0;

	if (!in || !out || len == 0)
		return -1;
	if (in[0] == '[')
		return header ? ipv6_normalize(in, len, out, outcap) : -1;
	colon = memchr(in, ':', len);
	if (colon) {
		size_t hlen = (size_t)(colon - in);

		if (!header || !port_valid(colon + 1, len - hlen - 1))
			return -1;
		len = hlen;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTNAME_MAX || len + 1 > outcap)
		return -1;
	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		if (!(flags & HOSTNAME_ALLOW_WILDCARD))
			return -1;
		out[0] = '*';
		out[1] = '.';
		off = 2;
	}
	if (dns_name_copy(in + off, len - off, out + off) < 0)
		return -1;
	out[len] = '\0';
	return (int)len;
}

int hostname_is_wildcard(const char *name, size_t len)
{
	return len >= 2 && name[0] == '*' && name[1] == '.';
}
