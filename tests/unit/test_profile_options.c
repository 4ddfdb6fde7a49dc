/* Unit tests for profile.c's options ([option NAME]) and conditional
 * sections ([KIND ARG if NAME !NAME]): their states and origins, the
 * command line's --with/--without, conflicts and requires, which settings
 * count, the order of lists, and the load-time errors; and the patch
 * values' attributes (strip=, fuzz=, glue=, base=) and copy values. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/provision.h"
#include "unit.h"

#define PIN "0000000000000000000000000000000000000000000000000000000000000000"

/* Options a..e and two components, one of them conditional. */
static const char *const base =
	"[option a]\ndescription = the a\ndefault = yes\n"
	"[option b]\nconflicts = a\n"
	"[option c]\ndefault = a|b\n"
	"[option d]\nrequires = c b|e\n"
	"[option e]\ndefault = no\n"
	"[component x]\nversion = 1\nurl = https://example.invalid/x.tgz\nsha256 = " PIN "\n"
	"program = x\npatch = one.patch\n"
	"[component x if a !b]\npatch = two.patch strip=0\n"
	"[component x]\npatch = three.patch\n"
	"[component y if e]\nversion = 1\nurl = https://example.invalid/y.tgz\nsha256 = " PIN "\n"
	"install = none\n"
	"[build if e]\ncc = gcc -O0\n";

static struct qi_profile *parse(qi_handle *h, const char *text)
{
	struct qi_profile *p = NULL;
	int rc = qi_profile_parse_buffer(h, "t.profile", text, strlen(text), &p);
	if (rc < 0)
		assert_null(p);
	return p;
}

/* What the profile's list KEY of SECTION holds, joined by spaces. */
static const char *joined(struct qi_profile *p, const char *section, const char *key)
{
	static char buf[512];
	buf[0] = '\0';
	const char *const *v = qi_profile_get_list(p, section, key);
	for (size_t i = 0; v[i]; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "", v[i]);
	return buf;
}

/* Defaults: yes, no, and A|B following the others; origins "default". */
static void test_defaults(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, base);
	assert_non_null(p);
	assert_true(qi_profile_option(p, "a"));
	assert_false(qi_profile_option(p, "b"));
	assert_true(qi_profile_option(p, "c"));	/* a|b, a on */
	assert_false(qi_profile_option(p, "e"));
	assert_false(qi_profile_option(p, "nosuch"));
	json_t *j = qi_profile_options_json(p);
	assert_int_equal(json_array_size(j), 5);
	json_t *c = json_array_get(j, 2);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "c");
	assert_string_equal(json_string_value(json_object_get(c, "state")), "on");
	assert_string_equal(json_string_value(json_object_get(c, "origin")), "default");
	assert_string_equal(json_string_value(json_object_get(c, "default")), "a|b");
	json_t *d = json_array_get(j, 3);
	assert_int_equal(json_array_size(json_object_get(d, "requires")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "requires"), 1)), "b|e");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "description")), "the a");
	json_decref(j);
	qi_profile_free(p);
	qi_free(h);
}

/* Conditional settings count only while their condition holds; lists keep
 * the file's order across plain and conditional sections; a component
 * only in conditional sections exists only while one holds. */
static void test_conditional_sections(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, base);
	assert_non_null(p);
	assert_string_equal(joined(p, "component x", "patch"), "one.patch two.patch strip=0 three.patch");
	assert_string_equal(qi_profile_get(p, "build", "cc"), "gcc -O2");
	assert_string_equal(qi_profile_components(p)[0], "x");
	assert_null(qi_profile_components(p)[1]);
	/* e on: y and [build if e] count; b still off */
	assert_int_equal(qi_profile_set_option(h, p, "e", true), 0);
	assert_string_equal(qi_profile_get(p, "build", "cc"), "gcc -O0");
	assert_string_equal(qi_profile_origin(p, "build", "cc"), "t.profile:28");
	assert_string_equal(qi_profile_components(p)[1], "y");
	/* a off: two.patch drops out, the order of the others stays */
	assert_int_equal(qi_profile_set_option(h, p, "a", false), 0);
	assert_string_equal(joined(p, "component x", "patch"), "one.patch three.patch");
	json_t *j = qi_profile_to_json(p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "options"), 0),
							      "origin")), "command line");
	json_decref(j);
	qi_profile_free(p);
	qi_free(h);
}

/* The command line wins over `enabled`, which wins over `default`. */
static void test_enabled_chain(void **state)
{
	qi_handle *h = qi_new();
	char *text = qi_xasprintf("%s[option e]\nenabled = yes\n", base);
	struct qi_profile *p = parse(h, text);
	free(text);
	assert_non_null(p);
	assert_true(qi_profile_option(p, "e"));
	json_t *j = qi_profile_options_json(p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 4), "origin")), "t.profile:30");
	json_decref(j);
	assert_int_equal(qi_profile_set_option(h, p, "e", false), 0);
	assert_false(qi_profile_option(p, "e"));
	assert_null(qi_profile_components(p)[1]);
	qi_profile_free(p);
	qi_free(h);
}

