// SPDX-License-Identifier: MIT
/* The fleet's pure logic: the shipper's cursor over out-of-order and missing acks, the
   consumer's high-water marks, the "nats" config object and the status judgement. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet/event_msg.h"
#include "fleet/fleet_settings.h"
#include "fleet/hwm.h"
#include "fleet/kv_item.h"
#include "fleet/ship_status.h"
#include "fleet/ship_window.h"
#include "journal/record_json.h"
#include "test_journal_util.h"

/* ---------------------------------------------------------------- ship window */

static void send_range(struct ship_window *w, uint64_t from, uint64_t to)
{
	for (uint64_t s = from; s <= to; s++) {
		assert_true(ship_window_room(w, s));
		ship_window_sent(w, s);
	}
}

static void window_in_order(void **state)
{
	struct ship_window w;

	(void)state;
	assert_int_equal(ship_window_init(&w, 8, 0), 0);
	send_range(&w, 1, 3);
	assert_true(ship_window_ack(&w, 1));
	assert_true(ship_window_ack(&w, 2));
	assert_true(ship_window_ack(&w, 3));
	assert_int_equal(w.acked, 3);
	assert_int_equal(w.floor, 3);
	assert_int_equal(ship_window_in_flight(&w), 0);
	ship_window_free(&w);
}

static void window_out_of_order_acks(void **state)
{
	struct ship_window w;

	(void)state;
	assert_int_equal(ship_window_init(&w, 8, 10), 0);
	send_range(&w, 11, 15);
	/* 12..15 acknowledged, 11 not yet: the cursor stays */
	assert_false(ship_window_ack(&w, 13));
	assert_false(ship_window_ack(&w, 15));
	assert_false(ship_window_ack(&w, 12));
	assert_false(ship_window_ack(&w, 14));
	assert_int_equal(w.acked, 10);
	assert_true(ship_window_is_acked(&w, 13));
	assert_false(ship_window_is_acked(&w, 11));
	/* 11 closes the run: the cursor goes over all of them at once */
	assert_true(ship_window_ack(&w, 11));
	assert_int_equal(w.acked, 15);
	assert_int_equal(w.floor, 15);
	assert_int_equal(w.next, 16);
	ship_window_free(&w);
}

static void window_gap_and_resend(void **state)
{
	struct ship_window w;

	(void)state;
	assert_int_equal(ship_window_init(&w, 8, 0), 0);
	send_range(&w, 1, 6);
	ship_window_ack(&w, 1);
	ship_window_ack(&w, 2);
	ship_window_failed(&w, 3); /* 3 is lost: resend from the cursor */
	ship_window_ack(&w, 4);
	ship_window_ack(&w, 6);
	assert_int_equal(w.acked, 2);
	assert_int_equal(w.next, 3);
	/* the resend skips what is acknowledged and sends 3 and 5 again */
	assert_false(ship_window_is_acked(&w, 3));
	ship_window_sent(&w, 3);
	assert_true(ship_window_is_acked(&w, 4));
	ship_window_sent(&w, 5);
	ship_window_ack(&w, 3);
	assert_int_equal(w.acked, 4);
	/* a late ack of the first send of 5 counts like any other */
	ship_window_ack(&w, 5);
	assert_int_equal(w.acked, 6);
	/* acks below the cursor or beyond the window change nothing */
	assert_false(ship_window_ack(&w, 2));
	assert_false(ship_window_ack(&w, 100));
	assert_int_equal(w.acked, 6);
	ship_window_free(&w);
}

