/*
 * cli.h - the qinstall front end: one file per command (cmd_*.c), each
 * exporting a struct qi_command listed in main.c. Commands parse their own
 * options (popt), call the library, and print: human text on stdout, or
 * nothing when --json is given (main.c prints the one JSON object).
 */
#ifndef QI_CLI_H
#define QI_CLI_H

#include <popt.h>
#include <stdbool.h>
#include "qinstall.h"

struct qi_cli {
	qi_handle *h;
	bool json;		/* --json: print nothing on stdout yourself */
	const char *command;	/* the command's name */
};

struct qi_command {
	const char *name;
	const char *args;	/* synopsis after the options, e.g. "[RUN]" */
	const char *summary;	/* one line, for `qinstall --help` */
	const char *description;/* a paragraph for `qinstall CMD --help`, or NULL */
	const struct poptOption *options; /* the command's own options, or NULL */
	/* ARGV holds the operands left after option parsing (not the name).
	 * Return 0 on success, -1 on failure with the error on the handle
	 * (the exit code follows its kind), or a positive exit code of the
	 * command's own (qinstall patch follows patch(1)). */
	int (*run)(struct qi_cli *cli, int argc, const char **argv);
};

/* Print to stdout unless --json. */
void qi_out(struct qi_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask yes/no on the terminal; true without asking under --yes or when
 * stdin is not a terminal (qinstall never prompts a script). */
bool qi_confirm(struct qi_cli *cli, const char *question);

/* The options that name and adjust a profile (profile_args.c), shared by
 * provision, plan and migrate: each command's table points at qi_pargs. */
struct qi_profile_args {
	char *profile, *mirror, *domain, *admin, *jobs;
	char **with, **without;
	int offline, rebuild;
};
extern struct qi_profile_args qi_pargs;
#define QI_PROFILE_OPTION_SWITCHES \
	{ "with", 0, POPT_ARG_ARGV, &qi_pargs.with, 0, \
	  "turn the profile's option NAME on (repeatable; `qinstall profile show` lists them)", "NAME" }, \
	{ "without", 0, POPT_ARG_ARGV, &qi_pargs.without, 0, \
	  "turn the profile's option NAME off (repeatable)", "NAME" },
/* The table entries provision and migrate share: where the sources come
 * from, and the mail settings with the profile's options. */
#define QI_PROFILE_SOURCE_OPTIONS \
	{ "mirror", 0, POPT_ARG_STRING, &qi_pargs.mirror, 0, \
	  "try BASE/FILE first for every source archive (still verified against the pins)", "BASE" }, \
	{ "offline", 0, POPT_ARG_NONE, &qi_pargs.offline, 0, \
	  "use only sources already in the cache (and file: URLs)", NULL }, \
	{ "rebuild", 0, POPT_ARG_NONE, &qi_pargs.rebuild, 0, \
	  "build again even when the build cache has this exact build", NULL },
#define QI_PROFILE_MAIL_OPTIONS \
	{ "domain", 0, POPT_ARG_STRING, &qi_pargs.domain, 0, \
	  "the mail domain (control/me, locals, rcpthosts): overrides [mail] domain", "DOMAIN" }, \
	{ "admin", 0, POPT_ARG_STRING, &qi_pargs.admin, 0, \
	  "who gets postmaster's, mailer-daemon's and root's mail: a local USER or an ADDRESS " \
	  "(overrides [mail] admin)", "USER|ADDRESS" }, \
	{ "jobs", 'j', POPT_ARG_STRING, &qi_pargs.jobs, 0, \
	  "parallel make jobs (overrides the profile's [build] jobs)", "N" }, \
	QI_PROFILE_OPTION_SWITCHES
/* Free what the options got and zero them (after each run). */
void qi_profile_args_reset(void);
/* The profile --profile names (netqmail without it), with --domain,
 * --admin, --jobs, --with and --without applied and the options checked.
 * ARGC: the operands left, which must be none. */
int qi_profile_args_load(struct qi_cli *cli, int argc, struct qi_profile **p);

/* The commands, one cmd_NAME.c each; main.c lists them. */
extern const struct qi_command qi_cmd_provision, qi_cmd_plan, qi_cmd_profile, qi_cmd_users,
	qi_cmd_mailuser, qi_cmd_fetch, qi_cmd_patch, qi_cmd_apply, qi_cmd_rollback, qi_cmd_status,
	qi_cmd_verify, qi_cmd_smoke, qi_cmd_migrate;

#endif
