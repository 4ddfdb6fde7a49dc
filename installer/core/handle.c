/*
 * handle.c - the qi_handle: root, options, errors, logging, results.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

#ifndef QI_DATADIR
#define QI_DATADIR "/usr/local/share/qinstall"
#endif
#define QI_DEFAULT_CACHE_DIR "/var/cache/qinstall"

void *qi_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("qinstall: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *qi_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("qinstall: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *qi_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(qi_xmalloc(n), s, n);
}

char *qi_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("qinstall: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	return s;
}

int qi_buf_add(struct qi_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = qi_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int qi_buf_addf(struct qi_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	qi_buf_add(b, s, (size_t)n);
	free(s);
	return 0;
}

void qi_buf_free(struct qi_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int qi_buf_read_fd_max(struct qi_buf *b, int fd, size_t max)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && b->len + (size_t)n > max)) {
			int e = n < 0 ? errno : EFBIG;
			qi_buf_free(b);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		qi_buf_add(b, chunk, (size_t)n);
	}
	if (!b->data)
		qi_buf_add(b, "", 0);
	return 0;
}

int qi_buf_read_fd(struct qi_buf *b, int fd)
{
	return qi_buf_read_fd_max(b, fd, SIZE_MAX);
}

int qi_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int qi_fsync_dir_path(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* DIR made absolute (against the current directory) and normalised;
 * NULL when the current directory cannot be read. */
static char *absolute_dir(const char *dir)
{
	/* ".." resolved lexically, which is right for a root given by the
	 * user once it has been made absolute */
	if (dir[0] == '/')
		return qi_path_normalise(dir, QI_PATH_DOTDOT);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	char *joined = qi_xasprintf("%s/%s", cwd, dir);
	char *abs = qi_path_normalise(joined, QI_PATH_DOTDOT);
	free(joined);
	return abs;
}

qi_handle *qi_new(void)
{
	qi_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->rootfd = -1;
	h->result = json_object();
	h->warnings = json_array();
	/* Tools that are handed these paths (apt, make) run elsewhere:
	 * relative ones from the environment are made absolute now. */
	const char *env = getenv("QINSTALL_CACHE_DIR");
	h->cache_dir = absolute_dir(env && *env ? env : QI_DEFAULT_CACHE_DIR);
	env = getenv("QINSTALL_DATADIR");
	h->data_dir = absolute_dir(env && *env ? env : QI_DATADIR);
	if (!h->cache_dir || !h->data_dir || qi_set_root(h, "/") < 0) {
		qi_free(h);
		return NULL;
	}
	qi_journal_register_builtin();
	return h;
}

void qi_free(qi_handle *h)
{
	if (!h)
		return;
	if (h->journal_free)
		h->journal_free(h);
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h->root);
	free(h->cache_dir);
	free(h->data_dir);
	free(h->msg);
	json_decref(h->result);
	json_decref(h->warnings);
	json_decref(h->diff_before);
	json_decref(h->diff_after);
	free(h);
}

int qi_set_root(qi_handle *h, const char *root)
{
	char *abs;
	if (!root || !*root)
		return qi_error_kind(h, QI_ERR_USAGE, "--root needs a directory");
	abs = absolute_dir(root);
	if (!abs)
		return qi_error_errno(h, "cannot read the current directory to resolve --root %s", root);
	int fd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		qi_error(h, "cannot use %s as the root: %s%s", abs, strerror(e),
			 e == ENOENT ? " (create it, or give another --root)" : "");
		free(abs);
		return -1;
	}
	if (h->rootfd >= 0)
		close(h->rootfd);
	free(h->root);
	h->root = abs;
	h->rootfd = fd;
	return 0;
}

const char *qi_root(const qi_handle *h) { return h->root; }
bool qi_root_is_host(const qi_handle *h) { return strcmp(h->root, "/") == 0; }
int qi_rootfd(const qi_handle *h) { return h->rootfd; }
void qi_set_check(qi_handle *h, bool check) { h->check = check; }
bool qi_check(const qi_handle *h) { return h->check; }
void qi_set_diff_wanted(qi_handle *h, bool diff) { h->diff = diff; }
bool qi_diff_wanted(const qi_handle *h) { return h->diff; }
void qi_set_verbosity(qi_handle *h, int v) { h->verbosity = v; }
int qi_verbosity(const qi_handle *h) { return h->verbosity; }
void qi_set_assume_yes(qi_handle *h, bool yes) { h->assume_yes = yes; }
bool qi_assume_yes(const qi_handle *h) { return h->assume_yes; }
const char *qi_cache_dir(const qi_handle *h) { return h->cache_dir; }
const char *qi_data_dir(const qi_handle *h) { return h->data_dir; }

