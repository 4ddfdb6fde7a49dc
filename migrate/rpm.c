/*
 * rpm.c - ROOT's rpm database for `qinstall migrate` (rpm.h): rpm run as
 * `rpm [--root ROOT] --dbpath DBPATH ...` through qi_proc_run, its --qf
 * output parsed, the old MTA's .rpm kept (the dnf/yum cache, or rebuilt
 * with rpmbuild from the header and the files in ROOT), rpm -e and -i.
 *
 * Nothing here writes into ROOT: ROOT is read through qi_root_*; what is
 * built lies in a WORKDIR of the host; rpm writes ROOT when it is run.
 * Debian's rpm has %_dbpath ~/.rpmdb, so the database found in ROOT is
 * always named with --dbpath.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate/rpm.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static char *xstrndup(const char *s, size_t len)
{
	char *d = qi_xmalloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void rpm_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool names_has(char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

static void names_add(char ***names, size_t *n, const char *s, size_t len)
{
	*names = qi_xrealloc(*names, (*n + 1) * sizeof(**names));
	(*names)[(*n)++] = xstrndup(s, len);
}

/* Each non-empty line of TEXT into NAMES, once. */
static void lines_add(const char *text, char ***names, size_t *n)
{
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len);
		if (len && !names_has(*names, *n, line))
			names_add(names, n, line, len);
		free(line);
		p += len + (p[len] == '\n');
	}
}

static bool root_is_slash(qi_handle *h)
{
	return strcmp(qi_root(h), "/") == 0;
}

/* ------------------------------------------------------------------ */
/* Running rpm                                                         */
/* ------------------------------------------------------------------ */

int rpm_root_db(qi_handle *h, char **dbpath)
{
	/* RHEL 9 and Fedora 36+ keep it in /usr/lib/sysimage/rpm (with
	 * /var/lib/rpm a link to it); older ones in /var/lib/rpm. A database
	 * is its sqlite file (rpm >= 4.16), Berkeley DB's Packages or ndb's
	 * Packages.db. */
	static const char *const dirs[] = { "/usr/lib/sysimage/rpm", "/var/lib/rpm" };
	static const char *const files[] = { "rpmdb.sqlite", "Packages", "Packages.db" };
	*dbpath = NULL;
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 3; j++) {
			char *p = qi_xasprintf("%s/%s", dirs[i], files[j]);
			struct stat st;
			int rc = qi_root_lstat(h, p, &st);
			free(p);
			if (rc == 0 && S_ISREG(st.st_mode)) {
				*dbpath = qi_xstrdup(dirs[i]);
				return 1;
			}
		}
	return 0;
}

/* rpm [--root ROOT] --dbpath DB ARGS (NULL-terminated). OUTPUT: its
 * stdout captured into CAP, else discarded; its stderr is qinstall's.
 * With STATUS, a failure leaves no message (the caller reads *status). */
static int run_rpm(qi_handle *h, const char *prog, const char *const *args, struct qi_buf *cap,
		   int *status)
{
	char *db = NULL;
	if (rpm_root_db(h, &db) != 1) {
		char *p = qi_root_path(h, "/var/lib/rpm");
		qi_error(h, "%s has no rpm database (neither /usr/lib/sysimage/rpm nor /var/lib/rpm "
			 "holds one): is ROOT a Red Hat system? rpm --root ROOT --initdb makes one", p);
		free(p);
		return -1;
	}
	size_t nargs = 0;
	while (args[nargs])
		nargs++;
	const char **argv = qi_xmalloc((nargs + 6) * sizeof(*argv));
	size_t k = 0;
	argv[k++] = prog;
	if (!root_is_slash(h)) {
		argv[k++] = "--root";
		argv[k++] = qi_root(h);
	}
	argv[k++] = "--dbpath";
	argv[k++] = db;
	for (size_t i = 0; i <= nargs; i++)
		argv[k++] = args[i];
	struct qi_proc_spec spec = { .argv = argv, .search_path = true,
				     .output = cap ? QI_PROC_CAPTURE : QI_PROC_DISCARD,
				     .capture = cap, .keep_error = status != NULL,
				     .hint = "rpm says why above" };
	int rc = qi_proc_run(h, &spec, status);
	free(argv);
	free(db);
	return rc;
}

