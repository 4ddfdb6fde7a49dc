/* Unit tests for applyfile.c: the `qinstall apply` list format. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "journal/journal.h"

static int parse(qi_handle *h, const char *text, struct qi_apply_list *l)
{
	return qi_apply_parse(h, "ops.list", text, strlen(text), l);
}

/* Every operation of the format parses into its fields; comments, blank
 * lines, tabs and CRLF are accepted; paths are made canonical. */
static void test_every_op(void **state)
{
	qi_handle *h = qi_new();
	struct qi_apply_list l;
	const char *text =
		"# a comment\n"
		"\n"
		"mkdir   /var/qmail 0755 root:qmail\n"
		"file\t/var/qmail/control/me 644 0:0 me.txt   # trailing comment\n"
		"symlink /usr/sbin/sendmail /var/qmail/bin/sendmail\r\n"
		"fifo    /var/qmail/queue/lock/trigger 0622 qmails:qmail\n"
		"chmod   /etc/motd 0600\n"
		"chown   /etc/motd alias:nofiles\n"
		"remove  //etc/./old\n"
		"rename  /etc/a /etc/b\n";
	assert_int_equal(parse(h, text, &l), 0);
	assert_int_equal(l.n, 8);
	assert_int_equal(l.lines[0].op, QI_AOP_MKDIR);
	assert_string_equal(l.lines[0].path, "/var/qmail");
	assert_int_equal(l.lines[0].mode, 0755);
	assert_string_equal(l.lines[0].owner, "root");
	assert_string_equal(l.lines[0].group, "qmail");
	assert_int_equal(l.lines[0].lineno, 3);
	assert_int_equal(l.lines[1].op, QI_AOP_FILE);
	assert_int_equal(l.lines[1].mode, 0644);
	assert_string_equal(l.lines[1].arg, "me.txt");
	assert_string_equal(l.lines[2].arg, "/var/qmail/bin/sendmail");
	assert_int_equal(l.lines[3].mode, 0622);
	assert_int_equal(l.lines[4].op, QI_AOP_CHMOD);
	assert_string_equal(l.lines[5].owner, "alias");
	assert_string_equal(l.lines[6].path, "/etc/old");
	assert_string_equal(l.lines[7].arg, "/etc/b");
	assert_string_equal(qi_apply_op_name(l.lines[7].op), "rename");
	qi_apply_free(&l);
	qi_free(h);
}

/* Each malformed line is reported as FILE:LINE with what is wrong, and
 * nothing is returned. */
static void test_malformed(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "frob /x\n", "ops.list:1: unknown operation 'frob'" },
		{ "# ok\nmkdir /x 0755\n", "ops.list:2: mkdir takes 3 fields, not 2" },
		{ "mkdir x 0755 root:root\n", "ops.list:1: 'x' is not an absolute path" },
		{ "mkdir /x 0855 root:root\n", "ops.list:1: '0855' is not an octal mode" },
		{ "mkdir /x 17777 root:root\n", "is not an octal mode" },
		{ "mkdir /x 0755 root\n", "'root' is not OWNER:GROUP" },
		{ "mkdir /x 0755 ro ot:root\n", "takes 3 fields, not 4" },
		{ "chown /x a:b:c\n", "is not OWNER:GROUP" },
		{ "remove /a/../b\n", "'..' is not allowed" },
		{ "remove /\n", "root directory itself" },
		{ "rename /a\n", "rename takes 2 fields, not 1" },
		{ "remove /a /b\n", "remove takes 1 field, not 2" },
		{ "file /x 0644 root:root\n", "file takes 4 fields" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		qi_handle *h = qi_new();
		struct qi_apply_list l;
		assert_int_equal(parse(h, bad[i].text, &l), -1);
		assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
		if (!strstr(qi_errmsg(h), bad[i].want))
			fail_msg("'%s': got '%s', wanted '%s'", bad[i].text, qi_errmsg(h), bad[i].want);
		assert_int_equal(l.n, 0);
		qi_free(h);
	}
}

/* A NUL byte is refused with its line; an empty list is an empty run. */
static void test_nul_and_empty(void **state)
{
	qi_handle *h = qi_new();
	struct qi_apply_list l;
	assert_int_equal(qi_apply_parse(h, "f", "remove /a\nremo\0ve /b\n", 21, &l), -1);
	assert_non_null(strstr(qi_errmsg(h), "f:2: a NUL byte"));
	assert_int_equal(qi_apply_parse(h, "f", "", 0, &l), 0);
	assert_int_equal(l.n, 0);
	qi_apply_free(&l);
	/* no final newline */
	assert_int_equal(qi_apply_parse(h, "f", "remove /a", 9, &l), 0);
	assert_int_equal(l.n, 1);
	qi_apply_free(&l);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
