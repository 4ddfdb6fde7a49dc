/*
 * migrate.h - what the files of migrate/ share: the takeover of a running
 * Postfix, Exim or sendmail by qmail (`qinstall migrate`). migrate/ speaks
 * the library's API (qinstall.h: the journal, provision) and core's child
 * processes (core/core.h: qi_proc_run); nothing else of installer/.
 *
 *   queue_postfix.c   Postfix's queue files (its record format)
 *   queue_exim.c      Exim's spool (-H and -D files)
 *   queue_sendmail.c  sendmail's qf and df files
 *   queue_read.c      what the Exim and sendmail readers share (numbered
 *                     lines, a sorted listing inside ROOT, the content)
 *   queue.c           the common message list; qmail's queue: injection
 *                     with qmail-queue, and reading it back for rollback
 *   dpkg.c            ROOT's dpkg database, the stand-in package, the kept
 *                     .deb, the swap in one dpkg transaction
 *   dpkg_deps.c       the packages that must go with the old MTA
 *   rpm.c             ROOT's rpm database, the kept .rpm, rpm -e and -i
 *                     (rpm.h)
 *   alternatives.c    chkconfig's alternatives state files and the link
 *                     chain (alternatives.h)
 *   snapshot.c        the old MTA's configuration, kept and put back
 *   detect.c          which MTA ROOT runs
 *   migrate.c         the takeover: the steps, the journal, their undo
 */
#ifndef QI_MIGRATE_H
#define QI_MIGRATE_H

/* Where a migrate keeps what it takes away (the kept packages, the
 * converted configuration), in ROOT. */
#define MIG_WORK_DIR "/var/backups/qinstall-migrate"

#include <stdarg.h>

#include "qinstall.h"
#include "core/core.h"
#include "convert/convert.h"
#include "migrate/alternatives.h"
#include "migrate/rpm.h"

/* ------------------------------------------------------------------ */
/* Messages of an old MTA's queue (queue.c and the readers)            */
/* ------------------------------------------------------------------ */

/* One message of an old MTA's queue. A scanner fills id, queue and files;
 * a reader fills the rest from those files (or sets why). */
struct mq_msg {
	char *id;		/* the old MTA's queue id */
	char *queue;		/* where it lies: "deferred", "active", "incoming",
				 * "hold", "maildrop" (Postfix); "input" (Exim);
				 * "mqueue", "clientmqueue" (sendmail) */
	char **files;		/* every file of it, paths inside ROOT, the queue
				 * (envelope) file first; what a carry moves aside */
	size_t nfiles;
	char *sender;		/* envelope sender; "" for the null sender <> */
	char **rcpts;		/* recipients not yet delivered, in queue order */
	size_t nrcpts;
	size_t ndone;		/* recipients already delivered (not carried) */
	char *content;		/* the message as the old MTA would hand it on:
				 * header lines, the empty line, the body; lines
				 * end in LF; malloc'd, NUL-terminated */
	size_t len;
	size_t body;		/* offset of the body in content (len when none) */
	char *why;		/* set (malloc'd) when it cannot be carried: left
				 * in place and listed with this reason */
};
void mq_msg_free(struct mq_msg *m);
/* What a reader filled (sender, recipients, content) freed again, for a
 * parse that fails: nothing is left half filled. */
void mq_msg_unparse(struct mq_msg *m);

struct mq_list {
	struct mq_msg *v;
	size_t n, cap;
};
/* A new zeroed entry at the end of L. */
struct mq_msg *mq_list_add(struct mq_list *l);
void mq_list_free(struct mq_list *l);
/* Helpers for readers: append a copy of S (LEN bytes) to M's files/rcpts. */
void mq_msg_add_file(struct mq_msg *m, const char *path);
void mq_msg_add_rcpt(struct mq_msg *m, const char *addr, size_t len);

/* Postfix (queue_postfix.c). SPOOL: its queue_directory inside ROOT
 * ("/var/spool/postfix"). scan lists incoming (complete files only),
 * active, deferred, hold and maildrop; read parses one. parse is the pure
 * parser (fuzzed): DATA is a whole queue file. */
