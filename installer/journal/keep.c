/*
 * keep.c - what a rollback keeps aside instead of deleting it: whatever
 * qinstall did not write that lies in a directory the rollback removes
 * (mail delivered into a Maildir a run made, queued messages, logs), and
 * what stands at a path the rollback replaces or removes when it is not
 * what qinstall left there (a file it wrote, changed since). rollback.c
 * replays the undo on paths and notes those directories and paths; this
 * file reads the directories (each opened with O_NOFOLLOW from one opened
 * inside ROOT, so nothing is ever followed out of it), checks that every
 * entry can be moved, all before anything is undone, and then moves each
 * one, never copying it, with rename(2) (RENAME_NOREPLACE) into
 * ROOT/var/lib/qinstall/kept/run-N-YYYYMMDDTHHMMSSZ/PATH: its owner, mode
 * and timestamps stay. A rename is atomic, so a rollback killed half-way
 * loses nothing, and the next attempt moves what is left into the same
 * directory. No rollback removes anything below kept/.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static const struct qi_image marker = { .type = QI_FT_DIR };

/* ------------------------------------------------------------------ */
/* What the runs wrote, what the undo removes                           */
/* ------------------------------------------------------------------ */

void qi_keep_plan_path(struct qi_keep *k, const char *path, int64_t id)
{
	if (!path)
		return;
	qi_imagemap_set(&k->plan, path, &marker);
	char *up = qi_xstrdup(path);
	for (char *slash = strrchr(up, '/'); slash && slash != up; slash = strrchr(up, '/')) {
		*slash = '\0';
		if (qi_imagemap_get(&k->above, up))
			break;	/* and every directory above it */
		qi_imagemap_set(&k->above, up, &marker);
	}
	free(up);
	if (id > 0) {
		const char *slash = strrchr(path, '/');
		char *tmp = qi_xasprintf("%.*s/" QI_TMP_PREFIX "%lld", (int)(slash - path), path,
					 (long long)id);
		qi_imagemap_set(&k->plan, tmp, &marker);
		free(tmp);
	}
}

void qi_keep_dir(struct qi_keep *k, const char *path)
{
	for (size_t i = 0; i < k->ndirs; i++)
		if (strcmp(k->dirs[i], path) == 0)
			return;
	if (k->ndirs == k->capdirs) {
		k->capdirs = k->capdirs ? 2 * k->capdirs : 8;
		k->dirs = qi_xrealloc(k->dirs, k->capdirs * sizeof(*k->dirs));
	}
	k->dirs[k->ndirs++] = qi_xstrdup(path);
}

static void add_item(struct qi_keep *k, const char *path, mode_t type, int64_t files, bool edited)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->items[i].path, path) == 0)
			return;
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 8;
		k->items = qi_xrealloc(k->items, k->cap * sizeof(*k->items));
	}
	k->items[k->n++] = (struct qi_keep_item){ qi_xstrdup(path), NULL, type, files, edited };
}

void qi_keep_edited(struct qi_keep *k, const char *path)
{
	add_item(k, path, 0, 1, true);
}

/* ------------------------------------------------------------------ */
/* Reading the directories the undo removes                             */
/* ------------------------------------------------------------------ */

static int read_error(qi_handle *h, const char *path)
{
	int e = errno;
	char *full = qi_root_path(h, path);
	errno = e;
	qi_error_errno(h, "cannot roll back: cannot read %s to keep aside what qinstall did not "
		       "write in it (nothing of it was changed)", full);
	free(full);
	return -1;
}

/* The files (anything but a directory) below the directory FD (closed). */
static int64_t count_files(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	int64_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			n++;
			continue;
		}
		int sub = openat(dirfd(d), de->d_name, DIR_FLAGS);
		if (sub >= 0)
			n += count_files(sub);
	}
	closedir(d);
	return n;
}

/* The files below the directory NAME in DFD. */
static int64_t count_below(int dfd, const char *name)
{
	int fd = openat(dfd, name, DIR_FLAGS);
	return fd < 0 ? 0 : count_files(fd);
}

