/*
 * cmd_mailuser.c - `qinstall mailuser add|passwd|del|list|import`: the
 * POP3 users of qinstall-checkpassword(8), one journaled run per command.
 * A password is read from standard input (its first line), or asked for
 * twice without echo on a terminal; never taken from the command line.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static struct {
	char *owner;
	char *file;
	char *min_uid;
	int remove_mailbox;
	int cram_md5, no_cram_md5;
} o;

static const struct poptOption options[] = {
	{ "owner", 0, POPT_ARG_STRING, &o.owner, 0,
	  "add: the system user that owns the mailbox, its home the mail home's parent "
	  "(default " QI_MAILUSER_OWNER ")", "USER" },
	{ "system-user", 0, POPT_ARG_STRING, &o.owner, 0, "the same as --owner", "USER" },
	{ "file", 0, POPT_ARG_STRING, &o.file, 0,
	  "the password file inside ROOT (default /var/qmail/users/poppasswd)", "PATH" },
	{ "min-uid", 0, POPT_ARG_STRING, &o.min_uid, 0,
	  "the lowest uid a mailbox may belong to (default 1000)", "UID" },
	{ "remove-mailbox", 0, POPT_ARG_NONE, &o.remove_mailbox, 0,
	  "del: remove the mail home and its Maildir too (rollback gives them back)", NULL },
	{ "cram-md5", 0, POPT_ARG_NONE, &o.cram_md5, 0,
	  "add, passwd: also store a CRAM-MD5 secret (HMAC-MD5 state, not the password; "
	  "whoever reads the file can log in by CRAM-MD5 with it)", NULL },
	{ "no-cram-md5", 0, POPT_ARG_NONE, &o.no_cram_md5, 0,
	  "passwd: drop the user's CRAM-MD5 secret (passwd keeps one by default)", NULL },
	POPT_TABLEEND
};

/* One line from FD (without its newline), at most 1023 bytes. */
static int read_line(qi_handle *h, FILE *in, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, in))
		return qi_error_kind(h, QI_ERR_USAGE, "no password on standard input: give it as "
				     "its first line (echo ... | qinstall mailuser add NAME)");
	size_t n = strlen(buf);
	if (n == size - 1 && buf[n - 1] != '\n')
		return qi_error_kind(h, QI_ERR_USAGE, "the password line is too long");
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Ask on the terminal with echo off. */
static int prompt(qi_handle *h, const char *question, char *buf, size_t size)
{
	struct termios old, noecho;
	fprintf(stderr, "%s", question);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return qi_error_errno(h, "cannot turn the terminal's echo off");
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
	int rc = read_line(h, stdin, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int get_password(qi_handle *h, char *buf, size_t size)
{
	if (!isatty(STDIN_FILENO))
		return read_line(h, stdin, buf, size);
	char again[1024];
	int rc = prompt(h, "New password: ", buf, size);
	if (rc == 0)
		rc = prompt(h, "Again: ", again, sizeof(again));
	if (rc == 0 && strcmp(buf, again) != 0)
		rc = qi_error_kind(h, QI_ERR_USAGE, "the two passwords differ: nothing changed");
	explicit_bzero(again, sizeof(again));
	return rc;
}

static void list_users(struct qi_cli *cli)
{
	json_t *r = qi_result(cli->h), *u;
	size_t i;
	qi_out(cli, "Mail users in %s%s:\n", qi_root_is_host(cli->h) ? "" : qi_root(cli->h),
	       json_string_value(json_object_get(r, "file")));
	json_array_foreach(json_object_get(r, "users"), i, u)
		qi_out(cli, "  %-16s %-9s %-12s %s%s\n", json_string_value(json_object_get(u, "name")),
		       json_string_value(json_object_get(u, "password")),
		       json_string_value(json_object_get(u, "owner")),
		       json_string_value(json_object_get(u, "home")),
		       json_is_true(json_object_get(u, "cram_md5")) ? "  +CRAM-MD5" : "");
	if (!json_array_size(json_object_get(r, "users")))
		qi_out(cli, "  (none)\n");
}

/* What the command did, after it committed. */
static void report(struct qi_cli *cli, const char *action, const char *name)
{
	qi_handle *h = cli->h;
	json_t *r = qi_result(h), *v;
	size_t i;
	const char *home = json_string_value(json_object_get(r, "home"));
	if (strcmp(action, "add") == 0) {
		qi_out(cli, "Added the mail user %s: Maildir %s (owner %s); qmail delivers %s",
		       name, json_string_value(json_object_get(r, "maildir")),
		       json_string_value(json_object_get(r, "owner")),
		       json_string_value(json_array_get(json_object_get(r, "addresses"), 0)));
		qi_out(cli, " and %s there.\n",
		       json_string_value(json_array_get(json_object_get(r, "addresses"), 1)));
		if (json_is_true(json_object_get(r, "cram_md5")))
			qi_out(cli, "%s may also log in by CRAM-MD5 (its secret is in the password "
			       "file).\n", name);
	} else if (strcmp(action, "passwd") == 0) {
		qi_out(cli, "Changed the password of %s%s.\n", name,
		       json_is_true(json_object_get(r, "cram_md5")) ? " and its CRAM-MD5 secret" : "");
	} else if (strcmp(action, "del") == 0) {
		if (json_is_true(json_object_get(r, "mailbox_removed")))
			qi_out(cli, "Deleted the mail user %s and its mail home %s.\n", name, home);
		else
			qi_out(cli, "Deleted the mail user %s; its mailbox stays at %s/Maildir "
			       "(--remove-mailbox removes it).\n", name, home);
	} else if (strcmp(action, "validrcptto") == 0) {
		json_t *vr = json_object_get(r, "validrcptto");
		qi_out(cli, "Wrote %s: %zu addresses qmail-smtpd accepts.\n",
		       json_string_value(json_object_get(vr, "path")),
		       json_array_size(json_object_get(vr, "keys")));
	} else {
		json_array_foreach(json_object_get(r, "imported"), i, v)
			qi_out(cli, "  imported %s (system password)\n", json_string_value(v));
		json_array_foreach(json_object_get(r, "skipped"), i, v)
			qi_out(cli, "  skipped  %s: %s\n", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "why")));
	}
	if (qi_changed(h))
		qi_out(cli, "Undo with `qinstall%s%s rollback`.\n", qi_root_is_host(h) ? "" : " --root ",
		       qi_root_is_host(h) ? "" : qi_root(h));
}

