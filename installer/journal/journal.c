/*
 * journal.c - runs, the write-ahead journal of changes inside ROOT, and
 * rollback, status and verify.
 *
 * State: ROOT/var/lib/qinstall/ holds state.db (SQLite, WAL,
 * synchronous=FULL), store/ (before-images by SHA-256, see store.c) and
 * lock (an OFD lock; the file holds the pid of the run).
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
 * passwd and group) registers a guard; a rollback that touches its paths
 * begins it before the first undo (a refusal stops the rollback with
 * nothing undone) and ends it after the last undo is recorded.
 *
 * --check: nothing is written, not even the state. Planned changes are
 * kept in an overlay so that later operations see earlier ones.
 *
 * Not part of any run, so never rolled back: the state directory itself,
 * and ROOT/var and ROOT/var/lib when they had to be made for it (0755,
 * owned by the user running qinstall). A run that changed nothing leaves
 * no row. Timestamps, hard links and extended attributes are not recorded.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journal/journal.h"

#define STATE_DIR "/var/lib/qinstall"
#define SCHEMA_VERSION 1
#define BATCH_MAX_OPS 2048
#define BATCH_MAX_BYTES (64u << 20)
#define TMP_PREFIX ".qinstall-tmp."
/* A rollback records its progress (after a syncfs) every so many undone
 * changes. Undo is idempotent, so this only spares a resumed rollback some
 * work; each mark costs a sync of the file system. */
#define UNDO_MARK_EVERY 50000

enum op {
	OP_FILE, OP_MKDIR, OP_SYMLINK, OP_FIFO, OP_CHMOD, OP_CHOWN, OP_REMOVE, OP_RENAME,
	OP_EXTERNAL,
};
static const char *const op_names[] = {
	"file", "mkdir", "symlink", "fifo", "chmod", "chown", "remove", "rename", "external",
};

/* One planned change waiting to be made. */
struct qop {
	enum op op;
	char *path, *path2;		/* path2: rename's TO */
	struct qi_image before, before2, after;
	void *data;			/* file content (copied), or NULL */
	size_t len;
	char *src;			/* or: a host file to copy */
	int64_t id;			/* its row, once the intent is committed */
};

/* The --check / batch overlay: path -> planned image. */
struct ov_entry {
	char *path;
	struct qi_image img;
	struct ov_entry *next;
};
#define OV_BUCKETS 4096

struct qi_journal {
	sqlite3 *db;
	bool readonly;
	int statefd, storefd, lockfd;
	int64_t run;
	bool in_run;
	bool batch;
	struct qop *queue;
	size_t nqueue, capqueue, queue_bytes;
	struct ov_entry *ov[OV_BUCKETS];
	size_t nov;
	/* one descriptor per file system touched, for syncfs */
	struct { dev_t dev; int fd; } devs[16];
	int ndevs;
	bool dev_overflow;
	int64_t nchanges;
};

/* ------------------------------------------------------------------ */
/* Undo handlers of external operations                                 */
/* ------------------------------------------------------------------ */

static struct { char *kind; qi_undo_fn fn; } undo_handlers[32];
static int nundo_handlers;

int qi_register_undo(const char *kind, qi_undo_fn fn)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (strcmp(undo_handlers[i].kind, kind) == 0) {
			undo_handlers[i].fn = fn;
			return 0;
		}
	if (nundo_handlers == (int)(sizeof(undo_handlers) / sizeof(undo_handlers[0])))
		return -1;
	undo_handlers[nundo_handlers].kind = qi_xstrdup(kind);
	undo_handlers[nundo_handlers].fn = fn;
	nundo_handlers++;
	return 0;
}

static qi_undo_fn find_undo(const char *kind)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (strcmp(undo_handlers[i].kind, kind) == 0)
			return undo_handlers[i].fn;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Guards of shared files                                               */
/* ------------------------------------------------------------------ */

#define MAX_GUARDS 8
static struct qi_guard {
	char *name;
	const char *const *paths;	/* NULL-terminated, the registrant's */
	qi_guard_begin_fn begin;
	qi_guard_end_fn end;
} guards[MAX_GUARDS];
static int nguards;

int qi_register_guard(const char *name, const char *const *paths,
		      qi_guard_begin_fn begin, qi_guard_end_fn end)
{
	for (int i = 0; i < nguards; i++)
		if (strcmp(guards[i].name, name) == 0) {
			guards[i].paths = paths;
			guards[i].begin = begin;
			guards[i].end = end;
			return 0;
		}
	if (nguards == MAX_GUARDS)
		return -1;
	guards[nguards] = (struct qi_guard){ qi_xstrdup(name), paths, begin, end };
	nguards++;
	return 0;
}

/* The guards begun for one rollback, to end them in reverse. */
struct guard_hold {
	int n;
	int which[MAX_GUARDS];
	void *state[MAX_GUARDS];
};

static bool path_in(const char *path, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], path) == 0)
			return true;
	return false;
}

static void end_guards(qi_handle *h, struct guard_hold *held)
{
	while (held->n > 0) {
		held->n--;
		guards[held->which[held->n]].end(h, held->state[held->n]);
	}
}

/* ------------------------------------------------------------------ */
/* The overlay                                                          */
/* ------------------------------------------------------------------ */

static unsigned ov_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % OV_BUCKETS;
}

