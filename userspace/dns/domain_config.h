/* SPDX-License-Identifier: MIT */
/*
 * Settings of the domain doctor: one JSON file like acme.json, every member optional, and
 * command-line flags over it.
 *
 * {
 *   "secret": "<64-128 hex digits>",          operator secret: ownership token = HMAC(secret, domain)
 *   "verification_prefix": "edgetrack-verification",   TXT "<prefix>=<token>" at the domain
 *   "spf_include": "_spf.esp.example",         the include every sending domain's SPF needs
 *   "dkim_selector": "esp1",                   the selector the ESP signs with
 *   "dkim_target": "{selector}.{domain}.dkim.esp.example",  CNAME target of the selector;
 *                                              "" means a TXT key is published directly
 *   "dkim_domain": "esp.example",              d= the ESP signs with when the customer's
 *                                              own selector has no usable key
 *   "return_path": "bounces.{domain}",         the ESP's MAIL FROM domain for a customer
 *   "tracking_host": "click.{domain}",         "" skips the CNAME check
 *   "tracking_target": "track.esp.example",
 *   "caa_identifier": "letsencrypt.org",       "" skips the CAA check
 *   "resolver": "127.0.0.1:53",                c-ares servers; "" uses resolv.conf
 *   "dns_timeout_ms": 2000,                    one try of one query
 *   "deadline_ms": 10000,                      all of one domain's checks
 *   "concurrency": 32,                         domains checked side by side
 *   "state_dir": "/var/lib/edgetrack/domains", watch state and history
 *   "watch_interval_seconds": 3600
 * }
 * "{domain}" and "{selector}" in templates stand for the checked domain and the selector.
 */
#ifndef ET_DNS_DOMAIN_CONFIG_H
#define ET_DNS_DOMAIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_CFG_STR 256

struct domain_config {
	unsigned char secret[64];
	size_t secret_len;               /* 0: no ownership check */
	char prefix[64];
	char spf_include[DOMAIN_CFG_STR];
	char selector[64];
	char dkim_target[DOMAIN_CFG_STR];
	char dkim_domain[DOMAIN_CFG_STR];
	char return_path[DOMAIN_CFG_STR];
	char tracking_host[DOMAIN_CFG_STR];
	char tracking_target[DOMAIN_CFG_STR];
	char caa_identifier[DOMAIN_CFG_STR];
	char resolver[DOMAIN_CFG_STR];
	int dns_timeout_ms, deadline_ms, concurrency;
	char state_dir[1024];
	int interval;            /* seconds */
};

/* The defaults, then path when it is not NULL. 0, or -1 with "path: member: why" in err. */
int domain_config_load(const char *path, struct domain_config *cfg, char *err,
		       size_t errlen);

/* The secret from hex; -1 when it is not 64-128 hex digits. */
int domain_config_secret(struct domain_config *cfg, const char *hex);

/* Sets the member the settings file calls key from its text (a number for the integer
 * members), with the file's limits. 0, or -1 with the reason, prefixed by where. */
int domain_config_set(struct domain_config *cfg, const char *key, const char *value,
		      const char *where, char *err, size_t errlen);

/* A template with {domain} and {selector} filled in. */
void domain_template(const char *tmpl, const char *domain, const char *selector, char *out,
		     size_t cap);

#endif
