/*
 * applyfile.c - the list of operations read by `qinstall apply FILE`.
 *
 * One operation per line; fields separated by blanks; "#" at the start of
 * a field starts a comment that runs to the end of the line:
 *
 *   mkdir   PATH MODE OWNER:GROUP
 *   file    PATH MODE OWNER:GROUP SOURCE
 *   symlink PATH TARGET
 *   fifo    PATH MODE OWNER:GROUP
 *   chmod   PATH MODE
 *   chown   PATH OWNER:GROUP
 *   remove  PATH
 *   rename  FROM TO
 *
 * PATH, FROM and TO are absolute paths inside ROOT; MODE is octal (at most
 * 07777); OWNER and GROUP are names (looked up later, in ROOT) or numbers.
 * The parser checks the form, and that no line touches the journal's own
 * state (journal.h): every error names FILE:LINE.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"

static const struct {
	const char *name;
	enum qi_apply_op op;
	int nfields;		/* after the keyword */
} ops[] = {
	{ "mkdir", QI_AOP_MKDIR, 3 },
	{ "file", QI_AOP_FILE, 4 },
	{ "symlink", QI_AOP_SYMLINK, 2 },
	{ "fifo", QI_AOP_FIFO, 3 },
	{ "chmod", QI_AOP_CHMOD, 2 },
	{ "chown", QI_AOP_CHOWN, 2 },
	{ "remove", QI_AOP_REMOVE, 1 },
	{ "rename", QI_AOP_RENAME, 2 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

const char *qi_apply_op_name(enum qi_apply_op op)
{
	for (size_t i = 0; i < NOPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

void qi_apply_free(struct qi_apply_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->lines[i].path);
		free(list->lines[i].arg);
		free(list->lines[i].owner);
		free(list->lines[i].group);
	}
	free(list->lines);
	list->lines = NULL;
	list->n = 0;
}

static int line_error(qi_handle *h, const char *file, unsigned lineno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int line_error(qi_handle *h, const char *file, unsigned lineno, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return qi_error_kind(h, QI_ERR_USAGE, "%s:%u: %s", file, lineno, msg);
}

static bool parse_mode(const char *s, mode_t *mode)
{
	size_t n = strlen(s);
	if (n < 1 || n > 5)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (unsigned long)(s[i] - '0');
	}
	if (v > 07777)
		return false;
	*mode = (mode_t)v;
	return true;
}

/* A user or group field: a name of the usual characters, or a number. */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || (c == '$' && i == n - 1)))
			return false;
	}
	return s[0] != '-';
}

static int parse_owner(qi_handle *h, const char *file, unsigned lineno, const char *f,
		       struct qi_apply_line *l)
{
	const char *colon = strchr(f, ':');
	if (!colon || strchr(colon + 1, ':'))
		return line_error(h, file, lineno, "'%s' is not OWNER:GROUP", f);
	size_t on = (size_t)(colon - f);
	if (!valid_name(f, on) || !valid_name(colon + 1, strlen(colon + 1)))
		return line_error(h, file, lineno, "'%s' is not OWNER:GROUP (names or numbers)", f);
	l->owner = strndup(f, on);
	l->group = qi_xstrdup(colon + 1);
	if (!l->owner)
		abort();
	return 0;
}

static int parse_path(qi_handle *h, const char *file, unsigned lineno, const char *f, char **out)
{
	if (f[0] != '/')
		return line_error(h, file, lineno, "'%s' is not an absolute path (paths inside the root start with /)", f);
	char *clean = qi_path_clean(h, f);
	if (!clean) {
		char msg[sizeof(((qi_handle *)0)->errmsg)];
		snprintf(msg, sizeof(msg), "%s", qi_errmsg(h));
		return line_error(h, file, lineno, "%s", msg);
	}
	if (strcmp(clean, "/") == 0) {
		free(clean);
		return line_error(h, file, lineno, "the root directory itself cannot be changed");
	}
	*out = clean;
	return 0;
}

/* The journal's own state is no apply list's (journal.h): a line that
 * would change it is refused here, before any run. A mkdir of /var,
 * /var/lib or the state directory is left to resolve(), which knows
 * whether it changes anything. */
static int check_state_path(qi_handle *h, const char *file, const struct qi_apply_line *l,
			    const char *path)
{
	enum qi_state_part part = qi_state_part(path);
	if (part == QI_STATE_OUTSIDE ||
	    (l->op == QI_AOP_MKDIR && (part == QI_STATE_ABOVE || part == QI_STATE_TOP)))
		return 0;
	return line_error(h, file, l->lineno, "%s %s: %s is %s, which an apply list may not change "
			  "(qinstall's journal could no longer undo its runs); leave the line out",
			  qi_apply_op_name(l->op), l->path, path, qi_state_part_name(part));
}

