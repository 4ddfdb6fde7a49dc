/*
 * mailusers.c - `qinstall mailuser`: mail-only POP3 users in the password
 * file of qinstall-checkpassword(8), their Maildirs, and qmail's delivery
 * to them (users/assign and users/cdb, assign.c); the import of system
 * users; the copy of qinstall-checkpassword into ROOT. Every change goes
 * through the journal, so `qinstall rollback` undoes a command.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"
#include "mailusers/pwfile.h"

#define QMAIL_HOME "/var/qmail"
#define ASSIGN "/var/qmail/users/assign"
#define ASSIGN_CDB "/var/qmail/users/cdb"
#define CONTROL_ME "/var/qmail/control/me"
#define DOT_QMAIL "./Maildir/\n"

struct mu {
	const char *pwpath;
	const char *owner;
	long long min_uid;
	struct qi_pwdb passwd;	/* ROOT's /etc/passwd */
	bool have_passwd;
	struct qi_popdb pop;
};

/* A system user of ROOT: uid, primary gid, home. */
struct mu_sys {
	long long uid, gid;
	const char *home;
};

static void mu_free(struct mu *m)
{
	if (m->have_passwd)
		qi_pwdb_free(&m->passwd);
	qi_popdb_free(&m->pop);
}

/* The options, ROOT's passwd and the password file (absent: empty; not
 * a regular file: refused). */
