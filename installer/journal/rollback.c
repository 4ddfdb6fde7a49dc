/*
 * rollback.c - undo: the registry of undo handlers (external operations)
 * and guards (files other tools lock), the library's own ones registered
 * for every handle; qi_rollback and a run's abort, which undo runs newest
 * first, each change by making its paths what their before-images say
 * (content from the store, the copy checked against its hash). Before
 * anything is undone, the undo is followed path by path to check every
 * before-image it will read from the store (qi_journal_check_undo); a
 * missing or damaged one refuses the rollback, unless the user named its
 * path to be left (qi_rollback_leaving): the changes touching it are then
 * recorded 'left', not undone. Then the undo is replayed again to find
 * what it would delete that qinstall did not write (keep.c): refused
 * there when it cannot be moved, else moved aside before each run is
 * undone (looked at again before each later run). --check goes through
 * the very same plan. Then the guards whose paths are touched are begun.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"

/* A rollback records its progress (after a syncfs) every so many undone
 * changes. Undo is idempotent, so this only spares a resumed rollback some
 * work; each mark costs a sync of the file system. */
#define UNDO_MARK_EVERY 50000

/* ------------------------------------------------------------------ */
/* Undo handlers of external operations, guards of shared files         */
/* ------------------------------------------------------------------ */

static struct { char *kind; qi_undo_fn fn; bool first; } undo_handlers[32];
static int nundo_handlers;

#define MAX_GUARDS 8
static struct qi_guard {
	char *name;
	const char *const *paths;	/* NULL-terminated, the registrant's */
	qi_guard_begin_fn begin;
	qi_guard_end_fn end;
} guards[MAX_GUARDS];
static int nguards;

static void register_builtin(void)
{
	qi_accounts_register();
	qi_services_register();
}

void qi_journal_register_builtin(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_builtin);
}

static int register_undo(const char *kind, qi_undo_fn fn, bool first)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (strcmp(undo_handlers[i].kind, kind) == 0) {
			undo_handlers[i].fn = fn;
			undo_handlers[i].first = first;
			return 0;
		}
	if (nundo_handlers == (int)(sizeof(undo_handlers) / sizeof(undo_handlers[0])))
		return -1;
	undo_handlers[nundo_handlers].kind = qi_xstrdup(kind);
	undo_handlers[nundo_handlers].fn = fn;
	undo_handlers[nundo_handlers].first = first;
	nundo_handlers++;
	return 0;
}

int qi_register_undo(const char *kind, qi_undo_fn fn)
{
	return register_undo(kind, fn, false);
}

int qi_register_undo_first(const char *kind, qi_undo_fn fn)
{
	return register_undo(kind, fn, true);
}

/* Whether KIND's rows are undone before the rest of their run. */
static bool undo_kind_first(const char *kind)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (kind && strcmp(undo_handlers[i].kind, kind) == 0)
			return undo_handlers[i].first;
	return false;
}

qi_undo_fn qi_journal_find_undo(const char *kind)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (strcmp(undo_handlers[i].kind, kind) == 0)
			return undo_handlers[i].fn;
	return NULL;
}

int qi_register_guard(const char *name, const char *const *paths,
		      qi_guard_begin_fn begin, qi_guard_end_fn end)
{
	for (int i = 0; i < nguards; i++)
		if (strcmp(guards[i].name, name) == 0) {
			guards[i].paths = paths;
			guards[i].begin = begin;
			guards[i].end = end;
			return 0;
		}
	if (nguards == MAX_GUARDS)
		return -1;
	guards[nguards] = (struct qi_guard){ qi_xstrdup(name), paths, begin, end };
	nguards++;
	return 0;
}

bool qi_journal_find_guard(const char *name, const char *const **paths)
{
	for (int i = 0; i < nguards; i++)
		if (strcmp(guards[i].name, name) == 0) {
			*paths = guards[i].paths;
			return true;
		}
	return false;
}

/* ------------------------------------------------------------------ */
/* The rows to undo                                                     */
/* ------------------------------------------------------------------ */

struct undo_row {
	int64_t id, run;
	bool done;		/* made and synced: no temporary can be left */
	char *op, *path, *path2, *kind, *undo_data;
	struct qi_image before, before2, after;
	bool has_before2;
	bool leave;		/* left as it is (--skip-damaged): recorded 'left' */
	bool undone_first;	/* its kind's undo ran before the rest of the run */
};

static void undo_row_free(struct undo_row *r)
{
	free(r->op);
	free(r->path);
	free(r->path2);
	free(r->kind);
	free(r->undo_data);
	qi_image_clear(&r->before);
	qi_image_clear(&r->before2);
	qi_image_clear(&r->after);
}

static char *col_dup(sqlite3_stmt *st, int c)
{
	const char *s = (const char *)sqlite3_column_text(st, c);
	return s ? qi_xstrdup(s) : NULL;
}

static void column_row(sqlite3_stmt *st, struct undo_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->run = sqlite3_column_int64(st, 1);
	r->op = col_dup(st, 2);
	r->path = col_dup(st, 3);
	r->path2 = col_dup(st, 4);
	r->kind = col_dup(st, 5);
	r->undo_data = col_dup(st, 6);
	qi_db_column_image(st, 7, &r->before);
	r->has_before2 = qi_db_column_image(st, 14, &r->before2);
	r->done = strcmp((const char *)sqlite3_column_text(st, 21), "done") == 0;
	qi_db_column_image(st, 22, &r->after);
}

