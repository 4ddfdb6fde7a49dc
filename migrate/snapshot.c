/*
 * snapshot.c - the old MTA's configuration as it was before a takeover
 * (/etc/postfix, /etc/exim4, /etc/mail, /etc/aliases, /etc/mailname):
 * each regular file copied into the work directory through the journal,
 * each file's, link's and directory's image (type, mode, owner, hash,
 * link target) in the record of one external operation, whose undo, run
 * after the old packages are back, puts back whatever differs. dpkg's
 * remove keeps these files; the snapshot is there for a maintainer script
 * that changes one, and so that the rollback says the configuration is
 * exactly as it was.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/migrate.h"

#define SNAP_MAX_FILES 20000

static json_t *image_json(const char *path, const struct stat *st, const char *hash, const char *target,
			  const char *copy)
{
	const char *type = S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "symlink" : "file";
	json_t *e = json_pack("{s:s, s:s, s:i, s:i, s:i}", "path", path, "type", type, "mode",
			      (int)(st->st_mode & 07777), "uid", (int)st->st_uid, "gid", (int)st->st_gid);
	if (hash)
		json_object_set_new(e, "sha256", json_string(hash));
	if (target)
		json_object_set_new(e, "target", json_string(target));
	if (copy)
		json_object_set_new(e, "copy", json_string(copy));
	return e;
}

static int hash_in_root(qi_handle *h, const char *path, char hex[QI_SHA256_HEX + 1])
{
	int fd = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int64_t size;
	int rc = qi_sha256_fd(fd, hex, &size);
	close(fd);
	if (rc < 0)
		return qi_error_errno(h, "cannot read %s%s", qi_root(h), path);
	return 0;
}

/* PATH (inside ROOT) and what is below it into LIST; regular files also
 * copied to STORE/PATH through the journal (unless CHECK). */
static int take_path(qi_handle *h, const char *path, const char *store, json_t *list, int depth)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0)
		return 0;	/* not there: nothing to keep */
	if (json_array_size(list) >= SNAP_MAX_FILES || depth > 32)
		return qi_error(h, "%s%s holds more than %d files: too many to snapshot", qi_root(h), path,
				SNAP_MAX_FILES);
	if (S_ISLNK(st.st_mode)) {
		char *t = mta_readlink(h, path);
		json_array_append_new(list, image_json(path, &st, NULL, t ? t : "", NULL));
		free(t);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		char hex[QI_SHA256_HEX + 1];
		if (hash_in_root(h, path, hex) < 0)
			return -1;
		char *copy = qi_xasprintf("%s%s", store, path);
		char *host = qi_root_path(h, path);
		char *parent = qi_xstrdup(copy);
		*strrchr(parent, '/') = '\0';
		struct stat pst;
		int rc = qi_check(h) || qi_root_lstat(h, parent, &pst) == 0 ? 0 :
			qi_mkdir_p(h, parent, 0700, (uid_t)-1, (gid_t)-1);
		free(parent);
		if (rc == 0 && !qi_check(h))
			rc = qi_write_file_from(h, copy, host, 0600, (uid_t)-1, (gid_t)-1);
		if (rc == 0)
			json_array_append_new(list, image_json(path, &st, hex, NULL, copy));
		free(copy);
		free(host);
		return rc;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;	/* sockets, FIFOs: nothing of the configuration */
	json_array_append_new(list, image_json(path, &st, NULL, NULL, NULL));
	int fd = qi_root_open(h, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot read the directory %s%s", qi_root(h), path);
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			char *sub = qi_xasprintf("%s/%s", path, de->d_name);
			rc = take_path(h, sub, store, list, depth + 1);
			free(sub);
		}
	closedir(d);
	return rc;
}

int snap_take(qi_handle *h, const char *const *paths, const char *store, json_t **list)
{
	*list = json_array();
	for (size_t i = 0; paths[i]; i++)
		if (take_path(h, paths[i], store, *list, 0) < 0)
			return -1;
	return 0;
}

