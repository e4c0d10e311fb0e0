/* SPDX-License-Identifier: MIT */
/* Asserts on a domain doctor check: a note containing part exists and the check's level. */
#ifndef ET_TEST_EXPECT_NOTE_H
#define ET_TEST_EXPECT_NOTE_H

#include "dns/check.h"

#include <string.h>

static void expect(const struct dd_check *c, enum dd_level lv, const char *part)
{
	for (size_t i = 0; i < c->n_notes; i++)
		if (strstr(c->notes[i].text, part)) {
			if (c->level != lv)
				fail_msg("level %s, want %s (%s)", dd_level_name(c->level),
					 dd_level_name(lv), dd_summary(c));
			return;
		}
	fail_msg("no note with \"%s\"; summary: %s", part, dd_summary(c));
}

#endif
