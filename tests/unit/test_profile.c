/* Unit tests for profile.c: the format, includes, expansion, validation,
 * origins and the accounts spec. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"
#include "unit.h"

static const char *const component =
	"[component hello]\n"
	"version = 2.10\n"
	"url = https://example.invalid/hello-${version}.tar.gz\n"
	"sha256 = 0000000000000000000000000000000000000000000000000000000000000000\n"
	"program = hello 0755\n";

static char *tmpdir;

static int setup(void **state)
{
	tmpdir = ut_tmpdir("profile");
	setenv("QINSTALL_DATADIR", tmpdir, 1);
	ut_mkdir(tmpdir, "profiles", 0755);
	return 0;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(tmpdir);
	return 0;
}

static struct qi_profile *parse(qi_handle *h, const char *text)
{
	struct qi_profile *p = NULL;
	int rc = qi_profile_parse_buffer(h, "t.profile", text, strlen(text), &p);
	if (rc < 0)
		assert_null(p);
	return p;
}

/* Values are read per section; ${name} expands from the same section and
 * then the global ones; unset keys fall back to documented defaults. */
static void test_values_and_defaults(void **state)
{
	qi_handle *h = qi_new();
	char *text = qi_xasprintf("[build]\nprefix = /opt/djb\njobs = 3\n%s", component);
	struct qi_profile *p = parse(h, text);
	free(text);
	assert_non_null(p);
	assert_string_equal(qi_profile_get(p, "build", "prefix"), "/opt/djb");
	assert_string_equal(qi_profile_get(p, "build", "jobs"), "3");
	assert_string_equal(qi_profile_get(p, "build", "cc"), "gcc -O2");
	assert_string_equal(qi_profile_origin(p, "build", "cc"), "default");
	assert_string_equal(qi_profile_origin(p, "build", "prefix"), "t.profile:2");
	assert_string_equal(qi_profile_get(p, "component hello", "bindir"), "/opt/djb/bin");
	const char *const *urls = qi_profile_get_list(p, "component hello", "url");
	assert_string_equal(urls[0], "https://example.invalid/hello-2.10.tar.gz");
	assert_null(urls[1]);
	assert_string_equal(qi_profile_components(p)[0], "hello");
	assert_null(qi_profile_components(p)[1]);
	assert_null(qi_profile_get(p, "mail", "domain"));
	qi_profile_free(p);
	qi_free(h);
}

/* An unknown key is an error naming the file, the line and the key, and
 * listing the keys that exist. */
static void test_unknown_key(void **state)
{
	qi_handle *h = qi_new();
	assert_null(parse(h, "[build]\ncc = gcc\ncolour = blue\n"));
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(h), "t.profile:3: unknown key 'colour' in [build]"));
	assert_non_null(strstr(qi_errmsg(h), "known: cc, ld, jobs, prefix"));
	assert_null(parse(h, "[nosuch]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:1: unknown section [nosuch]"));
	assert_non_null(strstr(qi_errmsg(h),
			       "(known: profile, build, accounts, mail, services, option NAME, component NAME)"));
	/* Nothing reads a takeover yet, so the profile cannot ask for one. */
	assert_null(parse(h, "[takeover]\nfrom = postfix\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:1: unknown section [takeover]"));
	assert_null(parse(h, "[build x]\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:1: section [build] takes no name"));
	assert_null(parse(h, "cc = gcc\n"));
	assert_non_null(strstr(qi_errmsg(h), "before any [section]"));
	assert_null(parse(h, "[build]\njust words\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: expected KEY = VALUE"));
	qi_free(h);
}

