/*
 * dpkg.c - ROOT's dpkg database for `qinstall migrate`: the status file
 * (deb822 stanzas) and the .list files, dpkg's locks, the stand-in
 * package that takes over mail-transport-agent, the old MTA's .deb kept
 * (apt's cached archive, or rebuilt from what is installed, as dpkg-repack
 * does), and dpkg itself run for the swap (install, purge, audit).
 *
 * Nothing here writes into ROOT: ROOT is read through qi_root_*; what is
 * built lies in a WORKDIR of the host; dpkg writes ROOT when it is run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate/migrate.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* The status file's parser                                            */
/* ------------------------------------------------------------------ */

/* The fields kept in struct dpkg_pkg, by name (case-insensitive). */
static const struct {
	const char *name;
	size_t off;
} pkg_fields[] = {
	{ "Package", offsetof(struct dpkg_pkg, name) },
	{ "Version", offsetof(struct dpkg_pkg, version) },
	{ "Architecture", offsetof(struct dpkg_pkg, arch) },
	{ "Status", offsetof(struct dpkg_pkg, status) },
	{ "Provides", offsetof(struct dpkg_pkg, provides) },
	{ "Depends", offsetof(struct dpkg_pkg, depends) },
	{ "Pre-Depends", offsetof(struct dpkg_pkg, pre_depends) },
	{ "Conflicts", offsetof(struct dpkg_pkg, conflicts) },
	{ "Replaces", offsetof(struct dpkg_pkg, replaces) },
	{ "Source", offsetof(struct dpkg_pkg, source) },
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* S[0..*LEN) without its leading and trailing blanks. */
static const char *trim(const char *s, size_t *len)
{
	while (*len && is_space(*s))
		s++, (*len)--;
	while (*len && is_space(s[*len - 1]))
		(*len)--;
	return s;
}

static char *xstrndup(const char *s, size_t len)
{
	char *d = qi_xmalloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static void pkg_free(struct dpkg_pkg *p)
{
	for (size_t i = 0; i < sizeof(pkg_fields) / sizeof(pkg_fields[0]); i++)
		free(*(char **)((char *)p + pkg_fields[i].off));
	free(p->stanza);
	memset(p, 0, sizeof(*p));
}

void dpkg_db_free(struct dpkg_db *db)
{
	for (size_t i = 0; i < db->n; i++)
		pkg_free(&db->v[i]);
	free(db->v);
	memset(db, 0, sizeof(*db));
}

/* The stanza being read: its package, its text, the field a continuation
 * line adds to (NULL: a field not kept). */
struct stanza {
	struct dpkg_pkg p;
	struct qi_buf text;
	char **cur;
	bool any;		/* a field seen */
};

static void stanza_end(struct stanza *st, struct dpkg_db *db, size_t *cap)
{
	if (st->p.name && st->p.name[0]) {
		if (st->p.source) {
			size_t n = strcspn(st->p.source, " \t\r(");
			st->p.source[n] = '\0';
		}
		qi_buf_add(&st->text, "", 1);
		st->p.stanza = st->text.data;
		st->text.data = NULL;
		if (db->n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			db->v = qi_xrealloc(db->v, *cap * sizeof(*db->v));
		}
		db->v[db->n++] = st->p;
		memset(&st->p, 0, sizeof(st->p));
	}
	pkg_free(&st->p);
	qi_buf_free(&st->text);
	st->cur = NULL;
	st->any = false;
}

/* One line LINE (LEN bytes, no LF, its CR dropped) of a stanza. */
static int stanza_line(qi_handle *h, struct stanza *st, const char *line, size_t len, size_t lineno)
{
	if (line[0] == ' ' || line[0] == '\t') {
		if (!st->any)
			return qi_error(h, "line %zu of the dpkg status continues a field, but no "
					"field comes before it", lineno);
		size_t vlen = len;
		const char *v = trim(line, &vlen);
		if (st->cur && vlen) {
			char *old = *st->cur;
			*st->cur = qi_xasprintf("%s%s%.*s", old, old[0] ? " " : "", (int)vlen, v);
			free(old);
		}
	} else {
		const char *colon = memchr(line, ':', len);
		size_t nlen = colon ? (size_t)(colon - line) : 0;
		if (!colon || !nlen || memchr(line, ' ', nlen) || memchr(line, '\t', nlen) ||
		    memchr(line, '\r', nlen))
			return qi_error(h, "line %zu of the dpkg status is neither a field (Name: "
					"value) nor a continuation line", lineno);
		st->any = true;
		st->cur = NULL;
		for (size_t i = 0; i < sizeof(pkg_fields) / sizeof(pkg_fields[0]); i++) {
			char **slot = (char **)((char *)&st->p + pkg_fields[i].off);
			if (strlen(pkg_fields[i].name) == nlen &&
			    strncasecmp(pkg_fields[i].name, line, nlen) == 0 && !*slot) {
				size_t vlen = len - nlen - 1;
				const char *v = trim(colon + 1, &vlen);
				*slot = xstrndup(v, vlen);
				st->cur = slot;
			}
		}
	}
	qi_buf_add(&st->text, line, len);
	qi_buf_add(&st->text, "\n", 1);
	return 0;
}

int dpkg_status_parse(qi_handle *h, const char *text, size_t len, struct dpkg_db *db)
{
	memset(db, 0, sizeof(*db));
	struct stanza st = { 0 };
	size_t cap = 0, lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		if (memchr(line, '\0', n)) {
			stanza_end(&st, db, &cap);
			dpkg_db_free(db);
			return qi_error(h, "line %zu of the dpkg status has a NUL byte", lineno);
		}
		if (n && line[n - 1] == '\r')
			n--;
		size_t blank = n;
		trim(line, &blank);
		if (!blank) {
			stanza_end(&st, db, &cap);
		} else if (stanza_line(h, &st, line, n, lineno) < 0) {
			stanza_end(&st, db, &cap);
			dpkg_db_free(db);
			return -1;
		}
	}
	stanza_end(&st, db, &cap);
	return 0;
}

int dpkg_status_load(qi_handle *h, struct dpkg_db *db)
{
	memset(db, 0, sizeof(*db));
	char *text;
	size_t len;
	if (qi_root_read(h, "/var/lib/dpkg/status", &text, &len) < 0)
		return qi_error_prefix(h, "cannot read dpkg's database (is ROOT a Debian system?)");
	int rc = dpkg_status_parse(h, text, len, db);
	free(text);
	if (rc < 0) {
		char *path = qi_root_path(h, "/var/lib/dpkg/status");
		qi_error_prefix(h, "%s", path);
		free(path);
	}
	return rc;
}

const struct dpkg_pkg *dpkg_find(const struct dpkg_db *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (strcmp(db->v[i].name, name) == 0)
			return &db->v[i];
	return NULL;
}

/* The Status field's three words: want, error flag, state. */
static bool status_is(const struct dpkg_pkg *p, const char *state)
{
	if (!p->status)
		return false;
	char want[32], flag[32], st[32];
	if (sscanf(p->status, "%31s %31s %31s", want, flag, st) != 3)
		return false;
	return strcmp(st, state) == 0;
}

bool dpkg_installed(const struct dpkg_pkg *p)
{
	if (!status_is(p, "installed"))
		return false;
	return strncmp(p->status, "install ok ", 11) == 0 || strncmp(p->status, "hold ok ", 8) == 0;
}

/* Its files are on disk: any state but not-installed and config-files. */
static bool on_disk(const struct dpkg_pkg *p)
{
	return p->status && !status_is(p, "not-installed") && !status_is(p, "config-files");
}

/* The next item of a relation field ("a, b:any (= 1), c"): its name
 * (without an architecture qualifier) and whether it has a version. */
static bool rel_next(const char **s, const char **name, size_t *len, bool *versioned)
{
	while (*s && **s) {
		size_t n = strcspn(*s, ","), ilen = n;
		const char *item = trim(*s, &ilen);
		*s += n + ((*s)[n] == ',');
		size_t k = 0;
		while (k < ilen && !is_space(item[k]) && item[k] != '(' && item[k] != ':')
			k++;
		if (!k)
			continue;
		*name = item;
		*len = k;
		*versioned = memchr(item, '(', ilen) != NULL;
		return true;
	}
	return false;
}

/* Whether FIELD names NAME (LEN bytes); with UNVERSIONED, an item with a
 * version does not count. */
static bool rel_has(const char *field, const char *name, size_t len, bool unversioned)
{
	const char *item;
	size_t ilen;
	bool versioned;
	while (rel_next(&field, &item, &ilen, &versioned))
		if (ilen == len && memcmp(item, name, len) == 0 && !(unversioned && versioned))
			return true;
	return false;
}

bool dpkg_provides(const struct dpkg_pkg *p, const char *virtual)
{
	return rel_has(p->provides, virtual, strlen(virtual), false);
}

/* Whether FIELD (unversioned items) names Q or a package Q provides. */
static bool rel_hits(const char *field, const struct dpkg_pkg *q)
{
	if (rel_has(field, q->name, strlen(q->name), true))
		return true;
	const char *s = q->provides, *item;
	size_t len;
	bool versioned;
	while (rel_next(&s, &item, &len, &versioned))
		if (rel_has(field, item, len, true))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* The .list files, dpkg's locks                                       */
/* ------------------------------------------------------------------ */

/* "/var/lib/dpkg/info/NAME:ARCH" when its .list exists (Multi-Arch:
 * same), else "/var/lib/dpkg/info/NAME"; *prefix NULL (no error) when
 * neither .list exists. */
static int info_prefix(qi_handle *h, const struct dpkg_pkg *p, char **prefix)
{
	*prefix = NULL;
	for (int i = 0; i < 2; i++) {
		if (i == 0 && (!p->arch || !p->arch[0]))
			continue;
		char *pre = i == 0 ? qi_xasprintf("/var/lib/dpkg/info/%s:%s", p->name, p->arch)
				   : qi_xasprintf("/var/lib/dpkg/info/%s", p->name);
		char *list = qi_xasprintf("%s.list", pre);
		struct stat st;
		int rc = qi_root_lstat(h, list, &st);
		int e = errno;
		free(list);
		if (rc == 0) {
			*prefix = pre;
			return 0;
		}
		free(pre);
		if (e != ENOENT && e != ENOTDIR) {
			errno = e;
			return qi_error_errno(h, "cannot look for the file list of %s in %s/var/lib/dpkg/info",
					      p->name, qi_root(h));
		}
	}
	return 0;
}

/* The paths of the .list PREFIX.list ("/." left out). */
static int list_read(qi_handle *h, const char *prefix, char ***files, size_t *n)
{
	*files = NULL;
	*n = 0;
	char *list = qi_xasprintf("%s.list", prefix), *text;
	size_t len;
	int rc = qi_root_read(h, list, &text, &len);
	free(list);
	if (rc < 0)
		return -1;
	size_t cap = 0;
	for (char *line = text, *end; line < text + len; line = end + 1) {
		end = memchr(line, '\n', text + len - line);
		if (!end)
			end = text + len;
		size_t l = end - line;
		if (l && line[l - 1] == '\r')
			l--;
		if (!l || (l == 2 && memcmp(line, "/.", 2) == 0))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*files = qi_xrealloc(*files, cap * sizeof(**files));
		}
		(*files)[(*n)++] = xstrndup(line, l);
	}
	free(text);
	return 0;
}

static void files_free(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

int dpkg_pkg_files(qi_handle *h, const struct dpkg_pkg *p, char ***files, size_t *n)
{
	*files = NULL;
	*n = 0;
	char *prefix;
	if (info_prefix(h, p, &prefix) < 0)
		return -1;
	if (!prefix)
		return qi_error(h, "dpkg has no file list of %s in %s/var/lib/dpkg/info (neither "
				"%s:%s.list nor %s.list): check it with dpkg --audit", p->name,
				qi_root(h), p->name, p->arch ? p->arch : "ARCH", p->name);
	int rc = list_read(h, prefix, files, n);
	free(prefix);
	return rc;
}

int dpkg_owner(qi_handle *h, const struct dpkg_db *db, const char *path, char **owner)
{
	*owner = NULL;
	char *clean = qi_path_clean(h, path);
	if (!clean)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < db->n && !*owner && rc == 0; i++) {
		const struct dpkg_pkg *p = &db->v[i];
		char *prefix = NULL, **files;
		size_t n;
		if (!on_disk(p))
			continue;
		rc = info_prefix(h, p, &prefix);
		if (rc < 0 || !prefix)
			continue;
		rc = list_read(h, prefix, &files, &n);
		for (size_t k = 0; rc == 0 && k < n && !*owner; k++)
			if (strcmp(files[k], clean) == 0)
				*owner = qi_xstrdup(p->name);
		if (rc == 0)
			files_free(files, n);
		free(prefix);
	}
	free(clean);
	return rc;
}

/* Refuse when a process holds a lock on PATH (a lock file of dpkg's). */
static int check_lock(qi_handle *h, const char *path)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;	/* never made: no dpkg ever ran there */
	int fd = qi_root_open(h, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return qi_error_prefix(h, "cannot check dpkg's lock");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int rc = fcntl(fd, F_GETLK, &fl);
	int e = errno;
	close(fd);
	char *full = qi_root_path(h, path);
	if (rc < 0) {
		errno = e;
		qi_error_errno(h, "cannot check dpkg's lock %s", full);
	} else if (fl.l_type != F_UNLCK) {
		char pid[32] = "another process";
		if (fl.l_pid > 0)
			snprintf(pid, sizeof(pid), "process %ld", (long)fl.l_pid);
		qi_debug(h, "%s is locked by %s", full, pid);
		rc = qi_error_kind(h, QI_ERR_LOCKED, "dpkg's database in %s is locked by %s (apt "
				   "or dpkg is running): wait for it to finish, then run qinstall "
				   "migrate again (nothing was changed)", qi_root(h), pid);
	}
	free(full);
	return rc < 0 ? -1 : 0;
}

int dpkg_check_unlocked(qi_handle *h)
{
	if (check_lock(h, "/var/lib/dpkg/lock-frontend") < 0)
		return -1;
	return check_lock(h, "/var/lib/dpkg/lock");
}

/* ------------------------------------------------------------------ */
/* The work directory (the host's): trees and files                   */
/* ------------------------------------------------------------------ */

static int write_host(qi_handle *h, const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return qi_error_errno(h, "cannot write %s", path);
	if (qi_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return qi_error_errno(h, "cannot write %s", path);
	}
	if (close(fd) < 0)
		return qi_error_errno(h, "cannot write %s", path);
	return 0;
}

/* Every missing directory of REL (a path below the host directory TREE,
 * "/a/b"), made 0755. */
static int mkdirs(qi_handle *h, const char *tree, const char *rel)
{
	char *p = qi_xasprintf("%s%s", tree, rel);
	int rc = 0;
	for (size_t i = strlen(tree) + 1, n = strlen(p); i <= n && rc == 0; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = qi_error_errno(h, "cannot make the directory %s", p);
		p[i] = c;
	}
	free(p);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(qi_handle *h, const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return qi_error_errno(h, "cannot remove the work tree %s", dir);
	return 0;
}

/* A new tree WORKDIR/NAME.tree.XXXXXX (0755, root's) with its DEBIAN/. */
static char *make_tree(qi_handle *h, const char *workdir, const char *name)
{
	char *tree = qi_xasprintf("%s/%s.tree.XXXXXX", workdir, name);
	if (!mkdtemp(tree)) {
		qi_error_errno(h, "cannot make a work tree in %s", workdir);
		free(tree);
		return NULL;
	}
	if (chmod(tree, 0755) < 0 || mkdirs(h, tree, "/DEBIAN") < 0) {
		if (!qi_errmsg(h)[0])
			qi_error_errno(h, "cannot set the mode of %s", tree);
		remove_tree(h, tree);
		free(tree);
		return NULL;
	}
	return tree;
}

/* The name apt gives P's archive: NAME_VERSION_ARCH.deb, an epoch's ':'
 * written as %3a. */
static char *deb_name(const char *name, const char *version, const char *arch)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "%s_", name);
	for (const char *v = version; *v; v++)
		if (*v == ':')
			qi_buf_add(&b, "%3a", 3);
		else
			qi_buf_add(&b, v, 1);
	qi_buf_addf(&b, "_%s.deb", arch);
	return b.data;
}

