/* Unit tests for accounts.c (qmail's accounts policy) and pwlock.c (the
 * shadow-utils lock), on throwaway roots made here. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"
#include "unit.h"

struct fixture {
	char *root;
	qi_handle *h;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fx->root = ut_tmpdir("accounts");
	const char *dirs[] = { "etc", "usr", "usr/sbin", "var", "cache" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		ut_mkdir(fx->root, dirs[i], 0755);
	ut_write(fx->root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
	ut_write(fx->root, "etc/group", "root:x:0:\n", 0644);
	ut_write(fx->root, "etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
	ut_write(fx->root, "usr/sbin/nologin", "#!/bin/sh\nexit 1\n", 0755);
	fx->h = qi_new();
	qi_set_verbosity(fx->h, -1);
	assert_int_equal(qi_set_root(fx->h, fx->root), 0);
	char *cache = ut_path(fx->root, "cache");
	assert_int_equal(qi_set_cache_dir(fx->h, cache), 0);
	free(cache);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	qi_free(fx->h);
	ut_tmpdir_remove(fx->root);
	free(fx);
	return 0;
}

/* The defaults are the seed guide's ids, pinned, with /var/qmail. */
static void test_default_spec(void **state)
{
	struct qi_accounts_spec s;
	qi_accounts_default(&s);
	assert_int_equal(s.ids.id[QI_ACCT_NOFILES], 600);
	assert_int_equal(s.ids.id[QI_ACCT_QMAIL], 601);
	assert_int_equal(s.ids.id[QI_ACCT_ALIAS], 600);
	assert_int_equal(s.ids.id[QI_ACCT_QMAILD], 601);
	assert_int_equal(s.ids.id[QI_ACCT_QMAILS], 606);
	assert_false(s.ids_auto);
	assert_string_equal(s.qmail_home, "/var/qmail");
	assert_null(s.shell);
	assert_true(s.auto_min <= 600 && s.auto_max >= 606);
}

/* Ids are set and read by account name; unknown names, 0 and 65534 are
 * usage errors. */
static void test_set_id(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	qi_accounts_default(&s);
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "qmailr", 7795), 0);
	assert_int_equal(s.ids.id[QI_ACCT_QMAILR], 7795);
	assert_int_equal(s.ids.id[qi_account_find("qmailr")], 7795);
	assert_int_equal(s.ids.id[qi_account_find("nofiles")], 600);
	assert_int_equal(qi_account_find("root"), -1);
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "root", 5), -1);
	assert_int_equal(qi_errkind(fx->h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(fx->h), "'root' is not one of qmail's accounts (nofiles, "
			       "qmail, alias, qmaild, qmaill, qmailp, qmailq, qmailr, qmails)"));
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "alias", 0), -1);
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "alias", 65534), -1);
	assert_int_equal(QI_ACCT_COUNT, 9);
}

/* One table: groups first, each name found at its own index, every user
 * in one of the two groups, and only alias at home in the alias directory. */
static void test_account_table(void **state)
{
	for (int a = 0; a < QI_ACCT_COUNT; a++) {
		const struct qi_account_def *d = &qi_account_defs[a];
		assert_int_equal(qi_account_find(d->name), a);
		assert_int_equal(d->group, a < QI_ACCT_FIRST_USER);
		if (!d->group)
			assert_true(d->primary == QI_ACCT_NOFILES || d->primary == QI_ACCT_QMAIL);
		assert_int_equal(d->alias_home, a == QI_ACCT_ALIAS);
	}
	assert_int_equal(qi_account_defs[QI_ACCT_QMAILP].primary, QI_ACCT_NOFILES);
	assert_int_equal(qi_account_defs[QI_ACCT_QMAILQ].primary, QI_ACCT_QMAIL);
	assert_string_equal(qi_account_defs[QI_ACCT_QMAILS].name, "qmails");
}

/* The id bounds, at both ends: QI_ACCOUNT_ID_MIN..QI_ACCOUNT_ID_MAX
 * (1..65533) are taken, 0 (root), 65534 (nobody), 65535 ((uid_t)-1 in
 * 16 bits) and negative ids are usage errors; the same rule holds for
 * ids set in the spec directly and for --ids auto's range. */
