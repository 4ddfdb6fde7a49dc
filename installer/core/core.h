/*
 * core/core.h - what the library's modules share with one another and with
 * their unit tests, but not with the front end: the handle's insides, small
 * helpers, child processes, paths inside ROOT, the description of a
 * file-system object, and hashing.
 */
#ifndef QI_CORE_H
#define QI_CORE_H

#include "qinstall.h"

struct qi_journal;	/* journal/ */

/* The library's own undo handlers and guards, registered once per process
 * by qi_new (journal/rollback.c), so that every handle has them whichever
 * of the library's modules a program links; each module registers its own: */
void qi_journal_register_builtin(void);
void qi_accounts_register(void);	/* accounts.c: the passwd files' guard */
void qi_services_register(void);	/* services.c: systemd's undo handlers */

struct qi_handle {
	char *root;		/* normalised absolute path, "/" for the host */
	int rootfd;		/* O_PATH|O_DIRECTORY descriptor of root, or -1 */
	char *cache_dir;
	char *data_dir;

	bool check, diff, assume_yes;
	int verbosity;

	enum qi_errkind errkind;
	char errmsg[4096];

	bool changed;
	char *msg;
	json_t *result;		/* command-specific keys */
	json_t *warnings;	/* array of strings */
	json_t *diff_before;	/* string builders, NULL until used */
	json_t *diff_after;

	struct qi_journal *journal;	/* owned by journal/journal.c */
	void (*journal_free)(struct qi_handle *h);	/* set by journal/journal.c */
};

