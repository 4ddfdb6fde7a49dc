/*
 * act.c - the one act of the journal, shared by a change and its undo:
 * make a path inside ROOT what an image says (removed; or its owner and
 * mode set in place; or a new object made under a temporary name beside
 * it and renamed over it; a restore's copy from the store is checked
 * against its hash before it replaces anything), and remember the file
 * systems acted on, so that they are synced before anything is marked
 * done.
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

/* ------------------------------------------------------------------ */
/* Syncing                                                              */
/* ------------------------------------------------------------------ */

void qi_journal_note_dev(struct qi_journal *j, int dirfd)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return;
	for (int i = 0; i < j->ndevs; i++)
		if (j->devs[i].dev == st.st_dev)
			return;
	if (j->ndevs == (int)(sizeof(j->devs) / sizeof(j->devs[0]))) {
		j->dev_overflow = true;
		return;
	}
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	j->devs[j->ndevs].dev = st.st_dev;
	j->devs[j->ndevs].fd = fd;
	j->ndevs++;
}

int qi_journal_sync_devs(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (j->dev_overflow)
		sync();
	for (int i = 0; i < j->ndevs; i++)
		if (syncfs(j->devs[i].fd) < 0)
			return qi_error_errno(h, "cannot sync the file system of %s", h->root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Making a path look like an image                                     */
/* ------------------------------------------------------------------ */

static int copy_fd(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (qi_write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
}

static void tmp_name(char *buf, size_t size, int64_t id)
{
	snprintf(buf, size, QI_TMP_PREFIX "%lld", (long long)id);
}

void qi_journal_remove_tmp(int dfd, int64_t id)
{
	char tmp[64];
	tmp_name(tmp, sizeof(tmp), id);
	if (unlinkat(dfd, tmp, 0) < 0 && errno == EISDIR)
		unlinkat(dfd, tmp, AT_REMOVEDIR);
}

/* Remove what is at the spot (LIVE says what). */
static int remove_at(qi_handle *h, const struct qi_spot *at, const struct qi_image *live)
{
	if (live->type == QI_FT_ABSENT)
		return 0;
	if (unlinkat(at->dfd, at->name, live->type == QI_FT_DIR ? AT_REMOVEDIR : 0) == 0 ||
	    errno == ENOENT)
		return 0;
	char *full = qi_root_path(h, at->path);
	if (errno == ENOTEMPTY || errno == EEXIST)
		qi_error(h, "cannot remove the directory %s: it is not empty (files were put in it "
			 "outside this journal: move them away and run the command again)", full);
	else
		qi_error_errno(h, "cannot remove %s", full);
	free(full);
	return -1;
}

/* The object there is the one wanted (type, content, target): only its
 * owner and mode may differ. */
bool qi_journal_same_object(const struct qi_image *want, const struct qi_image *live)
{
	return want->type == live->type &&
	       (want->type != QI_FT_REG || strcmp(want->hash, live->hash) == 0) &&
	       (want->type != QI_FT_LNK || strcmp(want->target ? want->target : "",
						   live->target ? live->target : "") == 0);
}

/* Owner, then mode (again after a chown, which may clear set-id bits);
 * -1 with errno set. */
static int fix_meta(const struct qi_spot *at, const struct qi_image *want,
		    const struct qi_image *live)
{
	bool chowned = false;
	if (want->uid != live->uid || want->gid != live->gid) {
		if (fchownat(at->dfd, at->name, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		chowned = true;
	}
	if (want->type != QI_FT_LNK && (want->mode != live->mode || chowned) &&
	    fchmodat(at->dfd, at->name, want->mode, 0) < 0)
		return -1;
	return 0;
}

/* Whether the bytes written to FD are the content WANT says, read back. */
static int check_written(int fd, const struct qi_image *want)
{
	char got[QI_SHA256_HEX + 1];
	if (lseek(fd, 0, SEEK_SET) < 0 || qi_sha256_fd(fd, got, NULL) < 0)
		return -1;
	return strcmp(got, want->hash) == 0 ? 0 : -2;
}

/* A new regular file TMP with the content, owner and mode wanted; -1 with
 * errno set and nothing left; -2 (nothing left) when CONTENT is to be
 * verified and is not what WANT says. */
static int make_tmp_file(int dfd, const char *tmp, const struct qi_image *want,
			 const struct qi_content *content)
{
	bool verify = content->verify && !content->data;
	int fd = openat(dfd, tmp, (verify ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return -1;
	int rc = content->data ? qi_write_all(fd, content->data, content->len)
			       : copy_fd(content->fd, fd);
	if (rc == 0 && verify)
		rc = check_written(fd, want);
	if (rc == 0)
		rc = fchown(fd, want->uid, want->gid);
	if (rc == 0)
		rc = fchmod(fd, want->mode);
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlinkat(dfd, tmp, 0);
		errno = e;
	}
	return rc;
}

/* A new directory, symlink or FIFO TMP with the owner and mode wanted (a
 * symlink has no mode); -1 with errno set and nothing left. */
static int make_tmp_node(int dfd, const char *tmp, const struct qi_image *want)
{
	int rc;
	if (want->type == QI_FT_DIR)
		rc = mkdirat(dfd, tmp, 0700);
	else if (want->type == QI_FT_LNK)
		rc = symlinkat(want->target, dfd, tmp);
	else
		rc = mknodat(dfd, tmp, S_IFIFO | 0600, 0);
	if (rc < 0)
		return -1;
	if (fchownat(dfd, tmp, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (want->type == QI_FT_LNK || fchmodat(dfd, tmp, want->mode, 0) == 0))
		return 0;
	int e = errno;
	unlinkat(dfd, tmp, want->type == QI_FT_DIR ? AT_REMOVEDIR : 0);
	errno = e;
	return -1;
}

static int fail_make(qi_handle *h, const struct qi_spot *at, const struct qi_image *want)
{
	int e = errno;
	char *full = qi_root_path(h, at->path);
	errno = e;
	qi_error_errno(h, "cannot make %s %s", qi_ftype_name(want->type), full);
	free(full);
	return -1;
}

/* Make a new object beside the spot, then rename it over the spot. */
static int replace_at(qi_handle *h, const struct qi_spot *at, const struct qi_image *want,
		      const struct qi_content *content)
{
	char tmp[64];
	tmp_name(tmp, sizeof(tmp), at->id);
	qi_journal_remove_tmp(at->dfd, at->id);
	int rc;
	switch (want->type) {
	case QI_FT_REG:
		rc = make_tmp_file(at->dfd, tmp, want, content);
		break;
	case QI_FT_DIR:
	case QI_FT_LNK:
	case QI_FT_FIFO:
		rc = make_tmp_node(at->dfd, tmp, want);
		break;
	default: {
		char *full = qi_root_path(h, at->path);
		qi_error(h, "cannot make %s: qinstall does not make %s files", full,
			 qi_ftype_name(want->type));
		free(full);
		return -1;
	}
	}
	if (rc == -2) {
		char *full = qi_root_path(h, at->path);
		qi_error(h, "cannot restore %s: the content read from the journal's store is not its "
			 "before-image (sha256 %s): the store changed under the rollback; nothing was "
			 "written to %s. Run the rollback again: it checks the store first", full,
			 want->hash, full);
		free(full);
		return -1;
	}
	if (rc == 0 && renameat(at->dfd, tmp, at->dfd, at->name) < 0) {
		int e = errno;
		unlinkat(at->dfd, tmp, want->type == QI_FT_DIR ? AT_REMOVEDIR : 0);
		errno = e;
		rc = -1;
	}
	return rc < 0 ? fail_make(h, at, want) : 0;
}

int qi_journal_make_image(qi_handle *h, const struct qi_spot *at, const struct qi_image *want,
			  const struct qi_image *live, const struct qi_content *content)
{
	if (want->type == QI_FT_ABSENT)
		return remove_at(h, at, live);
	if (qi_journal_same_object(want, live))
		return fix_meta(at, want, live) < 0 ? fail_make(h, at, want) : 0;
	/* a directory is never renamed over, nor made over something */
	if (live->type == QI_FT_DIR || (want->type == QI_FT_DIR && live->type != QI_FT_ABSENT))
		if (remove_at(h, at, live) < 0)
			return -1;
	return replace_at(h, at, want, content);
}
