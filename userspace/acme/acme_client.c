// SPDX-License-Identifier: MIT
#include "acme/acme_client.h"
#include "acme/acme_problem.h"
#include "acme/csr.h"
#include "core/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define URL_MAX 512
#define BODY_MAX (1024 * 1024)

struct acme_client {
	CURL *curl;
	struct acme_client_opts o;
	EVP_PKEY *key;
	char thumbprint[JWS_THUMBPRINT_LEN + 1];
	char nonce[256];
	char kid[URL_MAX];
	char new_nonce[URL_MAX], new_account[URL_MAX], new_order[URL_MAX], renewal_info[URL_MAX];
	char profiles[512];
};

struct http_resp {
	long status;
	char *body;
	size_t len;
	char location[URL_MAX];
	char nonce[256];
	char content_type[128];
	time_t retry_after;
	bool overflow;
};

static void set_err(struct acme_error *e, enum acme_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(struct acme_error *e, enum acme_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

time_t acme_parse_retry_after(const char *v, time_t now)
{
	char *end;
	long secs;
	time_t t;

	while (v && isspace((unsigned char)*v))
		v++;
	if (!v || !*v)
		return 0;
	errno = 0;
	secs = strtol(v, &end, 10);
	if (end != v && !errno && secs >= 0) {
		while (isspace((unsigned char)*end))
			end++;
		return *end ? 0 : now + secs;
	}
	t = curl_getdate(v, NULL);
	return t > 0 ? t : 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = sz * n;
	char *nb;

	if (r->len + len > BODY_MAX) {
		r->overflow = true;
		return 0;
	}
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, len);
	r->body = nb;
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* Copies a header's value (trimmed) when the line is "name: value". */
static bool header_is(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return false;
	v = line + nl + 1;
	vl = len - nl - 1;
	while (vl && isspace((unsigned char)*v))
		v++, vl--;
	while (vl && isspace((unsigned char)v[vl - 1]))
		vl--;
	snprintf(out, cap, "%.*s", (int)vl, v);
	return true;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = sz * n;
	char ra[128];

	if (header_is(p, len, "Retry-After", ra, sizeof(ra)))
		r->retry_after = acme_parse_retry_after(ra, time(NULL));
	else if (!header_is(p, len, "Replay-Nonce", r->nonce, sizeof(r->nonce)) &&
		 !header_is(p, len, "Location", r->location, sizeof(r->location)))
		header_is(p, len, "Content-Type", r->content_type, sizeof(r->content_type));
	return len;
}

static void resp_reset(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* One HTTP exchange. body NULL: GET (or HEAD when head). */
static int http_do(struct acme_client *c, const char *url, const char *body, bool head,
		   const char *accept, struct http_resp *r, struct acme_error *e)
{
	struct curl_slist *h = NULL;
	char acc[160];
	CURLcode rc;

	resp_reset(r);
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "edgetrack-acme/1");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)c->o.http_timeout);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, (long)(c->o.http_timeout < 10 ? c->o.http_timeout : 10));
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	if (c->o.ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->o.ca_file);
	if (head)
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/jose+json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	}
	snprintf(acc, sizeof(acc), "Accept: %s", accept ? accept : "application/json");
	h = curl_slist_append(h, acc);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		set_err(e, ACME_E_NETWORK, "CA unreachable: %s (%s)",
			r->overflow ? "response too large" : curl_easy_strerror(rc), url);
		return -1;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->nonce[0])
		snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
	return 0;
}

static int get_nonce(struct acme_client *c, struct acme_error *e)
{
	struct http_resp r = { 0 };
	int rc = http_do(c, c->new_nonce, NULL, true, NULL, &r, e);

	if (!rc && !r.nonce[0]) {
		set_err(e, ACME_E_PROTOCOL, "CA gave no Replay-Nonce (HTTP %ld from %s)", r.status,
			c->new_nonce);
		rc = -1;
	}
	resp_reset(&r);
	return rc;
}

