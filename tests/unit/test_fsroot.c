/* Unit tests for fsroot.c: the path normaliser, paths inside ROOT,
 * images, owners. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"
#include "unit.h"

static char *root;

static int setup(void **state)
{
	root = ut_tmpdir("fsroot");
	ut_mkdir(root, "etc", 0755);
	ut_write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nqmaild:x:601:600::/var/qmail:/bin/false\n", 0);
	ut_write(root, "/etc/group", "root:x:0:\nnofiles:x:600:\nqmail:x:601:\n", 0);
	char *p = ut_path(root, "/etc/up");
	symlink("/etc", p);	/* absolute: must mean ROOT/etc */
	free(p);
	p = ut_path(root, "/etc/out");
	symlink("../../../../../../..", p);
	free(p);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	if (qi_set_root(h, root) < 0)
		return -1;
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	qi_free(*state);
	ut_tmpdir_remove(root);
	return 0;
}

/* Paths are made canonical; relative paths and ".." are refused. */
static void test_path_clean(void **state)
{
	qi_handle *h = *state;
	char *p = qi_path_clean(h, "//etc/./qmail//control/");
	assert_string_equal(p, "/etc/qmail/control");
	free(p);
	p = qi_path_clean(h, "/");
	assert_string_equal(p, "/");
	free(p);
	assert_null(qi_path_clean(h, "etc/passwd"));
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	assert_null(qi_path_clean(h, "/etc/../../x"));
	assert_non_null(strstr(qi_errmsg(h), ".."));
}

static void assert_normalised(const char *path, unsigned flags, const char *want)
{
	char *p = qi_path_normalise(path, flags);
	if (!want) {
		assert_null(p);
		assert_int_equal(errno, EINVAL);
		return;
	}
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);
}

/* The one normaliser serves every caller: absolute paths (ROOT's), a
 * relative one (an archive's entry names), and ".." resolved lexically
 * (a --root given by the user) where it is not refused. */
static void test_path_normalise(void **state)
{
	assert_normalised("//etc/./qmail//control/", 0, "/etc/qmail/control");
	assert_normalised("/", 0, "/");
	assert_normalised("etc", 0, NULL);
	assert_normalised("/etc/../x", 0, NULL);
	assert_normalised("./a//b/", QI_PATH_RELATIVE, "a/b");
	assert_normalised("./", QI_PATH_RELATIVE, "");
	assert_normalised("/a", QI_PATH_RELATIVE, NULL);
	assert_normalised("a/../b", QI_PATH_RELATIVE, NULL);
	assert_normalised("/tmp/../x/./y/..", QI_PATH_DOTDOT, "/x");
	assert_normalised("/..//..", QI_PATH_DOTDOT, "/");
	assert_normalised("a/b/../c", QI_PATH_RELATIVE | QI_PATH_DOTDOT, "a/c");
	assert_normalised("a/../..", QI_PATH_RELATIVE | QI_PATH_DOTDOT, NULL);
}

/* An absolute symlink inside ROOT resolves inside ROOT, never on the host:
 * ROOT/etc/up -> /etc reads ROOT/etc/passwd, not the host's. */
static void test_open_stays_in_root(void **state)
{
	qi_handle *h = *state;
	char *buf;
	size_t len;
	assert_int_equal(qi_root_read(h, "/etc/up/passwd", &buf, &len), 0);
	assert_non_null(strstr(buf, "qmaild:x:601"));
	free(buf);
	/* ".." through a link cannot climb above ROOT either */
	assert_int_equal(qi_root_read(h, "/etc/out/etc/group", &buf, &len), 0);
	assert_non_null(strstr(buf, "nofiles:x:600"));
	free(buf);
}

/* The userspace walk used without openat2 gives the same answers: links
 * resolve inside ROOT, ".." stops at ROOT, O_NOFOLLOW opens no link, a
 * loop of links ends in ELOOP, a missing component in ENOENT. */