static struct ov_entry *ov_get(struct qi_journal *j, const char *path)
{
	if (!j->nov)
		return NULL;
	for (struct ov_entry *e = j->ov[ov_hash(path)]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void ov_set(struct qi_journal *j, const char *path, const struct qi_image *img)
{
	struct ov_entry *e = ov_get(j, path);
	if (!e) {
		unsigned b = ov_hash(path);
		e = calloc(1, sizeof(*e));
		if (!e)
			abort();
		e->path = qi_xstrdup(path);
		e->next = j->ov[b];
		j->ov[b] = e;
		j->nov++;
	}
	qi_image_copy(&e->img, img);
}

static void ov_clear(struct qi_journal *j)
{
	for (int i = 0; i < OV_BUCKETS; i++) {
		struct ov_entry *e = j->ov[i];
		while (e) {
			struct ov_entry *n = e->next;
			free(e->path);
			qi_image_clear(&e->img);
			free(e);
			e = n;
		}
		j->ov[i] = NULL;
	}
	j->nov = 0;
}

/* What PATH is, counting the changes planned but not made yet. */
static int effective_image(qi_handle *h, const char *path, bool want_hash, struct qi_image *img)
{
	struct qi_journal *j = h->journal;
	if (j && j->nov) {
		struct ov_entry *e = ov_get(j, path);
		if (e) {
			memset(img, 0, sizeof(*img));
			qi_image_copy(img, &e->img);
			return 0;
		}
		char buf[PATH_MAX];
		snprintf(buf, sizeof(buf), "%s", path);
		for (char *s = strrchr(buf, '/'); s && s > buf; s = strrchr(buf, '/')) {
			*s = '\0';
			e = ov_get(j, buf);
			if (e && e->img.type != QI_FT_DIR) {
				memset(img, 0, sizeof(*img));
				return 0;
			}
		}
	}
	return qi_image_path(h, path, want_hash, img);
}

/* ------------------------------------------------------------------ */
/* The journal's state                                                  */
/* ------------------------------------------------------------------ */

static void queue_free_op(struct qop *q)
{
	free(q->path);
	free(q->path2);
	free(q->data);
	free(q->src);
	qi_image_clear(&q->before);
	qi_image_clear(&q->before2);
	qi_image_clear(&q->after);
}

static void journal_close(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j)
		return;
	for (size_t i = 0; i < j->nqueue; i++)
		queue_free_op(&j->queue[i]);
	free(j->queue);
	ov_clear(j);
	for (int i = 0; i < j->ndevs; i++)
		close(j->devs[i].fd);
	if (j->db)
		sqlite3_close(j->db);
	if (j->storefd >= 0)
		close(j->storefd);
	if (j->statefd >= 0)
		close(j->statefd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	free(j);
	h->journal = NULL;
}

static struct qi_journal *journal_get(qi_handle *h)
{
	if (!h->journal) {
		struct qi_journal *j = calloc(1, sizeof(*j));
		if (!j)
			abort();
		j->statefd = j->storefd = j->lockfd = -1;
		h->journal = j;
		h->journal_free = journal_close;
	}
	return h->journal;
}

static char *state_path(qi_handle *h, const char *name)
{
	char *p = qi_xasprintf("%s/%s", STATE_DIR, name);
	char *full = qi_root_path(h, p);
	free(p);
	return full;
}

/* Open (and with CREATE make) ROOT/var/lib/qinstall, component by
 * component, every step resolved inside ROOT. */
static int open_state_dir(qi_handle *h, bool create)
{
	static const char *const steps[] = { "/var", "/var/lib", "/var/lib/qinstall" };
	struct qi_journal *j = journal_get(h);
	if (j->statefd >= 0)
		return 0;
	int fd = -1;
	for (size_t i = 0; i < 3; i++) {
		if (fd >= 0)
			close(fd);
		fd = qi_root_open(h, steps[i], O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0)
			continue;
		if (errno != ENOENT || !create)
			return -1;
		qi_clear_error(h);
		const char *name;
		int dfd = qi_root_parent(h, steps[i], &name);
		if (dfd < 0 || (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)) {
			int e = errno;
			if (dfd >= 0)
				close(dfd);
			char *full = qi_root_path(h, steps[i]);
			errno = e;
			qi_error_errno(h, "cannot create the journal's directory %s", full);
			free(full);
			return -1;
		}
		fsync(dfd);
		close(dfd);
		fd = qi_root_open(h, steps[i], O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return -1;
	}
	j->statefd = fd;
	return 0;
}

/* What to do about an SQLite error, for the message. */
static const char *db_hint(int code)
{
	switch (code) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return " (the journal is damaged: run `qinstall verify`, and restore state.db from a backup)";
	case SQLITE_FULL:
		return " (free some space and run the command again)";
	case SQLITE_READONLY:
		return " (the root is read-only: remount it read-write)";
	default:
		return "";
	}
}

static int db_exec(qi_handle *h, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(h->journal->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		char *full = state_path(h, "state.db");
		qi_error(h, "journal %s: %s%s", full, err ? err : sqlite3_errmsg(h->journal->db),
			 db_hint(sqlite3_errcode(h->journal->db)));
		free(full);
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int db_fail(qi_handle *h, const char *what)
{
	char *full = state_path(h, "state.db");
	qi_error(h, "journal %s: %s: %s%s", full, what, sqlite3_errmsg(h->journal->db),
		 db_hint(sqlite3_errcode(h->journal->db)));
	free(full);
	return -1;
}

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS runs("
	" id INTEGER PRIMARY KEY, command TEXT NOT NULL, pid INTEGER,"
	" started INTEGER NOT NULL, finished INTEGER,"
	" state TEXT NOT NULL);" /* running, done, rolling-back, rolled-back */
	"CREATE TABLE IF NOT EXISTS changes("
	" id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id),"
	" op TEXT NOT NULL, path TEXT, path2 TEXT,"
	" state TEXT NOT NULL," /* intent, done, undone */
	" b_type TEXT, b_mode INTEGER, b_uid INTEGER, b_gid INTEGER, b_size INTEGER, b_hash TEXT, b_target TEXT,"
	" c_type TEXT, c_mode INTEGER, c_uid INTEGER, c_gid INTEGER, c_size INTEGER, c_hash TEXT, c_target TEXT,"
	" a_type TEXT, a_mode INTEGER, a_uid INTEGER, a_gid INTEGER, a_size INTEGER, a_hash TEXT, a_target TEXT,"
	" kind TEXT, description TEXT, undo_data TEXT);"
	"CREATE INDEX IF NOT EXISTS changes_run ON changes(run, id);";

/* Open state.db. WRITE: for a run or a rollback (creates it). */
static int open_db(qi_handle *h, bool write)
{
	struct qi_journal *j = journal_get(h);
	if (j->db)
		return 0;
	char path[96];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/state.db", j->statefd);
	bool exists = faccessat(j->statefd, "state.db", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && write) {
		/* A store with before-images but no state.db: the journal was
		 * lost, and a fresh one would forget how to undo them. */
		int sfd = openat(j->statefd, "store", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd >= 0) {
			DIR *d = fdopendir(sfd);
			bool any = false;
			struct dirent *de;
			while (d && (de = readdir(d)))
				if (de->d_name[0] != '.')
					any = true;
			if (d)
				closedir(d);
			else
				close(sfd);
			if (any) {
				char *full = state_path(h, "state.db");
				qi_error(h, "the journal %s is missing but its store still holds before-images: "
					 "earlier runs could no longer be rolled back. Restore state.db from a "
					 "backup; or, to give up those runs and start a fresh journal, move %s away",
					 full, STATE_DIR);
				free(full);
				return -1;
			}
		}
	}
	if (!exists && !write) {
		errno = ENOENT;
		return 1;
	}
	int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	struct statvfs vfs;
	if (!write && fstatvfs(j->statefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		/* nobody can change a database on a read-only file system, and
		 * SQLite could not make its shared-memory file there */
		snprintf(path, sizeof(path), "file:/proc/self/fd/%d/state.db?immutable=1", j->statefd);
		flags |= SQLITE_OPEN_URI;
	}
	if (sqlite3_open_v2(path, &j->db, flags, NULL) != SQLITE_OK) {
		db_fail(h, "cannot open");
		sqlite3_close(j->db);
		j->db = NULL;
		return -1;
	}
	j->readonly = !write;
	sqlite3_busy_timeout(j->db, 10000);
	sqlite3_extended_result_codes(j->db, 0);
	if (write) {
		if (db_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") < 0)
			goto fail;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		db_fail(h, "cannot read");
		goto fail;
	}
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0) {
		db_fail(h, "cannot read");
		goto fail;
	}
	if (version > SCHEMA_VERSION) {
		char *full = state_path(h, "state.db");
		qi_error(h, "journal %s has schema version %d, newer than this qinstall understands (%d): "
			 "use the qinstall that wrote it", full, version, SCHEMA_VERSION);
		free(full);
		goto fail;
	}
	if (version == 0) {
		if (!write) {
			errno = ENOENT;
			sqlite3_close(j->db);
			j->db = NULL;
			return 1;
		}
		char sql[sizeof(schema_sql) + 64];
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; %s PRAGMA user_version=%d; COMMIT;",
			 schema_sql, SCHEMA_VERSION);
		if (db_exec(h, sql) < 0) {
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		fsync(j->statefd);
	}
	return 0;
fail:
	sqlite3_close(j->db);
	j->db = NULL;
	return -1;
}

/* The lock: an OFD lock on ROOT/var/lib/qinstall/lock, which holds the pid
 * of its holder for the message of the one refused. */
static int take_lock(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j->lockfd >= 0)
		return 0;
	int fd = openat(j->statefd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		char *full = state_path(h, "lock");
		qi_error_errno(h, "cannot open the lock %s", full);
		free(full);
		return -1;
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		if (e == EAGAIN || e == EACCES)
			return qi_error_kind(h, QI_ERR_LOCKED,
					     "%s is in use by another qinstall run (pid %s); wait for it to finish",
					     h->root, buf[0] ? buf : "unknown");
		errno = e;
		return qi_error_errno(h, "cannot lock %s", h->root);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		char *full = state_path(h, "lock");
		qi_error_errno(h, "cannot write the lock %s", full);
		free(full);
		close(fd);
		return -1;
	}
	j->lockfd = fd;
	return 0;
}

static void release_lock(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j && j->lockfd >= 0) {
		close(j->lockfd);
		j->lockfd = -1;
	}
}

static int open_store(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j->storefd >= 0)
		return 0;
	if (mkdirat(j->statefd, "store", 0700) == 0)
		fsync(j->statefd);
	else if (errno != EEXIST)
		goto fail;
	j->storefd = openat(j->statefd, "store", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->storefd >= 0)
		return 0;
fail:;
	char *full = state_path(h, "store");
	qi_error_errno(h, "cannot open the journal's store %s", full);
	free(full);
	return -1;
}

/* Refuse when a run or a rollback was left unfinished. */
static int check_unfinished(qi_handle *h)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT id, command, state FROM runs WHERE state IN ('running','rolling-back')"
			       " ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot read the runs");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		char *cmd = qi_xstrdup((const char *)sqlite3_column_text(st, 1));
		bool rb = strcmp((const char *)sqlite3_column_text(st, 2), "rolling-back") == 0;
		sqlite3_finalize(st);
		qi_error_kind(h, QI_ERR_UNFINISHED,
			      rb ? "the rollback of run %lld (%s) was interrupted; finish it first: qinstall --root %s rollback"
				 : "run %lld (%s) did not finish (qinstall was interrupted); roll it back first: qinstall --root %s rollback",
			      (long long)id, cmd, h->root);
		free(cmd);
		return -1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(h, "cannot read the runs");
	return 0;
}

/* Everything a writer needs: state dir, lock, db, store. */
static int open_for_writing(qi_handle *h)
{
	if (open_state_dir(h, true) < 0)
		return qi_error_prefix(h, "cannot start a run in %s", h->root);
	if (take_lock(h) < 0)
		return -1;
	if (open_db(h, true) < 0 || open_store(h) < 0) {
		release_lock(h);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Syncing                                                              */
/* ------------------------------------------------------------------ */

/* Remember the file system of DIRFD, to syncfs it before marking done. */
static void note_dev(struct qi_journal *j, int dirfd)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return;
	for (int i = 0; i < j->ndevs; i++)
		if (j->devs[i].dev == st.st_dev)
			return;
	if (j->ndevs == (int)(sizeof(j->devs) / sizeof(j->devs[0]))) {
		j->dev_overflow = true;
		return;
	}
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	j->devs[j->ndevs].dev = st.st_dev;
	j->devs[j->ndevs].fd = fd;
	j->ndevs++;
}

static int sync_devs(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j->dev_overflow)
		sync();
	for (int i = 0; i < j->ndevs; i++)
		if (syncfs(j->devs[i].fd) < 0)
			return qi_error_errno(h, "cannot sync the file system of %s", h->root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Making a path look like an image                                     */
/* ------------------------------------------------------------------ */

static int copy_fd(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (qi_write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
}

static void tmp_name(char *buf, size_t size, int64_t id)
{
	snprintf(buf, size, TMP_PREFIX "%lld", (long long)id);
}

static int remove_at(qi_handle *h, int dfd, const char *name, const struct qi_image *live,
		     const char *path)
{
	if (live->type == QI_FT_ABSENT)
		return 0;
	if (unlinkat(dfd, name, live->type == QI_FT_DIR ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT)
		return 0;
	char *full = qi_root_path(h, path);
	if (errno == ENOTEMPTY || errno == EEXIST)
		qi_error(h, "cannot remove the directory %s: it is not empty (files were put in it "
			 "outside this journal: move them away and run the command again)", full);
	else
		qi_error_errno(h, "cannot remove %s", full);
	free(full);
	return -1;
}

/* Make NAME in DFD what WANT says; LIVE is what is there now. Content of a
 * regular file comes from DATA/LEN or from SRCFD. ID names the temporary. */
static int make_image(qi_handle *h, int dfd, const char *name, const char *path,
		      const struct qi_image *want, const struct qi_image *live,
		      const void *data, size_t len, int srcfd, int64_t id)
{
	char *full = NULL;
	if (want->type == QI_FT_ABSENT)
		return remove_at(h, dfd, name, live, path);

	bool same_object = want->type == live->type &&
		(want->type != QI_FT_REG || strcmp(want->hash, live->hash) == 0) &&
		(want->type != QI_FT_LNK || strcmp(want->target ? want->target : "",
						    live->target ? live->target : "") == 0);
	if (same_object) {
		bool chowned = false;
		if (want->uid != live->uid || want->gid != live->gid) {
			if (fchownat(dfd, name, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0)
				goto fail_errno;
			chowned = true;
		}
		if (want->type != QI_FT_LNK && (want->mode != live->mode || chowned) &&
		    fchmodat(dfd, name, want->mode, 0) < 0)
			goto fail_errno;
		return 0;
	}

	if (live->type == QI_FT_DIR || (want->type == QI_FT_DIR && live->type != QI_FT_ABSENT))
		if (remove_at(h, dfd, name, live, path) < 0)
			return -1;
	char tmp[64];
	tmp_name(tmp, sizeof(tmp), id);
	if (unlinkat(dfd, tmp, 0) < 0 && errno == EISDIR)
		unlinkat(dfd, tmp, AT_REMOVEDIR);
	switch (want->type) {
	case QI_FT_REG: {
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			goto fail_errno;
		int rc = data ? qi_write_all(fd, data, len) : copy_fd(srcfd, fd);
		if (rc == 0)
			rc = fchown(fd, want->uid, want->gid);
		if (rc == 0)
			rc = fchmod(fd, want->mode);
		int e = errno;
		if (close(fd) < 0 && rc == 0) {
			rc = -1;
			e = errno;
		}
		if (rc < 0) {
			unlinkat(dfd, tmp, 0);
			errno = e;
			goto fail_errno;
		}
		break;
	}
	case QI_FT_DIR:
		if (mkdirat(dfd, tmp, 0700) < 0)
			goto fail_errno;
		if (fchownat(dfd, tmp, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dfd, tmp, want->mode, 0) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, AT_REMOVEDIR);
			errno = e;
			goto fail_errno;
		}
		break;
	case QI_FT_LNK:
		if (symlinkat(want->target, dfd, tmp) < 0)
			goto fail_errno;
		if (fchownat(dfd, tmp, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, 0);
			errno = e;
			goto fail_errno;
		}
		break;
	case QI_FT_FIFO:
		if (mknodat(dfd, tmp, S_IFIFO | 0600, 0) < 0)
			goto fail_errno;
		if (fchownat(dfd, tmp, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(dfd, tmp, want->mode, 0) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, 0);
			errno = e;
			goto fail_errno;
		}
		break;
	default:
		full = qi_root_path(h, path);
		qi_error(h, "cannot make %s: qinstall does not make %s files", full, qi_ftype_name(want->type));
		free(full);
		return -1;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, want->type == QI_FT_DIR ? AT_REMOVEDIR : 0);
		errno = e;
		goto fail_errno;
	}
	return 0;
fail_errno:;
	int e = errno;
	full = qi_root_path(h, path);
	errno = e;
	qi_error_errno(h, "cannot make %s %s", want->type == QI_FT_ABSENT ? "absent" :
		       qi_ftype_name(want->type), full);
	free(full);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */
/* ------------------------------------------------------------------ */

static void bind_image(sqlite3_stmt *st, int col, const struct qi_image *img, bool present)
{
	if (!present) {
		for (int i = 0; i < 7; i++)
			sqlite3_bind_null(st, col + i);
		return;
	}
	sqlite3_bind_text(st, col, qi_ftype_name(img->type), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, col + 1, img->mode);
	sqlite3_bind_int64(st, col + 2, img->uid);
	sqlite3_bind_int64(st, col + 3, img->gid);
	sqlite3_bind_int64(st, col + 4, img->size);
	if (img->type == QI_FT_REG)
		sqlite3_bind_text(st, col + 5, img->hash, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col + 5);
	if (img->target)
		sqlite3_bind_text(st, col + 6, img->target, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col + 6);
}

static bool column_image(sqlite3_stmt *st, int col, struct qi_image *img)
{
	memset(img, 0, sizeof(*img));
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return false;
	img->type = qi_ftype_parse((const char *)sqlite3_column_text(st, col));
	img->mode = (mode_t)sqlite3_column_int64(st, col + 1);
	img->uid = (uid_t)sqlite3_column_int64(st, col + 2);
	img->gid = (gid_t)sqlite3_column_int64(st, col + 3);
	img->size = sqlite3_column_int64(st, col + 4);
	const char *hash = (const char *)sqlite3_column_text(st, col + 5);
	if (hash)
		snprintf(img->hash, sizeof(img->hash), "%s", hash);
	const char *t = (const char *)sqlite3_column_text(st, col + 6);
	if (t)
		img->target = qi_xstrdup(t);
	return true;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                 */
/* ------------------------------------------------------------------ */

int64_t qi_run_id(const qi_handle *h)
{
	return h->journal ? h->journal->run : 0;
}

int qi_run_begin(qi_handle *h, const char *command)
{
	struct qi_journal *j = journal_get(h);
	if (j->in_run)
		return qi_error(h, "a run is already in progress on this handle (this is a bug)");
	json_object_set_new(h->result, "changes", json_array());
	if (h->check) {
		j->in_run = true;
		return 0;
	}
	if (open_for_writing(h) < 0)
		return -1;
	if (check_unfinished(h) < 0) {
		release_lock(h);
		return -1;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "INSERT INTO runs(command, pid, started, state) VALUES(?,?,?,'running')",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(h, "cannot record the run");
		release_lock(h);
		return -1;
	}
	sqlite3_bind_text(st, 1, command ? command : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, getpid());
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(h, "cannot record the run");
		release_lock(h);
		return -1;
	}
	j->run = sqlite3_last_insert_rowid(j->db);
	j->in_run = true;
	j->nchanges = 0;
	note_dev(j, j->statefd);
	qi_debug(h, "run %lld begins: %s", (long long)j->run, command);
	return 0;
}

static int flush_queue(qi_handle *h);

static int finish_run(qi_handle *h, const char *state)
{
	struct qi_journal *j = h->journal;
	if (sync_devs(h) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "UPDATE changes SET state='done' WHERE run=?1 AND state='intent';"
			       , -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot finish the run");
	if (db_exec(h, "BEGIN IMMEDIATE") < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, j->run);
	int rc = strcmp(state, "done") == 0 ? sqlite3_step(st) : SQLITE_DONE;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return db_fail(h, "cannot finish the run");
	}
	if (sqlite3_prepare_v2(j->db, "UPDATE runs SET state=?1, finished=?2 WHERE id=?3", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return db_fail(h, "cannot finish the run");
	}
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 3, j->run);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(h, "cannot finish the run");
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int qi_run_commit(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j || !j->in_run)
		return qi_error(h, "no run to commit (this is a bug)");
	if (h->check) {
		j->in_run = false;
		ov_clear(j);
		return 0;
	}
	j->batch = false;
	if (flush_queue(h) < 0)
		return qi_run_abort(h);	/* half-made: undo it all */
	if (j->nchanges == 0) {
		/* a run that changed nothing leaves no trace */
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id=%lld", (long long)j->run);
		if (db_exec(h, sql) < 0)
			return -1;
		j->run = 0;
		j->in_run = false;
		release_lock(h);
		return 0;
	}
	if (finish_run(h, "done") < 0) {
		/* every change is made and synced, but the run stays unfinished */
		j->in_run = false;
		release_lock(h);
		return qi_error_prefix(h, "run %lld made its changes but could not be recorded as finished, "
				       "so it counts as unfinished: roll it back with `qinstall --root %s rollback`, "
				       "then run the command again", (long long)j->run, h->root);
	}
	qi_debug(h, "run %lld done: %lld changes", (long long)j->run, (long long)j->nchanges);
	j->in_run = false;
	release_lock(h);
	return 0;
}

static int undo_runs(qi_handle *h, int64_t from_run, bool only_this);

int qi_run_abort(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j || !j->in_run)
		return -1;
	char msg[sizeof(h->errmsg)];
	enum qi_errkind kind = h->errkind;
	memcpy(msg, h->errmsg, sizeof(msg));
	j->in_run = false;
	j->batch = false;
	for (size_t i = 0; i < j->nqueue; i++)
		queue_free_op(&j->queue[i]);
	j->nqueue = j->queue_bytes = 0;
	ov_clear(j);
	if (h->check)
		return -1;
	qi_clear_error(h);
	int rc = undo_runs(h, j->run, true);
	if (rc < 0) {
		char undo_err[sizeof(h->errmsg)];
		memcpy(undo_err, h->errmsg, sizeof(undo_err));
		snprintf(h->errmsg, sizeof(h->errmsg), "%.2000s (and undoing run %lld failed: %.1500s; "
			 "run `qinstall --root %.200s rollback`)", msg, (long long)j->run, undo_err, h->root);
	} else {
		memcpy(h->errmsg, msg, sizeof(msg));
		qi_info(h, "run %lld was undone", (long long)j->run);
	}
	h->errkind = kind == QI_ERR_NONE ? QI_ERR_FAILED : kind;
	release_lock(h);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Planning a change                                                    */
/* ------------------------------------------------------------------ */

static void report_change(qi_handle *h, const struct qop *q)
{
	json_t *c = json_object();
	json_object_set_new(c, "op", json_string(op_names[q->op]));
	json_object_set_new(c, "path", json_string(q->path));
	if (q->op == OP_RENAME)
		json_object_set_new(c, "to", json_string(q->path2));
	if (q->op == OP_SYMLINK)
		json_object_set_new(c, "target", json_string(q->after.target));
	if (q->op != OP_REMOVE && q->op != OP_RENAME && q->op != OP_SYMLINK) {
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)q->after.mode);
		json_object_set_new(c, "mode", json_string(mode));
		json_object_set_new(c, "uid", json_integer(q->after.uid));
		json_object_set_new(c, "gid", json_integer(q->after.gid));
	}
	json_object_set_new(c, "before", json_string(qi_ftype_name(q->before.type)));
	json_t *arr = json_object_get(h->result, "changes");
	if (!arr) {
		arr = json_array();
		json_object_set_new(h->result, "changes", arr);
	}
	json_array_append_new(arr, c);
	qi_set_changed(h);
	h->journal->nchanges++;
	if (q->op == OP_RENAME)
		qi_debug(h, "rename %s -> %s", q->path, q->path2);
	else
		qi_debug(h, "%s %s", op_names[q->op], q->path);
}

/* --diff text of an image: a description line, then a text file's content. */
static char *diff_text(qi_handle *h, const char *path, const struct qi_image *img,
		       const void *data, size_t len)
{
	if (img->type == QI_FT_ABSENT)
		return NULL;
	char *desc = qi_image_describe(img);
	if (img->type != QI_FT_REG)
		return desc;
	/* /etc/shadow and its kind: a diff is for reading, often in logs,
	 * so what others may not read on the system is not shown there. */
	if (!(img->mode & S_IROTH)) {
		char *out = qi_xasprintf("(%s; not readable by others: content not shown)\n", desc);
		free(desc);
		return out;
	}
	char *content = NULL;
	size_t clen = 0;
	if (data) {
		content = qi_xmalloc(len + 1);
		memcpy(content, data, len);
		content[len] = '\0';
		clen = len;
	} else if (path && img->size <= 65536) {
		int fd = path[0] == '/' ? qi_root_open(h, path, O_RDONLY | O_NOFOLLOW, 0) : -1;
		qi_clear_error(h);
		if (fd >= 0) {
			struct qi_buf b = { 0 };
			char buf[65536];
			ssize_t n;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				qi_buf_add(&b, buf, (size_t)n);
			close(fd);
			content = b.data;
			clen = b.len;
		}
	}
	char *out;
	if (content && clen <= 65536 && memchr(content, '\0', clen) == NULL)
		out = qi_xasprintf("(%s)\n%s", desc, content);
	else
		out = qi_xasprintf("(%s; binary or large content not shown)\n", desc);
	free(content);
	free(desc);
	return out;
}

static void add_diff(qi_handle *h, const struct qop *q)
{
	if (!h->diff)
		return;
	if (q->op == OP_RENAME) {
		char *b1 = diff_text(h, q->path, &q->before, NULL, 0);
		qi_diff_add(h, q->path, b1, NULL);
		char *b2 = diff_text(h, q->path2, &q->before2, NULL, 0);
		char *a2 = diff_text(h, q->path, &q->after, NULL, 0);
		qi_diff_add(h, q->path2, b2, a2);
		free(b1);
		free(b2);
		free(a2);
		return;
	}
	char *b = diff_text(h, q->path, &q->before, NULL, 0);
	char *a = diff_text(h, q->src ? NULL : q->path, &q->after, q->data, q->len);
	if (q->src && q->after.type == QI_FT_REG && q->after.size <= 65536) {
		/* the new content is in a host file */
		FILE *f = fopen(q->src, "rb");
		if (f) {
			char *buf = qi_xmalloc((size_t)q->after.size + 1);
			size_t n = fread(buf, 1, (size_t)q->after.size, f);
			fclose(f);
			free(a);
			a = diff_text(h, NULL, &q->after, buf, n);
			free(buf);
		}
	}
	qi_diff_add(h, q->path, b, a);
	free(b);
	free(a);
}

static int need_run(qi_handle *h)
{
	if (!h->journal || !h->journal->in_run)
		return qi_error(h, "no run: changes inside the root must be made between "
			       "qi_run_begin and qi_run_commit (this is a bug)");
	return 0;
}

/* Is PATH a symlink that leads (inside ROOT) to a directory? */
static bool link_to_dir(qi_handle *h, const char *path)
{
	char saved[sizeof(h->errmsg)];
	enum qi_errkind kind = h->errkind;
	memcpy(saved, h->errmsg, sizeof(saved));
	int fd = qi_root_open(h, path, O_PATH | O_DIRECTORY, 0);
	memcpy(h->errmsg, saved, sizeof(saved));
	h->errkind = kind;
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The directory that will hold PATH must exist (or be planned). */
static int check_parent(qi_handle *h, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == path)
		return 0;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	struct qi_image img;
	if (effective_image(h, parent, false, &img) < 0) {
		char *full = qi_root_path(h, parent);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		return -1;
	}
	enum qi_ftype t = img.type;
	qi_image_clear(&img);
	if (t == QI_FT_DIR)
		return 0;
	if (t == QI_FT_LNK && link_to_dir(h, parent))
		return 0;
	char *full = qi_root_path(h, parent);
	qi_error(h, "cannot make %s: %s %s", path, full,
		 t == QI_FT_ABSENT ? "does not exist (make the directory first)" : "is not a directory");
	free(full);
	return -1;
}

static int execute_one(qi_handle *h, struct qop *q);

/* A change is planned: report it, then make it now or queue it. Takes
 * ownership of Q's contents. */
static int submit(qi_handle *h, struct qop *q)
{
	struct qi_journal *j = h->journal;
	report_change(h, q);
	add_diff(h, q);
	if (h->check) {
		ov_set(j, q->path, q->op == OP_RENAME ? &(struct qi_image){ 0 } : &q->after);
		if (q->op == OP_RENAME)
			ov_set(j, q->path2, &q->after);
		queue_free_op(q);
		return 0;
	}
	if (j->nqueue == j->capqueue) {
		j->capqueue = j->capqueue ? 2 * j->capqueue : 64;
		j->queue = qi_xrealloc(j->queue, j->capqueue * sizeof(*j->queue));
	}
	j->queue[j->nqueue++] = *q;
	j->queue_bytes += q->len + (size_t)(q->src ? q->after.size : 0);
	if (j->batch && q->op != OP_RENAME && q->op != OP_REMOVE &&
	    j->nqueue < BATCH_MAX_OPS && j->queue_bytes < BATCH_MAX_BYTES) {
		ov_set(j, q->path, &q->after);
		return 0;
	}
	return flush_queue(h);
}

/* Before planning a change of PATH inside a batch: a path already queued
 * is made first, so that every queued change sees the live state. */
static int settle(qi_handle *h, const char *path)
{
	struct qi_journal *j = h->journal;
	if (!h->check && j->nqueue && ov_get(j, path))
		return flush_queue(h);
	return 0;
}

/* Common start of every change: a run, a clean path, the current image. */
static int plan_start(qi_handle *h, const char *path, char **clean, struct qi_image *before,
		      bool want_hash)
{
	*clean = NULL;
	memset(before, 0, sizeof(*before));
	if (need_run(h) < 0)
		return -1;
	*clean = qi_path_clean(h, path);
	if (!*clean)
		return -1;
	if (strcmp(*clean, "/") == 0) {
		free(*clean);
		*clean = NULL;
		return qi_error_kind(h, QI_ERR_USAGE, "qinstall does not change the root directory itself");
	}
	if (settle(h, *clean) < 0 || check_parent(h, *clean) < 0 ||
	    effective_image(h, *clean, want_hash, before) < 0) {
		if (!qi_errmsg(h)[0]) {
			char *full = qi_root_path(h, *clean);
			qi_error_errno(h, "cannot look at %s", full);
			free(full);
		}
		free(*clean);
		*clean = NULL;
		return -1;
	}
	return 0;
}

static uid_t owner_uid(uid_t u) { return u == (uid_t)-1 ? 0 : u; }
static gid_t owner_gid(gid_t g) { return g == (gid_t)-1 ? 0 : g; }

static int bad_mode(qi_handle *h, const char *path, mode_t mode)
{
	return qi_error_kind(h, QI_ERR_USAGE, "%s: mode %o is not a permission mode (0 to 07777)",
			     path, (unsigned)mode);
}

static int refuse(qi_handle *h, const char *clean, const char *what, const struct qi_image *before)
{
	char *full = qi_root_path(h, clean);
	qi_error(h, "cannot %s %s: it is a %s", what, full, qi_ftype_name(before->type));
	free(full);
	return -1;
}

/* Plan a new object at PATH (file, directory, symlink, fifo). */
static int plan_object(qi_handle *h, enum op op, const char *path, struct qi_image *after,
		       void *data, size_t len, const char *src)
{
	char *clean;
	struct qop q = { .op = op };
	if (plan_start(h, path, &clean, &q.before, op == OP_FILE) < 0) {
		free(data);
		qi_image_clear(after);
		return -1;
	}
	q.path = clean;
	q.after = *after;
	q.data = data;
	q.len = len;
	q.src = src ? qi_xstrdup(src) : NULL;
	if (op == OP_MKDIR && q.before.type == QI_FT_LNK && link_to_dir(h, clean)) {
		/* like dpkg: a symlink to a directory (/var/run -> /run) is kept */
		qi_debug(h, "mkdir %s: kept, a symlink to a directory", clean);
		queue_free_op(&q);
		return 0;
	}
	if (q.before.type == QI_FT_DIR && op != OP_MKDIR) {
		refuse(h, clean, "replace", &q.before);
		goto drop;
	}
	if (q.before.type == QI_FT_OTHER) {
		refuse(h, clean, "replace", &q.before);
		goto drop;
	}
	if (qi_image_equal(&q.before, &q.after)) {
		qi_debug(h, "%s %s: already so", op_names[op], clean);
		queue_free_op(&q);
		return 0;
	}
	return submit(h, &q);
drop:
	queue_free_op(&q);
	return -1;
}

int qi_write_file(qi_handle *h, const char *path, const void *data, size_t len,
		  mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_REG, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid), .size = (int64_t)len };
	qi_sha256_buf(data, len, after.hash);
	void *copy = qi_xmalloc(len);
	if (len)
		memcpy(copy, data, len);
	return plan_object(h, OP_FILE, path, &after, copy, len, NULL);
}

int qi_write_file_from(qi_handle *h, const char *path, const char *src_host_path,
		       mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_REG, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid) };
	int fd = open(src_host_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		qi_error_errno(h, "cannot read %s (the content for %s)", src_host_path, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return qi_error(h, "%s (the content for %s) is not a regular file", src_host_path, path);
	}
	if (qi_sha256_fd(fd, after.hash, &after.size) < 0) {
		qi_error_errno(h, "cannot read %s (the content for %s)", src_host_path, path);
		close(fd);
		return -1;
	}
	close(fd);
	return plan_object(h, OP_FILE, path, &after, NULL, 0, src_host_path);
}

