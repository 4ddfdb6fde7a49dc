/*
 * journal.c - the journal's state: the directory ROOT/var/lib/qinstall,
 * the database state.db and its schema, the lock and the store directory;
 * and runs (begin, commit, abort) and their status. The design (the
 * write-ahead rule, group commit, guards, --check) is described in
 * journal.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"

#define SCHEMA_VERSION 1

/* ------------------------------------------------------------------ */
/* The journal of a handle                                              */
/* ------------------------------------------------------------------ */

static void journal_close(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j)
		return;
	qi_journal_discard(j);
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

struct qi_journal *qi_journal_get(qi_handle *h)
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
	char *p = qi_xasprintf("%s/%s", QI_STATE_DIR, name);
	char *full = qi_root_path(h, p);
	free(p);
	return full;
}

/* ------------------------------------------------------------------ */
/* The state directory, the store, the lock                             */
/* ------------------------------------------------------------------ */

/* Make the directory STEP inside ROOT (its parent exists). */
static int make_state_step(qi_handle *h, const char *step)
{
	const char *name;
	int dfd = qi_root_parent(h, step, &name);
	if (dfd < 0 || (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		char *full = qi_root_path(h, step);
		errno = e;
		qi_error_errno(h, "cannot create the journal's directory %s", full);
		free(full);
		return -1;
	}
	fsync(dfd);
	close(dfd);
	return 0;
}

/* Component by component, every step resolved inside ROOT. */
int qi_journal_open_state(qi_handle *h, bool create)
{
	static const char *const steps[] = { "/var", "/var/lib", QI_STATE_DIR };
	struct qi_journal *j = qi_journal_get(h);
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
		if (make_state_step(h, steps[i]) < 0)
			return -1;
		fd = qi_root_open(h, steps[i], O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return -1;
	}
	j->statefd = fd;
	return 0;
}

int qi_journal_open_store(qi_handle *h)
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

bool qi_journal_store_has_images(int storefd)
{
	int fd = fcntl(storefd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool any = false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			any = true;
	closedir(d);
	return any;
}

/* The lock: an OFD lock on ROOT/var/lib/qinstall/lock, which holds the pid
 * of its holder for the message of the one refused. */
int qi_journal_lock(qi_handle *h)
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

void qi_journal_unlock(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j && j->lockfd >= 0) {
		close(j->lockfd);
		j->lockfd = -1;
	}
}

/* Whether a process holds the lock (this one, or another). */
static bool lock_held(struct qi_journal *j)
{
	if (j->lockfd >= 0)
		return true;
	bool held = false;
	int fd = openat(j->statefd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	if (fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		held = true;
	if (fd >= 0)
		close(fd);
	return held;
}

/* ------------------------------------------------------------------ */
/* The database                                                         */
/* ------------------------------------------------------------------ */

/* What to do about an SQLite error, for the message. */
static const char *db_hint(int code)
{
	switch (code) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return " (the journal is damaged: run `qinstall verify`, and restore state.db from a backup)";
	case SQLITE_FULL:
		return " (the file system is full: free some space on it, then run the command again)";
	case SQLITE_READONLY:
		return " (the root is read-only: remount it read-write)";
	default:
		return "";
	}
}

int qi_db_exec(qi_handle *h, const char *sql)
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

int qi_db_fail(qi_handle *h, const char *what)
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

/* A store with before-images but no state.db: the journal was lost, and
 * a fresh one would forget how to undo them. */
static int refuse_lost_journal(qi_handle *h)
{
	int sfd = openat(h->journal->statefd, "store", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return 0;
	bool any = qi_journal_store_has_images(sfd);
	close(sfd);
	if (!any)
		return 0;
	char *full = state_path(h, "state.db");
	qi_error(h, "the journal %s is missing but its store still holds before-images: "
		 "earlier runs could no longer be rolled back. Restore state.db from a "
		 "backup; or, to give up those runs and start a fresh journal, move %s away",
		 full, QI_STATE_DIR);
	free(full);
	return -1;
}

/* Open the connection (read-write, or read-only: immutable on a read-only
 * file system, where nobody can change it and SQLite could not make its
 * shared-memory file). */
static int db_connect(qi_handle *h, bool write)
{
	struct qi_journal *j = h->journal;
	char path[96];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/state.db", j->statefd);
	int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	struct statvfs vfs;
	if (!write && fstatvfs(j->statefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		snprintf(path, sizeof(path), "file:/proc/self/fd/%d/state.db?immutable=1", j->statefd);
		flags |= SQLITE_OPEN_URI;
	}
	if (sqlite3_open_v2(path, &j->db, flags, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot open");
	sqlite3_busy_timeout(j->db, 10000);
	sqlite3_extended_result_codes(j->db, 0);
	if (write)
		return qi_db_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
	return 0;
}

/* Check the schema's version; a writer makes the schema of a new
 * database. 1 when a reader finds an empty database. */
static int db_schema(qi_handle *h, bool write)
{
	struct qi_journal *j = h->journal;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read");
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0)
		return qi_db_fail(h, "cannot read");
	if (version > SCHEMA_VERSION) {
		char *full = state_path(h, "state.db");
		qi_error(h, "journal %s has schema version %d, newer than this qinstall understands (%d): "
			 "use the qinstall that wrote it", full, version, SCHEMA_VERSION);
		free(full);
		return -1;
	}
	if (version > 0)
		return 0;
	if (!write)
		return 1;
	char sql[sizeof(schema_sql) + 64];
	snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; %s PRAGMA user_version=%d; COMMIT;",
		 schema_sql, SCHEMA_VERSION);
	if (qi_db_exec(h, sql) < 0) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	fsync(j->statefd);
	return 0;
}

int qi_journal_open_db(qi_handle *h, bool write)
{
	struct qi_journal *j = qi_journal_get(h);
	if (j->db)
		return 0;
	bool exists = faccessat(j->statefd, "state.db", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && write && refuse_lost_journal(h) < 0)
		return -1;
	if (!exists && !write) {
		errno = ENOENT;
		return 1;
	}
	int rc = db_connect(h, write);
	if (rc == 0)
		rc = db_schema(h, write);
	if (rc != 0) {
		sqlite3_close(j->db);
		j->db = NULL;
		if (rc > 0)
			errno = ENOENT;
	}
	return rc;
}

void qi_db_bind_image(sqlite3_stmt *st, int col, const struct qi_image *img, bool present)
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

bool qi_db_column_image(sqlite3_stmt *st, int col, struct qi_image *img)
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

int qi_db_set_run_state(qi_handle *h, int64_t run, const char *state, const char *what)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE runs SET state=?1, finished=?2 WHERE id=?3",
			       -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, what);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 3, run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : qi_db_fail(h, what);
}

/* ------------------------------------------------------------------ */
/* Runs                                                                 */
/* ------------------------------------------------------------------ */

/* Refuse when a run or a rollback was left unfinished. */
static int check_unfinished(qi_handle *h)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT id, command, state FROM runs WHERE state IN ('running','rolling-back')"
			       " ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the runs");
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
		return qi_db_fail(h, "cannot read the runs");
	return 0;
}