static int parse_line(qi_handle *h, const char *file, unsigned lineno, char *text,
		      struct qi_apply_line *l)
{
	char *fields[8];
	int nf = 0;
	char *p = text;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		if (nf == 8)
			return line_error(h, file, lineno, "too many fields");
		fields[nf++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nf == 0)
		return 1;	/* blank or comment */
	size_t k;
	for (k = 0; k < NOPS; k++)
		if (strcmp(fields[0], ops[k].name) == 0)
			break;
	if (k == NOPS)
		return line_error(h, file, lineno, "unknown operation '%.40s' (mkdir, file, symlink, fifo, "
				  "chmod, chown, remove, rename)", fields[0]);
	if (nf - 1 != ops[k].nfields) {
		static const char *const usage[] = {
			[QI_AOP_MKDIR] = "mkdir PATH MODE OWNER:GROUP",
			[QI_AOP_FILE] = "file PATH MODE OWNER:GROUP SOURCE",
			[QI_AOP_SYMLINK] = "symlink PATH TARGET",
			[QI_AOP_FIFO] = "fifo PATH MODE OWNER:GROUP",
			[QI_AOP_CHMOD] = "chmod PATH MODE",
			[QI_AOP_CHOWN] = "chown PATH OWNER:GROUP",
			[QI_AOP_REMOVE] = "remove PATH",
			[QI_AOP_RENAME] = "rename FROM TO",
		};
		return line_error(h, file, lineno, "%s takes %d field%s, not %d: %s", ops[k].name,
				  ops[k].nfields, ops[k].nfields == 1 ? "" : "s", nf - 1, usage[ops[k].op]);
	}
	memset(l, 0, sizeof(*l));
	l->op = ops[k].op;
	l->lineno = lineno;
	if (parse_path(h, file, lineno, fields[1], &l->path) < 0)
		return -1;
	switch (l->op) {
	case QI_AOP_MKDIR:
	case QI_AOP_FIFO:
	case QI_AOP_FILE:
		if (!parse_mode(fields[2], &l->mode))
			return line_error(h, file, lineno, "'%.20s' is not an octal mode (0 to 7777)", fields[2]);
		if (parse_owner(h, file, lineno, fields[3], l) < 0)
			return -1;
		if (l->op == QI_AOP_FILE)
			l->arg = qi_xstrdup(fields[4]);
		break;
	case QI_AOP_CHMOD:
		if (!parse_mode(fields[2], &l->mode))
			return line_error(h, file, lineno, "'%.20s' is not an octal mode (0 to 7777)", fields[2]);
		break;
	case QI_AOP_CHOWN:
		if (parse_owner(h, file, lineno, fields[2], l) < 0)
			return -1;
		break;
	case QI_AOP_SYMLINK:
		if (strlen(fields[2]) >= 4096)
			return line_error(h, file, lineno, "the symlink target is too long");
		l->arg = qi_xstrdup(fields[2]);
		break;
	case QI_AOP_RENAME:
		if (parse_path(h, file, lineno, fields[2], &l->arg) < 0)
			return -1;
		break;
	case QI_AOP_REMOVE:
		break;
	}
	if (check_state_path(h, file, l, l->path) < 0 ||
	    (l->op == QI_AOP_RENAME && check_state_path(h, file, l, l->arg) < 0))
		return -1;
	return 0;
}

