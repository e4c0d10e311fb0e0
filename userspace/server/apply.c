// SPDX-License-Identifier: MIT
/*
 * Applying a bundle on the running appliance (control thread): verify the file, stage and
 * commit a new generation (state.h), swap it in as SIGHUP does, then prove the appliance
 * healthy. An unhealthy result goes back to the previous generation, the serial stays spent.
 */
#include "server/mgmt.h"
#include "core/clock.h"

#include "acme/challenge.h"
#include "bundle/bundle.h"
#include "bundle/keyring.h"
#include "core/err.h"
#include "core/log.h"
#include "server/listen.h"
#include "server/server.h"
#include "server/state.h"
#include "track/track_state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 1000
#define PROBE_PAUSE_MS   50

static bool is_bound(const struct server *srv, const struct config_listen *l)
{
	for (unsigned i = 0; i < srv->n_bound; i++)
		if (!strcmp(srv->bound[i].text, l->text))
			return true;
	return false;
}

/* A listen address the workers do not have yet must be one this box can take: at the next
 * start it is bound, and an address that cannot be would keep edgetrackd from starting. */
static int bindable(const struct config_listen *l, char *why, size_t len)
{
	int fd = listen_bind(l, 0, false), rc = 0;

	if (fd < 0 || listen(fd, 1))
		rc = err_set(why, len, "listen %s: %s", l->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The listener's address as a client reaches it: a wildcard address through loopback. */
static struct sockaddr_storage client_addr(const struct config_listen *l)
{
	struct sockaddr_storage a = l->addr;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;

	if (a.ss_family == AF_INET && in4->sin_addr.s_addr == htonl(INADDR_ANY))
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (a.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		in6->sin6_addr = in6addr_loopback;
	return a;
}

/* One request through the workers: GET /healthz on a plain listener must answer 200; a TLS
 * listener must accept. */
static bool answers(const struct config_listen *l)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n\r\n";
	struct timeval tv = { .tv_usec = PROBE_TIMEOUT_MS * 1000 };
	struct sockaddr_storage a = client_addr(l);
	int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[64] = "";
	bool ok = false;

	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!connect(fd, (struct sockaddr *)&a, l->addr_len)) {
		ok = l->tls || (write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1 &&
				read(fd, buf, sizeof(buf) - 1) > 12 && !strncmp(buf, "HTTP/1.1 200", 12));
	}
	close(fd);
	return ok;
}

/* Every listener answers, within the window. */
static int healthy(const struct server *srv, uint32_t window_ms, char *why, size_t len)
{
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + window_ms;

	for (;;) {
		unsigned i = 0;

		while (i < srv->n_bound && answers(&srv->bound[i]))
			i++;
		if (i == srv->n_bound)
			return 0;
		if (clock_ms(CLOCK_MONOTONIC) >= deadline)
			return err_set(why, len, "listen %s: no healthy answer within %u ms",
				       srv->bound[i].text, window_ms);
		usleep(PROBE_PAUSE_MS * 1000);
	}
}

/* The new generation serving, as SIGHUP would make it, and healthy. */
static int activate(struct server *srv, uint32_t window_ms, char *why, size_t len)
{
	char err[CONFIG_ERR_MAX];
	struct snapshot *s;
	const struct config *cfg;
	int rc = 0;

	if (server_reload(srv, err, sizeof(err)))
		return err_set(why, len, "%s", err);
	state_crash_point("reloaded");
	s = snapshot_get(&srv->state);
	cfg = track_state_of(s)->cfg;
	for (unsigned i = 0; i < cfg->n_listen && !rc; i++)
		if (!is_bound(srv, &cfg->listen[i]))
			rc = bindable(&cfg->listen[i], why, len);
	snapshot_put(s);
	return rc ? rc : healthy(srv, window_ms, why, len);
}

static void add_challenges(struct server *srv, const struct bundle *b)
{
	char why[256];
	size_t n = 0;

	for (size_t i = 0; i < b->n_items; i++) {
		const struct bundle_item *it = &b->items[i];

		if (it->type != BUNDLE_ITEM_CHALLENGE)
			continue;
		if (challenge_table_add(srv->ctable, it->token, it->key_authorization, time(NULL),
					why, sizeof(why)))
			log_warn("challenge_refused", "token=%s reason=\"%s\"", it->token, why);
		else
			n++;
	}
	if (n && server_publish_challenges(srv))
		log_error("challenge_publish_failed", "reason=\"out of memory\"");
}

/* ---------------------------------------------------------------- keyring */

static const struct bundle_item *keyring_item(const struct bundle *b)
{
	for (size_t i = 0; i < b->n_items; i++)
		if (b->items[i].type == BUNDLE_ITEM_KEYRING)
			return &b->items[i];
	return NULL;
}

/* A keyring the bundle carries is one the root key signed, or the bundle is refused. */
static int check_keyring(const struct bundle_item *it, const struct minisig_pubkey *root,
			 char *why, size_t len)
{
	struct keyring *kr = malloc(sizeof(*kr));
	char err[256];
	int rc = 0;

	if (!kr)
		return err_set(why, len, "out of memory");
	if (keyring_parse(it->data, it->len, root, kr, err, sizeof(err)))
		rc = err_set(why, len, "keyring: %s", err);
	free(kr);
	return rc;
}

/* Trust only moves forward: a newer keyring (revocations with it) is kept even when the
 * rest of its bundle is rolled back. */
static void install_keyring(const struct bundle_item *it, const struct minisig_pubkey *root,
			    const char *path)
{
	char err[256];
	int rc = keyring_install(path, it->data, it->len, root, err, sizeof(err));

	if (rc < 0)
		log_error("keyring_not_installed", "path=%s reason=\"%s\"", path, err);
	else
		log_info("keyring", "path=%s action=%s", path, rc ? "replaced" : "kept_newer_held");
}

/* Stages and commits b over what is being served. */
static int commit(struct server *srv, const struct state_store *st, const struct bundle *b,
		  char *why, size_t len)
{
	struct snapshot *s = snapshot_get(&srv->state);
	struct state_base base = { .served = track_state_of(s)->cfg };
	char cert_dir[CONFIG_PATH_MAX];
	struct state_stage *sg;
	int rc = -1;

	config_cert_dir(base.served, cert_dir, sizeof(cert_dir));
	base.cert_dir = cert_dir;
	sg = state_stage_bundle(st, &base, b, time(NULL), why, len);
	snapshot_put(s);
	if (sg)
		rc = state_commit(sg, why, len);
	state_stage_free(sg);
	return rc;
}

enum mgmt_apply mgmt_apply_bundle(struct server *srv, const struct state_store *st,
				  const struct bundle_trust *trust, const char *path,
				  uint32_t window_ms, uint64_t *serial, char *why, size_t len)
{
	uint64_t t0 = clock_ms(CLOCK_MONOTONIC), t1, t2;
	struct bundle *b = bundle_verify(path, trust, why, len);
	const struct bundle_item *kr = b ? keyring_item(b) : NULL;
	struct minisig_pubkey root;
	char err[256];
	enum mgmt_apply res = MGMT_APPLIED;

	if (!b)
		return MGMT_REFUSED;
	*serial = b->serial;
	t1 = clock_ms(CLOCK_MONOTONIC);
	if ((kr && minisig_pubkey_load(trust->root_pubkey_path, &root, why, len)) ||
	    (kr && check_keyring(kr, &root, why, len)) || commit(srv, st, b, why, len)) {
		bundle_free(b);
		return MGMT_REFUSED;
	}
	if (kr)
		install_keyring(kr, &root, trust->keyring_path);
	t2 = clock_ms(CLOCK_MONOTONIC);
	if (activate(srv, window_ms, why, len)) {
		log_error("bundle_unhealthy", "serial=%" PRIu64 " reason=\"%s\"", b->serial, why);
		res = MGMT_ROLLED_BACK;
		if (state_rollback(st, b->serial, err, sizeof(err)) ||
		    server_reload(srv, err, sizeof(err)))
			log_error("rollback_failed", "serial=%" PRIu64 " reason=\"%s\"", b->serial,
				  err);
	} else {
		add_challenges(srv, b);
		/* where an apply's time goes: verifying, checking and staging, serving it */
		log_info("bundle_applied",
			 "serial=%" PRIu64 " key_id=%s items=%zu verify_ms=%" PRIu64
			 " stage_ms=%" PRIu64 " activate_ms=%" PRIu64, b->serial, b->key_id,
			 b->n_items, t1 - t0, t2 - t1, clock_ms(CLOCK_MONOTONIC) - t2);
	}
	state_prune(st);
	bundle_free(b);
	return res;
}
