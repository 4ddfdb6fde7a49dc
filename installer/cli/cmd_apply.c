/*
 * cmd_apply.c - `qinstall apply FILE`: a list of file operations made as
 * one journaled run (see applyfile.c for the format).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "journal_priv.h"

/* Read the whole list (a host path, or "-" for stdin). */
static int read_list(qi_handle *h, const char *file, char **text, size_t *len)
{
	int fd = strcmp(file, "-") == 0 ? dup(STDIN_FILENO) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return qi_error_errno(h, "cannot read the operation list %s", file);
	struct qi_buf b = { 0 };
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			qi_error_errno(h, "cannot read the operation list %s", file);
			close(fd);
			qi_buf_free(&b);
			return -1;
		}
		qi_buf_add(&b, buf, (size_t)n);
	}
	close(fd);
	if (!b.data)
		qi_buf_add(&b, "", 0);
	*text = b.data;
	*len = b.len;
	return 0;
}

struct resolved {
	uid_t uid;
	gid_t gid;
	char *source;	/* host path of a file's content */
};

/* Everything that can be checked before the run: owners in ROOT, sources
 * readable. Errors name FILE:LINE. */
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
			if (access(res[i].source, R_OK) < 0)
				rc = qi_error_errno(h, "%s:%u: cannot read the source %s", file, l->lineno,
						    res[i].source);
		}
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

static int run_apply(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc != 1)
		return qi_error_kind(h, QI_ERR_USAGE, "apply needs exactly one FILE (the operation list; - for stdin)");
	const char *file = argv[0];
	char *text;
	size_t len;
	if (read_list(h, file, &text, &len) < 0)
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
	if (rc == 0) {
		json_t *changes = json_object_get(qi_result(h), "changes");
		size_t n = json_array_size(changes);
		size_t i;
		json_t *c;
		/* a long list is summed up unless -v asks for every line */
		bool list_all = qi_verbosity(h) > 0 || (qi_verbosity(h) == 0 && n <= 100);
		json_array_foreach(changes, i, c) {
			if (!list_all)
				break;
			const char *to = json_string_value(json_object_get(c, "to"));
			qi_out(cli, "%s %s%s%s\n", json_string_value(json_object_get(c, "op")),
			       json_string_value(json_object_get(c, "path")), to ? " -> " : "", to ? to : "");
		}
		if (qi_check(h))
			qi_set_msg(h, "%zu change%s would be made (--check: nothing written)", n, n == 1 ? "" : "s");
		else if (n)
			qi_set_msg(h, "%zu change%s made as run %lld (undo: qinstall --root %s rollback)",
				   n, n == 1 ? "" : "s", (long long)qi_run_id(h), qi_root(h));
		else
			qi_set_msg(h, "nothing to change");
		qi_out(cli, "%s\n", qi_msg(h));
		if (!list_all && n && qi_verbosity(h) == 0)
			qi_out(cli, "(-v lists every change)\n");
	}
	free(what);
	for (size_t i = 0; i < list.n; i++)
		free(res[i].source);
	free(res);
	qi_apply_free(&list);
	return rc;
}

const struct qi_command qi_cmd_apply = {
	.name = "apply",
	.args = "FILE",
	.summary = "apply a list of file operations as one journaled run",
	.description =
		"FILE lists one operation per line (\"#\" starts a comment; - reads stdin):\n"
		"  mkdir   PATH MODE OWNER:GROUP\n"
		"  file    PATH MODE OWNER:GROUP SOURCE\n"
		"  symlink PATH TARGET\n"
		"  fifo    PATH MODE OWNER:GROUP\n"
		"  chmod   PATH MODE\n"
		"  chown   PATH OWNER:GROUP\n"
		"  remove  PATH\n"
		"  rename  FROM TO\n"
		"PATHs are absolute inside the root; owners are names in the root's\n"
		"passwd/group, or numbers; a relative SOURCE is relative to FILE's\n"
		"directory. The whole list is checked before anything is changed; the\n"
		"changes form one run that `qinstall rollback` undoes.",
	.options = NULL,
	.run = run_apply,
};
