/* Unit tests for migrate/queue_postfix.c: queue files made here with a
 * small record writer (type byte, base-128 length, data), parsed into
 * sender, undelivered recipients, delivered count and the content as
 * `postcat -bh` prints it; broken files refused with a message that
 * names the record; a fake spool (hashed and flat queues, an incomplete
 * incoming file, defer/bounce/trace logs) scanned and read. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"
#include "unit.h"

/* The record writer. */
struct qf {
	unsigned char d[8192];
	size_t n;
};

static size_t rec(struct qf *q, int type, const void *data, size_t len)
{
	size_t at = q->n;
	assert_true(q->n + len + 6 < sizeof(q->d));
	q->d[q->n++] = (unsigned char)type;
	size_t l = len;
	do {
		unsigned char b = l & 0x7f;
		l >>= 7;
		q->d[q->n++] = b | (l ? 0x80 : 0);
	} while (l);
	memcpy(q->d + q->n, data, len);
	q->n += len;
	return at;
}

static size_t recs(struct qf *q, int type, const char *s)
{
	return rec(q, type, s, strlen(s));
}

/* A record with a 15-wide number (pointer, content start), patchable. */
static size_t recnum(struct qf *q, int type, size_t v)
{
	char b[16];
	snprintf(b, sizeof(b), "%15zu", v);
	return rec(q, type, b, 15);
}

static void patchnum(struct qf *q, size_t at, size_t v)
{
	char b[16];
	snprintf(b, sizeof(b), "%15zu", v);
	memcpy(q->d + at + 2, b, 15);
}

static char long_subject[400];

/* The file cleanup would write, with a delivered recipient, a canceled
 * one, a header line split in two records, a body line in three, a line
 * moved to the heap behind a pointer and a recipient from the header. */
static void build_full(struct qf *q)
{
	memset(q, 0, sizeof(*q));
	size_t size = recs(q, 'C', "            123             456               2               0             100               0");
	recs(q, 'T', "1700000000 123456");
	recs(q, 'A', "rewrite_context=local");
	recs(q, 'S', "alice@example.org");
	recs(q, 'O', "bob@example.org");
	recs(q, 'R', "bob@example.org");
	recs(q, 'D', "carol@example.org");
	recs(q, 'R', "dave@example.org");
	recs(q, '/', "erin@example.org");
	recnum(q, 'p', 0);
	size_t mesg = recnum(q, 'M', 0);
	char sz[96];
	snprintf(sz, sizeof(sz), "%15zu %15zu %15d %15d %15d %15d", (size_t)0, q->n, 2, 0, 100, 0);
	memcpy(q->d + size + 2, sz, 95);
	recs(q, 'N', "Received: by mail.example.org (Postfix)");
	memset(long_subject, 'a', sizeof(long_subject) - 1);
	memcpy(long_subject, "Subject: ", 9);
	rec(q, 'L', long_subject, 200);
	rec(q, 'N', long_subject + 200, strlen(long_subject) - 200);
	recs(q, 'N', "To: bob@example.org,");
	recs(q, 'N', "\tdave@example.org");
	recs(q, 'N', "");
	recs(q, 'N', "body line 1");
	recs(q, 'L', "long ");
	recs(q, 'L', "body ");
	recs(q, 'N', "line");
	size_t ptr = recnum(q, 'p', 0);
	size_t back = recs(q, 'N', "last line");
	recs(q, 'w', "padding");
	recnum(q, 'p', 0);
	size_t xtra = recs(q, 'X', "");
	patchnum(q, mesg, xtra);
	recs(q, 'R', "frank@example.org");
	recs(q, 'D', "gina@example.org");
	recs(q, 'E', "");
	/* The heap: the record the pointer replaced ("last line" moved
	 * here), a new one before it, and the pointer back. */
	patchnum(q, ptr, q->n);
	recs(q, 'N', "inserted line");
	recs(q, 'N', "last line");
	recnum(q, 'p', back + 2 + strlen("last line"));
}