/* rpm -q-like queries whose exit 1 with "no package ..." (or "is not
 * owned") on stdout means nothing: 0 with *none set. */
static int query(qi_handle *h, const char *const *args, const char *nothing, struct qi_buf *cap,
		 bool *none)
{
	int status;
	*none = false;
	if (run_rpm(h, "rpm", args, cap, &status) == 0)
		return 0;
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1 && cap->data &&
	    strstr(cap->data, nothing)) {
		*none = true;
		return 0;
	}
	qi_error(h, "`rpm %s %s` failed in %s%s%s; rpm says why above", args[0], args[1], qi_root(h),
		 cap->data ? ": " : "", cap->data ? cap->data : "");
	return -1;
}

/* ------------------------------------------------------------------ */
/* The package list                                                    */
/* ------------------------------------------------------------------ */

static void pkg_free(struct rpm_pkg *p)
{
	free(p->name);
	free(p->epoch);
	free(p->version);
	free(p->release);
	free(p->arch);
	free(p->nevra);
	free(p->sha1header);
	memset(p, 0, sizeof(*p));
}

void rpm_db_free(struct rpm_db *db)
{
	for (size_t i = 0; i < db->n; i++)
		pkg_free(&db->v[i]);
	free(db->v);
	free(db->dbpath);
	memset(db, 0, sizeof(*db));
}

int rpm_qa_parse(qi_handle *h, const char *text, size_t len, struct rpm_db *db)
{
	memset(db, 0, sizeof(*db));
	size_t cap = 0, lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		if (memchr(line, '\0', n)) {
			rpm_db_free(db);
			return qi_error(h, "line %zu of rpm -qa's output has a NUL byte", lineno);
		}
		if (n && line[n - 1] == '\r')
			n--;
		if (!n)
			continue;
		char *f[6];
		size_t nf = 0;
		const char *p = line, *end = line + n;
		while (nf < 6) {
			const char *tab = memchr(p, '\t', (size_t)(end - p));
			const char *e = tab ? tab : end;
			if (e == p)
				break;
			f[nf++] = xstrndup(p, (size_t)(e - p));
			if (!tab) {
				p = end + 1;
				break;
			}
			p = tab + 1;
		}
		bool control = false;
		for (size_t i = 0; i < nf && !control; i++)
			for (const char *c = f[i]; *c && !control; c++)
				control = (unsigned char)*c < 0x20 || *c == 0x7f;
		if (control) {
			for (size_t i = 0; i < nf; i++)
				free(f[i]);
			rpm_db_free(db);
			return qi_error(h, "line %zu of rpm -qa's output has a control character in a field: "
					"not what rpm prints; check ROOT's rpm database with rpm -qa", lineno);
		}
		if (nf != 6 || p <= end) {
			for (size_t i = 0; i < nf; i++)
				free(f[i]);
			rpm_db_free(db);
			return qi_error(h, "line %zu of rpm -qa's output is not six non-empty fields "
					"separated by tabs (name, epoch, version, release, arch, "
					"sha1header); was rpm asked for --qf '%s'?",
					lineno, RPM_QA_FORMAT);
		}
		if (db->n == cap) {
			cap = cap ? 2 * cap : 64;
			db->v = qi_xrealloc(db->v, cap * sizeof(*db->v));
		}
		struct rpm_pkg *pk = &db->v[db->n++];
		pk->name = f[0];
		if (strcmp(f[1], "(none)") == 0) {
			free(f[1]);
			pk->epoch = NULL;
		} else
			pk->epoch = f[1];
		pk->version = f[2];
		pk->release = f[3];
		pk->arch = f[4];
		pk->sha1header = f[5];
		pk->nevra = qi_xasprintf("%s-%s%s%s-%s.%s", pk->name, pk->epoch ? pk->epoch : "",
					 pk->epoch ? ":" : "", pk->version, pk->release, pk->arch);
	}
	return 0;
}

