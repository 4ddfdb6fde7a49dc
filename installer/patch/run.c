/*
 * patch/run.c - GNU patch 2.7.6's driver, in process: which file each
 * diff patches (its name rules), reversed or already-applied patches,
 * the placement loop with fuzz, the messages byte for byte, .rej and
 * .orig files, deletions, renames and mode changes; and the series API,
 * all or nothing. Where GNU patch would ask on a terminal, the answer is
 * what it assumes without one (the default): qinstall never prompts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "patch/patch.h"

struct run {
	qi_handle *h;
	struct qi_patch_tree *tree;
	const struct qi_patch_options *opt;
	struct qi_buf out;		/* the messages */
	json_t *records;
	bool somefailed;
	bool have_git;			/* the previous file was a git diff */
	char *first_failure;
};

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	qi_buf_add(&r->out, s, (size_t)n);
	free(s);
}

/* GNU's quotearg in its default (shell) style: names with characters a
 * shell would treat specially are put in single quotes. */
static const char *quote(const char *name, char *buf, size_t size)
{
	bool plain = *name != '\0';
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("%+,-./:@]_", c) || (p > name && strchr("#~{}", c))))
			plain = false;
	}
	if (plain)
		return name;
	size_t n = 0;
	if (n < size - 1)
		buf[n++] = '\'';
	for (const char *p = name; *p && n + 5 < size; p++) {
		if (*p == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}
#define Q(name) quote((name), (char[4200]){ 0 }, 4200)

/* GNU's ok_to_reverse, with no terminal to ask: the default answers. */
static bool ok_to_reverse(struct run *r, bool reverse, bool *skip, const char *msg)
{
	const struct qi_patch_options *o = r->opt;
	if (o->forward || !(o->force && o->silent))
		say(r, "%s", msg);
	if (o->forward) {
		say(r, "  Skipping patch.\n");
		*skip = true;
		return false;
	}
	if (o->force) {
		if (!o->silent)
			say(r, "  Applying it anyway.\n");
		return false;
	}
	if (o->batch) {
		say(r, reverse ? "  Ignoring -R.\n" : "  Assuming -R.\n");
		return true;
	}
	say(r, reverse ? "  Ignore -R? [n] \n" : "  Assume -R? [n] \n");
	say(r, "Apply anyway? [n] \n");
	if (!o->silent)
		say(r, "Skipping patch.\n");
	*skip = true;
	return false;
}

/* One file of a patch while it is patched. */
struct file_state {
	struct qi_patch_file *f;
	bool reverse, skip;
	bool skip_reject;	/* an invalid output name: no rejects, no hunk count */
	char *inname;		/* borrowed from f->name[] */
	struct qi_patch_entry *in;	/* NULL when the file is absent */
	const char *invalid[3];
	const char *outname;	/* what is written (borrowed); NULL when skipped */
	struct qi_patch_text text;	/* the input's lines */
	struct qi_patch_applier a;	/* the output so far */
	struct qi_buf rej;	/* the rejected hunks */
	int hunk, failed;	/* hunks seen, and failed, so far */
	bool mismatch;		/* some hunk needed an offset or fuzz, or failed */
	bool apply_anyway;	/* the first hunk was found reversed, applied as it is */
};

static bool name_is_valid(struct run *r, struct file_state *fs, const char *name)
{
	int i;
	for (i = 0; i < 3 && fs->invalid[i]; i++)
		if (!strcmp(fs->invalid[i], name))
			return false;
	if (qi_patch_name_is_safe(name))
		return true;
	say(r, "Ignoring potentially dangerous file name %s\n", Q(name));
	if (i < 3)
		fs->invalid[i] = name;
	return false;
}

static int prefix_components(const char *name)
{
	int count = 0;
	if (*name)
		for (const char *f = name + 1; *f; f++)
			if (*f == '/' && f[-1] != '/')
				count++;
	return count;
}

static size_t base_len(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return strlen(b);
}

/* GNU's best_name: of the names not ignored, the fewest components, then
 * the shortest base name, then the shortest name; the first of those. */
static int best_name(struct run *r, struct file_state *fs, char *const *name, const int *ignore)
{
	int components[3] = { 0 }, cmin = 1 << 30;
	size_t blen[3] = { 0 }, bmin = (size_t)-1, len[3] = { 0 }, lmin = (size_t)-1;
	for (int i = 0; i < 3; i++) {
		if (!name[i] || ignore[i])
			continue;
		components[i] = prefix_components(name[i]);
		if (cmin < components[i])
			continue;
		cmin = components[i];
		blen[i] = base_len(name[i]);
		if (bmin < blen[i])
			continue;
		bmin = blen[i];
		len[i] = strlen(name[i]);
		if (lmin < len[i])
			continue;
		lmin = len[i];
	}
	for (int i = 0; i < 3; i++)
		if (name[i] && !ignore[i] && name_is_valid(r, fs, name[i]) &&
		    components[i] == cmin && blen[i] == bmin && len[i] == lmin)
			return i;
	return -1;
}

static bool maybe_reverse(struct run *r, struct file_state *fs, const char *name,
			  bool nonexistent, bool is_empty)
{
	const int *nx = fs->f->nonexistent;
	bool looks_reversed = (!is_empty) < nx[fs->reverse ^ is_empty];
	if (is_empty && nx[fs->reverse ^ nonexistent] == 1 && nx[!fs->reverse ^ nonexistent] == 2)
		return false;
	if (looks_reversed) {
		char *msg = qi_xasprintf("The next patch%s would %s the file %s,\nwhich %s!",
					 fs->reverse ? ", when reversed," : "",
					 nonexistent ? "delete" : is_empty ? "empty out" : "create",
					 Q(name),
					 nonexistent ? "does not exist" : is_empty ? "is already empty"
						     : "already exists");
		fs->reverse ^= ok_to_reverse(r, fs->reverse, &fs->skip, msg);
		free(msg);
	}
	return looks_reversed;
}

/* The tail of GNU's intuit_diff_type: which file this diff patches. */
static int choose_input(struct run *r, struct file_state *fs)
{
	struct qi_patch_file *f = fs->f;
	char *name[3] = { f->name[0], f->name[1], f->name[2] };
	if ((name[PN_OLD] || name[PN_NEW]) && name[PN_INDEX])
		name[PN_INDEX] = NULL;
	int err[3] = { 0 };
	struct qi_patch_entry *st[3] = { 0 };
	int i0 = -1;
	for (int i = 0; i < 3; i++) {
		if (!name[i])
			continue;
		st[i] = qi_patch_tree_get(r->tree, name[i]);
		if (!st[i])
			return -1;
		err[i] = st[i]->exists ? 0 : ENOENT;
		i0 = i;
	}
	int i = best_name(r, fs, name, err);
	if (i0 >= 0 && (i < 0 || st[i]->is_reg) &&
	    maybe_reverse(r, fs, name[i < 0 ? i0 : i], i < 0, i < 0 || st[i]->len == 0) && i < 0)
		i = i0;
	if (i < 0 && f->nonexistent[fs->reverse]) {
		int newdirs[3] = { 0 }, nmin = 1 << 30, dist[3] = { 0 };
		for (int k = 0; k < 3; k++)
			if (name[k]) {
				newdirs[k] = prefix_components(name[k]) -
					     qi_patch_tree_existing_dirs(r->tree, name[k]);
				if (newdirs[k] < nmin)
					nmin = newdirs[k];
			}
		for (int k = 0; k < 3; k++)
			if (name[k])
				dist[k] = newdirs[k] - nmin;
		i = best_name(r, fs, name, dist);
	}
	if ((f->rename || f->copy) &&
	    !((i == PN_OLD || i == PN_NEW) && f->name[!fs->reverse] &&
	      name_is_valid(r, fs, f->name[!fs->reverse]))) {
		say(r, "Cannot %s file without two valid file names\n", f->rename ? "rename" : "copy");
		fs->skip = true;
	}
	if (i >= 0) {
		fs->inname = name[i];
		fs->in = st[i]->exists ? st[i] : NULL;
	}
	return 0;
}

/* "can't find file to patch": GNU shows the text before the hunks. */
static void no_file(struct run *r, struct file_state *fs)
{
	const struct qi_patch_options *o = r->opt;
	if (!o->silent) {
		say(r, "can't find file to patch at input line %ld\n", fs->f->start_line);
		say(r, o->strip == -1 ? "Perhaps you should have used the -p or --strip option?\n"
				      : "Perhaps you used the wrong -p or --strip option?\n");
	}
	if (fs->f->leading_len) {
		say(r, "The text leading up to this was:\n--------------------------\n");
		const char *p = fs->f->leading, *end = p + fs->f->leading_len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl + 1 : end;
			qi_buf_add(&r->out, "|", 1);
			qi_buf_add(&r->out, p, (size_t)(e - p));
			if (!nl)
				qi_buf_add(&r->out, "\n", 1);
			p = e;
		}
		say(r, "--------------------------\n");
	}
	if (o->force || o->batch) {
		say(r, "No file to patch.  Skipping patch.\n");
	} else {
		say(r, "File to patch: \n");
		say(r, "Skip this patch? [y] \n");
		if (!o->silent)
			say(r, "Skipping patch.\n");
	}
	fs->skip = true;
}

