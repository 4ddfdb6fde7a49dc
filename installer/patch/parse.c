/*
 * patch/parse.c - unified and context diffs into file patches and hunks, reading the
 * headers the way GNU patch 2.7.6 does: "---"/"+++"/"Index:" names with
 * -p stripping and timestamps, git's extended headers, CRLF patches,
 * "\ No newline at end of file"; context diffs ("*** "/"--- " names,
 * "***************" hunks, omitted sides filled in) into the same hunks,
 * as GNU patch reads them. Normal diffs and git binary patches are
 * recognised so that they can be refused clearly.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

/* ---- names ---- */

bool qi_patch_strip_name(char *name, int strip)
{
	int s = strip;
	char *p, *n;
	for (p = n = name; *p; p++) {
		if (*p == '/') {
			while (p[1] == '/')
				p++;
			if (strip < 0 || --s >= 0)
				n = p + 1;
		}
	}
	if ((strip < 0 || s <= 0) && *n) {
		memmove(name, n, strlen(n) + 1);
		return true;
	}
	return false;
}

bool qi_patch_name_is_safe(const char *name)
{
	return name[0] != '/' && !qi_path_has_dotdot(name);
}

/* A C-style quoted name ("a\tb"), as git and diff write unusual names.
 * *END is set after the closing quote. NULL when malformed. */
static char *parse_c_string(const char *s, const char *eol, const char **end)
{
	struct qi_buf b = { 0 };
	s++;
	while (s < eol && *s != '"') {
		char c = *s++;
		if (c == '\\') {
			if (s >= eol)
				goto bad;
			c = *s++;
			switch (c) {
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'v': c = '\v'; break;
			case '\\': case '"': break;
			case '0': case '1': case '2': case '3': {
				int v = c - '0';
				for (int i = 0; i < 2; i++) {
					if (s >= eol || *s < '0' || *s > '7')
						goto bad;
					v = v * 8 + (*s++ - '0');
				}
				c = (char)v;
				break;
			}
			default:
				goto bad;
			}
		}
		qi_buf_add(&b, &c, 1);
	}
	if (s >= eol)
		goto bad;
	*end = s + 1;
	if (!b.data)
		qi_buf_add(&b, "", 0);
	return b.data;
bad:
	qi_buf_free(&b);
	return NULL;
}

/* What a header's date says: 0 the epoch (the file does not exist, within
 * a day either way for time zones), 1 some other date, -1 none. */
static int stamp_kind(const char *t, const char *eol)
{
	while (t < eol && isspace((unsigned char)*t))
		t++;
	if (t >= eol)
		return -1;
	size_t n = (size_t)(eol - t);
	if (n >= 10 && isdigit((unsigned char)t[0]) && t[4] == '-' && t[7] == '-') {
		if (!strncmp(t, "1970-01-01", 10) || !strncmp(t, "1969-12-31", 10) ||
		    !strncmp(t, "1970-01-02", 10))
			return 0;
		return 1;
	}
	/* "Thu Jan  1 00:00:00 1970" (diff -c's traditional format). */
	if (n >= 24 && isalpha((unsigned char)t[0]) && t[3] == ' ') {
		const char *y = memmem(t, n, "1970", 4);
		const char *y2 = memmem(t, n, "1969", 4);
		if ((y && (memmem(t, n, "Jan  1", 6) || memmem(t, n, "Jan  2", 6))) ||
		    (y2 && memmem(t, n, "Dec 31", 6)))
			return 0;
		return 1;
	}
	return -1;
}

/* GNU's fetchname: the name after "--- " etc. With WANT_STAMP, a tab
 * separates the name from its date; the date and the rest of the line
 * go to *TIMESTR and *STAMP. Nothing is changed when the name is
 * /dev/null (then *STAMP says "epoch") or has too few slashes. */
static void fetchname(const char *at, const char *eol, int strip, char **pname,
		      char **timestr, int *stamp)
{
	const char *t;
	char *name;
	while (at < eol && isspace((unsigned char)*at) && *at != '\n')
		at++;
	if (at < eol && *at == '"') {
		name = parse_c_string(at, eol, &t);
		if (!name)
			return;
	} else {
		for (t = at; t < eol; t++) {
			if (isspace((unsigned char)*t)) {
				const char *u = t;
				while (*u != '\t' && u + 1 < eol && isspace((unsigned char)u[1]))
					u++;
				if (*u != '\t' && u + 1 < eol &&
				    memchr(u + 1, stamp ? '\t' : '\n', (size_t)(eol - u - 1)))
					continue;
				break;
			}
		}
		name = qi_xmalloc((size_t)(t - at) + 1);
		memcpy(name, at, (size_t)(t - at));
		name[t - at] = '\0';
	}
	if (strcmp(name, "/dev/null") == 0) {
		free(name);
		if (stamp)
			*stamp = 0;
		return;
	}
	if (!qi_patch_strip_name(name, strip)) {
		free(name);
		return;
	}
	const char *u = eol;
	if (u > t && u[-1] == '\n')
		u--;
	if (u > t && u[-1] == '\r')
		u--;
	if (timestr) {
		free(*timestr);
		*timestr = qi_xmalloc((size_t)(u - t) + 1);
		memcpy(*timestr, t, (size_t)(u - t));
		(*timestr)[u - t] = '\0';
	}
	free(*pname);
	*pname = name;
	if (stamp)
		*stamp = stamp_kind(t, u);
}

/* git's "diff --git a/x b/y": one name ending at white space. */
static char *parse_git_name(const char *s, const char *eol, int strip, const char **end)
{
	char *ret;
	while (s < eol && isspace((unsigned char)*s) && *s != '\n')
		s++;
	if (s < eol && *s == '"') {
		ret = parse_c_string(s, eol, end);
		if (!ret)
			return NULL;
	} else {
		const char *t = s;
		while (t < eol && !isspace((unsigned char)*t))
			t++;
		ret = qi_xmalloc((size_t)(t - s) + 1);
		memcpy(ret, s, (size_t)(t - s));
		ret[t - s] = '\0';
		*end = t;
	}
	if (!*ret || !qi_patch_strip_name(ret, strip)) {
		free(ret);
		return NULL;
	}
	return ret;
}

