/* Unit tests for the journal (journal.c, change.c, rollback.c, verify.c):
 * runs, every change and its undo, the lock, unfinished runs, --check,
 * batches, verify, status, guards and the built-in handlers. */
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

/* ROOT's tree without the journal's own directory. */
#define JOURNAL_DIR "var/lib/qinstall"

static qi_handle *handle(void)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_set_root(h, root), 0);
	return h;
}

/* A root holding one of each type, and var/lib for the state. */
static int setup(void **state)
{
	root = ut_tmpdir("journal");
	chmod(root, 0755);
	const char *dirs[] = { "/etc", "/var", "/var/lib", "/srv", "/srv/empty" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		ut_mkdir(root, dirs[i], 0755);
	ut_write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	ut_write(root, "/etc/motd", "hello\n", 0644);
	ut_write(root, "/etc/secret", "s3cret\n", 0600);
	char *p = ut_path(root, "/etc/link");
	symlink("motd", p);
	free(p);
	p = ut_path(root, "/etc/fifo");
	mkfifo(p, 0640);
	free(p);
	p = ut_path(root, "/etc/hostlink");
	symlink("/etc", p);	/* absolute: inside ROOT it means ROOT/etc */
	free(p);
	return 0;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(root);
	return 0;
}

/* Every operation over every type of before-image, then rollback: the
 * tree is identical to before in every path, type, mode, owner, content
 * and link target. */
static void test_every_op_rolls_back(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "test every op"), 0);
	assert_true(qi_run_id(h) > 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "bye\n", 4, 0644, 0, 0), 0);	/* over regular */
	assert_int_equal(qi_write_file(h, "/etc/link", "was a link\n", 11, 0600, 0, 0), 0); /* over symlink */
	assert_int_equal(qi_write_file(h, "/etc/fifo", "was a fifo\n", 11, 0600, 0, 0), 0); /* over fifo */
	assert_int_equal(qi_write_file(h, "/etc/new", "new\n", 4, 0640, 12, 34), 0);	/* absent */
	assert_int_equal(qi_mkdir(h, "/srv/d", 0750, 5, 6), 0);
	assert_int_equal(qi_symlink(h, "/srv/d/l", "../x"), 0);
	assert_int_equal(qi_mkfifo(h, "/srv/d/f", 0600, 0, 0), 0);
	assert_int_equal(qi_chmod(h, "/etc/secret", 0640), 0);
	assert_int_equal(qi_chown(h, "/etc/passwd", 7, 8), 0);
	assert_int_equal(qi_remove(h, "/srv/empty"), 0);		/* directory */
	assert_int_equal(qi_rename(h, "/etc/secret", "/etc/passwd"), 0); /* over a file */
	assert_int_equal(qi_mkdir_p(h, "/opt/a/b", 0755, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_true(qi_changed(h));
	assert_string_equal(ut_slurp(root, "/etc/motd"), "bye\n");
	assert_string_equal(ut_slurp(root, "/etc/passwd"), "s3cret\n");
	assert_false(ut_exists(root, "/etc/secret"));
	assert_false(ut_exists(root, "/srv/empty"));
	assert_true(ut_exists(root, "/opt/a/b"));
	struct stat st;
	char *p = ut_path(root, "/etc/new");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	assert_int_equal(st.st_uid, 12);
	assert_int_equal(st.st_gid, 34);
	assert_int_equal(st.st_mode & 07777, 0640);
	json_t *changes = json_object_get(qi_result(h), "changes");
	assert_true(json_array_size(changes) >= 12);
	qi_free(h);

	h = handle();
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* A change that changes nothing is not recorded and leaves changed=false. */
static void test_noop_not_recorded(void **state)
{
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "noop"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "hello\n", 6, 0644, getuid(), getgid()), 0);
	assert_int_equal(qi_mkdir(h, "/etc", 0755, getuid(), getgid()), 0);
	assert_int_equal(qi_remove(h, "/etc/absent"), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_false(qi_changed(h));
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "changes")), 0);
	qi_free(h);
}

/* A symlink ROOT/etc/hostlink -> /etc never makes qinstall write the
 * host's /etc: the write lands in ROOT/etc. */
static void test_symlink_never_escapes(void **state)
{
	char name[64], hostpath[128];
	snprintf(name, sizeof(name), "/etc/hostlink/qinstall-unit-%ld", (long)getpid());
	snprintf(hostpath, sizeof(hostpath), "/etc/qinstall-unit-%ld", (long)getpid());
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "escape"), 0);
	assert_int_equal(qi_write_file(h, name, "x", 1, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(access(hostpath, F_OK), -1);
	assert_true(ut_exists(root, hostpath));	/* ROOT/etc/qinstall-unit-PID */
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_false(ut_exists(root, hostpath));
	qi_free(h);
}

/* One run per ROOT: a second handle is refused with QI_ERR_LOCKED naming
 * the pid that holds the lock. */
static void test_lock(void **state)
{
	qi_handle *a = handle(), *b = handle();
	assert_int_equal(qi_run_begin(a, "first"), 0);
	assert_int_equal(qi_run_begin(b, "second"), -1);
	assert_int_equal(qi_errkind(b), QI_ERR_LOCKED);
	char pid[32];
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	assert_non_null(strstr(qi_errmsg(b), pid));
	assert_int_equal(qi_run_commit(a), 0);
	qi_free(b);
	b = handle();
	assert_int_equal(qi_run_begin(b, "second"), 0);
	assert_int_equal(qi_run_commit(b), 0);
	qi_free(a);
	qi_free(b);
}

/* A run left unfinished (the handle dropped mid-run, like a crash) blocks
 * the next run with QI_ERR_UNFINISHED saying how to roll it back; the
 * rollback then restores the tree, including a change whose intent was
 * never marked done. */
static void test_unfinished_blocks(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "crashy"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "half\n", 5, 0644, 0, 0), 0);
	assert_int_equal(qi_mkdir(h, "/etc/newdir", 0700, 0, 0), 0);
	qi_free(h);	/* no commit: as if killed */

	h = handle();
	assert_int_equal(qi_run_begin(h, "next"), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_UNFINISHED);
	assert_non_null(strstr(qi_errmsg(h), "rollback"));
	assert_non_null(strstr(qi_errmsg(h), root));
	assert_int_equal(qi_status(h), 0);
	json_t *run = json_array_get(json_object_get(qi_result(h), "runs"), 0);
	assert_string_equal(json_string_value(json_object_get(run, "state")), "unfinished");
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* --check writes nothing at all (no state directory even), reports every
 * change, and later operations see earlier planned ones. */
