/*
 * cmd_rollback.c - `qinstall rollback [--skip-damaged PATH]... [RUN]`: undo
 * the last run, or RUN and every later run, newest first; paths whose
 * before-images are damaged are left only when named; what was kept aside
 * is said last.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char **skip;	/* --skip-damaged PATH, repeated (popt's NULL-ended array) */
} o;

static const struct poptOption rollback_options[] = {
	{ "skip-damaged", 0, POPT_ARG_ARGV, &o.skip, 0,
	  "leave PATH as it is now, not rolled back, when its before-image is missing or "
	  "damaged in the store (repeat for each path the refusal names)", "PATH" },
	POPT_TABLEEND
};

/* RUN from the operands (0: the last run). */
static int parse_run(qi_handle *h, int argc, const char **argv, int64_t *run)
{
	*run = 0;
	if (argc > 1)
		return qi_error_kind(h, QI_ERR_USAGE, "rollback takes at most one RUN (see `qinstall status`)");
	if (argc == 1) {
		char *end;
		long long v = strtoll(argv[0], &end, 10);
		if (*end || end == argv[0] || v <= 0)
			return qi_error_kind(h, QI_ERR_USAGE, "'%s' is not a run number (see `qinstall status`)",
					     argv[0]);
		*run = v;
	}
	return 0;
}

/* Each change in the result's list KEY, after PREFIX. */
static void print_changes(struct qi_cli *cli, const char *key, const char *prefix)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(qi_result(cli->h), key), i, c) {
		const char *path = json_string_value(json_object_get(c, "path"));
		const char *to = json_string_value(json_object_get(c, "to"));
		qi_out(cli, "%s: run %lld %s %s%s%s\n", prefix,
		       (long long)json_integer_value(json_object_get(c, "run")),
		       json_string_value(json_object_get(c, "op")), path ? path : "",
		       to ? " -> " : "", to ? to : "");
	}
}

/* Whether PATH is a path ("path" or "to") of the changes before the I-th
 * of LEFT, or the I-th's own "path" when K is 1. */
static bool seen_before(json_t *left, size_t i, int k, const char *path)
{
	for (size_t j = 0; j <= i; j++) {
		json_t *c = json_array_get(left, j);
		const char *p = json_string_value(json_object_get(c, "path"));
		const char *to = json_string_value(json_object_get(c, "to"));
		if ((j < i || k == 1) && p && strcmp(p, path) == 0)
			return true;
		if (j < i && to && strcmp(to, path) == 0)
			return true;
	}
	return false;
}

/* "rolled back runs 3, 2" (and the paths left as they are). */
static void say_done(qi_handle *h, json_t *done, json_t *left)
{
	struct { char s[1024]; size_t used; } runs = { "", 0 }, paths = { "", 0 };
	size_t i, npaths = 0;
	json_t *r;
	json_array_foreach(done, i, r) {
		int n = snprintf(runs.s + runs.used, sizeof(runs.s) - runs.used, "%s%lld", i ? ", " : "",
				 (long long)json_integer_value(r));
		if (n < 0 || (size_t)n >= sizeof(runs.s) - runs.used)
			break;
		runs.used += (size_t)n;
	}
	json_array_foreach(left, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *to = json_string_value(json_object_get(r, "to"));
		for (int k = 0; k < 2; k++, p = to) {
			if (!p || seen_before(left, i, k, p))
				continue;
			int n = snprintf(paths.s + paths.used, sizeof(paths.s) - paths.used, "%s%s",
					 npaths ? ", " : "", p);
			if (n < 0 || (size_t)n >= sizeof(paths.s) - paths.used)
				break;
			paths.used += (size_t)n;
			npaths++;
		}
	}
	if (npaths)
		qi_set_msg(h, "rolled back run%s %s, leaving %s as %s now (not rolled back)",
			   json_array_size(done) == 1 ? "" : "s", runs.s, paths.s,
			   npaths == 1 ? "it is" : "they are");
	else
		qi_set_msg(h, "rolled back run%s %s", json_array_size(done) == 1 ? "" : "s", runs.s);
}