static mode_t fetchmode(const char *s, const char *eol)
{
	while (s < eol && (*s == ' ' || *s == '\t'))
		s++;
	mode_t m = 0;
	const char *d = s;
	while (s < eol && *s >= '0' && *s <= '7')
		m = m * 8 + (mode_t)(*s++ - '0');
	if (s - d != 6 || (s < eol && !isspace((unsigned char)*s)))
		return 0;
	return m;
}

static const char *skip_hex(const char *s, const char *eol)
{
	const char *t = s;
	while (t < eol && isxdigit((unsigned char)*t))
		t++;
	return t == s ? NULL : t;
}

/* An all-zero object id: the file does not exist (2); the empty blob's
 * id (or a prefix of it): the file may be empty (1). */
static int sha_nonexistent(const char *s, const char *e)
{
	static const char empty[] = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
	const char *p;
	for (p = s; p < e && *p == '0'; p++)
		;
	if (p == e)
		return 2;
	if ((size_t)(e - s) > sizeof(empty) - 1)
		return 0;
	return memcmp(s, empty, (size_t)(e - s)) == 0;
}

/* ---- the reader ---- */

struct reader {
	struct qi_patch_parsed *p;
	char *text;
	size_t len, pos;
	long line;		/* 1-based number of the line at pos */
	int strip;
	long hunkmax;		/* GNU's hunk buffer size, which only grows */
	long prev_prefix;	/* the last context hunk's prefix context (GNU reads it) */
};

/* The line at the reader's position: [*s, *e), e after the newline. */
static bool peek_line(const struct reader *r, char **s, char **e)
{
	if (r->pos >= r->len)
		return false;
	char *b = r->text + r->pos;
	char *nl = memchr(b, '\n', r->len - r->pos);
	*s = b;
	*e = nl ? nl + 1 : r->text + r->len;
	return true;
}

static void next_line(struct reader *r, char *e)
{
	r->pos = (size_t)(e - r->text);
	r->line++;
}

static void set_fatal(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fatal(struct reader *r, const char *fmt, ...)
{
	if (r->p->fatal)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&r->p->fatal, fmt, ap) < 0)
		abort();
	va_end(ap);
}

static void malformed(struct reader *r, long line, const char *s, const char *e)
{
	set_fatal(r, "malformed patch at line %ld: %.*s", line, (int)(e - s), s);
	size_t n = strlen(r->p->fatal);
	if (n && r->p->fatal[n - 1] != '\n') {
		r->p->fatal = qi_xrealloc(r->p->fatal, n + 2);
		strcpy(r->p->fatal + n, "\n");
	}
}

static const char *scan_num(const char *s, const char *e, long *v, bool *ok)
{
	const char *d = s;
	long n = 0;
	while (s < e && isdigit((unsigned char)*s)) {
		if (n > (1L << 40)) {
			*ok = false;
			return s;
		}
		n = n * 10 + (*s++ - '0');
	}
	if (s == d)
		*ok = false;
	*v = n;
	return s;
}

#define GROW(arr, n, cap) do { \
		if ((size_t)(n) + 1 >= (cap)) { \
			(cap) *= 2; \
			(arr) = qi_xrealloc((arr), sizeof(*(arr)) * (cap)); \
		} \
	} while (0)

/* A hunk being read: its header's numbers, and its lines so far. */
struct hunk_reader {
	struct qi_patch_hunk hk;
	size_t cap_old, cap_new;
	long nold, nnew;	/* lines of each side read */
	long context;		/* context lines since the last change */
};

/* The "@@ -FIRST[,LINES] +FIRST[,LINES] @@[ FUNC]" line at the reader's
 * position into HK. Returns 1 when read, 0 when the line is no hunk
 * header, -1 when it is malformed (P->fatal set). */
static int read_hunk_header(struct reader *r, struct qi_patch_file *f, struct qi_patch_hunk *hk)
{
	char *s, *e;
	if (!peek_line(r, &s, &e) || e - s <= 4 || strncmp(s, "@@ -", 4) != 0)
		return 0;
	char *hnext = e;
	if (f->strip_cr && e - s >= 2 && e[-1] == '\n' && e[-2] == '\r') {
		e[-2] = '\n';
		e--;
	}
	bool ok = true;
	const char *c = scan_num(s + 4, e, &hk->first, &ok);
	if (c < e && *c == ',')
		c = scan_num(c + 1, e, &hk->ptrn_lines, &ok);
	else
		hk->ptrn_lines = 1;
	if (c < e && *c == ' ')
		c++;
	if (c >= e || *c != '+')
		ok = false;
	else
		c = scan_num(c + 1, e, &hk->newfirst, &ok);
	if (ok && c < e && *c == ',')
		c = scan_num(c + 1, e, &hk->repl_lines, &ok);
	else
		hk->repl_lines = 1;
	if (c < e && *c == ' ')
		c++;
	if (!ok || c >= e || *c++ != '@') {
		malformed(r, r->line, s, e);
		return -1;
	}
	if (c < e && *c++ == '@' && c < e && *c == ' ') {
		const char *fe = e;
		if (fe > c && fe[-1] == '\n')
			fe--;
		hk->func = c;
		hk->func_len = (size_t)(fe - c);
	}
	hk->patch_line = r->line;
	if (!hk->ptrn_lines)
		hk->first++;
	if (!hk->repl_lines)
		hk->newfirst++;
	next_line(r, hnext);
	return 1;
}

