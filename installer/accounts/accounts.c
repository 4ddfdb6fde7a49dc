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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"

#define DEFAULT_LOCK_WAIT_MS 15000
#define DEFAULT_AUTO_MIN 600
#define DEFAULT_AUTO_MAX 999

/* The seed guide's accounts: the groups, then the users of nofiles and of
 * qmail; alias's home is the alias directory. */
#define GROUP(n, id) { .name = n, .group = true, .default_id = id }
#define USER(n, g, ah, id) { .name = n, .primary = g, .alias_home = ah, .default_id = id }
const struct qi_account_def qi_account_defs[QI_ACCT_COUNT] = {
	[QI_ACCT_NOFILES] = GROUP("nofiles", 600),
	[QI_ACCT_QMAIL] = GROUP("qmail", 601),
	[QI_ACCT_ALIAS] = USER("alias", QI_ACCT_NOFILES, true, 600),
	[QI_ACCT_QMAILD] = USER("qmaild", QI_ACCT_NOFILES, false, 601),
	[QI_ACCT_QMAILL] = USER("qmaill", QI_ACCT_NOFILES, false, 602),
	[QI_ACCT_QMAILP] = USER("qmailp", QI_ACCT_NOFILES, false, 603),
	[QI_ACCT_QMAILQ] = USER("qmailq", QI_ACCT_QMAIL, false, 604),
	[QI_ACCT_QMAILR] = USER("qmailr", QI_ACCT_QMAIL, false, 605),
	[QI_ACCT_QMAILS] = USER("qmails", QI_ACCT_QMAIL, false, 606),
};
#undef GROUP
#undef USER

/* Groups and users: their files, their words, their run of the table. */
enum { K_GROUP, K_USER };
static const struct kind {
	const char *word, *id;			/* "group", "gid" */
	const char *id_conflict, *taken_conflict;	/* the conflicts' kinds */
	enum qi_pwfile file, shadow;
	const char *editor;			/* for a malformed line */
	int first, end;				/* [first, end) of qi_account_defs */
} kinds[] = {
	[K_GROUP] = { "group", "gid", "group-id", "gid-taken", QI_PWF_GROUP, QI_PWF_GSHADOW, "vigr",
		      0, QI_ACCT_FIRST_USER },
	[K_USER] = { "user", "uid", "user-id", "uid-taken", QI_PWF_PASSWD, QI_PWF_SHADOW, "vipw",
		     QI_ACCT_FIRST_USER, QI_ACCT_COUNT },
};
#define NGROUPS_Q (kinds[K_GROUP].end - kinds[K_GROUP].first)
#define NUSERS_Q (kinds[K_USER].end - kinds[K_USER].first)

static const struct kind *kind_of(int a)
{
	return &kinds[qi_account_defs[a].group ? K_GROUP : K_USER];
}

/* Non-login shells, in order of preference; an existing account with any
 * of them (or the one given) is as good as ours. */
static const char *const nologin_shells[] = {
	"/sbin/nologin", "/usr/sbin/nologin", "/bin/false", "/usr/bin/false", NULL,
};

/* The order the files are written in: groups before the users naming them. */
static const enum qi_pwfile write_order[QI_PWF_COUNT] = {
	QI_PWF_GROUP, QI_PWF_GSHADOW, QI_PWF_PASSWD, QI_PWF_SHADOW,
};

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
	struct pwfile f[QI_PWF_COUNT];
	struct qi_account_ids ids;
	const char *shell;
	char *parent;		/* qmail_home's parent, to create first, or NULL */
	struct home homes[2];	/* QMAIL_HOME, QMAIL_HOME/alias */
	json_t *conflicts;	/* array of {kind, name, message, suggestion} */
	json_t *accounts;	/* array of {name, type, id, action} */
	json_t *homes_json;
	bool pending;
};

/* ------------------------------------------------------------------ */
/* The accounts by name                                                */
/* ------------------------------------------------------------------ */

