/* Unit tests for queue_sendmail.c: qf files as sendmail 8.15 writes them
 * (V8, macros, "RPFD:<addr>" recipients, "H?P?" and "H??" headers, a
 * multi-line header, the null sender "S<>", an empty body) and an older
 * one ("Raddr"); broken files refused with the line named; the scan of a
 * ROOT's queue flat and with qf/ df/ xf/ subdirectories. */
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

#define ID "44TGQe0A012345"

static const char qf[] = "V8\n"
			 "T1717000000\n"
			 "K1717000300\n"
			 "N2\n"
			 "P120456\n"
			 "I8/1/131075\n"
			 "MDeferred: Connection timed out with mx.example.net.\n"
			 "Fbs\n"
			 "$_alice@localhost\n"
			 "${daemon_flags}\n"
			 "$rESMTP\n"
			 "$smail.example.org\n"
			 "Salice@example.org\n"
			 "Z<id-1@example.org>\n"
			 "rRFC822; bob@example.net\n"
			 "RPFD:<bob@example.net>\n"
			 "C:alice\n"
			 "RPF:carol@example.net\n"
			 "H?P?Return-Path: <\001g>\n"
			 "H??Received: (from alice@localhost)\n"
			 "\tby mail.example.org (8.15.2/8.15.2/Submit) id " ID ";\n"
			 "\tWed, 29 May 2024 16:26:40 GMT\n"
			 "H?D?Date: Wed, 29 May 2024 16:26:40 GMT\n"
			 "H?x?Full-Name: Alice\n"
			 "H?${MailX}?X-Mailer: mailx\n"
			 "H?FM?From: Alice <alice@example.org>\n"
			 "H??To: bob@example.net, carol@example.net\n"
			 "H??Subject: hello\n"
			 "Ebounces@example.org\n"
			 ".\n";

static const char want_heads[] = "Received: (from alice@localhost)\n"
				 "\tby mail.example.org (8.15.2/8.15.2/Submit) id " ID ";\n"
				 "\tWed, 29 May 2024 16:26:40 GMT\n"
				 "Date: Wed, 29 May 2024 16:26:40 GMT\n"
				 "From: Alice <alice@example.org>\n"
				 "To: bob@example.net, carol@example.net\n"
				 "Subject: hello\n"
				 "\n";

/* The headers an SMTP mailer gets (?P?, ?x? and ?${macro}? ones
 * dropped), the recipients without brackets, the body after them. */
static void test_parse(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	const char df[] = "line one\nline two\n";
	struct mq_msg m = { .id = strdup(ID) };
	assert_int_equal(mq_sendmail_parse(h, qf, sizeof(qf) - 1, df, sizeof(df) - 1, &m), 0);
	assert_string_equal(m.sender, "alice@example.org");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "bob@example.net");
	assert_string_equal(m.rcpts[1], "carol@example.net");
	assert_int_equal(m.ndone, 0);
	assert_int_equal(m.body, sizeof(want_heads) - 1);
	assert_memory_equal(m.content, want_heads, m.body);
	assert_string_equal(m.content + m.body, df);
	assert_int_equal(m.len, m.body + sizeof(df) - 1);
	mq_msg_free(&m);
	qi_free(h);
}

/* A bounce (S<>) with an empty body; an old queue file ("Raddr"). */
static void test_null_sender_old(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	const char bounce[] = "V8\nT1717000000\nS<>\nRPFD:<alice@example.org>\nH??Subject: Returned mail\n.\n";
	struct mq_msg m = { .id = strdup(ID) };
	assert_int_equal(mq_sendmail_parse(h, bounce, sizeof(bounce) - 1, "", 0, &m), 0);
	assert_string_equal(m.sender, "");
	assert_int_equal(m.nrcpts, 1);
	assert_string_equal(m.rcpts[0], "alice@example.org");
	assert_string_equal(m.content, "Subject: Returned mail\n\n");
	assert_int_equal(m.body, m.len);
	mq_msg_free(&m);

	const char old[] = "P1000\nT800000000\nDdfAA01234\nSroot\nRuser@example.org\nHSubject: old\n.\n";
	m.id = strdup("AA01234");
	assert_int_equal(mq_sendmail_parse(h, old, sizeof(old) - 1, "body\n", 5, &m), 0);
	assert_string_equal(m.sender, "root");
	assert_string_equal(m.rcpts[0], "user@example.org");
	assert_string_equal(m.content, "Subject: old\n\nbody\n");
	mq_msg_free(&m);
	qi_free(h);
}

static void test_refused(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	static const struct {
		size_t cut;
		const char *text, *msg;
	} cases[] = {
		{ 60, NULL, "qf" ID " line 7: the file ends inside a line" },
		{ 150, NULL, "line 12: the file ends inside a line" },
		{ sizeof(qf) - 3, NULL, "line 30: the file ends before its \".\" line" },
		{ sizeof(qf) - 4, NULL, "line 29: the file ends inside a line" },
		{ 0, "V8\nT1\nRPFD:<a@b>\n.\n", "line 4: the file has no S (sender) line" },
		{ 0, "V8\nSa@b\nRPFD:<>\n.\n", "line 3: a recipient line with no address" },
		{ 0, "V8\nSa@b\nH?P Return-Path: x\n.\n", "line 3: a header's condition" },
		{ 0, "V8\nSa@b\nHno colon here\n.\n", "line 3: not a header" },
		{ 0, "V8\nSa@b\n\n.\n", "line 3: an empty line" },
		{ 0, "V8\nSa@b\nwhat is this\n.\n", "line 3: an unknown code letter 'w'" },
		{ 0, "\x7f" "ELF\x02\x01\n", "line 1: an unknown code letter" },
		{ 0, "", "line 1: the file ends before" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct mq_msg m = { .id = strdup(ID) };
		const char *text = cases[i].cut ? qf : cases[i].text;
		size_t len = cases[i].cut ? cases[i].cut : strlen(text);
		if (mq_sendmail_parse(h, text, len, "body\n", 5, &m) != -1)
			fail_msg("case %zu accepted", i);
		if (!strstr(qi_errmsg(h), cases[i].msg))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, qi_errmsg(h), cases[i].msg);
		assert_null(m.sender);
		assert_null(m.content);
		assert_int_equal(m.nrcpts, 0);
		qi_clear_error(h);
		mq_msg_free(&m);
	}
	qi_free(h);
}

