/*
 * unit.h - what the cmocka unit tests share, instead of each writing its
 * own: temporary directories that are removed at the end, whole files
 * written and read, and the manifest of a tree, to compare a directory
 * before and after.
 *
 *   char *d = ut_tmpdir("journal");           // /tmp/qinstall-test-journal.XXXXXX
 *   ut_write(d, "etc/motd", "hello\n", 0644);
 *   assert_string_equal(ut_slurp(d, "etc/motd"), "hello\n");
 *   char *before = ut_tree(d, "var/lib/qinstall");
 *   ...
 *   ut_tmpdir_remove(d);                      // removes, forgets and frees d
 *
 * A file is named by a directory and a path in it (DIR, REL), or by REL
 * alone when DIR is NULL. Every helper that makes something asserts that
 * it could, so that a test never runs on a half-made fixture.
 *
 * Include it after <cmocka.h>, in a test whose first include is
 * config.h (for _GNU_SOURCE). The helpers are static inline: a test pays
 * only for those it calls, and no test program links anything more.
 */
#ifndef QI_TESTS_UNIT_H
#define QI_TESTS_UNIT_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/evp.h>

/* The directories ut_tmpdir made and not yet removed, the text last
 * returned by ut_slurp, and the process that owns them. */
struct ut_state {
	char *dirs[64];
	int ndirs;
	pid_t pid;
	char *slurped;
};

static inline struct ut_state *ut_state(void)
{
	static struct ut_state s;
	return &s;
}

/* ut_path(DIR, REL): "DIR/REL" (a leading "/" of REL is optional), or a
 * copy of REL when DIR is NULL; malloc'd. */
static inline char *ut_path(const char *dir, const char *rel)
{
	char *p;
	if (!dir)
		p = strdup(rel);
	else if (asprintf(&p, "%s%s%s", dir, rel[0] == '/' ? "" : "/", rel) < 0)
		p = NULL;
	assert_non_null(p);
	return p;
}

/* Remove NAME in DFD and everything below it; read-only directories are
 * emptied too, symlinks are removed, never followed. 0, or -1. */
static inline int ut_rmtree_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	fchmodat(dfd, name, 0700, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc |= ut_rmtree_at(dirfd(d), e->d_name);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -1 : rc;
}

/* ut_rmtree(PATH): remove PATH and everything below it (rm -rf). 0, or -1. */
static inline int ut_rmtree(const char *path)
{
	return ut_rmtree_at(AT_FDCWD, path);
}

/* At exit: what a test that stopped early left behind is removed (only
 * by the process that made it, not by a forked child). */
static inline void ut_cleanup(void)
{
	struct ut_state *s = ut_state();
	if (s->pid != getpid())
		return;
	for (int i = 0; i < s->ndirs; i++) {
		ut_rmtree(s->dirs[i]);
		free(s->dirs[i]);
	}
	s->ndirs = 0;
	free(s->slurped);
	s->slurped = NULL;
}

static inline void ut_at_exit(void)
{
	struct ut_state *s = ut_state();
	if (!s->pid) {
		s->pid = getpid();
		atexit(ut_cleanup);
	}
}

/* ut_tmpdir(NAME): a new private directory /tmp/qinstall-test-NAME.XXXXXX
 * (malloc'd), removed by ut_tmpdir_remove or, when a test stops before
 * that, at exit. */
static inline char *ut_tmpdir(const char *name)
{
	struct ut_state *s = ut_state();
	char *d;
	assert_true(asprintf(&d, "/tmp/qinstall-test-%s.XXXXXX", name) > 0);
	assert_non_null(mkdtemp(d));
	ut_at_exit();
	assert_true(s->ndirs < (int)(sizeof(s->dirs) / sizeof(s->dirs[0])));
	s->dirs[s->ndirs++] = strdup(d);
	return d;
}

/* ut_tmpdir_remove(DIR): remove DIR, a ut_tmpdir, with everything below
 * it (asserting that it could), forget it and free DIR. */
static inline void ut_tmpdir_remove(char *dir)
{
	struct ut_state *s = ut_state();
	assert_int_equal(ut_rmtree(dir), 0);
	for (int i = 0; i < s->ndirs; i++)
		if (strcmp(s->dirs[i], dir) == 0) {
			free(s->dirs[i]);
			s->dirs[i] = s->dirs[--s->ndirs];
			break;
		}
	free(dir);
}

/* ut_mkdir(DIR, REL, MODE): make the directory (and its missing parents,
 * with MODE too), like mkdir -p. */
static inline void ut_mkdir(const char *dir, const char *rel, mode_t mode)
{
	char *p = ut_path(dir, rel);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		p[i] = c;
	}
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);
}

/* ut_write(DIR, REL, TEXT, MODE): the file holds TEXT (made or truncated),
 * then has MODE; MODE 0 leaves the mode it was made with. */