int qi_account_find(const char *name)
{
	for (int a = 0; a < QI_ACCT_COUNT; a++)
		if (strcmp(qi_account_defs[a].name, name) == 0)
			return a;
	return -1;
}

/* One rule for every id, pinned or in a range: see QI_ACCOUNT_ID_MAX. */
static int check_id(qi_handle *h, const char *name, long long id)
{
	if (id >= QI_ACCOUNT_ID_MIN && id <= QI_ACCOUNT_ID_MAX)
		return 0;
	return qi_error_kind(h, QI_ERR_USAGE, "%lld is not a usable id for %s: give a number from "
			     "%d to %d (0 is root's; 65534 is nobody's)", id, name,
			     QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX);
}

int qi_accounts_set_id(qi_handle *h, struct qi_account_ids *ids, const char *name, long long id)
{
	int a = qi_account_find(name);
	if (a < 0) {
		struct qi_buf b = { 0 };
		for (int i = 0; i < QI_ACCT_COUNT; i++)
			qi_buf_addf(&b, "%s%s", i ? ", " : "", qi_account_defs[i].name);
		qi_error_kind(h, QI_ERR_USAGE, "'%s' is not one of qmail's accounts (%s)", name, b.data);
		qi_buf_free(&b);
		return -1;
	}
	if (check_id(h, name, id) < 0)
		return -1;
	ids->id[a] = id;
	return 0;
}