static char *expected_full(void)
{
	char *s;
	assert_true(asprintf(&s,
			     "Received: by mail.example.org (Postfix)\n%s\nTo: bob@example.org,\n"
			     "\tdave@example.org\n\nbody line 1\nlong body line\ninserted line\nlast line\n",
			     long_subject) > 0);
	return s;
}

static void test_parse_full(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	struct qf q;
	build_full(&q);
	struct mq_msg m = { 0 };
	assert_int_equal(mq_postfix_parse(h, q.d, q.n, &m), 0);
	assert_string_equal(m.sender, "alice@example.org");
	assert_int_equal(m.nrcpts, 3);
	assert_string_equal(m.rcpts[0], "bob@example.org");
	assert_string_equal(m.rcpts[1], "dave@example.org");
	assert_string_equal(m.rcpts[2], "frank@example.org");
	assert_int_equal(m.ndone, 3);
	char *want = expected_full();
	assert_string_equal(m.content, want);
	assert_int_equal(m.len, strlen(want));
	assert_string_equal(m.content + m.body, "body line 1\nlong body line\ninserted line\nlast line\n");
	assert_null(m.why);
	free(want);
	mq_msg_free(&m);
	qi_free(h);
}

/* What postdrop writes to maildrop (no cleanup: no size record, an empty
 * content marker), here with the null sender, a header only (no body)
 * ending in a continued line, and sendmail -t recipients after 'X'. */
static void test_parse_maildrop_null_sender(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	struct qf q = { 0 };
	recs(&q, 'T', "1700000000 0");
	recs(&q, 'S', "");
	recs(&q, 'M', "");
	recs(&q, 'N', "From: MAILER-DAEMON");
	recs(&q, 'L', "Subject: no body");
	recs(&q, 'X', "");
	recs(&q, 'R', "root@example.org");
	recs(&q, 'E', "");
	struct mq_msg m = { 0 };
	assert_int_equal(mq_postfix_parse(h, q.d, q.n, &m), 0);
	assert_string_equal(m.sender, "");
	assert_int_equal(m.nrcpts, 1);
	assert_string_equal(m.rcpts[0], "root@example.org");
	assert_int_equal(m.ndone, 0);
	assert_string_equal(m.content, "From: MAILER-DAEMON\nSubject: no body\n");
	assert_int_equal(m.body, m.len);
	mq_msg_free(&m);

	/* No content at all: an empty message, body at 0. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "");
	recs(&q, 'R', "root@example.org");
	recs(&q, 'M', "");
	recs(&q, 'X', "");
	recs(&q, 'E', "");
	assert_int_equal(mq_postfix_parse(h, q.d, q.n, &m), 0);
	assert_string_equal(m.content, "");
	assert_int_equal(m.len, 0);
	assert_int_equal(m.body, 0);
	mq_msg_free(&m);

	/* A body without a header: the first line is the body. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "a@b");
	recs(&q, 'R', "root@example.org");
	recs(&q, 'M', "");
	recs(&q, 'N', "just text");
	recs(&q, 'X', "");
	recs(&q, 'E', "");
	assert_int_equal(mq_postfix_parse(h, q.d, q.n, &m), 0);
	assert_string_equal(m.content, "just text\n");
	assert_int_equal(m.body, 0);
	mq_msg_free(&m);
	qi_free(h);
}

/* Files that Postfix 3.7's sendmail and postdrop wrote to maildrop (the
 * seeds of the fuzz target): a header line of 3000 bytes in two records,
 * sendmail -t recipients after the extracted marker; the null sender. */
static unsigned char *seed(const char *dir, const char *name, size_t *len)
{
	char *path = ut_path(dir, name);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	free(path);
	*len = (size_t)st.st_size;
	return (unsigned char *)ut_read(dir, name);
}

static void test_parse_postdrop(void **state)
{
	(void)state;
	const char *src = getenv("top_srcdir");
	assert_non_null(src);
	char *dir = ut_path(src, "tests/fuzz/queue-postfix-seeds");
	qi_handle *h = qi_new();
	struct mq_msg m = { 0 };
	size_t len;
	unsigned char *data = seed(dir, "postdrop-long-header.qf", &len);
	assert_int_equal(mq_postfix_parse(h, data, len, &m), 0);
	assert_string_equal(m.sender, "alice@example.org");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "carol@example.org");
	assert_string_equal(m.rcpts[1], "bob@example.org");
	assert_int_equal(m.ndone, 0);
	assert_int_equal(m.len, 3090);
	assert_memory_equal(m.content, "Subject: real maildrop\nTo: bob@example.org\nX-Long: qqq", 50);
	const char *tail = "qqq\n\nbody one\n\n.dot line\nno final newline\n";
	assert_string_equal(m.content + m.len - strlen(tail), tail);
	assert_int_equal(strspn(m.content + 51, "q"), 3000);
	assert_string_equal(m.content + m.body, "body one\n\n.dot line\nno final newline\n");
	mq_msg_free(&m);
	free(data);

	data = seed(dir, "postdrop-null-sender.qf", &len);
	assert_int_equal(mq_postfix_parse(h, data, len, &m), 0);
	assert_string_equal(m.sender, "");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[0], "dave@example.org");
	assert_string_equal(m.rcpts[1], "erin@example.org");
	assert_string_equal(m.content, "Subject: second\n\nbody\n");
	assert_int_equal(m.body, 17);
	mq_msg_free(&m);
	free(data);
	free(dir);
	qi_free(h);
}

