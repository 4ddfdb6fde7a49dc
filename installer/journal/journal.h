/*
 * journal/journal.h - what the journal's files share with one another and
 * with their unit tests: journal.c (the state directory, the database and
 * the lock, runs and status), act.c (making one path what an image says,
 * and syncing what was made), change.c (the write-ahead change functions,
 * batches, external operations), rollback.c (undo, its handlers and
 * guards), verify.c, imagemap.c (a map from paths to images), store.c
 * (the store of before-images) and applyfile.c (the apply list).
 *
 * State: ROOT/var/lib/qinstall/ holds state.db (SQLite, WAL,
 * synchronous=FULL), store/ (before-images by SHA-256, see store.c),
 * lock (an OFD lock; the file holds the pid of the run) and kept/ (what
 * rollbacks kept aside instead of deleting it, see keep.c; never removed
 * by qinstall).
 *
 * Per change, in this order (the write-ahead rule):
 *   1. the before-image of every path the change touches is taken; a
 *      regular file's content is copied into the store and fsynced, and
 *      the store directory fsynced;
 *   2. an intent row holding the before- and after-images is committed;
 *   3. the change is made atomically: the new object is made under a
 *      temporary name beside its target (.qinstall-tmp.CHANGE), given its
 *      owner and mode, then renamed over the target;
 *   4. when the run commits, every file system touched is synced
 *      (syncfs) and only then are the rows marked done and the run done.
 * A row never marked done is undone like any other: undo looks at what is
 * there and makes the path what the before-image says, which is a no-op
 * when the change never happened. So undo is idempotent, and a rollback
 * killed half-way completes when run again.
 *
 * Group commit: between qi_batch_begin and qi_batch_end, changes are
 * planned one by one (errors reported at once) and made together: one
 * store sync, one transaction of intents, the acts, one syncfs. A path
 * touched twice in a batch, a rename, a remove or an external operation
 * first makes what is queued.
 *
 * Guards: a module whose files other tools also lock (accounts.c for
 * passwd and group) has a guard, registered for every handle by qi_new;
 * a rollback that touches its paths begins it before the first undo (a
 * refusal stops the rollback with nothing undone) and ends it after the
 * last undo is recorded.
 *
 * --check: nothing is written, not even the state. Planned changes are
 * kept in an overlay so that later operations see earlier ones.
 *
 * Not part of any run, so never rolled back: the state directory itself,
 * and ROOT/var and ROOT/var/lib when they had to be made for it (0755,
 * owned by the user running qinstall). A run that changed nothing leaves
 * no row. Timestamps, hard links and extended attributes are not recorded.
 *
 * The journal's own state is out of every run's reach. It is opened one
 * component at a time from ROOT (var, lib, qinstall: each O_NOFOLLOW |
 * O_DIRECTORY), each of its files is checked (not followed) before use, and
 * anything there that is not what it must be (a symlink, a FIFO, a
 * directory where a file goes) is refused with what to do (journal.c).
 * No change may touch it (change.c, at the one place every planned change
 * goes through): /var, /var/lib and /var/lib/qinstall may be made when
 * missing but never changed, renamed or removed; nothing at or below
 * /var/lib/qinstall may be made or changed, except the records a module
 * keeps there (provision.json, written whole); a path that reaches them
 * through a symlink or a mount is refused the same way. The apply list,
 * profiles and staged trees are checked against the same rule before a
 * run begins (qi_state_part). A state.db that is empty, truncated, not a
 * database or without qinstall's tables is a damaged journal, never "no
 * runs": a new state.db is made whole under another name and renamed into
 * place, so that a state.db without its schema is never qinstall's own.
 */
#ifndef QI_JOURNAL_H
#define QI_JOURNAL_H

#include <sqlite3.h>

#include "core/core.h"

#define QI_STATE_DIR "/var/lib/qinstall"
/* The mode ROOT/var, ROOT/var/lib and the state directory are made with
 * when missing (owned by the user running qinstall). */
#define QI_STATE_DIR_MODE 0755

/* What a clean path inside ROOT is to the journal's own state, by its
 * name (journal.c). */
enum qi_state_part {
	QI_STATE_OUTSIDE = 0,	/* nothing of the journal's */
	QI_STATE_ABOVE,		/* /var or /var/lib: made when missing, never changed */
	QI_STATE_TOP,		/* /var/lib/qinstall itself: the same */
	QI_STATE_RECORD,	/* a record a module keeps there (provision.json): only
				 * written whole, by the library itself */
	QI_STATE_OWN,		/* anything else below it: never made or changed by a run */
};
enum qi_state_part qi_state_part(const char *path);
/* "a directory above the journal's state" and the like, for messages. */
const char *qi_state_part_name(enum qi_state_part part);

