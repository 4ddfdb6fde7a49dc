/*
 * queue_read.h - what the readers of Exim's spool and sendmail's queue
 * (queue_exim.c, queue_sendmail.c) share and nothing else includes: the
 * lines of a queue file with their numbers, a directory of ROOT listed,
 * the parsed half of a message cleared, the message assembled from its
 * headers and body.
 */
#ifndef QI_MIGRATE_QUEUE_READ_H
#define QI_MIGRATE_QUEUE_READ_H

#include "migrate/migrate.h"

/* The lines of a file's bytes; NO is the number of the line last given. */
struct mq_lines {
	const char *p, *end;
	size_t no;
};
void mq_lines_init(struct mq_lines *r, const char *data, size_t len);
/* The next line without its LF into *S, *N; false at the end (NO is
 * then the number of the missing line). *LF says whether it ended in
 * one (false: the file stops inside the line). */
bool mq_line(struct mq_lines *r, const char **s, size_t *n, bool *lf);
/* Skip N raw bytes (a counted value), counting the lines they hold;
 * false when fewer are left. */
bool mq_lines_skip(struct mq_lines *r, size_t n);

/* "FILE line N: WHAT" on the handle; returns -1. */
int mq_bad_line(qi_handle *h, const char *file, size_t no, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One entry of a directory inside ROOT. */
struct mq_dirent {
	char *name;
	mode_t mode;		/* of the entry itself (a symlink not followed) */
};
/* The entries of DIR (inside ROOT) but "." and "..", sorted by name.
 * A missing DIR gives none and *missing true (MISSING may be NULL). */
int mq_dir_list(qi_handle *h, const char *dir, bool *missing, struct mq_dirent **v, size_t *n);
void mq_dir_free(struct mq_dirent *v, size_t n);
/* The entry NAME of V (sorted), or NULL. */
const struct mq_dirent *mq_dir_find(const struct mq_dirent *v, size_t n, const char *name);
bool mq_exists(qi_handle *h, const char *path);

/* M's content: HEADERS (each line ending in LF), the empty line, BODY
 * (its CRLF made LF when CRLF is set); HEADERS is taken over. */
void mq_msg_content(struct mq_msg *m, struct qi_buf *headers, const char *body, size_t blen, bool crlf);
/* Read FILES[0] and FILES[1] of M (the envelope and the data file) and
 * hand them to PARSE; a parse that fails sets M's why (0), a file that
 * cannot be read is an error (-1). */
int mq_msg_read_pair(qi_handle *h, struct mq_msg *m,
		     int (*parse)(qi_handle *, const char *, size_t, const char *, size_t, struct mq_msg *));

#endif /* QI_MIGRATE_QUEUE_READ_H */