/* ---- the undo ---- */

static int put_file(qi_handle *h, const char *path, const char *copy, mode_t mode, uid_t uid, gid_t gid)
{
	char *data = NULL;
	size_t len = 0;
	if (qi_root_read(h, copy, &data, &len) < 0)
		return qi_error_prefix(h, "the snapshot's copy of %s", path);
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	int rc = -1;
	if (dfd >= 0) {
		char *tmp = qi_xasprintf(".%s.qinstall-restore", name);
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 && qi_write_all(fd, data, len) == 0 && fchown(fd, uid, gid) == 0 &&
		    fchmod(fd, mode) == 0 && fsync(fd) == 0)
			rc = renameat(dfd, tmp, dfd, name);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			unlinkat(dfd, tmp, 0);
		free(tmp);
		close(dfd);
	}
	free(data);
	if (rc < 0) {
		char *full = qi_root_path(h, path);
		qi_error_errno(h, "cannot put back %s", full);
		free(full);
	}
	return rc;
}

/* One entry of the snapshot put back, when ROOT differs from it. */
static int restore_one(qi_handle *h, json_t *e, size_t *restored)
{
	const char *path = json_string_value(json_object_get(e, "path"));
	const char *type = json_string_value(json_object_get(e, "type"));
	if (!path || !type)
		return qi_error(h, "the journal's snapshot of the old configuration is damaged");
	mode_t mode = (mode_t)json_integer_value(json_object_get(e, "mode"));
	uid_t uid = (uid_t)json_integer_value(json_object_get(e, "uid"));
	gid_t gid = (gid_t)json_integer_value(json_object_get(e, "gid"));
	struct stat st;
	bool there = qi_root_lstat(h, path, &st) == 0;
	const char *name;
	if (strcmp(type, "dir") == 0) {
		if (there && S_ISDIR(st.st_mode))
			return 0;
		int dfd = qi_root_parent(h, path, &name);
		int rc = dfd < 0 || (there ? -1 : mkdirat(dfd, name, mode)) < 0 ? -1 : 0;
		if (rc == 0)
			fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
		if (dfd >= 0)
			close(dfd);
		if (rc < 0)
			qi_warn(h, "cannot put the directory %s back", path);
		*restored += rc == 0;
		return 0;
	}
	if (strcmp(type, "symlink") == 0) {
		const char *target = json_string_value(json_object_get(e, "target"));
		char *now = there ? mta_readlink(h, path) : NULL;
		bool same = now && target && strcmp(now, target) == 0;
		free(now);
		if (same || !target)
			return 0;
		int dfd = qi_root_parent(h, path, &name);
		if (dfd < 0 || (there && unlinkat(dfd, name, 0) < 0) || symlinkat(target, dfd, name) < 0) {
			if (dfd >= 0)
				close(dfd);
			return qi_error_errno(h, "cannot put the link %s back", path);
		}
		close(dfd);
		(*restored)++;
		return 0;
	}
	const char *hash = json_string_value(json_object_get(e, "sha256"));
	const char *copy = json_string_value(json_object_get(e, "copy"));
	char hex[QI_SHA256_HEX + 1] = "";
	if (there && S_ISREG(st.st_mode) && hash_in_root(h, path, hex) < 0)
		qi_clear_error(h);
	if (there && S_ISREG(st.st_mode) && hash && strcmp(hex, hash) == 0 &&
	    (st.st_mode & 07777) == mode && st.st_uid == uid && st.st_gid == gid)
		return 0;
	if (!copy || (there && !S_ISREG(st.st_mode)))
		return qi_error(h, "%s%s is not a file now: put it back from the snapshot by hand", qi_root(h),
				path);
	if (put_file(h, path, copy, mode, uid, gid) < 0)
		return -1;
	(*restored)++;
	return 0;
}

int snap_restore(qi_handle *h, json_t *list, size_t *restored)
{
	*restored = 0;
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
		if (restore_one(h, e, restored) < 0)
			return -1;
	return 0;
}
