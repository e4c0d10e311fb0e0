// SPDX-License-Identifier: MIT
#include "dns/dkim.h"
#include "core/err.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_fws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return s;
}

/* tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS] */
static int parse_spec(struct tag_list *l, char *s, size_t pos, char *err, size_t errlen)
{
	char *p = (char *)skip_fws(s), *eq, *end;
	size_t nl = 0;

	if (!*p)
		return 0; /* an empty spec after the last ';' */
	if (!isalpha((unsigned char)*p))
		return err_set(err, errlen, "bad tag name at column %zu", pos + (size_t)(p - s) + 1);
	while (isalnum((unsigned char)p[nl]) || p[nl] == '_')
		nl++;
	eq = (char *)skip_fws(p + nl);
	if (*eq != '=')
		return err_set(err, errlen, "tag \"%.*s\" has no '=' (column %zu)", (int)nl, p,
			       pos + (size_t)(p - s) + 1);
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->t[i].name) == nl && !strncmp(l->t[i].name, p, nl))
			return err_set(err, errlen, "tag \"%.*s\" appears twice", (int)nl, p);
	if (l->n == TAGS_MAX || nl >= sizeof(l->t[0].name))
		return err_set(err, errlen, "too many or too long tags");
	snprintf(l->t[l->n].name, sizeof(l->t[0].name), "%.*s", (int)nl, p);
	l->t[l->n].pos = pos + (size_t)(p - s);
	eq = (char *)skip_fws(eq + 1);
	for (end = eq + strlen(eq); end > eq && strchr(" \t\r\n", end[-1]); end--)
		;
	*end = '\0';
	for (char *v = eq; *v; v++)
		if ((unsigned char)*v < 0x21 || *v == 0x7f || *v == ';') {
			if (strchr(" \t\r\n", *v))
				continue;
			return err_set(err, errlen,
				       "tag \"%s\" has a character outside the syntax (0x%02x)",
				       l->t[l->n].name, (unsigned char)*v);
		}
	l->t[l->n++].value = eq;
	return 0;
}

int tag_list_parse(const char *text, struct tag_list *out, char *err, size_t errlen)
{
	char *s;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	out->buf = strdup(text);
	if (!out->buf)
		return err_set(err, errlen, "out of memory");
	s = out->buf;
	for (;;) {
		char *semi = strchr(s, ';');
		if (semi)
			*semi = '\0';
		if (parse_spec(out, s, pos, err, errlen)) {
			tag_list_free(out);
			return -1;
		}
		if (!semi)
			return 0;
		pos += (size_t)(semi + 1 - s);
		s = semi + 1;
	}
}

void tag_list_free(struct tag_list *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

const char *tag_get(const struct tag_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->t[i].name, name))
			return l->t[i].value;
	return NULL;
}

/* ---------------------------------------------------------------- the key */

/* The base64 of p= without the folding whitespace; -1 with a note on a paste mistake. */
static int clean_base64(const char *p, char *out, size_t cap, struct dd_check *c)
{
	size_t o = 0;
	bool ws = false;

	if (strstr(p, "-----BEGIN") || strstr(p, "-----END")) {
		dd_note(c, DD_FAIL, "p= holds PEM armour (\"-----BEGIN PUBLIC KEY-----\"): publish "
			"only the base64 text between the header lines");
		return -1;
	}
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			ws = true;
			continue;
		}
		if (ch == '"' || ch == '\\') {
			dd_note(c, DD_FAIL, "p= contains %s: the DNS form took quotes or escapes as "
				"part of the key; paste the bare base64 text", ch == '"' ? "quotes" : "a backslash");
			return -1;
		}
		if (!isalnum(ch) && ch != '+' && ch != '/' && ch != '=') {
			dd_note(c, DD_FAIL, "p= contains '%c', which is not base64", ch);
			return -1;
		}
		if (o + 1 >= cap) {
			dd_note(c, DD_FAIL, "p= is longer than any key");
			return -1;
		}
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	if (ws)
		dd_note(c, DD_WARN, "p= contains spaces or line breaks: DNS allows them, but some "
			"verifiers and provider forms do not; publish the key as one unbroken string");
	return 0;
}