static int scan_dir(qi_handle *h, struct qi_keep *k, int fd, const char *path);

/* NAME in DFD, PATH inside ROOT: kept when the runs wrote nothing there
 * (a directory holding something they wrote is read in turn). */
static int scan_entry(qi_handle *h, struct qi_keep *k, int dfd, const char *name, const char *path)
{
	if (qi_state_part(path) != QI_STATE_OUTSIDE)
		return 0;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : read_error(h, path);
	bool planned = qi_imagemap_get(&k->plan, path) != NULL;
	bool above = qi_imagemap_get(&k->above, path) != NULL;
	if (!S_ISDIR(st.st_mode) && planned)
		return 0;	/* its own undo makes it what it was */
	if (S_ISDIR(st.st_mode) && !planned && above && k->later) {
		/* a directory put there that the runs wrote into: it is kept
		 * whole once the later runs are undone (it is looked at again
		 * then), or said so by --check */
		if (k->check)
			add_item(k, path, S_IFDIR, count_below(dfd, name), false);
		return 0;
	}
	if (!S_ISDIR(st.st_mode) || (!planned && !above)) {
		add_item(k, path, st.st_mode & S_IFMT, S_ISDIR(st.st_mode) ? count_below(dfd, name) : 1,
			 false);
		return 0;
	}
	int fd = openat(dfd, name, DIR_FLAGS);
	if (fd < 0)
		return errno == ENOENT ? 0 : read_error(h, path);
	return scan_dir(h, k, fd, path);
}

/* Every entry of the directory FD (closed), PATH inside ROOT. */
static int scan_dir(qi_handle *h, struct qi_keep *k, int fd, const char *path)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return read_error(h, path);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *child = qi_xasprintf("%s/%s", strcmp(path, "/") == 0 ? "" : path, de->d_name);
		rc = scan_entry(h, k, dirfd(d), de->d_name, child);
		free(child);
	}
	closedir(d);
	return rc;
}

/* Whether the I-th directory is below another one noted (read with it). */
static bool below_another(const struct qi_keep *k, size_t i)
{
	for (size_t j = 0; j < k->ndirs; j++) {
		size_t n = strlen(k->dirs[j]);
		if (j != i && strncmp(k->dirs[i], k->dirs[j], n) == 0 && k->dirs[i][n] == '/')
			return true;
	}
	return false;
}

static int scan_removed(qi_handle *h, struct qi_keep *k, const char *path)
{
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0)
		return 0;	/* not there: nothing in it */
	int fd = openat(dfd, name, DIR_FLAGS);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		return e == ENOENT || e == ENOTDIR || e == ELOOP ? 0 : read_error(h, path);
	}
	return scan_dir(h, k, fd, path);
}

/* ------------------------------------------------------------------ */
/* Where it goes                                                        */
/* ------------------------------------------------------------------ */

/* The topmost directory above PATH (inside ROOT) on the file system DEV,
 * malloc'd; NULL when PATH itself is the top of that file system. */
static char *fs_top(qi_handle *h, const char *path, dev_t dev)
{
	char *p = qi_xstrdup(path);
	for (char *end = p; end; end = strchr(end + 1, '/')) {
		char c = *end;
		*end = '\0';
		struct stat st;
		bool top = qi_root_lstat(h, end == p ? "/" : p, &st) == 0 && S_ISDIR(st.st_mode) &&
			   st.st_dev == dev;
		if (top) {
			char *r = qi_xstrdup(end == p ? "/" : p);
			free(p);
			return r;
		}
		*end = c;
	}
	free(p);
	return NULL;
}

/* Where each item goes: the state directory's kept/, or, for one on
 * another file system (a rename cannot cross one), TOP/.qinstall-kept on
 * its own; one that is itself a mount point cannot be moved. */