/* Everything a writer needs: state dir, lock, db, store. */
static int open_for_writing(qi_handle *h)
{
	if (qi_journal_open_state(h, true) < 0)
		return qi_error_prefix(h, "cannot start a run in %s", h->root);
	if (qi_journal_lock(h) < 0)
		return -1;
	if (qi_journal_open_db(h, true) < 0 || qi_journal_open_store(h) < 0) {
		qi_journal_unlock(h);
		return -1;
	}
	return 0;
}

/* The row of a new run: its id into the journal. */
static int record_run(qi_handle *h, const char *command)
{
	struct qi_journal *j = h->journal;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "INSERT INTO runs(command, pid, started, state) VALUES(?,?,?,'running')",
			       -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot record the run");
	sqlite3_bind_text(st, 1, command ? command : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, getpid());
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot record the run");
	j->run = sqlite3_last_insert_rowid(j->db);
	return 0;
}

int64_t qi_run_id(const qi_handle *h)
{
	return h->journal ? h->journal->run : 0;
}

int qi_run_begin(qi_handle *h, const char *command)
{
	struct qi_journal *j = qi_journal_get(h);
	if (j->in_run)
		return qi_error(h, "a run is already in progress on this handle (this is a bug)");
	json_object_set_new(h->result, "changes", json_array());
	if (h->check) {
		j->in_run = true;
		return 0;
	}
	if (open_for_writing(h) < 0)
		return -1;
	if (check_unfinished(h) < 0 || record_run(h, command) < 0) {
		qi_journal_unlock(h);
		return -1;
	}
	j->in_run = true;
	j->nchanges = 0;
	qi_journal_note_dev(j, j->statefd);
	qi_debug(h, "run %lld begins: %s", (long long)j->run, command);
	return 0;
}

/* After the syncfs: the run's rows and the run itself done, in one
 * transaction. */
