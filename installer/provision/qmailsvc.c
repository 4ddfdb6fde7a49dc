/*
 * qmailsvc.c - qmail's services under daemontools, the provision step of
 * [services] qmail = yes, laid out as Life with qmail lays them out:
 *
 *   SUPERVISE/qmail-send/run        exec QMAIL/rc (qmail-start with the
 *                                   default delivery of control/defaultdelivery)
 *   SUPERVISE/qmail-smtpd/run       softlimit + tcpserver + qmail-smtpd
 *   SUPERVISE/qmail-pop3d/run       softlimit + tcpserver + qmail-popup +
 *                                   checkpassword + qmail-pop3d
 *   SUPERVISE/qmail-submission/run  [services] submission: qmail-smtpd on
 *                                   port 587 with SUBMISSION set, no rules
 *   SMTP_CHECKPASSWORD              [services] smtpd_auth: qmail-smtpd-auth's
 *                                   checkpassword, setgid smtpd_auth_group,
 *                                   and the password file 0640 root:that group
 *   SUPERVISE/NAME/log/run          multilog as qmaill into LOG_DIR/NAME
 *   SERVICE_DIR/NAME -> SUPERVISE/NAME   the links svscan finds
 *   SMTP_RULES, SMTP_RULES.cdb      the relay rules (tcprules' text and cdb)
 *
 * Everything is computed, written through the journal in provision's run
 * (the links last: svscan starts a service as soon as its link is
 * there), and the same a second time: nothing is written then. Nothing
 * is started: svscan picks the services up itself once it runs. The cdb
 * is compiled by the tcprules of this build into the work area, then
 * written through the journal, so rollback restores it with the text.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"

enum svc_kind { SV_DIR, SV_FILE, SV_CDB, SV_LINK, SV_PERM };	/* SV_PERM: an existing file's
									 * owner and mode (made empty when absent) */
enum svc_action { SV_SAME, SV_CREATE, SV_REPLACE, SV_MODE };

struct svc_item {
	enum svc_kind kind;
	char *path;
	char *data;		/* a file's content, a link's target, the host file of a
				 * copied file (the cdb, the checkpassword program) */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool weak;		/* a directory above: made when missing, else left as it is */
	enum svc_action action;
};

struct qi_qmailsvc {
	struct svc_item *it;
	size_t n;
	char *rules;		/* SMTP_RULES's text, or NULL without smtpd */
	char *rules_path, *cdb_path;
	char *work;		/* where the cdb is compiled (host), or NULL */
	char *service_dir;
	json_t *names;		/* the services, for the record and the result */
};

static const char *const action_names[] = { "same", "create", "replace", "mode" };

static const char *const default_rules[] = { "127.0.0.1:allow,RELAYCLIENT=\"\"", ":allow", NULL };

static struct svc_item *add(struct qi_qmailsvc *s, enum svc_kind kind, char *path, char *data, mode_t mode,
			    uid_t uid, gid_t gid)
{
	s->it = qi_xrealloc(s->it, (s->n + 1) * sizeof(*s->it));
	struct svc_item *it = &s->it[s->n++];
	*it = (struct svc_item){ .kind = kind, .path = path, .data = data, .mode = mode, .uid = uid, .gid = gid };
	return it;
}

/* Each directory above PATH not yet among the items, parents first
 * (root's 0755, made only when missing), then PATH itself: with MODE and
 * owner, or WEAK like those above. */
static void add_dirs(struct qi_qmailsvc *s, const char *path, mode_t mode, uid_t uid, gid_t gid, bool weak)
{
	char *p = qi_xstrdup(path);
	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char ch = *c;
		*c = '\0';
		bool known = false;
		for (size_t i = 0; i < s->n && !known; i++)
			known = strcmp(s->it[i].path, p) == 0;
		bool above = ch || weak;
		if (!known)
			add(s, SV_DIR, qi_xstrdup(p), NULL, above ? 0755 : mode, above ? 0 : uid,
			    above ? 0 : gid)->weak = above;
		*c = ch;
		if (!ch)
			break;
	}
	free(p);
}

/* Remove the work directory and the files compile_rules makes in it. */
static void remove_work(const char *work)
{
	static const char *const files[] = { "rules", "rules.cdb", "rules.tmp" };
	for (int i = 0; i < 3; i++) {
		char *f = qi_xasprintf("%s/%s", work, files[i]);
		unlink(f);
		free(f);
	}
	rmdir(work);
}