/* Bad values name the file, line, key and what is expected. */
static void test_bad_values(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[build]\njobs = many\n", "t.profile:2: bad value for 'jobs' in [build]: 'many'" },
		{ "[build]\nprefix = usr/local\n", "expected an absolute path" },
		{ "[build]\nprefix = /usr/../etc\n", "without '..'" },
		{ "[mail]\ndomain = exa mple.org\n", "not a valid domain name" },
		{ "[accounts]\nqmaild = 70000\n", "out of range" },
		{ "[services]\nsvscan = perhaps\n", "expected yes or no" },
		{ "[accounts]\nids = some\n", "not one of the allowed values" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = ABC\nprogram = x\n",
		  "t.profile:4: bad value for 'sha256'" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nfuzz = 4\nprogram = x\n",
		  "'fuzz' in [component x]: '4': the number is out of range" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\n"
		  "patch = https://e.invalid/p.diff\nprogram = x\n",
		  "a patch URL must be pinned" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nprogram = x\n",
		  "[component x] is not pinned" },
		{ "[component x]\nversion = 1\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nprogram = x\n",
		  "[component x] has no origin" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\n",
		  "lists none" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nprogram = x 999\n",
		  "expected 'NAME [OCTAL-MODE]'" },
		{ "[component ../x]\n", "needs a name" },
		{ "[build]\ncc = ${nosuch}\n", "t.profile:2: key 'cc': ${nosuch} names no setting" },
		{ "[build]\ncc = ${prefix\n", "without a closing" },
		{ "[build]\nprefix = ${cc}\ncc = ${prefix}\n", "nested too deeply" },
		{ "[build\n", "alone on its line" },
		{ "[build]\ncc = gcc \xff\xfe\n", "t.profile:2: not valid UTF-8" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nprogram = x\n"
		  "series_archive = debian#sha256=12\n",
		  "t.profile:6: bad value for 'series_archive'" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nprogram = x\n"
		  "series_archive = https://e.invalid/debian.tar.xz\n",
		  "must be pinned" },
		{ "[component x]\nversion = 1\nurl = https://e.invalid/x.tgz\nsha256 = "
		  "0000000000000000000000000000000000000000000000000000000000000000\nprogram = x\n"
		  "series = /etc/series\n",
		  "expected a relative path" },
	};
	qi_handle *h = qi_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		qi_clear_error(h);
		assert_null(parse(h, cases[i].text));
		if (!strstr(qi_errmsg(h), cases[i].want))
			fail_msg("case %zu: '%s' does not contain '%s'", i, qi_errmsg(h), cases[i].want);
		assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	}
	qi_free(h);
}

/* Paths refuse a ".." component ("..", "a/../b", "a/.."), not a name
 * that merely holds two dots ("a..b"). */
static void test_dotdot(void **state)
{
	static const char *const refused[] = { "..", "../x", "a/../b", "a/..", "a//../b" };
	static const char *const accepted[] = { "a..b", "a..b/series", "..x/y", "x/...", "a/b.." };
	qi_handle *h = qi_new();
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		char *text = qi_xasprintf("%sdir = %s\n", component, refused[i]);
		assert_null(parse(h, text));
		if (!strstr(qi_errmsg(h), "expected a relative path without '..'"))
			fail_msg("dir = %s: %s", refused[i], qi_errmsg(h));
		free(text);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++) {
		char *text = qi_xasprintf("%sseries = %s\n[build]\nprefix = /opt/%s\n", component,
					  accepted[i], accepted[i]);
		struct qi_profile *p = parse(h, text);
		if (!p)
			fail_msg("series = %s: %s", accepted[i], qi_errmsg(h));
		assert_string_equal(qi_profile_get(p, "component hello", "series"), accepted[i]);
		qi_profile_free(p);
		free(text);
	}
	qi_free(h);
}

/* Includes load in place: later values override earlier ones, list keys
 * append, an empty list value clears; each origin names its own file. */
static void test_include_and_override(void **state)
{
	ut_write(tmpdir, "profiles/base.profile", component, 0);
	char *child = qi_xasprintf("%s/child.profile", tmpdir);
	ut_write(tmpdir, "child.profile",
			 "[profile]\ninclude = base\n"
			 "[component hello]\nversion = 2.12\n"
			 "program =\nprogram = hi 0700\n", 0);
	qi_handle *h = qi_new();
	struct qi_profile *p = NULL;
	assert_int_equal(qi_profile_load(h, child, &p), 0);
	assert_string_equal(qi_profile_get(p, "component hello", "version"), "2.12");
	const char *origin = qi_profile_origin(p, "component hello", "version");
	assert_non_null(strstr(origin, "child.profile:4"));
	assert_non_null(strstr(qi_profile_origin(p, "component hello", "sha256"), "base.profile:4"));
	const char *const *urls = qi_profile_get_list(p, "component hello", "url");
	assert_string_equal(urls[0], "https://example.invalid/hello-2.12.tar.gz");
	const char *const *progs = qi_profile_get_list(p, "component hello", "program");
	assert_string_equal(progs[0], "hi 0700");
	assert_null(progs[1]);
	qi_profile_free(p);

	/* The shipped name finds DATADIR/profiles/NAME.profile. */
	assert_int_equal(qi_profile_load(h, "base", &p), 0);
	assert_non_null(strstr(qi_profile_file(p), "/profiles/base.profile"));
	qi_profile_free(p);
	free(child);
	qi_free(h);
}

