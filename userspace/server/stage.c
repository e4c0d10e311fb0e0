// SPDX-License-Identifier: MIT
/*
 * A verified bundle becomes a new generation: first every check that can refuse it, then the
 * generation is built under gen-<serial>.tmp/ and committed by renames (state.h tells the
 * layout and why it survives kill -9).
 */
#include "server/state.h"

#include "acme/atomic_file.h"
#include "acme/challenge.h"
#include "bundle/bundle.h"
#include "certs/cert_check.h"
#include "certs/cert_store.h"
#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "server/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the bundle does to one domain's certificate files. */
struct cert_change {
	char domain[BUNDLE_DOMAIN_MAX + 1];  /* normalized; "*.example.com" for a wildcard */
	char stem[BUNDLE_DOMAIN_MAX + 16];   /* file name without .crt/.key */
	const struct bundle_item *crt, *key; /* new files; NULL keeps the base's */
	bool removed;
};

struct plan {
	struct cert_change *certs;
	size_t n;
	const struct bundle_item *config;
	const struct bundle_item *tickets;   /* NULL: the base generation's stay in force */
};

struct state_stage {
	const struct state_store *st;
	uint64_t serial;
	char name[32], tmp[40];              /* gen-<serial>, gen-<serial>.tmp */
	int sfd, gfd, cfd;                   /* state dir, the generation, its certs/ */
	bool committed;
};

/* ---------------------------------------------------------------- the plan */

static int by_stem(const void *a, const void *b)
{
	return strcmp(((const struct cert_change *)a)->stem, ((const struct cert_change *)b)->stem);
}

static struct cert_change *find_change(const struct plan *p, const char *stem)
{
	struct cert_change key;

	snprintf(key.stem, sizeof(key.stem), "%s", stem);
	return bsearch(&key, p->certs, p->n, sizeof(*p->certs), by_stem);
}

/* One cert, key or remove item as a change of its own; merged by domain afterwards. */
static int add_change(struct plan *p, const struct bundle_item *it, char *reason, size_t len)
{
	struct cert_change *c = &p->certs[p->n];
	const char *name;

	if (hostname_normalize(it->domain, strlen(it->domain), c->domain, sizeof(c->domain),
			       HOSTNAME_ALLOW_WILDCARD) < 0)
		return err_set(reason, len, "\"%s\" is not a domain name", it->domain);
	name = c->domain[0] == '*' ? c->domain + 2 : c->domain;
	snprintf(c->stem, sizeof(c->stem), "%s%s", c->domain[0] == '*' ? "_wildcard." : "", name);
	c->crt = it->type == BUNDLE_ITEM_CERT ? it : NULL;
	c->key = it->type == BUNDLE_ITEM_KEY ? it : NULL;
	c->removed = it->type == BUNDLE_ITEM_REMOVE;
	p->n++;
	return 0;
}

/* Folds the changes of one domain into one; a second cert or key, or a removal of a
 * domain the bundle also gives files, is a contradiction. */
static int merge_changes(struct plan *p, char *reason, size_t len)
{
	size_t out = 0;

	qsort(p->certs, p->n, sizeof(*p->certs), by_stem);
	for (size_t i = 0; i < p->n; i++) {
		struct cert_change *a = &p->certs[out ? out - 1 : 0], *b = &p->certs[i];

		if (!out || strcmp(a->stem, b->stem)) {
			p->certs[out++] = *b;
			continue;
		}
		if ((a->crt && b->crt) || (a->key && b->key) || a->removed || b->removed)
			return err_set(reason, len, "%s: the bundle changes it twice", a->domain);
		a->crt = a->crt ? a->crt : b->crt;
		a->key = a->key ? a->key : b->key;
	}
	p->n = out;
	return 0;
}

/* Challenge items as the challenge store would take them, tried on a scratch table. */
static int check_challenges(const struct bundle *b, char *reason, size_t len)
{
	struct challenge_table *t = challenge_table_new(3600);
	char why[256];
	int rc = 0;

	if (!t)
		return err_set(reason, len, "out of memory");
	for (size_t i = 0; i < b->n_items && !rc; i++) {
		const struct bundle_item *it = &b->items[i];

		if (it->type == BUNDLE_ITEM_CHALLENGE &&
		    challenge_table_add(t, it->token ? it->token : "",
					it->key_authorization ? it->key_authorization : "", 0, why,
					sizeof(why)))
			rc = err_set(reason, len, "challenge: %s", why);
	}
	challenge_table_free(t);
	return rc;
}