/* The changes of RUN not yet undone (nor left), newest first. */
static int load_undo_rows(qi_handle *h, int64_t run, struct undo_row **rows, size_t *n)
{
	sqlite3_stmt *st;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT id, run, op, path, path2, kind, undo_data,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target, state,"
			       " a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target"
			       " FROM changes WHERE run=?1 AND state NOT IN ('undone','left') ORDER BY id DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the changes");
	sqlite3_bind_int64(st, 1, run);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*rows = qi_xrealloc(*rows, cap * sizeof(**rows));
		}
		column_row(st, &(*rows)[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot read the changes");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Undoing one change                                                   */
/* ------------------------------------------------------------------ */

/* --diff of an undo: what is there, and what the store gives back. */
static void rollback_diff(qi_handle *h, const char *path, const struct qi_image *live,
			  const struct qi_image *img, int srcfd)
{
	char *b = qi_journal_diff_text(h, path, live, NULL, 0);
	char *data = NULL;
	size_t len = 0;
	if (img->type == QI_FT_REG && srcfd >= 0 && img->size <= 65536) {
		data = qi_xmalloc((size_t)img->size + 1);
		ssize_t n = pread(srcfd, data, (size_t)img->size, 0);
		len = n > 0 ? (size_t)n : 0;
	}
	char *a = qi_journal_diff_text(h, srcfd < 0 ? path : NULL, img, data, len);
	qi_diff_add(h, path, b, a);
	free(data);
	free(a);
	free(b);
}

/* What is at the spot; hashed only when the content may already be the
 * one IMG says. -1 (the message set when it could not be looked at). */
static int live_image(qi_handle *h, const struct qi_spot *at, const struct qi_image *img,
		      struct qi_image *live)
{
	if (qi_image_at(at->dfd, at->name, false, live) < 0) {
		char *full = qi_root_path(h, at->path);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		return -1;
	}
	if (live->type == QI_FT_REG && img->type == QI_FT_REG && live->size == img->size) {
		qi_image_clear(live);
		return qi_image_at(at->dfd, at->name, true, live);
	}
	return 0;
}

/* The store's copy of IMG's content, when LIVE does not have it already. */
static int open_before(qi_handle *h, const char *path, const struct qi_image *img,
		       const struct qi_image *live, int *srcfd)
{
	*srcfd = -1;
	if (img->type != QI_FT_REG || (live->type == QI_FT_REG && strcmp(live->hash, img->hash) == 0))
		return 0;
	*srcfd = h->journal->storefd < 0 ? -1 : qi_store_open(h->journal->storefd, img->hash);
	if (*srcfd >= 0)
		return 0;
	char *full = qi_root_path(h, path);
	qi_error(h, "cannot restore %s: its before-image (sha256 %s) %s; nothing was written to it. "
		 "Run the rollback again: it checks the store first and says what can be done",
		 full, img->hash, qi_store_state_text(errno == ENOENT || h->journal->storefd < 0 ?
						      QI_STORE_MISSING : QI_STORE_NOT_FILE));
	free(full);
	return -1;
}

/* Make PATH what IMG says, content from the store (the copy checked
 * against IMG's hash before it replaces anything). ID names the temp. */
static int restore_path(qi_handle *h, const char *path, const struct qi_image *img, int64_t id,
			bool maybe_tmp)
{
	const char *name;
	int dfd = qi_root_parent(h, path, &name);
	if (dfd < 0) {
		if ((errno == ENOENT || errno == ENOTDIR) && img->type == QI_FT_ABSENT)
			return 0;
		char *full = qi_root_path(h, path);
		qi_error_errno(h, "cannot restore %s: cannot reach its directory", full);
		free(full);
		return -1;
	}
	qi_journal_note_dev(h->journal, dfd);
	if (maybe_tmp)	/* a change killed between making its temporary and renaming it */
		qi_journal_remove_tmp(dfd, id);
	struct qi_spot at = { .dfd = dfd, .name = name, .path = path, .id = id };
	struct qi_image live;
	int srcfd = -1;
	int rc = live_image(h, &at, img, &live);
	if (rc == 0)
		rc = open_before(h, path, img, &live, &srcfd);
	if (rc == 0 && h->diff && !qi_image_equal(&live, img))
		rollback_diff(h, path, &live, img, srcfd);
	if (rc == 0)
		rc = qi_journal_make_image(h, &at, img, &live,
					   &(struct qi_content){ .fd = srcfd, .verify = true });
	if (srcfd >= 0)
		close(srcfd);
	qi_image_clear(&live);
	close(dfd);
	return rc;
}

/* A rename: move it back if it is at TO and FROM is free, then give TO
 * its own before-image back. */
static int undo_rename(qi_handle *h, const struct undo_row *r)
{
	struct qi_image at_from, at_to;
	int rc = 0;
	if (qi_image_path(h, r->path, false, &at_from) == 0 &&
	    qi_image_path(h, r->path2, false, &at_to) == 0 &&
	    at_from.type == QI_FT_ABSENT && at_to.type != QI_FT_ABSENT &&
	    r->before.type != QI_FT_ABSENT) {
		const char *n1, *n2;
		int d1 = qi_root_parent(h, r->path, &n1), d2 = qi_root_parent(h, r->path2, &n2);
		if (d1 >= 0 && d2 >= 0 && renameat(d2, n2, d1, n1) < 0) {
			char *full = qi_root_path(h, r->path2);
			rc = qi_error_errno(h, "cannot move %s back", full);
			free(full);
		}
		if (d1 >= 0)
			close(d1);
		if (d2 >= 0)
			close(d2);
	}
	qi_image_clear(&at_from);
	qi_image_clear(&at_to);
	if (rc < 0)
		return -1;
	return restore_path(h, r->path2, &r->before2, r->id, false);
}

static int undo_row(qi_handle *h, const struct undo_row *r)
{
	if (strcmp(r->op, "external") == 0) {
		qi_undo_fn fn = qi_journal_find_undo(r->kind ? r->kind : "");
		if (!fn)
			return qi_error(h, "cannot undo change %lld of run %lld: no undo handler for '%s' "
					"in this qinstall", (long long)r->id, (long long)r->run, r->kind);
		return fn(h, r->undo_data ? r->undo_data : "");
	}
	if (strcmp(r->op, "rename") == 0 && r->path2 && undo_rename(h, r) < 0)
		return -1;
	return restore_path(h, r->path, &r->before, r->id, !r->done);
}

/* Record ROWS[from..to) that are undone ('undone', after syncing what
 * their undo wrote) or, with LEFT, those that are left ('left'). */
static int mark_rows(qi_handle *h, struct undo_row *rows, size_t from, size_t to, bool left)
{
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		n += rows[i].leave == left;
	if (n == 0)
		return 0;
	if (!left && qi_journal_sync_devs(h) < 0)
		return -1;
	sqlite3_stmt *st;
	if (qi_db_exec(h, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE changes SET state=?2 WHERE id=?1",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
		return qi_db_fail(h, "cannot record the rollback");
	}
	for (size_t i = from; i < to; i++) {
		if (rows[i].leave != left)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rows[i].id);
		sqlite3_bind_text(st, 2, left ? "left" : "undone", -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
			return qi_db_fail(h, "cannot record the rollback");
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(h->journal->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
		return qi_db_fail(h, "cannot record the rollback");
	}
	return 0;
}

/* A change as the result lists it ("changes", "left"). */
static json_t *row_json(const struct undo_row *r)
{
	json_t *c = json_object();
	json_object_set_new(c, "run", json_integer(r->run));
	json_object_set_new(c, "change", json_integer(r->id));
	json_object_set_new(c, "op", json_string(r->op));
	json_object_set_new(c, "path", r->path ? json_string(r->path) : json_null());
	if (r->path2)
		json_object_set_new(c, "to", json_string(r->path2));
	return c;
}

/* ------------------------------------------------------------------ */
/* Before anything is undone: the before-images                         */
/* ------------------------------------------------------------------ */

/* Everything one rollback undoes: the runs, newest first, and the rows of
 * each, newest first; what the store cannot give them; the paths the user
 * named to be left. */
struct undo_plan {
	int64_t *runs;
	size_t nruns;
	struct undo_row **rows;
	size_t *counts;
	struct qi_undo_damage *damage;
	size_t ndamage;
	const char *const *leave;
	size_t nleave;
	int64_t asked;		/* the RUN the user gave (0: the last), for messages */
	json_t *changes;	/* where the changes undone are listed, or NULL */
	struct qi_keep keep;	/* what the undo must not delete, kept aside */
};

/* The undo replayed on paths only, newest first, to know which
 * before-images it will read from the store: AT holds what each path will
 * be at its next undo (what is there now, until an undo gives it back its
 * before-image). */
struct undo_sim {
	qi_handle *h;
	struct qi_keep *keep;	/* looking for what to keep aside, not at the store */
	int64_t edits_of;	/* only the changes of this run (0: all) meet edited paths */
	struct qi_imagemap at;
	struct qi_undo_damage *damage;
	size_t n, cap;
};

/* PATH as it will be at its next undo, into *OUT (cleared by the caller).
 * A live file's content is hashed only when it may be WANT's; a path that
 * cannot be looked at counts as absent (its content comes from the store). */
static void sim_get(struct undo_sim *s, const char *path, const struct qi_image *want,
		    struct qi_image *out)
{
	memset(out, 0, sizeof(*out));
	struct qi_image_entry *e = qi_imagemap_get(&s->at, path);
	if (e) {
		qi_image_copy(out, &e->img);
		return;
	}
	int rc = qi_image_path(s->h, path, false, out);
	if (rc == 0 && out->type == QI_FT_REG && want->type == QI_FT_REG && out->size == want->size) {
		qi_image_clear(out);
		rc = qi_image_path(s->h, path, true, out);
	}
	if (rc < 0) {
		qi_image_clear(out);
		qi_clear_error(s->h);
	}
}

static void add_damage(struct undo_sim *s, const struct undo_row *r, const char *path,
		       const char *hash, const char *found, int state)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->damage = qi_xrealloc(s->damage, s->cap * sizeof(*s->damage));
	}
	struct qi_undo_damage *d = &s->damage[s->n++];
	memset(d, 0, sizeof(*d));
	d->path = qi_xstrdup(path);
	snprintf(d->hash, sizeof(d->hash), "%s", hash);
	snprintf(d->found, sizeof(d->found), "%s", found);
	d->change = r->id;
	d->run = r->run;
	d->state = state;
}

/* The undo of R gives PATH back IMG: its content from the store, unless
 * PATH will hold that content already. */
static void sim_restore(struct undo_sim *s, const struct undo_row *r, const char *path,
			const struct qi_image *img)
{
	static const struct qi_image dir = { .type = QI_FT_DIR };
	if (s->keep && img->type != QI_FT_DIR) {
		struct qi_image now;
		sim_get(s, path, &dir, &now);
		if (now.type == QI_FT_DIR)
			qi_keep_dir(s->keep, path);	/* the undo removes it */
		qi_image_clear(&now);
	}
	if (img->type == QI_FT_REG && !s->keep) {
		struct qi_image now;
		sim_get(s, path, img, &now);
		bool there = now.type == QI_FT_REG && strcmp(now.hash, img->hash) == 0;
		qi_image_clear(&now);
		char found[QI_SHA256_HEX + 1] = "";
		int state = there ? QI_STORE_SOUND : qi_store_check(s->h->journal->storefd, img->hash, found);
		if (state != QI_STORE_SOUND)
			add_damage(s, r, path, img->hash, found, state);
	}
	qi_imagemap_set(&s->at, path, img);
}

/* Looking for what to keep aside: PATH as the first undo that touches it
 * meets it (as it is now). Unless it is what qinstall left there (AFTER)
 * or what the undo gives back (TARGET), or a directory (what is in it is
 * looked at when the undo removes it), it is kept aside. */
static void sim_keep_first(struct undo_sim *s, const char *path, const struct qi_image *after,
			   const struct qi_image *target)
{
	if (!s->keep || !path || qi_imagemap_get(&s->at, path))
		return;
	struct qi_image live;
	sim_get(s, path, after, &live);
	if (live.type == QI_FT_REG && !live.hash[0] && target->type == QI_FT_REG &&
	    target->size == live.size) {
		qi_image_clear(&live);
		sim_get(s, path, target, &live);
	}
	if (live.type != QI_FT_ABSENT && live.type != QI_FT_DIR &&
	    !qi_journal_same_object(after, &live) && !qi_journal_same_object(target, &live))
		qi_keep_edited(s->keep, path);
	qi_image_clear(&live);
}

/* One undo, as undo_row makes it: a rename first moves the object back
 * from TO when FROM is free, then gives TO and FROM their before-images. */
static void sim_row(struct undo_sim *s, const struct undo_row *r)
{
	static const struct qi_image absent = { 0 };
	if (strcmp(r->op, "external") == 0)
		return;
	if (s->keep && (s->edits_of == 0 || s->edits_of == r->run)) {
		bool moves = strcmp(r->op, "rename") == 0 || strcmp(r->op, "remove") == 0;
		sim_keep_first(s, r->path, moves ? &absent : &r->after, &r->before);
		if (strcmp(r->op, "rename") == 0)
			sim_keep_first(s, r->path2, &r->after, &r->before);
	}
	if (strcmp(r->op, "rename") == 0 && r->path2) {
		static const struct qi_image no_content = { .type = QI_FT_DIR };
		struct qi_image from, to;
		sim_get(s, r->path, &no_content, &from);
		sim_get(s, r->path2, &r->before, &to);
		if (from.type == QI_FT_ABSENT && to.type != QI_FT_ABSENT && r->before.type != QI_FT_ABSENT) {
			qi_imagemap_set(&s->at, r->path, &to);
			qi_imagemap_set(&s->at, r->path2, &(struct qi_image){ .type = QI_FT_ABSENT });
		}
		qi_image_clear(&from);
		qi_image_clear(&to);
		sim_restore(s, r, r->path2, &r->before2);
	}
	sim_restore(s, r, r->path, &r->before);
}

/* Every before-image the plan's undo reads from the store, checked. */
static void check_plan(qi_handle *h, struct undo_plan *p)
{
	struct undo_sim s = { .h = h };
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++)
			sim_row(&s, &p->rows[r][i]);
	qi_imagemap_free(&s.at);
	p->damage = s.damage;
	p->ndamage = s.n;
}

void qi_undo_damage_free(struct qi_undo_damage *damage, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(damage[i].path);
	free(damage);
}

/* What is wrong with the store directory, or NULL when it is open. */
static const char *store_problem(qi_handle *h)
{
	const char *problem = NULL;
	if (h->journal->storefd >= 0)
		return NULL;
	int fd = qi_store_open_dir(h->journal->statefd, &problem);
	if (fd >= 0)
		close(fd);
	return problem ? problem : "cannot be opened";
}

/* The store, opened to read (never made: a missing store is reported). */
static void open_undo_store(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	const char *problem;
	if (j->storefd < 0)
		j->storefd = qi_store_open_dir(j->statefd, &problem);
}

/* ------------------------------------------------------------------ */
/* Damaged before-images: the refusal, or the paths left                */
/* ------------------------------------------------------------------ */

/* The index of PATH among the paths named to be left, or -1. */
static ssize_t named(const struct undo_plan *p, const char *path)
{
	for (size_t i = 0; path && i < p->nleave; i++)
		if (strcmp(p->leave[i], path) == 0)
			return (ssize_t)i;
	return -1;
}

/* S as one word for a shell, quoted when it has to be. */
static void add_sh_word(struct qi_buf *b, const char *s)
{
	if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-=:@%,")] == '\0') {
		qi_buf_addf(b, "%s", s);
		return;
	}
	qi_buf_addf(b, "'");
	for (; *s; s++)
		qi_buf_addf(b, *s == '\'' ? "'\\''" : "%c", *s);
	qi_buf_addf(b, "'");
}

