/* SPDX-License-Identifier: MIT */
/*
 * Operator configuration of the ACME client: one JSON file.
 *
 * {
 *   "directory": "https://acme-v02.api.letsencrypt.org/directory",   required
 *   "ca_file": "/etc/edgetrack/acme-ca.pem",  trust for the CA's own TLS (default: system)
 *   "account_key": "/var/lib/edgetrack/acme/account.key",  required; created when missing
 *   "contact": "mailto:ops@esp.example",
 *   "eab": {"kid": "...", "hmac_key": "<base64url>"},
 *   "profile": "classic" | "tlsserver" | "shortlived",
 *   "caa_identifier": "letsencrypt.org",     CA's CAA issuer domain; "" skips the CAA check
 *   "tracking_target": "track.esp.example",  CNAME target customers point at; "" skips
 *   "appliance_addresses": ["192.0.2.10", "2001:db8::10"],   [] skips the address check
 *   "resolver": "127.0.0.1:53",              c-ares servers; "" uses resolv.conf
 *   "cert_dir": "/etc/edgetrack/certs",      required; the appliance's TLS cert directory
 *   "control_socket": "/run/edgetrack/control.sock",  "" disables hot reload/push
 *   "state_dir": "/var/lib/edgetrack/acme",  required; per-domain status records
 *   "push_challenges": false,   also push key authorizations through the control socket
 *                               (needed when the appliances do not hold the thumbprint)
 *   "renew_before_seconds": 0,  >0: renew when this little validity is left, instead of
 *                               one third of the lifetime (ARI still wins when offered)
 *   "clock_offset_seconds": 0,  added to the clock when deciding what is due (tests, drills)
 *   "failure_budget": 5,        consecutive failures of the domain's own (validation, CAA, a
 *                               rejected name) before automatic retries stop; CA, network and
 *                               account failures back off CA-wide instead and spend no budget
 *   "retry_base_seconds": 300, "retry_max_seconds": 86400,   backoff between failures
 *   "http_timeout_seconds": 30, "poll_timeout_seconds": 120, "dns_timeout_ms": 2000
 * }
 */
#ifndef ET_ACME_CONFIG_H
#define ET_ACME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define ACME_CFG_MAX_ADDRS 32
#define ACME_CFG_PATH 1024

struct acme_config {
	char directory[ACME_CFG_PATH];
	char ca_file[ACME_CFG_PATH];
	char account_key[ACME_CFG_PATH];
	char contact[256];
	char eab_kid[256], eab_hmac[256];
	char profile[64];
	char caa_identifier[256];
	char tracking_target[256];
	char addresses[ACME_CFG_MAX_ADDRS][48];
	const char *address_ptrs[ACME_CFG_MAX_ADDRS];
	size_t n_addresses;
	char resolver[256];
	char cert_dir[ACME_CFG_PATH];
	char control_socket[108];
	char state_dir[ACME_CFG_PATH];
	bool push_challenges;
	long renew_before;
	long clock_offset;
	unsigned failure_budget;
	long retry_base, retry_max;
	int http_timeout, poll_timeout, dns_timeout_ms;
};

/* 0, or -1 with "path: member: what is wrong" in err (cfg unusable then). */
int acme_config_load(const char *path, struct acme_config *cfg, char *err, size_t errlen);

#endif