/* The next line of a hunk's body: its type *CH (a tab or an empty line is
 * context), its TEXT and LEN after the type, the raw line in [*LS, *LE).
 * At the end of the patch GNU patch supplies up to three missing context
 * lines of the new side: *LS is then NULL. -1 at an earlier end. */
static int read_body_line(struct reader *r, struct qi_patch_file *f, const struct hunk_reader *b,
			  char *ch, const char **text, size_t *len, char **ls, char **le)
{
	*ls = *le = NULL;
	if (!peek_line(r, ls, le)) {
		if (b->hk.repl_lines - b->nnew > 3) {
			set_fatal(r, "unexpected end of file in patch\n");
			return -1;
		}
		*ch = ' ';
		*text = "\n";
		*len = 1;
		return 0;
	}
	char *lnext = *le;
	if (f->strip_cr && *le - *ls >= 2 && (*le)[-1] == '\n' && (*le)[-2] == '\r') {
		(*le)[-2] = '\n';
		(*le)--;
	}
	if (**ls == '\t' || **ls == '\n') {
		*ch = ' ';
		*text = *ls;
		*len = (size_t)(*le - *ls);
	} else {
		*ch = **ls;
		*text = *ls + 1;
		*len = (size_t)(*le - *ls - 1);
	}
	next_line(r, lnext);
	return 0;
}

/* Append (TEXT, *LEN, TYPE) to a side of a hunk: LINES, *N of them so far,
 * room for *CAP, MAX in all. When it is the side's last line and a "\ No
 * newline at end of file" follows (*INCOMPLETE, at IE), that line is
 * taken and the newline dropped (from *LEN, which the other side of a
 * context line then shares). */
static void add_to_side(struct reader *r, struct qi_patch_line **lines, long *n, size_t *cap,
			long max, const char *text, size_t *len, char type, bool *incomplete, char *ie)
{
	if (*n == max - 1 && *incomplete) {
		(*len)--;
		next_line(r, ie);
		*incomplete = false;
	}
	GROW(*lines, *n, *cap);
	(*lines)[(*n)++] = (struct qi_patch_line){ text, *len, type, false };
}

/* Add the line (type CH, raw [LS, LE)) to the side or sides it belongs
 * to. -1 for a line of no type, or one the header's counts have no room
 * for. */
static int add_body_line(struct reader *r, struct hunk_reader *b, char ch, const char *text,
			 size_t len, char *ls, char *le)
{
	struct qi_patch_hunk *hk = &b->hk;
	bool incomplete = false;
	char *is = NULL, *ie = NULL;
	if (ls && peek_line(r, &is, &ie) && *is == '\\')
		incomplete = true;
	bool to_old = ch == '-' || ch == ' ' || ch == '=', to_new = ch == '+' || ch == ' ' || ch == '=';
	if ((!to_old && !to_new) || (to_old && b->nold >= hk->ptrn_lines) ||
	    (to_new && b->nnew >= hk->repl_lines)) {
		if (to_old && to_new)
			malformed(r, r->line - 1, ls ? ls : text, ls ? le : text + len);
		else
			malformed(r, r->line - 1, ls, le);
		return -1;
	}
	char type = to_old && to_new ? ' ' : ch;
	if (to_old)
		add_to_side(r, &hk->old, &b->nold, &b->cap_old, hk->ptrn_lines, text, &len, type,
			    &incomplete, ie);
	if (to_new)
		add_to_side(r, &hk->new, &b->nnew, &b->cap_new, hk->repl_lines, text, &len, type,
			    &incomplete, ie);
	if (to_old && to_new) {
		b->context++;
		return 0;
	}
	/* A change: the context before the first one is the prefix. */
	if (hk->prefix_context == -1)
		hk->prefix_context = b->context;
	b->context = 0;
	return 0;
}

/* The body of the hunk whose header B holds: as many lines of each side
 * as the header counts. */
static int read_hunk_body(struct reader *r, struct qi_patch_file *f, struct hunk_reader *b)
{
	struct qi_patch_hunk *hk = &b->hk;
	/* The counts come from the patch: grow with the lines actually read. */
	b->cap_old = hk->ptrn_lines < 64 ? (size_t)hk->ptrn_lines + 1 : 64;
	b->cap_new = hk->repl_lines < 64 ? (size_t)hk->repl_lines + 1 : 64;
	hk->old = qi_xmalloc(sizeof(*hk->old) * b->cap_old);
	hk->new = qi_xmalloc(sizeof(*hk->new) * b->cap_new);
	hk->prefix_context = -1;
	while (b->nold < hk->ptrn_lines || b->nnew < hk->repl_lines) {
		char ch, *ls, *le;
		const char *text;
		size_t len;
		if (read_body_line(r, f, b, &ch, &text, &len, &ls, &le) < 0 ||
		    add_body_line(r, b, ch, text, len, ls, le) < 0)
			return -1;
	}
	if (hk->prefix_context == -1) {
		set_fatal(r, "malformed patch at line %ld: hunk at line %ld changes nothing\n",
			  r->line - 1, hk->patch_line);
		return -1;
	}
	hk->suffix_context = b->context;
	return 0;
}

/* One "@@" hunk. Returns 1 when read, 0 when the line is no hunk header,
 * -1 on a malformed hunk (P->fatal set). */
static int read_hunk(struct reader *r, struct qi_patch_file *f)
{
	struct hunk_reader b = { 0 };
	int rc = read_hunk_header(r, f, &b.hk);
	if (rc <= 0)
		return rc;
	if (read_hunk_body(r, f, &b) < 0) {
		free(b.hk.old);
		free(b.hk.new);
		return -1;
	}
	f->hunks = qi_xrealloc(f->hunks, sizeof(*f->hunks) * (f->nhunks + 1));
	f->hunks[f->nhunks++] = b.hk;
	return 1;
}

