/*
 * passwd.h - the passwd/group/shadow/gshadow reader and editor (passwd.c)
 * and the shadow-utils style file locks (pwlock.c), shared by accounts.c
 * and the unit tests.
 *
 * The editor works on a file's bytes in memory: qi_pwdb_parse splits them
 * into lines, each kept exactly as it was (its terminator included), and
 * qi_pwdb_serialize gives back the same bytes until something is added.
 * Lines that are not entries (comments, blank lines, NIS "+"/"-" lines,
 * malformed lines) are kept untouched; only entries are interpreted.
 */
#ifndef QI_PASSWD_H
#define QI_PASSWD_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include "qinstall.h"

enum qi_pwkind {
	QI_PW_PASSWD,	/* name:passwd:uid:gid:gecos:dir:shell */
	QI_PW_GROUP,	/* name:passwd:gid:members */
	QI_PW_SHADOW,	/* name:passwd:lastchg:min:max:warn:inactive:expire:reserved */
	QI_PW_GSHADOW,	/* name:passwd:admins:members */
};

enum qi_pwline_type {
	QI_PWL_ENTRY,		/* a well-formed entry */
	QI_PWL_COMMENT,		/* "#..." or a blank line */
	QI_PWL_NIS,		/* "+..." or "-...": NIS compat lines */
	QI_PWL_MALFORMED,	/* anything else; name is set when it has one */
};

#define QI_PW_MAXFIELDS 9

struct qi_pwline {
	char *raw;		/* the line's exact bytes, terminator included */
	size_t rawlen;
	size_t lineno;		/* 1-based, in the parsed file (0 for added lines) */
	enum qi_pwline_type type;
	/* Entries (and malformed lines with a first field): the fields,
	 * split at ':' with the terminator and a trailing CR removed. */
	char *fields[QI_PW_MAXFIELDS];
	size_t nfields;
	long long id;		/* uid (passwd) or gid (group); -1 otherwise */
	long long gid;		/* primary gid (passwd); -1 otherwise */
};

struct qi_pwdb {
	enum qi_pwkind kind;
	struct qi_pwline *lines;
	size_t n, cap;
	bool changed;		/* something was added since parsing */
};

/* The number of ':'-separated fields an entry of KIND has. */
size_t qi_pwkind_nfields(enum qi_pwkind kind);
/* "passwd", "group", "shadow", "gshadow". */
const char *qi_pwkind_name(enum qi_pwkind kind);

/* Split DATA (LEN bytes, may hold any bytes) into DB. Never fails on
 * content: what is not an entry is kept as an opaque line. */
void qi_pwdb_parse(struct qi_pwdb *db, enum qi_pwkind kind, const char *data, size_t len);
void qi_pwdb_free(struct qi_pwdb *db);
/* The file's bytes: exactly the parsed input while nothing was added. */
char *qi_pwdb_serialize(const struct qi_pwdb *db, size_t *len);

/* The entry named NAME (a well-formed one), or NULL. */
const struct qi_pwline *qi_pwdb_find_name(const struct qi_pwdb *db, const char *name);
/* Any line whose first field is NAME, well-formed or not (to refuse
 * adding a second one beside a malformed line), or NULL. */
const struct qi_pwline *qi_pwdb_find_any_name(const struct qi_pwdb *db, const char *name);
/* The first entry holding id ID (uid for passwd, gid for group), or NULL. */
const struct qi_pwline *qi_pwdb_find_id(const struct qi_pwdb *db, long long id);
bool qi_pwdb_id_used(const struct qi_pwdb *db, long long id);

/* Add an entry made of the fields FIELDS (qi_pwkind_nfields(kind) of
 * them; none may hold ':' or a newline). It goes before the first NIS
 * line, as shadow-utils does, so that "+" lookups stay last; else at the
 * end. A file without a final newline gets one first. Returns 0, or -1
 * with the reason on H. */
int qi_pwdb_add(qi_handle *h, struct qi_pwdb *db, const char *const *fields);

/* ------------------------------------------------------------------ */
/* Locks (pwlock.c): shadow-utils' FILE.lock protocol inside ROOT       */
/* ------------------------------------------------------------------ */

struct qi_pwlock {
	int dirfd;		/* the file's directory inside ROOT, or -1 */
	char *base;		/* "passwd" */
	char *path;		/* "/etc/passwd" (inside ROOT), for messages */
	bool held;
};

/* Lock PATH (inside ROOT, e.g. "/etc/passwd") by creating PATH.lock the
 * way shadow-utils does: write our pid into PATH.PID, link() it to
 * PATH.lock and check the link count. A lock whose pid is dead is removed
 * and taken over; one held by a live process is waited for up to WAIT_MS
 * milliseconds, then the call fails (kind QI_ERR_LOCKED) naming the pid. */
int qi_pwlock_acquire(qi_handle *h, struct qi_pwlock *lk, const char *path, int wait_ms);
/* Remove the lock if held; safe to call on a never-acquired lock. */
void qi_pwlock_release(struct qi_pwlock *lk);
/* Hold off SIGINT, SIGTERM, SIGHUP and SIGQUIT while locks are held, so
 * that the locks are always removed. qi_pwlock_acquire gives up at once
 * when one arrives while it waits; qi_pwlock_take_interrupt dequeues one
 * that is pending (its number, or 0), so that the caller fails cleanly
 * ("interrupted") and its run is aborted instead of dying half-way. */
void qi_pwlock_block_signals(sigset_t *old);
void qi_pwlock_restore_signals(const sigset_t *old);
int qi_pwlock_take_interrupt(void);

/* The files as shadow-utils' tools lock them, in their order. */
enum qi_pwfile {
	QI_PWF_PASSWD, QI_PWF_SHADOW, QI_PWF_GROUP, QI_PWF_GSHADOW, QI_PWF_COUNT,
};
/* Each file: its path inside ROOT ("/etc/passwd"), its format, and
 * whether a system image must have it (the shadow files are optional). */
struct qi_pwfile_def {
	const char *path;
	enum qi_pwkind kind;
	bool required;
};
extern const struct qi_pwfile_def qi_pwfiles[QI_PWF_COUNT];

/* A set of those locks, held together: signals held off (see above),
 * glibc's lckpwdf when ROOT is "/", then FILE.lock of each file in
 * WHICH (a bit mask of 1 << enum qi_pwfile), in shadow-utils' order. On
 * failure nothing is left held and the error (QI_ERR_LOCKED naming the
 * holder's pid, for a lock held beyond WAIT_MS) is on H. */
struct qi_pwlockset {
	struct qi_pwlock locks[QI_PWF_COUNT];
	int n;
	bool pwdf;
	sigset_t old_mask;
};
int qi_pwlockset_acquire(qi_handle *h, struct qi_pwlockset *set, unsigned which, int wait_ms);
/* Release every lock of SET, then take a pending interrupt and restore
 * the signal mask: returns that signal's number, or 0. */
int qi_pwlockset_release(struct qi_pwlockset *set);

/* accounts.c registers a journal guard (qi_register_guard) over the four
 * files and their FILE- backups, so that rollback takes the same locks.
 * This is the set of locks it takes for PATHS (FILE- under FILE's). */
unsigned qi_accounts_guard_mask(const char *const *paths, size_t npaths);

#endif