/* Conflicts: both on names both; requires: an alternative not met names
 * it; checked once the command line is done. Unknown --with NAME lists
 * the options. */
static void test_checks(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, base);
	assert_non_null(p);
	/* b turned on: a, on only by its default, yields to it */
	assert_int_equal(qi_profile_set_option(h, p, "b", true), 0);
	assert_int_equal(qi_profile_check_options(h, p), 0);
	assert_false(qi_profile_option(p, "a"));
	json_t *opts = qi_profile_options_json(p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(opts, 0), "name")), "a");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(opts, 0), "origin")),
			       "yielding to a conflicting option"));
	json_decref(opts);
	/* both turned on: an error naming both (checked once the command
	 * line is done) */
	assert_int_equal(qi_profile_set_option(h, p, "a", true), 0);
	assert_true(qi_profile_option(p, "a"));
	assert_int_equal(qi_profile_check_options(h, p), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(h), "options b and a conflict"));
	assert_non_null(strstr(qi_errmsg(h), "b: command line; a: command line"));
	assert_int_equal(qi_profile_set_option(h, p, "a", false), 0);
	assert_int_equal(qi_profile_check_options(h, p), 0);	/* c on through b */
	assert_int_equal(qi_profile_set_option(h, p, "d", true), 0);
	assert_int_equal(qi_profile_check_options(h, p), 0);	/* c on, b on */
	assert_int_equal(qi_profile_set_option(h, p, "b", false), 0);
	/* now c is off (a and b off): d requires c */
	assert_int_equal(qi_profile_check_options(h, p), -1);
	assert_non_null(strstr(qi_errmsg(h), "option d (on: command line) requires c"));
	assert_int_equal(qi_profile_set_option(h, p, "c", true), 0);
	assert_int_equal(qi_profile_check_options(h, p), -1);
	assert_non_null(strstr(qi_errmsg(h), "requires one of b|e"));
	assert_int_equal(qi_profile_set_option(h, p, "nosuch", true), -1);
	assert_non_null(strstr(qi_errmsg(h), "no option 'nosuch' (its options: a, b, c, d, e)"));
	qi_profile_free(p);
	/* the profile as written is checked at load time */
	char *text = qi_xasprintf("%s[option b]\nenabled = yes\n[option a]\nenabled = yes\n", base);
	assert_null(parse(h, text));
	assert_non_null(strstr(qi_errmsg(h), "options b and a conflict"));
	free(text);
	qi_free(h);
}

/* Load-time errors, each naming FILE:LINE. */
static void test_errors(void **state)
{
	qi_handle *h = qi_new();
	char *text = qi_xasprintf("%s[component x if a nosuch]\npatch = four.patch\n", base);
	assert_null(parse(h, text));
	free(text);
	assert_non_null(strstr(qi_errmsg(h), "t.profile:29: the condition names the option 'nosuch'"));
	assert_non_null(strstr(qi_errmsg(h), "its options: a, b, c, d, e"));
	assert_null(parse(h, "[option a]\ndefault = b\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: [option a] default names the option 'b'"));
	assert_null(parse(h, "[option a]\nrequires = x|y\n"));
	assert_non_null(strstr(qi_errmsg(h), "names the option 'x'"));
	assert_null(parse(h, "[option a]\ndefault = b\n[option b]\ndefault = a\n"));
	assert_non_null(strstr(qi_errmsg(h), "depends on itself"));
	assert_null(parse(h, "[option a if b]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:1: an [option NAME] section has no condition"));
	assert_null(parse(h, "[option a]\n[build if]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: 'if' needs the options"));
	assert_null(parse(h, "[option a]\n[build if a b/c]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: a condition is option names"));
	assert_null(parse(h, "[option a]\n[component x y]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: after [KIND ARG only 'if"));
	assert_null(parse(h, "[option a]\n[profile if a]\ninclude = other\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:3: an include cannot depend on options"));
	assert_null(parse(h, "[option a]\ndefault = maybe|\n"));
	assert_non_null(strstr(qi_errmsg(h), "bad value for 'default'"));
	assert_null(parse(h, "[option a]\nconflicts = b|c\n"));
	assert_non_null(strstr(qi_errmsg(h), "bad value for 'conflicts'"));
	qi_free(h);
}

/* patch = SPEC [strip=N] [fuzz=N] [glue=FILE]; copy = COMPONENT:MEMBER [DEST];
 * install = none takes no patches. */
