/* Unit tests for tests/unit/unit.h, the helpers every unit test shares: a
 * helper that could not fail would make the tests built on it worthless. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* ut_tmpdir makes a private directory; ut_tmpdir_remove takes it away
 * with everything below it, a read-only directory included, and never
 * follows a symlink out of it. */
static void test_tmpdir(void **state)
{
	char *out = ut_tmpdir("unit-out");
	ut_write(out, "keep", "keep\n", 0);
	char *d = ut_tmpdir("unit");
	struct stat st;
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_non_null(strstr(d, "/tmp/qinstall-test-unit."));
	ut_mkdir(d, "a/b/c", 0755);
	ut_write(d, "a/b/c/f", "x", 0600);
	char *p = ut_path(d, "a/b");
	assert_int_equal(chmod(p, 0500), 0);
	free(p);
	p = ut_path(d, "a/out");
	assert_int_equal(symlink(out, p), 0);
	free(p);
	char *copy = strdup(d);
	ut_tmpdir_remove(d);
	assert_int_equal(lstat(copy, &st), -1);
	assert_true(ut_exists(out, "keep"));
	free(copy);
	ut_tmpdir_remove(out);
}

/* ut_rmtree removes a symlink, not what it points to; a path that is not
 * there is nothing to remove. */
static void test_rmtree(void **state)
{
	char *d = ut_tmpdir("unit");
	ut_mkdir(d, "target", 0755);
	ut_write(d, "target/keep", "keep\n", 0);
	char *l = ut_path(d, "link");
	assert_int_equal(symlink("target", l), 0);
	assert_int_equal(ut_rmtree(l), 0);
	assert_false(ut_exists(d, "link"));
	assert_true(ut_exists(d, "target/keep"));
	assert_int_equal(ut_rmtree(l), 0);
	free(l);
	ut_tmpdir_remove(d);
}

/* ut_write and ut_read: the whole content back (more than a buffer's
 * worth too, and empty), the mode given or the one made, NULL for a file
 * that is not there; a NULL directory means REL is the path. */
static void test_write_read(void **state)
{
	char *d = ut_tmpdir("unit");
	char *big = malloc(10001);
	for (int i = 0; i < 10000; i++)
		big[i] = (char)('a' + i % 26);
	big[10000] = '\0';
	ut_write(d, "/big", big, 0640);
	char *got = ut_read(d, "big");
	assert_string_equal(got, big);
	free(got);
	free(big);
	char *p = ut_path(d, "big");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	ut_write(NULL, p, "", 0);
	got = ut_read(NULL, p);
	assert_string_equal(got, "");
	free(got);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);	/* mode 0 leaves it */
	free(p);
	ut_write(d, "new", "new\n", 0);
	p = ut_path(d, "new");
	mode_t mask = umask(0);
	umask(mask);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666 & ~mask);
	free(p);
	assert_null(ut_read(d, "none"));
	ut_tmpdir_remove(d);
}

/* ut_slurp keeps the text until the next call; ut_exists counts a
 * dangling symlink. */
static void test_slurp_exists(void **state)
{
	char *d = ut_tmpdir("unit");
	ut_write(d, "a", "one\n", 0);
	ut_write(d, "b", "two\n", 0);
	assert_string_equal(ut_slurp(d, "a"), "one\n");
	assert_string_equal(ut_slurp(d, "b"), "two\n");
	assert_null(ut_slurp(d, "none"));
	char *l = ut_path(d, "dangling");
	assert_int_equal(symlink("nowhere", l), 0);
	free(l);
	assert_true(ut_exists(d, "dangling"));
	assert_true(ut_exists(d, "/a"));
	assert_false(ut_exists(d, "none"));
	ut_tmpdir_remove(d);
}

/* Whether DIR's tree (EXCLUDE left out) is WANT. */
static bool tree_is(const char *dir, const char *exclude, const char *want)
{
	char *t = ut_tree(dir, exclude);
	bool same = strcmp(t, want) == 0;
	free(t);
	return same;
}

/* ut_tree sees every path, type, mode, owner, size, content and link
 * target; EXCLUDE leaves a subtree out. */
