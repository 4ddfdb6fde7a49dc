/*
 * crashshim.c - a crash injector, preloaded into qinstall (LD_PRELOAD).
 *
 * It counts the process's mutating libc calls and kills the process with
 * SIGKILL just before the Nth one, as a crash or a power cut would stop it
 * between two system calls. Build: tests/lib/crashshim.so (journal.am).
 *
 * Interface (environment):
 *   QI_CRASH_AT=N       SIGKILL the process just before its Nth mutating
 *                       call (N >= 1). Unset or 0: never kill, only count.
 *   QI_CRASH_COUNT=FILE at a normal exit, write the total number of
 *                       mutating calls made (a decimal number and a
 *                       newline) to FILE: a run with QI_CRASH_COUNT and no
 *                       QI_CRASH_AT tells a test the range 1..total to try.
 *   QI_CRASH_TRACE=FILE append "N CALL" for every counted call (debugging:
 *                       which call a given N is).
 *   QI_CRASH_SELF_ONLY=1 only qinstall itself counts: the shim takes these
 *                       variables and LD_PRELOAD out of the environment at
 *                       start, so that the programs it runs (dpkg and its
 *                       maintainer scripts) run without it.
 *
 * Counted calls: open/open64/openat/openat64/creat with O_WRONLY, O_RDWR,
 * O_CREAT or O_TRUNC; openat2 through syscall(2) with those flags;
 * write/pwrite/pwrite64/writev on descriptors above 2 (not the terminal
 * logs); rename/renameat/renameat2; link/linkat; unlink/unlinkat/rmdir;
 * mkdir/mkdirat; symlink/symlinkat; mknod/mknodat; chmod/fchmod/fchmodat;
 * chown/lchown/fchown/fchownat; fsync/fdatasync/syncfs/sync;
 * ftruncate/ftruncate64. That covers what the journal and SQLite use.
 * Calls glibc makes inside itself (fopen, ...) are not seen, which does not
 * matter: every write qinstall makes goes through one of these.
 *
 * The count is deterministic for the same command on the same tree, so a
 * test copies a template tree afresh for each N.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/openat2.h>

static long crash_at = -1;	/* -1: not read yet */
static long calls;
static int busy;
static char count_file[4096], trace_file[4096];	/* with QI_CRASH_SELF_ONLY */
static int self_only;

static void init(void)
{
	const char *s = getenv("QI_CRASH_AT");
	crash_at = s ? atol(s) : 0;
}

static const char *var(const char *name, const char *kept)
{
	return self_only ? (kept[0] ? kept : NULL) : getenv(name);
}

__attribute__((constructor)) static void take_env(void)
{
	const char *s = getenv("QI_CRASH_SELF_ONLY");
	if (!s || strcmp(s, "1") != 0)
		return;
	init();
	s = getenv("QI_CRASH_COUNT");
	if (s)
		snprintf(count_file, sizeof(count_file), "%s", s);
	s = getenv("QI_CRASH_TRACE");
	if (s)
		snprintf(trace_file, sizeof(trace_file), "%s", s);
	self_only = 1;
	unsetenv("LD_PRELOAD");
	unsetenv("QI_CRASH_AT");
	unsetenv("QI_CRASH_COUNT");
	unsetenv("QI_CRASH_TRACE");
	unsetenv("QI_CRASH_SELF_ONLY");
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		static const char msg[] = "crashshim: a libc function is missing\n";
		ssize_t r = syscall(SYS_write, 2, msg, sizeof(msg) - 1);
		(void)r;
		abort();
	}
	return f;
}

/* Count one mutating call; die first when it is the chosen one. */
static void hit(const char *name)
{
	if (busy)
		return;
	if (crash_at < 0)
		init();
	calls++;
	const char *trace = var("QI_CRASH_TRACE", trace_file);
	if (trace) {
		busy = 1;
		char line[128];
		int n = snprintf(line, sizeof(line), "%ld %s\n", calls, name);
		int fd = (int)syscall(SYS_openat, AT_FDCWD, trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			ssize_t r = syscall(SYS_write, fd, line, (size_t)n);
			(void)r;
			syscall(SYS_close, fd);
		}
		busy = 0;
	}
	if (crash_at > 0 && calls == crash_at)
		syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

__attribute__((destructor)) static void report(void)
{
	const char *file = var("QI_CRASH_COUNT", count_file);
	if (!file)
		return;
	busy = 1;
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", calls);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t r = syscall(SYS_write, fd, line, (size_t)n);
		(void)r;
		syscall(SYS_close, fd);
	}
}

