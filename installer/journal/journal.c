/*
 * journal.c - the journal's state: what belongs to it (qi_state_part),
 * the directory ROOT/var/lib/qinstall (opened without following any
 * symlink, each entry checked), the database state.db, its schema and its
 * soundness, the lock and the store directory; and runs (begin, commit,
 * abort) and their status. The design (the write-ahead rule, group
 * commit, guards, --check, the journal's own state) is described in
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

/* -1 with "WHAT ROOT/PATH: strerror(errno)" on the handle, errno kept;
 * NAME: the same for PATH QI_STATE_DIR/NAME. */
static int path_error(qi_handle *h, const char *what, const char *path)
{
	int e = errno;
	char *full = qi_root_path(h, path);
	errno = e;
	qi_error_errno(h, "%s %s", what, full);
	free(full);
	errno = e;
	return -1;
}

static int state_error(qi_handle *h, const char *what, const char *name)
{
	int e = errno;
	char *path = qi_xasprintf("%s/%s", QI_STATE_DIR, name);
	errno = e;
	path_error(h, what, path);
	free(path);
	errno = e;
	return -1;
}

/* ------------------------------------------------------------------ */
/* What belongs to the journal                                          */
/* ------------------------------------------------------------------ */

/* The records modules keep in the state directory through the journal:
 * provision.c's account of what it installed. */
static const char *const state_records[] = { "provision.json" };

enum qi_state_part qi_state_part(const char *path)
{
	static const char *const above[] = { "/var", "/var/lib" };
	for (size_t i = 0; i < sizeof(above) / sizeof(above[0]); i++)
		if (strcmp(path, above[i]) == 0)
			return QI_STATE_ABOVE;
	size_t n = strlen(QI_STATE_DIR);
	if (strncmp(path, QI_STATE_DIR, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return QI_STATE_OUTSIDE;
	if (path[n] == '\0')
		return QI_STATE_TOP;
	for (size_t i = 0; i < sizeof(state_records) / sizeof(state_records[0]); i++)
		if (strcmp(path + n + 1, state_records[i]) == 0)
			return QI_STATE_RECORD;
	return QI_STATE_OWN;
}

const char *qi_state_part_name(enum qi_state_part part)
{
	switch (part) {
	case QI_STATE_ABOVE: return "a directory above the journal's state directory " QI_STATE_DIR;
	case QI_STATE_TOP: return "the journal's state directory";
	case QI_STATE_RECORD: return "a record qinstall keeps in its state directory " QI_STATE_DIR;
	case QI_STATE_OWN: return "inside the journal's state directory " QI_STATE_DIR;
	default: return "outside the journal's state";
	}
}

/* ------------------------------------------------------------------ */
/* The state directory, the store, the lock                             */
/* ------------------------------------------------------------------ */

/* What each entry of the state directory must be when it is there. */
static const struct {
	const char *name;
	mode_t type;
} state_entries[] = {
	{ "state.db", S_IFREG }, { "state.db-wal", S_IFREG }, { "state.db-shm", S_IFREG },
	{ "state.db-journal", S_IFREG }, { "lock", S_IFREG }, { "store", S_IFDIR },
	{ "kept", S_IFDIR },	/* what rollbacks kept aside (keep.c) */
};

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symlink";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	default: return "a device";
	}
}

/* Refuse NAME in DFD (PATH inside ROOT; NULL: an entry of the state
 * directory), which is ST and not of type WANT; errno ENOTDIR (never
 * ENOENT: it is there). */
