/* Unit tests for the patch engine's three-way merge (patch/merge.c): the
 * rules (insert/insert, words), true conflicts and their message, the glue
 * path, marker safety, the hunk outcomes, a patch merged against the
 * tree it was made for (base_dir); and generated pairs of changes
 * to one function at distances 0..5, each merge checked against both
 * sides (never a silent wrong merge). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"
#include "unit.h"

/* ---- helpers ---- */

#define T(s) ((struct qi_merge_text){ (s), strlen(s) })

/* Merge BASE, OURS, THEIRS; RES holds the result. */
static int merge3(const char *base, const char *ours, const char *theirs, bool take_union,
		  struct qi_merge_result *res)
{
	qi_handle *h = qi_new();
	struct qi_merge_text in[3] = { T(base), T(ours), T(theirs) };
	int rc = qi_merge_file(h, "f", in, take_union, res);
	qi_free(h);
	return rc;
}

/* The lines of TEXT as an array (NULL-terminated, pointing into a copy). */
static char **lines_of(const char *text, size_t *n)
{
	char *copy = qi_xstrdup(text);
	char **v = qi_xmalloc((strlen(text) + 2) * sizeof(*v));
	size_t k = 0;
	for (char *s = copy; *s;) {
		char *nl = strchr(s, '\n');
		v[k++] = s;
		if (!nl)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	v[k] = NULL;
	*n = k;
	if (!k)
		free(copy);
	return v;
}

static void lines_free(char **v)
{
	if (v[0])
		free(v[0]);
	free(v);
}

/* A unified diff of FILE from A to B (one change region, 3 lines of
 * context), as diff -u makes it. */
static char *udiff(const char *file, const char *a, const char *b)
{
	size_t na, nb;
	char **la = lines_of(a, &na), **lb = lines_of(b, &nb);
	size_t pre = 0, suf = 0;
	while (pre < na && pre < nb && !strcmp(la[pre], lb[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && !strcmp(la[na - 1 - suf], lb[nb - 1 - suf]))
		suf++;
	size_t c0 = pre < 3 ? 0 : pre - 3, c1a = na - suf + (suf < 3 ? suf : 3), c1b = nb - suf + (suf < 3 ? suf : 3);
	struct qi_buf d = { 0 };
	qi_buf_addf(&d, "--- a/%s\n+++ b/%s\n@@ -%zu,%zu +%zu,%zu @@\n", file, file, c0 + 1, c1a - c0,
		    c0 + 1, c1b - c0);
	for (size_t i = c0; i < pre; i++)
		qi_buf_addf(&d, " %s\n", la[i]);
	for (size_t i = pre; i < na - suf; i++)
		qi_buf_addf(&d, "-%s\n", la[i]);
	for (size_t i = pre; i < nb - suf; i++)
		qi_buf_addf(&d, "+%s\n", lb[i]);
	for (size_t i = na - suf; i < c1a; i++)
		qi_buf_addf(&d, " %s\n", la[i]);
	lines_free(la);
	lines_free(lb);
	return d.data;
}

/* A C function of 16 statements; line I (1-based) replaced by NEW
 * (NULL: none), and NEW2 inserted after line J (0: none). */
static char *function(int i, const char *new, int j, const char *new2)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "int f(int x)\n{\n");
	for (int k = 3; k <= 18; k++) {
		if (k == i && new)
			qi_buf_addf(&b, "%s\n", new);
		else
			qi_buf_addf(&b, "\tx = x * %d + 1;\n", k);
		if (k == j && new2)
			qi_buf_addf(&b, "%s\n", new2);
	}
	qi_buf_addf(&b, "\treturn x;\n}\n");
	return b.data;
}

/* A series of two patches made from BASE to OURS and from BASE to THEIRS,
 * applied with merge to a tree holding BASE as "f.c"; the handle, for its
 * error, and the records. */
static int series2(qi_handle *h, const char *dir, const char *base, const char *ours, const char *theirs,
		   const char *glue, json_t **report)
{
	char *pd = ut_tmpdir("merge");
	char *d1 = udiff("f.c", base, ours), *d2 = udiff("f.c", base, theirs);
	ut_write(dir, "f.c", base, 0);
	ut_write(pd, "one.diff", d1, 0);
	ut_write(pd, "two.diff", d2, 0);
	char *p1 = qi_xasprintf("%s/one.diff", pd), *p2 = qi_xasprintf("%s/two.diff", pd), *g = NULL;
	if (glue) {
		ut_write(pd, "glue.diff", glue, 0);
		g = qi_xasprintf("%s/glue.diff", pd);
	}
	struct qi_series_patch s[2] = { { p1, 1, 0, "one", NULL, NULL }, { p2, 1, 0, "two", g, NULL } };
	struct qi_series_options opt = { .merge = true };
	int rc = qi_patch_series(h, dir, s, 2, &opt, report);
	free(d1);
	free(d2);
	free(p1);
	free(p2);
	free(g);
	ut_tmpdir_remove(pd);
	return rc;
}

/* The record of hunk 1 of patch PATCH in REPORT. */
static json_t *rec(json_t *report, const char *patch)
{
	size_t i;
	json_t *r;
	json_array_foreach(report, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "patch")), patch))
			return r;
	fail_msg("no record of %s", patch);
	return NULL;
}