static int mutate(struct qi_cli *cli, const struct qi_mailuser_options *mo, const char *action,
		  const char *name)
{
	qi_handle *h = cli->h;
	char password[1024] = "";
	int rc = -1;
	bool with_password = strcmp(action, "add") == 0 || strcmp(action, "passwd") == 0;
	if (with_password && get_password(h, password, sizeof(password)) < 0)
		return -1;
	char *what;
	if (asprintf(&what, "mailuser %s%s%s", action, name ? " " : "", name ? name : "") < 0)
		abort();
	if (qi_run_begin(h, what) == 0) {
		if (strcmp(action, "add") == 0)
			rc = qi_mailuser_add(h, mo, name, password);
		else if (strcmp(action, "passwd") == 0)
			rc = qi_mailuser_passwd(h, mo, name, password);
		else if (strcmp(action, "del") == 0)
			rc = qi_mailuser_del(h, mo, name);
		else if (strcmp(action, "validrcptto") == 0)
			rc = qi_validrcptto_update(h, "/var/qmail", mo->pwfile ? mo->pwfile :
						   "/var/qmail/users/poppasswd", NULL, false);
		else
			rc = qi_mailuser_import(h, mo);
		if (rc == 0)
			rc = qi_run_commit(h);
		else
			qi_run_abort(h);
	}
	explicit_bzero(password, sizeof(password));
	free(what);
	if (rc == 0) {
		report(cli, action, name);
		qi_set_msg(h, "mailuser %s%s%s: %s", action, name ? " " : "", name ? name : "",
			   qi_changed(h) ? qi_check(h) ? "would change ROOT" : "done" : "nothing to change");
	}
	return rc;
}

