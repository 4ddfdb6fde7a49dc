/*
 * queue_exim.c - Exim's spool (its specification, chapter "Format of
 * spool files"): the messages of SPOOL/input, flat or split into the 62
 * one-character subdirectories, each an ID-H file (the envelope, the
 * status and the headers) and an ID-D file (the body), with its log in
 * SPOOL/msglog[/X]/ID.
 *
 * ID-H: "ID-H"; "login uid gid"; "<sender>"; "time warnings"; option
 * lines starting with "-" (-aclc/-aclm/-acl carry a counted value on the
 * lines after them; -spool_file_wireformat says that ID-D has CRLF
 * lines); the tree of addresses already delivered to ("XX" when none,
 * else lines "YY addr", "YN", "NY", "NN" in preorder: the letters say
 * whether a left and a right branch follow); the recipient count and one
 * recipient per line, perhaps with Exim's extra data after the address
 * ("addr ORCPT LEN,DSN ERRORSTO LEN,PNO#3" and the older " PNO" and
 * " N,PNO,N" forms); an empty line; the headers, each "NNNc text" where
 * NNN counts the bytes of text (its continuation lines and final LF
 * included) and a flag c of '*' marks a header Exim deleted or replaced.
 * ID-D: "ID-D", then the body.
 *
 * An ID-J (Exim's journal of deliveries it has not yet written into
 * ID-H) means the tree is not the whole truth: such a message is listed,
 * never carried, lest a recipient get it twice.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migrate/queue_read.h"

/* The addresses of the non-recipients tree. */
struct exim_done {
	char **v;
	size_t n;
};

static void done_free(struct exim_done *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

static bool done_has(const struct exim_done *d, const char *a, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->v[i]) == n && memcmp(d->v[i], a, n) == 0)
			return true;
	return false;
}