static void test_id_bounds(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(QI_ACCOUNT_ID_MIN, 1);
	assert_int_equal(QI_ACCOUNT_ID_MAX, 65533);
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "qmaild", QI_ACCOUNT_ID_MIN), 0);
	assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "qmails", QI_ACCOUNT_ID_MAX), 0);
	assert_int_equal(s.ids.id[QI_ACCT_QMAILD], 1);
	assert_int_equal(s.ids.id[QI_ACCT_QMAILS], 65533);
	const long long bad[] = { 0, -1, 65534, 65535, 4294967295LL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(qi_accounts_set_id(fx->h, &s.ids, "qmail", bad[i]), -1);
		assert_int_equal(qi_errkind(fx->h), QI_ERR_USAGE);
		assert_non_null(strstr(qi_errmsg(fx->h), "give a number from 1 to 65533"));
	}
	assert_int_equal(s.ids.id[QI_ACCT_QMAIL], 601);	/* unchanged by the refusals */

	/* Pinned in the spec by hand: 65533 is created, 65534 refused. */
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), 0);
	assert_int_equal(ids.id[QI_ACCT_QMAILS], 65533);
	s.ids.id[QI_ACCT_QMAILS] = 65534;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	assert_int_equal(qi_errkind(fx->h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(fx->h), "65534 is not a usable id for qmails"));

	/* --ids auto: a range ending at 65533 fits seven uids exactly; one
	 * ending at 65534 is refused before anything is picked. */
	qi_accounts_default(&s);
	s.ids_auto = true;
	s.auto_min = 65527;
	s.auto_max = 65533;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), 0);
	assert_int_equal(ids.id[QI_ACCT_ALIAS], 65527);
	assert_int_equal(ids.id[QI_ACCT_QMAILS], 65533);
	assert_int_equal(ids.id[QI_ACCT_QMAIL], 65528);
	s.auto_max = 65534;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	assert_int_equal(qi_errkind(fx->h), QI_ERR_USAGE);
	assert_non_null(strstr(qi_errmsg(fx->h), "1 <= MIN <= MAX <= 65533"));
}

/* resolve reads only: on a fresh root it reports pending work and the
 * ids, and writes nothing (not even a lock or a journal). */
static void test_resolve_fresh(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	bool pending = false;
	qi_accounts_default(&s);
	char *before = ut_read(fx->root, "etc/passwd");
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, &pending), 0);
	assert_true(pending);
	assert_int_equal(ids.id[QI_ACCT_QMAILQ], 604);
	char *after = ut_read(fx->root, "etc/passwd");
	assert_string_equal(before, after);
	assert_false(ut_exists(fx->root, "etc/passwd.lock"));
	assert_false(ut_exists(fx->root, "var/lib/qinstall"));
	assert_false(ut_exists(fx->root, "var/qmail"));
	json_t *acc = json_object_get(qi_result(fx->h), "accounts");
	assert_int_equal(json_array_size(acc), 9);
	assert_string_equal(json_string_value(json_object_get(json_array_get(acc, 8), "action")), "create");
	free(before);
	free(after);
}

/* ensure inside a run writes the four kinds of lines, keeps the files'
 * modes, makes the homes, and afterwards resolve finds nothing to do. */
static void test_ensure_then_present(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(qi_run_begin(fx->h, "users"), 0);
	assert_int_equal(qi_accounts_ensure(fx->h, &s, &ids), 0);
	assert_int_equal(qi_run_commit(fx->h), 0);
	assert_true(qi_changed(fx->h));
	char *pw = ut_read(fx->root, "etc/passwd");
	assert_non_null(strstr(pw, "\nqmailp:x:603:600::/var/qmail:/usr/sbin/nologin\n"));
	char *sh = ut_read(fx->root, "etc/shadow");
	assert_non_null(strstr(sh, "\nqmailp:!:"));
	char *bk = ut_read(fx->root, "etc/shadow-");
	assert_string_equal(bk, "root:*:19000:0:99999:7:::\n");
	assert_false(ut_exists(fx->root, "etc/gshadow"));	/* none before, none made */
	struct stat st;
	char path[128];
	snprintf(path, sizeof(path), "%s/etc/shadow", fx->root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(path, sizeof(path), "%s/var/qmail/alias", fx->root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02755);
	assert_int_equal(st.st_uid, 600);
	assert_int_equal(st.st_gid, 601);
	assert_false(ut_exists(fx->root, "etc/passwd.lock"));

	bool pending = true;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, &pending), 0);
	assert_false(pending);
	free(pw);
	free(sh);
	free(bk);
}

/* In --check mode ensure plans, sets changed, and writes nothing. */
static void test_ensure_check(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	qi_set_check(fx->h, true);
	assert_int_equal(qi_accounts_ensure(fx->h, &s, &ids), 0);
	assert_true(qi_changed(fx->h));
	assert_int_equal(ids.id[QI_ACCT_ALIAS], 600);
	assert_false(ut_exists(fx->root, "etc/passwd-"));
	assert_false(ut_exists(fx->root, "var/qmail"));
	char *pw = ut_read(fx->root, "etc/passwd");
	assert_string_equal(pw, "root:x:0:0:root:/root:/bin/bash\n");
	free(pw);
}