int qi_mkdir(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_DIR, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid) };
	return plan_object(h, OP_MKDIR, path, &after, NULL, 0, NULL);
}

int qi_mkdir_p(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (need_run(h) < 0)
		return -1;
	char *clean = qi_path_clean(h, path);
	if (!clean)
		return -1;
	for (char *s = strchr(clean + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct qi_image img;
		int rc = effective_image(h, clean, false, &img);
		if (rc == 0 && img.type == QI_FT_ABSENT)
			rc = qi_mkdir(h, clean, mode, uid, gid);
		else if (rc == 0 && img.type != QI_FT_DIR &&
			 !(img.type == QI_FT_LNK && link_to_dir(h, clean)))
			rc = refuse(h, clean, "make a directory inside", &img);
		else if (rc < 0)
			qi_error_errno(h, "cannot look at %s", clean);
		qi_image_clear(&img);
		*s = '/';
		if (rc < 0) {
			free(clean);
			return -1;
		}
	}
	int rc = strcmp(clean, "/") == 0 ? 0 : qi_mkdir(h, clean, mode, uid, gid);
	free(clean);
	return rc;
}

int qi_symlink(qi_handle *h, const char *path, const char *target)
{
	if (!target || !*target || strlen(target) >= PATH_MAX)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: a symlink needs a target", path);
	struct qi_image after = { .type = QI_FT_LNK, .mode = 0777, .target = qi_xstrdup(target),
				  .size = (int64_t)strlen(target) };
	/* a new link belongs to whoever qinstall runs as: root, or the caller */
	after.uid = geteuid();
	after.gid = getegid();
	return plan_object(h, OP_SYMLINK, path, &after, NULL, 0, NULL);
}

int qi_mkfifo(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_FIFO, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid) };
	return plan_object(h, OP_FIFO, path, &after, NULL, 0, NULL);
}

