/*
 * patch/merge.c - the patch engine's three-way merge: one file merged by
 * libgit2's git_merge_file in diff3 style (so that the base of every
 * conflict is known), each conflict region then resolved by the rules of
 * qinstall-patch(8) (insert/insert, words) or, when a glue patch is
 * pinned, a true conflict taken as the union of both sides for the glue
 * to finish; and the driver that merges the files where a hunk of a patch
 * fails (a series with merge, `qinstall patch --merge --base DIR`).
 */
#include "config.h"

#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

const char *const qi_merge_how_name[] = {
	[QI_MERGE_TRUE] = "conflict",
	[QI_MERGE_INSERT] = "insert/insert",
	[QI_MERGE_WORDS] = "words",
	[QI_MERGE_UNION] = "union",
};

static bool marker_char(char c)
{
	return c == '<' || c == '|' || c == '=' || c == '>';
}

/* The length of the run of one marker character that starts the line at
 * S (LEN bytes left), 0 when it starts with none. */
static size_t marker_run(const char *s, size_t len)
{
	size_t j = 0;
	if (len && marker_char(s[0]))
		while (j < len && s[j] == s[0])
			j++;
	return j;
}

long qi_merge_marker_size(const struct qi_merge_text *side, size_t n)
{
	size_t longest = 0;
	for (size_t k = 0; k < n; k++) {
		const char *s = side[k].data, *end = s + side[k].len;
		while (s < end) {
			size_t run = marker_run(s, (size_t)(end - s));
			if (run > longest)
				longest = run;
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			s = nl ? nl + 1 : end;
		}
	}
	size_t size = longest < GIT_MERGE_CONFLICT_MARKER_SIZE ? GIT_MERGE_CONFLICT_MARKER_SIZE : longest + 1;
	return size > 65535 ? -1 : (long)size;
}

/* A token of the rules: a line, or a word (below). */
struct tok {
	const char *p;
	size_t len;
};

/* TEXT split into tokens: lines (with their line ends) when LINES, else
 * words (blanks and the word after them, blanks before a line end, line
 * ends). */
static size_t tokenize(const struct qi_merge_text *text, bool lines, struct tok **out)
{
	const char *s = text->data;
	size_t len = text->len;
	struct tok *t = qi_xmalloc((len + 1) * sizeof(*t));
	size_t n = 0, i = 0;
	while (i < len) {
		size_t j = i;
		if (lines) {
			const char *nl = memchr(s + i, '\n', len - i);
			j = nl ? (size_t)(nl - s) + 1 : len;
		} else if (s[j] == '\n') {
			j++;
		} else {
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			while (j < len && s[j] != ' ' && s[j] != '\t' && s[j] != '\n')
				j++;
		}
		t[n++] = (struct tok){ s + i, j - i };
		i = j;
	}
	*out = t;
	return n;
}