static int writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

#define MODE_ARG(flags) \
	mode_t mode = 0; \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	}

int open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	if (writes(flags))
		hit("open");
	return ((int (*)(const char *, int, mode_t))real("open"))(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	if (writes(flags))
		hit("open64");
	return ((int (*)(const char *, int, mode_t))real("open64"))(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	if (writes(flags))
		hit("openat");
	return ((int (*)(int, const char *, int, mode_t))real("openat"))(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	if (writes(flags))
		hit("openat64");
	return ((int (*)(int, const char *, int, mode_t))real("openat64"))(dirfd, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
	hit("creat");
	return ((int (*)(const char *, mode_t))real("creat"))(path, mode);
}

long syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_openat2 && a[2]) {
		const struct open_how *how = (const struct open_how *)a[2];
		if (writes((int)how->flags))
			hit("openat2");
	}
	return ((long (*)(long, ...))real("syscall"))(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd > 2)
		hit("write");
	return ((ssize_t (*)(int, const void *, size_t))real("write"))(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (fd > 2)
		hit("writev");
	return ((ssize_t (*)(int, const struct iovec *, int))real("writev"))(fd, iov, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	hit("pwrite");
	return ((ssize_t (*)(int, const void *, size_t, off_t))real("pwrite"))(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	hit("pwrite64");
	return ((ssize_t (*)(int, const void *, size_t, off64_t))real("pwrite64"))(fd, buf, n, off);
}

#define WRAP1(ret, name, t1) \
	ret name(t1 a) { hit(#name); return ((ret (*)(t1))real(#name))(a); }
#define WRAP2(ret, name, t1, t2) \
	ret name(t1 a, t2 b) { hit(#name); return ((ret (*)(t1, t2))real(#name))(a, b); }
#define WRAP3(ret, name, t1, t2, t3) \
	ret name(t1 a, t2 b, t3 c) { hit(#name); return ((ret (*)(t1, t2, t3))real(#name))(a, b, c); }
#define WRAP4(ret, name, t1, t2, t3, t4) \
	ret name(t1 a, t2 b, t3 c, t4 d) { hit(#name); return ((ret (*)(t1, t2, t3, t4))real(#name))(a, b, c, d); }
#define WRAP5(ret, name, t1, t2, t3, t4, t5) \
	ret name(t1 a, t2 b, t3 c, t4 d, t5 e) { hit(#name); return ((ret (*)(t1, t2, t3, t4, t5))real(#name))(a, b, c, d, e); }

WRAP2(int, rename, const char *, const char *)
WRAP4(int, renameat, int, const char *, int, const char *)
WRAP5(int, renameat2, int, const char *, int, const char *, unsigned int)
WRAP2(int, link, const char *, const char *)
WRAP5(int, linkat, int, const char *, int, const char *, int)
WRAP1(int, unlink, const char *)
WRAP3(int, unlinkat, int, const char *, int)
WRAP1(int, rmdir, const char *)
WRAP2(int, mkdir, const char *, mode_t)
WRAP3(int, mkdirat, int, const char *, mode_t)
WRAP2(int, symlink, const char *, const char *)
WRAP3(int, symlinkat, const char *, int, const char *)
WRAP3(int, mknod, const char *, mode_t, dev_t)
WRAP4(int, mknodat, int, const char *, mode_t, dev_t)
WRAP2(int, chmod, const char *, mode_t)
WRAP2(int, fchmod, int, mode_t)
WRAP4(int, fchmodat, int, const char *, mode_t, int)
WRAP3(int, chown, const char *, uid_t, gid_t)
WRAP3(int, lchown, const char *, uid_t, gid_t)
WRAP3(int, fchown, int, uid_t, gid_t)
WRAP5(int, fchownat, int, const char *, uid_t, gid_t, int)
WRAP1(int, fsync, int)
WRAP1(int, fdatasync, int)
WRAP1(int, syncfs, int)
WRAP2(int, ftruncate, int, off_t)
WRAP2(int, ftruncate64, int, off64_t)

void sync(void)
{
	hit("sync");
	((void (*)(void))real("sync"))();
}
