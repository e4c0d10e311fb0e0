/* SPDX-License-Identifier: MIT */
/*
 * `edgetrackctl events consume`: the fleet's events, exactly once per appliance and seq.
 *
 *   edgetrackctl events consume --nats URL[,URL...] [--durable NAME] [--state DIR]
 *                               [--exec CMD] [--stream NAME] [--ack-wait S]
 *                               [--max-ack-pending N] [--gap-wait N]
 *
 * A durable pull consumer on the events stream. Each event is written as one JSON line (the
 * JSON of `events export` plus "appliance") to stdout, or handed in batches of lines on the
 * standard input of `sh -c CMD` (exit status 0 takes them). Per appliance a high-water mark
 * (hwm.h) in DIR/hwm, written durably before anything is acknowledged, drops resends and
 * holds back an event until the ones before it were handed on. When stdout is a regular file
 * the file's length is kept with the marks and cut back on restart, so a crash between
 * writing and marking leaves no line twice. A command gets each event at least once and
 * exactly once unless the consumer dies while it runs; (appliance, seq) makes it idempotent.
 */
#ifndef ET_FLEET_CONSUME_H
#define ET_FLEET_CONSUME_H

/* argv[0] is "consume". Exit status: 0 stopped by SIGTERM/SIGINT, 1 failure, 2 usage. */
int consume_main(int argc, char **argv);

#endif
