// SPDX-License-Identifier: MIT
#include "dns/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = { "ok", "warn", "temperror", "fail" };

const char *dd_level_name(enum dd_level lv)
{
	return (unsigned)lv < 4 ? level_names[lv] : "?";
}

int dd_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, level_names[i]))
			return i;
	return -1;
}

void dd_note(struct dd_check *c, enum dd_level lv, const char *fmt, ...)
{
	va_list ap;

	if (lv > c->level)
		c->level = lv;
	if (c->n_notes == DD_MAX_NOTES)
		return;
	c->notes[c->n_notes].level = lv;
	va_start(ap, fmt);
	vsnprintf(c->notes[c->n_notes].text, sizeof(c->notes[0].text), fmt, ap);
	va_end(ap);
	c->n_notes++;
}

const char *dd_summary(const struct dd_check *c)
{
	for (size_t i = 0; i < c->n_notes; i++)
		if (c->notes[i].level == c->level)
			return c->notes[i].text;
	return c->n_notes ? c->notes[0].text : "";
}

__attribute__((format(printf, 3, 0)))
static void append(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t o = strlen(buf);

	if (o && o + 1 < cap)
		buf[o++] = '\n', buf[o] = '\0';
	vsnprintf(buf + o, cap - o, fmt, ap);
}

void dd_found(struct dd_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(c->found, sizeof(c->found), fmt, ap);
	va_end(ap);
}

void dd_publish(struct dd_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(c->publish, sizeof(c->publish), fmt, ap);
	va_end(ap);
}
