/*
 * fsroot.c - paths inside ROOT: the one path normaliser, the resolution
 * that never leaves ROOT, and images (the description of what one path
 * is: type, mode, owner, size, content hash, link target).
 *
 * Every path is resolved with openat2(2) and RESOLVE_IN_ROOT on the
 * handle's root descriptor: a symlink resolves as if ROOT were "/", so
 * ROOT/etc/x -> /etc means ROOT/etc, never the host's /etc. Changes act on
 * the directory that holds a path plus its last name, which is never
 * followed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Images                                                               */
/* ------------------------------------------------------------------ */

static const char *const ftype_names[] = {
	[QI_FT_ABSENT] = "absent", [QI_FT_REG] = "regular", [QI_FT_DIR] = "directory",
	[QI_FT_LNK] = "symlink", [QI_FT_FIFO] = "fifo", [QI_FT_OTHER] = "other",
};

const char *qi_ftype_name(enum qi_ftype t)
{
	return (unsigned)t < sizeof(ftype_names) / sizeof(ftype_names[0]) ? ftype_names[t] : "other";
}

enum qi_ftype qi_ftype_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(ftype_names) / sizeof(ftype_names[0]); i++)
		if (strcmp(s, ftype_names[i]) == 0)
			return (enum qi_ftype)i;
	return QI_FT_OTHER;
}

void qi_image_clear(struct qi_image *img)
{
	free(img->target);
	memset(img, 0, sizeof(*img));
}

void qi_image_copy(struct qi_image *dst, const struct qi_image *src)
{
	char *t = src->target ? qi_xstrdup(src->target) : NULL;
	free(dst->target);
	*dst = *src;
	dst->target = t;
}

bool qi_image_equal(const struct qi_image *a, const struct qi_image *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case QI_FT_ABSENT:
		return true;
	case QI_FT_LNK:
		return a->uid == b->uid && a->gid == b->gid &&
		       strcmp(a->target ? a->target : "", b->target ? b->target : "") == 0;
	case QI_FT_REG:
		if (strcmp(a->hash, b->hash) != 0 || a->size != b->size)
			return false;
		/* fall through */
	default:
		return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid;
	}
}

char *qi_image_describe(const struct qi_image *img)
{
	switch (img->type) {
	case QI_FT_ABSENT:
		return qi_xstrdup("absent");
	case QI_FT_LNK:
		return qi_xasprintf("symlink -> %s, owner %u:%u", img->target ? img->target : "",
				    (unsigned)img->uid, (unsigned)img->gid);
	case QI_FT_REG:
		return qi_xasprintf("regular file, mode %04o, owner %u:%u, %lld bytes, sha256 %.12s",
				    (unsigned)img->mode, (unsigned)img->uid, (unsigned)img->gid,
				    (long long)img->size, img->hash);
	default:
		return qi_xasprintf("%s, mode %04o, owner %u:%u", qi_ftype_name(img->type),
				    (unsigned)img->mode, (unsigned)img->uid, (unsigned)img->gid);
	}
}

/* ------------------------------------------------------------------ */
/* Paths                                                                */
/* ------------------------------------------------------------------ */

/* Without openat2 (kernels before 5.6, or valgrind, which does not know
 * it yet) the same resolution is done here: one component at a time, each
 * opened O_PATH|O_NOFOLLOW, symlinks read and resolved against ROOT, ".."
 * never above ROOT. Unlike the kernel's walk it is not atomic against
 * renames made at the same time inside ROOT; qinstall holds the root's
 * lock while it changes it. */