static int mu_load(qi_handle *h, const struct qi_mailuser_options *o, struct mu *m)
{
	memset(m, 0, sizeof(*m));
	m->pwpath = o && o->pwfile ? o->pwfile : QI_POP_DEFAULT_FILE;
	m->owner = o && o->owner ? o->owner : QI_MAILUSER_OWNER;
	m->min_uid = o && o->min_uid > 0 ? o->min_uid : QI_MAILUSER_MIN_UID;
	if (m->pwpath[0] != '/')
		return qi_error_kind(h, QI_ERR_USAGE, "the password file '%s' must be an absolute "
				     "path inside ROOT", m->pwpath);
	char *text = NULL;
	size_t len = 0;
	if (qi_root_read(h, "/etc/passwd", &text, &len) < 0)
		return qi_error_prefix(h, "the system users");
	qi_pwdb_parse(&m->passwd, QI_PW_PASSWD, text, len);
	m->have_passwd = true;
	free(text);
	struct stat st;
	if (qi_root_lstat(h, m->pwpath, &st) < 0) {
		if (errno != ENOENT)
			return qi_error_errno(h, "cannot look at the password file %s", m->pwpath);
		qi_popdb_parse(&m->pop, "", 0);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return qi_error_kind(h, QI_ERR_USAGE, "the password file %s is %s, not a regular "
				     "file: move it away or give --file", m->pwpath,
				     qi_file_type_name(st.st_mode));
	if ((size_t)st.st_size > QI_POP_MAX)
		return qi_error_kind(h, QI_ERR_USAGE, "the password file %s is larger than %zu "
				     "bytes", m->pwpath, QI_POP_MAX);
	if (qi_root_read(h, m->pwpath, &text, &len) < 0)
		return -1;
	qi_popdb_parse(&m->pop, text, len);
	free(text);
	return 0;
}

/* NAME's entry in ROOT's passwd, or -1 (an error when WANT). */
static int mu_sys_user(qi_handle *h, struct mu *m, const char *name, struct mu_sys *s)
{
	const struct qi_pwline *l = qi_pwdb_find_name(&m->passwd, name);
	if (!l)
		return qi_error_kind(h, QI_ERR_USAGE, "%s has no user %s in /etc/passwd: create "
				     "it (useradd -m %s) or give --owner USER", qi_root(h), name, name);
	s->uid = l->id;
	s->gid = l->gid;
	s->home = l->fields[5];
	return 0;
}

/* The owner of mail-only users: a system user that is not root, at or
 * above the minimum uid, with a home directory. */
static int mu_owner(qi_handle *h, struct mu *m, struct mu_sys *s)
{
	if (mu_sys_user(h, m, m->owner, s) < 0)
		return -1;
	if (s->uid == 0 || s->uid < m->min_uid)
		return qi_error_kind(h, QI_ERR_USAGE, "the owner %s has uid %lld, below %lld: "
				     "qinstall-checkpassword refuses such users; give a regular "
				     "user (--owner) or lower --min-uid", m->owner, s->uid, m->min_uid);
	struct stat st;
	if (s->home[0] != '/' || qi_root_lstat(h, s->home, &st) < 0 || !S_ISDIR(st.st_mode))
		return qi_error_kind(h, QI_ERR_USAGE, "the owner %s's home %s is not a directory "
				     "in %s: make it first", m->owner, s->home, qi_root(h));
	return 0;
}

/* DIR made (root's, 0755, with its parents) only when it is missing: an
 * existing one keeps its owner and mode (qmail's users/ is root:qmail,
 * as hier.c makes it). */
static int mkdir_missing(qi_handle *h, const char *dir)
{
	struct stat st;
	if (!dir[0] || qi_root_lstat(h, dir, &st) == 0)
		return 0;
	return qi_mkdir_p(h, dir, 0755, 0, 0);
}

/* The password file, 0600 root; or 0640 root:GROUP when it is so already
 * (provision made it readable by the SMTP service's setgid checkpassword
 * program). Then control/validrcptto.cdb again, when there is one. */
static int mu_write_pop(qi_handle *h, struct mu *m)
{
	size_t len;
	char *data = qi_popdb_serialize(&m->pop, &len);
	char *dir = qi_xstrdup(m->pwpath);
	*strrchr(dir, '/') = '\0';
	struct stat st;
	bool grouped = qi_root_lstat(h, m->pwpath, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
		       (st.st_mode & 07777) == 0640;
	int rc = mkdir_missing(h, dir);
	if (rc == 0)
		rc = qi_write_file(h, m->pwpath, data, len, grouped ? 0640 : 0600, 0, grouped ? st.st_gid : 0);
	if (rc == 0)
		rc = qi_validrcptto_update(h, QMAIL_HOME, m->pwpath, NULL, true);
	free(dir);
	free(data);
	return rc;
}

/* users/assign with NAME's lines in (ADD) or out, and users/cdb. */
static int mu_write_assign(qi_handle *h, const char *name, bool add, const char *owner,
			   const struct mu_sys *s, const char *home)
{
	char *old = NULL, *cdb = NULL;
	size_t oldlen = 0, len, cdblen;
	struct stat st;
	if (qi_root_lstat(h, ASSIGN, &st) == 0 && qi_root_read(h, ASSIGN, &old, &oldlen) < 0)
		return -1;
	char *assign = qi_assign_edit(old ? old : "", oldlen, name, add, owner,
				      s ? s->uid : 0, s ? s->gid : 0, home, &len);
	int rc = qi_assign_cdb(h, assign, len, &cdb, &cdblen);
	if (rc < 0)
		qi_error_prefix(h, "%s", qi_root_path(h, ASSIGN));
	if (rc == 0)
		rc = mkdir_missing(h, "/var/qmail/users");
	if (rc == 0)
		rc = qi_write_file(h, ASSIGN, assign, len, 0644, 0, 0);
	if (rc == 0)
		rc = qi_write_file(h, ASSIGN_CDB, cdb, cdblen, 0644, 0, 0);
	free(old);
	free(assign);
	free(cdb);
	return rc;
}

/* HOME/Maildir/{tmp,new,cur}, 0700, owned by UID:GID. */
static int mu_maildir(qi_handle *h, const char *home, long long uid, long long gid)
{
	static const char *const sub[] = { "", "/tmp", "/new", "/cur" };
	for (size_t i = 0; i < 4; i++) {
		char *p = qi_xasprintf("%s/Maildir%s", home, sub[i]);
		int rc = qi_mkdir(h, p, 0700, (uid_t)uid, (gid_t)gid);
		free(p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static char *read_domain(qi_handle *h)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	if (qi_root_lstat(h, CONTROL_ME, &st) < 0 || qi_root_read(h, CONTROL_ME, &text, &len) < 0) {
		qi_clear_error(h);
		qi_error_kind(h, QI_ERR_USAGE, "%s has no %s (the mail domain): provision qmail "
			      "first (qinstall provision --domain DOMAIN)", qi_root(h), CONTROL_ME);
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (!text[0]) {
		free(text);
		qi_error_kind(h, QI_ERR_USAGE, "%s in %s is empty: write the mail domain there",
			      CONTROL_ME, qi_root(h));
		return NULL;
	}
	return text;
}

static int check_password(qi_handle *h, const char *password)
{
	if (!password || !password[0])
		return qi_error_kind(h, QI_ERR_USAGE, "the password is empty: give one on "
				     "standard input");
	if (strlen(password) > 256)
		return qi_error_kind(h, QI_ERR_USAGE, "the password is longer than 256 bytes "
				     "(qmail-popup passes at most 512 bytes for login and password)");
	return 0;
}

/* NAME's CRAM-MD5 secret from PASSWORD when WANT, else none; the
 * result's "cram_md5". */
static int mu_cram(qi_handle *h, struct mu *m, const char *name, const char *password, bool want)
{
	char secret[QI_CRAM_SECRET_HEX + 1] = "";
	if (want && qi_cram_secret(h, password, secret) < 0)
		return -1;
	qi_popdb_set_cram(&m->pop, name, want ? secret : NULL);
	explicit_bzero(secret, sizeof(secret));
	json_object_set_new(qi_result(h), "cram_md5", json_boolean(want));
	return 0;
}

int qi_mailuser_add(qi_handle *h, const struct qi_mailuser_options *o, const char *name,
		    const char *password)
{
	struct mu m = { 0 };
	struct mu_sys s = { 0 };
	char *domain = NULL, *home = NULL, *hash = NULL;
	int rc = -1;
	if (qi_mailuser_name_check(h, name) < 0 || check_password(h, password) < 0 ||
	    mu_load(h, o, &m) < 0)
		goto out;
	if (!(domain = read_domain(h)) || mu_owner(h, &m, &s) < 0)
		goto out;
	if (qi_popdb_find_any(&m.pop, name)) {
		qi_error_kind(h, QI_ERR_USAGE, "%s is already in the password file %s: change its "
			      "password with `qinstall mailuser passwd %s`", name, m.pwpath, name);
		goto out;
	}
	if (qi_pwdb_find_name(&m.passwd, name)) {
		qi_error_kind(h, QI_ERR_USAGE, "%s is a system user of %s: qmail delivers to its "
			      "home already; `qinstall mailuser import` lets it use POP3", name,
			      qi_root(h));
		goto out;
	}
	home = qi_xasprintf("%s/%s", strcmp(s.home, "/") ? s.home : "", name);
	if (qi_pop_hash(h, password, &hash) < 0)
		goto out;
	qi_popdb_set(&m.pop, name, hash, m.owner, home);
	if (mu_cram(h, &m, name, password, o && o->cram_md5 > 0) < 0)
		goto out;
	if (qi_mkdir(h, home, 0700, (uid_t)s.uid, (gid_t)s.gid) < 0 ||
	    mu_maildir(h, home, s.uid, s.gid) < 0)
		goto out;
	const char *dots[] = { ".qmail", ".qmail-default" };
	for (size_t i = 0; i < 2; i++) {
		char *p = qi_xasprintf("%s/%s", home, dots[i]);
		int r = qi_write_file(h, p, DOT_QMAIL, strlen(DOT_QMAIL), 0644, (uid_t)s.uid,
				      (gid_t)s.gid);
		free(p);
		if (r < 0)
			goto out;
	}
	if (mu_write_pop(h, &m) < 0 || mu_write_assign(h, name, true, m.owner, &s, home) < 0)
		goto out;
	json_t *r = qi_result(h);
	json_object_set_new(r, "user", json_string(name));
	json_object_set_new(r, "owner", json_string(m.owner));
	json_object_set_new(r, "home", json_string(home));
	char *md = qi_xasprintf("%s/Maildir", home);
	json_object_set_new(r, "maildir", json_string(md));
	free(md);
	char *a1 = qi_xasprintf("%s@%s", name, domain), *a2 = qi_xasprintf("%s-EXT@%s", name, domain);
	json_object_set_new(r, "addresses", json_pack("[s,s]", a1, a2));
	free(a1);
	free(a2);
	rc = 0;
out:
	if (hash)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	free(home);
	free(domain);
	mu_free(&m);
	return rc;
}

/* NAME's entry, or a usage error saying there is none. */
static const struct qi_popline *mu_entry(qi_handle *h, struct mu *m, const char *name)
{
	const struct qi_popline *l = qi_popdb_find(&m->pop, name);
	if (!l)
		qi_error_kind(h, QI_ERR_USAGE, "%s is not a mail user (not in the password file "
			      "%s): see `qinstall mailuser list`", name, m->pwpath);
	return l;
}

int qi_mailuser_passwd(qi_handle *h, const struct qi_mailuser_options *o, const char *name,
		       const char *password)
{
	struct mu m = { 0 };
	char *hash = NULL;
	int rc = -1;
	if (qi_mailuser_name_check(h, name) < 0 || check_password(h, password) < 0 ||
	    mu_load(h, o, &m) < 0)
		goto out;
	const struct qi_popline *l = mu_entry(h, &m, name);
	if (!l)
		goto out;
	if (strcmp(l->hash, QI_POP_SYSTEM) == 0) {
		qi_error_kind(h, QI_ERR_USAGE, "%s logs in with its system password: change it "
			      "with passwd(1)", name);
		goto out;
	}
	char *owner = qi_xstrdup(l->owner), *home = qi_xstrdup(l->home);
	int cram = o ? o->cram_md5 : 0;
	bool want = cram > 0 || (cram == 0 && l->cram);
	if (qi_pop_hash(h, password, &hash) == 0) {
		qi_popdb_set(&m.pop, name, hash, owner, home);
		if (mu_cram(h, &m, name, password, want) == 0)
			rc = mu_write_pop(h, &m);
	}
	free(owner);
	free(home);
	if (rc == 0)
		json_object_set_new(qi_result(h), "user", json_string(name));
out:
	if (hash)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	mu_free(&m);
	return rc;
}

/* Remove PATH inside ROOT and all below it, through the journal. */
static int rm_tree(qi_handle *h, const char *path)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0)
		return errno == ENOENT ? 0 : qi_error_errno(h, "cannot look at %s", path);
	if (S_ISDIR(st.st_mode)) {
		int fd = qi_root_open(h, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
		if (fd < 0)
			return -1;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return qi_error_errno(h, "cannot list %s", path);
		}
		char **names = NULL;
		size_t n = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			names = qi_xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = qi_xasprintf("%s/%s", path, e->d_name);
		}
		closedir(d);
		int rc = 0;
		for (size_t i = 0; i < n; i++) {
			if (rc == 0)
				rc = rm_tree(h, names[i]);
			free(names[i]);
		}
		free(names);
		if (rc < 0)
			return -1;
	}
	return qi_remove(h, path);
}

int qi_mailuser_del(qi_handle *h, const struct qi_mailuser_options *o, const char *name)
{
	struct mu m = { 0 };
	int rc = -1;
	char *home = NULL, *want = NULL;
	if (qi_mailuser_name_check(h, name) < 0 || mu_load(h, o, &m) < 0)
		goto out;
	const struct qi_popline *l = mu_entry(h, &m, name);
	if (!l)
		goto out;
	bool system = strcmp(l->hash, QI_POP_SYSTEM) == 0;
	home = qi_xstrdup(l->home);
	if (o && o->remove_mailbox) {
		struct mu_sys s = { 0 };
		if (system) {
			qi_error_kind(h, QI_ERR_USAGE, "%s is a system user: its home %s is not "
				      "qinstall's to remove; drop --remove-mailbox", name, home);
			goto out;
		}
		if (mu_sys_user(h, &m, l->owner, &s) < 0)
			goto out;
		want = qi_xasprintf("%s/%s", strcmp(s.home, "/") ? s.home : "", name);
		if (strcmp(want, home) != 0) {
			qi_error_kind(h, QI_ERR_USAGE, "%s's mail home %s is not %s, where qinstall "
				      "made it: remove it yourself, or drop --remove-mailbox", name,
				      home, want);
			goto out;
		}
	}
	qi_popdb_remove(&m.pop, name);
	if (mu_write_pop(h, &m) < 0)
		goto out;
	if (!system && mu_write_assign(h, name, false, NULL, NULL, NULL) < 0)
		goto out;
	if (o && o->remove_mailbox && rm_tree(h, home) < 0)
		goto out;
	json_t *r = qi_result(h);
	json_object_set_new(r, "user", json_string(name));
	json_object_set_new(r, "home", json_string(home));
	json_object_set_new(r, "mailbox_removed", json_boolean(o && o->remove_mailbox));
	rc = 0;
out:
	free(want);
	free(home);
	mu_free(&m);
	return rc;
}

/* Whether NAME's shadow password is locked or empty (no shadow file:
 * false, the system may have its passwords elsewhere). */
static bool shadow_locked(const struct qi_pwdb *shadow, const char *name)
{
	const struct qi_pwline *l = shadow ? qi_pwdb_find_name(shadow, name) : NULL;
	return l && (!l->fields[1][0] || l->fields[1][0] == '!' || l->fields[1][0] == '*');
}

int qi_mailuser_import(qi_handle *h, const struct qi_mailuser_options *o)
{
	struct mu m = { 0 };
	struct qi_pwdb shadow;
	bool have_shadow = false;
	int rc = -1;
	if (mu_load(h, o, &m) < 0)
		goto out;
	struct stat sst;
	char *text = NULL;
	size_t len;
	if (qi_root_lstat(h, "/etc/shadow", &sst) == 0) {
		if (qi_root_read(h, "/etc/shadow", &text, &len) < 0)
			goto out;
		qi_pwdb_parse(&shadow, QI_PW_SHADOW, text, len);
		explicit_bzero(text, len);
		free(text);
		have_shadow = true;
	}
	json_t *imported = json_array(), *skipped = json_array();
	json_object_set_new(qi_result(h), "imported", imported);
	json_object_set_new(qi_result(h), "skipped", skipped);
	for (size_t i = 0; i < m.passwd.n; i++) {
		const struct qi_pwline *l = &m.passwd.lines[i];
		struct stat st;
		if (l->type != QI_PWL_ENTRY || l->id < m.min_uid || l->id >= 65534 || l->id == 0)
			continue;
		const char *name = l->fields[0], *home = l->fields[5];
		const char *why = NULL;
		if (qi_mailuser_name_check(h, name) < 0)
			why = "its name is not a mail user's";
		else if (home[0] != '/' || strchr(home, ':') ||
			 qi_root_lstat(h, home, &st) < 0 || !S_ISDIR(st.st_mode))
			why = "it has no home directory";
		else if (qi_popdb_find_any(&m.pop, name))
			why = "it is in the password file already";
		else if (shadow_locked(have_shadow ? &shadow : NULL, name))
			why = "its password is locked or empty";
		qi_clear_error(h);
		if (why) {
			json_array_append_new(skipped, json_pack("{s:s,s:s}", "name", name, "why", why));
			continue;
		}
		qi_popdb_set(&m.pop, name, QI_POP_SYSTEM, name, home);
		if (mu_maildir(h, home, l->id, l->gid) < 0)
			goto out;
		json_array_append_new(imported, json_string(name));
	}
	rc = json_array_size(imported) ? mu_write_pop(h, &m) : 0;
out:
	if (have_shadow)
		qi_pwdb_free(&shadow);
	mu_free(&m);
	return rc;
}

/* What kind of hash HASH is, for `mailuser list`. */
static const char *hash_kind(const char *hash)
{
	static const struct { const char *prefix, *kind; } kinds[] = {
		{ "$y$", "yescrypt" }, { "$gy$", "gost-yescrypt" }, { "$7$", "scrypt" },
		{ "$2", "bcrypt" }, { "$6$", "sha512" }, { "$5$", "sha256" }, { "$1$", "md5" },
	};
	if (strcmp(hash, QI_POP_SYSTEM) == 0)
		return "system";
	if (hash[0] == '!' || hash[0] == '*')
		return "locked";
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(hash, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return kinds[i].kind;
	return strlen(hash) == 13 ? "des" : "unknown";
}

int qi_mailuser_list(qi_handle *h, const struct qi_mailuser_options *o)
{
	struct mu m = { 0 };
	int rc = -1;
	if (mu_load(h, o, &m) == 0) {
		json_t *users = json_array();
		for (size_t i = 0; i < m.pop.n; i++) {
			const struct qi_popline *l = &m.pop.lines[i];
			if (l->entry)
				json_array_append_new(users, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name",
						      l->login, "password", hash_kind(l->hash),
						      "owner", l->owner, "home", l->home,
						      "cram_md5", l->cram != NULL));
		}
		json_object_set_new(qi_result(h), "users", users);
		json_object_set_new(qi_result(h), "file", json_string(m.pwpath));
		rc = 0;
	}
	mu_free(&m);
	return rc;
}

int qi_mailuser_install_checkpassword(qi_handle *h, const char *program)
{
	if (access(program, X_OK) < 0)
		return qi_error_errno(h, "cannot use %s as qinstall-checkpassword", program);
	if (qi_mkdir_p(h, "/usr/local/bin", 0755, 0, 0) < 0)
		return -1;
	return qi_write_file_from(h, QI_CHECKPASSWORD_PATH, program, 0755, 0, 0);
}
