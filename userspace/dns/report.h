/* SPDX-License-Identifier: MIT */
/* The doctor's reports as a person reads them and as JSON. */
#ifndef ET_DNS_REPORT_H
#define ET_DNS_REPORT_H

#include "dns/doctor.h"

#include <jansson.h>
#include <stdio.h>

/* Per domain: the verdict, one line per check, and for every check that is not ok what is
 * wrong, why it matters, what DNS has and what to publish. */
void report_print(FILE *f, const struct dd_report *r);

/* {"domain", "level", "checks": {"spf": {"level", "summary", "notes": [...], "why",
 *  "found", "publish"}, ...}}; checks not configured are left out. */
json_t *report_json(const struct dd_report *r);

#endif
