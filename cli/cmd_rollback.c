/*
 * cmd_rollback.c - `qinstall rollback [RUN]`: undo the last run, or RUN
 * and every later run, newest first.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run_rollback(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	int64_t run = 0;
	if (argc > 1)
		return qi_error_kind(h, QI_ERR_USAGE, "rollback takes at most one RUN (see `qinstall status`)");
	if (argc == 1) {
		char *end;
		long long v = strtoll(argv[0], &end, 10);
		if (*end || end == argv[0] || v <= 0)
			return qi_error_kind(h, QI_ERR_USAGE, "'%s' is not a run number (see `qinstall status`)",
					     argv[0]);
		run = v;
	}
	if (qi_rollback(h, run) < 0)
		return -1;
	json_t *done = json_object_get(qi_result(h), "rolled_back");
	if (qi_check(h)) {
		json_t *changes = json_object_get(qi_result(h), "changes");
		size_t i;
		json_t *c;
		json_array_foreach(changes, i, c)
			qi_out(cli, "would undo: run %lld %s %s\n",
			       (long long)json_integer_value(json_object_get(c, "run")),
			       json_string_value(json_object_get(c, "op")),
			       json_string_value(json_object_get(c, "path")) ?
			       json_string_value(json_object_get(c, "path")) : "");
		size_t n = json_array_size(changes);
		qi_set_msg(h, "%zu change%s would be undone (--check: nothing written)", n, n == 1 ? "" : "s");
	} else if (json_array_size(done) > 0) {
		char list[1024] = "";
		size_t i, used = 0;
		json_t *r;
		json_array_foreach(done, i, r) {
			int n = snprintf(list + used, sizeof(list) - used, "%s%lld", i ? ", " : "",
					 (long long)json_integer_value(r));
			if (n < 0 || (size_t)n >= sizeof(list) - used)
				break;
			used += (size_t)n;
		}
		qi_set_msg(h, "rolled back run%s %s", json_array_size(done) == 1 ? "" : "s", list);
	}
	if (qi_msg(h))
		qi_out(cli, "%s\n", qi_msg(h));
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
		"that was interrupted completes when run again. Before anything is undone,\n"
		"every before-image needed is checked to be in the store.",
	.options = NULL,
	.run = run_rollback,
};
