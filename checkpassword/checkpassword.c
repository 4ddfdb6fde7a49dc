/*
 * checkpassword.c - qinstall-checkpassword(8): the checkpassword
 * interface (D. J. Bernstein's) over the mail-only password file of
 * `qinstall mailuser` and, with --system, the system's shadow file.
 *
 * It reads "login\0password\0timestamp\0" (at most 512 bytes) from
 * descriptor 3, checks the password (libxcrypt, compared in constant
 * time), refuses root and uids below the minimum, becomes the mapped
 * system user and executes the next program with USER, HOME and SHELL
 * set, in HOME. qmail-smtpd-auth's CRAM-MD5 input,
 * "login\0challenge\0response\0", is checked against the user's
 * CRAM-MD5 secret instead (qi_checkpw_split tells them apart). Exit 1:
 * refused; 2: misuse; 111: temporary trouble.
 *
 * --check-only (qmail-smtpd-auth's checkprogram, run as qmaild): the
 * password is checked and the next program run as the caller, with USER
 * set. Installed setgid to a group that may read the password file (the
 * unix_chkpwd model), it drops that group before it runs the program, and
 * takes no --file, --system or environment overrides while it has it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"
#include "mailusers/pwfile.h"

#define PROG "qinstall-checkpassword"
#define CP_BAD 1
#define CP_USAGE 2
#define CP_TROUBLE 111
#define CP_INPUT_MAX 512
/* Checked against when the user is unknown, so that it costs as much as
 * a known one (the password "x" hashed with yescrypt). */
#define CP_DUMMY "$y$j9T$8.hGYRezPW94t2Nte/wQD1$qyYPkLAFJSiGJJQU0b5chKNgoRMbOeLsVqe2Y39hiJ0"
/* The same for CRAM-MD5: the secret of the password "x". */
#define CP_DUMMY_CRAM "4638c77f1a70c6fda4ddfa6fbe34e6ee090a0f0088f15da8fed5e0a5ff2b4152"

struct cp_conf {
	const char *file;	/* the password file */
	const char *etc;	/* where passwd and shadow are */
	long long min_uid;
	long delay_ms;		/* after a failure */
	bool system;		/* system users too */
	bool check_only;	/* run the program as the caller */
};

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

/* Whether the program runs with more privilege than its caller (setgid). */
static bool elevated(void)
{
	return getegid() != getgid() || geteuid() != getuid();
}

static long long env_num(const char *name, long long dflt)
{
	const char *v = secure_getenv(name);
	char *end;
	if (!v || !*v)
		return dflt;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	return errno || *end || n < 0 ? dflt : n;
}

/* Options before the program; the index of the program in ARGV. */
static int parse_args(int argc, char **argv, struct cp_conf *c)
{
	c->file = secure_getenv("QINSTALL_POPPASSWD");
	if (!c->file || !*c->file)
		c->file = QI_POP_DEFAULT_FILE;
	c->etc = secure_getenv("QINSTALL_CHECKPASSWORD_ETC");
	if (!c->etc || !*c->etc)
		c->etc = "/etc";
	c->min_uid = env_num("QINSTALL_CHECKPASSWORD_MIN_UID", QI_MAILUSER_MIN_UID);
	c->delay_ms = (long)env_num("QINSTALL_CHECKPASSWORD_DELAY_MS", 2000);
	c->system = false;
	c->check_only = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (strcmp(argv[i], "--check-only") == 0)
			c->check_only = true;
		else if (elevated())	/* setgid: no other file than the default */
			return -1;
		else if (strcmp(argv[i], "--system") == 0)
			c->system = true;
		else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			c->file = argv[++i];
		else if (strcmp(argv[i], "--min-uid") == 0 && i + 1 < argc)
			c->min_uid = atoll(argv[++i]);
		else
			return -1;
	}
	return i;
}

