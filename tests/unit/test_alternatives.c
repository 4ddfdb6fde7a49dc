/* Unit tests for migrate/alternatives.c: chkconfig's alternatives state
 * files parsed and written back byte for byte (RHEL's postfix and
 * sendmail mta group, a family, manual mode, Debian's trailing empty
 * line), every refusal with its line, the edits of a group, the state
 * read from a throwaway ROOT (missing, a leftover NAME.new, a symbolic
 * link, a FIFO, too big) and the seed guide's chain of links followed
 * inside ROOT (relative hops, a loop, an absolute target kept in ROOT);
 * qmail made the group's choice through the journal, and rolled back. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/migrate.h"
#include "unit.h"

/* RHEL 9's mta group with postfix (60) and sendmail (90), sendmail's own
 * slaves (makemap, editmap) empty for postfix. */
static const char rhel[] =
	"auto\n"
	"/usr/sbin/sendmail\n"
	"mta-mailq\n/usr/bin/mailq\n"
	"mta-newaliases\n/usr/bin/newaliases\n"
	"mta-pam\n/etc/pam.d/smtp\n"
	"mta-rmail\n/usr/bin/rmail\n"
	"mta-sendmail\n/usr/lib/sendmail\n"
	"mta-mailqman\n/usr/share/man/man1/mailq.1.gz\n"
	"mta-newaliasesman\n/usr/share/man/man1/newaliases.1.gz\n"
	"mta-sendmailman\n/usr/share/man/man1/sendmail.1.gz\n"
	"mta-aliasesman\n/usr/share/man/man5/aliases.5.gz\n"
	"mta-smtpdman\n/usr/share/man/man8/smtpd.8.gz\n"
	"mta-makemap\n/usr/sbin/makemap\n"
	"mta-editmap\n/usr/sbin/editmap\n"
	"\n"
	"/usr/sbin/sendmail.postfix\n"
	"60 postfix\n"
	"/usr/bin/mailq.postfix\n/usr/bin/newaliases.postfix\n/etc/pam.d/smtp.postfix\n"
	"/usr/bin/rmail.postfix\n/usr/lib/sendmail.postfix\n"
	"/usr/share/man/man1/mailq.postfix.1.gz\n/usr/share/man/man1/newaliases.postfix.1.gz\n"
	"/usr/share/man/man1/sendmail.postfix.1.gz\n/usr/share/man/man5/aliases.postfix.5.gz\n"
	"/usr/share/man/man8/smtpd.postfix.8.gz\n"
	"\n\n"
	"/usr/sbin/sendmail.sendmail\n"
	"90 sendmail\n"
	"/usr/bin/mailq.sendmail\n/usr/bin/newaliases.sendmail\n/etc/pam.d/smtp.sendmail\n"
	"/usr/bin/rmail.sendmail\n/usr/lib/sendmail.sendmail\n"
	"/usr/share/man/man1/mailq.sendmail.1.gz\n/usr/share/man/man1/newaliases.sendmail.1.gz\n"
	"/usr/share/man/man8/sendmail.sendmail.8.gz\n/usr/share/man/man5/aliases.sendmail.5.gz\n"
	"\n"
	"/usr/sbin/makemap.sendmail\n/usr/sbin/editmap.sendmail\n";

static qi_handle *handle(const char *root)
{
	qi_handle *h = qi_new();
	assert_non_null(h);
	qi_set_verbosity(h, -1);
	if (root)
		assert_int_equal(qi_set_root(h, root), 0);
	return h;
}

static void round_trip(qi_handle *h, const char *text)
{
	struct alt_group g;
	assert_int_equal(alt_parse(h, "mta", text, strlen(text), &g), 0);
	size_t len = 0;
	char *back = alt_format(&g, &len);
	assert_int_equal(len, strlen(text));
	assert_string_equal(back, text);
	free(back);
	alt_group_free(&g);
}

