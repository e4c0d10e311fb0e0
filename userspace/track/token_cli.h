/* SPDX-License-Identifier: MIT */
/*
 * `edgetrackctl token encode|decode|verify`: mint and read tracking tokens from the shell.
 *
 * Exit status: 0 success (verify: the token is valid), 1 the token does not decode/verify or
 * an I/O error, 2 usage error (unknown option, missing or invalid argument).
 */
#ifndef ET_TRACK_TOKEN_CLI_H
#define ET_TRACK_TOKEN_CLI_H

#include <stdio.h>

/* argv[0] is "token", argv[1] the subcommand. Prints to stdout/stderr. */
int token_cli_main(int argc, char **argv);

/* Same, printing to out (results) and err (diagnostics, usage). */
int token_cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif
