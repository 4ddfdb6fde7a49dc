/* Unit tests for convert/aliases.c (cv_aliases): every form of value
 * aliases(5) allows as the .qmail line it becomes (addresses, local
 * names, files, Maildirs, commands, quoted commands with commas), the
 * forms qmail has none for (:include:, error:, \user) left out and said
 * why, names qmail cannot use, duplicates, loops, continuation lines and
 * comments, and broken input (no colon, unterminated quotes, NUL bytes,
 * a text with no terminator, a huge line). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "convert_test.h"

/* The result of converting the NUL-terminated TEXT. */
static struct cv_result conv(const char *text)
{
	struct cv_result r = { 0 };
	assert_int_equal(cv_aliases(text, strlen(text), "/etc/aliases", &r), 0);
	return r;
}

/* The text of file NAME, or NULL. */
static const char *file(const struct cv_result *r, const char *name)
{
	return ct_file(r, name);
}

/* Assert item I of R: SETTING, AFTER, OUTCOME and WHY (NULL: none). */
static void item(const struct cv_result *r, size_t i, const char *setting, const char *after, enum cv_outcome o,
		 const char *why)
{
	assert_true(i < r->nitems);
	assert_string_equal(r->items[i].setting, setting);
	ct_assert_item(&r->items[i], after, o, why);
}

/* Addresses, a bare local name, an mbox, a Maildir and a command, each
 * as its .qmail line; the name lowercased. */
static void test_forms(void **state)
{
	(void)state;
	struct cv_result r = conv("Postmaster: root\n"
				  "root: admin@example.org, bob\n"
				  "archive: /var/mail/archive\n"
				  "box: /home/box/Maildir/\n"
				  "prog: |/usr/bin/filter -x\n");
	assert_int_equal(r.nitems, 5);
	assert_int_equal(r.nfiles, 5);
	item(&r, 0, "/etc/aliases: postmaster", "alias/.qmail-postmaster: 1 line", CV_CONVERTED, NULL);
	assert_string_equal(r.items[0].before, "root");
	item(&r, 1, "/etc/aliases: root", "alias/.qmail-root: 2 lines", CV_CONVERTED, NULL);
	assert_string_equal(r.items[1].before, "admin@example.org, bob");
	assert_string_equal(file(&r, "alias/.qmail-postmaster"), "&root\n");
	assert_string_equal(file(&r, "alias/.qmail-root"), "&admin@example.org\n&bob\n");
	assert_string_equal(file(&r, "alias/.qmail-archive"), "/var/mail/archive\n");
	assert_string_equal(file(&r, "alias/.qmail-box"), "/home/box/Maildir/\n");
	assert_string_equal(file(&r, "alias/.qmail-prog"), "|/usr/bin/filter -x\n");
	assert_null(r.me);
	assert_null(r.domain);
	cv_result_free(&r);
}

/* A quoted command keeps its commas and loses its quotes. */
static void test_quoted_command(void **state)
{
	(void)state;
	struct cv_result r = conv("list: \"|/usr/lib/list post, now\", owner@example.org\n"
				  "esc: \"|echo \\\"hi\\\"\"\n");
	assert_int_equal(r.nitems, 2);
	item(&r, 0, "/etc/aliases: list", "alias/.qmail-list: 2 lines", CV_CONVERTED, NULL);
	assert_string_equal(file(&r, "alias/.qmail-list"), "|/usr/lib/list post, now\n&owner@example.org\n");
	assert_string_equal(file(&r, "alias/.qmail-esc"), "|echo \"hi\"\n");
	cv_result_free(&r);
}

/* A dot in the name is a colon in the file name. */
static void test_dots(void **state)
{
	(void)state;
	struct cv_result r = conv("john.smith: john@example.net\n");
	item(&r, 0, "/etc/aliases: john.smith", "alias/.qmail-john:smith: 1 line", CV_CONVERTED, NULL);
	assert_string_equal(file(&r, "alias/.qmail-john:smith"), "&john@example.net\n");
	cv_result_free(&r);
}

/* :include: alone: not converted, no file. */
static void test_include(void **state)
{
	(void)state;
	struct cv_result r = conv("staff: :include:/etc/mail/staff\n");
	assert_int_equal(r.nitems, 1);
	assert_int_equal(r.nfiles, 0);
	item(&r, 0, "/etc/aliases: staff", "", CV_NOT_CONVERTED,
	     "qmail has no :include:; put the addresses in ~alias/.qmail-NAME by hand (or use fastforward)");
	assert_string_equal(r.items[0].before, ":include:/etc/mail/staff");
	cv_result_free(&r);
}

