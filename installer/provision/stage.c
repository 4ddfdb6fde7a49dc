/*
 * stage.c - the staged tree of a component: its manifest (each path with
 * its image: type, mode, owner, size, hash, link target, as core
 * describes any file-system object), the comparison with ROOT, and its
 * commit into ROOT through the journal.
 *
 * What is staged is owned by root in ROOT, whoever built it, unless the
 * component's own install program gave it its owners (install = hier:
 * qmail's queue belongs to qmailq); those are kept. Existing directories
 * in ROOT are left as they are (their mode and owner are the system's
 * business), except the component's own (below its home, marked "owned"
 * in the manifest: qmail's queue must be 0750 qmailq); files, FIFOs and
 * links are made to match the stage.
 *
 * The system's symlinks are kept, as dpkg keeps them: where the stage has
 * a directory and ROOT a symlink that leads, inside ROOT, to a directory
 * (a merged /usr's /bin -> usr/bin, /usr/local/bin -> /opt/bin), the
 * directory is installed through the link. A link there that dangles,
 * leads to something else, or climbs out of ROOT with ".." is refused
 * before anything is written (qi_stage_check). Where the stage has a file
 * or a link, a symlink in ROOT is replaced, as dpkg replaces it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"
#include "sources/sources.h"

void qi_manifest_free(struct qi_manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		qi_image_clear(&m->e[i].img);
	}
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

static struct qi_manifest_entry *add(struct qi_manifest *m)
{
	m->e = qi_xrealloc(m->e, (m->n + 1) * sizeof(*m->e));
	struct qi_manifest_entry *e = &m->e[m->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* The manifest file's letter for each type a staged tree may hold. */
static const char type_letters[] = { [QI_FT_DIR] = 'd', [QI_FT_REG] = 'f', [QI_FT_LNK] = 'l',
				      [QI_FT_FIFO] = 'p' };

static char type_letter(enum qi_ftype t)
{
	return (size_t)t < sizeof(type_letters) ? type_letters[t] : '?';
}

static enum qi_ftype letter_type(char c)
{
	for (size_t t = 0; t < sizeof(type_letters); t++)
		if (type_letters[t] && type_letters[t] == c)
			return (enum qi_ftype)t;
	return QI_FT_OTHER;
}

/* The image the staged entry NAME of directory DFD (host path HP) gets in
 * ROOT: its own, owned by root unless KEEP_OWNERS. */
static int stage_image(qi_handle *h, int dfd, const char *name, const char *hp, bool keep_owners,
		       struct qi_image *img)
{
	int rc = qi_image_at(dfd, name, false, img);
	if (rc == 0 && img->type == QI_FT_ABSENT) {
		rc = -1;
		errno = ENOENT;
	}
	if (rc < 0)
		return qi_error_errno(h, "cannot stat %s", hp);
	if (!keep_owners || img->type == QI_FT_LNK) {
		img->uid = 0;
		img->gid = 0;
	}
	switch (img->type) {
	case QI_FT_REG:
		return qi_digest_file(h, hp, true, false, img->hash, NULL, &img->size);
	case QI_FT_DIR:
	case QI_FT_LNK:
		return 0;
	case QI_FT_FIFO:
		img->size = 0;
		return 0;
	default:
		return qi_error(h, "%s: the staged tree may hold only directories, files, FIFOs and symlinks", hp);
	}
}

static int scan_dir(qi_handle *h, const char *host, const char *rel, bool keep_owners,
		    struct qi_manifest *m)
{
	DIR *d = opendir(host);
	if (!d)
		return qi_error_errno(h, "cannot read the staging directory %s", host);
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *hp = qi_xasprintf("%s/%s", host, de->d_name);
		struct qi_manifest_entry *e = add(m);
		e->path = qi_xasprintf("%s/%s", rel, de->d_name);
		const char *path = e->path;	/* E moves when M grows */
		rc = stage_image(h, dirfd(d), de->d_name, hp, keep_owners, &e->img);
		if (rc == 0 && e->img.type == QI_FT_DIR)
			rc = scan_dir(h, hp, path, keep_owners, m);
		free(hp);
	}
	if (rc == 0 && errno)
		rc = qi_error_errno(h, "cannot read the staging directory %s", host);
	closedir(d);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct qi_manifest_entry *)a)->path,
		      ((const struct qi_manifest_entry *)b)->path);
}