static bool tok_eq(const struct tok *a, const struct tok *b)
{
	return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/* Is SIDE (ns tokens) BASE (nb tokens) with tokens inserted? Then the
 * tokens it inserts before base token g (g == nb: at the end) are
 * side[from[g] .. to[g]). The tokens both start with, and those both end
 * with, are matched first; the base tokens between are matched as early
 * as they can be in the rest. */
static bool insertions(const struct tok *b, size_t nb, const struct tok *s, size_t ns, size_t *from,
		       size_t *to)
{
	size_t pre = 0, suf = 0;
	while (pre < nb && pre < ns && tok_eq(&b[pre], &s[pre]))
		pre++;
	while (suf < nb - pre && suf < ns - pre && tok_eq(&b[nb - 1 - suf], &s[ns - 1 - suf]))
		suf++;
	size_t j = 0;
	for (size_t i = 0; i < nb; i++) {
		from[i] = j;
		if (i >= nb - suf) {
			j = ns - (nb - i);	/* matched from the end */
		} else if (i >= pre) {
			while (j < ns - suf && !tok_eq(&s[j], &b[i]))
				j++;
			if (j == ns - suf)
				return false;
		}
		to[i] = j++;
	}
	from[nb] = j;
	to[nb] = ns;
	return true;
}

/* The rule on tokens (lines or words): both sides BASE with tokens
 * inserted, merged gap by gap, ours' first; when both insert exactly the
 * same tokens at a gap, they are kept once. Nothing else is merged away:
 * a line or word one side inserts that the other also inserts among
 * others is kept twice (a repeated #include or archive is harmless; a
 * repeated ".TP" or "break;" dropped would not be). */
static bool merge_tokens(const struct qi_merge_text *base, const struct qi_merge_text *ours,
			 const struct qi_merge_text *theirs, bool lines, struct qi_buf *out)
{
	struct tok *b, *o, *t;
	size_t nb = tokenize(base, lines, &b);
	size_t no = tokenize(ours, lines, &o);
	size_t nt = tokenize(theirs, lines, &t);
	size_t *of = qi_xmalloc(4 * (nb + 1) * sizeof(size_t));
	size_t *ot = of + nb + 1, *tf = ot + nb + 1, *tt = tf + nb + 1;
	bool ok = insertions(b, nb, o, no, of, ot) && insertions(b, nb, t, nt, tf, tt);
	for (size_t g = 0; ok && g <= nb; g++) {
		bool same = ot[g] - of[g] == tt[g] - tf[g];
		for (size_t k = 0; same && k < ot[g] - of[g]; k++)
			same = tok_eq(&o[of[g] + k], &t[tf[g] + k]);
		for (size_t k = of[g]; k < ot[g]; k++)
			qi_buf_add(out, o[k].p, o[k].len);
		for (size_t k = tf[g]; k < tt[g] && !same; k++)
			qi_buf_add(out, t[k].p, t[k].len);
		if (g < nb)
			qi_buf_add(out, b[g].p, b[g].len);
	}
	free(of);
	free(b);
	free(o);
	free(t);
	return ok;
}

bool qi_merge_lines(const struct qi_merge_text *base, const struct qi_merge_text *ours,
		    const struct qi_merge_text *theirs, struct qi_buf *out)
{
	return merge_tokens(base, ours, theirs, true, out);
}

bool qi_merge_words(const struct qi_merge_text *base, const struct qi_merge_text *ours,
		    const struct qi_merge_text *theirs, struct qi_buf *out)
{
	return merge_tokens(base, ours, theirs, false, out);
}

/* Where the lines SPAN are in TEXT at or after *CURSOR (a line start):
 * the 1-based line, *CURSOR moved past them; 0 when not found or empty. */
static long locate(const struct qi_merge_text *text, size_t *cursor, const struct qi_merge_text *span)
{
	if (!span->len)
		return 0;
	const char *s = text->data + *cursor, *end = text->data + text->len;
	while (s && (size_t)(end - s) >= span->len) {
		if (!memcmp(s, span->data, span->len)) {
			long line = 1;
			for (const char *p = text->data; p < s; p++)
				line += *p == '\n';
			*cursor = (size_t)(s - text->data) + span->len;
			return line;
		}
		s = memchr(s, '\n', (size_t)(end - s));
		s = s ? s + 1 : NULL;
	}
	return 0;
}

static struct qi_merge_text dup_text(const char *p, size_t len)
{
	char *d = qi_xmalloc(len + 1);
	memcpy(d, p, len);
	d[len] = '\0';
	return (struct qi_merge_text){ d, len };
}

/* One conflict region, its three sides (of OUT's text) given: resolved
 * into RES->out by the rules, recorded in RES. */
static void resolve(struct qi_merge_result *res, const struct qi_merge_text in[3], struct qi_merge_text side[3],
		    size_t cursor[2], bool take_union)
{
	struct qi_merge_region rg = { .how = QI_MERGE_TRUE };
	const struct qi_merge_text *b = &side[QI_MERGE_BASE], *o = &side[QI_MERGE_OURS], *t = &side[QI_MERGE_THEIRS];
	size_t at = res->out.len;
	if (qi_merge_lines(b, o, t, &res->out)) {
		rg.how = QI_MERGE_INSERT;
	} else if ((res->out.len = at, qi_merge_words(b, o, t, &res->out))) {
		rg.how = QI_MERGE_WORDS;
	} else {
		res->out.len = at;
		if (take_union) {
			rg.how = QI_MERGE_UNION;
			rg.out_line = 1;
			for (size_t k = 0; k < at; k++)
				rg.out_line += res->out.data[k] == '\n';
			qi_buf_add(&res->out, o->data, o->len);
			qi_buf_add(&res->out, t->data, t->len);
			for (size_t k = at; k < res->out.len; k++)
				rg.out_lines += res->out.data[k] == '\n';
		} else {
			res->ntrue++;
		}
	}
	rg.ours_line = locate(&in[QI_MERGE_OURS], &cursor[0], &side[QI_MERGE_OURS]);
	rg.theirs_line = locate(&in[QI_MERGE_THEIRS], &cursor[1], &side[QI_MERGE_THEIRS]);
	for (const char *p = side[QI_MERGE_THEIRS].data; p < side[QI_MERGE_THEIRS].data + side[QI_MERGE_THEIRS].len; p++)
		rg.theirs_lines += *p == '\n';
	for (int k = 0; k < 3; k++)
		rg.side[k] = dup_text(side[k].data, side[k].len);
	res->r = qi_xrealloc(res->r, (res->n + 1) * sizeof(*res->r));
	res->r[res->n++] = rg;
}

/* Walk libgit2's diff3 output (markers of SIZE characters): the lines
 * outside conflicts copied, each conflict resolved. -1 when the output is
 * not what diff3 style makes. */
static int walk_output(const char *m, size_t mlen, size_t size, const struct qi_merge_text in[3],
		       bool take_union, struct qi_merge_result *res)
{
	static const char kinds[] = "<|=>";
	int state = -1;		/* -1 outside; 0 ours, 1 base, 2 theirs */
	const char *start[3] = { 0 };
	struct qi_merge_text side[3];
	size_t cursor[2] = { 0, 0 };
	const char *s = m, *end = m + mlen;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl + 1 : end;
		size_t run = marker_run(s, (size_t)(e - s));
		if (run < size) {
			if (state < 0)
				qi_buf_add(&res->out, s, (size_t)(e - s));
			s = e;
			continue;
		}
		/* No line of the inputs starts with SIZE marker characters:
		 * this is a marker, and it must be the next one expected. */
		if (run != size || (s + run < e && s[run] != ' ' && s[run] != '\n') ||
		    s[0] != kinds[state + 1])
			return -1;
		if (state >= 0)
			side[state] = (struct qi_merge_text){ start[state], (size_t)(s - start[state]) };
		if (++state == 3) {
			struct qi_merge_text ordered[3] = { side[1], side[0], side[2] };
			resolve(res, in, ordered, cursor, take_union);
			state = -1;
		} else {
			start[state] = e;
		}
		s = e;
	}
	return state == -1 ? 0 : -1;
}

