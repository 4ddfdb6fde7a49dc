/*
 * process.c - child processes. Every program qinstall runs (make, apt-get,
 * systemctl, the name caches' tools) is started and waited for here, so
 * that all of them follow the same rules: the child's stdout is never
 * qinstall's (which carries the JSON result), its output goes where the
 * caller says (a log, a buffer, stderr, nowhere), waiting survives signals,
 * and how it ended is told in one wording.
 *
 * fork and exec rather than posix_spawn: a pipe closed on exec brings back
 * why the program could not be started (its directory, the exec itself),
 * also under valgrind, where posix_spawn cannot tell and the child merely
 * exits 127.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

extern char **environ;

/* What the child could not do on its way to the program, sent back
 * through the report pipe. */
enum child_step { STEP_REDIRECT = 1, STEP_CHDIR, STEP_EXEC };
struct child_failure {
	int step;		/* enum child_step */
	int err;		/* its errno */
};

/* The descriptors the child gets as 0, 1 and 2, and ours. */
struct child_fds {
	int in;			/* its stdin */
	int out;		/* its stdout; -1: qinstall's stderr */
	bool err_too;		/* its stderr is OUT as well (else qinstall's) */
	int capture;		/* our end of the capture pipe, or -1 */
};

/* A descriptor we open is moved above 2, so that putting the child's 0, 1
 * and 2 in place never overwrites another one (qinstall may have been
 * started with one of them closed). */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return moved;
}

/* A pipe closed on exec, both ends above 2. */
static int make_pipe(qi_handle *h, const char *prog, int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0) {
		p[0] = p[1] = -1;
	} else {
		p[0] = above_stdio(p[0]);
		p[1] = above_stdio(p[1]);
	}
	if (p[0] >= 0 && p[1] >= 0)
		return 0;
	int e = errno;
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	errno = e;
	return qi_error_errno(h, "cannot run %s: cannot make a pipe", prog);
}

static void close_fds(struct child_fds *c)
{
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (c->capture >= 0)
		close(c->capture);
	c->in = c->out = c->capture = -1;
}

/* ARGV joined by spaces, as the log and -v show it. */
static char *command_line(const char *const *argv)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	for (size_t i = 0; argv[i]; i++)
		qi_buf_addf(&b, "%s%s", i ? " " : "", argv[i]);
	return b.data;
}

/* CMD: the command line as a shell would take it, for the log's first line. */
static int open_fds(qi_handle *h, const struct qi_proc_spec *spec, const char *cmd,
		    struct child_fds *c)
{
	const char *prog = spec->argv[0];
	const char *in = spec->stdin_path ? spec->stdin_path : "/dev/null";
	c->in = above_stdio(open(in, O_RDONLY | O_CLOEXEC));
	if (c->in < 0)
		return qi_error_errno(h, "cannot run %s: cannot open %s for its input", prog, in);
	switch (spec->output) {
	case QI_PROC_DISCARD:
		c->out = above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC));
		if (c->out < 0)
			return qi_error_errno(h, "cannot run %s: cannot open /dev/null", prog);
		break;
	case QI_PROC_STDERR:
		break;
	case QI_PROC_LOG: {
		c->out = above_stdio(open(spec->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
		if (c->out < 0)
			return qi_error_errno(h, "cannot open the log %s", spec->log);
		c->err_too = true;
		char *line = qi_xasprintf("$ %s\n", cmd);
		int rc = qi_write_all(c->out, line, strlen(line));
		free(line);
		if (rc < 0)
			return qi_error_errno(h, "cannot write the log %s", spec->log);
		break;
	}
	case QI_PROC_CAPTURE: {
		int p[2];
		if (make_pipe(h, prog, p) < 0)
			return -1;
		c->capture = p[0];
		c->out = p[1];
		break;
	}
	}
	return 0;
}

/* In the child: put the descriptors in place, go to CWD and become the
 * program, with async-signal-safe calls only. Returns only when that
 * failed, having said why on REPORT. */
static void child(const struct qi_proc_spec *spec, const struct child_fds *c, int report)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	struct child_failure cf = { STEP_REDIRECT, 0 };
	if (dup2(c->in, STDIN_FILENO) < 0 ||
	    dup2(c->out >= 0 ? c->out : STDERR_FILENO, STDOUT_FILENO) < 0 ||
	    (c->err_too && dup2(c->out, STDERR_FILENO) < 0))
		goto fail;
	cf.step = STEP_CHDIR;
	/* TEMPORARY stand-in until the sandbox lands: the account views only. */
	if (spec->sandbox && (spec->sandbox->passwd || spec->sandbox->group)) {
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    (spec->sandbox->passwd && mount(spec->sandbox->passwd, "/etc/passwd", NULL, MS_BIND, NULL) < 0) ||
		    (spec->sandbox->group && mount(spec->sandbox->group, "/etc/group", NULL, MS_BIND, NULL) < 0))
			goto fail;
	}
	if (spec->cwd && chdir(spec->cwd) < 0)
		goto fail;
	cf.step = STEP_EXEC;
	char *const *argv = (char *const *)spec->argv;
	char *const *env = spec->env ? (char *const *)spec->env : environ;
	if (spec->search_path)
		execvpe(argv[0], argv, env);
	else
		execve(argv[0], argv, env);