static int make_plan(struct plan *p, const struct bundle *b, char *reason, size_t len)
{
	p->certs = calloc(b->n_items + 1, sizeof(*p->certs));
	if (!p->certs)
		return err_set(reason, len, "out of memory");
	for (size_t i = 0; i < b->n_items; i++) {
		const struct bundle_item *it = &b->items[i];

		switch (it->type) {
		case BUNDLE_ITEM_CONFIG:
			if (p->config)
				return err_set(reason, len, "the bundle has two configs");
			p->config = it;
			break;
		case BUNDLE_ITEM_CERT:
		case BUNDLE_ITEM_KEY:
		case BUNDLE_ITEM_REMOVE:
			if (add_change(p, it, reason, len))
				return -1;
			break;
		case BUNDLE_ITEM_TICKET_KEYS:
			if (p->tickets)
				return err_set(reason, len, "the bundle has two ticket_keys items");
			p->tickets = it;
			break;
		case BUNDLE_ITEM_CHALLENGE:
		case BUNDLE_ITEM_KEYRING: /* trust, not state: the applier installs it */
			break;
		default:
			return err_set(reason, len, "item %zu: unknown type %d", i, (int)it->type);
		}
	}
	if (merge_changes(p, reason, len))
		return -1;
	return check_challenges(b, reason, len);
}

/* ---------------------------------------------------------------- checks */

/* The new file of a change, or the base's when the bundle keeps it; NULL when neither. */
static char *file_of(const struct cert_change *c, const struct bundle_item *it,
		     const char *cert_dir, const char *ext, size_t *len)
{
	char path[CONFIG_PATH_MAX + BUNDLE_DOMAIN_MAX + 32];
	char *copy;

	if (it) {
		copy = malloc(it->len + 1);
		if (copy) {
			memcpy(copy, it->data, it->len);
			copy[it->len] = '\0';
			*len = it->len;
		}
		return copy;
	}
	snprintf(path, sizeof(path), "%s/%s.%s", cert_dir, c->stem, ext);
	return read_small_file(path, CERT_FILE_MAX, len);
}

/* Every changed pair as the cert store validates it when it loads the directory. */
static int check_pair(struct cert_checker *chk, const struct cert_change *c,
		      const char *cert_dir, time_t now, char *reason, size_t len)
{
	size_t clen = 0, klen = 0;
	char *crt = file_of(c, c->crt, cert_dir, "crt", &clen);
	char *key = file_of(c, c->key, cert_dir, "key", &klen);
	char why[256];
	int rc = 0;

	if (!crt || !key)
		rc = err_set(reason, len, "%s: a %s without its %s", c->domain, crt ? "cert" : "key",
			     crt ? "key" : "cert");
	else if (cert_checker_check(chk, c->domain, crt, clen, key, klen, now, why, sizeof(why)))
		rc = err_set(reason, len, "%s: %s", c->domain, why);
	if (key)
		explicit_bzero(key, klen);
	free(crt);
	free(key);
	return rc;
}