static void test_patch_and_copy_values(void **state)
{
	struct qi_patch_spec ps;
	assert_null(qi_patch_spec_parse("a.patch strip=3 fuzz=2 glue=g.patch", &ps));
	assert_string_equal(ps.spec, "a.patch");
	assert_int_equal(ps.strip, 3);
	assert_int_equal(ps.fuzz, 2);
	assert_string_equal(ps.glue, "g.patch");
	qi_patch_spec_free(&ps);
	assert_null(qi_patch_spec_parse("c:dir/auth.patch", &ps));
	assert_int_equal(ps.strip, -1);
	assert_int_equal(ps.fuzz, -1);
	assert_null(ps.glue);
	qi_patch_spec_free(&ps);
	assert_non_null(qi_patch_spec_parse("a.patch fuzz=4", &ps));
	assert_non_null(qi_patch_spec_parse("a.patch strip=1 strip=2", &ps));
	assert_non_null(qi_patch_spec_parse("a.patch colour=red", &ps));
	assert_non_null(qi_patch_spec_parse("a.patch glue=https://x/y", &ps));
	assert_non_null(qi_patch_spec_parse("https://x/y.patch strip=1", &ps));	/* unpinned URL */
	qi_handle *h = qi_new();
	const char *keys[] = { "copy = y:dir/base64.c\n", "copy = y:dir/base64.c sub/b.c\n" };
	for (int i = 0; i < 2; i++) {
		char *text = qi_xasprintf("%s[component x]\n%s", base, keys[i]);
		struct qi_profile *p = parse(h, text);
		free(text);
		assert_non_null(p);
		qi_profile_free(p);
	}
	assert_null(parse(h, "[component x]\ncopy = nocolon\n"));
	assert_non_null(strstr(qi_errmsg(h), "expected COMPONENT:MEMBER [DEST]"));
	assert_null(parse(h, "[component x]\ncopy = y:a ../b\n"));
	assert_non_null(strstr(qi_errmsg(h), "DEST is one relative path"));
	char *text = qi_xasprintf("%s[option e]\nenabled = yes\n[component y]\npatch = p.patch\n", base);
	assert_null(parse(h, text));
	free(text);
	assert_non_null(strstr(qi_errmsg(h), "has install = none: nothing of it is built"));
	qi_free(h);
}

/* patch = SPEC base=COMPONENT: parsed; the recipe takes the base's
 * version and pin (an install = none component, this one merging), and
 * the base is part of the build key. */
static void test_patch_base(void **state)
{
	struct qi_patch_spec ps;
	assert_null(qi_patch_spec_parse("a.patch base=q-1.03 glue=g.patch", &ps));
	assert_string_equal(ps.base, "q-1.03");
	assert_string_equal(ps.glue, "g.patch");
	qi_patch_spec_free(&ps);
	assert_non_null(qi_patch_spec_parse("a.patch base=q base=r", &ps));
	assert_non_null(qi_patch_spec_parse("a.patch base=a/b", &ps));
	assert_non_null(qi_patch_spec_parse("a.patch base=", &ps));
	const char *head = "[component x]\nversion = 1\nurl = https://example.invalid/x.tgz\nsha256 = " PIN "\n"
			   "program = x\n";
	const char *q = "[component q]\nversion = 1.03\nurl = https://example.invalid/q.tgz\n"
			"sha256 = 1111111111111111111111111111111111111111111111111111111111111111\n";
	const char *more = "patch = https://example.invalid/m.patch#sha256=" PIN;
	qi_handle *h = qi_new();
	struct qi_recipe r;
	char key[2][sizeof(r.key)];
	for (int k = 0; k < 2; k++) {
		char *text = qi_xasprintf("%s%s%s\n%sinstall = none\n", head, more, k ? " base=q" : "", q);
		struct qi_profile *p = parse(h, text);
		free(text);
		assert_non_null(p);
		assert_int_equal(qi_recipe_from_profile(h, p, "x", &r), 0);
		assert_int_equal(qi_recipe_key(h, &r), 0);
		memcpy(key[k], r.key, sizeof(r.key));
		if (k) {
			assert_string_equal(r.patches[0].base, "q");
			assert_string_equal(r.patches[0].base_version, "1.03");
			assert_string_equal(r.patches[0].base_pin, "1111111111111111111111111111111111111111111111111111111111111111");
		}
		qi_recipe_free(&r);
		qi_profile_free(p);
	}
	assert_string_not_equal(key[0], key[1]);
	const char *bad[][2] = {
		{ " base=nosuch", "install = none\n" },
		{ " base=q", "program = q\n" },
		{ " base=x", "install = none\n" },
		{ " base=q\nmerge = no", "install = none\n" },
	};
	const char *why[] = { "no such component", "must be install = none", "another component than its own",
			      "needs merge = yes" };
	for (int i = 0; i < 4; i++) {
		char *text = qi_xasprintf("%s%s%s\n%s%s", head, more, bad[i][0], q, bad[i][1]);
		struct qi_profile *p = parse(h, text);
		free(text);
		assert_non_null(p);
		assert_int_equal(qi_recipe_from_profile(h, p, "x", &r), -1);
		assert_non_null(strstr(qi_errmsg(h), why[i]));
		qi_profile_free(p);
	}
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_conditional_sections),
		cmocka_unit_test(test_enabled_chain),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_patch_and_copy_values),
		cmocka_unit_test(test_patch_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
