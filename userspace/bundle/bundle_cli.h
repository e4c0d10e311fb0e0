/* SPDX-License-Identifier: MIT */
/*
 * edgetrackctl bundle create|sign|verify|inspect|attach-signature ...
 * edgetrackctl keys gen|certify|keyring show|revoke|install ...
 * edgetrackctl id [--data-dir DIR]
 * (usage texts in bundle_cli.c and keys_cli.c)
 */
#ifndef ET_BUNDLE_BUNDLE_CLI_H
#define ET_BUNDLE_BUNDLE_CLI_H

/* argv[0] is "bundle", "keys" or "id". Exit code: 0 success, 1 refused or failed (the
 * reason on stderr), 2 usage. */
int bundle_cli_main(int argc, char **argv);
int keys_cli_main(int argc, char **argv);
int id_cli_main(int argc, char **argv);

#endif