/* Copy everything IN (named NAME) has into the new host file OUT, then
 * give it ST's owner, mode and times (ST NULL: 0644, the caller's). */
static int copy_fd(qi_handle *h, int in, const char *name, const char *out, const struct stat *st)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return qi_error_errno(h, "cannot write %s", out);
	char buf[65536];
	ssize_t r;
	int rc = 0;
	while (rc == 0 && (r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = qi_error_errno(h, "cannot read %s", name);
		else if (qi_write_all(fd, buf, r) < 0)
			rc = qi_error_errno(h, "cannot write %s", out);
	}
	if (rc == 0 && st && (fchown(fd, st->st_uid, st->st_gid) < 0 ||
			      fchmod(fd, st->st_mode & 07777) < 0 ||
			      futimens(fd, (struct timespec[]){ st->st_atim, st->st_mtim }) < 0))
		rc = qi_error_errno(h, "cannot give %s the owner, mode and time of %s", out, name);
	if (rc == 0 && !st && fchmod(fd, 0644) < 0)
		rc = qi_error_errno(h, "cannot set the mode of %s", out);
	if (close(fd) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s", out);
	return rc;
}

/* Run dpkg-deb with ARGV's arguments, its output to OUT (CAP). */
/* In a ROOT that is not /, dpkg and dpkg-deb run chrooted into it, so
 * that they read ROOT's users and groups (dpkg --root looks owners of
 * statoverrides and archives up on the host): an argument that is a host
 * path below ROOT is given as the path inside it. */
static bool chrooted(qi_handle *h)
{
	struct stat st;
	return !qi_root_is_host(h) && qi_root_lstat(h, "/usr/bin/dpkg", &st) == 0 && S_ISREG(st.st_mode);
}

/* A ROOT without its own dpkg (a bare test root) gets dpkg --root. */
static const char *in_root(qi_handle *h, const char *arg)
{
	const char *root = qi_root(h);
	size_t n = strlen(root);
	if (!chrooted(h) || strncmp(arg, root, n) != 0 || arg[n] != '/')
		return arg;
	return arg + n;
}

static const char **chroot_argv(qi_handle *h, const char *const *argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	const char **v = qi_xmalloc((n + 1) * sizeof(*v));
	for (size_t i = 0; i <= n; i++)
		v[i] = argv[i] ? in_root(h, argv[i]) : NULL;
	return v;
}

static int run_dpkg_deb(qi_handle *h, const char *const *argv, enum qi_proc_output out,
			struct qi_buf *cap, bool keep_error)
{
	const char **v = chroot_argv(h, argv);
	struct qi_proc_spec spec = { .argv = v, .search_path = true, .output = out,
				     .capture = cap, .keep_error = keep_error,
				     .chroot = chrooted(h) ? qi_root(h) : NULL,
				     .hint = keep_error ? "" : "dpkg-deb (package dpkg) says why above" };
	int status;
	int rc = qi_proc_run(h, &spec, &status);
	free(v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The stand-in package                                                */
/* ------------------------------------------------------------------ */

/* A package name as dpkg wants it: [a-z0-9][a-z0-9+.-]+. */
static bool valid_name(const char *s)
{
	if (!s || strlen(s) < 2 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+.-") == strlen(s);
}

static bool valid_version(const char *s)
{
	return s && s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789.+~:-") == strlen(s);
}

/* The stand-in's DEBIAN/control text; NULL with the error set when S has
 * a name, version or description dpkg would refuse. */
static char *standin_control(qi_handle *h, const struct dpkg_standin *s)
{
	if (!valid_name(s->name) || !valid_version(s->version) || !s->description ||
	    !s->description[0] || strpbrk(s->description, "\r\n")) {
		qi_error(h, "the stand-in package's name, version or description is not one dpkg "
			 "accepts (name '%s', version '%s'): a bug of qinstall's", s->name ? s->name : "",
			 s->version ? s->version : "");
		return NULL;
	}
	struct qi_buf rel = { 0 }, c = { 0 };
	qi_buf_addf(&rel, "mail-transport-agent");
	for (size_t i = 0; s->conflicts && s->conflicts[i]; i++) {
		if (!valid_name(s->conflicts[i])) {
			qi_error(h, "the stand-in package cannot conflict with '%s': not a package name",
				 s->conflicts[i]);
			qi_buf_free(&rel);
			return NULL;
		}
		qi_buf_addf(&rel, ", %s", s->conflicts[i]);
	}
	qi_buf_addf(&c, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: qinstall\n"
		    "Provides: mail-transport-agent\nConflicts: %s\nReplaces: %s\n"
		    "Section: mail\nPriority: optional\nDescription: %s\n"
		    " Installed by qinstall migrate when qmail took over as the mail transport\n"
		    " agent: it takes the old MTA's place in dpkg's database, so that the\n"
		    " packages that depend on an MTA stay installed. qmail's files are not in\n"
		    " this package: qinstall's journal records them (qinstall rollback).\n",
		    s->name, s->version, rel.data, rel.data, s->description);
	qi_buf_free(&rel);
	return c.data;
}

int dpkg_standin_build(qi_handle *h, const char *workdir, const struct dpkg_standin *s, char **deb)
{
	*deb = NULL;
	char *control = standin_control(h, s);
	if (!control)
		return -1;
	char *tree = make_tree(h, workdir, s->name);
	if (!tree) {
		free(control);
		return -1;
	}
	char *docdir = qi_xasprintf("/usr/share/doc/%s", s->name);
	char *cpath = qi_xasprintf("%s/DEBIAN/control", tree);
	char *readme = qi_xasprintf("%s%s/README.qinstall", tree, docdir);
	char *text = qi_xasprintf(
		"%s: the stand-in for the mail transport agent\n\n"
		"qinstall migrate installed this package when qmail replaced the MTA that\n"
		"was here. It provides, conflicts with and replaces mail-transport-agent,\n"
		"so dpkg removed the old MTA's package in the same run and the packages\n"
		"that need an MTA (mail readers, cron's mail, logwatch) stay installed.\n\n"
		"It holds no file of qmail's: those are in /var/qmail, recorded by\n"
		"qinstall's journal. `qinstall rollback` reinstalls the old MTA's package\n"
		"(kept in /var/backups/qinstall-migrate/) and purges this one.\n", s->name);
	char *base = deb_name(s->name, s->version, "all");
	char *out = qi_xasprintf("%s/%s", workdir, base);
	free(base);
	int rc = write_host(h, cpath, control, strlen(control), 0644);
	if (rc == 0)
		rc = mkdirs(h, tree, docdir);
	if (rc == 0)
		rc = write_host(h, readme, text, strlen(text), 0644);
	if (rc == 0)
		rc = run_dpkg_deb(h, (const char *const[]){ "dpkg-deb", "--root-owner-group", "--build",
							    tree, out, NULL },
				  QI_PROC_DISCARD, NULL, false);
	if (remove_tree(h, tree) < 0 && rc == 0)
		rc = -1;
	if (rc == 0)
		*deb = out;
	else
		free(out);
	free(tree);
	free(docdir);
	free(cpath);
	free(readme);
	free(text);
	free(control);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The kept .deb: apt's cache, or rebuilt                              */
/* ------------------------------------------------------------------ */

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Whether the host file DEB is P's package, version and architecture, by
 * `dpkg-deb -f` (a file it cannot read is not). */
static bool deb_is(qi_handle *h, const char *deb, const struct dpkg_pkg *p)
{
	struct qi_buf out = { 0 };
	struct dpkg_db db;
	bool is = false;
	if (run_dpkg_deb(h, (const char *const[]){ "dpkg-deb", "-f", deb, "Package", "Version",
						   "Architecture", NULL },
			 QI_PROC_CAPTURE, &out, true) == 0 &&
	    dpkg_status_parse(h, out.data, out.len, &db) == 0) {
		is = db.n == 1 && same(db.v[0].name, p->name) && same(db.v[0].version, p->version) &&
		     same(db.v[0].arch, p->arch);
		dpkg_db_free(&db);
	}
	qi_buf_free(&out);
	qi_clear_error(h);
	return is;
}

/* apt's archive of P (FILE in ROOT/var/cache/apt/archives) copied to OUT
 * when it is P: 1; 0 when there is none, or it is not P. */
static int from_cache(qi_handle *h, const struct dpkg_pkg *p, const char *file, const char *out)
{
	char *cached = qi_xasprintf("/var/cache/apt/archives/%s", file);
	struct stat st;
	int rc = 0;
	if (qi_root_lstat(h, cached, &st) == 0 && S_ISREG(st.st_mode)) {
		int fd = qi_root_open(h, cached, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
		rc = fd < 0 ? -1 : copy_fd(h, fd, cached, out, NULL);
		if (fd >= 0)
			close(fd);
		if (rc == 0 && deb_is(h, out, p))
			rc = 1;
		else if (rc == 0) {
			qi_info(h, "%s%s is not %s %s (%s): rebuilding the package instead",
				qi_root_is_host(h) ? "" : qi_root(h), cached, p->name, p->version, p->arch);
			unlink(out);
		}
	}
	free(cached);
	return rc;
}

/* The files of a rebuild: the package, its tree, its listed paths and,
 * for each directory, its times (set last, after what is made inside). */
struct rebuild {
	const struct dpkg_pkg *p;
	char *tree;
	char **files;
	size_t n;
	struct timespec (*times)[2];
	bool *isdir;
};

/* Whether a listed path below F[I] follows it: a directory dpkg knows is
 * a symlink in ROOT (/bin on a merged /usr) is a directory of the package. */
static bool has_children(const struct rebuild *r, size_t i)
{
	size_t len = strlen(r->files[i]);
	for (size_t k = i + 1; k < r->n; k++)
		if (strncmp(r->files[k], r->files[i], len) == 0 && r->files[k][len] == '/')
			return true;
	return false;
}

/* ROOT's stat of the directory a listed symlink I stands for. */
static int dir_behind(qi_handle *h, const struct rebuild *r, size_t i, struct stat *st)
{
	int fd = qi_root_open(h, r->files[i], O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, st);
	if (rc < 0)
		qi_error_errno(h, "cannot read %s in %s", r->files[i], qi_root(h));
	close(fd);
	return rc;
}

static int copy_symlink(qi_handle *h, const char *path, const char *dst, const struct stat *st)
{
	struct qi_image img;
	if (qi_image_path(h, path, false, &img) < 0 || img.type != QI_FT_LNK) {
		qi_image_clear(&img);
		return qi_error_errno(h, "cannot read the symbolic link %s in %s", path, qi_root(h));
	}
	int rc = 0;
	if (symlink(img.target, dst) < 0 || lchown(dst, st->st_uid, st->st_gid) < 0 ||
	    utimensat(AT_FDCWD, dst, (struct timespec[]){ st->st_atim, st->st_mtim },
		      AT_SYMLINK_NOFOLLOW) < 0)
		rc = qi_error_errno(h, "cannot copy the symbolic link %s to %s", path, dst);
	qi_image_clear(&img);
	return rc;
}

/* The listed path I copied from ROOT into the tree, owner, mode and time
 * kept; a listed path missing in ROOT is left out with a warning. */
static int copy_entry(qi_handle *h, struct rebuild *r, size_t i)
{
	const char *path = r->files[i];
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return qi_error_errno(h, "cannot read %s in %s", path, qi_root(h));
		qi_warn(h, "%s lists %s, which is not in %s: the rebuilt package of %s lacks it",
			r->p->name, path, qi_root(h), r->p->name);
		return 0;
	}
	if (S_ISLNK(st.st_mode) && has_children(r, i) && dir_behind(h, r, i, &st) < 0)
		return -1;
	char *slash = strrchr(path, '/'), *parent = xstrndup(path, slash - path);
	int rc = mkdirs(h, r->tree, parent);
	free(parent);
	char *dst = qi_xasprintf("%s%s", r->tree, path);
	if (rc < 0) {
	} else if (S_ISDIR(st.st_mode)) {
		if ((mkdir(dst, 0700) < 0 && errno != EEXIST) || chown(dst, st.st_uid, st.st_gid) < 0 ||
		    chmod(dst, st.st_mode & 07777) < 0)
			rc = qi_error_errno(h, "cannot make the directory %s", dst);
		r->isdir[i] = true;
		r->times[i][0] = st.st_atim;
		r->times[i][1] = st.st_mtim;
	} else if (S_ISREG(st.st_mode)) {
		int fd = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
		rc = fd < 0 ? -1 : copy_fd(h, fd, path, dst, &st);
		if (fd >= 0)
			close(fd);
	} else if (S_ISLNK(st.st_mode)) {
		rc = copy_symlink(h, path, dst, &st);
	} else {
		qi_warn(h, "%s in %s is %s: the rebuilt package of %s lacks it", path, qi_root(h),
			qi_file_type_name(st.st_mode), r->p->name);
	}
	free(dst);
	return rc;
}

/* Control fields of the status that are dpkg's record, not the package's. */
static bool status_only(const char *line)
{
	static const char *const names[] = { "Status", "Conffiles", "Config-Version",
					     "Triggers-Pending", "Triggers-Awaited" };
	size_t n = strcspn(line, ":");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(line, names[i], n) == 0)
			return true;
	return false;
}

/* One " PATH MD5 [FLAG]" line of Conffiles, into CONFFILES unless the
 * conffile is obsolete or not in the tree. */
static void conffile_line(const struct rebuild *r, const char *line, size_t len, struct qi_buf *conffiles)
{
	char *l = xstrndup(line, len), *save, *path = strtok_r(l, " \t", &save), *w;
	bool keep = path && path[0] == '/';
	strtok_r(NULL, " \t", &save);
	while (keep && (w = strtok_r(NULL, " \t", &save)))
		keep = strcmp(w, "obsolete") != 0;
	if (keep) {
		char *dst = qi_xasprintf("%s%s", r->tree, path);
		struct stat st;
		if (lstat(dst, &st) == 0)
			qi_buf_addf(conffiles, "%s\n", path);
		free(dst);
	}
	free(l);
}

/* DEBIAN/control from the status stanza, DEBIAN/conffiles from its
 * Conffiles. */
static int write_control(qi_handle *h, const struct rebuild *r)
{
	struct qi_buf control = { 0 }, conffiles = { 0 };
	bool skip = false, inconf = false;
	for (const char *line = r->p->stanza, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		size_t len = end - line;
		if (line[0] != ' ' && line[0] != '\t') {
			skip = status_only(line);
			inconf = strncasecmp(line, "Conffiles:", 10) == 0;
		} else if (inconf)
			conffile_line(r, line, len, &conffiles);
		if (!skip)
			qi_buf_add(&control, line, len), qi_buf_add(&control, "\n", 1);
		if (!*end)
			break;
	}
	char *path = qi_xasprintf("%s/DEBIAN/control", r->tree);
	int rc = write_host(h, path, control.data, control.len, 0644);
	free(path);
	if (rc == 0 && conffiles.len) {
		path = qi_xasprintf("%s/DEBIAN/conffiles", r->tree);
		rc = write_host(h, path, conffiles.data, conffiles.len, 0644);
		free(path);
	}
	qi_buf_free(&control);
	qi_buf_free(&conffiles);
	return rc;
}

/* The maintainer scripts and other control files dpkg keeps of P. */
static int copy_control_files(qi_handle *h, const struct rebuild *r, const char *prefix)
{
	static const char *const names[] = { "preinst", "postinst", "prerm", "postrm", "config",
					     "templates", "triggers", "shlibs", "symbols", "md5sums" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *src = qi_xasprintf("%s.%s", prefix, names[i]), *data;
		size_t len;
		struct stat st;
		int rc = 0;
		if (qi_root_lstat(h, src, &st) == 0) {
			rc = qi_root_read(h, src, &data, &len);
			if (rc == 0) {
				char *dst = qi_xasprintf("%s/DEBIAN/%s", r->tree, names[i]);
				rc = write_host(h, dst, data, len, i < 5 ? 0755 : 0644);
				free(dst);
				free(data);
			}
		}
		free(src);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* P rebuilt from ROOT into OUT, as dpkg-repack does. */
static int rebuild(qi_handle *h, const struct dpkg_pkg *p, const char *workdir, const char *out)
{
	struct rebuild r = { .p = p };
	char *prefix;
	if (info_prefix(h, p, &prefix) < 0)
		return -1;
	if (!prefix) {
		dpkg_pkg_files(h, p, &r.files, &r.n);	/* for its message */
		files_free(r.files, r.n);
		return -1;
	}
	int rc = list_read(h, prefix, &r.files, &r.n);
	if (rc == 0 && !(r.tree = make_tree(h, workdir, p->name)))
		rc = -1;
	if (rc == 0) {
		r.times = qi_xmalloc((r.n + 1) * sizeof(*r.times));
		r.isdir = calloc(r.n + 1, sizeof(*r.isdir));
		if (!r.isdir)
			abort();
	}
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		rc = copy_entry(h, &r, i);
	for (size_t i = r.n; rc == 0 && i-- > 0;) {
		char *dst = qi_xasprintf("%s%s", r.tree, r.files[i]);
		if (r.isdir[i] && utimensat(AT_FDCWD, dst, r.times[i], AT_SYMLINK_NOFOLLOW) < 0)
			rc = qi_error_errno(h, "cannot set the times of %s", dst);
		free(dst);
	}
	if (rc == 0)
		rc = write_control(h, &r);
	if (rc == 0)
		rc = copy_control_files(h, &r, prefix);
	if (rc == 0)
		rc = run_dpkg_deb(h, (const char *const[]){ "dpkg-deb", "--build", r.tree, out, NULL },
				  QI_PROC_DISCARD, NULL, false);
	if (r.tree && remove_tree(h, r.tree) < 0 && rc == 0)
		rc = -1;
	if (rc < 0)
		qi_error_prefix(h, "cannot rebuild the package %s %s from %s", p->name, p->version,
				qi_root(h));
	files_free(r.files, r.n);
	free(r.tree);
	free(r.times);
	free(r.isdir);
	free(prefix);
	return rc;
}

int dpkg_keep_deb(qi_handle *h, const struct dpkg_pkg *p, const char *workdir, char **deb,
		  const char **how)
{
	*deb = NULL;
	*how = NULL;
	if (!p->version || !p->version[0] || !p->arch || !p->arch[0] || !p->stanza)
		return qi_error(h, "dpkg's status gives %s no version or architecture: check it with "
				"dpkg --audit", p->name);
	char *file = deb_name(p->name, p->version, p->arch);
	char *out = qi_xasprintf("%s/%s", workdir, file);
	int rc = from_cache(h, p, file, out);
	if (rc == 1)
		*how = "apt cache";
	else if (rc == 0 && (rc = rebuild(h, p, workdir, out)) == 0)
		*how = "rebuilt";
	free(file);
	if (rc < 0) {
		unlink(out);
		free(out);
		return -1;
	}
	*deb = out;
	return 0;
}

/* ------------------------------------------------------------------ */
/* dpkg run in ROOT                                                    */
/* ------------------------------------------------------------------ */

/* dpkg ARGS in ROOT (--root and its own --log when ROOT is not /: dpkg
 * would log into the host's /var/log/dpkg.log), never asking. */
static int run_dpkg(qi_handle *h, const char *const *args, enum qi_proc_output output,
		    struct qi_buf *capture, int *status)
{
	size_t nargs = 0, nenv = 0, k = 0;
	while (args[nargs])
		nargs++;
	while (environ[nenv])
		nenv++;
	const char **argv = qi_xmalloc((nargs + 4) * sizeof(*argv));
	const char **env = qi_xmalloc((nenv + 2) * sizeof(*env));
	char *root = NULL, *log = NULL;
	argv[k++] = "dpkg";
	if (!qi_root_is_host(h) && !chrooted(h)) {
		struct stat st;
		bool logdir = qi_root_lstat(h, "/var/log", &st) == 0 && S_ISDIR(st.st_mode);
		char *logpath = qi_root_path(h, "/var/log/dpkg.log");
		root = qi_xasprintf("--root=%s", qi_root(h));
		log = qi_xasprintf("--log=%s", logdir ? logpath : "/dev/null");
		free(logpath);
		argv[k++] = root;
		argv[k++] = log;
	}
	for (size_t i = 0; i <= nargs; i++)
		argv[k++] = args[i] ? in_root(h, args[i]) : NULL;
	k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "DEBIAN_FRONTEND=", 16) != 0)
			env[k++] = environ[i];
	env[k++] = "DEBIAN_FRONTEND=noninteractive";
	env[k] = NULL;
	struct qi_proc_spec spec = { .argv = argv, .env = env, .search_path = true, .output = output,
				     .capture = capture, .keep_error = status != NULL,
				     .chroot = chrooted(h) ? qi_root(h) : NULL, .chroot_proc = true };
	int rc = qi_proc_run(h, &spec, status);
	free(argv);
	free(env);
	free(root);
	free(log);
	return rc;
}

/* The installed packages that DEB's package conflicts with (or that
 * conflict with it) and that it replaces, by unversioned relations: what
 * `dpkg -i` does not remove by itself when they also conflict with a
 * virtual package it provides (every MTA with mail-transport-agent). */
static int replaced_by(qi_handle *h, const char *deb, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	struct qi_buf out = { 0 };
	struct dpkg_db nd, db;
	if (run_dpkg_deb(h, (const char *const[]){ "dpkg-deb", "-f", deb, "Package", "Provides",
						   "Conflicts", "Replaces", NULL },
			 QI_PROC_CAPTURE, &out, false) < 0) {
		qi_buf_free(&out);
		return -1;
	}
	int rc = dpkg_status_parse(h, out.data, out.len, &nd);
	qi_buf_free(&out);
	if (rc == 0 && nd.n != 1) {
		dpkg_db_free(&nd);
		rc = qi_error(h, "dpkg-deb -f %s gives no package name", deb);
	}
	if (rc < 0 || dpkg_status_load(h, &db) < 0) {
		if (rc == 0)
			dpkg_db_free(&nd);
		return -1;
	}
	const struct dpkg_pkg *np = &nd.v[0];
	for (size_t i = 0; i < db.n; i++) {
		const struct dpkg_pkg *q = &db.v[i];
		if (!on_disk(q) || strcmp(q->name, np->name) == 0)
			continue;
		if ((rel_hits(np->conflicts, q) || rel_hits(q->conflicts, np)) &&
		    rel_hits(np->replaces, q)) {
			*names = qi_xrealloc(*names, (*n + 1) * sizeof(**names));
			(*names)[(*n)++] = qi_xstrdup(q->name);
		}
	}
	dpkg_db_free(&db);
	dpkg_db_free(&nd);
	return 0;
}

int dpkg_install_many(qi_handle *h, const char *const *debs, size_t ndebs)
{
	char **names = NULL;
	size_t n = 0;
	for (size_t d = 0; d < ndebs; d++) {
		char **more;
		size_t nmore;
		if (replaced_by(h, debs[d], &more, &nmore) < 0) {
			files_free(names, n);
			return qi_error_prefix(h, "cannot install %s in %s", debs[d], qi_root(h));
		}
		for (size_t i = 0; i < nmore; i++) {
			bool dup = false;
			for (size_t k = 0; k < n; k++)
				dup |= strcmp(names[k], more[i]) == 0;
			if (dup) {
				free(more[i]);
				continue;
			}
			names = qi_xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = more[i];
		}
		free(more);
	}
	struct qi_buf list = { 0 }, what = { 0 };
	for (size_t d = 0; d < ndebs; d++)
		qi_buf_addf(&what, "%s%s", d ? " " : "", debs[d]);
	int rc = 0;
	if (n) {
		const char **argv = qi_xmalloc((n + 3) * sizeof(*argv));
		argv[0] = "--force-depends";
		argv[1] = "--remove";
		for (size_t i = 0; i < n; i++) {
			argv[i + 2] = names[i];
			qi_buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
		}
		argv[n + 2] = NULL;
		qi_info(h, "removing %s (not purging) in %s: %s replaces it", list.data, qi_root(h), what.data);
		rc = run_dpkg(h, argv, QI_PROC_STDERR, NULL, NULL);
		if (rc < 0)
			qi_error_prefix(h, "cannot remove %s in %s to install %s", list.data, qi_root(h), what.data);
		free(argv);
	}
	if (rc == 0) {
		const char **argv = qi_xmalloc((ndebs + 3) * sizeof(*argv));
		argv[0] = "--force-confold";
		argv[1] = "--install";
		for (size_t d = 0; d < ndebs; d++)
			argv[d + 2] = debs[d];
		argv[ndebs + 2] = NULL;
		rc = run_dpkg(h, argv, QI_PROC_STDERR, NULL, NULL);
		free(argv);
		if (rc < 0 && n)
			qi_error_prefix(h, "cannot install %s in %s, after dpkg removed %s (the run's "
					"rollback installs its kept .deb again; if qinstall was stopped, run "
					"`qinstall --root %s rollback`)", what.data, qi_root(h), list.data, qi_root(h));
		else if (rc < 0)
			qi_error_prefix(h, "cannot install %s in %s", what.data, qi_root(h));
	}
	files_free(names, n);
	qi_buf_free(&list);
	qi_buf_free(&what);
	return rc;
}

int dpkg_install(qi_handle *h, const char *deb)
{
	return dpkg_install_many(h, &deb, 1);
}

int dpkg_purge(qi_handle *h, const char *name)
{
	struct dpkg_db db;
	if (dpkg_status_load(h, &db) < 0)
		return -1;
	const struct dpkg_pkg *p = dpkg_find(&db, name);
	bool there = p && p->status && !status_is(p, "not-installed");
	dpkg_db_free(&db);
	if (!there) {
		qi_debug(h, "%s is not installed in %s: nothing to purge", name, qi_root(h));
		return 0;
	}
	if (run_dpkg(h, (const char *const[]){ "--purge", name, NULL }, QI_PROC_STDERR, NULL, NULL) < 0)
		return qi_error_prefix(h, "cannot purge %s in %s", name, qi_root(h));
	return 0;
}

int dpkg_audit(qi_handle *h, char **problems)
{
	*problems = NULL;
	struct qi_buf out = { 0 };
	int status;
	int rc = run_dpkg(h, (const char *const[]){ "--audit", NULL }, QI_PROC_CAPTURE, &out, &status);
	/* dpkg --audit exits 1 when it found something: what it printed says what. */
	if (rc < 0 && (status == -1 || !out.len)) {
		qi_buf_free(&out);
		if (status == -1)
			return qi_error_errno(h, "cannot run dpkg --audit in %s", qi_root(h));
		return qi_error(h, "dpkg --audit failed in %s (%s %d) and said nothing: run it by "
				"hand to see why", qi_root(h), WIFEXITED(status) ? "exit" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	*problems = out.data ? out.data : qi_xstrdup("");
	return 0;
}
