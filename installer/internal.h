/*
 * internal.h - what the library's modules share with one another and with
 * their unit tests, but not with the front end.
 */
#ifndef QI_INTERNAL_H
#define QI_INTERNAL_H

#include "qinstall.h"

struct qi_journal;	/* journal.c */

struct qi_handle {
	char *root;		/* normalised absolute path, "/" for the host */
	int rootfd;		/* O_PATH|O_DIRECTORY descriptor of root, or -1 */
	char *cache_dir;
	char *data_dir;

	bool check, diff, assume_yes;
	int verbosity;

	enum qi_errkind errkind;
	char errmsg[4096];

	bool changed;
	char *msg;
	json_t *result;		/* command-specific keys */
	json_t *warnings;	/* array of strings */
	json_t *diff_before;	/* string builders, NULL until used */
	json_t *diff_after;

	struct qi_journal *journal;	/* owned by journal.c */
	void (*journal_free)(struct qi_handle *h);	/* set by journal.c */
};

/* Growing byte buffer. */
struct qi_buf {
	char *data;
	size_t len, cap;
};
int qi_buf_add(struct qi_buf *b, const void *data, size_t len);
int qi_buf_addf(struct qi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qi_buf_free(struct qi_buf *b);
/* Append everything FD has, to its end, to B (whose data is then never
 * NULL). 0, or -1 with errno set and B freed. FD stays open. */
int qi_buf_read_fd(struct qi_buf *b, int fd);

/* Small helpers. */
void *qi_xmalloc(size_t n);	/* aborts on out-of-memory: nothing sane to do */
void *qi_xrealloc(void *p, size_t n);
char *qi_xstrdup(const char *s);
char *qi_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all of LEN bytes / read to EOF, retrying on EINTR. */
int qi_write_all(int fd, const void *buf, size_t len);
/* fsync a directory by path (host path). */
int qi_fsync_dir_path(const char *dir);

#endif
