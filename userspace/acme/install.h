/* SPDX-License-Identifier: MIT */
/*
 * Certificate files: the pair installed into the appliance's cert directory, and the pair the
 * CA issued that could not be installed, held in <state_dir>/held/ until the cert directory
 * takes it (so a broken cert directory never costs a second order).
 */
#ifndef ET_ACME_INSTALL_H
#define ET_ACME_INSTALL_H

#include "acme/acme_client.h"

#include <stddef.h>

/* Writes <base>.key (0600) and <base>.crt into dir atomically, key first. 0 or -1 with err. */
int acme_install_files(const char *dir, const char *domain, const char *chain_pem,
		       const char *key_pem, char *err, size_t errlen);

/* Keeps an issued pair in <state_dir>/held/. 0 or -1 with err. */
int acme_held_keep(const char *state_dir, const char *domain, const struct acme_cert *cert,
		   char *err, size_t errlen);
/* 1 and the held pair in cert (free with acme_cert_free), 0 when none is held. */
int acme_held_load(const char *state_dir, const char *domain, struct acme_cert *cert);
void acme_held_drop(const char *state_dir, const char *domain);

#endif
