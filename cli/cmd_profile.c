/*
 * cmd_profile.c - `qinstall profile show|list`: the resolved profile and
 * where each value came from.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *opt_profile;

static const struct poptOption options[] = {
	{ "profile", 'p', POPT_ARG_STRING, &opt_profile, 0,
	  "the profile: a shipped NAME (see `qinstall profile list`) or a FILE", "NAME|FILE" },
	POPT_TABLEEND
};

static int show(struct qi_cli *cli, const char *name)
{
	qi_handle *h = cli->h;
	struct qi_profile *p;
	if (qi_profile_load(h, name, &p) < 0)
		return -1;
	json_t *j = qi_profile_to_json(p);
	qi_out(cli, "# profile %s\n", qi_profile_file(p));
	size_t i;
	json_t *sec;
	json_array_foreach(json_object_get(j, "sections"), i, sec) {
		qi_out(cli, "\n[%s]\n", json_string_value(json_object_get(sec, "name")));
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(sec, "values"), k, v) {
			char line[4096];
			snprintf(line, sizeof(line), "%s = %s", json_string_value(json_object_get(v, "key")),
				 json_string_value(json_object_get(v, "value")));
			qi_out(cli, "%-48s # %s\n", line, json_string_value(json_object_get(v, "origin")));
		}
	}
	json_t *opt;
	if (json_array_size(json_object_get(j, "options")))
		qi_out(cli, "\n# options (--with NAME, --without NAME)\n");
	json_array_foreach(json_object_get(j, "options"), i, opt)
		qi_out(cli, "# %-20s %-3s  (%s)%s%s\n", json_string_value(json_object_get(opt, "name")),
		       json_string_value(json_object_get(opt, "state")),
		       json_string_value(json_object_get(opt, "origin")),
		       json_object_get(opt, "description") ? "  " : "",
		       json_object_get(opt, "description") ?
		       json_string_value(json_object_get(opt, "description")) : "");
	json_object_set_new(qi_result(h), "profile", j);
	qi_set_msg(h, "profile %s", qi_profile_file(p));
	qi_profile_free(p);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(struct qi_cli *cli)
{
	qi_handle *h = cli->h;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/profiles", qi_data_dir(h));
	DIR *d = opendir(dir);
	if (!d)
		return qi_error_errno(h, "cannot list the shipped profiles in %s", dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 8 && strcmp(de->d_name + len - 8, ".profile") == 0) {
			names = realloc(names, (n + 1) * sizeof(*names));
			if (!names)
				abort();
			names[n++] = strndup(de->d_name, len - 8);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct qi_profile *p;
		const char *desc = "";
		if (qi_profile_load(h, names[i], &p) == 0) {
			const char *v = qi_profile_get(p, "profile", "description");
			desc = v ? v : "";
		} else {
			qi_warn(h, "%s", qi_errmsg(h));
			qi_clear_error(h);
			p = NULL;
		}
		qi_out(cli, "%-28s %s\n", names[i], desc);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "name", names[i], "description", desc));
		qi_profile_free(p);
		free(names[i]);
	}
	free(names);
	json_object_set_new(qi_result(h), "profiles", arr);
	return 0;
}

static int run(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	const char *action = argc > 0 ? argv[0] : "show";
	int rc;
	if (strcmp(action, "show") == 0 && argc <= 2) {
		const char *name = argc == 2 ? argv[1] : opt_profile;
		if (!name)
			rc = qi_error_kind(h, QI_ERR_USAGE,
					   "profile show needs a profile: qinstall profile show NAME|FILE (or --profile)");
		else
			rc = show(cli, name);
	} else if (strcmp(action, "list") == 0 && argc == 1) {
		rc = list(cli);
	} else {
		rc = qi_error_kind(h, QI_ERR_USAGE,
				   "usage: qinstall profile show [NAME|FILE] | qinstall profile list");
	}
	free(opt_profile);
	opt_profile = NULL;
	return rc;
}

const struct qi_command qi_cmd_profile = {
	.name = "profile",
	.args = "show [NAME|FILE] | list",
	.summary = "show a provisioning profile as resolved, with where each value came from",
	.description =
		"`profile show` loads a profile with its includes and prints every setting in\n"
		"force, each with the file and line that set it (or \"default\"), then each\n"
		"option, on or off, and where that came from (\"options\" with --json). A NAME is a\n"
		"shipped profile (DATADIR/profiles/NAME.profile); a path is your own file.\n"
		"`profile list` lists the shipped profiles. The format: qinstall-profile(5).",
	.options = options,
	.run = run,
};
