/*
 * pwfile.c - the mail-only password file (poppasswd): parse, edit,
 * serialize, keeping every byte of the lines not edited; the login rule;
 * the "#cram-md5:" line after an entry (its secret: cram.c); hashing and
 * checking passwords with libxcrypt.
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
	if (l->cram)
		explicit_bzero(l->cram, strlen(l->cram));
	if (l->comp_secret)
		explicit_bzero(l->comp_secret, strlen(l->comp_secret));
	free(l->cram);
	free(l->comp_login);
	free(l->comp_tag);
	free(l->comp_secret);
	l->login = l->hash = l->owner = l->home = l->first = NULL;
	l->cram = l->comp_login = l->comp_tag = l->comp_secret = NULL;
	l->entry = false;
}

/* A login's characters: a-z 0-9 . _ - (its first one checked by the
 * callers where it matters). */
static bool login_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* "#cram-md5:LOGIN:TAG:SECRET" (P, LEN bytes, no terminator): L's comp_
 * fields; anything else leaves them NULL (a comment). */
static void classify_cram(struct qi_popline *l, const char *p, size_t len)
{
	size_t plen = strlen(QI_CRAM_PREFIX), tail = 1 + QI_CRAM_TAG_HEX + 1 + QI_CRAM_SECRET_HEX;
	if (len <= plen + tail || memcmp(p, QI_CRAM_PREFIX, plen) != 0)
		return;
	const char *login = p + plen, *tag = p + len - tail + 1;
	size_t n = (size_t)(tag - 1 - login);
	if (n > QI_POP_NAME_MAX || !login_chars(login, n) || tag[-1] != ':' ||
	    tag[QI_CRAM_TAG_HEX] != ':')
		return;
	char *t = strndup(tag, QI_CRAM_TAG_HEX), *s = strndup(tag + QI_CRAM_TAG_HEX + 1,
							       QI_CRAM_SECRET_HEX);
	if (!t || !s)
		abort();
	bool ok = qi_is_hex(t, QI_CRAM_TAG_HEX) && qi_is_hex(s, QI_CRAM_SECRET_HEX);
	for (size_t i = 0; ok && t[i]; i++)
		ok = !(t[i] >= 'A' && t[i] <= 'F');
	if (!ok) {
		free(t);
		free(s);
		return;
	}
	l->comp_login = strndup(login, n);
	if (!l->comp_login)
		abort();
	l->comp_tag = t;
	l->comp_secret = s;
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
	if (*p == '#')
		classify_cram(l, p, len);
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
		  f[3][0] == '/' && login_chars(f[0], strlen(f[0]));
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

/* ENTRY's secret from NEXT, the line after it, when that is a
 * "#cram-md5:" line of the same login whose tag is ENTRY's hash's. */
static void pair(struct qi_popline *entry, const struct qi_popline *next)
{
	free(entry->cram);
	entry->cram = NULL;
	if (!entry->entry || !next->comp_login || strcmp(next->comp_login, entry->login) != 0)
		return;
	/* A system password or a locked one never has a secret. */
	const char *hash = entry->hash;
	if (strcmp(hash, QI_POP_SYSTEM) == 0 || hash[0] == '!' || hash[0] == '*')
		return;
	char tag[QI_CRAM_TAG_HEX + 1];
	qi_cram_tag(entry->hash, tag);
	if (tag[0] && strcmp(tag, next->comp_tag) == 0)
		entry->cram = qi_xstrdup(next->comp_secret);
}

/* OUT: the line DATA[POS, END) copied and classified. */
static void take_line(const char *data, size_t pos, size_t end, struct qi_popline *out)
{
	out->rawlen = end - pos;
	out->raw = qi_xmalloc(out->rawlen + 1);
	memcpy(out->raw, data + pos, out->rawlen);
	out->raw[out->rawlen] = '\0';
	classify(out);
}

static size_t line_end(const char *data, size_t pos, size_t len)
{
	const char *nl = memchr(data + pos, '\n', len - pos);
	return nl ? (size_t)(nl - data) + 1 : len;
}

void qi_popdb_parse(struct qi_popdb *db, const char *data, size_t len)
{
	memset(db, 0, sizeof(*db));
	size_t pos = 0;
	while (pos < len) {
		size_t end = line_end(data, pos, len);
		take_line(data, pos, end, new_line(db));
		pos = end;
	}
	for (size_t i = 0; i + 1 < db->n; i++)
		pair(&db->lines[i], &db->lines[i + 1]);
}

bool qi_popdb_lookup(const char *data, size_t len, const char *login, struct qi_popline *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = strlen(login), pos = 0;
	while (pos < len) {
		size_t end = line_end(data, pos, len);
		/* Only a line that starts "LOGIN:" can be its entry. */
		if (end - pos > n && memcmp(data + pos, login, n) == 0 && data[pos + n] == ':') {
			take_line(data, pos, end, out);
			if (out->entry && strcmp(out->login, login) == 0) {
				if (end < len) {
					struct qi_popline next = { 0 };
					take_line(data, end, line_end(data, end, len), &next);
					pair(out, &next);
					qi_popline_clear(&next);
				}
				return true;
			}
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
		if (db->lines[i].raw)	/* hashes and CRAM-MD5 secrets */
			explicit_bzero(db->lines[i].raw, db->lines[i].rawlen);
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

/* Drop line AT. */
static void drop_line(struct qi_popdb *db, size_t at)
{
	struct qi_popline *l = &db->lines[at];
	clear_fields(l);
	explicit_bzero(l->raw, l->rawlen);
	free(l->raw);
	memmove(db->lines + at, db->lines + at + 1, (db->n - at - 1) * sizeof(*db->lines));
	db->n--;
}

/* Drop every "#cram-md5:LOGIN:" line (an entry has a secret only when
 * one follows it). */
static void drop_cram_lines(struct qi_popdb *db, const char *login)
{
	bool dropped = false;
	for (size_t i = db->n; i-- > 0;)
		if (db->lines[i].comp_login && strcmp(db->lines[i].comp_login, login) == 0) {
			drop_line(db, i);
			dropped = true;
		}
	for (size_t i = 0; dropped && i < db->n; i++)
		if (db->lines[i].entry && strcmp(db->lines[i].login, login) == 0) {
			free(db->lines[i].cram);
			db->lines[i].cram = NULL;
		}
}

/* L's own terminator: "\r\n", "\n", or "" (a last line without one). */
static const char *terminator(const struct qi_popline *l)
{
	size_t n = l->rawlen;
	return n >= 2 && l->raw[n - 2] == '\r' ? "\r\n" : n && l->raw[n - 1] == '\n' ? "\n" : "";
}

/* L's bytes replaced by RAW (malloc'd), L classified again. */
static void set_raw(struct qi_popline *l, char *raw)
{
	if (l->raw)
		explicit_bzero(l->raw, l->rawlen);
	free(l->raw);
	clear_fields(l);
	l->raw = raw;
	l->rawlen = strlen(raw);
	classify(l);
}

void qi_popdb_set(struct qi_popdb *db, const char *login, const char *hash, const char *owner,
		  const char *home)
{
	drop_cram_lines(db, login);
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
	const char *term = l->raw ? terminator(l) : "\n";
	set_raw(l, qi_xasprintf("%s:%s:%s:%s%s", login, hash, owner, home, term));
}

void qi_popdb_set_cram(struct qi_popdb *db, const char *login, const char *secret)
{
	drop_cram_lines(db, login);
	struct qi_popline *l = find(db, login, false);
	if (!l || !secret)
		return;
	const char *term = terminator(l);
	if (!*term) {
		term = "\n";
		set_raw(l, qi_xasprintf("%s\n", l->raw));
	}
	char tag[QI_CRAM_TAG_HEX + 1];
	qi_cram_tag(l->hash, tag);
	size_t at = (size_t)(l - db->lines) + 1;
	new_line(db);
	memmove(db->lines + at + 1, db->lines + at, (db->n - at - 1) * sizeof(*db->lines));
	memset(&db->lines[at], 0, sizeof(db->lines[at]));
	set_raw(&db->lines[at], qi_xasprintf(QI_CRAM_PREFIX "%s:%s:%s%s", login, tag, secret, term));
	pair(&db->lines[at - 1], &db->lines[at]);
}

bool qi_popdb_remove(struct qi_popdb *db, const char *login)
{
	struct qi_popline *l = find(db, login, false);
	if (!l)
		return false;
	drop_line(db, (size_t)(l - db->lines));
	drop_cram_lines(db, login);
	return true;
}

bool qi_checkpw_split(const char *buf, size_t len, struct qi_checkpw_input *in)
{
	memset(in, 0, sizeof(*in));
	size_t l1 = strnlen(buf, len);
	if (l1 == len)
		return false;
	const char *pw = buf + l1 + 1;
	size_t l2 = strnlen(pw, len - l1 - 1);
	if (l2 == len - l1 - 1)
		return false;
	in->login = buf;
	in->secret = pw;
	in->secretlen = l2;
	in->rest = pw + l2 + 1;	/* BUF[LEN] is a NUL: at worst "" */
	in->cram = qi_is_hex(in->rest, 32);
	size_t lr = strlen(in->rest);
	in->cram_swapped = !in->cram && l2 == 32 && qi_is_hex(pw, 32) && lr > 2 && in->rest[0] == '<' &&
			   in->rest[lr - 1] == '>';
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
