// SPDX-License-Identifier: MIT
#include "fleet/consume.h"

#include "acme/atomic_file.h"
#include "core/err.h"
#include "core/log.h"
#include "core/num.h"
#include "fleet/event_msg.h"
#include "fleet/fleet_settings.h"
#include "fleet/hwm.h"
#include "fleet/nats_link.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* One batch size for every fetch: nats.c 3.4.1 may overflow its heap when the batch of
   natsSubscription_Fetch changes between calls. */
#define FETCH_BATCH    128
#define FETCH_WAIT_MS  500
#define RETRY_MS       500

struct consume_opts {
	char urls_buf[4096];
	const char *urls[FLEET_MAX_SERVERS];
	int n_urls;
	const char *durable, *state_dir, *exec_cmd, *stream;
	int64_t ack_wait_s, max_ack_pending, nak_delay_ms;
	uint64_t gap_wait;
};

struct counts {
	uint64_t consumed, duplicates, early, gaps, batches;
};

/* One message: a run of consecutive events of one appliance. */
struct parsed {
	char appliance[FLEET_NAME_MAX + 1];
	uint64_t delivered;
	struct event_lines lines;
};

struct consumer {
	struct consume_opts o;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	struct hwm hwm;
	bool out_is_file;
	int sigfd;
	struct counts n;
	struct parsed parsed; /* the message being decided */
	struct mbuf out;      /* the batch's lines */
	uint64_t batch_lines;
};

static const char usage_text[] =
	"usage: edgetrackctl events consume --nats URL[,URL...] [--durable NAME] [--state DIR]\n"
	"           [--exec CMD] [--stream NAME] [--ack-wait SECONDS] [--max-ack-pending N]\n"
	"           [--gap-wait DELIVERIES]\n";

static int usage(const char *why)
{
	return err_usage("events consume", why, usage_text);
}

static int parse_opts(int argc, char **argv, struct consume_opts *o)
{
	static const struct option opts[] = {
		{ "nats", required_argument, NULL, 'n' }, { "durable", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' }, { "exec", required_argument, NULL, 'e' },
		{ "stream", required_argument, NULL, 'S' }, { "ack-wait", required_argument, NULL, 'a' },
		{ "max-ack-pending", required_argument, NULL, 'm' },
		{ "gap-wait", required_argument, NULL, 'g' }, { 0 },
	};
	uint64_t v;
	int c;

	*o = (struct consume_opts){ .durable = "edgetrack-consumer", .state_dir = "consumer-state",
				    .stream = FLEET_STREAM_DEFAULT, .ack_wait_s = 30,
				    .max_ack_pending = 20000, .nak_delay_ms = 200,
				    .gap_wait = 600 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': snprintf(o->urls_buf, sizeof(o->urls_buf), "%s", optarg); break;
		case 'd': o->durable = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'e': o->exec_cmd = optarg; break;
		case 'S': o->stream = optarg; break;
		case 'a': if (num_parse_u64(optarg, 86400, &v)) return usage("--ack-wait: seconds");
			  o->ack_wait_s = (int64_t)v; break;
		case 'm': if (num_parse_u64(optarg, INT32_MAX, &v)) return usage("--max-ack-pending: a count");
			  o->max_ack_pending = (int64_t)v; break;
		case 'g': if (num_parse_u64(optarg, UINT32_MAX, &o->gap_wait))
				return usage("--gap-wait: deliveries");
			  break;
		default: return usage(NULL);
		}
	}
	if (optind != argc)
		return usage("unexpected arguments");
	o->n_urls = nats_link_split_urls(o->urls_buf, o->urls, FLEET_MAX_SERVERS);
	if (!o->n_urls)
		return usage("--nats URL is required");
	if (!fleet_name_valid(o->durable) || !fleet_name_valid(o->stream))
		return usage("--durable and --stream take 1 to 64 letters, digits, '_' or '-'");
	if (o->ack_wait_s < 1 || o->max_ack_pending < FETCH_BATCH || o->gap_wait < 1)
		return usage("--ack-wait >= 1, --max-ack-pending >= 128, --gap-wait >= 1");
	return 0;
}

/* ---------------------------------------------------------------- output */

/* A regular file as stdout: cut what was written after the last durable mark. */
static int setup_output(struct consumer *c)
{
	struct stat st;

	if (c->o.exec_cmd || fstat(1, &st) || !S_ISREG(st.st_mode))
		return 0;
	c->out_is_file = true;
	if (c->hwm.have_out && c->hwm.out_dev == (uint64_t)st.st_dev &&
	    c->hwm.out_ino == (uint64_t)st.st_ino && (uint64_t)st.st_size > c->hwm.out_size) {
		log_warn("consume_output_cut", "bytes=%" PRIu64 " reason=\"written after the last "
			 "durable mark; they come again\"", (uint64_t)st.st_size - c->hwm.out_size);
		if (ftruncate(1, (off_t)c->hwm.out_size))
			return -1;
		st.st_size = (off_t)c->hwm.out_size;
	}
	c->hwm.have_out = true;
	c->hwm.out_dev = (uint64_t)st.st_dev;
	c->hwm.out_ino = (uint64_t)st.st_ino;
	c->hwm.out_size = (uint64_t)st.st_size;
	return lseek(1, 0, SEEK_END) < 0 ? -1 : 0;
}

