/*
 * extract.c - unpack a source archive securely (libarchive).
 *
 * Into a fresh private directory (0700; or an existing empty one), with
 * libarchive's secure flags and our own checks on top, because libarchive
 * does not check where a symlink points: every entry name is normalised
 * ("./" dropped; absolute names and ".." refused), no entry may be written
 * at or under a symlink of the archive, a symlink may not resolve (through
 * the archive's other symlinks, checked again once all are known) to a
 * place outside the tree, a hardlink may only name a regular file extracted
 * before it, device nodes, FIFOs and sockets are refused, owners are never
 * restored and set-id/sticky bits are dropped, and the total size and the
 * number of entries are capped. Any failure removes what was extracted
 * (and the directory, when it was made here): nothing half-extracted is
 * left behind.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "sources/sources.h"

#define MAX_LINK_HOPS 40

struct extractor {
	qi_handle *h;
	const char *label;		/* the archive, for messages */
	const char *dest;		/* the directory extracted into, for messages */
	struct qi_extract_limits lim;
	json_t *seen;			/* every path and implied parent: its type letter */
	json_t *links;			/* symlink path -> target */
	char *top;			/* the first component common to all entries */
	bool top_mixed, top_is_dir;
	int64_t total, entries;
	int setid_dropped;
};

/* "./a//b/" -> "a/b". NULL (with *why) when absolute or with "..";
 * "" for the top directory itself. */
static char *normalise(const char *name, const char **why)
{
	char *out = qi_path_normalise(name, QI_PATH_RELATIVE);
	if (!out)
		*why = name[0] == '/' ? "absolute path" : "'..' in the path";
	return out;
}

/* Resolve TARGET as written in a symlink that sits in directory BASE
 * (both relative to the tree), following the archive's symlinks; false
 * when it leaves the tree or loops. */
static bool stays_inside(struct extractor *x, const char *base, const char *target)
{
	if (target[0] == '/')
		return false;
	/* A stack of components (the path so far) and a queue of the rest. */
	char *stack = qi_xmalloc(4096 + strlen(base) + 1);
	size_t sl = 0;
	char *rest = qi_xasprintf("%s", target);
	int hops = 0;
	bool ok = true;
	stack[0] = '\0';
	if (*base) {
		strcpy(stack, base);
		sl = strlen(base);
	}
	char *p = rest;
	while (ok && *p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (sl == 0) {
				ok = false;
				break;
			}
			while (sl > 0 && stack[sl - 1] != '/')
				sl--;
			if (sl > 0)
				sl--;
			stack[sl] = '\0';
			p += len;
			continue;
		}
		if (sl + len + 2 > 4096 + strlen(base)) {
			ok = false;
			break;
		}
		size_t before = sl;
		if (sl)
			stack[sl++] = '/';
		memcpy(stack + sl, p, len);
		sl += len;
		stack[sl] = '\0';
		p += len;
		json_t *t = json_object_get(x->links, stack);
		if (t) {
			const char *tt = json_string_value(t);
			if (++hops > MAX_LINK_HOPS || tt[0] == '/') {
				ok = false;
				break;
			}
			sl = before;
			stack[sl] = '\0';
			char *next = qi_xasprintf("%s/%s", tt, p);
			free(rest);
			rest = next;
			p = rest;
		}
	}
	free(stack);
	free(rest);
	return ok;
}

static void parent_of(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	else
		out[0] = '\0';
}

/* Record PATH and its parents as seen; refuse a path at or under a symlink
 * of the archive (libarchive would refuse too: we say so clearly). */
static int claim_path(struct extractor *x, const char *path, char type)
{
	char *buf = qi_xstrdup(path);
	for (char *s = buf;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (json_object_get(x->links, buf)) {
				int rc = qi_error(x->h, "%s: entry '%s' would be written through the symlink '%s'; refused",
						  x->label, path, buf);
				free(buf);
				return rc;
			}
			if (c)
				json_object_set_new_nocheck(x->seen, buf, json_string("d"));
			*s = c;
			if (!c)
				break;
		}
	}
	free(buf);
	char t[2] = { type, '\0' };
	json_object_set_new_nocheck(x->seen, path, json_string(t));
	size_t first = strcspn(path, "/");
	if (!x->top) {
		x->top = qi_xmalloc(first + 1);
		memcpy(x->top, path, first);
		x->top[first] = '\0';
	} else if (strlen(x->top) != first || memcmp(x->top, path, first) != 0) {
		x->top_mixed = true;
	}
	if (path[first] == '/' || type == 'd')
		x->top_is_dir = true;
	if (path[first] == '\0' && type != 'd')
		x->top_mixed = true;	/* a file or link at the top: no single directory */
	return 0;
}

