/* Unit tests for stage.c: the manifest of a staged tree, its JSON form,
 * the comparison with ROOT and the journaled commit (and its rollback),
 * through the symlinks of ROOT and refused at those that cannot be
 * followed. */
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
#include <unistd.h>

#include "provision/provision.h"
#include "unit.h"

static char *tmp;
static char *stage, *root;

/* sha256("hello\n") */
#define HELLO_SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static int setup(void **state)
{
	tmp = ut_tmpdir("stage");
	stage = ut_path(tmp, "stage");
	root = ut_path(tmp, "root");
	ut_mkdir(stage, "usr/local/bin", 0755);
	ut_mkdir(root, "var/lib", 0755);
	ut_mkdir(root, "usr", 0755);
	ut_write(stage, "usr/local/bin/hello", "hello\n", 0755);
	ut_write(stage, "usr/local/bin/setgid", "x", 02711);
	char *f = ut_path(stage, "usr/local/bin/hi");
	int rc = symlink("hello", f);
	free(f);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(tmp);
	free(stage);
	free(root);
	return 0;
}

static const struct qi_manifest_entry *find(const struct qi_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].path, path) == 0)
			return &m->e[i];
	return NULL;
}

/* The manifest lists every path of the stage as a path inside ROOT,
 * parents first, with type, mode (set-id bits kept), root as owner, the
 * content's SHA-256 and size, and link targets. */
static void test_scan(void **state)
{
	qi_handle *h = qi_new();
	struct qi_manifest m;
	assert_int_equal(qi_manifest_scan(h, stage, false, &m), 0);
	assert_int_equal(m.n, 6);
	assert_string_equal(m.e[0].path, "/usr");
	assert_string_equal(m.e[1].path, "/usr/local");
	assert_string_equal(m.e[2].path, "/usr/local/bin");
	const struct qi_manifest_entry *e = find(&m, "/usr/local/bin/hello");
	assert_non_null(e);
	assert_int_equal(e->img.type, QI_FT_REG);
	assert_int_equal(e->img.mode, 0755);
	assert_int_equal(e->img.uid, 0);
	assert_int_equal(e->img.size, 6);
	assert_string_equal(e->img.hash, HELLO_SHA);
	e = find(&m, "/usr/local/bin/setgid");
	assert_int_equal(e->img.mode, 02711);
	e = find(&m, "/usr/local/bin/hi");
	assert_int_equal(e->img.type, QI_FT_LNK);
	assert_string_equal(e->img.target, "hello");
	assert_int_equal(find(&m, "/usr")->img.type, QI_FT_DIR);
	qi_manifest_free(&m);
	qi_free(h);
}

/* save and load give back the same manifest; a damaged file is refused
 * with a message saying how to recover. */
static void test_save_load(void **state)
{
	qi_handle *h = qi_new();
	struct qi_manifest m, back;
	assert_int_equal(qi_manifest_scan(h, stage, false, &m), 0);
	char *file = qi_xasprintf("%s/manifest.json", tmp);
	assert_int_equal(qi_manifest_save(h, &m, file), 0);
	assert_int_equal(qi_manifest_load(h, file, &back), 0);
	assert_int_equal(back.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(back.e[i].path, m.e[i].path);
		assert_int_equal(back.e[i].img.type, m.e[i].img.type);
		assert_int_equal(back.e[i].img.mode, m.e[i].img.mode);
		assert_int_equal(back.e[i].img.size, m.e[i].img.size);
		assert_string_equal(back.e[i].img.hash, m.e[i].img.hash);
	}
	qi_manifest_free(&back);
	ut_write(NULL, file, "{\"version\": 1, \"entries\": [{\"path\": \"relative\", \"type\": \"f\", \"mode\": \"0644\"}]}", 0644);
	assert_int_equal(qi_manifest_load(h, file, &back), -1);
	assert_non_null(strstr(qi_errmsg(h), "is damaged; remove it to rebuild"));
	ut_write(NULL, file, "{not json", 0644);
	assert_int_equal(qi_manifest_load(h, file, &back), -1);
	assert_non_null(strstr(qi_errmsg(h), "cannot read the manifest"));
	free(file);
	qi_manifest_free(&m);
	qi_free(h);
}

