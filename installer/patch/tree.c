/*
 * patch/tree.c - the files a patch run reads and writes. A file's
 * directory is looked up as GNU patch 2.7.6 looks it up (its safe.c): a
 * symlinked directory is followed while it stays inside the patched
 * directory, and refused (as a file that is not there, or an invalid name
 * to write) when it leads out of it or loops; the file itself is never
 * followed. Each file is known by its path without symlinks, and read and
 * written through openat2() beneath the patched directory with no symlink
 * at all. Files are read whole; changes are staged in memory and written by
 * qi_patch_tree_commit(), each as a new file renamed into place, so a run that is
 * abandoned (--atomic, a failed series) leaves the tree untouched.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "patch/patch.h"

/* Without openat2 (kernels before 5.6, valgrind): walk the path one
 * component at a time, never following a symlink and never going up. */
static int open_by_components(int dirfd, const char *path, int flags, mode_t mode)
{
	char *copy = qi_xstrdup(path);
	int cur = dirfd, fd = -1;
	char *save = NULL, *comp = strtok_r(copy, "/", &save);
	if (path[0] == '/' || !comp) {
		errno = path[0] == '/' ? EXDEV : ENOENT;
		goto out;
	}
	for (;;) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, "..")) {
			errno = EXDEV;
			fd = -1;
			break;
		}
		if (!next) {
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			break;
		}
		int nfd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			if (errno == ENOTDIR) {
				/* a symlink (or a file) where a directory should be */
				struct stat st;
				if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
					errno = ELOOP;
			}
			fd = -1;
			break;
		}
		if (cur != dirfd)
			close(cur);
		cur = nfd;
		comp = next;
	}
out:
	if (cur != dirfd) {
		int e = errno;
		close(cur);
		errno = e;
	}
	free(copy);
	return fd;
}

static int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	static bool no_openat2;
	if (!no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		no_openat2 = true;
	}
	return open_by_components(dirfd, path, flags, mode);
}

/* GNU patch's limit on the components of a path and of the symlinks
 * walked for it. */
#define MAX_WALK_COMPONENTS 1024

static unsigned count_components(const char *path)
{
	unsigned n = 0;
	for (const char *p = path; *p; p++)
		if (*p != '/' && (p == path || p[-1] == '/'))
			n++;
	return n;
}

/* Where an absolute symlink TARGET enters the patched directory: the rest
 * after its longest prefix that is that directory (stat'ed, as GNU patch
 * does), or NULL when no prefix is. */
static const char *absolute_entry(struct qi_patch_tree *t, const char *target)
{
	struct stat top, st;
	if (fstat(t->dirfd, &top) < 0)
		return NULL;
	char *buf = qi_xstrdup(target);
	size_t end = strlen(buf);
	const char *rest = NULL;
	for (;;) {
		char c = buf[end];
		buf[end] = '\0';
		bool same = stat(buf, &st) == 0 && st.st_dev == top.st_dev && st.st_ino == top.st_ino;
		buf[end] = c;
		if (same) {
			rest = target + end;
			break;
		}
		if (end <= 1)
			break;
		/* back to the previous component boundary */
		while (end > 1 && buf[end - 1] != '/')
			end--;
		while (end > 1 && buf[end - 1] == '/')
			end--;
	}
	free(buf);
	if (rest)
		while (*rest == '/')
			rest++;
	return rest;
}

/* The walk of a directory path: the directories entered (fds[0] is the
 * patched directory) and the path without symlinks so far. */
struct walk {
	int fds[MAX_WALK_COMPONENTS + 1];
	size_t ends[MAX_WALK_COMPONENTS + 1];	/* canon's length at each depth */
	int depth;
	struct qi_buf canon;
};

static void walk_push(struct walk *w, int fd, const char *name, size_t len)
{
	w->depth++;
	w->fds[w->depth] = fd;
	if (w->canon.len)
		qi_buf_add(&w->canon, "/", 1);
	qi_buf_add(&w->canon, name, len);
	w->ends[w->depth] = w->canon.len;
}

static void walk_pop(struct walk *w)
{
	close(w->fds[w->depth]);
	w->depth--;
	w->canon.len = w->ends[w->depth];
	if (w->canon.data)
		w->canon.data[w->canon.len] = '\0';
}

