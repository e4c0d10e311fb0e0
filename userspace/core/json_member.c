// SPDX-License-Identifier: MIT
#include "core/json_member.h"

#include <string.h>

const char *json_unknown_member(json_t *o, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *k = known;
		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			return key;
	}
	return NULL;
}
