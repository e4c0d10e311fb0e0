// SPDX-License-Identifier: MIT
#include "metrics/wstats.h"

#define WSTATS_CODE_TEXT(c) #c,
static const char *const code_text[WC__COUNT] = { "other", WSTATS_CODE_LIST(WSTATS_CODE_TEXT) };
#undef WSTATS_CODE_TEXT

const char *wstats_code_label(enum wstats_code c)
{
	return c < WC__COUNT ? code_text[c] : "other";
}

const char *wstats_route_label(unsigned route)
{
	return route < ROUTE__COUNT ? route_outcome_name(route) : "invalid";
}

const char *wstats_tls_label(enum wstats_tls v)
{
	static const char *const names[WT__COUNT] = { "1.2", "1.3", "other" };

	return v < WT__COUNT ? names[v] : "other";
}
