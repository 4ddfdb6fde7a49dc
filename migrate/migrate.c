/*
 * migrate.c - `qinstall migrate`: the takeover of a running Postfix, Exim
 * or sendmail by qmail, in one run, each step journaled before it
 * happens, and the undo of each step:
 *
 *   stop      the old MTA's unit stopped (ROOT "/"; elsewhere it must not
 *             run)                         undo: started again
 *   drain     (--queue drain) the old MTA asked to deliver, for a while,
 *             after the stop (Postfix's master from a copy of its
 *             configuration with no inet service)
 *                                          undo: that master stopped
 *   provision qmail's files, its services not started yet (the journal's
 *             own changes)
 *   carry     each message of the old queue handed to qmail-queue, then
 *             its files moved aside (ASIDE_DIR), in batches of CARRY_BATCH
 *                                          undo (first, while qmail's
 *             queue is as the run left it): the undelivered ones taken out
 *             of qmail's queue, their files moved back
 *   keep      the old packages' .debs kept in WORK_DIR (journal's writes)
 *   package   the stand-in installed by one dpkg run, which removes the
 *             old packages (never purges)  undo: the kept .debs installed,
 *             the stand-in purged
 *   links     sendmail, mailq, newaliases: qmail's (journal's symlinks),
 *             each read back
 *   start     qmail's svscan unit (provision's own step and undo)
 *
 * Nothing of the old MTA's data is ever deleted: its configuration and
 * spool stay where dpkg's remove leaves them, and a carried message that
 * qmail delivered keeps its old files aside, listed by the rollback.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "migrate/migrate.h"

#define WORK_DIR MIG_WORK_DIR
#define ASIDE_DIR "/var/spool/qinstall-carried"
#define CARRY_BATCH 256
#define POLICY_RC_D "/usr/sbin/policy-rc.d"
#define STANDIN_VERSION "1.0-qinstall1"

#define UNDO_STOP "migrate-stop"
#define UNDO_CARRY "migrate-carry"
#define UNDO_PACKAGE "migrate-package"
#define UNDO_CONFIG "migrate-config"
#define UNDO_DRAIN "migrate-drain"

static const char policy_text[] =
	"#!/bin/sh\n"
	"# qinstall migrate: no service starts while dpkg works in a ROOT that is not /\n"
	"exit 101\n";

struct mig {
	qi_handle *h;
	struct qi_profile *p;
	const struct qi_migrate_options *opt;
	struct mta_info m;
	struct mq_list q;
	char *qmail_home;
	const char *mode;	/* carry, drain, keep */
	char *work;		/* host directory in the cache for the .debs */
	json_t *steps;		/* borrowed: the result's */
	json_t *queue;		/* borrowed: the result's */
	json_t *left;		/* borrowed: queue.left */
	size_t carried;
	bool had_rmail;
	struct cv_result cv;	/* the old configuration, converted */
	/* what of CV provision lays over [mail] configure's files (its
	 * strings are CV's; RULES' are malloc'd) */
	struct qi_mail_conversion conv;
	const char **conv_names, **conv_texts;
	char **conv_rules;
	char *conv_origin;
	struct rh_run rh;	/* Red Hat's steps (redhat.c) */
};

static void vstep(struct mig *g, const char *name, const char *fmt, va_list ap)
{
	char *what = NULL;
	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	json_array_append_new(g->steps, json_pack("{s:s, s:s}", "step", name, "what", what));
	if (!qi_check(g->h))
		qi_info(g->h, "migrate: %s: %s", name, what);
	free(what);
}

