/* Unit tests for migrate/rpm.c: the parser of rpm -qa's --qf output
 * (pure), then, on throwaway ROOTs made by tests/lib/rpmroot.sh (an rpm
 * database of their own with RHEL-like "postfix" and "mailx", the
 * alternatives group mta; in one, postfix's .rpm in dnf's cache): the
 * database found and read, what provides and requires the MTA's
 * capabilities, the owner of a path, the kept .rpm (from the cache, and
 * rebuilt: the same files, modes and flags), rpm -e --nodeps (an edited
 * %config(noreplace) left as .rpmsave) and the reinstall of the kept
 * file. Those need root, rpm and rpmbuild: skipped otherwise. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate/rpm.h"
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

/* Every field; no epoch ("(none)") and an epoch; the NEVRA with it;
 * CRLF and empty lines tolerated. */
static void test_parse_fields(void **state)
{
	(void)state;
	static const char text[] =
		"postfix\t2\t3.5.25\t1.el9\tx86_64\t719bd40c0d6c6c23f91fbb6bcd0cb9b8fb126045\n"
		"\n"
		"mailx\t(none)\t12.5\t29.el9\tnoarch\t0123456789abcdef0123456789abcdef01234567\r\n"
		"gpg-pubkey\t(none)\tfd431d51\t4ae0493b\t(none)\t(none)";
	qi_handle *h = handle(NULL);
	struct rpm_db db;
	assert_int_equal(rpm_qa_parse(h, text, strlen(text), &db), 0);
	assert_int_equal(db.n, 3);
	const struct rpm_pkg *p = rpm_find(&db, "postfix");
	assert_non_null(p);
	assert_string_equal(p->epoch, "2");
	assert_string_equal(p->version, "3.5.25");
	assert_string_equal(p->release, "1.el9");
	assert_string_equal(p->arch, "x86_64");
	assert_string_equal(p->nevra, "postfix-2:3.5.25-1.el9.x86_64");
	assert_string_equal(p->sha1header, "719bd40c0d6c6c23f91fbb6bcd0cb9b8fb126045");
	const struct rpm_pkg *m = rpm_find(&db, "mailx");
	assert_null(m->epoch);
	assert_string_equal(m->arch, "noarch");
	assert_string_equal(m->nevra, "mailx-12.5-29.el9.noarch");
	assert_string_equal(rpm_find(&db, "gpg-pubkey")->version, "fd431d51");
	assert_null(rpm_find(&db, "sendmail"));
	assert_null(db.dbpath);
	rpm_db_free(&db);
	assert_int_equal(rpm_qa_parse(h, "", 0, &db), 0);
	assert_int_equal(db.n, 0);
	rpm_db_free(&db);
	qi_free(h);
}

/* Too few fields, too many, an empty one, a control character (a
 * carriage return besides CRLF's), a NUL byte: refused, naming
 * the line, nothing left in DB. */
static void test_parse_errors(void **state)
{
	(void)state;
	qi_handle *h = handle(NULL);
	struct rpm_db db;
	static const char ok[] = "a\t(none)\t1\t1\tnoarch\tx\n";
	const char *bad[] = { "a\t(none)\t1\t1\tnoarch\n",
			      "a\t(none)\t1\t1\tnoarch\tx\tmore\n",
			      "a\t\t1\t1\tnoarch\tx\n",
			      "just a line\n",
			      "a\t(none)\t1\t1\tnoarch\tx\t\n",
			      "a\t(none)\t1\t1\tnoarch\tx\r\r\n",
			      "a\x1b[2J\t(none)\t1\t1\tnoarch\tx\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = NULL;
		assert_true(asprintf(&text, "%s%s%s", ok, ok, bad[i]) > 0);
		assert_int_equal(rpm_qa_parse(h, text, strlen(text), &db), -1);
		assert_int_equal(db.n, 0);
		assert_null(db.v);
		assert_non_null(strstr(qi_errmsg(h), "line 3 "));
		qi_clear_error(h);
		free(text);
	}
	static const char nul[] = "a\t(none)\t1\t1\tnoarch\tx\na\0b\n";
	assert_int_equal(rpm_qa_parse(h, nul, sizeof(nul) - 1, &db), -1);
	assert_non_null(strstr(qi_errmsg(h), "line 2 "));
	assert_non_null(strstr(qi_errmsg(h), "NUL"));
	qi_free(h);
}