static void test_parse(void **state)
{
	(void)state;
	qi_handle *h = handle(NULL);
	struct alt_group g;
	assert_int_equal(alt_parse(h, "mta", rhel, strlen(rhel), &g), 0);
	assert_false(g.manual);
	assert_string_equal(g.link, "/usr/sbin/sendmail");
	assert_int_equal(g.nslaves, 12);
	assert_string_equal(g.slaves[4].name, "mta-sendmail");
	assert_string_equal(g.slaves[4].link, "/usr/lib/sendmail");
	assert_int_equal(g.nchoices, 2);
	assert_string_equal(g.choices[0].path, "/usr/sbin/sendmail.postfix");
	assert_int_equal(g.choices[0].priority, 60);
	assert_string_equal(g.choices[0].initscript, "postfix");
	assert_null(g.choices[0].family);
	assert_null(g.choices[0].targets[10]);	/* postfix has no makemap */
	assert_null(g.choices[1].targets[9]);	/* sendmail, no smtpd man page */
	assert_string_equal(g.choices[1].targets[11], "/usr/sbin/editmap.sendmail");
	assert_false(g.trailing_blank);
	assert_string_equal(alt_best(&g)->path, "/usr/sbin/sendmail.sendmail");
	assert_int_equal(alt_slave_index(&g, "mta-pam"), 2);
	assert_int_equal(alt_slave_index(&g, "mta-none"), -1);
	alt_group_free(&g);
	round_trip(h, rhel);
	round_trip(h, "manual\n/usr/sbin/sendmail\n\n/usr/sbin/sendmail.postfix\n@mta@30 postfix\n");
	round_trip(h, "auto\n/usr/bin/x\nx.1\n/usr/share/man/man1/x.1.gz\n\n/usr/bin/x-a\n10\n\n/usr/bin/x-b\n-5\n"
		      "/usr/share/man/man1/x-b.1.gz\n\n");
	round_trip(h, "auto\n/usr/sbin/sendmail\n\n");	/* no choice left */
	/* a tie: the first */
	const char *tie = "auto\n/a\n\n/a.one\n5\n/a.two\n5\n";
	assert_int_equal(alt_parse(h, "a", tie, strlen(tie), &g), 0);
	assert_string_equal(alt_best(&g)->path, "/a.one");
	assert_string_equal(alt_find(&g, "/a.two")->path, "/a.two");
	assert_null(alt_find(&g, "/a.three"));
	alt_group_free(&g);
	qi_free(h);
}

/* Each refusal names the file, its line and what was wanted. */
static void refused(const char *text, size_t len, const char *line, const char *what)
{
	qi_handle *h = handle(NULL);
	struct alt_group g;
	assert_int_equal(alt_parse(h, "mta", text, len, &g), -1);
	assert_int_equal(g.nchoices, 0);
	assert_null(g.link);
	if (!strstr(qi_errmsg(h), line) || !strstr(qi_errmsg(h), what) || !strstr(qi_errmsg(h), "alternatives/mta"))
		fail_msg("for %s: got \"%s\"", what, qi_errmsg(h));
	qi_free(h);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *cases[][3] = {
		{ "", "line 0", "\"auto\" or \"manual\"" },
		{ "Auto\n/usr/sbin/sendmail\n\n", "line 1", "\"auto\" or \"manual\"" },
		{ "auto\nusr/sbin/sendmail\n\n", "line 2", "master link" },
		{ "auto\n/usr/sbin/sendmail\nmta-mailq\n/usr/bin/mailq\n", "line 4", "before the empty line" },
		{ "auto\n/usr/sbin/sendmail\n/usr/bin/mailq\n\n", "line 3", "slave's name" },
		{ "auto\n/s\nmta-a\nrel\n\n", "line 4", "slave's link" },
		{ "auto\n/s\nx\n/x\nx\n/y\n\n", "line 5", "slave named twice" },
		{ "auto\n/s\n\n/s.a\nsixty\n", "line 5", "not a priority" },
		{ "auto\n/s\n\n/s.a\n060\n", "line 5", "would not write so" },
		{ "auto\n/s\n\n/s.a\n60  postfix\n", "line 5", "would not write so" },
		{ "auto\n/s\n\n/s.a\n@fam60\n", "line 5", "family" },
		{ "auto\n/s\n\n/s.a\n", "line 4", "priority was wanted" },
		{ "auto\n/s\nx\n/x\n\n/s.a\n1\n", "line 7", "within a choice" },
		{ "auto\n/s\nx\n/x\n\n/s.a\n1\nrel\n", "line 8", "slave's target" },
		{ "auto\n/s\n\n/s.a\n1\n/s.a\n2\n", "line 6", "given twice" },
		{ "auto\n/s\n\nrelative\n1\n", "line 4", "choice's path" },
		{ "auto\n/s\n\n/s.a\n1", "line 5", "line feed" },
		{ "auto\n/s\n\n/s.a\n1\n\n/s.b\n2\n", "line", "after the empty line" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i][0], strlen(cases[i][0]), cases[i][1], cases[i][2]);
	static const char nul[] = "auto\n/s\n\n/s.a\0\n1\n";
	refused(nul, sizeof(nul) - 1, "line 4", "NUL byte");
}