static void test_check_writes_nothing(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	char *p = ut_path(root, "/var/lib/qinstall");
	assert_int_equal(ut_rmtree(p), 0);
	qi_handle *h = handle();
	qi_set_check(h, true);
	assert_int_equal(qi_run_begin(h, "dry"), 0);
	assert_int_equal(qi_mkdir(h, "/planned", 0755, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/planned/file", "x", 1, 0644, 0, 0), 0);
	assert_int_equal(qi_remove(h, "/etc/motd"), 0);
	assert_int_equal(qi_write_file(h, "/nodir/file", "x", 1, 0644, 0, 0), -1);
	assert_non_null(strstr(qi_errmsg(h), "does not exist"));
	assert_int_equal(qi_run_commit(h), 0);
	assert_true(qi_changed(h));
	assert_int_equal(qi_run_id(h), 0);
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "changes")), 3);
	qi_free(h);
	struct stat st;
	assert_int_equal(stat(p, &st), -1);
	free(p);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* A batch plans each change at once (errors reported then), makes them
 * together, and rolls back like any run. */
static void test_batch(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "batch"), 0);
	assert_int_equal(qi_batch_begin(h), 0);
	assert_int_equal(qi_mkdir_p(h, "/usr/local/qmail/bin", 0755, 0, 0), 0);
	for (int i = 0; i < 300; i++) {
		char path[64], text[32];
		snprintf(path, sizeof(path), "/usr/local/qmail/bin/f%d", i);
		snprintf(text, sizeof(text), "file %d\n", i);
		assert_int_equal(qi_write_file(h, path, text, strlen(text), 0755, 0, 0), 0);
	}
	/* the same path again: what is queued is made first */
	assert_int_equal(qi_write_file(h, "/usr/local/qmail/bin/f1", "again\n", 6, 0700, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/usr/nodir/x", "x", 1, 0644, 0, 0), -1);
	/* a remove sees what is queued: the directory is no longer empty */
	assert_int_equal(qi_remove(h, "/usr/local/qmail/bin"), -1);
	assert_non_null(strstr(qi_errmsg(h), "not empty"));
	assert_int_equal(qi_batch_end(h), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_string_equal(ut_slurp(root, "/usr/local/qmail/bin/f299"), "file 299\n");
	assert_string_equal(ut_slurp(root, "/usr/local/qmail/bin/f1"), "again\n");
	assert_int_equal(qi_verify_root(h), 0);
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* qi_run_abort undoes what the run did and keeps the original error. */
static void test_abort(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "abort"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "changed\n", 8, 0644, 0, 0), 0);
	assert_int_equal(qi_mkdir(h, "/etc/tmpdir", 0755, 0, 0), 0);
	qi_error(h, "the step failed");
	assert_int_equal(qi_run_abort(h), -1);
	assert_string_equal(qi_errmsg(h), "the step failed");
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
	h = handle();
	assert_int_equal(qi_status(h), 0);
	json_t *run = json_array_get(json_object_get(qi_result(h), "runs"), 0);
	assert_string_equal(json_string_value(json_object_get(run, "state")), "rolled-back");
	qi_free(h);
}

/* Rolling back run N first rolls back every later run. */
static void test_rollback_n_and_later(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "one"), 0);
	int64_t first = qi_run_id(h);
	assert_int_equal(qi_write_file(h, "/etc/motd", "one\n", 4, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	qi_free(h);
	h = handle();
	assert_int_equal(qi_run_begin(h, "two"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "two\n", 4, 0600, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/two", "2\n", 2, 0600, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	qi_free(h);
	h = handle();
	assert_int_equal(qi_rollback(h, first), 0);
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "rolled_back")), 2);
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(before);
	free(after);
	h = handle();
	assert_int_equal(qi_rollback(h, 0), 0);	/* nothing left: not an error */
	assert_false(qi_changed(h));
	assert_int_equal(qi_rollback(h, 9999), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	qi_free(h);
}

static int undo_calls;
static char undo_seen[64];
static int test_undo(qi_handle *h, const char *data)
{
	undo_calls++;
	snprintf(undo_seen, sizeof(undo_seen), "%s", data);
	return 0;
}

/* External operations carry their own undo, called on rollback with the
 * data recorded. */
static void test_external(void **state)
{
	assert_int_equal(qi_register_undo("test-service", test_undo), 0);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "ext"), 0);
	int64_t id;
	assert_int_equal(qi_external_begin(h, "test-service", "stop postfix", "start postfix", &id), 0);
	assert_true(id > 0);
	assert_int_equal(qi_external_done(h, id), 0);
	assert_int_equal(qi_external_begin(h, "no-such-kind", "x", "y", &id), -1);
	assert_int_equal(qi_run_commit(h), 0);
	undo_calls = 0;
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_int_equal(undo_calls, 1);
	assert_string_equal(undo_seen, "start postfix");
	qi_free(h);

	/* killed between begin and done: the undo still runs (it may have
	 * happened), so handlers must be idempotent */
	h = handle();
	assert_int_equal(qi_run_begin(h, "ext2"), 0);
	assert_int_equal(qi_external_begin(h, "test-service", "stop exim", "start exim", &id), 0);
	qi_free(h);
	h = handle();
	undo_calls = 0;
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_int_equal(undo_calls, 1);
	assert_string_equal(undo_seen, "start exim");
	qi_free(h);
}