/* The command that leaves every damaged path and rolls back the rest. */
static void add_skip_command(qi_handle *h, struct qi_buf *b, const struct undo_plan *p)
{
	qi_buf_addf(b, "qinstall --root ");
	add_sh_word(b, h->root);
	qi_buf_addf(b, " rollback");
	if (p->asked > 0)
		qi_buf_addf(b, " %lld", (long long)p->asked);
	for (size_t k = 0; k < p->ndamage; k++) {
		bool seen = false;
		for (size_t i = 0; i < k && !seen; i++)
			seen = strcmp(p->damage[i].path, p->damage[k].path) == 0;
		if (seen)
			continue;
		if (b->len > 2800) {
			qi_buf_addf(b, " --skip-damaged ... (one for each path of \"damaged\" in "
				    "`qinstall --json --check rollback`)");
			return;
		}
		qi_buf_addf(b, " --skip-damaged ");
		add_sh_word(b, p->damage[k].path);
	}
}

/* The first of the damaged before-images not named to be left, and how many. */
static size_t unnamed_damage(const struct undo_plan *p, int *state, bool *mixed)
{
	size_t n = 0;
	*mixed = false;
	for (size_t k = 0; k < p->ndamage; k++) {
		if (named(p, p->damage[k].path) >= 0)
			continue;
		if (n++ == 0)
			*state = p->damage[k].state;
		else if (p->damage[k].state != *state)
			*mixed = true;
	}
	return n;
}