/* libgit2 is set up once for the process and left so (its shutdown and a
 * new setup cost more than a merge). */
static void init_libgit2(void)
{
	git_libgit2_init();
}

int qi_merge_file(qi_handle *h, const char *name, const struct qi_merge_text in[3], bool take_union,
		  struct qi_merge_result *res)
{
	memset(res, 0, sizeof(*res));
	for (int k = 0; k < 3; k++)
		if (memchr(in[k].data, '\0', in[k].len))
			return qi_error(h, "%s: a binary file (it holds NUL bytes): not merged (apply the "
					"patch by hand)", name);
	long size = qi_merge_marker_size(in, 3);
	if (size < 0)
		return qi_error(h, "%s: a line starts with over 65535 of the characters <|=>: it cannot "
				"be merged (apply the patch by hand)", name);
	git_merge_file_input gin[3];
	for (int k = 0; k < 3; k++) {
		git_merge_file_input_init(&gin[k], GIT_MERGE_FILE_INPUT_VERSION);
		gin[k].ptr = in[k].data;
		gin[k].size = in[k].len;
	}
	git_merge_file_options gopt;
	git_merge_file_options_init(&gopt, GIT_MERGE_FILE_OPTIONS_VERSION);
	gopt.ancestor_label = "base";
	gopt.our_label = "ours";
	gopt.their_label = "theirs";
	gopt.flags = GIT_MERGE_FILE_STYLE_DIFF3;
	gopt.marker_size = (unsigned short)size;
	git_merge_file_result out;
	memset(&out, 0, sizeof(out));
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_libgit2);
	int grc = git_merge_file(&out, &gin[QI_MERGE_BASE], &gin[QI_MERGE_OURS], &gin[QI_MERGE_THEIRS], &gopt);
	int rc = 0;
	if (grc < 0) {
		const git_error *e = git_error_last();
		rc = qi_error(h, "%s: libgit2 could not merge it: %s", name, e && e->message ? e->message : "unknown error");
	} else if (walk_output(out.ptr, out.len, (size_t)size, in, take_union, res) < 0 ||
		   (!out.automergeable && !res->n)) {
		rc = qi_error(h, "%s: libgit2's merge output is not in diff3 style as expected (markers of "
			      "%ld characters): not merged", name, size);
	}
	git_merge_file_result_free(&out);
	if (!res->out.data)
		qi_buf_add(&res->out, "", 0);
	if (rc < 0)
		qi_merge_result_free(res);
	return rc;
}

