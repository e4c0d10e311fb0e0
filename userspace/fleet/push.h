/* SPDX-License-Identifier: MIT */
/*
 * edgetrackctl bundle push: hands one signed bundle to the management API of one or many
 * appliances at once (PUT /v1/bundle, mutual TLS with the operator's client certificate).
 *
 *   edgetrackctl bundle push --to https://HOST:PORT[,https://HOST:PORT...] --cert CRT
 *                            --key KEY --ca CA [--timeout SECONDS] FILE
 *
 * Shows the upload's progress on stderr, then one line per appliance on stdout:
 *   https://a:9443 applied serial=42
 *   https://b:9443 refused: <reason>
 *   https://c:9443 rolled_back serial=42: <reason>
 *   https://d:9443 failed: <transport error, e.g. the appliance refused the certificate>
 * Exit status 0 when every appliance applied the bundle, 1 when any did not, 2 on usage.
 */
#ifndef ET_FLEET_PUSH_H
#define ET_FLEET_PUSH_H

/* argv[0] is "push". */
int bundle_push_main(int argc, char **argv);

#endif
