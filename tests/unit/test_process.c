/* Unit tests for process.c: running a program and waiting for it, where
 * its output goes, and the one wording of how it ended. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "unit.h"

static char *tmp;

static int setup(void **state)
{
	tmp = ut_tmpdir("process");
	return 0;
}

/* The module under test removes its own traces. */
static int teardown(void **state)
{
	qi_handle *h = qi_new();
	struct qi_proc_spec spec = { .argv = (const char *const[]){ "rm", "-rf", tmp, NULL },
				     .search_path = true };
	int rc = h ? qi_proc_run(h, &spec, NULL) : -1;
	qi_free(h);
	ut_tmpdir_remove(tmp);	/* gone already when rc is 0: forgets it */
	return rc;
}

static qi_handle *handle(void)
{
	qi_handle *h = qi_new();
	assert_non_null(h);
	qi_set_verbosity(h, -1);
	return h;
}

/* A shell command, run as `sh -c SCRIPT` with sh looked up in PATH. */
#define SH(script) ((const char *const[]){ "sh", "-c", (script), NULL })

/* A program that exits 0 is a success, with status 0 and no message; an
 * absolute path needs no PATH search. */
static void test_success(void **state)
{
	qi_handle *h = handle();
	int status = -7;
	struct qi_proc_spec spec = { .argv = (const char *const[]){ "/bin/sh", "-c", "exit 0", NULL } };
	assert_int_equal(qi_proc_run(h, &spec, &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(qi_errmsg(h), "");
	spec = (struct qi_proc_spec){ .argv = SH("true"), .search_path = true };
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	qi_free(h);
}

/* A non-zero exit is a failure naming the command and the status; the
 * label replaces the command line, the hint follows, "" drops it. */
static void test_nonzero_exit(void **state)
{
	qi_handle *h = handle();
	int status;
	struct qi_proc_spec spec = { .argv = SH("exit 3"), .search_path = true };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_string_equal(qi_errmsg(h), "`sh -c exit 3` failed (exit 3)");
	assert_int_equal(qi_errkind(h), QI_ERR_FAILED);
	spec.cwd = tmp;
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	char *want = qi_xasprintf("`sh -c exit 3` failed in %s (exit 3)", tmp);
	assert_string_equal(qi_errmsg(h), want);
	free(want);
	spec.label = "the test";	/* stands for the command and where it ran */
	spec.hint = "see the manual";
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_string_equal(qi_errmsg(h), "`the test` failed (exit 3); see the manual");
	/* Output shown on stderr: the message points there. */
	spec = (struct qi_proc_spec){ .argv = SH("exit 4"), .search_path = true,
				      .output = QI_PROC_STDERR, .label = "x" };
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_string_equal(qi_errmsg(h), "`x` failed (exit 4); its messages are above");
	spec.hint = "";
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_string_equal(qi_errmsg(h), "`x` failed (exit 4)");
	qi_free(h);
}

/* A program killed by a signal is told with the signal's number and name. */
static void test_killed(void **state)
{
	qi_handle *h = handle();
	int status;
	struct qi_proc_spec spec = { .argv = SH("kill -9 $$"), .search_path = true };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_string_equal(qi_errmsg(h), "`sh -c kill -9 $$` was killed by signal 9 (SIGKILL)");
	qi_free(h);
}

/* A program that does not exist, or a directory it cannot run in, is
 * "cannot run PROG": status -1 and errno say it never started. */
static void test_missing_program(void **state)
{
	qi_handle *h = handle();
	int status = 0;
	struct qi_proc_spec spec = { .argv = (const char *const[]){ "qinstall-no-such-program", NULL },
				     .search_path = true };
	errno = 0;
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_int_equal(status, -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(qi_errmsg(h), "cannot run qinstall-no-such-program: No such file or directory");
	spec.argv = (const char *const[]){ "/nonexistent/qinstall/prog", NULL };
	spec.search_path = false;
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_int_equal(status, -1);
	assert_string_equal(qi_errmsg(h), "cannot run /nonexistent/qinstall/prog: No such file or directory");
	spec = (struct qi_proc_spec){ .argv = SH("true"), .search_path = true, .cwd = "/nonexistent/qinstall" };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_int_equal(status, -1);
	assert_string_equal(qi_errmsg(h), "cannot run sh in /nonexistent/qinstall: No such file or directory");
	qi_free(h);
}

/* Captured output is stdout only, NUL-terminated, appended to the buffer;
 * stdin is /dev/null unless a file is named. */
static void test_capture(void **state)
{
	qi_handle *h = handle();
	struct qi_buf out = { 0 };
	qi_buf_add(&out, "before:", 7);
	struct qi_proc_spec spec = { .argv = SH("echo out; echo err >&2; cat"), .search_path = true,
				     .output = QI_PROC_CAPTURE, .capture = &out };
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_string_equal(out.data, "before:out\n");
	qi_buf_free(&out);
	char *in = ut_path(tmp, "input");
	int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(qi_write_all(fd, "line\n", 5), 0);
	close(fd);
	spec.argv = (const char *const[]){ "cat", NULL };
	spec.stdin_path = in;
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_string_equal(out.data, "line\n");
	qi_buf_free(&out);
	/* More than a pipe holds: the reader never stalls the child. */
	spec = (struct qi_proc_spec){ .argv = SH("head -c 300000 /dev/zero"), .search_path = true,
				      .output = QI_PROC_CAPTURE, .capture = &out };
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_int_equal(out.len, 300000);
	qi_buf_free(&out);
	free(in);
	qi_free(h);
}

/* The bounds: a program that prints more than CAPTURE_MAX is stopped
 * and said, with nothing kept; one that runs past TIMEOUT (printing
 * nothing, or printing and never closing) likewise; within both, the
 * output is whole. */
static void test_limits(void **state)
{
	(void)state;
	qi_handle *h = handle();
	struct qi_buf out = { 0 };
	struct qi_proc_spec spec = { .argv = SH("exec cat /dev/zero"), .search_path = true,
				     .output = QI_PROC_CAPTURE, .capture = &out, .capture_max = 100000,
				     .hint = "check the program" };
	int status = 0;
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_non_null(strstr(qi_errmsg(h), "printed more than 100000 bytes"));
	assert_non_null(strstr(qi_errmsg(h), "; check the program"));
	assert_int_equal(status, -1);
	assert_null(out.data);
	spec.argv = SH("head -c 100000 /dev/zero");
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_int_equal(out.len, 100000);
	qi_buf_free(&out);
	spec = (struct qi_proc_spec){ .argv = SH("exec sleep 30"), .search_path = true,
				      .output = QI_PROC_CAPTURE, .capture = &out, .timeout = 1 };
	time_t t0 = time(NULL);
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "did not end within 1 s"));
	assert_true(time(NULL) - t0 < 10);
	/* its output closed, still running */
	spec.argv = SH("echo part; exec >/dev/null; exec sleep 30");
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "did not end within 1 s"));
	/* no capture at all */
	spec = (struct qi_proc_spec){ .argv = SH("exec sleep 30"), .search_path = true, .output = QI_PROC_DISCARD,
				      .timeout = 1 };
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "did not end within 1 s"));
	spec.argv = SH("exit 3");
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_non_null(strstr(qi_errmsg(h), "(exit 3)"));
	spec = (struct qi_proc_spec){ .argv = SH("echo done"), .search_path = true, .output = QI_PROC_CAPTURE,
				      .capture = &out, .timeout = 5, .capture_max = 5 };
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_string_equal(out.data, "done\n");
	qi_buf_free(&out);
	assert_true(time(NULL) - t0 < 20);
	qi_free(h);
}

