/*
 * queue_read.c - the helpers queue_exim.c and queue_sendmail.c share
 * (see queue_read.h): lines with numbers, ROOT's directories listed, a
 * message's content assembled, its two files read and parsed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/queue_read.h"

void mq_lines_init(struct mq_lines *r, const char *data, size_t len)
{
	r->p = data;
	r->end = data + len;
	r->no = 0;
}

bool mq_line(struct mq_lines *r, const char **s, size_t *n, bool *lf)
{
	if (r->p >= r->end) {
		r->no++;	/* the line that is missing, for messages */
		return false;
	}
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	*s = r->p;
	*n = (size_t)((nl ? nl : r->end) - r->p);
	*lf = nl != NULL;
	r->p = nl ? nl + 1 : r->end;
	r->no++;
	return true;
}

bool mq_lines_skip(struct mq_lines *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->p[i] == '\n')
			r->no++;
	r->p += n;
	return true;
}

int mq_bad_line(qi_handle *h, const char *file, size_t no, const char *fmt, ...)
{
	char *what;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	qi_error(h, "%s line %zu: %s", file, no, what ? what : fmt);
	free(what);
	return -1;
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mq_dirent *)a)->name, ((const struct mq_dirent *)b)->name);
}

int mq_dir_list(qi_handle *h, const char *dir, bool *missing, struct mq_dirent **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (missing)
		*missing = false;
	struct stat st;
	if (qi_root_lstat(h, dir, &st) < 0 && errno == ENOENT) {
		if (missing)
			*missing = true;
		return 0;
	}
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return qi_error_prefix(h, "cannot list the queue directory %s", dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot list the queue directory %s", dir);
	}
	size_t cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone since readdir */
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			*v = qi_xrealloc(*v, cap * sizeof(**v));
		}
		(*v)[*n].name = qi_xstrdup(e->d_name);
		(*v)[(*n)++].mode = st.st_mode;
		errno = 0;
	}
	int err = errno;
	closedir(d);
	if (err) {
		mq_dir_free(*v, *n);
		*v = NULL;
		*n = 0;
		errno = err;
		return qi_error_errno(h, "cannot list the queue directory %s", dir);
	}
	if (*n)
		qsort(*v, *n, sizeof(**v), dirent_cmp);
	return 0;
}

void mq_dir_free(struct mq_dirent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

const struct mq_dirent *mq_dir_find(const struct mq_dirent *v, size_t n, const char *name)
{
	struct mq_dirent key = { .name = (char *)name };
	return n ? bsearch(&key, v, n, sizeof(*v), dirent_cmp) : NULL;
}

bool mq_exists(qi_handle *h, const char *path)
{
	struct stat st;
	return qi_root_lstat(h, path, &st) == 0 && S_ISREG(st.st_mode);
}


void mq_msg_content(struct mq_msg *m, struct qi_buf *headers, const char *body, size_t blen, bool crlf)
{
	qi_buf_add(headers, "\n", 1);
	size_t start = headers->len;
	if (!crlf) {
		qi_buf_add(headers, body, blen);
	} else {
		for (size_t i = 0; i < blen; i++)
			if (body[i] != '\r' || i + 1 == blen || body[i + 1] != '\n')
				qi_buf_add(headers, body + i, 1);
	}
	qi_buf_add(headers, "", 1);	/* the NUL, not counted */
	m->content = headers->data;
	m->len = headers->len - 1;
	m->body = start;
	memset(headers, 0, sizeof(*headers));
}

int mq_msg_read_pair(qi_handle *h, struct mq_msg *m,
		     int (*parse)(qi_handle *, const char *, size_t, const char *, size_t, struct mq_msg *))
{
	if (m->why)
		return 0;	/* the scan found it cannot be carried */
	if (m->nfiles < 2) {
		m->why = qi_xasprintf("%s has no data file", m->nfiles ? m->files[0] : m->id);
		return 0;
	}
	char *env = NULL, *data = NULL;
	size_t elen, dlen;
	if (qi_root_read(h, m->files[0], &env, &elen) < 0 || qi_root_read(h, m->files[1], &data, &dlen) < 0) {
		free(env);
		return qi_error_prefix(h, "cannot read the queued message %s", m->id);
	}
	if (parse(h, env, elen, data, dlen, m) < 0) {
		m->why = qi_xstrdup(qi_errmsg(h));
		qi_clear_error(h);
	}
	free(env);
	free(data);
	return 0;
}
