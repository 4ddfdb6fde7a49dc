/*
 * assign.c - qmail's users/assign (qmail-users(5)): NAME's two lines
 * edited in, or out, every other line kept; and users/cdb compiled from
 * it the way qmail-newu(8) compiles it, so that both files go through the
 * journal (a rollback gives them back) and ROOT needs no qmail-newu run.
 *
 * The cdb format (D. J. Bernstein's constant database): 256 pairs of
 * little-endian 32-bit words (position, slots) of the hash tables; the
 * records (key length, data length, key, data); then the tables, each
 * twice as many slots as it has keys, a slot being (hash, position).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/core.h"
#include "mailusers/pwfile.h"

/* Whether LINE (LEN bytes, without its newline) is one of NAME's. */
static bool is_names_line(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (len < n + 2)
		return false;
	if (line[0] == '=' && memcmp(line + 1, name, n) == 0 && line[n + 1] == ':')
		return true;
	return len >= n + 3 && line[0] == '+' && memcmp(line + 1, name, n) == 0 &&
	       line[n + 1] == '-' && line[n + 2] == ':';
}

char *qi_assign_edit(const char *assign, size_t len, const char *name, bool add,
		     const char *owner, long long uid, long long gid, const char *home,
		     size_t *outlen)
{
	struct qi_buf b = { 0 };
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(assign + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - assign) + 1 : len;
		size_t ll = (nl ? end - 1 : end) - pos;
		const char *line = assign + pos;
		pos = end;
		if (ll && line[0] == '.')
			break;	/* qmail-newu reads nothing after it */
		if (is_names_line(line, ll, name))
			continue;
		qi_buf_add(&b, line, ll);
		qi_buf_add(&b, "\n", 1);
	}
	if (add)
		qi_buf_addf(&b, "=%s:%s:%lld:%lld:%s:::\n+%s-:%s:%lld:%lld:%s:-::\n", name, owner, uid,
			    gid, home, name, owner, uid, gid, home);
	qi_buf_add(&b, ".\n", 2);
	*outlen = b.len;
	return b.data;
}

static uint32_t cdb_hash(const char *s, size_t n)
{
	uint32_t h = 5381;
	for (size_t i = 0; i < n; i++)
		h = ((h << 5) + h) ^ (unsigned char)s[i];
	return h;
}


static void le32(unsigned char *c, uint32_t v)
{
	c[0] = v & 0xff;
	c[1] = (v >> 8) & 0xff;
	c[2] = (v >> 16) & 0xff;
	c[3] = v >> 24;
}

static void put32(struct qi_buf *b, uint32_t v)
{
	unsigned char c[4];
	le32(c, v);
	qi_buf_add(b, c, 4);
}

void qi_cdb_start(struct qi_cdb_make *m)
{
	static const char header[2048];
	memset(m, 0, sizeof(*m));
	qi_buf_add(&m->out, header, sizeof(header));
}

void qi_cdb_add(struct qi_cdb_make *m, const char *key, size_t klen, const char *data, size_t dlen)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->recs = qi_xrealloc(m->recs, m->cap * sizeof(*m->recs));
	}
	m->recs[m->n].hash = cdb_hash(key, klen);
	m->recs[m->n].pos = (uint32_t)m->out.len;
	m->n++;
	put32(&m->out, (uint32_t)klen);
	put32(&m->out, (uint32_t)dlen);
	qi_buf_add(&m->out, key, klen);
	qi_buf_add(&m->out, data, dlen);
}