static int base64_decode(const char *b64, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(b64), pad = 0;
	int r;

	if (!n || n % 4 || (n / 4) * 3 > cap)
		return -1;
	r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (r < 0)
		return -1;
	while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
		pad++;
	*len = (size_t)r - pad;
	return 0;
}

static void judge_rsa(const unsigned char *der, size_t len, struct dd_check *c)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	int bits;

	if (!k) {
		p = der; /* RFC 6376 §3.6.1 also allows the bare RSAPublicKey */
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	if (!k) {
		dd_note(c, DD_FAIL, "p= is not an RSA public key (DER SubjectPublicKeyInfo or "
			"RSAPublicKey): the key was cut short or pasted wrongly");
		return;
	}
	if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
		dd_note(c, DD_FAIL, "p= holds a %s key but k= says rsa", OBJ_nid2sn(EVP_PKEY_base_id(k)));
	} else if ((bits = EVP_PKEY_get_bits(k)) < 1024) {
		dd_note(c, DD_FAIL, "RSA key of %d bits: receivers ignore signatures from keys "
			"under 1024 bits (RFC 8301)", bits);
	} else if (bits < 2048) {
		dd_note(c, DD_WARN, "RSA key of %d bits: RFC 8301 asks for at least 2048", bits);
	} else {
		dd_note(c, DD_OK, "RSA key of %d bits", bits);
	}
	EVP_PKEY_free(k);
}

static void judge_ed25519(const unsigned char *raw, size_t len, struct dd_check *c)
{
	EVP_PKEY *k;

	if (len != 32) {
		dd_note(c, DD_FAIL, "p= is %zu bytes; an Ed25519 key is the bare 32-byte key "
			"(RFC 8463)%s", len, len == 44 ? ", not its SubjectPublicKeyInfo" : "");
		return;
	}
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	if (!k) {
		dd_note(c, DD_FAIL, "p= is not an Ed25519 public key");
		return;
	}
	dd_note(c, DD_OK, "Ed25519 key (RFC 8463)");
	EVP_PKEY_free(k);
}

static void judge_key(const char *k, const char *p, struct dd_check *c)
{
	char b64[8192];
	unsigned char der[6144];
	size_t len;

	if (!p[0]) {
		dd_note(c, DD_FAIL, "the key is revoked (empty p=): mail signed with this selector "
			"fails DKIM; publish the current key");
		return;
	}
	if (clean_base64(p, b64, sizeof(b64), c))
		return;
	if (base64_decode(b64, der, sizeof(der), &len)) {
		dd_note(c, DD_FAIL, "p= is not valid base64 (%zu characters; a part may be missing)",
			strlen(b64));
		return;
	}
	if (!strcmp(k, "rsa"))
		judge_rsa(der, len, c);
	else
		judge_ed25519(der, len, c);
}

/* h=: colon-separated hash algorithms; RFC 8301 retired sha1. */
static void judge_hashes(const char *h, struct dd_check *c)
{
	if (h && !strstr(h, "sha256"))
		dd_note(c, DD_FAIL, "h=%s: only sha256 is allowed for signing (RFC 8301)", h);
}

static void judge_flags(const char *t, const char *s, struct dd_check *c)
{
	if (t && strchr(t, 'y'))
		dd_note(c, DD_WARN, "t=y: the domain is testing DKIM, receivers may treat signed "
			"mail as unsigned; remove t=y once mail verifies");
	if (s && !strstr(s, "*") && !strstr(s, "email"))
		dd_note(c, DD_FAIL, "s=%s: the key is not for email (s=* or s=email)", s);
}