/* Every conflict is listed, each with a kind and a suggestion. */
static void test_conflicts_listed(void **state)
{
	struct fixture *fx = *state;
	ut_write(fx->root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
	    "www:x:602:33::/var/www:/usr/sbin/nologin\n"
	    "qmailq:x:999:601::/var/qmail:/usr/sbin/nologin\n", 0644);
	ut_write(fx->root, "etc/group", "root:x:0:\nnofiles:x:700:\n", 0644);
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	json_t *c = json_object_get(qi_result(fx->h), "conflicts");
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "kind")), "group-id");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "kind")), "uid-taken");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "kind")), "user-id");
	size_t i;
	json_t *v;
	json_array_foreach(c, i, v)
		assert_true(strlen(json_string_value(json_object_get(v, "suggestion"))) > 5);
	assert_non_null(strstr(qi_errmsg(fx->h), "3 conflicts"));
	assert_non_null(strstr(qi_errmsg(fx->h), "--id nofiles=700"));
}

/* --ids auto: existing accounts keep their ids, missing ones take the
 * lowest free run in the range, skipping ids in use. */
static void test_auto_pick(void **state)
{
	struct fixture *fx = *state;
	ut_write(fx->root, "etc/group", "root:x:0:\nqmail:x:650:\na:x:600:\nb:x:602:\n", 0644);
	ut_write(fx->root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
	    "x:x:603:1::/:/bin/sh\n", 0644);
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	s.ids_auto = true;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), 0);
	assert_int_equal(ids.id[QI_ACCT_QMAIL], 650);
	assert_int_equal(ids.id[QI_ACCT_NOFILES], 601);
	assert_int_equal(ids.id[QI_ACCT_ALIAS], 604);
	assert_int_equal(ids.id[QI_ACCT_QMAILS], 610);
	s.auto_min = 600;
	s.auto_max = 608;
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	assert_non_null(strstr(qi_errmsg(fx->h), "no 7 free uids in 600-608"));
}

/* The shell: /usr/sbin/nologin when ROOT has it, else /bin/false; none
 * at all is an error that says what to do. */
static void test_shell_choice(void **state)
{
	struct fixture *fx = *state;
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(qi_result(fx->h), "shell")),
			    "/usr/sbin/nologin");
	char path[128];
	snprintf(path, sizeof(path), "%s/usr/sbin/nologin", fx->root);
	unlink(path);
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	assert_non_null(strstr(qi_errmsg(fx->h), "--shell"));
	snprintf(path, sizeof(path), "%s/bin", fx->root);
	mkdir(path, 0755);
	ut_write(fx->root, "bin/false", "", 0755);
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(qi_result(fx->h), "shell")), "/bin/false");
}

/* A root without /etc/passwd is refused: it is not a system image. */
static void test_no_passwd(void **state)
{
	struct fixture *fx = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/etc/passwd", fx->root);
	unlink(path);
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(qi_accounts_resolve(fx->h, &s, &ids, NULL), -1);
	assert_non_null(strstr(qi_errmsg(fx->h), "does not exist"));
}

/* The lock holds our pid followed by a NUL (shadow-utils' format), is
 * removed on release, and leaves no FILE.PID behind. */
static void test_lock_format(void **state)
{
	struct fixture *fx = *state;
	struct qi_pwlock lk;
	assert_int_equal(qi_pwlock_acquire(fx->h, &lk, "/etc/passwd", 100), 0);
	char path[128], buf[32] = { 0 }, want[32];
	snprintf(path, sizeof(path), "%s/etc/passwd.lock", fx->root);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	int wl = snprintf(want, sizeof(want), "%ld", (long)getpid());
	assert_int_equal(n, wl + 1);
	assert_memory_equal(buf, want, (size_t)wl + 1);
	snprintf(path, sizeof(path), "etc/passwd.%ld", (long)getpid());
	assert_false(ut_exists(fx->root, path));
	qi_pwlock_release(&lk);
	assert_false(ut_exists(fx->root, "etc/passwd.lock"));
	qi_pwlock_release(&lk);	/* twice is harmless */
}

/* A lock held by a live process (here: ourselves) is waited for, then
 * refused with QI_ERR_LOCKED naming the pid; the holder's lock stays. */
static void test_lock_live_holder(void **state)
{
	struct fixture *fx = *state;
	struct qi_pwlock a, b;
	assert_int_equal(qi_pwlock_acquire(fx->h, &a, "/etc/group", 100), 0);
	assert_int_equal(qi_pwlock_acquire(fx->h, &b, "/etc/group", 150), -1);
	assert_int_equal(qi_errkind(fx->h), QI_ERR_LOCKED);
	char pid[32];
	snprintf(pid, sizeof(pid), "process %ld", (long)getpid());
	assert_non_null(strstr(qi_errmsg(fx->h), pid));
	assert_true(ut_exists(fx->root, "etc/group.lock"));
	qi_pwlock_release(&a);
	assert_false(ut_exists(fx->root, "etc/group.lock"));
}

