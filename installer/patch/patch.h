/*
 * patch.h - the patch engine's parts, shared by patch/parse.c (unified
 * diffs into file patches and hunks), patch/apply.c (placement, fuzz and
 * the new text of one file), patch/tree.c (the files read and written,
 * staged in memory until commit), patch/run.c (GNU patch's driver:
 * names, reversed patches, messages, rejects, backups; the series API),
 * patch/merge.c (the three-way merge of the files where a hunk fails)
 * and patch/series.c (quilt's series file). The unit tests and the fuzz
 * targets include it too.
 */
#ifndef QI_PATCH_H
#define QI_PATCH_H

#include "core/core.h"

enum { PN_OLD = 0, PN_NEW = 1, PN_INDEX = 2 };

/* One line of a hunk. TEXT points into the patch text; LEN counts the
 * newline, which is absent when "\ No newline at end of file" followed. */
struct qi_patch_line {
	const char *text;
	size_t len;
	char type;		/* ' ', '-' (old side) or '+' (new side) */
	bool changed;		/* a context diff's "! " (a '-' or '+' all the same) */
};

struct qi_patch_hunk {
	/* GNU's numbers: FIRST is incremented when the old side is empty
	 * ("append after line FIRST"), NEWFIRST likewise. */
	long first, ptrn_lines, newfirst, repl_lines;
	long prefix_context, suffix_context;
	struct qi_patch_line *old;	/* ptrn_lines lines: ' ' and '-' */
	struct qi_patch_line *new;	/* repl_lines lines: ' ' and '+' */
	const char *func;	/* the text after "@@ ... @@" (leading space kept), or NULL */
	size_t func_len;
	long patch_line;	/* line of the "@@" in the patch */
	int context;		/* 0 a unified hunk; a context diff's: 1 old style, 2 new
				 * ("*** N ****"): its reject is written in context format */
};

/* The headers and hunks of one file in a patch. */
struct qi_patch_file {
	char *name[3];		/* old, new, index: stripped; NULL when absent */
	char *timestr[2];	/* what followed the old/new names (tabs kept), or NULL */
	int stamp[2];		/* -1 no date, 0 the epoch (file absent), 1 a date */
	int nonexistent[2];	/* GNU's p_says_nonexistent: 0, 1 (maybe) or 2 (surely) */
	mode_t mode[2];		/* git modes, 0 when not given */
	bool git, rename, copy;
	bool strip_cr;		/* the headers ended in CRLF: CRs were stripped */
	bool broken;		/* parsing stopped in its hunks (the patch's fatal error) */
	const char *leading;	/* the text between the previous file and the hunks */
	size_t leading_len;
	long start_line;	/* line of the first hunk (or of the next header) */
	struct qi_patch_hunk *hunks;
	size_t nhunks;
};

struct qi_patch_parsed {
	char *text;		/* our private copy (CRs stripped in place) */
	size_t len;
	struct qi_patch_file *files;
	size_t nfiles;
	/* Set when parsing stopped at something we cannot apply: the files
	 * before it are usable, as GNU patch applies them before it stops. */
	char *fatal;		/* message, or NULL */
	bool garbage_only;	/* nothing that looks like a diff at all */
};

/* Parse TEXT (LEN bytes) with -p STRIP (-1: basename, GNU's default).
 * Never fails on bad input: it records the problem in P->fatal. */
void qi_patch_parse(struct qi_patch_parsed *p, const char *text, size_t len, int strip);
void qi_patch_parsed_free(struct qi_patch_parsed *p);
/* Swap the sides of a hunk (-R, or a reversed patch detected). */
void qi_patch_hunk_swap(struct qi_patch_hunk *hk);
/* GNU's -p: strip the smallest prefix with STRIP slashes (-1: all).
 * Returns false when NAME has too few slashes (then it is left alone). */
bool qi_patch_strip_name(char *name, int strip);
/* GNU's filename_is_safe: not absolute, no ".." component. */
bool qi_patch_name_is_safe(const char *name);

/* A file's content split into lines (each with its newline, the last
 * one maybe without). */
struct qi_patch_text {
	const char *data;
	size_t len;
	size_t *start;		/* nlines + 1 offsets; line i (1-based) is [start[i-1], start[i]) */
	long nlines;
};
void qi_patch_text_index(struct qi_patch_text *t, const char *data, size_t len);
void qi_patch_text_free(struct qi_patch_text *t);

/* Applying the hunks of one file, in order, the way GNU patch does. */
struct qi_patch_applier {
	const struct qi_patch_text *in;
	struct qi_buf out;
	long last_frozen;	/* input lines consumed so far */
	long in_offset;		/* offset accumulated by placement */
	long out_offset;	/* lines added minus lines removed so far */
	bool after_newline, zero_output;
};
void qi_patch_applier_init(struct qi_patch_applier *a, const struct qi_patch_text *in);
/* Where HK applies with FUZZ (a 1-based input line), or 0. Updates the
 * accumulated offset on success, as GNU's locate_hunk does. */
