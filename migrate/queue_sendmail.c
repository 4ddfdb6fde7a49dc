/*
 * queue_sendmail.c - sendmail's queue (its operations guide, "Queue file
 * formats"): in a queue directory, flat or with qf/ df/ xf/ subdirectories,
 * a message is qfID (its envelope and headers), dfID (its body) and
 * perhaps xfID (the transcript of its last attempt). tfID is a qf being
 * written, hfID a quarantined message, QfID one sendmail found it could
 * not read: those are listed, never carried.
 *
 * A qf is lines of a code letter and its value; a line starting with a
 * space or a tab continues the one before. Read here: S the sender
 * ("<>" the null one), R a recipient still to deliver to ("Rflags:addr"
 * since V8.10's queue files, "Raddr" before), H a header ("H?flags?Name:
 * value": the condition says for which mailers sendmail emits it), "."
 * the end. The other codes (V T K N P I M F $ Z C E B A d D G j q Q r Y
 * !) are known and skipped; any other letter is refused.
 *
 * The content is what sendmail would hand an SMTP mailer: a header with
 * a ?flags? condition is kept when one of its flags is among those of
 * Debian's smtp and esmtp mailers (mDFMuXa), as sendmail's putheader
 * tests, so "H?P?Return-Path:" is dropped and "H?D?Date:" kept; a header
 * with a ?${macro}? condition is dropped (the macro's value is not in
 * the queue file); then the empty line and the df.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migrate/queue_read.h"

#define SM_SMTP_MAILER_FLAGS "mDFMuXa"
#define SM_KNOWN_CODES "VTKNPIMF$ZCEBAdDGjqQrY!"

/* A's address without its angle brackets (and the spaces around). */
static void sm_strip(const char **a, size_t *n)
{
	while (*n && (**a == ' ' || **a == '\t'))
		(*a)++, (*n)--;
	while (*n && ((*a)[*n - 1] == ' ' || (*a)[*n - 1] == '\t'))
		(*n)--;
	if (*n >= 2 && (*a)[0] == '<' && (*a)[*n - 1] == '>')
		(*a)++, *n -= 2;
}

/* "R" line S, N (the code included). */
static int sm_rcpt(qi_handle *h, const char *file, size_t no, const char *s, size_t n, struct mq_msg *m)
{
	const char *a = s + 1;
	size_t an = n - 1, f = 0;
	while (f < an && a[f] >= 'A' && a[f] <= 'Z')
		f++;
	if (f < an && a[f] == ':')
		a += f + 1, an -= f + 1;
	sm_strip(&a, &an);
	if (an == 0 || memchr(a, '\0', an))
		return mq_bad_line(h, file, no, "a recipient line with no address");
	mq_msg_add_rcpt(m, a, an);
	return 0;
}

/* Whether a header's condition (after "H?", FLAGS of N bytes) lets
 * sendmail emit it to an SMTP mailer. */
static bool sm_wanted(const char *flags, size_t n)
{
	if (n == 0)
		return true;
	if (flags[0] == '$')
		return false;
	for (size_t i = 0; i < n; i++)
		if (flags[i] && strchr(SM_SMTP_MAILER_FLAGS, flags[i]))
			return true;
	return false;
}

/* "H" line S, N and its continuation lines, into OUT when wanted. */
static int sm_header(qi_handle *h, const char *file, struct mq_lines *r, const char *s, size_t n,
		     struct qi_buf *out)
{
	size_t no = r->no;
	const char *t = s + 1, *e = s + n;
	bool want = true;
	if (t < e && *t == '?') {
		const char *q = memchr(t + 1, '?', (size_t)(e - t - 1));
		if (!q)
			return mq_bad_line(h, file, no, "a header's condition \"?flags?\" has no closing '?'");
		want = sm_wanted(t + 1, (size_t)(q - t - 1));
		t = q + 1;
	}
	const char *colon = memchr(t, ':', (size_t)(e - t));
	if (!colon || colon == t || memchr(t, ' ', (size_t)(colon - t)) || memchr(t, '\0', (size_t)(e - t)))
		return mq_bad_line(h, file, no, "not a header (\"H\", perhaps \"?flags?\", \"Name: value\")");
	if (want) {
		qi_buf_add(out, t, (size_t)(e - t));
		qi_buf_add(out, "\n", 1);
	}
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t')) {
		bool lf;
		mq_line(r, &s, &n, &lf);
		if (want) {
			qi_buf_add(out, s, n);
			qi_buf_add(out, "\n", 1);
		}
	}
	return 0;
}