int qi_manifest_scan(qi_handle *h, const char *stage, bool keep_owners, struct qi_manifest *m)
{
	memset(m, 0, sizeof(*m));
	if (scan_dir(h, stage, "", keep_owners, m) < 0) {
		qi_manifest_free(m);
		return -1;
	}
	/* strcmp order puts every parent before its children. */
	qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	return 0;
}

json_t *qi_manifest_to_json(const struct qi_manifest *m)
{
	json_t *a = json_array();
	for (size_t i = 0; i < m->n; i++) {
		const struct qi_manifest_entry *e = &m->e[i];
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)e->img.mode);
		char type[2] = { type_letter(e->img.type), '\0' };
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i}", "path", e->path, "type", type,
				      "mode", mode, "uid", (json_int_t)e->img.uid, "gid", (json_int_t)e->img.gid);
		if (e->img.type == QI_FT_REG) {
			json_object_set_new(o, "size", json_integer(e->img.size));
			json_object_set_new(o, "sha256", json_string(e->img.hash));
		}
		if (e->img.type == QI_FT_LNK)
			json_object_set_new(o, "target", json_string(e->img.target));
		if (e->owned)
			json_object_set_new(o, "owned", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

int qi_manifest_save(qi_handle *h, const struct qi_manifest *m, const char *file)
{
	json_t *j = json_pack("{s:i, s:o}", "version", 1, "entries", qi_manifest_to_json(m));
	char *tmp = qi_xasprintf("%s.tmp", file);
	int rc = 0;
	if (json_dump_file(j, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0 || rename(tmp, file) < 0)
		rc = qi_error_errno(h, "cannot write the manifest %s", file);
	free(tmp);
	json_decref(j);
	return rc;
}

/* One entry of a manifest file into E; -1 when it is damaged. */
static int load_entry(json_t *o, struct qi_manifest_entry *e)
{
	const char *path = json_string_value(json_object_get(o, "path"));
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *mode = json_string_value(json_object_get(o, "mode"));
	if (!path || path[0] != '/' || !type || !strchr("dflp", type[0]) || !type[0] || !mode)
		return -1;
	e->path = qi_xstrdup(path);
	e->owned = json_is_true(json_object_get(o, "owned"));
	e->img.type = letter_type(type[0]);
	e->img.mode = (mode_t)strtoul(mode, NULL, 8);
	e->img.uid = (uid_t)json_integer_value(json_object_get(o, "uid"));
	e->img.gid = (gid_t)json_integer_value(json_object_get(o, "gid"));
	if (e->img.type == QI_FT_REG) {
		const char *sha = json_string_value(json_object_get(o, "sha256"));
		if (!sha || !qi_is_hex(sha, QI_SHA256_HEX))
			return -1;
		memcpy(e->img.hash, sha, QI_SHA256_HEX + 1);
		e->img.size = json_integer_value(json_object_get(o, "size"));
	}
	if (e->img.type == QI_FT_LNK) {
		const char *t = json_string_value(json_object_get(o, "target"));
		if (!t)
			return -1;
		e->img.target = qi_xstrdup(t);
		e->img.size = (int64_t)strlen(t);	/* as a scan gives it */
	}
	return 0;
}

int qi_manifest_load(qi_handle *h, const char *file, struct qi_manifest *m)
{
	memset(m, 0, sizeof(*m));
	json_error_t err;
	json_t *j = json_load_file(file, 0, &err);
	if (!j)
		return qi_error(h, "cannot read the manifest %s: %s (line %d); remove it to rebuild", file,
				err.text, err.line);
	json_t *entries = json_object_get(j, "entries");
	size_t i;
	json_t *o;
	int rc = json_is_array(entries) ? 0 : -1;
	json_array_foreach(entries, i, o) {
		rc = load_entry(o, add(m));
		if (rc < 0)
			break;
	}
	json_decref(j);
	if (rc < 0) {
		qi_manifest_free(m);
		return qi_error(h, "the manifest %s is damaged; remove it to rebuild", file);
	}
	return 0;
}

const char *qi_stage_action_name(enum qi_stage_action a)
{
	switch (a) {
	case QI_STAGE_SAME: return "unchanged";
	case QI_STAGE_CREATE: return "create";
	case QI_STAGE_REPLACE: return "replace";
	case QI_STAGE_MODE: return "chmod";
	}
	return "?";
}

/* readlink of PATH inside ROOT without following anything out of it. */
char *qi_stage_readlink(qi_handle *h, const char *path)
{
	struct qi_image img;
	char *out = NULL;
	if (qi_image_path(h, path, false, &img) == 0 && img.type == QI_FT_LNK) {
		out = img.target;
		img.target = NULL;
	}
	qi_image_clear(&img);
	return out;
}

/* ---- symlinks in ROOT where the stage has a directory ---- */

#define MAX_LINKS 40	/* as the kernel's walk */

/* Where PATH (absolute) leads inside ROOT: every symlink on the way
 * followed as RESOLVE_IN_ROOT follows it (an absolute target starts again
 * at ROOT, ".." is taken after the links before it), a missing component
 * and what follows it kept as written. Returns the path (malloc'd), or
 * NULL with errno set (ELOOP, ENAMETOOLONG, a failed read). *climbs is set
 * when a ".." went above ROOT: seen from the host, that link points out of
 * ROOT, however the kernel clamps it. */
static char *resolve_in_root(qi_handle *h, const char *path, bool *climbs)
{
	char done[PATH_MAX] = "";	/* resolved so far, "" for ROOT's top */
	size_t dlen = 0;
	char *todo = qi_xstrdup(path), *p = todo;
	int links = 0, e = 0;
	*climbs = false;
	while (e == 0) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		const char *name = p;
		p += len;
		if (len == 1 && name[0] == '.')
			continue;
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			*climbs |= dlen == 0;
			while (dlen > 0 && done[--dlen] != '/')
				;
			done[dlen] = '\0';
			continue;
		}
		if (dlen + 1 + len >= sizeof(done)) {
			e = ENAMETOOLONG;
			break;
		}
		size_t parent = dlen;
		done[dlen++] = '/';
		memcpy(done + dlen, name, len);
		done[dlen += len] = '\0';
		struct qi_image img;
		if (qi_image_path(h, done, false, &img) < 0)
			e = errno;
		else if (img.type == QI_FT_LNK && ++links > MAX_LINKS)
			e = ELOOP;
		else if (img.type == QI_FT_LNK) {
			dlen = img.target[0] == '/' ? 0 : parent;
			done[dlen] = '\0';
			char *rest = qi_xasprintf("%s/%s", img.target, p);
			free(todo);
			todo = p = rest;
		}
		qi_image_clear(&img);
	}
	free(todo);
	if (e) {
		errno = e;
		return NULL;
	}
	return qi_xstrdup(dlen ? done : "/");
}

