/* SPDX-License-Identifier: MIT */
/*
 * edgetrackd's configuration: one JSON file (or the embedded demo defaults), parsed and
 * validated as a whole before anything uses it, so a bad file never half-applies.
 * Errors name the file and either the line:column (syntax) or the JSON path (meaning).
 *
 * Sub-objects owned by other subsystems ("tls", "xdp", "journal", "nats") are kept as json_t and
 * parsed by those subsystems' own *_settings_parse().
 */
#ifndef ET_CORE_CONFIG_H
#define ET_CORE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_MAX_LISTEN     16
#define CONFIG_MAX_KEYS       256
#define CONFIG_MAX_THUMBPRINTS 8
#define CONFIG_MAX_CIDRS      256
#define CONFIG_MAX_AGENTS     64
#define CONFIG_PATH_MAX       256
#define CONFIG_ERR_MAX        512
#define CONFIG_FILE_MAX       (64u << 20) /* bytes of a config file */

struct config_listen {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool tls;
	char text[64];
};

struct config_key {
	uint8_t id;
	uint8_t len;
	uint8_t secret[64];
};

struct config_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16];
};

struct config_domain {
	char name[256];        /* normalized; "*.example.com" for a wildcard */
	bool https;            /* serve HTTPS (cert kept loaded even when false) */
	bool https_redirect;   /* plain-HTTP tracking routes answer 308 to https:// */
	uint32_t hsts_max_age; /* 0 = no HSTS header */
	bool hsts_subdomains;
	bool hsts_preload;
	char acme_thumbprint[64]; /* empty: the first of acme.thumbprints */
};

struct config_limits {
	uint32_t max_connections;      /* per worker */
	uint32_t header_timeout_ms;    /* first byte of a request to its complete head */
	uint32_t idle_timeout_ms;      /* keep-alive idle */
	uint32_t send_timeout_ms;      /* a response not taken by the client */
	uint32_t max_keepalive_requests;
};

struct config_machine {
	struct config_cidr cidrs[CONFIG_MAX_CIDRS]; /* scanners and proxies */
	unsigned n_cidrs;
	char agents[CONFIG_MAX_AGENTS][64];           /* lower-case substrings */
	uint8_t agent_len[CONFIG_MAX_AGENTS];
	unsigned n_agents;
	uint32_t fast_click_ms;                        /* click this soon after an open */
};

/*
 * The management API: a listener of its own, HTTPS with mutual TLS against the operator's CA,
 * that takes signed bundles, status queries and challenge tokens.
 */
struct config_management {
	bool enabled;                   /* the "management" object is present */
	struct config_listen listen;
	char cert[CONFIG_PATH_MAX];     /* the listener's own PEM chain and key */
	char key[CONFIG_PATH_MAX];
	char client_ca[CONFIG_PATH_MAX];/* operator CA: clients need a certificate it issued */
	uint32_t max_bundle_bytes;      /* larger uploads get 413 */
	uint32_t health_window_ms;      /* an applied bundle must prove healthy within it */
	char root_key[CONFIG_PATH_MAX]; /* minisign public key that certifies signing keys */
	char appliance_id[65];          /* empty: derived from the appliance's identity key */
};

/*
 * The metrics listener: plain HTTP for Prometheus scrapers without client certificates,
 * serving only GET /metrics and GET / (the status page). It binds a loopback address or
 * the management listener's address, never a public tracking address.
 */
struct config_metrics {
	bool enabled;                   /* the "metrics" object is present */
	struct config_listen listen;
};

struct config {
	char source[CONFIG_PATH_MAX]; /* file path, or "<embedded>" */
	bool embedded;
	unsigned workers;             /* 0 = one per online CPU */
	struct config_listen listen[CONFIG_MAX_LISTEN];
	unsigned n_listen;
	char data_dir[CONFIG_PATH_MAX];
	char control_socket[108];
	struct config_key keys[CONFIG_MAX_KEYS];
	unsigned n_keys;
	uint8_t current_key;
	char thumbprints[CONFIG_MAX_THUMBPRINTS][64];
	unsigned n_thumbprints;
	struct config_domain *domains;
	unsigned n_domains;
	struct config_limits limits;
	struct config_machine machine;
	uint8_t ipv4_prefix, ipv6_prefix; /* client address truncation in events */
	struct config_management management;
	struct config_metrics metrics;
	json_t *tls, *xdp, *journal, *nats; /* borrowed from root; NULL when absent */
	json_t *root;
};

/* Loads and validates; NULL with err "file:line:col: reason" or "file: path: reason". */
struct config *config_load_file(const char *path, char *err, size_t errlen);
/* The embedded demo defaults (127.0.0.1:8080, demo domain, demo key). */
struct config *config_load_embedded(char *err, size_t errlen);
/* Same as the above from a string, named `source` in errors (tests). */
struct config *config_load_string(const char *json, const char *source, char *err, size_t errlen);
void config_free(struct config *c);

/* The certificate directory: "tls.cert_dir", else <data_dir>/certs. */
void config_cert_dir(const struct config *c, char *out, size_t cap);

bool config_cidr_contains(const struct config_cidr *c, int family, const uint8_t *addr);
/* "192.0.2.0/24", "2001:db8::/32", a bare address means /32 or /128. */
int config_parse_cidr(const char *text, struct config_cidr *out);

/* The demo domain and key of the embedded defaults. */
#define CONFIG_DEMO_DOMAIN "click.demo.edgetrack.test"

#endif