static void test_tree(void **state)
{
	char *d = ut_tmpdir("unit");
	ut_mkdir(d, "etc", 0755);
	ut_mkdir(d, "var/lib/qinstall", 0755);
	ut_write(d, "etc/motd", "hello\n", 0644);
	ut_write(d, "var/lib/qinstall/state", "1\n", 0600);
	char *p = ut_path(d, "etc/link");
	assert_int_equal(symlink("motd", p), 0);
	char *fifo = ut_path(d, "etc/fifo");
	assert_int_equal(mkfifo(fifo, 0640), 0);
	char *t0 = ut_tree(d, NULL);
	assert_non_null(strstr(t0, "/ dir 0700 "));
	assert_non_null(strstr(t0, "\n/etc/motd file 0644 "));
	assert_non_null(strstr(t0, " 6 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 -\n"));
	assert_non_null(strstr(t0, "\n/etc/link link 0777 "));
	assert_non_null(strstr(t0, " - motd\n"));
	assert_non_null(strstr(t0, "\n/etc/fifo fifo 0640 "));
	assert_true(tree_is(d, NULL, t0));

	ut_write(d, "etc/motd", "HELLO\n", 0);	/* same size, other content */
	assert_false(tree_is(d, NULL, t0));
	ut_write(d, "etc/motd", "hello\n", 0600);
	assert_false(tree_is(d, NULL, t0));
	ut_write(d, "etc/motd", "hello\n", 0644);
	if (geteuid() == 0) {
		char *m = ut_path(d, "etc/motd");
		assert_int_equal(lchown(m, 12, 34), 0);
		assert_false(tree_is(d, NULL, t0));
		assert_int_equal(lchown(m, getuid(), getgid()), 0);
		free(m);
	}
	unlink(p);
	assert_int_equal(symlink("elsewhere", p), 0);
	assert_false(tree_is(d, NULL, t0));
	unlink(p);
	assert_int_equal(symlink("motd", p), 0);
	assert_true(tree_is(d, NULL, t0));

	char *x0 = ut_tree(d, "var/lib/qinstall");
	assert_null(strstr(x0, "qinstall"));
	assert_non_null(strstr(x0, "\n/var/lib dir "));
	ut_write(d, "var/lib/qinstall/state", "2\n", 0);
	assert_true(tree_is(d, "/var/lib/qinstall", x0));
	assert_false(tree_is(d, NULL, t0));
	free(x0);
	free(t0);
	free(p);
	free(fifo);
	ut_tmpdir_remove(d);
}

/* ut_tree finds tests/lib/treemanifest with or without top_builddir, and
 * writes odd names the way it does. */
static void test_tree_tool(void **state)
{
	char *d = ut_tmpdir("unit");
	ut_write(d, "odd name\\", "x", 0600);
	char *with = ut_tree(d, NULL);
	assert_non_null(strstr(with, "\n/odd\\040name\\134 file 0600 "));
	char *top = getenv("top_builddir") ? strdup(getenv("top_builddir")) : NULL;
	unsetenv("top_builddir");
	char *without = ut_tree(d, NULL);
	if (top)
		setenv("top_builddir", top, 1);
	assert_string_equal(without, with);
	free(top);
	free(with);
	free(without);
	ut_tmpdir_remove(d);
}

/* What a test did not remove (it stopped first) goes at exit, but only
 * in the process that made it: a forked child that exits leaves its
 * parent's directories alone. */
static void test_removed_at_exit(void **state)
{
	char *mine = ut_tmpdir("unit");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* A process of its own: its own list of directories. */
		close(fds[0]);
		struct ut_state *s = ut_state();
		for (int i = 0; i < s->ndirs; i++)
			free(s->dirs[i]);
		s->ndirs = 0;
		s->pid = 0;
		char *d = ut_tmpdir("unit-exit");
		ut_write(d, "f", "x", 0);
		if (write(fds[1], d, strlen(d)) < 0)
			_exit(2);
		free(d);
		free(mine);	/* the parent's: not removed here */
		exit(0);
	}
	close(fds[1]);
	char buf[256];
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct stat st;
	assert_int_equal(lstat(buf, &st), -1);	/* the child's, removed at its exit */
	assert_int_equal(lstat(mine, &st), 0);	/* the parent's, kept */
	ut_tmpdir_remove(mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpdir),
		cmocka_unit_test(test_rmtree),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_slurp_exists),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_tree_tool),
		cmocka_unit_test(test_removed_at_exit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
