/* Unit tests for migrate/dpkg.c: the status parser (pure), then, on a
 * throwaway ROOT with a dpkg database of its own, two fake packages built
 * with dpkg-deb and installed with dpkg --root: "fakemta" (the MTA:
 * Provides/Conflicts/Replaces mail-transport-agent, /usr/sbin/sendmail, a
 * conffile, a symlink) and "mailx-dep" (Depends: default-mta |
 * mail-transport-agent). The owner of a path, the kept .deb (rebuilt, and
 * from apt's cache), the swap to the stand-in and back, the purge, the
 * audit, and dpkg's locks. Those need root and dpkg: skipped otherwise. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "migrate/migrate.h"
#include "unit.h"

static qi_handle *handle(const char *root)
{
	qi_handle *h = qi_new();
	assert_non_null(h);
	qi_set_verbosity(h, -1);
	if (root)
		assert_int_equal(qi_set_root(h, root), 0);
	return h;
}

/* ---- the parser ---- */

static const char status_text[] =
	"Package: postfix\r\n"
	"Status: install ok installed\r\n"
	"Architecture: amd64\r\n"
	"Version: 3.7.11-0+deb12u1\r\n"
	"Provides: default-mta, mail-transport-agent (= 3.7.11)\r\n"
	"Depends: libc6 (>= 2.34),\r\n"
	" libssl3 (>= 3.0.0)\r\n"
	"Conflicts: mail-transport-agent\r\n"
	"Description: High-performance mail transport agent\r\n"
	" Postfix is a mail transport agent.\r\n"
	" .\r\n"
	" Source: not a field\r\n"
	"\r\n"
	"Package: bsd-mailx\n"
	"Status: install ok installed\n"
	"Source: mailutils (1:3.15-4)\n"
	"Version: 8.1.2-1\n"
	"Depends: default-mta | mail-transport-agent\n"
	"\n\n"
	"Package: exim4-daemon-light\n"
	"Status: hold ok installed\n"
	"Provides: exim4-localscanapi-6.0, mail-transport-agent:any\n"
	"\n"
	"Package: sendmail-bin\n"
	"Status: deinstall ok config-files\n"
	"Provides: mail-transport-agent\n";

/* Every field, folded ones joined, Source without its version, CRLF
 * tolerated, a Description's continuation lines not taken for fields. */
static void test_parse_fields(void **state)
{
	qi_handle *h = handle(NULL);
	struct dpkg_db db;
	assert_int_equal(dpkg_status_parse(h, status_text, strlen(status_text), &db), 0);
	assert_int_equal(db.n, 4);
	const struct dpkg_pkg *p = dpkg_find(&db, "postfix");
	assert_non_null(p);
	assert_string_equal(p->version, "3.7.11-0+deb12u1");
	assert_string_equal(p->arch, "amd64");
	assert_string_equal(p->status, "install ok installed");
	assert_string_equal(p->depends, "libc6 (>= 2.34), libssl3 (>= 3.0.0)");
	assert_string_equal(p->conflicts, "mail-transport-agent");
	assert_null(p->source);
	assert_null(p->replaces);
	assert_non_null(strstr(p->stanza, "Description: High-performance mail transport agent\n"
					  " Postfix is a mail transport agent.\n .\n"));
	assert_true(dpkg_installed(p));
	assert_true(dpkg_provides(p, "mail-transport-agent"));
	assert_true(dpkg_provides(p, "default-mta"));
	assert_false(dpkg_provides(p, "mail-transport"));
	assert_false(dpkg_provides(p, "default"));
	const struct dpkg_pkg *m = dpkg_find(&db, "bsd-mailx");
	assert_string_equal(m->source, "mailutils");
	assert_false(dpkg_provides(m, "mail-transport-agent"));
	const struct dpkg_pkg *e = dpkg_find(&db, "exim4-daemon-light");
	assert_true(dpkg_installed(e));
	assert_true(dpkg_provides(e, "mail-transport-agent"));
	const struct dpkg_pkg *s = dpkg_find(&db, "sendmail-bin");
	assert_false(dpkg_installed(s));
	assert_null(dpkg_find(&db, "exim4"));
	dpkg_db_free(&db);
	qi_free(h);
}