/* What is (or would be) kept aside, and where: the last lines. */
static void say_kept(struct qi_cli *cli)
{
	json_t *res = qi_result(cli->h);
	bool check = qi_check(cli->h);
	size_t i;
	if (check) {
		json_t *c;
		json_array_foreach(json_object_get(res, "kept"), i, c)
			qi_out(cli, "would keep aside: %s (as %s)\n",
			       json_string_value(json_object_get(c, "path")),
			       json_string_value(json_object_get(c, "kept_at")));
	}
	json_t *d;
	json_array_foreach(json_object_get(res, "kept_dirs"), i, d) {
		char *full = qi_root_path(cli->h, json_string_value(d));
		qi_out(cli, "%s what qinstall did not write in %s: qinstall never removes it; look "
		       "through it, then remove it yourself\n", check ? "would keep" : "kept", full);
		free(full);
	}
}

static int run_rollback(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	int64_t run;
	size_t nskip = 0;
	while (o.skip && o.skip[nskip])
		nskip++;
	int rc = parse_run(h, argc, argv, &run);
	if (rc == 0)
		rc = qi_rollback_leaving(h, run, (const char *const *)o.skip, nskip);
	for (size_t i = 0; i < nskip; i++)
		free(o.skip[i]);
	free(o.skip);
	o.skip = NULL;
	if (rc < 0)
		return -1;
	json_t *res = qi_result(h);
	size_t nleft = json_array_size(json_object_get(res, "left"));
	if (qi_check(h)) {
		print_changes(cli, "left", "would leave");
		print_changes(cli, "changes", "would undo");
		size_t n = json_array_size(json_object_get(res, "changes"));
		qi_set_msg(h, "%zu change%s would be undone%s (--check: nothing written)", n, n == 1 ? "" : "s",
			   nleft ? ", the left ones not" : "");
	} else if (json_array_size(json_object_get(res, "rolled_back")) > 0) {
		say_done(h, json_object_get(res, "rolled_back"), json_object_get(res, "left"));
	}
	if (qi_msg(h))
		qi_out(cli, "%s\n", qi_msg(h));
	say_kept(cli);
	return 0;
}

const struct qi_command qi_cmd_rollback = {
	.name = "rollback",
	.args = "[RUN]",
	.summary = "undo the last run, or RUN and every later run",
	.description =
		"Undo the changes of the last run that is not rolled back yet, newest\n"
		"first, giving every path back its type, mode, owner, content and link\n"
		"target. With RUN, that run and every later one are rolled back. A run\n"
		"left unfinished by a crash is rolled back the same way, and a rollback\n"
		"that was interrupted completes when run again.\n"
		"\n"
		"Before anything is undone, every before-image the rollback will read\n"
		"from the store is checked: there, a regular file, its content matching\n"
		"its sha256. If one is missing or damaged, nothing is undone and the\n"
		"message names each path, hash and run. Put the content back (into the\n"
		"store, or at the path by hand) and run it again; or name each such\n"
		"path with --skip-damaged PATH: those paths stay as they are now (the\n"
		"journal records their changes as left, and a warning says so before\n"
		"anything is undone), everything else is rolled back, and the runs are\n"
		"then complete. --check says exactly what a rollback would do, refusals\n"
		"included, and writes nothing.\n"
		"\n"
		"A rollback never deletes data that qinstall did not write: what was put\n"
		"into a directory it removes (mail, queued messages, logs), and a file a\n"
		"run wrote that was edited since, are first moved (renamed, never copied)\n"
		"into ROOT/var/lib/qinstall/kept/run-N-TIME/PATH; a warning names each,\n"
		"the last line says where, and qinstall never removes it.",
	.options = rollback_options,
	.run = run_rollback,
};
