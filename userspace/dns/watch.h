/* SPDX-License-Identifier: MIT */
/*
 * The watch state of a domain in the state dir (<dir>/<domain>.json): each check's last
 * level, whether the domain is authorized (ownership verified and not lost since), and a
 * bounded history of transitions. A recheck that turns the ownership record from found to
 * missing takes the authorization away; a temperror never does (nor grants it).
 */
#ifndef ET_DNS_WATCH_H
#define ET_DNS_WATCH_H

#include "dns/doctor.h"

#include <stdio.h>
#include <time.h>

#define WATCH_HISTORY_MAX 200

/*
 * Applies one report to the domain's state, prints each transition to out as
 * "<time> <domain> <check>: <from> -> <to>: <summary>" (and "ownership lost" / "authorized"
 * lines), and saves the state. Returns the number of transitions, or -1 with err.
 */
int watch_apply(const char *dir, const struct dd_report *r, time_t now, FILE *out, char *err,
		size_t errlen);

/* The domains with a state file, sorted; *n of them in a malloc'd array of malloc'd names.
 * 0, or -1 when the directory cannot be read (an absent one is empty). */
int watch_domains(const char *dir, char ***names, size_t *n);

#endif