/* A queue in ROOT: a good message with its transcript, a garbled one, a
 * qf without df, a quarantined one, a lost one, a temporary one, a df
 * alone; SPLIT puts qf/tf/hf/Qf, df and xf files in qf/ df/ xf/. */
static void check_scan(bool split)
{
	char *root = ut_tmpdir("queue-sendmail");
	const char *dir = "var/spool/mqueue";
	ut_mkdir(root, dir, 0700);
	if (split) {
		ut_mkdir(root, "var/spool/mqueue/qf", 0700);
		ut_mkdir(root, "var/spool/mqueue/df", 0700);
		ut_mkdir(root, "var/spool/mqueue/xf", 0700);
	}
	static const struct {
		const char *name, *text;
	} files[] = {
		{ "qf" ID, NULL },
		{ "df" ID, "hello\n" },
		{ "xf" ID, "<<< 421 try later\n" },
		{ "qf44TGQe0B000001", "garbage\n" },
		{ "df44TGQe0B000001", "x\n" },
		{ "qf44TGQe0C000002", "V8\nSa@b\n.\n" },
		{ "hf44TGQe0D000003", "V8\nSa@b\nqspam\n.\n" },
		{ "df44TGQe0D000003", "x\n" },
		{ "Qf44TGQe0E000004", "V8\n" },
		{ "tf44TGQe0F000005", "V8\n" },
		{ "df44TGQe0G000006", "orphan\n" },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		char *p;
		const char *sub = !split ? "" : files[i].name[0] == 'd' ? "df/" : files[i].name[0] == 'x' ? "xf/" : "qf/";
		assert_true(asprintf(&p, "%s/%s%s", dir, sub, files[i].name) > 0);
		ut_write(root, p, files[i].text ? files[i].text : qf, 0600);
		free(p);
	}
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct mq_list l = { 0 };
	assert_int_equal(mq_sendmail_scan(h, "/var/spool/mqueue", "mqueue", &l), 0);
	/* by file name: Qf.E, df.G, hf.D, qf ID, qf.B, qf.C, tf.F */
	assert_int_equal(l.n, 7);
	const char *q = split ? "/var/spool/mqueue/qf/" : "/var/spool/mqueue/", *d = split ? "/var/spool/mqueue/df/" : q;
	size_t ql = strlen(q), dl = strlen(d);

	struct mq_msg *m = &l.v[3];
	assert_string_equal(m->id, ID);
	assert_string_equal(m->queue, "mqueue");
	assert_int_equal(m->nfiles, 3);
	assert_memory_equal(m->files[0], q, ql);
	assert_string_equal(m->files[0] + ql, "qf" ID);
	assert_memory_equal(m->files[1], d, dl);
	assert_string_equal(m->files[1] + dl, "df" ID);
	assert_non_null(strstr(m->files[2], "xf" ID));
	assert_null(m->why);
	assert_int_equal(mq_sendmail_read(h, m), 0);
	assert_null(m->why);
	assert_int_equal(m->nrcpts, 2);
	assert_string_equal(m->content + m->body, "hello\n");

	m = &l.v[4];
	assert_string_equal(m->id, "44TGQe0B000001");
	assert_int_equal(m->nfiles, 2);
	assert_int_equal(mq_sendmail_read(h, m), 0);
	assert_non_null(strstr(m->why, "qf44TGQe0B000001 line 1: an unknown code letter 'g'"));

	m = &l.v[5];
	assert_int_equal(m->nfiles, 1);
	assert_non_null(strstr(m->why, "no df44TGQe0C000002"));
	assert_int_equal(mq_sendmail_read(h, m), 0);
	assert_null(m->content);

	assert_string_equal(l.v[2].id, "44TGQe0D000003");
	assert_int_equal(l.v[2].nfiles, 2);
	assert_non_null(strstr(l.v[2].why, "quarantined"));
	assert_string_equal(l.v[0].id, "44TGQe0E000004");
	assert_non_null(strstr(l.v[0].why, "could not read"));
	assert_string_equal(l.v[6].id, "44TGQe0F000005");
	assert_non_null(strstr(l.v[6].why, "temporary"));
	assert_string_equal(l.v[1].id, "44TGQe0G000006");
	assert_non_null(strstr(l.v[1].why, "no qf44TGQe0G000006"));
	mq_list_free(&l);

	assert_int_equal(mq_sendmail_scan(h, "/var/spool/mqueue-client", "clientmqueue", &l), 0);
	assert_int_equal(l.n, 0);
	qi_free(h);
	ut_tmpdir_remove(root);
}

static void test_scan_flat(void **state)
{
	(void)state;
	check_scan(false);
}

static void test_scan_split(void **state)
{
	(void)state;
	check_scan(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_null_sender_old),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scan_flat),
		cmocka_unit_test(test_scan_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
