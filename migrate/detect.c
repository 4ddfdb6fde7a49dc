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
	  { "postfix", NULL }, "postfix", "postfix.service", "/var/spool/postfix/pid/master.pid", "postfix",
	  NULL, NULL },
	{ MTA_EXIM, "exim", "Exim", "exim4.service", "/run/exim4/exim.pid",
	  { "exim4-daemon-light", "exim4-daemon-heavy", NULL }, "exim", "exim.service", "/run/exim.pid", "exim",
	  NULL, NULL },
	{ MTA_SENDMAIL, "sendmail", "sendmail", "sendmail.service", "/run/sendmail/mta/sendmail.pid",
	  { "sendmail-bin", NULL }, "sendmail", "sendmail.service", "/run/sendmail.pid", "sendmail",
	  "sm-client.service", "sm-client" },
};

/* Red Hat's packages that only switch the MTA (the guide removes them
 * with it, when they are there). */
static const char *const switch_mail[] = { "system-switch-mail", "system-switch-mail-gnome",
					   "redhat-switch-mail", "redhat-switch-mail-gnome" };

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

static const struct mta_def *def_of_rpm(const char *pkg)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (strcmp(defs[i].rpm_name, pkg) == 0)
			return &defs[i];
	return NULL;
}

void mta_info_free(struct mta_info *m)
{
	dpkg_db_free(&m->db);
	rpm_db_free(&m->rdb);
	rpm_names_free(m->required_by, m->nrequired_by);
	free(m->evr);
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

/* The live process that the pid file PIDFILE of DEF in ROOT names, or 0. */
static pid_t running_at(qi_handle *h, const struct mta_def *def, const char *pidfile)
{
	char *text = NULL;
	if (qi_root_read(h, pidfile, &text, NULL) < 0) {
		qi_clear_error(h);
		return 0;
	}
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 0;
	/* a pid file left behind whose number names another process now,
	 * or a master that ended and waits to be reaped */
	if (def->kind == MTA_POSTFIX && unlocked(h, pidfile))
		return 0;
	return (pid_t)pid;
}

/* Debian's pid file, or else Red Hat's. */
static pid_t running_pid(qi_handle *h, const struct mta_def *def)
{
	pid_t pid = running_at(h, def, def->pidfile);
	if (!pid && strcmp(def->rpm_pidfile, def->pidfile) != 0)
		pid = running_at(h, def, def->rpm_pidfile);
	return pid;
}

pid_t mta_running_pid(qi_handle *h, const struct mta_def *def)
{
	return running_pid(h, def);
}

static void describe(qi_handle *h, const struct mta_info *m)
{
	json_t *from = json_object();
	json_object_set_new(from, "mta", json_string(m->def ? m->def->name : "none"));
	json_object_set_new(from, "database", json_string(m->rpm ? "rpm" : "dpkg"));
	if (m->pkg) {
		json_object_set_new(from, "package", json_string(m->pkg->name));
		json_object_set_new(from, "version", json_string(m->pkg->version ? m->pkg->version : ""));
		json_object_set_new(from, "arch", json_string(m->pkg->arch ? m->pkg->arch : ""));
	}
	if (m->rpkg) {
		json_object_set_new(from, "package", json_string(m->rpkg->name));
		json_object_set_new(from, "version", json_string(m->pkg_version));
		json_object_set_new(from, "arch", json_string(m->rpkg->arch));
		json_t *req = json_array();
		for (size_t i = 0; i < m->nrequired_by; i++)
			json_array_append_new(req, json_string(m->required_by[i]));
		json_object_set_new(from, "required_by", req);
	}
	if (m->def)
		json_object_set_new(from, "unit", json_string(m->unit));
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

/* Whether NAME is among the N NAMES. */
static bool listed(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Red Hat: the installed package that provides MTA or smtpdaemon (rpm's
 * names of it), the packages that go with it (system-switch-mail and its
 * kind) and those that require an MTA (listed: rpm -e --nodeps leaves them
 * installed, qmail's sendmail serving them). */
static int detect_rpm(qi_handle *h, const char *from, const char *qmail_sendmail, struct mta_info *m)
{
	m->rpm = true;
	if (rpm_db_load(h, &m->rdb) < 0)
		return -1;
	struct stat st;
	if (qi_root_lstat(h, "/usr/sbin/sendmail", &st) == 0) {
		m->sendmail_present = true;
		m->sendmail_target = S_ISLNK(st.st_mode) ? mta_readlink(h, "/usr/sbin/sendmail") :
			qi_xstrdup("(a file)");
		if (!S_ISLNK(st.st_mode) && rpm_owner(h, "/usr/sbin/sendmail", &m->sendmail_owner) < 0)
			return -1;
	}
	char **prov = NULL;
	size_t nprov = 0;
	static const char *const caps[] = { "MTA", "smtpdaemon" };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		char **names = NULL;
		size_t n = 0;
		if (rpm_whatprovides(h, caps[c], &names, &n) < 0) {
			rpm_names_free(prov, nprov);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (!listed(prov, nprov, names[i])) {
				prov = qi_xrealloc(prov, (nprov + 1) * sizeof(*prov));
				prov[nprov++] = qi_xstrdup(names[i]);
			}
		rpm_names_free(names, n);
	}
	int rc = 0;
	if (nprov == 0) {
		char *at = mta_readlink(h, ALT_LINK_DIR "/mta");
		m->already_qmail = at && qmail_sendmail && strcmp(at, qmail_sendmail) == 0;
		free(at);
		describe(h, m);
		if (!m->already_qmail && m->sendmail_present)
			rc = qi_error(h, "%s/usr/sbin/sendmail is %s, but no installed rpm package provides MTA or "
				      "smtpdaemon: an MTA installed by hand. qinstall takes over only an MTA that rpm "
				      "installed: stop and remove it yourself, then run `qinstall provision`",
				      qi_root_is_host(h) ? "" : qi_root(h), m->sendmail_target);
		else if (!m->already_qmail)
			rc = qi_error(h, "no MTA in %s: no installed rpm package provides MTA or smtpdaemon and "
				      "there is no /usr/sbin/sendmail. Nothing to take over: use `qinstall provision`",
				      qi_root(h));
		return rc;
	}
	if (nprov > 1) {
		struct qi_buf b = { 0 };
		for (size_t i = 0; i < nprov; i++)
			qi_buf_addf(&b, "%s%s", i ? ", " : "", prov[i]);
		rc = qi_error(h, "rpm says %zu installed packages provide an MTA in %s (%s): qinstall takes over "
			      "one; remove the others first (`rpm -e`), then run qinstall migrate again", nprov,
			      qi_root(h), b.data);
		qi_buf_free(&b);
		rpm_names_free(prov, nprov);
		return rc;
	}
	m->rpkg = rpm_find(&m->rdb, prov[0]);
	rpm_names_free(prov, nprov);
	if (!m->rpkg)
		return qi_error(h, "rpm names an MTA package that `rpm -qa` does not list in %s: check the rpm "
				"database (`rpm --rebuilddb`)", qi_root(h));
	m->def = def_of_rpm(m->rpkg->name);
	m->pkg_name = m->rpkg->name;
	m->evr = m->rpkg->epoch ? qi_xasprintf("%s:%s-%s", m->rpkg->epoch, m->rpkg->version, m->rpkg->release) :
		qi_xasprintf("%s-%s", m->rpkg->version, m->rpkg->release);
	m->pkg_version = m->evr;
	if (from && strcmp(from, "auto") != 0) {
		const struct mta_def *want = mta_def_named(from);
		if (!want)
			return qi_error_kind(h, QI_ERR_USAGE, "--from %s: qinstall migrates from postfix, "
					     "exim or sendmail (or auto)", from);
		if (m->def != want)
			return qi_error_kind(h, QI_ERR_USAGE, "--from %s, but %s's MTA is package %s: give "
					     "--from auto", from, qi_root(h), m->rpkg->name);
	}
	if (!m->def) {
		describe(h, m);
		return qi_error(h, "%s's MTA is package %s, which qinstall does not know how to take over "
				"(it migrates Postfix, Exim and sendmail): remove it yourself, then run `qinstall "
				"provision`", qi_root(h), m->rpkg->name);
	}
	m->unit = m->def->rpm_unit;
	m->remove = qi_xmalloc((1 + sizeof(switch_mail) / sizeof(switch_mail[0])) * sizeof(*m->remove));
	m->remove[m->nremove++] = qi_xstrdup(m->rpkg->name);
	for (size_t i = 0; i < sizeof(switch_mail) / sizeof(switch_mail[0]); i++)
		if (rpm_find(&m->rdb, switch_mail[i]))
			m->remove[m->nremove++] = qi_xstrdup(switch_mail[i]);
	static const char *const needs[] = { "MTA", "smtpdaemon", "server(smtp)", "/usr/sbin/sendmail" };
	if (rpm_whatrequires(h, needs, sizeof(needs) / sizeof(needs[0]), (const char *const *)m->remove,
			     m->nremove, &m->required_by, &m->nrequired_by) < 0)
		return -1;
	describe(h, m);
	m->running = running_pid(h, m->def);
	return 0;
}

int mta_detect(qi_handle *h, const char *from, const char *qmail_sendmail, struct mta_info *m)
{
	memset(m, 0, sizeof(*m));
	struct stat st;
	bool has_dpkg = qi_root_lstat(h, "/var/lib/dpkg/status", &st) == 0;
	char *dbpath = NULL;
	int has_rpm = rpm_root_db(h, &dbpath);
	free(dbpath);
	if (has_rpm < 0)
		return -1;
	if (!has_dpkg && !has_rpm)
		return qi_error(h, "%s has no package database (neither dpkg's /var/lib/dpkg/status nor rpm's "
				"/usr/lib/sysimage/rpm or /var/lib/rpm): qinstall migrate takes over an MTA that "
				"dpkg or rpm installed. Stop and remove the MTA yourself, then run `qinstall "
				"provision`", qi_root(h));
	if (!has_dpkg)
		return detect_rpm(h, from, qmail_sendmail, m);
	if (dpkg_status_load(h, &m->db) < 0)
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
	/* a Red Hat MTA in a ROOT that has dpkg too (and no MTA of dpkg's) */
	if (!found && has_rpm) {
		dpkg_db_free(&m->db);
		return detect_rpm(h, from, qmail_sendmail, m);
	}
	if (look_at_sendmail(h, m) < 0)
		return -1;
	m->pkg = found;
	if (found) {
		m->pkg_name = found->name;
		m->pkg_version = found->version ? found->version : "";
	}
	if (found && strcmp(found->name, QI_STANDIN_NAME) == 0) {
		m->already_qmail = true;
		describe(h, m);
		return 0;
	}
	m->def = found ? def_of_package(found->name) : NULL;
	m->unit = m->def ? m->def->unit : NULL;
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