/* Point FD at PATH (created empty) and return the saved original. */
static int redirect(int fd, const char *path)
{
	fflush(fd == 1 ? stdout : stderr);
	int saved = dup(fd);
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved >= 0 && f >= 0);
	assert_int_equal(dup2(f, fd), fd);
	close(f);
	return saved;
}

static void restore(int fd, int saved)
{
	assert_int_equal(dup2(saved, fd), fd);
	close(saved);
}

/* qinstall's stdout is never the child's: discarded, shown on stderr or
 * logged, the child's stdout lands anywhere but there. The log gets the
 * command line first, then stdout and stderr. */
static void test_stdout_not_inherited(void **state)
{
	qi_handle *h = handle();
	char *out = ut_path(tmp, "stdout"), *err = ut_path(tmp, "stderr"), *log = ut_path(tmp, "run.log");
	int saved_out = redirect(1, out), saved_err = redirect(2, err);
	struct qi_proc_spec spec = { .argv = SH("echo to-stdout; echo to-stderr >&2"), .search_path = true };
	int rc0 = qi_proc_run(h, &spec, NULL);
	spec.output = QI_PROC_STDERR;
	int rc1 = qi_proc_run(h, &spec, NULL);
	spec.output = QI_PROC_LOG;
	spec.log = log;
	spec.cwd = tmp;
	int rc2 = qi_proc_run(h, &spec, NULL);
	restore(2, saved_err);
	restore(1, saved_out);
	assert_int_equal(rc0, 0);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);
	char *s = ut_read(NULL, out);
	assert_string_equal(s, "");
	free(s);
	s = ut_read(NULL, err);
	assert_string_equal(s, "to-stderr\nto-stdout\nto-stderr\n");
	free(s);
	s = ut_read(NULL, log);
	char *want = qi_xasprintf("$ cd %s && sh -c echo to-stdout; echo to-stderr >&2\nto-stdout\nto-stderr\n", tmp);
	assert_string_equal(s, want);
	free(want);
	free(s);
	/* The log is appended to; a log that cannot be opened is an error. */
	spec.cwd = NULL;
	spec.argv = SH("echo again");
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	s = ut_read(NULL, log);
	assert_non_null(strstr(s, "to-stderr\n$ sh -c echo again\nagain\n"));
	free(s);
	spec.log = "/nonexistent/qinstall/run.log";
	assert_int_equal(qi_proc_run(h, &spec, NULL), -1);
	assert_string_equal(qi_errmsg(h), "cannot open the log /nonexistent/qinstall/run.log: "
			    "No such file or directory");
	free(out), free(err), free(log);
	qi_free(h);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* Signals arriving while qinstall waits (a handler without SA_RESTART:
 * read and waitpid fail with EINTR) do not end the wait early. */
