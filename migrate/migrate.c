/*
 * migrate.c - `qinstall migrate`: the takeover of a running Postfix, Exim
 * or sendmail by qmail, each step journaled before it happens, and the
 * undo of each step.
 */
#include "config.h"

#include "migrate/migrate.h"

/* qi_new registers the handlers for every handle (core.h). */
void qi_migrate_register(void)
{
}
