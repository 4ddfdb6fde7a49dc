/*
 * sandbox.c - what an isolated build needs besides the isolation itself
 * (which process.c does, in the child): the build user, and the tree it
 * builds in given to that user.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

int qi_sandbox_user(qi_handle *h, const char *name, uid_t *uid, gid_t *gid)
{
	if (!name)
		name = "nobody";
	struct passwd pw, *found = NULL;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = size > 0 ? (size_t)size : 16384;
	char *buf = qi_xmalloc(len);
	int e;
	while ((e = getpwnam_r(name, &pw, buf, len, &found)) == ERANGE && len < ((size_t)1 << 20)) {
		len *= 2;
		buf = qi_xrealloc(buf, len);
	}
	int rc = 0;
	if (e != 0) {
		errno = e;
		rc = qi_error_errno(h, "cannot look up the build user '%s' in the host's passwd", name);
	} else if (!found) {
		rc = qi_error(h, "the build user '%s' is not in the host's passwd: create it (an account with no login) or name another one ('user' in the profile's [build] section)",
			      name);
	} else if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		rc = qi_error(h, "the build user '%s' has uid %ld and gid %ld: builds never run as root or root's group; name an unprivileged account ('user' in the profile's [build] section)",
			      name, (long)pw.pw_uid, (long)pw.pw_gid);
	} else {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	return rc;
}

/* Give everything in the directory FD (PATH, for messages) to UID:GID,
 * itself included; FD is closed. */
static int chown_dir(qi_handle *h, int fd, const char *path, uid_t uid, gid_t gid)
{
	if (fchown(fd, uid, gid) < 0) {
		int rc = qi_error_errno(h, "cannot give %s to the build user", path);
		close(fd);
		return rc;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int rc = qi_error_errno(h, "cannot read the directory %s", path);
		close(fd);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while (rc == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		char *sub = qi_xasprintf("%s/%s", path, n);
		struct stat st;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = qi_error_errno(h, "cannot stat %s", sub);
		} else if (S_ISDIR(st.st_mode)) {
			int sfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = sfd < 0 ? qi_error_errno(h, "cannot open the directory %s", sub)
				     : chown_dir(h, sfd, sub, uid, gid);
		} else if (fchownat(dirfd(d), n, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = qi_error_errno(h, "cannot give %s to the build user", sub);
		}
		free(sub);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = qi_error_errno(h, "cannot read the directory %s", path);
	closedir(d);
	return rc;
}

int qi_sandbox_chown_tree(qi_handle *h, const char *dir, uid_t uid, gid_t gid)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return qi_error_errno(h, "cannot open the build tree %s", dir);
	return chown_dir(h, fd, dir, uid, gid);
}