static void test_eintr(void **state)
{
	qi_handle *h = handle();
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	/* Waiting in waitpid (nothing to read), then in read (capturing). */
	int status, status2;
	struct qi_proc_spec spec = { .argv = SH("sleep 0.3; exit 5"), .search_path = true };
	int rc = qi_proc_run(h, &spec, &status);
	int seen = alarms;
	struct qi_buf out = { 0 };
	spec = (struct qi_proc_spec){ .argv = SH("sleep 0.3; echo done; sleep 0.2"), .search_path = true,
				      .output = QI_PROC_CAPTURE, .capture = &out };
	int rc2 = qi_proc_run(h, &spec, &status2);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(seen > 3);
	assert_true(alarms > seen + 3);
	assert_int_equal(rc, -1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 5);
	assert_string_equal(qi_errmsg(h), "`sh -c sleep 0.3; exit 5` failed (exit 5)");
	assert_int_equal(rc2, 0);
	assert_int_equal(status2, 0);
	assert_string_equal(out.data, "done\n");
	qi_buf_free(&out);
	qi_free(h);
}

/* The child runs in CWD with ENV (NULL: qinstall's own environment). */
static void test_cwd_env(void **state)
{
	qi_handle *h = handle();
	char real[PATH_MAX];
	assert_non_null(realpath(tmp, real));
	struct qi_buf out = { 0 };
	const char *const env[] = { "QI_TEST_VALUE=from-env", "PATH=/usr/bin:/bin", NULL };
	struct qi_proc_spec spec = { .argv = SH("pwd -P; echo \"$QI_TEST_VALUE|$QI_TEST_OURS\""),
				     .search_path = true, .cwd = tmp, .env = env,
				     .output = QI_PROC_CAPTURE, .capture = &out };
	setenv("QI_TEST_OURS", "ours", 1);
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	char *want = qi_xasprintf("%s\nfrom-env|\n", real);
	assert_string_equal(out.data, want);
	free(want);
	qi_buf_free(&out);
	spec.env = NULL;
	spec.cwd = NULL;
	assert_int_equal(qi_proc_run(h, &spec, NULL), 0);
	assert_non_null(strstr(out.data, "\n|ours\n"));
	qi_buf_free(&out);
	unsetenv("QI_TEST_OURS");
	qi_free(h);
}

/* The child starts with no signal blocked and SIGPIPE at its default,
 * whatever qinstall holds (the password-file locks block signals). */
static void test_signals_reset(void **state)
{
	qi_handle *h = handle();
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	void (*pipe_was)(int) = signal(SIGPIPE, SIG_IGN);
	int status, status2;
	struct qi_proc_spec spec = { .argv = SH("kill -TERM $$; exit 0"), .search_path = true };
	int rc = qi_proc_run(h, &spec, &status);
	/* An ignored signal would stay ignored through exec (and sh could
	 * not even trap it). */
	spec.argv = SH("kill -PIPE $$; exit 0");
	int rc2 = qi_proc_run(h, &spec, &status2);
	signal(SIGPIPE, pipe_was);
	sigprocmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(rc, -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_int_equal(rc2, -1);
	assert_true(WIFSIGNALED(status2));
	assert_int_equal(WTERMSIG(status2), SIGPIPE);
	qi_free(h);
}

/* keep_error: a probe's failure leaves the handle's error as it was, and
 * *status tells the caller what happened. */
static void test_keep_error(void **state)
{
	qi_handle *h = handle();
	qi_error_kind(h, QI_ERR_LOCKED, "the original error");
	int status;
	struct qi_proc_spec spec = { .argv = SH("exit 2"), .search_path = true, .keep_error = true };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_int_equal(WEXITSTATUS(status), 2);
	spec.argv = (const char *const[]){ "qinstall-no-such-program", NULL };
	assert_int_equal(qi_proc_run(h, &spec, &status), -1);
	assert_int_equal(status, -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(qi_errmsg(h), "the original error");
	assert_int_equal(qi_errkind(h), QI_ERR_LOCKED);
	qi_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_nonzero_exit),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_stdout_not_inherited),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_cwd_env),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_keep_error),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