static void test_walk_without_openat2(void **state)
{
	qi_handle *h = *state;
	char buf[256];
	int fd = qi_root_walk(qi_rootfd(h), "/etc/up/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "qmaild:x:601"));
	fd = qi_root_walk(qi_rootfd(h), "/etc/out/../../etc/group", O_RDONLY, 0);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	assert_non_null(strstr(buf, "nofiles:x:600"));
	assert_int_equal(qi_root_walk(qi_rootfd(h), "/etc/up", O_RDONLY | O_NOFOLLOW, 0), -1);
	assert_int_equal(errno, ELOOP);
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/loop", root);
	symlink("loop", p);
	assert_int_equal(qi_root_walk(qi_rootfd(h), "/etc/loop", O_RDONLY, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(qi_root_walk(qi_rootfd(h), "/nope/x", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(qi_root_walk(qi_rootfd(h), "/etc/passwd/x", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOTDIR);
	/* creating through an absolute link lands inside ROOT */
	fd = qi_root_walk(qi_rootfd(h), "/etc/up/walk-made", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/etc/walk-made", root);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(access("/etc/walk-made", F_OK), -1);
	unlink(p);
	fd = qi_root_walk(qi_rootfd(h), "/", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
}

/* A missing file is an error that names the path inside ROOT. */
static void test_read_missing(void **state)
{
	qi_handle *h = *state;
	char *buf;
	assert_int_equal(qi_root_read(h, "/etc/nothere", &buf, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), root));
	assert_non_null(strstr(qi_errmsg(h), "/etc/nothere"));
}

/* lstat does not follow the last component; it sets errno only. */
static void test_lstat(void **state)
{
	qi_handle *h = *state;
	struct stat st;
	assert_int_equal(qi_root_lstat(h, "/etc/up", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(qi_root_lstat(h, "/etc/up/passwd", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	qi_clear_error(h);
	assert_int_equal(qi_root_lstat(h, "/nope/x", &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(qi_errmsg(h), "");
}

/* Owners come from ROOT's own passwd and group; numbers pass through;
 * unknown names are errors naming the file. */
static void test_owners(void **state)
{
	qi_handle *h = *state;
	uid_t u;
	gid_t g;
	assert_int_equal(qi_root_uid(h, "qmaild", &u), 0);
	assert_int_equal(u, 601);
	assert_int_equal(qi_root_gid(h, "nofiles", &g), 0);
	assert_int_equal(g, 600);
	assert_int_equal(qi_root_uid(h, "1234", &u), 0);
	assert_int_equal(u, 1234);
	assert_int_equal(qi_root_uid(h, "nobodyhere", &u), -1);
	assert_non_null(strstr(qi_errmsg(h), "nobodyhere"));
	assert_non_null(strstr(qi_errmsg(h), "/etc/passwd"));
	/* "qmail" must not match the longer "qmaild" line or vice versa */
	assert_int_equal(qi_root_gid(h, "qmail", &g), 0);
	assert_int_equal(g, 601);
}

/* Host paths for messages join ROOT and the path. */
static void test_root_path(void **state)
{
	qi_handle *h = *state;
	char *p = qi_root_path(h, "/etc/passwd");
	char want[128];
	snprintf(want, sizeof(want), "%s/etc/passwd", root);
	assert_string_equal(p, want);
	free(p);
}

/* Images of every type: regular (hashed), directory, symlink, FIFO, absent. */
static void test_images(void **state)
{
	qi_handle *h = *state;
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/fifo", root);
	assert_int_equal(mkfifo(p, 0620), 0);
	chmod(p, 0620);
	struct qi_image img;
	assert_int_equal(qi_image_path(h, "/etc/group", true, &img), 0);
	assert_int_equal(img.type, QI_FT_REG);
	char want[65];
	const char *g = "root:x:0:\nnofiles:x:600:\nqmail:x:601:\n";
	qi_sha256_buf(g, strlen(g), want);
	assert_string_equal(img.hash, want);
	assert_int_equal(img.size, (int64_t)strlen(g));
	qi_image_clear(&img);
	assert_int_equal(qi_image_path(h, "/etc", false, &img), 0);
	assert_int_equal(img.type, QI_FT_DIR);
	assert_int_equal(img.mode, 0755);
	qi_image_clear(&img);
	assert_int_equal(qi_image_path(h, "/etc/up", false, &img), 0);
	assert_int_equal(img.type, QI_FT_LNK);
	assert_string_equal(img.target, "/etc");
	qi_image_clear(&img);
	assert_int_equal(qi_image_path(h, "/etc/fifo", false, &img), 0);
	assert_int_equal(img.type, QI_FT_FIFO);
	assert_int_equal(img.mode, 0620);
	qi_image_clear(&img);
	assert_int_equal(qi_image_path(h, "/etc/none", false, &img), 0);
	assert_int_equal(img.type, QI_FT_ABSENT);
	assert_int_equal(qi_image_path(h, "/none/deeper", false, &img), 0);
	assert_int_equal(img.type, QI_FT_ABSENT);
	assert_int_equal(qi_image_path(h, "/", false, &img), 0);
	assert_int_equal(img.type, QI_FT_DIR);
}

/* Equality compares what rollback restores: type, mode, owner, content, target. */
static void test_image_equal(void **state)
{
	struct qi_image a = { .type = QI_FT_REG, .mode = 0644, .size = 1, .hash = "aa" };
	struct qi_image b = a;
	assert_true(qi_image_equal(&a, &b));
	b.mode = 0600;
	assert_false(qi_image_equal(&a, &b));
	b = a;
	b.uid = 5;
	assert_false(qi_image_equal(&a, &b));
	b = a;
	strcpy(b.hash, "ab");
	assert_false(qi_image_equal(&a, &b));
	struct qi_image l1 = { .type = QI_FT_LNK, .target = "x" }, l2 = { .type = QI_FT_LNK, .target = "y" };
	assert_false(qi_image_equal(&l1, &l2));
	assert_int_equal(qi_ftype_parse("fifo"), QI_FT_FIFO);
	assert_string_equal(qi_ftype_name(QI_FT_DIR), "directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_clean),
		cmocka_unit_test(test_path_normalise),
		cmocka_unit_test(test_open_stays_in_root),
		cmocka_unit_test(test_walk_without_openat2),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_lstat),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_root_path),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_image_equal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