static void reject_header(struct qi_buf *b, const struct qi_patch_file *f, bool reverse, bool context)
{
	if (f->name[PN_INDEX] && !f->name[PN_OLD] && !f->name[PN_NEW])
		qi_buf_addf(b, "Index: %s\n", f->name[PN_INDEX]);
	for (int k = 0; k < 2; k++) {
		int side = k == 0 ? reverse : !reverse;
		qi_buf_addf(b, "%s %s%s\n", k == 0 ? (context ? "***" : "---") : (context ? "---" : "+++"),
			    f->name[side] ? f->name[side] : "/dev/null",
			    f->timestr[side] ? f->timestr[side] : "");
	}
}

static bool line_endings_differ(const struct qi_patch_hunk *hk, const struct qi_patch_text *in, long where)
{
	if (!hk->ptrn_lines)
		return false;
	const struct qi_patch_line *p = &hk->old[0];
	if (!p->len)
		return false;
	bool patch_crlf = p->len >= 2 && p->text[p->len - 2] == '\r' && p->text[p->len - 1] == '\n';
	if (!in->nlines)
		return false;
	if (where > in->nlines)
		where = in->nlines;
	if (where < 1)
		return false;
	size_t size = in->start[where] - in->start[where - 1];
	const char *s = in->data + in->start[where - 1];
	if (!size)
		return false;
	bool in_crlf = size >= 2 && s[size - 2] == '\r' && s[size - 1] == '\n';
	return patch_crlf != in_crlf;
}

