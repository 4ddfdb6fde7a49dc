/*
 * services.c - svscan started at boot by a systemd unit: the service
 * directory, the unit file (from payload/systemd/svscan.service.in) and
 * its multi-user.target.wants link, all written through the journal.
 *
 * Nothing is started when ROOT is not "/": the unit is written, not run.
 * On the host, with systemd running, the unit is started as an external
 * change whose undo stops it.
 */
#include "config.h"

#include <dirent.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"

#define UNIT_DIR "/etc/systemd/system"
#define UNDO_KIND "systemd-start"
#define UNDO_RELOAD_KIND "systemd-units"

void qi_svscan_unit_free(struct qi_svscan_unit *u)
{
	free(u->unit_path);
	free(u->wants_link);
	free(u->service_dir);
	free(u->svc);
	free(u->text);
	memset(u, 0, sizeof(*u));
}

char *qi_template_replace(const char *text, const char *what, const char *with)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	size_t wl = strlen(what);
	for (const char *s = text, *m; *s; s = m + wl) {
		m = strstr(s, what);
		if (!m) {
			qi_buf_add(&b, s, strlen(s));
			break;
		}
		qi_buf_add(&b, s, (size_t)(m - s));
		qi_buf_add(&b, with, strlen(with));
	}
	return b.data;
}

