/* Unit tests for CRAM-MD5 in the mail password file: cram.c (the secret,
 * the check of a response against it, RFC 2195's example), pwfile.c's
 * "#cram-md5:" line (found only after its entry and with its hash's tag,
 * kept byte for byte, edited with its entry; a file without one read as
 * before) and qi_checkpw_split (descriptor 3 of qmail-popup and of
 * qmail-smtpd-auth's LOGIN, PLAIN and CRAM-MD5). */
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

#define RFC_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"
#define RFC_DIGEST "b913a602c7eda7a495b4e6e7334d3890"

static void secret_of(const char *password, char secret[QI_CRAM_SECRET_HEX + 1])
{
	qi_handle *h = qi_new();
	assert_int_equal(qi_cram_secret(h, password, secret), 0);
	qi_free(h);
	assert_true(qi_is_hex(secret, QI_CRAM_SECRET_HEX));
}

static bool verify(const char *secret, const char *challenge, const char *response)
{
	return qi_cram_verify(secret, challenge, strlen(challenge), response);
}

/* RFC 2195's example verifies from the stored secret alone; a wrong
 * digest, another challenge, another password's secret, and responses
 * or secrets that are not hex of the right length do not. */
static void test_rfc2195(void **state)
{
	char s[QI_CRAM_SECRET_HEX + 1], other[QI_CRAM_SECRET_HEX + 1];
	secret_of("tanstaaftanstaaf", s);
	assert_true(verify(s, RFC_CHALLENGE, RFC_DIGEST));
	assert_true(verify(s, RFC_CHALLENGE, "B913A602C7EDA7A495B4E6E7334D3890"));
	assert_false(verify(s, RFC_CHALLENGE, "b913a602c7eda7a495b4e6e7334d3891"));
	assert_false(verify(s, "<1896.697170953@postoffice.reston.mci.net>", RFC_DIGEST));
	assert_false(qi_cram_verify(s, RFC_CHALLENGE, strlen(RFC_CHALLENGE) - 1, RFC_DIGEST));
	assert_null(strstr(s, "74616e73"));	/* not the password in hex */
	secret_of("tanstaaftanstaaF", other);
	assert_string_not_equal(s, other);
	assert_false(verify(other, RFC_CHALLENGE, RFC_DIGEST));
	static const char *const bad[] = {
		"", "b913a602c7eda7a495b4e6e7334d389", "b913a602c7eda7a495b4e6e7334d38900",
		"g913a602c7eda7a495b4e6e7334d3890", " b913a602c7eda7a495b4e6e7334d389",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(verify(s, RFC_CHALLENGE, bad[i]));
	assert_false(verify(NULL, RFC_CHALLENGE, RFC_DIGEST));
	char shortsecret[QI_CRAM_SECRET_HEX];
	memcpy(shortsecret, s, sizeof(shortsecret) - 1);
	shortsecret[sizeof(shortsecret) - 1] = '\0';
	assert_false(verify(shortsecret, RFC_CHALLENGE, RFC_DIGEST));
	s[10] = 'x';
	assert_false(verify(s, RFC_CHALLENGE, RFC_DIGEST));
}

/* RFC 2104's key rule (a key of more than 64 bytes is keyed by its MD5;
 * 64 bytes is used as it is) and an empty challenge, against values of
 * Python's hmac module. */
static void test_hmac_keys(void **state)
{
	char s[QI_CRAM_SECRET_HEX + 1], k[101];
	memset(k, 'k', 100);
	k[100] = '\0';
	secret_of(k, s);
	assert_true(verify(s, "<x@y>", "461a8cc1e53c61479f5dbb2b153e90a5"));
	k[64] = '\0';
	secret_of(k, s);
	assert_true(verify(s, "<x@y>", "b9547c473a82d86be949c3195fedda0f"));
	secret_of("pw", s);
	assert_true(verify(s, "", "80fec29b41c5156ea40107b2cc0ed5c6"));
}

/* A file with "tim:HASH:..." and LINE after it: tim's cram, after parse
 * and after lookup alike; every byte kept. */
static char *cram_after(const char *hash, const char *line)
{
	char *data = qi_xasprintf("# users\ntim:%s:vmail:/home/vmail/tim\n%s", hash, line);
	struct qi_popdb db;
	qi_popdb_parse(&db, data, strlen(data));
	size_t len;
	char *out = qi_popdb_serialize(&db, &len);
	assert_int_equal(len, strlen(data));
	assert_memory_equal(out, data, len);
	free(out);
	const struct qi_popline *l = qi_popdb_find(&db, "tim");
	assert_non_null(l);
	char *got = l->cram ? strdup(l->cram) : NULL;
	struct qi_popline lk;
	assert_true(qi_popdb_lookup(data, strlen(data), "tim", &lk));
	if (got)
		assert_string_equal(lk.cram, got);
	else
		assert_null(lk.cram);
	qi_popline_clear(&lk);
	qi_popdb_free(&db);
	free(data);
	return got;
}

/* The secret counts only on the line right after its entry, for the same
 * login, with the tag of the entry's hash, and never for a system or
 * locked hash; malformed "#cram-md5:" lines are comments; a file without
 * the line reads as before (no secret, the same entries). */
static void test_line(void **state)
{
	const char *hash = "$y$j9T$abc$def", *secret =
		"4638c77f1a70c6fda4ddfa6fbe34e6ee090a0f0088f15da8fed5e0a5ff2b4152";
	char tag[QI_CRAM_TAG_HEX + 1], tag2[QI_CRAM_TAG_HEX + 1];
	qi_cram_tag(hash, tag);
	qi_cram_tag("$y$j9T$abc$deg", tag2);
	assert_true(qi_is_hex(tag, QI_CRAM_TAG_HEX));
	assert_string_not_equal(tag, tag2);
	char *line = qi_xasprintf("#cram-md5:tim:%s:%s\n", tag, secret), *got;
	got = cram_after(hash, line);
	assert_non_null(got);
	assert_string_equal(got, secret);
	free(got);
	char *crlf = qi_xasprintf("#cram-md5:tim:%s:%s\r\n", tag, secret);
	got = cram_after(hash, crlf);
	assert_non_null(got);
	free(got);
	char *noeol = qi_xasprintf("#cram-md5:tim:%s:%s", tag, secret);
	got = cram_after(hash, noeol);
	assert_non_null(got);
	free(got);
	char *stale = qi_xasprintf("#cram-md5:tim:%s:%s\n", tag2, secret);
	char *later = qi_xasprintf("\n%s", line);
	char *other = qi_xasprintf("#cram-md5:ann:%s:%s\n", tag, secret);
	char *upper = qi_xasprintf("#cram-md5:tim:%s:%s\n", "ABCDEF0123456789", secret);
	char *shortsec = qi_xasprintf("#cram-md5:tim:%s:%.63s\n", tag, secret);
	char *extra = qi_xasprintf("#cram-md5:tim:%s:%s:x\n", tag, secret);
	const char *none[] = { stale, later, other, upper, shortsec, extra, "", "# a comment\n" };
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_null(cram_after(hash, none[i]));
	char st[QI_CRAM_TAG_HEX + 1], lk[QI_CRAM_TAG_HEX + 1];
	qi_cram_tag("system", st);
	qi_cram_tag("!$y$j9T$abc$def", lk);
	char *sysline = qi_xasprintf("#cram-md5:tim:%s:%s\n", st, secret);
	char *lkline = qi_xasprintf("#cram-md5:tim:%s:%s\n", lk, secret);
	assert_null(cram_after("system", sysline));
	assert_null(cram_after("!$y$j9T$abc$def", lkline));
	/* Malformed lines of that shape are plain comments. */
	struct qi_popdb db;
	qi_popdb_parse(&db, upper, strlen(upper));
	assert_null(db.lines[0].comp_login);
	assert_false(db.lines[0].entry);
	assert_null(db.lines[0].first);
	qi_popdb_free(&db);
	char *v[] = { line, crlf, noeol, stale, later, other, upper, shortsec, extra, sysline,
		      lkline };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		free(v[i]);
}

/* set_cram puts the line right after the entry with the entry's own
 * terminator (a CRLF file stays one, a last line without one gets "\n");
 * set (a new hash), set_cram NULL and remove take the login's lines away,
 * stray ones elsewhere too; every other line is kept. */
static void test_edit(void **state)
{
	const char *secret = "4638c77f1a70c6fda4ddfa6fbe34e6ee090a0f0088f15da8fed5e0a5ff2b4152";
	const char *data = "# users\r\nann:$y$a:vmail:/home/vmail/ann\r\n"
			   "#cram-md5:tim:0123456789abcdef:" "4638c77f1a70c6fda4ddfa6fbe34e6ee"
			   "090a0f0088f15da8fed5e0a5ff2b4152\n"
			   "tim:$y$t:vmail:/home/vmail/tim";
	struct qi_popdb db;
	qi_popdb_parse(&db, data, strlen(data));
	assert_null(qi_popdb_find(&db, "ann")->cram);	/* the next line is tim's */
	qi_popdb_set_cram(&db, "ann", secret);
	qi_popdb_set_cram(&db, "tim", secret);
	qi_popdb_set_cram(&db, "nobody", secret);	/* no entry: nothing */
	char ta[QI_CRAM_TAG_HEX + 1], tt[QI_CRAM_TAG_HEX + 1];
	qi_cram_tag("$y$a", ta);
	qi_cram_tag("$y$t", tt);
	size_t len;
	char *out = qi_popdb_serialize(&db, &len), *want = qi_xasprintf(
		"# users\r\nann:$y$a:vmail:/home/vmail/ann\r\n#cram-md5:ann:%s:%s\r\n"
		"tim:$y$t:vmail:/home/vmail/tim\n#cram-md5:tim:%s:%s\n", ta, secret, tt, secret);
	assert_string_equal(out, want);
	free(out);
	free(want);
	assert_string_equal(qi_popdb_find(&db, "ann")->cram, secret);
	assert_string_equal(qi_popdb_find(&db, "tim")->cram, secret);
	/* The serialized file reads back the same. */
	out = qi_popdb_serialize(&db, &len);
	struct qi_popdb again;
	qi_popdb_parse(&again, out, len);
	assert_string_equal(qi_popdb_find(&again, "tim")->cram, secret);
	qi_popdb_free(&again);
	free(out);
	qi_popdb_set(&db, "ann", "$y$new", "vmail", "/home/vmail/ann");
	assert_null(qi_popdb_find(&db, "ann")->cram);
	qi_popdb_set_cram(&db, "tim", NULL);
	assert_null(qi_popdb_find(&db, "tim")->cram);
	out = qi_popdb_serialize(&db, &len);
	assert_string_equal(out, "# users\r\nann:$y$new:vmail:/home/vmail/ann\r\n"
			    "tim:$y$t:vmail:/home/vmail/tim\n");
	free(out);
	qi_popdb_set_cram(&db, "tim", secret);
	assert_true(qi_popdb_remove(&db, "tim"));
	out = qi_popdb_serialize(&db, &len);
	assert_string_equal(out, "# users\r\nann:$y$new:vmail:/home/vmail/ann\r\n");
	free(out);
	qi_popdb_free(&db);
}

/* Descriptor 3: qmail-popup's login\0password\0timestamp\0 and
 * qmail-smtpd-auth's LOGIN/PLAIN login\0password\0\0 are passwords;
 * login\0challenge\0(32 hex digits)\0 is CRAM-MD5; no second NUL is not
 * input at all. */
static void test_split(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		bool ok, cram;
		const char *secret, *rest;
	} cases[] = {
		{ "tim\0pw\0<1.2@host>\0", 18, true, false, "pw", "<1.2@host>" },
		{ "tim\0pw\0\0", 8, true, false, "pw", "" },
		{ "tim\0pw\0", 7, true, false, "pw", "" },
		{ "tim\0" RFC_CHALLENGE "\0" RFC_DIGEST "\0", 4 + 42 + 1 + 32 + 1, true, true,
		  RFC_CHALLENGE, RFC_DIGEST },
		{ "tim\0" RFC_CHALLENGE "\0" RFC_DIGEST, 4 + 42 + 1 + 32, true, true,
		  RFC_CHALLENGE, RFC_DIGEST },
		{ "tim\0<c>\0b913a602c7eda7a495b4e6e7334d389\0", 8 + 31 + 1, true, false, "<c>", NULL },
		{ "tim\0<c>\0b913a602c7eda7a495b4e6e7334d3890x\0", 8 + 33 + 1, true, false, "<c>",
		  NULL },
		{ "tim\0\0" RFC_DIGEST "\0", 5 + 32 + 1, true, true, "", RFC_DIGEST },
		{ "tim\0pw", 6, false, false, NULL, NULL },
		{ "tim", 3, false, false, NULL, NULL },
		{ "", 0, false, false, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[200];
		memcpy(buf, cases[i].in, cases[i].len);
		buf[cases[i].len] = '\0';
		struct qi_checkpw_input in;
		assert_int_equal(qi_checkpw_split(buf, cases[i].len, &in), cases[i].ok);
		if (!cases[i].ok)
			continue;
		assert_string_equal(in.login, "tim");
		assert_int_equal(in.cram, cases[i].cram);
		assert_string_equal(in.secret, cases[i].secret);
		assert_int_equal(in.secretlen, strlen(cases[i].secret));
		if (cases[i].rest)
			assert_string_equal(in.rest, cases[i].rest);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2195),
		cmocka_unit_test(test_hmac_keys),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