/* Where the symlink at PATH leads, for a staged directory there. */
enum link_end {
	LINK_DIR = 0,	/* a directory inside ROOT: installed through */
	LINK_BROKEN,	/* cannot be followed (a loop, ...): errno says why */
	LINK_OUT,	/* a ".." climbs above ROOT */
	LINK_MISSING,	/* dangles */
	LINK_OTHER,	/* a file, a fifo, ... */
};

/* *to gets where it leads (malloc'd; NULL for LINK_BROKEN), *type what is
 * there. */
static enum link_end dir_link_end(qi_handle *h, const char *path, char **to, enum qi_ftype *type)
{
	bool climbs;
	*type = QI_FT_ABSENT;
	*to = resolve_in_root(h, path, &climbs);
	if (!*to)
		return LINK_BROKEN;
	if (climbs && !qi_root_is_host(h))
		return LINK_OUT;
	struct qi_image img;
	int rc = qi_image_path(h, *to, false, &img);
	*type = rc < 0 ? QI_FT_ABSENT : img.type;
	qi_image_clear(&img);
	return *type == QI_FT_DIR ? LINK_DIR : *type == QI_FT_ABSENT ? LINK_MISSING : LINK_OTHER;
}

static bool dir_link_ok(qi_handle *h, const char *path)
{
	char *to;
	enum qi_ftype type;
	enum link_end end = dir_link_end(h, path, &to, &type);
	free(to);
	return end == LINK_DIR;
}

/* PATH, where the stage has a directory: 0 when ROOT has a directory or
 * nothing there, or a symlink that leads to a directory inside ROOT (*link
 * is then set); -1 and a message saying what to mend otherwise. */
