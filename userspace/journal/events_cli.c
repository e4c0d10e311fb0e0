// SPDX-License-Identifier: MIT
#include "journal/events_cli.h"

#include "core/num.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "journal/cursor.h"
#include "journal/journal.h"
#include "journal/reader.h"
#include "journal/record_json.h"
#include "journal/segment.h"

enum fmt { FMT_JSONL, FMT_CSV };

struct opts {
	const char *dir;
	const char *cursor;
	enum fmt fmt;
	uint64_t since;
	int have_since;
	uint64_t count;  /* tail -n */
	uint64_t max;    /* export --max (0 = all) */
	int follow;
};

static const char usage_text[] =
	"usage: edgetrackctl events tail [-f] [-n N] [--dir D] [--since SEQ] [--format jsonl|csv]\n"
	"       edgetrackctl events export --dir D --cursor FILE [--format jsonl|csv] [--max N]\n"
	"       edgetrackctl events verify [--dir D]\n";

static int usage(const char *why)
{
	return err_usage("events", why, usage_text);
}

/* ---------------------------------------------------------------- formatting */

static int emit_json(FILE *out, const struct journal_record *rec)
{
	json_t *o = journal_record_json(rec);
	int rc = o ? json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;

	json_decref(o);
	if (rc == 0 && fputc('\n', out) == EOF)
		rc = -1;
	return rc;
}

static const char csv_header[] = "seq,time_ns,kind,host,message_id,recipient_id,link_index,"
				 "client,ua_digest,tls,machine,machine_reasons\n";

/* RFC 4180 quoting for a text field. */
static void csv_text(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static int emit_csv(FILE *out, const struct journal_record *rec)
{
	const struct event *ev = &rec->ev;
	char client[64], ua[17], reasons[64] = "";
	size_t rl = 0;

	journal_ua_hex(ev->ua_digest, ua);
	event_client_text(ev, client, sizeof(client));
	for (unsigned i = 0; i < 4; i++)
		if (ev->machine_reasons & (1u << i))
			rl += (size_t)snprintf(reasons + rl, sizeof(reasons) - rl, "%s%s",
					       rl ? "|" : "", journal_reason_name(i));
	fprintf(out, "%" PRIu64 ",%" PRIu64 ",%s,", rec->seq, ev->time_ns,
		event_kind_name(ev->kind));
	csv_text(out, ev->host);
	fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%u,%s,%s,%s,%s,%s\n", ev->message_id,
		ev->recipient_id, ev->link_index, strcmp(client, "-") ? client : "", ua,
		(ev->flags & EVENT_TLS) ? "true" : "false",
		(ev->flags & EVENT_MACHINE) ? "true" : "false", reasons);
	return ferror(out) ? -1 : 0;
}

static int emit(FILE *out, enum fmt f, const struct journal_record *rec)
{
	return f == FMT_CSV ? emit_csv(out, rec) : emit_json(out, rec);
}

