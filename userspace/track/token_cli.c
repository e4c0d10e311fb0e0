// SPDX-License-Identifier: MIT
#include "track/token_cli.h"

#include "core/hostname.h"
#include "track/token.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_INVALID 1
#define EXIT_USAGE   2
#define MAX_KEY_ARGS 16

static const char usage_text[] =
	"usage: edgetrackctl token encode --host HOST --key-id N (--key HEX | --key-file PATH)\n"
	"                                 --kind click|open|unsubscribe --message N --recipient N\n"
	"                                 [--link N] [--expires DAYS|YYYY-MM-DD] [--url URL]\n"
	"       edgetrackctl token decode TOKEN\n"
	"       edgetrackctl token verify --host HOST [--key-id N] (--key HEX | --key-file PATH)\n"
	"                                 [--key-id N --key HEX ...] [--at YYYY-MM-DD|SECONDS] TOKEN\n"
	"\n"
	"  encode  prints a token signed with the given key (32..64 bytes, hex; a key file holds\n"
	"          the hex text). --expires: valid for DAYS more days, or through YYYY-MM-DD (UTC).\n"
	"          --url is required for click tokens and refused for the others.\n"
	"  decode  prints the fields as JSON without checking the tag.\n"
	"  verify  checks the tag for HOST and the expiry (at --at, default now) and prints the\n"
	"          fields as JSON; exit status 1 and the reason if the token is not valid.\n"
	"          A --key without --key-id is taken to be the key the token names.\n"
	"  TOKEN may also be a whole tracking URL (https://host/c/TOKEN).\n";

enum opt_bit {
	O_HOST = 1 << 0, O_KEY_ID = 1 << 1, O_KEY = 1 << 2, O_KEY_FILE = 1 << 3, O_KIND = 1 << 4,
	O_MESSAGE = 1 << 5, O_RECIPIENT = 1 << 6, O_LINK = 1 << 7, O_EXPIRES = 1 << 8,
	O_URL = 1 << 9, O_AT = 1 << 10,
};

static const struct {
	const char *name;
	enum opt_bit bit;
} opt_names[] = {
	{ "host", O_HOST },       { "key-id", O_KEY_ID },   { "key", O_KEY },
	{ "key-file", O_KEY_FILE }, { "kind", O_KIND },     { "message", O_MESSAGE },
	{ "recipient", O_RECIPIENT }, { "link", O_LINK },   { "expires", O_EXPIRES },
	{ "url", O_URL },         { "at", O_AT },
};

struct key_arg {
	long id;              /* -1: the id of the most recent --key-id, resolved later */
	const char *text;
	int is_file;
};

struct cli {
	FILE *out, *err;
	const char *cmd;
	unsigned seen;
	const char *host, *kind, *message, *recipient, *link, *expires, *url, *at, *token;
	const char *key_ids[MAX_KEY_ARGS];
	size_t nkey_ids;
	struct key_arg keys[MAX_KEY_ARGS];
	size_t nkeys;
};

static int usage_error(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "edgetrackctl token%s%s: ", c->cmd ? " " : "", c->cmd ? c->cmd : "");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fprintf(c->err, "\n(see 'edgetrackctl token --help')\n");
	return EXIT_USAGE;
}

static int fail(struct cli *c, const char *what, const char *why)
{
	fprintf(c->err, "edgetrackctl token %s: %s: %s\n", c->cmd, what, why);
	return EXIT_INVALID;
}

/* ------------------------------------------------------------------------ values */

/* Decimal only (no sign, no 0x, no spaces), at most max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t r = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (r > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		r = r * 10 + (uint64_t)(*s - '0');
	}
	if (r > max)
		return -1;
	*v = r;
	return 0;
}

/* "YYYY-MM-DD" (a real calendar day, UTC) to days since 1970-01-01. */
static int parse_date(const char *s, long *day)
{
	struct tm tm = { 0 }, want, back;
	time_t ts;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	want = tm;
	/* timegm normalizes (Feb 30 = Mar 1): a real date survives the round trip */
	ts = timegm(&tm);
	if (ts == (time_t)-1 || !gmtime_r(&ts, &back) || back.tm_year != want.tm_year ||
	    back.tm_mon != want.tm_mon || back.tm_mday != want.tm_mday)
		return -1;
	*day = token_day(ts);
	return 0;
}