int rpm_db_load(qi_handle *h, struct rpm_db *db)
{
	memset(db, 0, sizeof(*db));
	struct qi_buf out = { 0 };
	const char *const args[] = { "-qa", "--qf", RPM_QA_FORMAT, NULL };
	if (run_rpm(h, "rpm", args, &out, NULL) < 0) {
		qi_buf_free(&out);
		return qi_error_prefix(h, "cannot list ROOT's rpm packages");
	}
	int rc = rpm_qa_parse(h, out.data ? out.data : "", out.len, db);
	qi_buf_free(&out);
	if (rc < 0)
		return qi_error_prefix(h, "cannot read ROOT's rpm database");
	(void)rpm_root_db(h, &db->dbpath);
	return 0;
}

const struct rpm_pkg *rpm_find(const struct rpm_db *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (strcmp(db->v[i].name, name) == 0)
			return &db->v[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

int rpm_whatrequires(qi_handle *h, const char *const *caps, size_t ncaps, const char *const *except,
		     size_t nexcept, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	char **all = NULL;
	size_t nall = 0;
	for (size_t i = 0; i < ncaps; i++) {
		struct qi_buf out = { 0 };
		bool none;
		const char *const args[] = { "-q", "--whatrequires", caps[i], "--qf", "%{NAME}\\n", NULL };
		if (query(h, args, "no package requires", &out, &none) < 0) {
			qi_buf_free(&out);
			rpm_names_free(all, nall);
			return qi_error_prefix(h, "cannot list what requires %s", caps[i]);
		}
		if (!none && out.data)
			lines_add(out.data, &all, &nall);
		qi_buf_free(&out);
	}
	for (size_t i = 0; i < nall; i++) {
		bool skip = false;
		for (size_t j = 0; j < nexcept && !skip; j++)
			skip = strcmp(all[i], except[j]) == 0;
		if (!skip)
			names_add(names, n, all[i], strlen(all[i]));
	}
	rpm_names_free(all, nall);
	return 0;
}

int rpm_whatprovides(qi_handle *h, const char *cap, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	struct qi_buf out = { 0 };
	bool none;
	const char *const args[] = { "-q", "--whatprovides", cap, "--qf", "%{NAME}\\n", NULL };
	if (query(h, args, "no package provides", &out, &none) < 0) {
		qi_buf_free(&out);
		return qi_error_prefix(h, "cannot list what provides %s", cap);
	}
	if (!none && out.data)
		lines_add(out.data, names, n);
	qi_buf_free(&out);
	return 0;
}

int rpm_pkg_files(qi_handle *h, const struct rpm_pkg *p, char ***files, size_t *n)
{
	*files = NULL;
	*n = 0;
	struct qi_buf out = { 0 };
	const char *const args[] = { "-q", "--qf", "[%{FILENAMES}\\n]", p->nevra, NULL };
	if (run_rpm(h, "rpm", args, &out, NULL) < 0) {
		qi_buf_free(&out);
		return qi_error_prefix(h, "cannot list the files of %s", p->nevra);
	}
	if (out.data)
		lines_add(out.data, files, n);
	qi_buf_free(&out);
	return 0;
}

int rpm_owner(qi_handle *h, const char *path, char **owner)
{
	*owner = NULL;
	struct qi_buf out = { 0 };
	bool none;
	const char *const args[] = { "-qf", path, "--qf", "%{NAME}\\n", NULL };
	/* rpm says "file P is not owned by any package", or, for a path
	 * that does not exist, "error: file P: No such file" on stderr. */
	int status;
	if (run_rpm(h, "rpm", args, &out, &status) == 0) {
		none = false;
	} else if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		none = true;
	} else {
		qi_buf_free(&out);
		return qi_error(h, "`rpm -qf %s` failed in %s; rpm says why above", path, qi_root(h));
	}
	if (!none && out.data) {
		size_t len = strcspn(out.data, "\n");
		if (len)
			*owner = xstrndup(out.data, len);
	}
	qi_buf_free(&out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The kept .rpm                                                       */
/* ------------------------------------------------------------------ */

/* Copy the host file FROM to TO. */
static int copy_host_file(qi_handle *h, const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return qi_error_errno(h, "cannot open %s", from);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return qi_error_errno(h, "cannot create %s", to);
	}
	char buf[65536];
	ssize_t r;
	int rc = 0;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r) {
			rc = qi_error_errno(h, "cannot write %s", to);
			break;
		}
	if (r < 0)
		rc = qi_error_errno(h, "cannot read %s", from);
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s", to);
	return rc;
}

/* The header digest of the .rpm FILE (a host path), or NULL. */
static char *file_sha1header(qi_handle *h, const char *file)
{
	struct qi_buf out = { 0 };
	const char *const args[] = { "-qp", "--nosignature", "--qf", "%{SHA1HEADER}", file, NULL };
	int status;
	char *s = NULL;
	if (run_rpm(h, "rpm", args, &out, &status) == 0 && out.data)
		s = qi_xstrdup(out.data);
	qi_buf_free(&out);
	return s;
}

static int keep_from_cache(qi_handle *h, const struct rpm_pkg *p, const char *workdir, char **rpmfile)
{
	static const char *const caches[] = { "/var/cache/dnf/*/packages", "/var/cache/yum/*/packages",
					      "/var/cache/yum/*/*/*/packages" };
	/* dnf names a package NAME-VERSION-RELEASE.ARCH.rpm, without the epoch. */
	char *base = qi_xasprintf("%s-%s-%s.%s.rpm", p->name, p->version, p->release, p->arch);
	int found = 0;
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]) && !found; i++) {
		char *rel = qi_xasprintf("%s/%s", caches[i], base);
		char *pat = qi_root_path(h, rel);
		free(rel);
		glob_t g;
		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
			for (size_t j = 0; j < g.gl_pathc && !found; j++) {
				char *sha = file_sha1header(h, g.gl_pathv[j]);
				/* A header without SHA1HEADER ("(none)") proves nothing:
				 * rebuilt instead. */
				if (sha && strcmp(p->sha1header, "(none)") != 0 &&
				    strcmp(sha, p->sha1header) == 0) {
					char *to = qi_xasprintf("%s/%s", workdir, base);
					if (copy_host_file(h, g.gl_pathv[j], to) < 0) {
						free(to);
						found = -1;
					} else {
						*rpmfile = to;
						found = 1;
					}
				}
				free(sha);
			}
			globfree(&g);
		}
		free(pat);
	}
	free(base);
	return found;
}