long qi_patch_locate(struct qi_patch_applier *a, const struct qi_patch_hunk *hk, long fuzz);
/* Write HK at WHERE (from qi_patch_locate). */
void qi_patch_apply_hunk(struct qi_patch_applier *a, const struct qi_patch_hunk *hk, long where);
/* Copy the rest of the input; the output is in a->out. */
void qi_patch_finish(struct qi_patch_applier *a);
/* The place HK came closest to matching, within 5000 lines of GUESS:
 * the 1-based input line and how many of its old-side lines differed. */
void qi_patch_near_miss(const struct qi_patch_text *in, const struct qi_patch_hunk *hk, long guess,
			long *line, long *differ);
/* Write HK as a reject hunk (unified, or context format for a context
 * diff's), its numbers moved by OUT_OFFSET. */
void qi_patch_reject_hunk(struct qi_buf *b, const struct qi_patch_hunk *hk, long out_offset);

/* The files a patch run reads and writes, staged in memory. */
struct qi_patch_entry {
	char *path;		/* relative to the directory patched, without symlinks */
	bool loaded, exists, is_reg, is_link;
	bool invalid;		/* its directory cannot be looked up (QI_PATCH_NOTDIR,
				 * QI_PATCH_ESCAPES, QI_PATCH_LOOPS): never read nor written */
	mode_t mode;		/* permission bits */
	uid_t uid;		/* owner on disk (kept when the file is rewritten) */
	gid_t gid;
	char *data;
	size_t len;
	bool dirty;		/* to be written (or removed when !exists) */
	bool created;		/* did not exist before this run */
	bool backup;		/* write PATH.orig with the original content */
	bool backup_copy;	/* ... as a copy (umask applies), not the original moved aside */
	bool backed_up;		/* a backup decision was made for this run */
	char *orig_data;	/* the content before this run (for the backup) */
	size_t orig_len;
	bool orig_exists;
	mode_t orig_mode;
	bool append_ok;		/* a .rej made by this run: later rejects append */
	bool pending;		/* new content queued (git patches), not yet visible */
	char *removed_as;	/* the name it was removed by, or NULL */
	char *pdata;
	size_t plen;
	mode_t pmode;
};
struct qi_patch_tree {
	qi_handle *h;
	int dirfd;
	struct qi_patch_entry **e;
	size_t n, cap;
	size_t written;		/* files put in place or removed by qi_patch_tree_commit */
};
int qi_patch_tree_open(qi_handle *h, struct qi_patch_tree *t, const char *dir);
void qi_patch_tree_close(struct qi_patch_tree *t);
/* Where a path's directory is, looked up as GNU patch 2.7.6 does: a
 * symlinked directory is followed while it stays inside the tree. */
enum qi_patch_where {
	QI_PATCH_FOUND,		/* every directory is there */
	QI_PATCH_MISSING,	/* one is not (it would be made) */
	/* the rest cannot be looked up, as GNU patch's ELOOP and EXDEV: */
	QI_PATCH_NOTDIR,	/* a file stands where a directory should be */
	QI_PATCH_ESCAPES,	/* it leads out of the tree */
	QI_PATCH_LOOPS,		/* too many symlinks */
};
/* PATH's place: *canon (malloc'd; NULL unless QI_PATCH_FOUND or
 * QI_PATCH_MISSING) is PATH with its directory resolved to one without
 * symlinks. */
enum qi_patch_where qi_patch_tree_where(struct qi_patch_tree *t, const char *path, char **canon);
/* The entry for the file NAME (a path in the patch), loaded from disk on
 * first use; the same entry for every name of one file. Its directory is
 * looked up with qi_patch_tree_where, the file itself never followed. NULL
 * with the error set when it cannot be read. */
struct qi_patch_entry *qi_patch_tree_get(struct qi_patch_tree *t, const char *name);
/* Would PATH's missing parents all be creatable: the number of
 * components of PATH's directory that exist as directories. */
int qi_patch_tree_existing_dirs(struct qi_patch_tree *t, const char *path);
void qi_patch_tree_set(struct qi_patch_entry *e, char *data, size_t len, mode_t mode);
/* Remove E's file; NAME is the name the patch removes it by (its empty
 * parent directories are removed by that name, as GNU patch does). */
void qi_patch_tree_remove(struct qi_patch_entry *e, const char *name);
/* GNU patch's git mode: the diffs of one git patch all read the files as
 * they were before it, so their new contents are queued and become
 * visible only at qi_patch_tree_flush (the next non-git diff, a file queued
 * twice, the end of the patch). */
void qi_patch_tree_set_later(struct qi_patch_entry *e, char *data, size_t len, mode_t mode);
void qi_patch_tree_flush(struct qi_patch_tree *t);
/* Write every staged change to disk: first every new file beside its
 * target, then all renamed into place, then the removals; when writing a
 * new file fails, nothing has been replaced. */
int qi_patch_tree_commit(struct qi_patch_tree *t);