/* ---- context diffs ---- */

/* A context hunk as GNU patch holds it while reading: slot 0 the "***"
 * line, then the old lines, the "---" line ('='), the new lines. */
struct ctx_slots {
	char *ch;
	const char **text;
	size_t *len;
	long cap;
};

static void ctx_slot_set(struct ctx_slots *c, long i, char ch, const char *text, size_t len)
{
	if (i >= c->cap) {
		long n = c->cap ? c->cap : 64;
		while (n <= i)
			n *= 2;
		c->ch = qi_xrealloc(c->ch, (size_t)n);
		c->text = qi_xrealloc(c->text, sizeof(*c->text) * (size_t)n);
		c->len = qi_xrealloc(c->len, sizeof(*c->len) * (size_t)n);
		c->cap = n;
	}
	c->ch[i] = ch;
	c->text[i] = text;
	c->len[i] = len;
}

/* The state of one context hunk being read (GNU's another_hunk). */
struct ctx_reader {
	struct ctx_slots s;
	long end, max, first, ptrn_lines, newfirst, repl_lines;
	long repl_beginning, fillcnt, fillsrc, filldst;
	bool spaces_eaten, some_context, repl_could_be_missing, ptrn_missing, repl_missing;
	size_t repl_pos;
	long repl_line, repl_context, context;
	long ptrn_prefix, ptrn_suffix, repl_prefix, ptrn_copiable, repl_copiable;
	long hunk_beg;
	long prefix, suffix;
	int type;		/* 1 old style, 2 new style */
};

/* "N[,M]" after the marks of a "***" or "---" line: FIRST and the count
 * of lines (0 lines: FIRST 1). False when the numbers make no range. */
static bool ctx_range(const char *s, const char *e, bool stars, long *first, long *lines)
{
	bool ok = true;
	while (s < e && !isdigit((unsigned char)*s))
		s++;
	if (stars && e - s >= 3 && !strncmp(s, "0,0", 3))
		s += 2;
	s = scan_num(s, e, first, &ok);
	ok = true;
	if (s < e && *s == ',') {
		do {
			s++;
		} while (s < e && !isdigit((unsigned char)*s));
		if (!stars && s >= e)
			return false;
		scan_num(s, e, lines, &ok);
		*lines += 1 - *first;
		if (*lines < 0)
			return false;
	} else if (*first) {
		*lines = 1;
	} else {
		*lines = 0;
		*first = 1;
	}
	return *first < (1L << 40) && *lines < (1L << 40);
}

/* The "--- N,M ----" line at slot c->end. Returns 1 to go on, 0 when the
 * new lines turn out to be omitted (the hunk is done), -1 on a fatal
 * error. */
static int ctx_dashes(struct reader *r, struct ctx_reader *c, const char *ls, const char *le, size_t pos)
{
	if (c->ptrn_prefix == -1)
		c->ptrn_prefix = c->context;
	c->ptrn_suffix = c->context;
	if (c->repl_beginning ||
	    c->end != c->ptrn_lines + 1 + (c->s.ch[c->end - 1] == '\n')) {
		if (c->end == 1) {
			/* The old lines were omitted: filled in from the new context. */
			c->ptrn_missing = true;
			c->end = c->ptrn_lines + 1;
			c->ptrn_prefix = c->ptrn_suffix = -1;
			c->fillsrc = c->end + 1;
			c->filldst = 1;
			c->fillcnt = c->ptrn_lines;
		} else if (!c->repl_beginning) {
			set_fatal(r, "malformed patch at line %ld: %s '---'; check the line numbers at line %ld\n",
				  r->line - 1, c->end <= c->ptrn_lines ? "premature" : "overdue", c->hunk_beg);
			return -1;
		} else if (!c->repl_could_be_missing) {
			set_fatal(r, "malformed patch at line %ld: duplicate '---'; check the line numbers at line %ld\n",
				  r->line - 1, c->hunk_beg + c->repl_beginning);
			return -1;
		} else {
			c->repl_missing = true;
			return 0;
		}
	}
	c->repl_beginning = c->end;
	c->repl_pos = pos;
	c->repl_line = r->line;
	c->repl_context = c->context;
	ctx_slot_set(&c->s, c->end, '=', ls, (size_t)(le - ls));
	if (!ctx_range(ls, le, false, &c->newfirst, &c->repl_lines) ||
	    (size_t)c->repl_lines > r->len - r->pos + 4 + (size_t)c->ptrn_lines) {
		malformed(r, r->line - 1, ls, le);
		return -1;
	}
	c->max = c->repl_lines + c->end;
	while (c->max + 1 >= r->hunkmax)
		r->hunkmax *= 2;
	if (c->repl_lines != c->ptrn_copiable &&
	    (r->prev_prefix != 0 || c->context != 0 || c->repl_lines != 1))
		c->repl_could_be_missing = false;
	c->context = 0;
	return 1;
}

/* One line of a context hunk's body, at slot c->end (GNU's switch on its
 * first character). Returns 1 to go on, 0 when the new lines turn out to
 * be omitted, -1 on a fatal error. */
