/*
 * patch/parse.c - unified diffs into file patches and hunks, reading the
 * headers the way GNU patch 2.7.6 does: "---"/"+++"/"Index:" names with
 * -p stripping and timestamps, git's extended headers, CRLF patches,
 * "\ No newline at end of file". Context diffs, normal diffs and git
 * binary patches are recognised so that they can be refused clearly.
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
	(*lines)[(*n)++] = (struct qi_patch_line){ text, *len, type };
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

/* GNU's intuit_diff_type for the next file, then its hunks. Returns 1
 * when a file was read, 0 at the end, -1 when parsing must stop. The
 * headers are read line by line until the first "@@"; what each line
 * means depends on the lines before it, hence one loop. */
static int read_file(struct reader *r, struct qi_patch_file *f)
{
	memset(f, 0, sizeof(*f));
	f->stamp[0] = f->stamp[1] = -1;
	size_t base = r->pos;
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
			if (stars_last && !strncmp(s, "*** ", 4)) {
				set_fatal(r, "context diffs are not supported (line %ld of the patch): "
					  "make it a unified diff (diff -u) first\n", this_line - 1);
				return -1;
			}
		}
		if (command_last && (!strncmp(s, "< ", 2) || !strncmp(s, "> ", 2))) {
			set_fatal(r, "normal diffs are not supported (line %ld of the patch): "
				  "make it a unified diff (diff -u) first\n", this_line - 1);
			return -1;
		}
		stars_last = stars_this;
		command_last = command_this;
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
	struct reader r = { .p = p, .text = p->text, .len = len, .line = 1, .strip = strip };
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