static void record(struct run *r, const char *file, int hunk, bool applied, long line,
		   long offset, long fuzz, bool reversed, long near_line, long near_differ)
{
	json_t *o = json_object();
	json_object_set_new(o, "patch", json_string(r->opt->label ? r->opt->label : "-"));
	json_object_set_new(o, "file", json_string(file ? file : ""));
	json_object_set_new(o, "hunk", json_integer(hunk));
	json_object_set_new(o, "applied", json_boolean(applied));
	json_object_set_new(o, "line", json_integer(line));
	json_object_set_new(o, "offset", json_integer(offset));
	json_object_set_new(o, "fuzz", json_integer(fuzz));
	json_object_set_new(o, "reversed", json_boolean(reversed));
	if (applied)
		json_object_set_new(o, "outcome", json_string(fuzz ? "fuzz" : offset ? "offset" : "clean"));
	if (!applied && near_line > 0) {
		json_object_set_new(o, "near_line", json_integer(near_line));
		json_object_set_new(o, "near_differ", json_integer(near_differ));
	}
	json_array_append_new(r->records, o);
}

/* Which file F patches and whether it can be: the input chosen (or "can't
 * find file"), the output named, git's queued outputs flushed when due,
 * symlinks and other non-regular files refused. -1 when a file cannot
 * be read. */
static int open_file(struct run *r, struct file_state *fs)
{
	struct qi_patch_file *f = fs->f;
	if (choose_input(r, fs) < 0)
		return -1;
	if (!fs->skip && !fs->inname)
		no_file(r, fs);
	if (fs->skip)
		r->somefailed = true;
	if (!fs->skip)
		fs->outname = (f->copy || f->rename) ? f->name[!fs->reverse] : fs->inname;
	/* Git mode: a git patch's outputs are queued until it ends, or until
	 * a file it already changed comes again (concatenated git patches). */
	bool flush = r->have_git && !f->git;
	r->have_git = f->git;
	if (f->git && fs->outname) {
		struct qi_patch_entry *q = qi_patch_tree_get(r->tree, fs->outname);
		if (!q)
			return -1;
		flush = flush || q->pending;
	}
	if (flush) {
		qi_patch_tree_flush(r->tree);
		if (fs->inname) {
			struct qi_patch_entry *e = qi_patch_tree_get(r->tree, fs->inname);
			if (!e)
				return -1;
			fs->in = e->exists ? e : NULL;
		}
	}
	if (!fs->skip && (S_ISLNK(f->mode[PN_OLD]) || S_ISLNK(f->mode[PN_NEW]))) {
		/* GNU patch would make or change a symlink; qinstall never
		 * creates one from a patch (a later step could follow it). */
		say(r, "File %s: symbolic links are not patched (qinstall never creates one) "
		    "-- skipping patch\n", Q(fs->outname));
		fs->skip = true;
		r->somefailed = true;
	}
	if (!fs->skip && fs->in && !fs->in->is_reg) {
		say(r, "File %s is not a regular file -- refusing to patch\n", Q(fs->inname));
		fs->skip = true;
		r->somefailed = true;
	}
	if (fs->outname && !r->opt->dry_run) {
		/* GNU patch makes its temporary output beside OUTNAME here (in
		 * TMPDIR with --dry-run): a directory that leads out of the
		 * tree, loops or is a file makes the name invalid, for this
		 * file only. */
		struct qi_patch_entry *oe = qi_patch_tree_get(r->tree, fs->outname);
		if (!oe)
			return -1;
		if (oe->invalid) {
			say(r, "Invalid file name %s -- skipping patch\n", Q(fs->outname));
			fs->skip = fs->skip_reject = true;
			r->somefailed = true;
		}
	}
	return 0;
}

