/* Unit tests for qinstall-checkpassword (checkpassword/checkpassword.c):
 * the program run as qmail-popup runs it, a child with the login on a
 * pipe at descriptor 3, against a password file, passwd and shadow
 * written here; the next program a script printing what it was given. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "mailusers/pwfile.h"
#include "unit.h"

static char *dir;
static char out[4096];

static char *make_hash(const char *prefix, const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)));
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	return strdup(crypt_rn(password, salt, &cd, sizeof(cd)));
}

static const char *const kinds[][2] = {
	{ "yes", "$y$" }, { "sha512", "$6$" }, { "sha256", "$5$" }, { "md5", "$1$" }, { "des", "" },
};

/* The fixture: users of every hash kind owned by vmail (1001), one owned
 * by root, one by a uid below 1000, one imported system user; tim, with
 * RFC 2195's password and its CRAM-MD5 secret on the line after it. */
static int setup(void **state)
{
	dir = ut_tmpdir("checkpassword");
	assert_int_equal(chmod(dir, 0755), 0);
	char *sys = make_hash("$6$", "syspw"), *rootpw = make_hash("$y$", "rootpw");
	struct qi_buf pop = { 0 }, pw = { 0 }, sh = { 0 };
	qi_buf_addf(&pw, "root:x:0:0:root:%s/root:/bin/sh\nlow:x:500:500::%s/low:/bin/sh\n"
		    "vmail:x:1001:1001::%s/vmail:/bin/false\nsysu:x:1002:1003::%s/sysu:/bin/sh\n",
		    dir, dir, dir, dir);
	qi_buf_addf(&sh, "root:%s:19000::::::\nsysu:%s:19000::::::\nvmail:!:19000::::::\n", rootpw, sys);
	qi_buf_addf(&pop, "# mail users\nbroken:line\n");
	for (size_t i = 0; i < 5; i++) {
		char *h = make_hash(kinds[i][1], "pw-of-mail");
		qi_buf_addf(&pop, "%s:%s:vmail:%s/vmail/%s\n", kinds[i][0], h, dir, kinds[i][0]);
		free(h);
		char *home = qi_xasprintf("vmail/%s", kinds[i][0]);
		ut_mkdir(dir, home, 0700);
		char *p = ut_path(dir, home);
		assert_int_equal(chown(p, 1001, 1001), 0);
		free(p);
		free(home);
	}
	char *tim = make_hash("$y$", "tanstaaftanstaaf"), secret[QI_CRAM_SECRET_HEX + 1],
	     tag[QI_CRAM_TAG_HEX + 1];
	qi_handle *qh = qi_new();
	assert_int_equal(qi_cram_secret(qh, "tanstaaftanstaaf", secret), 0);
	qi_free(qh);
	qi_cram_tag(tim, tag);
	qi_buf_addf(&pop, "tim:%s:vmail:%s/vmail/tim\n#cram-md5:tim:%s:%s\n", tim, dir, tag, secret);
	free(tim);
	ut_mkdir(dir, "vmail/tim", 0700);
	char *v = ut_path(dir, "vmail/tim");
	assert_int_equal(chown(v, 1001, 1001), 0);
	free(v);
	v = ut_path(dir, "vmail");
	assert_int_equal(chmod(v, 0755), 0);
	free(v);
	char *h = make_hash("$y$", "pw-of-mail");
	qi_buf_addf(&pop, "rootmail:%s:root:%s/root\nlowmail:%s:low:%s/low\nsysu:system:sysu:%s/sysu\n",
		    h, dir, h, dir, dir);
	free(h);
	qi_buf_add(&pop, "", 1);
	qi_buf_add(&pw, "", 1);
	qi_buf_add(&sh, "", 1);
	ut_mkdir(dir, "etc", 0755);
	ut_write(dir, "etc/passwd", pw.data, 0644);
	ut_write(dir, "etc/shadow", sh.data, 0600);
	ut_write(dir, "poppasswd", pop.data, 0600);
	ut_mkdir(dir, "root", 0700);
	ut_mkdir(dir, "low", 0755);
	ut_mkdir(dir, "sysu", 0700);
	char *p = ut_path(dir, "sysu");
	assert_int_equal(chown(p, 1002, 1003), 0);
	free(p);
	ut_write(dir, "show", "#!/bin/sh\necho \"$USER $HOME $(id -u):$(id -g) $(pwd) $SHELL $*\"\n", 0755);
	qi_buf_free(&pop);
	qi_buf_free(&pw);
	qi_buf_free(&sh);
	free(sys);
	free(rootpw);
	return 0;
}

static int teardown(void **state)
{
	ut_tmpdir_remove(dir);
	return 0;
}