static void problem_error(const struct http_resp *r, struct acme_error *e,
			  struct acme_problem *p)
{
	acme_problem_parse(r->body, r->len, (int)r->status, p);
	e->retry_after = r->retry_after;
	e->prob = p->cls;
	set_err(e, p->cls == PROB_RATELIMIT ? ACME_E_RATELIMIT : ACME_E_PROBLEM, "%s", p->reason);
	if (p->cls == PROB_RATELIMIT && !e->retry_after)
		e->retry_after = time(NULL) + 3600; /* no Retry-After: assume an hour */
}

static void sleep_until(time_t when, time_t deadline)
{
	time_t now = time(NULL);
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 500 * 1000 * 1000 };

	if (when > deadline)
		when = deadline;
	if (when > now)
		ts = (struct timespec){ .tv_sec = when - now };
	nanosleep(&ts, NULL);
}

/* One signed POST with the nonce at hand (or a fresh one): -1 on a transport or local
 * error (e set), 0 on success, 1 when the CA answered with a problem (r holds it). */
static int post_once(struct acme_client *c, const char *url, const char *payload,
		     const char *accept, struct http_resp *r, struct acme_error *e)
{
	char err[256], *jws;
	int rc;

	if (!c->nonce[0] && get_nonce(c, e))
		return -1;
	jws = jws_sign(c->key, c->kid[0] ? c->kid : NULL, c->nonce, url, payload ? payload : "",
		       err, sizeof(err));
	c->nonce[0] = '\0'; /* a nonce is good for one request */
	if (!jws) {
		set_err(e, ACME_E_LOCAL, "%s", err);
		return -1;
	}
	rc = http_do(c, url, jws, false, accept, r, e);
	free(jws);
	return rc ? -1 : r->status >= 400;
}

/* badNonce is the CA asking for a resend with the fresh nonce its answer carried (RFC 8555
 * §6.5), not a failure: resend until the deadline, pausing briefly now and then so a CA that
 * rejects every nonce is not flooded. false (reason in e) when time is up. */
static bool resend_after_bad_nonce(const char *url, int rejected, time_t deadline,
				   struct acme_error *e)
{
	size_t n = strlen(e->reason);

	if (time(NULL) >= deadline) {
		snprintf(e->reason + n, sizeof(e->reason) - n, " (%d nonces rejected in a row)",
			 rejected);
		return false;
	}
	log_info("acme_bad_nonce", "url=%s retry=%d", url, rejected);
	if (rejected % 25 == 0)
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	return true;
}

/*
 * Signed POST (payload NULL: POST-as-GET). Resends on badNonce until poll_timeout, retries
 * 5xx a few times; anything else is the caller's to handle.
 */
static int acme_post(struct acme_client *c, const char *url, const char *payload,
		     const char *accept, struct http_resp *r, struct acme_error *e)
{
	time_t deadline = time(NULL) + c->o.poll_timeout;
	struct acme_problem p;
	int rejected = 0, retries = 0, rc;

	while ((rc = post_once(c, url, payload, accept, r, e)) > 0) {
		problem_error(r, e, &p);
		if (p.cls == PROB_BADNONCE) {
			if (!resend_after_bad_nonce(url, ++rejected, deadline, e))
				return -1;
			continue;
		}
		if (p.cls != PROB_RETRY || retries++ >= c->o.max_retries)
			return -1;
		log_warn("acme_retry", "url=%s status=%ld reason=\"%s\"", url, r->status, p.reason);
		sleep_until(r->retry_after ? r->retry_after : time(NULL) + 1, time(NULL) + 10);
	}
	return rc;
}

static json_t *resp_json(const struct http_resp *r, const char *what, struct acme_error *e)
{
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;

	if (!json_is_object(j)) {
		json_decref(j);
		set_err(e, ACME_E_PROTOCOL, "CA sent no JSON %s (HTTP %ld)", what, r->status);
		return NULL;
	}
	return j;
}

static void copy_url(const json_t *o, const char *key, char *out)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(out, URL_MAX, "%s", s ? s : "");
}