/* Refuse, changing nothing, when a before-image the undo needs is missing
 * or damaged and its path was not named to be left. */
static int refuse_damage(qi_handle *h, const struct undo_plan *p)
{
	int state = 0;
	bool mixed;
	size_t n = unnamed_damage(p, &state, &mixed);
	if (n == 0)
		return 0;
	const char *text = mixed ? "is missing from or damaged in the journal's store" : qi_store_state_text(state);
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "cannot roll back: %zu before-image%s %s%s: ", n, n == 1 ? "" : "s",
		    n == 1 ? "" : "are", n == 1 ? text : text + 2);
	const struct qi_undo_damage *first = NULL;
	size_t shown = 0;
	for (size_t k = 0; k < p->ndamage && shown < 4; k++) {
		const struct qi_undo_damage *d = &p->damage[k];
		if (named(p, d->path) >= 0)
			continue;
		if (!first)
			first = d;
		qi_buf_addf(&b, "%s%s (sha256 %s, change %lld of run %lld: %s)", shown++ ? ", " : "",
			    d->path, d->hash, (long long)d->change, (long long)d->run,
			    qi_store_state_name(d->state));
	}
	if (n > shown)
		qi_buf_addf(&b, ", and %zu more", n - shown);
	qi_buf_addf(&b, "; nothing was changed.");
	char *store = qi_root_path(h, QI_STATE_DIR "/store");
	const char *problem = store_problem(h);
	if (problem)
		qi_buf_addf(&b, " The journal's store %s %s.", store, problem);
	if (n == 1) {
		char *full = qi_root_path(h, first->path);
		qi_buf_addf(&b, " Put a copy of that content back as %s/%s (from a backup), or make %s "
			    "hold it by hand, and run the rollback again; or leave that path as it is "
			    "now and roll back everything else: ", store, first->hash, full);
		free(full);
	} else {
		qi_buf_addf(&b, " Put a copy of each content back as %s/SHA256 (from a backup), or make "
			    "each path hold it by hand, and run the rollback again; or leave those paths "
			    "as they are now and roll back everything else: ", store);
	}
	free(store);
	add_skip_command(h, &b, p);
	qi_error(h, "%s", b.data);
	qi_buf_free(&b);
	return -1;
}

