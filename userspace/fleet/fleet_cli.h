/* SPDX-License-Identifier: MIT */
/*
 * `edgetrackctl fleet status [--json] --nats URL[,URL...] [--bucket NAME]
 *                            [--bundle-bucket NAME] [--max-lag-events N] [--max-lag-ms N]`
 * Every appliance's status from the status bucket (ship_status.h), flagged when stale (not
 * refreshed for three of its intervals), behind (a bundle serial below the highest of the
 * fleet's and of the bundle the bundle bucket holds)
 * or lagging (more unshipped events, or an older unshipped event, than the limits: 1000
 * events, 60000 ms). Exit status: 0 all well, 3 some appliance flagged, 1 failure, 2 usage.
 */
#ifndef ET_FLEET_FLEET_CLI_H
#define ET_FLEET_FLEET_CLI_H

/* argv[0] is "fleet". */
int fleet_cli_main(int argc, char **argv);

#endif
