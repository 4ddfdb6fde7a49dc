/*
 * qinstall.h - the qinstall library API.
 *
 * One handle (qi_handle) carries the target root, the global options, the
 * last error and the result that the front end prints. Every function that
 * can fail returns 0 on success or -1 on failure, leaving a message on the
 * handle (qi_errmsg); only the front end exits.
 *
 * Paths given to the journal functions are absolute paths *inside* ROOT
 * ("/etc/passwd" means ROOT/etc/passwd). They are resolved without ever
 * following a symlink out of ROOT.
 */
#ifndef QINSTALL_H
#define QINSTALL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <jansson.h>

typedef struct qi_handle qi_handle;

/* ------------------------------------------------------------------ */
/* Handle, errors, logging, results                                    */
/* ------------------------------------------------------------------ */

/* What kind of failure the last error was. Each kind's value is the exit
 * code qinstall gives for it (EXIT STATUS in qinstall(8)): the front end
 * exits with qi_errkind(h). */
enum qi_errkind {
	QI_ERR_NONE = 0,       /* exit 0: no error */
	QI_ERR_FAILED = 1,     /* exit 1: the operation failed */
	QI_ERR_USAGE = 2,      /* exit 2: bad command line or input file */
	QI_ERR_LOCKED = 3,     /* exit 3: another run holds the lock of ROOT */
	QI_ERR_UNFINISHED = 4, /* exit 4: an unfinished run must be rolled back first */
	QI_ERR_DRIFT = 5,      /* exit 5: verify found differences */
};

qi_handle *qi_new(void);
void qi_free(qi_handle *h);

/* ROOT: the system image acted on (default "/"). Must exist and be a
 * directory. Opens a descriptor that every path operation is relative to. */
int qi_set_root(qi_handle *h, const char *root);
const char *qi_root(const qi_handle *h);      /* absolute, as given, normalised */
bool qi_root_is_host(const qi_handle *h);     /* ROOT is the real "/" */
int qi_rootfd(const qi_handle *h);

/* Global options. */
void qi_set_check(qi_handle *h, bool check);  /* dry run: nothing written */
bool qi_check(const qi_handle *h);
void qi_set_diff_wanted(qi_handle *h, bool diff); /* --diff: collect before/after */
bool qi_diff_wanted(const qi_handle *h);
void qi_set_verbosity(qi_handle *h, int v);   /* -1 quiet, 0 normal, 1+ verbose */
int qi_verbosity(const qi_handle *h);
void qi_set_assume_yes(qi_handle *h, bool yes);
bool qi_assume_yes(const qi_handle *h);
/* Where qinstall keeps its work area and caches (never inside ROOT). */
int qi_set_cache_dir(qi_handle *h, const char *dir);
const char *qi_cache_dir(const qi_handle *h);
/* Where the shipped data (profiles/, payload/) is. */
const char *qi_data_dir(const qi_handle *h);

