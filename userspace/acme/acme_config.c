// SPDX-License-Identifier: MIT
#include "acme/acme_config.h"
#include "acme/dns_check.h"
#include "core/json_member.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct cfg_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

static int bad(struct cfg_ctx *x, const char *member, const char *what)
{
	snprintf(x->err, x->errlen, "%s: %s: %s", x->path, member, what);
	return -1;
}

static int str(struct cfg_ctx *x, json_t *root, const char *key, char *out, size_t cap,
	       bool required)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return required ? bad(x, key, "required") : 0;
	if (!json_is_string(v))
		return bad(x, key, "must be a string");
	if (json_string_length(v) >= cap)
		return bad(x, key, "too long");
	if (required && !json_string_length(v))
		return bad(x, key, "must not be empty");
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

static int num(struct cfg_ctx *x, json_t *root, const char *key, long lo, long hi, long *out)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(x, key, "must be an integer in range");
	*out = (long)json_integer_value(v);
	return 0;
}

static int addresses(struct cfg_ctx *x, json_t *root, struct acme_config *c)
{
	json_t *arr = json_object_get(root, "appliance_addresses"), *v;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > ACME_CFG_MAX_ADDRS)
		return bad(x, "appliance_addresses", "must be an array of at most 32 addresses");
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || !dns_addr_equal(s, s))
			return bad(x, "appliance_addresses", "entries must be IPv4/IPv6 addresses");
		snprintf(c->addresses[i], sizeof(c->addresses[i]), "%s", s);
		c->address_ptrs[i] = c->addresses[i];
		c->n_addresses++;
	}
	return 0;
}

static int known_keys(struct cfg_ctx *x, json_t *root)
{
	static const char *const known[] = {
		"directory", "ca_file", "account_key", "contact", "eab", "profile",
		"caa_identifier", "tracking_target", "appliance_addresses", "resolver", "cert_dir",
		"control_socket", "state_dir", "push_challenges", "renew_before_seconds",
		"clock_offset_seconds", "failure_budget", "retry_base_seconds", "retry_max_seconds",
		"http_timeout_seconds", "poll_timeout_seconds", "dns_timeout_ms", NULL };
	const char *key = json_unknown_member(root, known);

	return key ? bad(x, key, "unknown member") : 0;
}

static int numbers(struct cfg_ctx *x, json_t *root, struct acme_config *c)
{
	long budget = 5, http = 30, poll = 120, dns = 2000;

	c->retry_base = 300;
	c->retry_max = 86400;
	if (num(x, root, "renew_before_seconds", 0, 400L * 86400, &c->renew_before) ||
	    num(x, root, "clock_offset_seconds", -3650L * 86400, 3650L * 86400, &c->clock_offset) ||
	    num(x, root, "failure_budget", 1, 1000, &budget) ||
	    num(x, root, "retry_base_seconds", 1, 30L * 86400, &c->retry_base) ||
	    num(x, root, "retry_max_seconds", 1, 30L * 86400, &c->retry_max) ||
	    num(x, root, "http_timeout_seconds", 1, 600, &http) ||
	    num(x, root, "poll_timeout_seconds", 1, 3600, &poll) ||
	    num(x, root, "dns_timeout_ms", 100, 60000, &dns))
		return -1;
	c->failure_budget = (unsigned)budget;
	c->http_timeout = (int)http;
	c->poll_timeout = (int)poll;
	c->dns_timeout_ms = (int)dns;
	return 0;
}

static int eab(struct cfg_ctx *x, json_t *root, struct acme_config *c)
{
	json_t *e = json_object_get(root, "eab");

	if (!e)
		return 0;
	if (!json_is_object(e) || str(x, e, "kid", c->eab_kid, sizeof(c->eab_kid), true) ||
	    str(x, e, "hmac_key", c->eab_hmac, sizeof(c->eab_hmac), true))
		return bad(x, "eab", "must be {\"kid\": ..., \"hmac_key\": ...}");
	return 0;
}

int acme_config_load(const char *path, struct acme_config *c, char *err, size_t errlen)
{
	struct cfg_ctx x = { path, err, errlen };
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	json_t *push;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!root) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		bad(&x, "(top)", "must be an object");
		goto out;
	}
	push = json_object_get(root, "push_challenges");
	if (known_keys(&x, root) ||
	    str(&x, root, "directory", c->directory, sizeof(c->directory), true) ||
	    str(&x, root, "ca_file", c->ca_file, sizeof(c->ca_file), false) ||
	    str(&x, root, "account_key", c->account_key, sizeof(c->account_key), true) ||
	    str(&x, root, "contact", c->contact, sizeof(c->contact), false) ||
	    eab(&x, root, c) ||
	    str(&x, root, "profile", c->profile, sizeof(c->profile), false) ||
	    str(&x, root, "caa_identifier", c->caa_identifier, sizeof(c->caa_identifier), false) ||
	    str(&x, root, "tracking_target", c->tracking_target, sizeof(c->tracking_target), false) ||
	    addresses(&x, root, c) ||
	    str(&x, root, "resolver", c->resolver, sizeof(c->resolver), false) ||
	    str(&x, root, "cert_dir", c->cert_dir, sizeof(c->cert_dir), true) ||
	    str(&x, root, "control_socket", c->control_socket, sizeof(c->control_socket), false) ||
	    str(&x, root, "state_dir", c->state_dir, sizeof(c->state_dir), true) ||
	    numbers(&x, root, c))
		goto out;
	if (push && !json_is_boolean(push)) {
		bad(&x, "push_challenges", "must be true or false");
		goto out;
	}
	c->push_challenges = json_is_true(push);
	if (c->push_challenges && !c->control_socket[0]) {
		bad(&x, "push_challenges", "needs control_socket");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
