/*
 * accounts.c - qmail's nine accounts in ROOT: the policy (which names,
 * ids, groups, homes and shell), the conflicts that make us refuse, the
 * --ids auto pick, and the journaled edit of ROOT/etc/{group,gshadow,
 * passwd,shadow} done with passwd.c's editor under pwlock.c's locks.
 *
 * Nothing is changed unless every check passes: the whole plan is made
 * from the files as read under their locks, all conflicts are gathered,
 * and only then are the files written (each one after a FILE- backup),
 * every write through the journal so that rollback restores them byte for
 * byte. A journal guard (registered here) makes rollback take the same
 * locks before it gives those files back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"

extern char **environ;

#define NGROUPS_Q 2
#define NUSERS_Q 7
#define DEFAULT_LOCK_WAIT_MS 15000
#define DEFAULT_AUTO_MIN 600
#define DEFAULT_AUTO_MAX 999

const char *const qi_account_names[] = {
	"nofiles", "qmail",
	"alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails",
	NULL,
};

enum { G_NOFILES, G_QMAIL };

/* The users: their group and whether their home is the alias directory. */
static const struct {
	const char *name;
	int group;
	bool alias_home;
} users[NUSERS_Q] = {
	{ "alias", G_NOFILES, true },
	{ "qmaild", G_NOFILES, false },
	{ "qmaill", G_NOFILES, false },
	{ "qmailp", G_NOFILES, false },
	{ "qmailq", G_QMAIL, false },
	{ "qmailr", G_QMAIL, false },
	{ "qmails", G_QMAIL, false },
};

/* Non-login shells, in order of preference; an existing account with any
 * of them (or the one given) is as good as ours. */
static const char *const nologin_shells[] = {
	"/sbin/nologin", "/usr/sbin/nologin", "/bin/false", "/usr/bin/false", NULL,
};

/* The files, in the order shadow-utils locks them. */
enum { F_PASSWD, F_SHADOW, F_GROUP, F_GSHADOW, NFILES };
static const struct {
	const char *path;
	enum qi_pwkind kind;
	bool required;
} files[NFILES] = {
	[F_PASSWD] = { "/etc/passwd", QI_PW_PASSWD, true },
	[F_SHADOW] = { "/etc/shadow", QI_PW_SHADOW, false },
	[F_GROUP] = { "/etc/group", QI_PW_GROUP, true },
	[F_GSHADOW] = { "/etc/gshadow", QI_PW_GSHADOW, false },
};
_Static_assert((int)F_PASSWD == (int)QI_PWF_PASSWD && (int)F_SHADOW == (int)QI_PWF_SHADOW &&
	       (int)F_GROUP == (int)QI_PWF_GROUP && (int)F_GSHADOW == (int)QI_PWF_GSHADOW,
	       "accounts.c's files are pwlock.c's, in its order");
/* And the order they are written in: groups before the users naming them. */
static const int write_order[NFILES] = { F_GROUP, F_GSHADOW, F_PASSWD, F_SHADOW };

struct pwfile {
	bool present;
	char *orig;
	size_t origlen;
	struct stat st;
	struct qi_pwdb db;
};

struct home {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool create;
};

struct plan {
	const struct qi_accounts_spec *spec;
	struct pwfile f[NFILES];
	long long gid[NGROUPS_Q], uid[NUSERS_Q];
	const char *shell;
	char *parent;		/* qmail_home's parent, to create first, or NULL */
	struct home homes[2];
	json_t *conflicts;	/* array of {kind, name, message, suggestion} */
	json_t *accounts;	/* array of {name, type, id, action} */
	json_t *homes_json;
	bool pending;
};

/* ------------------------------------------------------------------ */
/* The ids struct by name                                              */
/* ------------------------------------------------------------------ */

static long long *id_ptr(long long gid[NGROUPS_Q], long long uid[NUSERS_Q], const char *name)
{
	for (int g = 0; g < NGROUPS_Q; g++)
		if (strcmp(qi_account_names[g], name) == 0)
			return &gid[g];
	for (int u = 0; u < NUSERS_Q; u++)
		if (strcmp(users[u].name, name) == 0)
			return &uid[u];
	return NULL;
}

static void ids_to_arrays(const struct qi_account_ids *ids, long long gid[NGROUPS_Q],
			  long long uid[NUSERS_Q])
{
	gid[G_NOFILES] = ids->nofiles;
	gid[G_QMAIL] = ids->qmail;
	const uid_t u[NUSERS_Q] = { ids->alias, ids->qmaild, ids->qmaill, ids->qmailp,
				    ids->qmailq, ids->qmailr, ids->qmails };
	for (int i = 0; i < NUSERS_Q; i++)
		uid[i] = u[i];
}