/* A line that is no field, a continuation with no field before it, a
 * NUL byte: refused, naming the line. */
static void test_parse_errors(void **state)
{
	qi_handle *h = handle(NULL);
	struct dpkg_db db;
	const char *bad[] = { "Package: a\nnot a field\n", "Package: a\n\n continued\n",
			      ": no name\n" };
	const char *line[] = { "line 2 ", "line 3 ", "line 1 " };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dpkg_status_parse(h, bad[i], strlen(bad[i]), &db), -1);
		assert_int_equal(db.n, 0);
		assert_non_null(strstr(qi_errmsg(h), line[i]));
		qi_clear_error(h);
	}
	assert_int_equal(dpkg_status_parse(h, "Package: a\0b\n", 13, &db), -1);
	assert_non_null(strstr(qi_errmsg(h), "NUL"));
	qi_free(h);
}

/* No limit on the stanzas; one without Package is skipped. */
static void test_parse_many(void **state)
{
	qi_handle *h = handle(NULL);
	struct qi_buf b = { 0 };
	for (int i = 0; i < 5000; i++)
		qi_buf_addf(&b, "Package: p%d\nVersion: %d\n\n", i, i);
	qi_buf_addf(&b, "Version: 1\n");
	struct dpkg_db db;
	assert_int_equal(dpkg_status_parse(h, b.data, b.len, &db), 0);
	assert_int_equal(db.n, 5000);
	assert_string_equal(dpkg_find(&db, "p4999")->version, "4999");
	dpkg_db_free(&db);
	qi_buf_free(&b);
	qi_free(h);
}

/* ---- a ROOT with dpkg ---- */

static char *root, *work;

static int sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	int rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool have_dpkg(void)
{
	if (geteuid() != 0) {
		print_message("# skipped: dpkg --root needs root\n");
		return false;
	}
	if (sh("command -v dpkg >/dev/null && command -v dpkg-deb >/dev/null") != 0) {
		print_message("# skipped: dpkg and dpkg-deb are not installed\n");
		return false;
	}
	return true;
}

/* WORK/NAME.deb built from a tree with CONTROL and the files MAKE makes. */
static void build_pkg(const char *name, const char *control, const char *make)
{
	char *tree = ut_path(work, name);
	ut_mkdir(tree, "DEBIAN", 0755);
	ut_write(tree, "DEBIAN/control", control, 0644);
	assert_int_equal(sh("cd '%s' && %s", tree, make), 0);
	assert_int_equal(sh("dpkg-deb --root-owner-group --build '%s' '%s/%s.deb' >/dev/null", tree,
			    work, name), 0);
	assert_int_equal(ut_rmtree(tree), 0);
	free(tree);
}

