/* SPDX-License-Identifier: MIT */
/*
 * The c-ares side of dns_source.h: one channel, a configurable resolver, an answer cache and
 * one deadline for everything asked until the next reset.
 *
 * prefetch sends all its questions at once and waits for them together, so one domain's
 * independent lookups cost one round trip instead of one each. Answers that end in a CNAME
 * without the data (an authoritative server answers so) are followed by asking for the
 * target. When the deadline passes, whatever is still unanswered becomes DNS_TEMPFAIL: a
 * resolver that never answers costs the deadline, not a pass.
 *
 * A client is used by one thread at a time; threads that check domains side by side each
 * have their own. Create clients from one thread (c-ares' library init is not thread-safe).
 */
#ifndef ET_DNS_CLIENT_H
#define ET_DNS_CLIENT_H

#include "dns/dns_source.h"

#include <stdbool.h>
#include <stddef.h>

struct dns_client;

/* servers: c-ares "host[:port],..." ("127.0.0.1:8053"); NULL or "": resolv.conf.
 * timeout_ms: per try (2 tries). NULL with a reason in err. */
struct dns_client *dns_client_new(const char *servers, int timeout_ms, char *err,
				  size_t errlen);
void dns_client_free(struct dns_client *c);

/* The interface the checks use. */
struct dns_source *dns_client_source(struct dns_client *c);

/* Forgets every cached answer (invalidating answers handed out) and starts a new deadline
 * deadline_ms from now (<= 0: none). */
void dns_client_reset(struct dns_client *c, int deadline_ms);

/* One question at a time, even in prefetch: the baseline the benchmark compares with. */
void dns_client_set_serial(struct dns_client *c, bool serial);

/* Queries sent to the resolver since the client was made (cache hits not counted). */
unsigned long dns_client_queries(const struct dns_client *c);

#endif
