/*
 * redhat.c - the steps of `qinstall migrate` on a ROOT whose MTA rpm
 * installed (Red Hat, Fedora), as the guide does them by hand, each
 * journaled and undone exactly:
 *
 *   startup       the MTA's unit and SysV script taken out of start-up:
 *                 the links `systemctl enable` and `chkconfig --add` make
 *                 (/etc/systemd/system/ *.wants/UNIT, /etc/rc.d/rcN.d/
 *                 [SK]NNNAME) removed through the journal
 *                                   undo: the journal puts them back
 *   alternatives  qmail's sendmail registered in the group mta (with its
 *                 followers mta-sendmail and mta-mailq, at a priority above
 *                 the others), the group set to it by hand (manual, as
 *                 `alternatives --set` does), written as chkconfig's
 *                 alternatives writes it, through the journal; each link of
 *                 the chain read back
 *                                   undo: the state file and links byte
 *                                   for byte as they were (so a manual
 *                                   choice of qmail never outlives the
 *                                   rollback)
 *   keep          each package that goes kept as a .rpm in WORK_DIR (from
 *                 the dnf/yum cache, or rebuilt from the rpmdb)
 *   package       `rpm -e --nodeps` of the MTA and system-switch-mail (or
 *                 redhat-switch-mail), those there are; the packages that
 *                 require an MTA stay (listed) and are served by qmail's
 *                 sendmail           undo: the kept .rpm files installed
 *   alternatives  (again) the choices of the removed packages taken out of
 *                 the group when their scriptlets did not (a ROOT without
 *                 a shell), so that no choice names a file that is gone
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/migrate.h"

#define UNDO_RPM "migrate-rpm"
#define QMAIL_PRIORITY_STEP 10	/* above the highest choice by this much */

static void rh_step(struct rh_run *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rh_step(struct rh_run *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->step(r->ctx, name, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* start-up                                                             */
/* ------------------------------------------------------------------ */

/* The entries of the directory DIR inside ROOT (none when it is not a
 * real directory there) for which MATCH says yes, each as DIR/NAME added
 * to *PATHS. */
static void scan_dir(qi_handle *h, const char *dir, bool (*match)(const char *name, const char *want),
		     const char *want, char ***paths, size_t *n)
{
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		qi_clear_error(h);
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !match(e->d_name, want))
			continue;
		char *path = qi_xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		/* only links: what enable and chkconfig make */
		if (qi_root_lstat(h, path, &st) == 0 && S_ISLNK(st.st_mode)) {
			*paths = qi_xrealloc(*paths, (*n + 1) * sizeof(**paths));
			(*paths)[(*n)++] = path;
		} else {
			free(path);
		}
	}
	closedir(d);
}

static bool same_name(const char *name, const char *want)
{
	return strcmp(name, want) == 0;
}

/* A unit's .wants or .requires directory of /etc/systemd/system. */
static bool wants_dir(const char *name, const char *want)
{
	(void)want;
	size_t n = strlen(name);
	return (n > 6 && strcmp(name + n - 6, ".wants") == 0) || (n > 9 && strcmp(name + n - 9, ".requires") == 0);
}

/* S85postfix, K30postfix: chkconfig's links of the script WANT. */
static bool rc_link(const char *name, const char *want)
{
	return (name[0] == 'S' || name[0] == 'K') && name[1] >= '0' && name[1] <= '9' && name[2] >= '0' &&
	       name[2] <= '9' && strcmp(name + 3, want) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rh_startup_off(struct rh_run *r)
{
	qi_handle *h = r->h;
	const char *unit = r->m->unit, *script = r->m->def->initscript;
	const char *units[] = { unit, r->m->def->rpm_also_unit }, *scripts[] = { script, r->m->def->also_initscript };
	char **links = NULL;
	size_t n = 0;
	/* the .wants and .requires directories of /etc/systemd/system (real
	 * directories: a link there is not followed) */
	DIR *d = NULL;
	int fd = qi_root_open(h, "/etc/systemd/system", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		qi_clear_error(h);
	else if (!(d = fdopendir(fd)))
		close(fd);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !wants_dir(e->d_name, NULL))
			continue;
		char *dir = qi_xasprintf("/etc/systemd/system/%s", e->d_name);
		for (int u = 0; u < 2; u++)
			if (units[u])
				scan_dir(h, dir, same_name, units[u], &links, &n);
		free(dir);
	}
	if (d)
		closedir(d);
	for (int level = 0; level <= 6; level++) {
		char dir[32];
		for (int u = 0; u < 2; u++) {
			if (!scripts[u])
				continue;
			snprintf(dir, sizeof(dir), "/etc/rc.d/rc%d.d", level);
			scan_dir(h, dir, rc_link, scripts[u], &links, &n);
			snprintf(dir, sizeof(dir), "/etc/rc%d.d", level);
			scan_dir(h, dir, rc_link, scripts[u], &links, &n);
		}
	}
	if (n > 1)
		qsort(links, n, sizeof(*links), cmp_str);
	json_t *out = json_array();
	json_object_set_new(qi_result(h), "startup_removed", out);
	if (n == 0)
		rh_step(r, "startup", "%s (and SysV script %s): not enabled at start-up, nothing to remove", unit,
			script);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!qi_check(h) && (rc = qi_remove(h, links[i])) < 0)
			break;
		const char *base = strrchr(links[i], '/') + 1;
		rh_step(r, "startup", "%s removed (%s enabled at start-up; the rollback puts it back)", links[i],
			strstr(links[i], "/rc") ? base + 3 : base);
		json_array_append_new(out, json_string(links[i]));
	}
	rpm_names_free(links, n);
	return rc;
}