/* The rest of a walk below a directory that does not exist: appended as
 * it is written ("." dropped, ".." taking one back); -1 when it climbs
 * out of the patched directory. */
static int walk_missing(struct walk *w, const char *rest)
{
	char *copy = qi_xstrdup(rest), *save = NULL;
	int rc = 0;
	size_t base = w->canon.len;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (w->canon.len > base) {
				char *slash = strrchr(w->canon.data + base, '/');
				w->canon.len = slash ? (size_t)(slash - w->canon.data) : base;
			} else if (w->depth > 0) {
				walk_pop(w);
				base = w->canon.len;
			} else {
				rc = -1;
				break;
			}
			if (w->canon.data)
				w->canon.data[w->canon.len] = '\0';
			continue;
		}
		if (w->canon.len)
			qi_buf_add(&w->canon, "/", 1);
		qi_buf_add(&w->canon, c, strlen(c));
	}
	free(copy);
	return rc;
}

/* One step: the next component of *REST (which may be replaced by a
 * symlink's target followed by the rest). */
static enum qi_patch_where walk_step(struct qi_patch_tree *t, struct walk *w, char **rest, unsigned *steps)
{
	char *p = *rest;
	while (*p == '/')
		p++;
	size_t len = strcspn(p, "/");
	char *name = strndup(p, len);
	if (!name)
		abort();
	char *after = p + len;
	enum qi_patch_where where = QI_PATCH_FOUND;
	if (!strcmp(name, ".")) {
		memmove(*rest, after, strlen(after) + 1);
	} else if (!strcmp(name, "..")) {
		if (w->depth == 0)
			where = QI_PATCH_ESCAPES;
		else
			walk_pop(w);
		memmove(*rest, after, strlen(after) + 1);
	} else {
		int fd = openat(w->fds[w->depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		char target[4096];
		ssize_t n;
		if (fd >= 0) {
			walk_push(w, fd, name, len);
			memmove(*rest, after, strlen(after) + 1);
		} else if (errno != ELOOP && errno != ENOTDIR) {
			/* not there (or not to be entered): the rest as written */
			where = walk_missing(w, p) < 0 ? QI_PATCH_ESCAPES : QI_PATCH_MISSING;
		} else if ((errno == ELOOP || errno == ENOTDIR) &&
			   fstatat(w->fds[w->depth], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISLNK(st.st_mode) &&
			   (n = readlinkat(w->fds[w->depth], name, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			/* GNU walks even an absolute target's rest from the
			 * symlink's own directory */
			const char *in = target[0] == '/' ? absolute_entry(t, target) : target;
			*steps += in ? count_components(in) : 0;
			if (!in)
				where = QI_PATCH_ESCAPES;
			else if (*steps > MAX_WALK_COMPONENTS)
				where = QI_PATCH_LOOPS;
			else {
				char *next = qi_xasprintf("%s/%s", in, after);
				free(*rest);
				*rest = next;
			}
		} else {
			/* a file where a directory should be */
			where = QI_PATCH_NOTDIR;
		}
	}
	free(name);
	return where;
}

/* Look DIR up (a directory path relative to the patched directory) the
 * way GNU patch does; *CANON (malloc'd) is where it is, without symlinks
 * ("" for the patched directory itself; for QI_PATCH_MISSING with the missing
 * part as written; NULL when it escapes or loops). */
static enum qi_patch_where walk_dir(struct qi_patch_tree *t, const char *dir, char **canon)
{
	struct walk *w = qi_xmalloc(sizeof(*w));
	w->fds[0] = t->dirfd;
	w->ends[0] = 0;
	w->depth = 0;
	memset(&w->canon, 0, sizeof(w->canon));
	qi_buf_add(&w->canon, "", 0);
	char *rest = qi_xstrdup(dir);
	unsigned steps = count_components(dir);
	enum qi_patch_where where = steps > MAX_WALK_COMPONENTS ? QI_PATCH_LOOPS : QI_PATCH_FOUND;
	while (where == QI_PATCH_FOUND && rest[strspn(rest, "/")])
		where = walk_step(t, w, &rest, &steps);
	free(rest);
	for (; w->depth > 0; w->depth--)
		close(w->fds[w->depth]);
	*canon = where == QI_PATCH_FOUND || where == QI_PATCH_MISSING ? w->canon.data : NULL;
	if (!*canon)
		qi_buf_free(&w->canon);
	free(w);
	return where;
}

enum qi_patch_where qi_patch_tree_where(struct qi_patch_tree *t, const char *path, char **canon)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1]) {
		*canon = qi_xstrdup(path);
		return QI_PATCH_FOUND;
	}
	char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		abort();
	char *cdir = NULL;
	enum qi_patch_where where = walk_dir(t, dir, &cdir);
	free(dir);
	*canon = NULL;
	if (cdir)
		*canon = *cdir ? qi_xasprintf("%s/%s", cdir, slash + 1) : qi_xstrdup(slash + 1);
	free(cdir);
	return where;
}

int qi_patch_tree_open(qi_handle *h, struct qi_patch_tree *t, const char *dir)
{
	memset(t, 0, sizeof(*t));
	t->h = h;
	t->dirfd = open(dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0)
		return qi_error_errno(h, "cannot open directory %s", dir ? dir : ".");
	return 0;
}

static void entry_free(struct qi_patch_entry *e)
{
	free(e->removed_as);
	free(e->pdata);
	free(e->path);
	free(e->data);
	free(e->orig_data);
	free(e);
}

void qi_patch_tree_close(struct qi_patch_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(t->e[i]);
	free(t->e);
	if (t->dirfd >= 0)
		close(t->dirfd);
	memset(t, 0, sizeof(*t));
	t->dirfd = -1;
}

static int read_fd(int fd, char **data, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = qi_xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = qi_xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

struct qi_patch_entry *qi_patch_tree_get(struct qi_patch_tree *t, const char *name)
{
	char *canon = NULL;
	enum qi_patch_where where = qi_patch_tree_where(t, name, &canon);
	const char *path = canon ? canon : name;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i]->path, path) == 0 && t->e[i]->invalid == !canon) {
			free(canon);
			return t->e[i];
		}
	struct qi_patch_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->path = qi_xstrdup(path);
	free(canon);
	path = e->path;
	e->loaded = true;
	e->invalid = where == QI_PATCH_ESCAPES || where == QI_PATCH_LOOPS || where == QI_PATCH_NOTDIR;
	int fd = e->invalid ? -1 : open_beneath(t->dirfd, path, O_PATH | O_NOFOLLOW, 0);
	struct stat st;
	if (e->invalid) {
		e->exists = false;
	} else if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)) {
		e->exists = false;
	} else if (fd < 0 || fstat(fd, &st) < 0) {
		qi_error_errno(t->h, "cannot look at %s", path);
		if (fd >= 0)
			close(fd);
		entry_free(e);
		return NULL;
	} else {
		e->exists = true;
		e->mode = st.st_mode & 07777;
		e->uid = st.st_uid;
		e->gid = st.st_gid;
		e->is_link = S_ISLNK(st.st_mode);
		e->is_reg = S_ISREG(st.st_mode);
		close(fd);
		if (e->is_reg) {
			fd = open_beneath(t->dirfd, path, O_RDONLY | O_NOFOLLOW, 0);
			if (fd < 0 || read_fd(fd, &e->data, &e->len) < 0) {
				qi_error_errno(t->h, "cannot read %s", path);
				if (fd >= 0)
					close(fd);
				entry_free(e);
				return NULL;
			}
			close(fd);
		}
	}
	e->orig_exists = e->exists;
	e->orig_mode = e->mode;
	if (e->data) {
		e->orig_data = qi_xmalloc(e->len + 1);
		memcpy(e->orig_data, e->data, e->len + 1);
		e->orig_len = e->len;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->e = qi_xrealloc(t->e, sizeof(*t->e) * t->cap);
	}
	t->e[t->n++] = e;
	return e;
}