/* Some values converted and some not: warned, the rest listed. */
static void test_partial(void **state)
{
	(void)state;
	struct cv_result r = conv("ops: alice, :include:/etc/ops, error:5.1.1 gone, \\ops, <x@y>\n");
	assert_int_equal(r.nitems, 1);
	assert_int_equal(r.items[0].outcome, CV_WARNED);
	assert_string_equal(r.items[0].after, "alias/.qmail-ops: 1 line");
	assert_string_equal(file(&r, "alias/.qmail-ops"), "&alice\n");
	const char *why = r.items[0].why;
	assert_non_null(why);
	assert_true(strncmp(why, "left out: :include:/etc/ops (qmail has no :include:", 51) == 0);
	assert_non_null(strstr(why, "; error:5.1.1 gone (qmail has no error: addresses"));
	assert_non_null(strstr(why, "; \\ops (qmail has no \\user"));
	assert_non_null(strstr(why, "; <x@y> (not an address qmail can forward to)"));
	cv_result_free(&r);
}

/* error: alone: not converted with its reason. */
static void test_error(void **state)
{
	(void)state;
	struct cv_result r = conv("gone: error:nouser No such user\n");
	assert_int_equal(r.nfiles, 0);
	assert_int_equal(r.items[0].outcome, CV_NOT_CONVERTED);
	assert_true(strncmp(r.items[0].why, "qmail has no error: addresses", 29) == 0);
	cv_result_free(&r);
}

/* Names qmail cannot use in a file name, and catch-all names. */
static void test_bad_names(void **state)
{
	(void)state;
	struct cv_result r = conv("a/b: root\n"
				  "\"x y\": root\n"
				  "default: root\n"
				  "list-default: root\n"
				  ": root\n");
	assert_int_equal(r.nitems, 5);
	assert_int_equal(r.nfiles, 0);
	item(&r, 0, "/etc/aliases: a/b", "", CV_NOT_CONVERTED,
	     "a/b has characters qmail cannot use in ~alias/.qmail-NAME (only a-z 0-9 . _ + = -)");
	assert_int_equal(r.items[1].outcome, CV_NOT_CONVERTED);
	item(&r, 2, "/etc/aliases: default", "", CV_NOT_CONVERTED,
	     "~alias/.qmail-default would catch every address that has no alias of its own: write it by hand if "
	     "that is meant");
	assert_int_equal(r.items[3].outcome, CV_NOT_CONVERTED);
	item(&r, 4, "/etc/aliases: line 5", "", CV_NOT_CONVERTED, "line 5: no alias name before the ':'");
	cv_result_free(&r);
}

/* The first of two entries for a name wins (names compared lowercased). */
static void test_duplicate(void **state)
{
	(void)state;
	struct cv_result r = conv("abuse: alice\nABUSE: bob\n");
	assert_int_equal(r.nitems, 2);
	item(&r, 0, "/etc/aliases: abuse", "alias/.qmail-abuse: 1 line", CV_CONVERTED, NULL);
	item(&r, 1, "/etc/aliases: abuse", "", CV_NOT_CONVERTED, "a second entry for abuse: the first is used");
	assert_string_equal(r.items[1].before, "bob");
	assert_string_equal(file(&r, "alias/.qmail-abuse"), "&alice\n");
	cv_result_free(&r);
}

/* An alias to itself only loops; to itself and others, itself is left out. */
static void test_loop(void **state)
{
	(void)state;
	struct cv_result r = conv("root: root\nbob: bob, bob@example.org\n");
	assert_int_equal(r.nitems, 2);
	item(&r, 0, "/etc/aliases: root", "", CV_NOT_CONVERTED, "root points to itself only: it would loop");
	item(&r, 1, "/etc/aliases: bob", "alias/.qmail-bob: 1 line", CV_WARNED,
	     "left out: bob (the alias itself: it would loop)");
	assert_string_equal(file(&r, "alias/.qmail-bob"), "&bob@example.org\n");
	assert_null(file(&r, "alias/.qmail-root"));
	cv_result_free(&r);
}

/* Continuation lines, comments (also between the lines of an entry),
 * blank lines, CRLF, duplicate values once. */
static void test_continuation(void **state)
{
	(void)state;
	struct cv_result r = conv("# the team\r\n"
				  "\r\n"
				  "team: alice,\r\n"
				  "\tbob,\r\n"
				  "  # not a value\r\n"
				  "   carol@example.org, alice\r\n"
				  "\n"
				  "   \n"
				  "next: dave\n");
	assert_int_equal(r.nitems, 2);
	item(&r, 0, "/etc/aliases: team", "alias/.qmail-team: 3 lines", CV_CONVERTED, NULL);
	assert_string_equal(r.items[0].before, "alice, \tbob,    carol@example.org, alice");
	assert_string_equal(file(&r, "alias/.qmail-team"), "&alice\n&bob\n&carol@example.org\n");
	assert_string_equal(file(&r, "alias/.qmail-next"), "&dave\n");
	cv_result_free(&r);
}

/* A line with no colon, a continuation line with nothing before it, an
 * empty value: items with the line number, nothing else lost. */