static int ctx_body_line(struct reader *r, struct ctx_reader *c, const char *ls, const char *le)
{
	size_t n = (size_t)(le - ls);
	const char *t = ls + 1;
	size_t tl = n - 1;
	char ch = *ls;
	bool is_context = false;
	switch (ch) {
	case '+':
	case '!':
		c->repl_could_be_missing = false;
		/* fall through */
	case '-':
	case ' ':
		if (tl && (*t == ' ' || *t == '\t')) {
			t++;
			tl--;
		} else if (c->repl_beginning && c->repl_could_be_missing) {
			return 0;
		}
		is_context = ch == ' ';
		break;
	case '\t':
	case '\n':
		/* The spaces were eaten (GNU keeps the tab, drops the last byte). */
		if (c->repl_beginning && c->repl_could_be_missing && (!c->spaces_eaten || c->type == 2))
			return 0;
		t = ls;
		tl = ch == '\t' ? n - 1 : n;
		is_context = c->end != c->ptrn_lines + 1;
		if (is_context)
			c->spaces_eaten |= c->repl_beginning != 0;
		else
			ch = '\n';
		break;
	default:
		if (c->repl_beginning && c->repl_could_be_missing)
			return 0;
		malformed(r, r->line - 1, ls, le);
		return -1;
	}
	if (is_context) {
		ch = ' ';
		c->some_context = true;
		c->context++;
		if (c->repl_beginning)
			c->repl_copiable++;
		else
			c->ptrn_copiable++;
	} else if (ch != '\n') {
		/* Our hunks keep the old side's lines '-' and the new side's '+'. */
		if ((ch == '+' && !c->repl_beginning) || (ch == '-' && c->repl_beginning)) {
			malformed(r, r->line - 1, ls, le);
			return -1;
		}
		long *prefix = c->repl_beginning ? &c->repl_prefix : &c->ptrn_prefix;
		if (*prefix == -1)
			*prefix = c->context;
		c->context = 0;
	}
	char *is, *ie;
	if (tl > 1 && c->end == (c->repl_beginning ? c->max : c->ptrn_lines) && peek_line(r, &is, &ie) &&
	    *is == '\\') {
		tl--;
		next_line(r, ie);
	}
	ctx_slot_set(&c->s, c->end, ch, t, tl);
	return 1;
}

/* The "*** N,M ****" line, which must come first. */
static int ctx_stars(struct reader *r, struct ctx_reader *c, const char *ls, const char *le)
{
	if (!strncmp(ls, "********", 8)) {
		if (c->repl_beginning && c->repl_could_be_missing)
			return 0;
		set_fatal(r, "malformed patch at line %ld: unexpected end of hunk\n", r->line - 1);
		return -1;
	}
	if (c->end != 0) {
		if (c->repl_beginning && c->repl_could_be_missing)
			return 0;
		set_fatal(r, "malformed patch at line %ld: unexpected '***': %.*s", r->line - 1,
			  (int)(le - ls), ls);
		return -1;
	}
	c->context = 0;
	ctx_slot_set(&c->s, 0, '*', ls, (size_t)(le - ls));
	/* More lines than the rest of the patch could give (the other side
	 * included, which fills an omitted one) cannot be. */
	if (!ctx_range(ls, le, true, &c->first, &c->ptrn_lines) ||
	    (size_t)c->ptrn_lines > r->len - r->pos + 4) {
		malformed(r, r->line - 1, ls, le);
		return -1;
	}
	while (c->ptrn_lines + 7 >= r->hunkmax)
		r->hunkmax *= 2;
	c->max = r->hunkmax;
	return 1;
}

/* The lines of a context hunk up to its end: 0 when done, -1 on a fatal
 * error. */
static int ctx_read_lines(struct reader *r, struct qi_patch_file *f, struct ctx_reader *c)
{
	while (c->end < c->max) {
		char *ls, *le;
		int rc;
		if (!peek_line(r, &ls, &le)) {
			if (c->repl_beginning && c->repl_could_be_missing) {
				c->repl_missing = true;
				return 0;
			}
			if (c->max - c->end >= 4) {
				set_fatal(r, "unexpected end of file in patch\n");
				return -1;
			}
			ls = (char *)"  \n";
			le = ls + 3;
		} else {
			char *lnext = le;
			if (f->strip_cr && le - ls >= 2 && le[-1] == '\n' && le[-2] == '\r') {
				le[-2] = '\n';
				le--;
			}
			next_line(r, lnext);
		}
		if (++c->end == r->hunkmax) {
			set_fatal(r, "malformed patch at line %ld: unterminated hunk starting at line %ld\n",
				  r->line - 1, c->hunk_beg);
			return -1;
		}
		if (*ls == '*')
			rc = ctx_stars(r, c, ls, le);
		else if (c->end == 0)
			rc = (malformed(r, r->line - 1, ls, le), -1);
		else if (*ls == '-' && le - ls > 1 && ls[1] == '-')
			rc = ctx_dashes(r, c, ls, le, r->pos);
		else
			rc = ctx_body_line(r, c, ls, le);
		if (rc <= 0) {
			if (rc == 0)
				c->repl_missing = true;
			return rc;
		}
	}
	return 0;
}

/* After the lines: the omitted side filled in, the contexts, the checks
 * GNU makes. 0, or -1 on a fatal error. */
