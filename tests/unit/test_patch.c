/* Unit tests for the patch engine (patch/parse.c, patch/apply.c,
 * patch/tree.c, patch/run.c): one GNU patch rule per test; and for the
 * quilt series parser (patch/series.c). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/patch.h"
#include "unit.h"

/* ---- helpers ---- */

/* "line 1\n" ... "line N\n" */
static char *numbered(int from, int to)
{
	struct qi_buf b = { 0 };
	for (int i = from; i <= to; i++)
		qi_buf_addf(&b, "line %d\n", i);
	return b.data;
}

static struct qi_patch_hunk *first_hunk(struct qi_patch_parsed *p)
{
	assert_true(p->nfiles >= 1);
	assert_true(p->files[0].nhunks >= 1);
	return &p->files[0].hunks[0];
}

/* ---- names ---- */

/* -p N strips the smallest prefix with N slashes; -1 (no -p) keeps only
 * the base name; too few slashes leave the name unusable. */
static void test_strip(void **state)
{
	char a[] = "a/b/c/file.c";
	assert_true(qi_patch_strip_name(a, 1));
	assert_string_equal(a, "b/c/file.c");
	char b[] = "a//b/file.c";
	assert_true(qi_patch_strip_name(b, 2));
	assert_string_equal(b, "file.c");
	char c[] = "a/b/file.c";
	assert_true(qi_patch_strip_name(c, -1));
	assert_string_equal(c, "file.c");
	char d[] = "file.c";
	assert_false(qi_patch_strip_name(d, 1));
	char e[] = "a/b";
	assert_true(qi_patch_strip_name(e, 0));
	assert_string_equal(e, "a/b");
}

/* Absolute names and ".." components are dangerous; ".." inside a name
 * ("a..b") is not. */
static void test_name_safety(void **state)
{
	assert_false(qi_patch_name_is_safe("/etc/passwd"));
	assert_false(qi_patch_name_is_safe("../x"));
	assert_false(qi_patch_name_is_safe("a/../../x"));
	assert_false(qi_patch_name_is_safe("a/.."));
	assert_true(qi_patch_name_is_safe("a..b/c"));
	assert_true(qi_patch_name_is_safe("a/.hidden/..x"));
	/* the one check of core that the profile and the series use too */
	assert_true(qi_path_has_dotdot(".."));
	assert_true(qi_path_has_dotdot("a//../b"));
	assert_true(qi_path_has_dotdot("/.."));
	assert_false(qi_path_has_dotdot("a..b"));
	assert_false(qi_path_has_dotdot("..."));
	assert_false(qi_path_has_dotdot("b../.c"));
	assert_false(qi_path_has_dotdot(""));
}

/* ---- parsing ---- */

/* "---" names the old file and "+++" the new one; the date after a tab is
 * kept for the .rej header; /dev/null and the epoch mean "absent". */
static void test_parse_headers(void **state)
{
	const char *text =
		"Some commentary\n"
		"--- a/dir/old.c\t2020-01-02 03:04:05.000000000 +0000\n"
		"+++ b/dir/new.c\t2021-01-02 03:04:05.000000000 +0000\n"
		"@@ -1,3 +1,3 @@ int main(void)\n"
		" a\n-b\n+B\n c\n"
		"--- /dev/null\n"
		"+++ b/created\t1970-01-01 00:00:00.000000000 +0000\n"
		"@@ -0,0 +1 @@\n+x\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, text, strlen(text), 1);
	assert_null(p.fatal);
	assert_int_equal(p.nfiles, 2);
	struct qi_patch_file *f = &p.files[0];
	assert_string_equal(f->name[PN_OLD], "dir/old.c");
	assert_string_equal(f->name[PN_NEW], "dir/new.c");
	assert_string_equal(f->timestr[PN_OLD], "\t2020-01-02 03:04:05.000000000 +0000");
	assert_int_equal(f->leading_len, (size_t)(strstr(text, "@@") - text));
	assert_int_equal(f->start_line, 4);
	struct qi_patch_hunk *hk = &f->hunks[0];
	assert_int_equal(hk->first, 1);
	assert_int_equal(hk->ptrn_lines, 3);
	assert_int_equal(hk->prefix_context, 1);
	assert_int_equal(hk->suffix_context, 1);
	assert_non_null(hk->func);
	assert_memory_equal(hk->func, " int main(void)", hk->func_len);
	f = &p.files[1];
	assert_null(f->name[PN_OLD]);
	assert_string_equal(f->name[PN_NEW], "created");
	assert_int_equal(f->nonexistent[PN_OLD], 2);
	assert_int_equal(f->hunks[0].first, 1);	/* "-0,0" means "append after line 0" */
	qi_patch_parsed_free(&p);
}