static int refuse_state_entry(qi_handle *h, int dfd, const char *name, const char *path,
			      const struct stat *st, mode_t want)
{
	char target[256] = "";
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
	}
	char *full = path ? qi_root_path(h, path) : state_path(h, name);
	if (want == S_IFDIR)
		qi_error(h, "%s is %s%s%s, not a directory: qinstall keeps its journal in %s and never "
			 "follows a symlink on the way to it. Make %s a real directory (move what is there "
			 "out of the way, and what it points to into its place), then run the command again",
			 full, type_name(st->st_mode), target[0] ? " to " : "", target, QI_STATE_DIR, full);
	else
		qi_error(h, "%s is %s%s%s, not a regular file: qinstall never follows a symlink in its "
			 "journal nor opens anything else there. Move it out of the way (and if it stood "
			 "for the journal's own file, put that file itself there), then run the command again",
			 full, type_name(st->st_mode), target[0] ? " to " : "", target);
	free(full);
	errno = ENOTDIR;
	return -1;
}

/* The directory NAME in DFD (PATH inside ROOT), not followed; made (0755)
 * with CREATE when missing. An fd, or -1 (errno ENOENT when missing). */
static int open_state_dir(qi_handle *h, int dfd, const char *name, const char *path, bool create)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, name, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, QI_STATE_DIR_MODE) < 0 && errno != EEXIST)
			return path_error(h, "cannot create the journal's directory", path);
		fsync(dfd);
		fd = openat(dfd, name, flags);
	}
	if (fd >= 0)
		return fd;
	int e = errno;
	struct stat st;
	if ((e == ELOOP || e == ENOTDIR) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return refuse_state_entry(h, dfd, name, path, &st, S_IFDIR);
	errno = e;
	return path_error(h, "cannot open", path);
}

