// SPDX-License-Identifier: MIT
#include "acme/acme_run.h"
#include "acme/atomic_file.h"
#include "acme/csr.h"
#include "acme/failure.h"
#include "acme/install.h"
#include "core/log.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static void say(struct acme_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct acme_run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->out)
		return;
	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->out);
	fflush(r->out);
}

time_t acme_run_now(const struct acme_run *r)
{
	return time(NULL) + r->cfg->clock_offset;
}

int acme_run_init(struct acme_run *r, const struct acme_config *cfg, FILE *out, char *err,
		  size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->out = out;
	if (ensure_dir(cfg->state_dir, 0755, err, errlen))
		return -1;
	if (ca_backoff_load(cfg->state_dir, &r->ca, err, errlen))
		log_warn("acme_ca_state", "reason=\"%s\"; starting without a CA-wide backoff", err);
	r->key = acme_key_load(cfg->account_key, 1, err, errlen);
	if (!r->key)
		return -1;
	r->dns = dns_resolver_new(cfg->resolver, cfg->dns_timeout_ms, err, errlen);
	if (!r->dns) {
		acme_run_fini(r);
		return -1;
	}
	return 0;
}

void acme_run_fini(struct acme_run *r)
{
	acme_client_free(r->client);
	dns_resolver_free(r->dns);
	EVP_PKEY_free(r->key);
	memset(r, 0, sizeof(*r));
}

static int client(struct acme_run *r, struct acme_error *e)
{
	const struct acme_config *c = r->cfg;
	struct acme_client_opts o = {
		.directory_url = c->directory, .ca_file = c->ca_file[0] ? c->ca_file : NULL,
		.account_key = r->key, .contact = c->contact, .eab_kid = c->eab_kid,
		.eab_hmac = c->eab_hmac, .profile = c->profile, .http_timeout = c->http_timeout,
		.poll_timeout = c->poll_timeout,
	};

	memset(e, 0, sizeof(*e));
	if (r->client)
		return 0;
	if (r->client_err.kind) { /* the directory failed once this run: no second try */
		*e = r->client_err;
		return -1;
	}
	r->client = acme_client_new(&o, e);
	if (!r->client)
		r->client_err = *e;
	return r->client ? 0 : -1;
}

static void precheck_opts(struct acme_run *r, const char *account_url, struct precheck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tracking_target = r->cfg->tracking_target;
	o->addresses = r->cfg->address_ptrs;
	o->n_addresses = r->cfg->n_addresses;
	o->caa.ca_domain = r->cfg->caa_identifier;
	o->caa.account_uri = account_url && account_url[0] ? account_url : NULL;
	o->caa.method = "http-01";
}

int acme_run_account(struct acme_run *r, struct acme_error *e)
{
	return client(r, e) || acme_client_account(r->client, e) ? -1 : 0;
}

int acme_run_check(struct acme_run *r, const char *domain, struct precheck_result *res)
{
	struct precheck_opts o;
	struct acme_error e;
	const char *acct = NULL;

	/* the account URL only matters for CAA accounturi; checks still run without the CA */
	if (!client(r, &e) && !acme_client_account(r->client, &e))
		acct = acme_client_account_url(r->client);
	else
		say(r, "note: CA not reachable (%s); CAA accounturi cannot match", e.reason);
	precheck_opts(r, acct, &o);
	return precheck_domain(r->dns, domain, &o, res);
}

/* ------------------------------------------------------------------ control socket */