/* The qf's lines up to ".": sender, recipients, headers into HEADS. */
static int sm_lines(qi_handle *h, const char *file, struct mq_lines *r, struct mq_msg *m, struct qi_buf *heads)
{
	const char *s;
	size_t n;
	bool lf;
	while (mq_line(r, &s, &n, &lf)) {
		if (!lf)
			return mq_bad_line(h, file, r->no, "the file ends inside a line, before its \".\" line: "
					   "it is truncated");
		if (n == 1 && s[0] == '.')
			return m->sender ? 0 : mq_bad_line(h, file, r->no, "the file has no S (sender) line");
		if (n == 0)
			return mq_bad_line(h, file, r->no, "an empty line (a queue file's lines start with a letter)");
		if (s[0] == 'H') {
			if (sm_header(h, file, r, s, n, heads) < 0)
				return -1;
			continue;
		}
		if (s[0] == 'S') {
			const char *a = s + 1;
			size_t an = n - 1;
			sm_strip(&a, &an);
			free(m->sender);
			m->sender = qi_xmalloc(an + 1);
			memcpy(m->sender, a, an);
			m->sender[an] = '\0';
		} else if (s[0] == 'R') {
			if (sm_rcpt(h, file, r->no, s, n, m) < 0)
				return -1;
		} else if (s[0] == '\0' || !strchr(SM_KNOWN_CODES, s[0])) {
			return mq_bad_line(h, file, r->no, "an unknown code letter '%c': not a sendmail qf file, "
					   "or of a version qinstall does not know", s[0] > ' ' && s[0] < 127 ? s[0] : '?');
		}
		while (r->p < r->end && (*r->p == ' ' || *r->p == '\t'))
			mq_line(r, &s, &n, &lf);	/* a continued value */
	}
	return mq_bad_line(h, file, r->no, "the file ends before its \".\" line: it is truncated");
}

int mq_sendmail_parse(qi_handle *h, const char *qf, size_t qlen, const char *df, size_t dlen,
		      struct mq_msg *m)
{
	char *file = qi_xasprintf("qf%s", m->id ? m->id : "");
	struct mq_lines r;
	struct qi_buf heads = { 0 };
	mq_lines_init(&r, qf, qlen);
	int rc = -1;
	if (sm_lines(h, file, &r, m, &heads) == 0) {
		mq_msg_content(m, &heads, df, dlen, false);
		rc = 0;
	}
	if (rc < 0)
		mq_msg_unparse(m);
	qi_buf_free(&heads);
	free(file);
	return rc;
}

/* The files of a queue directory: each name with the path it lies at. */
struct sm_file {
	const char *name;	/* "qfID", "dfID", ... */
	char *path;
};
struct sm_files {
	struct sm_file *v;
	size_t n;
	struct mq_dirent *dirs[4];
	size_t ndirs[4];
};

static int sm_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sm_file *)a)->name, ((const struct sm_file *)b)->name);
}