/* chmod and chown: the same object with other metadata. */
static int plan_meta(qi_handle *h, enum op op, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char *clean;
	struct qop q = { .op = op };
	if (plan_start(h, path, &clean, &q.before, false) < 0)
		return -1;
	q.path = clean;
	if (q.before.type == QI_FT_ABSENT) {
		char *full = qi_root_path(h, clean);
		qi_error(h, "cannot %s %s: it does not exist", op_names[op], full);
		free(full);
		goto drop;
	}
	if (op == OP_CHMOD && q.before.type == QI_FT_LNK) {
		refuse(h, clean, "chmod", &q.before);
		goto drop;
	}
	if (q.before.type == QI_FT_OTHER) {
		refuse(h, clean, op_names[op], &q.before);
		goto drop;
	}
	qi_image_copy(&q.after, &q.before);
	if (op == OP_CHMOD) {
		q.after.mode = mode;
	} else {
		q.after.uid = uid == (uid_t)-1 ? q.before.uid : uid;
		q.after.gid = gid == (gid_t)-1 ? q.before.gid : gid;
	}
	if (q.after.mode == q.before.mode && q.after.uid == q.before.uid && q.after.gid == q.before.gid) {
		queue_free_op(&q);
		return 0;
	}
	/* the content stays: hash it for verify (the store needs nothing) */
	if (q.before.type == QI_FT_REG) {
		struct qi_image hashed;
		if (effective_image(h, clean, true, &hashed) == 0 && hashed.type == QI_FT_REG) {
			memcpy(q.before.hash, hashed.hash, sizeof(q.before.hash));
			memcpy(q.after.hash, hashed.hash, sizeof(q.after.hash));
			q.before.size = q.after.size = hashed.size;
		}
		qi_image_clear(&hashed);
	}
	return submit(h, &q);
drop:
	queue_free_op(&q);
	return -1;
}

