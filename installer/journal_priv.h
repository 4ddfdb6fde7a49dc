/*
 * journal_priv.h - what the journal's files (fsroot.c, store.c, journal.c,
 * applyfile.c) share with one another and with their unit tests.
 */
#ifndef QI_JOURNAL_PRIV_H
#define QI_JOURNAL_PRIV_H

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Images: what one path looks like (fsroot.c)                          */
/* ------------------------------------------------------------------ */

enum qi_ftype {
	QI_FT_ABSENT = 0,
	QI_FT_REG,
	QI_FT_DIR,
	QI_FT_LNK,
	QI_FT_FIFO,
	QI_FT_OTHER,	/* device, socket: qinstall never makes or restores one */
};

struct qi_image {
	enum qi_ftype type;
	mode_t mode;		/* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	int64_t size;
	char hash[65];		/* sha256 of a regular file's content, "" otherwise */
	char *target;		/* a symlink's target (malloc'd), NULL otherwise */
};

const char *qi_ftype_name(enum qi_ftype t);
enum qi_ftype qi_ftype_parse(const char *s);
void qi_image_clear(struct qi_image *img);
void qi_image_copy(struct qi_image *dst, const struct qi_image *src);
/* Same type, mode, owner, content and target. */
bool qi_image_equal(const struct qi_image *a, const struct qi_image *b);
/* "regular 0644 0:0 12 bytes sha256 ab12…" for messages and --diff. */
char *qi_image_describe(const struct qi_image *img);

/* ------------------------------------------------------------------ */
/* Paths inside ROOT (fsroot.c)                                         */
/* ------------------------------------------------------------------ */

/* Canonical form of a path inside ROOT: absolute, no "//", no ".", no
 * trailing "/"; ".." is refused. Malloc'd, or NULL with the error set. */
char *qi_path_clean(qi_handle *h, const char *path);
/* The userspace resolution used when the kernel has no openat2 (and by the
 * tests): PATH opened with FLAGS relative to ROOTFD as if it were "/".
 * Returns an fd or -1 with errno set. */
int qi_root_walk(int rootfd, const char *path, int flags, mode_t mode);
/* Open the directory that holds PATH (O_PATH, resolved in ROOT) and point
 * *name at PATH's last component. PATH must be clean and not "/".
 * Returns the fd, or -1 with errno set and no message. */
int qi_root_parent(qi_handle *h, const char *path, const char **name);
/* The image of NAME in directory DIRFD (not followed). With WANT_HASH the
 * content of a regular file is hashed. Returns 0 (absent is not an error),
 * or -1 with errno set and no message. */
int qi_image_at(int dirfd, const char *name, bool want_hash, struct qi_image *img);
/* The same for a clean PATH inside ROOT; a missing parent means absent. */
int qi_image_path(qi_handle *h, const char *path, bool want_hash, struct qi_image *img);

/* SHA-256 of everything readable from FD (from its current offset). */
int qi_sha256_fd(int fd, char hex[65], int64_t *size);
void qi_sha256_buf(const void *data, size_t len, char hex[65]);

/* ------------------------------------------------------------------ */
/* The store of before-images (store.c)                                 */
/* ------------------------------------------------------------------ */

/* Copy what FD holds into STOREFD/<sha256>, unless already there. The new
 * file is written to a temporary name and renamed; with SYNC it is fsynced
 * first (the caller fsyncs the store directory before relying on it).
 * *added is true when a new file was made. */
int qi_store_put_fd(qi_handle *h, int storefd, int fd, const char *expect_hash,
		    bool sync, bool *added);
/* Open the stored content of HASH for reading, checking nothing. -1 with
 * errno set when it is missing. */
int qi_store_open(int storefd, const char *hash);
/* Does the store hold HASH with the right content? 1 yes, 0 missing,
 * -2 present but damaged (content does not match its name). */
int qi_store_check(int storefd, const char *hash);

/* ------------------------------------------------------------------ */
/* The apply list (applyfile.c)                                         */
/* ------------------------------------------------------------------ */

enum qi_apply_op {
	QI_AOP_MKDIR, QI_AOP_FILE, QI_AOP_SYMLINK, QI_AOP_FIFO,
	QI_AOP_CHMOD, QI_AOP_CHOWN, QI_AOP_REMOVE, QI_AOP_RENAME,
};

struct qi_apply_line {
	enum qi_apply_op op;
	unsigned lineno;
	char *path;		/* PATH, or FROM for rename */
	char *arg;		/* SOURCE (file), TARGET (symlink), TO (rename) */
	mode_t mode;		/* mkdir, file, fifo, chmod */
	char *owner, *group;	/* mkdir, file, fifo, chown (names or numbers) */
};

struct qi_apply_list {
	struct qi_apply_line *lines;
	size_t n;
};

/* Parse the text of an apply list. FILENAME is used in messages
 * ("FILE:LINE: ..."). Nothing is looked up: owners stay names. */
int qi_apply_parse(qi_handle *h, const char *filename, const char *text, size_t len,
		   struct qi_apply_list *list);
void qi_apply_free(struct qi_apply_list *list);
const char *qi_apply_op_name(enum qi_apply_op op);

#endif