/* S with every % doubled, for a spec file. */
static void spec_add(struct qi_buf *b, const char *s)
{
	for (; *s; s++) {
		qi_buf_add(b, s, 1);
		if (*s == '%')
			qi_buf_add(b, "%", 1);
	}
}

/* One query of P's header with FORMAT into *text (malloc'd). */
static int header_query(qi_handle *h, const struct rpm_pkg *p, const char *format, char **text)
{
	struct qi_buf out = { 0 };
	const char *const args[] = { "-q", "--qf", format, p->nevra, NULL };
	if (run_rpm(h, "rpm", args, &out, NULL) < 0) {
		qi_buf_free(&out);
		return qi_error_prefix(h, "cannot read the header of %s", p->nevra);
	}
	*text = out.data ? out.data : qi_xstrdup("");
	return 0;
}

/* The dependencies of one kind: lines NAME\tDEPTYPE\tFLAGS\tVERSION, the
 * ones rpmbuild adds itself (rpmlib(), the package itself) left out;
 * config(NAME) is kept, as AutoReqProv: no does not add it. */
static void spec_deps(struct qi_buf *spec, const char *tag, const char *text, const char *self)
{
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');
		char *f[4] = { 0 };
		char *s = line;
		for (int i = 0; i < 4; i++) {
			char *t = strchr(s, '\t');
			f[i] = s;
			if (!t) {
				for (int j = i + 1; j < 4; j++)
					f[j] = "";
				break;
			}
			*t = '\0';
			s = t + 1;
		}
		if (f[0][0] && strncmp(f[0], "rpmlib(", 7) != 0 &&
		    strcmp(f[0], self) != 0 && strcmp(f[1], "rpmlib") != 0 && strcmp(f[1], "auto") != 0) {
			qi_buf_addf(spec, "%s: ", tag);
			spec_add(spec, f[0]);
			if (f[2][0] && f[3][0]) {
				qi_buf_addf(spec, " %s ", f[2]);
				spec_add(spec, f[3]);
			}
			qi_buf_add(spec, "\n", 1);
		}
		free(line);
	}
}