/* ---------------------------------------------------------------- options */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cursor", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'F' },
		{ "since", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "max", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0; /* GNU: full re-initialisation, events_cli_main may run more than once */
	while ((c = getopt_long(argc, argv, "+fn:d:h", longs, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'c': o->cursor = optarg; break;
		case 'f': o->follow = 1; break;
		case 'F':
			if (strcmp(optarg, "jsonl") == 0)
				o->fmt = FMT_JSONL;
			else if (strcmp(optarg, "csv") == 0)
				o->fmt = FMT_CSV;
			else
				return usage("--format must be jsonl or csv");
			break;
		case 's':
			if (num_parse_u64(optarg, UINT64_MAX, &o->since))
				return usage("--since needs a sequence number");
			o->have_since = 1;
			break;
		case 'n':
			if (num_parse_u64(optarg, UINT64_MAX, &o->count))
				return usage("-n needs a number");
			break;
		case 'm':
			if (num_parse_u64(optarg, UINT64_MAX, &o->max))
				return usage("--max needs a number");
			break;
		case 'h': return usage(NULL);
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("unexpected argument");
	return 0;
}

/* ---------------------------------------------------------------- problems */

struct report {
	FILE *out;
	uint64_t n;
};

static void print_problem(void *arg, const struct journal_problem *p)
{
	struct report *r = arg;
	char name[SEG_NAME_LEN + 1];

	seg_name(name, sizeof(name), p->segment);
	r->n++;
	switch (p->kind) {
	case JOURNAL_PROBLEM_GAP:
	case JOURNAL_PROBLEM_ORDER:
		fprintf(r->out, "%s segment=%s offset=%" PRIu64 " expected=%" PRIu64 " got=%" PRIu64
			"\n", journal_problem_name(p->kind), name, p->offset, p->expected, p->got);
		break;
	default:
		fprintf(r->out, "%s segment=%s offset=%" PRIu64 " bytes=%" PRIu64 "\n",
			journal_problem_name(p->kind), name, p->offset, p->length);
	}
	fflush(r->out);
}

static struct journal_reader *open_reader(const char *dir, uint64_t from, struct report *rep)
{
	char err[512];
	struct journal_reader *r = journal_reader_open(dir, from, err, sizeof(err));

	if (!r) {
		fprintf(stderr, "events: %s\n", err);
		return NULL;
	}
	journal_reader_on_problem(r, print_problem, rep);
	return r;
}

/* ---------------------------------------------------------------- tail */

/* Sequence number of the newest record (0 if none). */
static int newest_seq(const char *dir, uint64_t *last, uint64_t *oldest)
{
	struct report quiet = { .out = stderr };
	struct journal_record rec;
	struct journal_reader *r;
	struct seg_list l;
	int dfd, rc;

	*last = *oldest = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || seg_list_load(dfd, &l) != 0) {
		fprintf(stderr, "events: %s: %s\n", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	for (size_t i = l.n; i-- > 0 && *last == 0;) {
		r = open_reader(dir, l.first[i], &quiet);
		if (!r)
			break;
		while ((rc = journal_reader_next(r, &rec)) == 1)
			*last = rec.seq;
		journal_reader_close(r);
	}
	*oldest = l.n ? l.first[0] : 0;
	seg_list_free(&l);
	return 0;
}

static int cmd_tail(struct opts *o)
{
	struct report rep = { .out = stderr };
	struct journal_record rec;
	struct journal_reader *r;
	uint64_t from = o->since;
	int rc;

	if (!o->have_since) {
		uint64_t last, oldest;

		if (newest_seq(o->dir, &last, &oldest) != 0)
			return 1;
		from = last >= o->count ? last - o->count + 1 : 1;
		if (from < oldest)
			from = oldest;
		if (last == 0 && o->follow)
			from = 0;
	}
	r = open_reader(o->dir, from, &rep);
	if (!r)
		return 1;
	if (o->fmt == FMT_CSV)
		fputs(csv_header, stdout);
	for (;;) {
		rc = journal_reader_next(r, &rec);
		if (rc == 1) {
			if (emit(stdout, o->fmt, &rec) != 0)
				break;
			continue;
		}
		if (rc < 0 || !o->follow)
			break;
		if (fflush(stdout) != 0)
			break;
		usleep(100 * 1000);
	}
	journal_reader_close(r);
	if (rc < 0)
		fprintf(stderr, "events: read %s: %s\n", o->dir, strerror(-rc));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "events: write: %s\n", strerror(errno));
		return 1;
	}
	return rc < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- export */

/* Output reached its destination: flushed, and synced when it is a regular file. */
static int flush_out(FILE *out)
{
	struct stat st;

	if (fflush(out) != 0 || ferror(out))
		return -1;
	if (fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode) && fsync(fileno(out)) != 0)
		return -1;
	return 0;
}

static int cmd_export(struct opts *o)
{
	struct report rep = { .out = stderr };
	struct journal_record rec;
	struct journal_reader *r;
	uint64_t acked, last = 0, n = 0;
	char err[512];
	int rc;

	if (!o->cursor)
		return usage("export needs --cursor FILE");
	if (journal_cursor_load(o->cursor, &acked, err, sizeof(err)) != 0) {
		fprintf(stderr, "events: %s\n", err);
		return 1;
	}
	r = open_reader(o->dir, acked + 1, &rep);
	if (!r)
		return 1;
	if (o->fmt == FMT_CSV)
		fputs(csv_header, stdout);
	while ((!o->max || n < o->max) && (rc = journal_reader_next(r, &rec)) == 1) {
		if (emit(stdout, o->fmt, &rec) != 0)
			break;
		last = rec.seq;
		n++;
	}
	journal_reader_close(r);
	if (flush_out(stdout) != 0) {
		fprintf(stderr, "events: write failed (%s); cursor stays at %" PRIu64 "\n",
			strerror(errno), acked);
		return 1;
	}
	if (n && journal_cursor_store(o->cursor, last, err, sizeof(err)) != 0) {
		fprintf(stderr, "events: %s\n", err);
		return 1;
	}
	fprintf(stderr, "events: exported %" PRIu64 " records, cursor at %" PRIu64 "\n", n,
		n ? last : acked);
	return 0;
}

/* ---------------------------------------------------------------- verify */

/* True unless [off, end of file) of path holds only zeros. */
static int tail_written(const char *path, uint64_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t end = UINT64_MAX;

	if (fd < 0)
		return 1;
	if (seg_data_end(fd, off, &end) != 0)
		end = UINT64_MAX;
	close(fd);
	return end > off;
}

static int check_tail(const char *dir, struct journal_reader *r, struct report *rep)
{
	char path[PATH_MAX], name[SEG_NAME_LEN + 1];
	uint64_t seg, off;
	struct stat st;

	if (journal_reader_position(r, &seg, &off) != 0)
		return 0;
	seg_name(name, sizeof(name), seg);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) != 0 || (uint64_t)st.st_size <= off)
		return 0;
	if (!tail_written(path, off))
		return 0; /* zero-filled space the writer reserved ahead */
	/* Not damage by itself: a running writer may be mid-append, and edgetrackd cuts an
	   incomplete last record when it starts. Reported, not counted. */
	fprintf(rep->out, "incomplete segment=%s offset=%" PRIu64 " bytes=%" PRIu64 "\n", name,
		off, (uint64_t)st.st_size - off);
	return 0;
}

