/*
 * util.c - the helpers the converters share (util.h, internal to
 * convert/): one copy of each, for aliases.c, postfix.c, sendmail.c and
 * exim.c. Allocation failure aborts.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/util.h"

void *cvu_alloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *cvu_dup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	return memcpy(cvu_alloc(NULL, n), s, n);
}

char *cvu_ndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		abort();
	return d;
}

char *cvu_printf(const char *fmt, ...)
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

char *cvu_trim_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

char *cvu_trim_space(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

char *cvu_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *cvu_colons(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '.')
			*p = ':';
	return s;
}

void cvu_buf_add(struct cvu_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->s = cvu_alloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

void cvu_buf_adds(struct cvu_buf *b, const char *s)
{
	cvu_buf_add(b, s, strlen(s));
}

/* FNV-1a of S. */
static size_t cvu_hash(const char *str)
{
	size_t h = (size_t)1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)str; *p; p++)
		h = (h ^ *p) * (size_t)1099511628211ULL;
	return h;
}

/* The slot where STR is, or the free one where it would go. */
static size_t cvu_slot_of(const struct cvu_set *s, const char *str)
{
	size_t mask = s->nslot - 1, i = cvu_hash(str) & mask;
	while (s->slot[i] && strcmp(s->v[s->slot[i] - 1], str) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Room for one more, the index at most half full. */
static void cvu_set_grow(struct cvu_set *s)
{
	if (s->n + 1 > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = cvu_alloc(s->v, s->cap * sizeof(*s->v));
	}
	if (2 * (s->n + 1) <= s->nslot)
		return;
	free(s->slot);
	s->nslot = s->nslot ? 2 * s->nslot : 16;
	s->slot = cvu_alloc(NULL, s->nslot * sizeof(*s->slot));
	memset(s->slot, 0, s->nslot * sizeof(*s->slot));
	for (size_t k = 0; k < s->n; k++)
		s->slot[cvu_slot_of(s, s->v[k])] = k + 1;
}

bool cvu_set_take(struct cvu_set *s, char *str)
{
	if (cvu_set_has(s, str)) {
		free(str);
		return false;
	}
	cvu_set_grow(s);
	s->v[s->n++] = str;
	s->slot[cvu_slot_of(s, str)] = s->n;
	return true;
}

bool cvu_set_add(struct cvu_set *s, const char *str)
{
	return cvu_set_has(s, str) ? false : cvu_set_take(s, cvu_dup(str));
}

bool cvu_set_has(const struct cvu_set *s, const char *str)
{
	return cvu_set_find(s, str) != 0;
}

size_t cvu_set_find(const struct cvu_set *s, const char *str)
{
	return s->nslot ? s->slot[cvu_slot_of(s, str)] : 0;
}

void cvu_set_free(struct cvu_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->slot);
	*s = (struct cvu_set){ 0 };
}

void cvu_strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

bool cvu_domain_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return false;
	const char *last = strrchr(s, '.') ? strrchr(s, '.') + 1 : s;
	if (strspn(last, "0123456789") == strlen(last))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.')
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

bool cvu_local_ok(const char *s)
{
	if (!*s || strlen(s) > 200)
		return false;
	for (const char *p = s; *p; p++)
		if (!isgraph((unsigned char)*p) || strchr("/@*%", *p))
			return false;
	return true;
}

bool cvu_qmail_name_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._+=-", *p))
			return false;
	return *s != '\0';
}

char *cvu_tcprules_addr(const unsigned o[4], unsigned len)
{
	if (len == 8)
		return cvu_printf("%u.", o[0]);
	if (len == 16)
		return cvu_printf("%u.%u.", o[0], o[1]);
	if (len == 24)
		return cvu_printf("%u.%u.%u.", o[0], o[1], o[2]);
	if (len == 32)
		return cvu_printf("%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
	if (len >= 25 && len < 32) {
		unsigned size = 1u << (32 - len), lo = o[3] & ~(size - 1);
		return cvu_printf("%u.%u.%u.%u-%u", o[0], o[1], o[2], lo, lo + size - 1);
	}
	return NULL;
}

bool cvu_has_line(const struct cv_result *r, const char *name, const char *line)
{
	const struct cv_file *f = cv_file_find(r, name);
	return f && f->lines && cvu_set_has(f->lines, line);
}

void cvu_line_once(struct cv_result *r, const char *name, const char *line)
{
	if (!cvu_has_line(r, name, line))
		cv_file_line(r, name, line);
}

/* qsort's comparison of two strings, in the C locale's order. */
static int cvu_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cvu_sort_file(struct cv_result *r, const char *name)
{
	struct cv_file *f = (struct cv_file *)cv_file_find(r, name);
	if (!f)
		return;
	size_t n = 0;
	char **v = NULL;
	for (char *p = f->text; *p;) {
		char *nl = strchr(p, '\n');
		v = cvu_alloc(v, (n + 1) * sizeof(*v));
		v[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cvu_cmp);
	struct cvu_buf b = { 0 };
	cvu_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		cvu_buf_adds(&b, v[i]);
		cvu_buf_add(&b, "\n", 1);
	}
	free(v);
	free(f->text);
	f->text = b.s;
	f->len = b.n;	/* the same lines, each once: its index stays true */
}

void cvu_nul_item(struct cv_result *r, const char *table, const char *line)
{
	char *s = cvu_printf("%s: %s", table, line);
	cv_item_add(r, s, line, NULL, CV_NOT_CONVERTED, "the line holds a NUL byte: fix the file and migrate again");
	free(s);
}

void cvu_lines_open(struct cvu_lines *l, const struct cv_input *in)
{
	l->len = in->len;
	l->pos = 0;
	l->buf = cvu_alloc(NULL, in->len + 1);
	if (in->len)
		memcpy(l->buf, in->text, in->len);
	l->buf[in->len] = '\0';
}

char *cvu_lines_next(struct cvu_lines *l, bool *nul)
{
	if (l->pos >= l->len)
		return NULL;
	char *line = l->buf + l->pos, *e = memchr(line, '\n', l->len - l->pos);
	size_t n = e ? (size_t)(e - line) : l->len - l->pos;
	line[n] = '\0';
	*nul = memchr(line, '\0', n) != NULL;
	l->pos += n + 1;
	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	return line;
}

void cvu_lines_close(struct cvu_lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

struct cvu_logical *cvu_logical_lines(const char *text, size_t len, size_t *count)
{
	struct cvu_logical *v = NULL;
	struct cvu_buf b = { 0 };
	size_t n = 0, pos = 0, lineno = 0;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos, i = 0;
		pos = nl ? pos + l + 1 : len;
		lineno++;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		while (i < l && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == l || s[i] == '#')
			continue;
		if (i == 0 || n == 0) {
			if (n > 0) {
				v[n - 1].text = b.s;
				b = (struct cvu_buf){ 0 };
			}
			v = cvu_alloc(v, (n + 1) * sizeof(*v));
			v[n++] = (struct cvu_logical){ .line = lineno, .orphan = i > 0 };
			cvu_buf_add(&b, "", 0);
		} else {
			cvu_buf_add(&b, " ", 1);
		}
		if (memchr(s, '\0', l))
			v[n - 1].nul = true;
		cvu_buf_add(&b, s, l);
	}
	if (n > 0)
		v[n - 1].text = b.s;
	*count = n;
	return v;
}

void cvu_logical_free(struct cvu_logical *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}