/* Check ENTRY and make it safe to hand to archive_write_disk. */
static int vet_entry(struct extractor *x, struct archive_entry *e, const char *name, bool *skip)
{
	const char *why = NULL;
	*skip = false;
	char *path = normalise(name, &why);
	if (!path)
		return qi_error(x->h, "%s: entry '%s': %s; refused", x->label, name, why);
	if (!*path) {	/* "./": the directory we made ourselves */
		free(path);
		*skip = true;
		return 0;
	}
	if (++x->entries > x->lim.max_entries) {
		free(path);
		return qi_error(x->h, "%s: more than %lld entries; refused (a source archive is never that big)",
				x->label, (long long)x->lim.max_entries);
	}
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	char kind;
	if (hardlink) {
		char *target = normalise(hardlink, &why);
		if (!target || !*target) {
			int rc = qi_error(x->h, "%s: entry '%s' is a hardlink to '%s': %s; refused",
					  x->label, name, hardlink, why ? why : "the top directory");
			free(target);
			free(path);
			return rc;
		}
		json_t *t = json_object_get(x->seen, target);
		if (!t || strcmp(json_string_value(t), "f") != 0) {
			int rc = qi_error(x->h, "%s: entry '%s' is a hardlink to '%s', which is not a file "
					  "extracted before it; refused", x->label, name, hardlink);
			free(target);
			free(path);
			return rc;
		}
		archive_entry_set_hardlink(e, target);
		free(target);
		kind = 'f';
	} else if (type == AE_IFREG) {
		kind = 'f';
	} else if (type == AE_IFDIR) {
		kind = 'd';
	} else if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		char base[4096];
		parent_of(path, base, sizeof(base));
		if (!target || !*target || !stays_inside(x, base, target)) {
			int rc = qi_error(x->h, "%s: entry '%s' is a symlink to '%s', outside the tree; refused",
					  x->label, name, target ? target : "");
			free(path);
			return rc;
		}
		if (json_object_get(x->seen, path)) {
			int rc = qi_error(x->h, "%s: symlink entry '%s' replaces an earlier entry; refused",
					  x->label, name);
			free(path);
			return rc;
		}
		kind = 'l';
	} else {
		const char *what = type == AE_IFCHR ? "a character device" : type == AE_IFBLK ? "a block device"
				 : type == AE_IFIFO ? "a FIFO" : type == AE_IFSOCK ? "a socket" : "of an unknown type";
		int rc = qi_error(x->h, "%s: entry '%s' is %s; a source archive has no business holding one; refused",
				  x->label, name, what);
		free(path);
		return rc;
	}
	if (claim_path(x, path, kind) < 0) {
		free(path);
		return -1;
	}
	if (kind == 'l')
		json_object_set_new_nocheck(x->links, path, json_string_nocheck(archive_entry_symlink(e)));

	/* Size caps, on what the entry declares (checked again on the bytes). */
	if (kind == 'f' && archive_entry_size_is_set(e)) {
		int64_t size = archive_entry_size(e);
		if (size < 0 || size > x->lim.max_total - x->total) {
			int rc = qi_error(x->h, "%s: entry '%s' declares %lld bytes, beyond the limit of %lld "
					  "bytes for the whole archive; refused", x->label, name,
					  (long long)size, (long long)x->lim.max_total);
			free(path);
			return rc;
		}
	}
	/* Modes: no set-id or sticky bits, always usable by us. */
	if (kind != 'l') {
		mode_t perm = archive_entry_perm(e);
		if (perm & 07000)
			x->setid_dropped++;
		perm &= 0777;
		perm |= kind == 'd' ? 0700 : 0600;
		archive_entry_set_perm(e, perm);
	}
	archive_entry_set_pathname(e, path);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, NULL);
	archive_entry_set_gname(e, NULL);
	free(path);
	return 0;
}

static int copy_data(struct extractor *x, struct archive *in, struct archive *out, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int64_t end = 0;
	for (;;) {
		int r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return qi_error(x->h, "%s: broken in entry '%s': %s", x->label, name,
					archive_error_string(in) ? archive_error_string(in) : "read error");
		if (offset + (int64_t)size > end) {
			x->total += offset + (int64_t)size - end;
			end = offset + (int64_t)size;
		}
		if (x->total > x->lim.max_total)
			return qi_error(x->h, "%s: entry '%s' goes beyond the limit of %lld bytes for the "
					"whole archive; refused", x->label, name, (long long)x->lim.max_total);
		/* libarchive says a failed write(2) (a full disk) with a mere
		 * ARCHIVE_WARN: anything but OK is a file not written whole */
		if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK) {
			errno = archive_errno(out);
			if (errno > 0)
				return qi_error_errno(x->h, "%s: cannot write entry '%s' to %s/%s", x->label,
						      name, x->dest, name);
			return qi_error(x->h, "%s: cannot write entry '%s' to %s/%s: %s", x->label, name,
					x->dest, name, archive_error_string(out));
		}
	}
	return 0;
}