static const char *outcome(json_t *report, const char *patch)
{
	return json_string_value(json_object_get(rec(report, patch), "outcome"));
}

/* ---- the rules ---- */

/* insert/insert: both sides add lines after the same line (an empty base
 * region): ours' lines, then theirs', a line both add kept once. */
static void test_insert_insert(void **state)
{
	struct qi_merge_result res;
	assert_int_equal(merge3("a\nb\n", "a\nX\nY\nb\n", "a\nY\nZ\nb\n", false, &res), 0);
	assert_int_equal(res.ntrue, 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.r[0].how, QI_MERGE_INSERT);
	/* Y, which both insert among others, is kept twice: only an
	 * identical whole insertion is kept once. */
	assert_string_equal(res.out.data, "a\nX\nY\nY\nZ\nb\n");
	qi_merge_result_free(&res);
	assert_int_equal(merge3("a\nb\n", "a\nX\nY\nb\n", "a\nX\nY\nb\n", false, &res), 0);
	assert_string_equal(res.out.data, "a\nX\nY\nb\n");
	qi_merge_result_free(&res);
}

/* insert/insert when the base region holds lines both keep: each side's
 * lines stay in their gap, ours' first; a line both add among others
 * (an #include, a brace) is never merged away. */
static void test_insert_insert_kept_lines(void **state)
{
	struct qi_merge_result res;
	const char *base = "#include \"a.h\"\n\n#define M 1\n";
	const char *ours = "#include \"a.h\"\n#include \"x.h\"\n#include \"s.h\"\n\n#define Q 2\n}\n#define M 1\n";
	const char *theirs = "#include \"a.h\"\n#include \"s.h\"\n#include \"c.h\"\n\n}\n#define M 1\n";
	assert_int_equal(merge3(base, ours, theirs, false, &res), 0);
	assert_int_equal(res.ntrue, 0);
	assert_string_equal(res.out.data, "#include \"a.h\"\n#include \"x.h\"\n#include \"s.h\"\n#include \"s.h\"\n"
					  "#include \"c.h\"\n\n#define Q 2\n}\n}\n#define M 1\n");
	qi_merge_result_free(&res);
}

/* words: both sides add objects to the same link line: the base line with
 * both insertions, ours' first in a gap; a word both add kept once; a
 * continuation line one side adds stays whole. */
static void test_words(void **state)
{
	struct qi_merge_result res;
	const char *base = "x: \\\nload a.o b.o c.a\n\t./load a.o b.o\n";
	const char *ours = "x: \\\nload a.o b.o c.a base64.o\n\t./load a.o b.o base64.o\n";
	const char *theirs = "x: \\\nload a.o q.o b.o c.a base64.o\n\t./load q.o a.o b.o s.a\n";
	assert_int_equal(merge3(base, ours, theirs, false, &res), 0);
	assert_int_equal(res.ntrue, 0);
	assert_int_equal(res.r[0].how, QI_MERGE_WORDS);
	assert_string_equal(res.out.data, "x: \\\nload a.o q.o b.o c.a base64.o\n\t./load q.o a.o b.o base64.o s.a\n");
	qi_merge_result_free(&res);
	/* ours wraps the line; theirs' words go after the wrapped part */
	assert_int_equal(merge3("y\nh.h i.h\nz\n", "y\nh.h i.h w.h \\\nf.h\nz\n", "y\nh.h i.h c.h\nz\n", false, &res), 0);
	assert_int_equal(res.ntrue, 0);
	assert_string_equal(res.out.data, "y\nh.h i.h w.h \\\nf.h c.h\nz\n");
	qi_merge_result_free(&res);
}