/* git's extended headers: new and deleted files, renames, copies and
 * modes; a header-only patch is a file with no hunks. */
static void test_parse_git(void **state)
{
	const char *text =
		"diff --git a/x b/y\n"
		"similarity index 100%\n"
		"rename from x\n"
		"rename to y\n"
		"diff --git a/s b/s\n"
		"old mode 100644\n"
		"new mode 100755\n"
		"diff --git a/n b/n\n"
		"new file mode 100600\n"
		"index 0000000..e69de29\n"
		"diff --git a/d b/d\n"
		"deleted file mode 100644\n"
		"index 1234567..0000000\n"
		"--- a/d\n"
		"+++ /dev/null\n"
		"@@ -1 +0,0 @@\n"
		"-gone\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, text, strlen(text), 1);
	assert_null(p.fatal);
	assert_int_equal(p.nfiles, 4);
	assert_true(p.files[0].rename);
	assert_string_equal(p.files[0].name[PN_OLD], "x");
	assert_string_equal(p.files[0].name[PN_NEW], "y");
	assert_int_equal(p.files[0].nhunks, 0);
	assert_int_equal(p.files[1].mode[PN_OLD], 0100644);
	assert_int_equal(p.files[1].mode[PN_NEW], 0100755);
	assert_int_equal(p.files[2].nonexistent[PN_OLD], 2);
	assert_int_equal(p.files[2].mode[PN_NEW], 0100600);
	assert_int_equal(p.files[3].nonexistent[PN_NEW], 2);
	assert_int_equal(p.files[3].nhunks, 1);
	qi_patch_parsed_free(&p);
}

/* "\ No newline at end of file" removes the newline of the line before
 * it, on that side only. */
static void test_parse_no_newline(void **state)
{
	const char *text =
		"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+B\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, text, strlen(text), 1);
	struct qi_patch_hunk *hk = first_hunk(&p);
	assert_int_equal(hk->old[1].len, 1);	/* "b" without its newline */
	assert_int_equal(hk->new[1].len, 2);	/* "B\n" */
	qi_patch_parsed_free(&p);
}

/* A patch whose header lines end in CRLF has its CRs stripped. */
static void test_parse_crlf(void **state)
{
	const char *text = "--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, text, strlen(text), 1);
	assert_null(p.fatal);
	assert_true(p.files[0].strip_cr);
	struct qi_patch_hunk *hk = first_hunk(&p);
	assert_int_equal(hk->old[0].len, 2);
	assert_memory_equal(hk->old[0].text, "a\n", 2);
	qi_patch_parsed_free(&p);
}

/* A malformed hunk is a fatal error naming the line; the hunks before it
 * are kept (GNU patch applies them before it stops). Context diffs and
 * text without any diff are recognised. */
static void test_parse_errors(void **state)
{
	const char *bad = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n?x\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, bad, strlen(bad), 1);
	assert_non_null(p.fatal);
	assert_string_equal(p.fatal, "malformed patch at line 5: ?x\n");
	assert_int_equal(p.nfiles, 1);
	assert_true(p.files[0].broken);
	qi_patch_parsed_free(&p);
	const char *ctx = "*** a/f\n--- b/f\n***************\n*** 1,2 ****\n";
	qi_patch_parse(&p, ctx, strlen(ctx), 1);
	assert_non_null(p.fatal);
	assert_non_null(strstr(p.fatal, "context diffs are not supported"));
	qi_patch_parsed_free(&p);
	qi_patch_parse(&p, "hello\n", 6, 1);
	assert_true(p.garbage_only);
	qi_patch_parsed_free(&p);
}