/* ------------------------------------------------------------------ */
/* A map from paths to images (imagemap.c)                              */
/* ------------------------------------------------------------------ */

/* Last writer wins; the entries in the order their paths were first set. */
struct qi_image_entry {
	char *path;
	struct qi_image img;
};
struct qi_imagemap {
	struct qi_image_entry *e;
	size_t n, cap;
	/* the index: open addressing, a slot holds a path (the entry's own
	 * string) and the entry's position; path NULL: free */
	struct qi_imagemap_slot { const char *path; size_t index; } *slot;
	size_t nslots;
};
/* PATH's entry, or NULL (valid until the next set). */
struct qi_image_entry *qi_imagemap_get(const struct qi_imagemap *m, const char *path);
/* PATH is IMG (copied). */
void qi_imagemap_set(struct qi_imagemap *m, const char *path, const struct qi_image *img);
/* Emptied (its memory kept for reuse); freed. */
void qi_imagemap_clear(struct qi_imagemap *m);
void qi_imagemap_free(struct qi_imagemap *m);

/* ------------------------------------------------------------------ */
/* The journal of a handle                                              */
/* ------------------------------------------------------------------ */

struct qi_change;	/* a planned change (change.c) */

/* Which object a directory is: the journal's directories (ROOT/var,
 * ROOT/var/lib, the state directory), as opened. */
struct qi_fileid {
	dev_t dev;
	ino_t ino;
};

struct qi_journal {
	sqlite3 *db;
	int statefd, storefd, lockfd;
	struct qi_fileid dirs[3];	/* var, var/lib, the state directory */
	bool have_dirs;			/* set when statefd was opened */
	int64_t run;
	bool in_run;
	bool batch;
	/* the changes planned, not made yet (change.c) */
	struct qi_change *queue;
	size_t nqueue, capqueue, queue_bytes;
	/* the --check and batch overlay: path -> planned image (change.c) */
	struct qi_imagemap ov;
	/* one descriptor per file system touched, for syncfs (act.c) */
	struct { dev_t dev; int fd; } devs[16];
	int ndevs;
	bool dev_overflow;
	int64_t nchanges;
};

/* ---- journal.c: the state directory, the database, the lock ---- */

/* The handle's journal, made on first use. */
struct qi_journal *qi_journal_get(qi_handle *h);
/* Open (with CREATE make) ROOT/var/lib/qinstall, never following a
 * symlink, and check what it holds; -1 with errno ENOENT when it does not
 * exist and CREATE is false (any other refusal leaves another errno). */
int qi_journal_open_state(qi_handle *h, bool create);
/* Open state.db and check it (schema, PRAGMA quick_check). WRITE: for a
 * run or a rollback (makes a new one). 1 (errno ENOENT) when there is no
 * journal to read; -1 for a damaged or lost one. */
int qi_journal_open_db(qi_handle *h, bool write);
int qi_journal_open_store(qi_handle *h);
/* Whether the store directory STOREFD holds any before-image. */
bool qi_journal_store_has_images(int storefd);
int qi_journal_lock(qi_handle *h);
void qi_journal_unlock(qi_handle *h);
/* Run SQL / report the last SQLite error: -1 with a message naming
 * state.db, WHAT failed and what to do. */
int qi_db_exec(qi_handle *h, const char *sql);
int qi_db_fail(qi_handle *h, const char *what);
/* An image as the 7 columns from COL (type, mode, uid, gid, size, hash,
 * target): bound (all NULL when not PRESENT), or read back (false when
 * NULL). */
void qi_db_bind_image(sqlite3_stmt *st, int col, const struct qi_image *img, bool present);
bool qi_db_column_image(sqlite3_stmt *st, int col, struct qi_image *img);
/* Set RUN's state and finish time; WHAT names the step in the message. */
int qi_db_set_run_state(qi_handle *h, int64_t run, const char *state, const char *what);

/* ---- act.c: making a path look like an image ---- */

/* The temporary of change ID beside its target: TMP_PREFIX and the id. */
#define QI_TMP_PREFIX ".qinstall-tmp."

/* Where a change acts: NAME in the directory DFD; PATH (inside ROOT) for
 * messages; ID names the temporary made beside it. */
struct qi_spot {
	int dfd;
	const char *name, *path;
	int64_t id;
};
/* A regular file's new content: DATA/LEN, or else read from FD. */
struct qi_content {
	const void *data;
	size_t len;
	int fd;
	/* FD's bytes must hash to the image's sha256 (a restore from the
	 * store): the copy made is checked before it replaces anything */
	bool verify;
};
/* Make the spot what WANT says; LIVE is what is there now. */
int qi_journal_make_image(qi_handle *h, const struct qi_spot *at, const struct qi_image *want,
			  const struct qi_image *live, const struct qi_content *content);