int control_command(const char *sock_path, const char *line, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	char buf[4096], *last;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (strlen(sock_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long");
		return -1;
	}
	strcpy(sun.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, errlen, "cannot reach edgetrackd at %s: %s", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		snprintf(err, errlen, "control socket write: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* keep the tail: the status line ("ok" or "error: ...") comes last */
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == sizeof(buf) - 1) {
			memmove(buf, buf + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	if (!strcmp(last, "ok"))
		return 0;
	snprintf(err, errlen, "edgetrackd: %s", last[0] ? last : "no answer");
	return -1;
}

/* What the client's hooks get: the run and the domain's record. */
struct progress_ctx {
	struct acme_run *r;
	struct cert_status *st;
};

static int push_challenge(void *arg, const char *domain, const char *token, const char *keyauth,
			  bool add, char *err, size_t errlen)
{
	struct acme_run *r = ((struct progress_ctx *)arg)->r;
	char line[700];

	if (add)
		snprintf(line, sizeof(line), "challenge add %s %s", token, keyauth);
	else
		snprintf(line, sizeof(line), "challenge del %s", token);
	if (!control_command(r->cfg->control_socket, line, err, errlen))
		return 0;
	log_warn("acme_challenge_push", "domain=%s add=%d reason=\"%s\"", domain, add, err);
	return add ? -1 : 0;
}

/* ------------------------------------------------------------------ status helpers */

static void save(struct acme_run *r, const struct cert_status *st)
{
	char err[512];

	if (cert_status_save(r->cfg->state_dir, st, err, sizeof(err)))
		log_error("acme_status_write", "domain=%s reason=\"%s\"", st->domain, err);
}

/* Writes the CA-wide record when it differs from before. */
static void save_ca(struct acme_run *r, const struct ca_backoff *before)
{
	char err[512];

	if (!memcmp(before, &r->ca, sizeof(r->ca)))
		return;
	if (ca_backoff_save(r->cfg->state_dir, &r->ca, err, sizeof(err)))
		log_error("acme_ca_state_write", "reason=\"%s\"", err);
}

static void ca_answered(struct acme_run *r)
{
	struct ca_backoff before = r->ca;

	ca_backoff_clear(&r->ca);
	r->ca_failed = false;
	save_ca(r, &before);
}

static struct failure_policy policy(const struct acme_run *r)
{
	return (struct failure_policy){ .retry_base = r->cfg->retry_base,
					.retry_max = r->cfg->retry_max,
					.clock_offset = r->cfg->clock_offset };
}

/* What the failure means for the schedule, appended to the reason. */
static void blame_note(const struct acme_run *r, enum acme_blame b, const struct cert_status *st,
		       char *out, size_t cap)
{
	char t[32];

	out[0] = '\0';
	if (b == BLAME_DOMAIN && st->failures >= r->cfg->failure_budget) {
		snprintf(out, cap, " (failure %u of %u: automatic retries stop; fix the cause and run "
			 "edgetrackctl acme issue)", st->failures, r->cfg->failure_budget);
	} else if (b == BLAME_DOMAIN) {
		fmt_time(st->retry_after, t, sizeof(t));
		snprintf(out, cap, " (failure %u of %u before automatic retries stop; next try from %s)",
			 st->failures, r->cfg->failure_budget, t);
	} else if (b == BLAME_RATELIMIT) {
		fmt_time(st->retry_after, t, sizeof(t));
		snprintf(out, cap, " (rate limited; backing off until %s)", t);
	} else if (b == BLAME_CA) {
		fmt_time(r->ca.retry_after, t, sizeof(t));
		snprintf(out, cap, " (a CA-side failure, not the domain's: renewals wait until %s)",
			 t);
	}
}

/* Books a failed attempt (e NULL: nothing reached the CA), records and prints the reason. */
static void record_failure(struct acme_run *r, struct cert_status *st, const char *what,
			   const struct acme_error *e)
{
	struct failure_policy p = policy(r);
	struct ca_backoff before = r->ca;
	enum acme_blame b = failure_book(st, &r->ca, e, &p, acme_run_now(r), &r->ca_failed);
	char na[32], note[200];

	st->state = CERT_UNKNOWN;
	st->updated = time(NULL);
	blame_note(r, b, st, note, sizeof(note));
	fmt_time(st->not_after, na, sizeof(na));
	snprintf(st->reason, sizeof(st->reason), "%.700s%s%s%s%s", what, note,
		 st->has_cert ? "; the current certificate (valid until " : "",
		 st->has_cert ? na : "", st->has_cert ? ") keeps serving" : "");
	save(r, st);
	save_ca(r, &before);
	say(r, "%s: %s", st->domain, st->reason);
	log_warn("acme_failed", "domain=%s blame=%s failures=%u ca_failures=%u reason=\"%s\"",
		 st->domain, acme_blame_name(b), st->failures, r->ca.failures, st->reason);
}

static void on_progress(void *arg, const char *stage, const char *order_url)
{
	struct progress_ctx *p = arg;

	snprintf(p->st->order_url, sizeof(p->st->order_url), "%s", order_url);
	snprintf(p->st->reason, sizeof(p->st->reason), "%s in flight at the CA", stage);
	save(p->r, p->st);
}

/* Renewal time of a freshly installed cert: the CA's ARI window, else the default rule. */
static void schedule(struct acme_run *r, struct cert_status *st)
{
	struct ari_window w;
	struct acme_error e;
	uint64_t rnd = 0;

	st->ari = false;
	if (st->ari_id[0] && r->client && acme_client_has_ari(r->client) &&
	    !acme_client_renewal_info(r->client, st->ari_id, &w, &e)) {
		RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
		st->next_renewal = ari_pick(&w, rnd);
		st->ari = true;
		return;
	}
	if (r->cfg->renew_before > 0)
		st->next_renewal = st->not_after - r->cfg->renew_before;
	else
		st->next_renewal = renewal_default(st->not_before, st->not_after);
}

/* ------------------------------------------------------------------ install */

/* Hot reload over the control socket; a note for the reason when it fails. */
static void reload(struct acme_run *r, const char *domain, char *note, size_t cap)
{
	char line[300], err[512];

	note[0] = '\0';
	if (!r->cfg->control_socket[0])
		return;
	snprintf(line, sizeof(line), "cert reload %s", domain);
	if (control_command(r->cfg->control_socket, line, err, sizeof(err)))
		snprintf(note, cap, "; hot reload failed (%s): edgetrackd picks the files up on its "
			 "next reload", err);
}

/* The pair is in the cert dir: the record says issued and when to renew. */
static void installed(struct acme_run *r, struct cert_status *st, const struct acme_cert *cert,
		      const struct chain_facts *f)
{
	char note[600], na[32], nr[32];

	reload(r, st->domain, note, sizeof(note));
	st->has_cert = true;
	st->not_before = f->not_before;
	st->not_after = f->not_after;
	snprintf(st->ari_id, sizeof(st->ari_id), "%s", f->ari_id);
	snprintf(st->serial, sizeof(st->serial), "%s", f->serial_hex);
	schedule(r, st);
	st->state = CERT_ISSUED;
	st->failures = 0;
	st->retry_after = 0;
	st->updated = time(NULL);
	fmt_time(st->not_after, na, sizeof(na));
	fmt_time(st->next_renewal, nr, sizeof(nr));
	snprintf(st->reason, sizeof(st->reason), "issued%s, valid until %s, renewal %s%s%s",
		 cert->replaced ? " (replaces the previous certificate)" : "", na,
		 st->ari ? "in the CA's ARI window from " : "from ", nr, note);
	save(r, st);
	say(r, "%s: %s", st->domain, st->reason);
	log_info("acme_issued", "domain=%s not_after=%s next_renewal=%s", st->domain, na, nr);
}

/* Holds a pair the cert dir did not take; a note for the reason. */
static void hold(struct acme_run *r, const char *domain, const struct acme_cert *cert,
		 bool from_held, char *note, size_t cap)
{
	char err[512];

	if (from_held)
		snprintf(note, cap, "; the certificate stays held in %.400s/held", r->cfg->state_dir);
	else if (acme_held_keep(r->cfg->state_dir, domain, cert, err, sizeof(err)))
		snprintf(note, cap, "; it could not be held either (%.400s)", err);
	else
		snprintf(note, cap, "; the certificate is held in %.400s/held and installed by the next "
			 "run, with no new order", r->cfg->state_dir);
}

/*
 * Writes the pair into the cert dir. When that fails, a fresh pair is held in the state dir
 * so that the next run installs it instead of ordering again. 0 or -1 (recorded).
 */
static int deploy(struct acme_run *r, struct cert_status *st, const struct acme_cert *cert,
		  const struct chain_facts *f, bool from_held)
{
	char err[512], note[700], what[1300];

	if (acme_install_files(r->cfg->cert_dir, st->domain, cert->chain_pem, cert->key_pem, err,
			       sizeof(err))) {
		hold(r, st->domain, cert, from_held, note, sizeof(note));
		snprintf(what, sizeof(what), "issued, but installing into %.300s failed: %.400s%.500s",
			 r->cfg->cert_dir, err, note);
		record_failure(r, st, what, NULL);
		return -1;
	}
	if (from_held)
		acme_held_drop(r->cfg->state_dir, st->domain);
	installed(r, st, cert, f);
	return 0;
}

/* A pair fresh from the CA: checked, then deployed. */
static int install_new(struct acme_run *r, struct cert_status *st, const struct acme_cert *cert)
{
	struct acme_error e = { .kind = ACME_E_PROTOCOL };
	struct chain_facts f;
	char err[512];

	if (!chain_inspect(cert->chain_pem, strlen(cert->chain_pem), st->domain, &f, err,
			   sizeof(err)))
		return deploy(r, st, cert, &f, false);
	snprintf(e.reason, sizeof(e.reason), "the CA's certificate is unusable: %s", err);
	record_failure(r, st, e.reason, &e);
	return -1;
}

/* Installs a pair held from an earlier run: 1 installed, -1 failed again, 0 none held (or
 * the held one is unusable or has expired, and is dropped: order anew). */
static int install_held(struct acme_run *r, struct cert_status *st)
{
	struct acme_cert cert;
	struct chain_facts f;
	char err[512];
	int rc = 0;

	if (!acme_held_load(r->cfg->state_dir, st->domain, &cert))
		return 0;
	err[0] = '\0';
	if (chain_inspect(cert.chain_pem, strlen(cert.chain_pem), st->domain, &f, err,
			  sizeof(err)) || f.not_after <= acme_run_now(r)) {
		log_warn("acme_held_dropped", "domain=%s reason=\"%s\"", st->domain,
			 err[0] ? err : "expired while held");
		acme_held_drop(r->cfg->state_dir, st->domain);
	} else {
		say(r, "%s: installing the certificate issued earlier", st->domain);
		rc = deploy(r, st, &cert, &f, true) ? -1 : 1;
	}
	acme_cert_free(&cert);
	return rc;
}

/* ------------------------------------------------------------------ orders */

static int prechecks(struct acme_run *r, struct cert_status *st)
{
	struct precheck_opts o;
	struct precheck_result res;
	char what[1100];

	precheck_opts(r, acme_client_account_url(r->client), &o);
	if (!precheck_domain(r->dns, st->domain, &o, &res))
		return 0;
	/* DNS checks cost the CA nothing: no budget, no backoff */
	snprintf(what, sizeof(what), "precheck failed: %s", res.reason);
	record_failure(r, st, what, NULL);
	return -1;
}

static void order_starting(struct acme_run *r, struct cert_status *st)
{
	st->state = CERT_PENDING;
	st->updated = time(NULL);
	st->order_url[0] = '\0';
	snprintf(st->reason, sizeof(st->reason), "order starting");
	save(r, st);
}

static int order(struct acme_run *r, struct cert_status *st)
{
	struct progress_ctx pc = { r, st };
	struct acme_order_req req = { .domain = st->domain, .progress = on_progress, .arg = &pc };
	struct acme_cert cert;
	struct acme_error e;
	int rc;

	if (client(r, &e) || acme_client_account(r->client, &e)) {
		record_failure(r, st, e.reason, &e);
		return -1;
	}
	if (prechecks(r, st))
		return -1;
	order_starting(r, st);
	if (st->has_cert && st->ari_id[0])
		req.replaces = st->ari_id;
	if (r->cfg->push_challenges)
		req.challenge = push_challenge;
	if (acme_client_issue(r->client, &req, &cert, &e)) {
		record_failure(r, st, e.reason, &e);
		return -1;
	}
	ca_answered(r);
	rc = install_new(r, st, &cert);
	acme_cert_free(&cert);
	return rc;
}

int acme_run_issue(struct acme_run *r, const char *domain, struct cert_status *st)
{
	char err[512];
	int held;

	if (cert_status_load(r->cfg->state_dir, domain, st, err, sizeof(err)) < 0 &&
	    cert_status_file_base(domain, err, sizeof(err))) {
		say(r, "%s: not a valid domain name", domain);
		return -1;
	}
	held = install_held(r, st);
	if (held)
		return held > 0 ? 0 : -1;
	return order(r, st);
}

/* ------------------------------------------------------------------ renew */

/* When a record asks for an attempt: 0 not due, 1 due; sets why. */
static int due(struct acme_run *r, const struct cert_status *st, char *why, size_t cap)
{
	time_t now = acme_run_now(r), when;

	if (st->failures >= r->cfg->failure_budget) {
		snprintf(why, cap, "failure budget spent (%u consecutive failures); fix the cause and "
			 "run: edgetrackctl acme issue %s", st->failures, st->domain);
		return 0;
	}
	if (st->retry_after && now < st->retry_after) {
		snprintf(why, cap, "backing off after a failure");
		return 0;
	}
	if (!st->has_cert)
		return 1;
	when = st->next_renewal;
	if (!st->ari && r->cfg->renew_before > 0)
		when = st->not_after - r->cfg->renew_before;
	if (st->state != CERT_ISSUED || now >= when)
		return 1;
	snprintf(why, cap, "not due yet");
	return 0;
}

/* Refreshes the ARI window of a deployed cert (RFC 9773 asks clients to poll it). */
static void refresh_ari(struct acme_run *r, struct cert_status *st)
{
	struct acme_error e;
	time_t before = st->next_renewal;

	if (!st->has_cert || !st->ari_id[0] || client(r, &e) || !acme_client_has_ari(r->client))
		return;
	schedule(r, st);
	if (st->next_renewal != before)
		save(r, st);
}

/* Orders wait while the CA-wide backoff holds, and for the rest of a run that met a CA-side
 * failure (however long the run takes). */
static bool ca_waiting(const struct acme_run *r)
{
	return r->ca_failed || ca_backoff_active(&r->ca, acme_run_now(r));
}

struct renew_counts {
	unsigned attempted, skipped, waiting_for_ca;
	int failed;
};

static void renew_one(struct acme_run *r, struct cert_status *st, struct renew_counts *n)
{
	struct cert_status fresh;
	char why[512];
	int held = install_held(r, st);

	if (held) { /* a held pair costs the CA nothing: installed whatever the schedule */
		n->attempted++;
		n->failed += held < 0;
		return;
	}
	if (!ca_waiting(r))
		refresh_ari(r, st);
	if (!due(r, st, why, sizeof(why))) {
		n->skipped++;
		if (strcmp(why, "not due yet"))
			say(r, "%s: skipped: %s", st->domain, why);
		return;
	}
	if (ca_waiting(r)) {
		n->skipped++;
		n->waiting_for_ca++;
		return;
	}
	n->attempted++;
	say(r, "%s: renewing", st->domain);
	n->failed += acme_run_issue(r, st->domain, &fresh) != 0;
}

int acme_run_renew(struct acme_run *r, unsigned *attempted, unsigned *skipped)
{
	struct cert_status *list;
	struct renew_counts c = { 0 };
	int n = cert_status_list(r->cfg->state_dir, &list, NULL, NULL);
	char t[32];

	for (int i = 0; i < n; i++)
		renew_one(r, &list[i], &c);
	free(list);
	if (c.waiting_for_ca) {
		fmt_time(r->ca.retry_after, t, sizeof(t));
		say(r, "renew: %u due domains wait for the CA until %s (CA-side failure %u in a row: "
		    "%s)", c.waiting_for_ca, t, r->ca.failures, r->ca.reason);
	}
	*attempted = c.attempted;
	*skipped = c.skipped;
	return n < 0 ? -1 : c.failed;
}