/* Commit writes the stage into ROOT through the journal; afterwards
 * every entry compares equal; a changed file, mode or link is seen as
 * such; a second commit changes only what differs; rollback undoes it. */
static void test_commit_compare_rollback(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *cache = qi_xasprintf("%s/cache", tmp);
	qi_set_cache_dir(h, cache);
	assert_int_equal(qi_set_root(h, root), 0);
	struct qi_manifest m;
	assert_int_equal(qi_manifest_scan(h, stage, false, &m), 0);
	const struct qi_manifest_entry *hello = find(&m, "/usr/local/bin/hello");
	assert_int_equal(qi_stage_compare(h, hello), QI_STAGE_CREATE);
	assert_int_equal(find(&m, "/usr")->img.type, QI_FT_DIR);
	assert_int_equal(qi_stage_compare(h, find(&m, "/usr")), QI_STAGE_SAME);

	size_t changed = 0;
	assert_int_equal(qi_run_begin(h, "test stage"), 0);
	if (qi_stage_commit(h, stage, &m, &changed) < 0)
		fail_msg("%s", qi_errmsg(h));
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(changed, 5);	/* /usr was there already */
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(qi_stage_compare(h, &m.e[i]), QI_STAGE_SAME);
	char *f = qi_xasprintf("%s/usr/local/bin/setgid", root);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02711);

	chmod(f, 0700);
	assert_int_equal(qi_stage_compare(h, find(&m, "/usr/local/bin/setgid")), QI_STAGE_MODE);
	free(f);
	f = qi_xasprintf("%s/usr/local/bin/hello", root);
	ut_write(NULL, f, "HELLO\n", 0755);
	assert_int_equal(qi_stage_compare(h, hello), QI_STAGE_REPLACE);
	char *l = qi_xasprintf("%s/usr/local/bin/hi", root);
	unlink(l);
	assert_int_equal(symlink("elsewhere", l), 0);
	assert_int_equal(qi_stage_compare(h, find(&m, "/usr/local/bin/hi")), QI_STAGE_REPLACE);

	assert_int_equal(qi_run_begin(h, "test stage again"), 0);
	assert_int_equal(qi_stage_commit(h, stage, &m, &changed), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(changed, 3);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(qi_stage_compare(h, &m.e[i]), QI_STAGE_SAME);

	/* Roll back both runs: ROOT is as it was. */
	assert_int_equal(qi_rollback(h, 1), 0);
	assert_int_equal(lstat(f, &st), -1);
	assert_int_equal(lstat(l, &st), -1);
	char *d = qi_xasprintf("%s/usr/local", root);
	assert_int_equal(lstat(d, &st), -1);
	free(d);
	free(f);
	free(l);
	free(cache);
	qi_manifest_free(&m);
	qi_free(h);
}

/* sh -c CMD with %s-style arguments; the test fails when it fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* What each path of DIR is (type, mode, link target, size), sorted, as
 * `find -printf` says; var/lib/qinstall (the journal's own) left out. */