char *qi_payload_template(qi_handle *h, const char *name)
{
	char *path = qi_xasprintf("%s/payload/%s", qi_data_dir(h), name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct qi_buf b = { 0 };
	if (fd < 0 || qi_buf_read_fd(&b, fd) < 0) {
		qi_error_errno(h, "cannot read the template %s (is the data directory right? QINSTALL_DATADIR)",
			       path);
		if (fd >= 0)
			close(fd);
		free(path);
		qi_buf_free(&b);
		return NULL;
	}
	close(fd);
	free(path);
	if (!b.data)
		qi_buf_add(&b, "", 0);
	return b.data;
}

int qi_svscan_unit_render(qi_handle *h, const struct qi_profile *p, const char *svscan,
			  struct qi_svscan_unit *u)
{
	memset(u, 0, sizeof(*u));
	char *tpl = qi_payload_template(h, "systemd/svscan.service.in");
	if (!tpl)
		return -1;
	const char *unit = qi_profile_get(p, "services", "unit");
	u->service_dir = qi_xstrdup(qi_profile_get(p, "services", "service_dir"));
	u->unit_path = qi_xasprintf(UNIT_DIR "/%s", unit);
	u->wants_link = qi_xasprintf(UNIT_DIR "/multi-user.target.wants/%s", unit);
	char *bindir = qi_xstrdup(svscan);
	*strrchr(bindir, '/') = '\0';
	u->svc = qi_xasprintf("%s/svc", bindir);
	const char *name = strrchr(qi_profile_file(p), '/');
	name = name ? name + 1 : qi_profile_file(p);
	char *t1 = qi_template_replace(tpl, "@SVSCAN@", svscan);
	char *t2 = qi_template_replace(t1, "@SERVICE_DIR@", u->service_dir);
	/* svscan's children find the programs on PATH: its own directory
	 * first, unless it is one of the usual ones already listed. */
	static const char *const usual = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *search = NULL;
	char *colon = qi_xasprintf(":%s:", usual), *mine = qi_xasprintf(":%s:", bindir);
	search = strstr(colon, mine) ? qi_xstrdup(usual) : qi_xasprintf("%s:%s", bindir[0] ? bindir : "/", usual);
	free(colon);
	free(mine);
	char *t3 = qi_template_replace(t2, "@PATH@", search);
	free(search);
	u->text = qi_template_replace(t3, "@PROFILE@", name);
	free(t1);
	free(t2);
	free(t3);
	free(bindir);
	free(tpl);
	return 0;
}

/* systemctl's own messages are shown on stderr, never on stdout. */
static int run_systemctl(qi_handle *h, const char *verb, const char *unit)
{
	const char *argv[] = { "systemctl", verb, unit, NULL };
	char *hint = qi_xasprintf("see `journalctl -u %s`", unit ? unit : "systemd");
	struct qi_proc_spec spec = { .argv = argv, .search_path = true, .output = QI_PROC_STDERR,
				     .hint = hint };
	int rc = qi_proc_run(h, &spec, NULL);
	free(hint);
	return rc;
}

/* systemctl is-active: true when the unit runs already. */
static bool unit_active(qi_handle *h, const char *unit)
{
	const char *argv[] = { "systemctl", "is-active", "--quiet", unit, NULL };
	struct qi_proc_spec spec = { .argv = argv, .search_path = true, .keep_error = true };
	return qi_proc_run(h, &spec, NULL) == 0;
}

/* svc -dx DIR/NAME (and its log): supervise stops the service, then
 * itself. */
static void svc_down(qi_handle *h, const char *svc, const char *dir, const char *name)
{
	char *path = qi_xasprintf("%s/%s", dir, name), *log = qi_xasprintf("%s/%s/log", dir, name);
	const char *argv[] = { svc, "-dx", path, access(log, F_OK) == 0 ? log : NULL, NULL };
	struct qi_proc_spec spec = { .argv = argv, .output = QI_PROC_STDERR, .keep_error = true };
	qi_proc_run(h, &spec, NULL);
	free(path);
	free(log);
}

/* DATA: "UNIT" (runs before this version), or "UNIT\tSERVICE_DIR\tSVC".
 * The unit's KillMode=process keeps the services running when svscan
 * stops (so that a restart of svscan does not stop the mail), so the
 * undo takes each service down with svc -dx too. */
static int undo_start(qi_handle *h, const char *data)
{
	char *unit = qi_xstrdup(data), *dir = strchr(unit, '\t'), *svc = NULL;
	if (dir) {
		*dir++ = '\0';
		svc = strchr(dir, '\t');
		if (svc)
			*svc++ = '\0';
	}
	int rc = run_systemctl(h, "stop", unit);
	DIR *d = rc == 0 && svc && qi_root_is_host(h) ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			svc_down(h, svc, dir, de->d_name);
	if (d)
		closedir(d);
	free(unit);
	return rc;
}

static int undo_units(qi_handle *h, const char *unused)
{
	return run_systemctl(h, "daemon-reload", NULL);
}

/* qi_new registers the handlers for every handle (core.h). */
void qi_services_register(void)
{
	/* first: a rollback stops svscan before it keeps anything aside or
	 * undoes the files the services run from (qmail's queue among them) */
	qi_register_undo_first(UNDO_KIND, undo_start);
	qi_register_undo(UNDO_RELOAD_KIND, undo_units);
}

/* Whether this run talks to systemd: ROOT is "/", systemd runs, the
 * profile wants the unit started, and this is no dry run. */
static bool live_systemd(qi_handle *h, bool start)
{
	return qi_root_is_host(h) && !qi_check(h) && start &&
	       access("/run/systemd/system", F_OK) == 0;
}

int qi_svscan_unit_commit(qi_handle *h, const struct qi_profile *p,
			  const struct qi_svscan_unit *u)
{
	return qi_svscan_unit_commit_start(h, p, u, qi_profile_bool(p, "services", "start"));
}

int qi_svscan_unit_commit_start(qi_handle *h, const struct qi_profile *p,
				const struct qi_svscan_unit *u, bool start)
{
	struct stat st;
	json_t *pending = json_array();
	bool diff = qi_diff_wanted(h);
	qi_set_diff_wanted(h, false);
	int prc = qi_svscan_unit_plan(h, u, pending);
	qi_set_diff_wanted(h, diff);
	bool changes = json_array_size(pending) > 0;
	json_decref(pending);
	if (prc < 0)
		return -1;
	if (changes && live_systemd(h, start)) {
		/* Recorded before the unit is written, so that rolling back
		 * reloads systemd after the unit is gone. */
		int64_t id;
		if (qi_external_begin(h, UNDO_RELOAD_KIND, "systemd must reload its units when this is undone",
				      "", &id) < 0 || qi_external_done(h, id) < 0)
			return -1;
	}
	if (qi_root_lstat(h, u->service_dir, &st) < 0 &&
	    qi_mkdir_p(h, u->service_dir, 0755, (uid_t)-1, (gid_t)-1) < 0)
		return qi_error_prefix(h, "service directory");
	if (qi_root_lstat(h, UNIT_DIR "/multi-user.target.wants", &st) < 0 &&
	    qi_mkdir_p(h, UNIT_DIR "/multi-user.target.wants", 0755, (uid_t)-1, (gid_t)-1) < 0)
		return qi_error_prefix(h, "systemd unit directory");
	if (qi_write_file(h, u->unit_path, u->text, strlen(u->text), 0644, (uid_t)-1, (gid_t)-1) < 0)
		return qi_error_prefix(h, "svscan unit");
	if (qi_root_lstat(h, u->wants_link, &st) == 0) {
		char *target = qi_stage_readlink(h, u->wants_link);
		bool same = target && strcmp(target, u->unit_path) == 0;
		free(target);
		if (same)
			goto started;
		if (qi_remove(h, u->wants_link) < 0)
			return -1;
	}
	if (qi_symlink(h, u->wants_link, u->unit_path) < 0)
		return qi_error_prefix(h, "enable the svscan unit");
started:
	if (!qi_root_is_host(h)) {
		qi_info(h, "svscan unit written, not started: ROOT is not /");
		return 0;
	}
	if (qi_check(h) || !start)
		return 0;
	if (!live_systemd(h, start)) {
		qi_warn(h, "systemd is not running: start svscan yourself (%s)", u->unit_path);
		return 0;
	}
	const char *unit = strrchr(u->unit_path, '/') + 1;
	if (changes && run_systemctl(h, "daemon-reload", NULL) < 0)
		return -1;
	/* Already running (a repair run): nothing to start, and so nothing
	 * for a rollback of this run to stop. */
	if (unit_active(h, unit))
		return 0;
	int64_t id;
	char *desc = qi_xasprintf("systemctl start %s", unit);
	char *data = qi_xasprintf("%s\t%s\t%s", unit, u->service_dir, u->svc);
	int rc = qi_external_begin(h, UNDO_KIND, desc, data, &id);
	free(data);
	free(desc);
	if (rc == 0)
		rc = run_systemctl(h, "start", unit);
	if (rc == 0)
		rc = qi_external_done(h, id);
	return rc;
}

static void plan_add(json_t *plan, const char *path, const char *action, const char *what)
{
	json_array_append_new(plan, json_pack("{s:s, s:s, s:s}", "path", path, "action", action,
					      "component", what));
}

int qi_svscan_unit_plan(qi_handle *h, const struct qi_svscan_unit *u, json_t *plan)
{
	struct stat st;
	if (qi_root_lstat(h, u->service_dir, &st) < 0)
		plan_add(plan, u->service_dir, "create", "services");
	if (qi_root_lstat(h, UNIT_DIR "/multi-user.target.wants", &st) < 0)
		plan_add(plan, UNIT_DIR "/multi-user.target.wants", "create", "services");
	char *old = NULL;
	size_t len = 0;
	if (qi_root_lstat(h, u->unit_path, &st) < 0) {
		plan_add(plan, u->unit_path, "create", "services");
		qi_diff_add(h, u->unit_path, NULL, u->text);
	} else if (qi_root_read(h, u->unit_path, &old, &len) < 0 || strcmp(old, u->text) != 0) {
		qi_clear_error(h);
		plan_add(plan, u->unit_path, "replace", "services");
		qi_diff_add(h, u->unit_path, old, u->text);
	}
	free(old);
	if (qi_root_lstat(h, u->wants_link, &st) < 0) {
		plan_add(plan, u->wants_link, "create", "services");
	} else {
		char *target = qi_stage_readlink(h, u->wants_link);
		if (!target || strcmp(target, u->unit_path) != 0)
			plan_add(plan, u->wants_link, "replace", "services");
		free(target);
	}
	return 0;
}