/* PATH of ROOT copied into TREE (a host directory), as it is now. */
static int copy_into_tree(qi_handle *h, const char *tree, const char *path, const struct stat *st)
{
	char *to = qi_xasprintf("%s%s", tree, path);
	int rc = 0;
	/* The parents first (rpm lists a package's directories it owns;
	 * others are made 0755 and not listed). */
	for (char *s = to + strlen(tree) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(to, 0755) < 0 && errno != EEXIST)
			rc = qi_error_errno(h, "cannot make %s", to);
		*s = '/';
	}
	if (rc == 0) {
		if (S_ISDIR(st->st_mode)) {
			if (mkdir(to, 0755) < 0 && errno != EEXIST)
				rc = qi_error_errno(h, "cannot make %s", to);
		} else if (S_ISLNK(st->st_mode)) {
			char *from = qi_root_path(h, path);
			char target[4096];
			ssize_t n = readlink(from, target, sizeof(target) - 1);
			if (n < 0)
				rc = qi_error_errno(h, "cannot read the link %s", from);
			else {
				target[n] = '\0';
				if (symlink(target, to) < 0)
					rc = qi_error_errno(h, "cannot make the link %s", to);
			}
			free(from);
		} else if (S_ISREG(st->st_mode)) {
			int in = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
			if (in < 0)
				rc = qi_error_prefix(h, "cannot copy %s", path);
			else {
				int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
				char buf[65536];
				ssize_t r = 0;
				if (out < 0)
					rc = qi_error_errno(h, "cannot create %s", to);
				else {
					while ((r = read(in, buf, sizeof(buf))) > 0)
						if (write(out, buf, (size_t)r) != r) {
							rc = qi_error_errno(h, "cannot write %s", to);
							break;
						}
					if (r < 0 && rc == 0)
						rc = qi_error_errno(h, "cannot read %s in ROOT", path);
					if (close(out) < 0 && rc == 0)
						rc = qi_error_errno(h, "cannot write %s", to);
				}
				close(in);
			}
		} else
			rc = qi_error(h, "%s in ROOT is neither a file, a directory nor a link: it "
				      "cannot go into a rebuilt package", path);
	}
	free(to);
	return rc;
}

/* The %files section from lines MODE\tUSER\tGROUP\tFFLAGS\tPATH; the
 * files copied into TREE. */
static int spec_files(qi_handle *h, struct qi_buf *spec, const char *text, const char *tree)
{
	qi_buf_addf(spec, "\n%%files\n");
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len);
		p += len + (p[len] == '\n');
		char *f[5];
		char *s = line;
		int nf = 0;
		for (; nf < 5; nf++) {
			f[nf] = s;
			char *t = nf < 4 ? strchr(s, '\t') : NULL;
			if (nf < 4 && !t)
				break;
			if (t) {
				*t = '\0';
				s = t + 1;
			}
		}
		if (nf != 5 || f[4][0] != '/') {
			free(line);
			continue;	/* "(contains no files)" */
		}
		unsigned long mode = strtoul(f[0], NULL, 8);
		const char *fl = f[3];
		bool ghost = strchr(fl, 'g') != NULL;
		bool dir = (mode & 0170000) == 0040000;
		struct stat st;
		if (qi_root_lstat(h, f[4], &st) < 0) {
			if (!ghost)
				qi_warn(h, "%s of the rebuilt package is missing in ROOT: it is kept "
					"as %%ghost (rpm -V would have said so)", f[4]);
			ghost = true;
		} else if (copy_into_tree(h, tree, f[4], &st) < 0) {
			free(line);
			return -1;
		}
		if (dir)
			qi_buf_addf(spec, "%%dir ");
		if (ghost)
			qi_buf_addf(spec, "%%ghost ");
		if (strchr(fl, 'c'))
			qi_buf_addf(spec, strchr(fl, 'n') ? "%%config(noreplace) " :
				    strchr(fl, 'm') ? "%%config(missingok) " : "%%config ");
		if (strchr(fl, 'd'))
			qi_buf_addf(spec, "%%doc ");
		if (strchr(fl, 'l'))
			qi_buf_addf(spec, "%%license ");
		if ((mode & 0170000) == 0120000)
			qi_buf_addf(spec, "%%attr(-,%s,%s) ", f[1], f[2]);
		else
			qi_buf_addf(spec, "%%attr(%04lo,%s,%s) ", mode & 07777, f[1], f[2]);
		qi_buf_add(spec, "\"", 1);
		spec_add(spec, f[4]);
		qi_buf_add(spec, "\"\n", 2);
		free(line);
	}
	return 0;
}