/* verify lists drift (content, mode, missing) with QI_ERR_DRIFT, and a
 * before-image deleted from the store: rollback then refuses and changes
 * nothing. */
static void test_verify_and_damaged_store(void **state)
{
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "v"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "verified\n", 9, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/v2", "two\n", 4, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_verify_root(h), 0);
	qi_free(h);

	ut_write(root, "/etc/motd", "edited by hand\n", 0644);
	char *p = ut_path(root, "/etc/v2");
	unlink(p);
	free(p);
	h = handle();
	assert_int_equal(qi_verify_root(h), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_DRIFT);
	json_t *drift = json_object_get(qi_result(h), "drift");
	assert_int_equal(json_array_size(drift), 2);
	qi_free(h);

	/* delete the before-image of /etc/motd ("hello\n") */
	char hash[65];
	qi_sha256_buf("hello\n", 6, hash);
	p = qi_xasprintf("%s/var/lib/qinstall/store/%s", root, hash);
	assert_int_equal(unlink(p), 0);
	free(p);
	char *before = ut_tree(root, JOURNAL_DIR);
	h = handle();
	assert_int_equal(qi_rollback(h, 0), -1);
	assert_non_null(strstr(qi_errmsg(h), "missing"));
	assert_non_null(strstr(qi_errmsg(h), "/etc/motd"));
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);	/* nothing was changed */
	h = handle();
	assert_int_equal(qi_verify_root(h), -1);
	drift = json_object_get(qi_result(h), "drift");
	bool named = false;
	for (size_t i = 0; i < json_array_size(drift); i++)
		if (strstr(json_string_value(json_object_get(json_array_get(drift, i), "problem")), "before-image"))
			named = true;
	assert_true(named);
	qi_free(h);
	/* put the content back by hand: rollback completes */
	ut_write(root, "/etc/motd", "hello\n", 0644);
	h = handle();
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	assert_string_equal(ut_slurp(root, "/etc/motd"), "hello\n");
	assert_false(ut_exists(root, "/etc/v2"));
	free(before);
	free(after);
}