static void arrays_to_ids(const long long gid[NGROUPS_Q], const long long uid[NUSERS_Q],
			  struct qi_account_ids *ids)
{
	ids->nofiles = (gid_t)gid[G_NOFILES];
	ids->qmail = (gid_t)gid[G_QMAIL];
	ids->alias = (uid_t)uid[0];
	ids->qmaild = (uid_t)uid[1];
	ids->qmaill = (uid_t)uid[2];
	ids->qmailp = (uid_t)uid[3];
	ids->qmailq = (uid_t)uid[4];
	ids->qmailr = (uid_t)uid[5];
	ids->qmails = (uid_t)uid[6];
}

long long qi_account_id(const struct qi_account_ids *ids, const char *name)
{
	long long gid[NGROUPS_Q], uid[NUSERS_Q];
	ids_to_arrays(ids, gid, uid);
	long long *p = id_ptr(gid, uid, name);
	return p ? *p : -1;
}

int qi_accounts_set_id(qi_handle *h, struct qi_account_ids *ids, const char *name, long long id)
{
	long long gid[NGROUPS_Q], uid[NUSERS_Q];
	ids_to_arrays(ids, gid, uid);
	long long *p = id_ptr(gid, uid, name);
	if (!p)
		return qi_error_kind(h, QI_ERR_USAGE,
				     "'%s' is not one of qmail's accounts (nofiles, qmail, alias, "
				     "qmaild, qmaill, qmailp, qmailq, qmailr, qmails)", name);
	if (id < 1 || id > 65533)
		return qi_error_kind(h, QI_ERR_USAGE,
				     "%lld is not a usable id for %s: give a number from 1 to 65533 "
				     "(0 is root's; 65534 is nobody's)", id, name);
	*p = id;
	arrays_to_ids(gid, uid, ids);
	return 0;
}

void qi_accounts_default(struct qi_accounts_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->ids.nofiles = 600;
	spec->ids.qmail = 601;
	spec->ids.alias = 600;
	spec->ids.qmaild = 601;
	spec->ids.qmaill = 602;
	spec->ids.qmailp = 603;
	spec->ids.qmailq = 604;
	spec->ids.qmailr = 605;
	spec->ids.qmails = 606;
	spec->ids_auto = false;
	spec->auto_min = DEFAULT_AUTO_MIN;
	spec->auto_max = DEFAULT_AUTO_MAX;
	spec->qmail_home = "/var/qmail";
	spec->shell = NULL;
	spec->lock_wait_ms = DEFAULT_LOCK_WAIT_MS;
}

/* ------------------------------------------------------------------ */
/* Reading ROOT                                                        */
/* ------------------------------------------------------------------ */

static int load_files(qi_handle *h, struct plan *p)
{
	for (int i = 0; i < NFILES; i++) {
		struct pwfile *f = &p->f[i];
		char *where = qi_root_path(h, files[i].path);
		if (qi_root_lstat(h, files[i].path, &f->st) < 0) {
			int e = errno;
			if (e == ENOENT && !files[i].required) {
				free(where);
				continue;
			}
			errno = e;
			if (e == ENOENT)
				qi_error(h, "%s does not exist: is %s a system image? (qinstall adds "
					 "accounts to an existing %s, it does not create one)",
					 where, qi_root(h), files[i].path);
			else
				qi_error_errno(h, "cannot read %s", where);
			free(where);
			return -1;
		}
		if (!S_ISREG(f->st.st_mode)) {
			qi_error(h, "%s is not a regular file (a symlink or other); qinstall edits only "
				 "regular files: replace it with the file itself and try again", where);
			free(where);
			return -1;
		}
		if (qi_root_read(h, files[i].path, &f->orig, &f->origlen) < 0) {
			free(where);
			return -1;
		}
		free(where);
		f->present = true;
		qi_pwdb_parse(&f->db, files[i].kind, f->orig, f->origlen);
	}
	return 0;
}

static void plan_free(struct plan *p)
{
	for (int i = 0; i < NFILES; i++) {
		free(p->f[i].orig);
		qi_pwdb_free(&p->f[i].db);
	}
	free(p->parent);
	for (int i = 0; i < 2; i++)
		free(p->homes[i].path);
	json_decref(p->conflicts);
	json_decref(p->accounts);
	json_decref(p->homes_json);
	memset(p, 0, sizeof(*p));
}

/* The shell for new accounts: the one given, or the first non-login
 * shell ROOT has. It must be an executable file inside ROOT. */
static int pick_shell(qi_handle *h, struct plan *p)
{
	struct stat st;
	if (p->spec->shell) {
		if (p->spec->shell[0] != '/')
			return qi_error_kind(h, QI_ERR_USAGE, "the shell '%s' must be an absolute path",
					     p->spec->shell);
		if (qi_root_lstat(h, p->spec->shell, &st) < 0) {
			char *w = qi_root_path(h, p->spec->shell);
			qi_error_errno(h, "the shell %s is not there", w);
			free(w);
			return -1;
		}
		p->shell = p->spec->shell;
		return 0;
	}
	for (int i = 0; nologin_shells[i]; i++) {
		if (qi_root_lstat(h, nologin_shells[i], &st) == 0 &&
		    (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_mode & 0111)))) {
			p->shell = nologin_shells[i];
			return 0;
		}
	}
	return qi_error(h, "%s has no non-login shell (looked for /sbin/nologin, /usr/sbin/nologin, "
			"/bin/false, /usr/bin/false): install one in it, or name one with --shell",
			qi_root(h));
}