/* ---- placement ---- */

static long locate_in(const char *file, const char *patch, long fuzz, long *offset)
{
	struct qi_patch_parsed p;
	qi_patch_parse(&p, patch, strlen(patch), 1);
	assert_null(p.fatal);
	struct qi_patch_text t;
	qi_patch_text_index(&t, file, strlen(file));
	struct qi_patch_applier a;
	qi_patch_applier_init(&a, &t);
	long where = qi_patch_locate(&a, first_hunk(&p), fuzz);
	if (offset)
		*offset = a.in_offset;
	qi_patch_text_free(&t);
	qi_patch_parsed_free(&p);
	return where;
}

/* At equal distance the search tries forward first: +1 before -1. */
static void test_locate_forward_first(void **state)
{
	const char *file = "x\nk\ny\nz\nk\ny\nz\nk\ny\n";
	/* the hunk says line 5; "k y" also at 2 and 8: 5 itself wins */
	const char *patch = "--- a/f\n+++ b/f\n@@ -5,2 +5,2 @@\n-k\n+K\n y\n";
	long off;
	assert_int_equal(locate_in(file, patch, 0, &off), 5);
	assert_int_equal(off, 0);
	/* stated at 6 (between): 5 is -1, 8 is +2: the nearer wins */
	patch = "--- a/f\n+++ b/f\n@@ -6,2 +6,2 @@\n-k\n+K\n y\n";
	assert_int_equal(locate_in(file, patch, 0, &off), 5);
	assert_int_equal(off, -1);
	/* "y z" at 3 and 6; stated at 4, both at distance 1: forward (+2? no: 6 is +2, 3 is -1) */
	const char *file2 = "a\nq\nb\nc\nq\nd\n";
	patch = "--- a/f\n+++ b/f\n@@ -3,1 +3,1 @@\n-q\n+Q\n";
	/* q at 2 and 5; stated at 3: 2 is -1, 5 is +2: -1 wins; stated at 3.5 impossible */
	assert_int_equal(locate_in(file2, patch, 0, &off), 2);
	const char *file3 = "a\nq\nb\nq\nd\n";
	/* q at 2 and 4; stated at 3: both at distance 1, forward first: 4 */
	assert_int_equal(locate_in(file3, patch, 0, &off), 4);
	assert_int_equal(off, 1);
}

/* Fuzz F ignores F leading and F trailing context lines; without enough
 * fuzz the hunk is not placed. */
static void test_locate_fuzz(void **state)
{
	char *file = numbered(1, 10);
	file[strlen("line 1\nline 2\nline ")] = 'X';	/* line 3 -> "line X" */
	const char *patch =
		"--- a/f\n+++ b/f\n@@ -3,7 +3,7 @@\n line 3\n line 4\n line 5\n-line 6\n+LINE 6\n line 7\n line 8\n line 9\n";
	assert_int_equal(locate_in(file, patch, 0, NULL), 0);
	assert_int_equal(locate_in(file, patch, 1, NULL), 3);
	free(file);
}

/* A hunk with less leading than trailing context at the top of the file
 * only matches at line 1 (it is anchored to the start). */
static void test_locate_anchor_start(void **state)
{
	const char *patch = "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n+new\n a\n b\n";
	assert_int_equal(locate_in("a\nb\nc\n", patch, 0, NULL), 1);
	assert_int_equal(locate_in("x\na\nb\nc\n", patch, 0, NULL), 0);
}

/* A hunk with less trailing than leading context only matches at the end. */
static void test_locate_anchor_end(void **state)
{
	const char *patch = "--- a/f\n+++ b/f\n@@ -2,2 +2,3 @@\n b\n c\n+end\n";
	assert_int_equal(locate_in("a\nb\nc\n", patch, 0, NULL), 2);
	assert_int_equal(locate_in("a\nb\nc\nd\n", patch, 0, NULL), 0);
}

