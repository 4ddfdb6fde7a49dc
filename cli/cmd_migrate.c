/*
 * cmd_migrate.c - `qinstall migrate`: a running Postfix, Exim or sendmail
 * handed over to qmail in one journaled run (qinstall-migrate(8)).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char *from, *queue;
	int drain_timeout, check;
} m;

static const struct poptOption options[] = {
	{ "profile", 'p', POPT_ARG_STRING, &qi_pargs.profile, 0,
	  "the qmail to install: a shipped profile NAME or a FILE (default: netqmail)", "NAME|FILE" },
	{ "from", 0, POPT_ARG_STRING, &m.from, 0,
	  "the MTA taken over: auto (what dpkg says ROOT runs; the default), postfix, exim or sendmail",
	  "MTA" },
	{ "queue", 0, POPT_ARG_STRING, &m.queue, 0,
	  "its queued messages: carry (into qmail's queue, the default), drain (let it deliver "
	  "first, then carry the rest) or keep (left on disk, listed)", "MODE" },
	{ "drain-timeout", 0, POPT_ARG_INT, &m.drain_timeout, 0,
	  "how long --queue drain waits (default 300)", "SECONDS" },
	{ "check", 0, POPT_ARG_NONE, &m.check, 0,
	  "list every step and write nothing (as the global --check)", NULL },
	QI_PROFILE_SOURCE_OPTIONS
	QI_PROFILE_MAIL_OPTIONS
	POPT_TABLEEND
};

/* S with its control characters (a configuration's bytes, shown on a
 * terminal) written \xNN; malloc'd ("" for NULL). */
static char *printable(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *out = malloc(4 * n + 1), *o = out;
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static void print(struct qi_cli *cli)
{
	json_t *res = qi_result(cli->h);
	size_t i;
	json_t *v;
	json_t *from = json_object_get(res, "from");
	if (from && json_object_get(from, "package"))
		qi_out(cli, "from     %s: package %s %s\n", json_string_value(json_object_get(from, "mta")),
		       json_string_value(json_object_get(from, "package")),
		       json_string_value(json_object_get(from, "version")));
	json_array_foreach(json_object_get(res, "steps"), i, v)
		qi_out(cli, "%-8s %s\n", json_string_value(json_object_get(v, "step")),
		       json_string_value(json_object_get(v, "what")));
	json_t *q = json_object_get(res, "queue");
	if (q && !qi_check(cli->h))
		qi_out(cli, "queue    %lld found, %lld carried, %lld left\n",
		       (long long)json_integer_value(json_object_get(q, "found")),
		       (long long)json_integer_value(json_object_get(q, "carried")),
		       (long long)json_integer_value(json_object_get(q, "left_count")));
	json_array_foreach(json_object_get(q, "left"), i, v)
		qi_out(cli, "left     %s %s: %s\n", json_string_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "path")), json_string_value(json_object_get(v, "why")));
	/* of the old configuration, what did not convert as it was */
	json_array_foreach(json_object_get(json_object_get(res, "config"), "items"), i, v) {
		const char *outcome = json_string_value(json_object_get(v, "outcome"));
		if (strcmp(outcome, "converted") == 0)
			continue;
		const char *why = json_string_value(json_object_get(v, "why"));
		char *set = printable(json_string_value(json_object_get(v, "setting")));
		char *before = printable(json_string_value(json_object_get(v, "before")));
		char *because = printable(why);
		qi_out(cli, "config   %s: %s = %s%s%s\n", outcome, set, before, why ? ": " : "", why ? because : "");
		free(set);
		free(before);
		free(because);
	}
	if (qi_diff_wanted(cli->h)) {
		json_t *d = qi_diff_json(cli->h);
		if (d) {
			qi_out(cli, "\nbefore:\n%s\nafter:\n%s", json_string_value(json_object_get(d, "before")),
			       json_string_value(json_object_get(d, "after")));
			json_decref(d);
		}
	}
}

static int run_migrate(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (m.check)
		qi_set_check(h, true);
	struct qi_profile *p = NULL;
	struct qi_migrate_options opt = {
		.from = m.from, .queue = m.queue, .drain_timeout = m.drain_timeout,
		.provision = { .mirror = qi_pargs.mirror, .offline = qi_pargs.offline,
			       .rebuild = qi_pargs.rebuild },
	};
	int rc = m.drain_timeout < 0 ? qi_error_kind(h, QI_ERR_USAGE, "--drain-timeout %d: give seconds, "
						     "0 or more", m.drain_timeout) : 0;
	if (rc == 0)
		rc = qi_profile_args_load(cli, argc, &p);
	if (rc == 0)
		rc = qi_migrate(h, p, &opt);
	if (rc == 0 || json_object_get(qi_result(h), "steps"))
		print(cli);
	if (rc == 0) {
		if (qi_check(h) && !(qi_msg(h) && qi_msg(h)[0]))
			qi_set_msg(h, "%zu steps would take %s over (nothing was written)",
				   json_array_size(json_object_get(qi_result(h), "steps")), qi_root(h));
		qi_out(cli, "%s\n", qi_msg(h));
	}
	qi_profile_free(p);
	qi_profile_args_reset();
	free(m.from);
	free(m.queue);
	memset(&m, 0, sizeof(m));
	return rc;
}

const struct qi_command qi_cmd_migrate = {
	.name = "migrate",
	.args = NULL,
	.summary = "take a running Postfix, Exim or sendmail over with qmail (journaled; rollback undoes it)",
	.description =
		"Detects the MTA dpkg installed in ROOT and converts its configuration (each\n"
		"setting listed: converted, warned or not converted; the qmail files that\n"
		"result written to /var/backups/qinstall-migrate/converted for review, not\n"
		"installed; without --domain its host name is qmail's), then in one journaled\n"
		"run: stops it,\n"
		"provisions the profile (qmail), carries every queued message into qmail's queue\n"
		"with its envelope (or drains or keeps the queue: --queue), keeps the old\n"
		"packages' .debs, has dpkg remove them (never purge) and install qinstall-mta in\n"
		"their place (a stand-in that provides mail-transport-agent, so that bsd-mailx,\n"
		"cron and the rest stay installed), points sendmail, mailq and newaliases at\n"
		"qmail, and starts qmail.\n"
		"Any failure rolls everything back; `qinstall rollback` brings the old MTA back\n"
		"with its undelivered messages. --check lists every step and writes nothing.\n"
		"See qinstall-migrate(8).",
	.options = options,
	.run = run_migrate,
};
