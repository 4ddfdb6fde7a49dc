/* Unit tests for passwd.c: the passwd/group/shadow/gshadow reader and
 * editor, on sample files written here. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "accounts/passwd.h"

/* Parse then serialize, and check the bytes come back unchanged. */
static void assert_roundtrip(enum qi_pwkind kind, const char *data, size_t len)
{
	struct qi_pwdb db;
	qi_pwdb_parse(&db, kind, data, len);
	size_t outlen;
	char *out = qi_pwdb_serialize(&db, &outlen);
	assert_int_equal(outlen, len);
	assert_memory_equal(out, data, len);
	assert_false(db.changed);
	free(out);
	qi_pwdb_free(&db);
}

static const char sample_passwd[] =
	"# the host's users\n"
	"root:x:0:0:root:/root:/bin/bash\n"
	"\n"
	"   daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"bin:x:2:2:bin:/bin:/usr/sbin/nologin\r\n"
	"broken line without colons\n"
	"badid:x:12a:5::/:/bin/sh\n"
	"+@netgroup::::::\n"
	"-baduser\n"
	"+";

/* Comments, blank lines, NIS lines, CRLF, odd spacing, malformed lines
 * and a missing final newline all come back byte for byte. */
static void test_roundtrip_mixed(void **state)
{
	assert_roundtrip(QI_PW_PASSWD, sample_passwd, strlen(sample_passwd));
	assert_roundtrip(QI_PW_GROUP, sample_passwd, strlen(sample_passwd));
	assert_roundtrip(QI_PW_SHADOW, "", 0);
	assert_roundtrip(QI_PW_GSHADOW, "\n\n\r\n", 4);
	static const char nul[] = "a:x:1:1::/:/bin/sh\n\0\0:\n" "x\0y:x:2:2::/:/bin/sh\n";
	assert_roundtrip(QI_PW_PASSWD, nul, sizeof(nul) - 1);
}

/* Each line is classified the way glibc's files backend reads it:
 * leading blanks skipped, "#" and blank lines comments, "+"/"-" NIS. */
static void test_classify(void **state)
{
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, sample_passwd, strlen(sample_passwd));
	assert_int_equal(db.n, 10);
	assert_int_equal(db.lines[0].type, QI_PWL_COMMENT);
	assert_int_equal(db.lines[1].type, QI_PWL_ENTRY);
	assert_int_equal(db.lines[2].type, QI_PWL_COMMENT);
	assert_int_equal(db.lines[3].type, QI_PWL_ENTRY);
	assert_string_equal(db.lines[3].fields[0], "daemon");
	assert_int_equal(db.lines[4].type, QI_PWL_ENTRY);
	assert_string_equal(db.lines[4].fields[6], "/usr/sbin/nologin");	/* CR not in the shell */
	assert_int_equal(db.lines[5].type, QI_PWL_MALFORMED);
	assert_int_equal(db.lines[6].type, QI_PWL_MALFORMED);
	assert_string_equal(db.lines[6].fields[0], "badid");
	assert_int_equal(db.lines[7].type, QI_PWL_NIS);
	assert_int_equal(db.lines[8].type, QI_PWL_NIS);
	assert_int_equal(db.lines[9].type, QI_PWL_NIS);
	assert_int_equal(db.lines[9].lineno, 10);

	const struct qi_pwline *l = qi_pwdb_find_name(&db, "bin");
	assert_non_null(l);
	assert_int_equal(l->id, 2);
	assert_int_equal(l->gid, 2);
	assert_null(qi_pwdb_find_name(&db, "badid"));		/* not an entry */
	assert_non_null(qi_pwdb_find_any_name(&db, "badid"));	/* but its name is known */
	assert_ptr_equal(qi_pwdb_find_id(&db, 1), &db.lines[3]);
	assert_true(qi_pwdb_id_used(&db, 0));
	assert_false(qi_pwdb_id_used(&db, 12));
	qi_pwdb_free(&db);
}

/* Ids must be plain decimal below 4294967295; anything else makes the
 * line malformed rather than a wrong number. */
