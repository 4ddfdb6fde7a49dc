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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

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

/* The rest of stream F, NUL-terminated (malloc'd). */
static inline char *ut_read_stream(FILE *f)
{
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);
	assert_non_null(buf);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	buf[len] = '\0';
	return buf;
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
	char *text = ut_read_stream(f);
	fclose(f);
	return text;
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

/* ut_tree(DIR, EXCLUDE): what DIR is, as tests/lib/treemanifest prints
 * it: one sorted line per entry, "PATH TYPE MODE UID GID SIZE SHA256
 * TARGET", PATH relative to DIR ("/" for DIR itself), times left out.
 * EXCLUDE (a path relative to DIR, e.g. "var/lib/qinstall", or NULL) and
 * what is below it are left out. Two trees are alike in every path, type,
 * mode, owner, size, content and link target when their ut_tree are
 * equal. Malloc'd. The tool is $top_builddir/tests/lib/treemanifest (make
 * check sets top_builddir), else the one beside this program's directory
 * (tests/unit/../lib). */
static inline char *ut_tree(const char *dir, const char *exclude)
{
	char *tool = NULL, *cmd = NULL;
	const char *top = getenv("top_builddir");
	if (top)
		tool = ut_path(top, "tests/lib/treemanifest");
	else {
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		tool = ut_path(exe, "../lib/treemanifest");
	}
	if (access(tool, X_OK) < 0)
		fail_msg("ut_tree: %s: %s (make check builds it)", tool, strerror(errno));
	assert_true(asprintf(&cmd, "'%s' %s%s%s '%s'", tool, exclude ? "--exclude '" : "",
			     exclude ? exclude : "", exclude ? "'" : "", dir) > 0);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *out = ut_read_stream(f);
	int rc = pclose(f);
	if (rc != 0)
		fail_msg("ut_tree: %s failed (status %d)", cmd, rc);
	free(cmd);
	free(tool);
	return out;
}

/* A cdb's little-endian 32-bit word at P. */
static inline uint32_t ut_get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ut_cdb_find: KEY looked up in the cdb CDB (LEN bytes) the way qmail's
 * cdb_seek does; its data (*DLEN bytes) or NULL. */
static inline const char *ut_cdb_find(const char *cdb, size_t len, const char *key, size_t klen,
				      uint32_t *dlen)
{
	const unsigned char *c = (const unsigned char *)cdb;
	uint32_t h = 5381;
	for (size_t i = 0; i < klen; i++)
		h = ((h << 5) + h) ^ (unsigned char)key[i];
	uint32_t pos = ut_get32(c + (h & 255) * 8), slots = ut_get32(c + (h & 255) * 8 + 4);
	for (uint32_t k = 0, w = (h >> 8) % (slots ? slots : 1); k < slots; k++, w = (w + 1) % slots) {
		uint32_t sh = ut_get32(c + pos + w * 8), sp = ut_get32(c + pos + w * 8 + 4);
		if (!sp)
			return NULL;
		assert_true(sp + 8 <= len);
		if (sh == h && ut_get32(c + sp) == klen && memcmp(c + sp + 8, key, klen) == 0) {
			*dlen = ut_get32(c + sp + 4);
			return cdb + sp + 8 + klen;
		}
	}
	return NULL;
}

#endif
