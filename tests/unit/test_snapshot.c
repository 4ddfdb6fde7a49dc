/* Unit tests for snapshot.c: the old MTA's configuration kept before a
 * takeover and put back. Every file, link and directory below the paths
 * is in the list with its image, each file copied into the store through
 * the journal (in --check nothing is copied); missing paths are skipped.
 * After a file is changed, one removed, a link pointed elsewhere and a
 * directory removed, the restore puts each back (content, mode, owner,
 * target) and counts them; a second restore finds nothing to do. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate/migrate.h"
#include "unit.h"

static const char *const paths[] = { "/etc/postfix", "/etc/mailname", "/etc/not-there", NULL };

static char *make_root(void)
{
	char *root = ut_tmpdir("snapshot");
	ut_mkdir(root, "etc/postfix/sasl", 0755);
	ut_write(root, "etc/postfix/main.cf", "myhostname = mail.example.org\n", 0644);
	ut_write(root, "etc/postfix/master.cf", "smtp inet n - y - - smtpd\n", 0640);
	ut_write(root, "etc/mailname", "mail.example.org\n", 0644);
	char *link = ut_path(root, "etc/postfix/dynamic");
	assert_int_equal(symlink("main.cf", link), 0);
	free(link);
	return root;
}

static void test_take_restore(void **state)
{
	char *root = make_root();
	char *before = ut_tree(root, "var");
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	assert_int_equal(qi_run_begin(h, "test snapshot"), 0);
	json_t *list = NULL;
	assert_int_equal(snap_take(h, paths, "/var/backups/snap", &list), 0);
	assert_int_equal(qi_run_commit(h), 0);
	/* /etc/postfix, sasl, main.cf, master.cf, dynamic, /etc/mailname */
	assert_int_equal(json_array_size(list), 6);
	assert_string_equal(ut_slurp(root, "var/backups/snap/etc/postfix/main.cf"),
			    "myhostname = mail.example.org\n");
	ut_write(root, "etc/postfix/main.cf", "myhostname = other\n", 0600);
	char *p = ut_path(root, "etc/postfix/master.cf");
	assert_int_equal(unlink(p), 0);
	free(p);
	p = ut_path(root, "etc/postfix/dynamic");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("elsewhere", p), 0);
	free(p);
	p = ut_path(root, "etc/postfix/sasl");
	assert_int_equal(rmdir(p), 0);
	free(p);
	size_t restored = 0;
	assert_int_equal(snap_restore(h, list, &restored), 0);
	assert_int_equal(restored, 4);
	char *after = ut_tree(root, "var");
	assert_string_equal(after, before);
	assert_int_equal(snap_restore(h, list, &restored), 0);
	assert_int_equal(restored, 0);
	free(after);
	free(before);
	json_decref(list);
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* --check: the list, no copy. */
static void test_check(void **state)
{
	char *root = make_root();
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	qi_set_check(h, true);
	json_t *list = NULL;
	assert_int_equal(snap_take(h, paths, "/var/backups/snap", &list), 0);
	assert_int_equal(json_array_size(list), 6);
	assert_false(ut_exists(root, "var/backups/snap"));
	json_decref(list);
	qi_free(h);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_restore),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