static int place_items(qi_handle *h, struct qi_keep *k, bool started)
{
	struct stat sst;
	if (fstat(h->journal->statefd, &sst) < 0)
		return qi_error_errno(h, "cannot look at %s", QI_STATE_DIR);
	for (size_t i = 0; i < k->n; i++) {
		struct qi_keep_item *it = &k->items[i];
		struct stat st;
		if (qi_root_lstat(h, it->path, &st) < 0)
			continue;
		it->type = st.st_mode & S_IFMT;
		if (st.st_dev == sst.st_dev || it->base)
			continue;
		char *top = fs_top(h, it->path, st.st_dev);
		if (top) {
			it->base = qi_xasprintf("%s/" QI_KEPT_OTHER, strcmp(top, "/") == 0 ? "" : top);
			free(top);
			continue;
		}
		char *full = qi_root_path(h, it->path);
		qi_error(h, "cannot roll back: %s must be kept aside (qinstall did not write it), but it "
			 "is a mount point, and qinstall moves what it keeps, never copies it; unmount "
			 "it or move what it holds away by hand, and run the rollback again%s", full,
			 started ? "" : "; nothing was changed");
		free(full);
		return -1;
	}
	return 0;
}

static const char *base_of(const struct qi_keep_item *it)
{
	return it->base ? it->base : QI_KEPT_DIR;
}

/* The newest directory an earlier attempt made for the same run, into
 * BEST (room for NAME_MAX + 1), or "". */
static void earlier_dir(int statefd, int64_t run, char *best, size_t size)
{
	best[0] = '\0';
	int fd = openat(statefd, "kept", DIR_FLAGS);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "run-%lld-", (long long)run);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 && strcmp(de->d_name, best) > 0)
			snprintf(best, size, "%s", de->d_name);
	closedir(d);
}

/* Whether no item's place in BASE/DIR is taken. */
static bool places_free(qi_handle *h, const struct qi_keep *k, const char *dir)
{
	for (size_t i = 0; i < k->n; i++) {
		char *at = qi_xasprintf("%s/%s%s", base_of(&k->items[i]), dir, k->items[i].path);
		struct stat st;
		bool taken = qi_root_lstat(h, at, &st) == 0 || errno != ENOENT;
		free(at);
		if (taken)
			return false;
	}
	return true;
}

/* kept/run-N-...: the one an earlier attempt made, when every place in it
 * is free; else a new one. */
static int choose_dir(qi_handle *h, struct qi_keep *k)
{
	int statefd = h->journal->statefd;
	if (k->dir && places_free(h, k, k->dir))
		return 0;
	char name[NAME_MAX + 1];
	earlier_dir(statefd, k->run, name, sizeof(name));
	if (k->n == 0 || (name[0] && places_free(h, k, name))) {
		free(k->dir);
		k->dir = name[0] ? qi_xstrdup(name) : NULL;
		k->dir_exists = name[0] != '\0';
		return 0;
	}
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "run-%lld-%s", (long long)k->run, stamp);
	if (!places_free(h, k, name))
		return qi_error(h, "cannot roll back: %s/%s already holds what this rollback must keep "
				"aside there; run it again in a second", QI_KEPT_DIR, name);
	free(k->dir);
	k->dir = qi_xstrdup(name);
	k->dir_exists = false;
	return 0;
}

int qi_keep_find(qi_handle *h, struct qi_keep *k, bool started)
{
	for (size_t i = 0; i < k->ndirs; i++)
		if (!below_another(k, i) && scan_removed(h, k, k->dirs[i]) < 0)
			return -1;
	if (place_items(h, k, started) < 0)
		return -1;
	return choose_dir(h, k);
}

/* ------------------------------------------------------------------ */
/* Moving it there                                                      */
/* ------------------------------------------------------------------ */

/* The directory NAME in DFD, made when missing with the owner and mode of
 * SRC (the directory inside ROOT it stands for; 0700 when there is none).
 * An fd, or -1 with errno set. */
