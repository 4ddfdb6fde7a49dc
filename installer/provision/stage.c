/*
 * stage.c - the staged tree of a component: its manifest (path, type,
 * mode, owner, hash), the comparison with ROOT, and its commit into ROOT
 * through the journal.
 *
 * Everything staged is owned by root in ROOT, whoever built it. Existing
 * directories in ROOT are left as they are (their mode and owner are the
 * system's business); files and links are made to match the stage.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
		free(m->e[i].target);
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

static int scan_dir(qi_handle *h, const char *host, const char *rel, struct qi_manifest *m)
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
		char *rp = qi_xasprintf("%s/%s", rel, de->d_name);
		struct stat st;
		if (lstat(hp, &st) < 0) {
			rc = qi_error_errno(h, "cannot stat %s", hp);
		} else {
			struct qi_manifest_entry *e = add(m);
			e->path = rp;
			rp = NULL;
			e->mode = st.st_mode & 07777;
			e->uid = 0;
			e->gid = 0;
			if (S_ISDIR(st.st_mode)) {
				e->type = 'd';
				rc = scan_dir(h, hp, e->path, m);
			} else if (S_ISREG(st.st_mode)) {
				char hex512[QI_SHA512_HEX + 1];
				e->type = 'f';
				rc = qi_digest_file(h, hp, true, false, e->sha256, hex512, &e->size);
			} else if (S_ISLNK(st.st_mode)) {
				char buf[4096];
				ssize_t n = readlink(hp, buf, sizeof(buf) - 1);
				if (n < 0) {
					rc = qi_error_errno(h, "cannot read the link %s", hp);
				} else {
					buf[n] = '\0';
					e->type = 'l';
					e->mode = 0777;
					e->target = qi_xstrdup(buf);
				}
			} else {
				rc = qi_error(h, "%s: the staged tree may hold only directories, files and symlinks", hp);
			}
		}
		free(hp);
		free(rp);
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

int qi_manifest_scan(qi_handle *h, const char *stage, struct qi_manifest *m)
{
	memset(m, 0, sizeof(*m));
	if (scan_dir(h, stage, "", m) < 0) {
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
		snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode);
		json_t *o = json_pack("{s:s, s:s#, s:s, s:i, s:i}", "path", e->path, "type", &e->type, (size_t)1,
				      "mode", mode, "uid", (json_int_t)e->uid, "gid", (json_int_t)e->gid);
		if (e->type == 'f') {
			json_object_set_new(o, "size", json_integer(e->size));
			json_object_set_new(o, "sha256", json_string(e->sha256));
		}
		if (e->type == 'l')
			json_object_set_new(o, "target", json_string(e->target));
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
		const char *path = json_string_value(json_object_get(o, "path"));
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *mode = json_string_value(json_object_get(o, "mode"));
		if (!path || path[0] != '/' || !type || !strchr("dfl", type[0]) || !type[0] || !mode) {
			rc = -1;
			break;
		}
		struct qi_manifest_entry *e = add(m);
		e->path = qi_xstrdup(path);
		e->type = type[0];
		e->mode = (mode_t)strtoul(mode, NULL, 8);
		e->uid = (uid_t)json_integer_value(json_object_get(o, "uid"));
		e->gid = (gid_t)json_integer_value(json_object_get(o, "gid"));
		if (e->type == 'f') {
			const char *sha = json_string_value(json_object_get(o, "sha256"));
			if (!sha || !qi_is_hex(sha, 64)) {
				rc = -1;
				break;
			}
			memcpy(e->sha256, sha, 65);
			e->size = json_integer_value(json_object_get(o, "size"));
		}
		if (e->type == 'l') {
			const char *t = json_string_value(json_object_get(o, "target"));
			if (!t) {
				rc = -1;
				break;
			}
			e->target = qi_xstrdup(t);
		}
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
	char *parent = qi_xstrdup(path);
	char *slash = strrchr(parent, '/');
	const char *base = slash + 1;
	if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	char *name = qi_xstrdup(path + (base - parent));
	int fd = qi_root_open(h, parent, O_PATH | O_DIRECTORY, 0);
	char *out = NULL;
	if (fd >= 0) {
		char buf[4096];
		ssize_t n = readlinkat(fd, name, buf, sizeof(buf) - 1);
		if (n >= 0) {
			buf[n] = '\0';
			out = qi_xstrdup(buf);
		}
		close(fd);
	}
	qi_clear_error(h);
	free(parent);
	free(name);
	return out;
}

/* SHA-256 of a regular file inside ROOT; false when unreadable. */
static bool root_sha256(qi_handle *h, const char *path, char hex[65])
{
	int fd = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0) {
		qi_clear_error(h);
		return false;
	}
	struct qi_digest d;
	char hex512[QI_SHA512_HEX + 1];
	bool ok = qi_digest_init(h, &d, true, false) == 0 && qi_digest_fd(h, &d, fd, path) == 0 &&
		  qi_digest_final(h, &d, hex, hex512) == 0;
	qi_digest_free(&d);
	close(fd);
	if (!ok)
		qi_clear_error(h);
	return ok;
}