/* Remove the temporary of change ID that a killed change may have left. */
void qi_journal_remove_tmp(int dfd, int64_t id);
/* Remember the file system of DIRFD, to syncfs it before marking done;
 * sync every file system remembered. */
void qi_journal_note_dev(struct qi_journal *j, int dirfd);
int qi_journal_sync_devs(qi_handle *h);

/* ---- change.c: planning and making changes ---- */

/* Make everything queued: store, intents, acts. */
int qi_journal_flush(qi_handle *h);
/* Drop what is queued and planned, unmade. */
void qi_journal_discard(struct qi_journal *j);
/* --diff text of an image: a description line, then a text file's content
 * (DATA/LEN, or else read from PATH inside ROOT when PATH is not NULL). */
char *qi_journal_diff_text(qi_handle *h, const char *path, const struct qi_image *img,
			   const void *data, size_t len);

/* ---- rollback.c: undo ---- */

/* Undo runs FROM_RUN and every later one (or only FROM_RUN), newest first. */
int qi_journal_undo_runs(qi_handle *h, int64_t from_run, bool only_this);
/* The undo handler registered for KIND, or NULL. */
qi_undo_fn qi_journal_find_undo(const char *kind);
/* Whether a guard named NAME is registered; *PATHS gets its paths. */
bool qi_journal_find_guard(const char *name, const char *const **paths);

/* ------------------------------------------------------------------ */
/* What a rollback keeps aside (keep.c)                                 */
/* ------------------------------------------------------------------ */

/* The journal's directory of what rollbacks kept aside, in the state
 * directory; never removed by a rollback, never drift. */
#define QI_KEPT_DIR QI_STATE_DIR "/kept"
/* Where what stands on another file system is kept, at the top of that
 * file system inside ROOT (a rename cannot cross file systems). */
#define QI_KEPT_OTHER ".qinstall-kept"

/* One subtree a rollback moves aside instead of deleting it. */
struct qi_keep_item {
	char *path;		/* inside ROOT */
	char *base;		/* NULL: QI_KEPT_DIR; else TOP/QI_KEPT_OTHER (another file system) */
	mode_t type;		/* S_IFDIR, S_IFREG, ... */
	int64_t files;		/* the files (not directories) in it */
	bool edited;		/* a path qinstall wrote, changed since */
};

/* What one rollback keeps aside: found (while the undo is replayed on
 * paths, then by reading the directories it removes) before anything is
 * undone, then moved with rename(2) into ROOT/QI_KEPT_DIR/DIR. */
struct qi_keep {
	int64_t run;			/* the oldest run undone: names DIR */
	struct qi_imagemap plan;	/* the paths the runs undone wrote, and their temporaries */
	struct qi_imagemap above;	/* every directory above one of them */
	char **dirs;			/* the directories the undo removes */
	size_t ndirs, capdirs;
	struct qi_keep_item *items;
	size_t n, cap;
	char *dir;			/* "run-N-YYYYMMDDTHHMMSSZ", once chosen */
	bool dir_exists;		/* made by an earlier attempt */
	bool later;			/* runs are undone after these: looked at again */
	bool check;			/* --check: say what the later looks will keep */
	json_t *kept;			/* the result's "kept" */
	json_t *dirs_used;		/* the BASE/DIR that took items */
};

/* The runs' own paths (PATH, and with ID the temporary a killed change
 * may have left beside it). */
void qi_keep_plan_path(struct qi_keep *k, const char *path, int64_t id);
/* The undo removes the directory PATH; PATH's content is not what
 * qinstall left there and the undo would replace it. */
void qi_keep_dir(struct qi_keep *k, const char *path);
void qi_keep_edited(struct qi_keep *k, const char *path);
/* Read the directories the undo removes for what the runs did not write,
 * check that each can be moved, and choose where: nothing is changed
 * (STARTED: some runs are already undone, for the message). */
int qi_keep_find(qi_handle *h, struct qi_keep *k, bool started);
/* Move every item found; each said in a warning and in "kept". */
int qi_keep_move(qi_handle *h, struct qi_keep *k);
/* --check: the items into "kept", nothing moved. */
void qi_keep_list(qi_handle *h, struct qi_keep *k);
/* The result's "kept"; "kept_dirs", the directories that hold what this
 * rollback (or an attempt of it killed before) kept, "kept_dir" the first. */
void qi_keep_report(qi_handle *h, struct qi_keep *k);
/* Forget the items and the paths, to look again (the directory chosen
 * stays); free everything. */
void qi_keep_reset(struct qi_keep *k);
void qi_keep_free(struct qi_keep *k);
/* The same object (type, content, link target): only owner and mode may
 * differ (act.c). */
bool qi_journal_same_object(const struct qi_image *want, const struct qi_image *live);

/* ------------------------------------------------------------------ */
/* The store of before-images (store.c)                                 */
/* ------------------------------------------------------------------ */