static int ctx_finish(struct reader *r, struct ctx_reader *c)
{
	if (c->end >= 0 && !c->repl_beginning) {
		set_fatal(r, "malformed patch: no '---' found in the hunk at line %ld\n", c->hunk_beg);
		return -1;
	}
	if (c->repl_missing) {
		/* The new lines, all context, were omitted: from the old ones. */
		r->pos = c->repl_pos;
		r->line = c->repl_line;
		c->context = c->repl_context;
		c->fillsrc = 1;
		c->filldst = c->repl_beginning + 1;
		c->fillcnt = c->repl_lines;
		c->end = c->max;
	} else if (!c->ptrn_missing && c->ptrn_copiable != c->repl_copiable) {
		set_fatal(r, "malformed patch: context mangled in the hunk at line %ld\n", c->hunk_beg);
		return -1;
	} else if (!c->some_context && c->fillcnt == 1) {
		/* An empty old side announced as one line: an append. */
		for (; c->filldst < c->end; c->filldst++)
			ctx_slot_set(&c->s, c->filldst, c->s.ch[c->filldst + 1], c->s.text[c->filldst + 1],
				     c->s.len[c->filldst + 1]);
		c->end--;
		c->first++;
		c->fillcnt = 0;
		c->ptrn_lines = 0;
		c->repl_beginning--;
	}
	long prefix = c->repl_prefix == -1 || (c->ptrn_prefix != -1 && c->ptrn_prefix < c->repl_prefix)
			      ? c->ptrn_prefix : c->repl_prefix;
	long suffix = c->ptrn_suffix != -1 && c->ptrn_suffix < c->context ? c->ptrn_suffix : c->context;
	r->prev_prefix = prefix;
	c->prefix = prefix;
	c->suffix = suffix;
	if (prefix == -1 || suffix == -1)
		goto mangled;
	if (c->type == 1 && (c->fillcnt || (c->first > 1 && prefix + suffix < c->ptrn_copiable)))
		c->type = 2;
	if (!c->fillcnt)
		return 0;
	for (; c->fillcnt > 0; c->fillcnt--) {
		while (c->fillsrc <= c->end && c->fillsrc != c->repl_beginning && c->s.ch[c->fillsrc] != ' ')
			c->fillsrc++;
		if (c->end < c->fillsrc || c->fillsrc == c->repl_beginning)
			goto mangled;
		ctx_slot_set(&c->s, c->filldst++, ' ', c->s.text[c->fillsrc], c->s.len[c->fillsrc]);
		c->fillsrc++;
	}
	for (; c->fillsrc <= c->end && c->fillsrc != c->repl_beginning; c->fillsrc++)
		if (c->s.ch[c->fillsrc] == ' ')
			goto mangled;
	return 0;
mangled:
	set_fatal(r, "malformed patch: replacement text or line numbers mangled in the hunk at line %ld\n",
		  c->hunk_beg);
	return -1;
}

/* The slots into HK: the old side's lines, the new side's. */
static void ctx_to_hunk(const struct ctx_reader *c, struct qi_patch_hunk *hk)
{
	hk->first = c->first;
	hk->ptrn_lines = c->ptrn_lines;
	hk->newfirst = c->newfirst;
	hk->repl_lines = c->repl_lines;
	hk->prefix_context = c->prefix;
	hk->suffix_context = c->suffix;
	hk->context = c->type;
	hk->old = qi_xmalloc(sizeof(*hk->old) * (size_t)(c->ptrn_lines + 1));
	hk->new = qi_xmalloc(sizeof(*hk->new) * (size_t)(c->repl_lines + 1));
	for (long i = 0; i < c->ptrn_lines; i++) {
		char ch = c->s.ch[1 + i];
		hk->old[i] = (struct qi_patch_line){ c->s.text[1 + i], c->s.len[1 + i], ch == ' ' ? ' ' : '-',
						     ch == '!' };
	}
	for (long i = 0; i < c->repl_lines; i++) {
		long k = c->repl_beginning + 1 + i;
		char ch = c->s.ch[k];
		hk->new[i] = (struct qi_patch_line){ c->s.text[k], c->s.len[k], ch == ' ' ? ' ' : '+', ch == '!' };
	}
}

/* One context hunk ("***************" and its lines) of type *TYPE (1 or
 * 2; 2 from here on once GNU sees it is new style). Returns 1 when read
 * (into HK unless NULL), 0 when the line is no hunk, -1 when malformed. */
static int read_context_hunk(struct reader *r, struct qi_patch_file *f, int *type, struct qi_patch_hunk *hk)
{
	char *s, *e;
	if (!peek_line(r, &s, &e) || e - s <= 8 || strncmp(s, "********", 8) != 0)
		return 0;
	struct ctx_reader c = { .end = -1, .max = r->hunkmax, .repl_could_be_missing = true,
				.ptrn_prefix = -1, .ptrn_suffix = -1, .repl_prefix = -1, .type = *type };
	const char *fs = s;
	while (fs < e && *fs == '*')
		fs++;
	long patch_line = r->line;
	next_line(r, e);
	c.hunk_beg = r->line;
	int rc = ctx_read_lines(r, f, &c);
	if (rc == 0)
		rc = ctx_finish(r, &c);
	if (rc == 0 && hk) {
		memset(hk, 0, sizeof(*hk));
		ctx_to_hunk(&c, hk);
		if (fs < e && *fs == ' ') {
			const char *fe = e;
			if (fe > fs && fe[-1] == '\n')
				fe--;
			if (fe > fs && fe[-1] == '\r' && f->strip_cr)
				fe--;
			hk->func = fs;
			hk->func_len = (size_t)(fe - fs);
		}
		hk->patch_line = patch_line;
	}
	*type = c.type;
	free(c.s.ch);
	free(c.s.text);
	free(c.s.len);
	return rc < 0 ? -1 : 1;
}

/* Is this line a normal diff command ("12,14c12")? */
static bool is_normal_command(const char *s, const char *e)
{
	const char *t = s;
	if (t >= e || !isdigit((unsigned char)*t))
		return false;
	while (t < e && (isdigit((unsigned char)*t) || *t == ','))
		t++;
	if (t >= e || (*t != 'a' && *t != 'c' && *t != 'd'))
		return false;
	for (t++; t < e && (isdigit((unsigned char)*t) || *t == ','); t++)
		;
	while (t < e && (*t == ' ' || *t == '\t'))
		t++;
	if (t < e && *t == '\r')
		t++;
	return t < e && *t == '\n';
}

static void file_free(struct qi_patch_file *f)
{
	for (int i = 0; i < 3; i++)
		free(f->name[i]);
	for (int i = 0; i < 2; i++)
		free(f->timestr[i]);
	for (size_t i = 0; i < f->nhunks; i++) {
		free(f->hunks[i].old);
		free(f->hunks[i].new);
	}
	free(f->hunks);
	memset(f, 0, sizeof(*f));
}