static char *tree_of(const char *dir)
{
	char *cmd = qi_xasprintf("cd '%s' && find . -path ./var/lib/qinstall -prune -o "
				 "-printf '%%p %%y %%m %%l %%s\\n' | sort", dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	struct qi_buf b = { 0 };
	char line[1024];
	while (fgets(line, sizeof(line), f))
		qi_buf_add(&b, line, strlen(line));
	assert_int_equal(pclose(f), 0);
	free(cmd);
	qi_buf_add(&b, "", 1);
	return b.data;
}

static char *readlink_of(const char *dir, const char *rel)
{
	char *path = qi_xasprintf("%s/%s", dir, rel);
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	free(path);
	if (n < 0)
		return qi_xstrdup("(not a link)");
	buf[n] = '\0';
	return qi_xstrdup(buf);
}

/* A new stage S and root R under the test's directory, named NAME: the
 * stage holds bin/x, sbin/y (a link to ../bin/x), usr/local/bin/z and
 * lib/q/data; the root a merged /usr (bin -> usr/bin, relative),
 * usr/local/bin -> /opt/bin (absolute: ROOT/opt/bin), and b1 -> /opt/b2
 * (dangling, for a chain of links). */
static qi_handle *links_fixture(const char *name, char **s, char **r)
{
	*s = qi_xasprintf("%s/%s-stage", tmp, name);
	*r = qi_xasprintf("%s/%s-root", tmp, name);
	sh("mkdir -p '%1$s/bin' '%1$s/sbin' '%1$s/usr/local/bin' '%1$s/lib/q' && echo x >'%1$s/bin/x' && "
	   "ln -s ../bin/x '%1$s/sbin/y' && echo z >'%1$s/usr/local/bin/z' && echo d >'%1$s/lib/q/data'", *s);
	sh("mkdir -p '%1$s/usr/bin' '%1$s/usr/sbin' '%1$s/usr/lib' '%1$s/usr/local' '%1$s/opt/bin' "
	   "'%1$s/var/lib' && ln -s usr/bin '%1$s/bin' && ln -s usr/sbin '%1$s/sbin' && "
	   "ln -s usr/lib '%1$s/lib' && ln -s /opt/bin '%1$s/usr/local/bin' && echo ls >'%1$s/usr/bin/ls' && "
	   "ln -s /opt/b2 '%1$s/b1'", *r);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *cache = qi_xasprintf("%s/cache", tmp);
	qi_set_cache_dir(h, cache);
	free(cache);
	assert_int_equal(qi_set_root(h, *r), 0);
	return h;
}

/* ROOT R is again what BEFORE says; everything of the fixture freed. */
static void fixture_end(qi_handle *h, struct qi_manifest *m, char *s, char *r, char *before)
{
	char *after = tree_of(r);
	assert_string_equal(after, before);
	free(after);
	free(before);
	qi_manifest_free(m);
	qi_free(h);
	free(s);
	free(r);
}

/* A staged directory where ROOT has a symlink to a directory (relative
 * or absolute, resolved inside ROOT) compares the same and is installed
 * through: the links stay links, the files land behind them, nothing is
 * left to do afterwards, and rollback gives back the identical tree. */
static void test_commit_through_links(void **state)
{
	char *s, *r;
	qi_handle *h = links_fixture("through", &s, &r);
	struct qi_manifest m;
	assert_int_equal(qi_manifest_scan(h, s, false, &m), 0);
	assert_int_equal(qi_stage_compare(h, find(&m, "/bin")), QI_STAGE_SAME);
	assert_int_equal(qi_stage_compare(h, find(&m, "/usr/local/bin")), QI_STAGE_SAME);
	assert_int_equal(qi_stage_compare(h, find(&m, "/lib/q")), QI_STAGE_CREATE);
	assert_int_equal(qi_stage_check(h, &m), 0);
	char *before = tree_of(r);

	size_t changed = 0;
	assert_int_equal(qi_run_begin(h, "test through links"), 0);
	if (qi_stage_commit(h, s, &m, &changed) < 0)
		fail_msg("%s", qi_errmsg(h));
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(changed, 5);	/* bin/x, sbin/y, usr/local/bin/z, lib/q, lib/q/data */
	const char *links[][2] = { { "bin", "usr/bin" }, { "sbin", "usr/sbin" }, { "lib", "usr/lib" },
				   { "usr/local/bin", "/opt/bin" } };
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		char *t = readlink_of(r, links[i][0]);
		assert_string_equal(t, links[i][1]);
		free(t);
	}
	sh("grep -qx x '%1$s/usr/bin/x' && grep -qx z '%1$s/opt/bin/z' && grep -qx d '%1$s/usr/lib/q/data' && "
	   "test \"$(readlink '%1$s/usr/sbin/y')\" = ../bin/x && grep -qx ls '%1$s/usr/bin/ls'", r);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(qi_stage_compare(h, &m.e[i]), QI_STAGE_SAME);

	assert_int_equal(qi_rollback(h, 0), 0);
	fixture_end(h, &m, s, r, before);
}

