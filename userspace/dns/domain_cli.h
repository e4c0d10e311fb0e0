/* SPDX-License-Identifier: MIT */
/* edgetrackctl domain check|watch|token and edgetrackctl spf eval. */
#ifndef ET_DNS_DOMAIN_CLI_H
#define ET_DNS_DOMAIN_CLI_H

/* argv[0] is "domain" / "spf"; returns the exit code. */
int domain_cli_main(int argc, char **argv);
int spf_cli_main(int argc, char **argv);

#endif
