/* Unit tests for input.c: every input file is opened without blocking,
 * must be a regular file and is read with a size bound; qi_root_read
 * (fsroot.c) goes through the same checks. An alarm turns a regression
 * that blocks on a FIFO into a failure instead of a hang. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

static char dir[64];

static char *at(const char *name)
{
	return qi_xasprintf("%s/%s", dir, name);
}

static void put(const char *name, const char *text)
{
	char *p = at(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* NAME, a sparse file of SIZE bytes. */
static void sparse(const char *name, off_t size)
{
	char *p = at(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	free(p);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/qi-input.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char *p = at("fifo");
	int rc = mkfifo(p, 0600);
	free(p);
	p = at("dir");
	rc |= mkdir(p, 0755);
	free(p);
	p = at("null-link");
	rc |= symlink("/dev/null", p);
	free(p);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	*state = h;
	alarm(20);
	return rc;
}

static int teardown(void **state)
{
	alarm(0);
	qi_free(*state);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* qi_read_input(PATH) fails, leaving a usage error that contains WANT. */
static void refused(qi_handle *h, const char *path, size_t max, const char *want)
{
	char *data = NULL;
	size_t len = 0;
	qi_clear_error(h);
	assert_int_equal(qi_read_input(h, path, "patch file", max, &data, &len), -1);
	assert_null(data);
	if (!strstr(qi_errmsg(h), want))
		fail_msg("%s: got \"%s\", wanted \"%s\"", path, qi_errmsg(h), want);
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
}

/* A regular file is read whole and NUL-terminated, up to exactly MAX
 * bytes; one byte more is refused, naming the file and the bound. */
static void test_regular_and_bound(void **state)
{
	qi_handle *h = *state;
	put("ten", "0123456789");
	char *p = at("ten"), *data;
	size_t len;
	assert_int_equal(qi_read_input(h, p, "patch file", 10, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	char *want = qi_xasprintf("the patch file %s is larger than 9 bytes: is it the right file?", p);
	refused(h, p, 9, want);
	free(want);
	free(p);
	sparse("big", ((off_t)1 << 20) + 1);
	p = at("big");
	want = qi_xasprintf("the patch file %s is larger than 1 MiB", p);
	refused(h, p, (size_t)1 << 20, want);
	free(want);
	free(p);
}

/* A FIFO with no writer is refused at once (it is never waited on), and
 * so are a directory, a device and a symlink to one; the message names
 * the path given and says what it is. */
static void test_not_regular(void **state)
{
	qi_handle *h = *state;
	static const struct { const char *name, *what; } cases[] = {
		{ "fifo", "is a FIFO, not a regular file" },
		{ "dir", "is a directory, not a regular file" },
		{ "null-link", "is a character device, not a regular file" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = at(cases[i].name), *want = qi_xasprintf("the patch file %s %s", p, cases[i].what);
		refused(h, p, 0, want);
		free(want);
		free(p);
	}
	refused(h, "/dev/zero", 0, "the patch file /dev/zero is a character device, not a regular file");
	char *p = at("nonesuch"), *want = qi_xasprintf("cannot open the patch file %s", p);
	refused(h, p, 0, want);
	free(want);
	free(p);
}

/* A file that reports no size but has content (as /proc's do) is still
 * cut off at the bound while it is read. */
static void test_bound_while_reading(void **state)
{
	qi_handle *h = *state;
	struct stat st;
	if (stat("/proc/self/status", &st) < 0 || st.st_size != 0)
		skip();
	refused(h, "/proc/self/status", 16, "the patch file /proc/self/status is larger than 16 bytes");
}

/* qi_input_check opens and checks without reading: any size with MAX 0,
 * the bound otherwise; the error kind is the caller's. */
static void test_check(void **state)
{
	qi_handle *h = *state;
	sparse("huge", (off_t)300 << 20);
	char *p = at("huge");
	assert_int_equal(qi_input_check(h, QI_ERR_FAILED, p, "source", 0), 0);
	assert_int_equal(qi_input_check(h, QI_ERR_FAILED, p, "source", QI_INPUT_MAX), -1);
	assert_non_null(strstr(qi_errmsg(h), "is larger than 64 MiB"));
	assert_int_equal(qi_errkind(h), QI_ERR_FAILED);
	free(p);
	qi_clear_error(h);
	p = at("fifo");
	assert_int_equal(qi_input_check(h, QI_ERR_FAILED, p, "source", 0), -1);
	char *want = qi_xasprintf("the source %s is a FIFO, not a regular file", p);
	assert_non_null(strstr(qi_errmsg(h), want));
	assert_int_equal(qi_errkind(h), QI_ERR_FAILED);
	free(want);
	free(p);
}

/* Files inside ROOT: a FIFO is refused without waiting, an oversize file
 * is refused, a regular file is read; messages give the host path. */
static void test_root_read(void **state)
{
	qi_handle *h = *state;
	char *etc = at("etc");
	assert_int_equal(mkdir(etc, 0755), 0);
	free(etc);
	put("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	char *p = at("etc/group");
	assert_int_equal(mkfifo(p, 0644), 0);
	free(p);
	sparse("etc/shadow", (off_t)QI_INPUT_MAX + 1);
	assert_int_equal(qi_set_root(h, dir), 0);
	char *buf;
	size_t len;
	assert_int_equal(qi_root_read(h, "/etc/passwd", &buf, &len), 0);
	assert_string_equal(buf, "root:x:0:0::/root:/bin/sh\n");
	assert_int_equal(len, strlen(buf));
	free(buf);
	assert_int_equal(qi_root_read(h, "/etc/group", &buf, NULL), -1);
	char *want = qi_xasprintf("the file %s/etc/group is a FIFO, not a regular file", dir);
	if (!strstr(qi_errmsg(h), want))
		fail_msg("got \"%s\"", qi_errmsg(h));
	free(want);
	assert_int_equal(qi_root_read(h, "/etc/shadow", &buf, NULL), -1);
	want = qi_xasprintf("the file %s/etc/shadow is larger than 64 MiB", dir);
	if (!strstr(qi_errmsg(h), want))
		fail_msg("got \"%s\"", qi_errmsg(h));
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_while_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_read, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
