/* SPDX-License-Identifier: MIT */
/* Inside the SPF module: the client address and the identities macros expand. */
#ifndef ET_DNS_SPF_INT_H
#define ET_DNS_SPF_INT_H

#include "dns/spf.h"

#include <arpa/inet.h>

struct spf_ip {
	bool v4;              /* an IPv4-mapped IPv6 address counts as IPv4 (§5) */
	unsigned char b[16];  /* 4 bytes for IPv4 */
	char text[INET6_ADDRSTRLEN];
};

/* What §4.1 calls the arguments of check_host(), plus the DNS to ask. */
struct spf_env {
	struct dns_source *dns;
	struct spf_ip ip;
	char sender[512];     /* local@domain, "postmaster@" added when there is no local part */
	char local[256];
	const char *sender_domain; /* points into sender */
	char helo[DNS_NAME_MAX];
	const char *receiver;
};

/* Fills env from a request; -1 with the reason in why when the address is not an IP. */
int spf_env_init(struct spf_env *env, struct dns_source *dns, const struct spf_request *req,
		 char *why, size_t cap);

/* Is the text address inside ip's network of that prefix length (-1: the whole address)? */
bool spf_ip_in(const struct spf_ip *ip, const char *addr, int prefix);
bool spf_ip_in_net(const struct spf_ip *ip, const unsigned char *net, int prefix);

/* "3.2.0.192.in-addr.arpa" / the nibble form under ip6.arpa. */
void spf_ip_ptr_name(const struct spf_ip *ip, char *out, size_t cap);

/* The first validated PTR name of ip (§5.5) equal to or under domain, else any validated
 * one when domain is NULL or none is under it; "" when there is none. */
void spf_validated_ptr(struct spf_env *env, const char *domain, char *out, size_t cap);

int spf_expand_env(struct spf_env *env, const char *domain, const char *macro,
		   bool explanation, char *out, size_t cap);

#endif
