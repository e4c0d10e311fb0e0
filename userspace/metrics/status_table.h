/* SPDX-License-Identifier: MIT */
/*
 * `edgetrackctl status` for a person: the JSON status object as aligned tables (identity,
 * state, certificates, counters, routes). Scripts keep the JSON (--json, or stdout not a
 * terminal).
 */
#ifndef ET_METRICS_STATUS_TABLE_H
#define ET_METRICS_STATUS_TABLE_H

#include <stdio.h>

/* Prints the status object in json as tables; -1 when json is not a status object. */
int status_table_print(const char *json, FILE *out);

#endif