int mq_postfix_parse(qi_handle *h, const unsigned char *data, size_t len, struct mq_msg *m);
int mq_postfix_scan(qi_handle *h, const char *spool, struct mq_list *out);
int mq_postfix_read(qi_handle *h, struct mq_msg *m);

/* Exim (queue_exim.c). SPOOL: its spool_directory inside ROOT
 * ("/var/spool/exim4"); input/ flat or split into 62 subdirectories;
 * files ID-H, ID-D and msglog/ID. */
int mq_exim_parse(qi_handle *h, const char *hdr, size_t hlen, const char *data, size_t dlen,
		  struct mq_msg *m);
int mq_exim_scan(qi_handle *h, const char *spool, struct mq_list *out);
int mq_exim_read(qi_handle *h, struct mq_msg *m);

/* sendmail (queue_sendmail.c). DIR: a queue directory inside ROOT
 * ("/var/spool/mqueue", "/var/spool/mqueue-client"), flat or with qf/ df/
 * xf/ subdirectories; QUEUE names it in mq_msg.queue. */
int mq_sendmail_parse(qi_handle *h, const char *qf, size_t qlen, const char *df, size_t dlen,
		      struct mq_msg *m);
int mq_sendmail_scan(qi_handle *h, const char *dir, const char *queue, struct mq_list *out);
int mq_sendmail_read(qi_handle *h, struct mq_msg *m);

/* qmail's queue (qmailq.c). QMAIL_HOME inside ROOT ("/var/qmail"). */
/* Give M to ROOT's qmail-queue (chrooted into ROOT when it is not /). */
int qq_inject(qi_handle *h, const char *qmail_home, const struct mq_msg *m);
/* The hash a carry records of a message: of CONTENT as given to qmail-queue. */
void qq_content_hash(const char *content, size_t len, char hex[QI_SHA256_HEX + 1]);
struct qq_entry {
	char *name;		/* its number: queue/mess/SPLIT/NAME */
	char hash[QI_SHA256_HEX + 1];	/* of the message without qmail-queue's Received line */
	bool unprocessed;	/* in todo/ (or intd/): qmail-send has not seen it */
	bool info;		/* info/ is there: qmail-send took it on */
	size_t todo, done;	/* "T" and "D" recipients in its local/ and remote/ */
	bool taken;		/* matched already (by a carried message) */
	bool removed;		/* its files removed (qq_remove) */
	char **files;		/* all of its files in the queue, mess last */
	size_t nfiles;
	/* which of FILES holds what (NULL: none): its envelope as qmail-queue
	 * wrote it (todo/, or intd/ before qmail-queue committed it), the
	 * sender once qmail-send took it on (info/), the recipients of each
	 * channel (local/, remote/), the message (mess/) */
	const char *todo_path, *intd, *info_path, *local, *remote, *mess;
};
struct qq_index {
	struct qq_entry *v;
	size_t n;
	char *vdoms, *locals;	/* control/virtualdomains and locals, or NULL */
};
/* Every message of ROOT's qmail queue (none when there is no queue). */
int qq_index_load(qi_handle *h, const char *qmail_home, struct qq_index *ix);
void qq_index_free(struct qq_index *ix);
/* The first message not taken yet whose hash is HASH and, when SENDER is
 * not NULL, whose sender is SENDER and whose recipients (done or not, as
 * far as qmail still names them: qq_envelope with ALL) are all among the
 * NRCPTS RCPTS it was given (all of them while it is in todo/), or NULL. */
struct qq_entry *qq_find(qi_handle *h, struct qq_index *ix, const char *hash, const char *sender,
			 char *const *rcpts, size_t nrcpts);
/* E's envelope into M's sender and rcpts (M zeroed by the caller): the
 * sender ("" for <> and for qmail's double-bounce sender #@[]) and each
 * recipient still to do (with ALL, the done ones too), as it was given to
 * qmail-queue: a local recipient that virtualdomains rewrote (PREFIX-addr)
 * has the prefix taken off again (VDOMS, LOCALS: the texts of
 * control/virtualdomains and control/locals, either may be NULL). 1 when E
 * has no envelope (intd/ only: qmail-queue never committed it; or its
 * files are gone), 0, or -1 with a message. */
