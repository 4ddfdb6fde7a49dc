/* Unit tests for queue_exim.c: Exim's -H and -D files as Exim 4 writes
 * them (option lines with counted values, the tree of delivered
 * addresses, recipients with Exim's extra data, deleted '*' headers,
 * multi-line headers, the null sender, an empty or CRLF body), broken
 * files refused with the line named, and the scan of a ROOT's spool
 * flat and split into subdirectories. */
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

#define ID "1rAbCd-000123-Xy"
#define ID2 "1sXyZw-000000004Ab-12Cd"

/* "NNNc TEXT" as Exim writes a header. */
static char *hdr(char flag, const char *text)
{
	char *s;
	assert_true(asprintf(&s, "%03zu%c %s", strlen(text), flag, text) > 0);
	return s;
}

/* The -H of ID with ENVELOPE (lines 2 to the recipients), then the
 * headers: flags and texts alternating, ending in 0. */
static char *hfile(const char *id, const char *envelope, ...)
{
	char *s;
	assert_true(asprintf(&s, "%s-H\n%s\n", id, envelope) > 0);
	va_list ap;
	va_start(ap, envelope);
	int flag;
	while ((flag = va_arg(ap, int)) != 0) {
		char *h = hdr((char)flag, va_arg(ap, const char *)), *t;
		assert_true(asprintf(&t, "%s%s", s, h) > 0);
		free(s);
		free(h);
		s = t;
	}
	va_end(ap);
	return s;
}

static const char received[] = "Received: from alice by mail.example.org with local (Exim 4.96)\n"
			       "\t(envelope-from <alice@example.org>)\n"
			       "\tid " ID "; Wed, 29 May 2024 16:26:40 +0000\n";

static char *full_h(void)
{
	return hfile(ID,
		     "Debian-exim 101 103\n"
		     "<alice@example.org>\n"
		     "1717000000 1\n"
		     "-received_time_usec .123456\n"
		     "-ident alice\n"
		     "-received_protocol local\n"
		     "-aclc _spam 5\nab\ncd\n"
		     "--(pgsql)aclm 0 0\n\n"
		     "-body_linecount 2\n"
		     "-frozen 1717000100\n"
		     "-host_address 192.0.2.7.41234\n"
		     "-future_option with a value\n"
		     "YN carol@example.org\n"
		     "NN bob@example.org\n"
		     "4\n"
		     "bob@example.org\n"
		     "carol@example.org\n"
		     "dave@example.net  0,-1#1\n"
		     "erin@example.net rfc822;erin@example.net 23,0 bounces@example.org 19,-1#3\n",
		     'P', received, '*', "From: alice@mail\n", 'F', "From: Alice <alice@example.org>\n",
		     'T', "To: bob@example.org, carol@example.org,\n dave@example.net, erin@example.net\n",
		     ' ', "Subject: hello\n", 'I', "Message-Id: <E" ID "@mail.example.org>\n", 0);
}

/* A delivered recipient in the tree, a deleted header, a multi-line one,
 * the extra data of newer versions, counted option values skipped. */
static void test_parse(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *H = full_h();
	const char D[] = ID "-D\nline one\nline two\n";
	struct mq_msg m = { 0 };
	assert_int_equal(mq_exim_parse(h, H, strlen(H), D, sizeof(D) - 1, &m), 0);
	assert_string_equal(m.id, ID);
	assert_string_equal(m.sender, "alice@example.org");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "dave@example.net");
	assert_string_equal(m.rcpts[1], "erin@example.net");
	assert_int_equal(m.ndone, 2);
	char *want;
	assert_true(asprintf(&want, "%sFrom: Alice <alice@example.org>\n"
				    "To: bob@example.org, carol@example.org,\n dave@example.net, erin@example.net\n"
				    "Subject: hello\nMessage-Id: <E" ID "@mail.example.org>\n\nline one\nline two\n",
			     received) > 0);
	assert_string_equal(m.content, want);
	assert_int_equal(m.len, strlen(want));
	assert_string_equal(m.content + m.body, "line one\nline two\n");
	free(want);
	mq_msg_free(&m);
	free(H);
	qi_free(h);
}

/* A bounce: the null sender, no tree, an empty body, a new-style id; and
 * a -D in wire format (CRLF lines) made LF. */
