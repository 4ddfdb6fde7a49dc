/*
 * passwd.c - read and edit passwd, group, shadow and gshadow files in
 * memory, keeping every line that is not touched byte for byte.
 *
 * Parsing follows what glibc's files backend sees: leading blanks are
 * skipped, "#" lines and blank lines are comments, "+"/"-" lines belong
 * to NIS compat mode. A line that does not have the kind's field count or
 * numeric ids is kept as a malformed line (and its first field is still
 * known, so that a second entry of the same name is never added beside it).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <stdlib.h>

#include "core/core.h"
#include "accounts/passwd.h"

static const struct {
	const char *name;
	size_t nfields;
} kinds[] = {
	[QI_PW_PASSWD] = { "passwd", 7 },
	[QI_PW_GROUP] = { "group", 4 },
	[QI_PW_SHADOW] = { "shadow", 9 },
	[QI_PW_GSHADOW] = { "gshadow", 4 },
};

size_t qi_pwkind_nfields(enum qi_pwkind kind) { return kinds[kind].nfields; }
const char *qi_pwkind_name(enum qi_pwkind kind) { return kinds[kind].name; }

/* A uid or gid as the files hold it: decimal digits only, below
 * (uid_t)-1, which means "no id" to the kernel. */
static long long parse_id(const char *s)
{
	long long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v >= 4294967295LL)
			return -1;
	}
	return v;
}

static struct qi_pwline *new_line(struct qi_pwdb *db, size_t at)
{
	if (db->n == db->cap) {
		db->cap = db->cap ? db->cap * 2 : 32;
		db->lines = qi_xrealloc(db->lines, db->cap * sizeof(*db->lines));
	}
	memmove(db->lines + at + 1, db->lines + at, (db->n - at) * sizeof(*db->lines));
	db->n++;
	struct qi_pwline *l = &db->lines[at];
	memset(l, 0, sizeof(*l));
	l->id = l->gid = -1;
	return l;
}

/* Interpret L->raw: its type, fields and ids. */
static void classify(enum qi_pwkind kind, struct qi_pwline *l)
{
	size_t len = l->rawlen;
	if (len && l->raw[len - 1] == '\n')
		len--;
	if (len && l->raw[len - 1] == '\r')
		len--;
	const char *p = l->raw, *end = l->raw + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#') {
		l->type = QI_PWL_COMMENT;
		return;
	}
	if (*p == '+' || *p == '-') {
		l->type = QI_PWL_NIS;
		return;
	}
	l->type = QI_PWL_MALFORMED;
	bool has_nul = memchr(p, '\0', (size_t)(end - p)) != NULL;
	char *copy = qi_xmalloc((size_t)(end - p) + 1);
	memcpy(copy, p, (size_t)(end - p));
	copy[end - p] = '\0';
	/* Split at ':'; a line with too many fields keeps the rest in the last. */
	char *f = copy;
	l->fields[l->nfields++] = f;
	size_t extra = 0;
	while ((f = strchr(f, ':')) != NULL) {
		*f++ = '\0';
		if (l->nfields < QI_PW_MAXFIELDS)
			l->fields[l->nfields++] = f;
		else
			extra++;
	}
	if (has_nul || extra || l->nfields != kinds[kind].nfields || !*l->fields[0])
		return;
	if (kind == QI_PW_PASSWD) {
		l->id = parse_id(l->fields[2]);
		l->gid = parse_id(l->fields[3]);
		if (l->id < 0 || l->gid < 0) {
			l->id = l->gid = -1;
			return;
		}
	} else if (kind == QI_PW_GROUP) {
		l->id = parse_id(l->fields[2]);
		if (l->id < 0)
			return;
	}
	l->type = QI_PWL_ENTRY;
}

void qi_pwdb_parse(struct qi_pwdb *db, enum qi_pwkind kind, const char *data, size_t len)
{
	memset(db, 0, sizeof(*db));
	db->kind = kind;
	size_t off = 0, lineno = 0;
	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		struct qi_pwline *l = new_line(db, db->n);
		l->raw = qi_xmalloc(n + 1);
		memcpy(l->raw, data + off, n);
		l->raw[n] = '\0';
		l->rawlen = n;
		l->lineno = ++lineno;
		classify(kind, l);
		off += n;
	}
}

void qi_pwdb_free(struct qi_pwdb *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->lines[i].raw);
		if (db->lines[i].nfields)
			free(db->lines[i].fields[0]);
	}
	free(db->lines);
	memset(db, 0, sizeof(*db));
}

char *qi_pwdb_serialize(const struct qi_pwdb *db, size_t *len)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	for (size_t i = 0; i < db->n; i++)
		qi_buf_add(&b, db->lines[i].raw, db->lines[i].rawlen);
	*len = b.len;
	return b.data;
}

const struct qi_pwline *qi_pwdb_find_name(const struct qi_pwdb *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (db->lines[i].type == QI_PWL_ENTRY && strcmp(db->lines[i].fields[0], name) == 0)
			return &db->lines[i];
	return NULL;
}

const struct qi_pwline *qi_pwdb_find_any_name(const struct qi_pwdb *db, const char *name)
{
	const struct qi_pwline *l = qi_pwdb_find_name(db, name);
	if (l)
		return l;
	for (size_t i = 0; i < db->n; i++)
		if (db->lines[i].nfields && strcmp(db->lines[i].fields[0], name) == 0)
			return &db->lines[i];
	return NULL;
}

const struct qi_pwline *qi_pwdb_find_id(const struct qi_pwdb *db, long long id)
{
	for (size_t i = 0; i < db->n; i++)
		if (db->lines[i].type == QI_PWL_ENTRY && db->lines[i].id == id)
			return &db->lines[i];
	return NULL;
}

bool qi_pwdb_id_used(const struct qi_pwdb *db, long long id)
{
	return qi_pwdb_find_id(db, id) != NULL;
}

int qi_pwdb_add(qi_handle *h, struct qi_pwdb *db, const char *const *fields)
{
	size_t nf = kinds[db->kind].nfields;
	struct qi_buf b = { 0 };
	for (size_t i = 0; i < nf; i++) {
		if (strpbrk(fields[i], ":\n\r")) {
			qi_buf_free(&b);
			return qi_error(h, "cannot add '%s' to %s: field %zu ('%s') holds ':' or a newline",
					fields[0], kinds[db->kind].name, i + 1, fields[i]);
		}
		if (i)
			qi_buf_add(&b, ":", 1);
		qi_buf_add(&b, fields[i], strlen(fields[i]));
	}
	qi_buf_add(&b, "\n", 1);
	if (!*fields[0] || qi_pwdb_find_any_name(db, fields[0])) {
		qi_buf_free(&b);
		return qi_error(h, "cannot add '%s' to %s: %s", fields[0], kinds[db->kind].name,
				*fields[0] ? "a line of that name is already there" : "the name is empty");
	}

	size_t at = db->n;
	for (size_t i = 0; i < db->n; i++)
		if (db->lines[i].type == QI_PWL_NIS) {
			at = i;
			break;
		}
	if (at == db->n && at > 0) {
		struct qi_pwline *last = &db->lines[at - 1];
		if (last->raw[last->rawlen - 1] != '\n') {
			last->raw = qi_xrealloc(last->raw, last->rawlen + 2);
			last->raw[last->rawlen++] = '\n';
			last->raw[last->rawlen] = '\0';
		}
	}
	struct qi_pwline *l = new_line(db, at);
	l->raw = b.data;
	l->rawlen = b.len;
	classify(db->kind, l);
	db->changed = true;
	return 0;
}
