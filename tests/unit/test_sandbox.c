/* Unit tests for isolated programs: the build user (sandbox.c), the tree
 * given to it, and what an isolated program (process.c) may and may not
 * do: write only its directory, as the build user, without network. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "unit.h"

static qi_handle *handle(void)
{
	qi_handle *h = qi_new();
	assert_non_null(h);
	qi_set_verbosity(h, -1);
	return h;
}

/* No name means nobody, found in the host's passwd with its primary
 * group; so does the name itself. */
static void test_user_nobody(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		skip();	/* a host without nobody: nothing to compare with */
	qi_handle *h = handle();
	uid_t uid = 0, uid2 = 0;
	gid_t gid = 0, gid2 = 0;
	assert_int_equal(qi_sandbox_user(h, NULL, &uid, &gid), 0);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(gid, pw->pw_gid);
	assert_int_not_equal(uid, 0);
	assert_int_equal(qi_sandbox_user(h, "nobody", &uid2, &gid2), 0);
	assert_int_equal(uid2, uid);
	assert_int_equal(gid2, gid);
	qi_free(h);
}

/* Root is never the build user; the message says why and what to do. */
static void test_user_root_refused(void **state)
{
	qi_handle *h = handle();
	uid_t uid = 7;
	gid_t gid = 7;
	assert_int_equal(qi_sandbox_user(h, "root", &uid, &gid), -1);
	assert_non_null(strstr(qi_errmsg(h), "'root' has uid 0"));
	assert_non_null(strstr(qi_errmsg(h), "never run as root"));
	assert_int_equal(uid, 7);
	qi_free(h);
}

/* An unknown name is named in the message, with what to do. */
static void test_user_unknown(void **state)
{
	qi_handle *h = handle();
	uid_t uid;
	gid_t gid;
	assert_int_equal(qi_sandbox_user(h, "qi-no-such-user", &uid, &gid), -1);
	assert_non_null(strstr(qi_errmsg(h), "'qi-no-such-user' is not in the host's passwd"));
	assert_non_null(strstr(qi_errmsg(h), "[build]"));
	qi_free(h);
}

/* The tree is given to the user down to its last file; a symlink is
 * changed itself, never what it points to. */
static void test_chown_tree(void **state)
{
	if (geteuid() != 0)
		skip();	/* chown needs root */
	char *tmp = ut_tmpdir("sandbox");
	ut_mkdir(tmp, "tree/a/b", 0755);
	ut_write(tmp, "tree/a/b/f", "x\n", 0644);
	ut_write(tmp, "outside", "o\n", 0644);
	char *out = ut_path(tmp, "outside"), *link = ut_path(tmp, "tree/a/link"), *tree = ut_path(tmp, "tree");
	assert_int_equal(symlink(out, link), 0);
	qi_handle *h = handle();
	assert_int_equal(qi_sandbox_chown_tree(h, tree, 4242, 4343), 0);
	struct stat st;
	const char *mine[] = { "tree", "tree/a", "tree/a/b", "tree/a/b/f" };
	for (size_t i = 0; i < 4; i++) {
		char *p = ut_path(tmp, mine[i]);
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_gid, 4343);
		free(p);
	}
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(qi_sandbox_chown_tree(h, out, 1, 1), -1);
	free(out);
	free(link);
	free(tree);
	qi_free(h);
	ut_tmpdir_remove(tmp);
}

/* A shell script run isolated in DIR/work (the writable directory, whose
 * parent DIR is mode 0700, closed to the build user), output captured. */
static int run_isolated(qi_handle *h, const char *dir, bool keep_root, const char *script,
			struct qi_buf *out)
{
	struct passwd *pw = getpwnam("nobody");
	char *work = ut_path(dir, "work");
	struct qi_sandbox sb = { .writable = work, .keep_root = keep_root, .uid = pw->pw_uid,
				 .gid = pw->pw_gid };
	struct qi_proc_spec spec = { .argv = (const char *const[]){ "/bin/sh", "-c", script, NULL },
				     .cwd = work, .output = QI_PROC_CAPTURE, .capture = out,
				     .sandbox = &sb };
	int rc = qi_proc_run(h, &spec, NULL);
	free(work);
	return rc;
}

static char *isolated_dir(void)
{
	if (geteuid() != 0 || !getpwnam("nobody"))
		return NULL;
	char *tmp = ut_tmpdir("sandbox");
	assert_int_equal(chmod(tmp, 0700), 0);
	ut_mkdir(tmp, "work", 0711);
	return tmp;
}

/* What the script FMT (its %s: the ut_tmpdir *TMP) printed, run isolated
 * in *TMP/work; skipped without root or nobody. Where mount_setattr(2) is
 * missing (Linux before 5.12, or valgrind, which does not know it) the
 * program must not have run, the message saying what is needed and the
 * way out: NULL then, *TMP removed. */