static void window_bounded(void **state)
{
	struct ship_window w;

	(void)state;
	assert_int_equal(ship_window_init(&w, 5, 0), 0);
	assert_int_equal(w.cap, 8);
	send_range(&w, 1, 8);
	assert_false(ship_window_room(&w, 9));
	ship_window_ack(&w, 2); /* out of order: no room yet */
	assert_false(ship_window_room(&w, 9));
	ship_window_ack(&w, 1);
	assert_true(ship_window_room(&w, 9));
	assert_true(ship_window_room(&w, 10));
	assert_false(ship_window_room(&w, 11));
	/* a slot reused one window later does not inherit the old seq's state */
	send_range(&w, 9, 10);
	assert_false(ship_window_is_acked(&w, 9));
	assert_false(ship_window_is_acked(&w, 10));
	ship_window_free(&w);
}

static void window_skip_missing(void **state)
{
	struct ship_window w;

	(void)state;
	assert_int_equal(ship_window_init(&w, 8, 0), 0);
	send_range(&w, 1, 3);
	ship_window_ack(&w, 1);
	/* 4..99 are not in the journal; 2 and 3 are still in flight: wait */
	assert_false(ship_window_skip_to(&w, 100));
	ship_window_ack(&w, 3);
	assert_false(ship_window_skip_to(&w, 100));
	ship_window_ack(&w, 2);
	assert_true(ship_window_skip_to(&w, 100));
	assert_int_equal(w.acked, 99);
	assert_int_equal(w.floor, 3); /* the cursor stored stays on a real event */
	assert_true(ship_window_room(&w, 100));
	ship_window_sent(&w, 100);
	ship_window_ack(&w, 100);
	assert_int_equal(w.floor, 100);
	ship_window_free(&w);
}

/* ---------------------------------------------------------------- high-water marks */

static char *temp_dir(void)
{
	char *d = strdup("/tmp/etfleet-hwm.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *d)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/hwm", d);
	unlink(p);
	rmdir(d);
	free(d);
}

static void hwm_verdicts(void **state)
{
	struct hwm h;
	char *d = temp_dir(), err[256];

	(void)state;
	assert_int_equal(hwm_load(&h, d, err, sizeof(err)), 0);
	/* an appliance never seen: its first event has prev 0 */
	assert_int_equal(hwm_check(&h, "a", 1, 0, false), HWM_DELIVER);
	assert_int_equal(hwm_check(&h, "a", 2, 1, false), HWM_EARLY);
	assert_int_equal(hwm_check(&h, "a", 2, 1, true), HWM_DELIVER);
	assert_int_equal(hwm_set(&h, "a", 1), 0);
	assert_int_equal(hwm_check(&h, "a", 1, 0, false), HWM_DUPLICATE);
	assert_int_equal(hwm_check(&h, "a", 2, 1, false), HWM_DELIVER);
	/* 4 arrives before 3 (3 was resent): held back */
	assert_int_equal(hwm_check(&h, "a", 4, 3, false), HWM_EARLY);
	hwm_set(&h, "a", 3);
	assert_int_equal(hwm_check(&h, "a", 4, 3, false), HWM_DELIVER);
	/* events that never existed (prev jumps over them) do not hold anything back */
	assert_int_equal(hwm_check(&h, "a", 10, 3, false), HWM_DELIVER);
	/* marks never go down; appliances are independent */
	hwm_set(&h, "a", 2);
	assert_int_equal(hwm_check(&h, "a", 3, 2, false), HWM_DUPLICATE);
	assert_int_equal(hwm_check(&h, "b", 3, 2, false), HWM_EARLY);
	hwm_free(&h);
	remove_dir(d);
}

