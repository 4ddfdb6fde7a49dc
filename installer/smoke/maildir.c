/*
 * maildir.c - the smoke test's look into the admin's Maildir inside ROOT:
 * waiting for the test message in new/ or cur/, then removing it. Both
 * directories are opened inside ROOT (qi_root_open), each file without
 * following a link. The removal is the one change the smoke test makes,
 * and of its own message only: it is not journaled (a rollback must never
 * bring a test message back).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "smoke/smoke.h"

#define SMOKE_SCAN_BYTES 65536	/* the headers, where the token is */

/* Whether the regular file NAME in DIRFD holds TOKEN in its first bytes. */
static bool holds(int dirfd, const char *name, const char *token)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool found = false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		char *buf = qi_xmalloc(SMOKE_SCAN_BYTES);
		ssize_t n = read(fd, buf, SMOKE_SCAN_BYTES);
		found = n > 0 && memmem(buf, (size_t)n, token, strlen(token)) != NULL;
		free(buf);
	}
	close(fd);
	return found;
}

/* Look once into MAILDIR/SUB for files changed since SINCE; *name
 * (malloc'd) is the one holding TOKEN. -1 when SUB cannot be opened. */
static int scan(qi_handle *h, const char *maildir, const char *sub, const char *token, time_t since,
		char **name)
{
	char *path = qi_xasprintf("%s/%s", maildir, sub);
	int fd = qi_root_open(h, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	free(path);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot read %s/%s", maildir, sub);
	}
	struct dirent *e;
	while (!*name && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_mtime < since)
			continue;
		if (holds(fd, e->d_name, token))
			*name = qi_xasprintf("%s/%s", sub, e->d_name);
	}
	closedir(d);
	return 0;
}

int smoke_maildir_find(qi_handle *h, const char *maildir, const char *token, int timeout, char **found)
{
	*found = NULL;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* A minute of slack for a clock that differs from the file system's. */
	time_t since = time(NULL) - 60;
	for (;;) {
		if (scan(h, maildir, "new", token, since, found) < 0 ||
		    (!*found && scan(h, maildir, "cur", token, since, found) < 0))
			return qi_error_prefix(h, "the Maildir %s", maildir);
		if (*found)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout)
			return 0;
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

int smoke_maildir_remove(qi_handle *h, const char *maildir, const char *token, char **removed)
{
	/* Looked for again: a POP3 server may have moved it to cur/. */
	if (smoke_maildir_find(h, maildir, token, 0, removed) < 0)
		return -1;
	if (!*removed)
		return 0;
	char *found = *removed;
	const char *slash = strrchr(found, '/');
	char *dir = qi_xasprintf("%s/%.*s", maildir, (int)(slash - found), found);
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int rc = 0;
	if (fd < 0)
		rc = -1;
	else if (unlinkat(fd, slash + 1, 0) < 0)
		rc = qi_error_errno(h, "cannot remove the test message %s/%s", maildir, found);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}
