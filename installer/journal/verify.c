/*
 * verify.c - qi_verify_root: compare ROOT with what the journal says qinstall
 * wrote last. Each difference goes into the result's "drift": a damaged
 * or lost state.db, unfinished runs, every path whose live image is not
 * the one its last change left, a store that is missing (or a symlink, or
 * not a directory), and each before-image that rolling back the pending
 * runs would need and that the store cannot give (missing, damaged, not a
 * regular file: the very check rollback makes first). And
 * qi_journal_last_image: what qinstall wrote last at one path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"

static void add_drift(json_t *drift, const char *path, const char *problem,
		      const char *expected, const char *found)
{
	json_t *d = json_object();
	json_object_set_new(d, "path", path ? json_string(path) : json_null());
	json_object_set_new(d, "problem", json_string(problem));
	if (expected)
		json_object_set_new(d, "expected", json_string(expected));
	if (found)
		json_object_set_new(d, "found", json_string(found));
	json_array_append_new(drift, d);
}

/* ------------------------------------------------------------------ */
/* The database itself                                                  */
/* ------------------------------------------------------------------ */

/* SQLite's own check; false when the database cannot be checked at all
 * (nothing more can be read from it then). */
static bool check_integrity(sqlite3 *db, json_t *drift)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		add_drift(drift, NULL, "state.db is damaged", NULL, sqlite3_errmsg(db));
		return false;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		if (s && strcmp(s, "ok") != 0)
			add_drift(drift, NULL, "state.db is damaged", NULL, s);
	}
	int rc = sqlite3_errcode(db);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		add_drift(drift, NULL, "state.db is damaged", NULL, sqlite3_errmsg(db));
		return false;
	}
	return true;
}

static void list_unfinished(sqlite3 *db, json_t *drift)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, command, state FROM runs WHERE state IN ('running','rolling-back')",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *msg = qi_xasprintf("run %lld (%s) is unfinished (%s): roll it back",
					 (long long)sqlite3_column_int64(st, 0),
					 (const char *)sqlite3_column_text(st, 1),
					 (const char *)sqlite3_column_text(st, 2));
		add_drift(drift, NULL, msg, NULL, NULL);
		free(msg);
	}
	sqlite3_finalize(st);
}

/* ------------------------------------------------------------------ */
/* What each path should be                                             */
/* ------------------------------------------------------------------ */

/* One change (not external) of a run not rolled back, as verify reads it. */
struct verify_row {
	int64_t id, run;
	const char *op;
	const char *paths[2];			/* PATH, and rename's TO */
	struct qi_image after, before, before2;
	bool has_before2;
};

static void column_verify_row(sqlite3_stmt *st, struct verify_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->op = (const char *)sqlite3_column_text(st, 1);
	r->paths[0] = (const char *)sqlite3_column_text(st, 2);
	r->paths[1] = (const char *)sqlite3_column_text(st, 3);
	qi_db_column_image(st, 4, &r->after);
	qi_db_column_image(st, 11, &r->before);
	r->has_before2 = qi_db_column_image(st, 18, &r->before2);
	r->run = sqlite3_column_int64(st, 25);
}

/* What R leaves at its paths (a remove: nothing; a rename: nothing at
 * FROM, the object at TO). */
static void take_row(const struct verify_row *r, struct qi_imagemap *expect)
{
	static const struct qi_image absent = { 0 };
	const struct qi_image *want[2] = { &r->after, NULL };
	if (strcmp(r->op, "remove") == 0)
		want[0] = &absent;
	if (strcmp(r->op, "rename") == 0) {
		want[0] = &absent;
		want[1] = &r->after;
	}
	for (int k = 0; k < 2; k++)
		if (r->paths[k] && want[k])
			qi_imagemap_set(expect, r->paths[k], want[k]);
}

/* Read what qinstall wrote last, path by path (last writer wins): what
 * each path is expected to be. False when the changes cannot be read at
 * all. */