/* ---- on a root with an rpm database ---- */

static char *root, *work;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	int rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* What sh prints, malloc'd. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *out = ut_read_stream(f);
	assert_int_equal(pclose(f), 0);
	free(cmd);
	return out;
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");
	return s ? s : getenv("QINSTALL_DATADIR");
}

static bool have_rpm(void)
{
	if (geteuid() != 0) {
		print_message("# skipped: rpm --root needs root\n");
		return false;
	}
	if (sh("command -v rpm >/dev/null && command -v rpmbuild >/dev/null") != 0) {
		print_message("# skipped: rpm and rpmbuild are not installed (apt-get install rpm)\n");
		return false;
	}
	if (!srcdir()) {
		print_message("# skipped: top_srcdir is not set (run it with make check)\n");
		return false;
	}
	return true;
}

static int setup_root(bool cache)
{
	if (!have_rpm())
		return 0;
	root = ut_tmpdir("rpm-root");
	work = ut_tmpdir("rpm-work");
	assert_int_equal(sh("RPMROOT_CACHE=%s bash -c '. \"$0\"/tests/lib/rpmroot.sh && "
			    "rpmroot_make \"$1\" postfix' '%s' '%s'",
			    cache ? "yes" : "no", srcdir(), root), 0);
	return 0;
}
static int rpm_setup(void **state)
{
	(void)state;
	return setup_root(false);
}
static int rpm_setup_cache(void **state)
{
	(void)state;
	return setup_root(true);
}

static int rpm_teardown(void **state)
{
	(void)state;
	if (root)
		ut_tmpdir_remove(root);
	if (work)
		ut_tmpdir_remove(work);
	root = work = NULL;
	return 0;
}

#define NEED_RPM() do { if (!root) skip(); } while (0)

#define RPM "rpm --root '%s' --dbpath /var/lib/rpm "
#define FILEQF "'[%%{FILEMODES:octal} %%{FILEUSERNAME} %%{FILEGROUPNAME} %%{FILEFLAGS:fflags} " \
	"%%{FILENAMES}\\n]'"

/* The database found at /var/lib/rpm (not Debian's ~/.rpmdb) and read;
 * what provides smtpdaemon, what requires the MTA; the files of postfix
 * and the owner of a path. */