static bool nologin_shell(const struct plan *p, const char *shell)
{
	if (strcmp(shell, p->shell) == 0)
		return true;
	for (int i = 0; nologin_shells[i]; i++)
		if (strcmp(shell, nologin_shells[i]) == 0)
			return true;
	return false;
}

/* A locked or absent password: "!...", "*...", "x" (see shadow). */
static bool password_locked(const char *pw, bool x_ok)
{
	return pw[0] == '!' || pw[0] == '*' || (x_ok && strcmp(pw, "x") == 0);
}

/* ------------------------------------------------------------------ */
/* Ids: pinned or picked                                               */
/* ------------------------------------------------------------------ */

static bool id_free(const struct qi_pwdb *db, long long id, const long long *taken, int ntaken)
{
	if (qi_pwdb_id_used(db, id))
		return false;
	for (int i = 0; i < ntaken; i++)
		if (taken[i] == id)
			return false;
	return true;
}

/* The lowest BASE in [MIN, MAX] with BASE..BASE+N-1 free in DB and not
 * in TAKEN; -1 if there is none. */
static long long free_block(const struct qi_pwdb *db, long long min, long long max, int n,
			    const long long *taken, int ntaken)
{
	for (long long base = min; base + n - 1 <= max; base++) {
		int k = 0;
		while (k < n && id_free(db, base + k, taken, ntaken))
			k++;
		if (k == n)
			return base;
		base += k;	/* base + k is used: skip past it */
	}
	return -1;
}

static void range_of(const struct qi_accounts_spec *spec, long long *min, long long *max)
{
	*min = spec->auto_min ? spec->auto_min : DEFAULT_AUTO_MIN;
	*max = spec->auto_max ? spec->auto_max : DEFAULT_AUTO_MAX;
}

static void conflict(struct plan *p, const char *kind, const char *name, char *message,
		     char *suggestion)
{
	json_t *c = json_object();
	json_object_set_new(c, "kind", json_string(kind));
	json_object_set_new(c, "name", json_string(name));
	json_object_set_new(c, "message", json_string(message));
	json_object_set_new(c, "suggestion", json_string(suggestion));
	json_array_append_new(p->conflicts, c);
	free(message);
	free(suggestion);
}

/* "free gids 602-603 and uids 607-613 (in 600-999)", for suggestions. */
static char *free_ids_hint(struct plan *p)
{
	long long min, max;
	range_of(p->spec, &min, &max);
	long long g = free_block(&p->f[F_GROUP].db, min, max, NGROUPS_Q, NULL, 0);
	long long u = free_block(&p->f[F_PASSWD].db, min, max, NUSERS_Q, NULL, 0);
	if (g < 0 || u < 0)
		return qi_xasprintf("%lld-%lld has no free block of 2 gids and 7 uids: give "
				    "--ids auto a wider --range", min, max);
	return qi_xasprintf("gids %lld-%lld and uids %lld-%lld are free (--ids auto --range "
			    "%lld-%lld picks them)", g, g + 1, u, u + 6, min, max);
}

/* --ids auto in one file: the accounts NAMES[0..N) present keep their ids,
 * the missing ones take the lowest free block of their count in MIN-MAX. */
static int auto_ids(qi_handle *h, const struct qi_pwdb *db, const char *const *names, int n,
		    long long *ids, long long min, long long max, const char *what)
{
	int missing = 0;
	for (int i = 0; i < n; i++) {
		const struct qi_pwline *e = qi_pwdb_find_name(db, names[i]);
		ids[i] = e ? e->id : -1;
		missing += !e;
	}
	if (!missing)
		return 0;
	long long base = free_block(db, min, max, missing, ids, n);
	if (base < 0)
		return qi_error(h, "--ids auto: no %d free %s%s in %lld-%lld; give a wider "
				"--range, or pin the ids with --id", missing, what,
				missing > 1 ? "s" : "", min, max);
	for (int i = 0; i < n; i++)
		if (ids[i] < 0)
			ids[i] = base++;
	return 0;
}

/* Pick ids for --ids auto: groups first, then users (qi_account_names
 * lists them in that order, the users as in users[]). */
static int pick_auto(qi_handle *h, struct plan *p)
{
	long long min, max;
	range_of(p->spec, &min, &max);
	if (min < 1 || max > 65533 || min > max)
		return qi_error_kind(h, QI_ERR_USAGE, "the id range %lld-%lld is not usable: give "
				     "MIN-MAX with 1 <= MIN <= MAX <= 65533", min, max);
	if (auto_ids(h, &p->f[F_GROUP].db, qi_account_names, NGROUPS_Q, p->gid, min, max, "gid") < 0)
		return -1;
	return auto_ids(h, &p->f[F_PASSWD].db, qi_account_names + NGROUPS_Q, NUSERS_Q, p->uid,
			min, max, "uid");
}

