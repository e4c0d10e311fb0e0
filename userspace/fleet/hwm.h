/* SPDX-License-Identifier: MIT */
/*
 * The consumer's high-water marks: per appliance, the highest journal seq handed on. An event
 * is handed on once: a seq at or below the mark is a resend (dropped), and a seq above it is
 * handed on only when its predecessor in that appliance's journal (the `prev` each shipped
 * event carries) is at or below the mark, so events leave in journal order even when the
 * stream holds them out of order (a resend after a lost publish lands after later events).
 *
 * The marks live in <state dir>/hwm, replaced atomically and made durable before the
 * consumer acknowledges anything. With them it also keeps where its output file ended at
 * that moment, so lines written after the last durable mark (a crash between the write and
 * the mark) are cut on restart: they come again from the stream.
 *
 *   edgetrack-consumer-hwm 1
 *   out <dev> <inode> <size>          (when the output is a regular file)
 *   <appliance id> <seq>              (one line per appliance)
 */
#ifndef ET_FLEET_HWM_H
#define ET_FLEET_HWM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet/fleet_settings.h"

struct hwm_entry {
	char appliance[FLEET_NAME_MAX + 1];
	uint64_t seq;
};

struct hwm {
	char path[PATH_MAX];
	struct hwm_entry *e;
	size_t n, cap;
	bool have_out;
	uint64_t out_dev, out_ino, out_size;
};

enum hwm_verdict {
	HWM_DELIVER,   /* next in order: hand it on */
	HWM_DUPLICATE, /* at or below the mark: handed on before */
	HWM_EARLY,     /* an event before it has not been handed on yet: wait */
};

/* Loads <dir>/hwm (creating dir). A missing file means no marks. 0, or -1 with err (a file
   that does not parse is an error, never a silent restart from nothing). */
int hwm_load(struct hwm *h, const char *dir, char *err, size_t errlen);
void hwm_free(struct hwm *h);

/* The mark of appliance; false when the appliance was never seen. */
bool hwm_get(const struct hwm *h, const char *appliance, uint64_t *seq);

/* What to do with (appliance, seq, prev). An appliance never seen takes its first event
   whatever prev says when prev is 0 or when give_up is set (the caller waited long enough
   for the events before it: they are gone from the stream). give_up also delivers an EARLY
   event of a known appliance; the caller counts and logs the gap. */
enum hwm_verdict hwm_check(const struct hwm *h, const char *appliance, uint64_t seq,
			   uint64_t prev, bool give_up);

/* Raises the mark in memory (hwm_store makes it durable). 0 or -ENOMEM. */
int hwm_set(struct hwm *h, const char *appliance, uint64_t seq);

/* Writes the marks and the output position atomically and durably. 0 or -1 with err. */
int hwm_store(const struct hwm *h, char *err, size_t errlen);

#endif