static int dpkg_setup(void **state)
{
	if (!have_dpkg())
		return 0;
	root = ut_tmpdir("dpkg-root");
	work = ut_tmpdir("dpkg-work");
	ut_mkdir(root, "var/lib/dpkg/info", 0755);
	ut_mkdir(root, "var/lib/dpkg/updates", 0755);
	ut_mkdir(root, "var/log", 0755);
	ut_mkdir(root, "var/cache/apt/archives", 0755);
	ut_write(root, "var/lib/dpkg/status", "", 0644);
	ut_write(root, "var/lib/dpkg/available", "", 0644);
	build_pkg("fakemta",
		  "Package: fakemta\nVersion: 1:1.0-1\nArchitecture: all\n"
		  "Maintainer: Test <test@example.org>\n"
		  "Provides: mail-transport-agent\nConflicts: mail-transport-agent\n"
		  "Replaces: mail-transport-agent\nSection: mail\nPriority: optional\n"
		  "Description: a fake MTA\n It only says so.\n .\n Two paragraphs.\n",
		  "mkdir -p usr/sbin usr/lib etc/fakemta && printf '#!/bin/sh\\necho fake\\n' > "
		  "usr/sbin/sendmail && chmod 0755 usr/sbin/sendmail && ln -s ../sbin/sendmail "
		  "usr/lib/sendmail && echo 'relay = none' > etc/fakemta/fakemta.conf && "
		  "echo /etc/fakemta/fakemta.conf > DEBIAN/conffiles && touch -d 2020-01-02 "
		  "usr/sbin/sendmail etc/fakemta/fakemta.conf");
	build_pkg("mailx-dep",
		  "Package: mailx-dep\nVersion: 2.0\nArchitecture: all\n"
		  "Maintainer: Test <test@example.org>\n"
		  "Depends: default-mta | mail-transport-agent\nDescription: needs an MTA\n",
		  "mkdir -p usr/bin && echo mailx > usr/bin/mailx-dep");
	assert_int_equal(sh("dpkg --root='%s' --log=/dev/null -i '%s/fakemta.deb' '%s/mailx-dep.deb' "
			    ">/dev/null", root, work, work), 0);
	return 0;
}

static int dpkg_teardown(void **state)
{
	if (root)
		ut_tmpdir_remove(root);
	if (work)
		ut_tmpdir_remove(work);
	root = work = NULL;
	return 0;
}

#define NEED_DPKG() do { if (!root) skip(); } while (0)

/* The status of NAME in ROOT now (NULL when not listed), malloc'd. */
static char *status_of(qi_handle *h, const char *name)
{
	struct dpkg_db db;
	assert_int_equal(dpkg_status_load(h, &db), 0);
	const struct dpkg_pkg *p = dpkg_find(&db, name);
	char *s = p && p->status ? strdup(p->status) : NULL;
	dpkg_db_free(&db);
	return s;
}

static void assert_status(qi_handle *h, const char *name, const char *want)
{
	char *s = status_of(h, name);
	if (!want)
		assert_true(!s || strstr(s, "not-installed") || strstr(s, "config-files"));
	else {
		assert_non_null(s);
		assert_string_equal(s, want);
	}
	free(s);
}

/* The installed MTA found by its Provides; the owner of its files. */
static void test_status_owner(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	struct dpkg_db db;
	assert_int_equal(dpkg_status_load(h, &db), 0);
	const struct dpkg_pkg *p = dpkg_find(&db, "fakemta");
	assert_non_null(p);
	assert_true(dpkg_installed(p));
	assert_true(dpkg_provides(p, "mail-transport-agent"));
	assert_string_equal(p->version, "1:1.0-1");
	assert_false(dpkg_provides(dpkg_find(&db, "mailx-dep"), "mail-transport-agent"));
	char **files, *owner;
	size_t n;
	assert_int_equal(dpkg_pkg_files(h, p, &files, &n), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		found |= strcmp(files[i], "/usr/sbin/sendmail") == 0;
		assert_string_not_equal(files[i], "/.");
		free(files[i]);
	}
	free(files);
	assert_true(found);
	assert_int_equal(dpkg_owner(h, &db, "/usr/sbin//sendmail", &owner), 0);
	assert_non_null(owner);
	assert_string_equal(owner, "fakemta");
	free(owner);
	assert_int_equal(dpkg_owner(h, &db, "/usr/bin/mailx-dep", &owner), 0);
	assert_string_equal(owner, "mailx-dep");
	free(owner);
	assert_int_equal(dpkg_owner(h, &db, "/usr/sbin/exim4", &owner), 0);
	assert_null(owner);
	dpkg_db_free(&db);
	qi_free(h);
}

