/*
 * patch/apply.c - placing and applying the hunks of one file, with GNU
 * patch 2.7.6's rules: the search starts at the hunk's old line plus the
 * offset the earlier hunks accumulated and goes 0, +1, -1, +2, -2, ...
 * (forward first), never before the end of the previous hunk; fuzz F
 * ignores up to F leading and trailing context lines; a hunk with less
 * leading (trailing) context than trailing (leading) is anchored to the
 * start (end) of the file. Matching is byte for byte, newline included.
 * The input is read whole and indexed by line once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

void qi_patch_text_index(struct qi_patch_text *t, const char *data, size_t len)
{
	t->data = data;
	t->len = len;
	size_t cap = len / 32 + 16, n = 0;
	t->start = qi_xmalloc(sizeof(*t->start) * cap);
	t->start[n++] = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
		if (n == cap) {
			cap *= 2;
			t->start = qi_xrealloc(t->start, sizeof(*t->start) * cap);
		}
		t->start[n++] = (size_t)(p - data);
	}
	t->nlines = (long)n - 1;
}

void qi_patch_text_free(struct qi_patch_text *t)
{
	free(t->start);
	t->start = NULL;
}

static inline const char *line_at(const struct qi_patch_text *t, long i, size_t *len)
{
	if (i < 1 || i > t->nlines) {
		*len = 0;
		return "";
	}
	*len = t->start[i] - t->start[i - 1];
	return t->data + t->start[i - 1];
}

void qi_patch_applier_init(struct qi_patch_applier *a, const struct qi_patch_text *in)
{
	memset(a, 0, sizeof(*a));
	a->in = in;
	a->after_newline = true;
	a->zero_output = true;
}

/* Does the old side of HK match at input line BASE, ignoring PREFIX_FUZZ
 * leading and SUFFIX_FUZZ trailing lines? */
static bool match_at(const struct qi_patch_text *in, const struct qi_patch_hunk *hk, long base,
		     long prefix_fuzz, long suffix_fuzz)
{
	long last = hk->ptrn_lines - suffix_fuzz;
	long iline = base + prefix_fuzz;
	for (long pl = prefix_fuzz; pl < last; pl++, iline++) {
		size_t size;
		const char *s = line_at(in, iline, &size);
		const struct qi_patch_line *l = &hk->old[pl];
		if (size != l->len || memcmp(s, l->text, size) != 0)
			return false;
	}
	return true;
}

long qi_patch_locate(struct qi_patch_applier *a, const struct qi_patch_hunk *hk, long fuzz)
{
	const struct qi_patch_text *in = a->in;
	long first_guess = hk->first + a->in_offset;
	long pat_lines = hk->ptrn_lines;
	long prefix_context = hk->prefix_context, suffix_context = hk->suffix_context;
	long context = prefix_context < suffix_context ? suffix_context : prefix_context;
	long prefix_fuzz = fuzz + prefix_context - context;
	long suffix_fuzz = fuzz + suffix_context - context;
	long max_where = in->nlines - (pat_lines - suffix_fuzz) + 1;
	long min_where = a->last_frozen + 1;
	long max_pos_offset = max_where - first_guess;
	long max_neg_offset = first_guess - min_where;
	long max_offset = max_pos_offset > max_neg_offset ? max_pos_offset : max_neg_offset;
	long offset;

	if (!pat_lines)
		return first_guess;
	if (first_guess <= max_neg_offset)
		max_neg_offset = first_guess - 1;

	if (prefix_fuzz < 0 && hk->first <= 1) {
		/* Less leading than trailing context at the top: only the
		 * start of the file will do. */
		if (suffix_fuzz < 0 &&
		    (pat_lines != in->nlines || prefix_context < a->last_frozen))
			return 0;
		offset = 1 - first_guess;
		if (a->last_frozen <= prefix_context && offset <= max_pos_offset &&
		    match_at(in, hk, first_guess + offset, 0, suffix_fuzz)) {
			a->in_offset += offset;
			return first_guess + offset;
		}
		return 0;
	} else if (prefix_fuzz < 0) {
		prefix_fuzz = 0;
	}
	if (suffix_fuzz < 0) {
		/* Less trailing than leading context: only the end will do. */
		offset = first_guess - (in->nlines - pat_lines + 1);
		if (offset <= max_neg_offset &&
		    match_at(in, hk, first_guess - offset, prefix_fuzz, 0)) {
			a->in_offset -= offset;
			return first_guess - offset;
		}
		return 0;
	}
	long min_offset = max_pos_offset < 0 ? first_guess - max_where
			: max_neg_offset < 0 ? first_guess - min_where : 0;
	for (offset = min_offset; offset <= max_offset; offset++) {
		if (offset <= max_pos_offset &&
		    match_at(in, hk, first_guess + offset, prefix_fuzz, suffix_fuzz)) {
			a->in_offset += offset;
			return first_guess + offset;
		}
		if (offset <= max_neg_offset &&
		    match_at(in, hk, first_guess - offset, prefix_fuzz, suffix_fuzz)) {
			a->in_offset -= offset;
			return first_guess - offset;
		}
	}
	return 0;
}