/* The offset found by one hunk carries to the next. A hunk stated before
 * the end of the previous one is still searched there by GNU 2.7.6's
 * loop (the driver then refuses it as misordered: test_run_misordered). */
static void test_offset_accumulates(void **state)
{
	char *file = numbered(1, 40);
	const char *patch =
		"--- a/f\n+++ b/f\n"
		"@@ -10,3 +10,3 @@\n line 13\n-line 14\n+X\n line 15\n"
		"@@ -20,3 +20,3 @@\n line 23\n-line 24\n+Y\n line 25\n"
		"@@ -5,3 +5,3 @@\n line 1\n-line 2\n+Z\n line 3\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, patch, strlen(patch), 1);
	struct qi_patch_text t;
	qi_patch_text_index(&t, file, strlen(file));
	struct qi_patch_applier a;
	qi_patch_applier_init(&a, &t);
	long w = qi_patch_locate(&a, &p.files[0].hunks[0], 0);
	assert_int_equal(w, 13);
	qi_patch_apply_hunk(&a, &p.files[0].hunks[0], w);
	assert_int_equal(a.in_offset, 3);
	w = qi_patch_locate(&a, &p.files[0].hunks[1], 0);
	assert_int_equal(w, 23);	/* found at once: 20 + the offset 3 */
	qi_patch_apply_hunk(&a, &p.files[0].hunks[1], w);
	assert_int_equal(qi_patch_locate(&a, &p.files[0].hunks[2], 0), 1);
	qi_buf_free(&a.out);
	qi_patch_text_free(&t);
	qi_patch_parsed_free(&p);
	free(file);
}

/* ---- application ---- */

/* Context lines come from the input (fuzzed lines keep their text), and
 * a missing final newline is supplied before lines are appended after it. */
static void test_apply_output(void **state)
{
	const char *patch = "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n b\n\\ No newline at end of file\n+c\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, patch, strlen(patch), 1);
	struct qi_patch_text t;
	qi_patch_text_index(&t, "a\nb", 3);
	struct qi_patch_applier a;
	qi_patch_applier_init(&a, &t);
	long w = qi_patch_locate(&a, first_hunk(&p), 0);
	assert_int_equal(w, 1);
	qi_patch_apply_hunk(&a, first_hunk(&p), w);
	qi_patch_finish(&a);
	assert_int_equal(a.out.len, 6);
	assert_memory_equal(a.out.data, "a\nb\nc\n", 6);
	qi_buf_free(&a.out);
	qi_patch_text_free(&t);
	qi_patch_parsed_free(&p);
}

/* The reject of a hunk is a unified hunk with GNU's numbers. */
static void test_reject_format(void **state)
{
	const char *patch = "--- a/f\n+++ b/f\n@@ -3,3 +3,4 @@ fn\n x\n-y\n+Y\n+Y2\n z\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, patch, strlen(patch), 1);
	struct qi_buf b = { 0 };
	qi_patch_reject_hunk(&b, first_hunk(&p), 2);
	assert_string_equal(b.data, "@@ -5,3 +5,4 @@ fn\n x\n-y\n+Y\n+Y2\n z\n");
	qi_buf_free(&b);
	qi_patch_parsed_free(&p);
}

/* The near miss of a failed hunk is the place with the fewest differing
 * old lines, nearest the stated line. */
static void test_near_miss(void **state)
{
	char *file = numbered(1, 30);
	const char *patch =
		"--- a/f\n+++ b/f\n@@ -2,5 +2,5 @@\n line 20\n line 21\n-nope\n+N\n line 23\n line 24\n";
	struct qi_patch_parsed p;
	qi_patch_parse(&p, patch, strlen(patch), 1);
	struct qi_patch_text t;
	qi_patch_text_index(&t, file, strlen(file));
	long line, differ;
	qi_patch_near_miss(&t, first_hunk(&p), 2, &line, &differ);
	assert_int_equal(line, 20);
	assert_int_equal(differ, 1);
	qi_patch_text_free(&t);
	qi_patch_parsed_free(&p);
	free(file);
}