/* Copy what FD holds into STOREFD/<sha256>, unless already there. The new
 * file is written to a temporary name and renamed; with SYNC it is fsynced
 * first (the caller fsyncs the store directory before relying on it).
 * *added is true when a new file was made. */
int qi_store_put_fd(qi_handle *h, int storefd, int fd, const char *expect_hash,
		    bool sync, bool *added);
/* Open the stored content of HASH for reading, checking nothing of its
 * content; never blocks and never follows a symlink. -1 with errno set:
 * ENOENT when it is missing, ELOOP or EMEDIUMTYPE when something other
 * than a regular file stands under that name. */
int qi_store_open(int storefd, const char *hash);
/* What the store holds under HASH (STOREFD -1: no store, so missing). */
enum qi_store_state {
	QI_STORE_SOUND = 1,		/* a regular file with exactly that content */
	QI_STORE_MISSING = 0,
	QI_STORE_DAMAGED = -2,		/* a regular file whose content is not that */
	QI_STORE_NOT_FILE = -3,		/* a symlink, directory, FIFO... in its place */
	QI_STORE_UNREADABLE = -4,	/* cannot be read (permissions, I/O error) */
};
/* FOUND (may be NULL) gets the sha256 of a damaged entry's content. */
int qi_store_check(int storefd, const char *hash, char found[QI_SHA256_HEX + 1]);
/* A state as one word ("missing", "damaged", ...) for JSON, and as the
 * rest of a sentence about a before-image ("is missing from the
 * journal's store") for messages. */
const char *qi_store_state_name(int state);
const char *qi_store_state_text(int state);
/* Open the store directory of the state directory STATEFD, never making
 * it and never following a symlink: its fd, or -1 with *PROBLEM saying
 * what is wrong with it ("is missing", "is a symlink ...", ...). */
int qi_store_open_dir(int statefd, const char **problem);
/* Rename the (damaged) entry HASH to .damaged.HASH in the store, its bytes
 * kept, so that a later run that needs that content saves a sound copy;
 * 0 (also when there is nothing under that name), or -1 with errno set. */
int qi_store_set_aside(int storefd, const char *hash);

/* ------------------------------------------------------------------ */
/* The apply list (applyfile.c)                                         */
/* ------------------------------------------------------------------ */

enum qi_apply_op {
	QI_AOP_MKDIR, QI_AOP_FILE, QI_AOP_SYMLINK, QI_AOP_FIFO,
	QI_AOP_CHMOD, QI_AOP_CHOWN, QI_AOP_REMOVE, QI_AOP_RENAME,
};

struct qi_apply_line {
	enum qi_apply_op op;
	unsigned lineno;
	char *path;		/* PATH, or FROM for rename */
	char *arg;		/* SOURCE (file), TARGET (symlink), TO (rename) */
	mode_t mode;		/* mkdir, file, fifo, chmod */
	char *owner, *group;	/* mkdir, file, fifo, chown (names or numbers) */
};

struct qi_apply_list {
	struct qi_apply_line *lines;
	size_t n;
};

/* Parse the text of an apply list. FILENAME is used in messages
 * ("FILE:LINE: ..."). Nothing is looked up: owners stay names. */
int qi_apply_parse(qi_handle *h, const char *filename, const char *text, size_t len,
		   struct qi_apply_list *list);
void qi_apply_free(struct qi_apply_list *list);
const char *qi_apply_op_name(enum qi_apply_op op);

/* ------------------------------------------------------------------ */
/* Before a rollback: the before-images it needs (rollback.c)           */
/* ------------------------------------------------------------------ */

/* One before-image that undoing a change would read from the store and
 * that the store cannot give. */
struct qi_undo_damage {
	char *path;			/* inside ROOT */
	char hash[QI_SHA256_HEX + 1];	/* the content the path must get back */
	char found[QI_SHA256_HEX + 1];	/* a damaged entry's own sha256, or "" */
	int64_t change, run;
	int state;			/* qi_store_check's answer, never QI_STORE_SOUND */
};

/* Check, before anything is undone, every before-image that rolling back
 * FROM_RUN and every later run (ONLY_THIS: only FROM_RUN) will read from
 * the store, following the undo newest first: a path that will already
 * hold the content at its undo (by hand, or given back by a later
 * change's undo) needs nothing from the store. Opens what it needs of the
 * journal, read-only, when it is not open yet. *DAMAGE (malloc'd, *N
 * entries, in the order the undo would need them) gets each one missing
 * or damaged; 0, or -1 when the journal cannot be read. */
int qi_journal_check_undo(qi_handle *h, int64_t from_run, bool only_this,
			  struct qi_undo_damage **damage, size_t *n);
void qi_undo_damage_free(struct qi_undo_damage *damage, size_t n);
#endif
