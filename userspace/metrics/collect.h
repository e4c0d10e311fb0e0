/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: what edgetrackd exposes, named after nginx-prometheus-exporter's and Caddy's
 * conventions with the prefix edgetrack_ (README.md lists every family). Gathered on the
 * control thread: per-worker counters and histograms are read with relaxed loads and merged
 * here, the journal's, the XDP filter's and the certificate view's figures are read as they
 * are.
 */
#ifndef ET_METRICS_COLLECT_H
#define ET_METRICS_COLLECT_H

struct server;
struct mgmt_job;
struct expo;

/* Answers the job: the exposition in the format its Accept header asks for. */
void collect_metrics(struct server *srv, struct mgmt_job *j);
/* Writes every family into e (also what the unit of a scrape is measured on). */
void collect_all(struct server *srv, struct expo *e);

#endif
