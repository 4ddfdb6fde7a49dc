/*
 * input.c - the one way qinstall opens a file it reads as input (a profile,
 * a patch, a series file, an operation list and its sources, ROOT's passwd
 * files): opened without blocking (a FIFO or a device never hangs qinstall,
 * least of all while it holds a lock), refused unless it is a regular file,
 * and read with a size bound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

const char *qi_file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	case S_IFREG: return "a regular file";
	}
	return "of an unknown type";
}

/* MAX for a message: "1 MiB", "64 MiB", or bytes when not whole MiB. */
static const char *size_text(size_t max, char out[32])
{
	if (max >= ((size_t)1 << 20) && max % ((size_t)1 << 20) == 0)
		snprintf(out, 32, "%zu MiB", max >> 20);
	else
		snprintf(out, 32, "%zu bytes", max);
	return out;
}

static int too_large(qi_handle *h, enum qi_errkind kind, const char *what, const char *name,
		     size_t max)
{
	char sz[32];
	return qi_error_kind(h, kind, "the %s %s is larger than %s: is it the right file?", what, name,
			     size_text(max, sz));
}

/* FD (opened with O_NONBLOCK) is a regular file of at most MAX bytes (0:
 * any size); it is made blocking again for the reads that follow. */
static int check_fd(qi_handle *h, enum qi_errkind kind, int fd, const char *what, const char *name,
		    size_t max)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return qi_error_kind(h, kind, "cannot read the %s %s: %s", what, name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return qi_error_kind(h, kind, "the %s %s is %s, not a regular file: %s", what, name,
				     qi_file_type_name(st.st_mode),
				     kind == QI_ERR_USAGE ? "give a regular file"
							  : "replace it with a regular file");
	if (max && (uintmax_t)st.st_size > (uintmax_t)max)
		return too_large(h, kind, what, name, max);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return qi_error_kind(h, kind, "cannot read the %s %s: %s", what, name, strerror(errno));
	return 0;
}

/* Read FD to its end, at most MAX bytes, into *data (NUL-terminated). */
static int read_bounded(qi_handle *h, enum qi_errkind kind, int fd, const char *what,
			const char *name, size_t max, char **data, size_t *len)
{
	struct qi_buf b = { 0 };
	if (qi_buf_read_fd_max(&b, fd, max) < 0) {
		if (errno == EFBIG)
			return too_large(h, kind, what, name, max);
		return qi_error_kind(h, kind, "cannot read the %s %s: %s", what, name, strerror(errno));
	}
	*len = b.len;		/* qi_buf keeps a NUL after the data */
	*data = b.data;
	return 0;
}

int qi_input_read_fd(qi_handle *h, enum qi_errkind kind, int fd, const char *what, const char *name,
		     size_t max, char **data, size_t *len)
{
	if (!max)
		max = QI_INPUT_MAX;
	if (check_fd(h, kind, fd, what, name, max) < 0)
		return -1;
	size_t n;
	return read_bounded(h, kind, fd, what, name, max, data, len ? len : &n);
}

static int open_input(qi_handle *h, enum qi_errkind kind, const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		qi_error_kind(h, kind, "cannot open the %s %s: %s", what, path, strerror(errno));
	return fd;
}

int qi_input_read(qi_handle *h, enum qi_errkind kind, const char *path, const char *what,
		  size_t max, char **data, size_t *len)
{
	int fd = open_input(h, kind, path, what);
	if (fd < 0)
		return -1;
	int rc = qi_input_read_fd(h, kind, fd, what, path, max, data, len);
	close(fd);
	return rc;
}

int qi_input_check(qi_handle *h, enum qi_errkind kind, const char *path, const char *what,
		   size_t max)
{
	int fd = open_input(h, kind, path, what);
	if (fd < 0)
		return -1;
	int rc = check_fd(h, kind, fd, what, path, max);
	close(fd);
	return rc;
}

int qi_read_input(qi_handle *h, const char *path, const char *what, size_t max,
		  char **data, size_t *len)
{
	if (path && strcmp(path, "-") != 0)
		return qi_input_read(h, QI_ERR_USAGE, path, what, max, data, len);
	return read_bounded(h, QI_ERR_USAGE, STDIN_FILENO, what, "on standard input",
			    max ? max : QI_INPUT_MAX, data, len);
}
