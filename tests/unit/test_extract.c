/* Unit tests for extract.c: secure unpacking of archives built here with
 * libarchive's writer (good ones and hostile ones). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "sources/sources.h"
#include "unit.h"

struct ent {
	const char *name;
	mode_t type;		/* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO; 0 = hardlink */
	mode_t perm;
	const char *data;	/* file content, link target or hardlink target */
	int64_t declared;	/* size in the header when > 0 (padded with zeros) */
};

struct fixture {
	char *tmp;		/* holds work/ (the parent of dest) and sentinel/ */
	char *dest;
	qi_handle *h;
};

static size_t make_archive(const struct ent *e, size_t n, bool gzip, char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	size_t used = 0;
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_mtime(ae, 1000000000, 0);
		if (e[i].type == 0) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
		}
		archive_entry_set_perm(ae, e[i].perm ? e[i].perm : (e[i].type == AE_IFDIR ? 0755 : 0644));
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].data);
		if (e[i].type == AE_IFCHR)
			archive_entry_set_rdev(ae, makedev(1, 3));
		size_t len = e[i].type == AE_IFREG && e[i].data ? strlen(e[i].data) : 0;
		archive_entry_set_size(ae, e[i].declared > 0 ? e[i].declared : (int64_t)len);
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, e[i].data, len), (ssize_t)len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tmp = ut_tmpdir("extract");
	ut_mkdir(f->tmp, "work", 0755);
	ut_mkdir(f->tmp, "sentinel", 0755);
	f->dest = qi_xasprintf("%s/work/x", f->tmp);
	f->h = qi_new();
	qi_set_verbosity(f->h, -1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ut_tmpdir_remove(f->tmp);
	qi_free(f->h);
	free(f->dest);
	free(f);
	return 0;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* After a refused archive: an error naming MUST_SAY, no dest left behind,
 * and nothing written beside it or in the sentinel directory. */
static void assert_refused(struct fixture *f, const struct ent *e, size_t n, bool gzip,
			   const char *must_say)
{
	static char buf[1 << 20];
	size_t len = make_archive(e, n, gzip, buf, sizeof(buf));
	assert_int_equal(qi_extract_memory(f->h, buf, len, "hostile.tar", f->dest, NULL, NULL), -1);
	if (!strstr(qi_errmsg(f->h), must_say))
		fail_msg("error \"%s\" does not say \"%s\"", qi_errmsg(f->h), must_say);
	struct stat st;
	assert_int_equal(lstat(f->dest, &st), -1);
	char *work = qi_xasprintf("%s/work", f->tmp), *sentinel = qi_xasprintf("%s/sentinel", f->tmp);
	assert_int_equal(count_entries(work), 0);
	assert_int_equal(count_entries(sentinel), 0);
	assert_int_equal(count_entries(f->tmp), 2);
	free(work);
	free(sentinel);
}

/* A plain source tree extracts with its files, in-tree symlinks and
 * hardlinks; the destination is private (0700); the top directory is found. */
static void test_good_tree(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ "pkg-1.0/", AE_IFDIR, 0755, NULL, 0 },
		{ "pkg-1.0/README", AE_IFREG, 0644, "hello\n", 0 },
		{ "./pkg-1.0/sub/b.c", AE_IFREG, 0600, "int b;\n", 0 },
		{ "pkg-1.0/link", AE_IFLNK, 0777, "sub/b.c", 0 },
		{ "pkg-1.0/sub/up", AE_IFLNK, 0777, "../README", 0 },
		{ "pkg-1.0/hard", 0, 0644, "pkg-1.0/README", 0 },
	};
	static char buf[1 << 16];
	size_t len = make_archive(e, 6, true, buf, sizeof(buf));
	char *top = NULL;
	assert_int_equal(qi_extract_memory(f->h, buf, len, "good.tar.gz", f->dest, NULL, &top), 0);
	char *want = qi_xasprintf("%s/pkg-1.0", f->dest);
	assert_string_equal(top, want);
	struct stat st, st2;
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	char *p = qi_xasprintf("%s/README", want);
	assert_string_equal(ut_slurp(NULL, p), "hello\n");
	char *q = qi_xasprintf("%s/hard", want);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(stat(q, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	free(q);
	q = qi_xasprintf("%s/link", want);
	char target[64] = "";
	assert_int_equal(readlink(q, target, sizeof(target) - 1), 7);
	assert_string_equal(target, "sub/b.c");
	free(q);
	free(p);
	free(want);
	free(top);
}

/* Entries under different top names: the top directory is DEST itself. */
static void test_no_single_top(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ "a/x", AE_IFREG, 0644, "x", 0 },
		{ "b", AE_IFREG, 0644, "b", 0 },
	};
	static char buf[1 << 16];
	size_t len = make_archive(e, 2, false, buf, sizeof(buf));
	char *top = NULL;
	assert_int_equal(qi_extract_memory(f->h, buf, len, "flat.tar", f->dest, NULL, &top), 0);
	assert_string_equal(top, f->dest);
	free(top);
}

