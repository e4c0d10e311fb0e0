/* SPDX-License-Identifier: MIT */
/*
 * The appliance's state as bundles leave it: generations of config + certificates under
 * <data_dir>/state/, one of which is current.
 *
 *     current  -> gen-42            symlink, switched by renaming a new symlink over it
 *     previous -> gen-41            the generation before, kept for a rollback
 *     gen-42/config.json            the config served (without the appliance's own settings)
 *     gen-42/certs/<domain>.crt|key the cert store directory (unchanged files hard-linked)
 *     gen-42/ticket_keys.json       TLS session ticket secrets (0600) from a bundle's
 *                                   ticket_keys item, or hard-linked from the generation
 *                                   before when the bundle has none; absent until a bundle
 *                                   brings some
 *     serial                        the highest bundle serial ever applied, rolled back or not
 *     gen-43.tmp/                   a generation being built; removed at the next start
 *
 * A generation is complete on disk (files and directories fsync'ed) before the rename that
 * names it and before `current` points at it, so kill -9 at any moment leaves `current`
 * naming the old generation or the new one, never a mix.
 *
 * Precedence: when <data_dir>/state/current exists it is the config and certificate source;
 * the --config file then supplies only the appliance's own settings, which no bundle may
 * carry: data_dir, control_socket and management (and tls.cert_dir, the generation's certs/).
 * Without state, the --config file serves as it is. A generation's ticket_keys.json comes
 * before the config's tls.ticket_keys (state_ticket_keys()).
 */
#ifndef ET_SERVER_STATE_H
#define ET_SERVER_STATE_H

#include "core/config.h"
#include "core/ticket_keys.h"

#include <jansson.h>
#include <stdint.h>
#include <time.h>

struct bundle;

struct state_store {
	char dir[CONFIG_PATH_MAX + 8]; /* <data_dir>/state */
};

/* Names the state directory of data_dir; no I/O. */
void state_init(struct state_store *st, const char *data_dir);
/* Creates the directory and removes what a run killed mid-apply left behind. */
int state_prepare(const struct state_store *st, char *err, size_t errlen);
/* The generation `current` names ("gen-42") and its serial; -1 when there is none. */
int state_current(const struct state_store *st, char *gen, size_t cap, uint64_t *serial);
/* The highest serial applied: the serial file's, or current's when higher; 0 for none. */
uint64_t state_highest_serial(const struct state_store *st);

/*
 * The config edgetrackd serves: the --config file's (NULL: the embedded defaults) or, when
 * a generation is current, that generation's with the file's own settings. NULL with err.
 */
struct config *state_load_config(const char *bootstrap_path, char *err, size_t errlen);

/*
 * The ticket keys of the current generation of data_dir (<gen>/ticket_keys.json): 1 with
 * keys[0..*n), 0 when there is no generation or it has none (the config's then serve), -1
 * with err when the file is there but unreadable or malformed.
 */
int state_ticket_keys(const char *data_dir, struct ticket_key keys[TICKET_KEYS_MAX], size_t *n,
		      char *err, size_t errlen);

/* ---- building a generation from a verified bundle */

/* What the new generation starts from: the config being served and its certificates. */
struct state_base {
	const struct config *served;
	const char *cert_dir;
};

struct state_stage;

/*
 * Checks the whole bundle before anything changes: every cert with its key as the cert store
 * validates them (a cert alone pairs with the key in place, and the other way round), the
 * resulting config as --check-config does, the challenge items (a keyring item is the
 * caller's: trust moves apart from generations). Then builds the generation
 * under a temporary name: unchanged certificates (and ticket keys when the bundle has none)
 * hard-linked from the base, the rest written and fsync'ed. NULL with the reason (nothing visible changed).
 */
struct state_stage *state_stage_bundle(const struct state_store *st, const struct state_base *base,
				       const struct bundle *b, time_t now, char *reason,
				       size_t len);
/* Makes the staged generation current (the old one becomes previous), then records the serial. */
int state_commit(struct state_stage *sg, char *err, size_t errlen);
/* Removes an uncommitted generation; frees sg. */
void state_stage_free(struct state_stage *sg);

/* After an unhealthy apply: records serial (it is never applied again), then makes
 * `previous` current again, or, after the first bundle, leaves no generation current. */
int state_rollback(const struct state_store *st, uint64_t serial, char *err, size_t errlen);
/* Removes the generations neither current nor previous names. */
void state_prune(const struct state_store *st);

/* ---- shared by state.c and stage.c */

#define STATE_TICKET_KEYS     "ticket_keys.json"
#define STATE_TICKET_KEYS_MAX ((size_t)16 << 10)   /* a bundle's item cap */

int state_remove_tree(int at, const char *name);
int state_record_serial(const struct state_store *st, uint64_t serial, char *err, size_t errlen);
/* Points link ("current", "previous") at gen by renaming a new symlink over it. */
int state_set_link(const struct state_store *st, const char *link, const char *gen, char *err,
		   size_t errlen);
/* The first of the appliance's own settings a config object sets, NULL when none. */
const char *state_own_key(const json_t *cfg);
/* A served config's object without the appliance's own settings: what a generation stores. */
json_t *state_strip_own(const json_t *served);
/* A generation's config object served: own's settings and certs as the cert directory. */
json_t *state_served_json(const json_t *gen_cfg, const struct config *own, const char *certs);
/* The same, loaded and validated as a config named <gen_dir>/config.json. */
struct config *state_config_of(const json_t *gen_cfg, const struct config *own,
			       const char *gen_dir, char *err, size_t errlen);

/*
 * Test hook: with ET_TEST_CRASH_AT=<step> in the environment, the process kills itself with
 * SIGKILL when the apply reaches that step (staging, staged, renamed, previous, switched,
 * recorded, reloaded, rollback), as a power cut or kill -9 there would.
 */
void state_crash_point(const char *step);

#endif