/* Which named paths are rightly named: those with a damaged before-image,
 * and those a left rename ties to them. OK has room for every one. */
static void rightly_named(const struct undo_plan *p, bool *ok)
{
	for (size_t k = 0; k < p->ndamage; k++) {
		ssize_t i = named(p, p->damage[k].path);
		if (i >= 0)
			ok[i] = true;
	}
	for (bool more = true; more;) {
		more = false;
		for (size_t r = 0; r < p->nruns; r++)
			for (size_t i = 0; i < p->counts[r]; i++) {
				const struct undo_row *row = &p->rows[r][i];
				ssize_t a = named(p, row->path), b = named(p, row->path2);
				if (a < 0 || b < 0 || ok[a] == ok[b])
					continue;
				ok[a] = ok[b] = true;
				more = true;
			}
	}
}

/* A change that touches a left path is left, and must touch no other path. */
static int leave_rows(qi_handle *h, struct undo_plan *p)
{
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++) {
			struct undo_row *row = &p->rows[r][i];
			if (strcmp(row->op, "external") == 0)
				continue;
			ssize_t a = named(p, row->path), b = named(p, row->path2);
			row->leave = a >= 0 || b >= 0;
			if (row->leave && row->path2 && (a < 0 || b < 0))
				return qi_error_kind(h, QI_ERR_USAGE, "cannot leave %s: change %lld of run %lld "
						     "renamed %s to %s, and leaving it leaves both as they are "
						     "now; name both: --skip-damaged %s --skip-damaged %s",
						     a >= 0 ? row->path : row->path2, (long long)row->id,
						     (long long)row->run, row->path, row->path2, row->path,
						     row->path2);
		}
	return 0;
}

/* The paths named to be left: each must be rightly named; then every
 * change touching one is marked to be left. */
static int resolve_leave(qi_handle *h, struct undo_plan *p)
{
	if (p->nleave == 0)
		return 0;
	bool *ok = calloc(p->nleave, sizeof(*ok));
	if (!ok)
		abort();
	rightly_named(p, ok);
	ssize_t bad = -1;
	for (size_t i = 0; i < p->nleave && bad < 0; i++)
		if (!ok[i])
			bad = (ssize_t)i;
	free(ok);
	if (bad >= 0) {
		struct qi_buf b = { 0 };
		for (size_t k = 0; k < p->ndamage; k++)
			qi_buf_addf(&b, "%s%s", k ? ", " : "", p->damage[k].path);
		qi_error_kind(h, QI_ERR_USAGE, "--skip-damaged %s: no before-image that this rollback needs "
			      "for it is missing or damaged, so it is rolled back like any other path "
			      "(name only the paths the refusal lists%s%s); nothing was changed",
			      p->leave[bad], b.data ? ": " : ": none is damaged", b.data ? b.data : "");
		qi_buf_free(&b);
		return -1;
	}
	return leave_rows(h, p);
}

/* Say what is left, before anything is undone, into the warnings and the
 * result's "left". */
static void announce_left(qi_handle *h, const struct undo_plan *p)
{
	json_t *left = json_array();
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++)
			if (p->rows[r][i].leave)
				json_array_append_new(left, row_json(&p->rows[r][i]));
	for (size_t i = 0; i < p->nleave; i++) {
		const struct qi_undo_damage *d = NULL;
		for (size_t k = 0; k < p->ndamage && !d; k++)
			if (strcmp(p->damage[k].path, p->leave[i]) == 0)
				d = &p->damage[k];
		if (d)
			qi_warn(h, "%s is left as it is now, not rolled back: its before-image (sha256 %s, "
				"change %lld of run %lld) %s; the journal records its changes as left",
				p->leave[i], d->hash, (long long)d->change, (long long)d->run,
				qi_store_state_text(d->state));
		else
			qi_warn(h, "%s is left as it is now, not rolled back: a change that is left renamed "
				"it; the journal records its changes as left", p->leave[i]);
	}
	json_object_set_new(h->result, "left", left);
}

