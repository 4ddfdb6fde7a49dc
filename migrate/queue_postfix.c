/*
 * queue_postfix.c - Postfix's queue, read for `qinstall migrate`.
 *
 * A Postfix queue file is a sequence of records: a type byte, the data's
 * length in base 128 (low seven bits first, the high bit set on every
 * byte but the last), then the data. Three segments follow each other:
 * the envelope (sender 'S', recipients 'R', delivered ones 'D' and '/'),
 * up to 'M'; the message content in text records ('N' ends a line, 'L'
 * is a piece of a longer one that the next record continues), up to 'X';
 * the recipients extracted from the header (sendmail -t), up to 'E'.
 * Edits made after a record was written are spliced in with pointer
 * records 'p': their data is the offset the reading goes on at ("0" for
 * a placeholder). The queue manager marks a recipient delivered by
 * changing its type in place, so 'R' is what remains to be done.
 *
 * mq_postfix_parse reads one file's bytes; the content it gives is what
 * `postcat -bh` prints (postcat's own reading: text records from where
 * the size record 'C' says, up to 'X'), except that a last line left
 * open (an 'L' just before 'X') gets its line feed, which postcat writes
 * but never flushes. mq_postfix_scan lists the queues under a spool
 * (hashed subdirectories or flat) with each message's logs (defer/,
 * bounce/, trace/); mq_postfix_read reads one listed message inside ROOT.
 * Nothing here writes into ROOT.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/migrate.h"

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

/* The reading of one file: where it is, which record, and the pointer
 * records already followed (a bit per offset: each is followed once, so
 * a pointer loop ends in an error). */
struct pf_cursor {
	const unsigned char *data;
	size_t len, pos;
	unsigned recno;
	unsigned char *followed;
};

struct pf_rec {
	int type;
	size_t off;		/* offset of the type byte */
	const unsigned char *data;
	size_t len;
};

static int pf_rec_error(qi_handle *h, const struct pf_cursor *c, size_t off, const char *what)
{
	return qi_error(h, "record %u at offset %zu: %s", c->recno, off, what);
}

/* One raw record at the cursor: 1, 0 at the end of the file, -1. */
static int pf_get_raw(qi_handle *h, struct pf_cursor *c, struct pf_rec *r)
{
	if (c->pos >= c->len)
		return 0;
	c->recno++;
	r->off = c->pos;
	r->type = c->data[c->pos++];
	size_t len = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (shift > 21)
			return pf_rec_error(h, c, r->off, "its length has too many bytes");
		if (c->pos >= c->len)
			return pf_rec_error(h, c, r->off, "the file ends inside its length");
		unsigned char b = c->data[c->pos++];
		len |= (size_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	if (len > c->len - c->pos)
		return pf_rec_error(h, c, r->off, "length runs past the end of the file");
	r->data = c->data + c->pos;
	r->len = len;
	c->pos += len;
	return 1;
}

/* Follow the pointer record R: its data is a decimal offset, leading
 * blanks allowed; 0 is a placeholder that leads nowhere. */
static int pf_follow(qi_handle *h, struct pf_cursor *c, const struct pf_rec *r)
{
	size_t i = 0, to = 0;
	while (i < r->len && (r->data[i] == ' ' || r->data[i] == '\t'))
		i++;
	if (i == r->len)
		return pf_rec_error(h, c, r->off, "a pointer record without an offset");
	for (; i < r->len; i++) {
		if (r->data[i] < '0' || r->data[i] > '9')
			return pf_rec_error(h, c, r->off, "a pointer record whose offset is not a number");
		if (to <= c->len)
			to = to * 10 + (size_t)(r->data[i] - '0');
	}
	if (to == 0)
		return 0;
	if (to >= c->len)
		return pf_rec_error(h, c, r->off, "a pointer record that points past the end of the file");
	if (c->followed[r->off / 8] & (1u << (r->off % 8)))
		return pf_rec_error(h, c, r->off, "a pointer record read twice: the pointers form a loop");
	c->followed[r->off / 8] |= (unsigned char)(1u << (r->off % 8));
	c->pos = to;
	return 0;
}

/* The next record in reading order (pointers followed, padding 'w'
 * skipped): 1, 0 at the end of the file, -1. */
static int pf_get(qi_handle *h, struct pf_cursor *c, struct pf_rec *r)
{
	for (;;) {
		int rc = pf_get_raw(h, c, r);
		if (rc <= 0)
			return rc;
		if (r->type == 'p') {
			if (pf_follow(h, c, r) < 0)
				return -1;
			continue;
		}
		if (r->type != 'w')
			return 1;
	}
}

/* ------------------------------------------------------------------ */
/* The parser                                                          */
/* ------------------------------------------------------------------ */

/* Whether a line (its first record) is a header line as postcat sees it:
 * a name of printable ASCII, blanks only between it and the colon. */
static bool pf_is_header(const unsigned char *s, size_t len)
{
	bool name = false, blank = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];
		if (ch == ':')
			return name;
		if (ch == ' ' || ch == '\t') {
			if (!name)
				return false;
			blank = true;
		} else if (ch == 0 || ch >= 0x7f || ch < 0x20 || blank) {
			return false;
		} else {
			name = true;
		}
	}
	return false;
}