/* An include cycle and a missing include are errors naming the line. */
static void test_include_errors(void **state)
{
	ut_write(tmpdir, "profiles/a.profile", "[profile]\ninclude = b\n", 0);
	ut_write(tmpdir, "profiles/b.profile", "[profile]\ninclude = a\n", 0);
	ut_write(tmpdir, "profiles/c.profile", "[profile]\n\ninclude = nowhere\n", 0);
	qi_handle *h = qi_new();
	struct qi_profile *p = NULL;
	assert_int_equal(qi_profile_load(h, "a", &p), -1);
	assert_non_null(strstr(qi_errmsg(h), "include cycle"));
	assert_int_equal(qi_profile_load(h, "c", &p), -1);
	assert_non_null(strstr(qi_errmsg(h), "c.profile:3: include"));
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	assert_int_equal(qi_profile_load(h, "nosuch", &p), -1);
	assert_non_null(strstr(qi_errmsg(h), "no profile named 'nosuch'"));
	assert_null(p);
	qi_free(h);
}

/* A command-line override wins, is validated, re-expands dependants and
 * shows "command line" as its origin. */
static void test_set_override(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, component);
	assert_non_null(p);
	assert_int_equal(qi_profile_set(h, p, "build", "prefix", "/srv"), 0);
	assert_string_equal(qi_profile_get(p, "component hello", "bindir"), "/srv/bin");
	assert_string_equal(qi_profile_origin(p, "build", "prefix"), "command line");
	assert_int_equal(qi_profile_set(h, p, "mail", "domain", "not a domain"), -1);
	assert_non_null(strstr(qi_errmsg(h), "not a valid domain name"));
	assert_int_equal(qi_profile_set(h, p, "mail", "colour", "x"), -1);
	qi_profile_free(p);
	qi_free(h);
}

/* The accounts spec takes the profile's pinned ids and keeps the defaults
 * for what the profile leaves out. */
static void test_accounts_spec(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, "[accounts]\nnofiles = 2108\nqmail = 2107\nalias = 7790\n"
					"qmail_home = /srv/qmail\n");
	assert_non_null(p);
	struct qi_accounts_spec spec, def;
	qi_accounts_default(&def);
	assert_int_equal(qi_profile_accounts_spec(h, p, &spec), 0);
	assert_int_equal(spec.ids.id[QI_ACCT_NOFILES], 2108);
	assert_int_equal(spec.ids.id[QI_ACCT_QMAIL], 2107);
	assert_int_equal(spec.ids.id[QI_ACCT_ALIAS], 7790);
	assert_int_equal(spec.ids.id[QI_ACCT_QMAILS], def.ids.id[QI_ACCT_QMAILS]);
	assert_false(spec.ids_auto);
	assert_string_equal(spec.qmail_home, "/srv/qmail");
	qi_profile_free(p);
	qi_free(h);
}

/* The [accounts] ids obey the accounts' own bounds, at load time: each
 * value a profile accepts for an account (or for auto_min/auto_max) is
 * one `qinstall users --id NAME=ID` accepts, and the other way round;
 * 65533 is the highest, 65534 (nobody's) is refused. */