/* status lists runs newest first with command, state and change count. */
static void test_status(void **state)
{
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "status-a"), 0);
	assert_int_equal(qi_write_file(h, "/etc/sa", "a", 1, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/sb", "b", 1, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_status(h), 0);
	json_t *runs = json_object_get(qi_result(h), "runs");
	json_t *r0 = json_array_get(runs, 0), *r1 = json_array_get(runs, 1);
	assert_string_equal(json_string_value(json_object_get(r0, "command")), "status-a");
	assert_string_equal(json_string_value(json_object_get(r0, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(r0, "changes")), 2);
	assert_true(json_integer_value(json_object_get(r0, "id")) > json_integer_value(json_object_get(r1, "id")));
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
}

/* Bad input: relative paths, "..", bad modes, changes outside a run. */
static void test_bad_input(void **state)
{
	qi_handle *h = handle();
	assert_int_equal(qi_write_file(h, "/etc/x", "x", 1, 0644, 0, 0), -1);
	assert_non_null(strstr(qi_errmsg(h), "qi_run_begin"));
	assert_int_equal(qi_run_begin(h, "bad"), 0);
	assert_int_equal(qi_write_file(h, "etc/x", "x", 1, 0644, 0, 0), -1);
	assert_int_equal(qi_write_file(h, "/etc/../x", "x", 1, 0644, 0, 0), -1);
	assert_int_equal(qi_write_file(h, "/etc/x", "x", 1, 010644, 0, 0), -1);
	assert_int_equal(qi_write_file(h, "/etc", "x", 1, 0644, 0, 0), -1);
	assert_non_null(strstr(qi_errmsg(h), "directory"));
	assert_int_equal(qi_chmod(h, "/etc/link", 0600), -1);
	assert_int_equal(qi_chmod(h, "/etc/none", 0600), -1);
	assert_int_equal(qi_remove(h, "/etc"), -1);
	assert_non_null(strstr(qi_errmsg(h), "not empty"));
	assert_int_equal(qi_rename(h, "/etc/none", "/etc/x"), -1);
	assert_int_equal(qi_run_commit(h), 0);
	assert_false(qi_changed(h));
	qi_free(h);
}

/* A directory renamed with what is in it, then files written inside its
 * new name, roll back to the old name with the content intact; content
 * streamed from a host file lands byte for byte. */
static void test_rename_directory_and_write_from(void **state)
{
	char *before = ut_tree(root, JOURNAL_DIR);
	char *p = ut_path(root, "/srv/tree");
	mkdir(p, 0750);
	free(p);
	ut_write(root, "/srv/tree/inside", "inside\n", 0600);
	free(before);
	before = ut_tree(root, JOURNAL_DIR);
	char src[] = "/tmp/qi-journal-src.XXXXXX";
	int fd = mkstemp(src);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "streamed\n", 9), 9);
	close(fd);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "rename dir"), 0);
	assert_int_equal(qi_rename(h, "/srv/tree", "/srv/moved"), 0);
	assert_int_equal(qi_write_file_from(h, "/srv/moved/new", src, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file_from(h, "/srv/moved/inside", src, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file_from(h, "/srv/moved/x", "/nonexistent/src", 0644, 0, 0), -1);
	assert_non_null(strstr(qi_errmsg(h), "/nonexistent/src"));
	assert_int_equal(qi_run_commit(h), 0);
	assert_string_equal(ut_slurp(root, "/srv/moved/new"), "streamed\n");
	assert_false(ut_exists(root, "/srv/tree"));
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	unlink(src);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	assert_string_equal(ut_slurp(root, "/srv/tree/inside"), "inside\n");
	free(before);
	free(after);
	p = ut_path(root, "/srv/tree");
	assert_int_equal(ut_rmtree(p), 0);
	free(p);
}

/* A symlink to a directory (/var/run -> /run) is kept by mkdir and
 * walked through by mkdir -p, as dpkg does; a link to a file is not. */
static void test_mkdir_keeps_link_to_dir(void **state)
{
	char *p = ut_path(root, "/run");
	mkdir(p, 0755);
	free(p);
	p = ut_path(root, "/var/run");
	symlink("/run", p);
	free(p);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "links"), 0);
	assert_int_equal(qi_mkdir(h, "/var/run", 0700, 0, 0), 0);
	assert_int_equal(qi_mkdir_p(h, "/var/run/qmail/sub", 0750, 0, 0), 0);
	assert_int_equal(qi_mkdir_p(h, "/etc/link/x", 0750, 0, 0), -1);	/* link -> motd, a file */
	assert_int_equal(qi_run_commit(h), 0);
	struct stat st;
	p = ut_path(root, "/var/run");
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	assert_true(S_ISLNK(st.st_mode));
	assert_true(ut_exists(root, "/run/qmail/sub"));
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_false(ut_exists(root, "/run/qmail"));
	qi_free(h);
	p = ut_path(root, "/run");
	assert_int_equal(ut_rmtree(p), 0);
	free(p);
	p = ut_path(root, "/var/run");
	assert_int_equal(ut_rmtree(p), 0);
	free(p);
}