static void hwm_durable(void **state)
{
	struct hwm h, back;
	char *d = temp_dir(), err[256], path[300];
	uint64_t v = 0;
	FILE *f;

	(void)state;
	assert_int_equal(hwm_load(&h, d, err, sizeof(err)), 0);
	for (int i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "app-%d", i);
		assert_int_equal(hwm_set(&h, name, 1000 + (uint64_t)i), 0);
	}
	h.have_out = true;
	h.out_dev = 7;
	h.out_ino = 8;
	h.out_size = 12345;
	assert_int_equal(hwm_store(&h, err, sizeof(err)), 0);
	assert_int_equal(hwm_load(&back, d, err, sizeof(err)), 0);
	assert_int_equal(back.n, 40);
	assert_true(hwm_get(&back, "app-39", &v));
	assert_int_equal(v, 1039);
	assert_false(hwm_get(&back, "app-40", &v));
	assert_true(back.have_out);
	assert_int_equal(back.out_size, 12345);
	hwm_free(&back);
	hwm_free(&h);
	/* a damaged file is an error, never a silent start from nothing */
	snprintf(path, sizeof(path), "%s/hwm", d);
	f = fopen(path, "w");
	fputs("edgetrack-consumer-hwm 1\napp-1 notanumber\n", f);
	fclose(f);
	assert_int_equal(hwm_load(&back, d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a consumer state file"));
	remove_dir(d);
}

/* ---------------------------------------------------------------- settings, status */

static int parse(const char *text, struct fleet_settings *s, char *err, size_t errlen)
{
	json_t *o = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(o);
	fleet_settings_default(s);
	rc = fleet_settings_parse(o, s, err, errlen);
	json_decref(o);
	return rc;
}

static void settings(void **state)
{
	struct fleet_settings s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"servers\": [\"nats://a:4222\", \"nats://b:4222\"],"
			       " \"replicas\": 1, \"appliance_id\": \"pop-1\"}", &s, err,
			       sizeof(err)), 0);
	assert_int_equal(s.n_servers, 2);
	assert_string_equal(s.servers[1], "nats://b:4222");
	assert_int_equal(s.replicas, 1);
	assert_string_equal(s.stream, "EDGETRACK_EVENTS");
	assert_string_equal(s.appliance_id, "pop-1");
	assert_true(s.compress);
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"compress\": false}", &s, err,
			       sizeof(err)), 0);
	assert_false(s.compress);
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"compress\": 1}", &s, err,
			       sizeof(err)), -1);
	assert_non_null(strstr(err, "nats.compress: must be true or false"));
	assert_int_equal(parse("{\"servers\": []}", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nats.servers"));
	assert_int_equal(parse("{\"servers\": [\"http://x\"]}", &s, err, sizeof(err)), -1);
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"replicas\": 7}", &s, err,
			       sizeof(err)), -1);
	assert_non_null(strstr(err, "nats.replicas"));
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"stream\": \"a.b\"}", &s, err,
			       sizeof(err)), -1);
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"sever\": 1}", &s, err,
			       sizeof(err)), -1);
	assert_non_null(strstr(err, "nats.sever: unknown member"));
	assert_string_equal(s.bundle_bucket, "edgetrack_bundles");
	assert_string_equal(s.challenge_bucket, "edgetrack_challenges");
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"bundle_bucket\": \"b1\","
			       " \"challenge_bucket\": \"c1\"}", &s, err, sizeof(err)), 0);
	assert_string_equal(s.bundle_bucket, "b1");
	assert_string_equal(s.challenge_bucket, "c1");
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"bundle_bucket\": \"b.1\"}", &s,
			       err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nats.bundle_bucket"));
	assert_int_equal(parse("{\"servers\": [\"nats://x\"], \"challenge_bucket\":"
			       " \"edgetrack_status\"}", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "three different buckets"));
}

#define KV_TOKEN "kvChallengeToken_0123456789"
#define KV_THUMB "QPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba"

