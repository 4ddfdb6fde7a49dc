/*
 * rollback.c - undo: the registry of undo handlers (external operations)
 * and guards (files other tools lock), the library's own ones registered
 * for every handle; qi_rollback and a run's abort, which undo runs newest
 * first, each change by making its paths what their before-images say
 * (content from the store), after checking that the store holds every
 * image needed and beginning the guards whose paths are touched.
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

static struct { char *kind; qi_undo_fn fn; } undo_handlers[32];
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

int qi_register_undo(const char *kind, qi_undo_fn fn)
{
	for (int i = 0; i < nundo_handlers; i++)
		if (strcmp(undo_handlers[i].kind, kind) == 0) {
			undo_handlers[i].fn = fn;
			return 0;
		}
	if (nundo_handlers == (int)(sizeof(undo_handlers) / sizeof(undo_handlers[0])))
		return -1;
	undo_handlers[nundo_handlers].kind = qi_xstrdup(kind);
	undo_handlers[nundo_handlers].fn = fn;
	nundo_handlers++;
	return 0;
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
	struct qi_image before, before2;
	bool has_before2;
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
}

/* The changes of RUN not yet undone, newest first. */
static int load_undo_rows(qi_handle *h, int64_t run, struct undo_row **rows, size_t *n)
{
	sqlite3_stmt *st;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT id, run, op, path, path2, kind, undo_data,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target, state"
			       " FROM changes WHERE run=?1 AND state!='undone' ORDER BY id DESC",
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
	*srcfd = qi_store_open(h->journal->storefd, img->hash);
	if (*srcfd >= 0)
		return 0;
	char *full = qi_root_path(h, path);
	qi_error(h, "cannot restore %s: its before-image (sha256 %s) is missing from the "
		 "journal's store", full, img->hash);
	free(full);
	return -1;
}

/* After a restore from the store: the store's copy must be what it is
 * named after. */
static int check_restored(qi_handle *h, const struct qi_spot *at, const struct qi_image *img)
{
	struct qi_image now;
	int rc = 0;
	if (qi_image_at(at->dfd, at->name, true, &now) == 0 && strcmp(now.hash, img->hash) != 0) {
		char *full = qi_root_path(h, at->path);
		rc = qi_error(h, "restored %s, but its before-image in the store is damaged "
			      "(sha256 %.12s, expected %.12s): check it by hand", full, now.hash, img->hash);
		free(full);
	}
	qi_image_clear(&now);
	return rc;
}

/* Make PATH what IMG says, content from the store. ID names the temp. */
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
		rc = qi_journal_make_image(h, &at, img, &live, &(struct qi_content){ .fd = srcfd });
	if (rc == 0 && srcfd >= 0)
		rc = check_restored(h, &at, img);
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