/* A bundle's config: an object without the appliance's own settings, valid once served. */
static json_t *check_config(const struct bundle_item *it, const struct state_base *base,
			    const char *gen_dir, char *reason, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)it->data, it->len, JSON_REJECT_DUPLICATES, &jerr);
	const char *own;
	char why[CONFIG_ERR_MAX];
	struct config *cfg;

	if (!j || !json_is_object(j)) {
		err_set(reason, len, "config: %s", j ? "not a JSON object" : jerr.text);
		json_decref(j);
		return NULL;
	}
	own = state_own_key(j);
	if (own) {
		err_set(reason, len, "config: \"%s\" is the appliance's own setting (--config)", own);
		json_decref(j);
		return NULL;
	}
	cfg = state_config_of(j, base->served, gen_dir, why, sizeof(why));
	if (!cfg || server_check_config(cfg, why, sizeof(why))) {
		err_set(reason, len, "config: %s", why);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---------------------------------------------------------------- building */

/* Not synced one by one: a stage of 10,000 certificates would wait for 20,000 fsyncs. The
 * whole stage is flushed with one syncfs() before it is named (state_stage_bundle). */
static int write_at(int dfd, const char *name, const void *data, size_t len, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int rc;

	if (fd < 0)
		return -1;
	rc = write_all(fd, data, len);
	close(fd);
	return rc;
}

static int copy_at(const char *path, int to, const char *name)
{
	size_t len;
	char *data = read_small_file(path, CERT_FILE_MAX, &len);
	int rc;

	if (!data)
		return -1;
	rc = write_at(to, name, data, len, strstr(name, ".key") ? 0600 : 0644);
	explicit_bzero(data, len);
	free(data);
	return rc;
}

/* A file of the base as it is: a hard link within the state directory, a copy from elsewhere
 * (a link would let a later in-place edit there change a generation). */
static int inherit(const char *dir, int cfd, const char *name, bool link)
{
	char path[CONFIG_PATH_MAX + 300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (link && !linkat(AT_FDCWD, path, cfd, name, 0))
		return 0;
	return copy_at(path, cfd, name);
}

static bool cert_file(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && (!strcmp(name + n - 4, ".crt") || !strcmp(name + n - 4, ".key"));
}

static int build_certs(struct state_stage *sg, const struct plan *p, const char *base_dir,
		       char *err, size_t errlen)
{
	bool link = !strncmp(base_dir, sg->st->dir, strlen(sg->st->dir));
	DIR *d = opendir(base_dir);
	struct dirent *de;
	int rc = 0;

	if (!d && errno != ENOENT)
		return err_set(err, errlen, "cannot read %s: %s", base_dir, strerror(errno));
	while (d && rc == 0 && (de = readdir(d))) {
		char stem[sizeof(de->d_name)];

		if (!cert_file(de->d_name))
			continue;
		snprintf(stem, sizeof(stem), "%.*s", (int)strlen(de->d_name) - 4, de->d_name);
		if (!find_change(p, stem) && inherit(base_dir, sg->cfd, de->d_name, link))
			rc = err_set(err, errlen, "cannot copy %s/%s: %s", base_dir, de->d_name,
				     strerror(errno));
	}
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct cert_change *c = &p->certs[i];
		char crt[sizeof(c->stem) + 4], key[sizeof(c->stem) + 4];

		if (c->removed)
			continue;
		snprintf(crt, sizeof(crt), "%s.crt", c->stem);
		snprintf(key, sizeof(key), "%s.key", c->stem);
		if ((c->key ? write_at(sg->cfd, key, c->key->data, c->key->len, 0600)
			    : inherit(base_dir, sg->cfd, key, link)) ||
		    (c->crt ? write_at(sg->cfd, crt, c->crt->data, c->crt->len, 0644)
			    : inherit(base_dir, sg->cfd, crt, link)))
			rc = err_set(err, errlen, "cannot write the files of %s: %s", c->domain,
				     strerror(errno));
		state_crash_point("staging");
	}
	if (d)
		closedir(d);
	return rc;
}

static int write_config(struct state_stage *sg, json_t *cfg, char *err, size_t errlen)
{
	char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc = text ? write_at(sg->gfd, "config.json", text, strlen(text), 0600) : -1;

	free(text);
	return rc ? err_set(err, errlen, "cannot write %s/%s/config.json: %s", sg->st->dir,
			    sg->tmp, strerror(errno ? errno : ENOMEM)) : 0;
}

/* The bundle's ticket keys, or else the current generation's (a hard link: the same secrets,
 * so the keys in force stay in force); none when neither has any. */
static int write_tickets(struct state_stage *sg, const struct plan *p, char *err, size_t errlen)
{
	char gen[64], from[sizeof(gen) + sizeof(STATE_TICKET_KEYS) + 1];
	uint64_t serial;

	if (p->tickets) {
		if (write_at(sg->gfd, STATE_TICKET_KEYS, p->tickets->data, p->tickets->len, 0600))
			return err_set(err, errlen, "cannot write %s/%s/%s: %s", sg->st->dir, sg->tmp,
				       STATE_TICKET_KEYS, strerror(errno));
		return 0;
	}
	if (state_current(sg->st, gen, sizeof(gen), &serial))
		return 0;
	snprintf(from, sizeof(from), "%s/%s", gen, STATE_TICKET_KEYS);
	if (linkat(sg->sfd, from, sg->gfd, STATE_TICKET_KEYS, 0) && errno != ENOENT)
		return err_set(err, errlen, "cannot link %s/%s into %s: %s", sg->st->dir, from,
			       sg->tmp, strerror(errno));
	return 0;
}

static struct state_stage *stage_new(const struct state_store *st, uint64_t serial, char *err,
				     size_t errlen)
{
	struct state_stage *sg = calloc(1, sizeof(*sg));

	if (!sg) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	sg->st = st;
	sg->serial = serial;
	sg->gfd = sg->cfd = -1;
	snprintf(sg->name, sizeof(sg->name), "gen-%" PRIu64, serial);
	snprintf(sg->tmp, sizeof(sg->tmp), "%s.tmp", sg->name);
	sg->sfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sg->sfd >= 0) {
		/* what a run killed before recording this serial may have left */
		state_remove_tree(sg->sfd, sg->tmp);
		state_remove_tree(sg->sfd, sg->name);
		if (!mkdirat(sg->sfd, sg->tmp, 0700))
			sg->gfd = openat(sg->sfd, sg->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sg->gfd >= 0 && !mkdirat(sg->gfd, "certs", 0700))
			sg->cfd = openat(sg->gfd, "certs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (sg->cfd < 0) {
		err_set(err, errlen, "cannot create %s/%s: %s", st->dir, sg->tmp, strerror(errno));
		state_stage_free(sg);
		return NULL;
	}
	return sg;
}

/* Every file and directory of the stage on disk before state_commit() names it: one
 * syncfs() of the state's file system (it reports write-back errors since Linux 5.8). */
static int sync_stage(struct state_stage *sg, char *err, size_t errlen)
{
	if (syncfs(sg->gfd))
		return err_set(err, errlen, "cannot flush %s/%s: %s", sg->st->dir, sg->tmp,
			       strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------- the whole */

static int check_all(const struct plan *p, const struct state_base *base, time_t now,
		     char *reason, size_t len)
{
	struct cert_checker *chk = cert_checker_new();
	int rc = 0;

	if (!chk)
		return err_set(reason, len, "out of memory");
	for (size_t i = 0; i < p->n && rc == 0; i++)
		if (!p->certs[i].removed)
			rc = check_pair(chk, &p->certs[i], base->cert_dir, now, reason, len);
	cert_checker_free(chk);
	return rc;
}

struct state_stage *state_stage_bundle(const struct state_store *st, const struct state_base *base,
				       const struct bundle *b, time_t now, char *reason,
				       size_t len)
{
	char gen_dir[sizeof(st->dir) + 48];
	struct plan p = { 0 };
	struct state_stage *sg = NULL;
	json_t *cfg = NULL;

	snprintf(gen_dir, sizeof(gen_dir), "%s/gen-%" PRIu64, st->dir, b->serial);
	if (make_plan(&p, b, reason, len) || check_all(&p, base, now, reason, len))
		goto out;
	cfg = p.config ? check_config(p.config, base, gen_dir, reason, len)
		       : state_strip_own(base->served->root);
	if (!cfg) {
		if (!p.config)
			err_set(reason, len, "out of memory");
		goto out;
	}
	sg = stage_new(st, b->serial, reason, len);
	if (sg && (write_config(sg, cfg, reason, len) || write_tickets(sg, &p, reason, len) ||
		   build_certs(sg, &p, base->cert_dir, reason, len) || sync_stage(sg, reason, len))) {
		state_stage_free(sg);
		sg = NULL;
	}
out:
	json_decref(cfg);
	free(p.certs);
	return sg;
}

int state_commit(struct state_stage *sg, char *err, size_t errlen)
{
	char old[64], why[256];
	uint64_t old_serial;
	bool had = !state_current(sg->st, old, sizeof(old), &old_serial);

	state_crash_point("staged");
	if (renameat(sg->sfd, sg->tmp, sg->sfd, sg->name) || fsync(sg->sfd))
		return err_set(err, errlen, "cannot name %s/%s: %s", sg->st->dir, sg->name,
			       strerror(errno));
	sg->committed = true;
	state_crash_point("renamed");
	if (had ? state_set_link(sg->st, "previous", old, err, errlen)
		: unlinkat(sg->sfd, "previous", 0) && errno != ENOENT)
		return err_set(err, errlen, "cannot update %s/previous: %s", sg->st->dir,
			       strerror(errno));
	state_crash_point("previous");
	if (state_set_link(sg->st, "current", sg->name, err, errlen))
		return -1;
	state_crash_point("switched");
	/* current names the serial now: a lost record is not a replay window */
	if (state_record_serial(sg->st, sg->serial, why, sizeof(why)))
		log_warn("state_serial_not_recorded", "reason=\"%s\"", why);
	state_crash_point("recorded");
	log_info("state_committed", "current=%s previous=%s", sg->name, had ? old : "none");
	return 0;
}

void state_stage_free(struct state_stage *sg)
{
	if (!sg)
		return;
	if (sg->cfd >= 0)
		close(sg->cfd);
	if (sg->gfd >= 0)
		close(sg->gfd);
	if (!sg->committed && sg->sfd >= 0)
		state_remove_tree(sg->sfd, sg->tmp);
	if (sg->sfd >= 0)
		close(sg->sfd);
	free(sg);
}
