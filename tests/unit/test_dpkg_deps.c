/* Unit tests for dpkg_deps.c: the packages that must go with the old MTA
 * when the stand-in (which provides mail-transport-agent) replaces it.
 * Dependents satisfied by mail-transport-agent stay (bsd-mailx); a
 * metapackage that depends on the MTA by name goes (exim4), and what
 * depends on that by name goes too (to closure); an alternative met by
 * another installed package keeps a dependent; a dependency that was
 * already unmet before does not make a package go. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"
#include "unit.h"

static const char status[] =
	"Package: exim4-daemon-light\nStatus: install ok installed\nVersion: 4.96-15\n"
	"Architecture: amd64\nProvides: mail-transport-agent\nDepends: exim4-base (>= 4.96), libc6\n\n"
	"Package: exim4-base\nStatus: install ok installed\nVersion: 4.96-15\nArchitecture: amd64\n"
	"Depends: exim4-config | exim4-config-2, libc6\n\n"
	"Package: exim4-config\nStatus: install ok installed\nVersion: 4.96-15\nArchitecture: all\n"
	"Provides: exim4-config-2\n\n"
	"Package: exim4\nStatus: install ok installed\nVersion: 4.96-15\nArchitecture: all\n"
	"Depends: exim4-base (>= 4.96), exim4-daemon-light | exim4-daemon-heavy\n\n"
	"Package: exim-plugin\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"
	"Pre-Depends: exim4\n\n"
	"Package: bsd-mailx\nStatus: install ok installed\nVersion: 8.1.2\nArchitecture: amd64\n"
	"Depends: default-mta | mail-transport-agent, libc6\n\n"
	"Package: mutt\nStatus: install ok installed\nVersion: 2.2\nArchitecture: amd64\n"
	"Depends: exim4-daemon-light | msmtp-mta, libc6\n\n"
	"Package: msmtp-mta\nStatus: install ok installed\nVersion: 1.8\nArchitecture: amd64\n\n"
	"Package: broken\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"
	"Depends: not-there | exim4-daemon-heavy\n\n"
	"Package: old\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n"
	"Depends: exim4-daemon-light\n\n"
	"Package: libc6\nStatus: install ok installed\nVersion: 2.36\nArchitecture: amd64\n";

static bool has(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

/* The Exim set: the daemon first, the metapackage and what pre-depends on
 * it; never the dependents that mail-transport-agent or another package
 * satisfies, an already broken one, or one only configured. */
static void test_exim_set(void **state)
{
	qi_handle *h = qi_new();
	struct dpkg_db db;
	assert_int_equal(dpkg_status_parse(h, status, strlen(status), &db), 0);
	const struct dpkg_pkg *mta = dpkg_find(&db, "exim4-daemon-light");
	assert_non_null(mta);
	char **names;
	size_t n;
	assert_int_equal(dpkg_removal_set(&db, mta, "mail-transport-agent", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "exim4-daemon-light");
	assert_true(has(names, n, "exim4"));
	assert_true(has(names, n, "exim-plugin"));
	assert_false(has(names, n, "bsd-mailx"));
	assert_false(has(names, n, "mutt"));
	assert_false(has(names, n, "broken"));
	assert_false(has(names, n, "old"));
	assert_false(has(names, n, "exim4-base"));
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	dpkg_db_free(&db);
	qi_free(h);
}

/* A provider nothing depends on by name goes alone. */
static void test_alone(void **state)
{
	static const char text[] =
		"Package: postfix\nStatus: install ok installed\nVersion: 3.7.11\nArchitecture: amd64\n"
		"Provides: default-mta, mail-transport-agent\n\n"
		"Package: bsd-mailx\nStatus: install ok installed\nVersion: 8.1.2\nArchitecture: amd64\n"
		"Depends: default-mta | mail-transport-agent\n";
	qi_handle *h = qi_new();
	struct dpkg_db db;
	assert_int_equal(dpkg_status_parse(h, text, strlen(text), &db), 0);
	char **names;
	size_t n;
	assert_int_equal(dpkg_removal_set(&db, dpkg_find(&db, "postfix"), "mail-transport-agent", &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "postfix");
	free(names[0]);
	free(names);
	dpkg_db_free(&db);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exim_set),
		cmocka_unit_test(test_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