/* A whole file, bounded; -1 with the message printed. */
static int slurp(qi_handle *h, const char *path, const char *what, bool missing_ok,
		 char **data, size_t *len)
{
	struct stat st = { 0 };
	int src = stat(path, &st), serr = errno;
	if (src < 0 && serr == ENOENT && missing_ok) {
		*data = qi_xstrdup("");
		*len = 0;
		return 0;
	}
	if (src < 0 && serr != ENOENT) {	/* its owner and mode unknown: never read it */
		fail(0, "cannot look at the %s %s: %s", what, path, strerror(serr));
		return -1;
	}
	if (qi_input_read(h, QI_ERR_FAILED, path, what, QI_POP_MAX, data, len) < 0) {
		fail(0, "%s", qi_errmsg(h));
		return -1;
	}
	if (st.st_mode & 022 || (st.st_uid != 0 && st.st_uid != geteuid())) {
		free(*data);
		fail(0, "the %s %s is writable by others than root: chown root and chmod go-w it",
		     what, path);
		return -1;
	}
	return 0;
}

static void delay(const struct cp_conf *c)
{
	struct timespec ts = { c->delay_ms / 1000, (c->delay_ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct cp_user {
	char *hash, *home, *owner;
	char *cram;		/* the CRAM-MD5 secret, or NULL */
	long long uid, gid;
	char *shell;
};

/* OWNER's uid, gid and shell from ETC/passwd, and its shadow hash into
 * U->hash when WANT_HASH. 0, 1 (no such user) or -1 (trouble). */
static int system_user(qi_handle *h, const struct cp_conf *c, const char *owner, bool want_hash,
		       struct cp_user *u)
{
	char *path = qi_xasprintf("%s/passwd", c->etc), *data = NULL;
	size_t len;
	int rc = slurp(h, path, "passwd file", false, &data, &len);
	free(path);
	if (rc < 0)
		return -1;
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, data, len);
	free(data);
	const struct qi_pwline *l = qi_pwdb_find_name(&db, owner);
	if (l) {
		u->uid = l->id;
		u->gid = l->gid;
		u->shell = qi_xstrdup(l->fields[6][0] ? l->fields[6] : "/bin/sh");
		if (!u->home)
			u->home = qi_xstrdup(l->fields[5]);
	}
	qi_pwdb_free(&db);
	if (!l)
		return 1;
	if (!want_hash)
		return 0;
	path = qi_xasprintf("%s/shadow", c->etc);
	rc = slurp(h, path, "shadow file", false, &data, &len);
	free(path);
	if (rc < 0)
		return -1;
	qi_pwdb_parse(&db, QI_PW_SHADOW, data, len);
	explicit_bzero(data, len);
	free(data);
	l = qi_pwdb_find_name(&db, owner);
	if (l)
		u->hash = qi_xstrdup(l->fields[1]);
	for (size_t i = 0; i < db.n; i++)
		explicit_bzero(db.lines[i].raw, db.lines[i].rawlen);
	qi_pwdb_free(&db);
	return 0;
}

/* LOGIN's hash, home and system user: 0, 1 (unknown) or -1 (trouble). */
static int find_user(qi_handle *h, const struct cp_conf *c, const char *login, struct cp_user *u)
{
	char *data;
	size_t len;
	if (slurp(h, c->file, "password file", c->system, &data, &len) < 0)
		return -1;
	struct qi_popline line;
	const struct qi_popline *l = qi_popdb_lookup(data, len, login, &line) ? &line : NULL;
	explicit_bzero(data, len);
	free(data);
	bool from_shadow = true;
	if (l) {
		u->owner = qi_xstrdup(l->owner);
		u->home = qi_xstrdup(l->home);
		from_shadow = strcmp(l->hash, QI_POP_SYSTEM) == 0;
		if (!from_shadow)
			u->hash = qi_xstrdup(l->hash);
		if (l->cram)
			u->cram = qi_xstrdup(l->cram);
	} else if (c->system) {
		u->owner = qi_xstrdup(login);
	}
	if (l)
		qi_popline_clear(&line);
	if (!u->owner)
		return 1;
	int rc = system_user(h, c, u->owner, from_shadow, u);
	if (rc == 1 && l)
		return fail(0, "%s's system user %s is not in %s/passwd", login, u->owner, c->etc), -1;
	return rc;
}

/* Become U (checked: no way back to root) and run ARGV in its home. */
static int become(const char *login, const struct cp_user *u, char **argv)
{
	gid_t gid = (gid_t)u->gid;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid((uid_t)u->uid) < 0)
		return fail(CP_TROUBLE, "cannot become uid %lld gid %lld: %s", u->uid, u->gid,
			    strerror(errno));
	if (getuid() != (uid_t)u->uid || geteuid() != (uid_t)u->uid || getgid() != gid ||
	    getegid() != gid || setuid(0) == 0)
		return fail(CP_TROUBLE, "the change to uid %lld did not hold", u->uid);
	if (setenv("USER", login, 1) < 0 || setenv("HOME", u->home, 1) < 0 ||
	    setenv("SHELL", u->shell, 1) < 0)
		return fail(CP_TROUBLE, "out of memory");
	if (chdir(u->home) < 0)
		return fail(CP_TROUBLE, "cannot enter %s's home %s: %s", login, u->home,
			    strerror(errno));
	execvp(argv[0], argv);
	return fail(CP_TROUBLE, "cannot run %s: %s", argv[0], strerror(errno));
}

/* --check-only: drop the setgid group for good, run ARGV as the caller. */
static int run_as_caller(const char *login, char **argv)
{
	gid_t gid = getgid();
	if (setresgid(gid, gid, gid) < 0 || getegid() != gid)
		return fail(CP_TROUBLE, "cannot drop the group %lld: %s", (long long)getegid(), strerror(errno));
	if (setenv("USER", login, 1) < 0)
		return fail(CP_TROUBLE, "out of memory");
	execvp(argv[0], argv);
	return fail(CP_TROUBLE, "cannot run %s: %s", argv[0], strerror(errno));
}

/* Read "login\0password\0timestamp\0" from descriptor 3. */
static int read_input(char *buf, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(3, buf + *len, CP_INPUT_MAX + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno == EBADF ? CP_USAGE : CP_TROUBLE,
				    "cannot read descriptor 3 (login, password, timestamp): %s",
				    strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len > CP_INPUT_MAX)
			return fail(CP_USAGE, "more than %d bytes on descriptor 3", CP_INPUT_MAX);
	}
	close(3);
	buf[*len] = '\0';
	return 0;
}

