/* SPDX-License-Identifier: MIT */
/*
 * Putting what appliances watch into the fleet's buckets (kv_item.h):
 *
 *   edgetrackctl bundle publish --nats URL[,URL...] [--bucket NAME] [--replicas N] FILE
 *     FILE must be a signed bundle (framing, manifest and signature section; its trust is
 *     each appliance's to check). Prints "published serial=N revision=R".
 *   edgetrackctl challenge publish --nats URL[,URL...] --token T --key-authz KA [--ttl S]
 *                                  [--bucket NAME] [--replicas N]
 *     An HTTP-01 answer every appliance serves for S seconds (default 3600, at most 86400).
 *     Prints "published token=T revision=R expires_at=E".
 *
 * A missing bucket is made with --replicas (default 1). Exit status: 0 published,
 * 1 failure, 2 usage.
 */
#ifndef ET_FLEET_PUBLISH_CLI_H
#define ET_FLEET_PUBLISH_CLI_H

/* argv[0] is "publish"; argv of `bundle publish` and `challenge publish`. */
int bundle_publish_main(int argc, char **argv);
int challenge_publish_main(int argc, char **argv);

#endif
