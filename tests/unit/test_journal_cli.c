// SPDX-License-Identifier: MIT
/* `edgetrackctl events tail|export|verify` on a real journal directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "journal/cursor.h"
#include "journal/events_cli.h"
#include "test_journal_util.h"

struct run { int rc; char *out; size_t lines; };

/* Runs events_cli_main with stdout (and stderr) sent to files; stdout text is returned. */
static struct run run_cli(const char *stdout_path, const char *const *args)
{
	char *argv[16], path[64];
	struct run r = { 0 };
	int argc = 0, saved_out, saved_err, fd, efd;

	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "/tmp/etjournal-cli.XXXXXX");
	fd = stdout_path ? open(stdout_path, O_WRONLY) : mkstemp(path);
	assert_true(fd >= 0);
	efd = open("/dev/null", O_WRONLY);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(efd, 2);
	r.rc = events_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	clearerr(stdout);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(efd);
	close(fd);
	if (stdout_path)
		return r;
	{
		FILE *f = fopen(path, "r");
		size_t cap = 1 << 20, len;

		r.out = calloc(cap, 1);
		len = fread(r.out, 1, cap - 1, f);
		fclose(f);
		r.out[len] = '\0';
		for (size_t i = 0; i < len; i++)
			r.lines += r.out[i] == '\n';
	}
	unlink(path);
	return r;
}

static void check_json_lines(const char *text, uint64_t first, uint64_t n)
{
	const char *fields[] = { "seq", "time_ns", "kind", "host", "message_id", "recipient_id",
				 "link_index", "client", "ua_digest", "tls", "machine",
				 "machine_reasons" };
	const char *p = text;

	for (uint64_t i = 0; i < n; i++) {
		const char *nl = strchr(p, '\n');
		json_error_t jerr;
		json_t *o;
		struct event ev;

		assert_non_null(nl);
		o = json_loadb(p, (size_t)(nl - p), 0, &jerr);
		assert_non_null(o);
		for (size_t k = 0; k < sizeof(fields) / sizeof(*fields); k++)
			assert_non_null(json_object_get(o, fields[k]));
		assert_int_equal(json_integer_value(json_object_get(o, "seq")), first + i);
		/* Events were written with id == seq on a fresh journal. */
		tj_event(&ev, first + i);
		assert_int_equal(json_integer_value(json_object_get(o, "message_id")), first + i);
		assert_string_equal(json_string_value(json_object_get(o, "host")), ev.host);
		assert_string_equal(json_string_value(json_object_get(o, "kind")),
				    event_kind_name(ev.kind));
		assert_string_equal(json_string_value(json_object_get(o, "client")), "192.0.2.0/24");
		assert_string_equal(json_string_value(json_object_get(o, "ua_digest")),
				    "0123456789abcdef");
		assert_int_equal(json_is_true(json_object_get(o, "tls")), !!(ev.flags & EVENT_TLS));
		assert_int_equal(json_is_true(json_object_get(o, "machine")),
				 !!(ev.flags & EVENT_MACHINE));
		assert_int_equal(json_array_size(json_object_get(o, "machine_reasons")),
				 (ev.flags & EVENT_MACHINE) ? 1 : 0);
		json_decref(o);
		p = nl + 1;
	}
	assert_int_equal(*p, '\0');
}

static void test_export_cursor(void **state)
{
	struct journal_settings s;
	char dir[64], cursor[128], err[256];
	uint64_t acked;
	struct run r;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	snprintf(cursor, sizeof(cursor), "%s/exp.cursor", dir);
	tj_settings(&s, dir, JOURNAL_SYNC_BATCH);
	s.segment_bytes = 4096;
	tj_write(&s, 1, 81);
	const char *exp[] = { "events", "export", "--dir", dir, "--cursor", cursor, NULL };

	r = run_cli(NULL, exp);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.lines, 80);
	check_json_lines(r.out, 1, 80);
	free(r.out);
	assert_int_equal(journal_cursor_load(cursor, &acked, err, sizeof(err)), 0);
	assert_int_equal(acked, 80);
	/* Nothing new: nothing printed, cursor unchanged. */
	r = run_cli(NULL, exp);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.lines, 0);
	free(r.out);
	/* New events: exactly those. */
	tj_write(&s, 81, 86);
	const char *exp_max[] = { "events", "export", "--dir", dir, "--cursor", cursor,
				  "--max", "3", NULL };
	r = run_cli(NULL, exp_max);
	assert_int_equal(r.rc, 0);
	check_json_lines(r.out, 81, 3);
	free(r.out);
	/* Output that cannot be written leaves the cursor where it was. */
	r = run_cli("/dev/full", exp);
	assert_int_equal(r.rc, 1);
	assert_int_equal(journal_cursor_load(cursor, &acked, err, sizeof(err)), 0);
	assert_int_equal(acked, 83);
	r = run_cli(NULL, exp);
	assert_int_equal(r.rc, 0);
	check_json_lines(r.out, 84, 2);
	free(r.out);
	assert_int_equal(journal_cursor_load(cursor, &acked, err, sizeof(err)), 0);
	assert_int_equal(acked, 85);
	tj_rmrf(dir);
}