/* --diff records before and after: text content, modes and owners. */
static void test_diff(void **state)
{
	qi_handle *h = handle();
	qi_set_check(h, true);
	qi_set_diff_wanted(h, true);
	assert_int_equal(qi_run_begin(h, "diff"), 0);
	assert_int_equal(qi_write_file(h, "/etc/motd", "changed\n", 8, 0600, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/bin", "a\0b", 3, 0644, 0, 0), 0);
	assert_int_equal(qi_mkdir_p(h, "/new/deep/dir", 0700, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	json_t *d = qi_diff_json(h);
	const char *b = json_string_value(json_object_get(d, "before"));
	const char *a = json_string_value(json_object_get(d, "after"));
	assert_non_null(strstr(b, "hello\n"));
	assert_non_null(strstr(b, "mode 0644"));
	/* a file others may not read (shadow, keys) is described, not shown */
	assert_null(strstr(a, "changed\n"));
	assert_non_null(strstr(a, "mode 0600"));
	assert_non_null(strstr(a, "not readable by others: content not shown"));
	assert_non_null(strstr(a, "binary"));
	assert_non_null(strstr(a, "--- /new/deep/dir"));
	json_decref(d);
	/* mkdir -p planned three directories */
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "changes")), 5);
	qi_free(h);
	assert_false(ut_exists(root, "/new"));
}

/* A guard over three paths that records how it is called. */
static const char *const guarded[] = { "/etc/guard-a", "/etc/guard-b", "/etc/guard-c", NULL };
static int guard_begins, guard_ends;
static bool guard_refuses;
static char guard_seen[256];		/* the paths of the last begin, space-separated */
static char guard_a_at_begin[32];	/* what /etc/guard-a held when begun */
static char guard_a_at_end[32];
static int guard_token;

static int test_guard_begin(qi_handle *h, const char *const *paths, size_t n, void **state)
{
	guard_begins++;
	guard_seen[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(guard_seen + strlen(guard_seen), sizeof(guard_seen) - strlen(guard_seen),
			 "%s%s", i ? " " : "", paths[i]);
	const char *a = ut_slurp(root, "/etc/guard-a");
	snprintf(guard_a_at_begin, sizeof(guard_a_at_begin), "%s", a ? a : "(absent)");
	if (guard_refuses)
		return qi_error_kind(h, QI_ERR_LOCKED, "guarded files are locked by process 4242");
	*state = &guard_token;
	return 0;
}

static void test_guard_end(qi_handle *h, void *state)
{
	assert_ptr_equal(state, &guard_token);	/* begin's state comes back */
	guard_ends++;
	const char *a = ut_slurp(root, "/etc/guard-a");
	snprintf(guard_a_at_end, sizeof(guard_a_at_end), "%s", a ? a : "(absent)");
}

static const char *last_run_state(void)
{
	static char buf[32];
	qi_handle *h = handle();
	assert_int_equal(qi_status(h), 0);
	json_t *runs = json_object_get(qi_result(h), "runs");
	snprintf(buf, sizeof(buf), "%s",
		 json_string_value(json_object_get(json_array_get(runs, 0), "state")));
	qi_free(h);
	return buf;
}

/* A registered guard is begun once before the first undo of a rollback
 * (over several runs), with exactly the guarded paths the undos touch, in
 * its own order, and ended once after the last; a rollback touching none
 * of its paths does not call it. */
static void test_guard_around_rollback(void **state)
{
	assert_int_equal(qi_register_guard("test-guard", guarded, test_guard_begin, test_guard_end), 0);
	guard_refuses = false;
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "g1"), 0);
	assert_int_equal(qi_write_file(h, "/etc/guard-c", "c\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/unguarded", "u\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_run_begin(h, "g2"), 0);
	assert_int_equal(qi_write_file(h, "/etc/guard-a", "new\n", 4, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/guard-a", "newer\n", 6, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	int64_t first = qi_run_id(h) - 1;
	qi_free(h);

	guard_begins = guard_ends = 0;
	h = handle();
	assert_int_equal(qi_rollback(h, first), 0);
	assert_int_equal(guard_begins, 1);
	assert_int_equal(guard_ends, 1);
	assert_string_equal(guard_seen, "/etc/guard-a /etc/guard-c");
	assert_string_equal(guard_a_at_begin, "newer\n");	/* nothing undone yet */
	assert_string_equal(guard_a_at_end, "(absent)");	/* everything undone */
	assert_false(ut_exists(root, "/etc/guard-c"));
	assert_false(ut_exists(root, "/etc/unguarded"));
	qi_free(h);

	/* a run that touches none of the paths: the guard is not called */
	h = handle();
	assert_int_equal(qi_run_begin(h, "g3"), 0);
	assert_int_equal(qi_write_file(h, "/etc/unguarded", "u\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	guard_begins = guard_ends = 0;
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_int_equal(guard_begins, 0);
	assert_int_equal(guard_ends, 0);
	qi_free(h);
}

/* A guard that refuses stops the rollback before any undo: its error (and
 * kind) is the rollback's, nothing is changed, the run stays done, and a
 * later rollback completes it. A run's abort is guarded the same way. */
static void test_guard_refuses(void **state)
{
	assert_int_equal(qi_register_guard("test-guard", guarded, test_guard_begin, test_guard_end), 0);
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "g4"), 0);
	assert_int_equal(qi_write_file(h, "/etc/guard-b", "b\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/unguarded2", "u2\n", 3, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	qi_free(h);

	guard_refuses = true;
	guard_begins = guard_ends = 0;
	h = handle();
	assert_int_equal(qi_rollback(h, 0), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_LOCKED);
	assert_non_null(strstr(qi_errmsg(h), "process 4242"));
	assert_non_null(strstr(qi_errmsg(h), "nothing was undone"));
	assert_int_equal(guard_begins, 1);
	assert_int_equal(guard_ends, 0);	/* a refused begin is not ended */
	assert_false(qi_changed(h));
	qi_free(h);
	assert_string_equal(ut_slurp(root, "/etc/guard-b"), "b\n");
	assert_string_equal(ut_slurp(root, "/etc/unguarded2"), "u2\n");
	assert_string_equal(last_run_state(), "done");

	guard_refuses = false;
	h = handle();
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_false(ut_exists(root, "/etc/guard-b"));
	assert_false(ut_exists(root, "/etc/unguarded2"));
	assert_string_equal(last_run_state(), "rolled-back");
	qi_free(h);

	/* abort: the undo of the failed run is guarded too */
	guard_begins = guard_ends = 0;
	h = handle();
	assert_int_equal(qi_run_begin(h, "g5"), 0);
	assert_int_equal(qi_write_file(h, "/etc/guard-b", "b\n", 2, 0644, 0, 0), 0);
	qi_error(h, "something failed");
	assert_int_equal(qi_run_abort(h), -1);
	assert_int_equal(guard_begins, 1);
	assert_int_equal(guard_ends, 1);
	assert_string_equal(guard_seen, "/etc/guard-b");
	assert_false(ut_exists(root, "/etc/guard-b"));
	qi_free(h);
}

/* An observer guard over /etc/passwd, registered after the library's
 * own: whether ROOT/etc/passwd.lock (the shadow-utils lock the passwd
 * files' guard takes) is held when it is begun and when it is ended. */
static const char *const passwd_only[] = { "/etc/passwd", NULL };
static bool lock_at_begin, lock_at_end;

static int observe_begin(qi_handle *h, const char *const *paths, size_t n, void **state)
{
	lock_at_begin = ut_exists(root, "/etc/passwd.lock");
	return 0;
}

static void observe_end(qi_handle *h, void *state)
{
	lock_at_end = ut_exists(root, "/etc/passwd.lock");
}

/* The library's own guards and undo handlers come with every handle, also
 * in a program that calls nothing of the modules that own them (this one
 * calls no accounts or services function): the passwd files' guard is
 * registered over /etc/passwd, and a rollback that touches /etc/passwd
 * begins it (its lock held around the undo, gone after); systemd's undo
 * handlers are registered too. */
static void test_builtin_guard_and_undo(void **state)
{
	qi_handle *h = handle();
	const char *const *paths = NULL;
	assert_true(qi_journal_find_guard("passwd-files", &paths));
	bool has_passwd = false;
	for (size_t i = 0; paths[i]; i++)
		has_passwd |= strcmp(paths[i], "/etc/passwd") == 0;
	assert_true(has_passwd);
	assert_non_null(qi_journal_find_undo("systemd-start"));
	assert_non_null(qi_journal_find_undo("systemd-units"));

	char *orig = qi_xstrdup(ut_slurp(root, "/etc/passwd"));
	assert_int_equal(qi_register_guard("test-observer", passwd_only, observe_begin, observe_end), 0);
	assert_int_equal(qi_run_begin(h, "passwd"), 0);
	assert_int_equal(qi_write_file(h, "/etc/passwd", "root:x:0:0::/root:/bin/bash\n", 28, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	lock_at_begin = lock_at_end = false;
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_true(lock_at_begin);
	assert_true(lock_at_end);
	assert_false(ut_exists(root, "/etc/passwd.lock"));
	assert_string_equal(ut_slurp(root, "/etc/passwd"), orig);
	free(orig);
	qi_free(h);
}

/* ------------------------------------------------------------------ */
/* The check of the before-images before a rollback                     */
/* ------------------------------------------------------------------ */

/* The store entry of the content TEXT (host path, malloc'd). */
static char *store_entry(const char *text)
{
	char hash[65];
	qi_sha256_buf(text, strlen(text), hash);
	return qi_xasprintf("%s/var/lib/qinstall/store/%s", root, hash);
}

static void write_host(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* One run writing each PATHS[i] (0644, root) with TEXTS[i]; its id. */
static int64_t write_run(const char *cmd, size_t n, const char *const *paths, const char *const *texts)
{
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, cmd), 0);
	int64_t run = qi_run_id(h);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(qi_write_file(h, paths[i], texts[i], strlen(texts[i]), 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	qi_free(h);
	return run;
}

/* What qi_journal_check_undo says about rolling back FROM (and later). */
static size_t damage_of(int64_t from, struct qi_undo_damage **d)
{
	qi_handle *h = handle();
	size_t n = 99;
	assert_int_equal(qi_journal_check_undo(h, from, false, d, &n), 0);
	qi_free(h);
	return n;
}

/* The run's one REG before-image ("hello\n" of /etc/motd): sound, then
 * flipped, truncated, another content, removed, a symlink (to the right
 * content), a FIFO (never blocks): each is reported with its path, hash,
 * run and change, and what is wrong; put back at the path by hand, it is
 * not needed. A new file (absent before) needs nothing. */
static void test_check_undo_each_damage(void **state)
{
	int64_t run = write_run("check undo", 2, (const char *[]){ "/etc/motd", "/etc/brand-new" },
				(const char *[]){ "changed\n", "new\n" });
	qi_handle *h;
	char hash[65];
	qi_sha256_buf("hello\n", 6, hash);
	char *entry = store_entry("hello\n");
	char *copy = qi_xasprintf("%s.copy", root);
	write_host(copy, "hello\n");
	struct qi_undo_damage *d;
	assert_int_equal(damage_of(run, &d), 0);
	qi_undo_damage_free(d, 0);

	static const struct { const char *how; int state; } ways[] = {
		{ "flip", QI_STORE_DAMAGED }, { "truncate", QI_STORE_DAMAGED },
		{ "other", QI_STORE_DAMAGED }, { "remove", QI_STORE_MISSING },
		{ "symlink", QI_STORE_NOT_FILE }, { "fifo", QI_STORE_NOT_FILE },
	};
	for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		unlink(entry);
		if (strcmp(ways[w].how, "flip") == 0)
			write_host(entry, "iello\n");
		else if (strcmp(ways[w].how, "truncate") == 0)
			write_host(entry, "hel");
		else if (strcmp(ways[w].how, "other") == 0)
			write_host(entry, "root:x:0:0::/root:/bin/sh\n");
		else if (strcmp(ways[w].how, "symlink") == 0)
			assert_int_equal(symlink(copy, entry), 0);
		else if (strcmp(ways[w].how, "fifo") == 0)
			assert_int_equal(mkfifo(entry, 0600), 0);
		assert_int_equal(damage_of(run, &d), 1);
		assert_string_equal(d[0].path, "/etc/motd");
		assert_string_equal(d[0].hash, hash);
		assert_int_equal(d[0].run, run);
		assert_true(d[0].change > 0);
		assert_int_equal(d[0].state, ways[w].state);
		assert_int_equal(d[0].found[0] != '\0', ways[w].state == QI_STORE_DAMAGED);
		qi_undo_damage_free(d, 1);
	}
	/* the content back at the path by hand: nothing needed from the store */
	ut_write(root, "/etc/motd", "hello\n", 0644);
	assert_int_equal(damage_of(run, &d), 0);
	qi_undo_damage_free(d, 0);
	h = handle();
	assert_int_equal(qi_rollback(h, run), 0);
	qi_free(h);
	assert_string_equal(ut_slurp(root, "/etc/motd"), "hello\n");
	assert_false(ut_exists(root, "/etc/brand-new"));
	unlink(entry);	/* a later run saves a sound copy again */
	unlink(copy);
	free(copy);
	free(entry);
}

/* The check follows the undo newest first: /etc/motd holds its oldest
 * content again by hand, but undoing the later run first gives it back
 * the middle one, so the older run's undo needs the (damaged) oldest
 * from the store. The rollback then refuses with nothing changed and
 * every run as it was; leaving /etc/motd by name undoes the rest, leaves
 * both of its changes (recorded as left, and listed), and the runs are
 * complete. */
static void test_check_undo_follows_the_undo(void **state)
{
	int64_t a = write_run("a", 2, (const char *[]){ "/etc/motd", "/etc/other" },
			      (const char *[]){ "a\n", "o\n" });
	int64_t b = write_run("b", 1, (const char *[]){ "/etc/motd" }, (const char *[]){ "b\n" });
	qi_handle *h;
	char *entry = store_entry("hello\n");
	write_host(entry, "damaged\n");
	ut_write(root, "/etc/motd", "hello\n", 0644);

	struct qi_undo_damage *d;
	assert_int_equal(damage_of(b, &d), 0);	/* b alone needs "a\n": sound */
	qi_undo_damage_free(d, 0);
	assert_int_equal(damage_of(a, &d), 1);
	assert_string_equal(d[0].path, "/etc/motd");
	assert_int_equal(d[0].run, a);
	assert_int_equal(d[0].state, QI_STORE_DAMAGED);
	qi_undo_damage_free(d, 1);

	char *before = ut_tree(root, JOURNAL_DIR);
	h = handle();
	assert_int_equal(qi_rollback(h, a), -1);
	assert_non_null(strstr(qi_errmsg(h), "/etc/motd"));
	assert_non_null(strstr(qi_errmsg(h), "--skip-damaged /etc/motd"));
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "damaged")), 1);
	qi_free(h);
	char *after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(after);
	h = handle();
	assert_int_equal(qi_status(h), 0);
	json_t *runs = json_object_get(qi_result(h), "runs");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "state")), "done");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "state")), "done");
	qi_free(h);

	/* a path named that has nothing damaged: refused, nothing changed */
	const char *wrong[] = { "/etc/motd", "/etc/other" };
	h = handle();
	assert_int_equal(qi_rollback_leaving(h, a, wrong, 2), -1);
	assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(h), "/etc/other"));
	qi_free(h);
	after = ut_tree(root, JOURNAL_DIR);
	assert_string_equal(after, before);
	free(after);

	const char *leave[] = { "/etc/motd" };
	h = handle();
	assert_int_equal(qi_rollback_leaving(h, a, leave, 1), 0);
	json_t *left = json_object_get(qi_result(h), "left");
	assert_int_equal(json_array_size(left), 2);
	assert_int_equal(json_array_size(json_object_get(qi_result(h), "changes")), 1);
	assert_int_equal(json_array_size(qi_warnings(h)), 1);
	qi_free(h);
	assert_string_equal(ut_slurp(root, "/etc/motd"), "hello\n");	/* as it was */
	assert_false(ut_exists(root, "/etc/other"));
	h = handle();
	assert_int_equal(qi_run_begin(h, "after"), 0);	/* nothing unfinished */
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_verify_root(h), 0);
	qi_free(h);
	char *aside = qi_xasprintf("%s/var/lib/qinstall/store/.damaged.%s", root, strrchr(entry, '/') + 1);
	assert_string_equal(ut_slurp(root, aside + strlen(root)), "damaged\n");
	unlink(aside);
	free(aside);
	free(entry);
	free(before);
}

