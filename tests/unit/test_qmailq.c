/* Unit tests for qmailq.c: qmail's queue read back as a rollback of a
 * migrate reads it. A message is found by the hash of what was handed to
 * qmail-queue (its Received line left out); one still in todo/, or whose
 * local/ and remote/ files hold every recipient it was given still to do,
 * is undelivered; one with a done recipient, or with fewer left (qmail-send
 * removes a channel's file once it is done), is not; two copies of the same content are two entries, found
 * one after the other; removing one takes all of its files and leaves the
 * others'; a ROOT with no queue has nothing. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"
#include "unit.h"

static const char content[] = "Subject: carried\nFrom: a@example.org\n\nbody line\n.\nend\n";

/* Message NAME in split directory SPLIT: mess/ with qmail-queue's line. */
static void mess(const char *root, const char *split, const char *name)
{
	char *rel = NULL, *text = NULL;
	assert_true(asprintf(&rel, "var/qmail/queue/mess/%s/%s", split, name) > 0);
	assert_true(asprintf(&text, "Received: (qmail 77 invoked by uid 0); 2 Dec 2026 04:00:00 -0000\n%s",
			     content) > 0);
	ut_write(root, rel, text, 0600);
	free(rel);
	free(text);
}

static void binfile(const char *root, const char *rel, const char *data, size_t len)
{
	char *p = ut_path(root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static char *make_queue(void)
{
	char *root = ut_tmpdir("qmailq");
	static const char *const dirs[] = { "mess/5", "info/5", "local/5", "remote/5", "todo", "intd", "bounce" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *rel = NULL;
		assert_true(asprintf(&rel, "var/qmail/queue/%s", dirs[i]) > 0);
		ut_mkdir(root, rel, 0755);
		free(rel);
	}
	/* 101: not processed yet (todo/); 102: processed, nothing done;
	 * 103: processed, one recipient done */
	mess(root, "5", "101");
	binfile(root, "var/qmail/queue/todo/101", "u0\0p1\0Fa@example.org\0Tb@example.net\0\0", 36);
	binfile(root, "var/qmail/queue/intd/101", "u0\0p1\0Fa@example.org\0Tb@example.net\0\0", 36);
	mess(root, "5", "102");
	binfile(root, "var/qmail/queue/info/5/102", "Fa@example.org\0", 15);
	binfile(root, "var/qmail/queue/remote/5/102", "Tb@example.net\0Tc@example.net\0", 30);
	mess(root, "5", "103");
	binfile(root, "var/qmail/queue/info/5/103", "Fa@example.org\0", 15);
	binfile(root, "var/qmail/queue/remote/5/103", "Db@example.net\0Tc@example.net\0", 30);
	binfile(root, "var/qmail/queue/local/5/103", "Tlocal-x@example.org\0", 21);
	return root;
}

static struct qq_entry *named(struct qq_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].name, name) == 0)
			return &ix->v[i];
	return NULL;
}

