/*
 * pwfile.c - the mail-only password file (poppasswd): parse, edit,
 * serialize, keeping every byte of the lines not edited; the login rule;
 * hashing and checking passwords with libxcrypt.
 */
#include "config.h"

#include <crypt.h>
#include <string.h>
#include <stdlib.h>

#include "core/core.h"
#include "mailusers/pwfile.h"

static struct qi_popline *new_line(struct qi_popdb *db)
{
	if (db->n == db->cap) {
		db->cap = db->cap ? db->cap * 2 : 16;
		db->lines = qi_xrealloc(db->lines, db->cap * sizeof(*db->lines));
	}
	struct qi_popline *l = &db->lines[db->n++];
	memset(l, 0, sizeof(*l));
	return l;
}

static void clear_fields(struct qi_popline *l)
{
	free(l->login);
	free(l->hash);
	free(l->owner);
	free(l->home);
	free(l->first);
	l->login = l->hash = l->owner = l->home = l->first = NULL;
	l->entry = false;
}

/* Interpret L->raw: an entry has four fields, a valid login, a hash, an
 * owner and an absolute home, and no NUL byte. */
static void classify(struct qi_popline *l)
{
	size_t len = l->rawlen;
	if (len && l->raw[len - 1] == '\n')
		len--;
	if (len && l->raw[len - 1] == '\r')
		len--;
	if (memchr(l->raw, '\0', len))
		return;
	const char *p = l->raw, *end = l->raw + len;
	const char *colon = memchr(p, ':', len);
	if (!colon || *p == '#')
		return;
	l->first = strndup(p, (size_t)(colon - p));
	char *f[4];
	size_t n = 0;
	const char *s = p;
	for (;;) {
		const char *c = memchr(s, ':', (size_t)(end - s));
		const char *e = c ? c : end;
		if (n == 4) {
			n++;
			break;
		}
		f[n++] = strndup(s, (size_t)(e - s));
		if (!c)
			break;
		s = c + 1;
	}
	if (!l->first)
		abort();
	bool ok = n == 4 && f[0][0] && strlen(f[0]) <= QI_POP_NAME_MAX && f[1][0] && f[2][0] &&
		  f[3][0] == '/';
	for (size_t i = 0; ok && f[0][i]; i++) {
		char c = f[0][i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			ok = false;
	}
	size_t kept = n > 4 ? 4 : n;
	if (!ok) {
		for (size_t i = 0; i < kept; i++)
			free(f[i]);
		return;
	}
	l->entry = true;
	l->login = f[0];
	l->hash = f[1];
	l->owner = f[2];
	l->home = f[3];
}

void qi_popdb_parse(struct qi_popdb *db, const char *data, size_t len)
{
	memset(db, 0, sizeof(*db));
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		struct qi_popline *l = new_line(db);
		l->rawlen = end - pos;
		l->raw = qi_xmalloc(l->rawlen + 1);
		memcpy(l->raw, data + pos, l->rawlen);
		l->raw[l->rawlen] = '\0';
		classify(l);
		pos = end;
	}
}

bool qi_popdb_lookup(const char *data, size_t len, const char *login, struct qi_popline *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = strlen(login), pos = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		/* Only a line that starts "LOGIN:" can be its entry. */
		if (end - pos > n && memcmp(data + pos, login, n) == 0 && data[pos + n] == ':') {
			out->rawlen = end - pos;
			out->raw = qi_xmalloc(out->rawlen + 1);
			memcpy(out->raw, data + pos, out->rawlen);
			out->raw[out->rawlen] = '\0';
			classify(out);
			if (out->entry && strcmp(out->login, login) == 0)
				return true;
			qi_popline_clear(out);
		}
		pos = end;
	}
	return false;
}

void qi_popline_clear(struct qi_popline *l)
{
	clear_fields(l);
	if (l->raw)
		explicit_bzero(l->raw, l->rawlen);
	free(l->raw);
	memset(l, 0, sizeof(*l));
}

void qi_popdb_free(struct qi_popdb *db)
{
	for (size_t i = 0; i < db->n; i++) {
		clear_fields(&db->lines[i]);
		free(db->lines[i].raw);
	}
	free(db->lines);
	memset(db, 0, sizeof(*db));
}

char *qi_popdb_serialize(const struct qi_popdb *db, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < db->n; i++)
		total += db->lines[i].rawlen;
	char *out = qi_xmalloc(total + 1), *p = out;
	for (size_t i = 0; i < db->n; i++) {
		memcpy(p, db->lines[i].raw, db->lines[i].rawlen);
		p += db->lines[i].rawlen;
	}
	*p = '\0';
	*len = total;
	return out;
}

static struct qi_popline *find(const struct qi_popdb *db, const char *login, bool any)
{
	for (size_t i = 0; i < db->n; i++) {
		struct qi_popline *l = &db->lines[i];
		if (any ? l->first && strcmp(l->first, login) == 0
			: l->entry && strcmp(l->login, login) == 0)
			return l;
	}
	return NULL;
}