/* ------------------------------------------------------------------ */
/* alternatives                                                         */
/* ------------------------------------------------------------------ */

/* The end of PATH's chain inside ROOT (malloc'd), NULL on an error. */
static char *chain_end(qi_handle *h, const char *path, json_t *record)
{
	char **hops = NULL;
	size_t n = 0;
	if (alt_chain(h, path, &hops, &n) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(hops[i]));
	json_object_set_new(record, path, a);
	char *end = qi_xstrdup(hops[n - 1]);
	alt_chain_free(hops, n);
	return end;
}

/* Every link qmail's choice gives read back: its chain ends at the
 * choice's target. */
static int read_back(struct rh_run *r, const struct alt_group *g, const struct alt_choice *q)
{
	qi_handle *h = r->h;
	json_t *chains = json_object();
	json_object_set_new(json_object_get(qi_result(h), "alternatives"), "chains", chains);
	int rc = 0;
	for (long k = -1; k < (long)g->nslaves && rc == 0; k++) {
		const char *link = k < 0 ? g->link : g->slaves[k].link;
		const char *want = k < 0 ? q->path : q->targets[k];
		if (!want)
			continue;
		char *end = chain_end(h, link, chains);
		if (!end)
			return qi_error_prefix(h, "reading back the link %s%s", qi_root(h), link);
		if (strcmp(end, want) != 0)
			rc = qi_error(h, "%s%s leads to %s, not to %s, after qinstall rewired the alternatives group "
				      "%s: see `ls -l %s %s/%s`", qi_root(h), link, end, want, g->name, link,
				      ALT_LINK_DIR, k < 0 ? g->name : g->slaves[k].name);
		free(end);
	}
	return rc;
}

static int alt_register(struct rh_run *r, bool after_erase)
{
	qi_handle *h = r->h;
	struct alt_group g;
	int rc = alt_load(h, "mta", &g);
	if (rc < 0)
		return qi_error_prefix(h, "the alternatives group mta");
	bool fresh = rc == 1;
	/* a group there is rewired before the erase (its links stay links);
	 * one to make, after it (what the package had at the links' places,
	 * its own files, is gone then) */
	if (fresh != after_erase) {
		alt_group_free(&g);
		return 0;
	}
	if (fresh) {
		g.name = qi_xstrdup("mta");
		g.link = qi_xstrdup("/usr/sbin/sendmail");
	}
	/* the chains as they are: one that loops (or leaves ROOT's reach)
	 * is refused before anything is written */
	for (long k = -1; k < (long)g.nslaves; k++) {
		char **hops = NULL;
		size_t nh = 0;
		const char *link = k < 0 ? g.link : g.slaves[k].link;
		if (alt_chain(h, link, &hops, &nh) < 0) {
			qi_error_prefix(h, "the alternatives group mta's link %s", link);
			alt_group_free(&g);
			return -1;
		}
		alt_chain_free(hops, nh);
	}
	char *qpath = qi_xasprintf("%s/bin/sendmail", r->qmail_home);
	char *qread = qi_xasprintf("%s/bin/qmail-qread", r->qmail_home);
	long top = 0;
	for (size_t i = 0; i < g.nchoices; i++)
		if (g.choices[i].priority > top && strcmp(g.choices[i].path, qpath) != 0)
			top = g.choices[i].priority;
	long priority = top + QMAIL_PRIORITY_STEP;
	/* qmail's followers: those of its programs that stand in for one */
	const char *names[] = { "mta-sendmail", "mta-mailq" };
	const char *links[] = { "/usr/lib/sendmail", "/usr/bin/mailq" };
	const char *targets[] = { qpath, qread };
	for (size_t i = 0; i < 2; i++) {
		long k = alt_slave_index(&g, names[i]);
		if (k >= 0)
			links[i] = g.slaves[k].link;
	}
	const struct alt_choice *was = NULL;
	char *at = mta_readlink(h, ALT_LINK_DIR "/mta");
	if (at)
		was = alt_find(&g, at);
	json_t *rec = json_pack("{s:s, s:s, s:I, s:b, s:s?, s:s?, s:s}", "group", "mta", "choice", qpath,
				"priority", (json_int_t)priority, "manual", 1, "before_mode",
				fresh ? NULL : g.manual ? "manual" : "auto", "before_choice", was ? was->path : NULL,
				"state", ALT_STATE_DIR "/mta");
	json_object_set_new(qi_result(h), "alternatives", rec);
	char *before = was ? qi_xasprintf(", was %s %s", g.manual ? "manual" : "auto", was->path) :
		qi_xstrdup("");
	rh_step(r, "alternatives", "%s%s: %s registered in the group mta at priority %ld, with the followers "
		"mta-sendmail (%s -> %s) and mta-mailq (%s -> %s); the followers qmail has no program for lose "
		"their links; the group set to qmail by hand (manual%s); written as chkconfig's alternatives "
		"writes it, each link read back", ALT_STATE_DIR "/mta", fresh ? " (made: ROOT had no group mta)" : "",
		qpath, priority, links[0], qpath, links[1], qread, before);
	free(before);
	free(at);
	rc = 0;
	if (!qi_check(h)) {
		rc = alt_add_choice(h, &g, qpath, priority, NULL, names, links, targets, 2);
		g.manual = true;
		if (rc == 0)
			rc = alt_store(h, &g, qpath);
		if (rc == 0)
			rc = read_back(r, &g, alt_find(&g, qpath));
	}
	free(qpath);
	free(qread);
	alt_group_free(&g);
	return rc;
}