/* "diff --git a/X b/Y": both names when they parse, none otherwise. */
static void git_diff_line(struct reader *r, struct qi_patch_file *f, const char *s, const char *e)
{
	free(f->name[PN_OLD]);
	free(f->name[PN_NEW]);
	f->name[PN_OLD] = f->name[PN_NEW] = NULL;
	const char *u;
	char *a = parse_git_name(s + 11, e, r->strip, &u);
	char *b = a && u < e && isspace((unsigned char)*u) ? parse_git_name(u, e, r->strip, &u) : NULL;
	if (b) {
		while (u < e && isspace((unsigned char)*u))
			u++;
	}
	if (a && b && u == e) {
		f->name[PN_OLD] = a;
		f->name[PN_NEW] = b;
	} else {
		free(a);
		free(b);
	}
	f->git = true;
}

/* One of git's extended header lines after "diff --git" ("index",
 * modes, new and deleted files, renames, copies): true when S is one,
 * which is then taken into F. */
static bool git_extended_line(struct qi_patch_file *f, const char *s, const char *e)
{
	const char *u, *v;
	if (!strncmp(s, "index ", 6)) {
		if (!((u = skip_hex(s + 6, e)) && u + 1 < e && u[0] == '.' && u[1] == '.' &&
		      (v = skip_hex(u + 2, e)) && (v >= e || isspace((unsigned char)*v))))
			return false;
		f->nonexistent[PN_OLD] = sha_nonexistent(s + 6, u);
		f->nonexistent[PN_NEW] = sha_nonexistent(u + 2, v);
		while (v < e && isspace((unsigned char)*v) && *v != '\n')
			v++;
		if (v < e && *v != '\n' && *v != '\r')
			f->mode[PN_OLD] = f->mode[PN_NEW] = fetchmode(v, e);
	} else if (!strncmp(s, "old mode ", 9)) {
		f->mode[PN_OLD] = fetchmode(s + 9, e);
	} else if (!strncmp(s, "new mode ", 9)) {
		f->mode[PN_NEW] = fetchmode(s + 9, e);
	} else if (!strncmp(s, "deleted file mode ", 18)) {
		f->mode[PN_OLD] = fetchmode(s + 18, e);
		f->nonexistent[PN_NEW] = 2;
	} else if (!strncmp(s, "new file mode ", 14)) {
		f->mode[PN_NEW] = fetchmode(s + 14, e);
		f->nonexistent[PN_OLD] = 2;
	} else if (!strncmp(s, "rename from ", 12) || !strncmp(s, "rename to ", 10)) {
		f->rename = true;
	} else if (!strncmp(s, "copy from ", 10) || !strncmp(s, "copy to ", 8)) {
		f->copy = true;
	} else {
		return false;
	}
	return true;
}

/* The first "@@" of F at [S, E): the names of the "---" and "+++" lines
 * take their sides, a side of 0 lines may say the file does not exist,
 * and the hunks are read. The text since BASE leads up to them. */
static int start_hunks(struct reader *r, struct qi_patch_file *f, const char *s, const char *e,
		       size_t base, size_t this_pos, long this_line)
{
	char *t;
	t = f->name[PN_OLD]; f->name[PN_OLD] = f->name[PN_NEW]; f->name[PN_NEW] = t;
	t = f->timestr[PN_OLD]; f->timestr[PN_OLD] = f->timestr[PN_NEW]; f->timestr[PN_NEW] = t;
	int st = f->stamp[PN_OLD]; f->stamp[PN_OLD] = f->stamp[PN_NEW]; f->stamp[PN_NEW] = st;
	const char *c = s + 4;
	if (c[0] == '0' && !isdigit((unsigned char)c[1]))
		f->nonexistent[PN_OLD] = f->stamp[PN_OLD] == 0 ? 2 : 1;
	while (c < e && *c != ' ' && *c != '\n')
		c++;
	while (c < e && *c == ' ')
		c++;
	if (c + 1 < e && c[0] == '+' && c[1] == '0' && !isdigit((unsigned char)c[2]))
		f->nonexistent[PN_NEW] = f->stamp[PN_NEW] == 0 ? 2 : 1;
	f->leading = r->text + base;
	f->leading_len = this_pos - base;
	f->start_line = this_line;
	int rc;
	while ((rc = read_hunk(r, f)) > 0)
		;
	/* GNU patch applies the hunks before a broken one, then stops: keep
	 * them, marked. */
	if (rc < 0)
		f->broken = true;
	return 1;
}

/* A context diff's first hunk: "*** 0" says the old file does not exist,
 * the first hunk (read twice, as GNU patch scans it first) whose new side
 * is empty at line 1 the same of the new file; then the hunks from the
 * stars line at STARS_POS (line STARS_LINE). -1 when the first is
 * malformed: GNU patch stops before it names the file. */
static int start_context_hunks(struct reader *r, struct qi_patch_file *f, const char *s, const char *e,
			       size_t base, size_t stars_pos, long stars_line)
{
	const char *c = s + 4;
	if (c[0] == '0' && !isdigit((unsigned char)c[1]))
		f->nonexistent[PN_OLD] = f->stamp[PN_OLD] == 0 ? 2 : 1;
	const char *t = e;
	if (t > s && t[-1] == '\n')
		t--;
	int type = t > s && t[-1] == '*' ? 2 : 1;
	f->strip_cr = e - s >= 2 && e[-1] == '\n' && e[-2] == '\r';
	f->leading = r->text + base;
	f->leading_len = stars_pos - base;
	f->start_line = stars_line;
	struct qi_patch_hunk hk;
	int scan_type = type;
	r->pos = stars_pos;
	r->line = stars_line;
	/* The scan leaves the CRs (stripping them in place is for once). */
	bool cr = f->strip_cr;
	f->strip_cr = false;
	int rc = read_context_hunk(r, f, &scan_type, &hk);
	f->strip_cr = cr;
	if (rc < 0)
		return -1;
	if (!hk.repl_lines && hk.newfirst == 1)
		f->nonexistent[PN_NEW] = f->stamp[PN_NEW] == 0 ? 2 : 1;
	free(hk.old);
	free(hk.new);
	r->pos = stars_pos;
	r->line = stars_line;
	for (;;) {
		rc = read_context_hunk(r, f, &type, &hk);
		if (rc <= 0)
			break;
		f->hunks = qi_xrealloc(f->hunks, sizeof(*f->hunks) * (f->nhunks + 1));
		f->hunks[f->nhunks++] = hk;
	}
	if (rc < 0)
		f->broken = true;
	return 1;
}