/* A lock left by a dead process is taken over. */
static void test_lock_stale(void **state)
{
	struct fixture *fx = *state;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	char text[32];
	snprintf(text, sizeof(text), "%ld", (long)child);
	ut_write(fx->root, "etc/shadow.lock", text, 0600);
	struct qi_pwlock lk;
	assert_int_equal(qi_pwlock_acquire(fx->h, &lk, "/etc/shadow", 100), 0);
	char *now = ut_read(fx->root, "etc/shadow.lock");
	char mine[32];
	snprintf(mine, sizeof(mine), "%ld", (long)getpid());
	assert_string_equal(now, mine);
	free(now);
	qi_pwlock_release(&lk);
	assert_false(ut_exists(fx->root, "etc/shadow.lock"));
}

/* The journal guard's lock set: a FILE- backup is guarded by FILE's own
 * lock, each file maps to its bit, and other paths to none. */
static void test_guard_mask(void **state)
{
	const char *const one[] = { "/etc/passwd-" };
	assert_int_equal(qi_accounts_guard_mask(one, 1), 1u << QI_PWF_PASSWD);
	const char *const all[] = { "/etc/gshadow", "/etc/group-", "/etc/shadow", "/etc/passwd" };
	assert_int_equal(qi_accounts_guard_mask(all, 4), (1u << QI_PWF_COUNT) - 1);
	const char *const none[] = { "/etc/passwdx", "/etc/passwd--", "/etc/motd", "/var/passwd" };
	assert_int_equal(qi_accounts_guard_mask(none, 4), 0);
}

/* users, then a rollback of its run through the journal: the files come
 * back byte for byte. Returns the passwd the run wrote (malloc'd). */
static char *users_run(struct fixture *fx)
{
	struct qi_accounts_spec s;
	struct qi_account_ids ids;
	qi_accounts_default(&s);
	assert_int_equal(qi_run_begin(fx->h, "users"), 0);
	assert_int_equal(qi_accounts_ensure(fx->h, &s, &ids), 0);
	assert_int_equal(qi_run_commit(fx->h), 0);
	return ut_read(fx->root, "etc/passwd");
}

/* The guard is registered in any program that has accounts.c: rollback
 * takes over a dead process's lock on passwd, gives the files back, and
 * leaves no lock behind. */
static void test_rollback_takes_stale_lock(void **state)
{
	struct fixture *fx = *state;
	char *orig = ut_read(fx->root, "etc/passwd");
	free(users_run(fx));
	pid_t child = fork();
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);	/* exec: no copy of our heap to leak */
		_exit(127);
	}
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	char text[32];
	snprintf(text, sizeof(text), "%ld", (long)child);
	ut_write(fx->root, "etc/passwd.lock", text, 0600);
	assert_int_equal(qi_rollback(fx->h, 0), 0);
	char *now = ut_read(fx->root, "etc/passwd");
	assert_string_equal(now, orig);
	assert_false(ut_exists(fx->root, "etc/passwd.lock"));
	assert_false(ut_exists(fx->root, "etc/shadow.lock"));
	assert_false(ut_exists(fx->root, "etc/group.lock"));
	free(now);
	free(orig);
}

/* A lock held by a live process that lets go during the wait: rollback
 * waits for it (nothing undone meanwhile), then completes. */
static void test_rollback_waits_for_holder(void **state)
{
	struct fixture *fx = *state;
	char *orig = ut_read(fx->root, "etc/group");
	char *written = users_run(fx);
	char lockpath[128];
	snprintf(lockpath, sizeof(lockpath), "%s/etc/group.lock", fx->root);
	pid_t child = fork();
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 0.4; rm -f \"$0\"", lockpath, (char *)NULL);
		_exit(127);
	}
	assert_true(child > 0);
	char text[32];
	snprintf(text, sizeof(text), "%ld", (long)child);
	ut_write(fx->root, "etc/group.lock", text, 0600);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(qi_rollback(fx->h, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(child, NULL, 0);
	long waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(waited_ms >= 300);	/* it did wait for the holder */
	char *now = ut_read(fx->root, "etc/group");
	assert_string_equal(now, orig);
	char *pw = ut_read(fx->root, "etc/passwd");
	assert_null(strstr(pw, "qmaild"));
	assert_non_null(strstr(written, "qmaild"));
	assert_false(ut_exists(fx->root, "etc/group.lock"));
	free(pw);
	free(now);
	free(written);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_spec),
		cmocka_unit_test_setup_teardown(test_set_id, setup, teardown),
		cmocka_unit_test(test_account_table),
		cmocka_unit_test_setup_teardown(test_id_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_then_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shell_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_live_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_stale, setup, teardown),
		cmocka_unit_test(test_guard_mask),
		cmocka_unit_test_setup_teardown(test_rollback_takes_stale_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_waits_for_holder, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
