/* SPDX-License-Identifier: MIT */
/*
 * `edgetrackctl events ...`: read the journal.
 *   events tail [-f] [-n N] [--dir D] [--since SEQ] [--format jsonl|csv]
 *   events export --dir D --cursor FILE [--format jsonl|csv] [--max N]
 *       prints the records after the cursor, then advances the cursor once the output is
 *       flushed (and synced when it is a file): an exporter resumes exactly after the last
 *       record it was handed.
 *   events verify [--dir D]
 *       reports damaged records, gaps and torn tails with their segment and offset;
 *       exit status 1 when any is found.
 * JSON lines fields: seq, time_ns, kind, host, message_id, recipient_id, link_index, client,
 * ua_digest, tls, machine, machine_reasons. Exit status: 0 ok, 1 problems/failure, 2 usage.
 */
#ifndef ET_JOURNAL_EVENTS_CLI_H
#define ET_JOURNAL_EVENTS_CLI_H

/* argv[0] is "events". */
int events_cli_main(int argc, char **argv);

#endif