/* A word removed or changed is not an insertion: a true conflict, left
 * out of the text, the three sides recorded. */
static void test_true_conflict(void **state)
{
	struct qi_merge_result res;
	assert_int_equal(merge3("a\nold b.o\nc\n", "a\nold x.o\nc\n", "a\nold b.o y.o\nc\n", false, &res), 0);
	assert_int_equal(res.ntrue, 1);
	assert_int_equal(res.r[0].how, QI_MERGE_TRUE);
	assert_string_equal(res.r[0].side[QI_MERGE_BASE].data, "old b.o\n");
	assert_string_equal(res.r[0].side[QI_MERGE_OURS].data, "old x.o\n");
	assert_string_equal(res.r[0].side[QI_MERGE_THEIRS].data, "old b.o y.o\n");
	assert_int_equal(res.r[0].ours_line, 2);
	assert_int_equal(res.r[0].theirs_line, 2);
	qi_merge_result_free(&res);
	/* with a glue to come: the union, base dropped */
	assert_int_equal(merge3("a\nold b.o\nc\n", "a\nold x.o\nc\n", "a\nold b.o y.o\nc\n", true, &res), 0);
	assert_int_equal(res.ntrue, 0);
	assert_int_equal(res.r[0].how, QI_MERGE_UNION);
	assert_string_equal(res.out.data, "a\nold x.o\nold b.o y.o\nc\n");
	qi_merge_result_free(&res);
}

/* Marker safety: files whose lines look like conflict markers (and longer
 * runs of them) merge with longer markers, every such line kept as it is;
 * a conflict between such lines is still found. */
static void test_marker_safety(void **state)
{
	const char *base = "<<<<<<< ours\n|||||||\n=======\n>>>>>>> theirs\n1\n2\n3\n4\n5\n====================\n";
	const char *ours = "<<<<<<< ours\n|||||||\n=======\n>>>>>>> theirs\n1\nOURS\n3\n4\n5\n====================\n";
	const char *theirs = "<<<<<<< ours\n|||||||\n=======\n>>>>>>> theirs\n1\n2\n3\n4\nTHEIRS\n====================\n";
	struct qi_merge_text in[3] = { T(base), T(ours), T(theirs) };
	assert_int_equal(qi_merge_marker_size(in, 3), 21);
	struct qi_merge_text plain[1] = { T("a\n<<<<<< six\n") };
	assert_int_equal(qi_merge_marker_size(plain, 1), 7);
	struct qi_merge_result res;
	assert_int_equal(merge3(base, ours, theirs, false, &res), 0);
	assert_int_equal(res.n, 0);
	assert_string_equal(res.out.data, "<<<<<<< ours\n|||||||\n=======\n>>>>>>> theirs\n1\nOURS\n3\n4\nTHEIRS\n"
					  "====================\n");
	qi_merge_result_free(&res);
	assert_int_equal(merge3(base, "=======\n", ">>>>>>> x\n", false, &res), 0);
	assert_int_equal(res.ntrue, 1);
	assert_string_equal(res.r[0].side[QI_MERGE_OURS].data, "=======\n");
	assert_string_equal(res.r[0].side[QI_MERGE_THEIRS].data, ">>>>>>> x\n");
	qi_merge_result_free(&res);
}

/* ---- generated: two changes to one function at distances 0..5 ---- */

/* Ours replaces statement line 8, theirs replaces line 8 + D + 1 (D
 * unchanged lines between) or the same line (overlap) or inserts after it.
 * Non-overlapping ones (D >= 1) merge, and the result is exactly the base
 * with both changes: re-diffed against ours it holds theirs' change, against
 * theirs ours'. Touching or overlapping ones (D = 0, the same line) are
 * reported true conflicts; the series then writes nothing. */