static void test_ids_strict(void **state)
{
	static const char *bad[] = {
		"a:x:-1:0::/:/bin/sh\n", "a:x: 1:0::/:/bin/sh\n", "a:x:4294967295:0::/:/bin/sh\n",
		"a:x:99999999999999999999:0::/:/bin/sh\n", "a:x::0::/:/bin/sh\n",
		"a:x:1:0::/\n", "a:x:1:0::/:/bin/sh:extra\n", ":x:1:0::/:/bin/sh\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qi_pwdb db;
		qi_pwdb_parse(&db, QI_PW_PASSWD, bad[i], strlen(bad[i]));
		assert_int_equal(db.n, 1);
		assert_int_equal(db.lines[0].type, QI_PWL_MALFORMED);
		assert_int_equal(db.lines[0].id, -1);
		qi_pwdb_free(&db);
	}
	struct qi_pwdb db;
	const char *ok = "a:x:4294967294:7::/:/bin/sh\n";
	qi_pwdb_parse(&db, QI_PW_PASSWD, ok, strlen(ok));
	assert_int_equal(db.lines[0].type, QI_PWL_ENTRY);
	assert_int_equal(db.lines[0].id, 4294967294LL);
	qi_pwdb_free(&db);
}

/* A group line has 4 fields and its gid; shadow and gshadow lines are
 * entries by field count alone. */
static void test_other_kinds(void **state)
{
	struct qi_pwdb db;
	const char *grp = "root:x:0:\nmail:x:8:a,b\nodd:x:9\n";
	qi_pwdb_parse(&db, QI_PW_GROUP, grp, strlen(grp));
	assert_int_equal(qi_pwdb_find_name(&db, "mail")->id, 8);
	assert_string_equal(qi_pwdb_find_name(&db, "mail")->fields[3], "a,b");
	assert_int_equal(db.lines[2].type, QI_PWL_MALFORMED);
	qi_pwdb_free(&db);

	const char *sh = "root:*:19000:0:99999:7:::\nshort:!:1\n";
	qi_pwdb_parse(&db, QI_PW_SHADOW, sh, strlen(sh));
	assert_int_equal(db.lines[0].type, QI_PWL_ENTRY);
	assert_int_equal(db.lines[0].id, -1);
	assert_int_equal(db.lines[1].type, QI_PWL_MALFORMED);
	qi_pwdb_free(&db);

	const char *gsh = "root:*::\n";
	qi_pwdb_parse(&db, QI_PW_GSHADOW, gsh, strlen(gsh));
	assert_int_equal(db.lines[0].type, QI_PWL_ENTRY);
	qi_pwdb_free(&db);
	assert_int_equal(qi_pwkind_nfields(QI_PW_SHADOW), 9);
	assert_string_equal(qi_pwkind_name(QI_PW_GSHADOW), "gshadow");
}

/* A file without a final newline gets one before the added line; the
 * bytes before it are unchanged. */
static void test_add_no_final_newline(void **state)
{
	qi_handle *h = qi_new();
	struct qi_pwdb db;
	const char *in = "root:x:0:0:root:/root:/bin/bash";
	qi_pwdb_parse(&db, QI_PW_PASSWD, in, strlen(in));
	const char *f[] = { "qmaild", "x", "601", "600", "", "/var/qmail", "/usr/sbin/nologin" };
	assert_int_equal(qi_pwdb_add(h, &db, f), 0);
	assert_true(db.changed);
	size_t len;
	char *out = qi_pwdb_serialize(&db, &len);
	assert_string_equal(out, "root:x:0:0:root:/root:/bin/bash\n"
			    "qmaild:x:601:600::/var/qmail:/usr/sbin/nologin\n");
	const struct qi_pwline *l = qi_pwdb_find_name(&db, "qmaild");
	assert_non_null(l);
	assert_int_equal(l->id, 601);
	assert_int_equal(l->lineno, 0);
	free(out);
	qi_pwdb_free(&db);
	qi_free(h);
}

/* New entries go before the first NIS line (shadow-utils' way), so that
 * "+" lookups stay last; CRLF lines around them are kept as they were. */
