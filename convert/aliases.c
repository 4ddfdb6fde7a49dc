/*
 * aliases.c - /etc/aliases (aliases(5)) as qmail's ~alias/.qmail-NAME
 * files (convert.h, cv_aliases): one item per alias, one file per alias
 * that has something qmail can deliver to. Addresses become &address
 * lines, /files mbox (or, ending in '/', Maildir) lines, |commands
 * program lines; :include:, error: and the other forms qmail has no line
 * for are left out and said why. The text is read as bytes with a
 * length: it may hold NUL bytes and need not be terminated.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert/convert.h"

/* A growing NUL-terminated string. */
struct al_buf {
	char *s;
	size_t n, cap;
};

/* Append N bytes of S to B (allocation failure aborts). */
static void al_add(struct al_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			abort();
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

/* Append the NUL-terminated S to B. */
static void al_adds(struct al_buf *b, const char *s)
{
	al_add(b, s, strlen(s));
}

/* A malloc'd printf (allocation failure aborts). */
static char *al_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

/* One logical entry of the file: a line that starts with text and the
 * continuation lines (starting with a blank) after it, joined by a space. */
struct al_entry {
	struct al_buf text;
	size_t line;		/* the number of its first line */
	bool nul;		/* it held a NUL byte */
	bool orphan;		/* it starts with a continuation line */
};

enum { AL_SKIP, AL_START, AL_CONT };

/* What the line S (N bytes) is: blank, blanks only or a comment (its first
 * non-blank a '#') are skipped; a continuation starts with a blank. */
static int al_kind(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] == '#')
		return AL_SKIP;
	return i > 0 ? AL_CONT : AL_START;
}

/* The next logical entry of TEXT (LEN bytes) from *POS into E (whose
 * buffer is reused); *LINENO counts the lines read. False at the end. */
static bool al_next(const char *text, size_t len, size_t *pos, size_t *lineno, struct al_entry *e)
{
	bool have = false;
	e->text.n = 0;
	if (e->text.s)
		e->text.s[0] = '\0';
	e->nul = e->orphan = false;
	while (*pos < len) {
		const char *s = text + *pos, *nl = memchr(s, '\n', len - *pos);
		size_t n = nl ? (size_t)(nl - s) : len - *pos, next = nl ? *pos + n + 1 : len;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		int kind = al_kind(s, n);
		if (have && kind == AL_START)
			break;
		*pos = next;
		++*lineno;
		if (kind == AL_SKIP)
			continue;
		if (memchr(s, '\0', n))
			e->nul = true;
		if (!have) {
			have = true;
			e->line = *lineno;
			e->orphan = kind == AL_CONT;
		} else {
			al_add(&e->text, " ", 1);
		}
		al_add(&e->text, s, n);
	}
	if (have && !e->text.s)
		al_add(&e->text, "", 0);
	return have;
}

/* S without its leading and trailing blanks, in place. */
static char *al_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Whether NAME (lowercase) can be the NAME of ~alias/.qmail-NAME. */
static bool al_name_ok(const char *name)
{
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._+=-", *p))
			return false;
	return *name != '\0';
}

/* Whether V is an address user@domain qmail can forward to: printable,
 * no blank or address punctuation, text on both sides of one '@'. */
static bool al_addr_ok(const char *v)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr(",\"<>()[]\\;:", *p))
			return false;
	return true;
}

/* Whether V is a bare local name (a user or another alias). */
static bool al_local_ok(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+=-", *p))
			return false;
	return *v != '\0';
}

static const char al_include_why[] =
	"qmail has no :include:; put the addresses in ~alias/.qmail-NAME by hand (or use fastforward)";

/* The .qmail line for the value V of alias NAME, or NULL with *WHY set
 * (static text) when qmail has none; *SELF when V is NAME itself. */
static char *al_value(const char *name, const char *v, const char **why, bool *self)
{
	*self = false;
	if (v[0] == '|') {
		char *cmd = al_printf("%s", v + 1);
		bool empty = al_trim(cmd)[0] == '\0';
		free(cmd);
		if (empty) {
			*why = "an empty |command";
			return NULL;
		}
		return al_printf("%s", v);
	}
	if (v[0] == '/')
		return al_printf("%s", v);
	if (strncasecmp(v, ":include:", 9) == 0) {
		*why = al_include_why;
		return NULL;
	}
	if (strncasecmp(v, "error:", 6) == 0) {
		*why = "qmail has no error: addresses; a |command line that exits 100 bounces the mail "
		       "(e.g. |echo 'TEXT'; exit 100)";
		return NULL;
	}
	if (v[0] == '\\') {
		*why = "qmail has no \\user (delivery past the aliases): it delivers to a system account "
		       "before it looks at ~alias";
		return NULL;
	}
	if (strchr(v, '@')) {
		if (!al_addr_ok(v)) {
			*why = "not an address qmail can forward to";
			return NULL;
		}
		return al_printf("&%s", v);
	}
	if (al_local_ok(v)) {
		if (strcasecmp(v, name) == 0) {
			*self = true;
			*why = "the alias itself: it would loop";
			return NULL;
		}
		return al_printf("&%s", v);
	}
	*why = "not an address, a /file or a |command";
	return NULL;
}

/* The values of VALUE (comma-separated, each may be "quoted", with \"
 * and \\ inside quotes), as a malloc'd array of malloc'd strings, blanks
 * around each removed, empty ones left out; *UNTERMINATED when a quote
 * does not end. */