/* LINK (a path in the fixture's root) made to point at TARGET: a staged
 * directory there is refused by qi_stage_check, qi_stage_commit and
 * qi_stage_check_dir with a message matching WANT, and ROOT is left
 * exactly as it was. */
static void refused(const char *name, const char *link, const char *target, const char *want)
{
	char *s, *r;
	qi_handle *h = links_fixture(name, &s, &r);
	sh("rm -f '%1$s/%2$s' && ln -s '%3$s' '%1$s/%2$s'", r, link, target);
	struct qi_manifest m;
	assert_int_equal(qi_manifest_scan(h, s, false, &m), 0);
	char *before = tree_of(r);
	assert_int_equal(qi_stage_check(h, &m), -1);
	if (!strstr(qi_errmsg(h), want))
		fail_msg("%s: '%s' does not say '%s'", name, qi_errmsg(h), want);
	char *dir = qi_xasprintf("/%s", link);
	assert_int_equal(qi_stage_check_dir(h, dir), -1);
	assert_non_null(strstr(qi_errmsg(h), want));
	free(dir);
	assert_int_equal(qi_stage_compare(h, find(&m, "/usr/local/bin")),
			 strcmp(link, "usr/local/bin") == 0 ? QI_STAGE_REPLACE : QI_STAGE_SAME);
	assert_int_equal(qi_run_begin(h, "test refused"), 0);
	size_t changed = 99;
	assert_int_equal(qi_stage_commit(h, s, &m, &changed), -1);
	assert_non_null(strstr(qi_errmsg(h), want));
	assert_int_equal(changed, 99);
	qi_run_abort(h);
	fixture_end(h, &m, s, r, before);
}

/* A symlink that dangles, leads to a file, loops or climbs out of ROOT
 * with "..", where the stage has a directory, is refused before anything
 * is written; the message names the link and its target. */
static void test_refused_links(void **state)
{
	refused("dangling", "usr/local/bin", "/opt/nowhere",
		"/usr/local/bin is a symlink to /opt/nowhere, which does not exist in ");
	refused("dangling-rel", "bin", "usr/nowhere", "/bin is a symlink to usr/nowhere, which does not exist in ");
	refused("file", "usr/local/bin", "/usr/bin/ls",
		"/usr/local/bin is a symlink to /usr/bin/ls, which is a regular file, not a directory");
	refused("loop", "lib", "lib", "/lib is a symlink to lib, which cannot be followed");
	refused("out", "usr/local/bin", "../../../../../../../../../opt/bin",
		"which leads out of ");
	/* A link further down the chain counts too: bin -> b1 -> /opt/b2 (absent). */
	refused("chain", "bin", "b1", "/bin is a symlink to b1, which does not exist in ");
}

/* Two staged files that the links make one (bin/x and usr/bin/x in a
 * merged /usr) are refused; two directories that meet are not. */
static void test_aliases(void **state)
{
	char *s, *r;
	qi_handle *h = links_fixture("alias", &s, &r);
	sh("mkdir -p '%1$s/usr/bin' && echo other >'%1$s/usr/bin/other'", s);
	struct qi_manifest m;
	assert_int_equal(qi_manifest_scan(h, s, false, &m), 0);
	assert_int_equal(qi_stage_check(h, &m), 0);	/* /bin and /usr/bin meet: both directories */
	qi_manifest_free(&m);
	sh("echo y >'%s/usr/bin/x'", s);
	assert_int_equal(qi_manifest_scan(h, s, false, &m), 0);
	assert_int_equal(qi_stage_check(h, &m), -1);
	assert_non_null(strstr(qi_errmsg(h), "the staged /bin/x and /usr/bin/x are one path"));
	assert_non_null(strstr(qi_errmsg(h), "/usr/bin/x, through the symlinks in"));
	qi_manifest_free(&m);
	qi_free(h);
	free(s);
	free(r);
}

