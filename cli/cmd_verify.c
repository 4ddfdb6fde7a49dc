/*
 * cmd_verify.c - `qinstall verify`: ROOT against its journal.
 */
#include "config.h"

#include "cli.h"

static int run_verify(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc > 0)
		return qi_error_kind(h, QI_ERR_USAGE, "verify takes no arguments");
	int rc = qi_verify_root(h);
	json_t *drift = json_object_get(qi_result(h), "drift");
	size_t i;
	json_t *d;
	json_array_foreach(drift, i, d) {
		const char *path = json_string_value(json_object_get(d, "path"));
		const char *expected = json_string_value(json_object_get(d, "expected"));
		const char *found = json_string_value(json_object_get(d, "found"));
		qi_out(cli, "%s%s%s\n", path ? path : "", path ? ": " : "",
		       json_string_value(json_object_get(d, "problem")));
		if (expected)
			qi_out(cli, "    expected: %s\n", expected);
		if (found)
			qi_out(cli, "    found:    %s\n", found);
	}
	if (rc == 0)
		qi_out(cli, "%s\n", qi_msg(h));
	return rc;
}

const struct qi_command qi_cmd_verify = {
	.name = "verify",
	.args = NULL,
	.summary = "compare the root with what the journal says qinstall wrote",
	.description =
		"For every path qinstall changed (in runs not rolled back), compare what\n"
		"is there with what qinstall left: type, mode, owner, content hash and\n"
		"link target. Also checks that state.db is sound, that no run is left\n"
		"unfinished, and that every before-image a rollback would need is in the\n"
		"store. Each difference is listed (\"drift\" with --json); the exit\n"
		"status is 5 when there is any.",
	.options = NULL,
	.run = run_verify,
};
