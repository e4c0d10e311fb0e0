/* SPDX-License-Identifier: MIT */
/*
 * edgetrackctl acme [--config FILE] issue DOMAIN... | renew [--clock-offset S] |
 *                   status [--json] [DOMAIN...] | check DOMAIN... | account
 * The config file defaults to $EDGETRACK_ACME_CONFIG, else /etc/edgetrack/acme.json.
 */
#ifndef ET_ACME_CLI_H
#define ET_ACME_CLI_H

/* argv[0] is "acme". Exit code: 0 success, 1 a domain failed, 2 usage or config error. */
int acme_cli_main(int argc, char **argv);

#endif