static void test_generated_distances(void **state)
{
	char *base = function(0, NULL, 0, NULL);
	char *ours = function(8, "\tx = ours(x);", 0, NULL);
	for (int d = -1; d <= 5; d++) {
		int tl = d < 0 ? 8 : 8 + d + 1;
		char *theirs = function(tl, "\tx = theirs(x);", 0, NULL);
		char *both = NULL;
		if (d >= 0) {
			struct qi_buf b = { 0 };
			qi_buf_addf(&b, "int f(int x)\n{\n");
			for (int k = 3; k <= 18; k++)
				qi_buf_addf(&b, k == 8 ? "\tx = ours(x);\n" : k == tl ? "\tx = theirs(x);\n"
								 : "\tx = x * %d + 1;\n", k);
			qi_buf_addf(&b, "\treturn x;\n}\n");
			both = b.data;
		}
		struct qi_merge_result res;
		assert_int_equal(merge3(base, ours, theirs, false, &res), 0);
		bool overlap = d <= 0;
		if (overlap) {
			assert_true(res.ntrue >= 1);
		} else {
			assert_int_equal(res.ntrue, 0);
			assert_string_equal(res.out.data, both);
			char *vs_ours = udiff("f.c", ours, res.out.data);
			char *vs_theirs = udiff("f.c", theirs, res.out.data);
			assert_non_null(strstr(vs_ours, "-\tx = x * "));
			assert_non_null(strstr(vs_ours, "+\tx = theirs(x);\n"));
			assert_null(strstr(vs_ours, "ours(x)\n-"));
			assert_non_null(strstr(vs_theirs, "+\tx = ours(x);\n"));
			assert_null(strstr(vs_theirs, "-\tx = theirs(x);"));
			free(vs_ours);
			free(vs_theirs);
		}
		qi_merge_result_free(&res);
		/* the same pair as a series of two patches */
		char *dir = ut_tmpdir("merge");
		qi_handle *h = qi_new();
		qi_set_verbosity(h, -1);
		json_t *report = NULL;
		int rc = series2(h, dir, base, ours, theirs, NULL, &report);
		char *f = ut_read(dir, "f.c");
		if (overlap) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(qi_errmsg(h), "true conflict"));
			assert_string_equal(f, base);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(f, both);
			/* closer than the context: the hunk failed and was merged */
			const char *o = outcome(report, "two");
			assert_string_equal(o, d < 3 ? "merged" : "clean");
		}
		free(f);
		json_decref(report);
		qi_free(h);
		ut_tmpdir_remove(dir);
		free(theirs);
		free(both);
	}
	free(base);
	free(ours);
}

/* Ours and theirs each insert a statement after line 8 + D (D = 0: the
 * same line): D = 0 is resolved by the insert/insert rule (both kept, ours
 * first), the others merge cleanly; the result always has both. */
static void test_generated_inserts(void **state)
{
	char *base = function(0, NULL, 0, NULL);
	char *ours = function(0, NULL, 8, "\tx = ours(x);");
	for (int d = 0; d <= 5; d++) {
		char *theirs = function(0, NULL, 8 + d, "\tx = theirs(x);");
		char *dir = ut_tmpdir("merge");
		qi_handle *h = qi_new();
		qi_set_verbosity(h, -1);
		json_t *report = NULL;
		assert_int_equal(series2(h, dir, base, ours, theirs, NULL, &report), 0);
		char *f = ut_read(dir, "f.c");
		const char *o8 = strstr(f, "x = x * 8 + 1;\n\tx = ours(x);\n");
		const char *t = strstr(f, "\tx = theirs(x);\n");
		assert_non_null(o8);
		assert_non_null(t);
		assert_true(t > o8);
		if (d == 0) {
			assert_string_equal(outcome(report, "two"), "rule");
			assert_string_equal(json_string_value(json_object_get(rec(report, "two"), "rule")),
					    "insert/insert");
		} else {
			char *want = qi_xasprintf("x = x * %d + 1;\n\tx = theirs(x);\n", 8 + d);
			assert_non_null(strstr(f, want));
			free(want);
		}
		free(f);
		json_decref(report);
		qi_free(h);
		ut_tmpdir_remove(dir);
		free(theirs);
	}
	free(base);
	free(ours);
}

/* The function as base, ours (line 8 replaced) and theirs (line TL). */
struct sides {
	char *base, *ours, *theirs;
};
static struct sides sides_make(int tl)
{
	return (struct sides){ function(0, NULL, 0, NULL), function(8, "\tx = ours(x);", 0, NULL),
			       function(tl, "\tx = theirs(x);", 0, NULL) };
}
static void sides_free(struct sides *sd)
{
	free(sd->base);
	free(sd->ours);
	free(sd->theirs);
}