/* "patching file X", with where it is read from when renamed or copied. */
static void announce_file(struct run *r, const struct file_state *fs)
{
	const struct qi_patch_options *o = r->opt;
	const struct qi_patch_file *f = fs->f;
	if (fs->skip || o->silent)
		return;
	if (f->strip_cr)
		say(r, "(Stripping trailing CRs from patch; use --binary to disable.)\n");
	bool renamed = strcmp(fs->inname, fs->outname) != 0;
	bool skip_rename = !renamed && f->rename;
	say(r, "%s file %s%c", o->dry_run ? "checking" : "patching", Q(fs->outname),
	    renamed || skip_rename ? ' ' : '\n');
	if (renamed || skip_rename)
		say(r, "(%s%s from %s)\n", skip_rename ? "already " : "",
		    f->copy ? "copied" : f->rename ? "renamed" : "read",
		    !skip_rename ? fs->inname : f->name[!strcmp(fs->inname, f->name[PN_OLD] ? f->name[PN_OLD] : "")]);
}

/* The first hunk matched nowhere: does it match reversed? Then GNU patch
 * asks (here: takes the default) whether to apply the patch reversed.
 * Returns where the hunk applies, or 0 with *FUZZ stepped back when the
 * answer is to apply it as it is (the search then starts again). */
static long try_reversed(struct run *r, struct file_state *fs, struct qi_patch_hunk *hk, bool *swapped,
			 long *fuzz)
{
	qi_patch_hunk_swap(hk);
	*swapped = !*swapped;
	long where = qi_patch_locate(&fs->a, hk, *fuzz);
	bool reversed = false;
	if (where) {
		char *msg = qi_xasprintf("%s patch detected!",
					 fs->reverse ? "Unreversed" : "Reversed (or previously applied)");
		reversed = ok_to_reverse(r, fs->reverse, &fs->skip, msg);
		free(msg);
	}
	if (reversed) {
		fs->reverse = !fs->reverse;
		return where;
	}
	qi_patch_hunk_swap(hk);
	*swapped = !*swapped;
	if (where) {
		fs->apply_anyway = true;
		(*fuzz)--;
	}
	return 0;
}

/* GNU's placement loop for HK: no fuzz first, then more, up to -F and the
 * hunk's context; the first hunk may turn out to be reversed. Returns the
 * input line it applies at, or 0; *FUZZ is the fuzz it needed. */
static long place_hunk(struct run *r, struct file_state *fs, struct qi_patch_hunk *hk, bool *swapped,
		       long *fuzz)
{
	const struct qi_patch_options *o = r->opt;
	long context = hk->prefix_context < hk->suffix_context ? hk->suffix_context
							      : hk->prefix_context;
	long maxfuzz = o->max_fuzz < context ? o->max_fuzz : context;
	long where = 0;
	*fuzz = 0;
	if (fs->skip)
		return 0;
	do {
		where = qi_patch_locate(&fs->a, hk, *fuzz);
		if (!where || *fuzz || fs->a.in_offset)
			fs->mismatch = true;
		if (fs->hunk == 1 && !where && !(o->force || fs->apply_anyway) && fs->reverse == o->reverse)
			where = try_reversed(r, fs, hk, swapped, fuzz);
	} while (!fs->skip && !where && ++*fuzz <= maxfuzz);
	return where;
}