void qi_qmailsvc_free(struct qi_qmailsvc *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->it[i].path);
		free(s->it[i].data);
	}
	free(s->it);
	if (s->work)
		remove_work(s->work);
	free(s->work);
	free(s->rules);
	free(s->rules_path);
	free(s->cdb_path);
	free(s->service_dir);
	json_decref(s->names);
	free(s);
}

/* ---- the rules ---- */

static const char *const *smtp_rules(const struct qi_profile *p)
{
	return qi_profile_list_set(p, "services", "smtp_rule") ? qi_profile_get_list(p, "services", "smtp_rule") :
		default_rules;
}

int qi_qmailsvc_check(qi_handle *h, const struct qi_profile *p)
{
	if (!qi_profile_bool(p, "services", "qmail") || !qi_profile_bool(p, "services", "smtpd") ||
	    qi_profile_bool(p, "services", "allow_open_relay"))
		return 0;
	const char *const *rules = smtp_rules(p);
	for (size_t i = 0; rules[i]; i++) {
		bool open = false;
		if (qi_tcprule_invalid(rules[i], &open) || !open)
			continue;
		const char *origin = qi_profile_value_origin(p, "services", "smtp_rule", rules[i]);
		return qi_error_kind(h, QI_ERR_USAGE, "%s: smtp_rule = %s sets RELAYCLIENT for every client: "
				     "qmail-smtpd would then relay anyone's mail to anywhere (an open relay, "
				     "soon abused by spammers and blocklisted). Give RELAYCLIENT only to your "
				     "own networks (e.g. 192.168.1.:allow,RELAYCLIENT=\"\"), or set [services] "
				     "allow_open_relay = yes if this is really wanted (nothing was written)",
				     origin ? origin : qi_profile_file(p), rules[i]);
	}
	return 0;
}

/* Compile S->rules with TCPRULES (a host path) into S->work/rules.cdb, a
 * fresh directory of the work area (removed by qi_qmailsvc_free). */