/* Growing byte buffer. */
struct qi_buf {
	char *data;
	size_t len, cap;
};
int qi_buf_add(struct qi_buf *b, const void *data, size_t len);
int qi_buf_addf(struct qi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qi_buf_free(struct qi_buf *b);
/* Append everything FD has, to its end, to B (whose data is then never
 * NULL). 0, or -1 with errno set and B freed. FD stays open. */
int qi_buf_read_fd(struct qi_buf *b, int fd);
/* The same, failing with errno EFBIG (B freed) past MAX bytes. */
int qi_buf_read_fd_max(struct qi_buf *b, int fd, size_t max);

/* Input files (input.c): what qi_read_input does for a PATH ("-" is a
 * file's name here, not standard input), with KIND the kind of its errors
 * (QI_ERR_USAGE for a file the user named, QI_ERR_FAILED for one qinstall
 * found, such as a series file inside an archive). PATH is
 * opened with O_NONBLOCK|O_NOCTTY, must be a regular file and is read to
 * at most MAX bytes (0: QI_INPUT_MAX). qi_input_read_fd does the same on
 * FD, opened with O_NONBLOCK (a file inside ROOT), named NAME in messages;
 * LEN may be NULL. qi_input_check only opens PATH and checks it (MAX 0:
 * any size), for content that is streamed later. */
#define QI_PROFILE_MAX ((size_t)1 << 20)	/* a profile, each include */
#define QI_SERIES_MAX ((size_t)1 << 20)		/* a quilt series file */
int qi_input_read(qi_handle *h, enum qi_errkind kind, const char *path, const char *what,
		  size_t max, char **data, size_t *len);
int qi_input_read_fd(qi_handle *h, enum qi_errkind kind, int fd, const char *what, const char *name,
		     size_t max, char **data, size_t *len);
int qi_input_check(qi_handle *h, enum qi_errkind kind, const char *path, const char *what,
		   size_t max);
/* What MODE is, for messages: "a FIFO", "a directory", "a symbolic link". */
const char *qi_file_type_name(mode_t mode);

/* Small helpers. */
void *qi_xmalloc(size_t n);	/* aborts on out-of-memory: nothing sane to do */
void *qi_xrealloc(void *p, size_t n);
char *qi_xstrdup(const char *s);
char *qi_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all of LEN bytes / read to EOF, retrying on EINTR. */
int qi_write_all(int fd, const void *buf, size_t len);
/* fsync a directory by path (host path). */
int qi_fsync_dir_path(const char *dir);

/* ------------------------------------------------------------------ */
/* Child processes (process.c)                                          */
/* ------------------------------------------------------------------ */

/* Where a child's standard output goes: never qinstall's own stdout, which
 * carries exactly one JSON object under --json. */
enum qi_proc_output {
	QI_PROC_DISCARD = 0,	/* /dev/null */
	QI_PROC_STDERR,		/* qinstall's stderr: shown to the user */
	QI_PROC_LOG,		/* appended to LOG, the child's stderr too */
	QI_PROC_CAPTURE,	/* appended to CAPTURE */
};

/* An isolated program (the component builds): it runs in a mount
 * namespace of its own where every mount is read-only except WRITABLE
 * (and below it), in a network namespace of its own (no network), with
 * no new privileges, and as UID:GID unless KEEP_ROOT; TMPDIR is
 * WRITABLE/.tmp (created). See process.c for the details. */
struct qi_sandbox {
	const char *writable;	/* host directory: the only place the program may write (and below it) */
	bool keep_root;		/* run as root (an install program that must chown); otherwise as UID:GID */
	uid_t uid;		/* the unprivileged build user (ignored with keep_root) */
	gid_t gid;
	const char *passwd;	/* a host file shown to the program as /etc/passwd, or NULL */
	const char *group;	/* a host file shown as /etc/group, or NULL */
};

/* One program to run. Zero-initialised fields are the defaults. */
struct qi_proc_spec {
	const char *const *argv;	/* argv[0]: the program (a path, or a name with SEARCH_PATH) */
	const char *const *env;		/* the environment; NULL: qinstall's */
	const char *cwd;		/* the directory it runs in; NULL: qinstall's */
	bool search_path;		/* look argv[0] up in qinstall's PATH, as execvp(3) */
	const char *stdin_path;		/* its stdin; NULL: /dev/null */
	enum qi_proc_output output;
	const char *log;		/* QI_PROC_LOG: the file, created if need be */
	struct qi_buf *capture;		/* QI_PROC_CAPTURE: what it printed (NUL-terminated) */
	size_t capture_max;		/* QI_PROC_CAPTURE: when above 0, the program is killed
					 * once it printed more than this (an error saying so) */
	unsigned timeout;		/* seconds; when above 0, the program is killed after
					 * that long (an error saying so) */
	const char *label;		/* the command in messages, for ARGV and CWD
					 * ("apt-get source"); NULL: ARGV, " in CWD" */
	const char *hint;		/* after a failure's message ("see ..."); NULL: where the
					 * output went (above, or in LOG); "": nothing */
	bool keep_error;		/* leave the handle's error as it is (probes, best-effort
					 * calls: the caller reads *status and errno) */
	const struct qi_sandbox *sandbox;	/* NULL: not isolated */
	/* Descriptors of the caller's given to the program as its stdin and
	 * stdout when above 0 (instead of STDIN_PATH and OUTPUT): qmail-queue's
	 * message and envelope. They stay open in qinstall. */
	int in_fd, out_fd;
	const char *chroot;		/* chroot(2) there before CWD and the exec (an old
					 * MTA's tools, qmail-queue, in a ROOT that is not /) */
	bool chroot_proc;		/* and first, in a mount namespace of its own, a proc
					 * file system on CHROOT/proc (maintainer scripts
					 * need one); it is gone when the program ends */
};

/* Run SPEC's program and wait for it (waitpid retried on EINTR). The
 * child starts with no signal blocked and SIGPIPE at its default; its
 * stderr is qinstall's (or LOG). With QI_PROC_LOG the log first gets the
 * line "$ cd CWD && ARGV". Returns 0 when it exited 0; otherwise -1 with
 * one of these messages:
 *   cannot run PROG: REASON                 (it did not start: *status -1)
 *   `CMD` failed[ in CWD] (exit N)[; HINT]
 *   `CMD` was killed[ in CWD] by signal N (SIGNAME)[; HINT]
 *   cannot isolate the build: STEP: REASON; WHAT TO DO   (a sandbox: *status -1)
 *   `CMD` printed more than N bytes, ...; HINT             (CAPTURE_MAX: killed)
 *   `CMD` did not end within N s, ...; HINT                (TIMEOUT: killed)
 * *STATUS (may be NULL) gets the waitpid(2) status, or -1 when the program
 * did not run (errno then says why). */
int qi_proc_run(qi_handle *h, const struct qi_proc_spec *spec, int *status);

/* The build user (sandbox.c): NAME looked up in the host's passwd ("nobody"
 * when NAME is NULL), never root; its uid and primary gid. */
int qi_sandbox_user(qi_handle *h, const char *name, uid_t *uid, gid_t *gid);
/* Give the tree DIR (recursively, no symlink followed) to the build user,
 * so that a sandboxed build can write it. */
int qi_sandbox_chown_tree(qi_handle *h, const char *dir, uid_t uid, gid_t gid);

/* ------------------------------------------------------------------ */
/* Images: what one path looks like (fsroot.c)                          */
/* ------------------------------------------------------------------ */

enum qi_ftype {
	QI_FT_ABSENT = 0,
	QI_FT_REG,
	QI_FT_DIR,
	QI_FT_LNK,
	QI_FT_FIFO,
	QI_FT_OTHER,	/* device, socket: qinstall never makes or restores one */
};

struct qi_image {
	enum qi_ftype type;
	mode_t mode;		/* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	int64_t size;
	char hash[65];		/* sha256 of a regular file's content, "" otherwise */
	char *target;		/* a symlink's target (malloc'd), NULL otherwise */
};

const char *qi_ftype_name(enum qi_ftype t);
enum qi_ftype qi_ftype_parse(const char *s);
void qi_image_clear(struct qi_image *img);
void qi_image_copy(struct qi_image *dst, const struct qi_image *src);
/* Same type, mode, owner, content and target. */
bool qi_image_equal(const struct qi_image *a, const struct qi_image *b);
/* "regular 0644 0:0 12 bytes sha256 ab12…" for messages and --diff. */
char *qi_image_describe(const struct qi_image *img);

/* ------------------------------------------------------------------ */
/* Paths inside ROOT (fsroot.c)                                         */
/* ------------------------------------------------------------------ */

/* The one path normaliser: "//" collapsed, "." dropped, no trailing "/".
 * An absolute PATH comes out absolute ("/" for the top); with
 * QI_PATH_RELATIVE, PATH must be relative and comes out without a leading
 * "/" ("" for the top). ".." is refused unless QI_PATH_DOTDOT, which makes
 * it drop the component before it ("/.." is "/"; a relative path that
 * climbs out of its top is refused). Malloc'd, or NULL with errno EINVAL
 * (wrong kind of path, or a refused ".."); no length limit, no message. */
#define QI_PATH_RELATIVE 1u
#define QI_PATH_DOTDOT 2u
char *qi_path_normalise(const char *path, unsigned flags);
/* Canonical form of a path inside ROOT: absolute, no "//", no ".", no
 * trailing "/"; ".." is refused. Malloc'd, or NULL with the error set. */
char *qi_path_clean(qi_handle *h, const char *path);
/* The userspace resolution used when the kernel has no openat2 (and by the
 * tests): PATH opened with FLAGS relative to ROOTFD as if it were "/".
 * Returns an fd or -1 with errno set. */
int qi_root_walk(int rootfd, const char *path, int flags, mode_t mode);
/* Open the directory that holds PATH (O_PATH, resolved in ROOT) and point
 * *name at PATH's last component. PATH must be clean and not "/".
 * Returns the fd, or -1 with errno set and no message. */
int qi_root_parent(qi_handle *h, const char *path, const char **name);
/* The image of NAME in directory DIRFD (not followed). With WANT_HASH the
 * content of a regular file is hashed. Returns 0 (absent is not an error),
 * or -1 with errno set and no message. */
int qi_image_at(int dirfd, const char *name, bool want_hash, struct qi_image *img);
/* The same for a clean PATH inside ROOT; a missing parent means absent. */
int qi_image_path(qi_handle *h, const char *path, bool want_hash, struct qi_image *img);

/* ------------------------------------------------------------------ */
/* Hashing (digest.c): the one SHA-256 / SHA-512 implementation         */
/* ------------------------------------------------------------------ */

/* Streaming, with libcrypto's EVP interface. */
struct qi_digest {
	void *sha256;		/* EVP_MD_CTX *, or NULL when not wanted */
	void *sha512;
	int64_t bytes;		/* bytes fed so far */
};

/* Start hashing; SHA-256 and/or SHA-512 as asked (at least one). */
int qi_digest_init(qi_handle *h, struct qi_digest *d, bool sha256, bool sha512);
int qi_digest_update(qi_handle *h, struct qi_digest *d, const void *data, size_t len);
/* The same without a handle, for another thread: -1 (no message) on failure. */
int qi_digest_feed(struct qi_digest *d, const void *data, size_t len);
/* Finish: lowercase hex into HEX256 / HEX512 (left "" when not computed). */
int qi_digest_final(qi_handle *h, struct qi_digest *d,
		    char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1]);