/* HK could not be placed (or the file is skipped): its reject, the
 * message, the first failure of the run and the record. */
static void fail_hunk(struct run *r, struct file_state *fs, const struct qi_patch_hunk *hk, long newwhere,
		      long fuzz)
{
	const struct qi_patch_file *f = fs->f;
	if (!fs->skip_reject) {
		if (!fs->failed)
			reject_header(&fs->rej, f, fs->reverse, hk->context);
		qi_patch_reject_hunk(&fs->rej, hk, fs->a.out_offset);
	}
	fs->failed++;
	long nl = 0, nd = 0;
	if (!fs->skip) {
		qi_patch_near_miss(&fs->text, hk, hk->first + fs->a.in_offset, &nl, &nd);
		if (!r->opt->silent)
			say(r, "Hunk #%d FAILED at %ld%s.\n", fs->hunk, newwhere,
			    line_endings_differ(hk, &fs->text, newwhere) ? " (different line endings)" : "");
		if (!r->first_failure)
			r->first_failure = qi_xasprintf("%s: hunk #%d FAILED at %ld (closest match at line %ld, "
							"%ld of its %ld old lines differ)",
							fs->outname, fs->hunk, newwhere, nl, nd, hk->ptrn_lines);
	} else if (!r->first_failure) {
		r->first_failure = qi_xasprintf("%s: hunk #%d ignored",
						fs->outname ? fs->outname : f->name[PN_NEW] ? f->name[PN_NEW] :
						f->name[PN_OLD] ? f->name[PN_OLD] : "(no file)", fs->hunk);
	}
	record(r, fs->outname ? fs->outname : f->name[PN_NEW], fs->hunk, false, newwhere,
	       fs->a.in_offset, fuzz, fs->reverse, nl, nd);
}

/* HK placed at WHERE: written, and "succeeded at" said when it moved or
 * needed fuzz. */
static void take_hunk(struct run *r, struct file_state *fs, const struct qi_patch_hunk *hk, long where,
		      long newwhere, long fuzz)
{
	qi_patch_apply_hunk(&fs->a, hk, where);
	long offset = fs->a.in_offset;
	if (!r->opt->silent && (fuzz || offset)) {
		say(r, "Hunk #%d succeeded at %ld", fs->hunk, newwhere);
		if (fuzz)
			say(r, " with fuzz %ld", fuzz);
		if (offset)
			say(r, " (offset %ld line%s)", offset, offset == 1 ? "" : "s");
		say(r, ".\n");
	}
	record(r, fs->outname, fs->hunk, true, newwhere, offset, fuzz, fs->reverse != false, 0, 0);
}

/* One hunk of the file, in the patch's direction or reversed. */
static void patch_hunk(struct run *r, struct file_state *fs, struct qi_patch_hunk *hk)
{
	const struct qi_patch_file *f = fs->f;
	bool swapped = fs->reverse;
	if (swapped)
		qi_patch_hunk_swap(hk);
	long fuzz;
	fs->hunk++;
	long where = place_hunk(r, fs, hk, &swapped, &fuzz);
	long newwhere = (where ? where : hk->first) + fs->a.out_offset;
	/* A new file's hunk placed at the top of a file that has content. */
	bool exists = where == 1 && f->nonexistent[fs->reverse] == 2 && fs->text.len;
	bool misordered = false;
	if (!fs->skip && where && !exists && fs->a.last_frozen > where - 1 + hk->prefix_context) {
		/* GNU's search can land before the end of the previous
		 * hunk; its copy_till then refuses the hunk. */
		say(r, "misordered hunks! output would be garbled\n");
		misordered = true;
	}
	if (fs->skip || !where || misordered || exists)
		fail_hunk(r, fs, hk, newwhere, fuzz);
	else
		take_hunk(r, fs, hk, where, newwhere, fuzz);
	if (swapped)
		qi_patch_hunk_swap(hk);
}

/* Keep E's content before this run as E.orig when BACKUP (the first
 * decision for E in this run is the one that holds). */
static void decide_backup(struct qi_patch_entry *e, bool backup)
{
	if (backup && !e->backed_up)
		e->backup = true;
	e->backed_up = true;
}

/* The patched text into OE (and the renamed input removed), or, when
 * nothing changed, only the backup GNU patch makes of a mismatch. */