/* Every entry of the state directory is what it must be, or absent. */
static int check_state_entries(qi_handle *h, int statefd)
{
	for (size_t i = 0; i < sizeof(state_entries) / sizeof(state_entries[0]); i++) {
		struct stat st;
		const char *name = state_entries[i].name;
		if (fstatat(statefd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return state_error(h, "cannot look at", name);
		}
		if ((st.st_mode & S_IFMT) != state_entries[i].type)
			return refuse_state_entry(h, statefd, name, NULL, &st, state_entries[i].type);
	}
	return 0;
}

/* ROOT/var, ROOT/var/lib, ROOT/var/lib/qinstall: each opened in the one
 * before with O_NOFOLLOW, so that no symlink (inside ROOT or out of it) is
 * ever followed on the way, and each remembered for change.c's guard. */
int qi_journal_open_state(qi_handle *h, bool create)
{
	static const char *const steps[][2] = {
		{ "var", "/var" }, { "lib", "/var/lib" }, { "qinstall", QI_STATE_DIR },
	};
	struct qi_journal *j = qi_journal_get(h);
	if (j->statefd >= 0)
		return 0;
	int fd = openat(h->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return qi_error_errno(h, "cannot open the root %s", h->root);
	for (size_t i = 0; i < 3; i++) {
		int next = open_state_dir(h, fd, steps[i][0], steps[i][1], create);
		int e = errno;
		close(fd);
		struct stat st;
		if (next >= 0 && fstat(next, &st) < 0) {
			e = errno;
			close(next);
			next = -1;
			qi_error_errno(h, "cannot look at %s", h->root);
		}
		if (next < 0) {
			errno = e;
			return -1;
		}
		j->dirs[i] = (struct qi_fileid){ st.st_dev, st.st_ino };
		fd = next;
	}
	if (check_state_entries(h, fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	j->statefd = fd;
	j->have_dirs = true;
	return 0;
}

/* Open the entry NAME of the state directory with FLAGS (and MODE), never
 * following a symlink nor blocking on a FIFO, and check that it is of
 * TYPE; WHAT says what failed in a message ("cannot open the lock"). */
static int open_state_entry(qi_handle *h, const char *name, int flags, mode_t mode, mode_t type,
			    const char *what)
{
	int statefd = h->journal->statefd;
	int fd = openat(statefd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	struct stat st;
	bool known = fd >= 0 && fstat(fd, &st) == 0;
	if (known && (st.st_mode & S_IFMT) == type)
		return fd;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (!known && fd < 0 && (e == ELOOP || e == ENOTDIR || e == EISDIR || e == ENXIO))
		known = fstatat(statefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (known)
		return refuse_state_entry(h, statefd, name, NULL, &st, type);
	errno = e;
	return state_error(h, what, name);
}

int qi_journal_open_store(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j->storefd >= 0)
		return 0;
	if (mkdirat(j->statefd, "store", 0700) == 0) {
		fsync(j->statefd);
	} else if (errno != EEXIST) {
		return state_error(h, "cannot create the journal's store", "store");
	}
	j->storefd = open_state_entry(h, "store", O_RDONLY | O_DIRECTORY, 0, S_IFDIR,
				      "cannot open the journal's store");
	return j->storefd >= 0 ? 0 : -1;
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
	int fd = open_state_entry(h, "lock", O_RDWR | O_CREAT, 0644, S_IFREG, "cannot open the lock");
	if (fd < 0)
		return -1;
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
	int fd = openat(j->statefd, "lock", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
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

/* The columns qinstall reads and writes: a state.db without them is not
 * a journal of this qinstall (prepared, never run). */
static const char schema_probe[] =
	"SELECT id, command, pid, started, finished, state FROM runs LIMIT 0;"
	"SELECT id, run, op, path, path2, state,"
	" b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
	" c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target,"
	" a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target,"
	" kind, description, undo_data FROM changes LIMIT 0;";

/* A store with before-images but no state.db: the journal was lost, and
 * a fresh one would forget how to undo them (nor may a reader say "no
 * runs" then). */
static int refuse_lost_journal(qi_handle *h)
{
	int statefd = h->journal->statefd;
	int sfd = openat(statefd, "store", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool images = sfd >= 0 && qi_journal_store_has_images(sfd);
	if (sfd >= 0)
		close(sfd);
	/* a -wal left alone holds the last transactions of the lost state.db
	 * (a new one would replay them into itself) */
	struct stat st;
	bool wal = fstatat(statefd, "state.db-wal", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size > 0;
	if (!images && !wal)
		return 0;
	char *full = state_path(h, "state.db"), *dir = qi_root_path(h, QI_STATE_DIR);
	qi_error(h, "the journal %s is missing but %s: earlier runs could no longer be rolled back. "
		 "Restore state.db from a backup; or, to give up those runs and start a fresh journal, "
		 "move %s away", full, images ? "its store still holds before-images"
		 : "state.db-wal still holds its last changes", dir);
	free(full);
	free(dir);
	errno = EINVAL;
	return -1;
}

/* A state.db that is there but is no sound journal: refused like a lost
 * one, whatever the command (never read as "no runs"). */
static int refuse_damaged(qi_handle *h, const char *why)
{
	char *full = state_path(h, "state.db"), *dir = qi_root_path(h, QI_STATE_DIR);
	qi_error(h, "journal %s: %s: the journal is damaged, and qinstall changes nothing without it. "
		 "Keep a copy of %s aside and look into it (sqlite3 %s 'PRAGMA integrity_check'), then "
		 "restore state.db from a backup; or, to start a fresh journal knowing that the runs it "
		 "recorded can then never be rolled back, move %s away",
		 full, why, dir, full, dir);
	free(full);
	free(dir);
	errno = EINVAL;
	return -1;
}

/* SQLite opens files by path, and the unix VFS first makes a path
 * canonical by following every symlink in it (readlink of each
 * component): "/proc/self/fd/N/state.db" would turn back into the text
 * ROOT/var/lib/qinstall/state.db, whose directories could be swapped
 * between our checks and SQLite's open, and a symlink state.db would be
 * followed out of ROOT; SQLITE_OPEN_NOFOLLOW, for its part, refuses
 * /proc/self/fd/N itself (a symlink to the kernel). So the journal uses
 * this VFS: the unix VFS in every way except that it keeps the path as
 * given. The kernel resolves /proc/self/fd/N to the very directory that
 * qi_journal_open_state opened (O_NOFOLLOW at every component) and
 * checked, whatever happens to its name; and the unix VFS opens state.db,
 * -wal, -shm and -journal in it with O_NOFOLLOW, so a symlink put there
 * is refused by the kernel. The directory's fd stays open as long as the
 * connection. */
#define STATE_VFS "qinstall-statedir"

static int state_vfs_pathname(sqlite3_vfs *vfs, const char *path, int n, char *out)
{
	if (path[0] != '/' || (int)strlen(path) >= n)
		return SQLITE_CANTOPEN;
	strcpy(out, path);
	return SQLITE_OK;
}

static int state_vfs_register(qi_handle *h)
{
	static sqlite3_vfs vfs;
	if (vfs.zName)
		return 0;
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
	if (!unix_vfs)
		return qi_error(h, "SQLite has no unix VFS (this SQLite cannot be used for the journal)");
	vfs = *unix_vfs;
	vfs.pNext = NULL;
	vfs.zName = STATE_VFS;
	vfs.xFullPathname = state_vfs_pathname;
	if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
		vfs.zName = NULL;
		return qi_error(h, "cannot register the journal's SQLite VFS");
	}
	return 0;
}

/* SQLite's path of NAME in the state directory (URI: as a file: URI,
 * read-only and immutable). */
static void db_path(const struct qi_journal *j, const char *name, bool uri, char *out, size_t n)
{
	snprintf(out, n, uri ? "file:/proc/self/fd/%d/%s?immutable=1" : "/proc/self/fd/%d/%s",
		 j->statefd, name);
}

/* Make a new state.db whole: its schema written into state.db.new, which
 * is then renamed into place (never over an existing one), so that a
 * crash leaves either no state.db or a complete one. */
static int db_create(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	unlinkat(j->statefd, "state.db.new", 0);
	unlinkat(j->statefd, "state.db.new-journal", 0);
	char path[96];
	db_path(j, "state.db.new", false, path, sizeof(path));
	sqlite3 *db = NULL;
	char sql[sizeof(schema_sql) + 96];
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=FULL; BEGIN IMMEDIATE; %s PRAGMA user_version=%d; COMMIT;",
		 schema_sql, SCHEMA_VERSION);
	char *err = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
				 STATE_VFS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	char *full = state_path(h, "state.db");
	if (rc != SQLITE_OK)
		qi_error(h, "cannot make the journal %s: %s%s", full, err ? err : db ? sqlite3_errmsg(db) : "out of memory",
			 db_hint(db ? sqlite3_errcode(db) : rc));
	sqlite3_free(err);
	if (sqlite3_close(db) != SQLITE_OK && rc == SQLITE_OK)
		rc = qi_error(h, "cannot make the journal %s: closing it failed", full);
	if (rc == SQLITE_OK && renameat2(j->statefd, "state.db.new", j->statefd, "state.db", RENAME_NOREPLACE) < 0)
		rc = qi_error_errno(h, "cannot put the new journal %s in place", full);
	free(full);
	if (rc != SQLITE_OK) {
		unlinkat(j->statefd, "state.db.new", 0);
		return -1;
	}
	fsync(j->statefd);
	return 0;
}

/* Open the connection (read-write, or read-only: immutable on a read-only
 * file system, where nobody can change it and SQLite could not make its
 * shared-memory file). */
static int db_connect(qi_handle *h, bool write)
{
	struct qi_journal *j = h->journal;
	char path[96];
	int flags = (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOFOLLOW;
	struct statvfs vfs;
	bool immutable = !write && fstatvfs(j->statefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
	db_path(j, "state.db", immutable, path, sizeof(path));
	if (immutable)
		flags |= SQLITE_OPEN_URI;
	if (sqlite3_open_v2(path, &j->db, flags, STATE_VFS) != SQLITE_OK)
		return qi_db_fail(h, "cannot open");
	sqlite3_busy_timeout(j->db, 10000);
	sqlite3_extended_result_codes(j->db, 0);
	return 0;
}

/* The first of SQL's rows as text into OUT ("" for none); -1 with the
 * SQLite error when it cannot be read. */
static int db_first_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		snprintf(out, n, "%s", t ? t : "");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Is the open state.db a sound journal of this qinstall: readable, its
 * schema version known, its tables there, and PRAGMA quick_check "ok"
 * (its cost grows with the journal, a fraction of a second for
 * thousands of runs)? */
static int db_check(qi_handle *h)
{
	sqlite3 *db = h->journal->db;
	char buf[512];
	if (db_first_text(db, "PRAGMA user_version", buf, sizeof(buf)) < 0)
		return refuse_damaged(h, sqlite3_errmsg(db));
	int version = atoi(buf);
	if (version > SCHEMA_VERSION) {
		char *full = state_path(h, "state.db");
		qi_error(h, "journal %s has schema version %d, newer than this qinstall understands (%d): "
			 "use the qinstall that wrote it", full, version, SCHEMA_VERSION);
		free(full);
		return -1;
	}
	if (version < SCHEMA_VERSION)
		return refuse_damaged(h, "it has no qinstall schema (empty, or not made by qinstall)");
	const char *tail = schema_probe;
	while (*tail) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			snprintf(buf, sizeof(buf), "its tables are not qinstall's (%s)", sqlite3_errmsg(db));
			return refuse_damaged(h, buf);
		}
		sqlite3_finalize(st);
	}
	if (db_first_text(db, "PRAGMA quick_check", buf, sizeof(buf)) < 0)
		return refuse_damaged(h, sqlite3_errmsg(db));
	if (strcmp(buf, "ok") != 0) {
		char why[600];
		snprintf(why, sizeof(why), "SQLite's check found: %s", buf);
		return refuse_damaged(h, why);
	}
	return 0;
}

int qi_journal_open_db(qi_handle *h, bool write)
{
	struct qi_journal *j = qi_journal_get(h);
	if (j->db)
		return 0;
	if (state_vfs_register(h) < 0)
		return -1;
	struct stat st;
	if (fstatat(j->statefd, "state.db", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return state_error(h, "cannot look at the journal", "state.db");
		if (refuse_lost_journal(h) < 0)
			return -1;
		if (!write) {
			errno = ENOENT;
			return 1;
		}
		if (db_create(h) < 0)
			return -1;
	} else if (!S_ISREG(st.st_mode)) {
		return refuse_state_entry(h, j->statefd, "state.db", NULL, &st, S_IFREG);
	} else if (st.st_size == 0) {
		return refuse_damaged(h, "it is empty (0 bytes)");
	}
	int rc = db_connect(h, write);
	if (rc == 0)
		rc = db_check(h);
	if (rc == 0 && write)
		rc = qi_db_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
	if (rc != 0) {
		int e = errno;
		sqlite3_close(j->db);
		j->db = NULL;
		errno = e;
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

/* A run that changed nothing (no change planned, so no row written)
 * leaves no trace, committed or not. */
static int forget_run(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	char sql[96];
	snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id=%lld", (long long)j->run);
	if (qi_db_exec(h, sql) < 0)
		return -1;
	j->run = 0;
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
		if (forget_run(h) < 0)
			return -1;
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
	if (!run_has_changes(j))
		/* no intent was recorded, so nothing was made (the journal
		 * writes ahead): like a run that changed nothing, it leaves no
		 * trace */
		rc = forget_run(h);
	else
		rc = qi_journal_undo_runs(h, j->run, true);
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

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories rollbacks kept data aside in (kept/run-N-...), oldest
 * first, into the result's "kept". */
static void list_kept(qi_handle *h)
{
	json_t *kept = json_array();
	json_object_set_new(h->result, "kept", kept);
	int fd = openat(h->journal->statefd, "kept", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "run-", 4) == 0) {
			names = qi_xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = qi_xasprintf("%s/kept/%s", QI_STATE_DIR, de->d_name);
		}
	closedir(d);
	qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(kept, json_string(names[i]));
		free(names[i]);
	}
	free(names);
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
	list_kept(h);
	return 0;
}