/* The damaged before-images, into the result's "damaged". */
static void report_damage(qi_handle *h, const struct undo_plan *p)
{
	json_t *arr = json_array();
	for (size_t k = 0; k < p->ndamage; k++) {
		const struct qi_undo_damage *d = &p->damage[k];
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(d->path));
		json_object_set_new(o, "sha256", json_string(d->hash));
		json_object_set_new(o, "run", json_integer(d->run));
		json_object_set_new(o, "change", json_integer(d->change));
		json_object_set_new(o, "problem", json_string(qi_store_state_name(d->state)));
		if (d->found[0])
			json_object_set_new(o, "found", json_string(d->found));
		json_array_append_new(arr, o);
	}
	json_object_set_new(h->result, "damaged", arr);
}

/* ------------------------------------------------------------------ */
/* The guards                                                           */
/* ------------------------------------------------------------------ */

/* The guards begun for one rollback, to end them in reverse. */
struct guard_hold {
	int n;
	int which[MAX_GUARDS];
	void *state[MAX_GUARDS];
};

static void end_guards(qi_handle *h, struct guard_hold *held)
{
	while (held->n > 0) {
		held->n--;
		guards[held->which[held->n]].end(h, held->state[held->n]);
	}
}

/* Does any change of the plan (not external, not left) touch PATH? */
static bool plan_touches(const struct undo_plan *p, const char *path)
{
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++) {
			const struct undo_row *row = &p->rows[r][i];
			if (strcmp(row->op, "external") != 0 && !row->leave &&
			    ((row->path && strcmp(row->path, path) == 0) ||
			     (row->path2 && strcmp(row->path2, path) == 0)))
				return true;
		}
	return false;
}

/* The paths of guard G that the plan touches, each once, in G's order,
 * into TOUCHED (room for all of G's paths); how many. */
static size_t guard_touched(const struct qi_guard *g, const struct undo_plan *p,
			    const char **touched)
{
	size_t n = 0;
	for (size_t k = 0; g->paths[k]; k++) {
		const char *gp = g->paths[k];
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(touched[i], gp) == 0;
		if (!seen && plan_touches(p, gp))
			touched[n++] = gp;
	}
	return n;
}

/* Begin every guard whose paths the plan touches, with exactly those
 * paths. On a refusal the guards already begun are ended and nothing has
 * been undone. */
