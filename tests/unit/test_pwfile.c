/* Unit tests for pwfile.c and assign.c: the mail-only password file
 * (parse, edit, every unrelated byte kept), the login rule, the password
 * check of every hash kind, and qmail's users/assign and users/cdb. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mailusers/pwfile.h"
#include "unit.h"

static const char sample[] =
	"# mail users\n"
	"alice:$y$j9T$abc$def:vmail:/home/vmail/alice\n"
	"\n"
	"broken line\n"
	"carol:h:vmail\n"
	"bob:system:bob:/home/bob\r\n"
	"Upper:h:vmail:/home/vmail/Upper\n"
	"rel:h:vmail:home/rel\n"
	"last:h:vmail:/home/vmail/last";

/* Parsing keeps every byte and finds only well-formed entries. */
static void test_parse(void **state)
{
	struct qi_popdb db;
	qi_popdb_parse(&db, sample, sizeof(sample) - 1);
	size_t len;
	char *out = qi_popdb_serialize(&db, &len);
	assert_int_equal(len, sizeof(sample) - 1);
	assert_memory_equal(out, sample, len);
	free(out);
	const struct qi_popline *l = qi_popdb_find(&db, "alice");
	assert_non_null(l);
	assert_string_equal(l->owner, "vmail");
	assert_string_equal(l->home, "/home/vmail/alice");
	assert_string_equal(qi_popdb_find(&db, "bob")->home, "/home/bob");
	assert_string_equal(qi_popdb_find(&db, "last")->home, "/home/vmail/last");
	assert_null(qi_popdb_find(&db, "carol"));	/* three fields */
	assert_non_null(qi_popdb_find_any(&db, "carol"));
	assert_null(qi_popdb_find(&db, "Upper"));
	assert_null(qi_popdb_find(&db, "rel"));		/* a relative home */
	qi_popdb_free(&db);
}

/* Setting and removing touch one line: every other byte is kept, a CRLF
 * line keeps its CRLF, an entry added after a last line without a newline
 * gets one first. */
/* qi_popdb_lookup finds what parse + find find, for each login of a file
 * with comments, a malformed line of a login, a CRLF line and no final
 * newline; and nothing for a login that is only a prefix of one. */
static void test_lookup(void **state)
{
	const char *data = "# users\nbob:broken\nbob:$y$x:vmail:/home/vmail/bob\r\n"
			   "alice:$6$s$h:vmail:/home/vmail/alice\nal:x\ncarol:$1$a$b:vmail:/home/c";
	size_t len = strlen(data);
	struct qi_popdb db;
	qi_popdb_parse(&db, data, len);
	const char *logins[] = { "bob", "alice", "carol", "al", "ali", "nobody", "#" };
	for (size_t i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		struct qi_popline got;
		const struct qi_popline *want = qi_popdb_find(&db, logins[i]);
		bool found = qi_popdb_lookup(data, len, logins[i], &got);
		assert_int_equal(found, want != NULL);
		if (found) {
			assert_string_equal(got.hash, want->hash);
			assert_string_equal(got.owner, want->owner);
			assert_string_equal(got.home, want->home);
			qi_popline_clear(&got);
		}
	}
	qi_popdb_free(&db);
}

static void test_edit(void **state)
{
	struct qi_popdb db;
	qi_popdb_parse(&db, sample, sizeof(sample) - 1);
	qi_popdb_set(&db, "bob", "$6$x$y", "bob", "/home/bob");
	qi_popdb_set(&db, "dave", "$y$n", "vmail", "/home/vmail/dave");
	assert_true(qi_popdb_remove(&db, "alice"));
	assert_false(qi_popdb_remove(&db, "alice"));
	assert_false(qi_popdb_remove(&db, "carol"));	/* malformed lines stay */
	size_t len;
	char *out = qi_popdb_serialize(&db, &len);
	assert_string_equal(out,
			    "# mail users\n"
			    "\n"
			    "broken line\n"
			    "carol:h:vmail\n"
			    "bob:$6$x$y:bob:/home/bob\r\n"
			    "Upper:h:vmail:/home/vmail/Upper\n"
			    "rel:h:vmail:home/rel\n"
			    "last:h:vmail:/home/vmail/last\n"
			    "dave:$y$n:vmail:/home/vmail/dave\n");
	free(out);
	qi_popdb_free(&db);
}

/* The login rule: '/', ':', a newline and upper case are refused by name. */
static void test_names(void **state)
{
	qi_handle *h = qi_new();
	assert_int_equal(qi_mailuser_name_check(h, "alice.b-c_1"), 0);
	static const struct { const char *name, *why; } bad[] = {
		{ "a/b", "'/'" }, { "a:b", "':'" }, { "a\nb", "newline" }, { "", "empty" },
		{ "Alice", "upper case" }, { "-x", "starts with" }, { "a b", "other than" },
		{ "abcdefghijklmnopqrstuvwxyz0123456", "longer" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(qi_mailuser_name_check(h, bad[i].name), -1);
		assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
		assert_non_null(strstr(qi_errmsg(h), bad[i].why));
		qi_clear_error(h);
	}
	qi_free(h);
}

static char *make_hash(const char *prefix, const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)));
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	char *out = crypt_rn(password, salt, &cd, sizeof(cd));
	assert_non_null(out);
	assert_true(out[0] != '*');
	return strdup(out);
}

/* Every hash kind verifies its password and no other; locked, empty and
 * "system" hashes verify nothing; a new hash is yescrypt. */