static int check_dir(qi_handle *h, const char *path, bool *link)
{
	struct qi_image live;
	if (qi_image_path(h, path, false, &live) < 0 || live.type != QI_FT_LNK) {
		qi_image_clear(&live);
		return 0;	/* an error to read it is the commit's to report */
	}
	*link = true;
	char *to;
	enum qi_ftype type;
	enum link_end end = dir_link_end(h, path, &to, &type);
	int e = errno, rc = 0;
	char *full = qi_root_path(h, path), *dest = to ? qi_root_path(h, to) : NULL;
	char *fix = qi_xasprintf("make %s a directory or a symlink to one inside %s, then run again", full,
				 qi_root(h));
	switch (end) {
	case LINK_DIR:
		break;
	case LINK_BROKEN:
		rc = qi_error(h, "%s is a symlink to %s, which cannot be followed (%s): %s", full, live.target,
			      strerror(e), fix);
		break;
	case LINK_OUT:
		rc = qi_error(h, "%s is a symlink to %s, which leads out of %s (its \"..\" climbs above it): "
			      "qinstall follows links only inside the root; %s", full, live.target, qi_root(h), fix);
		break;
	case LINK_MISSING:
		rc = qi_error(h, "%s is a symlink to %s, which does not exist in %s%s: create %s, or %s", full,
			      live.target, qi_root(h),
			      live.target[0] == '/' ? " (an absolute target is read inside it)" : "", dest, fix);
		break;
	case LINK_OTHER: {
		const char *what = type == QI_FT_REG ? "regular file" : type == QI_FT_FIFO ? "FIFO" : "device or socket";
		rc = qi_error(h, "%s is a symlink to %s, which is a %s, not a directory (%s): %s", full,
			      live.target, what, dest, fix);
		break;
	}
	}
	free(fix);
	free(dest);
	free(to);
	free(full);
	qi_image_clear(&live);
	return rc;
}

int qi_stage_check_dir(qi_handle *h, const char *dir)
{
	char *path = qi_path_clean(h, dir);
	if (!path)
		return -1;
	bool link = false;
	int rc = 0;
	for (char *s = path + 1; rc == 0 && path[1]; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		rc = check_dir(h, path, &link);
		*s = c;
		if (!c)
			break;
	}
	free(path);
	return rc;
}

/* Where entry E lands in ROOT: a directory wherever its links lead, a file
 * or link in the directory its parent leads to (itself never followed). */
static char *landing(qi_handle *h, const struct qi_manifest_entry *e)
{
	bool climbs;
	if (e->img.type == QI_FT_DIR)
		return resolve_in_root(h, e->path, &climbs);
	const char *slash = strrchr(e->path, '/');
	char *parent = qi_xasprintf("%.*s", (int)(slash - e->path), e->path);
	char *dir = resolve_in_root(h, parent[0] ? parent : "/", &climbs);
	char *out = dir ? qi_xasprintf("%s%s", strcmp(dir, "/") == 0 ? "" : dir, slash) : NULL;
	free(dir);
	free(parent);
	return out;
}

struct landing {
	char *at;
	const struct qi_manifest_entry *e;
};

static int cmp_landing(const void *a, const void *b)
{
	return strcmp(((const struct landing *)a)->at, ((const struct landing *)b)->at);
}

/* Two staged paths that the links make one (bin/x and usr/bin/x under a
 * merged /usr): one would overwrite the other and the journal would keep
 * two records of one file. Refused, unless both are directories. */
static int check_aliases(qi_handle *h, const struct qi_manifest *m)
{
	struct landing *l = qi_xmalloc((m->n ? m->n : 1) * sizeof(*l));
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++)
		if ((l[n].at = landing(h, &m->e[i])))
			l[n++].e = &m->e[i];
	qsort(l, n, sizeof(*l), cmp_landing);
	int rc = 0;
	for (size_t i = 1; i < n && rc == 0; i++)
		if (strcmp(l[i - 1].at, l[i].at) == 0 &&
		    (l[i - 1].e->img.type != QI_FT_DIR || l[i].e->img.type != QI_FT_DIR)) {
			char *full = qi_root_path(h, l[i].at);
			rc = qi_error(h, "the staged %s and %s are one path, %s, through the symlinks in %s: "
				      "one would overwrite the other; install the component into one of them only",
				      l[i - 1].e->path, l[i].e->path, full, qi_root(h));
			free(full);
		}
	for (size_t i = 0; i < n; i++)
		free(l[i].at);
	free(l);
	return rc;
}

int qi_stage_check(qi_handle *h, const struct qi_manifest *m)
{
	bool links = false;
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].img.type != QI_FT_DIR)
			continue;
		char *path = qi_path_normalise(m->e[i].path, 0);
		int rc = path ? check_dir(h, path, &links) : 0;
		free(path);
		if (rc < 0)
			return -1;
	}
	/* Without a link in the way every path lands where it says. */
	return links ? check_aliases(h, m) : 0;
}

/* A staged file WANT against LIVE, what ROOT has at PATH: the content is
 * hashed only when the sizes agree. */