/* ---- whole runs ---- */

static int apply_text(qi_handle *h, const char *dir, const char *patch,
		      struct qi_patch_options *opt, struct qi_patch_report *rep)
{
	return qi_patch_apply(h, dir, patch, strlen(patch), opt, rep);
}

/* The messages are GNU patch's, byte for byte: offset and fuzz reported,
 * a failed hunk saved to FILE.rej, the original kept as FILE.orig. */
static void test_run_messages(void **state)
{
	char *d = ut_tmpdir("patch");
	char *text = numbered(1, 40);
	struct qi_buf grown = { 0 };
	qi_buf_addf(&grown, "top 1\ntop 2\ntop 3\n%s", text);
	ut_write(d, "f", grown.data, 0);
	const char *patch =
		"--- a/f\n+++ b/f\n"
		"@@ -5,3 +5,3 @@\n line 5\n-line 6\n+SIX\n line 7\n"
		"@@ -20,3 +20,3 @@\n line 20\n-nothing like it\n+X\n line 22\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	assert_string_equal(rep.text,
		"patching file f\n"
		"Hunk #1 succeeded at 8 (offset 3 lines).\n"
		"Hunk #2 FAILED at 20.\n"
		"1 out of 2 hunks FAILED -- saving rejects to file f.rej\n");
	assert_int_equal(json_array_size(rep.hunks), 2);
	char *rej = ut_read(d, "f.rej");
	assert_non_null(rej);
	assert_string_equal(rej, "--- f\n+++ f\n@@ -20,3 +20,3 @@\n line 20\n-nothing like it\n+X\n line 22\n");
	char *orig = ut_read(d, "f.orig");
	assert_string_equal(orig, grown.data);
	free(rej);
	free(orig);
	qi_patch_report_free(&rep);
	qi_free(h);
	qi_buf_free(&grown);
	free(text);
	ut_tmpdir_remove(d);
}

/* A hunk that lands before the end of the previous one is refused as
 * GNU patch refuses it: "misordered hunks", and the hunk fails. */
static void test_run_misordered(void **state)
{
	char *d = ut_tmpdir("patch");
	char *text = numbered(1, 40);
	ut_write(d, "f", text, 0);
	const char *patch =
		"--- a/f\n+++ b/f\n"
		"@@ -20,3 +20,3 @@\n line 20\n-line 21\n+X\n line 22\n"
		"@@ -10,3 +10,3 @@\n line 1\n-line 2\n+Z\n line 3\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	assert_string_equal(rep.text,
		"patching file f\n"
		"misordered hunks! output would be garbled\n"
		"Hunk #2 FAILED at 1.\n"
		"1 out of 2 hunks FAILED -- saving rejects to file f.rej\n");
	qi_patch_report_free(&rep);
	qi_free(h);
	free(text);
	ut_tmpdir_remove(d);
}

/* An already-applied patch is detected on its first hunk; -N skips it,
 * -R reverses it, and without a terminal the default answer is "no". */
static void test_run_reversed(void **state)
{
	char *d = ut_tmpdir("patch");
	ut_write(d, "f", "a\nB\nc\n", 0);
	const char *patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	opt.forward = true;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	assert_string_equal(rep.text,
		"patching file f\n"
		"Reversed (or previously applied) patch detected!  Skipping patch.\n"
		"1 out of 1 hunk ignored -- saving rejects to file f.rej\n");
	qi_patch_report_free(&rep);
	opt.forward = false;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_non_null(strstr(rep.text, "Assume -R? [n] \nApply anyway? [n] \nSkipping patch.\n"));
	qi_patch_report_free(&rep);
	opt.reverse = true;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 0);
	char *f = ut_read(d, "f");
	assert_string_equal(f, "a\nb\nc\n");
	free(f);
	qi_patch_report_free(&rep);
	qi_free(h);
	ut_tmpdir_remove(d);
}