/* Undoing a rename moves the object back: its content at FROM needs
 * nothing from the store, so a damaged copy there does not stop it. */
static void test_check_undo_rename(void **state)
{
	qi_handle *h = handle();
	assert_int_equal(qi_run_begin(h, "rename"), 0);
	assert_int_equal(qi_rename(h, "/etc/secret", "/etc/moved"), 0);
	assert_int_equal(qi_run_commit(h), 0);
	qi_free(h);
	char *entry = store_entry("s3cret\n");
	write_host(entry, "damaged\n");
	struct qi_undo_damage *d;
	assert_int_equal(damage_of(1, &d), 0);
	qi_undo_damage_free(d, 0);
	h = handle();
	assert_int_equal(qi_rollback(h, 0), 0);
	qi_free(h);
	assert_string_equal(ut_slurp(root, "/etc/secret"), "s3cret\n");
	assert_false(ut_exists(root, "/etc/moved"));
	unlink(entry);
	free(entry);
}

/* A restore from the store checks the copy it made before it replaces
 * anything: content that is not the image's leaves the path as it was
 * and no temporary behind. */
static void test_restore_checks_the_copy(void **state)
{
	qi_handle *h = handle();
	int dfd = qi_root_open(h, "/etc", O_RDONLY | O_DIRECTORY, 0);
	assert_true(dfd >= 0);
	char *src = qi_xasprintf("%s.src", root);
	write_host(src, "not what the image says\n");
	int fd = open(src, O_RDONLY);
	assert_true(fd >= 0);
	struct qi_image want = { .type = QI_FT_REG, .mode = 0644, .size = 6 }, live;
	qi_sha256_buf("hello\n", 6, want.hash);
	ut_write(root, "/etc/target", "current\n", 0644);
	assert_int_equal(qi_image_at(dfd, "target", true, &live), 0);
	struct qi_spot at = { .dfd = dfd, .name = "target", .path = "/etc/target", .id = 4242 };
	assert_int_equal(qi_journal_make_image(h, &at, &want, &live,
					       &(struct qi_content){ .fd = fd, .verify = true }), -1);
	assert_non_null(strstr(qi_errmsg(h), "/etc/target"));
	assert_string_equal(ut_slurp(root, "/etc/target"), "current\n");
	assert_false(ut_exists(root, "/etc/.qinstall-tmp.4242"));
	close(fd);
	close(dfd);
	qi_image_clear(&live);
	unlink(src);
	free(src);
	char *p = ut_path(root, "/etc/target");
	unlink(p);
	free(p);
	qi_free(h);
}