static char *isolated(bool keep_root, const char *fmt, char **tmp)
{
	*tmp = isolated_dir();
	if (!*tmp)
		skip();
	qi_handle *h = handle();
	char *script;
	assert_true(asprintf(&script, fmt, *tmp) > 0);
	struct qi_buf out = { 0 };
	int rc = run_isolated(h, *tmp, keep_root, script, &out);
	free(script);
	if (rc < 0) {
		if (!strstr(qi_errmsg(h), "mount_setattr(2) making / read-only: Function not implemented"))
			fail_msg("%s", qi_errmsg(h));
		assert_non_null(strstr(qi_errmsg(h), "Linux 5.12 or later"));
		assert_non_null(strstr(qi_errmsg(h), "set 'isolate = no' in the profile's [build] section"));
		assert_true(!out.data || !*out.data);
		qi_buf_free(&out);
		qi_free(h);
		ut_tmpdir_remove(*tmp);
		return NULL;
	}
	qi_free(h);
	return out.data;
}

/* As the build user: its uid, its own group only, TMPDIR in its
 * directory (made for it), its directory and /dev/null writable, and
 * nothing else: not the directory above, not /tmp, not /etc. */
static void test_isolated_user(void **state)
{
	char *tmp, *want;
	/* The work directory is root's: the build user can write only .tmp. */
	char *got = isolated(false,
			     "id -u; id -G; echo \"$TMPDIR\"; echo in >$TMPDIR/t && echo tmp-ok; "
			     "echo x >/dev/null && echo null-ok; "
			     "{ echo x >%s/escape; } 2>/dev/null || echo above-refused; "
			     "{ echo x >/tmp/qi-escape-unit-$$; } 2>/dev/null || echo tmp-refused; "
			     "touch /etc/qi-escape 2>/dev/null || echo etc-refused", &tmp);
	if (!got)
		return;
	struct passwd *pw = getpwnam("nobody");
	assert_true(asprintf(&want, "%ld\n%ld\n%s/work/.tmp\ntmp-ok\nnull-ok\nabove-refused\ntmp-refused\netc-refused\n",
			     (long)pw->pw_uid, (long)pw->pw_gid, tmp) > 0);
	assert_string_equal(got, want);
	assert_false(ut_exists(tmp, "escape"));
	assert_true(ut_exists(tmp, "work/.tmp/t"));
	free(got);
	free(want);
	ut_tmpdir_remove(tmp);
}

/* Kept as root (an install step): uid 0, writes its directory, still
 * nothing outside it, and cannot undo the read-only mounts. */
static void test_isolated_root(void **state)
{
	char *tmp;
	char *got = isolated(true,
			     "id -u; echo x >f && echo work-ok; "
			     "{ echo x >%s/escape; } 2>/dev/null || echo above-refused; "
			     "mount -o remount,rw / 2>/dev/null || echo remount-refused", &tmp);
	if (!got)
		return;
	assert_string_equal(got, "0\nwork-ok\nabove-refused\nremount-refused\n");
	assert_false(ut_exists(tmp, "escape"));
	assert_true(ut_exists(tmp, "work/f"));
	free(got);
	ut_tmpdir_remove(tmp);
}

/* No network: a network namespace of its own, with nothing but its
 * loopback (the scenario tests show that nothing answers there). */
static void test_isolated_no_network(void **state)
{
	char *tmp;
	char *got = isolated(false, "awk 'NR > 2 { print $1 }' /proc/net/dev # %s", &tmp);
	if (!got)
		return;
	assert_string_equal(got, "lo:\n");	/* its own loopback, nothing else */
	free(got);
	ut_tmpdir_remove(tmp);
}

/* A writable directory the build user cannot enter is refused before
 * anything runs, naming it and what to do; so is root as the user. */
static void test_isolated_refused(void **state)
{
	char *tmp = isolated_dir();
	if (!tmp) {
		skip();	/* isolation needs root and a nobody account */
		return;
	}
	char *work = ut_path(tmp, "work");
	assert_int_equal(chmod(work, 0700), 0);
	qi_handle *h = handle();
	struct qi_buf out = { 0 };
	int status = 0;
	assert_int_equal(run_isolated(h, tmp, false, "echo ran", &out), -1);
	assert_non_null(strstr(qi_errmsg(h), "cannot isolate the build: the build user"));
	assert_non_null(strstr(qi_errmsg(h), "make it mode 0711"));
	assert_null(out.data);
	struct qi_sandbox sb = { .writable = work };
	struct qi_proc_spec spec = { .argv = (const char *const[]){ "/bin/true", NULL }, .sandbox = &sb };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_string_equal(qi_errmsg(h), "cannot isolate the build: the build user cannot be root");
	free(work);
	qi_free(h);
	ut_tmpdir_remove(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_nobody),
		cmocka_unit_test(test_user_root_refused),
		cmocka_unit_test(test_user_unknown),
		cmocka_unit_test(test_chown_tree),
		cmocka_unit_test(test_isolated_user),
		cmocka_unit_test(test_isolated_root),
		cmocka_unit_test(test_isolated_no_network),
		cmocka_unit_test(test_isolated_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