/* ---- the series ---- */

/* A true conflict: the error names the file, the patch, the patch before it
 * that changed the file, shows the three sides and says to pin a glue
 * patch; nothing is written. */
static void test_conflict_message(void **state)
{
	struct sides sd = sides_make(8);
	char *base = sd.base, *ours = sd.ours, *theirs = sd.theirs;
	char *dir = ut_tmpdir("merge");
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(series2(h, dir, base, ours, theirs, NULL, NULL), -1);
	const char *msg = qi_errmsg(h);
	assert_non_null(strstr(msg, "two: 1 true conflict"));
	assert_non_null(strstr(msg, "glue"));
	assert_non_null(strstr(msg, "f.c: a true conflict (line 8 of the tree, line 8 with two alone)"));
	assert_non_null(strstr(msg, "the patches before it that changed it: one"));
	assert_non_null(strstr(msg, "  | \tx = ours(x);\n"));
	assert_non_null(strstr(msg, "  | \tx = x * 8 + 1;\n"));
	assert_non_null(strstr(msg, "  | \tx = theirs(x);\n"));
	assert_string_equal(ut_slurp(dir, "f.c"), base);
	qi_free(h);
	ut_tmpdir_remove(dir);
	sides_free(&sd);
}

/* A glue patch: the true conflict is taken as the union, then the glue
 * (-p1, fuzz 0) makes the wanted text; the hunk's outcome is glue and the
 * glue's own record follows. A glue that does not apply is an error that
 * names it, and nothing is written. */
static void test_glue(void **state)
{
	struct sides sd = sides_make(8);
	char *base = sd.base, *ours = sd.ours, *theirs = sd.theirs;
	const char *glue = "--- a/f.c\n+++ b/f.c\n@@ -8,3 +8,3 @@\n"
			   " \tx = ours(x);\n-\tx = theirs(x);\n+\tx = theirs(ours(x));\n \tx = x * 9 + 1;\n";
	char *dir = ut_tmpdir("merge");
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	json_t *report = NULL;
	assert_int_equal(series2(h, dir, base, ours, theirs, glue, &report), 0);
	/* the union has both lines; the glue replaced theirs' one */
	char *got = ut_read(dir, "f.c");
	assert_non_null(strstr(got, "\tx = ours(x);\n\tx = theirs(ours(x));\n\tx = x * 9 + 1;\n"));
	assert_null(strstr(got, "\tx = x * 8 + 1;"));
	free(got);
	assert_string_equal(outcome(report, "two"), "glue");
	json_t *g = json_array_get(report, json_array_size(report) - 1);
	assert_non_null(strstr(json_string_value(json_object_get(g, "patch")), "glue.diff"));
	assert_string_equal(json_string_value(json_object_get(g, "outcome")), "clean");
	json_decref(report);
	/* a glue that does not fit */
	ut_tmpdir_remove(dir);
	dir = ut_tmpdir("merge");
	qi_clear_error(h);
	const char *bad = "--- a/f.c\n+++ b/f.c\n@@ -8,2 +8,2 @@\n-\tx = nothing(x);\n+\tx = y;\n \tx = x * 9 + 1;\n";
	assert_int_equal(series2(h, dir, base, ours, theirs, bad, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "glue patch"));
	assert_non_null(strstr(qi_errmsg(h), "glue.diff of two does not apply exactly"));
	assert_string_equal(ut_slurp(dir, "f.c"), base);
	/* a glue that applies, but elsewhere: the union it was for would
	 * stay with both sides stacked, so it is refused, and nothing is
	 * written */
	ut_tmpdir_remove(dir);
	dir = ut_tmpdir("merge");
	qi_clear_error(h);
	const char *aside = "--- a/f.c\n+++ b/f.c\n@@ -15,3 +15,3 @@\n \tx = x * 14 + 1;\n-\tx = x * 15 + 1;\n"
			    "+\tx = x * 15 + 2;\n \tx = x * 16 + 1;\n";
	assert_int_equal(series2(h, dir, base, ours, theirs, aside, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "leaves the true conflict at line 8 of the merged file"));
	assert_string_equal(ut_slurp(dir, "f.c"), base);
	qi_free(h);
	ut_tmpdir_remove(dir);
	sides_free(&sd);
}