static bool exim_id_ok(const char *s, size_t n)
{
	if (n != 16 && n != 23)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A whole decimal number of S, N (a leading '-' when SIGNED). */
static bool is_number(const char *s, size_t n, bool sign)
{
	if (sign && n && s[0] == '-')
		s++, n--;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The -acl[cm] NAME COUNT and -acl N COUNT lines: the value after them. */
static int exim_counted(qi_handle *h, struct mq_lines *r, const char *file, const char *var, size_t n)
{
	const char *sp = memrchr(var, ' ', n);
	size_t no = r->no;
	if (!sp || !is_number(sp + 1, n - (size_t)(sp + 1 - var), false) || n - (size_t)(sp + 1 - var) > 9)
		return mq_bad_line(h, file, no, "-%.*s has no length of its value", (int)n, var);
	size_t count = strtoul(sp + 1, NULL, 10);
	if (!mq_lines_skip(r, count) || r->p >= r->end || *r->p != '\n')
		return mq_bad_line(h, file, no, "the value of -%.*s ends before its %zu bytes and newline: "
				   "the file is truncated", (int)(sp - var), var, count);
	r->p++;
	r->no++;
	return 0;
}

/* Lines 1 to 4 and the option lines; *S, *N is the line after them. */
static int exim_envelope(qi_handle *h, struct mq_lines *r, const char *file, struct mq_msg *m,
			 bool *wire, const char **s, size_t *n)
{
	bool lf;
	if (!mq_line(r, s, n, &lf) || !lf)
		return mq_bad_line(h, file, r->no, "the file ends before the login line: it is truncated");
	const char *gid = memrchr(*s, ' ', *n);
	const char *uid = gid ? memrchr(*s, ' ', (size_t)(gid - *s)) : NULL;
	if (!uid || uid == *s || !is_number(gid + 1, (size_t)(*s + *n - gid - 1), true) ||
	    !is_number(uid + 1, (size_t)(gid - uid - 1), true))
		return mq_bad_line(h, file, r->no, "not the \"login uid gid\" line of an Exim -H file");
	if (!mq_line(r, s, n, &lf) || !lf || *n < 2 || (*s)[0] != '<' || (*s)[*n - 1] != '>')
		return mq_bad_line(h, file, r->no, "the envelope sender is not in angle brackets (<...>)");
	char *sender = qi_xmalloc(*n - 1);
	memcpy(sender, *s + 1, *n - 2);
	sender[*n - 2] = '\0';
	free(m->sender);
	m->sender = sender;
	const char *sp;
	if (!mq_line(r, s, n, &lf) || !lf || !(sp = memchr(*s, ' ', *n)) ||
	    !is_number(*s, (size_t)(sp - *s), false) || !is_number(sp + 1, (size_t)(*s + *n - sp - 1), false))
		return mq_bad_line(h, file, r->no, "not the \"time warnings\" line of an Exim -H file");
	for (;;) {
		if (!mq_line(r, s, n, &lf) || !lf)
			return mq_bad_line(h, file, r->no, "the file ends in its option lines: it is truncated");
		if (*n == 0 || (*s)[0] != '-')
			return 0;
		const char *var = *s + 1, *end = *s + *n;
		if (var < end && *var == '-')
			var++;		/* tainted */
		if (var < end && *var == '(') {	/* quoted for a lookup type */
			const char *c = memchr(var, ')', (size_t)(end - var));
			if (!c)
				return mq_bad_line(h, file, r->no, "an option's quoting \"(\" has no \")\"");
			var = c + 1;
		}
		size_t vn = (size_t)(end - var);
		if ((vn > 5 && (memcmp(var, "aclc ", 5) == 0 || memcmp(var, "aclm ", 5) == 0)) ||
		    (vn > 4 && memcmp(var, "acl ", 4) == 0)) {
			if (exim_counted(h, r, file, var, vn) < 0)
				return -1;
		} else if (vn == 21 && memcmp(var, "spool_file_wireformat", 21) == 0) {
			*wire = true;
		}
	}
}

/* The non-recipients tree, its first line S, N already read. */
static int exim_tree(qi_handle *h, struct mq_lines *r, const char *file, const char *s, size_t n,
		     struct exim_done *done)
{
	if (n == 2 && memcmp(s, "XX", 2) == 0)
		return 0;
	size_t pending = 1;
	bool lf = true;
	for (;;) {
		if (!lf || n < 4 || (s[0] != 'Y' && s[0] != 'N') || (s[1] != 'Y' && s[1] != 'N') || s[2] != ' ')
			return mq_bad_line(h, file, r->no, "not a line of the delivered addresses' tree "
					   "(\"XX\", or YY/YN/NY/NN and an address)");
		done->v = qi_xrealloc(done->v, (done->n + 1) * sizeof(*done->v));
		done->v[done->n] = qi_xmalloc(n - 2);
		memcpy(done->v[done->n], s + 3, n - 3);
		done->v[done->n++][n - 3] = '\0';
		pending += (s[0] == 'Y') + (s[1] == 'Y');
		if (--pending == 0)
			return 0;
		if (!mq_line(r, &s, &n, &lf))
			return mq_bad_line(h, file, r->no, "the file ends in the delivered addresses' tree: "
					   "it is truncated");
	}
}

/* Back over digits, ',' and '-' from E (exclusive) to S: the start. */
static const char *back_digits(const char *s, const char *e)
{
	while (e > s && (isdigit((unsigned char)e[-1]) || e[-1] == ',' || e[-1] == '-'))
		e--;
	return e;
}

/* Of one "LEN,X" field before E (after " VALUE"): where VALUE starts
 * (its space before it), or NULL when it does not fit. */
static const char *counted_field(const char *s, const char *e)
{
	const char *f = back_digits(s, e);
	if (f == e || f == s || f[-1] != ' ' || !isdigit((unsigned char)*f))
		return NULL;
	size_t len = strtoul(f, NULL, 10);
	const char *v = f - 1;
	if ((size_t)(v - s) < len + 1 || v[-(ptrdiff_t)len - 1] != ' ')
		return NULL;
	return v - len - 1;
}

/* The address of a recipient line S, N without Exim's extra data: its
 * length, or 0 when the extra data does not parse. */
static size_t exim_rcpt_addr(const char *s, size_t n)
{
	const char *e = s + n, *d = e;
	while (d > s && isdigit((unsigned char)d[-1]))
		d--;
	if (d == e || d == s)
		return n;	/* no extra data: an address ends in its domain */
	if (d[-1] == ',') {	/* Exim 3: " N,PNO,N" */
		const char *f = back_digits(s, d);
		return f > s && f[-1] == ' ' ? (size_t)(f - 1 - s) : n;
	}
	if (d[-1] == ' ')	/* early Exim 4: " PNO" */
		return (size_t)(d - 1 - s);
	if (d[-1] != '#')
		return n;
	unsigned long flags = strtoul(d, NULL, 10);
	const char *a = d - 1;
	if (flags & 1 && !(a = counted_field(s, a)))
		return 0;
	if (flags & 2 && !(a = counted_field(s, a)))
		return 0;
	return (size_t)(a - s);
}

static int exim_rcpts(qi_handle *h, struct mq_lines *r, const char *file, const struct exim_done *done,
		      struct mq_msg *m)
{
	const char *s;
	size_t n;
	bool lf;
	if (!mq_line(r, &s, &n, &lf) || !lf || !is_number(s, n, false) || n > 7)
		return mq_bad_line(h, file, r->no, "not the count of recipients");
	size_t count = strtoul(s, NULL, 10);
	for (size_t i = 0; i < count; i++) {
		if (!mq_line(r, &s, &n, &lf) || !lf)
			return mq_bad_line(h, file, r->no, "the file ends after %zu of its %zu recipients: "
					   "it is truncated", i, count);
		size_t a = exim_rcpt_addr(s, n);
		if (a == 0)
			return mq_bad_line(h, file, r->no, "a recipient line with no address, or extra data "
					   "that does not parse");
		if (done_has(done, s, a))
			m->ndone++;
		else
			mq_msg_add_rcpt(m, s, a);
	}
	return 0;
}

/* The headers after the empty line: the live ones into OUT. */
static int exim_headers(qi_handle *h, struct mq_lines *r, const char *file, struct qi_buf *out)
{
	const char *s;
	size_t n;
	bool lf;
	if (!mq_line(r, &s, &n, &lf) || !lf || n)
		return mq_bad_line(h, file, r->no, "not the empty line before the headers");
	while (r->p < r->end) {
		size_t no = r->no + 1, d = 0, left = (size_t)(r->end - r->p);
		while (d < left && d < 9 && isdigit((unsigned char)r->p[d]))
			d++;
		if (d == 0 || d + 2 > left || r->p[d + 1] != ' ')
			return mq_bad_line(h, file, no, "not a header (\"NNNc \" and its text)");
		char flag = r->p[d];
		size_t len = strtoul(r->p, NULL, 10);
		const char *text = r->p + d + 2;
		if ((size_t)(r->end - text) < len)
			return mq_bad_line(h, file, no, "the header is shorter than its count %zu: "
					   "the file is truncated", len);
		if (len == 0 || text[len - 1] != '\n' || memchr(text, '\0', len))
			return mq_bad_line(h, file, no, "the header's %zu bytes do not end in a newline "
					   "or hold a NUL", len);
		r->p = text;
		mq_lines_skip(r, len);
		if (flag != '*')
			qi_buf_add(out, text, len);
	}
	return 0;
}

int mq_exim_parse(qi_handle *h, const char *hdr, size_t hlen, const char *data, size_t dlen,
		  struct mq_msg *m)
{
	struct mq_lines r;
	const char *s;
	size_t n;
	bool lf;
	mq_lines_init(&r, hdr, hlen);
	if (!mq_line(&r, &s, &n, &lf) || !lf || n < 3 || memcmp(s + n - 2, "-H", 2) != 0 ||
	    !exim_id_ok(s, n - 2) || (m->id && (strlen(m->id) != n - 2 || memcmp(s, m->id, n - 2) != 0)))
		return qi_error(h, "%s%s line 1: not \"%s-H\": not an Exim -H file, or another message's",
				m->id ? m->id : "the -H file", m->id ? "-H" : "", m->id ? m->id : "ID");
	if (!m->id) {
		m->id = qi_xmalloc(n - 1);
		memcpy(m->id, s, n - 2);
		m->id[n - 2] = '\0';
	}
	char *file = qi_xasprintf("%s-H", m->id);
	struct exim_done done = { 0 };
	struct qi_buf heads = { 0 };
	bool wire = false;
	int rc = -1;
	if (exim_envelope(h, &r, file, m, &wire, &s, &n) < 0 || exim_tree(h, &r, file, s, n, &done) < 0 ||
	    exim_rcpts(h, &r, file, &done, m) < 0 || exim_headers(h, &r, file, &heads) < 0)
		goto out;
	size_t idlen = strlen(m->id);
	if (dlen < idlen + 3 || memcmp(data, m->id, idlen) != 0 || memcmp(data + idlen, "-D\n", 3) != 0) {
		qi_error(h, "%s-D line 1: not \"%s-D\": not the data file of this message", m->id, m->id);
		goto out;
	}
	mq_msg_content(m, &heads, data + idlen + 3, dlen - idlen - 3, wire);
	rc = 0;
out:
	if (rc < 0)
		mq_msg_unparse(m);
	qi_buf_free(&heads);
	done_free(&done);
	free(file);
	return rc;
}

/* The ID of an input file NAME with suffix SUF ("-H", "-D", "-J"). */
static bool exim_name(const char *name, const char *suf, size_t *idlen)
{
	size_t n = strlen(name);
	if (n < 3 || strcmp(name + n - 2, suf) != 0 || !exim_id_ok(name, n - 2))
		return false;
	*idlen = n - 2;
	return true;
}

static bool has_file(const struct mq_dirent *v, size_t n, const char *id, const char *suf)
{
	char *name = qi_xasprintf("%s%s", id, suf);
	const struct mq_dirent *e = mq_dir_find(v, n, name);
	free(name);
	return e && S_ISREG(e->mode);
}

/* The messages of one directory of input (SUB: "" or the subdirectory's
 * letter), the -H files first, then the -D files without one. */
static int exim_scan_dir(qi_handle *h, const char *spool, const char *sub, struct mq_list *out)
{
	char *dir = qi_xasprintf("%s/input%s%s", spool, *sub ? "/" : "", sub);
	struct mq_dirent *v;
	size_t n, idlen;
	int rc = mq_dir_list(h, dir, NULL, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *name = v[i].name;
		if (!S_ISREG(v[i].mode))
			continue;
		bool hfile = exim_name(name, "-H", &idlen);
		if (!hfile && !exim_name(name, "-D", &idlen))
			continue;
		char *id = qi_xasprintf("%.*s", (int)idlen, name);
		if (!hfile && has_file(v, n, id, "-H")) {
			free(id);
			continue;	/* listed with its -H */
		}
		struct mq_msg *m = mq_list_add(out);
		m->id = id;
		m->queue = qi_xstrdup("input");
		char *path = qi_xasprintf("%s/%s", dir, name);
		mq_msg_add_file(m, path);
		free(path);
		if (!hfile) {
			m->why = qi_xasprintf("%s/%s has no %s-H (envelope) file: Exim cannot deliver it either",
					      dir, name, id);
			continue;
		}
		bool data = has_file(v, n, id, "-D");
		if (data) {
			path = qi_xasprintf("%s/%s-D", dir, id);
			mq_msg_add_file(m, path);
			free(path);
		}
		path = qi_xasprintf("%s/msglog%s%s/%s", spool, *sub ? "/" : "", sub, id);
		if (mq_exists(h, path))
			mq_msg_add_file(m, path);
		free(path);
		if (has_file(v, n, id, "-J")) {
			path = qi_xasprintf("%s/%s-J", dir, id);
			mq_msg_add_file(m, path);
			m->why = qi_xasprintf("%s holds deliveries Exim has not yet written into %s-H: carrying it "
					      "could deliver twice; let Exim run it once (exim -M %s) first", path, id, id);
			free(path);
		} else if (!data) {
			m->why = qi_xasprintf("%s/%s has no %s-D (data) file: Exim is still receiving it, or it "
					      "lost its body", dir, name, id);
		}
	}
	mq_dir_free(v, n);
	free(dir);
	return rc;
}

int mq_exim_scan(qi_handle *h, const char *spool, struct mq_list *out)
{
	char *input = qi_xasprintf("%s/input", spool);
	struct mq_dirent *v;
	size_t n;
	bool missing;
	int rc = mq_dir_list(h, input, &missing, &v, &n);
	free(input);
	if (rc == 0 && !missing)
		rc = exim_scan_dir(h, spool, "", out);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *name = v[i].name;
		if (S_ISDIR(v[i].mode) && name[1] == '\0' && isalnum((unsigned char)name[0]))
			rc = exim_scan_dir(h, spool, name, out);
	}
	mq_dir_free(v, n);
	return rc;
}

int mq_exim_read(qi_handle *h, struct mq_msg *m)
{
	return mq_msg_read_pair(h, m, mq_exim_parse);
}