const struct qi_popline *qi_popdb_find(const struct qi_popdb *db, const char *login)
{
	return find(db, login, false);
}

const struct qi_popline *qi_popdb_find_any(const struct qi_popdb *db, const char *login)
{
	return find(db, login, true);
}

void qi_popdb_set(struct qi_popdb *db, const char *login, const char *hash, const char *owner,
		  const char *home)
{
	struct qi_popline *l = find(db, login, false);
	if (!l) {
		if (db->n) {
			struct qi_popline *last = &db->lines[db->n - 1];
			if (last->rawlen && last->raw[last->rawlen - 1] != '\n') {
				last->raw = qi_xrealloc(last->raw, last->rawlen + 2);
				last->raw[last->rawlen++] = '\n';
				last->raw[last->rawlen] = '\0';
			}
		}
		l = new_line(db);
	}
	/* A replaced line keeps its own terminator (a CRLF file stays one). */
	const char *term = "\n";
	if (l->raw) {
		size_t n = l->rawlen;
		term = n >= 2 && l->raw[n - 2] == '\r' ? "\r\n" : n && l->raw[n - 1] == '\n' ? "\n" : "";
	}
	char *raw = qi_xasprintf("%s:%s:%s:%s%s", login, hash, owner, home, term);
	free(l->raw);
	clear_fields(l);
	l->raw = raw;
	l->rawlen = strlen(raw);
	classify(l);
}

bool qi_popdb_remove(struct qi_popdb *db, const char *login)
{
	struct qi_popline *l = find(db, login, false);
	if (!l)
		return false;
	clear_fields(l);
	free(l->raw);
	size_t at = (size_t)(l - db->lines);
	memmove(db->lines + at, db->lines + at + 1, (db->n - at - 1) * sizeof(*db->lines));
	db->n--;
	return true;
}

int qi_mailuser_name_check(qi_handle *h, const char *name)
{
	const char *why = NULL;
	if (!*name)
		why = "it is empty";
	else if (strchr(name, '/'))
		why = "it holds a '/'";
	else if (strchr(name, ':'))
		why = "it holds a ':'";
	else if (strchr(name, '\n') || strchr(name, '\r'))
		why = "it holds a newline";
	else if (strlen(name) > QI_POP_NAME_MAX)
		why = "it is longer than 32 characters";
	else if (name[0] == '.' || name[0] == '-')
		why = "it starts with '.' or '-'";
	else
		for (const char *p = name; *p && !why; p++)
			if (*p >= 'A' && *p <= 'Z')
				why = "it holds upper case (qmail folds addresses to lower case)";
			else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
				   *p == '_' || *p == '-'))
				why = "it holds a character other than a-z, 0-9, '.', '_' and '-'";
	if (why)
		return qi_error_kind(h, QI_ERR_USAGE, "the mail user name '%s' is refused: %s; "
				     "give 1 to 32 of a-z, 0-9, '.', '_', '-'", name, why);
	return 0;
}

bool qi_pop_verify(const char *password, const char *hash, bool *trouble)
{
	if (trouble)
		*trouble = false;
	if (!hash[0] || hash[0] == '*' || hash[0] == '!' || strcmp(hash, QI_POP_SYSTEM) == 0)
		return false;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd) {
		if (trouble)
			*trouble = true;
		return false;
	}
	bool ok = false;
	char *out = crypt_rn(password, hash, cd, sizeof(*cd));
	/* libxcrypt says EINVAL for every failure: a hash whose setting it
	 * accepts, yet that it could not compute, failed for want of memory. */
	if (!out && trouble) {
		int cs = crypt_checksalt(hash);
		*trouble = cs != CRYPT_SALT_INVALID && cs != CRYPT_SALT_METHOD_DISABLED;
	}
	if (out && out[0] != '*') {
		size_t a = strlen(out), b = strlen(hash);
		unsigned char diff = a != b;
		size_t n = a < b ? a : b;
		for (size_t i = 0; i < n; i++)
			diff |= (unsigned char)(out[i] ^ hash[i]);
		ok = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int qi_pop_hash(qi_handle *h, const char *password, char **hash)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		return qi_error_errno(h, "cannot make a yescrypt salt (libxcrypt's crypt_gensalt_rn)");
	struct crypt_data *cd = qi_xmalloc(sizeof(*cd));
	memset(cd, 0, sizeof(*cd));
	char *out = crypt_rn(password, salt, cd, sizeof(*cd));
	int rc = 0;
	if (!out || out[0] == '*')
		rc = qi_error_errno(h, "cannot hash the password with yescrypt (libxcrypt's crypt_rn)");
	else
		*hash = qi_xstrdup(out);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}