/* Without merge options a failed hunk is a failure, as before; applied
 * hunks' records say clean, offset or fuzz. */
static void test_no_merge_and_outcomes(void **state)
{
	struct sides sd = sides_make(11);
	char *base = sd.base, *ours = sd.ours, *theirs = sd.theirs;
	char *dir = ut_tmpdir("merge");
	char *pd = ut_tmpdir("merge");
	char *d1 = udiff("f.c", base, ours), *d2 = udiff("f.c", base, theirs);
	ut_write(dir, "f.c", base, 0);
	ut_write(pd, "one.diff", d1, 0);
	ut_write(pd, "two.diff", d2, 0);
	char *p1 = qi_xasprintf("%s/one.diff", pd), *p2 = qi_xasprintf("%s/two.diff", pd);
	struct qi_series_patch s[2] = { { p1, 1, 0, "one", NULL, NULL }, { p2, 1, 0, NULL, NULL, NULL } };
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	json_t *report = NULL;
	struct qi_series_options off = { .merge = false };
	assert_int_equal(qi_patch_series(h, dir, s, 2, &off, &report), -1);
	assert_non_null(strstr(qi_errmsg(h), "does not apply"));
	assert_string_equal(outcome(report, "one"), "clean");
	json_decref(report);
	/* fuzz 1 lets it apply: outcome fuzz; the label defaults to the path */
	s[1].max_fuzz = 1;
	report = NULL;
	qi_clear_error(h);
	assert_int_equal(qi_patch_series(h, dir, s, 2, NULL, &report), 0);
	assert_string_equal(outcome(report, p2), "fuzz");
	json_decref(report);
	qi_free(h);
	free(d1);
	free(d2);
	free(p1);
	free(p2);
	ut_tmpdir_remove(pd);
	ut_tmpdir_remove(dir);
	sides_free(&sd);
}

/* qi_patch_apply with merge_base: the file here merged against the
 * pristine tree; a true conflict writes nothing and returns -1. */
static void test_apply_merge_base(void **state)
{
	struct sides sd = sides_make(10);
	char *base = sd.base, *ours = sd.ours, *theirs = sd.theirs;
	char *pristine = ut_tmpdir("merge"), *dir = ut_tmpdir("merge");
	ut_write(pristine, "f.c", base, 0);
	ut_write(dir, "f.c", ours, 0);
	char *d2 = udiff("f.c", base, theirs);
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = 1;
	opt.max_fuzz = 0;
	opt.merge_base = pristine;
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	struct qi_patch_report rep;
	assert_int_equal(qi_patch_apply(h, dir, d2, strlen(d2), &opt, &rep), 0);
	assert_int_equal(rep.status, 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rep.hunks, 0), "outcome")), "merged");
	qi_patch_report_free(&rep);
	assert_non_null(strstr(ut_slurp(dir, "f.c"), "\tx = ours(x);\n\tx = x * 9 + 1;\n\tx = theirs(x);\n"));
	assert_false(ut_exists(dir, "f.c.rej"));
	assert_false(ut_exists(dir, "f.c.orig"));
	/* now theirs' change conflicts with what is there */
	char *clash = function(10, "\tx = other(x);", 0, NULL);
	ut_write(dir, "f.c", clash, 0);
	assert_int_equal(qi_patch_apply(h, dir, d2, strlen(d2), &opt, &rep), -1);
	assert_int_equal(rep.status, 1);
	assert_non_null(strstr(qi_errmsg(h), "true conflict"));
	qi_patch_report_free(&rep);
	assert_string_equal(ut_slurp(dir, "f.c"), clash);
	qi_free(h);
	free(clash);
	free(d2);
	ut_tmpdir_remove(pristine);
	ut_tmpdir_remove(dir);
	sides_free(&sd);
}

/* A patch made against another tree (base_dir, the profile's base=): A is
 * that tree, B (the series' pristine tree) is A with f.c changed next to
 * the patch's change (so its hunk fails on B, and on B alone too) and
 * h.c, which A lacks, added. Against A the f.c hunk merges; h.c, which
 * the patch before it changed, is merged against B's file; g.c applies. */