static void test_queries(void **state)
{
	(void)state;
	NEED_RPM();
	qi_handle *h = handle(root);
	char *dbpath;
	assert_int_equal(rpm_root_db(h, &dbpath), 1);
	assert_string_equal(dbpath, "/var/lib/rpm");
	free(dbpath);

	struct rpm_db db;
	assert_int_equal(rpm_db_load(h, &db), 0);
	assert_int_equal(db.n, 2);
	assert_string_equal(db.dbpath, "/var/lib/rpm");
	const struct rpm_pkg *p = rpm_find(&db, "postfix");
	assert_non_null(p);
	assert_null(p->epoch);
	assert_string_equal(p->version, "3.5.25");
	assert_string_equal(p->release, "1.el9");
	assert_string_equal(p->nevra, "postfix-3.5.25-1.el9.noarch");
	assert_int_equal(strlen(p->sha1header), 40);
	assert_non_null(rpm_find(&db, "mailx"));

	char **names;
	size_t n;
	assert_int_equal(rpm_whatprovides(h, "smtpdaemon", &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "postfix");
	rpm_names_free(names, n);
	assert_int_equal(rpm_whatprovides(h, "no-such-capability", &names, &n), 0);
	assert_int_equal(n, 0);
	rpm_names_free(names, n);

	const char *caps[] = { "MTA", "smtpdaemon", "/usr/sbin/sendmail", "server(smtp)" };
	const char *except[] = { "postfix" };
	assert_int_equal(rpm_whatrequires(h, caps, 4, except, 1, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "mailx");
	rpm_names_free(names, n);
	const char *mailx[] = { "mailx" };
	assert_int_equal(rpm_whatrequires(h, caps, 4, mailx, 1, &names, &n), 0);
	assert_int_equal(n, 0);
	rpm_names_free(names, n);

	assert_int_equal(rpm_pkg_files(h, p, &names, &n), 0);
	assert_int_equal(n, 9);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(names[i], "/etc/postfix/main.cf") == 0;
	assert_true(found);
	rpm_names_free(names, n);

	/* The fixture's alternatives chain, as chkconfig makes it. */
	char *l = ut_path(root, "usr/sbin/sendmail"), t[256];
	ssize_t tl = readlink(l, t, sizeof(t) - 1);
	assert_true(tl > 0);
	t[tl] = '\0';
	assert_string_equal(t, "/etc/alternatives/mta");
	free(l);
	l = ut_path(root, "etc/alternatives/mta");
	tl = readlink(l, t, sizeof(t) - 1);
	assert_true(tl > 0);
	t[tl] = '\0';
	assert_string_equal(t, "/usr/sbin/sendmail.postfix");
	free(l);
	assert_non_null(strstr(ut_slurp(root, "var/lib/alternatives/mta"),
			       "\n\n/usr/sbin/sendmail.postfix\n60 postfix\n/usr/bin/mailq.postfix\n"));

	char *owner;
	assert_int_equal(rpm_owner(h, "/usr/sbin/sendmail.postfix", &owner), 0);
	assert_non_null(owner);
	assert_string_equal(owner, "postfix");
	free(owner);
	assert_int_equal(rpm_owner(h, "/var/lib/alternatives/mta", &owner), 0);
	assert_null(owner);
	assert_int_equal(rpm_owner(h, "/no/such/file", &owner), 0);
	assert_null(owner);
	rpm_db_free(&db);
	qi_free(h);
}

/* A root without a database: refused, saying so. */
static void test_no_db(void **state)
{
	(void)state;
	if (!have_rpm())
		skip();
	char *empty = ut_tmpdir("rpm-empty");
	qi_handle *h = handle(empty);
	char *dbpath;
	assert_int_equal(rpm_root_db(h, &dbpath), 0);
	assert_null(dbpath);
	struct rpm_db db;
	assert_int_equal(rpm_db_load(h, &db), -1);
	assert_non_null(strstr(qi_errmsg(h), "no rpm database"));
	qi_free(h);
	ut_tmpdir_remove(empty);
}

/* The .rpm in dnf's cache is taken when its header is the installed one's. */
static void test_keep_cache(void **state)
{
	(void)state;
	NEED_RPM();
	qi_handle *h = handle(root);
	struct rpm_db db;
	assert_int_equal(rpm_db_load(h, &db), 0);
	char *file;
	const char *how;
	assert_int_equal(rpm_keep(h, rpm_find(&db, "postfix"), work, &file, &how), 0);
	assert_string_equal(how, "package cache");
	assert_int_equal(sh("cmp -s '%s' %s/var/cache/dnf/*/packages/postfix-3.5.25-1.el9.noarch.rpm",
			    file, root), 0);
	free(file);
	/* mailx has no cached copy: rebuilt, with its Requires and its
	 * (lua) scriptlet. */
	assert_int_equal(rpm_keep(h, rpm_find(&db, "mailx"), work, &file, &how), 0);
	assert_string_equal(how, "rebuilt");
	char *want = sh_out(RPM "-q --requires --scripts mailx | grep -v '^rpmlib('", root);
	char *got = sh_out("rpm --dbpath /nonexistent -qp --requires --scripts '%s' 2>/dev/null | "
			   "grep -v '^rpmlib('", file);
	assert_non_null(strstr(want, "smtpdaemon\n"));
	assert_non_null(strstr(want, "postinstall scriptlet (using <lua>)"));
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(file);
	rpm_db_free(&db);
	qi_free(h);
}

/* Without a cache: rebuilt, with the same files, modes, owners and
 * flags and the same Provides; then rpm -e --nodeps (an edited
 * %config(noreplace) kept as .rpmsave, the others gone) and the kept
 * .rpm installed back: the same tree. */
static void test_keep_rebuilt_erase_install(void **state)
{
	(void)state;
	NEED_RPM();
	qi_handle *h = handle(root);
	struct rpm_db db;
	assert_int_equal(rpm_db_load(h, &db), 0);
	const struct rpm_pkg *p = rpm_find(&db, "postfix");
	char *file;
	const char *how;
	assert_int_equal(rpm_keep(h, p, work, &file, &how), 0);
	assert_string_equal(how, "rebuilt");
	char *want = sh_out(RPM "-q --qf " FILEQF " postfix", root);
	char *got = sh_out("rpm --dbpath /nonexistent -qp --qf " FILEQF " '%s' 2>/dev/null", file);
	assert_string_equal(got, want);
	free(want);
	free(got);
	want = sh_out(RPM "-q --provides postfix | sort", root);
	got = sh_out("rpm --dbpath /nonexistent -qp --provides '%s' 2>/dev/null | sort", file);
	assert_string_equal(got, want);
	free(want);
	free(got);
	want = sh_out(RPM "-q --qf '%%{NAME} %%{VERSION} %%{RELEASE} %%{ARCH} %%{SUMMARY} "
		      "%%{LICENSE} %%{GROUP}' postfix", root);
	got = sh_out("rpm --dbpath /nonexistent -qp --qf '%%{NAME} %%{VERSION} %%{RELEASE} "
		     "%%{ARCH} %%{SUMMARY} %%{LICENSE} %%{GROUP}' '%s' 2>/dev/null", file);
	assert_string_equal(got, want);
	free(want);
	free(got);

	char *usr = ut_path(root, "usr"), *before = ut_tree(usr, NULL);
	char *maincf = ut_read(root, "etc/postfix/main.cf");
	ut_write(root, "etc/postfix/main.cf", "myhostname = edited.example.org\n", 0644);

	const char *names[] = { "postfix" };
	assert_int_equal(rpm_erase_nodeps(h, names, 1), 0);
	assert_int_equal(sh(RPM "-q --quiet postfix", root), 1);
	assert_int_equal(sh(RPM "-q --quiet mailx", root), 0);
	assert_false(ut_exists(root, "usr/sbin/sendmail.postfix"));
	assert_false(ut_exists(root, "etc/postfix/main.cf"));
	assert_string_equal(ut_slurp(root, "etc/postfix/main.cf.rpmsave"),
			    "myhostname = edited.example.org\n");
	/* Erasing it again fails, saying which. */
	assert_int_equal(rpm_erase_nodeps(h, names, 1), -1);
	assert_non_null(strstr(qi_errmsg(h), "postfix"));
	qi_clear_error(h);

	const char *files[] = { file };
	assert_int_equal(rpm_install(h, files, 1), 0);
	assert_int_equal(sh(RPM "-q --quiet postfix-3.5.25-1.el9.noarch", root), 0);
	char *after = ut_tree(usr, NULL);
	assert_string_equal(after, before);
	assert_string_equal(ut_slurp(root, "etc/postfix/main.cf"), maincf);
	assert_int_equal(sh(RPM "-V postfix >/dev/null", root), 0);
	/* Again with --replacepkgs: no error. */
	assert_int_equal(rpm_install(h, files, 1), 0);
	free(before);
	free(after);
	free(usr);
	free(maincf);
	free(file);
	rpm_db_free(&db);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_no_db),
		cmocka_unit_test_setup_teardown(test_queries, rpm_setup, rpm_teardown),
		cmocka_unit_test_setup_teardown(test_keep_cache, rpm_setup_cache, rpm_teardown),
		cmocka_unit_test_setup_teardown(test_keep_rebuilt_erase_install, rpm_setup, rpm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