static void format_day(long day, char buf[16])
{
	time_t ts = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&ts, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

/* --expires: DAYS from today, or the last valid day. */
static int parse_expires(const char *s, time_t now, uint16_t *out)
{
	uint64_t n;
	long day;

	if (parse_uint(s, 65535, &n) == 0) {
		if (n == 0)
			return -1;
		day = token_day(now) + (long)n;
	} else if (parse_date(s, &day) < 0) {
		return -1;
	}
	if (day < 1 || day > 65535)
		return -1;
	*out = (uint16_t)day;
	return 0;
}

/* --at: YYYY-MM-DD (start of that day, UTC) or seconds since the epoch. */
static int parse_at(const char *s, time_t *now)
{
	uint64_t secs;
	long day;

	if (parse_uint(s, (uint64_t)INT64_MAX / 2, &secs) == 0) {
		*now = (time_t)secs;
		return 0;
	}
	if (parse_date(s, &day) < 0)
		return -1;
	*now = (time_t)day * 86400;
	return 0;
}

/* Key bytes from hex text or a file holding hex text (surrounding whitespace ignored). */
static int load_key(struct cli *c, const struct key_arg *k, uint8_t *key, size_t *len)
{
	char buf[2 * TOKEN_KEY_MAX + 64];
	const char *hex = k->text;
	size_t n;

	if (k->is_file) {
		FILE *f = fopen(k->text, "re");

		if (!f)
			return fail(c, k->text, strerror(errno));
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		while (n && strchr(" \t\r\n", buf[n - 1]))
			buf[--n] = '\0';
		hex = buf + strspn(buf, " \t\r\n");
	}
	n = 0;
	if (!OPENSSL_hexstr2buf_ex(key, TOKEN_KEY_MAX, &n, hex, '\0') || n < TOKEN_KEY_MIN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return usage_error(c, "key must be %d..%d bytes of hex", TOKEN_KEY_MIN, TOKEN_KEY_MAX);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	*len = n;
	return 0;
}

/* ------------------------------------------------------------------------ arguments */

static int opt_allowed(const char *cmd, enum opt_bit b)
{
	unsigned enc = O_HOST | O_KEY_ID | O_KEY | O_KEY_FILE | O_KIND | O_MESSAGE | O_RECIPIENT |
		       O_LINK | O_EXPIRES | O_URL;
	unsigned ver = O_HOST | O_KEY_ID | O_KEY | O_KEY_FILE | O_AT;

	if (strcmp(cmd, "encode") == 0)
		return !!(enc & b);
	if (strcmp(cmd, "verify") == 0)
		return !!(ver & b);
	return 0;
}

static int set_opt(struct cli *c, enum opt_bit b, const char *name, const char *val)
{
	const char **slot = NULL;

	switch (b) {
	case O_HOST:      slot = &c->host; break;
	case O_KIND:      slot = &c->kind; break;
	case O_MESSAGE:   slot = &c->message; break;
	case O_RECIPIENT: slot = &c->recipient; break;
	case O_LINK:      slot = &c->link; break;
	case O_EXPIRES:   slot = &c->expires; break;
	case O_URL:       slot = &c->url; break;
	case O_AT:        slot = &c->at; break;
	case O_KEY_ID:
		if (c->nkey_ids == MAX_KEY_ARGS)
			return usage_error(c, "too many --%s", name);
		c->key_ids[c->nkey_ids++] = val;
		return 0;
	case O_KEY:
	case O_KEY_FILE:
		if (c->nkeys == MAX_KEY_ARGS)
			return usage_error(c, "too many --%s", name);
		c->keys[c->nkeys].id = (long)c->nkey_ids - 1;   /* index of its --key-id */
		c->keys[c->nkeys].text = val;
		c->keys[c->nkeys].is_file = b == O_KEY_FILE;
		c->nkeys++;
		return 0;
	}
	if (*slot)
		return usage_error(c, "--%s given twice", name);
	*slot = val;
	return 0;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val, *eq;
		char name[32];
		size_t nlen;
		size_t k;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-' && a[1] != '\0')
				return usage_error(c, "unknown option '%s'", a);
			if (c->token)
				return usage_error(c, "unexpected argument '%s'", a);
			c->token = a;
			continue;
		}
		eq = strchr(a + 2, '=');
		nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nlen >= sizeof(name))
			return usage_error(c, "unknown option '%s'", a);
		memcpy(name, a + 2, nlen);
		name[nlen] = '\0';
		for (k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++)
			if (strcmp(name, opt_names[k].name) == 0)
				break;
		if (k == sizeof(opt_names) / sizeof(opt_names[0]) ||
		    !opt_allowed(c->cmd, opt_names[k].bit))
			return usage_error(c, "unknown option '%s'", a);
		if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error(c, "--%s needs a value", name);
			val = argv[++i];
		}
		c->seen |= opt_names[k].bit;
		if (set_opt(c, opt_names[k].bit, name, val))
			return EXIT_USAGE;
	}
	return 0;
}

/* A whole tracking URL is accepted in place of a token: keep the last path segment. */
static void token_text(const char *arg, const char **tok, size_t *len)
{
	const char *slash = strrchr(arg, '/');
	const char *s = slash ? slash + 1 : arg;

	*tok = s;
	*len = strcspn(s, "?#");
}