/* Copy input lines up to LASTLINE to the output. */
static void copy_till(struct qi_patch_applier *a, long lastline)
{
	if (lastline > a->in->nlines)
		lastline = a->in->nlines;
	if (a->last_frozen >= lastline)
		return;
	size_t from = a->in->start[a->last_frozen], to = a->in->start[lastline];
	if (to > from) {
		if (!a->after_newline)
			qi_buf_add(&a->out, "\n", 1);
		qi_buf_add(&a->out, a->in->data + from, to - from);
		a->after_newline = a->in->data[to - 1] == '\n';
		a->zero_output = false;
	}
	a->last_frozen = lastline;
}

static void put_line(struct qi_patch_applier *a, const struct qi_patch_line *l)
{
	qi_buf_add(&a->out, l->text, l->len);
	a->after_newline = l->len && l->text[l->len - 1] == '\n';
	a->zero_output = false;
}

void qi_patch_apply_hunk(struct qi_patch_applier *a, const struct qi_patch_hunk *hk, long where)
{
	long old = 0, new = 0;
	where--;
	while (old < hk->ptrn_lines) {
		if (hk->old[old].type == '-') {
			copy_till(a, where + old);
			a->last_frozen++;
			old++;
		} else if (new >= hk->repl_lines) {
			break;
		} else if (hk->new[new].type == '+') {
			copy_till(a, where + old);
			put_line(a, &hk->new[new]);
			new++;
		} else {
			old++;
			new++;
		}
	}
	if (new < hk->repl_lines && hk->new[new].type == '+') {
		copy_till(a, where + old);
		do {
			if (!a->after_newline)
				qi_buf_add(&a->out, "\n", 1);
			put_line(a, &hk->new[new]);
			new++;
		} while (new < hk->repl_lines && hk->new[new].type == '+');
	}
	a->out_offset += hk->repl_lines - hk->ptrn_lines;
}

void qi_patch_finish(struct qi_patch_applier *a)
{
	copy_till(a, a->in->nlines);
}

#define NEAR_MISS_WINDOW 5000L

void qi_patch_near_miss(const struct qi_patch_text *in, const struct qi_patch_hunk *hk, long guess,
			long *line, long *differ)
{
	long best = -1, best_line = guess < 1 ? 1 : guess;
	long last = in->nlines - hk->ptrn_lines + 1;
	if (last < 1)
		last = 1;
	/* Within a window around the stated place, so that a patch whose every
	 * hunk fails on large files (applied to the wrong tree) stays fast. */
	long first = guess - NEAR_MISS_WINDOW < 1 ? 1 : guess - NEAR_MISS_WINDOW;
	if (last > guess + NEAR_MISS_WINDOW)
		last = guess + NEAR_MISS_WINDOW;
	if (first > last)
		first = last;
	for (long base = first; base <= last; base++) {
		long d = 0;
		for (long i = 0; i < hk->ptrn_lines && (best < 0 || d < best); i++) {
			size_t size;
			const char *s = line_at(in, base + i, &size);
			if (size != hk->old[i].len || memcmp(s, hk->old[i].text, size) != 0)
				d++;
		}
		long dist = base > guess ? base - guess : guess - base;
		long bdist = best_line > guess ? best_line - guess : guess - best_line;
		if (best < 0 || d < best || (d == best && dist < bdist)) {
			best = d;
			best_line = base;
		}
	}
	*line = best_line;
	*differ = best < 0 ? hk->ptrn_lines : best;
}