/* qi_journal_last_image: the after-image of the newest done change of a
 * path whose run is not rolled back; nothing before any journal exists,
 * nothing for a path never written, an absent image after a remove or a
 * rename away, and the earlier image again once the later run is rolled
 * back; a running run's own changes are intents, not done, until it
 * commits. It opens the journal only for the query: a run begins on the
 * same handle afterwards. */
static void test_last_image(void **state)
{
	char *r = ut_tmpdir("journal-last");
	chmod(r, 0755);
	ut_mkdir(r, "/etc", 0755);
	ut_mkdir(r, "/var", 0755);
	ut_mkdir(r, "/var/lib", 0755);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_set_root(h, r), 0);
	struct qi_image img, live;
	bool found = true;
	assert_int_equal(qi_journal_last_image(h, "/etc/me", &img, &found), 0);
	assert_false(found);

	/* queried before the run, on the same handle */
	assert_int_equal(qi_run_begin(h, "one"), 0);
	assert_int_equal(qi_write_file(h, "/etc/me", "one\n", 4, 0640, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/gone", "x\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_write_file(h, "/etc/moved", "m\n", 2, 0644, 0, 0), 0);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_journal_last_image(h, "/etc/me", &img, &found), 0);
	assert_true(found);
	assert_int_equal(qi_image_path(h, "/etc/me", true, &live), 0);
	assert_int_equal(img.type, QI_FT_REG);
	assert_int_equal(img.mode, 0640);
	assert_string_equal(img.hash, live.hash);
	qi_image_clear(&live);
	char first[65];
	snprintf(first, sizeof(first), "%s", img.hash);
	qi_image_clear(&img);
	assert_int_equal(qi_journal_last_image(h, "/etc/never", &img, &found), 0);
	assert_false(found);
	qi_free(h);

	h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_set_root(h, r), 0);
	assert_int_equal(qi_run_begin(h, "two"), 0);
	assert_int_equal(qi_write_file(h, "/etc/me", "two\n", 4, 0644, 0, 0), 0);
	assert_int_equal(qi_remove(h, "/etc/gone"), 0);
	assert_int_equal(qi_rename(h, "/etc/moved", "/etc/there"), 0);
	/* inside the run its changes are intents, not done yet: still run one's */
	assert_int_equal(qi_journal_last_image(h, "//etc/./me", &img, &found), 0);
	assert_true(found);
	assert_string_equal(img.hash, first);
	qi_image_clear(&img);
	assert_int_equal(qi_run_commit(h), 0);
	assert_int_equal(qi_journal_last_image(h, "/etc/me", &img, &found), 0);
	assert_string_not_equal(img.hash, first);
	assert_int_equal(img.mode, 0644);
	qi_image_clear(&img);
	assert_int_equal(qi_journal_last_image(h, "/etc/gone", &img, &found), 0);
	assert_true(found);
	assert_int_equal(img.type, QI_FT_ABSENT);
	assert_int_equal(qi_journal_last_image(h, "/etc/moved", &img, &found), 0);
	assert_true(found);
	assert_int_equal(img.type, QI_FT_ABSENT);
	assert_int_equal(qi_journal_last_image(h, "/etc/there", &img, &found), 0);
	assert_true(found);
	assert_int_equal(img.type, QI_FT_REG);
	qi_image_clear(&img);
	qi_free(h);

	h = qi_new();
	qi_set_verbosity(h, -1);
	assert_int_equal(qi_set_root(h, r), 0);
	assert_int_equal(qi_rollback(h, 0), 0);
	assert_int_equal(qi_journal_last_image(h, "/etc/me", &img, &found), 0);
	assert_true(found);
	assert_string_equal(img.hash, first);
	qi_image_clear(&img);
	assert_int_equal(qi_journal_last_image(h, "/etc/there", &img, &found), 0);
	assert_false(found);
	assert_int_equal(qi_journal_last_image(h, "relative", &img, &found), -1);
	qi_free(h);
	ut_tmpdir_remove(r);
}

int main(void)
{
	if (geteuid() != 0) {
		/* the journal sets owners: only root may */
		printf("1..0 # SKIP the journal's tests change owners and need root\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_rolls_back),
		cmocka_unit_test(test_noop_not_recorded),
		cmocka_unit_test(test_symlink_never_escapes),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_unfinished_blocks),
		cmocka_unit_test(test_check_writes_nothing),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_rollback_n_and_later),
		cmocka_unit_test(test_external),
		cmocka_unit_test(test_verify_and_damaged_store),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_rename_directory_and_write_from),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_mkdir_keeps_link_to_dir),
		cmocka_unit_test(test_guard_around_rollback),
		cmocka_unit_test(test_guard_refuses),
		cmocka_unit_test(test_builtin_guard_and_undo),
		cmocka_unit_test(test_check_undo_each_damage),
		cmocka_unit_test(test_check_undo_follows_the_undo),
		cmocka_unit_test(test_check_undo_rename),
		cmocka_unit_test(test_restore_checks_the_copy),
		cmocka_unit_test(test_last_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
