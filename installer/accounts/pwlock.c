/*
 * pwlock.c - shadow-utils' lock protocol for ROOT/etc/{passwd,group,
 * shadow,gshadow}, so that useradd, vipw, passwd and qinstall never edit
 * the same file at once.
 *
 * FILE.PID holds our pid (as text followed by a NUL byte, which is how
 * shadow-utils writes it, so that each side can read the other's lock);
 * link() makes it FILE.lock, atomically, and a link count of 2 proves the
 * link is ours even on file systems that report link() results loosely.
 * The lock files are the only thing qinstall writes into ROOT outside the
 * journal: they are transient, and removed on every path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <shadow.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"

/* The pid written in a lock file, or -1 when it holds none. */
static long read_lock_pid(int dirfd, const char *name)
{
	char buf[32];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long pid = strtol(buf, &end, 10);
	if (errno || end == buf || pid <= 0 || (*end && *end != '\n'))
		return -1;
	return pid;
}

static bool pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* An error about NAME (a lock file beside LK's file), with its host path
 * and errno's reason. */
static int lock_file_error(qi_handle *h, const struct qi_pwlock *lk, const char *what,
			   const char *name)
{
	int e = errno;
	size_t dirlen = strlen(lk->path) - strlen(lk->base);
	char *inside = qi_xasprintf("%.*s%s", (int)dirlen, lk->path, name);
	char *full = qi_root_path(h, inside);
	errno = e;
	qi_error_errno(h, "cannot lock %s: cannot %s %s", lk->path, what, full);
	free(inside);
	free(full);
	return -1;
}

/* One attempt: 1 taken, 0 busy (*holder set; -1 = unreadable), -1 error. */
static int try_lock(qi_handle *h, struct qi_pwlock *lk, const char *pidname,
		    const char *lockname, long *holder)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld", (long)getpid());
	int fd = openat(lk->dirfd, pidname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Left by an earlier process that had our pid: it is dead. */
		unlinkat(lk->dirfd, pidname, 0);
		fd = openat(lk->dirfd, pidname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return lock_file_error(h, lk, "create", pidname);
	if (qi_write_all(fd, text, (size_t)n + 1) < 0 || close(fd) < 0) {
		int e = errno;
		unlinkat(lk->dirfd, pidname, 0);
		errno = e;
		return lock_file_error(h, lk, "write", pidname);
	}
	int rc = linkat(lk->dirfd, pidname, lk->dirfd, lockname, 0);
	int e = errno;
	struct stat st;
	bool ours = fstatat(lk->dirfd, pidname, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink == 2;
	unlinkat(lk->dirfd, pidname, 0);
	if (rc == 0 || ours)
		return ours ? 1 : qi_error(h, "cannot lock %s: %s has an unexpected link count",
					   lk->path, lockname);
	if (e != EEXIST) {
		errno = e;
		return lock_file_error(h, lk, "make the lock (a link)", lockname);
	}
	*holder = read_lock_pid(lk->dirfd, lockname);
	return 0;
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

int qi_pwlock_take_interrupt(void)
{
	sigset_t set;
	struct timespec zero = { 0, 0 };
	stop_signals(&set);
	int sig = sigtimedwait(&set, NULL, &zero);
	return sig > 0 ? sig : 0;
}

void qi_pwlock_block_signals(sigset_t *old)
{
	sigset_t block;
	stop_signals(&block);
	sigprocmask(SIG_BLOCK, &block, old);
}

void qi_pwlock_restore_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

int qi_pwlock_acquire(qi_handle *h, struct qi_pwlock *lk, const char *path, int wait_ms)
{
	memset(lk, 0, sizeof(*lk));
	lk->dirfd = -1;
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return qi_error(h, "cannot lock '%s': not a file path", path);
	char *dir = slash == path ? qi_xstrdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		abort();
	lk->dirfd = qi_root_open(h, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	free(dir);
	if (lk->dirfd < 0)
		return qi_error_prefix(h, "cannot lock %s", path);
	lk->base = qi_xstrdup(slash + 1);
	lk->path = qi_xstrdup(path);

	char *pidname = qi_xasprintf("%s.%ld", lk->base, (long)getpid());
	char *lockname = qi_xasprintf("%s.lock", lk->base);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	long holder = -1, waited_for = -1;
	int rc;
	for (;;) {
		rc = try_lock(h, lk, pidname, lockname, &holder);
		if (rc != 0)
			break;
		if (holder > 0 && !pid_alive(holder)) {
			/* A stale lock: its process is gone. Take it over, but
			 * only if it still names the dead pid (another process
			 * may have taken it over first). */
			if (read_lock_pid(lk->dirfd, lockname) == holder) {
				char *file = qi_root_path(h, lk->path);
				qi_info(h, "removing the stale lock %s.lock of process %ld, which is no longer running",
					file, holder);
				free(file);
				unlinkat(lk->dirfd, lockname, 0);
			}
			continue;
		}
		int sig = qi_pwlock_take_interrupt();
		if (sig) {
			rc = qi_error(h, "interrupted by signal %d while waiting for %s to be unlocked",
				      sig, lk->path);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= wait_ms) {
			char *file = qi_root_path(h, lk->path);
			if (holder > 0)
				qi_error_kind(h, QI_ERR_LOCKED,
					      "%s is locked by process %ld (%s.lock): another tool "
					      "(useradd, vipw, passwd) is editing it; try again when it "
					      "has finished, or remove the lock if process %ld is not such a tool",
					      file, holder, file, holder);
			else
				qi_error_kind(h, QI_ERR_LOCKED,
					      "%s is locked (%s.lock holds no valid pid); if no tool "
					      "is editing it, remove the lock and try again", file, file);
			free(file);
			rc = -1;
			break;
		}
		if (holder != waited_for) {
			if (holder > 0)
				qi_info(h, "waiting for process %ld to unlock %s", holder, lk->path);
			else
				qi_info(h, "waiting for %s to be unlocked", lk->path);
			waited_for = holder;
		}
		struct timespec pause = { 0, 50 * 1000000L };
		nanosleep(&pause, NULL);
	}
	free(pidname);
	free(lockname);
	if (rc < 0) {
		qi_pwlock_release(lk);
		return -1;
	}
	lk->held = true;
	return 0;
}

void qi_pwlock_release(struct qi_pwlock *lk)
{
	if (lk->held) {
		char *lockname = qi_xasprintf("%s.lock", lk->base);
		unlinkat(lk->dirfd, lockname, 0);
		free(lockname);
		lk->held = false;
	}
	if (lk->dirfd >= 0)
		close(lk->dirfd);
	lk->dirfd = -1;
	free(lk->base);
	free(lk->path);
	lk->base = lk->path = NULL;
}

const struct qi_pwfile_def qi_pwfiles[QI_PWF_COUNT] = {
	[QI_PWF_PASSWD] = { "/etc/passwd", QI_PW_PASSWD, true },
	[QI_PWF_SHADOW] = { "/etc/shadow", QI_PW_SHADOW, false },
	[QI_PWF_GROUP] = { "/etc/group", QI_PW_GROUP, true },
	[QI_PWF_GSHADOW] = { "/etc/gshadow", QI_PW_GSHADOW, false },
};

int qi_pwlockset_acquire(qi_handle *h, struct qi_pwlockset *set, unsigned which, int wait_ms)
{
	memset(set, 0, sizeof(*set));
	qi_pwlock_block_signals(&set->old_mask);
	if (qi_root_is_host(h)) {
		if (lckpwdf() < 0) {
			int e = errno;
			qi_pwlock_restore_signals(&set->old_mask);
			errno = e;
			return qi_error_errno(h, "cannot take the system's password file lock "
					      "(/etc/.pwd.lock); another tool holds it: try again");
		}
		set->pwdf = true;
	}
	for (int f = 0; f < QI_PWF_COUNT; f++) {
		if (!(which & (1u << f)))
			continue;
		if (qi_pwlock_acquire(h, &set->locks[set->n], qi_pwfiles[f].path, wait_ms) < 0) {
			qi_pwlockset_release(set);
			return -1;
		}
		set->n++;
	}
	return 0;
}

int qi_pwlockset_release(struct qi_pwlockset *set)
{
	while (set->n > 0)
		qi_pwlock_release(&set->locks[--set->n]);
	if (set->pwdf)
		ulckpwdf();
	set->pwdf = false;
	int sig = qi_pwlock_take_interrupt();
	qi_pwlock_restore_signals(&set->old_mask);
	return sig;
}