static void test_null_sender_empty_body(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *H = hfile(ID2, "Debian-exim 101 103\n<>\n1717000000 0\n-localerror\nXX\n1\nalice@example.org\n", 'P',
			"Received: from Debian-exim by mail.example.org with local (Exim 4.97)\n", ' ',
			"Subject: Mail delivery failed\n", 0);
	const char D[] = ID2 "-D\n";
	struct mq_msg m = { 0 };
	assert_int_equal(mq_exim_parse(h, H, strlen(H), D, sizeof(D) - 1, &m), 0);
	assert_string_equal(m.id, ID2);
	assert_string_equal(m.sender, "");
	assert_int_equal(m.nrcpts, 1);
	assert_int_equal(m.ndone, 0);
	assert_string_equal(m.content, "Received: from Debian-exim by mail.example.org with local (Exim 4.97)\n"
				       "Subject: Mail delivery failed\n\n");
	assert_int_equal(m.body, m.len);
	mq_msg_free(&m);
	free(H);

	H = hfile(ID, "u 1000 1000\n<u@example.org>\n1717000000 0\n-spool_file_wireformat\nXX\n1\nv@example.org\n",
		  ' ', "Subject: x\n", 0);
	const char W[] = ID "-D\nbody\r\nline\r\n";
	m.id = strdup(ID);
	assert_int_equal(mq_exim_parse(h, H, strlen(H), W, sizeof(W) - 1, &m), 0);
	assert_string_equal(m.content + m.body, "body\nline\n");
	mq_msg_free(&m);
	free(H);
	qi_free(h);
}

/* Truncated or garbled files are refused, the message naming the line. */
static void test_refused(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	char *good = full_h();
	const char D[] = ID "-D\nbody\n";
	static const struct {
		size_t cut;		/* keep this many bytes of the good -H; 0: use TEXT */
		const char *text, *msg;
	} cases[] = {
		{ 30, NULL, ID "-H line 2:" },
		{ 60, NULL, ID "-H line 4:" },
		{ 100, NULL, "line 6:" },
		{ 0, ID "-H\nroot 0 0\nalice@example.org\n1 0\nXX\n0\n\n", ID "-H line 3: the envelope sender" },
		{ 0, ID "-H\nroot 0\n<>\n1 0\nXX\n0\n\n", "line 2: not the \"login uid gid\"" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nYY a@b\nNN c@d\n", "line 7: the file ends in the delivered" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nQQ a@b\n", "line 5: not a line of the delivered" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\n3\na@b\n", "line 8: the file ends after 1 of its 3" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\nmany\n", "line 6: not the count" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\n1\na@b\nSubject: x\n", "line 8: not the empty line" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\n1\na@b\n\n020  Subject: x\n", "line 9: the header is shorter" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\n1\na@b\n\n011  Subject: x\ngarbage\n", "line 10: not a header" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\n-aclc x 50\nab\nXX\n", "line 5: the value of -aclc x ends" },
		{ 0, ID "-H\nroot 0 0\n<>\n1 0\nXX\n1\na@b 5,-1#1\n\n", "line 7: a recipient line" },
		{ 0, "1rOthr-000123-Xy-H\nroot 0 0\n", ID "-H line 1: not \"" ID "-H\"" },
		{ 0, "\x7f" "ELF\x02\x01", ID "-H line 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct mq_msg m = { .id = strdup(ID) };
		const char *text = cases[i].cut ? good : cases[i].text;
		size_t len = cases[i].cut ? cases[i].cut : strlen(text);
		if (mq_exim_parse(h, text, len, D, sizeof(D) - 1, &m) != -1)
			fail_msg("case %zu accepted", i);
		if (!strstr(qi_errmsg(h), cases[i].msg))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, qi_errmsg(h), cases[i].msg);
		assert_null(m.sender);
		assert_null(m.content);
		assert_int_equal(m.nrcpts, 0);
		qi_clear_error(h);
		mq_msg_free(&m);
	}
	/* the data file of another message */
	struct mq_msg m = { 0 };
	assert_int_equal(mq_exim_parse(h, good, strlen(good), "1rOthr-000123-Xy-D\n", 19, &m), -1);
	assert_non_null(strstr(qi_errmsg(h), ID "-D line 1"));
	mq_msg_free(&m);
	free(good);
	qi_free(h);
}

/* A spool in ROOT: one good message, one with a garbled -H, one without
 * -D, a -D without -H, one with a journal; flat or split. */
