// SPDX-License-Identifier: MIT
/*
 * The state directory: which generation is current, the serial record, the served config,
 * rollback and clean-up. Building a generation is stage.c's.
 */
#include "server/state.h"

#include "acme/atomic_file.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void state_crash_point(const char *step)
{
	const char *at = getenv("ET_TEST_CRASH_AT");

	if (at && !strcmp(at, step)) {
		log_warn("test_crash", "step=%s", step);
		raise(SIGKILL);
	}
}

void state_init(struct state_store *st, const char *data_dir)
{
	snprintf(st->dir, sizeof(st->dir), "%s/state", data_dir);
}

int state_remove_tree(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return unlinkat(at, name, 0);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			state_remove_tree(dirfd(d), de->d_name);
	closedir(d);
	return unlinkat(at, name, AT_REMOVEDIR);
}

/* Entries a killed apply leaves: a generation being built, half-made links or records. */
static bool leftover(const char *name)
{
	return strstr(name, ".tmp") != NULL;
}

int state_prepare(const struct state_store *st, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;

	if (mkdir(st->dir, 0700) && errno != EEXIST)
		return err_set(err, errlen, "cannot create %s: %s", st->dir, strerror(errno));
	d = opendir(st->dir);
	if (!d)
		return err_set(err, errlen, "cannot read %s: %s", st->dir, strerror(errno));
	while ((de = readdir(d)))
		if (leftover(de->d_name))
			state_remove_tree(dirfd(d), de->d_name);
	closedir(d);
	return 0;
}

/* The generation a link ("current", "previous") names, and its serial. */
static int read_link(const struct state_store *st, const char *link, char *gen, size_t cap,
		     uint64_t *serial)
{
	char path[sizeof(st->dir) + 16], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", st->dir, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	if (sscanf(target, "gen-%" SCNu64, serial) != 1)
		return -1;
	snprintf(gen, cap, "%s", target);
	return 0;
}

int state_current(const struct state_store *st, char *gen, size_t cap, uint64_t *serial)
{
	return read_link(st, "current", gen, cap, serial);
}

uint64_t state_highest_serial(const struct state_store *st)
{
	char path[sizeof(st->dir) + 16], gen[64], *text;
	uint64_t cur = 0, rec = 0;

	state_current(st, gen, sizeof(gen), &cur);
	snprintf(path, sizeof(path), "%s/serial", st->dir);
	text = read_small_file(path, 32, NULL);
	if (text && sscanf(text, "%" SCNu64, &rec) != 1)
		rec = 0;
	free(text);
	return rec > cur ? rec : cur;
}

int state_record_serial(const struct state_store *st, uint64_t serial, char *err,
			size_t errlen)
{
	char path[sizeof(st->dir) + 16], text[32];
	int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", serial);

	snprintf(path, sizeof(path), "%s/serial", st->dir);
	return atomic_write_file(path, text, (size_t)n, 0600, err, errlen);
}

static void sync_dir_of(const struct state_store *st)
{
	int dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

int state_set_link(const struct state_store *st, const char *link, const char *gen, char *err,
		   size_t errlen)
{
	char tmp[32];
	int dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (dfd < 0)
		return err_set(err, errlen, "cannot open %s: %s", st->dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", link);
	unlinkat(dfd, tmp, 0);
	/* the rename replaces the old link in one step: readers see the old or the new */
	if (symlinkat(gen, dfd, tmp) || renameat(dfd, tmp, dfd, link) || fsync(dfd))
		rc = err_set(err, errlen, "cannot point %s/%s at %s: %s", st->dir, link, gen,
			     strerror(errno));
	close(dfd);
	return rc;
}

int state_rollback(const struct state_store *st, uint64_t serial, char *err, size_t errlen)
{
	char prev[64], cur[sizeof(st->dir) + 16];
	uint64_t ps;
	bool has_prev = !read_link(st, "previous", prev, sizeof(prev), &ps);

	/* the serial first: whatever happens next, this bundle is never applied again */
	if (state_record_serial(st, serial, err, errlen))
		return -1;
	state_crash_point("rollback");
	if (has_prev && state_set_link(st, "current", prev, err, errlen))
		return -1;
	/* the first bundle goes back to no state at all: the --config file serves again */
	snprintf(cur, sizeof(cur), "%s/current", st->dir);
	if (!has_prev && unlink(cur) && errno != ENOENT)
		return err_set(err, errlen, "cannot remove %s: %s", cur, strerror(errno));
	sync_dir_of(st);
	log_warn("state_rolled_back", "serial=%" PRIu64 " current=%s", serial,
		 has_prev ? prev : "none (the --config file)");
	return 0;
}

void state_prune(const struct state_store *st)
{
	char cur[64] = "", prev[64] = "";
	uint64_t s;
	struct dirent *de;
	DIR *d = opendir(st->dir);

	if (!d)
		return;
	state_current(st, cur, sizeof(cur), &s);
	read_link(st, "previous", prev, sizeof(prev), &s);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "gen-", 4) || !strcmp(de->d_name, cur) ||
		    !strcmp(de->d_name, prev) || leftover(de->d_name))
			continue;
		if (state_remove_tree(dirfd(d), de->d_name))
			log_warn("state_prune_failed", "gen=%s error=\"%s\"", de->d_name,
				 strerror(errno));
	}
	closedir(d);
}