/* Remove the host tree DIR (no link followed). */
static void rm_tree(qi_handle *h, const char *dir)
{
	const char *const argv[] = { "rm", "-rf", "--one-file-system", "--", dir, NULL };
	struct qi_proc_spec spec = { .argv = argv, .search_path = true, .keep_error = true };
	int status;
	(void)qi_proc_run(h, &spec, &status);
}

static int keep_rebuilt(qi_handle *h, const struct rpm_pkg *p, const char *workdir, char **rpmfile)
{
	static const struct {
		const char *section, *body, *prog;
	} scripts[] = {
		{ "pretrans", "PRETRANS", "PRETRANSPROG" }, { "pre", "PREIN", "PREINPROG" },
		{ "post", "POSTIN", "POSTINPROG" }, { "preun", "PREUN", "PREUNPROG" },
		{ "postun", "POSTUN", "POSTUNPROG" }, { "posttrans", "POSTTRANS", "POSTTRANSPROG" },
	};
	char *top = qi_xasprintf("%s/rpmbuild-%s", workdir, p->name);
	char *tree = qi_xasprintf("%s/tree", top), *broot = qi_xasprintf("%s/buildroot", top);
	char *specfile = qi_xasprintf("%s/%s.spec", top, p->name);
	struct qi_buf spec = { 0 };
	char *tags = NULL, *desc = NULL, *files = NULL, *deps[4] = { 0 };
	int rc = -1;
	rm_tree(h, top);
	if (mkdir(top, 0700) < 0 || mkdir(tree, 0755) < 0) {
		qi_error_errno(h, "cannot make %s", top);
		goto out;
	}
	if (header_query(h, p, "%{SUMMARY}\\n%{LICENSE}\\n%{GROUP}\\n", &tags) < 0 ||
	    header_query(h, p, "%{DESCRIPTION}", &desc) < 0 ||
	    header_query(h, p, "[%{FILEMODES:octal}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\t"
			 "%{FILEFLAGS:fflags}\\t%{FILENAMES}\\n]", &files) < 0 ||
	    header_query(h, p, "[%{PROVIDENAME}\\t%{PROVIDEFLAGS:deptype}\\t%{PROVIDEFLAGS:depflags}"
			 "\\t%{PROVIDEVERSION}\\n]", &deps[0]) < 0 ||
	    header_query(h, p, "[%{REQUIRENAME}\\t%{REQUIREFLAGS:deptype}\\t%{REQUIREFLAGS:depflags}"
			 "\\t%{REQUIREVERSION}\\n]", &deps[1]) < 0 ||
	    header_query(h, p, "[%{CONFLICTNAME}\\t\\t%{CONFLICTFLAGS:depflags}"
			 "\\t%{CONFLICTVERSION}\\n]", &deps[2]) < 0 ||
	    header_query(h, p, "[%{OBSOLETENAME}\\t\\t%{OBSOLETEFLAGS:depflags}"
			 "\\t%{OBSOLETEVERSION}\\n]", &deps[3]) < 0)
		goto out;
	char *l[3] = { tags, NULL, NULL };
	for (int i = 0; i < 2 && l[i]; i++) {
		char *nl = strchr(l[i], '\n');
		if (nl) {
			*nl = '\0';
			l[i + 1] = nl + 1;
		}
	}
	for (int i = 0; i < 3; i++)
		if (!l[i] || !l[i][0])
			l[i] = "(none)";
	qi_buf_addf(&spec, "# Rebuilt by qinstall from the rpm database and the files of %s\n",
		    p->nevra);
	qi_buf_addf(&spec, "Name: %s\n", p->name);
	if (p->epoch)
		qi_buf_addf(&spec, "Epoch: %s\n", p->epoch);
	qi_buf_addf(&spec, "Version: %s\nRelease: %s\nSummary: ", p->version, p->release);
	spec_add(&spec, l[0]);
	qi_buf_addf(&spec, "\nLicense: ");
	spec_add(&spec, l[1]);
	qi_buf_addf(&spec, "\nGroup: ");
	spec_add(&spec, l[2]);
	qi_buf_addf(&spec, "\n%s", strcmp(p->arch, "noarch") == 0 ? "BuildArch: noarch\n" : "");
	qi_buf_addf(&spec, "AutoReqProv: no\n");
	spec_deps(&spec, "Provides", deps[0], p->name);
	spec_deps(&spec, "Requires", deps[1], p->name);
	spec_deps(&spec, "Conflicts", deps[2], "");
	spec_deps(&spec, "Obsoletes", deps[3], "");
	qi_buf_addf(&spec, "\n%%description\n");
	spec_add(&spec, desc);
	qi_buf_addf(&spec, "\n\n%%prep\n%%build\n%%install\nmkdir -p \"%%{buildroot}\"\n"
		    "cp -a \"%s/.\" \"%%{buildroot}/\"\n", tree);
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		char *fmt = qi_xasprintf("%%{%s}", scripts[i].body), *body = NULL, *prog = NULL;
		char *pfmt = qi_xasprintf("%%{%s}", scripts[i].prog);
		int r = header_query(h, p, fmt, &body);
		if (r == 0)
			r = header_query(h, p, pfmt, &prog);
		free(fmt);
		free(pfmt);
		if (r == 0 && (strcmp(body, "(none)") != 0 || strcmp(prog, "(none)") != 0)) {
			qi_buf_addf(&spec, "\n%%%s", scripts[i].section);
			if (strcmp(prog, "(none)") != 0)
				qi_buf_addf(&spec, " -p %s", prog);
			qi_buf_add(&spec, "\n", 1);
			if (strcmp(body, "(none)") != 0) {
				spec_add(&spec, body);
				qi_buf_add(&spec, "\n", 1);
			}
		}
		free(body);
		free(prog);
		if (r < 0)
			goto out;
	}
	if (spec_files(h, &spec, files, tree) < 0)
		goto out;
	int fd = open(specfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, spec.data, spec.len) != (ssize_t)spec.len || close(fd) < 0) {
		qi_error_errno(h, "cannot write %s", specfile);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	char *d_top = qi_xasprintf("_topdir %s", top), *d_rpmdir = qi_xasprintf("_rpmdir %s", workdir);
	char *d_db = qi_xasprintf("_dbpath %s/db", top), *d_tmp = qi_xasprintf("_tmppath %s", top);
	const char *const argv[] = {
		"rpmbuild", "-bb", "--quiet", "--buildroot", broot, "--target", p->arch,
		"--define", d_top, "--define", d_rpmdir, "--define", d_db, "--define", d_tmp,
		"--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
		"--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}",
		"--define", "_build_id_links none", "--define", "__check_files %{nil}",
		"--define", "_binaries_in_noarch_packages_terminate_build 0",
		specfile, NULL };
	char *log = qi_xasprintf("%s/rpmbuild.log", top);
	struct qi_proc_spec ps = { .argv = argv, .search_path = true, .cwd = top,
				   .output = QI_PROC_LOG, .log = log };
	int r = qi_proc_run(h, &ps, NULL);
	free(d_top);
	free(d_rpmdir);
	free(d_db);
	free(d_tmp);
	if (r < 0) {
		qi_error_prefix(h, "cannot rebuild %s (the spec is %s)", p->nevra, specfile);
		free(log);
		goto out;
	}
	free(log);
	*rpmfile = qi_xasprintf("%s/%s-%s-%s.%s.rpm", workdir, p->name, p->version, p->release, p->arch);
	if (access(*rpmfile, R_OK) < 0) {
		qi_error_errno(h, "rpmbuild did not make %s", *rpmfile);
		free(*rpmfile);
		*rpmfile = NULL;
		goto out;
	}
	rm_tree(h, tree);
	rm_tree(h, broot);
	rc = 0;
out:
	qi_buf_free(&spec);
	free(tags);
	free(desc);
	free(files);
	for (int i = 0; i < 4; i++)
		free(deps[i]);
	free(top);
	free(tree);
	free(broot);
	free(specfile);
	return rc;
}

