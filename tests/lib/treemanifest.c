/*
 * treemanifest - print what a tree is, one sorted line per entry, so that
 * two trees compare with diff(1):
 *
 *   treemanifest [--exclude RELPATH]... DIR
 *
 * Each line: PATH TYPE MODE UID GID SIZE SHA256 TARGET, with PATH relative
 * to DIR ("/" for DIR itself, then "/etc", "/etc/passwd", ...), TYPE one of
 * dir, file, link, fifo, sock, chr, blk; MODE the octal permission bits;
 * SIZE 0 for directories; SHA256 of a regular file's content ("-"
 * otherwise); TARGET a symlink's target ("-" otherwise). Bytes outside
 * printable ASCII, blanks and backslashes in names are written as \ooo.
 * Times are left out: rollback restores what a file is, not when it was
 * touched.
 *
 * --exclude RELPATH leaves out RELPATH (relative to DIR, e.g.
 * var/lib/qinstall) and everything below it. Exit 0, or 1 on an error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

static char **lines;
static size_t nlines, caplines;
static char **excludes;
static int nexcludes;
static int failed;

static void add_line(char *s)
{
	if (nlines == caplines) {
		caplines = caplines ? 2 * caplines : 1024;
		lines = realloc(lines, caplines * sizeof(*lines));
		if (!lines) {
			perror("treemanifest");
			exit(1);
		}
	}
	lines[nlines++] = s;
}

/* Escape a name so that a line always has 8 blank-separated fields. */
static char *escape(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * n + 1), *o = out;
	if (!out)
		exit(1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c >= 127 || c == '\\')
			o += sprintf(o, "\\%03o", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static void sha256_file(int dirfd, const char *name, char out[65])
{
	strcpy(out, "unreadable");
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		failed = 1;
		fprintf(stderr, "treemanifest: %s: %s\n", name, strerror(errno));
		return;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	close(fd);
	unsigned char md[32];
	unsigned int len;
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static int excluded(const char *rel)
{
	for (int i = 0; i < nexcludes; i++) {
		size_t n = strlen(excludes[i]);
		if (strncmp(rel + 1, excludes[i], n) == 0 && (rel[1 + n] == '\0' || rel[1 + n] == '/'))
			return 1;
	}
	return 0;
}

/* One entry NAME in DIRFD whose path is REL ("/..."). */
static void walk(int dfd, const char *name, const char *rel)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "treemanifest: %s: %s\n", rel, strerror(errno));
		failed = 1;
		return;
	}
	const char *type = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" :
		S_ISLNK(st.st_mode) ? "link" : S_ISFIFO(st.st_mode) ? "fifo" :
		S_ISSOCK(st.st_mode) ? "sock" : S_ISCHR(st.st_mode) ? "chr" : "blk";
	char hash[65] = "-";
	char *target = NULL;
	if (S_ISREG(st.st_mode))
		sha256_file(dfd, name, hash);
	if (S_ISLNK(st.st_mode)) {
		char buf[4097];
		ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		target = escape(buf);
	}
	char *erel = escape(rel[0] ? rel : "/");
	char *line;
	if (asprintf(&line, "%s %s %04o %u %u %lld %s %s", erel, type, (unsigned)(st.st_mode & 07777),
		     (unsigned)st.st_uid, (unsigned)st.st_gid,
		     S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, hash, target ? target : "-") < 0)
		exit(1);
	free(erel);
	free(target);
	add_line(line);
	if (!S_ISDIR(st.st_mode))
		return;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		fprintf(stderr, "treemanifest: %s: %s\n", rel, strerror(errno));
		failed = 1;
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child;
		if (asprintf(&child, "%s/%s", rel, de->d_name) < 0)
			exit(1);
		if (!excluded(child))
			walk(dirfd(d), de->d_name, child);
		free(child);
	}
	closedir(d);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int i = 1;
	excludes = calloc((size_t)argc, sizeof(*excludes));
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--exclude") == 0 && i + 1 < argc) {
			const char *e = argv[++i];
			while (*e == '/')
				e++;
			excludes[nexcludes++] = strdup(e);
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: treemanifest [--exclude RELPATH]... DIR\n");
			return 0;
		} else {
			break;
		}
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: treemanifest [--exclude RELPATH]... DIR\n");
		return 2;
	}
	walk(AT_FDCWD, argv[i], "");
	qsort(lines, nlines, sizeof(*lines), cmp);
	for (size_t k = 0; k < nlines; k++) {
		puts(lines[k]);
		free(lines[k]);
	}
	free(lines);
	for (int k = 0; k < nexcludes; k++)
		free(excludes[k]);
	free(excludes);
	return failed;
}