static void test_other_base(void **state)
{
	char *a = ut_tmpdir("merge"), *dir = ut_tmpdir("merge"), *pd = ut_tmpdir("merge");
	char *fa = function(0, NULL, 0, NULL), *fb = function(11, "\tx = netq(x);", 0, NULL);
	char *fp = function(14, "\tx = more(x);", 0, NULL);
	char *h0 = function(0, NULL, 0, NULL), *h1 = function(14, "\tx = one(x);", 0, NULL);
	char *hp = function(17, "\tx = hmore(x);", 0, NULL);
	const char *g0 = "one\ntwo\nthree\n", *gp = "one\n2\nthree\n";
	ut_write(a, "f.c", fa, 0);
	ut_write(a, "g.c", g0, 0);
	ut_write(dir, "f.c", fb, 0);
	ut_write(dir, "g.c", g0, 0);
	ut_write(dir, "h.c", h0, 0);
	char *d1 = udiff("h.c", h0, h1), *df = udiff("f.c", fa, fp), *dg = udiff("g.c", g0, gp);
	char *dh = udiff("h.c", h0, hp);
	char *d2 = qi_xasprintf("%s%s%s", df, dg, dh);
	ut_write(pd, "one.diff", d1, 0);
	ut_write(pd, "more.diff", d2, 0);
	char *p1 = qi_xasprintf("%s/one.diff", pd), *p2 = qi_xasprintf("%s/more.diff", pd);
	struct qi_series_patch s[2] = { { p1, 1, 0, "one", NULL, NULL }, { p2, 1, 0, "more", NULL, NULL } };
	struct qi_series_options opt = { .merge = true };
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	/* against the series' own pristine tree it cannot be merged */
	assert_int_equal(qi_patch_series(h, dir, s, 2, &opt, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "does not apply to the pristine tree either"));
	assert_non_null(strstr(qi_errmsg(h), "base=COMPONENT"));
	assert_string_equal(ut_slurp(dir, "f.c"), fb);
	/* against the tree it was made for it is */
	qi_clear_error(h);
	s[1].base_dir = a;
	json_t *report = NULL;
	assert_int_equal(qi_patch_series(h, dir, s, 2, &opt, &report), 0);
	assert_non_null(strstr(ut_slurp(dir, "f.c"), "\tx = netq(x);\n\tx = x * 12 + 1;\n\tx = x * 13 + 1;\n"
						     "\tx = more(x);\n"));
	assert_string_equal(ut_slurp(dir, "g.c"), gp);
	const char *got = ut_slurp(dir, "h.c");
	assert_non_null(strstr(got, "\tx = one(x);\n"));
	assert_non_null(strstr(got, "\tx = hmore(x);\n"));
	const char *want[][2] = { { "f.c", "merged" }, { "g.c", "clean" }, { "h.c", "merged" } };
	size_t i, seen = 0;
	json_t *r;
	json_array_foreach(report, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "patch")), "more"))
			continue;
		assert_true(seen < 3);
		assert_string_equal(json_string_value(json_object_get(r, "file")), want[seen][0]);
		assert_string_equal(json_string_value(json_object_get(r, "outcome")), want[seen][1]);
		seen++;
	}
	assert_int_equal(seen, 3);
	json_decref(report);
	/* a base tree the patch does not apply to either: the error names it */
	ut_write(a, "g.c", "un\ndeux\ntrois\n", 0);
	ut_write(dir, "f.c", fb, 0);
	ut_write(dir, "g.c", g0, 0);
	ut_write(dir, "h.c", h0, 0);
	qi_clear_error(h);
	assert_int_equal(qi_patch_series(h, dir, s, 2, &opt, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "the tree it was made against (its base"));
	qi_free(h);
	free(fa);
	free(fb);
	free(fp);
	free(h0);
	free(h1);
	free(hp);
	free(d1);
	free(df);
	free(dg);
	free(dh);
	free(d2);
	free(p1);
	free(p2);
	ut_tmpdir_remove(a);
	ut_tmpdir_remove(dir);
	ut_tmpdir_remove(pd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_insert),
		cmocka_unit_test(test_insert_insert_kept_lines),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_true_conflict),
		cmocka_unit_test(test_marker_safety),
		cmocka_unit_test(test_generated_distances),
		cmocka_unit_test(test_generated_inserts),
		cmocka_unit_test(test_conflict_message),
		cmocka_unit_test(test_glue),
		cmocka_unit_test(test_no_merge_and_outcomes),
		cmocka_unit_test(test_apply_merge_base),
		cmocka_unit_test(test_other_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