void qi_merge_result_free(struct qi_merge_result *res)
{
	for (size_t i = 0; i < res->n; i++)
		for (int k = 0; k < 3; k++)
			free((char *)res->r[i].side[k].data);
	free(res->r);
	qi_buf_free(&res->out);
	memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------------ */
/* The driver: one patch, its failed files merged                     */
/* ------------------------------------------------------------------ */

/* What OURS held before the patch: every entry's content. */
struct snap {
	struct qi_patch_entry *e;
	char *data;
	size_t len;
	bool exists;
};

/* The files the patch names, loaded into T, then every entry of T
 * copied. NULL with the error set when a file cannot be read. */
static struct snap *snapshot(qi_handle *h, struct qi_patch_tree *t, const struct qi_patch_parsed *p, size_t *n)
{
	for (size_t i = 0; i < p->nfiles; i++)
		for (int k = 0; k < 3; k++) {
			const char *name = p->files[i].name[k];
			if (name && qi_patch_name_is_safe(name) && !qi_patch_tree_get(t, name))
				return NULL;
		}
	struct snap *s = qi_xmalloc((t->n + 1) * sizeof(*s));
	for (size_t i = 0; i < t->n; i++) {
		struct qi_patch_entry *e = t->e[i];
		s[i] = (struct snap){ e, NULL, e->len, e->exists };
		if (e->exists && e->data) {
			s[i].data = qi_xmalloc(e->len + 1);
			memcpy(s[i].data, e->data, e->len);
		}
	}
	*n = t->n;
	return s;
}

static void snapshot_free(struct snap *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].data);
	free(s);
}

/* One file being merged. */
struct mfile {
	const char *name;		/* as the records name it */
	struct qi_patch_entry *ours;
	struct qi_merge_result res;
	char *uni;			/* the merged text with unions, before the glue */
	size_t unilen;
};

struct mrun {
	qi_handle *h;
	const struct qi_merge_ctx *c;
	const char *label;
	struct mfile *f;
	size_t nf;
	size_t ntrue, nunion;
};

/* The patches before this one that changed NAME, or "the patches before it". */
static char *earlier_names(const json_t *earlier, const char *name)
{
	struct qi_buf b = { 0 };
	size_t i;
	json_t *r;
	json_array_foreach(earlier, i, r) {
		const char *f = json_string_value(json_object_get(r, "file"));
		const char *p = json_string_value(json_object_get(r, "patch"));
		if (!f || !p || strcmp(f, name))
			continue;
		char *quoted = qi_xasprintf("%s%s", b.len ? ", " : "", p);
		if (!b.data || !strstr(b.data, p))
			qi_buf_add(&b, quoted, strlen(quoted));
		free(quoted);
	}
	if (!b.data)
		return qi_xstrdup("the patches before it");
	char *s = qi_xasprintf("the patches before it that changed it: %s", b.data);
	qi_buf_free(&b);
	return s;
}

/* SIDE's lines, each after "  | ", at most MAX of them. */
static void show_side(struct qi_buf *b, const char *what, const struct qi_merge_text *side, int max)
{
	qi_buf_addf(b, "  %s:\n", what);
	const char *s = side->data, *end = s + side->len;
	int n = 0;
	if (s == end)
		qi_buf_addf(b, "  | (nothing)\n");
	for (; s < end; n++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl + 1 : end;
		if (n < max)
			qi_buf_addf(b, "  | %.*s\n", (int)(e - s - (nl ? 1 : 0)), s);
		s = e;
	}
	if (n > max)
		qi_buf_addf(b, "  | ... (%d more lines)\n", n - max);
}

/* What the merge's base is, in messages. */
static const char *base_what(const struct mrun *m)
{
	return m->c->fallback ? "the file of the tree the patch was made against (its base)"
			      : "the pristine file";
}

/* NAME's entry in the merge's base tree or, when that tree (the patch's
 * own base) lacks it, in the series' pristine tree. */
static struct qi_patch_entry *base_entry(const struct qi_merge_ctx *c, struct qi_patch_tree *t,
					 const char *name)
{
	struct qi_patch_entry *e = qi_patch_tree_get(t, name);
	if (e && !e->exists && c->fallback)
		e = qi_patch_tree_get(c->fallback, name);
	return e;
}

