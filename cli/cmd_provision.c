/*
 * cmd_provision.c - `qinstall provision` (build and install a profile into
 * ROOT as one journaled run) and `qinstall plan` (= provision --check:
 * what would change, nothing written).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct poptOption options[] = {
	{ "profile", 'p', POPT_ARG_STRING, &qi_pargs.profile, 0,
	  "what to provision: a shipped profile NAME (`qinstall profile list`) or a FILE "
	  "(default: netqmail)", "NAME|FILE" },
	QI_PROFILE_SOURCE_OPTIONS
	QI_PROFILE_MAIL_OPTIONS
	POPT_TABLEEND
};

/* plan fetches nothing, so it has no --mirror. */
static const struct poptOption plan_options[] = {
	{ "profile", 'p', POPT_ARG_STRING, &qi_pargs.profile, 0,
	  "what to plan: a shipped profile NAME (`qinstall profile list`) or a FILE "
	  "(default: netqmail)", "NAME|FILE" },
	{ "offline", 0, POPT_ARG_NONE, &qi_pargs.offline, 0,
	  "accepted for symmetry with provision (plan never downloads)", NULL },
	{ "rebuild", 0, POPT_ARG_NONE, &qi_pargs.rebuild, 0,
	  "plan as if the build cache were empty (what provision --rebuild would do)", NULL },
	QI_PROFILE_MAIL_OPTIONS
	POPT_TABLEEND
};

/* The options and their states (plan's, before the steps). */
static void print_options(struct qi_cli *cli)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(qi_result(cli->h), "options"), i, v)
		qi_out(cli, "option   %-20s %-3s  (%s)\n", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "state")),
		       json_string_value(json_object_get(v, "origin")));
}

/* What the mail configuration leaves as the administrator has it. */
static void print_mail_left(struct qi_cli *cli)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(qi_result(cli->h), "mail"), "control"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "action")), "left") == 0)
			qi_out(cli, "%-8s %s  (mail): the administrator's or another MTA's\n", "left",
			       json_string_value(json_object_get(v, "path")));
}

static int plan(struct qi_cli *cli, struct qi_profile *p, const struct qi_provision_options *opt)
{
	qi_handle *h = cli->h;
	if (qi_provision_plan(h, p, opt) < 0)
		return -1;
	json_t *res = qi_result(h);
	size_t i;
	json_t *v;
	print_options(cli);
	json_array_foreach(json_object_get(res, "steps"), i, v) {
		const char *note = json_string_value(json_object_get(v, "note"));
		qi_out(cli, "step     %s: %s%s%s%s\n", json_string_value(json_object_get(v, "component")),
		       json_string_value(json_object_get(v, "step")), note ? " (" : "", note ? note : "",
		       note ? ")" : "");
	}
	json_t *pl = json_object_get(res, "plan");
	json_array_foreach(pl, i, v) {
		const char *note = json_string_value(json_object_get(v, "note"));
		const char *account = json_string_value(json_object_get(v, "account"));
		if (account) {
			qi_out(cli, "%-8s %s %s %lld in %s  (accounts)\n",
			       json_string_value(json_object_get(v, "action")),
			       json_string_value(json_object_get(v, "type")), account,
			       (long long)json_integer_value(json_object_get(v, "id")),
			       json_string_value(json_object_get(v, "path")));
			continue;
		}
		qi_out(cli, "%-8s %s  (%s)%s%s\n", json_string_value(json_object_get(v, "action")),
		       json_string_value(json_object_get(v, "path")),
		       json_string_value(json_object_get(v, "component")), note ? ": " : "", note ? note : "");
	}
	print_mail_left(cli);
	if (qi_diff_wanted(h)) {
		json_t *d = qi_diff_json(h);
		if (d) {
			qi_out(cli, "\nbefore:\n%s\nafter:\n%s", json_string_value(json_object_get(d, "before")),
			       json_string_value(json_object_get(d, "after")));
			json_decref(d);
		}
	}
	size_t n = json_array_size(pl);
	if (n)
		qi_set_msg(h, "%zu change%s would be made in %s by profile %s", n, n == 1 ? "" : "s", qi_root(h),
			   qi_profile_file(p));
	else
		qi_set_msg(h, "nothing to do: %s already matches profile %s", qi_root(h), qi_profile_file(p));
	qi_out(cli, "%s\n", qi_msg(h));
	return 0;
}

