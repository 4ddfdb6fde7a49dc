/*
 * journal/journal.h - what the journal's files (journal.c, store.c,
 * applyfile.c) share with one another and with their unit tests.
 */
#ifndef QI_JOURNAL_H
#define QI_JOURNAL_H

#include "core/core.h"

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