/* --atomic and --dry-run write nothing at all. */
static void test_run_atomic(void **state)
{
	char *d = ut_tmpdir("patch");
	ut_write(d, "f", "a\nb\nc\n", 0);
	ut_write(d, "g", "x\ny\nz\n", 0);
	const char *patch =
		"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
		"--- a/g\n+++ b/g\n@@ -1,3 +1,3 @@\n x\n-nope\n+Y\n z\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	opt.atomic = true;
	opt.no_reject_files = true;
	opt.no_backup_if_mismatch = true;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	char *f = ut_read(d, "f");
	assert_string_equal(f, "a\nb\nc\n");
	free(f);
	assert_false(ut_exists(d, "g.rej"));
	assert_false(ut_exists(d, "f.orig"));
	qi_patch_report_free(&rep);
	qi_patch_options_default(&opt);
	opt.strip = 1;
	opt.dry_run = true;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_non_null(strstr(rep.text, "checking file f\n"));
	f = ut_read(d, "f");
	assert_string_equal(f, "a\nb\nc\n");
	free(f);
	assert_false(ut_exists(d, "g.rej"));
	qi_patch_report_free(&rep);
	qi_free(h);
	ut_tmpdir_remove(d);
}

/* A symlink is never followed: the file is refused, its target untouched. */
static void test_run_symlink(void **state)
{
	char *d = ut_tmpdir("patch");
	ut_write(d, "target", "a\nb\nc\n", 0);
	char *link = qi_xasprintf("%s/f", d);
	assert_int_equal(symlink("target", link), 0);
	free(link);
	const char *patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	assert_non_null(strstr(rep.text, "File f is not a regular file -- refusing to patch\n"));
	char *t = ut_read(d, "target");
	assert_string_equal(t, "a\nb\nc\n");
	free(t);
	qi_patch_report_free(&rep);
	qi_free(h);
	ut_tmpdir_remove(d);
}

/* A git patch that would make a symlink is refused (qinstall never creates
 * one from a patch); nothing is written. */
static void test_run_symlink_patch(void **state)
{
	char *d = ut_tmpdir("patch");
	const char *patch =
		"diff --git a/l b/l\nnew file mode 120000\nindex 0000000..1111111\n"
		"--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 1);
	assert_non_null(strstr(rep.text, "symbolic links are not patched"));
	assert_false(ut_exists(d, "l"));
	qi_patch_report_free(&rep);
	qi_free(h);
	ut_tmpdir_remove(d);
}

/* A malformed patch is serious trouble (status 2) with the line named. */
static void test_run_malformed(void **state)
{
	char *d = ut_tmpdir("patch");
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	struct qi_patch_report rep;
	const char *bad = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n?x\n";
	assert_int_equal(apply_text(h, d, bad, &opt, &rep), -1);
	assert_int_equal(rep.status, 2);
	assert_string_equal(qi_errmsg(h), "malformed patch at line 5: ?x");
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	qi_patch_report_free(&rep);
	qi_free(h);
	ut_tmpdir_remove(d);
}

/* A series is all or nothing: when the second patch fails, the first is
 * not written either, and the error names the patch, the file, the hunk
 * and where it came closest. */
