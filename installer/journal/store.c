/*
 * store.c - the content-addressed store of before-images:
 * ROOT/var/lib/qinstall/store/<sha256>. A file is written under a
 * temporary name, (optionally) fsynced, then renamed to its hash, so a
 * name in the store always holds exactly the content it is named after
 * (unless someone damages it: qi_store_check tells, and a damaged entry
 * that a rollback leaves is set aside as .damaged.HASH, its bytes kept,
 * so that a later run saves a sound copy of that content).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"

static bool valid_hash(const char *hash)
{
	if (!hash || strlen(hash) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
			return false;
	return true;
}

/* Copy FD to OUT, hashing what passes: HASH gets its SHA-256. */
static int copy_hashed(qi_handle *h, int fd, int out, char hash[QI_SHA256_HEX + 1])
{
	struct qi_digest d;
	if (qi_digest_init(h, &d, true, false) < 0)
		return -1;
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = qi_error_errno(h, "cannot read a file to save its before-image");
		else if (n > 0 && qi_digest_update(h, &d, buf, (size_t)n) < 0)
			rc = -1;
		else if (n > 0 && qi_write_all(out, buf, (size_t)n) < 0)
			rc = qi_error_errno(h, "cannot save a before-image into the journal's store");
		if (n <= 0 || rc < 0)
			break;
	}
	if (rc == 0)
		rc = qi_digest_final(h, &d, hash, NULL);
	qi_digest_free(&d);
	return rc;
}

int qi_store_put_fd(qi_handle *h, int storefd, int fd, const char *expect_hash,
		    bool sync, bool *added)
{
	*added = false;
	if (expect_hash && qi_store_check(storefd, expect_hash, NULL) == QI_STORE_SOUND)
		return 0;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".tmp.%ld", (long)getpid());
	int out = openat(storefd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return qi_error_errno(h, "cannot write into the journal's store");
	char hash[QI_SHA256_HEX + 1];
	if (copy_hashed(h, fd, out, hash) < 0)
		goto fail;
	if (expect_hash && strcmp(hash, expect_hash) != 0) {
		qi_error(h, "a file changed while its before-image was saved (sha256 %.12s, then %.12s); run again",
			 expect_hash, hash);
		goto fail;
	}
	if (sync && fsync(out) < 0) {
		qi_error_errno(h, "cannot fsync a before-image in the journal's store");
		goto fail;
	}
	if (close(out) < 0) {
		out = -1;
		qi_error_errno(h, "cannot save a before-image into the journal's store");
		goto fail;
	}
	out = -1;
	if (qi_store_check(storefd, hash, NULL) == QI_STORE_SOUND) {
		unlinkat(storefd, tmp, 0);
		return 0;
	}
	/* a damaged entry under that name is replaced by the sound copy */
	if (renameat(storefd, tmp, storefd, hash) < 0) {
		qi_error_errno(h, "cannot save a before-image into the journal's store");
		goto fail;
	}
	*added = true;
	return 0;
fail:
	if (out >= 0)
		close(out);
	unlinkat(storefd, tmp, 0);
	return -1;
}

int qi_store_open(int storefd, const char *hash)
{
	if (!valid_hash(hash)) {
		errno = EINVAL;
		return -1;
	}
	/* never block on a FIFO put in its place, never follow a symlink */
	int fd = openat(storefd, hash, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EMEDIUMTYPE;
		return -1;
	}
	return fd;
}

int qi_store_check(int storefd, const char *hash, char found[QI_SHA256_HEX + 1])
{
	if (found)
		found[0] = '\0';
	if (storefd < 0)
		return QI_STORE_MISSING;
	struct stat st;
	if (!valid_hash(hash) || fstatat(storefd, hash, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == EINVAL ? QI_STORE_MISSING : QI_STORE_UNREADABLE;
	if (!S_ISREG(st.st_mode))
		return QI_STORE_NOT_FILE;
	int fd = qi_store_open(storefd, hash);
	if (fd < 0)
		return errno == ENOENT ? QI_STORE_MISSING :
		       errno == EMEDIUMTYPE || errno == ELOOP ? QI_STORE_NOT_FILE : QI_STORE_UNREADABLE;
	char got[QI_SHA256_HEX + 1];
	int rc = qi_sha256_fd(fd, got, NULL);
	close(fd);
	if (rc < 0)
		return QI_STORE_UNREADABLE;
	if (strcmp(got, hash) == 0)
		return QI_STORE_SOUND;
	if (found)
		memcpy(found, got, sizeof(got));
	return QI_STORE_DAMAGED;
}

const char *qi_store_state_name(int state)
{
	switch (state) {
	case QI_STORE_SOUND: return "sound";
	case QI_STORE_MISSING: return "missing";
	case QI_STORE_DAMAGED: return "damaged";
	case QI_STORE_NOT_FILE: return "not a regular file";
	default: return "unreadable";
	}
}

const char *qi_store_state_text(int state)
{
	switch (state) {
	case QI_STORE_SOUND: return "is sound in the journal's store";
	case QI_STORE_MISSING: return "is missing from the journal's store";
	case QI_STORE_DAMAGED: return "is damaged in the journal's store (its content does not match its sha256)";
	case QI_STORE_NOT_FILE: return "is not a regular file in the journal's store (something else stands in its place)";
	default: return "cannot be read from the journal's store";
	}
}

int qi_store_open_dir(int statefd, const char **problem)
{
	*problem = NULL;
	struct stat st;
	if (fstatat(statefd, "store", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		*problem = errno == ENOENT ? "is missing" : "cannot be looked at";
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		*problem = "is a symlink (qinstall never follows it)";
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*problem = "is not a directory";
		return -1;
	}
	int fd = openat(statefd, "store", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		*problem = "cannot be opened";
	return fd;
}

int qi_store_set_aside(int storefd, const char *hash)
{
	struct stat st;
	if (!valid_hash(hash) || fstatat(storefd, hash, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;	/* nothing there to keep */
	char name[QI_SHA256_HEX + 32];
	for (int i = 0; i < 100; i++) {
		if (i)
			snprintf(name, sizeof(name), ".damaged.%s.%d", hash, i);
		else
			snprintf(name, sizeof(name), ".damaged.%s", hash);
		if (renameat2(storefd, hash, storefd, name, RENAME_NOREPLACE) == 0)
			return fsync(storefd);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}