int qi_chmod(qi_handle *h, const char *path, mode_t mode)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	return plan_meta(h, OP_CHMOD, path, mode, 0, 0);
}

int qi_chown(qi_handle *h, const char *path, uid_t uid, gid_t gid)
{
	return plan_meta(h, OP_CHOWN, path, 0, uid, gid);
}

/* Before a remove or a rename is planned, what is queued is made, so that
 * the plan sees the tree as it is (a directory about to get files is not
 * empty). */
static int flush_before(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	return h->check ? 0 : flush_queue(h);
}

int qi_remove(qi_handle *h, const char *path)
{
	char *clean;
	struct qop q = { .op = OP_REMOVE };
	if (flush_before(h) < 0)
		return -1;
	if (plan_start(h, path, &clean, &q.before, true) < 0)
		return -1;
	q.path = clean;
	if (q.before.type == QI_FT_ABSENT) {
		queue_free_op(&q);
		return 0;
	}
	if (q.before.type == QI_FT_OTHER) {
		refuse(h, clean, "remove", &q.before);
		goto drop;
	}
	if (q.before.type == QI_FT_DIR && !h->check) {
		/* only an empty directory; say so now rather than half-way */
		const char *name;
		int dfd = qi_root_parent(h, clean, &name);
		int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool empty = true;
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = false;
		if (d)
			closedir(d);
		else if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
		if (!empty) {
			char *full = qi_root_path(h, clean);
			qi_error(h, "cannot remove the directory %s: it is not empty (remove what is in it first)", full);
			free(full);
			goto drop;
		}
	}
	return submit(h, &q);
drop:
	queue_free_op(&q);
	return -1;
}

int qi_rename(qi_handle *h, const char *from, const char *to)
{
	char *clean;
	struct qop q = { .op = OP_RENAME };
	if (flush_before(h) < 0)
		return -1;
	if (plan_start(h, from, &clean, &q.before, true) < 0)
		return -1;
	q.path = clean;
	if (q.before.type == QI_FT_ABSENT) {
		char *full = qi_root_path(h, clean);
		qi_error(h, "cannot rename %s: it does not exist", full);
		free(full);
		goto drop;
	}
	if (plan_start(h, to, &q.path2, &q.before2, true) < 0)
		goto drop;
	if (strcmp(q.path, q.path2) == 0) {
		queue_free_op(&q);
		return 0;
	}
	size_t n = strlen(q.path);
	if (strncmp(q.path2, q.path, n) == 0 && q.path2[n] == '/') {
		qi_error(h, "cannot rename %s into itself (%s)", q.path, q.path2);
		goto drop;
	}
	if (q.before2.type == QI_FT_DIR || q.before2.type == QI_FT_OTHER) {
		refuse(h, q.path2, "rename over", &q.before2);
		goto drop;
	}
	qi_image_copy(&q.after, &q.before);
	return submit(h, &q);
drop:
	queue_free_op(&q);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Making queued changes                                                */
/* ------------------------------------------------------------------ */

/* Save a regular file's content into the store (the before-image). */
static int save_before(qi_handle *h, const char *path, const struct qi_image *img, bool sync,
		       bool *added)
{
	*added = false;
	if (img->type != QI_FT_REG)
		return 0;
	if (faccessat(h->journal->storefd, img->hash, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		char *full = qi_root_path(h, path);
		errno = e;
		qi_error_errno(h, "cannot save the before-image of %s", full);
		free(full);
		return -1;
	}
	close(dfd);
	int rc = qi_store_put_fd(h, h->journal->storefd, fd, img->hash, sync, added);
	close(fd);
	if (rc < 0) {
		char *full = qi_root_path(h, path);
		qi_error_prefix(h, "%s", full);
		free(full);
	}
	return rc;
}

static sqlite3_stmt *prepare_insert(qi_handle *h)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "INSERT INTO changes(run, op, path, path2, state,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target,"
			       " a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target,"
			       " kind, description, undo_data)"
			       " VALUES(?1,?2,?3,?4,'intent', ?5,?6,?7,?8,?9,?10,?11,"
			       " ?12,?13,?14,?15,?16,?17,?18, ?19,?20,?21,?22,?23,?24,?25, ?26,?27,?28)",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(h, "cannot record a change");
		return NULL;
	}
	return st;
}