enum qi_stage_action qi_stage_compare(qi_handle *h, const struct qi_manifest_entry *e)
{
	struct stat st;
	if (qi_root_lstat(h, e->path, &st) < 0)
		return QI_STAGE_CREATE;
	switch (e->type) {
	case 'd':
		return S_ISDIR(st.st_mode) ? QI_STAGE_SAME : QI_STAGE_REPLACE;
	case 'l': {
		if (!S_ISLNK(st.st_mode))
			return QI_STAGE_REPLACE;
		char *t = qi_stage_readlink(h, e->path);
		bool same = t && strcmp(t, e->target) == 0;
		free(t);
		return same ? QI_STAGE_SAME : QI_STAGE_REPLACE;
	}
	default: {
		if (!S_ISREG(st.st_mode) || st.st_size != e->size)
			return QI_STAGE_REPLACE;
		char hex[65];
		if (!root_sha256(h, e->path, hex) || strcmp(hex, e->sha256) != 0)
			return QI_STAGE_REPLACE;
		if ((st.st_mode & 07777) != e->mode || st.st_uid != e->uid || st.st_gid != e->gid)
			return QI_STAGE_MODE;
		return QI_STAGE_SAME;
	}
	}
}

/* One entry: make ROOT's path match it. */
static int commit_entry(qi_handle *h, const char *stage, const struct qi_manifest_entry *e,
			enum qi_stage_action a)
{
	int rc = 0;
	if (a == QI_STAGE_REPLACE && e->type != 'f')
		rc = qi_remove(h, e->path);
	if (rc < 0)
		return rc;
	switch (e->type) {
	case 'd':
		return qi_mkdir(h, e->path, e->mode, e->uid, e->gid);
	case 'l':
		return qi_symlink(h, e->path, e->target);
	}
	if (a == QI_STAGE_MODE) {
		rc = qi_chmod(h, e->path, e->mode);
		return rc < 0 ? rc : qi_chown(h, e->path, e->uid, e->gid);
	}
	char *src = qi_xasprintf("%s%s", stage, e->path);
	rc = qi_write_file_from(h, e->path, src, e->mode, e->uid, e->gid);
	free(src);
	return rc;
}

int qi_stage_commit(qi_handle *h, const char *stage, const struct qi_manifest *m, size_t *changed)
{
	size_t n = 0;
	/* Directories first, one by one (the files below them need them);
	 * then the files and links as one group commit of the journal. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && qi_batch_begin(h) < 0)
			return -1;
		for (size_t i = 0; i < m->n; i++) {
			const struct qi_manifest_entry *e = &m->e[i];
			if ((e->type == 'd') != (pass == 0))
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