static inline void ut_write(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char *p = ut_path(dir, rel);
	FILE *f = fopen(p, "w");
	if (!f)
		fail_msg("cannot write %s: %s", p, strerror(errno));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (mode)
		assert_int_equal(chmod(p, mode), 0);
	free(p);
}

/* ut_read(DIR, REL): the whole content of the file, NUL-terminated
 * (malloc'd), or NULL when it cannot be opened. */
static inline char *ut_read(const char *dir, const char *rel)
{
	char *p = ut_path(dir, rel);
	FILE *f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* ut_slurp(DIR, REL): ut_read, but the text is kept here until the next
 * ut_slurp (or exit), so that it can be asserted on in place:
 * assert_string_equal(ut_slurp(root, "/etc/motd"), "bye\n"). */
static inline const char *ut_slurp(const char *dir, const char *rel)
{
	struct ut_state *s = ut_state();
	ut_at_exit();
	free(s->slurped);
	s->slurped = ut_read(dir, rel);
	return s->slurped;
}

/* ut_exists(DIR, REL): something is there (a dangling symlink counts). */
static inline bool ut_exists(const char *dir, const char *rel)
{
	char *p = ut_path(dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* ---- the tree manifest ---- */

struct ut_lines {
	char **v;
	size_t n, cap;
	const char *exclude;	/* a path (relative to the top) left out, or NULL */
};

/* A name with bytes outside printable ASCII, blanks and backslashes
 * written as \ooo, as tests/lib/treemanifest does. */
static inline char *ut_escape(const char *s)
{
	char *out = malloc(4 * strlen(s) + 1), *o = out;
	assert_non_null(out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c >= 127 || c == '\\')
			o += sprintf(o, "\\%03o", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static inline void ut_sha256_at(int dfd, const char *name, char hex[65])
{
	strcpy(hex, "unreadable");
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	close(fd);
	unsigned char md[32];
	unsigned int len;
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* One line for NAME in DFD, whose path below the top is REL ("" for the
 * top itself), and the lines of what is below it. */
static inline void ut_tree_walk(struct ut_lines *l, int dfd, const char *name, const char *rel)
{
	if (l->exclude && rel[0]) {
		size_t n = strlen(l->exclude);
		if (strncmp(rel + 1, l->exclude, n) == 0 && (rel[1 + n] == '\0' || rel[1 + n] == '/'))
			return;
	}
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("ut_tree: %s: %s", rel, strerror(errno));
	const char *type = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" :
		S_ISLNK(st.st_mode) ? "link" : S_ISFIFO(st.st_mode) ? "fifo" :
		S_ISSOCK(st.st_mode) ? "sock" : S_ISCHR(st.st_mode) ? "chr" : "blk";
	char hash[65] = "-", target[4097] = "-";
	if (S_ISREG(st.st_mode))
		ut_sha256_at(dfd, name, hash);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
	}
	char *erel = ut_escape(rel[0] ? rel : "/"), *etarget = ut_escape(target), *line;
	assert_true(asprintf(&line, "%s %s %04o %u %u %lld %s %s", erel, type,
			     (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
			     S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, hash, etarget) > 0);
	free(erel);
	free(etarget);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n++] = line;
	if (!S_ISDIR(st.st_mode))
		return;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d)
		fail_msg("ut_tree: %s: %s", rel[0] ? rel : "/", strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *child;
		assert_true(asprintf(&child, "%s/%s", rel, e->d_name) > 0);
		ut_tree_walk(l, dirfd(d), e->d_name, child);
		free(child);
	}
	closedir(d);
}

static inline int ut_cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ut_tree(DIR, EXCLUDE): what DIR is, as tests/lib/treemanifest prints it:
 * one sorted line per entry, "PATH TYPE MODE UID GID SIZE SHA256 TARGET",
 * PATH relative to DIR ("/" for DIR itself), times left out. EXCLUDE (a
 * path relative to DIR, e.g. "var/lib/qinstall", or NULL) and what is
 * below it are left out. Two trees are alike in every path, type, mode,
 * owner, size, content and link target when their ut_tree are equal.
 * Malloc'd. */
static inline char *ut_tree(const char *dir, const char *exclude)
{
	struct ut_lines l = { .exclude = exclude };
	while (l.exclude && l.exclude[0] == '/')
		l.exclude++;
	ut_tree_walk(&l, AT_FDCWD, dir, "");
	qsort(l.v, l.n, sizeof(*l.v), ut_cmp_lines);
	size_t len = 0;
	for (size_t i = 0; i < l.n; i++)
		len += strlen(l.v[i]) + 1;
	char *out = malloc(len + 1), *o = out;
	assert_non_null(out);
	for (size_t i = 0; i < l.n; i++) {
		o = stpcpy(o, l.v[i]);
		*o++ = '\n';
		free(l.v[i]);
	}
	*o = '\0';
	free(l.v);
	return out;
}

#endif