/* Run one patch against TREE (patch/run.c; the caller commits). */
int qi_patch_run(qi_handle *h, struct qi_patch_tree *t, const char *patch, size_t len,
		 const struct qi_patch_options *opt, struct qi_patch_report *report);

/* The three-way merge (patch/merge.c). */
enum { QI_MERGE_BASE = 0, QI_MERGE_OURS = 1, QI_MERGE_THEIRS = 2 };
struct qi_merge_text {
	const char *data;
	size_t len;
};
/* How a conflict region was resolved. */
enum qi_merge_how {
	QI_MERGE_TRUE,		/* not: a true conflict */
	QI_MERGE_INSERT,	/* rule insert/insert: each side only inserts lines */
	QI_MERGE_WORDS,		/* rule words: each side only inserts words */
	QI_MERGE_UNION,		/* a true conflict taken as ours then theirs, for a glue patch */
};
extern const char *const qi_merge_how_name[];
struct qi_merge_region {
	enum qi_merge_how how;
	struct qi_merge_text side[3];	/* base, ours, theirs (malloc'd, NUL-terminated) */
	long ours_line, theirs_line;	/* where those sides start in ours and theirs (0: unknown) */
	long theirs_lines;
	long out_line, out_lines;	/* a union: its lines in OUT (1-based first, count) */
};
struct qi_merge_result {
	struct qi_buf out;		/* the merged text (a true conflict left out) */
	struct qi_merge_region *r;	/* the conflict regions libgit2 left, in order */
	size_t n;
	size_t ntrue;			/* true conflicts among them */
};
/* Merge IN (base, ours, theirs) of the file NAME: git_merge_file in diff3
 * style with markers longer than any run of <|=> that starts a line of
 * the inputs, then each conflict region resolved by the rules; a true
 * conflict is taken as the union when TAKE_UNION, else counted in
 * res->ntrue. -1 (error set, RES empty) when libgit2 fails. */
int qi_merge_file(qi_handle *h, const char *name, const struct qi_merge_text in[3], bool take_union,
		  struct qi_merge_result *res);
void qi_merge_result_free(struct qi_merge_result *res);
/* The marker size for the N texts: 7 (git's) or one more than the longest
 * run of one of <|=> at the start of a line; -1 past 65535. */
long qi_merge_marker_size(const struct qi_merge_text *side, size_t n);
/* The rules on one region, each false (OUT then to be cut back) when it
 * does not hold. insert/insert (lines): OURS and THEIRS are each BASE with
 * whole lines inserted (BASE's lines kept, in order; an empty BASE is the
 * plain case): BASE with both sides' insertions, in each gap ours' lines
 * first, then theirs' lines (the same insertion on both sides once,
 * nothing else merged away). words: the same on tokens (blanks and the
 * word after them, the blanks before a line end, a line end). */
bool qi_merge_lines(const struct qi_merge_text *base, const struct qi_merge_text *ours,
		    const struct qi_merge_text *theirs, struct qi_buf *out);
bool qi_merge_words(const struct qi_merge_text *base, const struct qi_merge_text *ours,
		    const struct qi_merge_text *theirs, struct qi_buf *out);

/* One patch run against OURS, its failed files merged: base = the files of
 * BASE (a tree never written, at BASE_DIR), theirs = BASE_DIR's files with
 * the patch alone. FALLBACK (or NULL) is the series' pristine tree when
 * BASE is another one, the tree the patch was made against (a series
 * patch's base_dir): a file BASE lacks is taken from FALLBACK, for base
 * and for theirs. GLUE (or NULL) is the glue patch for its true
 * conflicts; EARLIER (or NULL) the records of the patches before it, for
 * naming them in a conflict. 0 with report->status 0 when the patch
 * applied or merged, 0 with status 1 when it fails in a way a merge does
 * not mend (reversed, a missing file), -1 on a true conflict (nothing
 * changed in OURS worth keeping: the caller must not commit). */
struct qi_merge_ctx {
	struct qi_patch_tree *ours, *base, *fallback;
	const char *base_dir;
	const char *glue;
	const json_t *earlier;
};
int qi_merge_patch(qi_handle *h, const struct qi_merge_ctx *c, const char *patch, size_t len,
		   const struct qi_patch_options *opt, struct qi_patch_report *report);

/* A quilt series file (patch/series.c): the patches it lists, in order. */
struct qi_series_entry {
	char *name;		/* as written: relative to the series file's directory */
	int strip;		/* -pN (0..9); 1 when the line gives none */
	int line;		/* 1-based line of the series file */
};
struct qi_series {
	struct qi_series_entry *e;
	size_t n;
};
/* Parse TEXT (LEN bytes) of the series file FILE (named in messages as
 * "FILE:LINE: ..."). On -1 S is empty. */
int qi_series_parse(qi_handle *h, const char *file, const char *text, size_t len,
		    struct qi_series *s);
void qi_series_free(struct qi_series *s);

#endif