static void step(struct mig *g, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void step(struct mig *g, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vstep(g, name, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Running the old MTA's and the system's tools                          */
/* ------------------------------------------------------------------ */

/* ARGV in ROOT: chrooted when ROOT is not "/"; output on stderr. */
static int run_in_root(qi_handle *h, const char *const *argv, bool quiet)
{
	struct qi_proc_spec spec = { .argv = argv, .search_path = qi_root_is_host(h),
				     .output = quiet ? QI_PROC_DISCARD : QI_PROC_STDERR,
				     .chroot = qi_root_is_host(h) ? NULL : qi_root(h) };
	return qi_proc_run(h, &spec, NULL);
}

static int systemctl(qi_handle *h, const char *verb, const char *unit)
{
	const char *argv[] = { "systemctl", verb, unit, NULL };
	char *hint = qi_xasprintf("see `journalctl -u %s`", unit);
	struct qi_proc_spec spec = { .argv = argv, .search_path = true, .output = QI_PROC_STDERR,
				     .hint = hint };
	int rc = qi_proc_run(h, &spec, NULL);
	free(hint);
	return rc;
}

static bool live_systemd(qi_handle *h)
{
	return qi_root_is_host(h) && access("/run/systemd/system", F_OK) == 0;
}

/* Best effort: unlink PATH inside ROOT (FLAGS: 0 or AT_REMOVEDIR, which
 * removes only an empty directory); what is not there is fine. */
static void unlink_in_root(qi_handle *h, const char *path, int flags)
{
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0) {
		qi_clear_error(h);
		return;
	}
	unlinkat(dfd, name, flags);
	close(dfd);
}

/* policy-rc.d in a ROOT that is not "/": while dpkg works there no
 * maintainer script may start a daemon (on the host's network). Made only
 * where none is; removed only when it is ours. */
static int policy_on(qi_handle *h)
{
	struct stat st;
	if (qi_root_is_host(h) || qi_root_lstat(h, POLICY_RC_D, &st) == 0)
		return 0;
	int fd = qi_root_open(h, POLICY_RC_D, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0)
		return qi_error_prefix(h, "cannot keep services from starting in %s", qi_root(h));
	int rc = qi_write_all(fd, policy_text, sizeof(policy_text) - 1);
	if (close(fd) < 0 || rc < 0)
		return qi_error_errno(h, "cannot write %s%s", qi_root(h), POLICY_RC_D);
	return 0;
}

static void policy_off(qi_handle *h)
{
	char *text = NULL;
	if (qi_root_is_host(h) || qi_root_read(h, POLICY_RC_D, &text, NULL) < 0) {
		qi_clear_error(h);
		return;
	}
	if (strcmp(text, policy_text) == 0)
		unlink_in_root(h, POLICY_RC_D, 0);
	free(text);
}

/* ------------------------------------------------------------------ */
/* stop (and its undo)                                                  */
/* ------------------------------------------------------------------ */

static int undo_stop(qi_handle *h, const char *unit)
{
	if (!live_systemd(h))
		return 0;
	return systemctl(h, "start", unit);
}

static int do_stop(struct mig *g)
{
	qi_handle *h = g->h;
	const char *unit = g->m.unit;
	if (!qi_root_is_host(h)) {
		if (g->m.running)
			return qi_error(h, "%s runs in %s (pid %ld): stop it first (its queue must not change "
					"while qinstall carries it), then run qinstall migrate again; nothing was "
					"changed", g->m.def->title, qi_root(h), (long)g->m.running);
		step(g, "stop", "%s: ROOT is not /, no service is stopped (it does not run)", unit);
		return 0;
	}
	if (!live_systemd(h)) {
		if (g->m.running)
			return qi_error(h, "%s runs (pid %ld) and systemd does not: stop it yourself (its queue "
					"must not change while qinstall carries it), then run qinstall migrate "
					"again; nothing was changed", g->m.def->title, (long)g->m.running);
		step(g, "stop", "%s does not run: nothing to stop", g->m.def->title);
		return 0;
	}
	step(g, "stop", "systemctl stop %s (new mail waits at the senders until qmail listens)", unit);
	if (qi_check(h))
		return 0;
	int64_t id;
	if (qi_external_begin(h, UNDO_STOP, "stop the old MTA", unit, &id) < 0 ||
	    systemctl(h, "stop", unit) < 0 || qi_external_done(h, id) < 0)
		return -1;
	pid_t still = mta_running_pid(h, g->m.def);
	if (still)
		return qi_error(h, "%s still runs (pid %ld) after `systemctl stop %s`: its queue must not "
				"change while qinstall carries it; stop it, then run qinstall migrate again (this "
				"run is rolled back)", g->m.def->title, (long)still, unit);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The old queue                                                        */
/* ------------------------------------------------------------------ */

static int scan_queue(struct mig *g)
{
	qi_handle *h = g->h;
	switch (g->m.def->kind) {
	case MTA_POSTFIX:
		return mq_postfix_scan(h, "/var/spool/postfix", &g->q);
	case MTA_EXIM:
		return mq_exim_scan(h, "/var/spool/exim4", &g->q);
	case MTA_SENDMAIL:
		if (mq_sendmail_scan(h, "/var/spool/mqueue", "mqueue", &g->q) < 0)
			return -1;
		return mq_sendmail_scan(h, "/var/spool/mqueue-client", "clientmqueue", &g->q);
	}
	return 0;
}

static int read_msg(struct mig *g, struct mq_msg *m)
{
	if (m->why)
		return 0;
	switch (g->m.def->kind) {
	case MTA_POSTFIX:
		return mq_postfix_read(g->h, m);
	case MTA_EXIM:
		return mq_exim_read(g->h, m);
	case MTA_SENDMAIL:
		return mq_sendmail_read(g->h, m);
	}
	return 0;
}

static void leave(struct mig *g, const struct mq_msg *m, const char *why)
{
	json_array_append_new(g->left, json_pack("{s:s, s:s, s:s}", "id", m->id, "path",
						 m->nfiles ? m->files[0] : "", "why", why));
	qi_warn(g->h, "message %s (%s%s) left in %s's queue: %s", m->id, qi_root_is_host(g->h) ? "" :
		qi_root(g->h), m->nfiles ? m->files[0] : "", g->m.def->title, why);
}

/* Where a carry puts FILE of the old queue: ASIDE_DIR/FILE. */
static char *aside_path(const char *file)
{
	return qi_xasprintf("%s%s", ASIDE_DIR, file);
}

/* mkdir -p of PATH's parent inside ROOT, 0700 (never followed out). */
static int make_parents(qi_handle *h, const char *path)
{
	char *dir = qi_xstrdup(path);
	int rc = 0;
	for (char *s = strchr(dir + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct stat st;
		if (qi_root_lstat(h, dir, &st) < 0) {
			const char *name;
			int dfd = qi_root_parent(h, dir, &name);
			if (dfd < 0 || (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST))
				rc = qi_error_errno(h, "cannot make %s%s", qi_root(h), dir);
			if (dfd >= 0)
				close(dfd);
		} else if (!S_ISDIR(st.st_mode)) {
			rc = qi_error(h, "%s%s is not a directory", qi_root(h), dir);
		}
		*s = '/';
	}
	free(dir);
	return rc;
}

/* rename FROM to TO, both inside ROOT; a missing FROM is fine. */
static int move_in_root(qi_handle *h, const char *from, const char *to)
{
	const char *n1, *n2;
	if (make_parents(h, to) < 0)
		return -1;
	int d1 = qi_root_parent(h, from, &n1), d2 = qi_root_parent(h, to, &n2);
	int rc = 0;
	if (d1 < 0 || d2 < 0 || (renameat(d1, n1, d2, n2) < 0 && errno != ENOENT))
		rc = qi_error_errno(h, "cannot move %s%s to %s", qi_root(h), from, to);
	if (d1 >= 0)
		close(d1);
	if (d2 >= 0)
		close(d2);
	return rc;
}

/* mkdir PATH inside ROOT, 0700; EEXIST is fine. */
static int mkdir_in_root(qi_handle *h, const char *path)
{
	if (make_parents(h, path) < 0)
		return -1;
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	int rc = 0;
	if (dfd < 0 || (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST))
		rc = qi_error_errno(h, "cannot make %s%s", qi_root(h), path);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* A carry moves files with rename(2): the spool and ASIDE_DIR's parent
 * must be one file system. */
static int check_aside(struct mig *g, const char *spool)
{
	struct stat a, b;
	if (qi_root_lstat(g->h, spool, &a) < 0)
		return 0;	/* no spool: nothing to move */
	if (qi_root_lstat(g->h, "/var/spool", &b) < 0)
		return qi_error_errno(g->h, "cannot look at %s/var/spool", qi_root(g->h));
	if (a.st_dev != b.st_dev)
		return qi_error(g->h, "%s%s is a file system of its own: qinstall moves each carried "
				"message's files to %s with rename(2), which cannot cross file systems. Use "
				"--queue keep or --queue drain; nothing was changed", qi_root(g->h), spool,
				ASIDE_DIR);
	return 0;
}

static const char *spool_of(const struct mig *g)
{
	switch (g->m.def->kind) {
	case MTA_POSTFIX: return "/var/spool/postfix";
	case MTA_EXIM: return "/var/spool/exim4";
	case MTA_SENDMAIL: return "/var/spool/mqueue";
	}
	return "/var/spool";
}

static json_t *carry_record(const struct mq_msg *m)
{
	char hash[QI_SHA256_HEX + 1];
	qq_content_hash(m->content, m->len, hash);
	json_t *files = json_array(), *aside = json_array();
	for (size_t i = 0; i < m->nfiles; i++) {
		json_array_append_new(files, json_string(m->files[i]));
		char *a = aside_path(m->files[i]);
		json_array_append_new(aside, json_string(a));
		free(a);
	}
	json_t *to = json_array();
	for (size_t i = 0; i < m->nrcpts; i++)
		json_array_append_new(to, json_string(m->rcpts[i]));
	return json_pack("{s:s, s:o, s:o, s:s, s:i, s:s, s:o}", "id", m->id, "files", files, "aside", aside,
			 "hash", hash, "rcpts", (json_int_t)m->nrcpts, "sender", m->sender ? m->sender : "",
			 "to", to);
}

/* Carry messages FROM..TO of the queue (already read) as one external
 * operation: recorded first, then each handed to qmail-queue and its
 * files moved aside. */
static int carry_batch(struct mig *g, size_t from, size_t to)
{
	qi_handle *h = g->h;
	json_t *msgs = json_array();
	for (size_t i = from; i < to; i++)
		if (!g->q.v[i].why)
			json_array_append_new(msgs, carry_record(&g->q.v[i]));
	size_t n = json_array_size(msgs);
	if (n == 0) {
		json_decref(msgs);
		return 0;
	}
	json_t *data = json_pack("{s:s, s:o}", "qmail_home", g->qmail_home, "msgs", msgs);
	char *text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	char *desc = qi_xasprintf("carry %zu message%s of %s's queue into qmail's", n, n == 1 ? "" : "s",
				  g->m.def->title);
	int64_t id;
	int rc = qi_external_begin(h, UNDO_CARRY, desc, text, &id);
	free(desc);
	free(text);
	for (size_t i = from; i < to && rc == 0; i++) {
		struct mq_msg *m = &g->q.v[i];
		if (m->why)
			continue;
		rc = qq_inject(h, g->qmail_home, m);
		for (size_t k = 0; k < m->nfiles && rc == 0; k++) {
			char *a = aside_path(m->files[k]);
			rc = move_in_root(h, m->files[k], a);
			free(a);
		}
		if (rc == 0)
			g->carried++;
	}
	if (rc == 0)
		rc = qi_external_done(h, id);
	return rc;
}

static int do_carry(struct mig *g)
{
	size_t from = 0;
	for (size_t i = 0; i < g->q.n; i++) {
		struct mq_msg *m = &g->q.v[i];
		if (read_msg(g, m) < 0)
			return -1;
		if (!m->why && m->nrcpts == 0)
			m->why = qi_xstrdup("every recipient of it was delivered already");
		for (size_t k = 0; !m->why && k < m->nrcpts; k++)
			if (!m->rcpts[k][0])
				m->why = qi_xstrdup("one of its recipients is an empty address, which qmail "
						    "cannot deliver: deliver or remove it with the old MTA's tools");
		if (!m->why && m->queue && strcmp(m->queue, "hold") == 0)
			m->why = qi_xstrdup("it is on hold (postsuper -h): not carried, so that qmail does "
					    "not deliver what was held; release it (postsuper -H) before the "
					    "migrate to have it carried");
		if (m->why)
			leave(g, m, m->why);
		if (i + 1 - from == CARRY_BATCH || i + 1 == g->q.n) {
			if (carry_batch(g, from, i + 1) < 0)
				return -1;
			for (size_t k = from; k <= i; k++) {
				free(g->q.v[k].content);	/* carried: not needed again */
				g->q.v[k].content = NULL;
			}
			from = i + 1;
			if (g->q.n > CARRY_BATCH)
				qi_info(g->h, "migrate: %zu of %zu messages carried", g->carried, g->q.n);
		}
	}
	return 0;
}

/* The old MTA's own queue run, for --queue drain, after the stop:
 * Exim's and sendmail's a delivery run of their own (sendmail's client
 * queue too); Postfix has none without its daemons, so master runs for
 * the drain from a configuration directory of the drain's own (DIR, the
 * MTA's main.cf and master.cf with every inet service off: no mail comes
 * in from the network) and postqueue -f asks it to deliver. */
static void drain_once(struct mig *g, const char *dir)
{
	const char *postfix[] = { "/usr/sbin/postqueue", "-c", dir, "-f", NULL };
	static const char *const exim[] = { "/usr/sbin/exim4", "-qff", NULL };
	static const char *const mqueue[] = { "/usr/sbin/sendmail", "-Am", "-q", NULL };
	static const char *const client[] = { "/usr/sbin/sendmail", "-Ac", "-q", NULL };
	const char *const *runs[2] = { g->m.def->kind == MTA_POSTFIX ? postfix :
				       g->m.def->kind == MTA_EXIM ? exim : mqueue,
				       g->m.def->kind == MTA_SENDMAIL ? client : NULL };
	for (int i = 0; i < 2 && runs[i]; i++)
		if (run_in_root(g->h, runs[i], true) < 0) {
			qi_warn(g->h, "drain: %s", qi_errmsg(g->h));
			qi_clear_error(g->h);
		}
}

#define DRAIN_DIR WORK_DIR "/.drain-postfix"

/* Write TEXT (LEN bytes) to the new file PATH inside ROOT, 0644. */
static int write_in_root(qi_handle *h, const char *path, const char *text, size_t len)
{
	int fd = qi_root_open(h, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = qi_write_all(fd, text, len);
	if (close(fd) < 0 || rc < 0)
		return qi_error_errno(h, "cannot write %s%s", qi_root(h), path);
	return 0;
}

static void drain_dir_remove(qi_handle *h)
{
	static const char *const files[] = { DRAIN_DIR "/main.cf", DRAIN_DIR "/master.cf", DRAIN_DIR };
	for (size_t i = 0; i < 3; i++)
		unlink_in_root(h, files[i], i == 2 ? AT_REMOVEDIR : 0);
}

/* Postfix's master for the drain, from DRAIN_DIR (START), or stopped. */
static int drain_postfix(struct mig *g, bool start)
{
	qi_handle *h = g->h;
	if (!start) {
		const char *stop[] = { "/usr/sbin/postfix", "-c", DRAIN_DIR, "stop", NULL };
		if (run_in_root(h, stop, true) < 0)
			qi_clear_error(h);
		for (int i = 0; i < 300 && mta_running_pid(h, g->m.def); i++)
			usleep(100000);
		drain_dir_remove(h);
		pid_t still = mta_running_pid(h, g->m.def);
		if (still)
			return qi_error(h, "Postfix's master (pid %ld), run for the drain, does not stop: stop it "
					"(postfix -c %s%s stop), then run qinstall rollback", (long)still,
					qi_root_is_host(h) ? "" : qi_root(h), DRAIN_DIR);
		return 0;
	}
	char *main_cf = NULL, *master_cf = NULL;
	size_t mlen = 0, xlen = 0;
	int rc = mkdir_in_root(h, DRAIN_DIR);
	if (rc == 0)
		rc = qi_root_read(h, "/etc/postfix/main.cf", &main_cf, &mlen);
	if (rc == 0)
		rc = qi_root_read(h, "/etc/postfix/master.cf", &master_cf, &xlen);
	if (rc == 0) {
		/* the last setting of a name is the one Postfix takes */
		char *text = qi_xasprintf("%s\n# qinstall migrate --queue drain: no mail from the network\n"
					  "master_service_disable = inet\n", main_cf);
		rc = write_in_root(h, DRAIN_DIR "/main.cf", text, strlen(text));
		free(text);
	}
	if (rc == 0)
		rc = write_in_root(h, DRAIN_DIR "/master.cf", master_cf, xlen);
	free(main_cf);
	free(master_cf);
	const char *argv[] = { "/usr/sbin/postfix", "-c", DRAIN_DIR, "start", NULL };
	if (rc == 0)
		rc = run_in_root(h, argv, false);
	return rc;
}

/* A rollback after a run killed while Postfix drained: its master
 * stopped, the drain's directory removed. */
static int undo_drain(qi_handle *h, const char *data)
{
	(void)data;
	struct stat st;
	if (qi_root_lstat(h, DRAIN_DIR, &st) < 0)
		return 0;
	const struct mta_def *def = mta_def_named("postfix");
	const char *stop[] = { "/usr/sbin/postfix", "-c", DRAIN_DIR, "stop", NULL };
	if (run_in_root(h, stop, true) < 0)
		qi_clear_error(h);
	for (int i = 0; i < 300 && mta_running_pid(h, def); i++)
		usleep(100000);
	pid_t still = mta_running_pid(h, def);
	if (still)
		return qi_error(h, "Postfix's master (pid %ld), run for a drain, does not stop: stop it "
				"(postfix -c %s%s stop), then run qinstall rollback again", (long)still,
				qi_root_is_host(h) ? "" : qi_root(h), DRAIN_DIR);
	drain_dir_remove(h);
	return 0;
}

/* --queue drain, after the stop: the old MTA delivers what it can for up
 * to the timeout, with no new mail from the network; what is left is
 * carried. In a ROOT that is not /, it runs there (chrooted): its
 * deliveries go out over this host's network. */
static int do_drain(struct mig *g)
{
	qi_handle *h = g->h;
	if (strcmp(g->mode, "drain") != 0)
		return 0;
	int timeout = g->opt->drain_timeout > 0 ? g->opt->drain_timeout : 300;
	bool postfix = g->m.def->kind == MTA_POSTFIX;
	step(g, "drain", "%s delivers its queue for up to %d s%s; what is left is carried", g->m.def->title,
	     timeout, postfix ? " (its master from a copy of its configuration with the inet services off)" :
	     " (its own queue runs)");
	if (qi_check(h))
		return 0;
	int64_t id = 0;
	if (postfix && qi_external_begin(h, UNDO_DRAIN, "run Postfix for the drain", "", &id) < 0)
		return -1;
	if (postfix && drain_postfix(g, true) < 0) {
		/* best effort: carried instead, nothing lost */
		qi_warn(h, "--queue drain: %s; its messages are carried instead", qi_errmsg(h));
		qi_clear_error(h);
		return drain_postfix(g, false) < 0 || qi_external_done(h, id) < 0 ? -1 : 0;
	}
	time_t end = time(NULL) + timeout;
	int rc = 0;
	for (;;) {
		drain_once(g, DRAIN_DIR);
		mq_list_free(&g->q);
		if ((rc = scan_queue(g)) < 0 || g->q.n == 0 || time(NULL) >= end)
			break;
		sleep(2);
	}
	if (postfix && (drain_postfix(g, false) < 0 || qi_external_done(h, id) < 0))
		rc = -1;
	if (rc == 0)
		qi_info(h, "migrate: drain: %zu message%s left after the drain", g->q.n, g->q.n == 1 ? "" : "s");
	return rc;
}

static int do_queue(struct mig *g)
{
	qi_handle *h = g->h;
	json_object_set_new(g->queue, "found", json_integer((json_int_t)g->q.n));
	if (strcmp(g->mode, "keep") == 0) {
		step(g, "queue", "keep: %zu message%s left in %s, untouched", g->q.n, g->q.n == 1 ? "" : "s",
		     spool_of(g));
		for (size_t i = 0; i < g->q.n; i++)
			json_array_append_new(g->left, json_pack("{s:s, s:s, s:s}", "id", g->q.v[i].id, "path",
								 g->q.v[i].nfiles ? g->q.v[i].files[0] : "",
								 "why", "--queue keep"));
		return 0;
	}
	step(g, "queue", "carry %zu message%s from %s into qmail's queue (%s%s/queue), each "
	     "moved aside to %s once qmail-queue took it", g->q.n, g->q.n == 1 ? "" : "s",
	     spool_of(g), qi_root_is_host(h) ? "" : qi_root(h), g->qmail_home, ASIDE_DIR);
	if (qi_check(h) || g->q.n == 0)
		return 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = do_carry(g);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_object_set_new(g->queue, "seconds", json_real((double)(t1.tv_sec - t0.tv_sec) +
							 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
	return rc;
}

/* After the package swap: what local programs queued with the old
 * sendmail since the carry (postdrop's maildrop/, sendmail's client queue)
 * is carried too, before the links give them qmail's. */
static int sweep(struct mig *g)
{
	if (qi_check(g->h) || strcmp(g->mode, "keep") == 0)
		return 0;
	mq_list_free(&g->q);
	if (scan_queue(g) < 0)
		return -1;
	struct mq_list fresh = { 0 };
	for (size_t i = 0; i < g->q.n; i++) {
		struct mq_msg *m = &g->q.v[i];
		bool listed = false;
		size_t k;
		json_t *v;
		json_array_foreach(g->left, k, v)
			listed |= m->nfiles && strcmp(json_string_value(json_object_get(v, "path")), m->files[0]) == 0;
		if (listed)
			continue;
		*mq_list_add(&fresh) = *m;
		memset(m, 0, sizeof(*m));
	}
	mq_list_free(&g->q);
	g->q = fresh;
	if (g->q.n == 0)
		return 0;
	qi_info(g->h, "migrate: %zu message%s came into %s's queue since the carry: carried too", g->q.n,
		g->q.n == 1 ? "" : "s", g->m.def->title);
	json_object_set_new(g->queue, "found", json_integer(json_integer_value(json_object_get(g->queue, "found")) +
							    (json_int_t)g->q.n));
	return do_carry(g);
}

/* ---- the carry's undo ---- */

/* The index of qmail's queue, loaded once per process, ROOT and qmail
 * home (a rollback undoes the carry's batches one after the other). */
static struct {
	char *root;
	struct qq_index ix;
} qcache;

static struct qq_index *queue_index(qi_handle *h, const char *home)
{
	char *key = qi_xasprintf("%s\n%s", qi_root(h), home);
	if (qcache.root && strcmp(qcache.root, key) == 0) {
		free(key);
		return &qcache.ix;
	}
	free(qcache.root);
	qq_index_free(&qcache.ix);
	qcache.root = NULL;
	if (qq_index_load(h, home, &qcache.ix) < 0) {
		free(key);
		return NULL;
	}
	qcache.root = key;
	return &qcache.ix;
}

static bool present(qi_handle *h, const char *path)
{
	struct stat st;
	return path && qi_root_lstat(h, path, &st) == 0;
}

/* The rollback's account of the carried messages: "queue_returned". */
static json_t *returned_json(qi_handle *h)
{
	json_t *r = json_object_get(qi_result(h), "queue_returned");
	if (!r) {
		r = json_pack("{s:i, s:[], s:[]}", "returned", 0, "delivered", "kept");
		json_object_set_new(qi_result(h), "queue_returned", r);
	}
	return r;
}

static void count_returned(qi_handle *h)
{
	json_t *r = returned_json(h);
	json_object_set_new(r, "returned", json_integer(json_integer_value(json_object_get(r, "returned")) + 1));
}

static void keep_listed(qi_handle *h, const char *id, const char *path, const char *why)
{
	json_array_append_new(json_object_get(returned_json(h), "kept"),
			      json_pack("{s:s, s:s, s:s}", "id", id, "path", path, "why", why));
	qi_warn(h, "carried message %s: %s (its old files: %s%s)", id, why, qi_root_is_host(h) ? "" :
		qi_root(h), path);
}

/* One carried message: back into the old queue when qmail has delivered
 * none of it (its old files moved back first, then qmail's copy removed,
 * so that a rollback killed in between finds it again); else its old
 * files stay aside and it is listed. */
static int return_one(qi_handle *h, struct qq_index *ix, json_t *msg)
{
	json_t *files = json_object_get(msg, "files"), *aside = json_object_get(msg, "aside");
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *hash = json_string_value(json_object_get(msg, "hash"));
	size_t nrcpts = (size_t)json_integer_value(json_object_get(msg, "rcpts"));
	size_t n = json_array_size(files);
	if (!id || !hash || !json_is_array(files) || !json_is_array(aside) || n != json_array_size(aside) ||
	    n == 0)
		return qi_error(h, "the journal's record of a carried message is damaged");
	const char *first_aside = json_string_value(json_array_get(aside, 0));
	/* the envelope too, when the record has it (records of older runs
	 * have the hash only) */
	const char *sender = json_string_value(json_object_get(msg, "sender"));
	json_t *to = json_object_get(msg, "to");
	size_t nto = json_array_size(to);
	char **rcpts = qi_xmalloc((nto + 1) * sizeof(*rcpts));
	for (size_t k = 0; k < nto; k++)
		rcpts[k] = (char *)(json_string_value(json_array_get(to, k)) ?
				    json_string_value(json_array_get(to, k)) : "");
	struct qq_entry *e = qq_find(h, ix, hash, json_is_array(to) ? sender : NULL, rcpts, nto);
	free(rcpts);
	if (e)
		e->taken = true;
	bool moved = false;
	for (size_t k = 0; k < n; k++)
		moved |= present(h, json_string_value(json_array_get(aside, k)));
	if (e && !qq_undelivered(e, nrcpts)) {
		keep_listed(h, id, first_aside, "qmail delivered it to some of its recipients: the others get "
			    "it from the old MTA again (queue_returned.reinjected), qmail's copy is kept aside "
			    "with qmail's queue");
		return 0;
	}
	if (!e) {
		if (moved) {
			json_array_append_new(json_object_get(returned_json(h), "delivered"), json_string(id));
			qi_info(h, "message %s: delivered by qmail (no copy of it is left in its queue); its old "
				"files stay in %s%s", id, qi_root_is_host(h) ? "" : qi_root(h), first_aside);
		}
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		const char *f = json_string_value(json_array_get(files, k));
		const char *a = json_string_value(json_array_get(aside, k));
		if (f && a && present(h, a) && present(h, f)) {
			keep_listed(h, id, first_aside, "the old queue has a file at its place again: both copies "
				    "are kept (qmail's with qmail's queue)");
			return 0;
		}
	}
	for (size_t k = 0; k < n; k++) {
		const char *f = json_string_value(json_array_get(files, k));
		const char *a = json_string_value(json_array_get(aside, k));
		if (f && a && present(h, a) && move_in_root(h, a, f) < 0)
			return -1;
	}
	if (qq_remove(h, e) < 0)
		return -1;
	count_returned(h);
	return 0;
}

/* The process, other than us, whose program is ROOT's PROG, or 0. */
static pid_t running_program(qi_handle *h, const char *prog)
{
	char *want = qi_root_path(h, prog);
	pid_t found = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && !found && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		char link[64], exe[4096];
		snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
		ssize_t len = readlink(link, exe, sizeof(exe) - 1);
		if (len <= 0)
			continue;
		exe[len] = '\0';
		if (strcmp(exe, want) == 0)
			found = (pid_t)pid;
	}
	if (d)
		closedir(d);
	free(want);
	return found;
}

/* qmail-send must not run while its queue is taken apart: wait a little
 * for one that is stopping, else refuse. */
static int qmail_stopped(qi_handle *h, const char *home)
{
	char *prog = qi_xasprintf("%s/bin/qmail-send", home);
	pid_t pid = 0;
	for (int i = 0; i < 150 && (pid = running_program(h, prog)); i++)
		usleep(100000);
	int rc = 0;
	if (pid)
		rc = qi_error(h, "qmail-send (pid %ld) still runs from %s%s: stop qmail first (svc -dx each "
			      "service in /etc/service and its log, or stop svscan and its supervise processes), "
			      "then run qinstall rollback again; nothing of this run was rolled back yet",
			      (long)pid, qi_root_is_host(h) ? "" : qi_root(h), prog);
	free(prog);
	return rc;
}

/* Remove the empty directories below ASIDE_DIR (and it), bottom up. */
static void prune_aside(qi_handle *h, const char *dir, int depth)
{
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		qi_clear_error(h);
		return;
	}
	DIR *d = fdopendir(fd);
	struct dirent *de;
	while (d && depth < 16 && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		char *sub = qi_xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (qi_root_lstat(h, sub, &st) == 0 && S_ISDIR(st.st_mode))
			prune_aside(h, sub, depth + 1);
		free(sub);
	}
	if (d)
		closedir(d);
	unlink_in_root(h, dir, AT_REMOVEDIR);	/* only when empty */
}

static int undo_carry(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	const char *home = json_string_value(json_object_get(d, "qmail_home"));
	json_t *msgs = json_object_get(d, "msgs");
	if (!d || !home || !json_is_array(msgs)) {
		json_decref(d);
		return qi_error(h, "the journal's record of a queue carry is damaged (%s)", jerr.text);
	}
	if (qmail_stopped(h, home) < 0) {
		json_decref(d);
		return -1;
	}
	struct qq_index *ix = queue_index(h, home);
	int rc = ix ? 0 : -1;
	size_t i;
	json_t *msg;
	json_array_foreach(msgs, i, msg) {
		if (rc == 0)
			rc = return_one(h, ix, msg);
	}
	json_decref(d);
	if (rc == 0)
		prune_aside(h, ASIDE_DIR, 0);
	return rc;
}

/* ---- what qmail had not delivered: back to the old MTA ---- */

/* A rollback gives the old MTA, once it is back, every message qmail
 * still holds with recipients to do: what qmail took while it ran (from
 * the network, local programs, its own bounces) and the carried messages
 * it delivered in part (those it delivered to none went back above, as
 * they were). In two undos, as the tree allows:
 *
 *   collect (first, registered before the carry: after the carry's
 *            undo, while qmail's queue is as the run left it): each such
 *            message copied to RETURN_DIR/NAME/ (mess, and envelope in
 *            qmail-queue's format), made in RETURN_DIR/.NAME and renamed;
 *            qmail's queue itself is then kept aside by the journal
 *   return  (registered before the stop: undone last, the old MTA's
 *            package and configuration back): each RETURN_DIR/NAME given
 *            to the old MTA's sendmail with its envelope (queue only),
 *            renamed NAME.sent first, removed once the MTA took it. A
 *            NAME.sent found by a rollback that was killed may be in the
 *            old queue already: kept and listed, never given twice. */
#define RETURN_DIR ASIDE_DIR "/returning"
#define UNDO_COLLECT "migrate-collect"
#define UNDO_RETURN "migrate-return"

static json_t *returned_list(qi_handle *h, const char *key)
{
	json_t *r = returned_json(h), *l = json_object_get(r, key);
	if (!l) {
		l = json_array();
		json_object_set_new(r, key, l);
	}
	return l;
}

/* FROM (inside ROOT) copied to the new file TO, 0600, in pieces, synced. */
static int copy_in_root(qi_handle *h, const char *from, const char *to)
{
	int in = qi_root_open(h, from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (in < 0)
		return -1;
	int out = qi_root_open(h, to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = qi_error_errno(h, "cannot read %s%s", qi_root(h), from);
		else if (qi_write_all(out, buf, (size_t)n) < 0)
			rc = qi_error_errno(h, "cannot write %s%s", qi_root(h), to);
	}
	if (rc == 0 && fsync(out) < 0)
		rc = qi_error_errno(h, "cannot write %s%s", qi_root(h), to);
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s%s", qi_root(h), to);
	return rc;
}

/* E (with its envelope ENV) copied to RETURN_DIR/NAME, unless there. */
static int collect_one(qi_handle *h, const struct qq_entry *e, const struct mq_msg *env)
{
	char *dir = qi_xasprintf("%s/%s", RETURN_DIR, e->name), *tmp = qi_xasprintf("%s/.%s", RETURN_DIR, e->name);
	char *sent = qi_xasprintf("%s.sent", dir);
	char *mess = qi_xasprintf("%s/mess", tmp), *envf = qi_xasprintf("%s/envelope", tmp);
	struct stat st;
	int rc = 0;
	if (qi_root_lstat(h, dir, &st) == 0 || qi_root_lstat(h, sent, &st) == 0)
		goto out;	/* a rollback killed before: collected already */
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "F%s", env->sender);
	qi_buf_add(&b, "", 1);
	for (size_t i = 0; i < env->nrcpts; i++) {
		qi_buf_addf(&b, "T%s", env->rcpts[i]);
		qi_buf_add(&b, "", 1);
	}
	qi_buf_add(&b, "", 1);
	rc = mkdir_in_root(h, tmp);
	if (rc == 0)
		rc = copy_in_root(h, e->mess, mess);
	int fd = rc < 0 ? -1 : qi_root_open(h, envf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rc == 0 && fd < 0)
		rc = -1;
	if (fd >= 0) {
		if (qi_write_all(fd, b.data, b.len) < 0 || fsync(fd) < 0)
			rc = qi_error_errno(h, "cannot write %s%s", qi_root(h), envf);
		close(fd);
	}
	qi_buf_free(&b);
	if (rc == 0)
		rc = move_in_root(h, tmp, dir);
out:
	free(dir);
	free(tmp);
	free(sent);
	free(mess);
	free(envf);
	return rc;
}

static int undo_collect(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	const char *home = json_string_value(json_object_get(d, "qmail_home"));
	if (!home) {
		json_decref(d);
		return qi_error(h, "the journal's record of qmail's queue is damaged (%s)", jerr.text);
	}
	int rc = qmail_stopped(h, home);
	struct qq_index *ix = rc < 0 ? NULL : queue_index(h, home);
	if (rc == 0 && !ix)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < ix->n; i++) {
		struct qq_entry *e = &ix->v[i];
		struct mq_msg env = { 0 };
		if (e->removed)
			continue;
		int got = qq_envelope(h, e, ix->vdoms, ix->locals, false, &env);
		if (got < 0)
			rc = -1;
		else if (got == 0 && env.nrcpts > 0)
			rc = collect_one(h, e, &env);
		mq_msg_free(&env);
	}
	json_decref(d);
	return rc;
}

/* The old MTA's sendmail for one message, queue only: ARGV (malloc'd,
 * its strings borrowed from ENV). */
static const char **return_argv(const char *mta, const struct mq_msg *env)
{
	const char **v = qi_xmalloc((env->nrcpts + 10) * sizeof(*v));
	size_t n = 0;
	if (strcmp(mta, "exim") == 0) {
		v[n++] = "/usr/sbin/exim4";
		v[n++] = "-odq";
		v[n++] = "-oi";
	} else if (strcmp(mta, "sendmail") == 0) {
		v[n++] = "/usr/sbin/sendmail";
		v[n++] = "-Am";	/* the MTA's own queue, not the submission one */
		v[n++] = "-odq";
		v[n++] = "-oi";
	} else {
		v[n++] = "/usr/sbin/sendmail";
		v[n++] = "-i";
	}
	v[n++] = "-f";
	v[n++] = env->sender[0] ? env->sender : "<>";
	v[n++] = "--";
	for (size_t i = 0; i < env->nrcpts; i++)
		v[n++] = env->rcpts[i];
	v[n] = NULL;
	return v;
}

/* RETURN_DIR/NAME: its envelope into ENV. */
static int read_returning(qi_handle *h, const char *dir, struct mq_msg *env)
{
	char *path = qi_xasprintf("%s/envelope", dir), *data = NULL;
	size_t len = 0;
	int rc = qi_root_read(h, path, &data, &len);
	for (size_t i = 0; rc == 0 && i < len; i += strnlen(data + i, len - i) + 1) {
		if (data[i] == 'F' && !env->sender)
			env->sender = qi_xstrdup(data + i + 1);
		else if (data[i] == 'T')
			mq_msg_add_rcpt(env, data + i + 1, strlen(data + i + 1));
	}
	if (rc == 0 && (!env->sender || env->nrcpts == 0))
		rc = qi_error(h, "%s%s: no sender or no recipient in it", qi_root(h), path);
	free(data);
	free(path);
	return rc;
}

/* Remove RETURN_DIR/NAME(.sent) and its two files. */
static void remove_returning(qi_handle *h, const char *dir)
{
	static const char *const files[] = { "mess", "envelope" };
	for (size_t k = 0; k < 2; k++) {
		char *f = qi_xasprintf("%s/%s", dir, files[k]);
		unlink_in_root(h, f, 0);
		free(f);
	}
	unlink_in_root(h, dir, AT_REMOVEDIR);
}

/* One collected message to the old MTA. */
static int return_to_mta(qi_handle *h, const char *mta, const char *title, const char *name)
{
	char *dir = qi_xasprintf("%s/%s", RETURN_DIR, name);
	size_t nlen = strlen(name);
	const char *show = qi_root_is_host(h) ? "" : qi_root(h);
	if (nlen > 5 && strcmp(name + nlen - 5, ".sent") == 0) {
		json_array_append_new(returned_list(h, "kept"), json_pack("{s:s, s:s, s:s}", "id", name,
			"path", dir, "why", "a rollback was stopped while it gave this message to the old MTA: "
			"it may be in its queue already (look with mailq); given again only by hand"));
		qi_warn(h, "message %s%s may be in %s's queue already (a rollback was stopped while it gave "
			"it); look with mailq, then give it by hand or remove it", show, dir, title);
		free(dir);
		return 0;
	}
	struct mq_msg env = { 0 };
	char *sent = qi_xasprintf("%s.sent", dir), *mess = qi_xasprintf("%s/mess", sent);
	int rc = read_returning(h, dir, &env);
	if (rc == 0)
		rc = move_in_root(h, dir, sent);
	int in = rc < 0 ? -1 : qi_root_open(h, mess, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (rc == 0 && in < 0)
		rc = -1;
	if (rc == 0) {
		const char **argv = return_argv(mta, &env);
		static const char *const env_none[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		char *label = qi_xasprintf("%s (the message qmail held as %s)", argv[0], name);
		struct qi_proc_spec spec = { .argv = argv, .env = env_none, .in_fd = in,
					     .output = QI_PROC_STDERR, .label = label, .hint = "",
					     .chroot = qi_root_is_host(h) ? NULL : qi_root(h) };
		int status = 0;
		if (qi_proc_run(h, &spec, &status) == 0) {
			remove_returning(h, sent);
			json_array_append_new(returned_list(h, "reinjected"),
					      json_pack("{s:s, s:s, s:i}", "id", name, "sender", env.sender,
							"rcpts", (json_int_t)env.nrcpts));
		} else {
			/* not taken: back to its name, listed, the rollback goes on */
			qi_warn(h, "%s did not take the message qmail held as %s (%s): it is kept in %s%s; "
				"give it by hand (%s -f SENDER RCPT... < mess, the envelope in qmail-queue's "
				"format)", title, name, qi_errmsg(h), show, dir, argv[0]);
			qi_clear_error(h);
			rc = move_in_root(h, sent, dir);
			json_array_append_new(returned_list(h, "kept"), json_pack("{s:s, s:s, s:s}", "id", name,
				"path", dir, "why", "the old MTA's sendmail refused it"));
		}
		free(label);
		free(argv);
	}
	if (in >= 0)
		close(in);
	mq_msg_free(&env);
	free(sent);
	free(mess);
	free(dir);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int undo_return(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	const char *mta = json_string_value(json_object_get(d, "mta"));
	const char *title = json_string_value(json_object_get(d, "title"));
	if (!mta || !title) {
		json_decref(d);
		return qi_error(h, "the journal's record of the old MTA is damaged (%s)", jerr.text);
	}
	int fd = qi_root_open(h, RETURN_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		qi_clear_error(h);	/* nothing was collected */
		json_decref(d);
		return 0;
	}
	DIR *dir = fdopendir(fd);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;	/* and a .NAME a killed collect left: never complete */
		names = qi_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = qi_xstrdup(de->d_name);
	}
	if (dir)
		closedir(dir);
	qsort(names, n, sizeof(*names), cmp_name);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = return_to_mta(h, mta, title, names[i]);
		free(names[i]);
	}
	free(names);
	size_t given = json_array_size(json_object_get(returned_json(h), "reinjected"));
	if (given)
		qi_info(h, "rollback: %zu message%s that qmail had not delivered given to %s", given,
			given == 1 ? "" : "s", title);
	if (rc == 0)
		prune_aside(h, ASIDE_DIR, 0);
	json_decref(d);
	return rc;
}

/* The two records, each made before the step that needs it. */
static int record_return(struct mig *g)
{
	json_t *d = json_pack("{s:s, s:s}", "mta", g->m.def->name, "title", g->m.def->title);
	char *text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	int64_t id;
	int rc = qi_external_begin(g->h, UNDO_RETURN, "give the old MTA what qmail will not have delivered",
				   text, &id);
	free(text);
	return rc < 0 ? -1 : qi_external_done(g->h, id);
}

static int record_collect(struct mig *g)
{
	json_t *d = json_pack("{s:s}", "qmail_home", g->qmail_home);
	char *text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	int64_t id;
	int rc = qi_external_begin(g->h, UNDO_COLLECT, "take out of qmail's queue what it will not have "
				   "delivered", text, &id);
	free(text);
	return rc < 0 ? -1 : qi_external_done(g->h, id);
}

/* ------------------------------------------------------------------ */
/* The packages                                                         */
/* ------------------------------------------------------------------ */

static char *deb_name(const struct dpkg_pkg *p)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "%s_", p->name);
	for (const char *s = p->version; s && *s; s++)
		if (*s == ':')
			qi_buf_add(&b, "%3a", 3);
		else
			qi_buf_add(&b, s, 1);
	qi_buf_addf(&b, "_%s.deb", p->arch ? p->arch : "all");
	return b.data;
}

/* WORK_DIR (the journal's) and its .work (dpkg-deb's, this run's only). */
static int work_dir(struct mig *g)
{
	qi_handle *h = g->h;
	struct stat st;
	if (qi_root_lstat(h, WORK_DIR, &st) < 0) {
		if (qi_mkdir_p(h, WORK_DIR, 0700, (uid_t)-1, (gid_t)-1) < 0)
			return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		return qi_error(h, "%s%s is not a directory: move it away, then run qinstall migrate again",
				qi_root(h), WORK_DIR);
	}
	if (mkdir(g->work, 0700) < 0 && errno != EEXIST)
		return qi_error_errno(h, "cannot make the work directory %s", g->work);
	/* the host's path must stay in ROOT, whatever ROOT's links say */
	char *real = realpath(g->work, NULL), *root = realpath(qi_root(h), NULL);
	size_t n = root ? strlen(root) : 0;
	bool inside = real && root && (n == 1 || (strncmp(real, root, n) == 0 && real[n] == '/'));
	free(real);
	free(root);
	if (!inside)
		return qi_error(h, "%s leads out of %s (a symbolic link in its way): qinstall will not work "
				"there; fix the link, then run qinstall migrate again", g->work, qi_root(h));
	return 0;
}

/* The .deb of every package that goes, into WORK_DIR through the journal. */
static int keep_debs(struct mig *g, json_t *kept)
{
	qi_handle *h = g->h;
	for (size_t i = 0; i < g->m.nremove; i++) {
		const struct dpkg_pkg *p = dpkg_find(&g->m.db, g->m.remove[i]);
		if (!p)
			return qi_error(h, "package %s is not in %s's dpkg database", g->m.remove[i], qi_root(h));
		char *name = deb_name(p);
		char *dest = qi_xasprintf("%s/%s", WORK_DIR, name);
		free(name);
		step(g, "keep", "%s %s: its .deb kept in %s, for the rollback", p->name, p->version, dest);
		if (qi_check(h)) {
			free(dest);
			continue;
		}
		char *deb = NULL;
		const char *how = NULL;
		int rc = work_dir(g);
		if (rc == 0)
			rc = dpkg_keep_deb(h, p, g->work, &deb, &how);
		if (rc == 0)
			rc = qi_write_file_from(h, dest, deb, 0600, (uid_t)-1, (gid_t)-1);
		if (rc == 0)
			json_array_append_new(kept, json_pack("{s:s, s:s, s:s, s:s}", "package", p->name,
							      "version", p->version, "deb", dest, "from", how));
		free(deb);
		free(dest);
		if (rc < 0)
			return qi_error_prefix(h, "keeping %s's .deb", p->name);
	}
	return 0;
}

/* Which of NAMES are installed in ROOT now (a fresh read of dpkg's status). */
static int installed_now(qi_handle *h, const char *const *names, size_t n, size_t *count, bool *standin)
{
	struct dpkg_db db;
	if (dpkg_status_load(h, &db) < 0)
		return -1;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dpkg_pkg *p = dpkg_find(&db, names[i]);
		*count += p && dpkg_installed(p);
	}
	const struct dpkg_pkg *s = dpkg_find(&db, QI_STANDIN_NAME);
	*standin = s && dpkg_installed(s);
	dpkg_db_free(&db);
	return 0;
}

static int undo_package(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	json_t *debs = json_object_get(d, "debs"), *names = json_object_get(d, "packages");
	if (!d || !json_is_array(debs) || !json_is_array(names)) {
		json_decref(d);
		return qi_error(h, "the journal's record of the package swap is damaged (%s)", jerr.text);
	}
	size_t n = json_array_size(names), count = 0;
	const char **nv = qi_xmalloc((n + 1) * sizeof(*nv));
	char **paths = qi_xmalloc((json_array_size(debs) + 1) * sizeof(*paths));
	for (size_t i = 0; i < n; i++)
		nv[i] = json_string_value(json_array_get(names, i));
	for (size_t i = 0; i < json_array_size(debs); i++)
		paths[i] = qi_root_path(h, json_string_value(json_array_get(debs, i)));
	bool standin = false;
	int rc = installed_now(h, nv, n, &count, &standin);
	if (rc == 0 && (count < n || standin))
		rc = policy_on(h);
	if (rc == 0 && count < n)
		rc = dpkg_install_many(h, (const char *const *)paths, json_array_size(debs));
	if (rc == 0)
		rc = installed_now(h, nv, n, &count, &standin);
	if (rc == 0 && standin)
		rc = dpkg_purge(h, QI_STANDIN_NAME);
	/* ours, also when a run killed in its dpkg step left it */
	policy_off(h);
	for (size_t i = 0; i < json_array_size(debs); i++)
		free(paths[i]);
	free(paths);
	free(nv);
	json_decref(d);
	return rc;
}

/* Every package installed before, but those that go, still is; the old
 * ones are gone, the stand-in is there, dpkg --audit is clean. */
static int check_swap(struct mig *g)
{
	qi_handle *h = g->h;
	struct dpkg_db now;
	if (dpkg_status_load(h, &now) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < g->m.db.n && rc == 0; i++) {
		const struct dpkg_pkg *was = &g->m.db.v[i];
		if (!dpkg_installed(was))
			continue;
		bool goes = false;
		for (size_t k = 0; k < g->m.nremove; k++)
			goes |= strcmp(g->m.remove[k], was->name) == 0;
		const struct dpkg_pkg *p = dpkg_find(&now, was->name);
		if (!goes && !(p && dpkg_installed(p)))
			rc = qi_error(h, "dpkg removed %s, which should have stayed installed", was->name);
		if (goes && p && dpkg_installed(p))
			rc = qi_error(h, "dpkg left %s installed", was->name);
	}
	const struct dpkg_pkg *s = dpkg_find(&now, QI_STANDIN_NAME);
	if (rc == 0 && !(s && dpkg_installed(s)))
		rc = qi_error(h, "dpkg did not install %s", QI_STANDIN_NAME);
	dpkg_db_free(&now);
	char *problems = NULL;
	if (rc == 0 && dpkg_audit(h, &problems) == 0 && problems && *problems)
		rc = qi_error(h, "dpkg --audit is not clean after the swap:\n%s", problems);
	free(problems);
	return rc;
}

static int do_package(struct mig *g)
{
	qi_handle *h = g->h;
	json_t *pkg = json_object();
	json_object_set_new(qi_result(h), "package", pkg);
	json_t *kept = json_array();
	json_object_set_new(pkg, "removed", json_string(g->m.pkg->name));
	json_object_set_new(pkg, "installed", json_string(QI_STANDIN_NAME));
	json_object_set_new(pkg, "kept", kept);
	if (keep_debs(g, kept) < 0)
		return -1;
	struct qi_buf names = { 0 };
	for (size_t i = 0; i < g->m.nremove; i++)
		qi_buf_addf(&names, "%s%s", i ? ", " : "", g->m.remove[i]);
	step(g, "package", "dpkg removes %s (not purged: the configuration and the spool stay) and "
	     "installs %s in its place, as apt does when one MTA replaces another", names.data,
	     QI_STANDIN_NAME);
	qi_buf_free(&names);
	if (qi_check(h))
		return 0;
	json_t *first = json_array_get(kept, 0);
	json_object_set(pkg, "kept_deb", json_object_get(first, "deb"));
	json_object_set(pkg, "kept_from", json_object_get(first, "from"));
	const char **conflicts = qi_xmalloc((g->m.nremove + 1) * sizeof(*conflicts));
	for (size_t i = 1; i < g->m.nremove; i++)
		conflicts[i - 1] = g->m.remove[i];
	conflicts[g->m.nremove ? g->m.nremove - 1 : 0] = NULL;
	struct dpkg_standin s = { .name = QI_STANDIN_NAME, .version = STANDIN_VERSION,
				  .description = "qmail, installed by qinstall (its files are in qinstall's journal)",
				  .conflicts = conflicts };
	char *deb = NULL;
	int rc = dpkg_standin_build(h, g->work, &s, &deb);
	free(conflicts);
	json_t *debs = json_array(), *pnames = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(kept, i, v) {
		json_array_append(debs, json_object_get(v, "deb"));
		json_array_append(pnames, json_object_get(v, "package"));
	}
	json_t *data = json_pack("{s:o, s:o}", "debs", debs, "packages", pnames);
	char *text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	int64_t id = 0;
	if (rc == 0)
		rc = qi_external_begin(h, UNDO_PACKAGE, "swap the old MTA's packages for the stand-in", text, &id);
	free(text);
	if (rc == 0)
		rc = policy_on(h);
	if (rc == 0)
		rc = dpkg_install(h, deb);
	policy_off(h);	/* only ours is ever removed */
	free(deb);
	if (rc == 0)
		rc = qi_external_done(h, id);
	if (rc == 0)
		rc = check_swap(g);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The old configuration                                                */
/* ------------------------------------------------------------------ */

static const char *const config_paths[] = { "/etc/postfix", "/etc/exim4", "/etc/mail", "/etc/aliases",
					    "/etc/cron.d/sendmail",
					    "/etc/aliases.db", "/etc/mailname", NULL };

static int undo_config(qi_handle *h, const char *data)
{
	json_error_t jerr;
	json_t *d = json_loads(data, 0, &jerr);
	json_t *files = json_object_get(d, "files");
	if (!json_is_array(files)) {
		json_decref(d);
		return qi_error(h, "the journal's snapshot of the old configuration is damaged (%s)", jerr.text);
	}
	size_t restored = 0;
	int rc = snap_restore(h, files, &restored);
	if (rc == 0 && restored)
		qi_info(h, "%zu path%s of the old MTA's configuration put back as before the takeover",
			restored, restored == 1 ? "" : "s");
	json_object_set_new(qi_result(h), "config_restored", json_integer((json_int_t)restored));
	json_decref(d);
	return rc;
}

static int do_snapshot(struct mig *g)
{
	qi_handle *h = g->h;
	step(g, "snapshot", "the old configuration (/etc/postfix, /etc/exim4, /etc/mail, /etc/aliases, "
	     "/etc/mailname, those there are) copied to %s/config, put back as it was by a rollback", WORK_DIR);
	json_t *list = NULL;
	int rc = snap_take(h, config_paths, WORK_DIR "/config", &list);
	if (rc == 0 && !qi_check(h)) {
		json_t *d = json_pack("{s:O}", "files", list);
		char *text = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		int64_t id;
		rc = qi_external_begin(h, UNDO_CONFIG, "the old MTA's configuration, as it was", text, &id);
		if (rc == 0)
			rc = qi_external_done(h, id);
		free(text);
	}
	json_decref(list);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The links                                                            */
/* ------------------------------------------------------------------ */

/* What still stands at PATH after the swap is qmail's to replace when no
 * installed package owns it (the journal keeps it); one a package still
 * owns stays, and is said. *TAKE: whether to replace it. */
static int may_take(struct mig *g, const struct dpkg_db *now, const char *path, bool *take)
{
	*take = true;
	if (!present(g->h, path))
		return 0;
	char *owner = NULL;
	if (dpkg_owner(g->h, now, path, &owner) < 0)
		return -1;
	const struct dpkg_pkg *p = owner ? dpkg_find(now, owner) : NULL;
	if (p && dpkg_installed(p)) {
		*take = false;
		qi_warn(g->h, "%s%s belongs to package %s, which stays installed: left as it is (not "
			"linked to qmail's sendmail)", qi_root_is_host(g->h) ? "" : qi_root(g->h), path, owner);
	}
	free(owner);
	return 0;
}

static int link_one(struct mig *g, const struct dpkg_db *now, const char *path, const char *target)
{
	qi_handle *h = g->h;
	char *at = mta_readlink(h, path);
	bool same = at && strcmp(at, target) == 0;
	free(at);
	bool take = true;
	if (same)
		return 0;
	if (may_take(g, now, path, &take) < 0)
		return -1;
	if (!take)
		return 0;
	json_array_append_new(json_object_get(qi_result(h), "links"),
			      json_pack("{s:s, s:s}", "path", path, "target", target));
	if (present(h, path) && qi_remove(h, path) < 0)
		return -1;
	if (qi_symlink(h, path, target) < 0)
		return -1;
	/* read back: never trust that it was made */
	at = mta_readlink(h, path);
	same = at && strcmp(at, target) == 0;
	free(at);
	if (!same)
		return qi_error(h, "%s%s does not point at %s after qinstall made it so", qi_root(h), path, target);
	return 0;
}

static int do_links(struct mig *g)
{
	qi_handle *h = g->h;
	static const char *const paths[] = { "/usr/sbin/sendmail", "/usr/lib/sendmail", "/usr/bin/mailq",
					     "/usr/bin/newaliases", "/usr/sbin/rmail" };
	char *target = qi_xasprintf("%s/bin/sendmail", g->qmail_home);
	json_object_set_new(qi_result(h), "links", json_array());
	struct dpkg_db now = { 0 };
	int rc = qi_check(h) ? 0 : dpkg_status_load(h, &now);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && rc == 0; i++) {
		/* rmail only where the old MTA had one */
		if (strcmp(paths[i], "/usr/sbin/rmail") == 0 && !g->had_rmail)
			continue;
		step(g, "link", "%s -> %s", paths[i], target);
		if (qi_check(h))
			json_array_append_new(json_object_get(qi_result(h), "links"),
					      json_pack("{s:s, s:s}", "path", paths[i], "target", target));
		else
			rc = link_one(g, &now, paths[i], target);
	}
	dpkg_db_free(&now);
	if (rc == 0 && !qi_check(h) && !present(h, target))
		rc = qi_error(h, "%s%s is missing: the links would point at nothing", qi_root(h), target);
	free(target);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The command                                                          */
/* ------------------------------------------------------------------ */

void qi_migrate_register(void)
{
	qi_register_undo(UNDO_STOP, undo_stop);
	qi_register_undo_first(UNDO_CARRY, undo_carry);
	qi_register_undo_first(UNDO_COLLECT, undo_collect);
	qi_register_undo(UNDO_RETURN, undo_return);
	qi_register_undo(UNDO_DRAIN, undo_drain);
	qi_register_undo(UNDO_PACKAGE, undo_package);
	qi_register_undo(UNDO_CONFIG, undo_config);
	rh_register();
}

/* ------------------------------------------------------------------ */
/* The old configuration                                                */
/* ------------------------------------------------------------------ */

#define CONVERTED_DIR WORK_DIR "/converted"

/* Whether the alias file NAME is one of the three that [mail] admin is
 * the mailbox of (mailconf.c writes them): --admin wins over the old
 * /etc/aliases, whose line stays in converted/ and the report. */
static bool admin_alias(const char *name)
{
	return strcmp(name, "alias/.qmail-postmaster") == 0 || strcmp(name, "alias/.qmail-mailer-daemon") == 0 ||
	       strcmp(name, "alias/.qmail-root") == 0;
}

/* What of the conversion provision installs (g->conv, which the
 * provision options point at), and why each file it does not is left out:
 * into O (the result's "config") as "applied" and "left_out".
 *   control/me               the domain decides it (the profile's, which is
 *                            the old host name when --domain is not given)
 *   defaultdomain, plusdomain, defaulthost
 *                            only when qmail's domain is the old host name
 *                            (no --domain, or that one; mailconf.c checks
 *                            it again on every later provision)
 *   .qmail-postmaster, -mailer-daemon, -root
 *                            --admin's (a different old one is warned of)
 *   tcp.smtp                 its lines become the rules before the profile's */
static void plan_conversion(struct mig *g, json_t *o)
{
	qi_handle *h = g->h;
	json_t *left = json_array();
	bool configure = qi_profile_bool(g->p, "mail", "configure");
	bool smtpd = qi_profile_bool(g->p, "services", "qmail") && qi_profile_bool(g->p, "services", "smtpd");
	/* the domain qmail gets: the profile's now (do_config set the old
	 * host name there when none was given), else the host's name */
	const char *domain = qi_profile_get(g->p, "mail", "domain");
	bool other_domain = !domain || !g->cv.me || strcmp(domain, g->cv.me) != 0;
	/* the admin mailconf takes: the profile's, else the last provision's */
	char *admin = qi_profile_get(g->p, "mail", "admin") ? qi_xstrdup(qi_profile_get(g->p, "mail", "admin")) :
		qi_provision_recorded(h, "admin");
	char *mine = admin ? qi_xasprintf("&%s\n", admin) : NULL;
	g->conv_names = qi_xrealloc(NULL, (g->cv.nfiles + 1) * sizeof(*g->conv_names));
	g->conv_texts = qi_xrealloc(NULL, (g->cv.nfiles + 1) * sizeof(*g->conv_texts));
	size_t nrules = 0;
	for (size_t i = 0; i < g->cv.nfiles; i++) {
		const struct cv_file *f = &g->cv.files[i];
		const char *why = NULL;
		if (strcmp(f->name, "tcp.smtp") == 0) {
			if (!smtpd) {
				why = "[services] smtpd = no: qinstall writes no SMTP rules";
			} else {
				for (const char *s = f->text; *s;) {
					size_t len = strcspn(s, "\n");
					if (len && *s != '#') {
						g->conv_rules = qi_xrealloc(g->conv_rules, (nrules + 2) *
									    sizeof(*g->conv_rules));
						g->conv_rules[nrules++] = qi_xasprintf("%.*s", (int)len, s);
						g->conv_rules[nrules] = NULL;
					}
					s += len + (s[len] == '\n');
				}
				continue;
			}
		} else if (!configure)
			why = "[mail] configure = no: qinstall writes none of qmail's control or alias files";
		else if (strcmp(f->name, "control/me") == 0)
			why = "control/me is the domain's (the profile's [mail] domain)";
		else if (other_domain && (strcmp(f->name, "control/defaultdomain") == 0 ||
					  strcmp(f->name, "control/plusdomain") == 0 ||
					  strcmp(f->name, "control/defaulthost") == 0))
			why = "qmail's domain is not the old host name: that domain decides it";
		else if (admin_alias(f->name)) {
			why = "--admin is the mailbox of postmaster, mailer-daemon and root";
			if (mine && strcmp(f->text, mine) != 0)
				qi_warn(h, "config: %s was %.*s in the old /etc/aliases; qmail's is --admin %s (the "
					"old one is kept in %s/%s)", f->name + strlen("alias/.qmail-"),
					(int)strcspn(f->text, "\n"), f->text, admin, CONVERTED_DIR, f->name);
		} else {
			g->conv_names[g->conv.n] = f->name;
			g->conv_texts[g->conv.n++] = f->text;
			continue;
		}
		json_array_append_new(left, json_pack("{s:s, s:s}", "file", f->name, "why", why));
	}
	free(mine);
	free(admin);
	g->conv_origin = qi_xasprintf("%s's configuration", g->m.def->title);
	g->conv.domain = g->cv.me;
	g->conv.names = g->conv_names;
	g->conv.texts = g->conv_texts;
	g->conv.rules = nrules ? (const char *const *)g->conv_rules : NULL;
	g->conv.origin = g->conv_origin;
	json_object_set_new(o, "applied", json_boolean(configure || nrules));
	json_object_set_new(o, "left_out", left);
}

/* What the config step says of plan_conversion's outcome. */
static const char *applied_what(const struct mig *g)
{
	bool files = qi_profile_bool(g->p, "mail", "configure"), rules = g->conv.rules != NULL;
	return files && rules ? "the qmail files that result are installed with qmail (control/, ~alias, the "
				"SMTP rules first in the rules file)" :
	       files ? "the qmail files that result are installed with qmail (control/, ~alias)" :
	       rules ? "its SMTP rules are installed first in the rules file ([mail] configure = no: no "
		       "control or alias file)" :
		       "nothing of it is installed ([mail] configure = no)";
}

/* The old configuration converted (it reads only): the result's "config",
 * each setting that converted with a warning said, and the domain taken
 * from it when none was given (--domain wins, and the step says what it
 * overrides). Before the provision is prepared: its control files follow
 * the domain. */
static int do_config(struct mig *g)
{
	qi_handle *h = g->h;
	if (mig_config_convert(h, g->m.def, &g->cv) < 0)
		return -1;
	json_t *o = mig_config_json(&g->cv);
	json_object_set_new(qi_result(h), "config", o);
	json_t *c = json_object_get(o, "counts");
	const char *given = qi_profile_get(g->p, "mail", "domain");
	char *about = NULL;
	json_object_set_new(o, "domain_from", json_null());
	if (!given && g->cv.me) {
		if (qi_profile_set(h, g->p, "mail", "domain", g->cv.me) == 0) {
			about = qi_xasprintf("; the domain %s, the old MTA's host name (give --domain for another)",
					     g->cv.me);
			json_object_set_new(o, "domain_from", json_string("old configuration"));
		} else {
			/* not a name qmail can be set up for (localhost): as
			 * without it, the host's own name */
			qi_warn(h, "config: the old MTA's host name %s is not a domain qinstall can set qmail up "
				"for (%s): the host's own name is used; give --domain to choose", g->cv.me,
				qi_errmsg(h));
			qi_clear_error(h);
		}
	} else if (given && g->cv.me && strcmp(given, g->cv.me) != 0) {
		about = qi_xasprintf("; the domain given, %s, is used, not the old MTA's host name %s", given,
				     g->cv.me);
		json_object_set_new(o, "domain_from", json_string("given"));
	}
	plan_conversion(g, o);
	step(g, "config", "%s's configuration: %lld setting%s converted, %lld with a warning, %lld not "
	     "converted (each listed); %s; the report and a copy of every file are in %s%s", g->m.def->title,
	     (long long)json_integer_value(json_object_get(c, "converted")),
	     json_integer_value(json_object_get(c, "converted")) == 1 ? "" : "s",
	     (long long)json_integer_value(json_object_get(c, "warned")),
	     (long long)json_integer_value(json_object_get(c, "not_converted")),
	     applied_what(g), CONVERTED_DIR, about ? about : "");
	free(about);
	for (size_t i = 0; i < g->cv.nitems; i++)
		if (g->cv.items[i].outcome == CV_WARNED)
			qi_warn(h, "config: %s (%s): %s", g->cv.items[i].setting, g->cv.items[i].before,
				g->cv.items[i].why ? g->cv.items[i].why : "converted with a difference");
	return 0;
}

/* The report of the conversion, one line a setting. Malloc'd. */
static char *config_report(const struct cv_result *cv, const char *title)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "# %s's configuration as qmail's, by qinstall migrate: each setting, what it\n"
		    "# became, and why when it is not exactly that. The files beside this one are\n"
		    "# what the conversion gives, as qinstall installed them (but for those the\n"
		    "# result's config.left_out names: the profile's --domain and --admin win).\n", title);
	for (size_t i = 0; i < cv->nitems; i++) {
		const struct cv_item *it = &cv->items[i];
		qi_buf_addf(&b, "%s: %s = %s -> %s%s%s\n", cv_outcome_name(it->outcome), it->setting, it->before,
			    it->after[0] ? it->after : "(nothing)", it->why ? ": " : "", it->why ? it->why : "");
	}
	return b.data ? b.data : qi_xstrdup("");
}

/* Whether NAME is one convert.h names: control/NAME, alias/.qmail-NAME or
 * tcp.smtp, with no other '/' and no "..": never a path out of
 * CONVERTED_DIR, whatever an old configuration held. */
static bool converted_name_ok(const char *name)
{
	const char *base = strncmp(name, "control/", 8) == 0 ? name + 8 :
			   strncmp(name, "alias/.qmail-", 13) == 0 ? name + 13 :
			   strcmp(name, "tcp.smtp") == 0 ? name : NULL;
	return base && *base && !strchr(base, '/') && !strstr(name, "..");
}

/* What do_config converted, written to CONVERTED_DIR (journaled: the
 * rollback removes it): REPORT and each file under its name. With
 * --check, only the diff says what would be written. */
static int save_config(struct mig *g)
{
	qi_handle *h = g->h;
	char *report = config_report(&g->cv, g->m.def->title);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i <= g->cv.nfiles; i++) {
		const char *name = i < g->cv.nfiles ? g->cv.files[i].name : "REPORT";
		const char *text = i < g->cv.nfiles ? g->cv.files[i].text : report;
		if (i < g->cv.nfiles && !converted_name_ok(name)) {
			qi_warn(h, "config: the conversion named a file %s, which is not one of qmail's: not "
				"written (this is a bug of qinstall's; its lines are in the JSON config)", name);
			continue;
		}
		char *path = qi_xasprintf("%s/%s", CONVERTED_DIR, name);
		if (qi_check(h)) {
			/* before: what an earlier run left there, if anything */
			char *had = NULL;
			struct stat st;
			if (qi_root_lstat(h, path, &st) == 0 && S_ISREG(st.st_mode) &&
			    qi_root_read(h, path, &had, NULL) < 0)
				qi_clear_error(h);
			qi_diff_add(h, path, had, text);
			free(had);
		} else {
			char *dir = qi_xstrdup(path);
			*strrchr(dir, '/') = '\0';
			rc = qi_mkdir_p(h, dir, 0700, 0, 0);
			if (rc == 0)
				rc = qi_write_file(h, path, text, strlen(text), 0600, 0, 0);
			free(dir);
		}
		free(path);
	}
	free(report);
	return rc;
}

static void mig_free(struct mig *g)
{
	mta_info_free(&g->m);
	mq_list_free(&g->q);
	if (g->work) {
		/* the .debs made here were copied into ROOT */
		const char *argv[] = { "rm", "-rf", g->work, NULL };
		struct qi_proc_spec spec = { .argv = argv, .search_path = true, .keep_error = true };
		qi_proc_run(g->h, &spec, NULL);
	}
	free(g->work);
	free(g->qmail_home);
	for (char **r = g->conv_rules; r && *r; r++)
		free(*r);
	free(g->conv_rules);
	free(g->conv_names);
	free(g->conv_texts);
	free(g->conv_origin);
	cv_result_free(&g->cv);
}

/* --check: what the provision step would change (the result's "plan"
 * and "provision_steps"), with nothing fetched, built or written. */
static int check_provision(struct mig *g)
{
	json_t *res = qi_result(g->h);
	json_t *mine = json_incref(json_object_get(res, "steps"));
	int rc = qi_provision_plan(g->h, g->p, &g->opt->provision);
	json_t *theirs = json_object_get(res, "steps");
	if (theirs && theirs != mine)
		json_object_set(res, "provision_steps", theirs);
	json_object_set_new(res, "steps", mine);
	return rc;
}

/* ROOT already runs qmail through the stand-in: provision only. */
static int already_qmail(struct mig *g, struct qi_provision *pv)
{
	qi_handle *h = g->h;
	bool pending = true;
	if (qi_provision_pending(h, pv, &pending) < 0)
		return -1;
	if (!pending) {
		if (g->m.rpm)
			qi_set_msg(h, "%s already runs qmail (the alternatives group mta is on qmail's sendmail): "
				   "nothing to take over", qi_root(h));
		else
			qi_set_msg(h, "%s already runs qmail (%s is installed): nothing to take over", qi_root(h),
				   QI_STANDIN_NAME);
		return 0;
	}
	if (qi_check(h))
		return qi_provision_plan(h, g->p, &g->opt->provision);
	if (qi_run_begin(h, "migrate (qmail already there: provision)") < 0)
		return -1;
	if (qi_provision_commit(h, pv) < 0 || qi_run_commit(h) < 0) {
		qi_run_abort(h);
		return -1;
	}
	qi_set_msg(h, "%s already runs qmail: provisioned what was missing", qi_root(h));
	return 0;
}

/* redhat.c's callbacks */
static void rh_step_cb(void *ctx, const char *name, const char *fmt, va_list ap)
{
	vstep(ctx, name, fmt, ap);
}

static int rh_work_cb(void *ctx)
{
	return work_dir(ctx);
}

static int takeover(struct mig *g, struct qi_provision *pv, bool start)
{
	qi_handle *h = g->h;
	if (!qi_check(h) && record_return(g) < 0)
		return -1;
	if (do_stop(g) < 0 || do_drain(g) < 0)
		return -1;
	/* what the MTA did until it stopped: the queue read again */
	if (!qi_check(h)) {
		mq_list_free(&g->q);
		if (scan_queue(g) < 0)
			return -1;
	}
	step(g, "provision", "qmail from profile %s into %s (its services start last)",
	     qi_profile_file(g->p), qi_root(h));
	if (!qi_check(h) && (qi_provision_commit(h, pv) < 0 || record_collect(g) < 0))
		return -1;
	if (save_config(g) < 0)
		return -1;
	if (do_queue(g) < 0 || do_snapshot(g) < 0)
		return -1;
	if (g->m.rpm) {
		g->rh.work = g->work;
		if (rh_startup_off(&g->rh) < 0 || rh_alternatives(&g->rh, false) < 0 || rh_package(&g->rh) < 0 ||
		    rh_alternatives(&g->rh, true) < 0 || sweep(g) < 0)
			return -1;
	} else if (do_package(g) < 0 || sweep(g) < 0 || do_links(g) < 0) {
		return -1;
	}
	step(g, "start", "qmail's services (svscan)%s", qi_root_is_host(h) ? "" : ": not started, ROOT is not /");
	if (!qi_check(h) && qi_provision_start(h, pv, start) < 0)
		return -1;
	return 0;
}

static int migrate(struct mig *g)
{
	qi_handle *h = g->h;
	/* copies: setting a value makes the profile's values anew */
	g->qmail_home = qi_xstrdup(qi_profile_get(g->p, "accounts", "qmail_home"));
	char *qsendmail = qi_xasprintf("%s/bin/sendmail", g->qmail_home);
	int drc = mta_detect(h, g->opt->from, qsendmail, &g->m);
	free(qsendmail);
	if (drc < 0)
		return -1;
	g->rh = (struct rh_run){ .h = h, .m = &g->m, .qmail_home = g->qmail_home, .work_dir = WORK_DIR,
				 .make_work = rh_work_cb, .step = rh_step_cb, .ctx = g };
	bool keep_start = qi_profile_bool(g->p, "services", "start");
	int rc = qi_profile_set(h, g->p, "services", "start", "no");
	struct qi_provision *pv = NULL;
	if (rc == 0 && !g->m.already_qmail) {
		char *owner = NULL;
		if (!g->m.rpm && dpkg_owner(h, &g->m.db, "/usr/sbin/rmail", &owner) == 0 && owner)
			for (size_t i = 0; i < g->m.nremove; i++)
				g->had_rmail |= strcmp(g->m.remove[i], owner) == 0;
		free(owner);
		rc = g->m.rpm ? 0 : dpkg_check_unlocked(h);
		if (rc == 0)
			rc = do_config(g);
		if (rc == 0 && strcmp(g->mode, "keep") != 0)
			rc = check_aside(g, spool_of(g));
		if (rc == 0 && strcmp(g->mode, "keep") != 0 && g->m.def->kind == MTA_SENDMAIL)
			rc = check_aside(g, "/var/spool/mqueue-client");
		/* a real run reads the queue once the MTA is stopped */
		if (rc == 0 && qi_check(h))
			rc = scan_queue(g);
	}
	if (rc == 0 && qi_check(h) && !g->m.already_qmail)
		rc = check_provision(g);
	else if (rc == 0)
		rc = qi_provision_prepare(h, g->p, &g->opt->provision, &pv);
	if (rc == 0 && g->m.already_qmail) {
		rc = already_qmail(g, pv);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (!qi_check(h)) {
		/* the work directory of dpkg-deb: inside ROOT, where dpkg runs
		 * chrooted; made and removed by this run, its results copied
		 * through the journal */
		g->work = qi_root_path(h, WORK_DIR "/.work");
		char *what = qi_xasprintf("migrate --from %s --queue %s", g->m.def->name, g->mode);
		rc = qi_run_begin(h, what);
		free(what);
		if (rc < 0)
			goto out;
	}
	rc = takeover(g, pv, keep_start);
	if (qi_check(h))
		qi_set_changed(h);	/* it would: Ansible's check mode says so */
	json_object_set_new(g->queue, "carried", json_integer((json_int_t)g->carried));
	json_object_set_new(g->queue, "left_count", json_integer((json_int_t)json_array_size(g->left)));
	if (qi_check(h))
		goto out;
	if (rc == 0)
		rc = qi_run_commit(h);
	if (rc < 0) {
		qi_run_abort(h);
		goto out;
	}
	qi_set_msg(h, "%s took over from %s %s: %zu message%s carried, %zu left; `qinstall rollback` "
		   "brings %s back", g->m.rpm ? "qmail" : QI_STANDIN_NAME, g->m.pkg_name, g->m.pkg_version, g->carried,
		   g->carried == 1 ? "" : "s", json_array_size(g->left), g->m.def->title);
out:
	qi_provision_free(pv);
	return rc;
}

int qi_migrate(qi_handle *h, struct qi_profile *p, const struct qi_migrate_options *opt)
{
	const char *mode = opt->queue ? opt->queue : "carry";
	if (strcmp(mode, "carry") != 0 && strcmp(mode, "drain") != 0 && strcmp(mode, "keep") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "--queue %s: give carry, drain or keep", mode);
	struct qi_migrate_options own = *opt;
	own.provision.takeover = true;	/* the links are the takeover's step */
	struct mig g = { .h = h, .p = p, .opt = &own, .mode = mode };
	own.provision.conversion = &g.conv;	/* filled by do_config */
	json_t *res = qi_result(h);
	g.steps = json_array();
	json_object_set_new(res, "steps", g.steps);
	g.queue = json_pack("{s:s, s:i, s:i, s:[], s:i}", "mode", mode, "found", 0, "carried", 0, "left",
			    "left_count", 0);
	json_object_set_new(res, "queue", g.queue);
	g.left = json_object_get(g.queue, "left");
	int rc = migrate(&g);
	mig_free(&g);
	return rc;
}