static void test_edit(void **state)
{
	(void)state;
	qi_handle *h = handle(NULL);
	struct alt_group g;
	assert_int_equal(alt_parse(h, "mta", rhel, strlen(rhel), &g), 0);
	const char *names[] = { "mta-mailq", "mta-sendmail", "mta-qmail-only" };
	const char *links[] = { "/usr/bin/mailq", "/usr/lib/sendmail", "/usr/bin/qmail-only" };
	const char *targets[] = { "/var/qmail/bin/sendmail", "/var/qmail/bin/sendmail", "/var/qmail/bin/x" };
	assert_int_equal(alt_add_choice(h, &g, "/var/qmail/bin/sendmail", 120, NULL, names, links, targets, 3), 0);
	/* chkconfig's --install: the new slave joins, the header is sorted
	 * by link path, the new choice goes last */
	assert_int_equal(g.nslaves, 13);
	assert_string_equal(g.slaves[0].link, "/etc/pam.d/smtp");
	assert_int_equal(alt_slave_index(&g, "mta-qmail-only"), 3);
	assert_null(g.choices[0].targets[3]);
	assert_string_equal(g.choices[0].targets[0], "/etc/pam.d/smtp.postfix");
	assert_string_equal(g.choices[1].targets[alt_slave_index(&g, "mta-editmap")], "/usr/sbin/editmap.sendmail");
	assert_null(g.choices[0].targets[alt_slave_index(&g, "mta-editmap")]);
	const struct alt_choice *q = alt_find(&g, "/var/qmail/bin/sendmail");
	assert_ptr_equal(q, &g.choices[2]);
	assert_ptr_equal(alt_best(&g), q);
	assert_string_equal(q->targets[alt_slave_index(&g, "mta-mailq")], "/var/qmail/bin/sendmail");
	assert_null(q->targets[alt_slave_index(&g, "mta-newaliases")]);	/* qmail has none given */
	size_t len;
	char *text = alt_format(&g, &len);
	assert_int_equal(strncmp(text, "auto\n/usr/sbin/sendmail\nmta-pam\n/etc/pam.d/smtp\nmta-mailq\n/usr/bin/mailq\n"
				 "mta-newaliases\n/usr/bin/newaliases\nmta-qmail-only\n/usr/bin/qmail-only\n", 116), 0);
	static const char qblock[] = "/var/qmail/bin/sendmail\n120\n\n/var/qmail/bin/sendmail\n\n/var/qmail/bin/x\n\n"
				     "/var/qmail/bin/sendmail\n\n\n\n\n\n\n\n";
	assert_true(len > strlen(qblock));
	assert_string_equal(text + len - strlen(qblock), qblock);
	free(text);
	/* replaced, same path: one choice still; its slave no other choice
	 * has leaves the header */
	assert_int_equal(alt_add_choice(h, &g, "/var/qmail/bin/sendmail", 5, "qmail", names, links, targets, 2), 0);
	assert_int_equal(g.nchoices, 3);
	assert_int_equal(g.nslaves, 12);
	assert_int_equal(alt_slave_index(&g, "mta-qmail-only"), -1);
	assert_int_equal(alt_find(&g, "/var/qmail/bin/sendmail")->priority, 5);
	assert_string_equal(alt_best(&g)->path, "/usr/sbin/sendmail.sendmail");
	/* a slave given with another link, a link that is another slave's */
	const char *wrong[] = { "/usr/bin/mailq.elsewhere" };
	assert_int_equal(alt_add_choice(h, &g, "/x", 1, NULL, names, wrong, targets, 1), -1);
	assert_non_null(strstr(qi_errmsg(h), "is the link /usr/bin/mailq"));
	const char *other[] = { "mta-other" };
	assert_int_equal(alt_add_choice(h, &g, "/x", 1, NULL, other, links, targets, 1), -1);
	assert_non_null(strstr(qi_errmsg(h), "slave mta-mailq already"));
	assert_int_equal(alt_add_choice(h, &g, "relative", 1, NULL, NULL, NULL, NULL, 0), -1);
	/* chkconfig's --remove: the last choice takes the slot, every slave
	 * stays; what is written parses back the same */
	alt_remove_choice(&g, "/usr/sbin/sendmail.postfix");
	alt_remove_choice(&g, "/not/there");
	assert_int_equal(g.nchoices, 2);
	assert_string_equal(g.choices[0].path, "/var/qmail/bin/sendmail");
	assert_string_equal(g.choices[1].path, "/usr/sbin/sendmail.sendmail");
	assert_int_equal(g.nslaves, 12);
	assert_string_equal(g.choices[1].targets[alt_slave_index(&g, "mta-makemap")], "/usr/sbin/makemap.sendmail");
	text = alt_format(&g, &len);
	struct alt_group back;
	assert_int_equal(alt_parse(h, "mta", text, len, &back), 0);
	size_t len2;
	char *again = alt_format(&back, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, text, len);
	free(again);
	free(text);
	alt_group_free(&back);
	alt_remove_choice(&g, "/usr/sbin/sendmail.sendmail");
	alt_remove_choice(&g, "/var/qmail/bin/sendmail");
	assert_int_equal(g.nchoices, 0);
	assert_int_equal(g.nslaves, 12);
	assert_null(alt_best(&g));
	alt_group_free(&g);
	qi_free(h);
}