static int run_exec(struct consumer *c)
{
	FILE *p = popen(c->o.exec_cmd, "w");
	int st;

	if (!p)
		return -1;
	fwrite(c->out.p, 1, c->out.len, p);
	st = pclose(p);
	if (st == 0)
		return 0;
	log_warn("consume_exec_failed", "status=%d action=redeliver", WIFEXITED(st)
		 ? WEXITSTATUS(st) : -1);
	return -1;
}

/* Hands the batch's lines on; for a file, also notes its new length for the marks. */
static int emit(struct consumer *c)
{
	struct stat st;

	if (c->o.exec_cmd)
		return run_exec(c);
	if (write_all(1, c->out.p, c->out.len))
		return -1;
	if (!c->out_is_file)
		return 0;
	if (fdatasync(1) || fstat(1, &st))
		return -1;
	c->hwm.out_size = (uint64_t)st.st_size;
	return 0;
}

/* ---------------------------------------------------------------- one batch */

static int parse_msg(natsMsg *m, struct parsed *p)
{
	const char *subj = natsMsg_GetSubject(m), *d = natsMsg_GetData(m);
	size_t base = strlen(FLEET_SUBJECT_BASE), len = (size_t)natsMsg_GetDataLength(m);
	jsMsgMetaData *meta = NULL;

	p->delivered = 0;
	if (strncmp(subj, FLEET_SUBJECT_BASE ".", base + 1) != 0)
		return -1;
	snprintf(p->appliance, sizeof(p->appliance), "%s", subj + base + 1);
	if (!fleet_name_valid(p->appliance))
		return -1;
	if (event_msg_read(&p->lines, p->appliance, d, len))
		return -1;
	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		p->delivered = meta->NumDelivered;
		jsMsgMetaData_Destroy(meta);
	}
	return 0;
}

/* Hands on one line that is next in order; -1 when it could not be. */
static int deliver(struct consumer *c, const char *appliance, const struct event_lines *lines,
		   const struct event_line *l, uint64_t delivered)
{
	uint64_t mark = 0;

	if (hwm_get(&c->hwm, appliance, &mark) && l->prev > mark) {
		c->n.gaps += l->seq - mark - 1;
		log_warn("consume_gap", "appliance=%s after=%" PRIu64 " seq=%" PRIu64
			 " deliveries=%" PRIu64, appliance, mark, l->seq, delivered);
	}
	mbuf_put(&c->out, lines->text.p + l->off, l->len);
	if (c->out.failed || hwm_set(&c->hwm, appliance, l->seq))
		return -1;
	c->batch_lines++;
	return 0;
}

/* Decides one message; those to acknowledge once the batch is durable go to acks. Lines
   handed on before are dropped; a line whose predecessor was not handed on yet makes the
   whole message wait (it can only be the first one not handed on: the rest follow it). */
static void take(struct consumer *c, natsMsg *m, natsMsg **acks, int *n_acks)
{
	struct parsed *p = &c->parsed;

	if (parse_msg(m, p)) {
		log_warn("consume_bad_event", "subject=%s action=drop", natsMsg_GetSubject(m));
		natsMsg_Term(m, NULL);
		return;
	}
	for (size_t i = 0; i < p->lines.n; i++) {
		const struct event_line *l = &p->lines.line[i];
		enum hwm_verdict v = hwm_check(&c->hwm, p->appliance, l->seq, l->prev,
					       p->delivered >= c->o.gap_wait);

		if (v == HWM_DUPLICATE) {
			c->n.duplicates++;
			continue;
		}
		if (v == HWM_EARLY) {
			c->n.early++;
			natsMsg_NakWithDelay(m, c->o.nak_delay_ms, NULL);
		} else if (deliver(c, p->appliance, &p->lines, l, p->delivered)) {
			natsMsg_Nak(m, NULL); /* what was handed on of it is dropped when it comes again */
		} else {
			continue;
		}
		return;
	}
	acks[(*n_acks)++] = m;
}

/* Hand on, make the marks durable, then acknowledge: a crash before the acks only brings
   resends, which the marks drop. */
static int commit(struct consumer *c, natsMsg **acks, int n_acks)
{
	char err[256] = "output";
	bool ok = !c->out.failed;

	if (!ok)
		snprintf(err, sizeof(err), "out of memory");
	else if (c->out.len)
		ok = !emit(c) && !hwm_store(&c->hwm, err, sizeof(err));
	if (!ok) {
		log_warn("consume_commit_failed", "reason=\"%s\" action=redeliver", err);
		for (int i = 0; i < n_acks; i++)
			natsMsg_Nak(acks[i], NULL);
		return -1;
	}
	c->n.consumed += c->batch_lines;
	for (int i = 0; i < n_acks; i++)
		natsMsg_Ack(acks[i], NULL);
	return 0;
}