static bool read_expectations(sqlite3 *db, struct qi_imagemap *expect, json_t *drift)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT c.id, c.op, c.path, c.path2,"
			       " a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target, c.run"
			       " FROM changes c JOIN runs r ON r.id=c.run"
			       " WHERE r.state!='rolled-back' AND c.state NOT IN ('undone','left') AND c.op!='external'"
			       " ORDER BY c.id", -1, &st, NULL) != SQLITE_OK) {
		add_drift(drift, NULL, "state.db cannot be read", NULL, sqlite3_errmsg(db));
		return false;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct verify_row r;
		column_verify_row(st, &r);
		take_row(&r, expect);
		qi_image_clear(&r.after);
		qi_image_clear(&r.before);
		qi_image_clear(&r.before2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		add_drift(drift, NULL, "state.db cannot be read", NULL, sqlite3_errmsg(db));
	return true;
}

/* ------------------------------------------------------------------ */
/* ROOT against the expectations                                        */
/* ------------------------------------------------------------------ */

/* How LIVE differs from WANT, for the drift's "problem". */
static const char *difference(const struct qi_image *live, const struct qi_image *want)
{
	if (live->type == QI_FT_ABSENT)
		return "missing";
	if (want->type == QI_FT_ABSENT)
		return "present (qinstall removed it)";
	if (live->type != want->type)
		return "type differs";
	if (strcmp(live->hash, want->hash))
		return "content differs";
	if (live->mode != want->mode)
		return "mode differs";
	return "owner differs";
}

static void compare_path(qi_handle *h, const struct qi_image_entry *x, json_t *drift)
{
	struct qi_image live;
	if (qi_image_path(h, x->path, x->img.type == QI_FT_REG, &live) < 0) {
		add_drift(drift, x->path, "cannot be read", NULL, strerror(errno));
		qi_image_clear(&live);
		return;
	}
	bool same = qi_image_equal(&live, &x->img);
	/* a symlink's owner is whoever made it; compare its target */
	if (!same && live.type == QI_FT_LNK && x->img.type == QI_FT_LNK)
		same = strcmp(live.target, x->img.target ? x->img.target : "") == 0;
	if (!same) {
		char *w = qi_image_describe(&x->img), *f = qi_image_describe(&live);
		add_drift(drift, x->path, difference(&live, &x->img), w, f);
		free(w);
		free(f);
	}
	qi_image_clear(&live);
}

/* ------------------------------------------------------------------ */
/* The store                                                            */
/* ------------------------------------------------------------------ */

/* Every before-image that rolling back every pending run would read from
 * the store (the very check the rollback makes first) must be there. */
static void check_store(qi_handle *h, const char *store_problem, json_t *drift)
{
	if (store_problem) {
		char *msg = qi_xasprintf("the journal's store %s: no before-image can be read from it, "
					 "so no run that needs one can be rolled back (restore %s/store "
					 "from a backup)", store_problem, QI_STATE_DIR);
		add_drift(drift, QI_STATE_DIR "/store", msg, "a directory", NULL);
		free(msg);
	}
	struct qi_undo_damage *d;
	size_t n;
	if (qi_journal_check_undo(h, 1, false, &d, &n) < 0) {
		add_drift(drift, NULL, "state.db cannot be read", NULL, qi_errmsg(h));
		qi_clear_error(h);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		char *msg = qi_xasprintf("its before-image (change %lld of run %lld) %s: rolling back run "
					 "%lld refuses until that content is put back, or until this "
					 "path is left (qinstall rollback --skip-damaged PATH)",
					 (long long)d[k].change, (long long)d[k].run,
					 qi_store_state_text(d[k].state), (long long)d[k].run);
		char *want = qi_xasprintf("sha256 %s", d[k].hash);
		char *found = d[k].found[0] ? qi_xasprintf("sha256 %s", d[k].found)
					    : qi_xstrdup(qi_store_state_name(d[k].state));
		add_drift(drift, d[k].path, msg, want, found);
		free(msg);
		free(want);
		free(found);
	}
	qi_undo_damage_free(d, n);
}

static void verify_db(qi_handle *h, const char *store_problem, json_t *drift)
{
	struct qi_journal *j = h->journal;
	if (!check_integrity(j->db, drift))
		return;
	list_unfinished(j->db, drift);
	struct qi_imagemap expect = { 0 };
	if (read_expectations(j->db, &expect, drift))
		for (size_t i = 0; i < expect.n; i++)
			compare_path(h, &expect.e[i], drift);
	qi_imagemap_free(&expect);
	check_store(h, store_problem, drift);
}

int qi_verify_root(qi_handle *h)
{
	json_t *drift = json_array();
	json_object_set_new(h->result, "drift", drift);
	struct qi_journal *j = qi_journal_get(h);
	int rc = qi_journal_open_state(h, false);
	if (rc < 0 && errno == ENOENT) {
		qi_clear_error(h);
		qi_set_msg(h, "%s has no journal: nothing to verify", h->root);
		return 0;
	}
	if (rc < 0) {
		/* A state directory that is not what it must be (a symlink, a
		 * file where a directory belongs) is drift, not a failure. */
		add_drift(drift, "/var/lib/qinstall", "the journal's state is not sound", NULL,
			  qi_errmsg(h));
		qi_clear_error(h);
		return qi_error_kind(h, QI_ERR_DRIFT, "1 difference between %s and its journal", h->root);
	}
	const char *store_problem;
	j->storefd = qi_store_open_dir(j->statefd, &store_problem);
	rc = qi_journal_open_db(h, false);
	if (rc < 0) {
		add_drift(drift, NULL, "state.db cannot be opened", NULL, qi_errmsg(h));
		qi_clear_error(h);
	} else if (rc == 1) {
		if (j->storefd >= 0 && qi_journal_store_has_images(j->storefd))
			add_drift(drift, NULL, "state.db is missing but the store holds before-images "
				  "(the journal was lost: restore it from a backup)", NULL, NULL);
	} else {
		verify_db(h, store_problem, drift);
	}
	size_t n = json_array_size(drift);
	if (n)
		return qi_error_kind(h, QI_ERR_DRIFT, "%zu difference%s between %s and its journal",
				     n, n == 1 ? "" : "s", h->root);
	qi_set_msg(h, "%s matches its journal", h->root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* What qinstall wrote last at one path                                 */
/* ------------------------------------------------------------------ */

static int last_image_query(qi_handle *h, const char *path, struct qi_image *img, bool *found)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "SELECT c.op, c.path, a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target"
			       " FROM changes c JOIN runs r ON r.id=c.run"
			       " WHERE r.state!='rolled-back' AND c.state='done' AND c.op!='external'"
			       " AND (c.path=?1 OR (c.op='rename' AND c.path2=?1))"
			       " ORDER BY c.id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot read the changes");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 0);
		const char *from = (const char *)sqlite3_column_text(st, 1);
		bool gone = strcmp(op, "remove") == 0 || (strcmp(op, "rename") == 0 && strcmp(from, path) == 0);
		if (!gone)
			qi_db_column_image(st, 2, img);
		*found = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot read the changes");
	return 0;
}

int qi_journal_last_image(qi_handle *h, const char *path, struct qi_image *img, bool *found)
{
	*found = false;
	memset(img, 0, sizeof(*img));
	char *clean = qi_path_clean(h, path);
	if (!clean)
		return -1;
	struct qi_journal *j = qi_journal_get(h);
	/* Opened here (read-only) only for this query: a run opens it for
	 * writing later, on the same handle. */
	bool opened = !j->db;
	int rc = 0;
	if (opened) {
		rc = qi_journal_open_state(h, false);
		if (rc < 0 && errno == ENOENT) {
			qi_clear_error(h);
			rc = 1;
		}
		if (rc == 0)
			rc = qi_journal_open_db(h, false);
	}
	if (rc == 0)
		rc = last_image_query(h, clean, img, found);
	if (opened && j->db) {
		sqlite3_close(j->db);
		j->db = NULL;
	}
	free(clean);
	return rc < 0 ? -1 : 0;
}