/* The true conflicts, the three sides of each (at most MAX lines a side). */
static void describe(struct mrun *m, struct qi_buf *b, int max)
{
	for (size_t i = 0; i < m->nf; i++) {
		const struct mfile *f = &m->f[i];
		char *who = NULL;
		for (size_t k = 0; k < f->res.n; k++) {
			const struct qi_merge_region *rg = &f->res.r[k];
			if (rg->how != QI_MERGE_TRUE)
				continue;
			if (!who)
				who = earlier_names(m->c->earlier, f->name);
			qi_buf_addf(b, "%s: a true conflict (line %ld of the tree, line %ld with %s alone):\n",
				    f->name, rg->ours_line, rg->theirs_line, m->label);
			char *o = qi_xasprintf("ours, the tree after %s", who);
			char *t = qi_xasprintf("theirs, %s with %s alone", base_what(m), m->label);
			char *bw = qi_xasprintf("base, %s", base_what(m));
			show_side(b, o, &rg->side[QI_MERGE_OURS], max);
			show_side(b, bw, &rg->side[QI_MERGE_BASE], max);
			free(bw);
			show_side(b, t, &rg->side[QI_MERGE_THEIRS], max);
			free(o);
			free(t);
		}
		free(who);
	}
}

static struct mfile *find_file(struct mrun *m, const char *name)
{
	for (size_t i = 0; i < m->nf; i++)
		if (!strcmp(m->f[i].name, name))
			return &m->f[i];
	return NULL;
}

/* Each failed file merged: base from the pristine tree, ours as it was
 * before the patch (the snapshot), theirs from THEIRS. */
static int merge_files(struct mrun *m, struct qi_patch_tree *theirs, const struct snap *s, size_t ns)
{
	for (size_t i = 0; i < m->nf; i++) {
		struct mfile *f = &m->f[i];
		struct qi_patch_entry *b = base_entry(m->c, m->c->base, f->name);
		struct qi_patch_entry *t = qi_patch_tree_get(theirs, f->name);
		f->ours = qi_patch_tree_get(m->c->ours, f->name);
		if (!b || !t || !f->ours)
			return -1;
		const struct snap *o = NULL;
		for (size_t k = 0; k < ns && !o; k++)
			if (s[k].e == f->ours)
				o = &s[k];
		if (!o || !o->exists || !t->exists)
			return qi_error(m->h, "%s: a hunk of %s failed on a file that %s: it cannot be merged",
					f->name, m->label, !o || !o->exists ? "the tree does not have"
					: "the patch alone does not make");
		/* Against an empty base every line of both would be an
		 * insertion, and the rule would stack the two files. */
		if (!b->exists)
			return qi_error(m->h, "%s: both %s and an earlier patch create this file (it is not in "
					"the tree the merge starts from), so it cannot be merged: drop one of "
					"them, or refresh %s against the tree after the other", f->name, m->label,
					m->label);
		struct qi_merge_text in[3] = {
			[QI_MERGE_BASE] = { b->exists && b->data ? b->data : "", b->exists ? b->len : 0 },
			[QI_MERGE_OURS] = { o->data ? o->data : "", o->len },
			[QI_MERGE_THEIRS] = { t->data ? t->data : "", t->len },
		};
		if (qi_merge_file(m->h, f->name, in, m->c->glue != NULL, &f->res) < 0)
			return -1;
		m->ntrue += f->res.ntrue;
		for (size_t k = 0; k < f->res.n; k++)
			m->nunion += f->res.r[k].how == QI_MERGE_UNION;
	}
	return 0;
}

/* The outcome of each hunk of a merged file that had failed: glue when
 * its place in theirs meets a region the glue resolved, rule (named) when
 * it meets one a rule resolved, else merged; its line, offset and fuzz
 * are where it applied to the pristine file (THEIRS's records, which
 * follow the patch's hunks one for one, as the records of OURS do). */
