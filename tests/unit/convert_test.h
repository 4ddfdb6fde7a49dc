/*
 * convert_test.h - what the unit tests of convert/ (test_convert_*.c)
 * share, instead of each writing its own: running a converter on inputs
 * given as NAME, TEXT pairs, a file's text, finding an item and asserting
 * what it holds.
 *
 *   struct cv_result r = { 0 };
 *   ct_run(cv_exim, &r, "/etc/mailname", "mail.example.org\n", NULL);
 *   ct_assert_item(ct_find(&r, "mailname", NULL), "control/me: ...", CV_CONVERTED, NULL);
 *   cv_result_free(&r);
 *
 * A test that keeps one result for all its cases defines CT_CONVERTER
 * (the converter) before it includes this header, and gets that result
 * r and run(NAME, TEXT, ..., NULL), item(SETTING), outcome(SETTING, O),
 * text(NAME) and teardown() working on it.
 *
 * Include it after <cmocka.h> and convert/convert.h, in a test whose
 * first include is config.h. The helpers are static inline, as in
 * unit.h: a test pays only for those it calls.
 */
#ifndef QI_TESTS_CONVERT_TEST_H
#define QI_TESTS_CONVERT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "convert/convert.h"

/* A converter of convert.h (cv_postfix, cv_sendmail, cv_exim). */
typedef int (*ct_converter)(const struct cv_inputs *in, struct cv_result *out, const char **err);

/* The most inputs one run takes. */
#define CT_MAX_INPUTS 16

/* Run CONVERT into *R on the inputs FIRST, AP...: NAME, TEXT pairs (each
 * TEXT NUL-terminated) ending in a NULL name. Asserts that it returns 0;
 * returns the error message it set (NULL when none). */
static inline const char *ct_vrun(ct_converter convert, struct cv_result *r, const char *first, va_list ap)
{
	struct cv_input v[CT_MAX_INPUTS];
	size_t n = 0;
	for (const char *nm = first; nm; nm = va_arg(ap, const char *)) {
		assert_true(n < CT_MAX_INPUTS);
		const char *t = va_arg(ap, const char *);
		v[n++] = (struct cv_input){ .name = nm, .text = t, .len = strlen(t) };
	}
	struct cv_inputs in = { .v = v, .n = n };
	const char *err = NULL;
	assert_int_equal(convert(&in, r, &err), 0);
	return err;
}

/* ct_vrun with the NAME, TEXT pairs as arguments. */
static inline const char *ct_run(ct_converter convert, struct cv_result *r, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	const char *err = ct_vrun(convert, r, first, ap);
	va_end(ap);
	return err;
}

/* The text of file NAME of R, or NULL. */
static inline const char *ct_file(const struct cv_result *r, const char *name)
{
	const struct cv_file *f = cv_file_find(r, name);
	return f ? f->text : NULL;
}

/* The item of R whose setting is SETTING: it must be there, once. */
static inline const struct cv_item *ct_item_once(const struct cv_result *r, const char *setting)
{
	const struct cv_item *it = NULL;
	for (size_t i = 0; i < r->nitems; i++)
		if (strcmp(r->items[i].setting, setting) == 0) {
			assert_null(it);
			it = &r->items[i];
		}
	if (!it)
		fail_msg("no item %s", setting);
	return it;
}

/* The first item of R whose setting is SETTING and before BEFORE (NULL:
 * any); fails the test when there is none. */
static inline const struct cv_item *ct_find(const struct cv_result *r, const char *setting, const char *before)
{
	for (size_t i = 0; i < r->nitems; i++)
		if (strcmp(r->items[i].setting, setting) == 0 && (!before || strcmp(r->items[i].before, before) == 0))
			return &r->items[i];
	fail_msg("no item %s = %s", setting, before ? before : "*");
	return NULL;
}

/* Assert that the item IT has AFTER, OUTCOME and WHY (NULL: none). */
static inline void ct_assert_item(const struct cv_item *it, const char *after, enum cv_outcome o, const char *why)
{
	assert_string_equal(it->after, after);
	assert_int_equal(it->outcome, o);
	if (why) {
		assert_non_null(it->why);
		assert_string_equal(it->why, why);
	} else {
		assert_null(it->why);
	}
}

/* Assert that the item IT has OUTCOME, and a why unless converted. */
static inline void ct_assert_outcome(const struct cv_item *it, enum cv_outcome o)
{
	assert_string_equal(cv_outcome_name(it->outcome), cv_outcome_name(o));
	if (o == CV_CONVERTED)
		assert_null(it->why);
	else
		assert_non_null(it->why);
}

#ifdef CT_CONVERTER
/* The result of the last run. */
static struct cv_result r;

/* CT_CONVERTER on the NAME, TEXT pairs given (NULL-terminated) into r. */
static void run(const char *name, ...)
{
	va_list ap;
	va_start(ap, name);
	cv_result_free(&r);
	ct_vrun(CT_CONVERTER, &r, name, ap);
	va_end(ap);
}

/* The item SETTING of r (it must be there, once). */
static inline const struct cv_item *item(const char *setting)
{
	return ct_item_once(&r, setting);
}

/* The item SETTING of r has OUTCOME (and a why unless converted). */
static inline void outcome(const char *setting, enum cv_outcome o)
{
	ct_assert_outcome(ct_item_once(&r, setting), o);
}

/* The text of file NAME of r ("" when there is none). */
static inline const char *text(const char *name)
{
	const char *t = ct_file(&r, name);
	return t ? t : "";
}

/* cmocka's teardown: r freed. */
static int teardown(void **state)
{
	(void)state;
	cv_result_free(&r);
	return 0;
}
#endif /* CT_CONVERTER */

#endif /* QI_TESTS_CONVERT_TEST_H */