static int kept_subdir(qi_handle *h, int dfd, const char *name, const char *src)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(dfd, name, DIR_FLAGS);
	struct stat st, now;
	/* also when an attempt killed before made it */
	if (fd >= 0 && src && qi_root_lstat(h, src, &st) == 0 && S_ISDIR(st.st_mode) &&
	    fstat(fd, &now) == 0 && (now.st_uid != st.st_uid || now.st_gid != st.st_gid ||
				     (now.st_mode & 07777) != (st.st_mode & 07777)) &&
	    fchown(fd, st.st_uid, st.st_gid) == 0)
		fchmod(fd, st.st_mode & 07777);
	return fd;
}

/* The directory that takes ITEM: kept/DIR and the directories of its path
 * below it, from RUNFD. An fd, or -1 with errno set. */
static int item_parent(qi_handle *h, int runfd, const char *path)
{
	char *rel = qi_xstrdup(path);
	int fd = fcntl(runfd, F_DUPFD_CLOEXEC, 0);
	for (char *p = rel + 1, *slash; fd >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
		*slash = '\0';
		int next = kept_subdir(h, fd, p, rel);
		int e = errno;
		close(fd);
		errno = e;
		fd = next;
		*slash = '/';
	}
	free(rel);
	return fd;
}

static const char *kind_of(const struct qi_keep_item *it)
{
	switch (it->type) {
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symlink";
	case S_IFIFO: return "a FIFO";
	case S_IFREG: case 0: return "a file";
	default: return "a special file";
	}
}

/* ITEM moved (or, with CHECK, to be moved): said, and into "kept". */
static void report_item(qi_handle *h, struct qi_keep *k, const struct qi_keep_item *it, bool check)
{
	char *at = qi_xasprintf("%s/%s%s", base_of(it), k->dir, it->path);
	char *dir = qi_xasprintf("%s/%s", base_of(it), k->dir);
	bool seen = false;
	size_t i;
	json_t *d;
	json_array_foreach(k->dirs_used, i, d)
		seen = seen || strcmp(json_string_value(d), dir) == 0;
	if (!seen)
		json_array_append_new(k->dirs_used, json_string(dir));
	free(dir);
	json_t *o = json_object();
	json_object_set_new(o, "path", json_string(it->path));
	json_object_set_new(o, "kept_at", json_string(at));
	json_object_set_new(o, "files", json_integer(it->files));
	json_object_set_new(o, "why", json_string(it->edited ? "not what qinstall left there"
							   : "not written by qinstall"));
	json_array_append_new(k->kept, o);
	if (!check) {
		char *full = qi_root_path(h, at);
		char count[64] = "";
		if (it->type == S_IFDIR)
			snprintf(count, sizeof(count), " with %lld file%s", (long long)it->files,
				 it->files == 1 ? "" : "s");
		qi_warn(h, "kept %s aside (%s%s, %s): it is now %s", it->path, kind_of(it), count,
			it->edited ? "not what qinstall left there" : "qinstall did not write it", full);
		free(full);
	}
	free(at);
}

