/* Unit tests for build.c: recipes from profiles, the build cache key, the
 * conf-* build of a small djb-style tree, the install into a stage, and
 * what a failed build says. */
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

static int setup(void **state)
{
	tmp = ut_tmpdir("build");
	setenv("QINSTALL_DATADIR", tmp, 1);
	return 0;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(tmp);
	return 0;
}

static const char *base_profile =
	"[build]\ncc = cc -O1\nld = cc\njobs = 2\nprefix = /opt/t\n"
	"[component demo]\nversion = 1.0\n"
	"url = https://example.invalid/dist/demo-${version}.tar.gz?x=1\n"
	"sha256 = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	"size = 123\ndebian = demo 1:1.0-2\n"
	"write = conf-home ${prefix}\n"
	"program = demo 0711\nprogram = demo-helper\n";

static struct qi_profile *profile(qi_handle *h, const char *extra)
{
	char *text = qi_xasprintf("%s%s", base_profile, extra ? extra : "");
	struct qi_profile *p = NULL;
	if (qi_profile_parse_buffer(h, "t.profile", text, strlen(text), &p) < 0)
		fail_msg("%s", qi_errmsg(h));
	free(text);
	return p;
}

/* A recipe takes its pins, origins, conf files, programs (mode 0755 when
 * not given) and targets (the programs, by default) from the profile. */
static void test_recipe_fields(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = profile(h, NULL);
	struct qi_recipe r;
	assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), 0);
	assert_string_equal(r.file, "demo-1.0.tar.gz");
	assert_string_equal(r.urls[0], "https://example.invalid/dist/demo-1.0.tar.gz?x=1");
	assert_int_equal(r.size, 123);
	assert_string_equal(r.debian_source, "demo");
	assert_string_equal(r.debian_version, "1:1.0-2");
	assert_string_equal(r.source.file, "demo-1.0.tar.gz");
	assert_int_equal(r.nwrite, 1);
	assert_string_equal(r.write_names[0], "conf-home");
	assert_string_equal(r.write_values[0], "/opt/t");
	assert_int_equal(r.nprograms, 2);
	assert_int_equal(r.programs[0].mode, 0711);
	assert_int_equal(r.programs[1].mode, 0755);
	assert_string_equal(r.targets[0], "demo");
	assert_string_equal(r.targets[1], "demo-helper");
	assert_null(r.targets[2]);
	assert_string_equal(r.bindir, "/opt/t/bin");
	assert_int_equal(r.jobs, 2);
	assert_int_equal(r.strip, 1);
	assert_false(r.install_make);
	qi_recipe_free(&r);
	qi_profile_free(p);
	qi_free(h);
}

/* The cache key changes with anything that changes the staged tree (the
 * compiler line, a patch's content, a conf file) and not with -j. */
static void test_key(void **state)
{
	qi_handle *h = qi_new();
	ut_write(tmp, "a.patch", "--- a/x\n+++ b/x\n", 0);
	char key[5][65];
	const char *extras[] = {
		"patch = a.patch\n",
		"patch = a.patch\n[build]\njobs = 7\n",
		"patch = a.patch\n[build]\ncc = cc -O3\n",
		"patch = a.patch\nwrite = conf-x 1\n",
		NULL,
	};
	for (int i = 0; i < 5; i++) {
		if (i == 4)
			ut_write(tmp, "a.patch", "--- a/x\n+++ b/x\n@@ changed @@\n", 0);
		struct qi_profile *p = profile(h, extras[i == 4 ? 0 : i]);
		struct qi_recipe r;
		assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), 0);
		assert_int_equal(qi_recipe_key(h, &r), 0);
		assert_int_equal(strlen(r.key), 64);
		memcpy(key[i], r.key, 65);
		qi_recipe_free(&r);
		qi_profile_free(p);
	}
	assert_string_equal(key[0], key[1]);		/* -j does not matter */
	assert_string_not_equal(key[0], key[2]);	/* the compiler line does */
	assert_string_not_equal(key[0], key[3]);	/* a conf file does */
	assert_string_not_equal(key[0], key[4]);	/* the patch content does */
	qi_free(h);
}

/* A missing patch file is an error at recipe time, naming the profile line. */
static void test_missing_patch(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = profile(h, "patch = nowhere.patch\n");
	struct qi_recipe r;
	assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), -1);
	if (!strstr(qi_errmsg(h), "component demo: t.profile:15: patch 'nowhere.patch'"))
		fail_msg("%s", qi_errmsg(h));
	qi_profile_free(p);
	qi_free(h);
}

/* A djb-style tree: the conf files are written, make builds the targets
 * (with MAKEFLAGS from a calling make not passed on), and the programs go
 * into STAGE/bindir with the recipe's modes. */