static void test_series_all_or_nothing(void **state)
{
	char *d = ut_tmpdir("patch");
	char *pd = ut_tmpdir("patch");
	ut_write(d, "f", "a\nb\nc\nd\ne\nf\ng\n", 0);
	ut_write(pd, "1.diff", "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", 0);
	ut_write(pd, "2.diff", "--- a/f\n+++ b/f\n@@ -4,3 +4,3 @@\n d\n-zzz\n+E\n f\n", 0);
	char *p1 = qi_xasprintf("%s/1.diff", pd), *p2 = qi_xasprintf("%s/2.diff", pd);
	struct qi_series_patch s[2] = { { p1, 1, 2 }, { p2, 1, 0 } };
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	json_t *report = NULL;
	assert_int_equal(qi_patch_series(h, d, s, 2, NULL, &report), -1);
	const char *msg = qi_errmsg(h);
	assert_non_null(strstr(msg, "2.diff"));
	assert_non_null(strstr(msg, "f: hunk #1 FAILED at 4"));
	assert_non_null(strstr(msg, "closest match at line 4, 1 of its 3 old lines differ"));
	char *f = ut_read(d, "f");
	assert_string_equal(f, "a\nb\nc\nd\ne\nf\ng\n");
	free(f);
	assert_false(ut_exists(d, "f.rej"));
	json_decref(report);
	/* the first patch alone applies; its record says where */
	report = NULL;
	qi_clear_error(h);
	assert_int_equal(qi_patch_series(h, d, s, 1, NULL, &report), 0);
	f = ut_read(d, "f");
	assert_string_equal(f, "a\nB\nc\nd\ne\nf\ng\n");
	free(f);
	assert_int_equal(json_array_size(report), 1);
	json_t *r = json_array_get(report, 0);
	assert_string_equal(json_string_value(json_object_get(r, "file")), "f");
	assert_int_equal(json_integer_value(json_object_get(r, "line")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "fuzz")), 0);
	assert_false(json_is_true(json_object_get(r, "reversed")));
	json_decref(report);
	/* applying it again is a failure, not a question */
	assert_int_equal(qi_patch_series(h, d, s, 1, NULL, NULL), -1);
	free(p1);
	free(p2);
	qi_free(h);
	ut_tmpdir_remove(d);
	ut_tmpdir_remove(pd);
}

/* A rewritten file keeps its owner and mode, as GNU patch keeps them. */
static void test_run_keeps_owner(void **state)
{
	if (geteuid() != 0)
		skip();
	char *d = ut_tmpdir("patch");
	ut_write(d, "f", "a\nb\nc\n", 0);
	char *f = qi_xasprintf("%s/f", d);
	assert_int_equal(chown(f, 1234, 4321), 0);
	assert_int_equal(chmod(f, 0640), 0);
	const char *patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
	qi_handle *h = qi_new();
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	struct qi_patch_report rep;
	assert_int_equal(apply_text(h, d, patch, &opt, &rep), 0);
	assert_int_equal(rep.status, 0);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	assert_int_equal(st.st_mode & 07777, 0640);
	qi_patch_report_free(&rep);
	qi_free(h);
	free(f);
	ut_tmpdir_remove(d);
}

/* When one new file cannot be written, no file of the series is replaced
 * (every new file is written first, then all are renamed into place). */
static void test_series_write_failure(void **state)
{
	char *d = ut_tmpdir("patch");
	char *pd = ut_tmpdir("patch");
	ut_write(d, "f", "a\nb\nc\n", 0);
	ut_write(d, "notadir", "x\n", 0);
	ut_write(pd, "1.diff", "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
				"--- /dev/null\n+++ b/notadir/new\n@@ -0,0 +1 @@\n+n\n", 0);
	char *p1 = qi_xasprintf("%s/1.diff", pd);
	struct qi_series_patch s[1] = { { p1, 1, 2 } };
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_patch_series(h, d, s, 1, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "notadir"));
	char *f = ut_read(d, "f");
	assert_string_equal(f, "a\nb\nc\n");
	free(f);
	free(p1);
	qi_free(h);
	ut_tmpdir_remove(d);
	ut_tmpdir_remove(pd);
}

/* ---- the quilt series file ---- */

static int series_text(qi_handle *h, const char *text, struct qi_series *s)
{
	qi_clear_error(h);
	return qi_series_parse(h, "debian/patches/series", text, strlen(text), s);
}

/* One patch a line, in order, each with its line; -pN sets its strip
 * level (1 when absent); blank lines and "#" comments, whole-line or
 * trailing, are skipped; blanks around words and CRLF do not matter. */
