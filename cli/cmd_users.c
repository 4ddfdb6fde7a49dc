/*
 * cmd_users.c - `qinstall users`: create qmail's groups and users in ROOT
 * with pinned ids (or --ids auto), as one journaled run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char *ids;
	char **id;		/* --id NAME=NUMBER, repeated (popt's ARGV) */
	char *range;
	char *shell;
	char *qmail_home;
	char *profile;
	char *lock_wait;
} o;

static const struct poptOption options[] = {
	{ "ids", 0, POPT_ARG_STRING, &o.ids, 0,
	  "pinned: use the pinned ids (default: the seed guide's, the profile's, or --id); "
	  "auto: pick the lowest free block in --range", "auto|pinned" },
	{ "id", 0, POPT_ARG_ARGV, &o.id, 0,
	  "pin one account's id, e.g. --id qmaild=7791 (repeatable)", "NAME=NUMBER" },
	{ "range", 0, POPT_ARG_STRING, &o.range, 0,
	  "the ids --ids auto may pick from (default 600-999)", "MIN-MAX" },
	{ "profile", 0, POPT_ARG_STRING, &o.profile, 0,
	  "take the ids and the qmail home from a profile's [accounts] section", "NAME|FILE" },
	{ "shell", 0, POPT_ARG_STRING, &o.shell, 0,
	  "shell of new users (default: the first of /sbin/nologin, /usr/sbin/nologin, "
	  "/bin/false, /usr/bin/false in ROOT)", "PATH" },
	{ "qmail-home", 0, POPT_ARG_STRING, &o.qmail_home, 0,
	  "qmail's home (default /var/qmail; alias's home is its alias subdirectory)", "DIR" },
	{ "lock-wait", 0, POPT_ARG_STRING, &o.lock_wait, 0,
	  "seconds (0-3600) to wait for a passwd/group lock held by another program (default 15)",
	  "SECONDS" },
	POPT_TABLEEND
};

/* Parse "MIN-MAX". */
static int parse_range(qi_handle *h, const char *s, unsigned *min, unsigned *max)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (errno || end == s || *end != '-')
		goto bad;
	const char *t = end + 1;
	unsigned long b = strtoul(t, &end, 10);
	if (errno || end == t || *end || a < QI_ACCOUNT_ID_MIN || b > QI_ACCOUNT_ID_MAX || a > b)
		goto bad;
	*min = (unsigned)a;
	*max = (unsigned)b;
	return 0;
bad:
	return qi_error_kind(h, QI_ERR_USAGE, "--range '%s': give MIN-MAX with %d <= MIN <= MAX "
			     "<= %d, e.g. --range 600-999", s, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX);
}

static int parse_id(qi_handle *h, struct qi_account_ids *ids, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *end;
	if (!eq || eq == arg || !eq[1])
		return qi_error_kind(h, QI_ERR_USAGE, "--id '%s': give NAME=NUMBER, e.g. --id qmaild=601",
				     arg);
	errno = 0;
	long long id = strtoll(eq + 1, &end, 10);
	if (errno || *end)
		return qi_error_kind(h, QI_ERR_USAGE, "--id '%s': '%s' is not a number", arg, eq + 1);
	char *name = strndup(arg, (size_t)(eq - arg));
	int rc = qi_accounts_set_id(h, ids, name, id);
	free(name);
	return rc;
}

/* Append " ARG" to the run's description (shown by `qinstall status`). */
static void describe(char **cmd, const char *arg)
{
	char *n;
	if (asprintf(&n, "%s %s", *cmd, arg) < 0)
		abort();
	free(*cmd);
	*cmd = n;
}

/* SPEC from the defaults, the profile, then the options; *CMD says how. */
static int build_spec(qi_handle *h, struct qi_accounts_spec *spec, struct qi_profile **profile,
		      char **cmd)
{
	qi_accounts_default(spec);
	*cmd = strdup("users");
	if (!*cmd)
		abort();
	if (o.profile) {
		if (qi_profile_load(h, o.profile, profile) < 0 ||
		    qi_profile_accounts_spec(h, *profile, spec) < 0)
			return -1;
		describe(cmd, "--profile");
		describe(cmd, o.profile);
	}
	if (o.ids) {
		if (strcmp(o.ids, "auto") == 0)
			spec->ids_auto = true;
		else if (strcmp(o.ids, "pinned") == 0)
			spec->ids_auto = false;
		else
			return qi_error_kind(h, QI_ERR_USAGE, "--ids '%s': give auto or pinned", o.ids);
		describe(cmd, spec->ids_auto ? "--ids auto" : "--ids pinned");
	}
	for (size_t i = 0; o.id && o.id[i]; i++) {
		if (spec->ids_auto)
			return qi_error_kind(h, QI_ERR_USAGE, "--id %s pins an id, but --ids auto picks "
					     "them all: give one or the other", o.id[i]);
		if (parse_id(h, &spec->ids, o.id[i]) < 0)
			return -1;
		describe(cmd, "--id");
		describe(cmd, o.id[i]);
	}
	if (o.range) {
		if (!spec->ids_auto)
			return qi_error_kind(h, QI_ERR_USAGE, "--range is the range --ids auto picks "
					     "from: add --ids auto, or drop --range");
		if (parse_range(h, o.range, &spec->auto_min, &spec->auto_max) < 0)
			return -1;
		describe(cmd, "--range");
		describe(cmd, o.range);
	}
	if (o.shell) {
		spec->shell = o.shell;
		describe(cmd, "--shell");
		describe(cmd, o.shell);
	}
	if (o.qmail_home) {
		spec->qmail_home = o.qmail_home;
		describe(cmd, "--qmail-home");
		describe(cmd, o.qmail_home);
	}
	if (o.lock_wait) {
		char *end;
		errno = 0;
		long secs = strtol(o.lock_wait, &end, 10);
		if (errno || end == o.lock_wait || *end || secs < 0 || secs > 3600)
			return qi_error_kind(h, QI_ERR_USAGE, "--lock-wait '%s': give a whole number "
					     "of seconds from 0 to 3600", o.lock_wait);
		spec->lock_wait_ms = secs > 0 ? (int)secs * 1000 : 1;
	}
	return 0;
}