/* Run the program with INPUT (LEN bytes) on descriptor 3 (none when
 * INPUT is NULL) and ARGS after it (NULL: the show script "a b"); its
 * exit code, its stdout in OUT. */
static int run_cp(const char *input, size_t len, const char *const *args, const char *extra_env)
{
	const char *top = getenv("top_builddir");
	char *prog = qi_xasprintf("%s/qinstall-checkpassword", top ? top : ".");
	char *show = ut_path(dir, "show");
	int in[2], o[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(o), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(o[1], 1);
		if (input) {
			dup2(in[0], 3);
		} else {
			close(3);
		}
		if (in[0] != 3)
			close(in[0]);
		close(in[1]);
		close(o[0]);
		char *file = qi_xasprintf("%s/poppasswd", dir), *etc = qi_xasprintf("%s/etc", dir);
		setenv("QINSTALL_POPPASSWD", file, 1);
		setenv("QINSTALL_CHECKPASSWORD_ETC", etc, 1);
		setenv("QINSTALL_CHECKPASSWORD_DELAY_MS", "0", 1);
		unsetenv("QINSTALL_CHECKPASSWORD_MIN_UID");
		if (extra_env)
			putenv((char *)extra_env);
		const char *argv[16] = { prog };
		size_t n = 1;
		if (args)
			for (; args[n - 1] && n < 15; n++)
				argv[n] = args[n - 1];
		else {
			argv[n++] = show;
			argv[n++] = "a";
			argv[n++] = "b";
		}
		execv(prog, (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	if (input)
		assert_int_equal(qi_write_all(in[1], input, len), 0);
	close(in[1]);
	size_t got = 0;
	ssize_t r;
	while ((r = read(o[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(o[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(prog);
	free(show);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int login(const char *user, const char *password, const char *extra_env)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c<1.2@host>%c", user, 0, password, 0, 0);
	return run_cp(buf, (size_t)n, NULL, extra_env);
}

/* Every hash kind: the right password runs the next program as vmail,
 * with USER, HOME and SHELL set and HOME as its directory. */
static void test_every_hash(void **state)
{
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(login(kinds[i][0], "pw-of-mail", NULL), 0);
		char *want = qi_xasprintf("%s %s/vmail/%s 1001:1001 %s/vmail/%s /bin/false a b\n",
					  kinds[i][0], dir, kinds[i][0], dir, kinds[i][0]);
		assert_string_equal(out, want);
		free(want);
	}
}

/* A wrong password, an unknown user, an empty login, a malformed line's
 * name: exit 1, nothing run. */
static void test_refused(void **state)
{
	assert_int_equal(login("yes", "wrong", NULL), 1);
	assert_string_equal(out, "");
	assert_int_equal(login("nosuch", "pw-of-mail", NULL), 1);
	assert_int_equal(login("", "pw-of-mail", NULL), 1);
	assert_int_equal(login("broken", "line", NULL), 1);
	assert_string_equal(out, "");
}

/* A failure waits QINSTALL_CHECKPASSWORD_DELAY_MS. */
static void test_delay(void **state)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(login("yes", "wrong", "QINSTALL_CHECKPASSWORD_DELAY_MS=400"), 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 400);
}

/* Root and a uid below the minimum are refused with the right password;
 * the minimum is configurable. */
static void test_uid_floor(void **state)
{
	assert_int_equal(login("rootmail", "pw-of-mail", NULL), 1);
	assert_int_equal(login("rootmail", "pw-of-mail", "QINSTALL_CHECKPASSWORD_MIN_UID=0"), 1);
	assert_int_equal(login("lowmail", "pw-of-mail", NULL), 1);
	assert_string_equal(out, "");
	assert_int_equal(login("lowmail", "pw-of-mail", "QINSTALL_CHECKPASSWORD_MIN_UID=500"), 0);
	assert_non_null(strstr(out, " 500:500 "));
	assert_int_equal(login("yes", "pw-of-mail", "QINSTALL_CHECKPASSWORD_MIN_UID=2000"), 1);
}

/* "system" entries and --system check the shadow file; root's shadow
 * password still logs nobody in. */
static void test_system(void **state)
{
	assert_int_equal(login("sysu", "syspw", NULL), 0);
	char *want = qi_xasprintf("sysu %s/sysu 1002:1003 %s/sysu /bin/sh a b\n", dir, dir);
	assert_string_equal(out, want);
	free(want);
	assert_int_equal(login("sysu", "pw-of-mail", NULL), 1);
	char *show = ut_path(dir, "show");
	const char *args[] = { "--system", show, NULL };
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "root%crootpw%c1%c", 0, 0, 0);
	assert_int_equal(run_cp(buf, (size_t)n, args, NULL), 1);
	n = snprintf(buf, sizeof(buf), "vmail%cx%c1%c", 0, 0, 0);
	assert_int_equal(run_cp(buf, (size_t)n, args, NULL), 1);
	/* Without --system, a system user not in the file is unknown. */
	n = snprintf(buf, sizeof(buf), "root%crootpw%c1%c", 0, 0, 0);
	assert_int_equal(run_cp(buf, (size_t)n, args + 1, NULL), 1);
	free(show);
}

/* LOGIN\0CHALLENGE\0RESPONSE\0, as qmail-smtpd-auth writes for CRAM-MD5. */
static int cram(const char *user, const char *challenge, const char *response)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%s%c", user, 0, challenge, 0, response, 0);
	return run_cp(buf, (size_t)n, NULL, NULL);
}

#define RFC_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"
#define RFC_DIGEST "b913a602c7eda7a495b4e6e7334d3890"

/* CRAM-MD5: RFC 2195's example lets tim in as a password would; a wrong
 * digest, another challenge, a user without a secret, an unknown user and
 * a system user are refused (1) without a word and nothing runs; the
 * user's password still works, by PLAIN's input too. */
static void test_cram_md5(void **state)
{
	char want[1024];
	snprintf(want, sizeof(want), "tim %s/vmail/tim 1001:1001 %s/vmail/tim /bin/false a b\n",
		 dir, dir);
	assert_int_equal(cram("tim", RFC_CHALLENGE, RFC_DIGEST), 0);
	assert_string_equal(out, want);
	assert_int_equal(cram("tim", RFC_CHALLENGE, "b913a602c7eda7a495b4e6e7334d3891"), 1);
	assert_int_equal(cram("tim", "<1896.697170953@postoffice.reston.mci.net>", RFC_DIGEST), 1);
	assert_int_equal(cram("yes", RFC_CHALLENGE, RFC_DIGEST), 1);	/* no secret */
	assert_int_equal(cram("nosuch", RFC_CHALLENGE, RFC_DIGEST), 1);
	assert_int_equal(cram("sysu", RFC_CHALLENGE, RFC_DIGEST), 1);
	assert_int_equal(cram("", RFC_CHALLENGE, RFC_DIGEST), 1);
	assert_string_equal(out, "");
	/* A malformed response is no CRAM-MD5: the challenge is tried as a
	 * password, and fails. */
	assert_int_equal(cram("tim", RFC_CHALLENGE, "b913a602c7eda7a495b4e6e7334d389"), 1);
	assert_int_equal(cram("tim", RFC_CHALLENGE, "zz13a602c7eda7a495b4e6e7334d3890"), 1);
	assert_int_equal(cram("tim", "tanstaaftanstaaf", ""), 0);	/* PLAIN, LOGIN */
	assert_string_equal(out, want);
	assert_int_equal(login("tim", "tanstaaftanstaaf", NULL), 0);	/* qmail-popup */
	assert_int_equal(cram("tim", "tanstaaf", ""), 1);
}

/* Misuse: no descriptor 3, no next program, input without the two NULs
 * or over 512 bytes: exit 2. Trouble: a password file that is missing,
 * a directory, writable by others or not root's: exit 111. */
static void test_misuse_and_trouble(void **state)
{
	assert_int_equal(run_cp(NULL, 0, NULL, NULL), 2);
	const char *none[] = { NULL };
	assert_int_equal(run_cp("yes\0pw-of-mail\0", 15, none, NULL), 2);
	assert_int_equal(run_cp("yes", 3, NULL, NULL), 2);
	char big[700];
	memset(big, 'a', sizeof(big));
	assert_int_equal(run_cp(big, sizeof(big), NULL, NULL), 2);
	assert_int_equal(login("yes", "pw-of-mail", "QINSTALL_POPPASSWD=/nonexistent/poppasswd"), 111);
	char *env = qi_xasprintf("QINSTALL_POPPASSWD=%s/etc", dir);
	assert_int_equal(login("yes", "pw-of-mail", env), 111);
	free(env);
	char *p = ut_path(dir, "poppasswd");
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(login("yes", "pw-of-mail", NULL), 111);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(chown(p, 1001, 0), 0);
	assert_int_equal(login("yes", "pw-of-mail", NULL), 111);
	assert_int_equal(chown(p, 0, 0), 0);
	free(p);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_hash),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_uid_floor),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_misuse_and_trouble),
		cmocka_unit_test(test_cram_md5),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP qinstall-checkpassword changes its uid: run as root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