static void expect_challenge_refused(const char *json, const char *why)
{
	struct kv_challenge c;
	char err[256];

	assert_int_equal(kv_challenge_parse(json, strlen(json), &c, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("want \"%s\", got \"%s\"", why, err);
}

static void kv_challenges(void **state)
{
	struct kv_challenge c;
	char err[256], *v;
	uint32_t ttl = 0;

	(void)state;
	v = kv_challenge_json(KV_TOKEN, KV_TOKEN "." KV_THUMB, 1700000060, err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(kv_challenge_parse(v, strlen(v), &c, err, sizeof(err)), 0);
	free(v);
	assert_string_equal(c.token, KV_TOKEN);
	assert_string_equal(c.key_authorization, KV_TOKEN "." KV_THUMB);
	assert_int_equal(c.expires_at, 1700000060);
	assert_null(kv_challenge_json("short", "short." KV_THUMB, 1, err, sizeof(err)));
	assert_null(kv_challenge_json(KV_TOKEN, "other." KV_THUMB, 1, err, sizeof(err)));
	expect_challenge_refused("[]", "not a JSON object");
	expect_challenge_refused("{\"token\": \"" KV_TOKEN "\"}", "are required");
	expect_challenge_refused("{\"token\": \"" KV_TOKEN "\", \"key_authorization\": \"" KV_TOKEN
				 "." KV_THUMB "\"}", "expires_at");
	expect_challenge_refused("{\"token\": \"" KV_TOKEN "\", \"key_authorization\": \"" KV_TOKEN
				 "." KV_THUMB "\", \"expires_at\": 0}", "expires_at");
	expect_challenge_refused("{\"token\": \"" KV_TOKEN "\", \"key_authorization\": \"" KV_TOKEN
				 ".short\", \"expires_at\": 5}", "43-character thumbprint");
	expect_challenge_refused("{\"token\": \"" KV_TOKEN "\", \"key_authorization\": \"" KV_TOKEN
				 "." KV_THUMB "\", \"expires_at\": 5, \"ttl\": 1}", "ttl: unknown member");
	assert_int_equal(kv_challenge_ttl("30", &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 30);
	assert_int_equal(kv_challenge_ttl("86400", &ttl, err, sizeof(err)), 0);
	assert_int_equal(kv_challenge_ttl("0", &ttl, err, sizeof(err)), -1);
	assert_int_equal(kv_challenge_ttl("86401", &ttl, err, sizeof(err)), -1);
	assert_int_equal(kv_challenge_ttl("-5", &ttl, err, sizeof(err)), -1);
	assert_int_equal(kv_challenge_ttl("10s", &ttl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--ttl"));
}

/* An entry with its own expiry is answered until then and dropped at it. */
static void challenge_expiry(void **state)
{
	struct challenge_table *t = challenge_table_new(3600);
	struct snapshot *snap;
	const struct challenge_store *cs;
	char err[256];

	(void)state;
	assert_non_null(t);
	assert_int_equal(challenge_table_add_until(t, KV_TOKEN, KV_TOKEN "." KV_THUMB, 1000, 1005,
						   err, sizeof(err)), 0);
	assert_int_equal(challenge_table_add(t, "otherChallengeToken_0123", "otherChallengeToken_0123."
					     KV_THUMB, 1000, err, sizeof(err)), 0);
	snap = challenge_table_build(t);
	cs = challenge_store_snapshot(snap);
	assert_non_null(challenge_store_find(cs, KV_TOKEN, strlen(KV_TOKEN), 1004));
	assert_null(challenge_store_find(cs, KV_TOKEN, strlen(KV_TOKEN), 1005));
	assert_non_null(challenge_store_find(cs, "otherChallengeToken_0123", 24, 1005));
	snapshot_put(snap);
	assert_int_equal(challenge_table_expire(t, 1004), 0);
	assert_int_equal(challenge_table_expire(t, 1005), 1);
	assert_int_equal(challenge_table_count(t), 1);
	assert_int_equal(challenge_table_expire(t, 1000 + 3600), 1);
	challenge_table_free(t);
}

static void lag_and_judge(void **state)
{
	struct lag_hist h = { 0 };
	struct fleet_limits lim = { .now_s = 1000, .max_serial = 5, .max_lag_events = 100,
				    .max_lag_ms = 5000 };
	struct fleet_flags f;
	json_t *st;

	(void)state;
	for (int i = 0; i < 99; i++)
		lag_hist_add(&h, 3);
	lag_hist_add(&h, 2500);
	assert_int_equal(lag_hist_quantile(&h, 0.5), 4);
	assert_int_equal(lag_hist_quantile(&h, 0.995), 3000);
	st = json_pack("{s:i,s:i,s:i,s:i,s:i}", "updated_at", 995, "interval_s", 10,
		       "bundle_serial", 5, "lag_events", 3, "lag_ms", 10);
	fleet_judge(st, &lim, &f);
	assert_false(f.stale || f.behind || f.lagging);
	lim.now_s = 1100;
	lim.max_serial = 6;
	json_object_set_new(st, "lag_events", json_integer(101));
	fleet_judge(st, &lim, &f);
	assert_true(f.stale && f.behind && f.lagging);
	json_decref(st);
}

/* ---------------------------------------------------------------- stream messages */

static void msg_record(struct journal_record *rec, uint64_t seq)
{
	memset(rec, 0, sizeof(*rec));
	tj_event(&rec->ev, seq * 7);
	rec->seq = seq;
	rec->append_ns = seq * 1000;
	rec->ev.flags = (uint8_t)(seq % 4);
	rec->ev.machine_reasons = (uint8_t)(seq % 16);
}

/* Appends rec in its journal framing: its length, 0 when it does not fit. */
static size_t msg_add(uint8_t *buf, size_t cap, const struct journal_record *rec)
{
	uint8_t framed[REC_MAX_LEN];
	size_t n = rec_encode(framed, rec->seq, rec->append_ns, &rec->ev);

	return event_msg_add(buf, cap, framed, n);
}

/* A message of seqs first..last after prev, as the shipper builds it: its length. */
static size_t msg_build(uint8_t *buf, size_t cap, uint64_t prev, uint64_t first, uint64_t last)
{
	struct journal_record rec;
	size_t len = event_msg_begin(buf, prev);

	for (uint64_t seq = first; seq <= last; seq++) {
		size_t n;

		msg_record(&rec, seq);
		n = msg_add(buf + len, cap - len, &rec);
		assert_true(n > 0);
		len += n;
	}
	return len;
}

/* The consumer's line of seq: the JSON of `events export` plus the appliance. */
static void expect_line(const struct event_lines *l, size_t i, uint64_t seq, uint64_t prev)
{
	struct journal_record rec;
	char want[4096];
	size_t n;

	msg_record(&rec, seq);
	n = journal_record_write(&rec, "pop-1", want, sizeof(want) - 1);
	want[n++] = '\n';
	assert_int_equal(l->line[i].seq, seq);
	assert_int_equal(l->line[i].prev, prev);
	assert_int_equal(l->line[i].len, n);
	assert_memory_equal(l->text.p + l->line[i].off, want, n);
}

static void msg_records(void **state)
{
	static struct event_lines l;
	uint8_t buf[64 * 1024];
	size_t len = msg_build(buf, sizeof(buf), 4, 7, 9);

	(void)state;
	/* the first after a gap (5 and 6 lost), the others each after the one before */
	assert_int_equal(event_msg_read(&l, "pop-1", buf, len), 0);
	assert_int_equal(l.n, 3);
	expect_line(&l, 0, 7, 4);
	expect_line(&l, 1, 8, 7);
	expect_line(&l, 2, 9, 8);
	/* the message is under half of the lines' bytes */
	assert_true(len * 2 < l.text.len);
	/* too small a buffer: no record cut in half */
	assert_int_equal(msg_add(buf, REC_HDR_LEN, &(struct journal_record){
		.ev = { .kind = EVENT_CLICK, .host_len = 1, .host = "a" } }), 0);
	event_lines_free(&l);
}

/* Firmware that shipped JSON lines: the same lines come out. */
static void msg_json_lines(void **state)
{
	static struct event_lines l;
	struct journal_record rec;
	char msg[8192];
	size_t len = 0;

	(void)state;
	for (uint64_t seq = 7; seq <= 9; seq++) {
		json_t *o;

		msg_record(&rec, seq);
		o = journal_record_json(&rec);
		json_object_set_new(o, "appliance", json_string("pop-1"));
		json_object_set_new(o, "prev", json_u64(seq == 7 ? 4 : seq - 1));
		len += json_dumpb(o, msg + len, sizeof(msg) - len, JSON_COMPACT | JSON_PRESERVE_ORDER);
		msg[len++] = '\n';
		json_decref(o);
	}
	assert_int_equal(event_msg_read(&l, "pop-1", msg, len), 0);
	assert_int_equal(l.n, 3);
	expect_line(&l, 0, 7, 4);
	expect_line(&l, 1, 8, 7);
	expect_line(&l, 2, 9, 8);
	/* another appliance's lines on this subject */
	assert_int_equal(event_msg_read(&l, "pop-2", msg, len), -1);
	assert_int_equal(l.n, 0);
	/* not JSON */
	assert_int_equal(event_msg_read(&l, "pop-1", "{\"seq\":", 7), -1);
	event_lines_free(&l);
}

static void expect_bad(struct event_lines *l, const uint8_t *buf, size_t len)
{
	assert_int_equal(event_msg_read(l, "pop-1", buf, len), -1);
	assert_int_equal(l->n, 0);
}

static void msg_damaged(void **state)
{
	static struct event_lines l;
	static uint8_t buf[FLEET_MSG_EVENTS_MAX * 512], bad[FLEET_MSG_EVENTS_MAX * 512];
	size_t len = msg_build(buf, sizeof(buf), 4, 7, 9);
	struct journal_record rec;

	(void)state;
	expect_bad(&l, buf, EVENT_MSG_HDR_LEN);   /* no event */
	expect_bad(&l, buf, len - 1);             /* the last record cut short */
	expect_bad(&l, buf, 3);                   /* not even the magic */
	/* a byte changed anywhere: the magic, the version, a record's header or body */
	for (size_t at = 0; at < len; at += 7) {
		memcpy(bad, buf, len);
		bad[at] ^= 0x20;
		if (at >= 8 && at < EVENT_MSG_HDR_LEN)
			continue; /* prev: checked below */
		expect_bad(&l, bad, len);
	}
	/* prev at or after the first seq */
	len = msg_build(buf, sizeof(buf), 7, 7, 9);
	expect_bad(&l, buf, len);
	/* a seq missing inside the message: 7, 9 */
	len = msg_build(buf, sizeof(buf), 4, 7, 7);
	msg_record(&rec, 9);
	len += msg_add(buf + len, sizeof(buf) - len, &rec);
	expect_bad(&l, buf, len);
	/* more events than a message may carry */
	len = msg_build(buf, sizeof(buf), 0, 1, FLEET_MSG_EVENTS_MAX);
	assert_int_equal(event_msg_read(&l, "pop-1", buf, len), 0);
	assert_int_equal(l.n, FLEET_MSG_EVENTS_MAX);
	len = msg_build(buf, sizeof(buf), 0, 1, FLEET_MSG_EVENTS_MAX + 1);
	expect_bad(&l, buf, len);
	event_lines_free(&l);
}

/* Version 2: the same lines as the version 1 message it was packed from, in fewer bytes. */
static void msg_packed(void **state)
{
	static struct event_lines l, l1;
	static uint8_t buf[FLEET_MSG_EVENTS_MAX * 512], z[FLEET_MSG_EVENTS_MAX * 512];
	size_t len = msg_build(buf, sizeof(buf), 4, 7, 9), zlen;

	(void)state;
	zlen = event_msg_pack(z, sizeof(z), buf, len);
	assert_true(zlen > 0 && zlen < len);
	assert_int_equal(z[4], 2);
	assert_int_equal(event_msg_read(&l, "pop-1", z, zlen), 0);
	assert_int_equal(l.n, 3);
	expect_line(&l, 0, 7, 4);
	expect_line(&l, 2, 9, 8);
	/* a full run: the lines of both forms are the same bytes */
	len = msg_build(buf, sizeof(buf), 0, 1, FLEET_MSG_EVENTS_MAX);
	zlen = event_msg_pack(z, sizeof(z), buf, len);
	assert_true(zlen > 0 && zlen * 2 < len);
	assert_int_equal(event_msg_read(&l, "pop-1", z, zlen), 0);
	assert_int_equal(event_msg_read(&l1, "pop-1", buf, len), 0);
	assert_int_equal(l.n, FLEET_MSG_EVENTS_MAX);
	assert_int_equal(l.text.len, l1.text.len);
	assert_memory_equal(l.text.p, l1.text.p, l.text.len);
	/* no room to be shorter than the message: sent as it is */
	assert_int_equal(event_msg_pack(z, 40, buf, len), 0);
	event_lines_free(&l);
	event_lines_free(&l1);
}

static void msg_packed_damaged(void **state)
{
	static struct event_lines l, l1;
	static uint8_t buf[FLEET_MSG_EVENTS_MAX * 512], z[FLEET_MSG_EVENTS_MAX * 512],
		bad[FLEET_MSG_EVENTS_MAX * 512];
	size_t len = msg_build(buf, sizeof(buf), 4, 7, 30), zlen, same = 0;
	uint32_t n;

	(void)state;
	zlen = event_msg_pack(z, sizeof(z), buf, len);
	assert_true(zlen > 0);
	expect_bad(&l, z, EVENT_MSG_HDR_LEN + 4); /* a length, no block */
	expect_bad(&l, z, zlen - 1);              /* the block cut short */
	/* a byte changed anywhere but prev: refused, or (a match's offset now pointing at the
	   same bytes elsewhere) the very same lines; the records' CRCs see to that */
	assert_int_equal(event_msg_read(&l1, "pop-1", buf, len), 0);
	for (size_t at = 0; at < zlen; at++) {
		if (at >= 8 && at < EVENT_MSG_HDR_LEN)
			continue;
		memcpy(bad, z, zlen);
		bad[at] ^= 0x20;
		if (at >= EVENT_MSG_HDR_LEN + 4 && event_msg_read(&l, "pop-1", bad, zlen) == 0) {
			same++;
			assert_int_equal(l.text.len, l1.text.len);
			assert_memory_equal(l.text.p, l1.text.p, l.text.len);
			continue;
		}
		expect_bad(&l, bad, zlen);
	}
	assert_true(same < zlen / 8);
	/* a stated length other than the block's, and one past any message's records */
	for (int i = 0; i < 3; i++) {
		memcpy(bad, z, zlen);
		memcpy(&n, bad + EVENT_MSG_HDR_LEN, 4);
		n = i == 0 ? n - 1 : i == 1 ? n + 1 : (uint32_t)(FLEET_MSG_EVENTS_MAX * REC_MAX_LEN + 1);
		memcpy(bad + EVENT_MSG_HDR_LEN, &n, 4);
		expect_bad(&l, bad, zlen);
	}
	/* an unknown version */
	memcpy(bad, z, zlen);
	bad[4] = 3;
	expect_bad(&l, bad, zlen);
	event_lines_free(&l);
	event_lines_free(&l1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_in_order),
		cmocka_unit_test(window_out_of_order_acks),
		cmocka_unit_test(window_gap_and_resend),
		cmocka_unit_test(window_bounded),
		cmocka_unit_test(window_skip_missing),
		cmocka_unit_test(hwm_verdicts),
		cmocka_unit_test(hwm_durable),
		cmocka_unit_test(settings),
		cmocka_unit_test(lag_and_judge),
		cmocka_unit_test(kv_challenges),
		cmocka_unit_test(challenge_expiry),
		cmocka_unit_test(msg_records),
		cmocka_unit_test(msg_json_lines),
		cmocka_unit_test(msg_damaged),
		cmocka_unit_test(msg_packed),
		cmocka_unit_test(msg_packed_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
