/*
 * cmd_status.c - `qinstall status`: the runs, newest first.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The name a hunk record gives its patch, for people: the file's base
 * name, without an URL's #sha256=... pin (malloc'd). */
static char *patch_name(const char *patch)
{
	const char *base = strrchr(patch, '/') ? strrchr(patch, '/') + 1 : patch;
	return strndup(base, strcspn(base, "#"));
}

/* One hunk that did not apply as written: " dns.c #1 offset -2", " qmail-smtpd.c
 * #3 rule insert/insert", " Makefile #7 merged", " x.c #2 FAILED". */
static void print_hunk(struct qi_cli *cli, json_t *hk)
{
	long long off = json_integer_value(json_object_get(hk, "offset"));
	long long fuzz = json_integer_value(json_object_get(hk, "fuzz"));
	const char *outcome = json_string_value(json_object_get(hk, "outcome"));
	const char *rule = json_string_value(json_object_get(hk, "rule"));
	qi_out(cli, " %s #%lld", json_string_value(json_object_get(hk, "file")),
	       (long long)json_integer_value(json_object_get(hk, "hunk")));
	if (!outcome && !json_is_true(json_object_get(hk, "applied")))
		qi_out(cli, " FAILED");
	if (outcome && strcmp(outcome, "offset") != 0 && strcmp(outcome, "fuzz") != 0)
		qi_out(cli, " %s%s%s", outcome, rule ? " " : "", rule ? rule : "");
	if (off)
		qi_out(cli, " offset %+lld", off);
	if (fuzz)
		qi_out(cli, " fuzz %lld", fuzz);
}

static bool hunk_clean(json_t *hk)
{
	const char *outcome = json_string_value(json_object_get(hk, "outcome"));
	return json_is_true(json_object_get(hk, "applied")) && !json_integer_value(json_object_get(hk, "offset")) &&
	       !json_integer_value(json_object_get(hk, "fuzz")) && (!outcome || strcmp(outcome, "clean") == 0);
}

/* The patches a component was built with, one line a patch: how many
 * hunks, how many applied as written, then each other hunk and its
 * outcome ("patch qmail-103.patch: 3 hunks, 0 clean: dns.c #1 offset -2,
 * ..."): offset N, fuzz N, merged, rule NAME, glue. The hunks of a patch
 * are consecutive records. */
static const char *hunk_patch(json_t *hunks, size_t i)
{
	return json_string_value(json_object_get(json_array_get(hunks, i), "patch"));
}

static void print_patches(struct qi_cli *cli, json_t *hunks)
{
	size_t n = json_array_size(hunks);
	for (size_t i = 0; i < n;) {
		const char *patch = hunk_patch(hunks, i);
		if (!patch) {
			i++;
			continue;
		}
		size_t end = i, clean = 0;
		while (end < n && hunk_patch(hunks, end) && strcmp(hunk_patch(hunks, end), patch) == 0)
			clean += hunk_clean(json_array_get(hunks, end++));
		char *name = patch_name(patch);
		qi_out(cli, "    patch %s: %zu hunk%s, %zu clean%s", name, end - i, end - i == 1 ? "" : "s", clean,
		       clean < end - i ? ":" : "");
		free(name);
		const char *sep = "";
		for (; i < end; i++) {
			if (hunk_clean(json_array_get(hunks, i)))
				continue;
			qi_out(cli, "%s", sep);
			print_hunk(cli, json_array_get(hunks, i));
			sep = ",";
		}
		qi_out(cli, "\n");
	}
}