static int compile_rules(qi_handle *h, struct qi_qmailsvc *s, const char *tcprules)
{
	/* the work area's, when it has one already: a plan makes none */
	char *area = qi_xasprintf("%s/work", qi_cache_dir(h));
	const char *tmpdir = getenv("TMPDIR");
	struct stat st;
	s->work = stat(area, &st) == 0 && S_ISDIR(st.st_mode) ? qi_xasprintf("%s/tcprules.XXXXXX", area) :
		qi_xasprintf("%s/qinstall-tcprules.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	free(area);
	int rc = mkdtemp(s->work) ? 0 : qi_error_errno(h, "cannot make a directory %s", s->work);
	if (rc < 0) {
		free(s->work);
		s->work = NULL;
		return -1;
	}
	char *text = qi_xasprintf("%s/rules", s->work), *cdb = qi_xasprintf("%s/rules.cdb", s->work);
	char *tmp = qi_xasprintf("%s/rules.tmp", s->work);
	int fd = rc == 0 ? open(text, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	if (rc == 0 && (fd < 0 || qi_write_all(fd, s->rules, strlen(s->rules)) < 0))
		rc = qi_error_errno(h, "cannot write %s", text);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s", text);
	const char *argv[] = { tcprules, cdb, tmp, NULL };
	char *hint = qi_xasprintf("check the rules of [services] smtp_rule (written to %s)", text);
	struct qi_proc_spec spec = { .argv = argv, .stdin_path = text, .output = QI_PROC_STDERR,
				     .hint = hint };
	if (rc == 0)
		rc = qi_proc_run(h, &spec, NULL);
	free(hint);
	for (size_t i = 0; rc == 0 && i < s->n; i++)
		if (s->it[i].kind == SV_CDB && strcmp(s->it[i].path, s->cdb_path) == 0) {
			free(s->it[i].data);
			s->it[i].data = qi_xstrdup(cdb);
		}
	free(text);
	free(cdb);
	free(tmp);
	return rc < 0 ? qi_error_prefix(h, "the SMTP rules %s", s->cdb_path) : 0;
}

/* ---- the services ---- */

/* A run script: "#!/bin/sh", the comment, the exec line. */
static char *script(const char *profile, const char *comment, const char *exec)
{
	return qi_xasprintf("#!/bin/sh\n# Written by qinstall (profile %s); `qinstall rollback` removes it.\n"
			    "%sexec %s 2>&1\n", profile, comment, exec);
}

/* SUPERVISE/NAME with RUN and its log, LOG_DIR/NAME, the link. */
static void add_service(struct qi_qmailsvc *s, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			const char *name, char *run)
{
	const char *sup = qi_profile_get(p, "services", "supervise_dir");
	const char *logs = qi_profile_get(p, "services", "log_dir");
	const char *profile = strrchr(qi_profile_file(p), '/');
	profile = profile ? profile + 1 : qi_profile_file(p);
	uid_t qmaill = (uid_t)env->ids->id[QI_ACCT_QMAILL];
	gid_t nofiles = (gid_t)env->ids->id[QI_ACCT_NOFILES];
	char *dir = qi_xasprintf("%s/%s", sup, name), *logdir = qi_xasprintf("%s/%s", logs, name);
	/* the sticky bit: daemontools before 0.75 started a log service only
	 * for a sticky directory; 0.75 and later look for log/ (Life with qmail
	 * sets it still) */
	add_dirs(s, dir, 01755, 0, 0, false);
	add(s, SV_FILE, qi_xasprintf("%s/run", dir), run, 0755, 0, 0);
	char *logsub = qi_xasprintf("%s/log", dir);
	add_dirs(s, logsub, 0755, 0, 0, false);
	char *exec = qi_xasprintf("%s qmaill %s t %s", env->setuidgid, env->multilog, logdir);
	add(s, SV_FILE, qi_xasprintf("%s/run", logsub),
	    script(profile, "# multilog, as qmaill, keeps the service's log, time-stamped.\n", exec), 0755, 0, 0);
	add_dirs(s, logdir, 0755, qmaill, nofiles, false);
	json_array_append_new(s->names, json_pack("{s:s, s:s, s:s}", "name", name, "dir", dir, "log", logdir));
	free(exec);
	free(logsub);
	free(logdir);
	free(dir);
}

/* LINE: the first line of ROOT's PATH (malloc'd), or NULL. */
static char *root_first_line(qi_handle *h, const char *path)
{
	struct stat st;
	char *text = NULL;
	size_t len;
	if (qi_root_lstat(h, path, &st) < 0 || !S_ISREG(st.st_mode) || qi_root_read(h, path, &text, &len) < 0) {
		qi_clear_error(h);
		free(text);
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

/* The -c of tcpserver: control/concurrencyincoming when it holds a
 * number, else [services] smtpd_concurrency. */
static long smtpd_concurrency(qi_handle *h, const struct qi_profile *p, const char *qmail)
{
	char *path = qi_xasprintf("%s/control/concurrencyincoming", qmail);
	char *line = root_first_line(h, path), *end;
	long n = line ? strtol(line, &end, 10) : 0;
	if (!line || end == line || *end || n < 1 || n > 65000)
		n = atol(qi_profile_get(p, "services", "smtpd_concurrency"));
	free(line);
	free(path);
	return n;
}

/* The mail domain for a service's argument (malloc'd), or a usage error
 * naming KEY. */
static char *service_fqdn(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			  const char *qmail, const char *key, const char *what)
{
	char *me = qi_xasprintf("%s/control/me", qmail);
	char *fqdn = env->domain ? qi_xstrdup(env->domain) : root_first_line(h, me);
	free(me);
	if (!fqdn || qi_domain_invalid(fqdn)) {
		free(fqdn);
		qi_error_kind(h, QI_ERR_USAGE, "%s: [services] %s = yes needs the mail domain for %s: set "
			      "[mail] configure = yes with --domain, or set %s = no", qi_profile_file(p), key,
			      what, key);
		return NULL;
	}
	return fqdn;
}

/* qmail-smtpd's command, with the AUTH arguments when [services]
 * smtpd_auth (qmail-smtpd-auth: HOSTNAME CHECKPASSWORD TRUE) or smtpd_tls
 * (tls-smtpauth: CHECKPASSWORD TRUE; STARTTLS needs nothing here, it is
 * offered when control/servercert.pem is there) is on (NULL after an
 * error). */
static char *smtpd_command(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			   const char *qmail, const char *key)
{
	if (qi_profile_bool(p, "services", "smtpd_tls"))
		return qi_xasprintf("%s/bin/qmail-smtpd \\\n\t%s --check-only %s", qmail,
				    qi_profile_get(p, "services", "smtpd_auth_checkpassword"),
				    qi_profile_get(p, "services", "smtpd_auth_true"));
	if (!qi_profile_bool(p, "services", "smtpd_auth"))
		return qi_xasprintf("%s/bin/qmail-smtpd", qmail);
	char *fqdn = service_fqdn(h, p, env, qmail, key, "qmail-smtpd-auth's CRAM-MD5 challenge");
	char *cmd = fqdn ? qi_xasprintf("%s/bin/qmail-smtpd %s \\\n\t%s --check-only %s", qmail, fqdn,
					qi_profile_get(p, "services", "smtpd_auth_checkpassword"),
					qi_profile_get(p, "services", "smtpd_auth_true")) : NULL;
	free(fqdn);
	return cmd;
}

/* The submission service: qmail-smtpd on port 587 with SUBMISSION set
 * (no RCPT before AUTH), without the port-25 rules, so that nobody gets
 * RELAYCLIENT there. */
static int add_submission(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			  struct qi_qmailsvc *s, const char *qmail, const char *profile)
{
	if (!qi_profile_bool(p, "services", "submission"))
		return 0;
	if (!qi_profile_bool(p, "services", "smtpd_auth") && !qi_profile_bool(p, "services", "smtpd_tls"))
		return qi_error_kind(h, QI_ERR_USAGE, "%s: [services] submission = yes needs smtpd_auth = yes "
				     "or smtpd_tls = yes "
				     "(a submission client must be able to authenticate)", qi_profile_file(p));
	char *cmd = smtpd_command(h, p, env, qmail, "submission");
	if (!cmd)
		return -1;
	char *exec = qi_xasprintf("%s -m %s \\\n\t%s -v -R -l 0 -c %ld \\\n\t-u %lld -g %lld %s %s %s",
				  env->softlimit, qi_profile_get(p, "services", "smtpd_memory"), env->tcpserver,
				  smtpd_concurrency(h, p, qmail), env->ids->id[QI_ACCT_QMAILD],
				  env->ids->id[QI_ACCT_NOFILES], qi_profile_get(p, "services", "submission_address"),
				  qi_profile_get(p, "services", "submission_port"), cmd);
	add_service(s, p, env, "qmail-submission", script(profile, "# Message submission (RFC 6409): "
							  "qmail-smtpd as qmaild:nofiles with SUBMISSION set,\n"
							  "# which refuses RCPT until the client has "
							  "authenticated; no relay rules here.\n"
							  "SUBMISSION=1\nexport SUBMISSION\nunset RELAYCLIENT\n",
							  exec));
	free(exec);
	free(cmd);
	return 0;
}

static int add_services(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			struct qi_qmailsvc *s)
{
	const char *qmail = qi_profile_get(p, "accounts", "qmail_home");
	const char *profile = strrchr(qi_profile_file(p), '/');
	profile = profile ? profile + 1 : qi_profile_file(p);
	if (qi_profile_bool(p, "services", "send")) {
		char *rc = qi_xasprintf("%s/rc", qmail);
		struct stat st;
		bool there = qi_profile_bool(p, "mail", "configure") || qi_root_lstat(h, rc, &st) == 0;
		free(rc);
		if (!there)
			return qi_error_kind(h, QI_ERR_USAGE, "%s: the qmail-send service runs %s/rc, which "
					     "[mail] configure = yes writes: set it (with --domain and --admin), "
					     "write rc yourself, or set [services] send = no", qi_profile_file(p), qmail);
		char *exec = qi_xasprintf("%s/rc", qmail);
		add_service(s, p, env, "qmail-send", script(profile, "# qmail-send: rc runs qmail-start with the "
							    "default delivery of control/defaultdelivery.\n", exec));
		free(exec);
	}
	if (qi_profile_bool(p, "services", "smtpd")) {
		char *cmd = smtpd_command(h, p, env, qmail, "smtpd_auth");
		if (!cmd)
			return -1;
		char *exec = qi_xasprintf("%s -m %s \\\n\t%s -v -R -l 0 -x %s -c %ld \\\n\t-u %lld -g %lld %s %s "
					  "%s", env->softlimit, qi_profile_get(p, "services",
					  "smtpd_memory"), env->tcpserver, s->cdb_path, smtpd_concurrency(h, p, qmail),
					  env->ids->id[QI_ACCT_QMAILD], env->ids->id[QI_ACCT_NOFILES],
					  qi_profile_get(p, "services", "smtpd_address"),
					  qi_profile_get(p, "services", "smtpd_port"), cmd);
		free(cmd);
		char *comment = qi_xasprintf("# qmail-smtpd under tcpserver, as qmaild:nofiles; the relay rules are "
					     "in the cdb.\n# softlimit -m: a bounded memory keeps the 64-bit overflows "
					     "of the CVE-2005-1513 class out of reach.\n%s",
					     qi_profile_bool(p, "services", "smtpd_tls") ?
					     "# STARTTLS with control/servercert.pem; AUTH through the "
					     "checkpassword program.\n" : "");
		add_service(s, p, env, "qmail-smtpd", script(profile, comment, exec));
		free(comment);
		free(exec);
	}
	if (qi_profile_bool(p, "services", "smtpd") && add_submission(h, p, env, s, qmail, profile) < 0)
		return -1;
	if (qi_profile_bool(p, "services", "pop3")) {
		char *fqdn = service_fqdn(h, p, env, qmail, "pop3", "qmail-popup");
		if (!fqdn)
			return -1;
		char *exec = qi_xasprintf("%s -m %s \\\n\t%s -v -R -H -l 0 %s %s %s/bin/qmail-popup %s \\\n\t%s "
					  "%s/bin/qmail-pop3d Maildir", env->softlimit,
					  qi_profile_get(p, "services", "pop3_memory"), env->tcpserver,
					  qi_profile_get(p, "services", "pop3_address"),
					  qi_profile_get(p, "services", "pop3_port"), qmail, fqdn,
					  qi_profile_get(p, "services", "checkpassword"), qmail);
		add_service(s, p, env, "qmail-pop3d", script(profile, "# qmail-pop3d: qmail-popup reads the login, "
							     "checkpassword checks it and runs qmail-pop3d\n# on "
							     "the user's Maildir.\n", exec));
		free(exec);
		free(fqdn);
	}
	return 0;
}

/* qinstall's checkpassword program copied into ROOT at PATH with MODE
 * root:GID, from where qinstall's is installed ($QINSTALL_CHECKPASSWORD
 * overrides it: the tests' build tree). WHO and KEY for the message. */
static int copy_checkpassword(qi_handle *h, struct qi_qmailsvc *s, const char *path, mode_t mode, uid_t uid,
			      gid_t gid, const char *who, const char *key)
{
	const char *env = getenv("QINSTALL_CHECKPASSWORD");
	char *program = env && *env ? qi_xstrdup(env) : qi_xasprintf("%s/qinstall-checkpassword", QI_BINDIR);
	if (access(program, X_OK) < 0) {
		int rc = qi_error_errno(h, "%s needs qinstall's checkpassword program, but %s cannot be run: "
					"install qinstall (make install), or set [services] %s to another program",
					who, program, key);
		free(program);
		return rc;
	}
	char *dir = qi_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	add_dirs(s, dir, 0755, 0, 0, true);
	free(dir);
	add(s, SV_CDB, qi_xstrdup(path), program, mode, uid, gid);
	return 0;
}

/* The POP3 service's checkpassword program, when it is qinstall's own
 * (the default [services] checkpassword): copied into ROOT from where
 * qinstall's is installed ($QINSTALL_CHECKPASSWORD overrides it: the
 * tests' build tree), like a file of the build. */
static int add_checkpassword(qi_handle *h, const struct qi_profile *p, struct qi_qmailsvc *s)
{
	if (!qi_profile_bool(p, "services", "pop3") ||
	    strcmp(qi_profile_get(p, "services", "checkpassword"), QI_CHECKPASSWORD_PATH) != 0)
		return 0;
	return copy_checkpassword(h, s, QI_CHECKPASSWORD_PATH, 0755, 0, 0, "the POP3 service", "checkpassword");
}

/* [services] smtpd_auth or smtpd_tls: qmail-smtpd runs as qmaild, which
 * cannot read a root-only password file. The checkpassword program it
 * runs is a copy of qinstall-checkpassword, setgid to smtpd_auth_group
 * (Debian's unix_chkpwd model), which reads the password file 0640
 * root:that group and drops the group (--check-only) before it runs
 * smtpd_auth_true. The copy is qmaild's, mode 02510: only qmaild may run
 * it (no local user gets a password oracle), and qmaild cannot change it
 * without losing the set-group-id bit (it is not in the group). Only
 * when it is qinstall's own program; its password file is the built-in
 * one, so qmail's home must be /var/qmail. */
static int add_smtp_checkpassword(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
				  struct qi_qmailsvc *s)
{
	if (!qi_profile_bool(p, "services", "smtpd") ||
	    (!qi_profile_bool(p, "services", "smtpd_auth") && !qi_profile_bool(p, "services", "smtpd_tls")))
		return 0;
	const char *path = qi_profile_get(p, "services", "smtpd_auth_checkpassword");
	if (strcmp(path, QI_SMTP_CHECKPASSWORD_PATH) != 0)
		return 0;
	const char *qmail = qi_profile_get(p, "accounts", "qmail_home");
	if (strcmp(qmail, "/var/qmail") != 0)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: SMTP AUTH through %s reads the mail users of "
				     "/var/qmail/users/poppasswd, but [accounts] qmail_home is %s: keep qmail in "
				     "/var/qmail, or name another checkpassword program in [services] "
				     "smtpd_auth_checkpassword", qi_profile_file(p), path, qmail);
	const char *group = qi_profile_get(p, "services", "smtpd_auth_group");
	gid_t gid;
	if (qi_root_gid(h, group, &gid) < 0)
		return qi_error_prefix(h, "%s: [services] smtpd_auth_group = %s (the group of the SMTP "
				       "service's checkpassword program and of the password file): make the "
				       "group in ROOT or name another one", qi_profile_file(p), group);
	if (gid == 0 || gid == (gid_t)env->ids->id[QI_ACCT_NOFILES] || gid == (gid_t)env->ids->id[QI_ACCT_QMAIL])
		return qi_error_kind(h, QI_ERR_USAGE, "%s: [services] smtpd_auth_group = %s is %s: name a "
				     "group no daemon runs as", qi_profile_file(p), group,
				     gid == 0 ? "gid 0" : "one of qmail's groups");
	if (copy_checkpassword(h, s, path, 02510, (uid_t)env->ids->id[QI_ACCT_QMAILD], gid,
			       "the SMTP service's AUTH", "smtpd_auth_checkpassword") < 0)
		return -1;
	char *pw = qi_xasprintf("%s/users/poppasswd", qmail);
	char *users = qi_xstrdup(pw);
	*strrchr(users, '/') = '\0';
	add_dirs(s, users, 0755, 0, 0, true);
	free(users);
	add(s, SV_PERM, pw, NULL, 0640, 0, gid);
	return 0;
}

/* ---- what is there ---- */

static const char *const remedy = "move it away (or turn the service off in [services]), then provision again";

static int scan_item(qi_handle *h, struct svc_item *it)
{
	struct qi_image live;
	if (qi_image_path(h, it->path, it->kind == SV_FILE || it->kind == SV_CDB, &live) < 0)
		return -1;
	char hash[QI_SHA256_HEX + 1] = "";
	int rc = 0;
	if (it->kind == SV_FILE)
		qi_sha256_buf(it->data, strlen(it->data), hash);
	else if (it->kind == SV_CDB && it->data)
		rc = qi_digest_file(h, it->data, true, false, hash, NULL, NULL);
	bool owner = live.mode == it->mode && live.uid == it->uid && live.gid == it->gid;
	char *where = qi_root_path(h, it->path);
	if (rc < 0) {
	} else if (live.type == QI_FT_ABSENT) {
		it->action = SV_CREATE;
	} else if (it->kind == SV_DIR) {
		if (live.type != QI_FT_DIR && !(it->weak && live.type == QI_FT_LNK))
			rc = qi_error(h, "%s is a %s where qinstall makes a directory: %s", where,
				      qi_ftype_name(live.type), remedy);
		it->action = it->weak || owner ? SV_SAME : SV_MODE;
	} else if (it->kind == SV_LINK) {
		if (live.type != QI_FT_LNK)
			rc = qi_error(h, "%s is a %s, not qinstall's link to %s: %s", where, qi_ftype_name(live.type),
				      it->data, remedy);
		it->action = live.target && strcmp(live.target, it->data) == 0 ? SV_SAME : SV_REPLACE;
	} else if (it->kind == SV_PERM && live.type == QI_FT_REG) {
		it->action = owner ? SV_SAME : SV_MODE;
	} else if (live.type != QI_FT_REG) {
		rc = qi_error(h, "%s is a %s where qinstall writes a file: %s", where, qi_ftype_name(live.type), remedy);
	} else {
		it->action = !*hash || strcmp(hash, live.hash) != 0 || !owner ? SV_REPLACE : SV_SAME;
	}
	free(where);
	qi_image_clear(&live);
	return rc;
}

static int scan(qi_handle *h, struct qi_qmailsvc *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (scan_item(h, &s->it[i]) < 0)
			return qi_error_prefix(h, "qmail's services");
	return 0;
}

/* ---- the API ---- */

/* Another MTA's rules (qi_migrate's), before the profile's: tcprules
 * takes the first that matches, so the old relay and refusal rules come
 * before the profile's catch-all. A line tcprules would not take, or an
 * open relay the profile does not allow, is said and left out. */
static void add_converted_rules(qi_handle *h, const struct qi_profile *p, const struct qi_mail_conversion *conv,
				struct qi_buf *b)
{
	if (!conv || !conv->rules || !conv->rules[0])
		return;
	const char *origin = conv->origin ? conv->origin : "the old MTA's configuration";
	qi_buf_addf(b, "# From %s (qinstall migrate):\n", origin);
	for (const char *const *r = conv->rules; *r; r++) {
		bool open = false;
		const char *why = qi_tcprule_invalid(*r, &open);
		if (!why && open && !qi_profile_bool(p, "services", "allow_open_relay"))
			why = "it gives RELAYCLIENT to every client (an open relay)";
		if (why) {
			qi_warn(h, "%s: the rule %s is left out of %s: %s", origin, *r,
				qi_profile_get(p, "services", "smtp_rules"), why);
			continue;
		}
		qi_buf_addf(b, "%s\n", *r);
	}
	qi_buf_addf(b, "# From [services] smtp_rule:\n");
}

int qi_qmailsvc_prepare(qi_handle *h, const struct qi_profile *p, const struct qi_qmailsvc_env *env,
			struct qi_qmailsvc **out)
{
	*out = NULL;
	if (!qi_profile_bool(p, "services", "qmail"))
		return 0;
	struct qi_qmailsvc *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->names = json_array();
	s->service_dir = qi_xstrdup(qi_profile_get(p, "services", "service_dir"));
	s->rules_path = qi_xstrdup(qi_profile_get(p, "services", "smtp_rules"));
	s->cdb_path = qi_xasprintf("%s.cdb", s->rules_path);
	int rc = qi_qmailsvc_check(h, p);
	if (rc == 0 && qi_profile_bool(p, "services", "smtpd")) {
		struct qi_buf b = { 0 };
		qi_buf_addf(&b, "# Written by qinstall from [services] smtp_rule; tcprules compiles it into\n"
			    "# %s. To add a network, add smtp_rule to the profile and provision again.\n",
			    s->cdb_path);
		add_converted_rules(h, p, env->conv, &b);
		for (const char *const *r = smtp_rules(p); *r; r++)
			qi_buf_addf(&b, "%s\n", *r);
		s->rules = b.data;
		char *parent = qi_xstrdup(s->rules_path);
		*strrchr(parent, '/') = '\0';
		if (*parent)
			add_dirs(s, parent, 0755, 0, 0, true);
		free(parent);
		add(s, SV_FILE, qi_xstrdup(s->rules_path), qi_xstrdup(s->rules), 0644, 0, 0);
		add(s, SV_CDB, qi_xstrdup(s->cdb_path), NULL, 0644, 0, 0);
	}
	if (rc == 0)
		rc = add_services(h, p, env, s);
	if (rc == 0)
		rc = add_checkpassword(h, p, s);
	if (rc == 0)
		rc = add_smtp_checkpassword(h, p, env, s);
	size_t nsvc = json_array_size(s->names), i;
	json_t *o;
	if (rc == 0 && nsvc)
		add_dirs(s, s->service_dir, 0755, 0, 0, true);
	json_array_foreach(s->names, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		add(s, SV_LINK, qi_xasprintf("%s/%s", s->service_dir, name),
		    qi_xstrdup(json_string_value(json_object_get(o, "dir"))), 0, 0, 0);
	}
	if (rc == 0 && s->rules && env->tcprules)
		rc = compile_rules(h, s, env->tcprules);
	if (rc == 0)
		rc = scan(h, s);
	if (rc < 0) {
		qi_qmailsvc_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static bool to_do(const struct svc_item *it)
{
	return it->action != SV_SAME;
}

static void report(qi_handle *h, const struct qi_qmailsvc *s)
{
	json_t *o = json_pack("{s:O, s:s}", "services", s->names, "service_dir", s->service_dir);
	if (s->rules)
		json_object_set_new(o, "smtp_rules", json_string(s->rules_path));
	json_object_set_new(qi_result(h), "qmail_services", o);
}

int qi_qmailsvc_pending(qi_handle *h, struct qi_qmailsvc *s, bool *pending)
{
	*pending = false;
	if (!s)
		return 0;
	if (scan(h, s) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		*pending |= to_do(&s->it[i]);
	if (!*pending)
		report(h, s);
	return 0;
}

static int commit_item(qi_handle *h, const struct svc_item *it)
{
	switch (it->kind) {
	case SV_DIR:
		if (it->action == SV_CREATE)
			return qi_mkdir(h, it->path, it->mode, it->uid, it->gid);
		return qi_chown(h, it->path, it->uid, it->gid) < 0 ? -1 : qi_chmod(h, it->path, it->mode);
	case SV_FILE:
		return qi_write_file(h, it->path, it->data, strlen(it->data), it->mode, it->uid, it->gid);
	case SV_CDB:
		if (!it->data)	/* only a cdb, not compiled */
			return qi_error(h, "%s: the rules were not compiled (no tcprules)", it->path);
		return qi_write_file_from(h, it->path, it->data, it->mode, it->uid, it->gid);
	case SV_PERM:
		if (it->action == SV_CREATE)
			return qi_write_file(h, it->path, "", 0, it->mode, it->uid, it->gid);
		return qi_chown(h, it->path, it->uid, it->gid) < 0 ? -1 : qi_chmod(h, it->path, it->mode);
	case SV_LINK:
		if (it->action == SV_REPLACE && qi_remove(h, it->path) < 0)
			return -1;
		return qi_symlink(h, it->path, it->data);
	}
	return 0;
}

int qi_qmailsvc_commit(qi_handle *h, struct qi_qmailsvc *s)
{
	if (!s)
		return 0;
	if (scan(h, s) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (to_do(&s->it[i]) && commit_item(h, &s->it[i]) < 0)
			return qi_error_prefix(h, "qmail's services");
	report(h, s);
	if (json_array_size(s->names))
		qi_info(h, "qmail's services in %s: %s", s->service_dir,
			qi_root_is_host(h) ? "svscan starts them" : "not started (ROOT is not /)");
	return 0;
}

/* Whether PLAN lists PATH already (a directory another step makes). */
static bool planned(json_t *plan, const char *path)
{
	size_t i;
	json_t *o;
	json_array_foreach(plan, i, o)
		if (strcmp(json_string_value(json_object_get(o, "path")), path) == 0)
			return true;
	return false;
}

int qi_qmailsvc_plan(qi_handle *h, struct qi_qmailsvc *s, json_t *plan)
{
	if (!s)
		return 0;
	if (scan(h, s) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct svc_item *it = &s->it[i];
		if (!to_do(it) || (it->weak && planned(plan, it->path)))
			continue;
		json_t *o = json_pack("{s:s, s:s, s:s}", "path", it->path, "action", action_names[it->action],
				      "component", "services");
		if (it->kind == SV_CDB && !it->data)
			json_object_set_new(o, "note", json_string("compiled by tcprules once it is built"));
		json_array_append_new(plan, o);
		if (it->kind != SV_FILE)
			continue;
		char *old = NULL;
		size_t len;
		if (it->action == SV_REPLACE && qi_root_read(h, it->path, &old, &len) < 0)
			qi_clear_error(h);
		qi_diff_add(h, it->path, old, it->data);
		free(old);
	}
	report(h, s);
	return 0;
}

void qi_qmailsvc_record(const struct qi_qmailsvc *s, json_t *o)
{
	if (!s || !json_array_size(s->names))
		return;
	json_t *names = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(s->names, i, v)
		json_array_append(names, json_object_get(v, "name"));
	json_object_set_new(o, "services", names);
	json_object_set_new(o, "service_dir", json_string(s->service_dir));
}