/* `dpkg-deb -c DEB`, or `dpkg-deb -f DEB` for a control listing. */
static char *deb_out(const char *what, const char *deb)
{
	char *cmd;
	assert_true(asprintf(&cmd, "dpkg-deb %s '%s'", what, deb) > 0);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *out = ut_read_stream(f);
	assert_int_equal(pclose(f), 0);
	free(cmd);
	return out;
}

static const struct dpkg_pkg *load_pkg(qi_handle *h, struct dpkg_db *db, const char *name)
{
	assert_int_equal(dpkg_status_load(h, db), 0);
	const struct dpkg_pkg *p = dpkg_find(db, name);
	assert_non_null(p);
	return p;
}

/* With apt's cache empty the .deb is rebuilt: the same data (every path,
 * mode, owner, size, time) and control, its conffile declared. */
static void test_keep_rebuilt(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	struct dpkg_db db;
	const struct dpkg_pkg *p = load_pkg(h, &db, "fakemta");
	char *deb, *kept = ut_path(work, "kept");
	const char *how;
	ut_mkdir(kept, "", 0755);
	assert_int_equal(dpkg_keep_deb(h, p, kept, &deb, &how), 0);
	assert_string_equal(how, "rebuilt");
	assert_non_null(strstr(deb, "/fakemta_1%3a1.0-1_all.deb"));
	char *orig = ut_path(work, "fakemta.deb");
	char *want = deb_out("-c", orig), *got = deb_out("-c", deb);
	/* The top directory's time is the build's, not the package's. */
	assert_string_equal(strchr(got, '\n'), strchr(want, '\n'));
	free(want);
	free(got);
	want = deb_out("-f", orig);
	got = deb_out("-f", deb);
	assert_non_null(strstr(got, "Description: a fake MTA\n It only says so.\n .\n"));
	assert_null(strstr(got, "Status:"));
	assert_non_null(strstr(got, "Provides: mail-transport-agent\n"));
	free(want);
	free(got);
	got = deb_out("-I", deb);
	assert_non_null(strstr(got, " conffiles"));
	free(got);
	assert_int_equal(sh("dpkg-deb -I '%s' conffiles | grep -qx /etc/fakemta/fakemta.conf", deb), 0);
	/* Only the package's tree in KEPT: the work tree is gone. */
	assert_int_equal(sh("test \"$(ls '%s')\" = fakemta_1%%3a1.0-1_all.deb", kept), 0);
	free(deb);
	free(orig);
	free(kept);
	dpkg_db_free(&db);
	qi_free(h);
}

/* apt's archive is taken when it is that package; another package under
 * its name is not: rebuilt. */
static void test_keep_cache(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	struct dpkg_db db;
	const struct dpkg_pkg *p = load_pkg(h, &db, "fakemta");
	char *deb;
	const char *how;
	const char *cached = "var/cache/apt/archives/fakemta_1%3a1.0-1_all.deb";
	assert_int_equal(sh("cp '%s/mailx-dep.deb' '%s/%s'", work, root, cached), 0);
	assert_int_equal(dpkg_keep_deb(h, p, work, &deb, &how), 0);
	assert_string_equal(how, "rebuilt");
	free(deb);
	assert_int_equal(sh("cp '%s/fakemta.deb' '%s/%s'", work, root, cached), 0);
	assert_int_equal(dpkg_keep_deb(h, p, work, &deb, &how), 0);
	assert_string_equal(how, "apt cache");
	assert_int_equal(sh("cmp -s '%s' '%s/fakemta.deb'", deb, work), 0);
	free(deb);
	dpkg_db_free(&db);
	qi_free(h);
}