/* Every symlink again, now that all of them are known. */
static int recheck_links(struct extractor *x)
{
	const char *path;
	json_t *target;
	json_object_foreach(x->links, path, target) {
		char base[4096];
		parent_of(path, base, sizeof(base));
		if (!stays_inside(x, base, json_string_value(target)))
			return qi_error(x->h, "%s: symlink '%s' -> '%s' leads outside the tree through "
					"the archive's other symlinks; refused", x->label, path,
					json_string_value(target));
	}
	return 0;
}

static int extract_entries(struct extractor *x, struct archive *in)
{
	struct archive *out = archive_write_disk_new();
	if (!out)
		return qi_error(x->h, "cannot start libarchive");
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
				       ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
				       ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	char *last = NULL;
	int rc = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			const char *msg = archive_error_string(in);
			if (last)
				rc = qi_error(x->h, "%s: broken after entry '%s': %s", x->label, last,
					      msg ? msg : "read error");
			else
				rc = qi_error(x->h, "%s: broken at its first entry: %s", x->label,
					      msg ? msg : "not an archive qinstall can read");
			break;
		}
		const char *raw = archive_entry_pathname(e);
		char *name = qi_xstrdup(raw ? raw : "");
		free(last);
		last = name;
		if (!raw || !*raw) {
			rc = qi_error(x->h, "%s: an entry has no name; refused", x->label);
			break;
		}
		bool skip;
		if (vet_entry(x, e, name, &skip) < 0) {
			rc = -1;
			break;
		}
		if (skip)
			continue;
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			rc = qi_error(x->h, "%s: cannot extract entry '%s': %s", x->label, name,
				      archive_error_string(out));
			break;
		}
		if (archive_entry_size(e) > 0 && copy_data(x, in, out, name) < 0) {
			rc = -1;
			break;
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
			rc = qi_error(x->h, "%s: cannot finish entry '%s': %s", x->label, name,
				      archive_error_string(out));
			break;
		}
	}
	/* Applies the deferred directory modes and times. */
	if (archive_write_close(out) != ARCHIVE_OK && rc == 0)
		rc = qi_error(x->h, "%s: cannot finish extracting: %s", x->label, archive_error_string(out));
	archive_write_free(out);
	free(last);
	if (rc == 0)
		rc = recheck_links(x);
	return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* remove_one for everything but the top directory itself. */
static int remove_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return ftw->level == 0 ? 0 : remove_one(path, st, flag, ftw);
}

static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 0777) | 0700);
	return 0;
}