static int pin_ids(qi_handle *h, struct plan *p)
{
	ids_to_arrays(&p->spec->ids, p->gid, p->uid);
	for (int i = 0; i < NGROUPS_Q + NUSERS_Q; i++) {
		const char *a = qi_account_names[i];
		long long ia = i < NGROUPS_Q ? p->gid[i] : p->uid[i - NGROUPS_Q];
		if (ia < 1 || ia > 65533)
			return qi_error_kind(h, QI_ERR_USAGE, "%s's id %lld is not usable: give a "
					     "number from 1 to 65533", a, ia);
		for (int j = i < NGROUPS_Q ? 0 : NGROUPS_Q; j < i; j++) {
			long long ib = j < NGROUPS_Q ? p->gid[j] : p->uid[j - NGROUPS_Q];
			if (ia == ib)
				return qi_error_kind(h, QI_ERR_USAGE, "%s and %s are both given id %lld: "
						     "each %s needs its own", qi_account_names[j], a, ia,
						     i < NGROUPS_Q ? "group" : "user");
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The plan: conflicts and what to add                                 */
/* ------------------------------------------------------------------ */

static void report(struct plan *p, const char *name, const char *type, long long id,
		   const char *action)
{
	json_t *a = json_object();
	json_object_set_new(a, "name", json_string(name));
	json_object_set_new(a, "type", json_string(type));
	json_object_set_new(a, "id", json_integer(id));
	json_object_set_new(a, "action", json_string(action));
	json_array_append_new(p->accounts, a);
}


/* A line of NAME that is not a well-formed entry blocks every change. */
static bool malformed(struct plan *p, qi_handle *h, int file, const char *name)
{
	const struct qi_pwline *l = qi_pwdb_find_any_name(&p->f[file].db, name);
	if (!l || l->type == QI_PWL_ENTRY)
		return false;
	char *w = qi_root_path(h, files[file].path);
	conflict(p, "malformed", name,
		 qi_xasprintf("line %zu of %s, for '%s', is malformed", l->lineno, w, name),
		 qi_xasprintf("repair it by hand (%s), then run again",
			      file == F_GROUP || file == F_GSHADOW ? "vigr" : "vipw"));
	free(w);
	return true;
}

static void plan_groups(qi_handle *h, struct plan *p, json_t *to_add[NFILES])
{
	struct qi_pwdb *grp = &p->f[F_GROUP].db;
	for (int g = 0; g < NGROUPS_Q; g++) {
		const char *name = qi_account_names[g];
		long long want = p->gid[g];
		if (malformed(p, h, F_GROUP, name) ||
		    (p->f[F_GSHADOW].present && malformed(p, h, F_GSHADOW, name)))
			continue;
		const struct qi_pwline *e = qi_pwdb_find_name(grp, name);
		const char *action = "present";
		if (e && e->id != want) {
			conflict(p, "group-id", name,
				 qi_xasprintf("group %s has gid %lld, wanted %lld", name, e->id, want),
				 qi_xasprintf("keep it with --id %s=%lld (in a profile: %s = %lld under "
					      "[accounts]), or --ids auto", name, e->id, name, e->id));
			continue;
		}
		if (!e) {
			const struct qi_pwline *holder = qi_pwdb_find_id(grp, want);
			if (holder) {
				conflict(p, "gid-taken", name,
					 qi_xasprintf("gid %lld, wanted for group %s, is held by group %s",
						      want, name, holder->fields[0]),
					 free_ids_hint(p));
				continue;
			}
			char gid_s[24];
			snprintf(gid_s, sizeof(gid_s), "%lld", want);
			json_array_append_new(to_add[F_GROUP], json_pack("[s s s s]", name,
				p->f[F_GSHADOW].present ? "x" : "*", gid_s, ""));
			action = "create";
		}
		if (p->f[F_GSHADOW].present && !qi_pwdb_find_name(&p->f[F_GSHADOW].db, name)) {
			json_array_append_new(to_add[F_GSHADOW], json_pack("[s s s s]", name, "!", "", ""));
			if (e)
				action = "complete";
		}
		report(p, name, "group", want, action);
	}
}

static void plan_users(qi_handle *h, struct plan *p, json_t *to_add[NFILES])
{
	struct qi_pwdb *pw = &p->f[F_PASSWD].db;
	/* Today, or SOURCE_DATE_EPOCH's day (reproducible images); never day
	 * 0, which shadow reads as "change the password at next login". */
	long long today = time(NULL) / 86400;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && strtoll(sde, NULL, 10) >= 86400)
		today = strtoll(sde, NULL, 10) / 86400;
	char days[32];
	snprintf(days, sizeof(days), "%lld", today);

	for (int u = 0; u < NUSERS_Q; u++) {
		const char *name = users[u].name;
		long long want = p->uid[u], gid = p->gid[users[u].group];
		const char *home = p->homes[users[u].alias_home ? 1 : 0].path;
		if (malformed(p, h, F_PASSWD, name) ||
		    (p->f[F_SHADOW].present && malformed(p, h, F_SHADOW, name)))
			continue;
		const struct qi_pwline *e = qi_pwdb_find_name(pw, name);
		const char *action = "present";
		if (e) {
			size_t before = json_array_size(p->conflicts);
			if (e->id != want)
				conflict(p, "user-id", name,
					 qi_xasprintf("user %s has uid %lld, wanted %lld", name, e->id, want),
					 qi_xasprintf("keep it with --id %s=%lld (in a profile: %s = %lld "
						      "under [accounts]), or --ids auto", name, e->id, name, e->id));
			if (e->gid != gid)
				conflict(p, "user-group", name,
					 qi_xasprintf("user %s has primary gid %lld, wanted %lld (group %s)",
						      name, e->gid, gid, qi_account_names[users[u].group]),
					 qi_xasprintf("change it with usermod -g %s %s, or remove the user",
						      qi_account_names[users[u].group], name));
			if (strcmp(e->fields[5], home) != 0)
				conflict(p, "user-home", name,
					 qi_xasprintf("user %s has home %s, wanted %s", name, e->fields[5], home),
					 qi_xasprintf("change it with usermod -d %s %s, or give the "
						      "qmail home that matches", home, name));
			if (!nologin_shell(p, e->fields[6]))
				conflict(p, "user-shell", name,
					 qi_xasprintf("user %s has the login shell '%s'; qmail's users "
						      "must not log in", name, e->fields[6]),
					 qi_xasprintf("usermod -s %s %s", p->shell, name));
			if (!password_locked(e->fields[1], true))
				conflict(p, "user-password", name,
					 qi_xasprintf("user %s has a password in /etc/passwd; qmail's "
						      "users must not log in", name),
					 qi_xasprintf("lock it: usermod -L %s", name));
			if (json_array_size(p->conflicts) != before)
				continue;
		} else {
			const struct qi_pwline *holder = qi_pwdb_find_id(pw, want);
			if (holder) {
				conflict(p, "uid-taken", name,
					 qi_xasprintf("uid %lld, wanted for user %s, is held by user %s",
						      want, name, holder->fields[0]),
					 free_ids_hint(p));
				continue;
			}
			char uid_s[24], gid_s[24];
			snprintf(uid_s, sizeof(uid_s), "%lld", want);
			snprintf(gid_s, sizeof(gid_s), "%lld", gid);
			json_array_append_new(to_add[F_PASSWD], json_pack("[s s s s s s s]", name,
				p->f[F_SHADOW].present ? "x" : "*", uid_s, gid_s, "", home, p->shell));
			action = "create";
		}
		if (p->f[F_SHADOW].present) {
			const struct qi_pwline *s = qi_pwdb_find_name(&p->f[F_SHADOW].db, name);
			if (!s) {
				json_array_append_new(to_add[F_SHADOW], json_pack("[s s s s s s s s s]",
					name, "!", days, "", "", "", "", "", ""));
				if (e)
					action = "complete";
			} else if (!password_locked(s->fields[1], false)) {
				char *w = qi_root_path(h, files[F_SHADOW].path);
				conflict(p, "user-password", name,
					 qi_xasprintf("user %s has %s in %s; qmail's users must not log in",
						      name, s->fields[1][0] ? "a password" : "an empty password", w),
					 qi_xasprintf("lock it: usermod -L %s", name));
				free(w);
				continue;
			}
		}
		report(p, name, "user", want, action);
	}
}

/* Warn with TEXT (freed) unless the same warning was given already: a
 * command resolves, then ensures, and both look at the homes. */
static void warn_once(qi_handle *h, char *text)
{
	size_t i;
	json_t *w;
	json_array_foreach(qi_warnings(h), i, w) {
		if (strcmp(json_string_value(w), text) == 0) {
			free(text);
			return;
		}
	}
	qi_warn(h, "%s", text);
	free(text);
}

/* The homes: qmail's hier.c makes QMAIL_HOME root:qmail 0755 and its
 * alias directory alias:qmail 02755. An existing directory is left as it
 * is (with a warning when its mode or owner differ). */
static int plan_homes_paths(qi_handle *h, struct plan *p)
{
	const char *qh = p->spec->qmail_home ? p->spec->qmail_home : "/var/qmail";
	if (qh[0] != '/' || strstr(qh, "/../") || strstr(qh, "/./") || strstr(qh, "//") ||
	    (strlen(qh) >= 3 && strcmp(qh + strlen(qh) - 3, "/..") == 0) || strcmp(qh, "/") == 0 ||
	    qh[strlen(qh) - 1] == '/')
		return qi_error_kind(h, QI_ERR_USAGE, "the qmail home '%s' must be a clean absolute "
				     "path such as /var/qmail", qh);
	p->homes[0].path = qi_xstrdup(qh);
	p->homes[1].path = qi_xasprintf("%s/alias", qh);
	return 0;
}

static void plan_homes(qi_handle *h, struct plan *p)
{
	p->homes[0].mode = 0755;
	p->homes[0].uid = 0;
	p->homes[0].gid = (gid_t)p->gid[G_QMAIL];
	p->homes[1].mode = 02755;
	p->homes[1].uid = (uid_t)p->uid[0];
	p->homes[1].gid = (gid_t)p->gid[G_QMAIL];

	const char *slash = strrchr(p->homes[0].path, '/');
	char *parent = slash == p->homes[0].path ? qi_xstrdup("/")
		: qi_xasprintf("%.*s", (int)(slash - p->homes[0].path), p->homes[0].path);
	struct stat st;
	if (qi_root_lstat(h, parent, &st) < 0 && errno == ENOENT) {
		p->parent = parent;
		p->pending = true;
	} else {
		free(parent);
	}
	for (int i = 0; i < 2; i++) {
		struct home *hm = &p->homes[i];
		json_t *j = json_object();
		json_object_set_new(j, "path", json_string(hm->path));
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)hm->mode);
		json_object_set_new(j, "mode", json_string(mode));
		json_object_set_new(j, "uid", json_integer(hm->uid));
		json_object_set_new(j, "gid", json_integer(hm->gid));
		json_object_set_new(j, "owner", json_string(i == 0 ? "root:qmail" : "alias:qmail"));
		const char *action = "present";
		int rc = qi_root_lstat(h, hm->path, &st);
		if (rc == 0 && S_ISLNK(st.st_mode)) {
			/* A symlinked qmail home (/var/qmail -> /opt/qmail) is
			 * common: judge the directory it leads to, inside ROOT. */
			int fd = qi_root_open(h, hm->path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
			if (fd >= 0) {
				fstat(fd, &st);
				close(fd);
			} else {
				qi_clear_error(h);
			}
		}
		if (rc < 0) {
			hm->create = true;
			p->pending = true;
			action = "create";
		} else if (!S_ISDIR(st.st_mode)) {
			char *w = qi_root_path(h, hm->path);
			conflict(p, "home", hm->path,
				 qi_xasprintf("%s exists and is not a directory", w),
				 qi_xasprintf("move it away, or give another qmail home"));
			free(w);
			action = "conflict";
		} else if ((st.st_mode & 07777) != hm->mode || st.st_uid != hm->uid || st.st_gid != hm->gid) {
			char *w = qi_root_path(h, hm->path);
			warn_once(h, qi_xasprintf("%s exists with mode %04o and owner %u:%u; qmail wants "
						  "%04o and %u:%u. It is left as it is: change it yourself "
						  "if it is qmail's (chmod, chown)", w,
						  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
						  (unsigned)st.st_gid, (unsigned)hm->mode, (unsigned)hm->uid,
						  (unsigned)hm->gid));
			free(w);
			action = "kept";
		}
		json_object_set_new(j, "action", json_string(action));
		json_array_append_new(p->homes_json, j);
	}
}

/* Apply the additions to the in-memory files. */
static int add_entries(qi_handle *h, struct plan *p, json_t *to_add[NFILES])
{
	for (int i = 0; i < NFILES; i++) {
		size_t k;
		json_t *row;
		json_array_foreach(to_add[i], k, row) {
			const char *fields[QI_PW_MAXFIELDS];
			size_t nf = json_array_size(row);
			for (size_t j = 0; j < nf && j < QI_PW_MAXFIELDS; j++)
				fields[j] = json_string_value(json_array_get(row, j));
			if (qi_pwdb_add(h, &p->f[i].db, fields) < 0)
				return -1;
			p->pending = true;
		}
	}
	return 0;
}

/* Read ROOT and make the whole plan; 0 with P filled (conflicts listed in
 * P->conflicts, which the caller turns into the error), -1 on errors. */
static int make_plan(qi_handle *h, const struct qi_accounts_spec *spec, struct plan *p)
{
	p->spec = spec;
	p->conflicts = json_array();
	p->accounts = json_array();
	p->homes_json = json_array();
	if (load_files(h, p) < 0 || pick_shell(h, p) < 0 || plan_homes_paths(h, p) < 0)
		return -1;
	if ((spec->ids_auto ? pick_auto(h, p) : pin_ids(h, p)) < 0)
		return -1;
	json_t *to_add[NFILES];
	for (int i = 0; i < NFILES; i++)
		to_add[i] = json_array();
	plan_groups(h, p, to_add);
	plan_users(h, p, to_add);
	int rc = 0;
	plan_homes(h, p);
	if (json_array_size(p->conflicts) == 0)
		rc = add_entries(h, p, to_add);
	for (int i = 0; i < NFILES; i++)
		json_decref(to_add[i]);
	return rc;
}

/* The plan into the result; the conflicts into the error. */
static int publish(qi_handle *h, struct plan *p)
{
	json_t *r = qi_result(h);
	json_t *ids = json_object();
	for (int g = 0; g < NGROUPS_Q; g++)
		json_object_set_new(ids, qi_account_names[g], json_integer(p->gid[g]));
	for (int u = 0; u < NUSERS_Q; u++)
		json_object_set_new(ids, users[u].name, json_integer(p->uid[u]));
	json_object_set_new(r, "ids", ids);
	json_object_set_new(r, "ids_auto", json_boolean(p->spec->ids_auto));
	json_object_set_new(r, "shell", json_string(p->shell));
	json_object_set(r, "accounts", p->accounts);
	json_object_set(r, "homes", p->homes_json);
	size_t n = json_array_size(p->conflicts);
	if (!n) {
		json_object_del(r, "conflicts");
		return 0;
	}
	json_object_set(r, "conflicts", p->conflicts);
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "qmail's accounts cannot be set up in %s: %zu conflict%s, so nothing "
		    "was changed:", qi_root(h), n, n > 1 ? "s" : "");
	size_t i;
	json_t *c;
	json_array_foreach(p->conflicts, i, c)
		qi_buf_addf(&b, "\n  - %s\n    suggestion: %s",
			    json_string_value(json_object_get(c, "message")),
			    json_string_value(json_object_get(c, "suggestion")));
	qi_error(h, "%s", b.data);
	qi_buf_free(&b);
	return -1;
}