/* The stand-in's control and its one file. */
static void test_standin(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	const char *const extra[] = { "fakemta-daemon", NULL };
	struct dpkg_standin s = { "qinstall-mta", "1.06-qinstall1", "qmail took over", extra };
	char *deb;
	assert_int_equal(dpkg_standin_build(h, work, &s, &deb), 0);
	char *f = deb_out("-f", deb);
	assert_non_null(strstr(f, "Package: qinstall-mta\nVersion: 1.06-qinstall1\nArchitecture: all\n"
				  "Maintainer: qinstall\nProvides: mail-transport-agent\n"
				  "Conflicts: mail-transport-agent, fakemta-daemon\n"
				  "Replaces: mail-transport-agent, fakemta-daemon\n"
				  "Section: mail\nPriority: optional\nDescription: qmail took over\n"));
	free(f);
	f = deb_out("-c", deb);
	assert_non_null(strstr(f, "-rw-r--r-- root/root"));
	assert_non_null(strstr(f, "./usr/share/doc/qinstall-mta/README.qinstall\n"));
	assert_int_equal(sh("test $(dpkg-deb -c '%s' | grep -c '^-') = 1", deb), 0);
	free(f);
	free(deb);
	s.name = "Bad Name";
	assert_int_equal(dpkg_standin_build(h, work, &s, &deb), -1);
	assert_null(deb);
	qi_free(h);
}

/* The swap: the stand-in removes fakemta in the same dpkg run, mailx-dep
 * stays, the audit is clean; the kept .deb brings fakemta back and
 * removes the stand-in; the purge. */
static void test_swap(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	struct dpkg_db db;
	const struct dpkg_pkg *p = load_pkg(h, &db, "fakemta");
	char *kept, *standin, *problems;
	const char *how;
	assert_int_equal(dpkg_keep_deb(h, p, work, &kept, &how), 0);
	dpkg_db_free(&db);
	struct dpkg_standin s = { "qinstall-mta", "1.06-qinstall1", "qmail took over", NULL };
	assert_int_equal(dpkg_standin_build(h, work, &s, &standin), 0);
	assert_int_equal(dpkg_install(h, standin), 0);
	assert_status(h, "qinstall-mta", "install ok installed");
	assert_status(h, "fakemta", NULL);
	assert_status(h, "mailx-dep", "install ok installed");
	assert_false(ut_exists(root, "usr/sbin/sendmail"));
	assert_true(ut_exists(root, "etc/fakemta/fakemta.conf"));	/* removed, not purged */
	assert_int_equal(dpkg_audit(h, &problems), 0);
	assert_string_equal(problems, "");
	free(problems);
	assert_int_equal(dpkg_install(h, kept), 0);
	assert_status(h, "fakemta", "install ok installed");
	assert_status(h, "qinstall-mta", NULL);
	assert_string_equal(ut_slurp(root, "usr/sbin/sendmail"), "#!/bin/sh\necho fake\n");
	assert_int_equal(dpkg_purge(h, "qinstall-mta"), 0);
	assert_null(status_of(h, "qinstall-mta"));
	assert_int_equal(dpkg_purge(h, "mailx-dep"), 0);
	assert_status(h, "mailx-dep", NULL);
	assert_false(ut_exists(root, "usr/bin/mailx-dep"));
	assert_int_equal(dpkg_audit(h, &problems), 0);
	assert_string_equal(problems, "");
	free(problems);
	assert_int_equal(dpkg_install(h, "/nonexistent/x.deb"), -1);
	assert_non_null(strstr(qi_errmsg(h), "cannot install /nonexistent/x.deb"));
	free(kept);
	free(standin);
	qi_free(h);
}

/* The stand-in's extra conflicts go in the same swap (exim4 with
 * exim4-daemon-light); a Multi-Arch: same package's list is NAME:ARCH.list. */