/* ---------------------------------------------------------------- ticket keys */

int state_ticket_keys(const char *data_dir, struct ticket_key keys[TICKET_KEYS_MAX], size_t *n,
		      char *err, size_t errlen)
{
	struct state_store st;
	char gen[64], path[sizeof(st.dir) + 96], why[256];
	uint64_t serial;
	size_t len;
	char *text;
	int rc;

	state_init(&st, data_dir);
	if (state_current(&st, gen, sizeof(gen), &serial))
		return 0;
	snprintf(path, sizeof(path), "%s/%s/%s", st.dir, gen, STATE_TICKET_KEYS);
	text = read_small_file(path, STATE_TICKET_KEYS_MAX, &len);
	if (!text && errno == ENOENT)
		return 0;
	if (!text)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	rc = ticket_keys_load(text, len, path, keys, n, why, sizeof(why));
	explicit_bzero(text, len);
	free(text);
	if (rc)
		return err_set(err, errlen, "%s", why);
	return 1;
}

/* ---------------------------------------------------------------- the served config */

/* the appliance's own: a bundle's config carries none of them (the fleet's "nats" names the
   appliance and where it ships and watches) */
static const char *const own_keys[] = { "data_dir", "control_socket", "management", "nats",
					NULL };

const char *state_own_key(const json_t *cfg)
{
	const json_t *tls = json_object_get(cfg, "tls");

	for (const char *const *k = own_keys; *k; k++)
		if (json_object_get(cfg, *k))
			return *k;
	return json_object_get(tls, "cert_dir") ? "tls.cert_dir" : NULL;
}

json_t *state_strip_own(const json_t *served)
{
	json_t *o = json_deep_copy(served), *tls;

	if (!o)
		return NULL;
	for (const char *const *k = own_keys; *k; k++)
		json_object_del(o, *k);
	tls = json_object_get(o, "tls");
	if (tls)
		json_object_del(tls, "cert_dir");
	return o;
}

json_t *state_served_json(const json_t *gen_cfg, const struct config *own, const char *certs)
{
	json_t *o = json_deep_copy(gen_cfg), *tls, *mgmt = json_object_get(own->root, "management");
	json_t *nats = json_object_get(own->root, "nats");

	if (!o)
		return NULL;
	if (nats)
		json_object_set_new(o, "nats", json_deep_copy(nats));
	json_object_set_new(o, "data_dir", json_string(own->data_dir));
	json_object_set_new(o, "control_socket", json_string(own->control_socket));
	if (mgmt)
		json_object_set_new(o, "management", json_deep_copy(mgmt));
	tls = json_object_get(o, "tls");
	if (!tls) {
		tls = json_object();
		json_object_set_new(o, "tls", tls);
	}
	/* a "tls" that is no object stays as it is, for the config check to refuse */
	if (json_is_object(tls))
		json_object_set_new(tls, "cert_dir", json_string(certs));
	return o;
}

struct config *state_config_of(const json_t *gen_cfg, const struct config *own,
			       const char *gen_dir, char *err, size_t errlen)
{
	char certs[CONFIG_PATH_MAX], source[CONFIG_PATH_MAX];
	json_t *served;
	char *text;
	struct config *cfg;

	snprintf(certs, sizeof(certs), "%s/certs", gen_dir);
	snprintf(source, sizeof(source), "%s/config.json", gen_dir);
	served = state_served_json(gen_cfg, own, certs);
	text = served ? json_dumps(served, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(served);
	if (!text) {
		err_set(err, errlen, "%s: out of memory", source);
		return NULL;
	}
	cfg = config_load_string(text, source, err, errlen);
	free(text);
	return cfg;
}

/* The current generation's config with the bootstrap config's own settings. */
static struct config *current_config(const struct state_store *st, const char *gen,
				     const struct config *boot, char *err, size_t errlen)
{
	char dir[sizeof(st->dir) + 80], file[sizeof(dir) + 16];
	json_error_t jerr;
	json_t *j;
	struct config *cfg;

	snprintf(dir, sizeof(dir), "%s/%s", st->dir, gen);
	snprintf(file, sizeof(file), "%s/config.json", dir);
	j = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		err_set(err, errlen, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	cfg = state_config_of(j, boot, dir, err, errlen);
	json_decref(j);
	return cfg;
}

struct config *state_load_config(const char *bootstrap_path, char *err, size_t errlen)
{
	struct config *boot, *cfg;
	struct state_store st;
	char gen[64];
	uint64_t serial;

	boot = bootstrap_path ? config_load_file(bootstrap_path, err, errlen)
			      : config_load_embedded(err, errlen);
	if (!boot || boot->embedded)
		return boot;
	state_init(&st, boot->data_dir);
	if (state_current(&st, gen, sizeof(gen), &serial))
		return boot;
	cfg = current_config(&st, gen, boot, err, errlen);
	config_free(boot);
	return cfg;
}
