/*
 * patch/tree.c - the files a patch run reads and writes. Files are read
 * whole, through openat2() beneath the patched directory and never
 * through a symlink; changes are staged in memory and written by
 * qi_patch_tree_commit(), each as a new file renamed into place, so a run that
 * is abandoned (--atomic, a failed series) leaves the tree untouched.
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

struct qi_patch_entry *qi_patch_tree_get(struct qi_patch_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i]->path, path) == 0)
			return t->e[i];
	struct qi_patch_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->path = qi_xstrdup(path);
	e->loaded = true;
	int fd = open_beneath(t->dirfd, path, O_PATH | O_NOFOLLOW, 0);
	struct stat st;
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)) {
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
			int fd = open_beneath(t->dirfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
			*s = '/';
			if (fd < 0)
				break;
			close(fd);
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

void qi_patch_tree_remove(struct qi_patch_entry *e)
{
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

/* Remove PATH's parent directories that have become empty, as GNU patch
 * does after deleting a file. */
static void remove_empty_parents(struct qi_patch_tree *t, const char *path)
{
	char *p = qi_xstrdup(path);
	for (char *s = p + strlen(p); s > p; s--) {
		if (*s == '/' && s[-1] != '/') {
			*s = '\0';
			if (unlinkat(t->dirfd, p, AT_REMOVEDIR) < 0) {
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
		}
	}
	/* 3. the removals, and the directories they leave empty */
	for (size_t i = 0; i < t->n; i++) {
		struct qi_patch_entry *e = t->e[i];
		if (!e->dirty)
			continue;
		if (!e->exists && e->orig_exists) {
			if (unlinkat(t->dirfd, e->path, 0) < 0 && errno != ENOENT && rc == 0)
				rc = qi_error_errno(t->h, "cannot remove %s", e->path);
			remove_empty_parents(t, e->path);
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