static void write_output(struct run *r, struct file_state *fs, struct qi_patch_entry *oe, bool backup)
{
	const struct qi_patch_file *f = fs->f;
	mode_t old_mode = f->mode[fs->reverse], new_mode = f->mode[!fs->reverse];
	bool set_mode = new_mode && old_mode != new_mode;
	if (fs->failed < fs->hunk || set_mode || f->copy || f->rename) {
		mode_t mode = set_mode ? (new_mode & 0777) : fs->in ? fs->in->mode : 0;
		decide_backup(oe, backup);
		char *data = fs->a.out.data ? fs->a.out.data : qi_xstrdup("");
		size_t len = fs->a.out.len;
		fs->a.out.data = NULL;
		fs->a.out.len = fs->a.out.cap = 0;
		if (f->git && f->nonexistent[fs->reverse] != 2)
			qi_patch_tree_set_later(oe, data, len, mode);
		else
			qi_patch_tree_set(oe, data, len, mode);
		if (f->rename && fs->in && fs->in != oe) {
			decide_backup(fs->in, backup);
			qi_patch_tree_remove(fs->in, fs->inname);
		}
	} else if (backup && oe->exists && !oe->backed_up) {
		/* GNU patch copies the unchanged file to FILE.orig. */
		oe->backup = true;
		oe->backup_copy = true;
		oe->backed_up = true;
		oe->dirty = true;
	}
}

/* The result of the hunks: the output removed (a deletion that emptied
 * it), or written, with .orig backups on a mismatch. */
static int finish_file(struct run *r, struct file_state *fs)
{
	const struct qi_patch_options *o = r->opt;
	const struct qi_patch_file *f = fs->f;
	if (fs->skip)
		return 0;
	qi_patch_finish(&fs->a);
	bool backup = !o->no_backup_if_mismatch && (fs->mismatch || fs->failed);
	struct qi_patch_entry *oe = qi_patch_tree_get(r->tree, fs->outname);
	if (!oe)
		return -1;
	if (fs->a.zero_output && f->nonexistent[!fs->reverse] == 2) {
		if (!o->dry_run && oe->exists) {
			decide_backup(oe, backup);
			qi_patch_tree_remove(oe, fs->outname);
		}
		return 0;
	}
	if (!fs->a.zero_output && f->nonexistent[!fs->reverse] == 2) {
		fs->mismatch = true;
		r->somefailed = true;
		if (!o->silent)
			say(r, "Not deleting file %s as content differs from patch\n", Q(fs->outname));
	}
	if (!o->dry_run)
		write_output(r, fs, oe, backup);
	return 0;
}

/* "N out of M hunks FAILED", and the rejects saved to OUTNAME.rej (a .rej
 * this run made gets the later rejects appended). */
static int save_rejects(struct run *r, struct file_state *fs)
{
	const struct qi_patch_options *o = r->opt;
	if (!fs->failed || fs->skip_reject)
		return 0;
	r->somefailed = true;
	say(r, "%d out of %d hunk%s %s", fs->failed, fs->hunk, fs->hunk == 1 ? "" : "s",
	    fs->skip ? "ignored" : "FAILED");
	if (!fs->outname || o->dry_run || o->no_reject_files) {
		say(r, "\n");
		return 0;
	}
	char *rejname = qi_xasprintf("%s.rej", fs->outname);
	say(r, " -- saving rejects to file %s\n", Q(rejname));
	struct qi_patch_entry *re = qi_patch_tree_get(r->tree, rejname);
	free(rejname);
	if (!re)
		return -1;
	struct qi_buf *rej = &fs->rej;
	if (re->append_ok && re->exists) {
		char *data = qi_xmalloc(re->len + rej->len + 1);
		memcpy(data, re->data, re->len);
		memcpy(data + re->len, rej->data, rej->len);
		data[re->len + rej->len] = '\0';
		qi_patch_tree_set(re, data, re->len + rej->len, re->mode);
	} else {
		mode_t mask = umask(0);
		umask(mask);
		qi_patch_tree_set(re, rej->data, rej->len, 0666 & ~mask);
		rej->data = NULL;
		re->append_ok = true;
	}
	return 0;
}

/* One file of the patch, as GNU patch does it. Returns 0, 1 when the
 * patch breaks off in this file's hunks (nothing more is done), -1 on an
 * error. */