static void set_outcomes(struct mrun *m, json_t *ours, const json_t *theirs, const struct qi_patch_parsed *p)
{
	size_t nh = 0, i = 0;
	for (size_t k = 0; k < p->nfiles; k++)
		nh += p->files[k].nhunks;
	const struct qi_patch_hunk **hk = qi_xmalloc((nh + 1) * sizeof(*hk));
	for (size_t k = 0; k < p->nfiles; k++)
		for (size_t j = 0; j < p->files[k].nhunks; j++)
			hk[i++] = &p->files[k].hunks[j];
	json_t *r;
	json_array_foreach(ours, i, r) {
		struct mfile *f = find_file(m, json_string_value(json_object_get(r, "file")));
		json_t *t = json_array_get(theirs, i);
		if (json_is_true(json_object_get(r, "applied")) || !f || !t)
			continue;
		long line = (long)json_integer_value(json_object_get(t, "line"));
		long n = i < nh ? hk[i]->repl_lines : 0;
		bool glue = false;
		struct qi_buf rules = { 0 };
		for (size_t k = 0; k < f->res.n; k++) {
			const struct qi_merge_region *rg = &f->res.r[k];
			bool meets = !rg->theirs_line || (rg->theirs_line < line + n && line < rg->theirs_line + rg->theirs_lines);
			if (!meets || rg->how == QI_MERGE_TRUE)
				continue;
			const char *name = qi_merge_how_name[rg->how];
			glue = glue || rg->how == QI_MERGE_UNION;
			if (rg->how != QI_MERGE_UNION && (!rules.data || !strstr(rules.data, name)))
				qi_buf_addf(&rules, "%s%s", rules.len ? "," : "", name);
		}
		json_object_set_new(r, "applied", json_true());
		json_object_set(r, "line", json_object_get(t, "line"));
		json_object_set(r, "offset", json_object_get(t, "offset"));
		json_object_set(r, "fuzz", json_object_get(t, "fuzz"));
		json_object_del(r, "near_line");
		json_object_del(r, "near_differ");
		json_object_set_new(r, "outcome", json_string(glue ? "glue" : rules.data ? "rule" : "merged"));
		if (!glue && rules.data)
			json_object_set_new(r, "rule", json_string(rules.data));
		qi_buf_free(&rules);
	}
	free(hk);
}

/* THEIRS being the patch's own base tree (not the series' pristine one):
 * each file of P that it lacks and the patch does not create, taken from
 * the series' pristine tree, so that the patch alone can make theirs. */
static int fill_theirs(struct mrun *m, struct qi_patch_tree *theirs, const struct qi_patch_parsed *p)
{
	for (size_t i = 0; m->c->fallback && i < p->nfiles; i++) {
		if (p->files[i].nonexistent[PN_OLD] == 2)
			continue;
		for (int k = 0; k < 3; k++) {
			const char *name = p->files[i].name[k];
			if (!name || !qi_patch_name_is_safe(name))
				continue;
			struct qi_patch_entry *t = qi_patch_tree_get(theirs, name), *fb;
			if (!t)
				return -1;
			if (t->exists || t->invalid)
				continue;
			if (!(fb = qi_patch_tree_get(m->c->fallback, name)))
				return -1;
			if (!fb->exists || !fb->is_reg)
				continue;
			char *data = qi_xmalloc(fb->len + 1);
			memcpy(data, fb->data ? fb->data : "", fb->len);
			data[fb->len] = '\0';
			qi_patch_tree_set(t, data, fb->len, fb->mode);
		}
	}
	return 0;
}

/* The glue patch on the merged files: -p1, no fuzz (every context line
 * must match; a hunk may move, as it is placed in the merged text). */
static int apply_glue(struct mrun *m, struct qi_patch_report *rep)
{
	const char *glue = m->c->glue;
	char *text = NULL;
	size_t len = 0;
	if (qi_input_read(m->h, QI_ERR_FAILED, glue, "glue patch", QI_INPUT_MAX, &text, &len) < 0)
		return -1;
	struct qi_patch_options g;
	qi_patch_options_default(&g);
	g.strip = 1;
	g.max_fuzz = 0;
	g.forward = true;
	g.no_backup_if_mismatch = true;
	g.no_reject_files = true;
	g.label = glue;
	struct qi_patch_report grep;
	int rc = qi_patch_run(m->h, m->c->ours, text, len, &g, &grep);
	free(text);
	if (rc < 0)
		qi_error_prefix(m->h, "the glue patch %s of %s", glue, m->label);
	else if (grep.status != 0)
		rc = qi_error(m->h, "the glue patch %s of %s does not apply exactly (-p1, fuzz 0) to the "
			      "merged files: %s; remake it against the merge's union (for each true "
			      "conflict, the tree's lines, then the patch's)", glue, m->label,
			      grep.first_failure ? grep.first_failure : "see the messages above");
	else
		json_array_extend(rep->hunks, grep.hunks);
	qi_patch_report_free(&grep);
	return rc;
}

/* A line range of the union text the glue changed: git_diff_buffers'
 * hunks, old side (an insertion: old_lines 0 after old_start). */
struct changed {
	long (*r)[2];
	size_t n;
};

static int glue_hunk(const git_diff_delta *d, const git_diff_hunk *hk, void *payload)
{
	(void)d;
	struct changed *c = payload;
	c->r = qi_xrealloc(c->r, (c->n + 1) * sizeof(*c->r));
	c->r[c->n][0] = hk->old_start;
	c->r[c->n][1] = hk->old_lines;
	c->n++;
	return 0;
}