static void test_accounts_id_bounds(void **state)
{
	qi_handle *h = qi_new();
	const long long ids[] = { -1, 0, 1, 2, 65532, 65533, 65534, 65535, 70000 };
	const char *const keys[] = { "nofiles", "qmails", "auto_min", "auto_max" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			struct qi_account_ids set;
			bool cli_ok = qi_accounts_set_id(h, &set, "qmails", ids[i]) == 0;
			char *text = qi_xasprintf("[accounts]\n%s = %lld\n", keys[k], ids[i]);
			struct qi_profile *p = parse(h, text);
			free(text);
			assert_int_equal(p != NULL, cli_ok);
			assert_int_equal(cli_ok, ids[i] >= QI_ACCOUNT_ID_MIN && ids[i] <= QI_ACCOUNT_ID_MAX);
			if (!p) {
				assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
				assert_non_null(strstr(qi_errmsg(h), "t.profile:2: bad value for"));
			}
			qi_profile_free(p);
		}
	}
	struct qi_profile *p = parse(h, "[accounts]\nqmails = 65533\n");
	assert_non_null(p);
	struct qi_accounts_spec spec;
	assert_int_equal(qi_profile_accounts_spec(h, p, &spec), 0);
	assert_int_equal(spec.ids.id[QI_ACCT_QMAILS], QI_ACCOUNT_ID_MAX);
	qi_profile_free(p);
	assert_null(parse(h, "[accounts]\nqmails = 65534\n"));
	assert_non_null(strstr(qi_errmsg(h), "'qmails' in [accounts]: '65534': the number is out of range"));
	qi_free(h);
}

/* The JSON view lists every section in force with values and origins. */
static void test_json(void **state)
{
	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, component);
	json_t *j = qi_profile_to_json(p);
	json_t *secs = json_object_get(j, "sections");
	bool found = false;
	size_t i;
	json_t *s;
	json_array_foreach(secs, i, s) {
		if (strcmp(json_string_value(json_object_get(s, "name")), "component hello") != 0)
			continue;
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(s, "values"), k, v)
			if (strcmp(json_string_value(json_object_get(v, "key")), "version") == 0) {
				assert_string_equal(json_string_value(json_object_get(v, "origin")), "t.profile:2");
				found = true;
			}
	}
	assert_true(found);
	json_decref(j);
	qi_profile_free(p);
	qi_free(h);
}

/* Patch files are found beside the profile that names them, then in the
 * data directory; a missing one is an error naming both places. */
