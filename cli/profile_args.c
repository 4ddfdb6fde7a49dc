/*
 * profile_args.c - the options that name and adjust a profile, shared by
 * the commands that provision one (provision, plan, migrate): --profile,
 * --mirror, --offline, --rebuild, --domain, --admin, --jobs, --with and
 * --without, and the profile they load.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What provision and plan do without --profile: qmail itself. */
#define DEFAULT_PROFILE "netqmail"

struct qi_profile_args qi_pargs;

void qi_profile_args_reset(void)
{
	free(qi_pargs.profile);
	free(qi_pargs.mirror);
	free(qi_pargs.domain);
	free(qi_pargs.admin);
	free(qi_pargs.jobs);
	for (size_t i = 0; qi_pargs.with && qi_pargs.with[i]; i++)
		free(qi_pargs.with[i]);
	for (size_t i = 0; qi_pargs.without && qi_pargs.without[i]; i++)
		free(qi_pargs.without[i]);
	free(qi_pargs.with);
	free(qi_pargs.without);
	memset(&qi_pargs, 0, sizeof(qi_pargs));
}

/* --with and --without, then the options' checks. */
static int set_options(qi_handle *h, struct qi_profile *p)
{
	for (size_t i = 0; qi_pargs.with && qi_pargs.with[i]; i++)
		for (size_t k = 0; qi_pargs.without && qi_pargs.without[k]; k++)
			if (strcmp(qi_pargs.with[i], qi_pargs.without[k]) == 0)
				return qi_error_kind(h, QI_ERR_USAGE, "both --with %s and --without %s: give one",
						     qi_pargs.with[i], qi_pargs.with[i]);
	for (size_t i = 0; qi_pargs.with && qi_pargs.with[i]; i++)
		if (qi_profile_set_option(h, p, qi_pargs.with[i], true) < 0)
			return qi_error_prefix(h, "--with %s", qi_pargs.with[i]);
	for (size_t i = 0; qi_pargs.without && qi_pargs.without[i]; i++)
		if (qi_profile_set_option(h, p, qi_pargs.without[i], false) < 0)
			return qi_error_prefix(h, "--without %s", qi_pargs.without[i]);
	return qi_profile_check_options(h, p);
}

int qi_profile_args_load(struct qi_cli *cli, int argc, struct qi_profile **p)
{
	qi_handle *h = cli->h;
	if (argc > 0)
		return qi_error_kind(h, QI_ERR_USAGE, "%s takes no operands (give the profile with --profile)",
				     cli->command);
	if (!qi_pargs.profile)
		qi_pargs.profile = strdup(DEFAULT_PROFILE);
	if (!qi_pargs.profile)
		abort();
	if (qi_profile_load(h, qi_pargs.profile, p) < 0)
		return -1;
	if ((qi_pargs.domain && qi_profile_set(h, *p, "mail", "domain", qi_pargs.domain) < 0) ||
	    (qi_pargs.admin && qi_profile_set(h, *p, "mail", "admin", qi_pargs.admin) < 0) ||
	    (qi_pargs.jobs && qi_profile_set(h, *p, "build", "jobs", qi_pargs.jobs) < 0) || set_options(h, *p) < 0) {
		qi_profile_free(*p);
		*p = NULL;
		return -1;
	}
	return 0;
}