static int cmd_verify(struct opts *o)
{
	struct report rep = { .out = stdout };
	struct journal_record rec;
	struct journal_reader *r;
	uint64_t n = 0, first = 0, last = 0;
	int rc;

	r = open_reader(o->dir, 0, &rep);
	if (!r)
		return 1;
	while ((rc = journal_reader_next(r, &rec)) == 1) {
		if (!n)
			first = rec.seq;
		last = rec.seq;
		n++;
	}
	if (rc == 0)
		check_tail(o->dir, r, &rep);
	journal_reader_close(r);
	if (rc < 0) {
		fprintf(stderr, "events: read %s: %s\n", o->dir, strerror(-rc));
		return 1;
	}
	printf("records=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64 " problems=%" PRIu64 "\n", n,
	       first, last, rep.n);
	return rep.n ? 1 : 0;
}

/* ---------------------------------------------------------------- entry */

int events_cli_main(int argc, char **argv)
{
	struct journal_settings defaults;
	struct opts o = { .fmt = FMT_JSONL, .count = 10 };
	const char *sub;
	int rc;

	if (argc < 2)
		return usage(NULL);
	sub = argv[1];
	journal_settings_default(&defaults);
	o.dir = defaults.dir;
	rc = parse_opts(argc - 1, argv + 1, &o);
	if (rc)
		return rc;
	if (strcmp(sub, "tail") == 0)
		return cmd_tail(&o);
	if (strcmp(sub, "export") == 0)
		return cmd_export(&o);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(&o);
	return usage("unknown subcommand");
}