struct pf_parse {
	struct pf_cursor c;
	struct qi_buf content;
	bool in_header, continued, have_sender;
	bool have_body;
	size_t body;
	size_t xtra;		/* where 'M' says the extracted segment starts (0: not said) */
	size_t content_at;	/* where 'C' says the content starts (0: not said) */
	bool have_size;
};

/* The second number of the size record 'C' (the offset of the content,
 * where postcat starts reading): 0 when it is not a positive number, as
 * in the placeholder postdrop writes. */
static size_t pf_size_offset(const struct pf_rec *r)
{
	size_t i = 0, v = 0;
	for (int field = 0; field < 2; field++) {
		v = 0;
		while (i < r->len && r->data[i] == ' ')
			i++;
		if (i == r->len || r->data[i] < '0' || r->data[i] > '9')
			return 0;
		for (; i < r->len && r->data[i] >= '0' && r->data[i] <= '9'; i++)
			if (v < SIZE_MAX / 16)
				v = v * 10 + (size_t)(r->data[i] - '0');
	}
	return v;
}

/* A text record of the content: the line or its piece, and where the
 * header ends (the first line that is neither a header line nor its
 * continuation: after it when it is the empty line, at it otherwise). */
static void pf_text(struct pf_parse *p, const struct pf_rec *r)
{
	if (p->in_header && !p->continued && !pf_is_header(r->data, r->len) &&
	    !(r->len && (r->data[0] == ' ' || r->data[0] == '\t'))) {
		p->in_header = false;
		p->have_body = true;
		p->body = p->content.len;
		if (r->len == 0 && r->type == 'N')
			p->body++;
	}
	qi_buf_add(&p->content, r->data, r->len);
	if (r->type == 'N')
		qi_buf_add(&p->content, "\n", 1);
	p->continued = r->type == 'L';
}

/* The offset in the data of an 'M' record (blank or empty: 0). */
static int pf_mesg(qi_handle *h, struct pf_parse *p, const struct pf_rec *r)
{
	size_t v = 0;
	for (size_t i = 0; i < r->len; i++) {
		unsigned char ch = r->data[i];
		if (ch == ' ')
			continue;
		if (ch < '0' || ch > '9')
			return pf_rec_error(h, &p->c, r->off, "the content record's offset is not a number");
		if (v <= p->c.len)
			v = v * 10 + (ch - '0');
	}
	if (v && (v <= r->off || v >= p->c.len))
		return pf_rec_error(h, &p->c, r->off, "the content record points outside the file");
	p->xtra = v;
	return 0;
}

/* One record of the envelope or the extracted segment. */
static void pf_envelope(struct pf_parse *p, const struct pf_rec *r, struct mq_msg *m)
{
	switch (r->type) {
	case 'S':
		if (!p->have_sender) {
			free(m->sender);
			m->sender = qi_xmalloc(r->len + 1);
			memcpy(m->sender, r->data, r->len);
			m->sender[r->len] = '\0';
			p->have_sender = true;
		}
		break;
	case 'R':
		mq_msg_add_rcpt(m, (const char *)r->data, r->len);
		break;
	case 'D':
	case '/':
		m->ndone++;
		break;
	default:
		break;		/* time, size, attributes, DSN, killed records */
	}
}

/* The records after the envelope: 0 at 'E', -1. */
static int pf_rest(qi_handle *h, struct pf_parse *p, struct mq_msg *m)
{
	struct pf_rec r;
	bool extracted = false;
	int rc;
	while ((rc = pf_get(h, &p->c, &r)) > 0) {
		if (extracted) {
			if (r.type == 'E')
				return 0;
			if (r.type == 'M' || r.type == 'X' || r.type == 'N')
				return pf_rec_error(h, &p->c, r.off,
						    "a content record after the extracted segment started");
			pf_envelope(p, &r, m);
		} else if (r.type == 'N' || r.type == 'L') {
			pf_text(p, &r);
		} else if (r.type == 'X') {
			if (p->xtra && r.off != p->xtra)
				return pf_rec_error(h, &p->c, r.off,
						    "the extracted segment is not where the content record says");
			if (p->continued)
				qi_buf_add(&p->content, "\n", 1);
			p->continued = false;
			extracted = true;
		} else {
			char what[96];
			snprintf(what, sizeof(what), "a record of type %s%c%s (0x%02x) inside the message content",
				 r.type > 0x20 && r.type < 0x7f ? "'" : "",
				 r.type > 0x20 && r.type < 0x7f ? r.type : '?',
				 r.type > 0x20 && r.type < 0x7f ? "'" : "", (unsigned)r.type);
			return pf_rec_error(h, &p->c, r.off, what);
		}
	}
	if (rc < 0)
		return -1;
	return qi_error(h, "the file ends before its %s (it is truncated)",
			extracted ? "end record" : "extracted segment and end record");
}

