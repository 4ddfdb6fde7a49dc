/*
 * detect.c - which MTA ROOT runs, from what ROOT itself says: dpkg's
 * database (the installed package that provides mail-transport-agent,
 * its version and files), what stands at /usr/sbin/sendmail and which
 * package owns it, the MTA's systemd unit, its queue directories and
 * whether its daemon runs now (its pid file names a live process).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "migrate/migrate.h"

static const struct mta_def defs[] = {
	{ MTA_POSTFIX, "postfix", "Postfix", "postfix.service", "/var/spool/postfix/pid/master.pid",
	  { "postfix", NULL } },
	{ MTA_EXIM, "exim", "Exim", "exim4.service", "/run/exim4/exim.pid",
	  { "exim4-daemon-light", "exim4-daemon-heavy", NULL } },
	{ MTA_SENDMAIL, "sendmail", "sendmail", "sendmail.service", "/run/sendmail/mta/sendmail.pid",
	  { "sendmail-bin", NULL } },
};

const struct mta_def *mta_def_named(const char *name)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

static const struct mta_def *def_of_package(const char *pkg)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		for (size_t k = 0; defs[i].packages[k]; k++)
			if (strcmp(defs[i].packages[k], pkg) == 0)
				return &defs[i];
	return NULL;
}

void mta_info_free(struct mta_info *m)
{
	dpkg_db_free(&m->db);
	for (size_t i = 0; i < m->nremove; i++)
		free(m->remove[i]);
	free(m->remove);
	free(m->sendmail_owner);
	free(m->sendmail_target);
	memset(m, 0, sizeof(*m));
}

/* The target of the symlink PATH inside ROOT, malloc'd; NULL when PATH is
 * no symlink. */
char *mta_readlink(qi_handle *h, const char *path)
{
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0)
		return NULL;
	char buf[4096];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	close(dfd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return qi_xstrdup(buf);
}

/* Whether no process holds a lock on the file PATH inside ROOT (Postfix's
 * master holds one on its pid file while it runs, with flock(2)). */
static bool unlocked(qi_handle *h, const char *path)
{
	int fd = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0) {
		qi_clear_error(h);
		return false;
	}
	bool free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);	/* and the lock with it */
	return free_;
}

/* The live process that DEF's pid file in ROOT names, or 0. */
static pid_t running_pid(qi_handle *h, const struct mta_def *def)
{
	char *text = NULL;
	if (qi_root_read(h, def->pidfile, &text, NULL) < 0) {
		qi_clear_error(h);
		return 0;
	}
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 0;
	/* a pid file left behind whose number names another process now,
	 * or a master that ended and waits to be reaped */
	if (def->kind == MTA_POSTFIX && unlocked(h, def->pidfile))
		return 0;
	return (pid_t)pid;
}

pid_t mta_running_pid(qi_handle *h, const struct mta_def *def)
{
	return running_pid(h, def);
}

static void describe(qi_handle *h, const struct mta_info *m)
{
	json_t *from = json_object();
	json_object_set_new(from, "mta", json_string(m->def ? m->def->name : "none"));
	if (m->pkg) {
		json_object_set_new(from, "package", json_string(m->pkg->name));
		json_object_set_new(from, "version", json_string(m->pkg->version ? m->pkg->version : ""));
		json_object_set_new(from, "arch", json_string(m->pkg->arch ? m->pkg->arch : ""));
	}
	if (m->def)
		json_object_set_new(from, "unit", json_string(m->def->unit));
	json_object_set_new(from, "sendmail", m->sendmail_target ? json_string(m->sendmail_target) :
			    json_null());
	json_object_set_new(from, "sendmail_owner", m->sendmail_owner ? json_string(m->sendmail_owner) :
			    json_null());
	json_t *rm = json_array();
	for (size_t i = 0; i < m->nremove; i++)
		json_array_append_new(rm, json_string(m->remove[i]));
	json_object_set_new(from, "packages", rm);
	json_object_set_new(qi_result(h), "from", from);
}