static void test_load(void **state)
{
	(void)state;
	char *root = ut_tmpdir("alternatives");
	qi_handle *h = handle(root);
	struct alt_group g;
	assert_int_equal(alt_load(h, "mta", &g), 1);
	ut_mkdir(root, "var/lib/alternatives", 0755);
	assert_int_equal(alt_load(h, "mta", &g), 1);
	ut_write(root, "var/lib/alternatives/mta", rhel, 0644);
	assert_int_equal(alt_load(h, "mta", &g), 0);
	assert_int_equal(g.nchoices, 2);
	alt_group_free(&g);
	assert_int_equal(alt_load(h, "../mta", &g), -1);
	/* a leftover .new */
	ut_write(root, "var/lib/alternatives/mta.new", "auto\n", 0644);
	assert_int_equal(alt_load(h, "mta", &g), -1);
	assert_non_null(strstr(qi_errmsg(h), "mta.new is there: alternatives was interrupted"));
	assert_non_null(strstr(qi_errmsg(h), "remove"));
	char *p = ut_path(root, "var/lib/alternatives/mta.new");
	assert_int_equal(unlink(p), 0);
	free(p);
	/* a symbolic link is not followed */
	ut_write(root, "elsewhere", rhel, 0644);
	char *st = ut_path(root, "var/lib/alternatives/mta");
	assert_int_equal(unlink(st), 0);
	assert_int_equal(symlink("../../../elsewhere", st), 0);
	assert_int_equal(alt_load(h, "mta", &g), -1);
	assert_non_null(strstr(qi_errmsg(h), "a symbolic link"));
	/* a FIFO: refused at once, never waited on */
	assert_int_equal(unlink(st), 0);
	assert_int_equal(mkfifo(st, 0644), 0);
	assert_int_equal(alt_load(h, "mta", &g), -1);
	assert_non_null(strstr(qi_errmsg(h), "not a regular file"));
	assert_int_equal(unlink(st), 0);
	/* too big */
	int fd = open(st, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)ALT_STATE_MAX + 1), 0);
	close(fd);
	assert_int_equal(alt_load(h, "mta", &g), -1);
	assert_non_null(strstr(qi_errmsg(h), "more than an alternatives state file holds"));
	/* one that does not parse names its line */
	ut_write(root, "var/lib/alternatives/mta", "auto\n/usr/sbin/sendmail\n\n/s.a\nsixty\n", 0644);
	assert_int_equal(alt_load(h, "mta", &g), -1);
	assert_non_null(strstr(qi_errmsg(h), "var/lib/alternatives/mta, line 5: not a priority"));
	free(st);
	qi_free(h);
	ut_tmpdir_remove(root);
}