void dkim_check_key(const char *text, struct dd_check *c)
{
	struct tag_list l;
	char err[200];
	const char *v, *k, *p;

	if (tag_list_parse(text, &l, err, sizeof(err))) {
		dd_note(c, DD_FAIL, "the record is not a valid tag list: %s", err);
		return;
	}
	v = tag_get(&l, "v");
	k = tag_get(&l, "k");
	p = tag_get(&l, "p");
	if (v && (strcmp(v, "DKIM1") || strcmp(l.t[0].name, "v")))
		dd_note(c, DD_FAIL, "v= must be \"DKIM1\" and the first tag (RFC 6376 §3.6.1)");
	else if (k && strcmp(k, "rsa") && strcmp(k, "ed25519"))
		dd_note(c, DD_FAIL, "k=%s: unknown key type (rsa or ed25519)", k);
	else if (!p)
		dd_note(c, DD_FAIL, "the record has no p= tag: there is no key");
	else
		judge_key(k ? k : "rsa", p, c);
	judge_hashes(tag_get(&l, "h"), c);
	judge_flags(tag_get(&l, "t"), tag_get(&l, "s"), c);
	tag_list_free(&l);
}

/* ---------------------------------------------------------------- the record set */

static bool looks_like_key(const char *t)
{
	const char *s = skip_fws(t);

	return !strncmp(s, "v=DKIM1", 7) || strstr(t, "p=") || strstr(t, "k=");
}

/* Several TXT records at the selector: a split key, or keys side by side. */
static void judge_set(const struct dns_answer *a, struct dd_check *c)
{
	size_t keys = 0;

	for (size_t i = 0; i < a->n; i++)
		keys += looks_like_key(a->rr[i].text);
	if (keys < a->n)
		dd_note(c, DD_FAIL, "the key is split across %zu TXT records: publish it as one "
			"record (one record may hold several quoted strings)", a->n);
	else
		dd_note(c, DD_FAIL, "%zu key records at one selector: receivers pick one at random; "
			"keep only the current key", a->n);
}

void dkim_check(struct dns_source *dns, const char *domain, const char *selector,
		const char *target, struct dd_check *c)
{
	char name[DNS_NAME_MAX + 64];
	const struct dns_answer *a;

	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	c->why = "Gmail and Yahoo require DKIM: mail is signed with the key the selector "
		 "publishes, and DMARC passes when that signature aligns with the From domain";
	if (target && *target)
		dd_publish(c, "%s CNAME %s", name, target);
	a = dns_lookup(dns, name, DNS_T_TXT);
	if (a->cname[0])
		dd_found(c, "%s CNAME -> %s", name, a->cname);
	if (a->status == DNS_TEMPFAIL) {
		dd_note(c, DD_TEMPERROR, "TXT lookup of %s failed: %s", name, a->error);
		return;
	}
	if (target && *target && strcasecmp(a->cname, target))
		dd_note(c, a->n ? DD_WARN : DD_FAIL, "%s should be a CNAME to %s%s%s", name, target,
			a->cname[0] ? ", not to " : "", a->cname);
	if (a->status != DNS_OK) {
		dd_note(c, DD_FAIL, "no DKIM key at %s (%s)", a->cname[0] ? a->cname : name,
			a->status == DNS_NXDOMAIN ? "the name does not exist" : "no TXT record");
		if (!target || !*target)
			dd_publish(c, "%s TXT \"v=DKIM1; k=rsa; p=<the public key your ESP gives>\"", name);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		dd_found(c, "%s TXT \"%s\"%s", a->cname[0] ? a->cname : name, a->rr[i].text,
			 a->rr[i].nstr > 1 ? " (several strings, joined)" : "");
	if (a->n > 1)
		judge_set(a, c);
	else
		dkim_check_key(a->rr[0].text, c);
	if (a->cname[0] && c->level == DD_OK)
		dd_note(c, DD_OK, "delegated by CNAME to %s", a->cname);
}
