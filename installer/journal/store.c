/*
 * store.c - the content-addressed store of before-images:
 * ROOT/var/lib/qinstall/store/<sha256>. A file is written under a
 * temporary name, (optionally) fsynced, then renamed to its hash, so a
 * name in the store always holds exactly the content it is named after.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (expect_hash && valid_hash(expect_hash) &&
	    faccessat(storefd, expect_hash, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
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
	if (faccessat(storefd, hash, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(storefd, tmp, 0);
		return 0;
	}
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
	return openat(storefd, hash, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int qi_store_check(int storefd, const char *hash)
{
	int fd = qi_store_open(storefd, hash);
	if (fd < 0)
		return 0;
	char got[65];
	int rc = qi_sha256_fd(fd, got, NULL);
	close(fd);
	if (rc < 0 || strcmp(got, hash) != 0)
		return -2;
	return 1;
}