int rpm_keep(qi_handle *h, const struct rpm_pkg *p, const char *workdir, char **rpmfile,
	     const char **how)
{
	*rpmfile = NULL;
	*how = NULL;
	int r = keep_from_cache(h, p, workdir, rpmfile);
	if (r < 0)
		return qi_error_prefix(h, "cannot keep %s from the package cache", p->nevra);
	if (r == 1) {
		*how = "package cache";
		return 0;
	}
	if (keep_rebuilt(h, p, workdir, rpmfile) < 0)
		return qi_error_prefix(h, "cannot keep a .rpm of %s for rollback (no copy in "
				       "/var/cache/dnf or /var/cache/yum; `dnf download %s` into "
				       "the cache would do)", p->nevra, p->name);
	*how = "rebuilt";
	return 0;
}

/* ------------------------------------------------------------------ */
/* Erase and install                                                   */
/* ------------------------------------------------------------------ */

/* Whether NAME (or NEVRA) is installed: rpm -q's exit. */
static int installed(qi_handle *h, const char *name, bool *yes)
{
	const char *const args[] = { "-q", "--quiet", name, NULL };
	int status;
	if (run_rpm(h, "rpm", args, NULL, &status) == 0) {
		*yes = true;
		return 0;
	}
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		*yes = false;
		return 0;
	}
	return qi_error(h, "`rpm -q %s` failed in %s; rpm says why above", name, qi_root(h));
}