int qq_envelope(qi_handle *h, const struct qq_entry *e, const char *vdoms, const char *locals, bool all,
		struct mq_msg *m);
/* An address as given, from a local recipient that virtualdomains
 * rewrote: ADDR without the prefix VDOMS gives its domain (qmail-send's
 * rule: the whole domain, then each ".suffix", then ""), unless LOCALS
 * has the domain. Malloc'd. */
char *qq_unrewrite(const char *addr, const char *vdoms, const char *locals);
/* Whether E was delivered to none of the NRCPTS it was given with. */
bool qq_undelivered(const struct qq_entry *e, size_t nrcpts);
/* Remove E's files (qmail must not be running) and mark it taken and
 * removed. */
int qq_remove(qi_handle *h, struct qq_entry *e);

/* ------------------------------------------------------------------ */
/* dpkg (dpkg.c)                                                        */
/* ------------------------------------------------------------------ */

struct dpkg_pkg {
	char *name, *version, *arch;	/* Package, Version, Architecture */
	char *status;			/* "install ok installed", ... */
	char *provides, *depends, *pre_depends, *conflicts, *replaces;	/* as written, or NULL */
	char *source;			/* Source (without its version), or NULL */
	char *stanza;			/* the whole stanza as read (LF line ends): the
					 * rebuilt .deb's control comes from it */
};
struct dpkg_db {
	struct dpkg_pkg *v;
	size_t n;
};
/* The pure parser of a status file (fuzzed): every stanza with a Package.
 * A field folded over continuation lines is kept as one line (its parts
 * joined by a space); a line that is neither a field nor a continuation,
 * or a NUL byte, is an error naming its line. */
int dpkg_status_parse(qi_handle *h, const char *text, size_t len, struct dpkg_db *db);
/* ROOT/var/lib/dpkg/status (an error naming it when it is missing). */
int dpkg_status_load(qi_handle *h, struct dpkg_db *db);
void dpkg_db_free(struct dpkg_db *db);
const struct dpkg_pkg *dpkg_find(const struct dpkg_db *db, const char *name);
bool dpkg_installed(const struct dpkg_pkg *p);	/* status "install ok installed" (or "hold ...") */
/* Whether P provides VIRTUAL ("mail-transport-agent") by its Provides
 * field (a versioned "name (= v)" and "name:any" count); the field alone:
 * the caller checks dpkg_installed. */
bool dpkg_provides(const struct dpkg_pkg *p, const char *virtual);
/* The paths dpkg says P installed (ROOT/var/lib/dpkg/info/NAME[:ARCH].list). */
int dpkg_pkg_files(qi_handle *h, const struct dpkg_pkg *p, char ***files, size_t *n);
/* Which package owns PATH (inside ROOT), from the .list files; *owner NULL when none. */
int dpkg_owner(qi_handle *h, const struct dpkg_db *db, const char *path, char **owner);
/* Refuse (kind QI_ERR_LOCKED) when a process holds dpkg's lock in ROOT
 * (lock-frontend or lock), naming it and what to do. */
int dpkg_check_unlocked(qi_handle *h);

/* The stand-in package: Provides, Conflicts and Replaces
 * mail-transport-agent, owns no file of qmail (those are the journal's). */
struct dpkg_standin {
	const char *name;		/* "qinstall-mta" */
	const char *version;		/* "1.06-qinstall1" */
	const char *description;	/* one line */
	/* Packages besides mail-transport-agent it Conflicts with and
	 * Replaces (NULL-terminated, may be NULL): the old MTA's packages that
	 * must go with it (exim4 with exim4-daemon-light), so that the one
	 * dpkg run that installs it removes them all. */
	const char *const *conflicts;
};
/* Build it with dpkg-deb in WORKDIR (a host directory); *deb malloc'd. */
int dpkg_standin_build(qi_handle *h, const char *workdir, const struct dpkg_standin *s, char **deb);
/* A .deb of P exactly as installed, into WORKDIR: apt's cached archive
 * (ROOT/var/cache/apt/archives, checked to be that package and version) or
 * else rebuilt from the installed files, control data and maintainer
 * scripts as dpkg-repack does. *how: "apt cache" or "rebuilt" (static). */