/* Every union the glue was for must have been changed by it: a union it
 * did not touch keeps both sides one after the other (a new conflict
 * beside the one the glue was made for), which would be a wrong file
 * recorded as glued. */
static int glue_covers(struct mrun *m)
{
	for (size_t i = 0; i < m->nf; i++) {
		struct mfile *f = &m->f[i];
		if (!f->uni)
			continue;
		struct changed c = { 0 };
		git_diff_options o;
		git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
		o.context_lines = 0;
		int grc = git_diff_buffers(f->uni, f->unilen, f->name, f->ours->data ? f->ours->data : "",
					   f->ours->len, f->name, &o, NULL, NULL, glue_hunk, NULL, &c);
		for (size_t k = 0; grc == 0 && k < f->res.n; k++) {
			const struct qi_merge_region *rg = &f->res.r[k];
			if (rg->how != QI_MERGE_UNION)
				continue;
			bool touched = false;
			for (size_t j = 0; j < c.n && !touched; j++) {
				long a = c.r[j][0], n = c.r[j][1];
				touched = n ? a < rg->out_line + rg->out_lines && a + n > rg->out_line
					    : a >= rg->out_line - 1 && a < rg->out_line + rg->out_lines;
			}
			if (!touched) {
				free(c.r);
				return qi_error(m->h, "%s: the glue patch %s of %s leaves the true conflict at line "
						"%ld of the merged file as it is (both sides, one after the other): "
						"it was made for another conflict; remake it against the merge's "
						"union", f->name, m->c->glue, m->label, rg->out_line);
			}
		}
		free(c.r);
		if (grc != 0)
			return qi_error(m->h, "%s: cannot compare the glued file with the merge's union (libgit2: "
					"%s)", f->name, git_error_last() ? git_error_last()->message : "unknown error");
	}
	return 0;
}

/* The true conflicts as an error: the first ones in the message, all of
 * them logged. */
static int conflict_error(struct mrun *m)
{
	struct qi_buf all = { 0 }, some = { 0 };
	describe(m, &all, 1000);
	describe(m, &some, 6);
	qi_info(m->h, "%s", all.data);
	int rc = qi_error(m->h, "%s: %zu true conflict%s with the patches before it, which a three-way merge "
			  "cannot decide; nothing was written. Pin a glue patch for %s (the profile's "
			  "`patch = ... glue=FILE`, or qinstall patch --glue FILE): a -p1 patch that turns "
			  "the union of each conflict (the tree's lines, then the patch's) into the text "
			  "wanted.\n%.3000s", m->label, m->ntrue, m->ntrue == 1 ? "" : "s", m->label, some.data);
	qi_buf_free(&all);
	qi_buf_free(&some);
	return rc;
}

/* TEXT, GNU patch's messages of a patch whose failed hunks the merge then
 * placed, into OUT without the word FAILED: "Hunk #2 FAILED at 81."
 * becomes "Hunk #2 did not apply at 81: merged three ways (below).", "1 out
 * of 5 hunks FAILED" "1 out of 5 hunks merged three ways". */
static void say_merged(const char *text, struct qi_buf *out)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		const char *f = memmem(text, n, " FAILED", 7);
		if (f && strncmp(text, "Hunk #", 6) == 0 && strncmp(f, " FAILED at ", 11) == 0) {
			const char *at = f + 11;
			size_t k = strspn(at, "0123456789");
			qi_buf_addf(out, "%.*s did not apply at %.*s: merged three ways (below).\n", (int)(f - text),
				    text, (int)k, at);
		} else if (f && strstr(text, " out of ") && strstr(text, " out of ") < f) {
			qi_buf_addf(out, "%.*s merged three ways\n", (int)(f - text), text);
		} else {
			qi_buf_add(out, text, n);
			qi_buf_add(out, "\n", 1);
		}
		text += n + (text[n] == '\n');
	}
}

