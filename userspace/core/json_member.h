/* SPDX-License-Identifier: MIT */
/* Strict JSON objects: every file format of the product refuses members it does not know. */
#ifndef ET_CORE_JSON_MEMBER_H
#define ET_CORE_JSON_MEMBER_H

#include <jansson.h>

/* The first member of object o not named in known (NULL-terminated), or NULL when none. */
const char *json_unknown_member(json_t *o, const char *const *known);

#endif