int qi_patch_tree_existing_dirs(struct qi_patch_tree *t, const char *path)
{
	char *p = qi_xstrdup(path);
	int count = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s == '/' && s[-1] != '/') {
			*s = '\0';
			char *canon = NULL;
			bool found = walk_dir(t, p, &canon) == QI_PATCH_FOUND;
			free(canon);
			*s = '/';
			if (!found)
				break;
			count++;
		}
	}
	free(p);
	return count;
}

void qi_patch_tree_set(struct qi_patch_entry *e, char *data, size_t len, mode_t mode)
{
	free(e->data);
	e->data = data;
	e->len = len;
	e->mode = mode & 07777;
	e->created = e->created || !e->exists;
	e->exists = true;
	e->is_reg = true;
	e->is_link = false;
	e->dirty = true;
}

void qi_patch_tree_set_later(struct qi_patch_entry *e, char *data, size_t len, mode_t mode)
{
	free(e->pdata);
	e->pdata = data;
	e->plen = len;
	e->pmode = mode;
	e->pending = true;
}

void qi_patch_tree_flush(struct qi_patch_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct qi_patch_entry *e = t->e[i];
		if (!e->pending)
			continue;
		qi_patch_tree_set(e, e->pdata, e->plen, e->pmode);
		e->pdata = NULL;
		e->pending = false;
	}
}