static void test_build_and_install(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *tree = ut_path(tmp, "tree");
	mkdir(tree, 0755);
	ut_write(tmp, "tree/Makefile",
	    "demo: conf-cc conf-home\n"
	    "\t( echo '#!/bin/sh'; echo \"echo `head -1 conf-cc` `head -1 conf-home`\" ) > demo\n"
	    "demo-helper:\n"
	    "\techo \"flags=[$$MAKEFLAGS]\" > demo-helper\n", 0);
	struct qi_profile *p = profile(h, NULL);
	struct qi_recipe r;
	assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), 0);
	char *log = ut_path(tmp, "build.log"), *stage = ut_path(tmp, "stage");
	setenv("MAKEFLAGS", "-j99 --jobserver-auth=3,4", 1);
	int rc = qi_recipe_build(h, &r, tree, tmp, log, NULL);
	unsetenv("MAKEFLAGS");
	if (rc < 0)
		fail_msg("%s", qi_errmsg(h));
	char *f = ut_path(tmp, "tree/conf-cc"), *s = ut_read(NULL, f);
	assert_string_equal(s, "cc -O1\n");
	free(f);
	free(s);
	f = ut_path(tmp, "tree/conf-ld");
	s = ut_read(NULL, f);
	assert_string_equal(s, "cc\n");
	free(f);
	free(s);
	f = ut_path(tmp, "tree/demo-helper");
	s = ut_read(NULL, f);
	/* make -j2 passes its own jobserver down; never the caller's -j99. */
	assert_non_null(strstr(s, "flags=["));
	assert_null(strstr(s, "99"));
	free(f);
	free(s);
	s = ut_read(NULL, log);
	assert_non_null(strstr(s, "make -j2 demo demo-helper"));
	free(s);
	mkdir(stage, 0755);
	assert_int_equal(qi_recipe_install(h, &r, tree, tmp, stage, log, NULL), 0);
	f = qi_xasprintf("%s/opt/t/bin/demo", stage);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	s = ut_read(NULL, f);
	assert_string_equal(s, "#!/bin/sh\necho cc -O1 /opt/t\n");
	free(s);
	free(f);
	qi_recipe_free(&r);
	qi_profile_free(p);
	free(tree);
	free(log);
	free(stage);
	qi_free(h);
}

/* A failing build's error quotes the end of its log and says where the
 * whole log is; a program the build did not make is named. */
static void test_build_failure(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *tree = ut_path(tmp, "bad");
	mkdir(tree, 0755);
	ut_write(tmp, "bad/Makefile", "demo:\n\t@echo 'line one'; echo 'compiler says: no way' >&2; exit 3\ndemo-helper:\n\ttrue\n", 0);
	struct qi_profile *p = profile(h, NULL);
	struct qi_recipe r;
	assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), 0);
	char *log = ut_path(tmp, "bad.log");
	assert_int_equal(qi_recipe_build(h, &r, tree, tmp, log, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "build failed"));
	assert_non_null(strstr(qi_errmsg(h), "compiler says: no way"));
	assert_non_null(strstr(qi_errmsg(h), "(exit 2)"));
	assert_non_null(strstr(qi_errmsg(h), log));
	/* Installing what was never built names the missing program. */
	char *stage = ut_path(tmp, "bad-stage");
	mkdir(stage, 0755);
	assert_int_equal(qi_recipe_install(h, &r, tree, tmp, stage, log, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "did not produce"));
	assert_non_null(strstr(qi_errmsg(h), "/bad/./demo"));
	/* A build directory that is not in the tree is named too. */
	free(r.dir);
	r.dir = qi_xstrdup("no/such/dir");
	assert_int_equal(qi_recipe_build(h, &r, tree, tmp, log, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "'no/such/dir' is not in the unpacked tree"));
	qi_recipe_free(&r);
	qi_profile_free(p);
	free(tree);
	free(log);
	free(stage);
	qi_free(h);
}

/* install = make runs the tree's install target with DESTDIR=STAGE. */
static void test_install_make(void **state)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	char *tree = ut_path(tmp, "destdir");
	mkdir(tree, 0755);
	ut_write(tmp, "destdir/Makefile",
	    "install-all:\n"
	    "\tmkdir -p $(DESTDIR)/opt/t/sbin\n"
	    "\techo built > $(DESTDIR)/opt/t/sbin/daemon\n"
	    "\tchmod 700 $(DESTDIR)/opt/t/sbin/daemon\n"
	    "demo demo-helper:\n\ttrue\n", 0);
	struct qi_profile *p = profile(h, "install = make\ninstall_target = install-all\n");
	struct qi_recipe r;
	assert_int_equal(qi_recipe_from_profile(h, p, "demo", &r), 0);
	assert_true(r.install_make);
	char *log = ut_path(tmp, "destdir.log"), *stage = ut_path(tmp, "destdir-stage");
	if (qi_recipe_install(h, &r, tree, tmp, stage, log, NULL) < 0)
		fail_msg("%s", qi_errmsg(h));
	char *f = qi_xasprintf("%s/opt/t/sbin/daemon", stage);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	char *s = ut_read(NULL, log);
	assert_non_null(strstr(s, "make install-all DESTDIR="));
	free(s);
	free(f);
	qi_recipe_free(&r);
	qi_profile_free(p);
	free(tree);
	free(log);
	free(stage);
	qi_free(h);
}

/* The tail of a file: the last N lines, trailing newlines dropped. */
static void test_file_tail(void **state)
{
	ut_write(tmp, "tail.txt", "1\n2\n3\n4\n5\n\n", 0);
	char *f = ut_path(tmp, "tail.txt");
	char *t = qi_file_tail(f, 2);
	assert_string_equal(t, "4\n5");
	free(t);
	t = qi_file_tail(f, 50);
	assert_string_equal(t, "1\n2\n3\n4\n5");
	free(t);
	free(f);
	t = qi_file_tail("/nonexistent/qinstall", 5);
	assert_string_equal(t, "");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_fields),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_missing_patch),
		cmocka_unit_test(test_build_and_install),
		cmocka_unit_test(test_build_failure),
		cmocka_unit_test(test_install_make),
		cmocka_unit_test(test_file_tail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
