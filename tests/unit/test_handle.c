/* Unit tests for handle.c: roots, errors and results. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

/* A relative root is made absolute and normalised; "." and ".." and
 * doubled slashes never reach the journal. */
static void test_root_normalised(void **state)
{
	qi_handle *h = qi_new();
	assert_non_null(h);
	assert_int_equal(qi_set_root(h, "/tmp//./"), 0);
	assert_string_equal(qi_root(h), "/tmp");
	assert_false(qi_root_is_host(h));
	assert_int_equal(qi_set_root(h, "/tmp/.."), 0);
	assert_string_equal(qi_root(h), "/");
	assert_true(qi_root_is_host(h));
	qi_free(h);
}

/* Relative cache and data directories from the environment are made
 * absolute: apt and make are handed them from other directories. */
static void test_env_dirs_absolute(void **state)
{
	setenv("QINSTALL_CACHE_DIR", "rel/cache", 1);
	setenv("QINSTALL_DATADIR", "./data/../share", 1);
	qi_handle *h = qi_new();
	assert_non_null(h);
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *want = qi_xasprintf("%s/rel/cache", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(qi_cache_dir(h), want);
	free(want);
	want = qi_xasprintf("%s/share", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(qi_data_dir(h), want);
	free(want);
	assert_int_equal(qi_set_cache_dir(h, "/a//b/./c/"), 0);
	assert_string_equal(qi_cache_dir(h), "/a/b/c");
	qi_free(h);
	unsetenv("QINSTALL_CACHE_DIR");
	unsetenv("QINSTALL_DATADIR");
}

/* A missing root is an error that names it and says what to do. */
static void test_root_missing(void **state)
{
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, "/nonexistent-qinstall-root"), -1);
	assert_non_null(strstr(qi_errmsg(h), "/nonexistent-qinstall-root"));
	assert_non_null(strstr(qi_errmsg(h), "create it"));
	assert_int_equal(qi_errkind(h), QI_ERR_FAILED);
	qi_free(h);
}

/* qi_error_errno appends strerror of the errno at entry; the prefix
 * stacks context in front. */
static void test_error_messages(void **state)
{
	qi_handle *h = qi_new();
	errno = ENOENT;
	assert_int_equal(qi_error_errno(h, "cannot open %s", "x"), -1);
	assert_string_equal(qi_errmsg(h), "cannot open x: No such file or directory");
	qi_error_prefix(h, "step %d", 3);
	assert_string_equal(qi_errmsg(h), "step 3: cannot open x: No such file or directory");
	qi_error_kind(h, QI_ERR_LOCKED, "locked by pid %d", 42);
	assert_int_equal(qi_errkind(h), QI_ERR_LOCKED);
	qi_clear_error(h);
	assert_int_equal(qi_errkind(h), QI_ERR_NONE);
	assert_string_equal(qi_errmsg(h), "");
	qi_free(h);
}

/* Warnings are kept for the JSON result; --diff accumulates text. */
static void test_results(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	qi_warn(h, "w%d", 1);
	assert_int_equal(json_array_size(qi_warnings(h)), 1);
	assert_null(qi_diff_json(h));
	qi_set_diff_wanted(h, true);
	qi_diff_add(h, "/etc/a", NULL, "x");
	json_t *d = qi_diff_json(h);
	assert_string_equal(json_string_value(json_object_get(d, "before")), "--- /etc/a\n(absent)\n");
	assert_string_equal(json_string_value(json_object_get(d, "after")), "--- /etc/a\nx\n");
	json_decref(d);
	assert_false(qi_changed(h));
	qi_set_changed(h);
	assert_true(qi_changed(h));
	qi_free(h);
}

/* The growing buffer stays NUL-terminated. */
static void test_buf(void **state)
{
	struct qi_buf b = { 0 };
	for (int i = 0; i < 1000; i++)
		qi_buf_addf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 2000);
	assert_int_equal(b.data[b.len], '\0');
	qi_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_normalised),
		cmocka_unit_test(test_root_missing),
		cmocka_unit_test(test_env_dirs_absolute),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