int dpkg_keep_deb(qi_handle *h, const struct dpkg_pkg *p, const char *workdir, char **deb,
		  const char **how);
/* dpkg -i DEB in ROOT (chrooted into a ROOT that is not / and has its own
 * dpkg, so that owners are ROOT's; else --root; DEB then a path below
 * ROOT), noninteractive, old
 * configuration files kept. The installed packages DEB Conflicts with
 * (either way) and Replaces are removed (never purged) first, with
 * `dpkg --force-depends --remove`, as apt does: `dpkg -i` alone refuses
 * to swap two packages that both provide and conflict with
 * mail-transport-agent; their dependents are satisfied again by DEB once
 * it is installed. A failed install after that removal says so. */
int dpkg_install(qi_handle *h, const char *deb);
/* dpkg --purge NAME in ROOT, when installed. */
int dpkg_purge(qi_handle *h, const char *name);
/* dpkg --audit in ROOT: *problems malloc'd, "" when clean. */
int dpkg_audit(qi_handle *h, char **problems);

/* The packages that must go with PROVIDER when the stand-in replaces it:
 * PROVIDER and every installed package that would be left with an unmet
 * Depends or Pre-Depends (a clause satisfied only by one of them, VIRTUAL
 * aside, which the stand-in provides), to closure. *NAMES malloc'd. */
int dpkg_removal_set(const struct dpkg_db *db, const struct dpkg_pkg *provider, const char *virtual,
		     char ***names, size_t *n);
/* dpkg -i of several .debs in one run. */
int dpkg_install_many(qi_handle *h, const char *const *debs, size_t n);

/* ------------------------------------------------------------------ */
/* Detection (detect.c)                                                 */
/* ------------------------------------------------------------------ */

#define QI_STANDIN_NAME "qinstall-mta"

enum mta_kind { MTA_POSTFIX, MTA_EXIM, MTA_SENDMAIL };
struct mta_def {
	enum mta_kind kind;
	const char *name;		/* "postfix", "exim", "sendmail" (--from) */
	const char *title;		/* "Postfix" */
	const char *unit;		/* its systemd unit */
	const char *pidfile;		/* its daemon's pid file inside ROOT */
	const char *packages[3];	/* the packages that provide it */
	const char *rpm_name;		/* Red Hat's package of it */
	const char *rpm_unit;		/* and its systemd unit there */
	const char *rpm_pidfile;	/* its pid file there */
	const char *initscript;		/* its SysV script's name (chkconfig) */
	/* a second service of the package's, enabled with it (Red Hat's
	 * sendmail.service has Also=sm-client.service), or NULL: its unit
	 * and its SysV script */
	const char *rpm_also_unit, *also_initscript;
};
const struct mta_def *mta_def_named(const char *name);

struct mta_info {
	const struct mta_def *def;	/* NULL: none (or qmail already) */
	struct dpkg_db db;		/* ROOT's dpkg status */
	const struct dpkg_pkg *pkg;	/* the installed provider of mail-transport-agent */
	char **remove;			/* the packages that go with it (pkg first) */
	size_t nremove;
	bool already_qmail;		/* the provider is qinstall's stand-in */
	bool sendmail_present;		/* something stands at /usr/sbin/sendmail */
	char *sendmail_target;		/* its link target, "(a file)", or NULL */
	char *sendmail_owner;		/* the package that owns it, or NULL */
	pid_t running;			/* the MTA's daemon, alive now (0: not running) */
	/* Red Hat: ROOT's MTA is an rpm package (then db and pkg are
	 * empty, remove holds rpm names: the MTA first, then
	 * system-switch-mail and its kind, those installed) */
	bool rpm;
	struct rpm_db rdb;
	const struct rpm_pkg *rpkg;
	char **required_by;		/* installed packages that require an MTA */
	size_t nrequired_by;
	const char *pkg_name, *pkg_version;	/* the MTA's package, either database */
	const char *unit;		/* its systemd unit (def's, Debian's or Red Hat's) */
	char *evr;			/* rpm: [EPOCH:]VERSION-RELEASE (pkg_version) */
};
/* FROM: "auto" (or NULL), "postfix", "exim", "sendmail". Adds "from" to the
 * result. dpkg's provider of mail-transport-agent first; on a ROOT with an
 * rpm database and no such provider, rpm's of MTA or smtpdaemon (Red Hat).
 * QMAIL_SENDMAIL: qmail's sendmail, which the mta alternatives group of a
 * taken-over Red Hat ROOT points at (already_qmail). Refuses, saying what
 * to do, a ROOT with neither database, with no MTA, with an MTA no
 * package installed, or with one qinstall does not know. */
