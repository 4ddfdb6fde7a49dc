/*
 * cmd_apply.c - `qinstall apply FILE`: a list of file operations made as
 * one journaled run (see applyfile.c for the format).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run_apply(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc != 1)
		return qi_error_kind(h, QI_ERR_USAGE, "apply needs exactly one FILE (the operation list; - for stdin)");
	const char *file = argv[0];
	int rc = qi_apply_file(h, file);
	if (rc == 0) {
		json_t *changes = json_object_get(qi_result(h), "changes");
		size_t n = json_array_size(changes);
		size_t i;
		json_t *c;
		/* a long list is summed up unless -v asks for every line */
		bool list_all = qi_verbosity(h) > 0 || (qi_verbosity(h) == 0 && n <= 100);
		json_array_foreach(changes, i, c) {
			if (!list_all)
				break;
			const char *to = json_string_value(json_object_get(c, "to"));
			qi_out(cli, "%s %s%s%s\n", json_string_value(json_object_get(c, "op")),
			       json_string_value(json_object_get(c, "path")), to ? " -> " : "", to ? to : "");
		}
		if (qi_check(h))
			qi_set_msg(h, "%zu change%s would be made (--check: nothing written)", n, n == 1 ? "" : "s");
		else if (n)
			qi_set_msg(h, "%zu change%s made as run %lld (undo: qinstall --root %s rollback)",
				   n, n == 1 ? "" : "s", (long long)qi_run_id(h), qi_root(h));
		else
			qi_set_msg(h, "nothing to change");
		qi_out(cli, "%s\n", qi_msg(h));
		if (!list_all && n && qi_verbosity(h) == 0)
			qi_out(cli, "(-v lists every change)\n");
	}
	return rc;
}

const struct qi_command qi_cmd_apply = {
	.name = "apply",
	.args = "FILE",
	.summary = "apply a list of file operations as one journaled run",
	.description =
		"FILE lists one operation per line (\"#\" starts a comment; - reads stdin):\n"
		"  mkdir   PATH MODE OWNER:GROUP\n"
		"  file    PATH MODE OWNER:GROUP SOURCE\n"
		"  symlink PATH TARGET\n"
		"  fifo    PATH MODE OWNER:GROUP\n"
		"  chmod   PATH MODE\n"
		"  chown   PATH OWNER:GROUP\n"
		"  remove  PATH\n"
		"  rename  FROM TO\n"
		"PATHs are absolute inside the root; owners are names in the root's\n"
		"passwd/group, or numbers; a relative SOURCE is relative to FILE's\n"
		"directory. The whole list is checked before anything is changed; the\n"
		"changes form one run that `qinstall rollback` undoes.",
	.options = NULL,
	.run = run_apply,
};