/* What the last provision installed, and where each build log is. */
static void print_provisioned(struct qi_cli *cli)
{
	json_t *rec = json_object_get(qi_result(cli->h), "provisioned");
	if (!rec)
		return;
	qi_out(cli, "Provisioned from %s:\n", json_string_value(json_object_get(rec, "profile")));
	const char *domain = json_string_value(json_object_get(rec, "domain"));
	if (domain)
		qi_out(cli, "  mail domain    %s (admin %s)\n", domain,
		       json_string_value(json_object_get(rec, "admin")));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(rec, "components"), i, c) {
		const char *install = json_string_value(json_object_get(c, "install"));
		if (install && strcmp(install, "none") == 0) {
			qi_out(cli, "  %-14s %-10s install = none: its source only, for other components' "
			       "patches and copies\n", json_string_value(json_object_get(c, "name")),
			       json_string_value(json_object_get(c, "version")));
			continue;
		}
		qi_out(cli, "  %-14s %-10s %5lld files  build log %s\n",
		       json_string_value(json_object_get(c, "name")),
		       json_string_value(json_object_get(c, "version")),
		       (long long)json_integer_value(json_object_get(c, "files")),
		       json_string_value(json_object_get(c, "build_log")));
		print_patches(cli, json_object_get(c, "patches"));
	}
	json_t *svc = json_object_get(rec, "services");
	if (json_array_size(svc)) {
		json_t *name;
		qi_out(cli, "  services      ");
		json_array_foreach(svc, i, name)
			qi_out(cli, " %s", json_string_value(name));
		qi_out(cli, " (in %s)\n", json_string_value(json_object_get(rec, "service_dir")));
	}
	json_t *ids = json_object_get(rec, "ids");
	if (ids) {
		const char *name;
		json_t *id;
		qi_out(cli, "  ids:");
		json_object_foreach(ids, name, id)
			qi_out(cli, " %s %lld", name, (long long)json_integer_value(id));
		qi_out(cli, "\n");
	}
	qi_out(cli, "\n");
}

static int run_status(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc > 0)
		return qi_error_kind(h, QI_ERR_USAGE, "status takes no arguments");
	if (qi_status(h) < 0 || qi_provision_status(h) < 0)
		return -1;
	print_provisioned(cli);
	json_t *runs = json_object_get(qi_result(h), "runs");
	size_t n = json_array_size(runs);
	if (n == 0) {
		qi_set_msg(h, "no runs recorded in %s", qi_root(h));
		qi_out(cli, "%s\n", qi_msg(h));
		return 0;
	}
	qi_out(cli, "%5s  %-20s  %-19s  %7s  %s\n", "RUN", "STARTED", "STATE", "CHANGES", "COMMAND");
	size_t i;
	json_t *r;
	size_t unfinished = 0;
	json_array_foreach(runs, i, r) {
		const char *state = json_string_value(json_object_get(r, "state"));
		if (strstr(state, "unfinished"))
			unfinished++;
		qi_out(cli, "%5lld  %-20s  %-19s  %7lld  %s\n",
		       (long long)json_integer_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "started")), state,
		       (long long)json_integer_value(json_object_get(r, "changes")),
		       json_string_value(json_object_get(r, "command")));
	}
	qi_set_msg(h, "%zu run%s", n, n == 1 ? "" : "s");
	json_t *k;
	json_array_foreach(json_object_get(qi_result(h), "kept"), i, k) {
		char *full = qi_root_path(h, json_string_value(k));
		qi_out(cli, "Kept aside by a rollback (qinstall never removes it): %s\n", full);
		free(full);
	}
	if (unfinished)
		qi_out(cli, "An unfinished run blocks every change: qinstall --root %s rollback\n", qi_root(h));
	return 0;
}

const struct qi_command qi_cmd_status = {
	.name = "status",
	.args = NULL,
	.summary = "the runs, newest first, with their command, time, state and changes",
	.description =
		"States: running (in progress now), done, unfinished (interrupted: roll\n"
		"it back), rolling-back, rollback-unfinished (run rollback again),\n"
		"rolled-back. Times are UTC. With --json the runs are in \"runs\".\n"
		"When ROOT was provisioned, the mail domain, the components installed\n"
		"(with their patches: how many hunks applied as written, and each other\n"
		"hunk's outcome: offset N, fuzz N, merged, rule NAME, glue), qmail's services under daemontools,\n"
		"qmail's ids and where each build log\n"
		"is kept come first (\"provisioned\" with --json). The directories where\n"
		"rollbacks kept aside data qinstall did not write come last (\"kept\").",
	.options = NULL,
	.run = run_status,
};