static void test_find_file(void **state)
{
	char *pd = qi_xasprintf("%s/payload", tmpdir);
	mkdir(pd, 0755);
	free(pd);
	ut_write(tmpdir, "payload/x.patch", "--- a/x\n+++ b/x\n", 0);
	qi_handle *h = qi_new();
	char *text = qi_xasprintf("%spatch = payload/x.patch\npatch = payload/none.patch\n", component);
	struct qi_profile *p = parse(h, text);
	free(text);
	assert_non_null(p);
	char *f = qi_profile_find_file(h, p, "component hello", "patch", "payload/x.patch");
	assert_non_null(f);
	assert_non_null(strstr(f, "/payload/x.patch"));
	free(f);
	assert_null(qi_profile_find_file(h, p, "component hello", "patch", "payload/none.patch"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:7: patch 'payload/none.patch'"));
	qi_profile_free(p);
	qi_free(h);
}

/* The shipped profiles load and describe ucspi-tcp and daemontools. */
static void test_shipped_profiles(void **state)
{
	const char *src = getenv("top_srcdir");
	if (!src)
		src = "..";
	setenv("QINSTALL_DATADIR", src, 1);
	qi_handle *h = qi_new();
	struct qi_profile *p = NULL;
	if (qi_profile_load(h, "ucspi-daemontools", &p) < 0)
		fail_msg("%s", qi_errmsg(h));
	assert_string_equal(qi_profile_components(p)[0], "ucspi-tcp");
	assert_string_equal(qi_profile_components(p)[1], "daemontools");
	assert_string_equal(qi_profile_get(p, "component daemontools", "bindir"), "/usr/local/bin");
	assert_true(qi_profile_bool(p, "services", "svscan"));
	qi_profile_free(p);
	assert_int_equal(qi_profile_load(h, "ucspi-daemontools-command", &p), 0);
	assert_string_equal(qi_profile_get(p, "component daemontools", "bindir"), "/command");
	assert_string_equal(qi_profile_get(p, "services", "service_dir"), "/service");
	qi_profile_free(p);
	qi_free(h);
	setenv("QINSTALL_DATADIR", tmpdir, 1);
}

/* [mail] domain is a DNS name with a dot: labels of 1-63 letters, digits
 * and inner hyphens, 253 characters at most; [mail] admin is a user name
 * or LOCAL@DOMAIN. */
static void test_mail_values(void **state)
{
	char label63[64], label64[65], long254[256];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	for (int i = 0; i < 254; i++)
		long254[i] = i % 2 ? '.' : 'a';
	long254[254] = '\0';
	long254[253] = 'b';
	static const char *const good[] = { "example.org", "mail.example.org", "a-b.c0.org", "1.2", "A.ORG" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(qi_domain_invalid(good[i]));
	char with63[80];
	snprintf(with63, sizeof(with63), "%s.org", label63);
	assert_null(qi_domain_invalid(with63));
	static const char *const bad[] = { "", "nodot", "-a.org", "a-.org", "a..b", ".a.org", "a.org.", "a_b.org",
					   "a b.org", "a.-b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(qi_domain_invalid(bad[i]));
	snprintf(with63, sizeof(with63), "%s.org", label64);
	assert_non_null(strstr(qi_domain_invalid(with63), "1 to 63"));
	assert_non_null(qi_domain_invalid(long254));
	long254[253] = '\0';
	assert_null(qi_domain_invalid(long254));

	static const char *const admins[] = { "alice", "j.doe", "postmaster@example.org", "a.b+c@mail.example.org" };
	for (size_t i = 0; i < sizeof(admins) / sizeof(admins[0]); i++)
		assert_null(qi_admin_invalid(admins[i]));
	static const char *const nonadmins[] = { "", "-alice", "a b", "@example.org", "x@nodot", "x@a..b",
						 "a|b@example.org", "a&b", "x\n@example.org" };
	for (size_t i = 0; i < sizeof(nonadmins) / sizeof(nonadmins[0]); i++)
		assert_non_null(qi_admin_invalid(nonadmins[i]));
}

/* tcprules lines: the syntax tcprules reads, and which of them let every
 * client relay; list order and list origins. */
static void test_smtp_rules(void **state)
{
	static const char *const good[] = { ":allow", "127.0.0.1:allow,RELAYCLIENT=\"\"", "10.:deny",
					    "1.2.3.10-20:allow,RELAYCLIENT=\"\",X=/a b/", "=.example.org:allow",
					    "joe@=host:deny", "=:allow" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(qi_tcprule_invalid(good[i], NULL));
	static const char *const bad[] = { "", "127.0.0.1", "1.2.3.4:permit", "1.2.3.4:allow,", ":allow,=\"x\"",
					   ":allow,A=\"x", ":allow,A", "1.2 3:allow", "1.2.3.4:allow RELAYCLIENT=\"\"",
					   ":allow,A-B=\"x\"", "::allow" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(qi_tcprule_invalid(bad[i], NULL));
	static const char *const open[] = { ":allow,RELAYCLIENT=\"\"", "=:allow,X=\"1\",RELAYCLIENT=\"\"",
					    "joe@:allow,RELAYCLIENT=\"\"" };
	static const char *const closed[] = { "127.0.0.1:allow,RELAYCLIENT=\"\"", ":allow", ":deny,RELAYCLIENT=\"\"",
					      ":allow,RELAYCLIENTS=\"\"", "=.example.org:allow,RELAYCLIENT=\"\"" };
	bool all;
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		assert_null(qi_tcprule_invalid(open[i], &all));
		assert_true(all);
	}
	for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
		assert_null(qi_tcprule_invalid(closed[i], &all));
		assert_false(all);
	}

	qi_handle *h = qi_new();
	struct qi_profile *p = parse(h, "[services]\nsmtp_rule = 1.:allow\nsmtp_rule = 2.:allow\n");
	assert_non_null(p);
	assert_true(qi_profile_list_set(p, "services", "smtp_rule"));
	assert_false(qi_profile_list_set(p, "services", "allow_open_relay"));
	assert_string_equal(qi_profile_value_origin(p, "services", "smtp_rule", "2.:allow"), "t.profile:3");
	assert_null(qi_profile_value_origin(p, "services", "smtp_rule", "3.:allow"));
	qi_profile_free(p);
	assert_null(parse(h, "[services]\nsmtp_rule = 1.2.3.4:permit\n"));
	assert_non_null(strstr(qi_errmsg(h), "t.profile:2: bad value for 'smtp_rule'"));
	assert_null(parse(h, "[services]\nsmtpd_address = 1.2.3.4 5\n"));
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_and_defaults),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_include_and_override),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_set_override),
		cmocka_unit_test(test_accounts_spec),
		cmocka_unit_test(test_accounts_id_bounds),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_find_file),
		cmocka_unit_test(test_shipped_profiles),
		cmocka_unit_test(test_mail_values),
		cmocka_unit_test(test_smtp_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