int qi_remove_tree(qi_handle *h, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : qi_error_errno(h, "cannot remove %s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? qi_error_errno(h, "cannot remove %s", path) : 0;
	nftw(path, open_up, 32, FTW_PHYS | FTW_MOUNT);
	if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return qi_error_errno(h, "cannot remove %s entirely; remove it by hand", path);
	return 0;
}

/* Empty the directory PATH, keeping it. */
static int empty_dir(qi_handle *h, const char *path)
{
	nftw(path, open_up, 32, FTW_PHYS | FTW_MOUNT);
	if (nftw(path, remove_below, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return qi_error_errno(h, "cannot remove what was extracted into %s; remove it by hand",
				      path);
	return 0;
}

/* Whether the directory FD has no entry (false when it cannot be read). */
static bool dir_is_empty(int fd)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return false;
	}
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

/* The directory to extract LABEL into: DEST made fresh (0700; *made), or
 * DEST as it is when it is an empty directory (a `mktemp -d`). An open
 * descriptor of it, or -1 with the error set. */
static int open_dest(qi_handle *h, const char *label, const char *dest, bool *made)
{
	*made = mkdir(dest, 0700) == 0;
	if (!*made && errno != EEXIST)
		return qi_error_errno(h, "cannot create %s", dest);
	int fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (*made)
			rmdir(dest);
		if (e == ENOTDIR || e == ELOOP)
			return qi_error(h, "cannot extract %s into %s: it exists already and is %s; "
					"give an empty directory or one that does not exist", label, dest,
					lstat(dest, &st) == 0 && S_ISLNK(st.st_mode) ? "a symbolic link"
					: "not a directory");
		errno = e;
		return qi_error_errno(h, "cannot enter %s", dest);
	}
	if (!*made && !dir_is_empty(fd)) {
		close(fd);
		return qi_error(h, "cannot extract %s into %s: it exists already and is not empty; "
				"give an empty directory or one that does not exist (remove it or "
				"choose another)", label, dest);
	}
	return fd;
}

/* Open IN's source with OPEN, extract into DEST (made fresh, or empty), clean up. */
static int extract_with(qi_handle *h, struct archive *in, int open_rc, const char *label,
			const char *dest, const struct qi_extract_limits *lim, char **topdir)
{
	if (topdir)
		*topdir = NULL;
	if (open_rc != ARCHIVE_OK) {
		int rc = qi_error(h, "cannot read %s: %s", label,
				  archive_error_string(in) ? archive_error_string(in) : "unknown error");
		archive_read_free(in);
		return rc;
	}
	bool made;
	int destfd = open_dest(h, label, dest, &made);
	if (destfd < 0) {
		archive_read_free(in);
		return -1;
	}
	int saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (saved < 0 || fchdir(destfd) < 0) {
		int rc = qi_error_errno(h, "cannot enter %s", dest);
		if (saved >= 0)
			close(saved);
		close(destfd);
		archive_read_free(in);
		if (made)
			rmdir(dest);
		return rc;
	}
	close(destfd);
	struct extractor x = {
		.h = h, .label = label, .dest = dest,
		.lim = lim ? *lim : (struct qi_extract_limits){ QI_EXTRACT_MAX_TOTAL, QI_EXTRACT_MAX_ENTRIES },
		.seen = json_object(), .links = json_object(),
	};
	int rc = extract_entries(&x, in);
	archive_read_free(in);
	if (fchdir(saved) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot return to the working directory");
	close(saved);
	if (rc == 0 && x.entries == 0)
		rc = qi_error(h, "%s: the archive is empty", label);
	if (rc < 0) {
		char msg[sizeof(((struct qi_handle *)0)->errmsg)];
		snprintf(msg, sizeof(msg), "%s", qi_errmsg(h));
		if ((made ? qi_remove_tree(h, dest) : empty_dir(h, dest)) < 0)
			qi_warn(h, "%s", qi_errmsg(h));
		qi_error(h, "%s", msg);
	} else {
		if (x.setid_dropped)
			qi_info(h, "%s: dropped set-id or sticky bits from %d entr%s", label,
				x.setid_dropped, x.setid_dropped == 1 ? "y" : "ies");
		if (topdir)
			*topdir = x.top && !x.top_mixed && x.top_is_dir && !json_object_get(x.links, x.top)
					  ? qi_xasprintf("%s/%s", dest, x.top) : qi_xstrdup(dest);
		qi_debug(h, "extracted %s: %lld entries, %lld bytes", label, (long long)x.entries,
			 (long long)x.total);
	}
	free(x.top);
	json_decref(x.seen);
	json_decref(x.links);
	return rc;
}

static struct archive *new_reader(void)
{
	struct archive *in = archive_read_new();
	if (!in)
		return NULL;
	/* The compressions built into libarchive only: never an external
	 * decompressor run on untrusted bytes. */
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_bzip2(in);
	archive_read_support_filter_xz(in);
	archive_read_support_filter_lzma(in);
	archive_read_support_filter_lzip(in);
	archive_read_support_filter_zstd(in);
	archive_read_support_filter_compress(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_zip(in);
	return in;
}

int qi_extract_limited(qi_handle *h, const char *archive, const char *dest,
		       const struct qi_extract_limits *lim, char **topdir)
{
	struct archive *in = new_reader();
	if (!in)
		return qi_error(h, "cannot start libarchive");
	int fd = open(archive, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		archive_read_free(in);
		return qi_error_errno(h, "cannot open %s", archive);
	}
	int r = archive_read_open_fd(in, fd, 64 * 1024);
	int rc = extract_with(h, in, r, archive, dest, lim, topdir);
	close(fd);
	return rc;
}

int qi_extract(qi_handle *h, const char *archive, const char *dest, char **topdir)
{
	return qi_extract_limited(h, archive, dest, NULL, topdir);
}

int qi_extract_memory(qi_handle *h, const void *data, size_t len, const char *label,
		      const char *dest, const struct qi_extract_limits *lim, char **topdir)
{
	struct archive *in = new_reader();
	if (!in)
		return qi_error(h, "cannot start libarchive");
	int r = archive_read_open_memory(in, data, len);
	return extract_with(h, in, r, label, dest, lim, topdir);
}