static char **al_split(const char *value, size_t *count, bool *unterminated)
{
	char **v = NULL;
	size_t n = 0;
	struct al_buf cur = { 0 };
	bool inq = false;
	*unterminated = false;
	for (const char *p = value;; p++) {
		if (*p == '\0' || (*p == ',' && !inq)) {
			al_add(&cur, "", 0);
			char *t = al_trim(cur.s);
			if (*p == '\0' && inq && !*t)
				t = "\"";	/* a lone unterminated quote is still a value */
			if (*t) {
				v = realloc(v, (n + 1) * sizeof(*v));
				if (!v)
					abort();
				v[n++] = al_printf("%s", t);
			}
			cur.n = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '"') {
			inq = !inq;
			continue;
		}
		if (inq && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		al_add(&cur, p, 1);
	}
	free(cur.s);
	*unterminated = inq;
	*count = n;
	return v;
}

/* The names seen so far: the first entry of a name is the one used. */
struct al_names {
	char **v;
	size_t n;
};

/* Whether NAME was seen; if not, it is remembered. */
static bool al_seen(struct al_names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!s->v)
		abort();
	s->v[s->n++] = al_printf("%s", name);
	return false;
}

/* One alias NAME (lowercase, usable) with the raw VALUE: its item, and its
 * file when any value converts. */
static void al_alias(struct cv_result *out, const char *setting, const char *name, const char *value)
{
	char *file = al_printf("alias/.qmail-%s", name);
	for (char *p = file + strlen("alias/.qmail-"); *p; p++)
		if (*p == '.')
			*p = ':';
	if (cv_file_find(out, file)) {
		char *why = al_printf("%s is made already by an earlier setting: merge the two by hand", file);
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		free(why);
		free(file);
		return;
	}
	size_t nv, nlines = 0, nleft = 0, nself = 0;
	bool unterminated;
	char **v = al_split(value, &nv, &unterminated);
	char **lines = calloc(nv ? nv : 1, sizeof(*lines));
	struct al_buf left = { 0 };
	const char *onewhy = NULL;
	if (!lines)
		abort();
	for (size_t i = 0; i < nv; i++) {
		const char *why = NULL;
		bool self = false;
		char *line = NULL;
		if (unterminated && i == nv - 1)
			why = "a quote that does not end";
		else
			line = al_value(name, v[i], &why, &self);
		if (!line) {
			al_adds(&left, nleft++ ? "; " : "");
			al_adds(&left, v[i]);
			al_adds(&left, " (");
			al_adds(&left, why);
			al_adds(&left, ")");
			onewhy = why;
			nself += self;
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < nlines && !dup; j++)
			dup = strcmp(lines[j], line) == 0;
		if (dup)
			free(line);
		else
			lines[nlines++] = line;
	}
	if (nv == 0) {
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED,
			    unterminated ? "a quote that does not end" : "no address after the ':'");
	} else if (nlines == 0) {
		char *why;
		if (nself == nleft)
			why = al_printf("%s points to itself only: it would loop", name);
		else if (nleft == 1)
			why = al_printf("%s", onewhy);
		else
			why = al_printf("nothing qmail can use: %s", left.s);
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		free(why);
	} else {
		for (size_t i = 0; i < nlines; i++)
			cv_file_line(out, file, lines[i]);
		char *after = al_printf("%s: %zu line%s", file, nlines, nlines == 1 ? "" : "s");
		char *why = nleft ? al_printf("left out: %s", left.s) : NULL;
		cv_item_add(out, setting, value, after, nleft ? CV_WARNED : CV_CONVERTED, why);
		free(after);
		free(why);
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(lines);
	free(v);
	free(left.s);
	free(file);
}

int cv_aliases(const char *text, size_t len, const char *setting_prefix, struct cv_result *out)
{
	const char *prefix = setting_prefix ? setting_prefix : "aliases";
	struct al_entry e = { 0 };
	struct al_names seen = { 0 };
	size_t pos = 0, lineno = 0;
	if (!text)
		len = 0;
	while (al_next(text, len, &pos, &lineno, &e)) {
		char *line = al_printf("%s: line %zu", prefix, e.line), *why = NULL;
		char *colon = e.nul || e.orphan ? NULL : strchr(e.text.s, ':');
		if (e.nul)
			why = al_printf("line %zu: a NUL byte in the entry", e.line);
		else if (e.orphan)
			why = al_printf("line %zu: a continuation line (it starts with a blank) with no alias "
					"before it",
					e.line);
		else if (!colon)
			why = al_printf("line %zu: no ':' after the alias name", e.line);
		if (why) {
			cv_item_add(out, line, al_trim(e.text.s), "", CV_NOT_CONVERTED, why);
			free(why);
			free(line);
			continue;
		}
		*colon = '\0';
		char *name = al_trim(e.text.s), *value = al_trim(colon + 1);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		char *setting = al_printf("%s: %s", prefix, name);
		size_t nlen = strlen(name);
		if (!*name) {
			why = al_printf("line %zu: no alias name before the ':'", e.line);
			cv_item_add(out, line, value, "", CV_NOT_CONVERTED, why);
		} else if (!al_name_ok(name)) {
			why = al_printf("%s has characters qmail cannot use in ~alias/.qmail-NAME "
					"(only a-z 0-9 . _ + = -)",
					name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else if (al_seen(&seen, name)) {
			why = al_printf("a second entry for %s: the first is used", name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else if (strcmp(name, "default") == 0 ||
			   (nlen > 8 && strcmp(name + nlen - 8, "-default") == 0)) {
			why = al_printf("~alias/.qmail-%s would catch every address that has no alias of its "
					"own: write it by hand if that is meant",
					name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else {
			al_alias(out, setting, name, value);
		}
		free(why);
		free(setting);
		free(line);
	}
	for (size_t i = 0; i < seen.n; i++)
		free(seen.v[i]);
	free(seen.v);
	free(e.text.s);
	return 0;
}