void qi_accounts_default(struct qi_accounts_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	for (int a = 0; a < QI_ACCT_COUNT; a++)
		spec->ids.id[a] = qi_account_defs[a].default_id;
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

/* Read file I into P->f[I]; an optional file may be absent. */
static int load_file(qi_handle *h, struct plan *p, enum qi_pwfile i)
{
	const struct qi_pwfile_def *d = &qi_pwfiles[i];
	struct pwfile *f = &p->f[i];
	if (qi_root_lstat(h, d->path, &f->st) < 0) {
		int e = errno;
		if (e == ENOENT && !d->required)
			return 0;
		char *where = qi_root_path(h, d->path);
		errno = e;
		if (e == ENOENT)
			qi_error(h, "%s does not exist: is %s a system image? (qinstall adds "
				 "accounts to an existing %s, it does not create one)",
				 where, qi_root(h), d->path);
		else
			qi_error_errno(h, "cannot read %s", where);
		free(where);
		return -1;
	}
	if (!S_ISREG(f->st.st_mode)) {
		char *where = qi_root_path(h, d->path);
		qi_error(h, "%s is %s, not a regular file; qinstall edits only regular files: "
			 "replace it with the file itself and try again", where,
			 qi_file_type_name(f->st.st_mode));
		free(where);
		return -1;
	}
	if (qi_root_read(h, d->path, &f->orig, &f->origlen) < 0)
		return -1;
	f->present = true;
	qi_pwdb_parse(&f->db, d->kind, f->orig, f->origlen);
	return 0;
}

static void plan_free(struct plan *p)
{
	for (int i = 0; i < QI_PWF_COUNT; i++) {
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
	json_array_append_new(p->conflicts, json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "name",
						      name, "message", message, "suggestion", suggestion));
	free(message);
	free(suggestion);
}

/* "free gids 602-603 and uids 607-613 (in 600-999)", for suggestions. */
static char *free_ids_hint(struct plan *p)
{
	long long min, max;
	range_of(p->spec, &min, &max);
	long long g = free_block(&p->f[kinds[K_GROUP].file].db, min, max, NGROUPS_Q, NULL, 0);
	long long u = free_block(&p->f[kinds[K_USER].file].db, min, max, NUSERS_Q, NULL, 0);
	if (g < 0 || u < 0)
		return qi_xasprintf("%lld-%lld has no free block of %d gids and %d uids: give "
				    "--ids auto a wider --range", min, max, NGROUPS_Q, NUSERS_Q);
	return qi_xasprintf("gids %lld-%lld and uids %lld-%lld are free (--ids auto --range "
			    "%lld-%lld picks them)", g, g + NGROUPS_Q - 1, u, u + NUSERS_Q - 1, min, max);
}

/* --ids auto for K's accounts: those present keep their ids, the missing
 * ones take the lowest free block of their count in MIN-MAX. */
static int auto_ids(qi_handle *h, struct plan *p, const struct kind *k, long long min,
		    long long max)
{
	const struct qi_pwdb *db = &p->f[k->file].db;
	long long *ids = p->ids.id + k->first;
	int n = k->end - k->first, missing = 0;
	for (int i = 0; i < n; i++) {
		const struct qi_pwline *e = qi_pwdb_find_name(db, qi_account_defs[k->first + i].name);
		ids[i] = e ? e->id : -1;
		missing += !e;
	}
	if (!missing)
		return 0;
	long long base = free_block(db, min, max, missing, ids, n);
	if (base < 0)
		return qi_error(h, "--ids auto: no %d free %s%s in %lld-%lld; give a wider "
				"--range, or pin the ids with --id", missing, k->id,
				missing > 1 ? "s" : "", min, max);
	for (int i = 0; i < n; i++)
		if (ids[i] < 0)
			ids[i] = base++;
	return 0;
}

/* Pick ids for --ids auto: groups first, then users. */
static int pick_auto(qi_handle *h, struct plan *p)
{
	long long min, max;
	range_of(p->spec, &min, &max);
	if (min < QI_ACCOUNT_ID_MIN || max > QI_ACCOUNT_ID_MAX || min > max)
		return qi_error_kind(h, QI_ERR_USAGE, "the id range %lld-%lld is not usable: give "
				     "MIN-MAX with %d <= MIN <= MAX <= %d", min, max,
				     QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX);
	if (auto_ids(h, p, &kinds[K_GROUP], min, max) < 0)
		return -1;
	return auto_ids(h, p, &kinds[K_USER], min, max);
}

/* The pinned ids: each usable, and no two groups (or users) alike. */
static int pin_ids(qi_handle *h, struct plan *p)
{
	p->ids = p->spec->ids;
	for (int i = 0; i < QI_ACCT_COUNT; i++) {
		const struct kind *k = kind_of(i);
		long long id = p->ids.id[i];
		if (check_id(h, qi_account_defs[i].name, id) < 0)
			return -1;
		for (int j = k->first; j < i; j++)
			if (p->ids.id[j] == id)
				return qi_error_kind(h, QI_ERR_USAGE, "%s and %s are both given id %lld: "
						     "each %s needs its own", qi_account_defs[j].name,
						     qi_account_defs[i].name, id, k->word);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The plan: conflicts and what to add                                 */
/* ------------------------------------------------------------------ */

static void report(struct plan *p, const char *name, const char *type, long long id,
		   const char *action)
{
	json_array_append_new(p->accounts, json_pack("{s:s, s:s, s:I, s:s}", "name", name, "type", type,
						     "id", (json_int_t)id, "action", action));
}

/* A line of NAME in K's files that is not a well-formed entry blocks
 * every change. */
static bool malformed(struct plan *p, qi_handle *h, const struct kind *k, const char *name)
{
	const enum qi_pwfile in[] = { k->file, k->shadow };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (!p->f[in[i]].present)
			continue;
		const struct qi_pwline *l = qi_pwdb_find_any_name(&p->f[in[i]].db, name);
		if (!l || l->type == QI_PWL_ENTRY)
			continue;
		char *w = qi_root_path(h, qi_pwfiles[in[i]].path);
		conflict(p, "malformed", name,
			 qi_xasprintf("line %zu of %s, for '%s', is malformed", l->lineno, w, name),
			 qi_xasprintf("repair it by hand (%s), then run again", k->editor));
		free(w);
		return true;
	}
	return false;
}

static const char *home_of(const struct plan *p, int a)
{
	return p->homes[qi_account_defs[a].alias_home ? 1 : 0].path;
}

/* What makes an existing user E unfit to be account A (beside its id). */
static void user_conflicts(struct plan *p, int a, const struct qi_pwline *e)
{
	const char *name = qi_account_defs[a].name, *home = home_of(p, a);
	const char *group = qi_account_defs[qi_account_defs[a].primary].name;
	long long gid = p->ids.id[qi_account_defs[a].primary];
	if (e->gid != gid)
		conflict(p, "user-group", name,
			 qi_xasprintf("user %s has primary gid %lld, wanted %lld (group %s)",
				      name, e->gid, gid, group),
			 qi_xasprintf("change it with usermod -g %s %s, or remove the user", group, name));
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
}

/* Account A's new line in group or passwd; its password is in the shadow
 * file when there is one. */
static json_t *new_entry(const struct plan *p, int a)
{
	const struct qi_account_def *d = &qi_account_defs[a];
	const char *pw = p->f[kind_of(a)->shadow].present ? "x" : "*";
	char id[24], gid[24];
	snprintf(id, sizeof(id), "%lld", p->ids.id[a]);
	if (d->group)
		return json_pack("[s s s s]", d->name, pw, id, "");
	snprintf(gid, sizeof(gid), "%lld", p->ids.id[d->primary]);
	return json_pack("[s s s s s s s]", d->name, pw, id, gid, "", home_of(p, a), p->shell);
}

/* A locked line in gshadow (NAME:!::) or shadow (NAME:!:LASTCHG:::::). */
static json_t *shadow_entry(const struct kind *k, const char *name, const char *lastchg)
{
	json_t *row = json_pack("[s s s]", name, "!", lastchg);
	for (size_t i = 3; i < qi_pwkind_nfields(qi_pwfiles[k->shadow].kind); i++)
		json_array_append_new(row, json_string(""));
	return row;
}

/* Account A: a conflict, or present, or what to add (into TO_ADD).
 * DAYS is the last password change for new shadow lines. */
static void plan_account(qi_handle *h, struct plan *p, int a, const char *days,
			 json_t *to_add[QI_PWF_COUNT])
{
	const struct qi_account_def *d = &qi_account_defs[a];
	const struct kind *k = kind_of(a);
	const struct qi_pwdb *db = &p->f[k->file].db;
	long long want = p->ids.id[a];
	if (malformed(p, h, k, d->name))
		return;
	const struct qi_pwline *e = qi_pwdb_find_name(db, d->name);
	const char *action = "present";
	if (e) {
		size_t before = json_array_size(p->conflicts);
		if (e->id != want)
			conflict(p, k->id_conflict, d->name,
				 qi_xasprintf("%s %s has %s %lld, wanted %lld", k->word, d->name, k->id,
					      e->id, want),
				 qi_xasprintf("keep it with --id %s=%lld (in a profile: %s = %lld under "
					      "[accounts]), or --ids auto", d->name, e->id, d->name, e->id));
		if (!d->group)
			user_conflicts(p, a, e);
		if (json_array_size(p->conflicts) != before)
			return;
	} else {
		const struct qi_pwline *holder = qi_pwdb_find_id(db, want);
		if (holder) {
			conflict(p, k->taken_conflict, d->name,
				 qi_xasprintf("%s %lld, wanted for %s %s, is held by %s %s", k->id, want,
					      k->word, d->name, k->word, holder->fields[0]),
				 free_ids_hint(p));
			return;
		}
		json_array_append_new(to_add[k->file], new_entry(p, a));
		action = "create";
	}
	if (p->f[k->shadow].present) {
		const struct qi_pwline *s = qi_pwdb_find_name(&p->f[k->shadow].db, d->name);
		if (!s) {
			json_array_append_new(to_add[k->shadow], shadow_entry(k, d->name, d->group ? "" : days));
			if (e)
				action = "complete";
		} else if (!d->group && !password_locked(s->fields[1], false)) {
			char *w = qi_root_path(h, qi_pwfiles[k->shadow].path);
			conflict(p, "user-password", d->name,
				 qi_xasprintf("user %s has %s in %s; qmail's users must not log in", d->name,
					      s->fields[1][0] ? "a password" : "an empty password", w),
				 qi_xasprintf("lock it: usermod -L %s", d->name));
			free(w);
			return;
		}
	}
	report(p, d->name, k->word, want, action);
}

/* Every account, groups first (the users name them). */
static void plan_accounts(qi_handle *h, struct plan *p, json_t *to_add[QI_PWF_COUNT])
{
	/* Today, or SOURCE_DATE_EPOCH's day (reproducible images); never day
	 * 0, which shadow reads as "change the password at next login". */
	long long today = time(NULL) / 86400;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && strtoll(sde, NULL, 10) >= 86400)
		today = strtoll(sde, NULL, 10) / 86400;
	char days[32];
	snprintf(days, sizeof(days), "%lld", today);
	for (int a = 0; a < QI_ACCT_COUNT; a++)
		plan_account(h, p, a, days, to_add);
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
	p->homes[0].gid = (gid_t)p->ids.id[QI_ACCT_QMAIL];
	p->homes[1].mode = 02755;
	p->homes[1].uid = (uid_t)p->ids.id[QI_ACCT_ALIAS];
	p->homes[1].gid = (gid_t)p->ids.id[QI_ACCT_QMAIL];

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
static int add_entries(qi_handle *h, struct plan *p, json_t *to_add[QI_PWF_COUNT])
{
	for (int i = 0; i < QI_PWF_COUNT; i++) {
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

/* The plan into the result; the conflicts into the error. */
static int publish(qi_handle *h, struct plan *p)
{
	json_t *r = qi_result(h);
	json_t *ids = json_object();
	for (int a = 0; a < QI_ACCT_COUNT; a++)
		json_object_set_new(ids, qi_account_defs[a].name, json_integer(p->ids.id[a]));
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

/* Read ROOT, make the whole plan and publish it: 0 with P filled, or -1
 * (the conflicts, when there are any, listed in the error). */
static int make_plan(qi_handle *h, const struct qi_accounts_spec *spec, struct plan *p)
{
	p->spec = spec;
	p->conflicts = json_array();
	p->accounts = json_array();
	p->homes_json = json_array();
	for (int i = 0; i < QI_PWF_COUNT; i++)
		if (load_file(h, p, i) < 0)
			return -1;
	if (pick_shell(h, p) < 0 || plan_homes_paths(h, p) < 0)
		return -1;
	if ((spec->ids_auto ? pick_auto(h, p) : pin_ids(h, p)) < 0)
		return -1;
	json_t *to_add[QI_PWF_COUNT];
	for (int i = 0; i < QI_PWF_COUNT; i++)
		to_add[i] = json_array();
	plan_accounts(h, p, to_add);
	int rc = 0;
	plan_homes(h, p);
	if (json_array_size(p->conflicts) == 0)
		rc = add_entries(h, p, to_add);
	for (int i = 0; i < QI_PWF_COUNT; i++)
		json_decref(to_add[i]);
	return rc < 0 ? rc : publish(h, p);
}

/* --diff text of a file: shadow files' password fields are never shown. */
static char *diff_text(enum qi_pwfile file, const char *data, size_t len)
{
	if (file != QI_PWF_SHADOW && file != QI_PWF_GSHADOW)
		return qi_xstrdup(data);
	struct qi_pwdb db;
	qi_pwdb_parse(&db, qi_pwfiles[file].kind, data, len);
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
	for (int k = 0; k < QI_PWF_COUNT; k++) {
		enum qi_pwfile i = write_order[k];
		if (!p->f[i].present || !p->f[i].db.changed)
			continue;
		size_t len;
		char *after = qi_pwdb_serialize(&p->f[i].db, &len);
		char *tb = diff_text(i, p->f[i].orig, p->f[i].origlen), *ta = diff_text(i, after, len);
		qi_diff_add(h, qi_pwfiles[i].path, tb, ta);
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
	if (rc == 0) {
		*resolved = p.ids;
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
		/* A rollback's guard runs this too: its error stays on the handle. */
		const char *argv[] = { prog, cmds[i][1], cmds[i][2], NULL };
		struct qi_proc_spec spec = { .argv = argv, .keep_error = true };
		if (qi_proc_run(h, &spec, NULL) < 0)
			qi_warn(h, "%s %s %s did not succeed: its cache may show the old accounts "
				"for a while", prog, cmds[i][1], cmds[i][2] ? cmds[i][2] : "");
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
			const char *base = qi_pwfiles[f].path;
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
	for (int k = 0; k < QI_PWF_COUNT; k++) {
		enum qi_pwfile i = write_order[k];
		struct pwfile *f = &p->f[i];
		if (!f->present || !f->db.changed)
			continue;
		size_t len;
		char *data = qi_pwdb_serialize(&f->db, &len);
		char *backup = qi_xasprintf("%s-", qi_pwfiles[i].path);
		mode_t mode = f->st.st_mode & 07777;
		/* The journal's own --diff text would show shadow's hashes and
		 * the backups: add_diffs has given the redacted one instead. */
		bool diff = qi_diff_wanted(h);
		qi_set_diff_wanted(h, false);
		int rc = qi_write_file(h, backup, f->orig, f->origlen, mode, f->st.st_uid, f->st.st_gid);
		if (rc == 0)
			rc = qi_write_file(h, qi_pwfiles[i].path, data, len, mode, f->st.st_uid, f->st.st_gid);
		qi_set_diff_wanted(h, diff);
		free(backup);
		free(data);
		if (rc < 0)
			return qi_error_prefix(h, "cannot update %s", qi_pwfiles[i].path);
	}
	if (p->parent && qi_mkdir_p(h, p->parent, 0755, 0, 0) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (p->homes[i].create &&
		    qi_mkdir(h, p->homes[i].path, p->homes[i].mode, p->homes[i].uid, p->homes[i].gid) < 0)
			return -1;
	return 0;
}

/* Lock the files there are (shadow-utils locks only those). */
static int lock_files(qi_handle *h, const struct qi_accounts_spec *spec, struct qi_pwlockset *locks)
{
	int wait_ms = spec->lock_wait_ms > 0 ? spec->lock_wait_ms : DEFAULT_LOCK_WAIT_MS;
	unsigned which = 0;
	for (int i = 0; i < QI_PWF_COUNT; i++) {
		struct stat st;
		if (qi_pwfiles[i].required || qi_root_lstat(h, qi_pwfiles[i].path, &st) == 0 ||
		    errno != ENOENT)
			which |= 1u << i;
	}
	return qi_pwlockset_acquire(h, locks, which, wait_ms);
}

/* In --check mode nothing is written, not even a lock: the plan is made
 * from the files as they are. */
int qi_accounts_ensure(qi_handle *h, const struct qi_accounts_spec *spec,
		       struct qi_account_ids *resolved)
{
	bool writing = !qi_check(h);
	struct qi_pwlockset locks;
	if (writing && lock_files(h, spec, &locks) < 0)
		return -1;
	struct plan p = { 0 };
	int rc = make_plan(h, spec, &p);
	if (rc == 0) {
		add_diffs(h, &p);
		if (writing)
			rc = write_files(h, &p);
	}
	int sig = writing ? qi_pwlockset_release(&locks) : 0;
	if (sig && rc == 0)
		rc = qi_error(h, "interrupted by signal %d while editing the accounts", sig);
	if (rc == 0) {
		*resolved = p.ids;
		if (p.pending) {
			qi_set_changed(h);
			if (writing && qi_root_is_host(h))
				flush_caches(h);
		}
	}
	plan_free(&p);
	return rc;
}
