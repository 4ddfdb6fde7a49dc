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
 *
 * An isolated child (SPEC's sandbox: the component builds) becomes its
 * program only after it has left qinstall's namespaces: a mount namespace
 * of its own in which every mount is read-only except WRITABLE (bound onto
 * itself, writable again, nosuid and nodev), a network namespace of its
 * own (only a loopback that is down: no network at all), no new
 * privileges (set-id programs do not raise it), and, unless it keeps root,
 * the build user's uid and gid (its gid its one supplementary group). Device nodes
 * stay usable on a read-only mount (the kernel exempts them), so
 * /dev/null and /dev/tty work. A program kept as root loses the
 * capabilities that would undo the isolation (mounts, ptrace, mknod,
 * modules, raw I/O). TMPDIR is WRITABLE/.tmp, made beforehand (gcc writes
 * its temporaries there).
 *
 * The build user must reach WRITABLE by its path (TMPDIR is absolute, and
 * so are the paths make and the compilers are given). When a directory
 * above it is closed to that user (a cache directory of mode 0700), that
 * directory is covered, inside the child's namespace only, by an empty
 * read-only tmpfs holding just the path down to WRITABLE, so the build
 * sees the same path and nothing else of what that directory held.
 * WRITABLE itself must let the user in (mode 0711 or the user's own).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

extern char **environ;

/* What the child could not do on its way to the program, sent back
 * through the report pipe. */
enum child_step {
	STEP_REDIRECT = 1, STEP_CHDIR, STEP_EXEC, STEP_CHROOT,
	/* isolation (a sandbox) */
	STEP_UNSHARE, STEP_PRIVATE, STEP_PASSWD, STEP_GROUP, STEP_COVER, STEP_RDONLY,
	STEP_WRITABLE, STEP_NO_NEW_PRIVS, STEP_CAPS, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID,
};
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
	char procdir[4096];	/* CHROOT/proc to mount (CHROOT_PROC), or "" */
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
	c->in = spec->in_fd > 0 ? above_stdio(fcntl(spec->in_fd, F_DUPFD_CLOEXEC, 0)) :
		above_stdio(open(in, O_RDONLY | O_CLOEXEC));
	if (c->in < 0)
		return qi_error_errno(h, "cannot run %s: cannot open %s for its input", prog, in);
	if (spec->out_fd > 0) {
		c->out = above_stdio(fcntl(spec->out_fd, F_DUPFD_CLOEXEC, 0));
		if (c->out < 0)
			return qi_error_errno(h, "cannot run %s: cannot pass it its output", prog);
		return 0;
	}
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

/* ---- isolation ---- */

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define ATTR_RDONLY 0x1u	/* MOUNT_ATTR_RDONLY, ... of <linux/mount.h> */
#define ATTR_NOSUID 0x2u
#define ATTR_NODEV 0x4u

/* mount_setattr(2)'s struct mount_attr, version 0. */
struct mount_attr0 {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int set_mount_attr(const char *path, unsigned flags, uint64_t set, uint64_t clr)
{
	struct mount_attr0 a = { .attr_set = set, .attr_clr = clr };
	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof(a));
}

/* What the parent works out before the fork, so that the child only has
 * to make system calls (it allocates nothing). */
struct sandbox_plan {
	char writable[PATH_MAX];	/* WRITABLE, resolved */
	char tmpdir[PATH_MAX + 8];	/* "TMPDIR=WRITABLE/.tmp" */
	char cover[PATH_MAX];		/* the directory covered by a tmpfs, or "" */
	const char **env;		/* the program's environment, with TMPDIR */
};

/* Can UID:GID (no supplementary group) search a directory ST? */
static bool can_search(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* The first directory above PL->writable that the build user cannot
 * search goes into PL->cover; WRITABLE itself it must be able to enter. */
static int plan_cover(qi_handle *h, const struct qi_sandbox *sb, struct sandbox_plan *pl)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(pl->writable);
	memcpy(path, pl->writable, len + 1);
	for (size_t i = 1; i < len && !pl->cover[0]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (stat(path, &st) < 0)
			return qi_error_errno(h, "cannot isolate the build: %s", path);
		if (!can_search(&st, sb->uid, sb->gid))
			memcpy(pl->cover, path, i + 1);
		path[i] = '/';
	}
	if (stat(pl->writable, &st) < 0)
		return qi_error_errno(h, "cannot isolate the build: %s", pl->writable);
	if (!can_search(&st, sb->uid, sb->gid))
		return qi_error(h, "cannot isolate the build: the build user (uid %ld) cannot enter %s (mode %04o, owner %ld); make it mode 0711 or the user's",
				(long)sb->uid, pl->writable, (unsigned)(st.st_mode & 07777), (long)st.st_uid);
	return 0;
}

/* WRITABLE/.tmp, a directory of the build user's (root's with KEEP_ROOT),
 * never through a symbolic link. */
static int make_tmpdir(qi_handle *h, const struct qi_sandbox *sb, const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return qi_error_errno(h, "cannot isolate the build: cannot create %s", dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int rc = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		rc = qi_error_errno(h, "cannot isolate the build: %s is not a directory", dir);
	else if (!sb->keep_root && (st.st_uid != sb->uid || st.st_gid != sb->gid) &&
		 fchown(fd, sb->uid, sb->gid) < 0)
		rc = qi_error_errno(h, "cannot isolate the build: cannot give %s to uid %ld", dir,
				    (long)sb->uid);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* SPEC's environment (or ours) with TMPDIR replaced. */
static const char **sandbox_env(const struct qi_proc_spec *spec, const char *tmpdir)
{
	char *const *from = spec->env ? (char *const *)spec->env : environ;
	size_t n = 0;
	while (from[n])
		n++;
	const char **env = qi_xmalloc((n + 2) * sizeof(*env));
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(from[i], "TMPDIR=", 7) != 0)
			env[o++] = from[i];
	env[o++] = tmpdir;
	env[o] = NULL;
	return env;
}

static void plan_free(struct sandbox_plan *pl)
{
	free(pl->env);
	pl->env = NULL;
}

static int plan_sandbox(qi_handle *h, const struct qi_proc_spec *spec, struct sandbox_plan *pl)
{
	const struct qi_sandbox *sb = spec->sandbox;
	memset(pl, 0, sizeof(*pl));
	if (!sb->writable || !realpath(sb->writable, pl->writable))
		return qi_error_errno(h, "cannot isolate the build: its directory %s",
				      sb->writable ? sb->writable : "(none given)");
	if (strcmp(pl->writable, "/") == 0)
		return qi_error(h, "cannot isolate the build: its writable directory cannot be /");
	if (!sb->keep_root && sb->uid == 0)
		return qi_error(h, "cannot isolate the build: the build user cannot be root");
	if ((size_t)snprintf(pl->tmpdir, sizeof(pl->tmpdir), "TMPDIR=%s/.tmp", pl->writable) >= PATH_MAX)
		return qi_error(h, "cannot isolate the build: %s: the path is too long", pl->writable);
	const char *tmp = pl->tmpdir + strlen("TMPDIR=");
	if (make_tmpdir(h, sb, tmp) < 0 || (!sb->keep_root && plan_cover(h, sb, pl) < 0)) {
		plan_free(pl);
		return -1;
	}
	pl->env = sandbox_env(spec, pl->tmpdir);
	return 0;
}

/* In the child: an empty tmpfs over PL->cover with the path down to
 * WRITABLE, and WRITABLE bound there again (from a descriptor opened in
 * the new namespace: a bind takes its source from there). */
static int cover(const struct sandbox_plan *pl)
{
	char path[PATH_MAX], source[32] = "/proc/self/fd/";
	size_t len = strlen(pl->writable);
	int fd = open(pl->writable, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char digits[12];
	size_t nd = 0, at = strlen(source);
	for (int n = fd; nd == 0 || n > 0; n /= 10)
		digits[nd++] = (char)('0' + n % 10);
	while (nd > 0)
		source[at++] = digits[--nd];
	source[at] = '\0';
	mode_t old = umask(0);
	int rc = mount("tmpfs", pl->cover, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k");
	memcpy(path, pl->writable, len + 1);
	for (size_t i = strlen(pl->cover) + 1; rc == 0 && i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		rc = mkdir(path, 0755);
		path[i] = c;
	}
	umask(old);
	if (rc == 0)
		rc = mount(source, pl->writable, NULL, MS_BIND | MS_REC, NULL);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The capabilities a program kept as root must not have: they would
 * undo the isolation (remount, enter other namespaces, ptrace or load
 * into the host, make a disk's device node, raw I/O). */
static const int dropped_caps[] = { 21 /* SYS_ADMIN */, 19 /* SYS_PTRACE */, 16 /* SYS_MODULE */,
				    17 /* SYS_RAWIO */, 27 /* MKNOD */, 12 /* NET_ADMIN */,
				    22 /* SYS_BOOT */, 25 /* SYS_TIME */, 39 /* BPF */,
				    38 /* PERFMON */, 18 /* SYS_CHROOT */ };

/* In the child, as root still: leave qinstall's namespaces, every mount
 * read-only but WRITABLE. *STEP says where it failed. */
static int isolate(const struct qi_sandbox *sb, const struct sandbox_plan *pl, int *step)
{
	*step = STEP_UNSHARE;
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0)
		return -1;
	*step = STEP_PRIVATE;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	*step = STEP_PASSWD;
	if (sb->passwd && mount(sb->passwd, "/etc/passwd", NULL, MS_BIND, NULL) < 0)
		return -1;
	*step = STEP_GROUP;
	if (sb->group && mount(sb->group, "/etc/group", NULL, MS_BIND, NULL) < 0)
		return -1;
	*step = STEP_COVER;
	if (pl->cover[0] && cover(pl) < 0)
		return -1;
	*step = STEP_RDONLY;
	if (set_mount_attr("/", AT_RECURSIVE, ATTR_RDONLY, 0) < 0)
		return -1;
	*step = STEP_WRITABLE;
	if (mount(pl->writable, pl->writable, NULL, MS_BIND, NULL) < 0 ||
	    set_mount_attr(pl->writable, 0, ATTR_NOSUID | ATTR_NODEV, ATTR_RDONLY) < 0)
		return -1;
	*step = STEP_NO_NEW_PRIVS;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	*step = STEP_CAPS;
	for (size_t i = 0; sb->keep_root && i < sizeof(dropped_caps) / sizeof(*dropped_caps); i++)
		if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	return 0;
}

/* In the child, after chdir: become UID:GID for good. */
static int drop_root(const struct qi_sandbox *sb, int *step)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	/* Its own group as the one supplementary group, rather than none:
	 * djb's builds (chkshsgr) stop when getgroups(2) says none. */
	*step = STEP_SETGROUPS;
	if (setgroups(1, &sb->gid) < 0)
		return -1;
	*step = STEP_SETGID;
	if (setgid(sb->gid) < 0)
		return -1;
	if (getresgid(&gr, &ge, &gs) < 0 || gr != sb->gid || ge != sb->gid || gs != sb->gid) {
		errno = EPERM;
		return -1;
	}
	*step = STEP_SETUID;
	if (setuid(sb->uid) < 0)
		return -1;
	if (getresuid(&r, &e, &s) < 0 || r != sb->uid || e != sb->uid || s != sb->uid || setuid(0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* In the child: put the descriptors in place, go to CWD and become the
 * program, with async-signal-safe calls only. Returns only when that
 * failed, having said why on REPORT. */
static void child(const struct qi_proc_spec *spec, const struct child_fds *c,
		  const struct sandbox_plan *pl, int report)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	const struct qi_sandbox *sb = spec->sandbox;
	struct child_failure cf = { STEP_REDIRECT, 0 };
	if (dup2(c->in, STDIN_FILENO) < 0 ||
	    dup2(c->out >= 0 ? c->out : STDERR_FILENO, STDOUT_FILENO) < 0 ||
	    (c->err_too && dup2(c->out, STDERR_FILENO) < 0))
		goto fail;
	if (sb && isolate(sb, pl, &cf.step) < 0)
		goto fail;
	/* As root still: the way to CWD may be closed to the build user. */
	cf.step = STEP_CHROOT;
	if (c->procdir[0] && (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			      mount("proc", c->procdir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		goto fail;
	if (spec->chroot && (chroot(spec->chroot) < 0 || chdir("/") < 0))
		goto fail;
	cf.step = STEP_CHDIR;
	if (spec->cwd && chdir(spec->cwd) < 0)
		goto fail;
	if (sb && !sb->keep_root && drop_root(sb, &cf.step) < 0)
		goto fail;
	cf.step = STEP_EXEC;
	char *const *argv = (char *const *)spec->argv;
	char *const *env = sb ? (char *const *)pl->env : spec->env ? (char *const *)spec->env : environ;
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

enum limit_hit { LIMIT_NONE, LIMIT_OUTPUT, LIMIT_TIME };

/* What the child PID prints on CAPTURE (-1: nothing to read) into
 * SPEC's capture, until it closes it, within SPEC's capture_max and
 * timeout: past either, PID is killed and which one said. With a timeout
 * and nothing to read, waits for PID to end (it is not reaped). */
static enum limit_hit take_output(const struct qi_proc_spec *spec, int capture, pid_t pid, int *read_err)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	size_t max = spec->capture_max ? spec->capture_max : SIZE_MAX;
	char chunk[65536];
	bool capturing = capture >= 0;
	for (;;) {
		int wait_ms = -1;
		if (spec->timeout) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long long spent = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
			if (spent >= spec->timeout * 1000LL) {
				kill(pid, SIGKILL);
				return LIMIT_TIME;
			}
			wait_ms = (int)(spec->timeout * 1000LL - spent);
		}
		if (capture < 0) {
			/* nothing (more) to read: look at the child now and then */
			siginfo_t si = { 0 };
			int w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
			if ((w == 0 && si.si_pid == pid) || (w < 0 && errno != EINTR))
				break;
			poll(NULL, 0, wait_ms < 0 || wait_ms > 50 ? 50 : wait_ms);
			continue;
		}
		struct pollfd pfd = { .fd = capture, .events = POLLIN };
		int r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;	/* the time check above */
		ssize_t got = r < 0 ? -1 : read(capture, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*read_err = errno;
			return LIMIT_NONE;
		}
		if (got == 0) {
			/* the output ended: what is left is to wait, within the time */
			capture = -1;
			if (!spec->timeout)
				break;
			continue;
		}
		if (spec->capture->len + (size_t)got > max) {
			kill(pid, SIGKILL);
			return LIMIT_OUTPUT;
		}
		qi_buf_add(spec->capture, chunk, (size_t)got);
	}
	if (capturing && !spec->capture->data)
		qi_buf_add(spec->capture, "", 0);
	return LIMIT_NONE;
}

/* In qinstall: start the child, take what it reports and prints, reap it.
 * *status: its waitpid status, or -1 (with *cf filled) when it did not
 * become the program. */
static int spawn_wait(qi_handle *h, const struct qi_proc_spec *spec, struct child_fds *c,
		      const struct sandbox_plan *pl, struct child_failure *cf, int *status)
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
		child(spec, c, pl, report_w);
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
	enum limit_hit hit = LIMIT_NONE;
	if (n != (ssize_t)sizeof(*cf) && (c->capture >= 0 || spec->timeout))
		hit = take_output(spec, c->capture, pid, &read_err);
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
	if (hit != LIMIT_NONE) {
		char *label = spec->label ? qi_xstrdup(spec->label) : command_line(spec->argv);
		const char *hint = spec->hint && *spec->hint ? spec->hint : NULL;
		if (hit == LIMIT_OUTPUT)
			qi_error(h, "`%s` printed more than %zu bytes, more than qinstall takes from it: it was "
				 "stopped%s%s", label, spec->capture_max, hint ? "; " : "", hint ? hint : "");
		else
			qi_error(h, "`%s` did not end within %u s: it was stopped; see why it hangs%s%s", label,
				 spec->timeout, hint ? "; " : "", hint ? hint : "");
		free(label);
		if (spec->capture)
			qi_buf_free(spec->capture);
		*status = -1;
		return -1;
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

/* Why the child could not isolate itself, and what to do about it. */
static int not_isolated(qi_handle *h, const struct qi_proc_spec *spec, const struct child_failure *cf)
{
	const struct qi_sandbox *sb = spec->sandbox;
	static const char *const what[] = {
		[STEP_UNSHARE] = "unshare(2)",
		[STEP_PRIVATE] = "mount(2) making / private",
		[STEP_COVER] = "mount(2) of a tmpfs over the way to the build directory",
		[STEP_RDONLY] = "mount_setattr(2) making / read-only",
		[STEP_WRITABLE] = "mount(2) making the build directory writable",
		[STEP_NO_NEW_PRIVS] = "prctl(PR_SET_NO_NEW_PRIVS)",
		[STEP_CAPS] = "prctl(PR_CAPBSET_DROP)",
		[STEP_SETGROUPS] = "setgroups(2)",
	};
	const char *todo = "isolation needs CAP_SYS_ADMIN, which a container may withhold: run qinstall where it has it, or set 'isolate = no' in the profile's [build] section to build without isolation";
	if (cf->step == STEP_RDONLY && cf->err == ENOSYS)
		todo = "isolation needs Linux 5.12 or later; on an older kernel set 'isolate = no' in the profile's [build] section to build without isolation";
	else if (cf->step >= STEP_SETGROUPS)
		todo = "check the build user ('user' in the profile's [build] section)";
	errno = cf->err;
	if (cf->step == STEP_PASSWD || cf->step == STEP_GROUP)
		return qi_error_errno(h, "cannot isolate the build: mount(2) of %s over %s",
				      cf->step == STEP_PASSWD ? sb->passwd : sb->group,
				      cf->step == STEP_PASSWD ? "/etc/passwd" : "/etc/group");
	if (cf->step == STEP_SETGID || cf->step == STEP_SETUID)
		return qi_error(h, "cannot isolate the build: %s to %ld: %s; %s",
				cf->step == STEP_SETGID ? "setgid(2)" : "setuid(2)",
				cf->step == STEP_SETGID ? (long)sb->gid : (long)sb->uid, strerror(cf->err), todo);
	return qi_error(h, "cannot isolate the build: %s: %s; %s", what[cf->step], strerror(cf->err), todo);
}

/* The one wording of how a program ended that is not success. */
static int ended_badly(qi_handle *h, const struct qi_proc_spec *spec,
		       const struct child_failure *cf, int status)
{
	if (status == -1) {
		if (cf->step >= STEP_UNSHARE)
			return not_isolated(h, spec, cf);
		errno = cf->err;
		if (cf->step == STEP_CHDIR)
			return qi_error_errno(h, "cannot run %s in %s", spec->argv[0], spec->cwd);
		if (cf->step == STEP_CHROOT)
			return qi_error_errno(h, "cannot run %s chrooted into %s%s", spec->argv[0], spec->chroot,
					      spec->chroot_proc ? " (with a /proc of its own)" : "");
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
	if (spec->chroot && spec->chroot_proc &&
	    snprintf(c.procdir, sizeof(c.procdir), "%s/proc", spec->chroot) >= (int)sizeof(c.procdir))
		return qi_error(h, "cannot run %s: the path %s is too long", spec->argv[0], spec->chroot);
	/* Nothing of ours is allocated across the fork: in a child that
	 * never becomes the program, valgrind would call it lost. */
	char *argv = command_line(spec->argv);
	char *cmd = spec->cwd ? qi_xasprintf("cd %s && %s", spec->cwd, argv) : qi_xstrdup(argv);
	free(argv);
	qi_debug(h, "running %s%s", cmd, !spec->sandbox ? "" : spec->sandbox->keep_root ? " (isolated)" : " (isolated, as the build user)");
	struct sandbox_plan *pl = NULL;
	int rc = 0;
	if (spec->sandbox) {
		pl = qi_xmalloc(sizeof(*pl));
		rc = plan_sandbox(h, spec, pl);
	}
	if (rc == 0)
		rc = open_fds(h, spec, cmd, &c);
	free(cmd);
	if (rc == 0)
		rc = spawn_wait(h, spec, &c, pl, &cf, status);
	close_fds(&c);
	if (pl)
		plan_free(pl);
	free(pl);
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