static void test_verify(void **state)
{
	static const char *const prefixes[] = { "$y$", "$6$", "$5$", "$1$", "" };
	for (size_t i = 0; i < 5; i++) {
		char *hash = make_hash(prefixes[i], "s3cret");
		assert_true(qi_pop_verify("s3cret", hash, NULL));
		assert_false(qi_pop_verify("s3creT", hash, NULL));
		assert_false(qi_pop_verify("", hash, NULL));
		free(hash);
	}
	assert_false(qi_pop_verify("x", "", NULL));
	assert_false(qi_pop_verify("x", "*", NULL));
	assert_false(qi_pop_verify("x", "!$y$j9T$a$b", NULL));
	assert_false(qi_pop_verify("system", "system", NULL));
	assert_false(qi_pop_verify("x", "$unknown$x", NULL));
	qi_handle *h = qi_new();
	char *hash;
	assert_int_equal(qi_pop_hash(h, "pw", &hash), 0);
	assert_int_equal(strncmp(hash, "$y$", 3), 0);
	assert_true(qi_pop_verify("pw", hash, NULL));
	free(hash);
	qi_free(h);
}

/* assign: NAME's two lines replaced or removed, the others kept, what
 * follows the "." dropped, one "." at the end. */
static void test_assign_edit(void **state)
{
	static const char old[] = "=alice:old:1:1:/x:::\n=other:u:2:2:/o:::\n"
				  "+alice-:old:1:1:/x:-::\n+alicex-:k:3:3:/k:-::\n.\ntrailing\n";
	size_t len;
	char *a = qi_assign_edit(old, sizeof(old) - 1, "alice", true, "vmail", 1001, 1002,
				 "/home/vmail/alice", &len);
	assert_string_equal(a, "=other:u:2:2:/o:::\n+alicex-:k:3:3:/k:-::\n"
			    "=alice:vmail:1001:1002:/home/vmail/alice:::\n"
			    "+alice-:vmail:1001:1002:/home/vmail/alice:-::\n.\n");
	free(a);
	a = qi_assign_edit(old, sizeof(old) - 1, "alice", false, NULL, 0, 0, NULL, &len);
	assert_string_equal(a, "=other:u:2:2:/o:::\n+alicex-:k:3:3:/k:-::\n.\n");
	free(a);
	a = qi_assign_edit("", 0, "x", false, NULL, 0, 0, NULL, &len);
	assert_string_equal(a, ".\n");
	free(a);
}

/* users/cdb: "!local\0" and "!prefix" keys with qmail-newu's data (the
 * sixth colon's field cut), the wildcard characters under "", keys in
 * lower case; a malformed line or a missing "." refused. */
static void test_assign_cdb(void **state)
{
	static const char assign[] = "=Alice:vmail:1001:1002:/home/vmail/alice:::\n"
				     "+alice-:vmail:1001:1002:/home/vmail/alice:-::\n"
				     "+list.:u:1:1:/l:.::\n.\n";
	qi_handle *h = qi_new();
	char *cdb;
	size_t len;
	uint32_t dlen;
	assert_int_equal(qi_assign_cdb(h, assign, sizeof(assign) - 1, &cdb, &len), 0);
	const char *d = ut_cdb_find(cdb, len, "!alice", 7, &dlen);
	assert_non_null(d);
	assert_int_equal(dlen, 35);
	assert_memory_equal(d, "vmail\0" "1001\0" "1002\0" "/home/vmail/alice\0", 35);
	d = ut_cdb_find(cdb, len, "!alice-", 7, &dlen);
	assert_non_null(d);
	assert_memory_equal(d, "vmail\0" "1001\0" "1002\0" "/home/vmail/alice\0-\0", dlen);
	d = ut_cdb_find(cdb, len, "", 0, &dlen);
	assert_non_null(d);
	assert_int_equal(dlen, 2);
	assert_memory_equal(d, "-.", 2);
	assert_null(ut_cdb_find(cdb, len, "!bob", 5, &dlen));
	free(cdb);
	assert_int_equal(qi_assign_cdb(h, "=a:b\n.\n", 7, &cdb, &len), -1);
	assert_non_null(strstr(qi_errmsg(h), "line 1"));
	assert_int_equal(qi_assign_cdb(h, "=a:u:1:1:/h:::\n", 15, &cdb, &len), -1);
	assert_non_null(strstr(qi_errmsg(h), "'.'"));
	assert_int_equal(qi_assign_cdb(h, "junk\n.\n", 7, &cdb, &len), -1);
	qi_free(h);
}

/* qi_mailuser_install_checkpassword: the program copied into
 * ROOT/usr/local/bin 0755 root, journaled (rollback removes it); a
 * program that is not there is refused. */
static void test_install_checkpassword(void **state)
{
	const char *top = getenv("top_builddir");
	char *prog = qi_xasprintf("%s/qinstall-checkpassword", top ? top : ".");
	char *root = ut_tmpdir("install-cp");
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	assert_int_equal(qi_run_begin(h, "test"), 0);
	assert_int_equal(qi_mailuser_install_checkpassword(h, "/nonexistent/cp"), -1);
	assert_non_null(strstr(qi_errmsg(h), "/nonexistent/cp"));
	assert_int_equal(qi_mailuser_install_checkpassword(h, prog), 0);
	assert_int_equal(qi_run_commit(h), 0);
	char *dst = ut_path(root, "usr/local/bin/qinstall-checkpassword");
	struct stat a, b;
	assert_int_equal(stat(dst, &a), 0);
	assert_int_equal(stat(prog, &b), 0);
	assert_int_equal(a.st_mode & 07777, 0755);
	assert_int_equal(a.st_size, b.st_size);
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_false(ut_exists(root, "usr/local/bin/qinstall-checkpassword"));
	qi_free(h);
	free(dst);
	free(prog);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_assign_edit),
		cmocka_unit_test(test_assign_cdb),
		cmocka_unit_test(test_install_checkpassword),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
