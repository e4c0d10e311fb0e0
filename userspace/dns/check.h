/* SPDX-License-Identifier: MIT */
/*
 * What one check of the domain doctor reports: a level (ok / warn / temperror / fail), the
 * findings behind it in words a customer can act on, why the check matters, what DNS holds
 * now and the record(s) to publish. A temperror means DNS did not answer in time: it is
 * never ok, and it never counts as the customer's mistake either.
 */
#ifndef ET_DNS_CHECK_H
#define ET_DNS_CHECK_H

#include <stddef.h>

enum dd_level { DD_OK, DD_WARN, DD_TEMPERROR, DD_FAIL }; /* in rising severity */

#define DD_MAX_NOTES 12

struct dd_note {
	enum dd_level level;
	char text[400];
};

struct dd_check {
	const char *name;        /* "ownership", "spf", "dkim", "dmarc", "mx", "cname", "caa" */
	enum dd_level level;     /* the worst note's */
	const char *why;         /* why the check matters */
	char found[1200];        /* what DNS holds, "" when nothing */
	char publish[1200];      /* what to publish, "" when nothing is to be done */
	struct dd_note notes[DD_MAX_NOTES];
	size_t n_notes;
};

/* "ok", "warn", "temperror", "fail" */
const char *dd_level_name(enum dd_level lv);

/* -1 when the name is none of those. */
int dd_level_parse(const char *name);

/* Adds a finding and raises the check's level to it. */
__attribute__((format(printf, 3, 4)))
void dd_note(struct dd_check *c, enum dd_level lv, const char *fmt, ...);

/* The first finding at the check's level: the one-line summary. */
const char *dd_summary(const struct dd_check *c);

/* printf into found / publish. */
__attribute__((format(printf, 2, 3)))
void dd_found(struct dd_check *c, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
void dd_publish(struct dd_check *c, const char *fmt, ...);

#endif