static int process(struct consumer *c, natsMsgList *list)
{
	natsMsg *acks[FETCH_BATCH];
	int n_acks = 0, rc;

	mbuf_reset(&c->out);
	c->batch_lines = 0;
	for (int i = 0; i < list->Count && i < FETCH_BATCH; i++)
		take(c, list->Msgs[i], acks, &n_acks);
	c->n.batches++;
	rc = commit(c, acks, n_acks);
	if (rc) {
		/* the marks in memory ran ahead of what was handed on: back to the durable ones */
		char err[256];
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", c->o.state_dir);
		hwm_free(&c->hwm);
		if (hwm_load(&c->hwm, dir, err, sizeof(err)))
			return -1;
		if (setup_output(c))
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the loop */

/* Waits ms for SIGTERM/SIGINT; true when one came. */
static bool signalled(struct consumer *c, int ms)
{
	struct pollfd pfd = { .fd = c->sigfd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

static int subscribe(struct consumer *c, char *err, size_t errlen)
{
	jsSubOptions so;
	jsErrCode code = 0;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = c->o.stream;
	so.Config.Durable = c->o.durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.AckWait = c->o.ack_wait_s * 1000000000LL;
	so.Config.MaxAckPending = c->o.max_ack_pending;
	s = js_PullSubscribe(&c->sub, c->js, FLEET_SUBJECT_BASE ".>", c->o.durable, NULL, &so,
			     &code);
	return s == NATS_OK ? 0 : nats_link_err(err, errlen, "subscribe", s);
}

/* Until the stream exists and the consumer is bound (the appliances make the stream). */
static int wait_subscribed(struct consumer *c)
{
	char err[256], last[256] = "";

	while (subscribe(c, err, sizeof(err))) {
		if (strcmp(err, last)) {
			log_warn("consume_waiting", "reason=\"%s\"", err);
			snprintf(last, sizeof(last), "%s", err);
		}
		if (signalled(c, RETRY_MS))
			return -1;
	}
	log_info("consume_started", "stream=%s durable=%s state=%s", c->o.stream, c->o.durable,
		 c->o.state_dir);
	return 0;
}

static int fetch_loop(struct consumer *c)
{
	natsStatus last = NATS_OK;

	while (!signalled(c, 0)) {
		natsMsgList list = { 0 };
		jsErrCode code = 0;
		natsStatus s = natsSubscription_Fetch(&list, c->sub, FETCH_BATCH, FETCH_WAIT_MS, &code);

		/* a timeout is "nothing yet" (nats.c 3.4.1 may also end a fetch early with it) */
		if (list.Count > 0 && process(c, &list)) {
			natsMsgList_Destroy(&list);
			return -1;
		}
		natsMsgList_Destroy(&list);
		if (s != NATS_OK && s != NATS_TIMEOUT && s != last)
			log_warn("consume_fetch", "status=\"%s\" action=retry", natsStatus_GetText(s));
		last = s;
		if (s != NATS_OK && s != NATS_TIMEOUT && signalled(c, RETRY_MS))
			break;
	}
	return 0;
}

static int open_signals(struct consumer *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return c->sigfd < 0 ? -1 : 0;
}

static int start(struct consumer *c)
{
	struct nats_link_opts lo = { .servers = c->o.urls, .n_servers = c->o.n_urls,
				     .name = c->o.durable, .wait_for_server = true };
	char err[256];
	natsStatus s;

	if (hwm_load(&c->hwm, c->o.state_dir, err, sizeof(err)))
		goto fail;
	if (setup_output(c) || open_signals(c)) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		goto fail;
	}
	if (nats_link_connect(&c->nc, &lo, err, sizeof(err)))
		goto fail;
	s = natsConnection_JetStream(&c->js, c->nc, NULL);
	if (s != NATS_OK) {
		nats_link_err(err, sizeof(err), "jetstream", s);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "events consume: %s\n", err);
	return -1;
}

static void finish(struct consumer *c)
{
	fprintf(stderr, "consumed=%" PRIu64 " duplicates=%" PRIu64 " early=%" PRIu64
		" gaps=%" PRIu64 " batches=%" PRIu64 "\n", c->n.consumed, c->n.duplicates,
		c->n.early, c->n.gaps, c->n.batches);
	if (c->sub)
		natsSubscription_Destroy(c->sub);
	if (c->js)
		jsCtx_Destroy(c->js);
	if (c->nc) {
		natsConnection_Close(c->nc);
		natsConnection_Destroy(c->nc);
	}
	if (c->sigfd > 0)
		close(c->sigfd);
	hwm_free(&c->hwm);
	mbuf_free(&c->out);
	event_lines_free(&c->parsed.lines);
}

int consume_main(int argc, char **argv)
{
	struct consumer c = { .sigfd = -1 };
	int rc = parse_opts(argc, argv, &c.o);

	if (rc)
		return rc;
	/* a signal while waiting for the stream is a normal stop */
	rc = start(&c) ? 1 : 0;
	if (!rc && wait_subscribed(&c) == 0)
		rc = fetch_loop(&c) ? 1 : 0;
	finish(&c);
	return rc;
}