static void test_add_before_nis(void **state)
{
	qi_handle *h = qi_new();
	struct qi_pwdb db;
	const char *in = "root:x:0:\r\n+@ng:::\n-x\n";
	qi_pwdb_parse(&db, QI_PW_GROUP, in, strlen(in));
	const char *f[] = { "qmail", "x", "601", "" };
	assert_int_equal(qi_pwdb_add(h, &db, f), 0);
	size_t len;
	char *out = qi_pwdb_serialize(&db, &len);
	assert_string_equal(out, "root:x:0:\r\nqmail:x:601:\n+@ng:::\n-x\n");
	free(out);
	qi_pwdb_free(&db);
	qi_free(h);
}

/* Adding into an empty file gives just the line. */
static void test_add_empty(void **state)
{
	qi_handle *h = qi_new();
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_GSHADOW, "", 0);
	const char *f[] = { "nofiles", "!", "", "" };
	assert_int_equal(qi_pwdb_add(h, &db, f), 0);
	size_t len;
	char *out = qi_pwdb_serialize(&db, &len);
	assert_string_equal(out, "nofiles:!::\n");
	free(out);
	qi_pwdb_free(&db);
	qi_free(h);
}

/* The editor refuses a second line of an existing name (even beside a
 * malformed one), an empty name, and fields holding ':' or newlines,
 * and leaves the file as it was. */
static void test_add_refused(void **state)
{
	qi_handle *h = qi_new();
	struct qi_pwdb db;
	const char *in = "qmail:x:601:\nnofiles:x:oops:\n";
	qi_pwdb_parse(&db, QI_PW_GROUP, in, strlen(in));
	const char *dup[] = { "qmail", "x", "700", "" };
	assert_int_equal(qi_pwdb_add(h, &db, dup), -1);
	assert_non_null(strstr(qi_errmsg(h), "already there"));
	const char *mal[] = { "nofiles", "x", "600", "" };
	assert_int_equal(qi_pwdb_add(h, &db, mal), -1);
	const char *colon[] = { "x", "x", "1:2", "" };
	assert_int_equal(qi_pwdb_add(h, &db, colon), -1);
	assert_non_null(strstr(qi_errmsg(h), "holds ':'"));
	const char *nl[] = { "y", "x", "3", "a\nb" };
	assert_int_equal(qi_pwdb_add(h, &db, nl), -1);
	const char *empty[] = { "", "x", "3", "" };
	assert_int_equal(qi_pwdb_add(h, &db, empty), -1);
	assert_false(db.changed);
	size_t len;
	char *out = qi_pwdb_serialize(&db, &len);
	assert_string_equal(out, in);
	free(out);
	qi_pwdb_free(&db);
	qi_free(h);
}

/* A very long line (a megabyte of gecos) is kept whole and still parsed
 * as an entry; no fixed-size buffer cuts it. */
static void test_very_long_line(void **state)
{
	size_t n = 1 << 20;
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "root:x:0:0:root:/root:/bin/bash\nlong:x:1000:1000:");
	char *gecos = qi_xmalloc(n);
	memset(gecos, 'g', n);
	qi_buf_add(&b, gecos, n);
	qi_buf_addf(&b, ":/home/long:/bin/sh\nafter:x:1001:1001::/:/bin/sh\n");
	free(gecos);
	assert_roundtrip(QI_PW_PASSWD, b.data, b.len);
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, b.data, b.len);
	const struct qi_pwline *l = qi_pwdb_find_name(&db, "long");
	assert_non_null(l);
	assert_int_equal(strlen(l->fields[4]), n);
	assert_string_equal(l->fields[6], "/bin/sh");
	assert_int_equal(qi_pwdb_find_name(&db, "after")->id, 1001);
	qi_pwdb_free(&db);
	qi_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_mixed),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_ids_strict),
		cmocka_unit_test(test_other_kinds),
		cmocka_unit_test(test_add_no_final_newline),
		cmocka_unit_test(test_add_before_nis),
		cmocka_unit_test(test_add_empty),
		cmocka_unit_test(test_add_refused),
		cmocka_unit_test(test_very_long_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
