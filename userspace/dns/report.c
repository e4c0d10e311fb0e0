// SPDX-License-Identifier: MIT
#include "dns/report.h"

#include <string.h>

/* Each line of a multi-line text, indented. */
static void lines(FILE *f, const char *label, const char *text)
{
	const char *p = text;

	if (!*text)
		return;
	fprintf(f, "      %s:\n", label);
	while (*p) {
		size_t l = strcspn(p, "\n");
		fprintf(f, "        %.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
}

static void print_check(FILE *f, const struct dd_check *c)
{
	fprintf(f, "  %-10s %-9s %s\n", c->name, dd_level_name(c->level), dd_summary(c));
	for (size_t i = 0; i < c->n_notes; i++) {
		const struct dd_note *n = &c->notes[i];
		if (n->text == dd_summary(c))
			continue;
		if (n->level == DD_OK)
			fprintf(f, "      - %s\n", n->text);
		else
			fprintf(f, "      - [%s] %s\n", dd_level_name(n->level), n->text);
	}
	if (c->level == DD_OK)
		return;
	if (c->why)
		fprintf(f, "      why: %s\n", c->why);
	lines(f, "found", c->found);
	lines(f, "publish", c->publish);
}

void report_print(FILE *f, const struct dd_report *r)
{
	fprintf(f, "%s: %s\n", r->domain, dd_level_name(r->level));
	for (int i = 0; i < DD_N_CHECKS; i++)
		if (!r->skipped[i])
			print_check(f, &r->checks[i]);
	fputc('\n', f);
}

static json_t *check_json(const struct dd_check *c)
{
	json_t *notes = json_array();

	for (size_t i = 0; i < c->n_notes; i++)
		json_array_append_new(notes, json_pack("{s:s, s:s}", "level",
						       dd_level_name(c->notes[i].level), "text",
						       c->notes[i].text));
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "level", dd_level_name(c->level),
			 "summary", dd_summary(c), "notes", notes, "why", c->why ? c->why : "",
			 "found", c->found, "publish", c->publish);
}

json_t *report_json(const struct dd_report *r)
{
	json_t *checks = json_object();

	for (int i = 0; i < DD_N_CHECKS; i++)
		if (!r->skipped[i])
			json_object_set_new(checks, r->checks[i].name, check_json(&r->checks[i]));
	return json_pack("{s:s, s:s, s:o, s:i, s:f}", "domain", r->domain, "level",
			 dd_level_name(r->level), "checks", checks, "queries", (json_int_t)r->queries,
			 "seconds", r->seconds);
}