/* --diff text of a file: shadow files' password fields are never shown. */
static char *diff_text(int file, const char *data, size_t len)
{
	if (file != F_SHADOW && file != F_GSHADOW)
		return qi_xstrdup(data);
	struct qi_pwdb db;
	qi_pwdb_parse(&db, files[file].kind, data, len);
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	for (size_t i = 0; i < db.n; i++) {
		const struct qi_pwline *l = &db.lines[i];
		if (l->type == QI_PWL_ENTRY)
			qi_buf_addf(&b, "%s:%s:...\n", l->fields[0],
				    password_locked(l->fields[1], false) ? l->fields[1] : "(hidden)");
		else if (l->type == QI_PWL_COMMENT || l->type == QI_PWL_NIS)
			qi_buf_add(&b, l->raw, l->rawlen);
		else
			qi_buf_addf(&b, "(line %zu hidden)\n", l->lineno);
	}
	qi_pwdb_free(&db);
	return b.data;
}

static void add_diffs(qi_handle *h, struct plan *p)
{
	for (int k = 0; k < NFILES; k++) {
		int i = write_order[k];
		if (!p->f[i].present || !p->f[i].db.changed)
			continue;
		size_t len;
		char *after = qi_pwdb_serialize(&p->f[i].db, &len);
		char *tb = diff_text(i, p->f[i].orig, p->f[i].origlen), *ta = diff_text(i, after, len);
		qi_diff_add(h, files[i].path, tb, ta);
		free(tb);
		free(ta);
		free(after);
	}
}