static void link_at(const char *root, const char *path, const char *target)
{
	char *p = ut_path(root, path);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static void test_chain(void **state)
{
	(void)state;
	char *root = ut_tmpdir("alternatives-chain");
	qi_handle *h = handle(root);
	ut_mkdir(root, "usr/lib", 0755);
	ut_mkdir(root, "usr/sbin", 0755);
	ut_mkdir(root, "etc/alternatives", 0755);
	ut_write(root, "usr/sbin/sendmail.postfix", "#!/bin/sh\n", 0755);
	/* the seed guide's chain, one hop relative */
	link_at(root, "usr/lib/sendmail", "/etc/alternatives/mta-sendmail");
	link_at(root, "etc/alternatives/mta-sendmail", "../../usr/lib/sendmail.sendmail");
	link_at(root, "usr/lib/sendmail.sendmail", "/usr/sbin/sendmail");
	link_at(root, "usr/sbin/sendmail", "/etc/alternatives/mta");
	link_at(root, "etc/alternatives/mta", "/usr/sbin/./sendmail.postfix");
	char **hops;
	size_t n;
	assert_int_equal(alt_chain(h, "/usr/lib/sendmail", &hops, &n), 0);
	const char *want[] = { "/usr/lib/sendmail", "/etc/alternatives/mta-sendmail", "/usr/lib/sendmail.sendmail",
			       "/usr/sbin/sendmail", "/etc/alternatives/mta", "/usr/sbin/sendmail.postfix" };
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(hops[i], want[i]);
	alt_chain_free(hops, n);
	/* an absolute target leaving ROOT stays in it: /.. is / */
	link_at(root, "usr/sbin/out", "/../../../../etc/alternatives/gone");
	assert_int_equal(alt_chain(h, "/usr/sbin/out", &hops, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(hops[1], "/etc/alternatives/gone");
	alt_chain_free(hops, n);
	/* a loop */
	link_at(root, "usr/sbin/a", "b");
	link_at(root, "usr/sbin/b", "/usr/sbin/a");
	assert_int_equal(alt_chain(h, "/usr/sbin/a", &hops, &n), -1);
	assert_null(hops);
	assert_int_equal(n, 0);
	assert_non_null(strstr(qi_errmsg(h), "loop at /usr/sbin/a"));
	/* a file is a chain of one; a missing path too */
	assert_int_equal(alt_chain(h, "/usr/sbin/sendmail.postfix", &hops, &n), 0);
	assert_int_equal(n, 1);
	alt_chain_free(hops, n);
	assert_int_equal(alt_chain(h, "/nowhere/at/all", &hops, &n), 0);
	assert_int_equal(n, 1);
	alt_chain_free(hops, n);
	/* a long chain that does not loop, past the bound */
	for (int i = 0; i < ALT_CHAIN_MAX + 2; i++) {
		char name[64], target[64];
		snprintf(name, sizeof(name), "usr/sbin/l%d", i);
		snprintf(target, sizeof(target), "l%d", i + 1);
		link_at(root, name, target);
	}
	assert_int_equal(alt_chain(h, "/usr/sbin/l0", &hops, &n), -1);
	assert_non_null(strstr(qi_errmsg(h), "go on past"));
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* A root as RHEL's postfix leaves it: the mta group with postfix alone
 * and its links. */
static const char postfix_only[] =
	"auto\n/usr/sbin/sendmail\n"
	"mta-mailq\n/usr/bin/mailq\n"
	"mta-pam\n/etc/pam.d/smtp\n"
	"mta-sendmail\n/usr/lib/sendmail\n"
	"\n"
	"/usr/sbin/sendmail.postfix\n60 postfix\n"
	"/usr/bin/mailq.postfix\n/etc/pam.d/smtp.postfix\n/usr/lib/sendmail.postfix\n";

static char *postfix_root(void)
{
	char *root = ut_tmpdir("alternatives-store");
	const char *dirs[] = { "usr/sbin", "usr/bin", "usr/lib", "etc/pam.d", "etc/alternatives",
			       "var/lib/alternatives", "var/qmail/bin" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		ut_mkdir(root, dirs[i], 0755);
	ut_write(root, "var/lib/alternatives/mta", postfix_only, 0644);
	ut_write(root, "usr/sbin/sendmail.postfix", "postfix\n", 0755);
	ut_write(root, "var/qmail/bin/sendmail", "qmail\n", 0755);
	link_at(root, "usr/sbin/sendmail", "/etc/alternatives/mta");
	link_at(root, "etc/alternatives/mta", "/usr/sbin/sendmail.postfix");
	link_at(root, "usr/bin/mailq", "/etc/alternatives/mta-mailq");
	link_at(root, "etc/alternatives/mta-mailq", "/usr/bin/mailq.postfix");
	link_at(root, "etc/pam.d/smtp", "/etc/alternatives/mta-pam");
	link_at(root, "etc/alternatives/mta-pam", "/etc/pam.d/smtp.postfix");
	link_at(root, "usr/lib/sendmail", "/etc/alternatives/mta-sendmail");
	link_at(root, "etc/alternatives/mta-sendmail", "/usr/lib/sendmail.postfix");
	return root;
}

/* The last hop of PATH's chain (held until the next call). */
static const char *chain_end(qi_handle *h, const char *path)
{
	static char *end;
	free(end);
	end = NULL;
	char **hops;
	size_t n;
	assert_int_equal(alt_chain(h, path, &hops, &n), 0);
	end = hops[n - 1];
	hops[n - 1] = NULL;
	alt_chain_free(hops, n - 1);
	return end;
}

/* qmail registered in the group and made its choice (manual), through
 * the journal; every link of the chain leads to qmail, the slave qmail
 * lacks is gone, the state parses back; the rollback gives the tree back
 * as it was, byte for byte. */
static void test_store(void **state)
{
	(void)state;
	char *root = postfix_root();
	char *before = ut_tree(root, "var/lib/qinstall");
	qi_handle *h = handle(root);
	struct alt_group g;
	assert_int_equal(qi_run_begin(h, "test alternatives"), 0);
	assert_int_equal(alt_load(h, "mta", &g), 0);
	const char *names[] = { "mta-mailq", "mta-sendmail" }, *links[] = { "/usr/bin/mailq", "/usr/lib/sendmail" },
		   *targets[] = { "/var/qmail/bin/sendmail", "/var/qmail/bin/sendmail" };
	assert_int_equal(alt_add_choice(h, &g, "/var/qmail/bin/sendmail", 100, NULL, names, links, targets, 2), 0);
	g.manual = true;
	assert_int_equal(alt_store(h, &g, "/var/qmail/bin/sendmail"), 0);
	assert_int_equal(qi_run_commit(h), 0);
	alt_group_free(&g);
	assert_string_equal(chain_end(h, "/usr/sbin/sendmail"), "/var/qmail/bin/sendmail");
	assert_string_equal(chain_end(h, "/usr/lib/sendmail"), "/var/qmail/bin/sendmail");
	assert_string_equal(chain_end(h, "/usr/bin/mailq"), "/var/qmail/bin/sendmail");
	assert_false(ut_exists(root, "etc/pam.d/smtp"));
	assert_false(ut_exists(root, "etc/alternatives/mta-pam"));
	assert_int_equal(alt_load(h, "mta", &g), 0);
	assert_true(g.manual);
	assert_int_equal(g.nchoices, 2);
	assert_string_equal(alt_best(&g)->path, "/var/qmail/bin/sendmail");
	assert_string_equal(ut_slurp(root, "var/lib/alternatives/mta"),
			    "manual\n/usr/sbin/sendmail\n"
			    "mta-pam\n/etc/pam.d/smtp\nmta-mailq\n/usr/bin/mailq\nmta-sendmail\n/usr/lib/sendmail\n\n"
			    "/usr/sbin/sendmail.postfix\n60 postfix\n"
			    "/etc/pam.d/smtp.postfix\n/usr/bin/mailq.postfix\n/usr/lib/sendmail.postfix\n"
			    "/var/qmail/bin/sendmail\n100\n\n/var/qmail/bin/sendmail\n/var/qmail/bin/sendmail\n");
	/* stored again as it is: nothing changes */
	assert_int_equal(qi_run_begin(h, "test alternatives again"), 0);
	assert_int_equal(alt_store(h, &g, "/var/qmail/bin/sendmail"), 0);
	assert_int_equal(qi_run_commit(h), 0);
	alt_group_free(&g);
	assert_int_equal(qi_rollback(h, 1), 0);
	char *after = ut_tree(root, "var/lib/qinstall");
	assert_string_equal(after, before);
	free(after);
	free(before);
	qi_free(h);
	ut_tmpdir_remove(root);
}

/* A real file at a link's place: refused before anything is written. */
static void test_store_refused(void **state)
{
	(void)state;
	char *root = postfix_root();
	char *p = ut_path(root, "usr/bin/mailq");
	assert_int_equal(unlink(p), 0);
	free(p);
	ut_write(root, "usr/bin/mailq", "a real program\n", 0755);
	char *before = ut_tree(root, "var/lib/qinstall");
	qi_handle *h = handle(root);
	struct alt_group g;
	assert_int_equal(qi_run_begin(h, "test alternatives"), 0);
	assert_int_equal(alt_load(h, "mta", &g), 0);
	assert_int_equal(alt_store(h, &g, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "usr/bin/mailq is not a symbolic link"));
	assert_int_equal(alt_store(h, &g, "/not/a/choice"), -1);
	assert_non_null(strstr(qi_errmsg(h), "has no choice /not/a/choice"));
	assert_int_equal(qi_run_commit(h), 0);
	char *after = ut_tree(root, "var/lib/qinstall");
	assert_string_equal(after, before);
	free(after);
	free(before);
	alt_group_free(&g);
	qi_free(h);
	ut_tmpdir_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_store_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