#define MAX_LINKS 40
int qi_root_walk(int rootfd, const char *path, int flags, mode_t mode)
{
	int stack[PATH_MAX / 2];	/* directory fds from ROOT down */
	int depth = 0, links = 0, rc = -1, e = 0;
	char *todo = qi_xstrdup(path);	/* what is left to resolve */
	stack[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (stack[0] < 0) {
		free(todo);
		return -1;
	}
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			/* the path named a directory we stand in */
			rc = openat(stack[depth], ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC, mode);
			e = errno;
			break;
		}
		char *end = strchrnul(p, '/');
		bool last = true;
		for (char *q = end; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}
		char name[NAME_MAX + 1];
		size_t len = (size_t)(end - p);
		if (len > NAME_MAX) {
			e = ENAMETOOLONG;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p = end;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		struct stat st;
		bool exists = fstatat(stack[depth], name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!exists && errno != ENOENT) {
			e = errno;
			break;
		}
		bool follow = !last || !(flags & O_NOFOLLOW);
		if (exists && S_ISLNK(st.st_mode) && follow && !(last && (flags & O_CREAT) && (flags & O_EXCL))) {
			if (++links > MAX_LINKS) {
				e = ELOOP;
				break;
			}
			char target[PATH_MAX];
			ssize_t n = readlinkat(stack[depth], name, target, sizeof(target) - 1);
			if (n < 0) {
				e = errno;
				break;
			}
			target[n] = '\0';
			if (target[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			char *rest = qi_xasprintf("%s/%s", target, p);
			free(todo);
			todo = p = rest;
			continue;
		}
		if (last) {
			rc = openat(stack[depth], name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			e = errno;
			break;
		}
		if (!exists) {
			e = ENOENT;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			e = ENOTDIR;
			break;
		}
		if (depth + 1 >= (int)(sizeof(stack) / sizeof(stack[0]))) {
			e = ENAMETOOLONG;
			break;
		}
		int fd = openat(stack[depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			break;
		}
		stack[++depth] = fd;
	}
	while (depth >= 0)
		close(stack[depth--]);
	free(todo);
	if (rc < 0)
		errno = e;
	return rc;
}

static int root_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	static bool no_openat2;
	if (!no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		long fd;
		do
			fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		while (fd < 0 && errno == EAGAIN);
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		no_openat2 = true;
	}
	return qi_root_walk(dirfd, path, flags, mode);
}

char *qi_path_normalise(const char *path, unsigned flags)
{
	bool relative = flags & QI_PATH_RELATIVE;
	if (!path || (path[0] == '/') == relative) {
		errno = EINVAL;
		return NULL;
	}
	char *out = qi_xmalloc(strlen(path) + 2);
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (!(flags & QI_PATH_DOTDOT) || (relative && o == 0)) {
				free(out);
				errno = EINVAL;
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;	/* the "/" before the dropped component */
		} else if (!(len == 1 && p[0] == '.')) {
			if (!relative || o > 0)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	if (o == 0 && !relative)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* The canonical form of PATH, or NULL (errno EINVAL or ENAMETOOLONG). */
static char *clean_path(const char *path)
{
	char *out = qi_path_normalise(path, 0);
	if (out && strlen(out) >= PATH_MAX) {
		free(out);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return out;
}

char *qi_path_clean(qi_handle *h, const char *path)
{
	char *out = clean_path(path);
	if (out)
		return out;
	if (!path || path[0] != '/')
		qi_error_kind(h, QI_ERR_USAGE, "'%s': paths inside the root must be absolute (start with /)",
			      path ? path : "(null)");
	else if (errno == ENAMETOOLONG)
		qi_error_kind(h, QI_ERR_USAGE, "'%.60s...': path too long", path);
	else
		qi_error_kind(h, QI_ERR_USAGE, "'%s': '..' is not allowed in a path inside the root", path);
	return NULL;
}

int qi_root_parent(qi_handle *h, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	*name = slash + 1;
	if (slash == path)
		return root_openat2(h->rootfd, "/", O_PATH | O_DIRECTORY, 0);
	char parent[PATH_MAX];
	size_t len = (size_t)(slash - path);
	if (len >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, len);
	parent[len] = '\0';
	return root_openat2(h->rootfd, parent, O_PATH | O_DIRECTORY, 0);
}

int qi_image_at(int dirfd, const char *name, bool want_hash, struct qi_image *img)
{
	struct stat st;
	memset(img, 0, sizeof(*img));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	img->mode = st.st_mode & 07777;
	img->uid = st.st_uid;
	img->gid = st.st_gid;
	img->size = st.st_size;
	if (S_ISREG(st.st_mode)) {
		img->type = QI_FT_REG;
		if (want_hash) {
			int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			if (fd < 0)
				return -1;
			int rc = qi_sha256_fd(fd, img->hash, &img->size);
			int e = errno;
			close(fd);
			errno = e;
			if (rc < 0)
				return -1;
		}
	} else if (S_ISDIR(st.st_mode)) {
		img->type = QI_FT_DIR;
		img->size = 0;
	} else if (S_ISLNK(st.st_mode)) {
		img->type = QI_FT_LNK;
		img->mode = 0777;
		char buf[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
		if (n < 0)
			return -1;
		buf[n] = '\0';
		img->target = qi_xstrdup(buf);
		img->size = n;
	} else if (S_ISFIFO(st.st_mode)) {
		img->type = QI_FT_FIFO;
		img->size = 0;
	} else {
		img->type = QI_FT_OTHER;
	}
	return 0;
}

int qi_image_path(qi_handle *h, const char *path, bool want_hash, struct qi_image *img)
{
	memset(img, 0, sizeof(*img));
	if (strcmp(path, "/") == 0) {
		struct stat st;
		if (fstatat(h->rootfd, "", &st, AT_EMPTY_PATH) < 0)
			return -1;
		img->type = QI_FT_DIR;
		img->mode = st.st_mode & 07777;
		img->uid = st.st_uid;
		img->gid = st.st_gid;
		return 0;
	}
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	int rc = qi_image_at(dfd, name, want_hash, img);
	int e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The public API                                                       */
/* ------------------------------------------------------------------ */

int qi_root_open(qi_handle *h, const char *path, int flags, mode_t mode)
{
	if (!path || path[0] != '/')
		return qi_error_kind(h, QI_ERR_USAGE, "'%s': paths inside the root must be absolute",
				     path ? path : "(null)");
	int fd = root_openat2(h->rootfd, path, flags, mode);
	if (fd < 0) {
		int e = errno;
		char *full = qi_root_path(h, path);
		errno = e;
		qi_error_errno(h, "cannot open %s", full);
		free(full);
		errno = e;
		return -1;
	}
	return fd;
}

int qi_root_lstat(qi_handle *h, const char *path, struct stat *st)
{
	char *clean = clean_path(path);
	if (!clean)
		return -1;
	int rc;
	if (strcmp(clean, "/") == 0) {
		rc = fstatat(h->rootfd, "", st, AT_EMPTY_PATH);
	} else {
		const char *name;
		int dfd = qi_root_parent(h, clean, &name);
		rc = dfd < 0 ? -1 : fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		errno = e;
	}
	int e = errno;
	free(clean);
	errno = e;
	return rc;
}

int qi_root_read(qi_handle *h, const char *path, char **buf, size_t *len)
{
	int fd = qi_root_open(h, path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	char *full = qi_root_path(h, path);
	int rc = qi_input_read_fd(h, QI_ERR_FAILED, fd, "file", full, QI_INPUT_MAX, buf, len);
	free(full);
	close(fd);
	return rc;
}

char *qi_root_path(const qi_handle *h, const char *path)
{
	if (!path)
		path = "";
	if (strcmp(h->root, "/") == 0)
		return qi_xstrdup(path[0] ? path : "/");
	return qi_xasprintf("%s%s%s", h->root, path[0] == '/' || !path[0] ? "" : "/", path);
}

/* Look NAME up in ROOT's passwd or group file (FILE): field 0 is the name,
 * field 2 the id. A number is taken as it is. */
static int root_id(qi_handle *h, const char *file, const char *what, const char *name,
		   unsigned *id)
{
	if (!name || !*name)
		return qi_error_kind(h, QI_ERR_USAGE, "an empty %s name", what);
	char *end;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	if (*end == '\0' && errno == 0 && name[0] >= '0' && name[0] <= '9') {
		if (v >= (unsigned long)UINT32_MAX)
			return qi_error_kind(h, QI_ERR_USAGE, "%s id %s is out of range", what, name);
		*id = (unsigned)v;
		return 0;
	}
	if (qi_root_is_host(h)) {
		/* The host's own names may come from NSS (LDAP, ...). */
		if (strcmp(what, "user") == 0) {
			struct passwd *pw = getpwnam(name);
			if (pw) {
				*id = pw->pw_uid;
				return 0;
			}
		} else {
			struct group *gr = getgrnam(name);
			if (gr) {
				*id = gr->gr_gid;
				return 0;
			}
		}
		return qi_error(h, "no %s named '%s' on this system (create it first, or give a number)",
				what, name);
	}
	char *text;
	size_t len;
	if (qi_root_read(h, file, &text, &len) < 0)
		return qi_error_prefix(h, "cannot look up %s '%s'", what, name);
	int found = 0;
	size_t nlen = strlen(name);
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, name, nlen) == 0 && line[nlen] == ':') {
			/* name:password:ID:... */
			char *f = strchr(line + nlen + 1, ':');
			if (f) {
				errno = 0;
				v = strtoul(f + 1, &end, 10);
				if (end != f + 1 && (*end == ':' || *end == '\0') && errno == 0 &&
				    v < (unsigned long)UINT32_MAX) {
					*id = (unsigned)v;
					found = 1;
					break;
				}
			}
		}
		line = next;
	}
	free(text);
	if (!found) {
		char *full = qi_root_path(h, file);
		qi_error(h, "no %s named '%s' in %s (create it first, or give a number)", what, name, full);
		free(full);
		return -1;
	}
	return 0;
}

int qi_root_uid(qi_handle *h, const char *name, uid_t *uid)
{
	unsigned id;
	if (root_id(h, "/etc/passwd", "user", name, &id) < 0)
		return -1;
	*uid = (uid_t)id;
	return 0;
}

int qi_root_gid(qi_handle *h, const char *name, gid_t *gid)
{
	unsigned id;
	if (root_id(h, "/etc/group", "group", name, &id) < 0)
		return -1;
	*gid = (gid_t)id;
	return 0;
}