static void read_profiles(struct acme_client *c, const json_t *dir)
{
	const json_t *prof = json_object_get(json_object_get(dir, "meta"), "profiles");
	const char *name;
	json_t *v;
	size_t o = 0;

	c->profiles[0] = '\0';
	json_object_foreach((json_t *)prof, name, v) {
		int w = snprintf(c->profiles + o, sizeof(c->profiles) - o, "%s%s", o ? " " : "", name);
		if (w < 0 || (size_t)w >= sizeof(c->profiles) - o)
			break;
		o += (size_t)w;
	}
}

static int fetch_directory(struct acme_client *c, struct acme_error *e)
{
	struct http_resp r = { 0 };
	json_t *dir;

	if (http_do(c, c->o.directory_url, NULL, false, NULL, &r, e))
		return -1;
	if (r.status != 200) {
		set_err(e, ACME_E_NETWORK, "ACME directory %s answered HTTP %ld",
			c->o.directory_url, r.status);
		resp_reset(&r);
		return -1;
	}
	dir = resp_json(&r, "directory", e);
	resp_reset(&r);
	if (!dir)
		return -1;
	copy_url(dir, "newNonce", c->new_nonce);
	copy_url(dir, "newAccount", c->new_account);
	copy_url(dir, "newOrder", c->new_order);
	copy_url(dir, "renewalInfo", c->renewal_info);
	read_profiles(c, dir);
	json_decref(dir);
	if (!c->new_nonce[0] || !c->new_account[0] || !c->new_order[0]) {
		set_err(e, ACME_E_PROTOCOL, "%s is not an ACME directory", c->o.directory_url);
		return -1;
	}
	return 0;
}

struct acme_client *acme_client_new(const struct acme_client_opts *o, struct acme_error *e)
{
	struct acme_client *c = calloc(1, sizeof(*c));

	memset(e, 0, sizeof(*e));
	if (!c || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
		set_err(e, ACME_E_LOCAL, "cannot initialise libcurl");
		acme_client_free(c);
		return NULL;
	}
	c->o = *o;
	c->key = o->account_key;
	if (c->o.http_timeout <= 0)
		c->o.http_timeout = 30;
	if (c->o.poll_timeout <= 0)
		c->o.poll_timeout = 120;
	if (c->o.max_retries <= 0)
		c->o.max_retries = 5;
	if (jws_thumbprint(c->key, c->thumbprint)) {
		set_err(e, ACME_E_LOCAL, "account key is not usable for ES256");
		acme_client_free(c);
		return NULL;
	}
	if (fetch_directory(c, e)) {
		acme_client_free(c);
		return NULL;
	}
	return c;
}