static void test_swap_extra(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	char *arch = NULL;
	FILE *f = popen("dpkg --print-architecture", "r");
	assert_non_null(f);
	arch = ut_read_stream(f);
	assert_int_equal(pclose(f), 0);
	arch[strcspn(arch, "\n")] = '\0';
	char *control;
	assert_true(asprintf(&control, "Package: libfake\nVersion: 1\nArchitecture: %s\n"
			     "Multi-Arch: same\nMaintainer: T <t@example.org>\nDescription: lib\n",
			     arch) > 0);
	build_pkg("libfake", control, "mkdir -p usr/lib/fake && echo l > usr/lib/fake/libfake.so");
	free(control);
	build_pkg("fakemta-daemon",
		  "Package: fakemta-daemon\nVersion: 1\nArchitecture: all\n"
		  "Maintainer: T <t@example.org>\nDepends: fakemta\nDescription: its daemon\n",
		  "mkdir -p usr/sbin && echo d > usr/sbin/fakemtad");
	assert_int_equal(sh("dpkg --root='%s' --log=/dev/null -i '%s/libfake.deb' "
			    "'%s/fakemta-daemon.deb' >/dev/null", root, work, work), 0);
	char *list;
	assert_true(asprintf(&list, "var/lib/dpkg/info/libfake:%s.list", arch) > 0);
	assert_true(ut_exists(root, list));
	free(list);
	struct dpkg_db db;
	char *owner;
	assert_int_equal(dpkg_status_load(h, &db), 0);
	assert_int_equal(dpkg_owner(h, &db, "/usr/lib/fake/libfake.so", &owner), 0);
	assert_non_null(owner);
	assert_string_equal(owner, "libfake");
	free(owner);
	dpkg_db_free(&db);
	const char *const extra[] = { "fakemta-daemon", NULL };
	struct dpkg_standin s = { "qinstall-mta", "1.06-qinstall1", "qmail took over", extra };
	char *standin, *problems;
	assert_int_equal(dpkg_standin_build(h, work, &s, &standin), 0);
	assert_int_equal(dpkg_install(h, standin), 0);
	assert_status(h, "qinstall-mta", "install ok installed");
	assert_status(h, "fakemta", NULL);
	assert_status(h, "fakemta-daemon", NULL);
	assert_status(h, "mailx-dep", "install ok installed");
	assert_status(h, "libfake", "install ok installed");
	assert_int_equal(dpkg_audit(h, &problems), 0);
	assert_string_equal(problems, "");
	free(problems);
	free(standin);
	free(arch);
	qi_free(h);
}

/* A lock held on lock-frontend by another process (named), or on lock by
 * an open file description of ours: refused as QI_ERR_LOCKED. */
static void test_lock(void **state)
{
	NEED_DPKG();
	qi_handle *h = handle(root);
	assert_int_equal(dpkg_check_unlocked(h), 0);
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	char *path = ut_path(root, "var/lib/dpkg/lock-frontend");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0640);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(dpkg_check_unlocked(h), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_LOCKED);
	char *want;
	assert_true(asprintf(&want, "dpkg's database in %s is locked by process %ld (apt or dpkg is "
			     "running): wait for it to finish, then run qinstall migrate again "
			     "(nothing was changed)", root, (long)pid) > 0);
	assert_string_equal(qi_errmsg(h), want);
	free(want);
	assert_int_equal(write(done[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	qi_clear_error(h);
	assert_int_equal(dpkg_check_unlocked(h), 0);
	free(path);
	path = ut_path(root, "var/lib/dpkg/lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	assert_int_equal(dpkg_check_unlocked(h), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_LOCKED);
	assert_non_null(strstr(qi_errmsg(h), "is locked by "));
	close(fd);
	qi_clear_error(h);
	assert_int_equal(dpkg_check_unlocked(h), 0);
	for (int i = 0; i < 2; i++)
		close(ready[i]), close(done[i]);
	free(path);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_many),
		cmocka_unit_test_setup_teardown(test_status_owner, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_keep_rebuilt, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_keep_cache, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_standin, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_swap, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_swap_extra, dpkg_setup, dpkg_teardown),
		cmocka_unit_test_setup_teardown(test_lock, dpkg_setup, dpkg_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