static int patch_one_file(struct run *r, struct qi_patch_file *f)
{
	struct file_state fs = { .f = f, .reverse = r->opt->reverse };
	if (open_file(r, &fs) < 0)
		return -1;
	bool readable = fs.in && !fs.skip;
	qi_patch_text_index(&fs.text, readable ? fs.in->data : "", readable ? fs.in->len : 0);
	announce_file(r, &fs);
	qi_patch_applier_init(&fs.a, &fs.text);
	for (size_t k = 0; k < f->nhunks; k++)
		patch_hunk(r, &fs, &f->hunks[k]);
	/* When the patch breaks off in this file's hunks, GNU patch stops
	 * here without writing the file or its rejects. */
	int rc = f->broken ? 1 : 0;
	if (rc == 0 && (finish_file(r, &fs) < 0 || save_rejects(r, &fs) < 0))
		rc = -1;
	qi_buf_free(&fs.rej);
	qi_buf_free(&fs.a.out);
	qi_patch_text_free(&fs.text);
	return rc;
}

void qi_patch_options_default(struct qi_patch_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->strip = -1;
	opt->max_fuzz = 2;
}

void qi_patch_report_free(struct qi_patch_report *report)
{
	free(report->text);
	json_decref(report->hunks);
	free(report->first_failure);
	memset(report, 0, sizeof(*report));
}

int qi_patch_run(qi_handle *h, struct qi_patch_tree *tree, const char *patch, size_t len,
		     const struct qi_patch_options *opt, struct qi_patch_report *report)
{
	struct run r = { .h = h, .tree = tree, .opt = opt, .records = json_array() };
	struct qi_patch_parsed p;
	int rc = 0;
	qi_patch_parse(&p, patch, len, opt->strip);
	bool stopped = false;
	for (size_t i = 0; i < p.nfiles; i++) {
		int frc = patch_one_file(&r, &p.files[i]);
		if (frc < 0)
			rc = -1;
		if (frc != 0) {
			stopped = true;
			break;
		}
	}
	/* Queued git outputs are written at the end, unless the patch broke
	 * off (GNU patch loses them then). */
	if (!stopped && !p.fatal)
		qi_patch_tree_flush(tree);
	if (rc == 0 && p.fatal) {
		size_t n = strlen(p.fatal);
		if (n && p.fatal[n - 1] == '\n')
			p.fatal[n - 1] = '\0';
		rc = qi_error_kind(h, QI_ERR_USAGE, "%s", p.fatal);
	} else if (rc == 0 && p.garbage_only) {
		rc = qi_error_kind(h, QI_ERR_USAGE, "Only garbage was found in the patch input.");
	}
	qi_patch_parsed_free(&p);
	memset(report, 0, sizeof(*report));
	report->status = rc < 0 ? 2 : r.somefailed ? 1 : 0;
	if (!r.out.data)
		qi_buf_add(&r.out, "", 0);
	report->text = r.out.data;
	report->hunks = r.records;
	report->first_failure = r.first_failure;
	return rc;
}

/* qi_patch_apply's run: plain, or merged against opt->merge_base. */
static int apply_run(qi_handle *h, struct qi_patch_tree *tree, const char *patch, size_t len,
		     const struct qi_patch_options *opt, struct qi_patch_report *report)
{
	if (!opt->merge_base)
		return qi_patch_run(h, tree, patch, len, opt, report);
	struct qi_patch_tree base;
	if (qi_patch_tree_open(h, &base, opt->merge_base) < 0) {
		memset(report, 0, sizeof(*report));
		report->status = 2;
		report->text = qi_xstrdup("");
		report->hunks = json_array();
		return qi_error_prefix(h, "the base tree of --merge");
	}
	struct qi_merge_ctx c = { .ours = tree, .base = &base, .base_dir = opt->merge_base,
				  .glue = opt->merge_glue };
	struct qi_patch_options mopt = *opt;
	mopt.no_backup_if_mismatch = mopt.no_reject_files = true;	/* a merge leaves neither */
	int rc = qi_merge_patch(h, &c, patch, len, &mopt, report);
	qi_patch_tree_close(&base);
	return rc;
}

int qi_patch_apply(qi_handle *h, const char *dir, const char *patch, size_t len,
		   const struct qi_patch_options *opt, struct qi_patch_report *report)
{
	struct qi_patch_tree tree;
	memset(report, 0, sizeof(*report));
	if (qi_patch_tree_open(h, &tree, dir) < 0) {
		report->status = 2;
		report->text = qi_xstrdup("");
		report->hunks = json_array();
		return -1;
	}
	int rc = apply_run(h, &tree, patch, len, opt, report);
	if (opt->dry_run) {
		/* nothing is written */
	} else if ((opt->atomic || opt->merge_base) && (rc < 0 || report->status != 0)) {
		/* all or nothing; a merge that failed writes nothing either */
		if (rc == 0)
			report->status = 1;
	} else {
		char saved[4096] = "";
		if (rc < 0)
			snprintf(saved, sizeof(saved), "%s", qi_errmsg(h));
		if (qi_patch_tree_commit(&tree) < 0) {
			report->status = 2;
			rc = -1;
		} else if (rc < 0) {
			qi_error_kind(h, QI_ERR_USAGE, "%s", saved);
		}
		report->changed = tree.written > 0;
	}
	qi_patch_tree_close(&tree);
	return rc;
}