int mta_detect(qi_handle *h, const char *from, const char *qmail_sendmail, struct mta_info *m);
void mta_info_free(struct mta_info *m);
/* The live process DEF's pid file in ROOT names (Debian's or Red Hat's), or 0. */
pid_t mta_running_pid(qi_handle *h, const struct mta_def *def);
/* The target of the symlink PATH inside ROOT (malloc'd), NULL if none. */
char *mta_readlink(qi_handle *h, const char *path);

/* ------------------------------------------------------------------ */
/* The old configuration (snapshot.c)                                   */
/* ------------------------------------------------------------------ */

/* PATHS (NULL-terminated, inside ROOT; missing ones skipped) and what is
 * below them: each regular file copied to STORE/PATH through the journal
 * (not in --check); *LIST gets every entry's image (new reference). */
int snap_take(qi_handle *h, const char *const *paths, const char *store, json_t **list);
/* Put back every entry of LIST that differs in ROOT now; *RESTORED counts them. */
int snap_restore(qi_handle *h, json_t *list, size_t *restored);

/* ---- redhat.c: the Red Hat takeover's steps (migrate.c runs them) ---- */

struct rh_run {
	qi_handle *h;
	const struct mta_info *m;	/* detected on an rpm ROOT */
	const char *qmail_home;
	const char *work_dir;		/* inside ROOT: where the .rpm files are kept */
	const char *work;		/* the host's path of its work directory */
	int (*make_work)(void *ctx);	/* makes them (once) */
	void (*step)(void *ctx, const char *name, const char *fmt, va_list ap);	/* a step said */
	void *ctx;
};
/* The MTA's unit and SysV script out of start-up: their links removed
 * through the journal (result: startup_removed). */
int rh_startup_off(struct rh_run *r);
/* qmail's sendmail made the mta group's choice, by hand, with its
 * followers, through the journal; the chain read back (result:
 * alternatives). An existing group is rewired before the erase
 * (AFTER_ERASE false), a group ROOT lacks is made after it (true): call
 * it at both places. */
int rh_alternatives(struct rh_run *r, bool after_erase);
/* The packages of M->remove kept as .rpm files, then rpm -e --nodeps
 * (undo: reinstalled from them); the removed packages' choices out of the
 * group mta. Result: package. */
int rh_package(struct rh_run *r);
void rh_register(void);

/* ---- config.c: the old MTA's configuration, read for convert/ ---- */

/* Read DEF's configuration from ROOT (Postfix's through its postconf,
 * chrooted) and convert it into RES (cv_result_free it). -1 when
 * postconf fails (its message is shown); a file that is not a bounded
 * regular file, or input the converter cannot use, is a warning and an
 * item not converted. */
int mig_config_convert(qi_handle *h, const struct mta_def *def, struct cv_result *res);
/* RES as JSON: {counts: {converted, warned, not_converted}, items:
 * [{setting, before, after, outcome ("converted", "warned", "not
 * converted"), why (null when converted as it was)}], files: [{name,
 * text}], me, domain}; bytes that are not UTF-8 as \xNN. New reference.
 * migrate adds domain_from: "old configuration" (its host name became the
 * domain), "given" (a domain given differs from it), or null. */
json_t *mig_config_json(const struct cv_result *res);

#endif /* QI_MIGRATE_H */