/* What was done, or would be, as a table (from the result's keys). */
static void print_report(struct qi_cli *cli, bool done)
{
	json_t *r = qi_result(cli->h);
	size_t i;
	json_t *a;
	const char *verb = done ? "created" : qi_check(cli->h) ? "would be created" : "to create";
	const char *verb2 = done ? "completed" : "would be completed";
	qi_out(cli, "qmail's accounts in %s (shell %s; ids %s):\n", qi_root(cli->h),
	       json_string_value(json_object_get(r, "shell")),
	       json_is_true(json_object_get(r, "ids_auto")) ? "picked by --ids auto" : "pinned");
	json_array_foreach(json_object_get(r, "accounts"), i, a) {
		const char *act = json_string_value(json_object_get(a, "action"));
		qi_out(cli, "  %-5s %-8s %6lld  %s\n", json_string_value(json_object_get(a, "type")),
		       json_string_value(json_object_get(a, "name")),
		       (long long)json_integer_value(json_object_get(a, "id")),
		       strcmp(act, "create") == 0 ? verb
		       : strcmp(act, "complete") == 0 ? verb2 : "present");
	}
	json_array_foreach(json_object_get(r, "homes"), i, a) {
		const char *act = json_string_value(json_object_get(a, "action"));
		qi_out(cli, "  home  %s %s %s  %s\n", json_string_value(json_object_get(a, "path")),
		       json_string_value(json_object_get(a, "owner")),
		       json_string_value(json_object_get(a, "mode")),
		       strcmp(act, "create") == 0 ? verb
		       : strcmp(act, "kept") == 0 ? "present, mode or owner differ (left as is)" : "present");
	}
}

static int run(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	struct qi_accounts_spec spec;
	struct qi_account_ids ids;
	struct qi_profile *profile = NULL;
	char *cmd = NULL;
	bool pending = false;
	int rc = -1;

	if (argc > 0) {
		rc = qi_error_kind(h, QI_ERR_USAGE, "users takes no operands ('%s')", argv[0]);
		goto out;
	}
	if (build_spec(h, &spec, &profile, &cmd) < 0)
		goto out;
	if (qi_check(h)) {
		rc = qi_accounts_ensure(h, &spec, &ids);
		if (rc == 0) {
			print_report(cli, false);
			qi_set_msg(h, qi_changed(h) ? "qmail's accounts would be created or completed"
				   : "qmail's accounts are present as wanted: nothing would change");
		}
		goto out;
	}
	if (qi_accounts_resolve(h, &spec, &ids, &pending) < 0)
		goto out;
	if (!pending) {
		print_report(cli, false);
		qi_out(cli, "Nothing to change: qmail's accounts are present as wanted.\n");
		qi_set_msg(h, "qmail's accounts are present as wanted: nothing changed");
		rc = 0;
		goto out;
	}
	if (qi_run_begin(h, cmd) < 0)
		goto out;
	if (qi_accounts_ensure(h, &spec, &ids) < 0) {
		qi_run_abort(h);
		goto out;
	}
	if (qi_run_commit(h) < 0)
		goto out;
	print_report(cli, true);
	qi_out(cli, "Undo with `qinstall%s%s rollback`.\n", qi_root_is_host(h) ? "" : " --root ",
	       qi_root_is_host(h) ? "" : qi_root(h));
	qi_set_msg(h, "qmail's accounts were created or completed");
	rc = 0;
out:
	if (profile)
		qi_profile_free(profile);
	free(cmd);
	return rc;
}

const struct qi_command qi_cmd_users = {
	.name = "users",
	.args = NULL,
	.summary = "create qmail's users and groups with pinned ids, or say why not",
	.description =
	"Creates the groups nofiles and qmail and the users alias, qmaild, qmaill,\n"
	"qmailp (group nofiles), qmailq, qmailr and qmails (group qmail) in ROOT's\n"
	"/etc/passwd, group, shadow and gshadow, with a non-login shell, locked\n"
	"passwords and no home skeleton, and makes their homes (QMAIL_HOME root:qmail\n"
	"0755, QMAIL_HOME/alias alias:qmail 02755). The ids are the seed guide's\n"
	"(nofiles 600, qmail 601, users 600-606) unless a profile or --id pins others,\n"
	"or --ids auto picks the lowest free block. Accounts already present as wanted\n"
	"are left alone; any conflict (an id held by another name, an account with\n"
	"another id, group, home or shell) is listed with a suggestion and nothing is\n"
	"changed. The files are locked the way shadow-utils locks them, and every\n"
	"change is journaled: `qinstall rollback` gives the files back byte for byte.",
	.options = options,
	.run = run,
};