void acme_client_free(struct acme_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

const char *acme_client_account_url(const struct acme_client *c)
{
	return c->kid;
}

const char *acme_client_thumbprint(const struct acme_client *c)
{
	return c->thumbprint;
}

bool acme_client_has_ari(const struct acme_client *c)
{
	return c->renewal_info[0] != '\0';
}

const char *acme_client_profiles(const struct acme_client *c)
{
	return c->profiles;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

int acme_client_account(struct acme_client *c, struct acme_error *e)
{
	struct http_resp r = { 0 };
	char *payload;
	json_t *req;
	int rc;

	if (c->kid[0])
		return 0;
	req = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (req && c->o.contact && c->o.contact[0])
		json_object_set_new(req, "contact", json_pack("[s]", c->o.contact));
	if (req && c->o.eab_kid && c->o.eab_kid[0]) {
		json_t *eab = jws_eab(c->key, c->o.eab_kid, c->o.eab_hmac ? c->o.eab_hmac : "",
				      c->new_account, e->reason, sizeof(e->reason));
		if (!eab) {
			e->kind = ACME_E_LOCAL;
			json_decref(req);
			return -1;
		}
		json_object_set_new(req, "externalAccountBinding", eab);
	}
	payload = dump(req);
	if (!payload) {
		set_err(e, ACME_E_LOCAL, "out of memory");
		return -1;
	}
	rc = acme_post(c, c->new_account, payload, NULL, &r, e);
	free(payload);
	if (!rc && !r.location[0]) {
		set_err(e, ACME_E_PROTOCOL, "CA gave no account URL (HTTP %ld)", r.status);
		rc = -1;
	}
	if (!rc) {
		snprintf(c->kid, sizeof(c->kid), "%s", r.location);
		log_info("acme_account", "url=%s thumbprint=%s", c->kid, c->thumbprint);
	}
	resp_reset(&r);
	return rc;
}

int acme_client_renewal_info(struct acme_client *c, const char *cert_id, struct ari_window *w,
			     struct acme_error *e)
{
	struct http_resp r = { 0 };
	char url[URL_MAX * 2];
	int rc = -1;

	if (!c->renewal_info[0]) {
		set_err(e, ACME_E_LOCAL, "the CA does not offer renewal information (ARI)");
		return -1;
	}
	/* RFC 9773 §4.2: an unauthenticated GET of renewalInfo/<certID> */
	snprintf(url, sizeof(url), "%s%s%s", c->renewal_info,
		 c->renewal_info[strlen(c->renewal_info) - 1] == '/' ? "" : "/", cert_id);
	if (http_do(c, url, NULL, false, NULL, &r, e))
		return -1;
	if (r.status != 200) {
		struct acme_problem p;
		problem_error(&r, e, &p);
	} else if (!ari_parse(r.body ? r.body : "", r.len, w, e->reason, sizeof(e->reason))) {
		rc = 0;
	} else {
		e->kind = ACME_E_LOCAL;
	}
	resp_reset(&r);
	return rc;
}

/* POST-as-GET of an object until its status is one of want, or invalid, or time is up. */
static json_t *poll_status(struct acme_client *c, const char *url, const char *want1,
			   const char *want2, const char *what, struct acme_error *e)
{
	time_t deadline = time(NULL) + c->o.poll_timeout;

	for (;;) {
		struct http_resp r = { 0 };
		const char *st;
		json_t *o;
		time_t next;
		if (acme_post(c, url, NULL, NULL, &r, e))
			return resp_reset(&r), NULL;
		o = resp_json(&r, what, e);
		next = r.retry_after;
		resp_reset(&r);
		if (!o)
			return NULL;
		st = json_string_value(json_object_get(o, "status"));
		if (st && (!strcmp(st, want1) || (want2 && !strcmp(st, want2)) ||
			   !strcmp(st, "invalid")))
			return o;
		json_decref(o);
		if (time(NULL) >= deadline) {
			set_err(e, ACME_E_TIMEOUT, "%s still \"%s\" after %d s (%s)", what,
				st ? st : "?", c->o.poll_timeout, url);
			return NULL;
		}
		/* honour the CA's Retry-After; without one poll again shortly */
		sleep_until(next ? next : 0, deadline);
	}
}

static const json_t *find_http01(const json_t *authz)
{
	const json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(authz, "challenges"), i, ch) {
		const char *t = json_string_value(json_object_get(ch, "type"));
		if (t && !strcmp(t, "http-01"))
			return ch;
	}
	return NULL;
}

static void invalid_reason(const json_t *authz, const char *domain, struct acme_error *e)
{
	const json_t *ch = find_http01(authz);
	const json_t *err = json_object_get(ch, "error");
	struct acme_problem p;

	if (err) {
		acme_problem_from_json(err, 400, &p);
		set_err(e, ACME_E_INVALID, "HTTP-01 validation of %s failed: %s", domain, p.reason);
	} else {
		set_err(e, ACME_E_INVALID, "authorization for %s became invalid", domain);
	}
}

static int answer_challenge(struct acme_client *c, const struct acme_order_req *req,
			    const json_t *ch, const char *authz_url, struct acme_error *e)
{
	const char *token = json_string_value(json_object_get(ch, "token"));
	const char *url = json_string_value(json_object_get(ch, "url"));
	const char *st = json_string_value(json_object_get(ch, "status"));
	struct http_resp r = { 0 };
	char keyauth[512];
	json_t *authz;
	int rc = -1;

	if (!token || !url) {
		set_err(e, ACME_E_PROTOCOL, "CA's http-01 challenge lacks token or url");
		return -1;
	}
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, c->thumbprint);
	if (req->challenge &&
	    req->challenge(req->arg, req->domain, token, keyauth, true, e->reason, sizeof(e->reason))) {
		e->kind = ACME_E_LOCAL;
		return -1;
	}
	/* tell the CA to validate, unless a previous run already did */
	if (st && !strcmp(st, "pending") && acme_post(c, url, "{}", NULL, &r, e))
		goto out;
	authz = poll_status(c, authz_url, "valid", NULL, "authorization", e);
	if (authz) {
		const char *as = json_string_value(json_object_get(authz, "status"));
		if (as && !strcmp(as, "valid"))
			rc = 0;
		else
			invalid_reason(authz, req->domain, e);
		json_decref(authz);
	}
out:
	resp_reset(&r);
	if (req->challenge) {
		char err[256];
		req->challenge(req->arg, req->domain, token, keyauth, false, err, sizeof(err));
	}
	return rc;
}