static int begin_guards(qi_handle *h, const struct undo_plan *p, struct guard_hold *held)
{
	for (int g = 0; g < nguards; g++) {
		size_t n = 0;
		while (guards[g].paths[n])
			n++;
		const char **touched = qi_xmalloc((n ? n : 1) * sizeof(*touched));
		size_t ntouched = guard_touched(&guards[g], p, touched);
		int rc = 0;
		if (ntouched) {
			void *state = NULL;
			rc = guards[g].begin(h, touched, ntouched, &state);
			if (rc == 0) {
				held->which[held->n] = g;
				held->state[held->n] = state;
				held->n++;
			}
		}
		free(touched);
		if (rc < 0) {
			end_guards(h, held);
			qi_error_prefix(h, "cannot roll back (nothing was undone)");
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Undoing runs                                                         */
/* ------------------------------------------------------------------ */

/* The runs to undo: FROM_RUN and every later one (or only FROM_RUN). */
static int list_runs(qi_handle *h, int64_t from_run, bool only_this, struct undo_plan *p)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, only_this ?
			       "SELECT id FROM runs WHERE id=?1 AND state!='rolled-back'" :
			       "SELECT id FROM runs WHERE id>=?1 AND state!='rolled-back' ORDER BY id DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the runs");
	sqlite3_bind_int64(st, 1, from_run);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->runs = qi_xrealloc(p->runs, (p->nruns + 1) * sizeof(*p->runs));
		p->runs[p->nruns++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot read the runs");
	return 0;
}

/* Every row of every run, read before anything is touched. */
static int load_plan(qi_handle *h, struct undo_plan *p)
{
	p->rows = qi_xmalloc((p->nruns ? p->nruns : 1) * sizeof(*p->rows));
	p->counts = qi_xmalloc((p->nruns ? p->nruns : 1) * sizeof(*p->counts));
	int rc = 0;
	for (size_t r = 0; r < p->nruns; r++) {
		p->rows[r] = NULL;
		p->counts[r] = 0;
		if (rc == 0)
			rc = load_undo_rows(h, p->runs[r], &p->rows[r], &p->counts[r]);
	}
	return rc;
}

static void free_plan(struct undo_plan *p)
{
	for (size_t r = 0; p->rows && r < p->nruns; r++) {
		for (size_t i = 0; i < p->counts[r]; i++)
			undo_row_free(&p->rows[r][i]);
		free(p->rows[r]);
	}
	free(p->rows);
	free(p->counts);
	free(p->runs);
	qi_undo_damage_free(p->damage, p->ndamage);
	qi_keep_free(&p->keep);
}

/* The runs and their rows, the store checked for them, the paths to
 * leave resolved and said: everything decided before anything is undone
 * (the same for --check and for the rollback itself). */
static int prepare_plan(qi_handle *h, struct undo_plan *p, int64_t from_run, bool only_this)
{
	if (list_runs(h, from_run, only_this, p) < 0 || load_plan(h, p) < 0)
		return -1;
	check_plan(h, p);
	if (p->ndamage || p->nleave)
		report_damage(h, p);
	if (refuse_damage(h, p) < 0 || resolve_leave(h, p) < 0)
		return -1;
	if (p->nleave)
		announce_left(h, p);
	return 0;
}

int qi_journal_check_undo(qi_handle *h, int64_t from_run, bool only_this,
			  struct qi_undo_damage **damage, size_t *n)
{
	*damage = NULL;
	*n = 0;
	qi_journal_get(h);
	if (qi_journal_open_state(h, false) < 0) {
		if (errno != ENOENT)
			return -1;
		qi_clear_error(h);
		return 0;	/* no journal: nothing to undo */
	}
	int rc = qi_journal_open_db(h, false);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	open_undo_store(h);
	struct undo_plan p = { 0 };
	rc = list_runs(h, from_run, only_this, &p);
	if (rc == 0)
		rc = load_plan(h, &p);
	if (rc == 0) {
		check_plan(h, &p);
		*damage = p.damage;
		*n = p.ndamage;
		p.damage = NULL;
		p.ndamage = 0;
	}
	free_plan(&p);
	return rc;
}

/* The damaged entries of the store that RUN's left paths needed, set
 * aside (their bytes kept) so that a later run saves a sound copy. */
static void set_aside_damage(qi_handle *h, const struct undo_plan *p, int64_t run)
{
	for (size_t k = 0; k < p->ndamage; k++) {
		const struct qi_undo_damage *d = &p->damage[k];
		if (d->run != run || d->state == QI_STORE_MISSING || h->journal->storefd < 0)
			continue;
		if (qi_store_set_aside(h->journal->storefd, d->hash) < 0)
			qi_warn(h, "cannot set the damaged before-image %s aside in %s/store (%s): move it "
				"away by hand, or a later run that needs that content reuses it", d->hash,
				QI_STATE_DIR, strerror(errno));
	}
}

/* What undoing the R0-th run of the plan and every one after it would
 * delete that qinstall did not write: the undo replayed on paths notes
 * the directories it removes and what it replaces, then keep.c reads
 * them. Changes nothing. Looking again before a later run (R0 > 0), only
 * that run's changes can meet a path changed since the last look (by the
 * undo of the runs before it). */
static int find_kept(qi_handle *h, struct undo_plan *p, size_t r0)
{
	struct qi_keep *k = &p->keep;
	qi_keep_reset(k);
	k->run = p->runs[p->nruns - 1];
	k->later = r0 + 1 < p->nruns;
	k->check = h->check;
	for (size_t r = r0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++) {
			const struct undo_row *row = &p->rows[r][i];
			if (strcmp(row->op, "external") != 0) {
				qi_keep_plan_path(k, row->path, row->id);
				qi_keep_plan_path(k, row->path2, 0);
			}
		}
	struct undo_sim s = { .h = h, .keep = k, .edits_of = r0 ? p->runs[r0] : 0 };
	for (size_t r = r0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++)
			if (!p->rows[r][i].leave)
				sim_row(&s, &p->rows[r][i]);
	qi_imagemap_free(&s.at);
	qi_undo_damage_free(s.damage, s.n);
	return qi_keep_find(h, k, r0 > 0);
}

/* The R-th run's external rows whose kind is undone first (newest
 * first), before anything of the run is kept aside or undone: their undo
 * sees the tree as the run left it. *ANY: whether there was one. Not
 * recorded here: undo_run records them with the rest (their handlers are
 * idempotent, so a rollback killed in between runs them again). */
static int undo_first(qi_handle *h, struct undo_plan *p, size_t r, bool *any)
{
	*any = false;
	for (size_t i = 0; i < p->counts[r]; i++) {
		struct undo_row *row = &p->rows[r][i];
		if (row->leave || strcmp(row->op, "external") != 0 || !undo_kind_first(row->kind))
			continue;
		if (undo_row(h, row) < 0)
			return qi_error_prefix(h, "rolling back run %lld", (long long)p->runs[r]);
		row->undone_first = true;
		*any = true;
	}
	return 0;
}

/* Undo the R-th run of the plan, recording the progress as it goes: its
 * left changes first, then each undone one. */
static int undo_run(qi_handle *h, struct undo_plan *p, size_t r)
{
	int64_t run = p->runs[r];
	struct undo_row *rows = p->rows[r];
	size_t n = p->counts[r];
	int rc = qi_db_set_run_state(h, run, "rolling-back", "cannot record the rollback");
	if (rc == 0)
		rc = mark_rows(h, rows, 0, n, true);
	if (rc == 0 && p->nleave)
		set_aside_damage(h, p, run);
	size_t marked = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (rows[i].leave)
			continue;
		if (!rows[i].undone_first)
			rc = undo_row(h, &rows[i]);
		if (rc < 0)
			qi_error_prefix(h, "rolling back run %lld", (long long)run);
		else if (p->changes)
			json_array_append_new(p->changes, row_json(&rows[i]));
		if (rc == 0 && i + 1 - marked >= UNDO_MARK_EVERY) {
			rc = mark_rows(h, rows, marked, i + 1, false);
			marked = i + 1;
		}
	}
	if (rc == 0)
		rc = mark_rows(h, rows, marked, n, false);
	if (rc == 0)
		rc = qi_db_set_run_state(h, run, "rolled-back", "cannot record the rollback");
	return rc;
}

/* How many of the R-th run's changes are undone (not left). */
static size_t count_undone(const struct undo_plan *p, size_t r)
{
	size_t n = 0;
	for (size_t i = 0; i < p->counts[r]; i++)
		n += !p->rows[r][i].leave;
	return n;
}

/* --check: the changes the plan would undo, into P's list. */
static void list_plan(qi_handle *h, const struct undo_plan *p)
{
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++)
			if (!p->rows[r][i].leave) {
				json_array_append_new(p->changes, row_json(&p->rows[r][i]));
				qi_set_changed(h);
			}
}