/* Make one queued change whose intent is committed. */
static int execute_one(qi_handle *h, struct qop *q)
{
	struct qi_journal *j = h->journal;
	const char *name;
	int dfd = qi_root_parent(h, q->path, &name);
	if (dfd < 0) {
		char *full = qi_root_path(h, q->path);
		qi_error_errno(h, "cannot reach the directory of %s", full);
		free(full);
		return -1;
	}
	note_dev(j, dfd);
	int rc;
	struct qi_image live;
	if (qi_image_at(dfd, name, false, &live) < 0) {
		char *full = qi_root_path(h, q->path);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		close(dfd);
		return -1;
	}
	if (q->op == OP_RENAME) {
		const char *name2;
		int dfd2 = qi_root_parent(h, q->path2, &name2);
		if (dfd2 < 0 || renameat(dfd, name, dfd2, name2) < 0) {
			char *f1 = qi_root_path(h, q->path), *f2 = qi_root_path(h, q->path2);
			qi_error_errno(h, "cannot rename %s to %s", f1, f2);
			free(f1);
			free(f2);
			rc = -1;
		} else {
			note_dev(j, dfd2);
			rc = 0;
		}
		if (dfd2 >= 0)
			close(dfd2);
	} else {
		/* content already there: only the metadata changes */
		if (live.type == QI_FT_REG && q->after.type == QI_FT_REG && q->before.type == QI_FT_REG &&
		    strcmp(q->before.hash, q->after.hash) == 0)
			memcpy(live.hash, q->before.hash, sizeof(live.hash));
		int srcfd = -1;
		if (q->src && (srcfd = open(q->src, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
			qi_error_errno(h, "cannot read %s (the content for %s)", q->src, q->path);
			rc = -1;
		} else {
			rc = make_image(h, dfd, name, q->path, &q->after, &live, q->data, q->len, srcfd, q->id);
		}
		if (srcfd >= 0)
			close(srcfd);
	}
	qi_image_clear(&live);
	close(dfd);
	return rc;
}

/* Make everything queued: store, intents, acts (see the top of the file). */
static int flush_queue(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j->nqueue)
		return 0;
	size_t n = j->nqueue;
	int rc = 0;
	bool many = n > 1, added_any = false;

	/* 1. before-images into the store, durably */
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool added = false;
		rc = save_before(h, j->queue[i].path, &j->queue[i].before, !many, &added);
		added_any |= added;
		if (rc == 0 && j->queue[i].op == OP_RENAME) {
			rc = save_before(h, j->queue[i].path2, &j->queue[i].before2, !many, &added);
			added_any |= added;
		}
	}
	if (rc == 0 && added_any) {
		if ((many && syncfs(j->storefd) < 0) || fsync(j->storefd) < 0)
			rc = qi_error_errno(h, "cannot sync the journal's store");
	}

	/* 2. the intents, in one transaction */
	sqlite3_stmt *st = NULL;
	if (rc == 0 && (rc = db_exec(h, "BEGIN IMMEDIATE")) == 0) {
		st = prepare_insert(h);
		for (size_t i = 0; st && i < n; i++) {
			struct qop *q = &j->queue[i];
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			sqlite3_bind_int64(st, 1, j->run);
			sqlite3_bind_text(st, 2, op_names[q->op], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, q->path, -1, SQLITE_STATIC);
			if (q->path2)
				sqlite3_bind_text(st, 4, q->path2, -1, SQLITE_STATIC);
			bind_image(st, 5, &q->before, true);
			bind_image(st, 12, &q->before2, q->op == OP_RENAME);
			bind_image(st, 19, &q->after, true);
			if (sqlite3_step(st) != SQLITE_DONE) {
				db_fail(h, "cannot record a change");
				rc = -1;
				break;
			}
			q->id = sqlite3_last_insert_rowid(j->db);
		}
		if (!st)
			rc = -1;
		sqlite3_finalize(st);
		if (rc == 0 && sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			rc = db_fail(h, "cannot commit the changes' intents");
		if (rc < 0)
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	}

	/* 3. the acts */
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = execute_one(h, &j->queue[i]);

	for (size_t i = 0; i < n; i++)
		queue_free_op(&j->queue[i]);
	j->nqueue = j->queue_bytes = 0;
	ov_clear(j);
	return rc;
}

int qi_batch_begin(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	h->journal->batch = true;
	return 0;
}

int qi_batch_end(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	h->journal->batch = false;
	if (h->check)
		return 0;
	return flush_queue(h);
}

/* ------------------------------------------------------------------ */
/* External operations                                                  */
/* ------------------------------------------------------------------ */

int qi_external_begin(qi_handle *h, const char *kind, const char *description,
		      const char *undo_data, int64_t *change_id)
{
	*change_id = 0;
	if (need_run(h) < 0)
		return -1;
	if (!find_undo(kind))
		return qi_error(h, "no undo handler is registered for '%s' (this is a bug)", kind);
	struct qi_journal *j = h->journal;
	json_t *c = json_object();
	json_object_set_new(c, "op", json_string("external"));
	json_object_set_new(c, "kind", json_string(kind));
	json_object_set_new(c, "description", json_string(description ? description : ""));
	json_array_append_new(json_object_get(h->result, "changes"), c);
	qi_set_changed(h);
	j->nchanges++;
	if (h->check)
		return 0;
	if (flush_queue(h) < 0)
		return -1;
	sqlite3_stmt *st = prepare_insert(h);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, j->run);
	sqlite3_bind_text(st, 2, "external", -1, SQLITE_STATIC);
	for (int i = 5; i <= 25; i++)
		sqlite3_bind_null(st, i);
	sqlite3_bind_text(st, 26, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 27, description ? description : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 28, undo_data ? undo_data : "", -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(h, "cannot record an external change");
	*change_id = sqlite3_last_insert_rowid(j->db);
	return 0;
}

int qi_external_done(qi_handle *h, int64_t change_id)
{
	if (need_run(h) < 0)
		return -1;
	if (h->check)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE changes SET state='done' WHERE id=?1 AND run=?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot mark an external change done");
	sqlite3_bind_int64(st, 1, change_id);
	sqlite3_bind_int64(st, 2, h->journal->run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(h, "cannot mark an external change done");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rollback                                                             */
/* ------------------------------------------------------------------ */

struct undo_row {
	int64_t id, run;
	bool done;		/* made and synced: no temporary can be left */
	char *op, *path, *path2, *kind, *undo_data;
	struct qi_image before, before2;
	bool has_before2;
};

static void undo_row_free(struct undo_row *r)
{
	free(r->op);
	free(r->path);
	free(r->path2);
	free(r->kind);
	free(r->undo_data);
	qi_image_clear(&r->before);
	qi_image_clear(&r->before2);
}

static char *col_dup(sqlite3_stmt *st, int c)
{
	const char *s = (const char *)sqlite3_column_text(st, c);
	return s ? qi_xstrdup(s) : NULL;
}

/* The changes of RUN not yet undone, newest first. */
static int load_undo_rows(qi_handle *h, int64_t run, struct undo_row **rows, size_t *n)
{
	sqlite3_stmt *st;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT id, run, op, path, path2, kind, undo_data,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target, state"
			       " FROM changes WHERE run=?1 AND state!='undone' ORDER BY id DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot read the changes");
	sqlite3_bind_int64(st, 1, run);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*rows = qi_xrealloc(*rows, cap * sizeof(**rows));
		}
		struct undo_row *r = &(*rows)[(*n)++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->run = sqlite3_column_int64(st, 1);
		r->op = col_dup(st, 2);
		r->path = col_dup(st, 3);
		r->path2 = col_dup(st, 4);
		r->kind = col_dup(st, 5);
		r->undo_data = col_dup(st, 6);
		column_image(st, 7, &r->before);
		r->has_before2 = column_image(st, 14, &r->before2);
		r->done = strcmp((const char *)sqlite3_column_text(st, 21), "done") == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(h, "cannot read the changes");
	return 0;
}

/* --diff of an undo: what is there, and what the store gives back. */
static void rollback_diff(qi_handle *h, const char *path, const struct qi_image *live,
			  const struct qi_image *img, int srcfd)
{
	char *b = diff_text(h, path, live, NULL, 0);
	char *data = NULL;
	size_t len = 0;
	if (img->type == QI_FT_REG && srcfd >= 0 && img->size <= 65536) {
		data = qi_xmalloc((size_t)img->size + 1);
		ssize_t n = pread(srcfd, data, (size_t)img->size, 0);
		len = n > 0 ? (size_t)n : 0;
	}
	char *a = diff_text(h, srcfd < 0 ? path : NULL, img, data, len);
	qi_diff_add(h, path, b, a);
	free(data);
	free(a);
	free(b);
}

/* Make PATH what IMG says, content from the store. ID names the temp. */
static int restore_path(qi_handle *h, const char *path, const struct qi_image *img, int64_t id,
			bool maybe_tmp)
{
	struct qi_journal *j = h->journal;
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0) {
		if ((errno == ENOENT || errno == ENOTDIR) && img->type == QI_FT_ABSENT)
			return 0;
		char *full = qi_root_path(h, path);
		qi_error_errno(h, "cannot restore %s: cannot reach its directory", full);
		free(full);
		return -1;
	}
	note_dev(j, dfd);
	if (maybe_tmp) {
		/* a change killed between making its temporary and renaming it */
		char tmp[64];
		tmp_name(tmp, sizeof(tmp), id);
		if (unlinkat(dfd, tmp, 0) < 0 && errno == EISDIR)
			unlinkat(dfd, tmp, AT_REMOVEDIR);
	}
	struct qi_image live;
	int rc = qi_image_at(dfd, name, false, &live);
	if (rc < 0) {
		char *full = qi_root_path(h, path);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		close(dfd);
		return -1;
	}
	if (live.type == QI_FT_REG && img->type == QI_FT_REG && live.size == img->size) {
		/* hash only when the content may already be right */
		qi_image_clear(&live);
		rc = qi_image_at(dfd, name, true, &live);
	}
	int srcfd = -1;
	if (rc == 0 && img->type == QI_FT_REG &&
	    !(live.type == QI_FT_REG && strcmp(live.hash, img->hash) == 0)) {
		srcfd = qi_store_open(j->storefd, img->hash);
		if (srcfd < 0) {
			char *full = qi_root_path(h, path);
			qi_error(h, "cannot restore %s: its before-image (sha256 %s) is missing from the "
				 "journal's store", full, img->hash);
			free(full);
			rc = -1;
		}
	}
	if (rc == 0 && h->diff && !qi_image_equal(&live, img))
		rollback_diff(h, path, &live, img, srcfd);
	if (rc == 0)
		rc = make_image(h, dfd, name, path, img, &live, NULL, 0, srcfd, id);
	if (rc == 0 && srcfd >= 0) {
		/* the store's copy must be what it is named after */
		struct qi_image now;
		if (qi_image_at(dfd, name, true, &now) == 0 && strcmp(now.hash, img->hash) != 0) {
			char *full = qi_root_path(h, path);
			qi_error(h, "restored %s, but its before-image in the store is damaged "
				 "(sha256 %.12s, expected %.12s): check it by hand", full, now.hash, img->hash);
			free(full);
			rc = -1;
		}
		qi_image_clear(&now);
	}
	if (srcfd >= 0)
		close(srcfd);
	qi_image_clear(&live);
	close(dfd);
	return rc;
}

static int undo_row(qi_handle *h, const struct undo_row *r)
{
	if (strcmp(r->op, "external") == 0) {
		qi_undo_fn fn = find_undo(r->kind ? r->kind : "");
		if (!fn)
			return qi_error(h, "cannot undo change %lld of run %lld: no undo handler for '%s' "
					"in this qinstall", (long long)r->id, (long long)r->run, r->kind);
		return fn(h, r->undo_data ? r->undo_data : "");
	}
	if (strcmp(r->op, "rename") == 0 && r->path2) {
		/* move it back if it is at TO and FROM is free */
		struct qi_image at_from, at_to;
		if (qi_image_path(h, r->path, false, &at_from) == 0 &&
		    qi_image_path(h, r->path2, false, &at_to) == 0 &&
		    at_from.type == QI_FT_ABSENT && at_to.type != QI_FT_ABSENT &&
		    r->before.type != QI_FT_ABSENT) {
			const char *n1, *n2;
			int d1 = qi_root_parent(h, r->path, &n1), d2 = qi_root_parent(h, r->path2, &n2);
			if (d1 >= 0 && d2 >= 0 && renameat(d2, n2, d1, n1) < 0) {
				char *full = qi_root_path(h, r->path2);
				qi_error_errno(h, "cannot move %s back", full);
				free(full);
				close(d1);
				close(d2);
				return -1;
			}
			if (d1 >= 0)
				close(d1);
			if (d2 >= 0)
				close(d2);
		}
		qi_image_clear(&at_from);
		qi_image_clear(&at_to);
		if (restore_path(h, r->path2, &r->before2, r->id, false) < 0)
			return -1;
	}
	return restore_path(h, r->path, &r->before, r->id, !r->done);
}

static int set_run_state(qi_handle *h, int64_t run, const char *state)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE runs SET state=?1, finished=?2 WHERE id=?3",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot record the rollback");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 3, run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(h, "cannot record the rollback");
}