int rpm_erase_nodeps(qi_handle *h, const char *const *names, size_t n)
{
	if (!n)
		return 0;
	const char **args = qi_xmalloc((n + 4) * sizeof(*args));
	size_t k = 0;
	args[k++] = "-e";
	args[k++] = "--nodeps";
	/* The scriptlets run as rpm runs them, chrooted into ROOT; a ROOT
	 * without a shell (a bare root with only an rpm database) cannot run
	 * them at all, so there they are left out. */
	struct stat st;
	if (!root_is_slash(h) && qi_root_lstat(h, "/bin/sh", &st) < 0 &&
	    qi_root_lstat(h, "/usr/bin/sh", &st) < 0)
		args[k++] = "--noscripts";
	for (size_t i = 0; i < n; i++)
		args[k++] = names[i];
	args[k] = NULL;
	int rc = run_rpm(h, "rpm", args, NULL, NULL);
	free(args);
	if (rc < 0)
		return qi_error_prefix(h, "cannot remove %s%s with rpm -e --nodeps", names[0],
				       n > 1 ? " and the others" : "");
	for (size_t i = 0; i < n; i++) {
		bool yes;
		if (installed(h, names[i], &yes) < 0)
			return -1;
		if (yes)
			return qi_error(h, "rpm -e --nodeps %s exited 0 but %s is still installed in "
					"%s; see `rpm -q %s`", names[i], names[i], qi_root(h), names[i]);
	}
	return 0;
}

int rpm_install(qi_handle *h, const char *const *files, size_t n)
{
	if (!n)
		return 0;
	const char **args = qi_xmalloc((n + 4) * sizeof(*args));
	size_t k = 0;
	args[k++] = "-i";
	args[k++] = "--nodeps";
	args[k++] = "--replacepkgs";
	for (size_t i = 0; i < n; i++)
		args[k++] = files[i];
	args[k] = NULL;
	int rc = run_rpm(h, "rpm", args, NULL, NULL);
	free(args);
	if (rc < 0)
		return qi_error_prefix(h, "cannot install %s%s with rpm -i", files[0],
				       n > 1 ? " and the others" : "");
	for (size_t i = 0; i < n; i++) {
		struct qi_buf out = { 0 };
		const char *const q[] = { "-qp", "--nosignature", "--qf",
					  "%{NAME}-%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}.%{ARCH}",
					  files[i], NULL };
		if (run_rpm(h, "rpm", q, &out, NULL) < 0 || !out.data) {
			qi_buf_free(&out);
			return qi_error_prefix(h, "cannot read the package %s", files[i]);
		}
		bool yes;
		int r = installed(h, out.data, &yes);
		if (r == 0 && !yes)
			r = qi_error(h, "rpm -i %s exited 0 but %s is not installed in %s", files[i],
				     out.data, qi_root(h));
		qi_buf_free(&out);
		if (r < 0)
			return -1;
	}
	return 0;
}