int qi_apply_parse(qi_handle *h, const char *filename, const char *text, size_t len,
		   struct qi_apply_list *list)
{
	list->lines = NULL;
	list->n = 0;
	size_t cap = 0;
	unsigned lineno = 0;
	size_t pos = 0;
	while (pos < len) {
		lineno++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (memchr(text + pos, '\0', n)) {
			qi_apply_free(list);
			return line_error(h, filename, lineno, "a NUL byte (this is not a text file)");
		}
		char *line = strndup(text + pos, n);
		if (!line)
			abort();
		if (list->n == cap) {
			cap = cap ? 2 * cap : 16;
			list->lines = qi_xrealloc(list->lines, cap * sizeof(*list->lines));
		}
		struct qi_apply_line *l = &list->lines[list->n];
		memset(l, 0, sizeof(*l));
		int rc = parse_line(h, filename, lineno, line, l);
		free(line);
		if (rc < 0) {
			free(l->path);
			free(l->arg);
			free(l->owner);
			free(l->group);
			qi_apply_free(list);
			return -1;
		}
		if (rc == 0)
			list->n++;
		pos += n + (nl ? 1 : 0);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Making a parsed list: qi_apply_file                                 */
/* ------------------------------------------------------------------ */

struct resolved {
	uid_t uid;
	gid_t gid;
	char *source;	/* host path of a file's content */
};

/* A mkdir of /var, /var/lib or the state directory may only say what is
 * there already (or what qinstall makes when it is missing: mode 0755,
 * owned by the user running qinstall): anything else would change it. */
static int check_state_mkdir(qi_handle *h, const char *file, const struct qi_apply_line *l,
			     const struct resolved *r)
{
	enum qi_state_part part = qi_state_part(l->path);
	if (l->op != QI_AOP_MKDIR || part == QI_STATE_OUTSIDE)
		return 0;
	struct qi_image live, want = { .type = QI_FT_DIR, .mode = l->mode, .uid = r->uid, .gid = r->gid };
	if (qi_image_path(h, l->path, false, &live) < 0)
		return qi_error_errno(h, "%s:%u: cannot look at %s", file, l->lineno, l->path);
	if (live.type == QI_FT_ABSENT)
		live = (struct qi_image){ .type = QI_FT_DIR, .mode = QI_STATE_DIR_MODE, .uid = geteuid(),
					  .gid = getegid() };
	bool same = qi_image_equal(&live, &want);
	char *is = qi_image_describe(&live), *would = qi_image_describe(&want);
	qi_image_clear(&live);
	int rc = same ? 0 : line_error(h, file, l->lineno, "mkdir %s: %s is %s, which an apply list may not "
				       "change: it is (or qinstall makes it) %s, and this line would make it %s; "
				       "leave the line out, or give the mode and owner it has",
				       l->path, l->path, qi_state_part_name(part), is, would);
	free(is);
	free(would);
	return rc;
}

/* Everything that can be checked before the run: owners in ROOT, sources
 * readable regular files, the journal's directories left as they are. Errors
 * name FILE:LINE. */
static int resolve(qi_handle *h, const char *file, const struct qi_apply_list *list,
		   struct resolved *res)
{
	char *copy = qi_xstrdup(strcmp(file, "-") == 0 ? "." : file);
	const char *dir = dirname(copy);
	int rc = 0;
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		const struct qi_apply_line *l = &list->lines[i];
		res[i].uid = res[i].gid = 0;
		res[i].source = NULL;
		if (l->owner && (qi_root_uid(h, l->owner, &res[i].uid) < 0 ||
				 qi_root_gid(h, l->group, &res[i].gid) < 0)) {
			qi_error_prefix(h, "%s:%u", file, l->lineno);
			rc = -1;
		} else if (l->op == QI_AOP_FILE) {
			res[i].source = l->arg[0] == '/' ? qi_xstrdup(l->arg) :
				qi_xasprintf("%s/%s", dir, l->arg);
			/* Streamed into the store during the run: checked now (a
			 * regular file, opened without blocking), any size. */
			if (access(res[i].source, R_OK) < 0)
				rc = qi_error_errno(h, "%s:%u: cannot read the source %s", file, l->lineno,
						    res[i].source);
			else if (qi_input_check(h, QI_ERR_FAILED, res[i].source, "source", 0) < 0)
				rc = qi_error_prefix(h, "%s:%u", file, l->lineno);
		}
		if (rc == 0)
			rc = check_state_mkdir(h, file, l, &res[i]);
	}
	free(copy);
	return rc;
}

static int apply_line(qi_handle *h, const struct qi_apply_line *l, const struct resolved *r)
{
	switch (l->op) {
	case QI_AOP_MKDIR: return qi_mkdir(h, l->path, l->mode, r->uid, r->gid);
	case QI_AOP_FILE: return qi_write_file_from(h, l->path, r->source, l->mode, r->uid, r->gid);
	case QI_AOP_SYMLINK: return qi_symlink(h, l->path, l->arg);
	case QI_AOP_FIFO: return qi_mkfifo(h, l->path, l->mode, r->uid, r->gid);
	case QI_AOP_CHMOD: return qi_chmod(h, l->path, l->mode);
	case QI_AOP_CHOWN: return qi_chown(h, l->path, r->uid, r->gid);
	case QI_AOP_REMOVE: return qi_remove(h, l->path);
	case QI_AOP_RENAME: return qi_rename(h, l->path, l->arg);
	}
	return qi_error(h, "unknown operation (this is a bug)");
}

int qi_apply_file(qi_handle *h, const char *file)
{
	char *text;
	size_t len;
	if (qi_read_input(h, file, "operation list", 0, &text, &len) < 0)
		return -1;
	struct qi_apply_list list;
	int rc = qi_apply_parse(h, file, text, len, &list);
	free(text);
	if (rc < 0)
		return -1;
	struct resolved *res = qi_xmalloc((list.n ? list.n : 1) * sizeof(*res));
	memset(res, 0, (list.n ? list.n : 1) * sizeof(*res));
	rc = resolve(h, file, &list, res);
	char *what = qi_xasprintf("apply %s", file);
	if (rc == 0)
		rc = qi_run_begin(h, what);
	if (rc == 0) {
		rc = qi_batch_begin(h);
		for (size_t i = 0; i < list.n && rc == 0; i++) {
			rc = apply_line(h, &list.lines[i], &res[i]);
			if (rc < 0)
				qi_error_prefix(h, "%s:%u", file, list.lines[i].lineno);
		}
		if (rc == 0)
			rc = qi_batch_end(h);
		if (rc == 0)
			rc = qi_run_commit(h);
		else
			qi_run_abort(h);
	}
	free(what);
	for (size_t i = 0; i < list.n; i++)
		free(res[i].source);
	free(res);
	qi_apply_free(&list);
	return rc;
}
