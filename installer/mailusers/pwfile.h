/*
 * pwfile.h - the mail-only password file (pwfile.c), shared by
 * `qinstall mailuser`, qinstall-checkpassword and the tests; the qmail
 * assign file and its users/cdb (assign.c).
 *
 * The password file has the seed guide's poppasswd layout, one line per
 * user:
 *
 *     login:hash:system user:mail home
 *
 * HASH is a crypt(3) hash (yescrypt, SHA-512, SHA-256, MD5, DES) or the
 * word "system": the password is the system user's own, in shadow. Lines
 * that are not such an entry (comments, blank lines, malformed lines) are
 * kept byte for byte, as passwd.c keeps them.
 *
 * A user with CRAM-MD5 (an opt-in) has, on the line directly after its
 * entry, a line that every reader of the four-field layout takes for a
 * comment:
 *
 *     #cram-md5:login:tag:secret
 *
 * SECRET is 64 hex digits, HMAC-MD5's outer and inner MD5 states keyed
 * with the password (cram.c); TAG is the first 16 hex digits of the
 * SHA-256 of the entry's HASH field, so that a secret outlives no change
 * of the hash (a new password or a lock written by a tool that knows
 * nothing of the line): then it is stale and ignored. A line of that
 * shape anywhere else is a comment too.
 */
#ifndef QI_PWFILE_H
#define QI_PWFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qinstall.h"
#include "core/core.h"

#define QI_POP_DEFAULT_FILE "/var/qmail/users/poppasswd"
#define QI_POP_MAX ((size_t)4 << 20)	/* the password file's bound */
#define QI_POP_SYSTEM "system"		/* HASH: the system user's password */
#define QI_POP_NAME_MAX 32

struct qi_popline {
	char *raw;		/* exact bytes, terminator included */
	size_t rawlen;
	bool entry;		/* a well-formed entry */
	char *login, *hash, *owner, *home;	/* entries only (malloc'd copies) */
	char *first;		/* first field of any line with a ':', or NULL */
	char *cram;		/* entries: the CRAM-MD5 secret of the next line
				 * when its tag matches HASH, else NULL */
	char *comp_login;	/* a "#cram-md5:" line: its login, tag, secret */
	char *comp_tag, *comp_secret;
};

struct qi_popdb {
	struct qi_popline *lines;
	size_t n, cap;
};

#define QI_CRAM_PREFIX "#cram-md5:"
#define QI_CRAM_SECRET_HEX 64
#define QI_CRAM_TAG_HEX 16

/* Split DATA (any bytes) into DB; never fails on content. */
void qi_popdb_parse(struct qi_popdb *db, const char *data, size_t len);
void qi_popdb_free(struct qi_popdb *db);
char *qi_popdb_serialize(const struct qi_popdb *db, size_t *len);
/* What qi_popdb_parse + qi_popdb_find give, without parsing the other
 * lines (a login on a file of thousands of users): *OUT is the first
 * entry of LOGIN (free it with qi_popline_clear), or false. */
bool qi_popdb_lookup(const char *data, size_t len, const char *login, struct qi_popline *out);
void qi_popline_clear(struct qi_popline *l);
/* The first entry of LOGIN, or NULL. */
const struct qi_popline *qi_popdb_find(const struct qi_popdb *db, const char *login);
/* Any line whose first field is LOGIN (a malformed one too), or NULL. */
const struct qi_popline *qi_popdb_find_any(const struct qi_popdb *db, const char *login);
/* Replace LOGIN's entry (its line rewritten, the others untouched) or
 * append one (a newline added first to a last line without one). The
 * fields must have passed qi_mailuser_name_check / hold no ':' or
 * newline. Every "#cram-md5:LOGIN:" line goes: the hash changed. */
void qi_popdb_set(struct qi_popdb *db, const char *login, const char *hash, const char *owner,
		  const char *home);
/* Give LOGIN's entry (which must exist) the CRAM-MD5 SECRET (64 hex
 * digits), on the line after it, tagged with its hash; NULL: none. Every
 * other "#cram-md5:LOGIN:" line goes. */
void qi_popdb_set_cram(struct qi_popdb *db, const char *login, const char *secret);
/* Remove LOGIN's entry and its "#cram-md5:LOGIN:" lines; false when
 * there was no entry. */
bool qi_popdb_remove(struct qi_popdb *db, const char *login);

/* Whether NAME may be a mail user's login: 1 to 32 of a-z 0-9 . _ -,
 * not starting with '.' or '-' (qmail folds local parts to lower case,
 * and a '-' starts an extension). -1 with a usage error naming what is
 * wrong ('/', ':', a newline, upper case, ...). */
int qi_mailuser_name_check(qi_handle *h, const char *name);