int qi_set_cache_dir(qi_handle *h, const char *dir)
{
	if (!dir || !*dir)
		return qi_error_kind(h, QI_ERR_USAGE, "--cache-dir needs a directory");
	char *abs = absolute_dir(dir);
	if (!abs)
		return qi_error_errno(h, "cannot read the current directory to resolve --cache-dir %s", dir);
	free(h->cache_dir);
	h->cache_dir = abs;
	return 0;
}

static int verror(qi_handle *h, enum qi_errkind kind, const char *suffix,
		  const char *fmt, va_list ap)
{
	int n = vsnprintf(h->errmsg, sizeof(h->errmsg), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(h->errmsg))
		snprintf(h->errmsg + n, sizeof(h->errmsg) - (size_t)n, ": %s", suffix);
	h->errkind = kind;
	return -1;
}

int qi_error(qi_handle *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(h, QI_ERR_FAILED, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* strerror(E), and for a full file system what it means and what to do. */
static const char *reason(int e, char *buf, size_t size)
{
	if (e != ENOSPC && e != EDQUOT)
		return strerror(e);
	snprintf(buf, size, "%s (the file system is full%s: free some space on it, then run "
		 "the command again)", strerror(e), e == EDQUOT ? " for this user's quota" : "");
	return buf;
}

int qi_error_errno(qi_handle *h, const char *fmt, ...)
{
	int e = errno;
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	verror(h, QI_ERR_FAILED, reason(e, why, sizeof(why)), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

int qi_error_kind(qi_handle *h, enum qi_errkind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(h, kind, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int qi_error_prefix(qi_handle *h, const char *fmt, ...)
{
	char prefix[1024], old[sizeof(h->errmsg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, h->errmsg, sizeof(old));
	size_t n = strlen(prefix);
	if (n > sizeof(h->errmsg) - 3)
		n = sizeof(h->errmsg) - 3;
	memcpy(h->errmsg, prefix, n);
	memcpy(h->errmsg + n, ": ", 2);
	size_t room = sizeof(h->errmsg) - n - 3, olen = strlen(old);
	if (olen > room)
		olen = room;
	memcpy(h->errmsg + n + 2, old, olen);
	h->errmsg[n + 2 + olen] = '\0';
	if (h->errkind == QI_ERR_NONE)
		h->errkind = QI_ERR_FAILED;
	return -1;
}

const char *qi_errmsg(const qi_handle *h) { return h->errmsg; }
enum qi_errkind qi_errkind(const qi_handle *h) { return h->errkind; }

void qi_clear_error(qi_handle *h)
{
	h->errmsg[0] = '\0';
	h->errkind = QI_ERR_NONE;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[8192];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s%s\n", prefix, line);
}

void qi_info(qi_handle *h, const char *fmt, ...)
{
	if (h->verbosity < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void qi_debug(qi_handle *h, const char *fmt, ...)
{
	if (h->verbosity < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog("qinstall: ", fmt, ap);
	va_end(ap);
}

void qi_warn(qi_handle *h, const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "qinstall: warning: %s\n", line);
	json_array_append_new(h->warnings, json_string(line));
}

json_t *qi_result(qi_handle *h) { return h->result; }
void qi_set_changed(qi_handle *h) { h->changed = true; }
bool qi_changed(const qi_handle *h) { return h->changed; }
json_t *qi_warnings(qi_handle *h) { return h->warnings; }
const char *qi_msg(const qi_handle *h) { return h->msg; }

void qi_set_msg(qi_handle *h, const char *fmt, ...)
{
	va_list ap;
	free(h->msg);
	va_start(ap, fmt);
	if (vasprintf(&h->msg, fmt, ap) < 0)
		abort();
	va_end(ap);
}

static void append_text(json_t **acc, const char *path, const char *text)
{
	const char *old = *acc ? json_string_value(*acc) : "";
	char *s = qi_xasprintf("%s--- %s\n%s%s", old, path, text ? text : "(absent)\n",
			       text && *text && text[strlen(text) - 1] != '\n' ? "\n" : "");
	json_decref(*acc);
	*acc = json_string(s);
	if (!*acc) /* not valid UTF-8: say so rather than drop it */
		*acc = json_string("(binary content)\n");
	free(s);
}

void qi_diff_add(qi_handle *h, const char *path, const char *before, const char *after)
{
	if (!h->diff)
		return;
	append_text(&h->diff_before, path, before);
	append_text(&h->diff_after, path, after);
}

json_t *qi_diff_json(qi_handle *h)
{
	if (!h->diff)
		return NULL;
	json_t *d = json_object();
	json_object_set_new(d, "before", json_string(h->diff_before ? json_string_value(h->diff_before) : ""));
	json_object_set_new(d, "after", json_string(h->diff_after ? json_string_value(h->diff_after) : ""));
	return d;
}

bool qi_path_has_dotdot(const char *path)
{
	for (const char *c = path; (c = strstr(c, "..")); c += 2)
		if ((c == path || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
			return true;
	return false;
}