static int run(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	struct qi_mailuser_options mo = { .owner = o.owner, .pwfile = o.file,
					  .remove_mailbox = o.remove_mailbox,
					  .cram_md5 = o.cram_md5 ? 1 : o.no_cram_md5 ? -1 : 0 };
	if (o.min_uid) {
		char *end;
		errno = 0;
		mo.min_uid = strtoll(o.min_uid, &end, 10);
		if (errno || *end || end == o.min_uid || mo.min_uid < 1 || mo.min_uid > 65533)
			return qi_error_kind(h, QI_ERR_USAGE, "--min-uid '%s': give a uid from 1 to "
					     "65533", o.min_uid);
	}
	if (argc < 1)
		return qi_error_kind(h, QI_ERR_USAGE, "mailuser needs an action: add, passwd, del, "
				     "list or import");
	const char *action = argv[0];
	bool named = strcmp(action, "add") == 0 || strcmp(action, "passwd") == 0 ||
		     strcmp(action, "del") == 0;
	if (!named && strcmp(action, "list") != 0 && strcmp(action, "import") != 0 &&
	    strcmp(action, "validrcptto") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "mailuser: unknown action '%s' (give add, "
				     "passwd, del, list, import or validrcptto)", action);
	if (argc != (named ? 2 : 1))
		return qi_error_kind(h, QI_ERR_USAGE, named ? "mailuser %s takes one NAME"
				     : "mailuser %s takes no operands", action);
	if (o.remove_mailbox && strcmp(action, "del") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "--remove-mailbox is for mailuser del");
	if (o.cram_md5 && o.no_cram_md5)
		return qi_error_kind(h, QI_ERR_USAGE, "--cram-md5 and --no-cram-md5 contradict "
				     "each other: give one");
	if (o.cram_md5 && strcmp(action, "add") != 0 && strcmp(action, "passwd") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "--cram-md5 is for mailuser add and passwd");
	if (o.no_cram_md5 && strcmp(action, "passwd") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "--no-cram-md5 is for mailuser passwd (add "
				     "stores no CRAM-MD5 secret unless --cram-md5)");
	if (strcmp(action, "list") == 0) {
		if (qi_mailuser_list(h, &mo) < 0)
			return -1;
		list_users(cli);
		qi_set_msg(h, "%zu mail users", json_array_size(json_object_get(qi_result(h), "users")));
		return 0;
	}
	return mutate(cli, &mo, action, named ? argv[1] : NULL);
}

const struct qi_command qi_cmd_mailuser = {
	.name = "mailuser",
	.args = "add|passwd|del NAME | list | import | validrcptto",
	.summary = "add, change, delete, list or import the POP3 users of qinstall-checkpassword",
	.description =
	"add NAME makes a mail-only user: a yescrypt hash of the password (read from\n"
	"standard input, or asked twice on a terminal) in the password file, a Maildir\n"
	"in OWNER's home/NAME owned by OWNER, and qmail's delivery of NAME@DOMAIN and\n"
	"NAME-EXT@DOMAIN there (users/assign and users/cdb). passwd NAME changes the\n"
	"password, del NAME removes the user (the mailbox stays unless\n"
	"--remove-mailbox), list prints the users, and import makes every system user\n"
	"with a uid of at least --min-uid and a home a POP3 user with its system\n"
	"password. With --cram-md5, add and passwd also store a CRAM-MD5 secret for\n"
	"SMTP AUTH CRAM-MD5 (passwd keeps one the user had; --no-cram-md5 drops it).\n"
	"validrcptto builds control/validrcptto.cdb (the validrcptto patch's\n"
	"recipients) from the mail users, ~alias/.qmail-* and control/validrcptto.local;\n"
	"add, del and import rebuild it whenever it is there, so a new user is accepted\n"
	"without a restart. Each is one journaled run: `qinstall rollback` undoes it.",
	.options = options,
	.run = run,
};