/* The failed files of REP merged, the glue applied, the records updated. */
static int merge_failed(struct mrun *m, const struct qi_patch_parsed *p, const struct snap *s, size_t ns,
			const char *patch, size_t len, const struct qi_patch_options *opt,
			struct qi_patch_report *rep)
{
	size_t i;
	json_t *r;
	m->f = qi_xmalloc((json_array_size(rep->hunks) + 1) * sizeof(*m->f));
	json_array_foreach(rep->hunks, i, r) {
		const char *name = json_string_value(json_object_get(r, "file"));
		if (!json_is_true(json_object_get(r, "applied")) && name && !find_file(m, name))
			m->f[m->nf++] = (struct mfile){ .name = name };
	}
	struct qi_patch_tree theirs;
	struct qi_patch_report trep = { 0 };
	if (qi_patch_tree_open(m->h, &theirs, m->c->base_dir) < 0)
		return -1;
	int rc = fill_theirs(m, &theirs, p);
	if (rc == 0)
		rc = qi_patch_run(m->h, &theirs, patch, len, opt, &trep);
	if (rc == 0 && trep.status != 0 && m->c->fallback)
		rc = qi_error(m->h, "%s does not apply to the tree it was made against (its base, %s) "
			      "either (%s), so it cannot be merged: check the patch's base= component",
			      m->label, m->c->base_dir, trep.first_failure ? trep.first_failure
			      : "see the messages above");
	else if (rc == 0 && trep.status != 0)
		rc = qi_error(m->h, "%s does not apply to the pristine tree either (%s), so it cannot be "
			      "merged: refresh it against the pristine sources (or name the tree it was "
			      "made against: the profile's base=COMPONENT)", m->label,
			      trep.first_failure ? trep.first_failure : "see the messages above");
	if (rc == 0)
		rc = merge_files(m, &theirs, s, ns);
	if (rc == 0 && m->ntrue)
		rc = conflict_error(m);
	struct qi_buf said = { 0 };
	if (rc == 0)
		say_merged(rep->text, &said);
	else
		qi_buf_add(&said, rep->text, strlen(rep->text));
	for (i = 0; rc == 0 && i < m->nf; i++) {
		struct mfile *f = &m->f[i];
		if (!opt->silent)
			qi_buf_addf(&said, "merged file %s three ways (%zu conflict region%s resolved)\n", f->name,
			    f->res.n, f->res.n == 1 ? "" : "s");
		if (m->c->glue && m->nunion) {
			f->uni = qi_xmalloc(f->res.out.len + 1);
			memcpy(f->uni, f->res.out.data ? f->res.out.data : "", f->res.out.len);
			f->unilen = f->res.out.len;
		}
		qi_patch_tree_set(f->ours, f->res.out.data, f->res.out.len, f->ours->mode);
		f->res.out.data = NULL;
	}
	if (rc == 0) {
		set_outcomes(m, rep->hunks, trep.hunks, p);
		if (m->c->glue && m->nunion)
			rc = apply_glue(m, rep);
		if (rc == 0 && m->c->glue && m->nunion)
			rc = glue_covers(m);
		else if (m->c->glue)
			qi_warn(m->h, "the glue patch %s of %s was not needed (no true conflict): not applied",
				m->c->glue, m->label);
	}
	if (rc == 0) {
		rep->status = 0;
		free(rep->first_failure);
		rep->first_failure = NULL;
	}
	free(rep->text);
	rep->text = said.data;
	qi_patch_report_free(&trep);
	qi_patch_tree_close(&theirs);
	return rc;
}

int qi_merge_patch(qi_handle *h, const struct qi_merge_ctx *c, const char *patch, size_t len,
		   const struct qi_patch_options *opt, struct qi_patch_report *report)
{
	struct qi_patch_parsed p;
	size_t ns = 0;
	memset(report, 0, sizeof(*report));
	qi_patch_parse(&p, patch, len, opt->strip);
	struct snap *s = snapshot(h, c->ours, &p, &ns);
	int rc = -1;
	if (s)
		rc = qi_patch_run(h, c->ours, patch, len, opt, report);
	else
		*report = (struct qi_patch_report){ .status = 2, .text = qi_xstrdup(""), .hunks = json_array() };
	bool mendable = rc == 0 && report->status != 0 && !p.fatal &&
			!strstr(report->text, "Reversed (or previously applied) patch detected!") &&
			!strstr(report->text, "can't find file") && !strstr(report->text, "not a regular file");
	if (mendable) {
		struct mrun m = { .h = h, .c = c, .label = opt->label ? opt->label : "-" };
		rc = merge_failed(&m, &p, s, ns, patch, len, opt, report);
		if (rc < 0)
			report->status = 1;
		for (size_t i = 0; i < m.nf; i++) {
			qi_merge_result_free(&m.f[i].res);
			free(m.f[i].uni);
		}
		free(m.f);
	}
	snapshot_free(s, ns);
	qi_patch_parsed_free(&p);
	return rc;
}
