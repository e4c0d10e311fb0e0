// SPDX-License-Identifier: MIT
/* file_read: regular files are read whole; FIFOs, sockets, devices and directories are refused
 * at once, with their kind, and never waited on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "acme/atomic_file.h"
#include "core/file.h"

#include <errno.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[] = "/tmp/edgetrack-file.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static int dirfd_of(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Reads name in the test directory; expects a refusal whose reason contains want. */
static void expect_refused(const char *name, const char *want)
{
	char err[256] = "", *buf = (char *)1;
	size_t len = 0;
	int dfd = dirfd_of();

	assert_int_equal(file_read(dfd, name, 4096, &buf, &len, NULL, err, sizeof(err)), -1);
	assert_null(buf);
	assert_int_equal(errno, strstr(want, "cannot open") ? ENOENT : EINVAL);
	if (!strstr(err, want))
		fail_msg("reason \"%s\" lacks \"%s\"", err, want);
	close(dfd);
}

static void test_regular(void **state)
{
	char err[256], *buf;
	size_t len;
	struct stat st;
	int dfd = dirfd_of();
	FILE *f;

	(void)state;
	f = fopen(strcat(strcpy(err, dir), "/a.txt"), "w");
	assert_non_null(f);
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(file_read(dfd, "a.txt", 4096, &buf, &len, &st, err, sizeof(err)), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	assert_true(S_ISREG(st.st_mode));
	free(buf);
	/* through a symlink too */
	assert_int_equal(symlinkat("a.txt", dfd, "link.txt"), 0);
	assert_int_equal(file_read(dfd, "link.txt", 4096, &buf, &len, NULL, err, sizeof(err)), 0);
	free(buf);
	close(dfd);
	expect_refused("none.txt", "cannot open none.txt: No such file or directory");
}

static void test_too_large(void **state)
{
	char err[256], *buf;
	size_t len;
	int dfd = dirfd_of();

	(void)state;
	assert_int_equal(file_read(dfd, "a.txt", 3, &buf, &len, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "a.txt is larger than 3 bytes");
	assert_int_equal(errno, EFBIG);
	close(dfd);
}

/* A FIFO without a writer: a blocking open would never return. */
static void test_fifo(void **state)
{
	int dfd = dirfd_of();

	(void)state;
	assert_int_equal(mkfifoat(dfd, "f", 0600), 0);
	close(dfd);
	expect_refused("f", "f is not a regular file (a FIFO)");
}

static void test_socket(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)state;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 1), 0);
	expect_refused("s", "s is not a regular file (a socket)");
	close(fd);
}

/* /dev/zero would feed read() for ever; a symlink to it is refused like the device. */
static void test_device_and_directory(void **state)
{
	int dfd = dirfd_of();

	(void)state;
	assert_int_equal(symlinkat("/dev/zero", dfd, "zero"), 0);
	assert_int_equal(mkdirat(dfd, "d", 0700), 0);
	close(dfd);
	expect_refused("zero", "zero is not a regular file (a character device)");
	expect_refused("d", "d is not a regular file (a directory)");
}

/* read_small_file() is file_read(): a FIFO is refused, not waited on, and errno tells why. */
static void test_read_small_file(void **state)
{
	char path[sizeof(dir) + 16];
	size_t len = 0;
	char *buf;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	buf = read_small_file(path, 4096, &len);
	assert_non_null(buf);
	assert_int_equal(len, 6);
	free(buf);
	assert_null(read_small_file(path, 3, NULL));
	assert_int_equal(errno, EFBIG);
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_null(read_small_file(path, 4096, NULL));
	assert_int_equal(errno, EINVAL);
	snprintf(path, sizeof(path), "%s/none.txt", dir);
	assert_null(read_small_file(path, 4096, NULL));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_device_and_directory),
		cmocka_unit_test(test_read_small_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