/* Gather the regular files of DIR and of its qf/ df/ xf/. */
static int sm_gather(qi_handle *h, const char *dir, struct sm_files *f)
{
	static const char *const subs[4] = { "", "qf", "df", "xf" };
	bool missing;
	for (int i = 0; i < 4; i++) {
		if (i > 0) {
			const struct mq_dirent *d = mq_dir_find(f->dirs[0], f->ndirs[0], subs[i]);
			if (!d || !S_ISDIR(d->mode))
				continue;
		}
		char *sub = qi_xasprintf("%s%s%s", dir, i ? "/" : "", subs[i]);
		int rc = mq_dir_list(h, sub, i ? NULL : &missing, &f->dirs[i], &f->ndirs[i]);
		for (size_t j = 0; rc == 0 && j < f->ndirs[i]; j++) {
			const struct mq_dirent *e = &f->dirs[i][j];
			if (!S_ISREG(e->mode) || strlen(e->name) < 3 || e->name[1] != 'f')
				continue;
			f->v = qi_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
			f->v[f->n].name = e->name;
			f->v[f->n++].path = qi_xasprintf("%s/%s", sub, e->name);
		}
		free(sub);
		if (rc < 0)
			return -1;
	}
	if (f->n)
		qsort(f->v, f->n, sizeof(*f->v), sm_file_cmp);
	return 0;
}

static void sm_files_free(struct sm_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	for (int i = 0; i < 4; i++)
		mq_dir_free(f->dirs[i], f->ndirs[i]);
}

/* The path of the file KIND ("df", "xf", ...) of ID, or NULL. */
static const char *sm_path(const struct sm_files *f, const char *kind, const char *id)
{
	char *name = qi_xasprintf("%s%s", kind, id);
	struct sm_file key = { .name = name }, *e = f->n ? bsearch(&key, f->v, f->n, sizeof(*f->v), sm_file_cmp) : NULL;
	free(name);
	return e ? e->path : NULL;
}

static struct mq_msg *sm_entry(struct mq_list *out, const char *id, const char *queue, const char *path)
{
	struct mq_msg *m = mq_list_add(out);
	m->id = qi_xstrdup(id);
	m->queue = qi_xstrdup(queue);
	mq_msg_add_file(m, path);
	return m;
}

int mq_sendmail_scan(qi_handle *h, const char *dir, const char *queue, struct mq_list *out)
{
	struct sm_files f = { 0 };
	if (sm_gather(h, dir, &f) < 0) {
		sm_files_free(&f);
		return -1;
	}
	for (size_t i = 0; i < f.n; i++) {
		const char *name = f.v[i].name, *id = name + 2, *path = f.v[i].path;
		const char *df = sm_path(&f, "df", id);
		struct mq_msg *m;
		switch (name[0]) {
		case 'q':
			m = sm_entry(out, id, queue, path);
			if (df)
				mq_msg_add_file(m, df);
			if (sm_path(&f, "xf", id))
				mq_msg_add_file(m, sm_path(&f, "xf", id));
			if (!df)
				m->why = qi_xasprintf("%s has no df%s (data) file: sendmail is still receiving it, "
						      "or it lost its body", path, id);
			break;
		case 'h':
		case 'Q':
			m = sm_entry(out, id, queue, path);
			if (df && !sm_path(&f, "qf", id))
				mq_msg_add_file(m, df);
			m->why = name[0] == 'h'
				? qi_xasprintf("%s is quarantined by sendmail: release it (sendmail -qQ -Q) to carry it, "
					       "or leave it", path)
				: qi_xasprintf("%s is a queue file sendmail could not read and set aside", path);
			break;
		case 't':
			m = sm_entry(out, id, queue, path);
			m->why = qi_xasprintf("%s is a queue file sendmail was still writing (temporary)", path);
			break;
		case 'd':
			if (sm_path(&f, "qf", id) || sm_path(&f, "hf", id) || sm_path(&f, "Qf", id))
				break;
			m = sm_entry(out, id, queue, path);
			m->why = qi_xasprintf("%s has no qf%s (envelope) file: sendmail cannot deliver it either",
					      path, id);
			break;
		default:
			break;
		}
	}
	sm_files_free(&f);
	return 0;
}

int mq_sendmail_read(qi_handle *h, struct mq_msg *m)
{
	return mq_msg_read_pair(h, m, mq_sendmail_parse);
}
