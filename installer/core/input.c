/*
 * input.c - reading a whole input file named by the user (a patch, an
 * operation list) safely: opened without blocking (a FIFO or a device never
 * hangs qinstall while it holds a lock), refused unless it is a regular
 * file, and read with a size bound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

/* Read FD to its end, at most MAX bytes, into *data (NUL-terminated). */
static int read_bounded(qi_handle *h, int fd, const char *what, const char *name, size_t max,
			char **data, size_t *len)
{
	struct qi_buf b = { 0 };
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			qi_buf_free(&b);
			return qi_error_kind(h, QI_ERR_USAGE, "cannot read the %s %s: %s", what, name,
					     strerror(e));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			qi_buf_free(&b);
			return qi_error_kind(h, QI_ERR_USAGE,
					     "the %s %s is larger than %zu MiB: is it the right file?",
					     what, name, max >> 20);
		}
		qi_buf_add(&b, chunk, (size_t)n);
	}
	qi_buf_add(&b, "", 1);
	*len = b.len - 1;
	*data = b.data;
	return 0;
}

int qi_read_input(qi_handle *h, const char *path, const char *what, size_t max,
		  char **data, size_t *len)
{
	if (!max)
		max = QI_INPUT_MAX;
	if (!path || strcmp(path, "-") == 0)
		return read_bounded(h, STDIN_FILENO, what, "on standard input", max, data, len);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return qi_error_kind(h, QI_ERR_USAGE, "cannot open the %s %s: %s", what, path,
				     strerror(errno));
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) < 0)
		qi_error_kind(h, QI_ERR_USAGE, "cannot read the %s %s: %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		qi_error_kind(h, QI_ERR_USAGE, "the %s %s is not a regular file: give a file", what, path);
	else if (fcntl(fd, F_SETFL, O_RDONLY) < 0)	/* back to blocking reads */
		qi_error_kind(h, QI_ERR_USAGE, "cannot read the %s %s: %s", what, path, strerror(errno));
	else
		rc = read_bounded(h, fd, what, path, max, data, len);
	close(fd);
	return rc;
}
