// SPDX-License-Identifier: MIT
/* The machine-traffic flags of events: HEAD, scanner CIDRs, user agents, fast clicks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "track/event.h"
#include "track/machine.h"

static struct config *load(const char *machine)
{
	char json[1024], err[CONFIG_ERR_MAX];
	struct config *c;

	snprintf(json, sizeof(json),
		 "{\"listen\": [\"127.0.0.1:1\"], \"keys\": [{\"id\": 1, \"secret\": "
		 "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}], "
		 "\"domains\": [{\"name\": \"a.example\"}]%s}", machine);
	c = config_load_string(json, "test", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	return c;
}

static const uint8_t v4[4] = { 192, 0, 2, 77 }, other4[4] = { 198, 51, 100, 1 };
static const char browser[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120";

static void test_head_and_user_agents(void **state)
{
	struct config *c = load("");
	const char *ua;

	(void)state;
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, browser, strlen(browser)), 0);
	assert_int_equal(machine_reasons(&c->machine, true, 4, other4, browser, strlen(browser)),
			 EVENT_MR_HEAD);
	ua = "Mozilla/5.0 (compatible; Googlebot/2.1)";
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, strlen(ua)),
			 EVENT_MR_USER_AGENT);
	ua = "BARRACUDA Link Protection";
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, strlen(ua)),
			 EVENT_MR_USER_AGENT);
	/* no User-Agent at all is a script */
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, "", 0), EVENT_MR_USER_AGENT);
	config_free(c);
}

static void test_long_user_agent(void **state)
{
	struct config *c = load("");
	char ua[2000];

	(void)state;
	memset(ua, 'x', sizeof(ua));
	memcpy(ua, "Spider/1.0 ", 11);
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, sizeof(ua)),
			 EVENT_MR_USER_AGENT);
	memcpy(ua, "xxxxxxxxxxx", 11);
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, sizeof(ua)), 0);
	config_free(c);
}

static void test_cidrs_and_custom_agents(void **state)
{
	struct config *c = load(", \"machine\": {\"cidrs\": [\"192.0.2.0/24\", \"2001:db8::/32\"], "
				"\"user_agents\": [\"LinkChecker\"]}");
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	const char *ua = "linkchecker/3";

	(void)state;
	assert_int_equal(machine_reasons(&c->machine, false, 4, v4, browser, strlen(browser)),
			 EVENT_MR_CIDR);
	assert_int_equal(machine_reasons(&c->machine, false, 6, v6, browser, strlen(browser)),
			 EVENT_MR_CIDR);
	v6[3] = 0xb9;
	assert_int_equal(machine_reasons(&c->machine, false, 6, v6, browser, strlen(browser)), 0);
	/* an explicit list replaces the defaults, matched case-insensitively */
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, strlen(ua)),
			 EVENT_MR_USER_AGENT);
	ua = "Googlebot";
	assert_int_equal(machine_reasons(&c->machine, false, 4, other4, ua, strlen(ua)), 0);
	config_free(c);
}

static void test_fast_click(void **state)
{
	static struct open_memory om;

	(void)state;
	memset(&om, 0, sizeof(om));
	assert_false(open_memory_recent(&om, 4, v4, 7, 9, 1000, 2000));
	open_memory_note(&om, 4, v4, 7, 9, 1000);
	assert_true(open_memory_recent(&om, 4, v4, 7, 9, 2500, 2000));
	assert_true(open_memory_recent(&om, 4, v4, 7, 9, 3000, 2000));
	assert_false(open_memory_recent(&om, 4, v4, 7, 9, 3001, 2000));
	assert_false(open_memory_recent(&om, 4, v4, 8, 9, 1500, 2000));  /* other message */
	assert_false(open_memory_recent(&om, 4, other4, 7, 9, 1500, 2000)); /* other client */
	assert_false(open_memory_recent(&om, 4, v4, 7, 9, 1500, 0));     /* disabled */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_and_user_agents),
		cmocka_unit_test(test_long_user_agent),
		cmocka_unit_test(test_cidrs_and_custom_agents),
		cmocka_unit_test(test_fast_click),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