static void unidiff_range(struct qi_buf *b, long start, long count)
{
	if (count == 0)
		qi_buf_addf(b, "%ld,0", start - 1);
	else if (count == 1)
		qi_buf_addf(b, "%ld", start);
	else
		qi_buf_addf(b, "%ld,%ld", start, count);
}

static void reject_line(struct qi_buf *b, char c, const struct qi_patch_line *l)
{
	qi_buf_add(b, &c, 1);
	/* As GNU patch: a line without its newline is written as it is. */
	qi_buf_add(b, l->text, l->len);
}

/* "*** 3,5 ****" or "--- 3 ----": GNU's context range (its end, not a count). */
static void context_range(struct qi_buf *b, const char *tag, long first, long lines, const char *tail)
{
	long last = first + lines - 1;
	if (last < first)
		qi_buf_addf(b, "%s 0%s\n", tag, tail);
	else if (last == first)
		qi_buf_addf(b, "%s %ld%s\n", tag, first, tail);
	else
		qi_buf_addf(b, "%s %ld,%ld%s\n", tag, first, last, tail);
}

static void context_line(struct qi_buf *b, const struct qi_patch_line *l)
{
	qi_buf_addf(b, "%c ", l->changed ? '!' : l->type);
	qi_buf_add(b, l->text, l->len);
}

/* A context diff's hunk rejected as GNU patch writes it: in context
 * format, each line with its own mark ("! " kept). */
static void reject_context_hunk(struct qi_buf *b, const struct qi_patch_hunk *hk, long out_offset)
{
	bool new_style = hk->context >= 2;
	qi_buf_add(b, "***************", 15);
	if (hk->func)
		qi_buf_add(b, hk->func, hk->func_len);
	qi_buf_add(b, "\n", 1);
	context_range(b, "***", hk->first + out_offset, hk->ptrn_lines, new_style ? " ****" : "");
	for (long i = 0; i < hk->ptrn_lines; i++)
		context_line(b, &hk->old[i]);
	context_range(b, "---", hk->newfirst + out_offset, hk->repl_lines, new_style ? " ----" : " -----");
	for (long i = 0; i < hk->repl_lines; i++)
		context_line(b, &hk->new[i]);
}

void qi_patch_reject_hunk(struct qi_buf *b, const struct qi_patch_hunk *hk, long out_offset)
{
	if (hk->context) {
		reject_context_hunk(b, hk, out_offset);
		return;
	}
	qi_buf_add(b, "@@ -", 4);
	unidiff_range(b, hk->first + out_offset, hk->ptrn_lines);
	qi_buf_add(b, " +", 2);
	unidiff_range(b, hk->newfirst + out_offset, hk->repl_lines);
	qi_buf_add(b, " @@", 3);
	if (hk->func)
		qi_buf_add(b, hk->func, hk->func_len);
	qi_buf_add(b, "\n", 1);
	long old = 0, new = 0;
	for (;;) {
		for (; old < hk->ptrn_lines && hk->old[old].type == '-'; old++)
			reject_line(b, '-', &hk->old[old]);
		for (; new < hk->repl_lines && hk->new[new].type == '+'; new++)
			reject_line(b, '+', &hk->new[new]);
		if (old >= hk->ptrn_lines)
			break;
		reject_line(b, ' ', &hk->old[old]);
		old++;
		new++;
	}
}