/* PASSWORD against the crypt(3) hash HASH (libxcrypt's crypt_rn), the
 * result compared in constant time. False for a locked or empty hash
 * ("*", "!..."), or one libxcrypt does not know. When the hash could
 * not be computed for want of memory (yescrypt needs about 16 MiB: a
 * tight softlimit), *TROUBLE (may be NULL) is set: a temporary failure,
 * not a wrong password. */
bool qi_pop_verify(const char *password, const char *hash, bool *trouble);
/* A new yescrypt hash of PASSWORD (malloc'd). */
int qi_pop_hash(qi_handle *h, const char *password, char **hash);

/* CRAM-MD5 (cram.c). The secret of PASSWORD: lowercase hex of the MD5
 * states after HMAC-MD5's outer pad block, then after its inner one
 * (RFC 2104's key rule: a password longer than 64 bytes is keyed by its
 * MD5). It does not reveal the password, but answers every challenge. */
int qi_cram_secret(qi_handle *h, const char *password, char secret[QI_CRAM_SECRET_HEX + 1]);
/* Whether RESPONSE is the hex (either case) HMAC-MD5 of CHALLENGE
 * (CHLEN bytes) under SECRET, compared in constant time. False for a
 * NULL or malformed SECRET and a RESPONSE that is not 32 hex digits. */
bool qi_cram_verify(const char *secret, const char *challenge, size_t chlen, const char *response);
/* The tag binding a secret to HASH (the entry's second field); "" when
 * SHA-256 could not be computed (then no tag matches). */
void qi_cram_tag(const char *hash, char tag[QI_CRAM_TAG_HEX + 1]);

/* What a checkpassword program reads on descriptor 3 (at most LEN bytes
 * of BUF, which holds a NUL at BUF[LEN]): "login\0password\0rest" where
 * REST runs to the next NUL or the end: qmail-popup's timestamp, or
 * nothing (qmail-smtpd-auth's LOGIN and PLAIN). qmail-smtpd-auth's
 * CRAM-MD5 sends "login\0challenge\0response\0": REST exactly 32 hex
 * digits (no timestamp is) makes it CRAM, SECRET being the challenge.
 * False when there is no login\0password\0. */
struct qi_checkpw_input {
	const char *login;
	const char *secret;	/* the password, or the CRAM-MD5 challenge */
	size_t secretlen;
	const char *rest;	/* the timestamp, or the CRAM-MD5 response */
	bool cram;
};
bool qi_checkpw_split(const char *buf, size_t len, struct qi_checkpw_input *in);

/* ------------------------------------------------------------------ */
/* qmail's users/assign and users/cdb (assign.c)                        */
/* ------------------------------------------------------------------ */

/* The lines of ASSIGN (qmail-users(5)) without NAME's two lines
 * ("=NAME:" and "+NAME-:") and without the final "." line; then, when
 * ADD, NAME's two lines for OWNER (UID, GID) and HOME; then ".". The
 * other lines are kept byte for byte. Malloc'd. */
char *qi_assign_edit(const char *assign, size_t len, const char *name, bool add,
		     const char *owner, long long uid, long long gid, const char *home,
		     size_t *outlen);
/* users/cdb as qmail-newu(8) compiles ASSIGN: "!local\0" for "=local:",
 * "!prefix" for "+prefix:", each with "user\0uid\0gid\0home\0dash\0ext";
 * and "" with the wildcard characters. -1 with the reason (a malformed
 * line, named by number) on H. */
int qi_assign_cdb(qi_handle *h, const char *assign, size_t len, char **cdb, size_t *cdblen);

/* A cdb (D. J. Bernstein's constant database) made in memory (assign.c),
 * for users/cdb and control/validrcptto.cdb: start, add the records,
 * finish; the file is then M->out (free it with qi_buf_free). */
struct qi_cdb_rec {
	uint32_t hash, pos;
};
struct qi_cdb_make {
	struct qi_buf out;
	struct qi_cdb_rec *recs;
	size_t n, cap;
};
void qi_cdb_start(struct qi_cdb_make *m);
void qi_cdb_add(struct qi_cdb_make *m, const char *key, size_t klen, const char *data, size_t dlen);
void qi_cdb_finish(struct qi_cdb_make *m);

/* validrcptto.cdb's keys (validrcptto.c), from the texts: DOMAINS
 * (control/locals or control/me: a domain a line), the password file PW,
 * the names of ~alias's .qmail-* files (ALIASES, NULL-terminated, without
 * the ".qmail-"), LOCAL (control/validrcptto.local, or NULL). A sorted,
 * de-duplicated, NULL-terminated array (free with qi_strv_free); -1 with
 * a message when there is no domain. */
int qi_validrcptto_keys(qi_handle *h, const char *domains, const char *pw, size_t pwlen,
			const char *const *aliases, const char *local, char ***keys);
void qi_strv_free(char **v);

#endif