fail:
	cf.err = errno;
	while (write(report, &cf, sizeof(cf)) < 0 && errno == EINTR)
		;
}

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n;
}

/* In qinstall: start the child, take what it reports and prints, reap it.
 * *status: its waitpid status, or -1 (with *cf filled) when it did not
 * become the program. */
static int spawn_wait(qi_handle *h, const struct qi_proc_spec *spec, struct child_fds *c,
		      struct child_failure *cf, int *status)
{
	const char *prog = spec->argv[0];
	int p[2];
	if (make_pipe(h, prog, p) < 0)
		return -1;
	int report = p[0], report_w = p[1];
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		qi_error_errno(h, "cannot run %s", prog);
		goto close_report;
	}
	if (pid == 0) {
		child(spec, c, report_w);
		_exit(127);
	}
	close(report_w);
	report_w = -1;
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	c->in = c->out = -1;
	ssize_t n = read_retry(report, cf, sizeof(*cf));
	int read_err = 0;
	if (c->capture >= 0 && qi_buf_read_fd(spec->capture, c->capture) < 0)
		read_err = errno;
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			qi_error_errno(h, "cannot wait for %s", prog);
			*status = -1;
			goto close_report;
		}
	}
	close(report);
	if (n == (ssize_t)sizeof(*cf)) {
		*status = -1;
		return 0;
	}
	if (read_err) {
		errno = read_err;
		return qi_error_errno(h, "cannot read what %s printed", prog);
	}
	return 0;
close_report:
	if (report >= 0)
		close(report);
	if (report_w >= 0)
		close(report_w);
	return -1;
}

/* " (SIGKILL)", or "" where the C library has no names. */
static void signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = NULL;
#ifdef __GLIBC_PREREQ
#if __GLIBC_PREREQ(2, 32)
	abbrev = sigabbrev_np(sig);
#endif
#endif
	buf[0] = '\0';
	if (abbrev)
		snprintf(buf, len, " (SIG%s)", abbrev);
}

/* The one wording of how a program ended that is not success. */
static int ended_badly(qi_handle *h, const struct qi_proc_spec *spec,
		       const struct child_failure *cf, int status)
{
	if (status == -1) {
		errno = cf->err;
		if (cf->step == STEP_CHDIR)
			return qi_error_errno(h, "cannot run %s in %s", spec->argv[0], spec->cwd);
		return qi_error_errno(h, "cannot run %s", spec->argv[0]);
	}
	const char *hint = spec->hint;
	char *own = NULL;
	if (!hint && spec->output == QI_PROC_STDERR)
		hint = "its messages are above";
	else if (!hint && spec->output == QI_PROC_LOG)
		hint = own = qi_xasprintf("its messages are in %s", spec->log);
	else if (!hint)
		hint = "";
	/* A label stands for the command and where it ran. */
	char *where = spec->cwd && !spec->label ? qi_xasprintf(" in %s", spec->cwd) : qi_xstrdup("");
	char *label = spec->label ? qi_xstrdup(spec->label) : command_line(spec->argv);
	if (WIFEXITED(status)) {
		qi_error(h, "`%s` failed%s (exit %d)%s%s", label, where, WEXITSTATUS(status),
			 *hint ? "; " : "", hint);
	} else {
		char name[32];
		signal_name(WTERMSIG(status), name, sizeof(name));
		qi_error(h, "`%s` was killed%s by signal %d%s%s%s", label, where, WTERMSIG(status),
			 name, *hint ? "; " : "", hint);
	}
	free(label);
	free(where);
	free(own);
	return -1;
}

static int run(qi_handle *h, const struct qi_proc_spec *spec, int *status)
{
	*status = -1;
	struct child_fds c = { .in = -1, .out = -1, .capture = -1 };
	struct child_failure cf = { 0, 0 };
	/* Nothing of ours is allocated across the fork: in a child that
	 * never becomes the program, valgrind would call it lost. */
	char *argv = command_line(spec->argv);
	char *cmd = spec->cwd ? qi_xasprintf("cd %s && %s", spec->cwd, argv) : qi_xstrdup(argv);
	free(argv);
	qi_debug(h, "running %s", cmd);
	int rc = open_fds(h, spec, cmd, &c);
	free(cmd);
	if (rc == 0)
		rc = spawn_wait(h, spec, &c, &cf, status);
	close_fds(&c);
	if (rc == 0 && *status != 0)
		rc = ended_badly(h, spec, &cf, *status);
	if (*status == -1 && cf.err)
		errno = cf.err;
	return rc;
}

int qi_proc_run(qi_handle *h, const struct qi_proc_spec *spec, int *status)
{
	int local;
	if (!status)
		status = &local;
	if (!spec->keep_error)
		return run(h, spec, status);
	char saved[sizeof(h->errmsg)];
	enum qi_errkind kind = h->errkind;
	memcpy(saved, h->errmsg, sizeof(saved));
	int rc = run(h, spec, status);
	int e = errno;
	memcpy(h->errmsg, saved, sizeof(saved));
	h->errkind = kind;
	errno = e;
	return rc;
}