static enum qi_stage_action compare_file(qi_handle *h, const char *path, const struct qi_image *want,
					 const struct qi_image *live)
{
	if (live->type != QI_FT_REG || live->size != want->size)
		return QI_STAGE_REPLACE;
	struct qi_image hashed;
	enum qi_stage_action a;
	if (qi_image_path(h, path, true, &hashed) < 0 || hashed.type != QI_FT_REG ||
	    strcmp(hashed.hash, want->hash) != 0)
		a = QI_STAGE_REPLACE;
	else
		a = qi_image_equal(&hashed, want) ? QI_STAGE_SAME : QI_STAGE_MODE;
	qi_image_clear(&hashed);
	return a;
}

enum qi_stage_action qi_stage_compare(qi_handle *h, const struct qi_manifest_entry *e)
{
	const struct qi_image *want = &e->img;
	char *path = qi_path_normalise(e->path, 0);
	struct qi_image live = { 0 };
	enum qi_stage_action a;
	if (!path || qi_image_path(h, path, false, &live) < 0 || live.type == QI_FT_ABSENT)
		a = QI_STAGE_CREATE;
	else if (want->type == QI_FT_DIR && e->owned)	/* the component's own */
		a = live.type != QI_FT_DIR ? QI_STAGE_REPLACE
		    : qi_image_equal(&live, want) ? QI_STAGE_SAME : QI_STAGE_MODE;
	else if (want->type == QI_FT_DIR)	/* an existing directory is the system's */
		a = live.type == QI_FT_DIR || (live.type == QI_FT_LNK && dir_link_ok(h, path))
			    ? QI_STAGE_SAME
			    : QI_STAGE_REPLACE;
	else if (want->type == QI_FT_FIFO)
		a = live.type != QI_FT_FIFO ? QI_STAGE_REPLACE
		    : qi_image_equal(&live, want) ? QI_STAGE_SAME : QI_STAGE_MODE;
	else if (want->type == QI_FT_LNK)	/* a link's owner is whoever made it */
		a = live.type == QI_FT_LNK && strcmp(live.target, want->target) == 0 ? QI_STAGE_SAME
										     : QI_STAGE_REPLACE;
	else
		a = compare_file(h, path, want, &live);
	qi_image_clear(&live);
	free(path);
	return a;
}

/* One entry: make ROOT's path match it. */
static int commit_entry(qi_handle *h, const char *stage, const struct qi_manifest_entry *e,
			enum qi_stage_action a)
{
	const struct qi_image *img = &e->img;
	int rc = 0;
	if (a == QI_STAGE_MODE) {
		/* owner first: a chown clears the set-id bits the mode sets */
		rc = qi_chown(h, e->path, img->uid, img->gid);
		return rc < 0 ? rc : qi_chmod(h, e->path, img->mode);
	}
	if (a == QI_STAGE_REPLACE && img->type != QI_FT_REG)
		rc = qi_remove(h, e->path);
	if (rc < 0)
		return rc;
	switch (img->type) {
	case QI_FT_DIR:
		return qi_mkdir(h, e->path, img->mode, img->uid, img->gid);
	case QI_FT_LNK:
		return qi_symlink(h, e->path, img->target);
	case QI_FT_FIFO:
		return qi_mkfifo(h, e->path, img->mode, img->uid, img->gid);
	default:
		break;
	}
	char *src = qi_xasprintf("%s%s", stage, e->path);
	rc = qi_write_file_from(h, e->path, src, img->mode, img->uid, img->gid);
	free(src);
	return rc;
}

int qi_stage_commit(qi_handle *h, const char *stage, const struct qi_manifest *m, size_t *changed)
{
	size_t n = 0;
	if (qi_stage_check(h, m) < 0)
		return -1;
	/* Directories first, one by one (the files below them need them);
	 * then the files and links as one group commit of the journal. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && qi_batch_begin(h) < 0)
			return -1;
		for (size_t i = 0; i < m->n; i++) {
			const struct qi_manifest_entry *e = &m->e[i];
			if ((e->img.type == QI_FT_DIR) != (pass == 0))
				continue;
			enum qi_stage_action a = qi_stage_compare(h, e);
			if (a == QI_STAGE_SAME)
				continue;
			if (commit_entry(h, stage, e, a) < 0) {
				if (pass == 1)
					qi_batch_end(h);
				return qi_error_prefix(h, "install %s", e->path);
			}
			qi_debug(h, "%s %s", qi_stage_action_name(a), e->path);
			n++;
		}
		if (pass == 1 && qi_batch_end(h) < 0)
			return qi_error_prefix(h, "install the staged tree");
	}
	if (changed)
		*changed = n;
	return 0;
}