/* What stands at /usr/sbin/sendmail: its link target (or "a file") and
 * the package that owns it. */
static int look_at_sendmail(qi_handle *h, struct mta_info *m)
{
	struct stat st;
	if (qi_root_lstat(h, "/usr/sbin/sendmail", &st) < 0)
		return 0;
	m->sendmail_target = S_ISLNK(st.st_mode) ? mta_readlink(h, "/usr/sbin/sendmail") :
		qi_xstrdup("(a file)");
	m->sendmail_present = true;
	return dpkg_owner(h, &m->db, "/usr/sbin/sendmail", &m->sendmail_owner);
}

int mta_detect(qi_handle *h, const char *from, struct mta_info *m)
{
	memset(m, 0, sizeof(*m));
	char *status = qi_root_path(h, "/var/lib/dpkg/status");
	struct stat st;
	if (qi_root_lstat(h, "/var/lib/dpkg/status", &st) < 0) {
		int rc = qi_error(h, "%s is missing: qinstall migrate takes over an MTA that Debian's dpkg "
				  "installed, and this ROOT has no dpkg database. Stop and remove the MTA "
				  "yourself, then run `qinstall provision`", status);
		free(status);
		return rc;
	}
	free(status);
	if (dpkg_status_load(h, &m->db) < 0 || look_at_sendmail(h, m) < 0)
		return -1;
	const struct dpkg_pkg *found = NULL;
	size_t nfound = 0;
	for (size_t i = 0; i < m->db.n; i++)
		if (dpkg_installed(&m->db.v[i]) && dpkg_provides(&m->db.v[i], "mail-transport-agent")) {
			found = &m->db.v[i];
			nfound++;
		}
	if (nfound > 1)
		return qi_error(h, "dpkg says %zu installed packages provide mail-transport-agent in %s: "
				"fix dpkg's state first (`dpkg --audit`)", nfound, qi_root(h));
	m->pkg = found;
	if (found && strcmp(found->name, QI_STANDIN_NAME) == 0) {
		m->already_qmail = true;
		describe(h, m);
		return 0;
	}
	m->def = found ? def_of_package(found->name) : NULL;
	if (from && strcmp(from, "auto") != 0) {
		const struct mta_def *want = mta_def_named(from);
		if (!want)
			return qi_error_kind(h, QI_ERR_USAGE, "--from %s: qinstall migrates from postfix, "
					     "exim or sendmail (or auto)", from);
		if (found && m->def != want)
			return qi_error_kind(h, QI_ERR_USAGE, "--from %s, but %s's MTA is package %s: give "
					     "--from auto", from, qi_root(h), found->name);
	}
	describe(h, m);
	if (!found && m->sendmail_present)
		return qi_error(h, "%s/usr/sbin/sendmail is %s%s%s, but no installed package provides "
				"mail-transport-agent: an MTA installed by hand. qinstall takes over only an "
				"MTA that dpkg installed: stop and remove it yourself, then run `qinstall "
				"provision`", qi_root_is_host(h) ? "" : qi_root(h), m->sendmail_target,
				m->sendmail_owner ? " of package " : "", m->sendmail_owner ? m->sendmail_owner : "");
	if (!found)
		return qi_error(h, "no MTA in %s: no installed package provides mail-transport-agent and "
				"there is no /usr/sbin/sendmail. Nothing to take over: use `qinstall provision`",
				qi_root(h));
	if (!m->def)
		return qi_error(h, "%s's MTA is package %s, which qinstall does not know how to take over "
				"(it migrates Postfix, Exim and sendmail): remove it yourself, then run `qinstall "
				"provision`", qi_root(h), found->name);
	if (dpkg_removal_set(&m->db, found, "mail-transport-agent", &m->remove, &m->nremove) < 0)
		return qi_error(h, "cannot work out which packages must go with %s", found->name);
	m->running = running_pid(h, m->def);
	return 0;
}
