/*
 * cmd_patch.c - `qinstall patch`: a drop-in for GNU patch(1) on unified
 * diffs, run in process: the same messages, .rej/.orig files and exit
 * status (0 applied, 1 some hunks failed, 2 trouble). Works on the current
 * directory (or -d DIR), never on ROOT, and does not use the journal.
 * --merge --base DIR merges the files where a hunk fails three ways
 * against the pristine tree DIR (the library's patch/merge.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static struct {
	int strip, fuzz;
	int reverse, forward, force, batch, silent, dry_run, atomic, no_backup, merge;
	char *dir, *input, *base, *glue;
} o = { .strip = -1, .fuzz = 2 };	/* no -p: strip all of the directory */

static const struct poptOption patch_options[] = {
	{ "strip", 'p', POPT_ARG_INT, &o.strip, 0,
	  "strip the smallest prefix with N slashes from file names (default: all of the directory)", "N" },
	{ "fuzz", 'F', POPT_ARG_INT, &o.fuzz, 0,
	  "ignore up to N leading and trailing context lines when placing a hunk (default 2)", "N" },
	{ "reverse", 'R', POPT_ARG_NONE, &o.reverse, 0,
	  "apply the patch reversed (undo it)", NULL },
	{ "forward", 'N', POPT_ARG_NONE, &o.forward, 0,
	  "skip patches that look reversed or already applied", NULL },
	{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
	  "apply patches that look reversed or already applied as they are; never ask", NULL },
	{ "batch", 't', POPT_ARG_NONE, &o.batch, 0,
	  "assume -R for patches that look reversed; skip files that cannot be found", NULL },
	{ "silent", 's', POPT_ARG_NONE, &o.silent, 0,
	  "say nothing unless something goes wrong", NULL },
	{ "dry-run", 0, POPT_ARG_NONE, &o.dry_run, 0,
	  "print what would happen, change no file", NULL },
	{ "directory", 'd', POPT_ARG_STRING, &o.dir, 0,
	  "work in DIR (a relative -i FILE is then inside DIR too, as with patch(1))", "DIR" },
	{ "input", 'i', POPT_ARG_STRING, &o.input, 0,
	  "read the patch from FILE (default: standard input)", "FILE" },
	{ "atomic", 0, POPT_ARG_NONE, &o.atomic, 0,
	  "all or nothing: when any hunk fails, change no file and write no .rej", NULL },
	{ "no-backup-if-mismatch", 0, POPT_ARG_NONE, &o.no_backup, 0,
	  "make no FILE.orig when a hunk needed an offset or fuzz, or failed", NULL },
	{ "merge", 0, POPT_ARG_NONE, &o.merge, 0,
	  "merge the files where a hunk fails three ways against the pristine tree of --base "
	  "(not GNU patch's --merge: see qinstall-patch(8))", NULL },
	{ "base", 0, POPT_ARG_STRING, &o.base, 0,
	  "with --merge: the pristine tree the patch was made for", "DIR" },
	{ "glue", 0, POPT_ARG_STRING, &o.glue, 0,
	  "with --merge: a -p1 patch applied to the union of the true conflicts", "FILE" },
	POPT_TABLEEND
};

static int run(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc > 0)
		return qi_error_kind(h, QI_ERR_USAGE,
				     "qinstall patch takes no file operands (got '%s'): give the patch "
				     "with -i FILE or on standard input, and the directory with -d DIR",
				     argv[0]);
	if (o.fuzz < 0 || o.strip < -1)
		return qi_error_kind(h, QI_ERR_USAGE, "-F and -p take a number of 0 or more");
	if (o.merge && !o.base)
		return qi_error_kind(h, QI_ERR_USAGE, "--merge needs --base DIR: the pristine tree the "
				     "patch was made for");
	if ((o.base || o.glue) && !o.merge)
		return qi_error_kind(h, QI_ERR_USAGE, "--base and --glue are for --merge");
	if (o.merge && o.reverse)
		return qi_error_kind(h, QI_ERR_USAGE, "--merge does not reverse patches: drop -R");
	if (o.dir && chdir(o.dir) < 0)
		return qi_error_kind(h, QI_ERR_USAGE, "can't change to directory %s: %s", o.dir,
				     strerror(errno));
	char *text = NULL;
	size_t len = 0;
	if (qi_read_input(h, o.input, "patch file", 0, &text, &len) < 0)
		return -1;

	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = o.strip;
	opt.max_fuzz = o.fuzz;
	opt.reverse = o.reverse;
	opt.forward = o.forward;
	opt.force = o.force;
	opt.batch = o.batch;
	opt.silent = o.silent;
	opt.dry_run = o.dry_run || qi_check(h);
	opt.atomic = o.atomic;
	opt.no_backup_if_mismatch = o.no_backup || o.atomic;
	opt.no_reject_files = o.atomic;
	opt.label = o.input ? o.input : "-";
	opt.merge_base = o.base;
	opt.merge_glue = o.glue;

	struct qi_patch_report rep;
	int rc = qi_patch_apply(h, NULL, text, len, &opt, &rep);
	free(text);
	qi_out(cli, "%s", rep.text);
	fflush(stdout);
	json_object_set(qi_result(h), "hunks", rep.hunks);
	json_object_set_new(qi_result(h), "status", json_integer(rep.status));
	if (rep.changed)
		qi_set_changed(h);
	int status = rep.status;
	if (rc == 0 && status != 0 && opt.atomic)
		fprintf(stderr, "qinstall patch: --atomic: %s; no file was changed\n",
			rep.first_failure ? rep.first_failure : "the patch does not apply");
	if (rc == 0 && status != 0)
		qi_set_msg(h, "%s", rep.first_failure ? rep.first_failure : "some hunks failed");
	qi_patch_report_free(&rep);
	if (rc < 0)
		return -1;
	return status;
}

const struct qi_command qi_cmd_patch = {
	.name = "patch",
	.args = NULL,
	.summary = "apply a unified diff to the current directory, as GNU patch(1) does",
	.description =
		"Reads a unified diff (git's extended headers included) from -i FILE or standard\n"
		"input and applies it to the files under the current directory (or -d DIR) with\n"
		"GNU patch 2.7.6's rules and messages: the same placement search, fuzz (at most 2\n"
		"by default), reversed-patch detection, .rej files for failed hunks and .orig\n"
		"backups when a hunk needed an offset or fuzz. Where patch(1) would ask on a\n"
		"terminal, qinstall patch takes the default answer. --atomic changes nothing\n"
		"unless every hunk applies. --merge --base DIR merges each file where a hunk\n"
		"fails three ways (base: DIR's file; ours: the file here; theirs: DIR's file\n"
		"with the patch), resolves conflicts by the rules of qinstall-patch(8) and\n"
		"writes nothing on a true conflict. Exit status: 0 applied, 1 some hunks failed\n"
		"or a true conflict, 2 trouble (a malformed patch, an unreadable file). Not\n"
		"journaled; not on ROOT.",
	.options = patch_options,
	.run = run,
};