/* Errors: set the message and return -1, git's `return error(...)`. */
int qi_error(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended (errno as it was on entry). */
int qi_error_errno(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with an explicit kind (locked, unfinished, usage, drift). */
int qi_error_kind(qi_handle *h, enum qi_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *qi_errmsg(const qi_handle *h);
enum qi_errkind qi_errkind(const qi_handle *h);
void qi_clear_error(qi_handle *h);
/* Prefix the current message with "CONTEXT: " (callers add what they were doing). */
int qi_error_prefix(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logging, all on stderr. qi_info is hidden by -q, qi_debug needs -v. */
void qi_info(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qi_debug(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning is printed and also listed in the JSON result's "warnings". */
void qi_warn(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The result object printed with --json (and summarised without it).
 * "changed", "failed", "msg", "run", "warnings" and "diff" are filled by
 * the front end from the handle; commands add their own keys here. */
json_t *qi_result(qi_handle *h);              /* borrowed reference */
void qi_set_changed(qi_handle *h);
bool qi_changed(const qi_handle *h);
void qi_set_msg(qi_handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *qi_msg(const qi_handle *h);
json_t *qi_warnings(qi_handle *h);            /* borrowed: JSON array of strings */
/* --diff: record a change's before and after (text; NULL = absent). */
void qi_diff_add(qi_handle *h, const char *path, const char *before, const char *after);
json_t *qi_diff_json(qi_handle *h);           /* NEW reference: {"before": "...", "after": "..."}, NULL without --diff */

/* Read a whole input file (a patch, an operation list): PATH, or NULL or
 * "-" for standard input. PATH is opened without blocking and must be a
 * regular file (else: "the patch file X is a FIFO, not a regular file");
 * at most MAX bytes are read (0: QI_INPUT_MAX). *data is NUL-terminated
 * and malloc'd. WHAT names the file in messages ("patch file", "operation
 * list"); errors are of kind QI_ERR_USAGE. */
#define QI_INPUT_MAX ((size_t)64 << 20)	/* 64 MiB: patches, lists, passwd files */
int qi_read_input(qi_handle *h, const char *path, const char *what, size_t max,
		  char **data, size_t *len);

/* ------------------------------------------------------------------ */
/* Paths inside ROOT (fsroot.c)                                        */
/* ------------------------------------------------------------------ */

/* Open PATH (absolute inside ROOT) relative to ROOT with openat2
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: symlinks resolve as if ROOT were
 * "/", never out of it. Returns an fd or -1 with the error set. */
int qi_root_open(qi_handle *h, const char *path, int flags, mode_t mode);
/* lstat of PATH inside ROOT (the last component is not followed).
 * Returns 0, or -1 with errno set and NO error message (callers decide:
 * ENOENT is often fine). */
int qi_root_lstat(qi_handle *h, const char *path, struct stat *st);
/* Read a whole regular file inside ROOT, of at most QI_INPUT_MAX bytes,
 * opened without blocking (a FIFO or a device is refused, never waited
 * on). *buf is NUL-terminated, malloc'd; LEN may be NULL. */
int qi_root_read(qi_handle *h, const char *path, char **buf, size_t *len);
/* Host path of PATH inside ROOT, for messages and for tools that need a
 * path (make, chroot). Malloc'd. Never use it to write: go through the journal. */
char *qi_root_path(const qi_handle *h, const char *path);
/* Names → ids in ROOT's own /etc/passwd and /etc/group (never the host's
 * NSS unless ROOT is "/"). "OWNER" may be a number. -1 + error if unknown. */
int qi_root_uid(qi_handle *h, const char *name, uid_t *uid);
int qi_root_gid(qi_handle *h, const char *name, gid_t *gid);

/* ------------------------------------------------------------------ */
/* Runs and the journal (journal.c)                                    */
/* ------------------------------------------------------------------ */

/* A run is one mutating command. qi_run_begin takes the ROOT lock (error
 * kind QI_ERR_LOCKED naming the holder's pid), refuses when an earlier run
 * is unfinished (QI_ERR_UNFINISHED, saying how to roll it back), opens
 * ROOT/var/lib/qinstall/state.db and records the run. In --check mode
 * nothing is written, not even the state: the journal functions then only
 * report what they would do. */
int qi_run_begin(qi_handle *h, const char *command);
/* Mark the run complete and release the lock. */
int qi_run_commit(qi_handle *h);
/* The run failed: undo what it did (in reverse), mark it rolled back,
 * release the lock. The original error message is kept on the handle. */
int qi_run_abort(qi_handle *h);
int64_t qi_run_id(const qi_handle *h);        /* 0 when no run */

/* Journaled changes inside ROOT. Each one saves the before-image (content,
 * type, mode, owner, link target) into the store and fsyncs it, commits an
 * intent row, acts atomically, then marks the row done. A change that would
 * change nothing (same content, mode, owner) is not recorded and does not
 * set "changed". Owners: (uid_t)-1 / (gid_t)-1 means root (0). */
int qi_write_file(qi_handle *h, const char *path, const void *data, size_t len,
		  mode_t mode, uid_t uid, gid_t gid);
/* The same, the content streamed from a file outside ROOT. */
int qi_write_file_from(qi_handle *h, const char *path, const char *src_host_path,
		       mode_t mode, uid_t uid, gid_t gid);
int qi_mkdir(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid);
/* mkdir -p: every missing parent is made with MODE and owner too. */
int qi_mkdir_p(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid);
/* A new symlink belongs to the user running qinstall; its target is
 * stored as given (resolved, if ever, inside ROOT). */
int qi_symlink(qi_handle *h, const char *path, const char *target);
int qi_mkfifo(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid);
/* Not on a symlink (Linux has no link modes). */
int qi_chmod(qi_handle *h, const char *path, mode_t mode);
/* Here, as in chown(2), (uid_t)-1 / (gid_t)-1 leave that id as it is. */
int qi_chown(qi_handle *h, const char *path, uid_t uid, gid_t gid);
/* Remove a file, symlink, FIFO or empty directory (its before-image kept). */
int qi_remove(qi_handle *h, const char *path);
int qi_rename(qi_handle *h, const char *from, const char *to);

/* Group commit, for many changes at once (provisioning's commit of a staged
 * tree): between qi_batch_begin and qi_batch_end each change is planned and
 * checked when called (errors are reported then), but made at
 * qi_batch_end, together: one sync of the store, one transaction of
 * intents, the acts, and one syncfs at qi_run_commit. Reads through
 * qi_root_* inside a batch may not see its changes yet. A path changed
 * twice, qi_remove, qi_rename and qi_external_begin make what is queued
 * first. qi_batch_end returns -1 if making any change failed (then call
 * qi_run_abort). */
int qi_batch_begin(qi_handle *h);
int qi_batch_end(qi_handle *h);

/* External operations (a package removed, a service stopped): the caller
 * does the act itself between qi_external_begin and qi_external_done, and
 * the row carries KIND and UNDO_DATA for the registered undo handler.
 * Rollback calls the handler also when the process died between begin and
 * done (the act may or may not have happened), and again if a rollback is
 * interrupted and resumed: handlers must be idempotent. A handler must be
 * registered in every program that may roll back: the library's own are
 * registered by qi_new, for every handle; a program's own kinds it
 * registers itself, once, before it may roll back (registering a kind
 * again replaces its handler). Without one, rollback stops with an error
 * naming the kind. qi_external_begin flushes a pending batch. */
typedef int (*qi_undo_fn)(qi_handle *h, const char *undo_data);
int qi_register_undo(const char *kind, qi_undo_fn fn);
/* The same, for a kind whose undo must see the tree as its run left it
 * (messages taken back out of a queue the run made): a rollback undoes
 * the rows of such kinds of each run first, newest first, before it keeps
 * anything of that run aside or undoes its other changes. */
int qi_register_undo_first(const char *kind, qi_undo_fn fn);
int qi_external_begin(qi_handle *h, const char *kind, const char *description,
		      const char *undo_data, int64_t *change_id);
int qi_external_done(qi_handle *h, int64_t change_id);

/* Guards: files that other tools also edit under their own locks (passwd
 * and group under shadow-utils' FILE.lock) are named by the module that
 * knows those locks, with a guard. Before a rollback, or a run's abort,
 * undoes anything, each guard whose PATHS (clean absolute paths inside
 * ROOT; the array is kept, not copied) the undo will touch is begun with
 * exactly those of its paths, in the order registered; a guard that fails
 * stops the rollback before anything is undone (the journal unchanged,
 * the guard's error on the handle). After the last undo and its record,
 * whether the rollback succeeded or not, each begun guard is ended, in
 * reverse order. *STATE is the guard's own, from begin to end. Like undo
 * handlers, the library's own guards (the passwd files') are registered by
 * qi_new for every handle; a program registers its own (a NAME again
 * replaces that guard). */
typedef int (*qi_guard_begin_fn)(qi_handle *h, const char *const *paths, size_t npaths,
				 void **state);
typedef void (*qi_guard_end_fn)(qi_handle *h, void *state);
int qi_register_guard(const char *name, const char *const *paths,
		      qi_guard_begin_fn begin, qi_guard_end_fn end);

/* `qinstall apply FILE`: the operation list FILE (a host path, "-" for
 * standard input; its format is in qinstall-apply(8)) parsed, its owners
 * looked up in ROOT and its sources checked, then made as one run in one
 * batch; any error names FILE:LINE and leaves ROOT as it was. The result
 * gets "changes". */
int qi_apply_file(qi_handle *h, const char *file);

/* Roll back RUN and every later run (RUN 0 = the last run). Idempotent:
 * an interrupted rollback completes when called again. Before anything is
 * undone, every before-image it will read from the store is checked (there,
 * a regular file, its content matching its sha256); when one is not, it
 * refuses and changes nothing, the message naming each path, hash and run
 * and what to do, the result's "damaged" listing them. The result's
 * "changes" lists each change undone (with --check: each that would be,
 * after the same checks and refusals), newest first. */
int qi_rollback(qi_handle *h, int64_t run);
/* The same, leaving the NLEAVE paths LEAVE (inside ROOT, as the journal
 * names them) as they are now: every change that touches one is not
 * undone but recorded as left (the result's "left", and a warning for
 * each path), and their damaged store entries are set aside. Each path
 * must be one whose before-image is missing or damaged (or renamed by a
 * change that touches one), else a usage error; a damaged before-image
 * whose path is not named still refuses. */
int qi_rollback_leaving(qi_handle *h, int64_t run, const char *const *leave, size_t nleave);
/* Compare ROOT with what the journal says qinstall wrote last; each
 * difference is listed in the result ("drift") and logged; returns -1 with
 * kind QI_ERR_DRIFT when there is any. */
int qi_verify_root(qi_handle *h);
/* Runs, newest first, into the result ("runs"). */
int qi_status(qi_handle *h);
/* What qinstall wrote last at PATH (inside ROOT): the after-image of the
 * newest change of PATH that is done (a running run's own changes are
 * not, until it commits) and whose run was not rolled back (a
 * remove, or a rename away from PATH: an absent image), into *IMG (clear
 * it with qi_image_clear), *FOUND true; *FOUND false when no such change
 * exists or ROOT has no journal. Reads only; works inside and outside a
 * run. */
struct qi_image;
int qi_journal_last_image(qi_handle *h, const char *path, struct qi_image *img, bool *found);

/* ------------------------------------------------------------------ */
/* Sources: fetch, verify, extract (fetch.c, digest.c, extract.c)      */
/* ------------------------------------------------------------------ */

struct qi_source {
	const char *file;		/* distfile name: "ucspi-tcp-0.88.tar.gz" */
	const char *const *urls;	/* NULL-terminated, tried in order (may be NULL) */
	const char *sha256;		/* lowercase hex, or NULL */
	const char *sha512;		/* lowercase hex, or NULL (at least one hash) */
	int64_t size;			/* bytes, or -1 when not pinned */
	const char *debian_source;	/* Debian source package (second origin), or NULL */
	const char *debian_version;	/* its version, epoch included ("1:0.88-7"), or NULL */
};

struct qi_fetch_options {
	const char *distdir;		/* NULL: CACHE_DIR/distfiles */
	const char *mirror;		/* --mirror BASE (tried first after the cache), or NULL */
	bool offline;			/* only the cache and file: URLs */
	int64_t max_unpinned;		/* cap on a download whose size is not pinned; 0: 2 GiB */
};

/* One source named on the command line: "URL#sha256=HEX&sha512=HEX&size=N
 * &debian=PKG/VERSION" (see qinstall-fetch(8)). */
#define QI_SHA256_HEX 64
#define QI_SHA512_HEX 128
struct qi_fetch_spec {
	char *url;		/* the URL without its fragment (a bare /path becomes file://) */
	char *file;		/* the last path component of the URL */
	char sha256[QI_SHA256_HEX + 1];	/* "" when not pinned */
	char sha512[QI_SHA512_HEX + 1];
	int64_t size;		/* -1 when not pinned */
	char *debian_source;	/* debian=PKG/VERSION: Debian as a second origin, or NULL */
	char *debian_version;
	const char *urls[2];	/* { url, NULL } for struct qi_source */
	struct qi_source source;/* points into this struct */
};
/* Parse SPEC; usage errors (kind QI_ERR_USAGE) say what is wrong. */
int qi_fetch_spec_parse(qi_handle *h, const char *spec, struct qi_fetch_spec *out);
void qi_fetch_spec_free(struct qi_fetch_spec *s);

/* Get SRC into the distfile cache, verified against its pins; *path is the
 * verified file (malloc'd). Origins in order: cache, mirror, urls, Debian. */
int qi_fetch(qi_handle *h, const struct qi_source *src,
	     const struct qi_fetch_options *opt, char **path);
/* Where the distfile cache keeps FILE: OPT's distdir (NULL or unset:
 * CACHE_DIR/distfiles) and FILE. Malloc'd. */
char *qi_distfile_path(const qi_handle *h, const struct qi_fetch_options *opt, const char *file);
/* Check a file's size and hashes against SRC's pins. */
int qi_verify_pins(qi_handle *h, const char *path, const struct qi_source *src);
/* Unpack ARCHIVE securely into DEST: created fresh with mode 0700, or an
 * existing empty directory (a non-empty one is refused); *topdir (malloc'd,
 * may be NULL) is DEST/<the single top directory> or DEST. On failure what
 * was extracted is removed, and DEST too when it was created here. It works from inside DEST (chdir,
 * then back), so it is not for use from several threads at once. */
int qi_extract(qi_handle *h, const char *archive, const char *dest, char **topdir);
/* qi_fetch, telling where the bytes came from. */
struct qi_fetch_report {
	const char *origin;		/* "cache", "mirror", "url" or "debian" (static) */
	char *url;			/* the URL (or Debian package=version) used; NULL for the cache */
	char sha256[65];		/* lowercase hex of the verified file */
	char sha512[129];		/* "" unless SHA-512 was pinned */
	int64_t size;			/* bytes of the verified file */
	int64_t downloaded;		/* bytes received from the network by this call */
};
int qi_fetch_report(qi_handle *h, const struct qi_source *src,
		    const struct qi_fetch_options *opt, char **path, struct qi_fetch_report *report);
void qi_fetch_report_free(struct qi_fetch_report *report);

/* ------------------------------------------------------------------ */
/* Patches (patch_*.c): GNU patch semantics, in process              */
/* ------------------------------------------------------------------ */

struct qi_series_patch {
	const char *path;		/* patch file (host path) */
	int strip;			/* -p */
	int max_fuzz;			/* 0..3 */
	const char *label;		/* its name in records and errors (NULL: path) */
	const char *glue;		/* host path of its glue patch, or NULL */
	/* host path of the top of the tree it was made against (the
	 * profile's base=COMPONENT), or NULL: the series' pristine tree */
	const char *base_dir;
};
struct qi_series_options {
	bool merge;			/* a hunk that does not apply is merged three ways */
};

/* Apply the patches in order to the tree at DIR (a work directory, not
 * ROOT), all or nothing: on any failed hunk nothing is written and the
 * error names the patch, file, hunk and the closest place it matched.
 * With OPT->merge (OPT NULL: no merge), the files where a hunk of patch N
 * fails are merged three ways (patch/merge.c): base = DIR's files before
 * the series, ours = the tree after patches 1..N-1, theirs = base with
 * patch N alone (with N's base_dir: base and theirs from that tree, a
 * file it lacks from DIR's pristine files); conflicts are resolved by the rules of qinstall-patch(8)
 * or, for a true conflict, by N's glue patch; without one the error shows
 * the three sides. *report (may be NULL) receives a JSON array of
 * per-hunk records: {patch, file, hunk, applied, line, offset, fuzz,
 * reversed, outcome} (outcome: clean, offset, fuzz, merged, rule or glue;
 * "rule" names the rule for outcome rule). */
int qi_patch_series(qi_handle *h, const char *dir, const struct qi_series_patch *patches,
		    size_t n, const struct qi_series_options *opt, json_t **report);

/* One patch (a file of unified diffs) applied as GNU patch 2.7.6 does
 * (patch/run.c). Zeroed options plus strip = -1 and max_fuzz = 2 are
 * GNU patch's defaults. */
struct qi_patch_options {
	int strip;			/* -p N; -1: base names only (no -p) */
	int max_fuzz;			/* -F N: context lines that may be ignored (0..3 sane) */
	bool reverse;			/* -R */
	bool forward;			/* -N: skip patches that look reversed or applied */
	bool force;			/* -f: apply anyway, never ask */
	bool batch;			/* -t: assume -R for reversed patches */
	bool silent;			/* -s: only errors */
	bool dry_run;			/* --dry-run: say what would happen, write nothing */
	bool atomic;			/* all or nothing: on any failure nothing is written */
	bool no_backup_if_mismatch;	/* no .orig files */
	bool no_reject_files;		/* no .rej files */
	const char *label;		/* the patch's name in records and errors, or NULL */
	const char *merge_base;		/* --merge --base DIR: the pristine tree the patch was
					 * made for; failed files are merged three ways against
					 * it (a true conflict: -1, nothing written) */
	const char *merge_glue;		/* --glue FILE: the glue patch for its true conflicts */
};
void qi_patch_options_default(struct qi_patch_options *opt);

struct qi_patch_report {
	int status;			/* patch(1)'s: 0 all applied, 1 some failed, 2 trouble */
	char *text;			/* patch(1)'s messages ("patching file X", "Hunk #2 ..."), malloc'd */
	json_t *hunks;			/* per-hunk records: {patch, file, hunk, applied, line,
					 * offset, fuzz, reversed, outcome (applied ones)} and, for a failed hunk,
					 * {near_line, near_differ}: where it came closest to
					 * matching and how many of its old lines differed */
	char *first_failure;		/* "file: hunk #N FAILED at L (closest ...)", or NULL */
	bool changed;			/* a file was written or removed (.rej and .orig too) */
};
/* Apply PATCH (LEN bytes) to the files under DIR (NULL: the current
 * directory). Returns 0 when the patch was processed (report->status 0 or
 * 1), -1 on serious trouble (status 2; the error is on the handle, the
 * report holds what was said before). Follows a symlinked directory only
 * while it stays inside DIR (as GNU patch 2.7.6), never a symlink as the
 * file patched, and never writes outside DIR. */
int qi_patch_apply(qi_handle *h, const char *dir, const char *patch, size_t len,
		   const struct qi_patch_options *opt, struct qi_patch_report *report);
void qi_patch_report_free(struct qi_patch_report *report);

/* ------------------------------------------------------------------ */
/* Accounts (accounts.c, passwd.c): qmail's users and groups in ROOT   */
/* ------------------------------------------------------------------ */

/* qmail's nine accounts, groups first: the index of struct qi_account_ids
 * and of qi_account_defs. */
enum qi_account {
	QI_ACCT_NOFILES, QI_ACCT_QMAIL,				/* groups */
	QI_ACCT_ALIAS, QI_ACCT_QMAILD, QI_ACCT_QMAILL, QI_ACCT_QMAILP,	/* users */
	QI_ACCT_QMAILQ, QI_ACCT_QMAILR, QI_ACCT_QMAILS,
	QI_ACCT_COUNT,
	QI_ACCT_FIRST_USER = QI_ACCT_ALIAS,
};

/* What an account is, and the seed guide's id for it. */
struct qi_account_def {
	const char *name;		/* "nofiles", "alias", ... */
	bool group;			/* a group (else a user) */
	enum qi_account primary;	/* a user's primary group */
	bool alias_home;		/* a user's home is QMAIL_HOME/alias, not QMAIL_HOME */
	long long default_id;
};
extern const struct qi_account_def qi_account_defs[QI_ACCT_COUNT];
/* The account named NAME, or -1. */
int qi_account_find(const char *name);

/* The ids an account may have, pinned (--id, a profile's [accounts]) or
 * picked (--ids auto's range): one rule for groups and users, for the
 * command line, profiles and the library. 0 is root's; 65534 is nobody's
 * and nogroup's (and the kernel's overflow id, shown for ids it cannot
 * map); 65535 is (uid_t)-1 to 16-bit ids, "no id" to chown and setuid.
 * qmail's ids stay below all three. */
#define QI_ACCOUNT_ID_MIN 1
#define QI_ACCOUNT_ID_MAX 65533

/* A gid (groups) or uid (users) for each account. */
struct qi_account_ids {
	long long id[QI_ACCT_COUNT];
};

struct qi_accounts_spec {
	struct qi_account_ids ids;	/* wanted ids (pinned by the profile) */
	bool ids_auto;			/* pick the lowest free block instead */
	unsigned auto_min, auto_max;	/* range searched by ids_auto */
	const char *qmail_home;		/* "/var/qmail" */
	/* Added after the first version; zero means the default. */
	const char *shell;		/* NULL: the first of /sbin/nologin,
					 * /usr/sbin/nologin, /bin/false,
					 * /usr/bin/false in ROOT */
	int lock_wait_ms;		/* wait for a passwd lock held by a live
					 * process (0: 15000, like lckpwdf) */
};

/* The seed guide's numbers: nofiles 600, qmail 601, users 600..606. */
void qi_accounts_default(struct qi_accounts_spec *spec);
/* Make ROOT's accounts what SPEC says, through the journal; refuses on any
 * conflict (listing all of them) and changes nothing then. *resolved gets
 * the ids in force afterwards (in --check mode: the ids that would be).
 * Call it inside a run but outside qi_batch_begin/qi_batch_end: the files
 * must be written while it holds their shadow-utils locks. */
int qi_accounts_ensure(qi_handle *h, const struct qi_accounts_spec *spec,
		       struct qi_account_ids *resolved);
/* Read-only: the ids SPEC resolves to in ROOT (pinned ones checked, or
 * --ids auto's pick) without changing anything and without a run, for the
 * build step, packaging and --check. Fails like qi_accounts_ensure on a
 * conflict (listing them all in the result's "conflicts"). *pending (may
 * be NULL) says whether qi_accounts_ensure would change anything. Adds
 * "ids", "accounts", "homes" and "shell" to the result. */
int qi_accounts_resolve(qi_handle *h, const struct qi_accounts_spec *spec,
			struct qi_account_ids *resolved, bool *pending);
/* Set the pinned id of account NAME ("qmail", "alias", ...) in IDS;
 * -1 (usage error) for an unknown name or an id outside
 * QI_ACCOUNT_ID_MIN..QI_ACCOUNT_ID_MAX. */
int qi_accounts_set_id(qi_handle *h, struct qi_account_ids *ids, const char *name,
		       long long id);

/* ------------------------------------------------------------------ */
/* Profiles (profile.c): what to provision; see qinstall-profile(5)    */
/* ------------------------------------------------------------------ */

struct qi_profile;

/* Load a profile: NAME finds DATADIR/profiles/NAME.profile; a path (with a
 * '/' or ending in ".profile") names a user's own file. Includes are
 * resolved; unknown sections or keys and bad values are usage errors
 * naming FILE:LINE and the key. */
int qi_profile_load(qi_handle *h, const char *name_or_path, struct qi_profile **out);
void qi_profile_free(struct qi_profile *p);
/* The file given to qi_profile_load, as found. */
const char *qi_profile_file(const struct qi_profile *p);
/* A setting's value ("build", "jobs"), after includes and ${...}
 * expansion; NULL when unset. Component keys: section "component NAME". */
const char *qi_profile_get(const struct qi_profile *p, const char *section, const char *key);
/* A yes/no setting (yes, true, 1). */
bool qi_profile_bool(const struct qi_profile *p, const char *section, const char *key);
/* Override a setting from the command line (--domain, --jobs); the origin
 * shown by `profile show` is "command line". Every value is made anew: a
 * pointer qi_profile_get gave before does not stay valid. */
int qi_profile_set(qi_handle *h, struct qi_profile *p, const char *section, const char *key,
		   const char *value);
/* The resolved profile as JSON: {"file", "sections": [{"name", "values":
 * [{"key", "value", "origin": "FILE:LINE"}]}]}. New reference. */
json_t *qi_profile_to_json(const struct qi_profile *p);
/* Options ([option NAME]): each is on or off, by the command line
 * (qi_profile_set_option, last), else the profile's `enabled` (the last
 * one, includes first), else its `default` (yes, no, or A|B: on when any
 * of those is on). Settings of a conditional section ([KIND ARG if NAME
 * !NAME]) count only while the condition holds. */
/* Turn option NAME on or off (--with, --without): usage error listing the
 * profile's options when it declares none such. The origin shown is
 * "command line". Conflicts and requires are checked by
 * qi_profile_check_options, once every option is set. */
int qi_profile_set_option(qi_handle *h, struct qi_profile *p, const char *name, bool on);
/* Whether option NAME is on (false for an undeclared name). */
bool qi_profile_option(const struct qi_profile *p, const char *name);
/* Usage error when two options that conflict are both on (naming both
 * and where each got its state), or an option that is on lacks one of
 * what it requires. qi_profile_load checks the profile as written;
 * provision and plan check again after the command line's options. */
int qi_profile_check_options(qi_handle *h, const struct qi_profile *p);
/* Each option, in the order declared: [{name, description, on, state
 * ("on"|"off"), origin ("command line", FILE:LINE of its `enabled`, or
 * "default"), default, conflicts, requires}]. New reference. */
json_t *qi_profile_options_json(const struct qi_profile *p);
/* Fill SPEC from the profile's [accounts] section; what it leaves unset
 * keeps qi_accounts_default's value. */
int qi_profile_accounts_spec(qi_handle *h, const struct qi_profile *p,
			     struct qi_accounts_spec *spec);

/* ------------------------------------------------------------------ */
/* Provisioning (provision.c, build.c, stage.c, services.c)            */
/* ------------------------------------------------------------------ */

/* Another MTA's configuration as qmail's (qi_migrate's, from the
 * converters of convert/), laid over what [mail] configure writes. Each
 * file is named as convert.h names it: "control/NAME" (QMAIL/control) or
 * "alias/.qmail-NAME" (~alias). control/locals and control/rcpthosts are
 * merged with the domain's own line (it stays first); any other file
 * replaces [mail] configure's of that name or is added beside them, with
 * the modes and owners qmail gives its control and alias files. RULES
 * (NULL-terminated, or NULL) are tcprules lines written before the
 * profile's [services] smtp_rule in the rules file; each must be one
 * tcprules takes and may not make an open relay. ORIGIN names the source
 * in messages and in the rules file ("Postfix's configuration"). Without
 * [mail] configure the files are not written (nor the rules without
 * [services] smtpd). The provision record keeps it all (provision.c),
 * so that a later provision without one writes the same again. */
struct qi_mail_conversion {
	const char *const *names;
	const char *const *texts;	/* whole lines, each ending in '\n' */
	size_t n;
	const char *const *rules;
	const char *origin;
	/* the host name the old configuration names (control/me there), or
	 * NULL: control/me is never taken from the files, and defaultdomain,
	 * plusdomain and defaulthost only while [mail]'s domain is this one */
	const char *domain;
};

struct qi_provision_options {
	const char *mirror;		/* --mirror BASE for the sources, or NULL */
	bool offline;			/* only cached sources */
	bool rebuild;			/* ignore the build cache */
	bool takeover;			/* qi_migrate's: the sendmail links that another
					 * MTA owns are the takeover's to point at
					 * qmail, said so and not warned about */
	const struct qi_mail_conversion *conversion;	/* qi_migrate's, or NULL */
};

struct qi_provision;

/* Everything before ROOT: fetch, verify, extract, patch, build and stage
 * each component in the work area under qi_cache_dir(h), or take it from
 * the build cache. Writes nothing into ROOT. OPT may be NULL (defaults). */
int qi_provision_prepare(qi_handle *h, const struct qi_profile *p,
			 const struct qi_provision_options *opt, struct qi_provision **out);
/* The staged trees and the services into ROOT, through the journal only.
 * Call inside qi_run_begin/qi_run_commit. Adds "components" to the result. */
int qi_provision_commit(qi_handle *h, struct qi_provision *pv);
/* Start what a commit with [services] start = no left stopped: the svscan
 * unit, when ROOT is "/" and START (the profile's own start, as it was
 * before the caller set it to no), journaled as a commit's start is. Call
 * inside the run, after qi_provision_commit. */
int qi_provision_start(qi_handle *h, struct qi_provision *pv, bool start);
/* Whether committing would change anything in ROOT (reads only): a
 * provision with nothing to do begins no run at all. When nothing is
 * pending, the result gets "components" as qi_provision_commit gives it. */
int qi_provision_pending(qi_handle *h, struct qi_provision *pv, bool *pending);
void qi_provision_free(struct qi_provision *pv);
/* For `qinstall status`: what the last provision installed in ROOT (from
 * ROOT/var/lib/qinstall/provision.json: profile, components with version,
 * build key and build log) into the result as "provisioned"; nothing when
 * ROOT was never provisioned. Reads only. */
int qi_provision_status(qi_handle *h);
/* The string KEY ("domain", "admin") of ROOT's provision record, malloc'd;
 * NULL when ROOT was never provisioned or the record has none. Reads only. */
char *qi_provision_recorded(qi_handle *h, const char *key);
/* What provision would change in ROOT, into the result ("plan"); writes
 * nothing anywhere (neither ROOT nor the cache). */
int qi_provision_plan(qi_handle *h, const struct qi_profile *p,
		      const struct qi_provision_options *opt);

/* ------------------------------------------------------------------ */
/* The smoke test (smoke/): a provisioned server, proved working       */
/* ------------------------------------------------------------------ */

struct qi_smoke_options {
	const char *host;		/* SMTP and POP3 server (NULL: 127.0.0.1) */
	bool remote;			/* --host given and ROOT is "/": no local
					 * root to look into (no record, no Maildir) */
	int port;			/* SMTP port (0: 25) */
	const char *to;			/* test message's address (NULL: the admin's,
					 * from ROOT's provision record) */
	int timeout;			/* seconds to wait for the delivery (0: 30) */
	const char *foreign_from;	/* source address without RELAYCLIENT (NULL: 127.0.0.2) */
	const char *relay_from;		/* source address with RELAYCLIENT (NULL: 127.0.0.1) */
	const char *pop3_user;		/* NULL: the POP3 check is skipped */
	const char *pop3_pass;
	int pop3_port;			/* 0: 110 */
};

/* `qinstall smoke`: the SMTP greeting, a test message accepted for the
 * admin, found in the admin's Maildir in ROOT and deleted, relaying
 * refused from FOREIGN_FROM and allowed from RELAY_FROM (stopped before
 * DATA), and a POP3 login and LIST. Each check goes into the result's
 * "checks" ({name, ok, detail, skipped}); -1 with QI_ERR_FAILED when any
 * failed, naming them. Writes nothing but the removal of its own test
 * message. */
int qi_smoke(qi_handle *h, const struct qi_smoke_options *opt);

/* ------------------------------------------------------------------ */
/* Mail users (mailusers/): POP3 logins of qinstall-checkpassword(8)   */
/* ------------------------------------------------------------------ */

/* See qinstall-mailuser(8). A mail-only user NAME has a line
 * "NAME:HASH:OWNER:HOME" in the password file (HASH yescrypt), its
 * Maildir in HOME = OWNER's home/NAME (owned by OWNER), and qmail
 * delivers NAME@domain and NAME-ext@domain there through users/assign
 * (and its users/cdb, compiled here in qmail-newu's format). */
#define QI_MAILUSER_MIN_UID 1000	/* the lowest uid a mailbox may belong to */
#define QI_MAILUSER_OWNER "vmail"	/* the default owner of mail-only users */
struct qi_mailuser_options {
	const char *owner;	/* NULL: QI_MAILUSER_OWNER */
	const char *pwfile;	/* inside ROOT; NULL: /var/qmail/users/poppasswd */
	long long min_uid;	/* 0: QI_MAILUSER_MIN_UID */
	bool remove_mailbox;	/* del: the mail home too (journaled) */
	int cram_md5;		/* add, passwd: 1 store a CRAM-MD5 secret too, -1 none;
				 * 0: add none, passwd keep one if the user had it */
};
/* Each mutating call changes ROOT through the journal; call it inside a
 * run. Bad input (a bad NAME, a password file that is not a regular
 * file, an unknown NAME) fails before anything is changed. The result
 * gets "user", "home", "maildir" and "addresses" (add), and "cram_md5"
 * (add, passwd: whether the user now has a CRAM-MD5 secret). */
int qi_mailuser_add(qi_handle *h, const struct qi_mailuser_options *o, const char *name,
		    const char *password);
int qi_mailuser_passwd(qi_handle *h, const struct qi_mailuser_options *o, const char *name,
		       const char *password);
int qi_mailuser_del(qi_handle *h, const struct qi_mailuser_options *o, const char *name);
/* ROOT's system users with a uid of at least min_uid (below 65534) and
 * a home directory become entries with the hash "system" (their shadow
 * password), each given a Maildir in its home if it has none. The
 * result gets "imported" and "skipped". */
int qi_mailuser_import(qi_handle *h, const struct qi_mailuser_options *o);
/* Read-only: the result gets "users": [{name, password, owner, home,
 * cram_md5}]. */
int qi_mailuser_list(qi_handle *h, const struct qi_mailuser_options *o);
/* Copy PROGRAM (a host path: the built or installed qinstall-checkpassword)
 * to ROOT/usr/local/bin/qinstall-checkpassword, 0755 root, through the
 * journal: for the POP3 service (qmail-popup ... qinstall-checkpassword). */
#define QI_CHECKPASSWORD_PATH "/usr/local/bin/qinstall-checkpassword"
int qi_mailuser_install_checkpassword(qi_handle *h, const char *program);
/* The SMTP service's copy of it ([services] smtpd_auth): qmaild's, 02510,
 * setgid to [services] smtpd_auth_group, run as qmaild with --check-only. */
#define QI_SMTP_CHECKPASSWORD_PATH "/usr/local/libexec/qinstall/checkpassword-smtp"

/* control/validrcptto.cdb of the validrcptto patch (mailusers/validrcptto.c):
 * lower-case keys, the data empty: NAME@DOMAIN and NAME-default@DOMAIN of
 * each mail user and each domain of control/locals (control/me without it),
 * the same of each system user qmail-getpw delivers to (uid from 1000, not
 * 65534, a home directory of its own), NAME@DOMAIN of each ~alias/.qmail-NAME (':' read as '.'; .qmail-default:
 * @DOMAIN), and each line of control/validrcptto.local (ADDRESS, @DOMAIN, or
 * a bare NAME for NAME@ each domain). Built from ROOT into *CDB (malloc'd);
 * KEYS (if not NULL) gets the keys, sorted. */
int qi_validrcptto_build(qi_handle *h, const char *qmail_home, const char *pwfile, char **cdb,
			 size_t *len, json_t **keys);
/* Write control/validrcptto.local (from LOCAL, NULL: leave it) and the cdb
 * through the journal, inside a run. ONLY_IF_THERE: nothing when the cdb
 * is not there yet (the option is off): what `qinstall mailuser` calls.
 * The result gets "validrcptto": {path, keys}. */
int qi_validrcptto_update(qi_handle *h, const char *qmail_home, const char *pwfile,
			  const char *const *local, bool only_if_there);

/* ------------------------------------------------------------------ */
/* The takeover (migrate/): Postfix, Exim or sendmail handed to qmail   */
/* ------------------------------------------------------------------ */

struct qi_migrate_options {
	const char *from;		/* "auto" (NULL), "postfix", "exim", "sendmail" */
	const char *queue;		/* "carry" (NULL), "drain" or "keep" */
	int drain_timeout;		/* seconds a drain waits (0: 300) */
	struct qi_provision_options provision;
};
/* `qinstall migrate` (qinstall-migrate(8)): detect ROOT's MTA, then in one
 * run: stop it, provision P (its services started last), carry, drain or
 * keep its queue, swap its packages for the stand-in qinstall-mta in one
 * dpkg run (their .debs kept for the rollback), point sendmail, mailq and
 * newaliases at qmail, start qmail. Any failure rolls the run back. With
 * --check: the steps into the result ("steps"), nothing written. The
 * result gets "from", "queue", "package", "links" and "steps". */
int qi_migrate(qi_handle *h, struct qi_profile *p, const struct qi_migrate_options *opt);
/* The takeover's undo handlers (the old MTA restarted, carried messages
 * taken back, the packages swapped back, the configuration put back): a
 * program that may roll back a migrate registers them once, before it
 * does (qinstall's main does; the library's own are registered by
 * qi_new, but these stay out of programs that never migrate). */
void qi_migrate_register(void);

#endif /* QINSTALL_H */