static int pf_parse_all(qi_handle *h, struct pf_parse *p, struct mq_msg *m)
{
	struct pf_rec r;
	int rc;
	if (p->c.len == 0)
		return qi_error(h, "the file is empty");
	if (!strchr("MCTcFILSDRO/WVA>K<ion", p->c.data[0]) || p->c.data[0] == 0)
		return qi_error(h, "not a Postfix queue file (its first byte is 0x%02x, not an envelope record)",
				p->c.data[0]);
	while ((rc = pf_get(h, &p->c, &r)) > 0 && r.type != 'M') {
		if (r.type == 'E' || r.type == 'X' || r.type == 'N')
			return pf_rec_error(h, &p->c, r.off, "the envelope ends before the message content");
		if (r.type == 'C' && !p->have_size) {
			p->have_size = true;
			p->content_at = pf_size_offset(&r);
		}
		pf_envelope(p, &r, m);
	}
	if (rc < 0)
		return -1;
	if (rc == 0)
		return qi_error(h, "the file ends inside the envelope, before the message content (it is truncated)");
	if (p->content_at && p->content_at != p->c.pos)
		return pf_rec_error(h, &p->c, r.off, "the message content does not start where the size record says");
	if (pf_mesg(h, p, &r) < 0 || pf_rest(h, p, m) < 0)
		return -1;
	if (!p->have_sender)
		return qi_error(h, "the envelope has no sender record");
	return 0;
}

int mq_postfix_parse(qi_handle *h, const unsigned char *data, size_t len, struct mq_msg *m)
{
	struct pf_parse p = { .c = { .data = data, .len = len }, .in_header = true };
	p.c.followed = calloc(len / 8 + 1, 1);
	if (!p.c.followed)
		abort();
	int rc = pf_parse_all(h, &p, m);
	free(p.c.followed);
	if (rc < 0) {
		qi_buf_free(&p.content);
		mq_msg_unparse(m);
		return -1;
	}
	qi_buf_add(&p.content, "", 1);
	free(m->content);
	m->content = p.content.data;
	m->len = p.content.len - 1;
	m->body = p.have_body ? p.body : m->len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The spool                                                           */
/* ------------------------------------------------------------------ */

/* Postfix's queue id (or a name it would have made): letters, digits, '_'. */
static bool pf_id_ok(const char *s)
{
	if (!*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static int pf_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory DIR inside ROOT, sorted; *names NULL when DIR
 * does not exist. */
static int pf_list_dir(qi_handle *h, const char *dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			return 0;
		}
		return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot read the directory %s", dir);
	}
	struct dirent *e;
	size_t cap = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*names = qi_xrealloc(*names, cap * sizeof(**names));
		}
		(*names)[(*n)++] = qi_xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(**names), pf_cmp_str);
	return 0;
}

/* What a walk over a queue directory found: the regular file PATH
 * (inside ROOT) whose name is the queue id ID, with its status. */
typedef int (*pf_found_fn)(qi_handle *h, const char *path, const char *id, const struct stat *st,
			   void *arg);

/* Walk DIR: regular files with queue ids, and the one-character hash
 * subdirectories below (hash_queue_depth levels at most 16). */