static void test_series_parse(void **state)
{
	qi_handle *h = qi_new();
	struct qi_series s;
	assert_int_equal(series_text(h, "# upstream fixes\n"
				      "0001-errno.diff\n"
				      "\n"
				      "  0002-rbl.diff   -p0  # no prefix\r\n"
				      "\t\n"
				      "sub/0003-deep.patch\t-p2\n"
				      "last.patch", &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.e[0].name, "0001-errno.diff");
	assert_int_equal(s.e[0].strip, 1);
	assert_int_equal(s.e[0].line, 2);
	assert_string_equal(s.e[1].name, "0002-rbl.diff");
	assert_int_equal(s.e[1].strip, 0);
	assert_int_equal(s.e[1].line, 4);
	assert_string_equal(s.e[2].name, "sub/0003-deep.patch");
	assert_int_equal(s.e[2].strip, 2);
	assert_int_equal(s.e[2].line, 6);
	assert_string_equal(s.e[3].name, "last.patch");
	assert_int_equal(s.e[3].line, 7);
	qi_series_free(&s);
	/* nothing at all, or only comments: an empty series */
	assert_int_equal(series_text(h, "", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(series_text(h, "#a\n\n   # b\r\n", &s), 0);
	assert_int_equal(s.n, 0);
	qi_series_free(&s);
	qi_free(h);
}

/* Only -pN (one digit) is an option; a name that is absolute or has a
 * ".." component is refused; each error names the file and line and
 * leaves nothing parsed. Two dots inside a name ("a..b") are a name. */
static void test_series_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "ok.diff\nx.diff -R\n", "debian/patches/series:2: series option '-R' is not supported (only -pN)" },
		{ "x.diff -p12\n", "series:1: series option '-p12'" },
		{ "x.diff --strip=1\n", "series option '--strip=1'" },
		{ "x.diff -p\n", "series option '-p'" },
		{ "../x.diff\n", "series:1: patch '../x.diff' points outside the series directory" },
		{ "a/../../x.diff\n", "patch 'a/../../x.diff' points outside" },
		{ "\n\nsub/..\n", "series:3: patch 'sub/..' points outside" },
		{ "/etc/passwd -p1\n", "patch '/etc/passwd' points outside" },
	};
	qi_handle *h = qi_new();
	struct qi_series s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(series_text(h, bad[i].text, &s), -1);
		if (!strstr(qi_errmsg(h), bad[i].want))
			fail_msg("case %zu: '%s' does not contain '%s'", i, qi_errmsg(h), bad[i].want);
		assert_int_equal(s.n, 0);
		assert_null(s.e);
	}
	assert_int_equal(series_text(h, "a..b.diff\nfix...patch -p1\n..x/y.diff\nd/..e\n", &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.e[0].name, "a..b.diff");
	assert_string_equal(s.e[1].name, "fix...patch");
	assert_string_equal(s.e[2].name, "..x/y.diff");
	assert_string_equal(s.e[3].name, "d/..e");
	qi_series_free(&s);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_name_safety),
		cmocka_unit_test(test_parse_headers),
		cmocka_unit_test(test_parse_git),
		cmocka_unit_test(test_parse_no_newline),
		cmocka_unit_test(test_parse_crlf),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_locate_forward_first),
		cmocka_unit_test(test_locate_fuzz),
		cmocka_unit_test(test_locate_anchor_start),
		cmocka_unit_test(test_locate_anchor_end),
		cmocka_unit_test(test_offset_accumulates),
		cmocka_unit_test(test_apply_output),
		cmocka_unit_test(test_reject_format),
		cmocka_unit_test(test_near_miss),
		cmocka_unit_test(test_run_messages),
		cmocka_unit_test(test_run_misordered),
		cmocka_unit_test(test_run_reversed),
		cmocka_unit_test(test_run_atomic),
		cmocka_unit_test(test_run_symlink),
		cmocka_unit_test(test_run_symlink_patch),
		cmocka_unit_test(test_run_malformed),
		cmocka_unit_test(test_series_all_or_nothing),
		cmocka_unit_test(test_run_keeps_owner),
		cmocka_unit_test(test_series_write_failure),
		cmocka_unit_test(test_series_parse),
		cmocka_unit_test(test_series_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