/* Mark ROWS[from..to) undone, after syncing what their undo wrote. */
static int mark_undone(qi_handle *h, struct undo_row *rows, size_t from, size_t to)
{
	if (from == to)
		return 0;
	if (sync_devs(h) < 0)
		return -1;
	sqlite3_stmt *st;
	if (db_exec(h, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE changes SET state='undone' WHERE id=?1",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
		return db_fail(h, "cannot record the rollback");
	}
	for (size_t i = from; i < to; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rows[i].id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
			return db_fail(h, "cannot record the rollback");
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(h->journal->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
		return db_fail(h, "cannot record the rollback");
	}
	return 0;
}

/* Every before-image the rollback will need must be in the store: check
 * them all before changing anything. */
static int check_store_for(qi_handle *h, const struct undo_row *rows, size_t n)
{
	struct qi_journal *j = h->journal;
	int missing = 0;
	char first[PATH_MAX + 128] = "";
	for (size_t i = 0; i < n; i++) {
		const struct qi_image *imgs[2] = { &rows[i].before, rows[i].has_before2 ? &rows[i].before2 : NULL };
		for (int k = 0; k < 2; k++) {
			if (!imgs[k] || imgs[k]->type != QI_FT_REG)
				continue;
			if (faccessat(j->storefd, imgs[k]->hash, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
			/* not needed when the path already holds that content */
			struct qi_image live;
			const char *p = k ? rows[i].path2 : rows[i].path;
			if (qi_image_path(h, p, true, &live) == 0 && live.type == QI_FT_REG &&
			    strcmp(live.hash, imgs[k]->hash) == 0) {
				qi_image_clear(&live);
				continue;
			}
			qi_image_clear(&live);
			if (!missing++)
				snprintf(first, sizeof(first), "%s (change %lld of run %lld)", p,
					 (long long)rows[i].id, (long long)rows[i].run);
		}
	}
	if (missing)
		return qi_error(h, "cannot roll back: %d before-image%s missing from the journal's store, "
				"first %s; nothing was changed. Restore %s/store from a backup, or put "
				"those files back by hand (`qinstall verify` lists them)",
				missing, missing == 1 ? " is" : "s are", first, STATE_DIR);
	return 0;
}

/* Begin every guard whose paths the rows touch, with exactly those paths
 * (each once, in the guard's order). On a refusal the guards already
 * begun are ended and nothing has been undone. */
static int begin_guards(qi_handle *h, struct undo_row **all, const size_t *counts, size_t nruns,
			struct guard_hold *held)
{
	for (int g = 0; g < nguards; g++) {
		size_t n = 0;
		while (guards[g].paths[n])
			n++;
		const char **touched = qi_xmalloc((n ? n : 1) * sizeof(*touched));
		size_t ntouched = 0;
		for (size_t k = 0; k < n; k++) {
			const char *gp = guards[g].paths[k];
			bool hit = false;
			for (size_t r = 0; r < nruns && !hit; r++)
				for (size_t i = 0; i < counts[r] && !hit; i++)
					hit = strcmp(all[r][i].op, "external") != 0 &&
					      ((all[r][i].path && strcmp(all[r][i].path, gp) == 0) ||
					       (all[r][i].path2 && strcmp(all[r][i].path2, gp) == 0));
			if (hit && !path_in(gp, touched, ntouched))
				touched[ntouched++] = gp;
		}
		int rc = 0;
		if (ntouched) {
			void *state = NULL;
			rc = guards[g].begin(h, touched, ntouched, &state);
			if (rc == 0) {
				held->which[held->n] = g;
				held->state[held->n] = state;
				held->n++;
			}
		}
		free(touched);
		if (rc < 0) {
			end_guards(h, held);
			qi_error_prefix(h, "cannot roll back (nothing was undone)");
			return -1;
		}
	}
	return 0;
}

/* Undo runs FROM_RUN and every later one (or only FROM_RUN), newest first. */
static int undo_runs(qi_handle *h, int64_t from_run, bool only_this)
{
	struct qi_journal *j = h->journal;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, only_this ?
			       "SELECT id FROM runs WHERE id=?1 AND state!='rolled-back'" :
			       "SELECT id FROM runs WHERE id>=?1 AND state!='rolled-back' ORDER BY id DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot read the runs");
	sqlite3_bind_int64(st, 1, from_run);
	int64_t *runs = NULL;
	size_t nruns = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		runs = qi_xrealloc(runs, (nruns + 1) * sizeof(*runs));
		runs[nruns++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(runs);
		return db_fail(h, "cannot read the runs");
	}
	/* load everything first, and check the store before touching anything */
	struct undo_row **all = qi_xmalloc((nruns ? nruns : 1) * sizeof(*all));
	size_t *counts = qi_xmalloc((nruns ? nruns : 1) * sizeof(*counts));
	rc = 0;
	for (size_t r = 0; r < nruns; r++) {
		all[r] = NULL;
		counts[r] = 0;
		if (rc == 0)
			rc = load_undo_rows(h, runs[r], &all[r], &counts[r]);
		if (rc == 0)
			rc = check_store_for(h, all[r], counts[r]);
	}
	struct guard_hold held = { 0 };
	if (rc == 0)
		rc = begin_guards(h, all, counts, nruns, &held);
	json_t *undone = json_array();
	for (size_t r = 0; r < nruns && rc == 0; r++) {
		rc = set_run_state(h, runs[r], "rolling-back");
		size_t marked = 0;
		for (size_t i = 0; i < counts[r] && rc == 0; i++) {
			rc = undo_row(h, &all[r][i]);
			if (rc < 0)
				qi_error_prefix(h, "rolling back run %lld", (long long)runs[r]);
			if (rc == 0 && i + 1 - marked >= UNDO_MARK_EVERY) {
				rc = mark_undone(h, all[r], marked, i + 1);
				marked = i + 1;
			}
		}
		if (rc == 0)
			rc = mark_undone(h, all[r], marked, counts[r]);
		if (rc == 0)
			rc = set_run_state(h, runs[r], "rolled-back");
		if (rc == 0) {
			json_array_append_new(undone, json_integer(runs[r]));
			qi_debug(h, "run %lld rolled back (%zu change%s undone)", (long long)runs[r],
				counts[r], counts[r] == 1 ? "" : "s");
			if (counts[r])
				qi_set_changed(h);
		}
	}
	end_guards(h, &held);
	for (size_t r = 0; r < nruns; r++) {
		for (size_t i = 0; i < counts[r]; i++)
			undo_row_free(&all[r][i]);
		free(all[r]);
	}
	free(all);
	free(counts);
	free(runs);
	json_object_set_new(h->result, "rolled_back", undone);
	return rc;
}

int qi_rollback(qi_handle *h, int64_t run)
{
	struct qi_journal *j = journal_get(h);
	if (j->in_run)
		return qi_error(h, "cannot roll back during a run (this is a bug)");
	if (open_state_dir(h, false) < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			if (run > 0)
				return qi_error_kind(h, QI_ERR_USAGE, "there is no run %lld: %s has no journal",
						     (long long)run, h->root);
			qi_set_msg(h, "nothing to roll back: %s has no journal", h->root);
			json_object_set_new(h->result, "rolled_back", json_array());
			return 0;
		}
		return -1;
	}
	if (h->check) {
		/* say what would be undone, write nothing */
		int rc = open_db(h, false);
		if (rc != 0)
			return rc < 0 ? -1 : (qi_set_msg(h, "nothing to roll back"), 0);
	} else if (take_lock(h) < 0 || open_db(h, true) < 0 || open_store(h) < 0) {
		release_lock(h);
		return -1;
	}
	sqlite3_stmt *st;
	if (run <= 0) {
		if (sqlite3_prepare_v2(j->db, "SELECT max(id) FROM runs WHERE state!='rolled-back'",
				       -1, &st, NULL) != SQLITE_OK) {
			release_lock(h);
			return db_fail(h, "cannot read the runs");
		}
		run = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (run <= 0) {
			release_lock(h);
			qi_set_msg(h, "nothing to roll back: every run is already rolled back");
			json_object_set_new(h->result, "rolled_back", json_array());
			return 0;
		}
	} else {
		if (sqlite3_prepare_v2(j->db, "SELECT state FROM runs WHERE id=?1", -1, &st, NULL) != SQLITE_OK) {
			release_lock(h);
			return db_fail(h, "cannot read the runs");
		}
		sqlite3_bind_int64(st, 1, run);
		bool found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (!found) {
			release_lock(h);
			return qi_error_kind(h, QI_ERR_USAGE, "there is no run %lld in %s (see `qinstall status`)",
					     (long long)run, h->root);
		}
	}
	if (h->check) {
		if (sqlite3_prepare_v2(j->db, "SELECT c.run, c.op, c.path, c.path2 FROM changes c JOIN runs r"
				       " ON r.id=c.run WHERE c.run>=?1 AND r.state!='rolled-back'"
				       " AND c.state!='undone' ORDER BY c.id DESC", -1, &st, NULL) != SQLITE_OK)
			return db_fail(h, "cannot read the changes");
		sqlite3_bind_int64(st, 1, run);
		json_t *arr = json_array();
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *c = json_object();
			json_object_set_new(c, "run", json_integer(sqlite3_column_int64(st, 0)));
			json_object_set_new(c, "op", json_string((const char *)sqlite3_column_text(st, 1)));
			const char *p = (const char *)sqlite3_column_text(st, 2);
			json_object_set_new(c, "path", p ? json_string(p) : json_null());
			p = (const char *)sqlite3_column_text(st, 3);
			if (p)
				json_object_set_new(c, "to", json_string(p));
			json_array_append_new(arr, c);
			qi_set_changed(h);
		}
		sqlite3_finalize(st);
		json_object_set_new(h->result, "changes", arr);
		return 0;
	}
	int rc = undo_runs(h, run, false);
	release_lock(h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Status and verify                                                    */
/* ------------------------------------------------------------------ */

/* Open the journal to read it. 1 when there is none (not an error). */
static int open_for_reading(qi_handle *h)
{
	if (open_state_dir(h, false) < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			return 1;
		}
		return -1;
	}
	return open_db(h, false);
}

int qi_status(qi_handle *h)
{
	json_t *runs = json_array();
	json_object_set_new(h->result, "runs", runs);
	int rc = open_for_reading(h);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT r.id, r.command, r.started, r.finished, r.state, r.pid,"
			       " (SELECT count(*) FROM changes c WHERE c.run=r.id)"
			       " FROM runs r ORDER BY r.id DESC", -1, &st, NULL) != SQLITE_OK)
		return db_fail(h, "cannot read the runs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *r = json_object();
		json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(r, "command", json_string((const char *)sqlite3_column_text(st, 1)));
		char when[32];
		time_t t = (time_t)sqlite3_column_int64(st, 2);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		json_object_set_new(r, "started", json_string(when));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			t = (time_t)sqlite3_column_int64(st, 3);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			json_object_set_new(r, "finished", json_string(when));
		} else {
			json_object_set_new(r, "finished", json_null());
		}
		const char *state = (const char *)sqlite3_column_text(st, 4);
		/* a run still "running" whose process is gone was interrupted */
		if (strcmp(state, "running") == 0 || strcmp(state, "rolling-back") == 0) {
			/* its process is alive only while the lock is held */
			struct qi_journal *j = h->journal;
			bool alive = j->lockfd >= 0;
			int fd = openat(j->statefd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
			if (fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
				alive = true;
			if (fd >= 0)
				close(fd);
			if (!alive)
				state = strcmp(state, "running") == 0 ? "unfinished" : "rollback-unfinished";
		}
		json_object_set_new(r, "state", json_string(state));
		json_object_set_new(r, "changes", json_integer(sqlite3_column_int64(st, 6)));
		json_array_append_new(runs, r);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(h, "cannot read the runs");
	return 0;
}

static void add_drift(qi_handle *h, json_t *drift, const char *path, const char *problem,
		      const char *expected, const char *found)
{
	json_t *d = json_object();
	json_object_set_new(d, "path", path ? json_string(path) : json_null());
	json_object_set_new(d, "problem", json_string(problem));
	if (expected)
		json_object_set_new(d, "expected", json_string(expected));
	if (found)
		json_object_set_new(d, "found", json_string(found));
	json_array_append_new(drift, d);
}

struct expect {
	char *path;
	struct qi_image img;
	int64_t change;
};

static int verify_db(qi_handle *h, json_t *drift)
{
	struct qi_journal *j = h->journal;
	sqlite3_stmt *st;
	/* the database itself */
	if (sqlite3_prepare_v2(j->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		add_drift(h, drift, NULL, "state.db is damaged", NULL, sqlite3_errmsg(j->db));
		return 0;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		if (s && strcmp(s, "ok") != 0)
			add_drift(h, drift, NULL, "state.db is damaged", NULL, s);
	}
	int rc = sqlite3_errcode(j->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		add_drift(h, drift, NULL, "state.db is damaged", NULL, sqlite3_errmsg(j->db));
		return 0;
	}
	/* unfinished runs */
	if (sqlite3_prepare_v2(j->db, "SELECT id, command, state FROM runs WHERE state IN ('running','rolling-back')",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *msg = qi_xasprintf("run %lld (%s) is unfinished (%s): roll it back",
						 (long long)sqlite3_column_int64(st, 0),
						 (const char *)sqlite3_column_text(st, 1),
						 (const char *)sqlite3_column_text(st, 2));
			add_drift(h, drift, NULL, msg, NULL, NULL);
			free(msg);
		}
		sqlite3_finalize(st);
	}
	/* what qinstall wrote last, path by path */
	if (sqlite3_prepare_v2(j->db,
			       "SELECT c.id, c.op, c.path, c.path2,"
			       " a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target, c.run"
			       " FROM changes c JOIN runs r ON r.id=c.run"
			       " WHERE r.state!='rolled-back' AND c.state!='undone' AND c.op!='external'"
			       " ORDER BY c.id", -1, &st, NULL) != SQLITE_OK) {
		add_drift(h, drift, NULL, "state.db cannot be read", NULL, sqlite3_errmsg(j->db));
		return 0;
	}
	struct expect *ex = NULL;
	size_t nex = 0, cap = 0;
	/* last writer wins: an index from path to slot */
	struct qi_journal tmp = { 0 };
	int src = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 1);
		const char *paths[2] = { (const char *)sqlite3_column_text(st, 2),
					 (const char *)sqlite3_column_text(st, 3) };
		struct qi_image after, before, before2;
		column_image(st, 4, &after);
		column_image(st, 11, &before);
		bool has2 = column_image(st, 18, &before2);
		int64_t run = sqlite3_column_int64(st, 25);
		int64_t cid = sqlite3_column_int64(st, 0);
		struct qi_image absent = { 0 };
		const struct qi_image *want[2] = { &after, NULL };
		if (strcmp(op, "remove") == 0)
			want[0] = &absent;
		if (strcmp(op, "rename") == 0) {
			want[0] = &absent;
			want[1] = &after;
		}
		const struct qi_image *bimg[2] = { &before, has2 ? &before2 : NULL };
		for (int k = 0; k < 2; k++) {
			if (!paths[k])
				continue;
			/* the before-image must still be in the store */
			if (bimg[k] && bimg[k]->type == QI_FT_REG && j->storefd >= 0) {
				int c = qi_store_check(j->storefd, bimg[k]->hash);
				if (c != 1) {
					char *msg = qi_xasprintf("its before-image (change %lld of run %lld) is %s the "
								 "journal's store: run %lld can no longer be rolled back",
								 (long long)cid, (long long)run,
								 c == 0 ? "missing from" : "damaged in", (long long)run);
					add_drift(h, drift, paths[k], msg, bimg[k]->hash, NULL);
					free(msg);
				}
			}
			if (!want[k])
				continue;
			struct ov_entry *e = ov_get(&tmp, paths[k]);
			size_t slot;
			if (e) {
				slot = (size_t)e->img.size;
			} else {
				if (nex == cap) {
					cap = cap ? 2 * cap : 64;
					ex = qi_xrealloc(ex, cap * sizeof(*ex));
				}
				slot = nex++;
				memset(&ex[slot], 0, sizeof(ex[slot]));
				ex[slot].path = qi_xstrdup(paths[k]);
				ov_set(&tmp, paths[k], &(struct qi_image){ .size = (int64_t)slot });
			}
			qi_image_copy(&ex[slot].img, want[k]);
			ex[slot].change = cid;
		}
		qi_image_clear(&after);
		qi_image_clear(&before);
		qi_image_clear(&before2);
	}
	sqlite3_finalize(st);
	ov_clear(&tmp);
	if (src != SQLITE_DONE)
		add_drift(h, drift, NULL, "state.db cannot be read", NULL, sqlite3_errmsg(j->db));
	for (size_t i = 0; i < nex; i++) {
		struct qi_image live;
		if (qi_image_path(h, ex[i].path, ex[i].img.type == QI_FT_REG, &live) < 0) {
			add_drift(h, drift, ex[i].path, "cannot be read", NULL, strerror(errno));
		} else {
			bool same = qi_image_equal(&live, &ex[i].img);
			/* a symlink's owner is whoever made it; compare its target */
			if (!same && live.type == QI_FT_LNK && ex[i].img.type == QI_FT_LNK)
				same = strcmp(live.target, ex[i].img.target ? ex[i].img.target : "") == 0;
			if (!same) {
				char *w = qi_image_describe(&ex[i].img), *f = qi_image_describe(&live);
				add_drift(h, drift, ex[i].path, live.type == QI_FT_ABSENT ? "missing" :
					  ex[i].img.type == QI_FT_ABSENT ? "present (qinstall removed it)" :
					  live.type != ex[i].img.type ? "type differs" :
					  strcmp(live.hash, ex[i].img.hash) ? "content differs" :
					  live.mode != ex[i].img.mode ? "mode differs" : "owner differs", w, f);
				free(w);
				free(f);
			}
		}
		qi_image_clear(&live);
		qi_image_clear(&ex[i].img);
		free(ex[i].path);
	}
	free(ex);
	return 0;
}

int qi_verify(qi_handle *h)
{
	json_t *drift = json_array();
	json_object_set_new(h->result, "drift", drift);
	struct qi_journal *j = journal_get(h);
	int rc = open_state_dir(h, false);
	if (rc < 0) {
		if (errno != ENOENT)
			return -1;
		qi_clear_error(h);
		qi_set_msg(h, "%s has no journal: nothing to verify", h->root);
		return 0;
	}
	j->storefd = openat(j->statefd, "store", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = open_db(h, false);
	if (rc < 0) {
		add_drift(h, drift, NULL, "state.db cannot be opened", NULL, qi_errmsg(h));
		qi_clear_error(h);
	} else if (rc == 1) {
		if (j->storefd >= 0) {
			DIR *d = fdopendir(dup(j->storefd));
			struct dirent *de;
			bool any = false;
			while (d && (de = readdir(d)))
				if (de->d_name[0] != '.')
					any = true;
			if (d)
				closedir(d);
			if (any)
				add_drift(h, drift, NULL, "state.db is missing but the store holds before-images "
					  "(the journal was lost: restore it from a backup)", NULL, NULL);
		}
	} else {
		verify_db(h, drift);
	}
	size_t n = json_array_size(drift);
	if (n)
		return qi_error_kind(h, QI_ERR_DRIFT, "%zu difference%s between %s and its journal",
				     n, n == 1 ? "" : "s", h->root);
	qi_set_msg(h, "%s matches its journal", h->root);
	return 0;
}