static int normalized_host(struct cli *c, char *buf, size_t cap, size_t *len)
{
	int n;

	if (!c->host)
		return usage_error(c, "--host is required");
	n = hostname_normalize(c->host, strlen(c->host), buf, cap, 0);
	if (n < 0)
		return usage_error(c, "invalid host '%s'", c->host);
	*len = (size_t)n;
	return 0;
}

/* Builds the keyring from the key arguments; id -1 keys take default_id. */
static int build_keyring(struct cli *c, long default_id, struct token_keyring **out)
{
	struct token_keyring *kr;

	if (c->nkeys == 0)
		return usage_error(c, "a key is required (--key or --key-file)");
	kr = token_keyring_new();
	if (!kr)
		return fail(c, "keyring", "out of memory or no HMAC in libcrypto");
	for (size_t i = 0; i < c->nkeys; i++) {
		uint8_t key[TOKEN_KEY_MAX];
		char err[128];
		size_t klen = 0;
		uint64_t id;
		long idx = c->keys[i].id;
		int rc;

		/* one --key-id anywhere names the one key, whatever the order */
		if (idx < 0 && c->nkeys == 1 && c->nkey_ids == 1)
			idx = 0;
		if (idx >= 0) {
			if (parse_uint(c->key_ids[idx], 255, &id) < 0) {
				token_keyring_free(kr);
				return usage_error(c, "--key-id must be 0..255, not '%s'",
						   c->key_ids[idx]);
			}
		} else if (default_id >= 0) {
			id = (uint64_t)default_id;
		} else {
			token_keyring_free(kr);
			return usage_error(c, "--key-id is required");
		}
		rc = load_key(c, &c->keys[i], key, &klen);
		if (rc) {
			token_keyring_free(kr);
			return rc;
		}
		rc = token_keyring_add(kr, (uint8_t)id, key, klen, err, sizeof(err));
		OPENSSL_cleanse(key, sizeof(key));
		if (rc < 0) {
			token_keyring_free(kr);
			return usage_error(c, "%s", err);
		}
		if (i == 0)
			token_keyring_set_current(kr, (uint8_t)id);
	}
	*out = kr;
	return 0;
}

/* ------------------------------------------------------------------------ output */

static json_t *token_json(const struct token *t)
{
	json_t *o = json_object();
	char num[24], date[16];

	json_object_set_new(o, "version", json_integer(t->version));
	json_object_set_new(o, "key_id", json_integer(t->key_id));
	json_object_set_new(o, "kind", json_string(token_kind_name(t->kind)));
	/* u64 ids as decimal strings: JSON numbers lose precision above 2^53 in many readers */
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->message_id);
	json_object_set_new(o, "message_id", json_string(num));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->recipient_id);
	json_object_set_new(o, "recipient_id", json_string(num));
	json_object_set_new(o, "link_index", json_integer(t->link_index));
	if (t->expiry_days) {
		format_day(t->expiry_days, date);
		json_object_set_new(o, "expiry_days", json_integer(t->expiry_days));
		json_object_set_new(o, "expires", json_string(date));
	} else {
		json_object_set_new(o, "expiry_days", json_null());
		json_object_set_new(o, "expires", json_null());
	}
	if (t->kind == TOKEN_CLICK)
		json_object_set_new(o, "url", json_stringn(t->url, t->url_len));
	return o;
}