/* GNU's intuit_diff_type for the next file, then its hunks. Returns 1
 * when a file was read, 0 at the end, -1 when parsing must stop. The
 * headers are read line by line until the first "@@"; what each line
 * means depends on the lines before it, hence one loop. */
static int read_file(struct reader *r, struct qi_patch_file *f)
{
	memset(f, 0, sizeof(*f));
	f->stamp[0] = f->stamp[1] = -1;
	size_t base = r->pos, prev_pos = r->pos;
	bool need_header = true, extended = false, stars_last = false, command_last = false;
	char *s, *e;
	for (;;) {
		size_t this_pos = r->pos;
		long this_line = r->line;
		if (!peek_line(r, &s, &e)) {
			if (extended)
				break;
			return 0;
		}
		bool cr = e - s >= 2 && e[-1] == '\n' && e[-2] == '\r';
		bool stars_this = false, command_this = false;
		if (!stars_last && !strncmp(s, "*** ", 4)) {
			fetchname(s + 4, e, r->strip, &f->name[PN_OLD], &f->timestr[PN_OLD],
				  &f->stamp[PN_OLD]);
			need_header = false;
		} else if (!strncmp(s, "+++ ", 4)) {
			fetchname(s + 4, e, r->strip, &f->name[PN_OLD], &f->timestr[PN_OLD],
				  &f->stamp[PN_OLD]);
			need_header = false;
			f->strip_cr = cr;
		} else if (!strncmp(s, "Index:", 6)) {
			fetchname(s + 6, e, r->strip, &f->name[PN_INDEX], NULL, NULL);
			need_header = false;
			f->strip_cr = cr;
		} else if (!strncmp(s, "diff --git ", 11)) {
			if (extended)
				break;
			git_diff_line(r, f, s, e);
			need_header = false;
		} else if (f->git && git_extended_line(f, s, e)) {
			extended = true;
		} else if (f->git && !strncmp(s, "GIT binary patch", 16)) {
			set_fatal(r, "git binary diffs are not supported (line %ld of the patch): "
				  "apply this one with git apply\n", this_line);
			return -1;
		} else if (!strncmp(s, "--- ", 4)) {
			fetchname(s + 4, e, r->strip, &f->name[PN_NEW], &f->timestr[PN_NEW],
				  &f->stamp[PN_NEW]);
			need_header = false;
			f->strip_cr = cr;
		}
		command_this = is_normal_command(s, e);
		if (!need_header) {
			if (!strncmp(s, "@@ -", 4))
				return start_hunks(r, f, s, e, base, this_pos, this_line);
			stars_this = !strncmp(s, "********", 8);
			if (stars_last && !strncmp(s, "*** ", 4))
				return start_context_hunks(r, f, s, e, base, prev_pos, this_line - 1);
		}
		if (command_last && (!strncmp(s, "< ", 2) || !strncmp(s, "> ", 2))) {
			set_fatal(r, "normal diffs are not supported (line %ld of the patch): "
				  "make it a unified diff (diff -u) first\n", this_line - 1);
			return -1;
		}
		stars_last = stars_this;
		command_last = command_this;
		prev_pos = this_pos;
		next_line(r, e);
	}
	/* A git patch of headers only (a rename, a mode change, an empty file). */
	f->leading = r->text + base;
	f->leading_len = r->pos - base;
	f->start_line = r->line;
	return 1;
}

void qi_patch_parse(struct qi_patch_parsed *p, const char *text, size_t len, int strip)
{
	memset(p, 0, sizeof(*p));
	p->text = qi_xmalloc(len + 1);
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	p->len = len;
	struct reader r = { .p = p, .text = p->text, .len = len, .line = 1, .strip = strip,
			    .hunkmax = 125 };
	for (;;) {
		struct qi_patch_file f;
		int rc = read_file(&r, &f);
		if (rc == 0) {
			file_free(&f);
			break;
		}
		p->files = qi_xrealloc(p->files, sizeof(*p->files) * (p->nfiles + 1));
		p->files[p->nfiles++] = f;
		if (rc < 0) {
			/* The file whose hunks broke off is not applied. */
			file_free(&p->files[--p->nfiles]);
			break;
		}
	}
	if (!p->nfiles && !p->fatal && len > 0)
		p->garbage_only = true;
}

void qi_patch_parsed_free(struct qi_patch_parsed *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		file_free(&p->files[i]);
	free(p->files);
	free(p->text);
	free(p->fatal);
	memset(p, 0, sizeof(*p));
}

void qi_patch_hunk_swap(struct qi_patch_hunk *hk)
{
	long t = hk->first;
	hk->first = hk->newfirst;
	hk->newfirst = t;
	t = hk->ptrn_lines;
	hk->ptrn_lines = hk->repl_lines;
	hk->repl_lines = t;
	struct qi_patch_line *l = hk->old;
	hk->old = hk->new;
	hk->new = l;
	for (long i = 0; i < hk->ptrn_lines; i++)
		if (hk->old[i].type == '+')
			hk->old[i].type = '-';
	for (long i = 0; i < hk->repl_lines; i++)
		if (hk->new[i].type == '-')
			hk->new[i].type = '+';
}