void qi_patch_tree_remove(struct qi_patch_entry *e, const char *name)
{
	free(e->removed_as);
	e->removed_as = qi_xstrdup(name);
	free(e->data);
	e->data = NULL;
	e->len = 0;
	e->exists = false;
	e->is_reg = false;
	e->dirty = true;
}

/* mkdir -p of PATH's parent directories, beneath the tree. */
static int make_parents(struct qi_patch_tree *t, const char *path)
{
	char *p = qi_xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		int fd = open_beneath(t->dirfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
		if (fd >= 0) {
			close(fd);
		} else if (errno == ENOENT) {
			char *slash = strrchr(p, '/');
			int pfd = t->dirfd;
			const char *leaf = p;
			if (slash) {
				*slash = '\0';
				pfd = open_beneath(t->dirfd, p, O_PATH | O_DIRECTORY, 0);
				*slash = '/';
				leaf = slash + 1;
			}
			if (pfd < 0 || (mkdirat(pfd, leaf, 0777) < 0 && errno != EEXIST)) {
				rc = qi_error_errno(t->h, "cannot create directory %s", p);
			}
			if (pfd >= 0 && pfd != t->dirfd)
				close(pfd);
		} else {
			rc = qi_error_errno(t->h, "cannot use directory %s (a symlink or not a directory)", p);
		}
		*s = '/';
		if (rc < 0)
			break;
	}
	free(p);
	return rc;
}

/* A new file written beside its target, waiting to be renamed over it. */
struct staged {
	int pfd;		/* its directory (t->dirfd or our own descriptor) */
	char *tmp;		/* its name there */
	const char *leaf;	/* the target's name there (points into path) */
	const char *path;	/* the target, for messages */
};

static void staged_drop(struct qi_patch_tree *t, struct staged *s)
{
	if (s->tmp)
		unlinkat(s->pfd, s->tmp, 0);
	if (s->pfd >= 0 && s->pfd != t->dirfd)
		close(s->pfd);
	free(s->tmp);
	s->tmp = NULL;
	s->pfd = -1;
}

/* Write DATA as a new file beside PATH (its directories made first);
 * OWNER is kept when WANT_OWNER. */
static int stage_file(struct qi_patch_tree *t, const char *path, const char *data, size_t len,
		      mode_t mode, bool want_owner, uid_t uid, gid_t gid, struct staged *s)
{
	memset(s, 0, sizeof(*s));
	s->pfd = -1;
	s->path = path;
	if (make_parents(t, path) < 0)
		return -1;
	const char *slash = strrchr(path, '/');
	s->pfd = t->dirfd;
	s->leaf = path;
	if (slash) {
		char *dir = qi_xstrdup(path);
		dir[slash - path] = '\0';
		s->pfd = open_beneath(t->dirfd, dir, O_PATH | O_DIRECTORY, 0);
		free(dir);
		if (s->pfd < 0)
			return qi_error_errno(t->h, "cannot open the directory of %s", path);
		s->leaf = slash + 1;
	}
	char *tmp = qi_xasprintf(".%s.qinstall-%ld", s->leaf, (long)getpid());
	int fd = openat(s->pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(s->pfd, tmp, 0) == 0)
		fd = openat(s->pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return qi_error_errno(t->h, "cannot create a new file beside %s", path);
	}
	s->tmp = tmp;
	if (qi_write_all(fd, data, len) < 0 ||
	    (want_owner && fchown(fd, uid, gid) < 0 && geteuid() == 0) ||
	    fchmod(fd, mode & 07777) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return qi_error_errno(t->h, "cannot write the new %s", path);
	}
	if (close(fd) < 0)
		return qi_error_errno(t->h, "cannot write the new %s", path);
	return 0;
}