static void test_tail_and_csv(void **state)
{
	struct journal_settings s;
	char dir[64];
	struct run r;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	tj_write(&s, 1, 21);
	const char *tail[] = { "events", "tail", "-n", "5", "--dir", dir, NULL };
	r = run_cli(NULL, tail);
	assert_int_equal(r.rc, 0);
	check_json_lines(r.out, 16, 5);
	free(r.out);
	const char *since[] = { "events", "tail", "--dir", dir, "--since", "18", NULL };
	r = run_cli(NULL, since);
	assert_int_equal(r.rc, 0);
	check_json_lines(r.out, 18, 3);
	free(r.out);
	const char *csv[] = { "events", "tail", "--dir", dir, "--since", "20", "--format", "csv",
			      NULL };
	r = run_cli(NULL, csv);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.lines, 2);
	assert_non_null(strstr(r.out, "seq,time_ns,kind,host,message_id,recipient_id,"
				      "link_index,client,ua_digest,tls,machine,machine_reasons\n"));
	assert_non_null(strstr(r.out, "\n20,1700000000000000020,unsubscribe,click7.example.com,"
				      "20,141,20,192.0.2.0/24,0123456789abcdef,false,false,\n"));
	free(r.out);
	tj_rmrf(dir);
}

static void test_verify(void **state)
{
	struct journal_settings s;
	char dir[64], path[PATH_MAX], want[128];
	struct event ev;
	struct run r;
	int fd;

	(void)state;
	tj_mkdtemp(dir, sizeof(dir));
	tj_settings(&s, dir, JOURNAL_SYNC_NONE);
	tj_write(&s, 1, 11);
	const char *verify[] = { "events", "verify", "--dir", dir, NULL };
	r = run_cli(NULL, verify);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "records=10 first=1 last=10 problems=0"));
	free(r.out);
	/* Damage record 2: reported with its segment and offset, and the gap it leaves. */
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	tj_event(&ev, 1);
	uint64_t off = SEG_HDR_LEN + REC_HDR_LEN + ev.host_len;
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "\xff", 1, (off_t)off + 40), 1);
	close(fd);
	r = run_cli(NULL, verify);
	assert_int_equal(r.rc, 1);
	snprintf(want, sizeof(want), "corrupt segment=00000000000000000001.seg offset=%llu",
		 (unsigned long long)off);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "gap segment=00000000000000000001.seg"));
	assert_non_null(strstr(r.out, "records=9 first=1 last=10 problems=2"));
	free(r.out);
	tj_rmrf(dir);
}

static void test_usage_errors(void **state)
{
	const char *a[] = { "events", NULL };
	const char *b[] = { "events", "tail", "--format", "xml", NULL };
	const char *c[] = { "events", "export", "--dir", "/tmp", NULL };
	const char *d[] = { "events", "frobnicate", NULL };
	const char *e[] = { "events", "tail", "--since", "x1", NULL };
	const char *f[] = { "events", "verify", "--dir", "/nonexistent/journal", NULL };
	struct run r;

	(void)state;
	r = run_cli("/dev/null", a);
	assert_int_equal(r.rc, 2);
	r = run_cli("/dev/null", b);
	assert_int_equal(r.rc, 2);
	r = run_cli("/dev/null", c);
	assert_int_equal(r.rc, 2);
	r = run_cli("/dev/null", d);
	assert_int_equal(r.rc, 2);
	r = run_cli("/dev/null", e);
	assert_int_equal(r.rc, 2);
	r = run_cli("/dev/null", f);
	assert_int_equal(r.rc, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_cursor),
		cmocka_unit_test(test_tail_and_csv),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_usage_errors),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
