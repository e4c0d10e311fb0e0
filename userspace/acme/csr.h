/* SPDX-License-Identifier: MIT */
/*
 * Certificate signing requests for ACME finalize (RFC 8555 §7.4) and facts read back from
 * issued chains. Each domain gets a fresh ECDSA P-256 key per issuance.
 */
#ifndef ET_ACME_CSR_H
#define ET_ACME_CSR_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

/*
 * DER CSR signed with key (SHA-256): subject CN = names[0], subjectAltName = every name as
 * dNSName. *der is malloc'd. 0, or -1 with a reason in err.
 */
int csr_build(EVP_PKEY *key, const char *const *names, size_t n, unsigned char **der,
	      size_t *len, char *err, size_t errlen);

struct chain_facts {
	time_t not_before, not_after; /* of the leaf */
	size_t n_certs;
	char ari_id[160];              /* RFC 9773 certificate identifier, "" when no AKI */
	char serial_hex[80];
};

/*
 * Reads a PEM chain (leaf first): validity of the leaf, its ARI identifier, how many certs.
 * When domain is set, the leaf must name it in a dNSName. 0, or -1 with a reason in err.
 */
int chain_inspect(const char *pem, size_t len, const char *domain, struct chain_facts *f,
		  char *err, size_t errlen);

#endif