/* The destination must be new or empty: a directory with something in it
 * is refused and kept as it was, and so is a file. */
static void test_dest_exists(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = { { "a", AE_IFREG, 0644, "a", 0 } };
	static char buf[1 << 16];
	size_t len = make_archive(e, 1, false, buf, sizeof(buf));
	assert_int_equal(mkdir(f->dest, 0755), 0);
	char *kept = qi_xasprintf("%s/kept", f->dest);
	FILE *fp = fopen(kept, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(qi_extract_memory(f->h, buf, len, "a.tar", f->dest, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "exists already and is not empty"));
	assert_int_equal(count_entries(f->dest), 1);
	unlink(kept);
	free(kept);
	rmdir(f->dest);
	fp = fopen(f->dest, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(qi_extract_memory(f->h, buf, len, "a.tar", f->dest, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "is not a directory"));
	unlink(f->dest);
}

/* An existing empty directory (a `mktemp -d`) is used as it is, its mode
 * kept; when extracting into it fails, it is emptied but kept. */
static void test_dest_empty(void **state)
{
	struct fixture *f = *state;
	const struct ent good[] = { { "pkg/a", AE_IFREG, 0644, "a", 0 } };
	static char buf[1 << 16];
	size_t len = make_archive(good, 1, false, buf, sizeof(buf));
	assert_int_equal(mkdir(f->dest, 0750), 0);
	char *top = NULL;
	assert_int_equal(qi_extract_memory(f->h, buf, len, "a.tar", f->dest, NULL, &top), 0);
	char *want = qi_xasprintf("%s/pkg", f->dest);
	assert_string_equal(top, want);
	free(want);
	free(top);
	struct stat st;
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(qi_remove_tree(f->h, f->dest), 0);

	const struct ent bad[] = {
		{ "pkg/ok", AE_IFREG, 0644, "ok", 0 },
		{ "pkg/../../evil", AE_IFREG, 0644, "evil", 0 },
	};
	len = make_archive(bad, 2, false, buf, sizeof(buf));
	assert_int_equal(mkdir(f->dest, 0700), 0);
	assert_int_equal(qi_extract_memory(f->h, buf, len, "bad.tar", f->dest, NULL, NULL), -1);
	assert_int_equal(stat(f->dest, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(f->dest), 0);
	rmdir(f->dest);
}

/* "../" escapes and absolute names are refused, naming the entry. */
static void test_dotdot_and_absolute(void **state)
{
	struct fixture *f = *state;
	const struct ent dotdot[] = {
		{ "pkg/ok", AE_IFREG, 0644, "ok", 0 },
		{ "pkg/../../../sentinel/evil", AE_IFREG, 0644, "evil", 0 },
	};
	assert_refused(f, dotdot, 2, false, "'pkg/../../../sentinel/evil': '..' in the path");
	char *abs = qi_xasprintf("%s/sentinel/abs", f->tmp);
	const struct ent absolute[] = { { abs, AE_IFREG, 0644, "evil", 0 } };
	assert_refused(f, absolute, 1, false, "absolute path");
	free(abs);
}

/* A symlink leading out of the tree, and a file written through it, never
 * reach outside: the link itself is refused. */
static void test_symlink_out_and_write_through(void **state)
{
	struct fixture *f = *state;
	char *out = qi_xasprintf("%s/sentinel", f->tmp);
	const struct ent e[] = {
		{ "pkg/", AE_IFDIR, 0755, NULL, 0 },
		{ "pkg/out", AE_IFLNK, 0777, out, 0 },
		{ "pkg/out/evil", AE_IFREG, 0644, "evil", 0 },
	};
	assert_refused(f, e, 3, false, "is a symlink to");
	const struct ent rel[] = {
		{ "pkg/out", AE_IFLNK, 0777, "../../../sentinel", 0 },
		{ "pkg/out/evil", AE_IFREG, 0644, "evil", 0 },
	};
	assert_refused(f, rel, 2, false, "outside the tree");
	free(out);
}

/* Symlinks that each look inside but escape through one another are
 * refused, in either order; so is writing through an in-tree symlink. */
static void test_symlink_chains(void **state)
{
	struct fixture *f = *state;
	const struct ent chain[] = {
		{ "pkg/sub/", AE_IFDIR, 0755, NULL, 0 },
		{ "pkg/sub/up", AE_IFLNK, 0777, "../..", 0 },
		{ "pkg/z", AE_IFLNK, 0777, "sub/up/..", 0 },
	};
	assert_refused(f, chain, 3, false, "symlink");
	const struct ent late[] = {
		{ "pkg/z", AE_IFLNK, 0777, "sub/up/..", 0 },
		{ "pkg/sub/up", AE_IFLNK, 0777, "../..", 0 },
	};
	assert_refused(f, late, 2, false, "through the archive's other symlinks");
	const struct ent through[] = {
		{ "pkg/real/", AE_IFDIR, 0755, NULL, 0 },
		{ "pkg/alias", AE_IFLNK, 0777, "real", 0 },
		{ "pkg/alias/x", AE_IFREG, 0644, "x", 0 },
	};
	assert_refused(f, through, 3, false, "would be written through the symlink 'pkg/alias'");
}

/* Hardlinks only to files of the tree extracted before them. */
static void test_hardlinks(void **state)
{
	struct fixture *f = *state;
	const struct ent passwd[] = {
		{ "pkg/a", AE_IFREG, 0644, "a", 0 },
		{ "pkg/passwd", 0, 0644, "/etc/passwd", 0 },
	};
	assert_refused(f, passwd, 2, false, "hardlink to '/etc/passwd'");
	const struct ent missing[] = {
		{ "pkg/a", AE_IFREG, 0644, "a", 0 },
		{ "pkg/b", 0, 0644, "pkg/nothere", 0 },
	};
	assert_refused(f, missing, 2, false, "not a file extracted before it");
	const struct ent up[] = {
		{ "pkg/a", AE_IFREG, 0644, "a", 0 },
		{ "pkg/b", 0, 0644, "../work/x", 0 },
	};
	assert_refused(f, up, 2, false, "hardlink");
}

/* Device nodes and FIFOs are refused. */
static void test_special_files(void **state)
{
	struct fixture *f = *state;
	const struct ent dev[] = { { "pkg/null", AE_IFCHR, 0666, NULL, 0 } };
	assert_refused(f, dev, 1, false, "a character device");
	const struct ent fifo[] = { { "pkg/fifo", AE_IFIFO, 0644, NULL, 0 } };
	assert_refused(f, fifo, 1, false, "a FIFO");
}

/* Set-id and sticky bits are dropped, the rest of the mode kept. */
static void test_setid_dropped(void **state)
{
	struct fixture *f = *state;
	const struct ent e[] = {
		{ "pkg/", AE_IFDIR, 03775, NULL, 0 },
		{ "pkg/suid", AE_IFREG, 04755, "#!/bin/sh\n", 0 },
		{ "pkg/sgid", AE_IFREG, 02711, "x", 0 },
	};
	static char buf[1 << 16];
	size_t len = make_archive(e, 3, false, buf, sizeof(buf));
	assert_int_equal(qi_extract_memory(f->h, buf, len, "setid.tar", f->dest, NULL, NULL), 0);
	struct stat st;
	char *p = qi_xasprintf("%s/pkg/suid", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	p = qi_xasprintf("%s/pkg/sgid", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	free(p);
	p = qi_xasprintf("%s/pkg", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0775);
	free(p);
}

/* The caps: a declared size beyond the total, too many entries. */
static void test_limits(void **state)
{
	struct fixture *f = *state;
	const struct ent big[] = {
		{ "pkg/small", AE_IFREG, 0644, "abc", 0 },
		{ "pkg/huge", AE_IFREG, 0644, NULL, 5000 },
	};
	static char buf[1 << 16];
	size_t len = make_archive(big, 2, false, buf, sizeof(buf));
	struct qi_extract_limits lim = { .max_total = 4096, .max_entries = 10 };
	assert_int_equal(qi_extract_memory(f->h, buf, len, "big.tar", f->dest, &lim, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "'pkg/huge' declares 5000 bytes"));
	assert_int_equal(access(f->dest, F_OK), -1);
	lim.max_total = 1 << 20;
	lim.max_entries = 1;
	assert_int_equal(qi_extract_memory(f->h, buf, len, "big.tar", f->dest, &lim, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "more than 1 entries"));
	assert_int_equal(access(f->dest, F_OK), -1);
}

/* A truncated .tar.gz is an error naming the entry where it broke, and
 * leaves nothing behind; so does garbage. */
static void test_truncated_and_garbage(void **state)
{
	struct fixture *f = *state;
	static char data[200000];
	for (size_t i = 0; i < sizeof(data) - 1; i++)
		data[i] = (char)('a' + (i * 7919 % 26));	/* poorly compressible enough */
	data[sizeof(data) - 1] = '\0';
	const struct ent e[] = {
		{ "pkg/first", AE_IFREG, 0644, "first\n", 0 },
		{ "pkg/second", AE_IFREG, 0644, data, 0 },
		{ "pkg/third", AE_IFREG, 0644, "third\n", 0 },
	};
	static char buf[1 << 20];
	size_t len = make_archive(e, 3, true, buf, sizeof(buf));
	assert_true(len > 100);
	assert_int_equal(qi_extract_memory(f->h, buf, len / 2, "cut.tar.gz", f->dest, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "cut.tar.gz: broken"));
	assert_non_null(strstr(qi_errmsg(f->h), "pkg/"));
	assert_int_equal(access(f->dest, F_OK), -1);
	assert_int_equal(qi_extract_memory(f->h, "this is no archive at all", 25, "junk", f->dest, NULL, NULL), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "junk"));
	assert_int_equal(access(f->dest, F_OK), -1);
}

/* qi_remove_tree removes a tree with read-only directories and symlinks,
 * without following the symlinks. */
static void test_remove_tree(void **state)
{
	struct fixture *f = *state;
	char *d = qi_xasprintf("%s/work/t", f->tmp), *s = qi_xasprintf("%s/work/t/ro", f->tmp);
	char *l = qi_xasprintf("%s/work/t/ro/l", f->tmp), *sent = qi_xasprintf("%s/sentinel", f->tmp);
	char *keep = qi_xasprintf("%s/sentinel/keep", f->tmp);
	mkdir(d, 0755);
	mkdir(s, 0755);
	FILE *fp = fopen(keep, "w");
	fclose(fp);
	assert_int_equal(symlink(sent, l), 0);
	chmod(s, 0500);
	assert_int_equal(qi_remove_tree(f->h, d), 0);
	assert_int_equal(access(d, F_OK), -1);
	assert_int_equal(access(keep, F_OK), 0);
	unlink(keep);
	free(d), free(s), free(l), free(sent), free(keep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_single_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dest_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dest_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_and_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_out_and_write_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setid_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_tree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