/* Start again from zero bytes (a download that restarts). */
int qi_digest_reset(qi_handle *h, struct qi_digest *d);
void qi_digest_free(struct qi_digest *d);
/* Feed the whole content read from FD (from its current offset to EOF). */
int qi_digest_fd(qi_handle *h, struct qi_digest *d, int fd, const char *name);
/* Hash a whole file; SIZE (may be NULL) gets its length. */
int qi_digest_file(qi_handle *h, const char *path, bool sha256, bool sha512,
		   char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1],
		   int64_t *size);
/* Built on the same code, without a handle (images of paths, the journal's
 * store): the SHA-256 of everything readable from FD, from its current
 * offset (SIZE, may be NULL, gets the bytes read), 0 or -1 with errno set;
 * and the SHA-256 of a buffer. */
int qi_sha256_fd(int fd, char hex[QI_SHA256_HEX + 1], int64_t *size);
void qi_sha256_buf(const void *data, size_t len, char hex[QI_SHA256_HEX + 1]);
/* N bytes of MD as lowercase hex into HEX (2N + 1 bytes). */
void qi_to_hex(const unsigned char *md, size_t n, char *hex);
/* True when S is exactly LEN hex digits. */
bool qi_is_hex(const char *s, size_t len);
/* Compare computed digests and size with SRC's pins; on a mismatch the
 * error names FILE and gives both the expected and the actual values. */
int qi_digest_check(qi_handle *h, const struct qi_source *src, const char *label,
		    const char *hex256, const char *hex512, int64_t size);

/* ------------------------------------------------------------------ */
/* Names (handle.c)                                                     */
/* ------------------------------------------------------------------ */

/* Does PATH have a ".." component (between slashes or at an end)? "a..b"
 * and "..x" are ordinary names; absolute or not is the caller's check. */
bool qi_path_has_dotdot(const char *path);

#endif