static int do_authz(struct acme_client *c, const struct acme_order_req *req, const char *url,
		    struct acme_error *e)
{
	struct http_resp r = { 0 };
	const char *st;
	const json_t *ch;
	json_t *authz;
	int rc = -1;

	if (acme_post(c, url, NULL, NULL, &r, e))
		return resp_reset(&r), -1;
	authz = resp_json(&r, "authorization", e);
	resp_reset(&r);
	if (!authz)
		return -1;
	st = json_string_value(json_object_get(authz, "status"));
	ch = find_http01(authz);
	if (st && !strcmp(st, "valid"))
		rc = 0;
	else if (!st || strcmp(st, "pending"))
		set_err(e, ACME_E_INVALID, "authorization for %s is \"%s\"", req->domain,
			st ? st : "?");
	else if (!ch)
		set_err(e, ACME_E_PROBLEM, "the CA offers no http-01 challenge for %s", req->domain);
	else
		rc = answer_challenge(c, req, ch, url, e);
	json_decref(authz);
	return rc;
}

static int download(struct acme_client *c, const char *cert_url, struct acme_cert *out,
		    struct acme_error *e)
{
	struct http_resp r = { 0 };

	if (acme_post(c, cert_url, NULL, "application/pem-certificate-chain", &r, e))
		return resp_reset(&r), -1;
	if (!r.body || !strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
		set_err(e, ACME_E_PROTOCOL, "CA sent no PEM chain from %s", cert_url);
		return resp_reset(&r), -1;
	}
	out->chain_pem = r.body;
	r.body = NULL;
	resp_reset(&r);
	return 0;
}

static int finalize(struct acme_client *c, const struct acme_order_req *req, json_t *order,
		    struct acme_cert *out, struct acme_error *e)
{
	const char *fin = json_string_value(json_object_get(order, "finalize"));
	const char *names[1] = { req->domain }, *cert_url;
	EVP_PKEY *key = acme_key_new_p256();
	struct http_resp r = { 0 };
	unsigned char *der = NULL;
	char *csr_b64 = NULL, *payload = NULL;
	json_t *done = NULL;
	size_t dlen;
	int rc = -1;

	if (!fin || !key || csr_build(key, names, 1, &der, &dlen, e->reason, sizeof(e->reason))) {
		set_err(e, ACME_E_LOCAL, "cannot prepare finalize: %s", fin ? e->reason : "no URL");
		goto out;
	}
	csr_b64 = b64url_encode_alloc(der, dlen);
	payload = csr_b64 ? dump(json_pack("{s:s}", "csr", csr_b64)) : NULL;
	if (!payload || acme_post(c, fin, payload, NULL, &r, e))
		goto out;
	done = poll_status(c, out->order_url, "valid", NULL, "order", e);
	if (!done)
		goto out;
	cert_url = json_string_value(json_object_get(done, "certificate"));
	if (!cert_url) {
		set_err(e, ACME_E_INVALID, "order for %s became invalid after finalize", req->domain);
		goto out;
	}
	if (download(c, cert_url, out, e))
		goto out;
	out->key_pem = acme_key_pem(key);
	rc = out->key_pem ? 0 : -1;
out:
	json_decref(done);
	resp_reset(&r);
	OPENSSL_free(der);
	free(csr_b64);
	free(payload);
	EVP_PKEY_free(key);
	return rc;
}