int qi_accounts_resolve(qi_handle *h, const struct qi_accounts_spec *spec,
			struct qi_account_ids *resolved, bool *pending)
{
	struct plan p = { 0 };
	int rc = make_plan(h, spec, &p);
	if (rc == 0)
		rc = publish(h, &p);
	if (rc == 0) {
		arrays_to_ids(p.gid, p.uid, resolved);
		if (pending)
			*pending = p.pending;
	}
	plan_free(&p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* After editing the host's own files, tell the name caches, where they
 * run (their failure is only a warning: the files are right). */
static void flush_caches(qi_handle *h)
{
	static const char *const cmds[][4] = {
		{ "nscd", "-i", "passwd", NULL },
		{ "nscd", "-i", "group", NULL },
		{ "sss_cache", "-UG", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
		char *prog = NULL;
		for (size_t d = 0; d < 4 && !prog; d++) {
			char *c = qi_xasprintf("%s/%s", dirs[d], cmds[i][0]);
			if (access(c, X_OK) == 0)
				prog = c;
			else
				free(c);
		}
		if (!prog)
			continue;
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
		pid_t pid;
		int st = 0;
		char *argv[4] = { prog, (char *)cmds[i][1], (char *)cmds[i][2], NULL };
		if (posix_spawn(&pid, prog, &fa, NULL, argv, environ) != 0 ||
		    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			qi_warn(h, "%s %s %s did not succeed: its cache may show the old accounts "
				"for a while", prog, cmds[i][1], cmds[i][2] ? cmds[i][2] : "");
		posix_spawn_file_actions_destroy(&fa);
		free(prog);
	}
}

/* ------------------------------------------------------------------ */
/* The journal's guard: rollback takes the same locks                  */
/* ------------------------------------------------------------------ */

/* The four files and their FILE- backups: a rollback (or a run's abort)
 * that gives any of them back does so under the same locks as `users`,
 * and on the host tells the name caches afterwards. */
static const char *const guarded_paths[] = {
	"/etc/passwd", "/etc/passwd-", "/etc/shadow", "/etc/shadow-",
	"/etc/group", "/etc/group-", "/etc/gshadow", "/etc/gshadow-", NULL,
};

/* The lock mask for PATHS: FILE- is written under FILE's lock. */
unsigned qi_accounts_guard_mask(const char *const *paths, size_t npaths)
{
	unsigned which = 0;
	for (size_t k = 0; k < npaths; k++)
		for (int f = 0; f < QI_PWF_COUNT; f++) {
			const char *base = qi_pwfile_path(f);
			size_t n = strlen(base);
			if (strncmp(paths[k], base, n) == 0 &&
			    (paths[k][n] == '\0' || strcmp(paths[k] + n, "-") == 0))
				which |= 1u << f;
		}
	return which;
}

static int guard_begin(qi_handle *h, const char *const *paths, size_t npaths, void **state)
{
	*state = NULL;
	unsigned which = qi_accounts_guard_mask(paths, npaths);
	struct stat st;
	if (!which || (qi_root_lstat(h, "/etc", &st) < 0 && errno == ENOENT))
		return 0;	/* no ROOT/etc: nobody else can be editing these files */
	struct qi_pwlockset *set = qi_xmalloc(sizeof(*set));
	if (qi_pwlockset_acquire(h, set, which, DEFAULT_LOCK_WAIT_MS) < 0) {
		free(set);
		return -1;
	}
	*state = set;
	return 0;
}

static void guard_end(qi_handle *h, void *state)
{
	struct qi_pwlockset *set = state;
	if (!set)
		return;
	int sig = qi_pwlockset_release(set);
	free(set);
	if (sig)
		qi_warn(h, "signal %d arrived while the password files were locked; it was held "
			"until the rollback had given them back and removed its locks", sig);
	if (qi_root_is_host(h))
		flush_caches(h);
}

/* qi_new registers the guard for every handle (core.h). */
void qi_accounts_register(void)
{
	qi_register_guard("passwd-files", guarded_paths, guard_begin, guard_end);
}

static int write_files(qi_handle *h, struct plan *p)
{
	for (int k = 0; k < NFILES; k++) {
		int i = write_order[k];
		struct pwfile *f = &p->f[i];
		if (!f->present || !f->db.changed)
			continue;
		size_t len;
		char *data = qi_pwdb_serialize(&f->db, &len);
		char *backup = qi_xasprintf("%s-", files[i].path);
		mode_t mode = f->st.st_mode & 07777;
		/* The journal's own --diff text would show shadow's hashes and
		 * the backups: add_diffs has given the redacted one instead. */
		bool diff = qi_diff_wanted(h);
		qi_set_diff(h, false);
		int rc = qi_write_file(h, backup, f->orig, f->origlen, mode, f->st.st_uid, f->st.st_gid);
		if (rc == 0)
			rc = qi_write_file(h, files[i].path, data, len, mode, f->st.st_uid, f->st.st_gid);
		qi_set_diff(h, diff);
		free(backup);
		free(data);
		if (rc < 0)
			return qi_error_prefix(h, "cannot update %s", files[i].path);
	}
	if (p->parent && qi_mkdir_p(h, p->parent, 0755, 0, 0) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (p->homes[i].create &&
		    qi_mkdir(h, p->homes[i].path, p->homes[i].mode, p->homes[i].uid, p->homes[i].gid) < 0)
			return -1;
	return 0;
}

int qi_accounts_ensure(qi_handle *h, const struct qi_accounts_spec *spec,
		       struct qi_account_ids *resolved)
{
	if (qi_check(h)) {
		/* Nothing is written, not even a lock: plan from the files as they are. */
		struct plan p = { 0 };
		int rc = make_plan(h, spec, &p);
		if (rc == 0)
			rc = publish(h, &p);
		if (rc == 0) {
			arrays_to_ids(p.gid, p.uid, resolved);
			add_diffs(h, &p);
			if (p.pending)
				qi_set_changed(h);
		}
		plan_free(&p);
		return rc;
	}

	int wait_ms = spec->lock_wait_ms > 0 ? spec->lock_wait_ms : DEFAULT_LOCK_WAIT_MS;
	unsigned which = 0;
	for (int i = 0; i < NFILES; i++) {
		struct stat st;
		if (files[i].required || qi_root_lstat(h, files[i].path, &st) == 0 || errno != ENOENT)
			which |= 1u << i;
	}
	struct qi_pwlockset locks;
	if (qi_pwlockset_acquire(h, &locks, which, wait_ms) < 0)
		return -1;

	struct plan p = { 0 };
	int rc = make_plan(h, spec, &p);
	if (rc == 0)
		rc = publish(h, &p);
	if (rc == 0) {
		add_diffs(h, &p);
		rc = write_files(h, &p);
	}
	int sig = qi_pwlockset_release(&locks);
	if (sig && rc == 0)
		rc = qi_error(h, "interrupted by signal %d while editing the accounts", sig);
	if (rc == 0) {
		arrays_to_ids(p.gid, p.uid, resolved);
		if (p.pending) {
			qi_set_changed(h);
			if (qi_root_is_host(h))
				flush_caches(h);
		}
	}
	plan_free(&p);
	return rc;
}