static int provision(struct qi_cli *cli, struct qi_profile *p, const struct qi_provision_options *opt)
{
	qi_handle *h = cli->h;
	struct qi_provision *pv;
	if (qi_provision_prepare(h, p, opt, &pv) < 0)
		return -1;
	bool pending = true;
	if (qi_provision_pending(h, pv, &pending) < 0) {
		qi_provision_free(pv);
		return -1;
	}
	int rc = 0;
	if (pending) {
		char *what = NULL;
		if (asprintf(&what, "provision --profile %s", qi_pargs.profile) < 0)
			abort();
		rc = qi_run_begin(h, what);
		free(what);
	}
	if (rc == 0 && pending) {
		if (qi_provision_commit(h, pv) < 0 || qi_run_commit(h) < 0) {
			qi_run_abort(h);
			rc = -1;
		}
	}
	qi_provision_free(pv);
	if (rc < 0)
		return -1;
	json_t *res = qi_result(h);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "components"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "install")), "none") == 0)
			qi_out(cli, "%s-%s: install = none: fetched and verified for other components' "
			       "patches and copies, nothing installed\n", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "version")));
		else
			qi_out(cli, "%s-%s: %lld of %lld paths changed (%s; build log %s)\n",
		       json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "version")),
		       (long long)json_integer_value(json_object_get(v, "changed")),
		       (long long)json_integer_value(json_object_get(v, "files")),
		       json_is_true(json_object_get(v, "cached")) ? "from the build cache" : "built",
		       json_string_value(json_object_get(v, "build_log")));
	json_t *mail = json_object_get(res, "mail");
	if (mail)
		qi_out(cli, "mail: %s, admin %s, sendmail %s\n", json_string_value(json_object_get(mail, "domain")),
		       json_string_value(json_object_get(mail, "admin")),
		       json_string_value(json_object_get(mail, "sendmail")));
	json_t *svc = json_object_get(res, "qmail_services");
	json_array_foreach(json_object_get(svc, "services"), i, v)
		qi_out(cli, "service %s: %s, linked in %s, log %s\n", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "dir")),
		       json_string_value(json_object_get(svc, "service_dir")),
		       json_string_value(json_object_get(v, "log")));
	if (qi_changed(h))
		qi_set_msg(h, "provisioned %s into %s; `qinstall rollback` undoes it", qi_profile_file(p), qi_root(h));
	else
		qi_set_msg(h, "nothing to do: %s already matches profile %s", qi_root(h), qi_profile_file(p));
	qi_out(cli, "%s\n", qi_msg(h));
	return 0;
}

static int run_common(struct qi_cli *cli, int argc, bool plan_only)
{
	struct qi_profile *p = NULL;
	struct qi_provision_options opt = { .mirror = qi_pargs.mirror, .offline = qi_pargs.offline, .rebuild = qi_pargs.rebuild };
	int rc = qi_profile_args_load(cli, argc, &p);
	if (rc == 0)
		rc = plan_only || qi_check(cli->h) ? plan(cli, p, &opt) : provision(cli, p, &opt);
	qi_profile_free(p);
	qi_profile_args_reset();
	return rc;
}

static int run_provision(struct qi_cli *cli, int argc, const char **argv)
{
	return run_common(cli, argc, false);
}

static int run_plan(struct qi_cli *cli, int argc, const char **argv)
{
	return run_common(cli, argc, true);
}

const struct qi_command qi_cmd_provision = {
	.name = "provision",
	.args = NULL,
	.summary = "fetch, verify, patch, build and install a profile into ROOT (journaled)",
	.description =
		"Everything up to the staged tree happens in the work area (--cache-dir) and is\n"
		"cached by content: sources, patches and settings. Then the staged files, the\n"
		"svscan unit, qmail's first configuration ([mail] configure), qmail's services\n"
		"under daemontools with the SMTP relay rules ([services] qmail) and\n"
		"/var/lib/qinstall/provision.json go into ROOT as one journaled run that\n"
		"`qinstall rollback` undoes, with qmail's accounts when a component is built\n"
		"for them (netqmail), and the provenance file ([profile] provenance: options,\n"
		"sources, copies, patches and each hunk's outcome). Nothing is started unless\n"
		"ROOT is /. --with NAME and --without NAME turn the profile's options on and\n"
		"off (`qinstall profile show` lists them). Without --profile it provisions\n"
		"netqmail. With --check it is `qinstall plan`.\n"
		"See qinstall-provision(8).",
	.options = options,
	.run = run_provision,
};

const struct qi_command qi_cmd_plan = {
	.name = "plan",
	.args = NULL,
	.summary = "list every change provision would make (--diff for contents); writes nothing",
	.description =
		"The same as `qinstall provision --check`: reads the profile, the build cache and\n"
		"ROOT, and lists each path provision would create, replace or chmod. It writes\n"
		"nothing anywhere: not into ROOT, not into the cache (no download, no build).\n"
		"It lists each option of the profile first, on or off and why.\n"
		"See qinstall-plan(8).",
	.options = plan_options,
	.run = run_plan,
};