/* Parse Q, expect a failure whose message holds WANT, and nothing filled. */
static void refused(qi_handle *h, const struct qf *q, const char *want)
{
	struct mq_msg m = { 0 };
	assert_int_equal(mq_postfix_parse(h, q->d, q->n, &m), -1);
	if (!strstr(qi_errmsg(h), want))
		fail_msg("message '%s' does not say '%s'", qi_errmsg(h), want);
	assert_null(m.sender);
	assert_null(m.rcpts);
	assert_int_equal(m.nrcpts, 0);
	assert_null(m.content);
	qi_clear_error(h);
}

static void test_parse_refused(void **state)
{
	(void)state;
	qi_handle *h = qi_new();
	struct qf q = { 0 };
	refused(h, &q, "empty");
	memcpy(q.d, "hello world\n", 12);
	q.n = 12;
	refused(h, &q, "not a Postfix queue file");

	/* Every truncation of a good file is refused. */
	struct qf full;
	build_full(&full);
	for (size_t n = 1; n < full.n; n++) {
		struct mq_msg m = { 0 };
		if (mq_postfix_parse(h, full.d, n, &m) != -1)
			fail_msg("a file cut at %zu of %zu bytes was accepted", n, full.n);
		assert_true(qi_errmsg(h)[0] != '\0');
		assert_null(m.content);
		assert_null(m.sender);
		qi_clear_error(h);
	}

	/* A length that runs past the end: record 3, at offset 6. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'T', "1");
	recs(&q, 'S', "");
	q.d[q.n++] = 'R';
	q.d[q.n++] = 0x81;	/* 1 + 1 * 128 */
	q.d[q.n++] = 0x01;
	memcpy(q.d + q.n, "short", 5);
	q.n += 5;
	refused(h, &q, "record 3 at offset 5: length runs past the end of the file");
	q.n = 7;
	refused(h, &q, "record 3 at offset 5: the file ends inside its length");

	/* A pointer loop, and a pointer out of the file. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "a@b");
	size_t p = recnum(&q, 'p', 0);
	patchnum(&q, p, 0);
	recs(&q, 'R', "x@y");
	size_t p2 = recnum(&q, 'p', 0);
	patchnum(&q, p2, p + 17);	/* back to the 'R' */
	recs(&q, 'M', "");
	refused(h, &q, "the pointers form a loop");
	patchnum(&q, p2, 100000);
	refused(h, &q, "points past the end of the file");

	/* No sender; content before the envelope ends; a stray type. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'R', "x@y");
	recs(&q, 'M', "");
	recs(&q, 'X', "");
	recs(&q, 'E', "");
	refused(h, &q, "no sender record");
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "a@b");
	recs(&q, 'N', "text");
	refused(h, &q, "record 2 at offset 5: the envelope ends before the message content");
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "a@b");
	recs(&q, 'M', "");
	recs(&q, 'R', "x@y");
	refused(h, &q, "record 3 at offset 7: a record of type 'R' (0x52) inside the message content");

	/* The content marker pointing elsewhere than the extracted segment. */
	memset(&q, 0, sizeof(q));
	recs(&q, 'S', "a@b");
	size_t mesg = recnum(&q, 'M', 0);
	recs(&q, 'N', "x");
	recs(&q, 'X', "");
	recs(&q, 'E', "");
	patchnum(&q, mesg, 24);
	refused(h, &q, "the extracted segment is not where the content record says");

	/* The size record saying the content starts elsewhere (postcat
	 * would print from there). */
	build_full(&q);
	q.d[2 + 30] = '9';
	refused(h, &q, "record 11 at offset ");
	refused(h, &q, "the message content does not start where the size record says");
	qi_free(h);
}