/* qi_stage_check_dir looks at the directory and every one above it, and
 * lets a directory, an absent one and a link to a directory pass. */
static void test_check_dir(void **state)
{
	char *s, *r;
	qi_handle *h = links_fixture("checkdir", &s, &r);
	assert_int_equal(qi_stage_check_dir(h, "/usr/local/bin"), 0);
	assert_int_equal(qi_stage_check_dir(h, "/usr/local/bin/new/deeper"), 0);
	assert_int_equal(qi_stage_check_dir(h, "/bin"), 0);
	assert_int_equal(qi_stage_check_dir(h, "/"), 0);
	sh("rm -r '%s/opt/bin'", r);
	assert_int_equal(qi_stage_check_dir(h, "/usr/local/bin/new"), -1);
	assert_non_null(strstr(qi_errmsg(h), "/usr/local/bin is a symlink to /opt/bin"));
	assert_int_equal(qi_stage_check_dir(h, "/usr/lib"), 0);
	qi_free(h);
	free(s);
	free(r);
}

/* The svscan unit: the template filled in (svscan's path, the service
 * directory, its bindir on PATH), written with the service directory and
 * the enable link through the journal, nothing left to plan afterwards. */
static void test_svscan_unit(void **state)
{
	const char *src = getenv("top_srcdir");
	setenv("QINSTALL_DATADIR", src ? src : "..", 1);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *r = qi_xasprintf("%s/unit-root", tmp), *cache = qi_xasprintf("%s/cache", tmp);
	mkdir(r, 0755);
	qi_set_cache_dir(h, cache);
	assert_int_equal(qi_set_root(h, r), 0);
	const char *text = "[services]\nsvscan = yes\nservice_dir = /service\nunit = djb.service\n";
	struct qi_profile *p = NULL;
	assert_int_equal(qi_profile_parse_buffer(h, "t.profile", text, strlen(text), &p), 0);
	struct qi_svscan_unit u;
	if (qi_svscan_unit_render(h, p, "/command/svscan", &u) < 0)
		fail_msg("%s", qi_errmsg(h));
	assert_string_equal(u.unit_path, "/etc/systemd/system/djb.service");
	assert_string_equal(u.wants_link, "/etc/systemd/system/multi-user.target.wants/djb.service");
	assert_non_null(strstr(u.text, "\nExecStart=/command/svscan /service\n"));
	assert_non_null(strstr(u.text, "PATH=/command:"));
	assert_null(strstr(u.text, "@"));
	json_t *plan = json_array();
	assert_int_equal(qi_svscan_unit_plan(h, &u, plan), 0);
	assert_int_equal(json_array_size(plan), 4);	/* service dir, wants dir, unit, link */
	json_decref(plan);

	assert_int_equal(qi_run_begin(h, "test unit"), 0);
	if (qi_svscan_unit_commit(h, p, &u) < 0)
		fail_msg("%s", qi_errmsg(h));
	assert_int_equal(qi_run_commit(h), 0);
	char *link = qi_xasprintf("%s/etc/systemd/system/multi-user.target.wants/djb.service", r);
	char buf[256];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "/etc/systemd/system/djb.service");
	char *sd = qi_xasprintf("%s/service", r);
	struct stat st;
	assert_int_equal(stat(sd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	plan = json_array();
	assert_int_equal(qi_svscan_unit_plan(h, &u, plan), 0);
	assert_int_equal(json_array_size(plan), 0);
	json_decref(plan);
	free(sd);
	free(link);
	free(r);
	free(cache);
	qi_svscan_unit_free(&u);
	qi_profile_free(p);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_commit_compare_rollback),
		cmocka_unit_test(test_commit_through_links),
		cmocka_unit_test(test_refused_links),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_check_dir),
		cmocka_unit_test(test_svscan_unit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