/* Each message found by the hash of its content; undelivered or not. */
static void test_index(void **state)
{
	char *root = make_queue();
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct qq_index ix;
	assert_int_equal(qq_index_load(h, "/var/qmail", &ix), 0);
	assert_int_equal(ix.n, 3);
	char hash[QI_SHA256_HEX + 1];
	qq_content_hash(content, strlen(content), hash);
	for (size_t i = 0; i < ix.n; i++)
		assert_string_equal(ix.v[i].hash, hash);
	assert_true(qq_undelivered(named(&ix, "101"), 1));
	assert_true(qq_undelivered(named(&ix, "102"), 2));
	/* a recipient done, or a channel's file gone with its recipients */
	assert_false(qq_undelivered(named(&ix, "103"), 3));
	assert_false(qq_undelivered(named(&ix, "102"), 3));
	/* 101: todo, intd, mess (last) */
	struct qq_entry *e = named(&ix, "101");
	assert_int_equal(e->nfiles, 3);
	assert_string_equal(e->files[e->nfiles - 1], "/var/qmail/queue/mess/5/101");
	assert_int_equal(named(&ix, "103")->nfiles, 4);
	qq_index_free(&ix);
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* Copies of one content are found one by one; removing one takes its
 * files only. */
static void test_find_remove(void **state)
{
	char *root = make_queue();
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct qq_index ix;
	assert_int_equal(qq_index_load(h, "/var/qmail", &ix), 0);
	char hash[QI_SHA256_HEX + 1];
	qq_content_hash(content, strlen(content), hash);
	struct qq_entry *a = qq_find(NULL, &ix, hash, NULL, NULL, 0);
	assert_non_null(a);
	assert_int_equal(qq_remove(h, a), 0);
	assert_true(a->taken);
	for (size_t i = 0; i < a->nfiles; i++)
		assert_false(ut_exists(root, a->files[i] + 1));
	struct qq_entry *b = qq_find(NULL, &ix, hash, NULL, NULL, 0);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_true(ut_exists(root, b->files[b->nfiles - 1] + 1));
	b->taken = true;
	assert_non_null(qq_find(NULL, &ix, hash, NULL, NULL, 0));
	qq_find(NULL, &ix, hash, NULL, NULL, 0)->taken = true;
	assert_null(qq_find(NULL, &ix, hash, NULL, NULL, 0));
	assert_null(qq_find(NULL, &ix, "0000", NULL, NULL, 0));
	qq_index_free(&ix);
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* A local recipient as qmail-send wrote it in local/ (virtualdomains'
 * prefix before it) is the address it was given again; locals win over
 * virtualdomains, as in qmail-send; a prefix that is not there, or an
 * empty one, leaves the address alone; ".suffix" and the catch-all "". */
static void test_unrewrite(void **state)
{
	static const char vdoms[] = "virt.example:alias-virt\nEXAMPLE.ORG:eo\n.sub.example:subs\n"
				    "none.example:\n:all\n";
	static const struct { const char *in, *out; } cases[] = {
		{ "alias-virt-joe@virt.example", "joe@virt.example" },
		{ "alias-virt-joe@VIRT.example", "joe@VIRT.example" },	/* domains without case */
		{ "eo-x@example.org", "eo-x@example.org" },		/* example.org is in locals */
		{ "subs-ann@a.sub.example", "ann@a.sub.example" },
		{ "joe@virt.example", "joe@virt.example" },		/* no prefix on it */
		{ "alias-virtjoe@virt.example", "alias-virtjoe@virt.example" },
		{ "none-x@none.example", "none-x@none.example" },	/* empty prefix: not rewritten */
		{ "all-bob@else.example", "bob@else.example" },		/* the catch-all */
		{ "nodomain", "nodomain" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = qq_unrewrite(cases[i].in, vdoms, "example.org\nlocalhost\n");
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	char *got = qq_unrewrite("alias-virt-joe@virt.example", NULL, NULL);
	assert_string_equal(got, "alias-virt-joe@virt.example");
	free(got);
}

/* Envelopes: todo/'s as qmail-queue wrote it; info/ with local/ (the
 * prefix taken off) and remote/, only what is to do unless ALL; the
 * double-bounce sender is the null sender; intd/ alone has none. Matching
 * a carried message: its hash, its sender, and every recipient qmail still
 * names among those it was given. */
static void test_envelope(void **state)
{
	char *root = make_queue();
	ut_mkdir(root, "var/qmail/control", 0755);
	ut_write(root, "var/qmail/control/virtualdomains", "example.org:local\n", 0644);
	mess(root, "5", "104");
	binfile(root, "var/qmail/queue/intd/104", "u0\0p1\0F\0", 8);
	mess(root, "5", "105");
	binfile(root, "var/qmail/queue/info/5/105", "F#@[]\0", 6);
	binfile(root, "var/qmail/queue/remote/5/105", "Tz@example.net\0", 15);
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct qq_index ix;
	assert_int_equal(qq_index_load(h, "/var/qmail", &ix), 0);
	struct mq_msg m = { 0 };
	assert_int_equal(qq_envelope(h, named(&ix, "101"), ix.vdoms, ix.locals, false, &m), 0);
	assert_string_equal(m.sender, "a@example.org");
	assert_int_equal(m.nrcpts, 1);
	assert_string_equal(m.rcpts[0], "b@example.net");
	mq_msg_free(&m);
	assert_int_equal(qq_envelope(h, named(&ix, "103"), ix.vdoms, ix.locals, false, &m), 0);
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "x@example.org");	/* local/ first, its prefix off */
	assert_string_equal(m.rcpts[1], "c@example.net");
	mq_msg_free(&m);
	assert_int_equal(qq_envelope(h, named(&ix, "103"), ix.vdoms, ix.locals, true, &m), 0);
	assert_int_equal(m.nrcpts, 3);
	mq_msg_free(&m);
	assert_int_equal(qq_envelope(h, named(&ix, "104"), ix.vdoms, ix.locals, false, &m), 1);
	assert_null(m.sender);
	assert_int_equal(qq_envelope(h, named(&ix, "105"), ix.vdoms, ix.locals, false, &m), 0);
	assert_string_equal(m.sender, "");
	mq_msg_free(&m);

	char hash[QI_SHA256_HEX + 1];
	qq_content_hash(content, strlen(content), hash);
	char *given[] = { "x@example.org", "b@example.net", "c@example.net" };
	/* 102 (b, c) and 103 (x done, c to do) name only given addresses,
	 * in either order; 101 (in todo/: b alone) is not that message */
	struct qq_entry *e = qq_find(h, &ix, hash, "a@example.org", given, 3);
	assert_true(e == named(&ix, "102") || e == named(&ix, "103"));
	e->taken = true;
	struct qq_entry *f = qq_find(h, &ix, hash, "a@example.org", given, 3);
	assert_true(f == named(&ix, "102") || f == named(&ix, "103"));
	assert_ptr_not_equal(e, f);
	f->taken = true;
	assert_null(qq_find(h, &ix, hash, "a@example.org", given, 3));
	assert_null(qq_find(h, &ix, hash, "other@example.org", given + 1, 1));
	assert_ptr_equal(qq_find(h, &ix, hash, "a@example.org", given + 1, 1), named(&ix, "101"));
	qq_index_free(&ix);
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* No queue at all: nothing, no error. */
static void test_no_queue(void **state)
{
	char *root = ut_tmpdir("qmailq-none");
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct qq_index ix;
	assert_int_equal(qq_index_load(h, "/var/qmail", &ix), 0);
	assert_int_equal(ix.n, 0);
	qq_index_free(&ix);
	qi_free(h);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_find_remove),
		cmocka_unit_test(test_no_queue),
		cmocka_unit_test(test_unrewrite),
		cmocka_unit_test(test_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
