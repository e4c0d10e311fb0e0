/* SPDX-License-Identifier: MIT */
/*
 * Session ticket secrets as the operator writes them, in the config's "tls.ticket_keys" and
 * in a bundle's ticket_keys item:
 *
 *     [ { "name": "2025-06", "secret": "<64 to 128 hex digits>" }, ... ]
 *
 * One parser for both places, so a bundle's item is refused for exactly what the config
 * would be refused for. The name is a label for logs and listings, never secret.
 */
#ifndef ET_CORE_TICKET_KEYS_H
#define ET_CORE_TICKET_KEYS_H

#include <jansson.h>
#include <stddef.h>

#define TICKET_KEYS_MAX   8
#define TICKET_SECRET_MIN 32
#define TICKET_SECRET_MAX 64
#define TICKET_NAME_MAX   31

struct ticket_key {
	char name[TICKET_NAME_MAX + 1];
	unsigned char secret[TICKET_SECRET_MAX];
	size_t secret_len;
};

/*
 * Parses the array a into keys[0..*n). path names the array in errors ("tls.ticket_keys":
 * "tls.ticket_keys[1].secret: expected 64 to 128 hex digits"). 0, or -1 with the reason;
 * keys may hold part of the input then (wipe them either way).
 */
int ticket_keys_parse(const json_t *a, const char *path, struct ticket_key keys[TICKET_KEYS_MAX],
		      size_t *n, char *err, size_t errlen);

/* The same from JSON text (a file, a bundle item). */
int ticket_keys_load(const void *text, size_t len, const char *path,
		     struct ticket_key keys[TICKET_KEYS_MAX], size_t *n, char *err, size_t errlen);

#endif