/* Mark ROWS[from..to) undone, after syncing what their undo wrote. */
static int mark_undone(qi_handle *h, struct undo_row *rows, size_t from, size_t to)
{
	if (from == to)
		return 0;
	if (qi_journal_sync_devs(h) < 0)
		return -1;
	sqlite3_stmt *st;
	if (qi_db_exec(h, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE changes SET state='undone' WHERE id=?1",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_exec(h->journal->db, "ROLLBACK", NULL, NULL, NULL);
		return qi_db_fail(h, "cannot record the rollback");
	}
	for (size_t i = from; i < to; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rows[i].id);
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

/* ------------------------------------------------------------------ */
/* Before anything is undone: the store, the guards                      */
/* ------------------------------------------------------------------ */

/* Is the content IMG says missing from the store, and not at PATH either? */
static bool before_missing(qi_handle *h, const char *path, const struct qi_image *img)
{
	if (img->type != QI_FT_REG ||
	    faccessat(h->journal->storefd, img->hash, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return false;
	/* not needed when the path already holds that content */
	struct qi_image live;
	bool there = qi_image_path(h, path, true, &live) == 0 && live.type == QI_FT_REG &&
		     strcmp(live.hash, img->hash) == 0;
	qi_image_clear(&live);
	return !there;
}

/* Every before-image the rollback will need must be in the store: check
 * them all before changing anything. */
static int check_store_for(qi_handle *h, const struct undo_row *rows, size_t n)
{
	int missing = 0;
	char first[PATH_MAX + 128] = "";
	for (size_t i = 0; i < n; i++) {
		const struct qi_image *imgs[2] = { &rows[i].before, rows[i].has_before2 ? &rows[i].before2 : NULL };
		for (int k = 0; k < 2; k++) {
			const char *p = k ? rows[i].path2 : rows[i].path;
			if (!imgs[k] || !before_missing(h, p, imgs[k]))
				continue;
			if (!missing++)
				snprintf(first, sizeof(first), "%s (change %lld of run %lld)", p,
					 (long long)rows[i].id, (long long)rows[i].run);
		}
	}
	if (missing)
		return qi_error(h, "cannot roll back: %d before-image%s missing from the journal's store, "
				"first %s; nothing was changed. Restore %s/store from a backup, or put "
				"those files back by hand (`qinstall verify` lists them)",
				missing, missing == 1 ? " is" : "s are", first, QI_STATE_DIR);
	return 0;
}

/* Everything one rollback undoes: the runs, newest first, and the rows of
 * each, newest first. */
struct undo_plan {
	int64_t *runs;
	size_t nruns;
	struct undo_row **rows;
	size_t *counts;
};

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

/* Does any change of the plan (not an external one) touch PATH? */
static bool plan_touches(const struct undo_plan *p, const char *path)
{
	for (size_t r = 0; r < p->nruns; r++)
		for (size_t i = 0; i < p->counts[r]; i++) {
			const struct undo_row *row = &p->rows[r][i];
			if (strcmp(row->op, "external") != 0 &&
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

/* Every row of every run, then the store checked for them, before
 * anything is touched. */
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
		if (rc == 0)
			rc = check_store_for(h, p->rows[r], p->counts[r]);
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
}

/* Undo RUN's N rows, recording the progress as it goes. */
static int undo_run(qi_handle *h, int64_t run, struct undo_row *rows, size_t n)
{
	int rc = qi_db_set_run_state(h, run, "rolling-back", "cannot record the rollback");
	size_t marked = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = undo_row(h, &rows[i]);
		if (rc < 0)
			qi_error_prefix(h, "rolling back run %lld", (long long)run);
		if (rc == 0 && i + 1 - marked >= UNDO_MARK_EVERY) {
			rc = mark_undone(h, rows, marked, i + 1);
			marked = i + 1;
		}
	}
	if (rc == 0)
		rc = mark_undone(h, rows, marked, n);
	if (rc == 0)
		rc = qi_db_set_run_state(h, run, "rolled-back", "cannot record the rollback");
	return rc;
}

int qi_journal_undo_runs(qi_handle *h, int64_t from_run, bool only_this)
{
	struct undo_plan p = { 0 };
	if (list_runs(h, from_run, only_this, &p) < 0) {
		free_plan(&p);
		return -1;
	}
	int rc = load_plan(h, &p);
	struct guard_hold held = { 0 };
	if (rc == 0)
		rc = begin_guards(h, &p, &held);
	json_t *undone = json_array();
	for (size_t r = 0; r < p.nruns && rc == 0; r++) {
		rc = undo_run(h, p.runs[r], p.rows[r], p.counts[r]);
		if (rc < 0)
			break;
		json_array_append_new(undone, json_integer(p.runs[r]));
		qi_debug(h, "run %lld rolled back (%zu change%s undone)", (long long)p.runs[r],
			 p.counts[r], p.counts[r] == 1 ? "" : "s");
		if (p.counts[r])
			qi_set_changed(h);
	}
	end_guards(h, &held);
	free_plan(&p);
	json_object_set_new(h->result, "rolled_back", undone);
	return rc;
}

/* ------------------------------------------------------------------ */
/* qi_rollback                                                          */
/* ------------------------------------------------------------------ */

/* Open the journal for a rollback of RUN (locked unless --check). 1 when
 * there is nothing to roll back (said on the handle). */
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
		return rc;
	}
	if (qi_journal_lock(h) < 0 || qi_journal_open_db(h, true) < 0 || qi_journal_open_store(h) < 0) {
		qi_journal_unlock(h);
		return -1;
	}
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

/* --check: the changes a rollback from RUN would undo, into "changes". */
static int list_undo(qi_handle *h, int64_t run)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, "SELECT c.run, c.op, c.path, c.path2 FROM changes c JOIN runs r"
			       " ON r.id=c.run WHERE c.run>=?1 AND r.state!='rolled-back'"
			       " AND c.state!='undone' ORDER BY c.id DESC", -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the changes");
	sqlite3_bind_int64(st, 1, run);
	json_t *arr = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *c = json_object();
		json_object_set_new(c, "run", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(c, "op", json_string((const char *)sqlite3_column_text(st, 1)));
		const char *p = (const char *)sqlite3_column_text(st, 2);
		json_object_set_new(c, "path", p ? json_string(p) : json_null());
		p = (const char *)sqlite3_column_text(st, 3);
		if (p)
			json_object_set_new(c, "to", json_string(p));
		json_array_append_new(arr, c);
		qi_set_changed(h);
	}
	sqlite3_finalize(st);
	json_object_set_new(h->result, "changes", arr);
	return 0;
}

int qi_rollback(qi_handle *h, int64_t run)
{
	struct qi_journal *j = qi_journal_get(h);
	if (j->in_run)
		return qi_error(h, "cannot roll back during a run (this is a bug)");
	int rc = open_for_rollback(h, run);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = pick_run(h, &run);
	if (rc == 0 && run > 0)
		rc = h->check ? list_undo(h, run) : qi_journal_undo_runs(h, run, false);
	qi_journal_unlock(h);
	return rc;
}
