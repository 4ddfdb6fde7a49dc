/*
 * main.c - qinstall's front end: global options, command dispatch, the
 * JSON result and the exit code. Everything else lives in the library.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The command table: `qinstall --help` lists them in this order. */
static const struct qi_command *const commands[] = {
	&qi_cmd_provision,
	&qi_cmd_plan,
	&qi_cmd_profile,
	&qi_cmd_users,
	&qi_cmd_mailuser,
	&qi_cmd_fetch,
	&qi_cmd_patch,
	&qi_cmd_apply,
	&qi_cmd_rollback,
	&qi_cmd_status,
	&qi_cmd_verify,
	&qi_cmd_smoke,
	&qi_cmd_migrate,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static struct {
	char *root;
	char *cache_dir;
	int json, check, diff, yes;
	int verbosity;
} g;

enum { OPT_HELP = 1, OPT_VERSION, OPT_VERBOSE, OPT_QUIET };

static struct poptOption global_options[] = {
	{ "root", 0, POPT_ARG_STRING, &g.root, 0,
	  "act on the system image mounted at DIR (default /)", "DIR" },
	{ "cache-dir", 0, POPT_ARG_STRING, &g.cache_dir, 0,
	  "work area and caches (default /var/cache/qinstall, or $QINSTALL_CACHE_DIR)", "DIR" },
	{ "json", 0, POPT_ARG_NONE, &g.json, 0,
	  "print one JSON object on stdout (logs stay on stderr)", NULL },
	{ "check", 0, POPT_ARG_NONE, &g.check, 0,
	  "dry run: say what would change, write nothing (not even the state)", NULL },
	{ "diff", 0, POPT_ARG_NONE, &g.diff, 0,
	  "show the before and after of each change", NULL },
	{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE, "say more (repeat for more still)", NULL },
	{ "quiet", 'q', POPT_ARG_NONE, NULL, OPT_QUIET, "say only warnings and errors", NULL },
	{ "yes", 'y', POPT_ARG_NONE, &g.yes, 0,
	  "never prompt (qinstall never prompts when stdin is not a terminal)", NULL },
	{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, "show this help", NULL },
	{ "version", 0, POPT_ARG_NONE, NULL, OPT_VERSION, "print the version", NULL },
	POPT_TABLEEND
};

void qi_out(struct qi_cli *cli, const char *fmt, ...)
{
	if (cli->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

bool qi_confirm(struct qi_cli *cli, const char *question)
{
	if (g.yes || !isatty(STDIN_FILENO) || cli->json)
		return true;
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static void print_main_help(FILE *out)
{
	fprintf(out,
		"Usage: qinstall [OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n"
		"\n"
		"Install qmail from verified sources and take a mail server over, with\n"
		"every change journaled so that `qinstall rollback` undoes it.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n"
		"Options (before or after the command):\n");
	for (const struct poptOption *o = global_options; o->longName || o->shortName; o++) {
		char left[64];
		if (o->shortName)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->shortName, o->longName,
				 o->argDescrip ? " " : "", o->argDescrip ? o->argDescrip : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->longName,
				 o->argDescrip ? " " : "", o->argDescrip ? o->argDescrip : "");
		fprintf(out, "  %-24s %s\n", left, o->descrip);
	}
	fprintf(out,
		"\n"
		"`qinstall COMMAND --help` describes a command. Exit status: 0 done, 1 failed,\n"
		"2 usage error, 3 another run holds the lock, 4 an unfinished run must be\n"
		"rolled back first, 5 verify found drift. See qinstall(8).\n");
}

static void print_command_help(const struct qi_command *cmd, poptContext ctx)
{
	printf("Usage: qinstall %s [OPTIONS]%s%s\n\n%s\n", cmd->name,
	       cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary);
	if (cmd->description)
		printf("\n%s\n", cmd->description);
	printf("\n");
	/* poptPrintHelp starts with a usage line of its own: drop it, ours
	 * is above. */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		return;
	poptSetOtherOptionHelp(ctx, "");
	poptPrintHelp(ctx, mem, 0);
	fclose(mem);
	const char *body = strstr(text, "\n\n");
	fputs(body ? body + 2 : text, stdout);
	free(text);
}

/* Handle the options whose val is set in global_options; returns -1 to
 * exit at once with *exit_code. */
static int global_option(int rc, int *exit_code)
{
	switch (rc) {
	case OPT_VERBOSE:
		g.verbosity = g.verbosity < 0 ? 1 : g.verbosity + 1;
		return 0;
	case OPT_QUIET:
		g.verbosity = -1;
		return 0;
	case OPT_VERSION:
		printf("qinstall %s\n", PACKAGE_VERSION);
		*exit_code = 0;
		return -1;
	}
	return 1;
}

/* The contract object (qinstall(8), JSON OUTPUT) on stdout: the keys every
 * outcome has, then a command's own keys (EXTRA, may be NULL), which never
 * replace them. */
static void print_contract(bool changed, bool failed, const char *msg, int64_t run,
			   json_t *warnings, json_t *diff, json_t *extra)
{
	json_t *o = json_object();
	json_object_set_new(o, "changed", json_boolean(changed));
	json_object_set_new(o, "failed", json_boolean(failed));
	json_object_set_new(o, "msg", json_string(msg ? msg : ""));
	json_object_set_new(o, "run", run ? json_integer(run) : json_null());
	json_object_set_new(o, "warnings", warnings ? json_incref(warnings) : json_array());
	if (diff)
		json_object_set_new(o, "diff", diff);
	const char *key;
	json_t *val;
	json_object_foreach(extra, key, val) {
		if (!json_object_get(o, key))
			json_object_set(o, key, val);
	}
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	fflush(stdout);
	json_decref(o);
}

static void print_json(qi_handle *h, bool failed, const char *errmsg)
{
	const char *msg = failed ? errmsg : qi_msg(h);
	print_contract(qi_changed(h), failed, msg, qi_run_id(h), qi_warnings(h), qi_diff_json(h),
		       qi_result(h));
}

/* Whether --json is on the command line (before a "--"): a usage error
 * may be found before popt has read it. */
static bool json_asked(int argc, const char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--json") == 0)
			return true;
	}
	return false;
}

/* A failure found before any command ran (a usage error, no handle):
 * said on stderr, and with --json as the one object on stdout. */
static int fail_early(bool json, enum qi_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_early(bool json, enum qi_errkind kind, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "qinstall: %s\n", msg);
	if (kind == QI_ERR_USAGE)
		fputs("Try `qinstall --help`.\n", stderr);
	if (json)
		print_contract(false, true, msg, 0, NULL, NULL, NULL);
	return kind;
}

/* Run CMD with its OPERANDS on a new handle set up from the global
 * options; the exit code. */
static int run_command(const struct qi_command *cmd, int noperands, const char **operands)
{
	qi_handle *h = qi_new();
	if (!h)
		return fail_early(g.json, QI_ERR_FAILED, "cannot start: out of memory or no access to /");
	qi_set_check(h, g.check);
	qi_set_diff_wanted(h, g.diff);
	qi_set_verbosity(h, g.verbosity);
	qi_set_assume_yes(h, g.yes);
	struct qi_cli cli = { .h = h, .json = g.json, .command = cmd->name };
	int rc;
	if ((g.root && qi_set_root(h, g.root) < 0) ||
	    (g.cache_dir && qi_set_cache_dir(h, g.cache_dir) < 0)) {
		rc = -1;
	} else {
		static const char *no_operands[] = { NULL };
		rc = cmd->run(&cli, noperands, operands ? operands : no_operands);
	}
	bool failed = rc != 0;
	/* the kind's value is its exit code */
	int exit_code = rc < 0 ? (int)qi_errkind(h) : rc;
	if (rc < 0 && exit_code == QI_ERR_NONE)
		exit_code = QI_ERR_FAILED;
	if (rc < 0)
		fprintf(stderr, "qinstall: error: %s\n",
			qi_errmsg(h)[0] ? qi_errmsg(h) : "failed (no message: this is a bug)");
	fflush(stdout);
	if (g.json)
		print_json(h, failed, rc < 0 ? qi_errmsg(h) : qi_msg(h));
	qi_free(h);
	return exit_code;
}

/* The command called NAME, or NULL. */
static const struct qi_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* Second pass: the command's options, with the global ones again so that
 * they may also follow the command; then the command. REST[0] is its name. */
static int parse_and_run(const struct qi_command *cmd, const char **rest, bool json)
{
	int exit_code = QI_ERR_NONE;
	int nrest = 0;
	while (rest[nrest])
		nrest++;
	const char **cargv = calloc((size_t)nrest + 1, sizeof(*cargv));
	if (!cargv)
		return fail_early(json, QI_ERR_FAILED, "out of memory");
	cargv[0] = "qinstall";
	for (int i = 1; i < nrest; i++)
		cargv[i] = rest[i];
	struct poptOption table[3];
	int t = 0;
	if (cmd->options)
		table[t++] = (struct poptOption){ NULL, '\0', POPT_ARG_INCLUDE_TABLE,
			(void *)cmd->options, 0, "Options of this command:", NULL };
	table[t++] = (struct poptOption){ NULL, '\0', POPT_ARG_INCLUDE_TABLE,
		global_options, 0, "Global options:", NULL };
	table[t++] = (struct poptOption)POPT_TABLEEND;
	poptContext cctx = poptGetContext("qinstall", nrest, cargv, table, 0);
	int rc;
	while ((rc = poptGetNextOpt(cctx)) > 0) {
		if (rc == OPT_HELP) {
			print_command_help(cmd, cctx);
			goto out;
		}
		if (global_option(rc, &exit_code) < 0)
			goto out;
	}
	if (rc < -1) {
		exit_code = fail_early(json || g.json, QI_ERR_USAGE, "%s %s: %s", cmd->name,
				       poptBadOption(cctx, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
		goto out;
	}
	const char **operands = poptGetArgs(cctx);
	int noperands = 0;
	while (operands && operands[noperands])
		noperands++;
	exit_code = run_command(cmd, noperands, operands);
out:
	poptFreeContext(cctx);
	free(cargv);
	return exit_code;
}

int main(int argc, const char **argv)
{
	int exit_code = QI_ERR_NONE;
	bool json = json_asked(argc, argv);
	/* rollback may have to undo a migrate of an earlier run */
	qi_migrate_register();
	poptContext gctx = poptGetContext("qinstall", argc, argv, global_options,
					  POPT_CONTEXT_POSIXMEHARDER);
	int rc;
	while ((rc = poptGetNextOpt(gctx)) > 0) {
		if (rc == OPT_HELP) {
			print_main_help(stdout);
			goto out;
		}
		if (global_option(rc, &exit_code) < 0)
			goto out;
	}
	const char **rest = poptGetArgs(gctx);
	if (rc < -1) {
		exit_code = fail_early(json, QI_ERR_USAGE, "%s: %s",
				       poptBadOption(gctx, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
	} else if (!rest || !rest[0]) {
		print_main_help(stderr);
		exit_code = fail_early(json, QI_ERR_USAGE, "no command given");
	} else if (!find_command(rest[0])) {
		exit_code = fail_early(json, QI_ERR_USAGE, "unknown command '%s'", rest[0]);
	} else {
		exit_code = parse_and_run(find_command(rest[0]), rest, json);
	}
out:
	poptFreeContext(gctx);
	free(g.root);
	free(g.cache_dir);
	return exit_code;
}