/* Whether IN's password (or CRAM-MD5 response) is right for U (FOUND:
 * 0 known, 1 unknown); *TROUBLE when it could not be checked. An unknown
 * user, or one without a CRAM-MD5 secret, costs what a known one does. */
static bool check(const struct qi_checkpw_input *in, int found, const struct cp_user *u,
		  bool *trouble)
{
	*trouble = false;
	if (in->cram) {
		bool have = found == 0 && u->cram;
		return qi_cram_verify(have ? u->cram : CP_DUMMY_CRAM, in->secret, in->secretlen,
				      in->rest) && have;
	}
	if (in->cram_swapped) {
		/* tls-smtpauth's order: the response, then the challenge. A
		 * 32-digit password with a POP3 timestamp looks the same, so
		 * that is checked as a password too. */
		bool have = found == 0 && u->cram;
		if (qi_cram_verify(have ? u->cram : CP_DUMMY_CRAM, in->rest, strlen(in->rest), in->secret) &&
		    have)
			return true;
	}
	bool have = found == 0 && u->hash;
	return qi_pop_verify(in->secret, have ? u->hash : CP_DUMMY, trouble) && have;
}

static void wipe(char **s)
{
	if (*s)
		explicit_bzero(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

/* yescrypt needs about 16 MiB of its own, more than qmail-smtpd's
 * softlimit -m leaves (12 MB: the CVE-2005-1513 class). softlimit sets
 * only the soft limits, so this program raises its own to what hashing
 * needs (never past the hard limit), and puts them back before it runs
 * the next program, which so runs under the service's bound. */
#define CP_HASH_MEMORY ((rlim_t)64 << 20)
static const int cp_limits[] = { RLIMIT_AS, RLIMIT_DATA };
#define CP_NLIMITS (sizeof(cp_limits) / sizeof(cp_limits[0]))

static void room_for_hashing(struct rlimit saved[CP_NLIMITS])
{
	for (size_t i = 0; i < CP_NLIMITS; i++) {
		struct rlimit r;
		if (getrlimit(cp_limits[i], &r) < 0) {
			saved[i].rlim_cur = saved[i].rlim_max = RLIM_INFINITY;
			continue;
		}
		saved[i] = r;
		if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < CP_HASH_MEMORY) {
			r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max > CP_HASH_MEMORY ? CP_HASH_MEMORY
												: r.rlim_max;
			setrlimit(cp_limits[i], &r);
		}
	}
}

static bool restore_limits(const struct rlimit saved[CP_NLIMITS])
{
	bool ok = true;
	for (size_t i = 0; i < CP_NLIMITS; i++)
		if (saved[i].rlim_cur != RLIM_INFINITY && setrlimit(cp_limits[i], &saved[i]) < 0)
			ok = false;
	return ok;
}

int main(int argc, char **argv)
{
	struct rlimit limits[CP_NLIMITS];
	room_for_hashing(limits);
	struct cp_conf c;
	char buf[CP_INPUT_MAX + 2];
	size_t len;
	int prog = parse_args(argc, argv, &c);
	if (prog < 0 || prog >= argc)
		return fail(CP_USAGE, "usage: " PROG " [--check-only] [--system] [--file FILE] [--min-uid N] "
			    "PROGRAM [ARG...], with login\\0password\\0timestamp\\0 on descriptor 3");
	int rc = read_input(buf, &len);
	if (rc)
		return rc;
	struct qi_checkpw_input in;
	if (!qi_checkpw_split(buf, len, &in))
		return fail(CP_USAGE, "descriptor 3 holds no login\\0password\\0");
	char login[CP_INPUT_MAX + 1];
	memcpy(login, in.login, strlen(in.login) + 1);
	qi_handle *h = qi_new();
	struct cp_user u = { .uid = -1, .gid = -1 };
	int found = login[0] ? find_user(h, &c, login, &u) : 1;
	bool ok = false;
	if (found < 0) {
		rc = CP_TROUBLE;
	} else {
		bool trouble = false;
		ok = check(&in, found, &u, &trouble);
		explicit_bzero(buf, sizeof(buf));
		if (ok && (u.uid <= 0 || u.uid < c.min_uid)) {
			fail(0, "%s is refused: its system user %s has uid %lld (root is always "
			     "refused, and uids below %lld)", login, u.owner, u.uid, c.min_uid);
			ok = false;
		}
		if (trouble) {
			rc = fail(CP_TROUBLE, "out of memory checking the password of %s (yescrypt needs "
				  "about 16 MiB, and the hard memory limit is below that: raise the service's limits)", login);
		} else if (!ok) {
			delay(&c);
			rc = CP_BAD;
		} else {
			if (!restore_limits(limits))
				rc = fail(CP_TROUBLE, "cannot put the service's memory limits back for %s: %s", login,
					  strerror(errno));
			else
				rc = c.check_only ? run_as_caller(login, argv + prog) : become(login, &u, argv + prog);
		}
	}
	explicit_bzero(buf, sizeof(buf));
	wipe(&u.hash);
	wipe(&u.cram);
	free(u.home);
	free(u.owner);
	free(u.shell);
	qi_free(h);
	return rc;
}