static int print_json(struct cli *c, json_t *o)
{
	int rc = json_dumpf(o, c->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (rc < 0 || fputc('\n', c->out) == EOF || fflush(c->out) == EOF)
		return fail(c, "output", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------------ commands */

static int fill_token(struct cli *c, struct token *t)
{
	uint64_t v;

	memset(t, 0, sizeof(*t));
	if (!c->kind || !c->message || !c->recipient)
		return usage_error(c, "--%s is required", !c->kind ? "kind" :
				   !c->message ? "message" : "recipient");
	if (token_kind_parse(c->kind, &t->kind) < 0)
		return usage_error(c, "--kind must be click, open or unsubscribe, not '%s'",
				   c->kind);
	if (parse_uint(c->message, UINT64_MAX, &t->message_id) < 0)
		return usage_error(c, "--message must be a decimal number 0..2^64-1, not '%s'",
				   c->message);
	if (parse_uint(c->recipient, UINT64_MAX, &t->recipient_id) < 0)
		return usage_error(c, "--recipient must be a decimal number 0..2^64-1, not '%s'",
				   c->recipient);
	if (c->link) {
		if (parse_uint(c->link, 65535, &v) < 0)
			return usage_error(c, "--link must be 0..65535, not '%s'", c->link);
		t->link_index = (uint16_t)v;
	}
	if (c->expires && parse_expires(c->expires, time(NULL), &t->expiry_days) < 0)
		return usage_error(c, "--expires must be a number of days (1..) or a date "
				   "YYYY-MM-DD up to 2149-06-06, not '%s'", c->expires);
	if (t->kind == TOKEN_CLICK) {
		size_t ulen = c->url ? strlen(c->url) : 0;

		if (!c->url || !token_url_valid(c->url, ulen))
			return usage_error(c, "click needs --url: an absolute http(s) URL of at "
					   "most 2048 printable ASCII bytes");
		t->url = c->url;
		t->url_len = (uint16_t)ulen;
	} else if (c->url) {
		return usage_error(c, "--url is only for click tokens");
	}
	return 0;
}

static int cmd_encode(struct cli *c)
{
	char host[HOSTNAME_MAX + 1], out[TOKEN_MAX_LEN + 1], err[256];
	struct token_keyring *kr = NULL;
	struct token t;
	size_t hlen;
	int rc;

	if (c->token)
		return usage_error(c, "unexpected argument '%s'", c->token);
	if (c->nkeys > 1 || c->nkey_ids > 1)
		return usage_error(c, "encode takes one key");
	if (c->nkeys == 1 && c->nkey_ids == 0)
		return usage_error(c, "--key-id is required");
	rc = normalized_host(c, host, sizeof(host), &hlen);
	if (!rc)
		rc = fill_token(c, &t);
	if (!rc)
		rc = build_keyring(c, -1, &kr);
	if (rc)
		return rc;
	rc = token_encode(kr, host, hlen, &t, out, sizeof(out), err, sizeof(err));
	token_keyring_free(kr);
	if (rc < 0)
		return fail(c, "encode", err);
	fprintf(c->out, "%s\n", out);
	return fflush(c->out) == EOF ? fail(c, "output", strerror(errno)) : 0;
}

static int cmd_decode(struct cli *c)
{
	uint8_t scratch[TOKEN_SCRATCH];
	struct token t;
	const char *tok;
	size_t len;
	enum token_err e;

	if (!c->token)
		return usage_error(c, "a TOKEN argument is required");
	token_text(c->token, &tok, &len);
	e = token_parse_unverified(tok, len, &t, scratch, sizeof(scratch));
	if (e != TOKEN_OK)
		return fail(c, "decode", token_strerror(e));
	return print_json(c, token_json(&t));
}

static int cmd_verify(struct cli *c)
{
	uint8_t scratch[TOKEN_SCRATCH];
	char host[HOSTNAME_MAX + 1];
	struct token_keyring *kr = NULL;
	struct token t;
	const char *tok;
	size_t len, hlen;
	time_t now = time(NULL);
	enum token_err e;
	json_t *o;
	int rc;

	if (!c->token)
		return usage_error(c, "a TOKEN argument is required");
	if (c->at && parse_at(c->at, &now) < 0)
		return usage_error(c, "--at must be YYYY-MM-DD or seconds since 1970, not '%s'",
				   c->at);
	rc = normalized_host(c, host, sizeof(host), &hlen);
	if (rc)
		return rc;
	token_text(c->token, &tok, &len);
	/* A key without --key-id is the one the token names: read the id first, unverified. */
	e = token_parse_unverified(tok, len, &t, scratch, sizeof(scratch));
	if (e == TOKEN_OK || e == TOKEN_EKIND)   /* both mean the fixed fields were decoded */
		rc = build_keyring(c, scratch[1], &kr);
	else
		rc = build_keyring(c, 0, &kr);
	if (rc)
		return rc;
	e = token_decode(kr, host, hlen, tok, len, now, &t, scratch, sizeof(scratch));
	token_keyring_free(kr);
	o = e == TOKEN_OK ? token_json(&t) : json_object();
	json_object_set_new(o, "valid", json_boolean(e == TOKEN_OK));
	json_object_set_new(o, "host", json_string(host));
	if (e != TOKEN_OK)
		json_object_set_new(o, "error", json_string(token_strerror(e)));
	rc = print_json(c, o);
	if (rc)
		return rc;
	if (e != TOKEN_OK)
		return fail(c, "verify", token_strerror(e));
	return 0;
}

int token_cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli c = { .out = out, .err = err };
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, argc < 2 ? err : out);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	c.cmd = argv[1];
	if (strcmp(c.cmd, "encode") && strcmp(c.cmd, "decode") && strcmp(c.cmd, "verify")) {
		c.cmd = NULL;
		return usage_error(&c, "unknown command '%s'", argv[1]);
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, out);
			return 0;
		}
	}
	rc = parse_args(&c, argc, argv);
	if (rc)
		return rc;
	if (strcmp(c.cmd, "encode") == 0)
		return cmd_encode(&c);
	if (strcmp(c.cmd, "decode") == 0)
		return cmd_decode(&c);
	return cmd_verify(&c);
}

int token_cli_main(int argc, char **argv)
{
	return token_cli_run(argc, argv, stdout, stderr);
}