/* Patch SP of a series against TREE (merged against BASE, the tree at
 * DIR before the series, or SP's own base_dir, when BASE is given); its
 * records appended to ALL. A failure says why and what to do. */
static int series_one(qi_handle *h, struct qi_patch_tree *tree, struct qi_patch_tree *base, const char *dir,
		      const struct qi_series_patch *sp, json_t *all)
{
	const char *label = sp->label ? sp->label : sp->path;
	char *text = NULL;
	size_t len = 0;
	if (qi_input_read(h, QI_ERR_FAILED, sp->path, "patch", QI_INPUT_MAX, &text, &len) < 0)
		return -1;
	struct qi_patch_options opt;
	qi_patch_options_default(&opt);
	opt.strip = sp->strip;
	opt.max_fuzz = sp->max_fuzz;
	opt.forward = true;		/* an applied patch is a failure, not a question */
	opt.no_backup_if_mismatch = true;
	opt.no_reject_files = true;
	opt.label = label;
	struct qi_patch_report rep;
	int prc;
	struct qi_patch_tree own;
	if (base && sp->base_dir && qi_patch_tree_open(h, &own, sp->base_dir) < 0) {
		free(text);
		return qi_error_prefix(h, "patch %s: the tree it was made against", label);
	}
	if (base) {
		/* Its own base: base and theirs from that tree, the rest from DIR's. */
		struct qi_merge_ctx c = { .ours = tree, .base = sp->base_dir ? &own : base,
					  .fallback = sp->base_dir ? base : NULL,
					  .base_dir = sp->base_dir ? sp->base_dir : dir, .glue = sp->glue,
					  .earlier = all };
		prc = qi_merge_patch(h, &c, text, len, &opt, &rep);
		if (sp->base_dir)
			qi_patch_tree_close(&own);
	} else {
		prc = qi_patch_run(h, tree, text, len, &opt, &rep);
	}
	free(text);
	if (rep.text && *rep.text)
		qi_debug(h, "%s:\n%s", label, rep.text);
	json_array_extend(all, rep.hunks);
	int rc = 0;
	if (prc < 0) {
		qi_error_prefix(h, "patch %s", label);
		rc = -1;
	} else if (rep.status != 0) {
		const char *why = rep.first_failure ? rep.first_failure : NULL;
		if (strstr(rep.text, "Reversed (or previously applied) patch detected!"))
			why = "it looks already applied (or reversed) to the tree";
		else if (strstr(rep.text, "can't find file"))
			why = "a file it patches does not exist (check the strip level)";
		rc = qi_error(h, "patch %s does not apply: %s; nothing of the series was "
			      "written (refresh the patch, %s)", label, why ? why : "see the messages above",
			      base ? "or pin a glue patch for it in the profile"
				   : "allow more fuzz in the profile if the context merely moved, or let "
				     "the profile merge it");
		if (rep.text && *rep.text)
			qi_info(h, "%s", rep.text);
	}
	qi_patch_report_free(&rep);
	return rc;
}

int qi_patch_series(qi_handle *h, const char *dir, const struct qi_series_patch *patches,
		    size_t n, const struct qi_series_options *opt, json_t **report)
{
	struct qi_patch_tree tree, base;
	bool merge = opt && opt->merge;
	if (qi_patch_tree_open(h, &tree, dir) < 0)
		return -1;
	if (merge && qi_patch_tree_open(h, &base, dir) < 0) {
		qi_patch_tree_close(&tree);
		return -1;
	}
	json_t *all = json_array();
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = series_one(h, &tree, merge ? &base : NULL, dir, &patches[i], all);
	if (rc == 0 && qi_patch_tree_commit(&tree) < 0)
		rc = -1;
	qi_patch_tree_close(&tree);
	if (merge)
		qi_patch_tree_close(&base);
	if (report)
		*report = all;
	else
		json_decref(all);
	return rc;
}