static void spool(const char *root, const char *sub)
{
	char *in, *log, *p;
	assert_true(asprintf(&in, "var/spool/exim4/input%s%s", *sub ? "/" : "", sub) > 0);
	assert_true(asprintf(&log, "var/spool/exim4/msglog%s%s", *sub ? "/" : "", sub) > 0);
	ut_mkdir(root, in, 0750);
	ut_mkdir(root, log, 0750);
	char *H = full_h();
	assert_true(asprintf(&p, "%s/%s", in, ID "-H") > 0);
	ut_write(root, p, H, 0640);
	free(p);
	free(H);
	static const struct {
		const char *name, *text;
	} files[] = {
		{ ID "-D", ID "-D\nhello\n" },
		{ "1rBadB-000001-Aa-H", "1rBadB-000001-Aa-H\ngarbage\n" },
		{ "1rBadB-000001-Aa-D", "1rBadB-000001-Aa-D\n" },
		{ "1rNoDa-000002-Bb-H", "1rNoDa-000002-Bb-H\n" },
		{ "1rNoHd-000003-Cc-D", "1rNoHd-000003-Cc-D\n" },
		{ "1rJour-000004-Dd-H", "1rJour-000004-Dd-H\n" },
		{ "1rJour-000004-Dd-D", "1rJour-000004-Dd-D\n" },
		{ "1rJour-000004-Dd-J", "bob@example.org\n" },
		{ "1rTemp-000005-Ee-K", "temporary\n" },
		{ "hdr.12345", "half-written\n" },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		assert_true(asprintf(&p, "%s/%s", in, files[i].name) > 0);
		ut_write(root, p, files[i].text, 0640);
		free(p);
	}
	assert_true(asprintf(&p, "%s/%s", log, ID) > 0);
	ut_write(root, p, "2024-05-29 16:26:40 Received from alice@example.org\n", 0640);
	free(p);
	free(in);
	free(log);
}

static void check_scan(const char *sub)
{
	char *root = ut_tmpdir("queue-exim");
	spool(root, sub);
	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct mq_list l = { 0 };
	assert_int_equal(mq_exim_scan(h, "/var/spool/exim4", &l), 0);
	assert_int_equal(l.n, 5);
	char *in, *log;
	assert_true(asprintf(&in, "/var/spool/exim4/input%s%s/", *sub ? "/" : "", sub) > 0);
	assert_true(asprintf(&log, "/var/spool/exim4/msglog%s%s/", *sub ? "/" : "", sub) > 0);
	size_t il = strlen(in);
	/* sorted by file name: 1rAbCd, 1rBadBa, 1rJourn, 1rNoDat, 1rNoHdr */
	struct mq_msg *m = &l.v[0];
	assert_string_equal(m->id, ID);
	assert_string_equal(m->queue, "input");
	assert_int_equal(m->nfiles, 3);
	assert_memory_equal(m->files[0], in, il);
	assert_string_equal(m->files[0] + il, ID "-H");
	assert_string_equal(m->files[1] + il, ID "-D");
	assert_memory_equal(m->files[2], log, strlen(log));
	assert_null(m->why);
	assert_int_equal(mq_exim_read(h, m), 0);
	assert_null(m->why);
	assert_int_equal(m->nrcpts, 2);
	assert_string_equal(m->content + m->body, "hello\n");

	m = &l.v[1];
	assert_string_equal(m->id, "1rBadB-000001-Aa");
	assert_int_equal(m->nfiles, 2);
	assert_int_equal(mq_exim_read(h, m), 0);
	assert_non_null(m->why);
	assert_non_null(strstr(m->why, "1rBadB-000001-Aa-H line 2"));
	assert_null(m->content);

	m = &l.v[2];
	assert_string_equal(m->id, "1rJour-000004-Dd");
	assert_int_equal(m->nfiles, 3);
	assert_string_equal(m->files[2] + il, "1rJour-000004-Dd-J");
	assert_non_null(strstr(m->why, "deliver twice"));
	assert_int_equal(mq_exim_read(h, m), 0);
	assert_null(m->content);

	m = &l.v[3];
	assert_string_equal(m->id, "1rNoDa-000002-Bb");
	assert_int_equal(m->nfiles, 1);
	assert_non_null(strstr(m->why, "no 1rNoDa-000002-Bb-D"));

	m = &l.v[4];
	assert_string_equal(m->id, "1rNoHd-000003-Cc");
	assert_int_equal(m->nfiles, 1);
	assert_string_equal(m->files[0] + il, "1rNoHd-000003-Cc-D");
	assert_non_null(strstr(m->why, "no 1rNoHd-000003-Cc-H"));
	mq_list_free(&l);

	/* a spool without input/: no message, no error */
	assert_int_equal(mq_exim_scan(h, "/var/spool/none", &l), 0);
	assert_int_equal(l.n, 0);
	/* a file gone between the scan and the read is an I/O error */
	struct mq_msg gone = { .id = strdup("1rGone-000009-Zz") };
	mq_msg_add_file(&gone, "/var/spool/exim4/input/1rGone-000009-Zz-H");
	mq_msg_add_file(&gone, "/var/spool/exim4/input/1rGone-000009-Zz-D");
	assert_int_equal(mq_exim_read(h, &gone), -1);
	assert_non_null(strstr(qi_errmsg(h), "1rGone-000009-Zz"));
	mq_msg_free(&gone);
	free(in);
	free(log);
	qi_free(h);
	ut_tmpdir_remove(root);
}

static void test_scan_flat(void **state)
{
	(void)state;
	check_scan("");
}

static void test_scan_split(void **state)
{
	(void)state;
	check_scan("y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_null_sender_empty_body),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scan_flat),
		cmocka_unit_test(test_scan_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