/* After the erase: the choices whose path was a file of a removed package
 * and is gone now (the package's scriptlets would have removed them, as
 * `alternatives --remove`), out of the group. */
static int alt_forget(struct rh_run *r, char **gone, size_t ngone)
{
	qi_handle *h = r->h;
	struct alt_group g;
	int rc = alt_load(h, "mta", &g);
	if (rc != 0)
		return rc < 0 ? qi_error_prefix(h, "the alternatives group mta after the erase") : 0;
	char *qpath = qi_xasprintf("%s/bin/sendmail", r->qmail_home);
	size_t removed = 0;
	for (size_t i = 0; i < ngone; i++) {
		struct stat st;
		if (!alt_find(&g, gone[i]) || qi_root_lstat(h, gone[i], &st) == 0)
			continue;
		rh_step(r, "alternatives", "the choice %s (its package removed, its scriptlets did not run) "
			"taken out of the group mta", gone[i]);
		alt_remove_choice(&g, gone[i]);
		removed++;
	}
	if (removed && alt_find(&g, qpath)) {
		g.manual = true;
		rc = alt_store(h, &g, qpath);
		if (rc == 0)
			rc = read_back(r, &g, alt_find(&g, qpath));
	}
	free(qpath);
	alt_group_free(&g);
	return rc;
}

int rh_alternatives(struct rh_run *r, bool after_erase)
{
	return alt_register(r, after_erase);
}

/* ------------------------------------------------------------------ */
/* keep, package (and its undo)                                         */
/* ------------------------------------------------------------------ */

static int undo_rpm(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	json_t *rpms = json_object_get(d, "rpms"), *names = json_object_get(d, "packages");
	if (!d || !json_is_array(rpms) || !json_is_array(names) || json_array_size(rpms) != json_array_size(names)) {
		json_decref(d);
		return qi_error(h, "the journal's record of the rpm removal is damaged (%s)", d ? "its lists" :
				jerr.text);
	}
	struct rpm_db db;
	if (rpm_db_load(h, &db) < 0) {
		json_decref(d);
		return -1;
	}
	size_t n = json_array_size(names), k = 0;
	for (size_t i = 0; i < n; i++)
		if (!json_string_value(json_array_get(names, i)) || !json_string_value(json_array_get(rpms, i))) {
			rpm_db_free(&db);
			json_decref(d);
			return qi_error(h, "the journal's record of the rpm removal is damaged (its entry %zu): "
					"nothing was installed again; install the kept .rpm files in %s%s by hand "
					"(rpm -i)", i + 1, qi_root_is_host(h) ? "" : qi_root(h), MIG_WORK_DIR);
		}
	char **files = qi_xmalloc((n + 1) * sizeof(*files));
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(names, i));
		const char *rpm = json_string_value(json_array_get(rpms, i));
		/* idempotent: a rollback resumed finds some back already */
		if (!rpm_find(&db, name))
			files[k++] = qi_root_path(h, rpm);
	}
	rpm_db_free(&db);
	int rc = k ? rpm_install(h, (const char *const *)files, k) : 0;
	if (rc == 0 && k)
		qi_info(h, "rollback: %zu package%s installed again from the kept .rpm file%s", k, k == 1 ? "" : "s",
			k == 1 ? "" : "s");
	for (size_t i = 0; i < k; i++)
		free(files[i]);
	free(files);
	json_decref(d);
	return rc;
}