static int pf_walk(qi_handle *h, const char *dir, int depth, pf_found_fn fn, void *arg)
{
	char **names;
	size_t n;
	if (pf_list_dir(h, dir, &names, &n) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = qi_xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (qi_root_lstat(h, path, &st) < 0) {
			if (errno != ENOENT)	/* gone meanwhile: Postfix moved it */
				rc = qi_error_errno(h, "cannot look at %s", path);
		} else if (S_ISDIR(st.st_mode) && strlen(names[i]) == 1 && depth < 16) {
			rc = pf_walk(h, path, depth + 1, fn, arg);
		} else if (S_ISREG(st.st_mode) && pf_id_ok(names[i])) {
			rc = fn(h, path, names[i], &st, arg);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The logs of one kind (defer/, bounce/, trace/): id and path, sorted by id. */
struct pf_log {
	char *id, *path;
};
struct pf_logs {
	struct pf_log *v;
	size_t n;
};

static int pf_log_found(qi_handle *h, const char *path, const char *id, const struct stat *st,
			void *arg)
{
	(void)h;
	(void)st;
	struct pf_logs *l = arg;
	l->v = qi_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].id = qi_xstrdup(id);
	l->v[l->n].path = qi_xstrdup(path);
	l->n++;
	return 0;
}

static int pf_cmp_log(const void *a, const void *b)
{
	return strcmp(((const struct pf_log *)a)->id, ((const struct pf_log *)b)->id);
}

static void pf_logs_free(struct pf_logs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].path);
	}
	free(l->v);
}

struct pf_scan {
	const char *queue;
	struct mq_list *out;
};

static int pf_msg_found(qi_handle *h, const char *path, const char *id, const struct stat *st,
			void *arg)
{
	(void)h;
	struct pf_scan *s = arg;
	struct mq_msg *m = mq_list_add(s->out);
	m->id = qi_xstrdup(id);
	m->queue = qi_xstrdup(s->queue);
	mq_msg_add_file(m, path);
	/* A file Postfix is still writing has not yet been given mode 0700. */
	bool fresh = strcmp(s->queue, "incoming") == 0 || strcmp(s->queue, "maildrop") == 0;
	if (fresh && (st->st_mode & 0700) != 0700)
		m->why = qi_xasprintf("incomplete: Postfix has not finished writing it (mode %04o, a "
				      "complete queue file has 0700); let Postfix finish it, or remove it",
				      (unsigned)(st->st_mode & 07777));
	return 0;
}

int mq_postfix_scan(qi_handle *h, const char *spool, struct mq_list *out)
{
	static const char *const queues[] = { "incoming", "active", "deferred", "hold", "maildrop" };
	static const char *const kinds[] = { "defer", "bounce", "trace" };
	struct pf_logs logs[3] = { 0 };
	size_t first = out->n;
	int rc = 0;
	for (size_t k = 0; k < 3 && rc == 0; k++) {
		char *dir = qi_xasprintf("%s/%s", spool, kinds[k]);
		rc = pf_walk(h, dir, 0, pf_log_found, &logs[k]);
		free(dir);
		if (logs[k].n)
			qsort(logs[k].v, logs[k].n, sizeof(*logs[k].v), pf_cmp_log);
	}
	for (size_t q = 0; q < 5 && rc == 0; q++) {
		struct pf_scan s = { queues[q], out };
		char *dir = qi_xasprintf("%s/%s", spool, queues[q]);
		rc = pf_walk(h, dir, 0, pf_msg_found, &s);
		free(dir);
	}
	for (size_t i = first; i < out->n && rc == 0; i++) {
		for (size_t k = 0; k < 3; k++) {
			struct pf_log key = { .id = out->v[i].id };
			struct pf_log *l = logs[k].n ? bsearch(&key, logs[k].v, logs[k].n, sizeof(key), pf_cmp_log)
						     : NULL;
			if (l)
				mq_msg_add_file(&out->v[i], l->path);
		}
	}
	for (size_t k = 0; k < 3; k++)
		pf_logs_free(&logs[k]);
	if (rc < 0)
		return qi_error_prefix(h, "Postfix's queue in %s", spool);
	return 0;
}

int mq_postfix_read(qi_handle *h, struct mq_msg *m)
{
	if (m->why)
		return 0;
	if (!m->nfiles)
		return qi_error(h, "Postfix queue message %s: no queue file listed", m->id ? m->id : "?");
	struct stat st;
	if (qi_root_lstat(h, m->files[0], &st) < 0)
		return qi_error_errno(h, "Postfix queue message %s: cannot look at %s", m->id ? m->id : "?",
				      m->files[0]);
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > QI_INPUT_MAX) {
		m->why = qi_xasprintf("its queue file is larger than %zu MiB, more than qinstall reads "
				      "into memory; let Postfix deliver it (--queue drain)",
				      QI_INPUT_MAX >> 20);
		return 0;
	}
	char *buf;
	size_t len;
	if (qi_root_read(h, m->files[0], &buf, &len) < 0)
		return qi_error_prefix(h, "Postfix queue message %s", m->id ? m->id : "?");
	if (mq_postfix_parse(h, (const unsigned char *)buf, len, m) < 0) {
		m->why = qi_xasprintf("not a queue file Postfix could deliver: %s", qi_errmsg(h));
		qi_clear_error(h);
	}
	free(buf);
	return 0;
}