/* The header and the hash tables, after the records. */
void qi_cdb_finish(struct qi_cdb_make *m)
{
	uint32_t count[256] = { 0 }, start[256], tpos[256];
	for (size_t i = 0; i < m->n; i++)
		count[m->recs[i].hash & 255]++;
	struct qi_cdb_rec *slots = qi_xmalloc((2 * m->n + 1) * sizeof(*slots));
	for (int t = 0; t < 256; t++) {
		uint32_t len = 2 * count[t];
		start[t] = len;
		tpos[t] = (uint32_t)m->out.len;
		memset(slots, 0, (len + 1) * sizeof(*slots));
		for (size_t i = 0; i < m->n; i++) {
			if ((m->recs[i].hash & 255) != (uint32_t)t)
				continue;
			uint32_t w = (m->recs[i].hash >> 8) % len;
			while (slots[w].pos)
				w = (w + 1) % len;
			slots[w] = m->recs[i];
		}
		for (uint32_t w = 0; w < len; w++) {
			put32(&m->out, slots[w].hash);
			put32(&m->out, slots[w].pos);
		}
	}
	free(slots);
	for (int t = 0; t < 256; t++) {
		le32((unsigned char *)m->out.data + t * 8, tpos[t]);
		le32((unsigned char *)m->out.data + t * 8 + 4, start[t]);
	}
	free(m->recs);
	m->recs = NULL;
}

/* One assign line into M (and its wildcard character into WILD). */
static int add_line(qi_handle *h, struct qi_cdb_make *m, struct qi_buf *wild, const char *line,
		    size_t ll, size_t lineno)
{
	const char *colon = memchr(line, ':', ll);
	if ((line[0] != '=' && line[0] != '+') || !colon || colon == line + 1 ||
	    memchr(line, '\0', ll))
		return qi_error(h, "users/assign line %zu is not an assignment of qmail-users(5) "
				"(=local:... or +prefix:...): fix or remove it", lineno);
	size_t i = (size_t)(colon - line);
	struct qi_buf key = { 0 };
	qi_buf_add(&key, "!", 1);
	qi_buf_add(&key, line + 1, i - 1);
	if (line[0] == '+') {
		char c = line[i - 1];
		if (i >= 2 && !memchr(wild->data ? wild->data : "", c, wild->len))
			qi_buf_add(wild, &c, 1);
	} else {
		qi_buf_add(&key, "", 1);
	}
	for (size_t k = 0; k < key.len; k++)
		if (key.data[k] >= 'A' && key.data[k] <= 'Z')
			key.data[k] += 'a' - 'A';
	char *data = qi_xmalloc(ll - i);
	memcpy(data, colon + 1, ll - i - 1);
	size_t dlen = ll - i - 1, colons = 0, k;
	for (k = 0; k < dlen; k++)
		if (data[k] == ':') {
			data[k] = '\0';
			if (++colons == 6)
				break;
		}
	int rc = 0;
	if (colons < 6)
		rc = qi_error(h, "users/assign line %zu has fewer than the seven fields of "
			      "qmail-users(5): fix or remove it", lineno);
	else
		qi_cdb_add(m, key.data, key.len, data, k);
	free(data);
	qi_buf_free(&key);
	return rc;
}

int qi_assign_cdb(qi_handle *h, const char *assign, size_t len, char **cdb, size_t *cdblen)
{
	struct qi_cdb_make m;
	struct qi_buf wild = { 0 };
	qi_cdb_start(&m);
	size_t pos = 0, lineno = 0;
	bool dot = false;
	int rc = 0;
	while (pos < len && rc == 0) {
		const char *nl = memchr(assign + pos, '\n', len - pos);
		const char *line = assign + pos;
		lineno++;
		if (line[0] == '.') {
			dot = true;
			break;
		}
		if (!nl) {
			rc = qi_error(h, "users/assign line %zu has no newline", lineno);
			break;
		}
		size_t ll = (size_t)(nl - line);
		pos += ll + 1;
		rc = add_line(h, &m, &wild, line, ll, lineno);
	}
	if (rc == 0 && !dot)
		rc = qi_error(h, "users/assign does not end with a '.' line (qmail-users(5))");
	if (rc == 0) {
		qi_cdb_add(&m, "", 0, wild.data ? wild.data : "", wild.len);
		qi_cdb_finish(&m);
		*cdb = m.out.data;
		*cdblen = m.out.len;
	} else {
		qi_buf_free(&m.out);
	}
	free(m.recs);
	qi_buf_free(&wild);
	return rc;
}