/* Move ITEM into RUNFD's tree; 1 when it was no longer there. */
static int move_item(qi_handle *h, int runfd, const struct qi_keep_item *it)
{
	const char *name;
	int sdfd = qi_root_parent(h, it->path, &name);
	if (sdfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : read_error(h, it->path);
	int dfd = item_parent(h, runfd, it->path);
	int rc = dfd < 0 ? -1 : renameat2(sdfd, name, dfd, name, RENAME_NOREPLACE);
	int e = errno;
	if (rc == 0)
		qi_journal_note_dev(h->journal, sdfd);
	close(sdfd);
	if (dfd >= 0)
		close(dfd);
	if (rc == 0)
		return 0;
	if (e == ENOENT && dfd >= 0)
		return 1;
	char *full = qi_root_path(h, it->path);
	errno = e;
	qi_error_errno(h, "cannot keep %s aside in %s", full, QI_KEPT_DIR);
	free(full);
	return -1;
}

/* BASE/DIR for IT, made when missing: kept/ in the state directory, or
 * TOP/.qinstall-kept. */
static int open_run_dir(qi_handle *h, const struct qi_keep *k, const struct qi_keep_item *it)
{
	int keptfd;
	if (!it->base) {
		keptfd = kept_subdir(h, h->journal->statefd, "kept", NULL);
	} else {
		char *top = qi_xstrdup(it->base);
		*strrchr(top, '/') = '\0';
		int topfd = qi_root_open(h, top[0] ? top : "/", DIR_FLAGS, 0);
		if (topfd < 0)
			qi_clear_error(h);
		keptfd = topfd < 0 ? -1 : kept_subdir(h, topfd, QI_KEPT_OTHER, NULL);
		if (topfd >= 0)
			close(topfd);
		free(top);
	}
	int fd = keptfd < 0 ? -1 : kept_subdir(h, keptfd, k->dir, NULL);
	int e = errno;
	if (keptfd >= 0)
		close(keptfd);
	if (fd < 0) {
		errno = e;
		return qi_error_errno(h, "cannot make %s/%s to keep aside what qinstall did not write",
				      base_of(it), k->dir);
	}
	qi_journal_note_dev(h->journal, fd);
	return fd;
}

int qi_keep_move(qi_handle *h, struct qi_keep *k)
{
	if (!k->kept)
		k->kept = json_array();
	if (!k->dirs_used)
		k->dirs_used = json_array();
	if (k->n == 0)
		return 0;
	int rc = 0;
	for (size_t i = 0; i < k->n && rc >= 0; i++) {
		const struct qi_keep_item *it = &k->items[i];
		int runfd = open_run_dir(h, k, it);
		rc = runfd < 0 ? -1 : move_item(h, runfd, it);
		if (runfd >= 0)
			close(runfd);
		if (rc == 0)
			report_item(h, k, it, false);
		if (rc == 0 && !it->base)
			k->dir_exists = true;
	}
	return rc < 0 || qi_journal_sync_devs(h) < 0 ? -1 : 0;
}

void qi_keep_list(qi_handle *h, struct qi_keep *k)
{
	if (!k->kept)
		k->kept = json_array();
	if (!k->dirs_used)
		k->dirs_used = json_array();
	for (size_t i = 0; i < k->n; i++)
		report_item(h, k, &k->items[i], true);
}

void qi_keep_report(qi_handle *h, struct qi_keep *k)
{
	json_object_set_new(h->result, "kept", k->kept ? json_incref(k->kept) : json_array());
	json_t *dirs = json_array();
	if (k->dir && k->dir_exists)
		json_array_append_new(dirs, json_sprintf("%s/%s", QI_KEPT_DIR, k->dir));
	size_t i;
	json_t *d;
	json_array_foreach(k->dirs_used, i, d)
		if (!json_equal(d, json_array_get(dirs, 0)))
			json_array_append(dirs, d);
	if (json_array_size(dirs))
		json_object_set(h->result, "kept_dir", json_array_get(dirs, 0));
	json_object_set_new(h->result, "kept_dirs", dirs);
}

void qi_keep_reset(struct qi_keep *k)
{
	qi_imagemap_clear(&k->plan);
	qi_imagemap_clear(&k->above);
	for (size_t i = 0; i < k->ndirs; i++)
		free(k->dirs[i]);
	k->ndirs = 0;
	for (size_t i = 0; i < k->n; i++) {
		free(k->items[i].path);
		free(k->items[i].base);
	}
	k->n = 0;
}

void qi_keep_free(struct qi_keep *k)
{
	qi_keep_reset(k);
	qi_imagemap_free(&k->plan);
	qi_imagemap_free(&k->above);
	free(k->dirs);
	free(k->items);
	free(k->dir);
	json_decref(k->kept);
	json_decref(k->dirs_used);
	memset(k, 0, sizeof(*k));
}