static int finish_run(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (qi_journal_sync_devs(h) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "UPDATE changes SET state='done' WHERE run=?1 AND state='intent';"
			       , -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot finish the run");
	if (qi_db_exec(h, "BEGIN IMMEDIATE") < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, j->run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return qi_db_fail(h, "cannot finish the run");
	}
	if (qi_db_set_run_state(h, j->run, "done", "cannot finish the run") < 0) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		qi_db_fail(h, "cannot finish the run");
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
		qi_journal_discard(j);
		return 0;
	}
	j->batch = false;
	if (qi_journal_flush(h) < 0)
		return qi_run_abort(h);	/* half-made: undo it all */
	if (j->nchanges == 0) {
		/* a run that changed nothing leaves no trace */
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id=%lld", (long long)j->run);
		if (qi_db_exec(h, sql) < 0)
			return -1;
		j->run = 0;
		j->in_run = false;
		qi_journal_unlock(h);
		return 0;
	}
	if (finish_run(h) < 0) {
		/* every change is made and synced, but the run stays unfinished */
		j->in_run = false;
		qi_journal_unlock(h);
		return qi_error_prefix(h, "run %lld made its changes but could not be recorded as finished, "
				       "so it counts as unfinished: roll it back with `qinstall --root %s rollback`, "
				       "then run the command again", (long long)j->run, h->root);
	}
	qi_debug(h, "run %lld done: %lld changes", (long long)j->run, (long long)j->nchanges);
	j->in_run = false;
	qi_journal_unlock(h);
	return 0;
}

/* Whether the run has any change recorded in the journal (true when that
 * cannot be read: then it is undone as usual). */
static bool run_has_changes(struct qi_journal *j)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(j->db, "SELECT 1 FROM changes WHERE run=?1 LIMIT 1", -1, &st,
			       NULL) != SQLITE_OK)
		return true;
	sqlite3_bind_int64(st, 1, j->run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc != SQLITE_DONE;
}

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
	qi_journal_discard(j);
	if (h->check)
		return -1;
	qi_clear_error(h);
	int rc;
	if (!run_has_changes(j)) {
		/* no intent was recorded, so nothing was made (the journal
		 * writes ahead): like a run that changed nothing, it leaves no
		 * trace */
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id=%lld", (long long)j->run);
		rc = qi_db_exec(h, sql);
		if (rc == 0)
			j->run = 0;
	} else {
		rc = qi_journal_undo_runs(h, j->run, true);
	}
	if (rc < 0) {
		char undo_err[sizeof(h->errmsg)];
		memcpy(undo_err, h->errmsg, sizeof(undo_err));
		snprintf(h->errmsg, sizeof(h->errmsg), "%.2000s (and undoing run %lld failed: %.1500s; "
			 "run `qinstall --root %.200s rollback`)", msg, (long long)j->run, undo_err, h->root);
	} else {
		memcpy(h->errmsg, msg, sizeof(msg));
		if (j->run) {
			qi_info(h, "run %lld was undone", (long long)j->run);
			/* ROOT is as it was: the run's changes no longer count */
			h->changed = false;
		}
	}
	h->errkind = kind == QI_ERR_NONE ? QI_ERR_FAILED : kind;
	qi_journal_unlock(h);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Status                                                               */
/* ------------------------------------------------------------------ */

/* Open the journal to read it. 1 when there is none (not an error). */
static int open_for_reading(qi_handle *h)
{
	if (qi_journal_open_state(h, false) < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			return 1;
		}
		return -1;
	}
	return qi_journal_open_db(h, false);
}

/* KEY: the time in column COL (UTC, ISO 8601), or null. */
static void set_time(json_t *r, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		json_object_set_new(r, key, json_null());
		return;
	}
	char when[32];
	time_t t = (time_t)sqlite3_column_int64(st, col);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_object_set_new(r, key, json_string(when));
}

/* One row of qi_status's query as its JSON object. */
static json_t *run_json(qi_handle *h, sqlite3_stmt *st)
{
	json_t *r = json_object();
	json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(r, "command", json_string((const char *)sqlite3_column_text(st, 1)));
	set_time(r, "started", st, 2);
	set_time(r, "finished", st, 3);
	const char *state = (const char *)sqlite3_column_text(st, 4);
	/* a run still "running" whose process is gone (its process is alive
	 * only while the lock is held) was interrupted */
	if ((strcmp(state, "running") == 0 || strcmp(state, "rolling-back") == 0) &&
	    !lock_held(h->journal))
		state = strcmp(state, "running") == 0 ? "unfinished" : "rollback-unfinished";
	json_object_set_new(r, "state", json_string(state));
	json_object_set_new(r, "changes", json_integer(sqlite3_column_int64(st, 6)));
	return r;
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
		return qi_db_fail(h, "cannot read the runs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(runs, run_json(h, st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot read the runs");
	return 0;
}