static void test_malformed(void **state)
{
	(void)state;
	struct cv_result r = conv("  orphan@example.org\n"
				  "no colon here\n"
				  "empty:\n"
				  "ok: x@y.z\n");
	assert_int_equal(r.nitems, 4);
	item(&r, 0, "/etc/aliases: line 1", "", CV_NOT_CONVERTED,
	     "line 1: a continuation line (it starts with a blank) with no alias before it");
	item(&r, 1, "/etc/aliases: line 2", "", CV_NOT_CONVERTED, "line 2: no ':' after the alias name");
	assert_string_equal(r.items[1].before, "no colon here");
	item(&r, 2, "/etc/aliases: empty", "", CV_NOT_CONVERTED, "no address after the ':'");
	item(&r, 3, "/etc/aliases: ok", "alias/.qmail-ok: 1 line", CV_CONVERTED, NULL);
	cv_result_free(&r);
}

/* An unterminated quote: its value is left out, the others kept. */
static void test_unterminated_quote(void **state)
{
	(void)state;
	struct cv_result r = conv("a: x@y.z, \"|cmd, more\nb: \"\n");
	assert_int_equal(r.nitems, 2);
	item(&r, 0, "/etc/aliases: a", "alias/.qmail-a: 1 line", CV_WARNED,
	     "left out: |cmd, more (a quote that does not end)");
	assert_string_equal(file(&r, "alias/.qmail-a"), "&x@y.z\n");
	item(&r, 1, "/etc/aliases: b", "", CV_NOT_CONVERTED, "a quote that does not end");
	cv_result_free(&r);
}

/* A NUL byte in an entry, and a text whose last line has no '\n' and
 * which is not NUL-terminated at LEN. */
static void test_nul_unterminated(void **state)
{
	(void)state;
	static const char text[] = "a: x\0y\nb: bob\nc: carol@example.orgXXXX";
	struct cv_result r = { 0 };
	assert_int_equal(cv_aliases(text, sizeof(text) - 1 - 4, "aliases", &r), 0);
	assert_int_equal(r.nitems, 3);
	item(&r, 0, "aliases: line 1", "", CV_NOT_CONVERTED, "line 1: a NUL byte in the entry");
	item(&r, 1, "aliases: b", "alias/.qmail-b: 1 line", CV_CONVERTED, NULL);
	item(&r, 2, "aliases: c", "alias/.qmail-c: 1 line", CV_CONVERTED, NULL);
	assert_string_equal(file(&r, "alias/.qmail-c"), "&carol@example.org\n");
	cv_result_free(&r);
	/* an empty text, and no text */
	assert_int_equal(cv_aliases("", 0, "aliases", &r), 0);
	assert_int_equal(r.nitems, 0);
	assert_int_equal(cv_aliases(NULL, 5, "aliases", &r), 0);
	assert_int_equal(r.nitems, 0);
}

/* A line of a megabyte and many entries. */
static void test_huge(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *text = malloc(n + 64);
	assert_non_null(text);
	strcpy(text, "big: ");
	size_t l = strlen(text);
	while (l < n - 10) {
		memcpy(text + l, "a@b.c, ", 7);
		l += 7;
	}
	strcpy(text + l, "z@b.c\n");
	struct cv_result r = { 0 };
	assert_int_equal(cv_aliases(text, strlen(text), "/etc/aliases", &r), 0);
	assert_int_equal(r.nitems, 1);
	item(&r, 0, "/etc/aliases: big", "alias/.qmail-big: 2 lines", CV_CONVERTED, NULL);
	assert_string_equal(file(&r, "alias/.qmail-big"), "&a@b.c\n&z@b.c\n");
	cv_result_free(&r);
	/* 5000 entries */
	char *p = text;
	for (int i = 0; i < 5000; i++)
		p += sprintf(p, "u%d: u%d@example.org\n", i, i);
	assert_int_equal(cv_aliases(text, (size_t)(p - text), "/etc/aliases", &r), 0);
	assert_int_equal(r.nitems, 5000);
	assert_int_equal(r.nfiles, 5000);
	assert_string_equal(file(&r, "alias/.qmail-u4999"), "&u4999@example.org\n");
	cv_result_free(&r);
	free(text);
}

/* A file already in the result (from another setting) is not merged into. */
static void test_existing_file(void **state)
{
	(void)state;
	struct cv_result r = { 0 };
	cv_file_line(&r, "alias/.qmail-info", "&other@example.org");
	assert_int_equal(cv_aliases("info: x@y.z\n", 12, "/etc/aliases", &r), 0);
	item(&r, 0, "/etc/aliases: info", "", CV_NOT_CONVERTED,
	     "alias/.qmail-info is made already by an earlier setting: merge the two by hand");
	assert_string_equal(file(&r, "alias/.qmail-info"), "&other@example.org\n");
	cv_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_quoted_command),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_nul_unterminated),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_existing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