/* A fake spool in a ROOT. */
static void put(const char *root, const char *rel, const struct qf *q, mode_t mode)
{
	char *p = ut_path(root, rel);
	char *dir = strdup(rel);
	*strrchr(dir, '/') = '\0';
	ut_mkdir(root, dir, 0700);
	free(dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(q->d, 1, q->n, f), q->n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static const struct mq_msg *find(const struct mq_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return &l->v[i];
	fail_msg("%s was not listed", id);
	return NULL;
}

static void test_scan_read(void **state)
{
	(void)state;
	char *root = ut_tmpdir("queue-postfix");
	struct qf full, small = { 0 }, garbage = { 0 };
	build_full(&full);
	recs(&small, 'S', "");
	recs(&small, 'R', "postmaster@example.org");
	recs(&small, 'M', "");
	recs(&small, 'N', "Subject: hi");
	recs(&small, 'X', "");
	recs(&small, 'E', "");
	memcpy(garbage.d, "garbage, no records", 19);
	garbage.n = 19;
	const char *sp = "var/spool/postfix";
	char rel[256];
#define AT(fmt) (snprintf(rel, sizeof(rel), "%s/" fmt, sp), rel)
	put(root, AT("deferred/A/ABC123"), &full, 0700);
	put(root, AT("deferred/4/Z/4ZqfXh0p2Lz9Yq"), &small, 0700);	/* long id, depth 2 */
	put(root, AT("active/C0FFEE"), &small, 0700);
	put(root, AT("incoming/DEAD01"), &small, 0600);	/* still being written */
	put(root, AT("incoming/DEAD02"), &small, 0700);
	put(root, AT("incoming/123456.789"), &small, 0600);	/* a temporary name */
	put(root, AT("hold/B0GUS1"), &garbage, 0700);
	put(root, AT("maildrop/F00D42"), &small, 0744);
	put(root, AT("defer/A/ABC123"), &garbage, 0600);
	put(root, AT("bounce/A/ABC123"), &garbage, 0600);
	put(root, AT("trace/C/C0FFEE"), &garbage, 0600);
	put(root, AT("defer/Z/ZZZ999"), &garbage, 0600);	/* a log of nothing */
	ut_mkdir(root, AT("deferred/notahash"), 0700);
	char *link = ut_path(root, AT("active/LINK01"));
	assert_int_equal(symlink("/etc/passwd", link), 0);
	free(link);

	qi_handle *h = qi_new();
	assert_int_equal(qi_set_root(h, root), 0);
	struct mq_list l = { 0 };
	assert_int_equal(mq_postfix_scan(h, "/var/spool/postfix", &l), 0);
	assert_int_equal(l.n, 7);
	/* Queues in order: incoming, active, deferred, hold, maildrop. */
	assert_string_equal(l.v[0].id, "DEAD01");
	assert_string_equal(l.v[1].id, "DEAD02");
	assert_string_equal(l.v[2].id, "C0FFEE");
	assert_string_equal(l.v[6].id, "F00D42");

	const struct mq_msg *m = find(&l, "ABC123");
	assert_string_equal(m->queue, "deferred");
	assert_int_equal(m->nfiles, 3);
	assert_string_equal(m->files[0], "/var/spool/postfix/deferred/A/ABC123");
	assert_string_equal(m->files[1], "/var/spool/postfix/defer/A/ABC123");
	assert_string_equal(m->files[2], "/var/spool/postfix/bounce/A/ABC123");
	m = find(&l, "C0FFEE");
	assert_string_equal(m->queue, "active");
	assert_int_equal(m->nfiles, 2);
	assert_string_equal(m->files[1], "/var/spool/postfix/trace/C/C0FFEE");
	m = find(&l, "4ZqfXh0p2Lz9Yq");
	assert_string_equal(m->files[0], "/var/spool/postfix/deferred/4/Z/4ZqfXh0p2Lz9Yq");
	assert_int_equal(m->nfiles, 1);
	m = find(&l, "DEAD01");
	assert_string_equal(m->queue, "incoming");
	assert_non_null(m->why);
	assert_non_null(strstr(m->why, "incomplete"));
	assert_null(find(&l, "DEAD02")->why);
	assert_null(find(&l, "F00D42")->why);

	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(mq_postfix_read(h, &l.v[i]), 0);
	m = find(&l, "ABC123");
	char *want = expected_full();
	assert_string_equal(m->content, want);
	free(want);
	assert_int_equal(m->nrcpts, 3);
	assert_int_equal(m->ndone, 3);
	m = find(&l, "F00D42");
	assert_string_equal(m->content, "Subject: hi\n");
	assert_string_equal(m->rcpts[0], "postmaster@example.org");
	m = find(&l, "DEAD01");
	assert_null(m->content);	/* left as it is, not read */
	m = find(&l, "B0GUS1");
	assert_string_equal(m->queue, "hold");
	assert_non_null(m->why);
	assert_non_null(strstr(m->why, "not a Postfix queue file"));
	assert_null(m->content);
	assert_string_equal(qi_errmsg(h), "");

	/* A file gone between the scan and the read is real trouble. */
	char *gone = ut_path(root, AT("active/C0FFEE"));
	assert_int_equal(unlink(gone), 0);
	free(gone);
	struct mq_msg again = { 0 };
	again.id = strdup("C0FFEE");
	mq_msg_add_file(&again, "/var/spool/postfix/active/C0FFEE");
	assert_int_equal(mq_postfix_read(h, &again), -1);
	assert_non_null(strstr(qi_errmsg(h), "C0FFEE"));
	mq_msg_free(&again);

	/* A queue file too large to read is left in place (a sparse file). */
	char *big = ut_path(root, AT("hold/B16B16"));
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(truncate(big, (off_t)QI_INPUT_MAX + 1), 0);
	free(big);
	again.id = strdup("B16B16");
	mq_msg_add_file(&again, "/var/spool/postfix/hold/B16B16");
	assert_int_equal(mq_postfix_read(h, &again), 0);
	assert_non_null(again.why);
	assert_non_null(strstr(again.why, "larger than 64 MiB"));
	assert_null(again.content);
	mq_msg_free(&again);
	mq_list_free(&l);

	/* No spool at all: nothing listed. */
	assert_int_equal(mq_postfix_scan(h, "/var/spool/nothing", &l), 0);
	assert_int_equal(l.n, 0);
	mq_list_free(&l);
	qi_free(h);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_maildrop_null_sender),
		cmocka_unit_test(test_parse_postdrop),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_scan_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
