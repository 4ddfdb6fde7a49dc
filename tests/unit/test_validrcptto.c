/* Unit tests for validrcptto.c: the keys of control/validrcptto.cdb from
 * the domains, the password file, the alias files and the local list, in
 * the format the validrcptto patch looks up (lower case, NAME@DOMAIN,
 * NAME-default@DOMAIN, @DOMAIN); the cdb built from a ROOT and read back
 * the way qmail-smtpd's cdb_seek reads it. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mailusers/pwfile.h"
#include "unit.h"

static const char pw[] = "# users\n"
			 "alice:$y$j9T$abc$def:vmail:/home/vmail/alice\n"
			 "broken line\n"
			 "bob:system:bob:/home/bob\n";

static size_t count(char **v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return n;
}

static bool has(char **v, const char *key)
{
	for (size_t i = 0; v[i]; i++)
		if (strcmp(v[i], key) == 0)
			return true;
	return false;
}

/* Users at each domain (and their -default), aliases with ':' as '.',
 * .qmail-default as @DOMAIN, the local list; lower case, sorted, once. */
static void test_keys(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	const char *aliases[] = { "postmaster", "first:last", "default", "list-default", "Root", NULL };
	char **k;
	assert_int_equal(qi_validrcptto_keys(h, "Example.ORG\n\n# c\nlocalhost\n", pw, sizeof(pw) - 1,
					     aliases, "sales@Other.net\n@third.example\nextra\nalice\n", &k), 0);
	static const char *const want[] = {
		"alice@example.org", "alice-default@example.org", "alice@localhost", "alice-default@localhost",
		"bob@example.org", "bob-default@example.org", "postmaster@example.org",
		"first.last@example.org", "@example.org", "@localhost", "list-default@example.org",
		"root@example.org", "sales@other.net", "@third.example", "extra@example.org", "extra@localhost",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		assert_true(has(k, want[i]));
	/* 2 users x 2 x 2 domains + 5 aliases x 2 domains + 2 + 2 extra (alice is there already) */
	assert_int_equal(count(k), 8 + 10 + 2 + 2);
	for (size_t i = 1; k[i]; i++)
		assert_true(strcmp(k[i - 1], k[i]) < 0);
	assert_false(has(k, "broken line@example.org"));
	qi_strv_free(k);
	assert_int_equal(qi_validrcptto_keys(h, "\n# none\n", pw, sizeof(pw) - 1, NULL, NULL, &k), -1);
	assert_null(k);
	assert_non_null(strstr(qi_errmsg(h), "domain"));
	qi_free(h);
}

/* From a ROOT: locals preferred to me; the cdb answers the patch's
 * lookups, and nothing else. */
static void test_build(void **state)
{
	(void)state;
	char *root = ut_tmpdir("validrcptto");
	const char *dirs[] = { "var/qmail/control", "var/qmail/alias", "var/qmail/users" };
	for (size_t i = 0; i < 3; i++)
		ut_mkdir(root, dirs[i], 0755);
	ut_write(root, "var/qmail/control/me", "mx.example.org\n", 0644);
	ut_write(root, "var/qmail/control/locals", "example.org\n", 0644);
	ut_write(root, "var/qmail/control/validrcptto.local", "# x\n@example.net\n", 0644);
	ut_write(root, "var/qmail/alias/.qmail-postmaster", "&admin\n", 0644);
	ut_write(root, "var/qmail/users/poppasswd", pw, 0600);
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	char *cdb;
	size_t len;
	uint32_t dlen;
	json_t *keys;
	assert_int_equal(qi_validrcptto_build(h, "/var/qmail", "/var/qmail/users/poppasswd", &cdb, &len,
					      &keys), 0);
	assert_int_equal(json_array_size(keys), 4 + 1 + 1);
	const char *found[] = { "alice@example.org", "alice-default@example.org", "bob@example.org",
				"postmaster@example.org", "@example.net" };
	for (size_t i = 0; i < 5; i++)
		assert_non_null(ut_cdb_find(cdb, len, found[i], strlen(found[i]), &dlen));
	assert_int_equal(dlen, 0);
	const char *absent[] = { "carol@example.org", "alice@mx.example.org", "@example.org", "alice" };
	for (size_t i = 0; i < 4; i++)
		assert_null(ut_cdb_find(cdb, len, absent[i], strlen(absent[i]), &dlen));
	free(cdb);
	json_decref(keys);
	qi_free(h);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