/* Undo the runs of plan P (FROM_RUN and every later one, or only it). */
static int undo_plan(qi_handle *h, struct undo_plan *p, int64_t from_run, bool only_this)
{
	int rc = prepare_plan(h, p, from_run, only_this);
	if (rc == 0 && p->nruns)
		rc = find_kept(h, p, 0);
	if (rc == 0 && h->check) {
		list_plan(h, p);
		qi_keep_list(h, &p->keep);
		return 0;
	}
	struct guard_hold held = { 0 };
	if (rc == 0)
		rc = begin_guards(h, p, &held);
	json_t *undone = json_array();
	for (size_t r = 0; r < p->nruns && rc == 0; r++) {
		bool first = false;
		rc = undo_first(h, p, r, &first);
		/* looked at again: an undo may have given back what was not written */
		if (rc == 0 && (r > 0 || first))
			rc = find_kept(h, p, r);
		if (rc == 0)
			rc = qi_keep_move(h, &p->keep);
		if (rc == 0)
			rc = undo_run(h, p, r);
		if (rc < 0)
			break;
		json_array_append_new(undone, json_integer(p->runs[r]));
		size_t n = count_undone(p, r);
		qi_debug(h, "run %lld rolled back (%zu change%s undone)", (long long)p->runs[r],
			 n, n == 1 ? "" : "s");
		if (n)
			qi_set_changed(h);
	}
	end_guards(h, &held);
	json_object_set_new(h->result, "rolled_back", undone);
	return rc;
}

int qi_journal_undo_runs(qi_handle *h, int64_t from_run, bool only_this)
{
	struct undo_plan p = { 0 };
	int rc = undo_plan(h, &p, from_run, only_this);
	if (p.keep.kept && json_array_size(p.keep.kept))
		qi_keep_report(h, &p.keep);
	free_plan(&p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* qi_rollback                                                          */
/* ------------------------------------------------------------------ */

/* Open the journal for a rollback of RUN (locked unless --check). 1 when
 * there is nothing to roll back (said on the handle). The store is never
 * made: a missing one is reported by the check of the before-images. */
static int open_for_rollback(qi_handle *h, int64_t run)
{
	if (qi_journal_open_state(h, false) < 0) {
		if (errno != ENOENT)
			return -1;
		qi_clear_error(h);
		if (run > 0)
			return qi_error_kind(h, QI_ERR_USAGE, "there is no run %lld: %s has no journal",
					     (long long)run, h->root);
		qi_set_msg(h, "nothing to roll back: %s has no journal", h->root);
		json_object_set_new(h->result, "rolled_back", json_array());
		return 1;
	}
	if (h->check) {
		/* say what would be undone, write nothing */
		int rc = qi_journal_open_db(h, false);
		if (rc > 0)
			qi_set_msg(h, "nothing to roll back");
		if (rc == 0)
			open_undo_store(h);
		return rc;
	}
	if (qi_journal_lock(h) < 0 || qi_journal_open_db(h, true) < 0) {
		qi_journal_unlock(h);
		return -1;
	}
	open_undo_store(h);
	return 0;
}

/* RUN 0: the last run not rolled back (*run 0 when there is none, said on
 * the handle); else RUN must exist. */
static int pick_run(qi_handle *h, int64_t *run)
{
	sqlite3_stmt *st;
	if (*run <= 0) {
		if (sqlite3_prepare_v2(h->journal->db, "SELECT max(id) FROM runs WHERE state!='rolled-back'",
				       -1, &st, NULL) != SQLITE_OK)
			return qi_db_fail(h, "cannot read the runs");
		*run = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (*run <= 0) {
			*run = 0;
			qi_set_msg(h, "nothing to roll back: every run is already rolled back");
			json_object_set_new(h->result, "rolled_back", json_array());
		}
		return 0;
	}
	if (sqlite3_prepare_v2(h->journal->db, "SELECT state FROM runs WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the runs");
	sqlite3_bind_int64(st, 1, *run);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!found)
		return qi_error_kind(h, QI_ERR_USAGE, "there is no run %lld in %s (see `qinstall status`)",
				     (long long)*run, h->root);
	return 0;
}

/* The paths named to be left must be paths inside ROOT as the journal
 * names them. */
static int check_leave_paths(qi_handle *h, const char *const *leave, size_t nleave)
{
	for (size_t i = 0; i < nleave; i++)
		if (!leave[i] || leave[i][0] != '/')
			return qi_error_kind(h, QI_ERR_USAGE, "--skip-damaged '%s': give the path inside "
					     "the root as the journal names it, absolute (e.g. /etc/motd)",
					     leave[i] ? leave[i] : "");
	return 0;
}

int qi_rollback_leaving(qi_handle *h, int64_t run, const char *const *leave, size_t nleave)
{
	struct qi_journal *j = qi_journal_get(h);
	if (j->in_run)
		return qi_error(h, "cannot roll back during a run (this is a bug)");
	if (check_leave_paths(h, leave, nleave) < 0)
		return -1;
	json_t *changes = json_array();
	json_object_set_new(h->result, "changes", changes);
	int rc = open_for_rollback(h, run);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct undo_plan p = { .leave = leave, .nleave = nleave, .asked = run, .changes = changes };
	rc = pick_run(h, &run);
	if (rc == 0 && run > 0)
		rc = undo_plan(h, &p, run, false);
	qi_keep_report(h, &p.keep);
	free_plan(&p);
	qi_journal_unlock(h);
	return rc;
}

int qi_rollback(qi_handle *h, int64_t run)
{
	return qi_rollback_leaving(h, run, NULL, 0);
}
