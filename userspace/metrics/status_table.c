// SPDX-License-Identifier: MIT
#include "metrics/status_table.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

/* A member's value as text: numbers and strings as they are, null as "-". */
static void value_text(const json_t *v, char *out, size_t cap)
{
	if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(out, cap, "%s", json_string_value(v));
	else if (json_is_true(v) || json_is_false(v))
		snprintf(out, cap, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(out, cap, "-");
}

static void row(FILE *out, const char *name, const json_t *v)
{
	char text[512];

	value_text(v, text, sizeof(text));
	fprintf(out, "  %-26s %s\n", name, text);
}

/* The members of o whose values are scalars, one row each, under a heading. */
static void table(FILE *out, const char *heading, const json_t *o, const char *const *skip)
{
	const char *key;
	json_t *v;

	fprintf(out, "%s\n", heading);
	json_object_foreach((json_t *)o, key, v) {
		bool skipped = json_is_object(v) || json_is_array(v);

		for (size_t i = 0; skip && skip[i] && !skipped; i++)
			skipped = !strcmp(skip[i], key);
		if (!skipped)
			row(out, key, v);
	}
}

int status_table_print(const char *json, FILE *out)
{
	static const char *const shown[] = { "version", "appliance_id", "config", "generation",
					     "serial", "highest_serial", "workers", "domains",
					     "open_connections", "challenges", NULL };
	json_t *o = json_loads(json, 0, NULL);

	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	fprintf(out, "edgetrackd\n");
	for (size_t i = 0; shown[i]; i++)
		if (json_object_get(o, shown[i]))
			row(out, shown[i], json_object_get(o, shown[i]));
	if (json_is_object(json_object_get(o, "certs")))
		table(out, "\ncertificates", json_object_get(o, "certs"), NULL);
	table(out, "\ncounters", o, shown);
	if (json_is_object(json_object_get(o, "routes")))
		table(out, "\nrequests by route", json_object_get(o, "routes"), NULL);
	json_decref(o);
	return 0;
}