/* unlinkat of PATH (without symlinks) in its directory, beneath the tree;
 * -1 with errno set. */
static int unlink_beneath(struct qi_patch_tree *t, const char *path, int flags)
{
	const char *slash = strrchr(path, '/');
	int pfd = t->dirfd;
	if (slash) {
		char *dir = strndup(path, (size_t)(slash - path));
		if (!dir)
			abort();
		pfd = open_beneath(t->dirfd, dir, O_PATH | O_DIRECTORY, 0);
		free(dir);
		if (pfd < 0)
			return -1;
	}
	int rc = unlinkat(pfd, slash ? slash + 1 : path, flags);
	int e = errno;
	if (pfd != t->dirfd)
		close(pfd);
	errno = e;
	return rc;
}

/* Remove the parent directories of NAME (the file's name in the patch)
 * that have become empty, as GNU patch does after deleting a file: each
 * looked up as it is, a symlink among them ending it. */
static void remove_empty_parents(struct qi_patch_tree *t, const char *name)
{
	char *p = qi_xstrdup(name);
	for (char *s = p + strlen(p); s > p; s--) {
		if (*s == '/' && s[-1] != '/') {
			*s = '\0';
			char *canon = NULL;
			bool gone = qi_patch_tree_where(t, p, &canon) == QI_PATCH_FOUND &&
				    unlink_beneath(t, canon, AT_REMOVEDIR) == 0;
			free(canon);
			if (!gone) {
				free(p);
				return;
			}
		}
	}
	free(p);
}

int qi_patch_tree_commit(struct qi_patch_tree *t)
{
	mode_t mask = umask(0);
	umask(mask);
	struct staged *st = qi_xmalloc(sizeof(*st) * (2 * t->n + 1));
	char **names = qi_xmalloc(sizeof(*names) * (t->n + 1));
	size_t ns = 0, nn = 0;
	int rc = 0;
	/* 1. every new file beside its target */
	for (size_t i = 0; i < t->n && rc == 0; i++) {
		struct qi_patch_entry *e = t->e[i];
		if (!e->dirty)
			continue;
		if (e->backup && e->orig_exists) {
			names[nn] = qi_xasprintf("%s.orig", e->path);
			rc = stage_file(t, names[nn], e->orig_data ? e->orig_data : "", e->orig_len,
					e->backup_copy ? e->orig_mode & ~mask : e->orig_mode,
					!e->backup_copy, e->uid, e->gid, &st[ns]);
			nn++;
			ns++;
			if (rc < 0)
				break;
		}
		if (e->exists) {
			mode_t mode = e->created && !e->mode ? (0666 & ~mask) : e->mode;
			rc = stage_file(t, e->path, e->data ? e->data : "", e->len, mode,
					!e->created, e->uid, e->gid, &st[ns]);
			ns++;
		}
	}
	if (rc < 0) {
		for (size_t i = 0; i < ns; i++)
			staged_drop(t, &st[i]);
		goto out;
	}
	/* 2. all renamed into place */
	for (size_t i = 0; i < ns; i++) {
		if (renameat(st[i].pfd, st[i].tmp, st[i].pfd, st[i].leaf) < 0 && rc == 0) {
			rc = qi_error_errno(t->h, "cannot put the new %s in place", st[i].path);
			staged_drop(t, &st[i]);
		} else {
			free(st[i].tmp);
			st[i].tmp = NULL;
			staged_drop(t, &st[i]);
			t->written++;
		}
	}
	/* 3. the removals, and the directories they leave empty */
	for (size_t i = 0; i < t->n; i++) {
		struct qi_patch_entry *e = t->e[i];
		if (!e->dirty)
			continue;
		if (!e->exists && e->orig_exists) {
			if (unlink_beneath(t, e->path, 0) == 0)
				t->written++;
			else if (errno != ENOENT && rc == 0)
				rc = qi_error_errno(t->h, "cannot remove %s", e->path);
			remove_empty_parents(t, e->removed_as ? e->removed_as : e->path);
		}
		e->dirty = false;
		e->backup = false;
		e->backup_copy = false;
	}
out:
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	free(st);
	return rc;
}