int rh_package(struct rh_run *r)
{
	qi_handle *h = r->h;
	const struct mta_info *m = r->m;
	json_t *pkg = json_object(), *kept = json_array(), *req = json_array();
	json_object_set_new(qi_result(h), "package", pkg);
	json_object_set_new(pkg, "removed", json_string(m->remove[0]));
	json_object_set_new(pkg, "kept", kept);
	for (size_t i = 0; i < m->nrequired_by; i++)
		json_array_append_new(req, json_string(m->required_by[i]));
	json_object_set_new(pkg, "required_by", req);
	json_t *rpms = json_array(), *names = json_array();
	char **files = NULL;	/* the removed packages' paths: their choices */
	size_t nfiles = 0;
	int rc = 0;
	for (size_t i = 0; i < m->nremove && rc == 0; i++) {
		const struct rpm_pkg *p = rpm_find(&m->rdb, m->remove[i]);
		if (!p) {
			rc = qi_error(h, "package %s is not in %s's rpm database", m->remove[i], qi_root(h));
			break;
		}
		char *dest = qi_xasprintf("%s/%s.rpm", r->work_dir, p->nevra);
		rh_step(r, "keep", "%s: its .rpm kept in %s, for the rollback (offline)", p->nevra, dest);
		json_array_append_new(rpms, json_string(dest));
		json_array_append_new(names, json_string(p->name));
		if (!qi_check(h)) {
			char *file = NULL, **pf = NULL;
			const char *how = NULL;
			size_t npf = 0;
			rc = r->make_work(r->ctx);
			if (rc == 0)
				rc = rpm_keep(h, p, r->work, &file, &how);
			if (rc == 0)
				rc = qi_write_file_from(h, dest, file, 0600, (uid_t)-1, (gid_t)-1);
			if (rc == 0)
				json_array_append_new(kept, json_pack("{s:s, s:s, s:s, s:s}", "package", p->name,
								      "version", p->nevra, "rpm", dest, "from", how));
			if (rc == 0)
				rc = rpm_pkg_files(h, p, &pf, &npf);
			for (size_t k = 0; k < npf; k++) {
				files = qi_xrealloc(files, (nfiles + 1) * sizeof(*files));
				files[nfiles++] = pf[k];
			}
			free(pf);
			free(file);
			if (rc < 0)
				qi_error_prefix(h, "keeping %s's .rpm", p->name);
		}
		free(dest);
	}
	struct qi_buf list = { 0 }, reqs = { 0 };
	for (size_t i = 0; i < m->nremove; i++)
		qi_buf_addf(&list, " %s", m->remove[i]);
	for (size_t i = 0; i < m->nrequired_by; i++)
		qi_buf_addf(&reqs, "%s%s", i ? ", " : "", m->required_by[i]);
	if (rc == 0)
		rh_step(r, "package", "rpm -e --nodeps%s (as the guide does; edited configuration files stay as "
			".rpmsave, the spool stays)%s%s%s", list.data, m->nrequired_by ? "; these require an MTA and "
			"stay installed, served by qmail's sendmail: " : "", m->nrequired_by ? reqs.data : "",
			m->nrequired_by ? " (rpm -V reports the capability they lack)" : "");
	if (rc == 0 && !qi_check(h)) {
		json_t *d = json_pack("{s:O, s:O}", "rpms", rpms, "packages", names);
		char *text = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		int64_t id = 0;
		rc = qi_external_begin(h, UNDO_RPM, "remove the old MTA's rpm packages", text, &id);
		free(text);
		if (rc == 0)
			rc = rpm_erase_nodeps(h, (const char *const *)m->remove, m->nremove);
		if (rc == 0)
			rc = qi_external_done(h, id);
		if (rc == 0)
			rc = alt_forget(r, files, nfiles);
	}
	qi_buf_free(&list);
	qi_buf_free(&reqs);
	json_decref(rpms);
	json_decref(names);
	rpm_names_free(files, nfiles);
	return rc;
}

void rh_register(void)
{
	qi_register_undo(UNDO_RPM, undo_rpm);
}