static bool offers_profile(const struct acme_client *c, const char *name)
{
	const char *p = c->profiles;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == c->profiles || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static char *order_payload(struct acme_client *c, const struct acme_order_req *req,
			   struct acme_cert *out, struct acme_error *e)
{
	json_t *o = json_pack("{s:[{s:s, s:s}]}", "identifiers", "type", "dns", "value",
			      req->domain);

	if (o && c->o.profile && c->o.profile[0]) {
		if (!c->profiles[0]) {
			log_warn("acme_profile_unsupported", "profile=%s reason=\"the CA offers no profiles\"",
				 c->o.profile);
		} else if (!offers_profile(c, c->o.profile)) {
			set_err(e, ACME_E_LOCAL, "the CA does not offer profile \"%s\" (it offers: %s)",
				c->o.profile, c->profiles);
			json_decref(o);
			return NULL;
		} else {
			json_object_set_new(o, "profile", json_string(c->o.profile));
		}
	}
	/* RFC 9773 §5: "replaces" only towards a CA that speaks ARI */
	if (o && req->replaces && req->replaces[0] && acme_client_has_ari(c)) {
		json_object_set_new(o, "replaces", json_string(req->replaces));
		out->replaced = true;
	}
	return dump(o);
}

static json_t *new_order(struct acme_client *c, const struct acme_order_req *req,
			 struct acme_cert *out, struct acme_error *e)
{
	struct http_resp r = { 0 };
	char *payload = order_payload(c, req, out, e);
	json_t *order = NULL;

	if (!payload)
		return NULL;
	if (!acme_post(c, c->new_order, payload, NULL, &r, e)) {
		order = resp_json(&r, "order", e);
		snprintf(out->order_url, sizeof(out->order_url), "%s", r.location);
		if (order && !r.location[0]) {
			set_err(e, ACME_E_PROTOCOL, "CA gave no order URL");
			json_decref(order);
			order = NULL;
		}
	}
	free(payload);
	resp_reset(&r);
	return order;
}

int acme_client_issue(struct acme_client *c, const struct acme_order_req *req,
		      struct acme_cert *out, struct acme_error *e)
{
	const json_t *authzs, *a;
	json_t *order, *ready;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	if (acme_client_account(c, e))
		return -1;
	order = new_order(c, req, out, e);
	if (!order)
		return -1;
	e->order_created = true;
	if (req->progress)
		req->progress(req->arg, "order", out->order_url);
	log_info("acme_order", "domain=%s url=%s replaces=%s", req->domain, out->order_url,
		 out->replaced ? req->replaces : "-");
	authzs = json_object_get(order, "authorizations");
	json_array_foreach(authzs, i, a) {
		if (!json_is_string(a) || do_authz(c, req, json_string_value(a), e))
			goto out;
	}
	ready = poll_status(c, out->order_url, "ready", "valid", "order", e);
	if (ready) {
		const char *st = json_string_value(json_object_get(ready, "status"));
		if (!strcmp(st, "invalid"))
			set_err(e, ACME_E_INVALID, "order for %s became invalid", req->domain);
		else
			rc = finalize(c, req, ready, out, e);
		json_decref(ready);
	}
out:
	json_decref(order);
	if (rc)
		acme_cert_free(out);
	return rc;
}

void acme_cert_free(struct acme_cert *cert)
{
	free(cert->chain_pem);
	if (cert->key_pem)
		OPENSSL_cleanse(cert->key_pem, strlen(cert->key_pem));
	free(cert->key_pem);
	cert->chain_pem = cert->key_pem = NULL;
}
