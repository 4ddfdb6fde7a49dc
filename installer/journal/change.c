/*
 * change.c - the journal's write-ahead change functions (qi_write_file,
 * qi_mkdir, ... qi_rename), batches and external operations. Each change
 * is planned when called (checked, reported, its --diff added), then
 * queued and made by qi_journal_flush: before-images into the store, the
 * intents committed, the acts (see journal.h for the order and why). The
 * --check and batch overlay lets later changes see the planned ones.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"

#define BATCH_MAX_OPS 2048
#define BATCH_MAX_BYTES (64u << 20)

enum op {
	OP_FILE, OP_MKDIR, OP_SYMLINK, OP_FIFO, OP_CHMOD, OP_CHOWN, OP_REMOVE, OP_RENAME,
};
static const char *const op_names[] = {
	"file", "mkdir", "symlink", "fifo", "chmod", "chown", "remove", "rename",
};

/* One planned change waiting to be made. */
struct qi_change {
	enum op op;
	char *path, *path2;		/* path2: rename's TO */
	struct qi_image before, before2, after;
	void *data;			/* file content (copied), or NULL */
	size_t len;
	char *src;			/* or: a host file to copy */
	int64_t id;			/* its row, once the intent is committed */
};

/* ------------------------------------------------------------------ */
/* The overlay and the queue                                            */
/* ------------------------------------------------------------------ */

static void change_free(struct qi_change *q)
{
	free(q->path);
	free(q->path2);
	free(q->data);
	free(q->src);
	qi_image_clear(&q->before);
	qi_image_clear(&q->before2);
	qi_image_clear(&q->after);
}

/* Empty the queue and the overlay (their memory is kept). */
static void queue_clear(struct qi_journal *j)
{
	for (size_t i = 0; i < j->nqueue; i++)
		change_free(&j->queue[i]);
	j->nqueue = j->queue_bytes = 0;
	qi_imagemap_clear(&j->ov);
}

void qi_journal_discard(struct qi_journal *j)
{
	queue_clear(j);
	free(j->queue);
	j->queue = NULL;
	j->capqueue = 0;
	qi_imagemap_free(&j->ov);
}

/* What PATH is, counting the changes planned but not made yet. */
static int effective_image(qi_handle *h, const char *path, bool want_hash, struct qi_image *img)
{
	struct qi_journal *j = h->journal;
	if (j && j->ov.n) {
		struct qi_image_entry *e = qi_imagemap_get(&j->ov, path);
		if (e) {
			memset(img, 0, sizeof(*img));
			qi_image_copy(img, &e->img);
			return 0;
		}
		char buf[PATH_MAX];
		snprintf(buf, sizeof(buf), "%s", path);
		for (char *s = strrchr(buf, '/'); s && s > buf; s = strrchr(buf, '/')) {
			*s = '\0';
			e = qi_imagemap_get(&j->ov, buf);
			if (e && e->img.type != QI_FT_DIR) {
				memset(img, 0, sizeof(*img));
				return 0;
			}
		}
	}
	return qi_image_path(h, path, want_hash, img);
}

/* ------------------------------------------------------------------ */
/* Reporting a change                                                   */
/* ------------------------------------------------------------------ */

static void report_change(qi_handle *h, const struct qi_change *q)
{
	json_t *c = json_object();
	json_object_set_new(c, "op", json_string(op_names[q->op]));
	json_object_set_new(c, "path", json_string(q->path));
	if (q->op == OP_RENAME)
		json_object_set_new(c, "to", json_string(q->path2));
	if (q->op == OP_SYMLINK)
		json_object_set_new(c, "target", json_string(q->after.target));
	if (q->op != OP_REMOVE && q->op != OP_RENAME && q->op != OP_SYMLINK) {
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)q->after.mode);
		json_object_set_new(c, "mode", json_string(mode));
		json_object_set_new(c, "uid", json_integer(q->after.uid));
		json_object_set_new(c, "gid", json_integer(q->after.gid));
	}
	json_object_set_new(c, "before", json_string(qi_ftype_name(q->before.type)));
	json_t *arr = json_object_get(h->result, "changes");
	if (!arr) {
		arr = json_array();
		json_object_set_new(h->result, "changes", arr);
	}
	json_array_append_new(arr, c);
	qi_set_changed(h);
	h->journal->nchanges++;
	if (q->op == OP_RENAME)
		qi_debug(h, "rename %s -> %s", q->path, q->path2);
	else
		qi_debug(h, "%s %s", op_names[q->op], q->path);
}

/* The content of a regular file inside ROOT for --diff (NUL-terminated),
 * or NULL when it cannot be read. */
static char *diff_content(qi_handle *h, const char *path, size_t *len)
{
	int fd = path[0] == '/' ? qi_root_open(h, path, O_RDONLY | O_NOFOLLOW, 0) : -1;
	qi_clear_error(h);
	if (fd < 0)
		return NULL;
	struct qi_buf b = { 0 };
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		qi_buf_add(&b, buf, (size_t)n);
	close(fd);
	*len = b.len;
	return b.data;
}

char *qi_journal_diff_text(qi_handle *h, const char *path, const struct qi_image *img,
			   const void *data, size_t len)
{
	if (img->type == QI_FT_ABSENT)
		return NULL;
	char *desc = qi_image_describe(img);
	if (img->type != QI_FT_REG)
		return desc;
	/* /etc/shadow and its kind: a diff is for reading, often in logs,
	 * so what others may not read on the system is not shown there. */
	if (!(img->mode & S_IROTH)) {
		char *out = qi_xasprintf("(%s; not readable by others: content not shown)\n", desc);
		free(desc);
		return out;
	}
	char *content = NULL;
	size_t clen = 0;
	if (data) {
		content = qi_xmalloc(len + 1);
		memcpy(content, data, len);
		content[len] = '\0';
		clen = len;
	} else if (path && img->size <= 65536) {
		content = diff_content(h, path, &clen);
	}
	char *out;
	if (content && clen <= 65536 && memchr(content, '\0', clen) == NULL)
		out = qi_xasprintf("(%s)\n%s", desc, content);
	else
		out = qi_xasprintf("(%s; binary or large content not shown)\n", desc);
	free(content);
	free(desc);
	return out;
}

/* The --diff "after" of a file whose new content is in a host file. */
static char *diff_text_from(qi_handle *h, const struct qi_change *q)
{
	if (q->after.type != QI_FT_REG || q->after.size > 65536)
		return NULL;
	FILE *f = fopen(q->src, "rb");
	if (!f)
		return NULL;
	char *buf = qi_xmalloc((size_t)q->after.size + 1);
	size_t n = fread(buf, 1, (size_t)q->after.size, f);
	fclose(f);
	char *a = qi_journal_diff_text(h, NULL, &q->after, buf, n);
	free(buf);
	return a;
}

static void add_diff(qi_handle *h, const struct qi_change *q)
{
	if (!h->diff)
		return;
	if (q->op == OP_RENAME) {
		char *b1 = qi_journal_diff_text(h, q->path, &q->before, NULL, 0);
		qi_diff_add(h, q->path, b1, NULL);
		char *b2 = qi_journal_diff_text(h, q->path2, &q->before2, NULL, 0);
		char *a2 = qi_journal_diff_text(h, q->path, &q->after, NULL, 0);
		qi_diff_add(h, q->path2, b2, a2);
		free(b1);
		free(b2);
		free(a2);
		return;
	}
	char *b = qi_journal_diff_text(h, q->path, &q->before, NULL, 0);
	char *a = q->src ? diff_text_from(h, q) : NULL;
	if (!a)
		a = qi_journal_diff_text(h, q->src ? NULL : q->path, &q->after, q->data, q->len);
	qi_diff_add(h, q->path, b, a);
	free(b);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Planning a change                                                    */
/* ------------------------------------------------------------------ */

static int need_run(qi_handle *h)
{
	if (!h->journal || !h->journal->in_run)
		return qi_error(h, "no run: changes inside the root must be made between "
			       "qi_run_begin and qi_run_commit (this is a bug)");
	return 0;
}

/* Is PATH a symlink that leads (inside ROOT) to a directory? */
static bool link_to_dir(qi_handle *h, const char *path)
{
	char saved[sizeof(h->errmsg)];
	enum qi_errkind kind = h->errkind;
	memcpy(saved, h->errmsg, sizeof(saved));
	int fd = qi_root_open(h, path, O_PATH | O_DIRECTORY, 0);
	memcpy(h->errmsg, saved, sizeof(saved));
	h->errkind = kind;
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The directory that will hold PATH must exist (or be planned). */
static int check_parent(qi_handle *h, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == path)
		return 0;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	struct qi_image img;
	if (effective_image(h, parent, false, &img) < 0) {
		char *full = qi_root_path(h, parent);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		return -1;
	}
	enum qi_ftype t = img.type;
	qi_image_clear(&img);
	if (t == QI_FT_DIR)
		return 0;
	if (t == QI_FT_LNK && link_to_dir(h, parent))
		return 0;
	char *full = qi_root_path(h, parent);
	qi_error(h, "cannot make %s: %s %s", path, full,
		 t == QI_FT_ABSENT ? "does not exist (make the directory first)" : "is not a directory");
	free(full);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The journal's own state: out of every change's reach                 */
/* ------------------------------------------------------------------ */

static bool same_id(const struct qi_fileid *id, const struct stat *st)
{
	return id->dev == st->st_dev && id->ino == st->st_ino;
}

/* What the clean PATH, which its name does not tie to the journal,
 * reaches of it through a symlink or a mount: one of the journal's
 * directories itself, or something inside the state directory (DFD, the
 * directory holding PATH, or one of its parents up to ROOT, is it). Only
 * once the state was opened, in a run; --check writes nothing. */
static enum qi_state_part state_alias(qi_handle *h, const char *path)
{
	struct qi_journal *j = h->journal;
	struct stat st, top;
	const char *name;
	if (!j->have_dirs || fstat(h->rootfd, &top) < 0)
		return QI_STATE_OUTSIDE;
	int fd = qi_root_parent(h, path, &name);
	if (fd < 0)
		return QI_STATE_OUTSIDE;	/* no parent yet: nothing of the journal's there */
	enum qi_state_part part = QI_STATE_OUTSIDE;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		for (int i = 0; i < 3; i++)
			if (same_id(&j->dirs[i], &st))
				part = i < 2 ? QI_STATE_ABOVE : QI_STATE_TOP;
	/* up from the parent: ".." is the real parent, whatever the path said */
	for (int depth = 0; part == QI_STATE_OUTSIDE && depth < PATH_MAX / 2 && fstat(fd, &st) == 0; depth++) {
		if (same_id(&j->dirs[2], &st))
			part = QI_STATE_OWN;
		if (st.st_dev == top.st_dev && st.st_ino == top.st_ino)
			break;
		int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			break;
		close(fd);
		fd = up;
	}
	close(fd);
	return part;
}

/* The one rule (journal.h), on every change planned, whoever asks: /var,
 * /var/lib and the state directory may be made where missing, never
 * changed; nothing below the state directory is made or changed but a
 * record written whole; the same for a path that reaches them another
 * way. */
static int guard_state(qi_handle *h, const struct qi_change *q)
{
	const char *paths[2] = { q->path, q->op == OP_RENAME ? q->path2 : NULL };
	for (int i = 0; i < 2 && paths[i]; i++) {
		enum qi_state_part part = qi_state_part(paths[i]);
		bool alias = false;
		if (part == QI_STATE_OUTSIDE) {
			part = state_alias(h, paths[i]);
			alias = part != QI_STATE_OUTSIDE;
		}
		bool making = q->op == OP_MKDIR && q->before.type == QI_FT_ABSENT;
		if (part == QI_STATE_OUTSIDE || (making && !alias && (part == QI_STATE_ABOVE || part == QI_STATE_TOP)) ||
		    (part == QI_STATE_RECORD && q->op == OP_FILE))
			continue;
		static const char *const verbs[] = {
			[OP_FILE] = "write", [OP_MKDIR] = "make the directory", [OP_SYMLINK] = "make the symlink",
			[OP_FIFO] = "make the FIFO", [OP_CHMOD] = "chmod", [OP_CHOWN] = "chown",
			[OP_REMOVE] = "remove", [OP_RENAME] = "rename",
		};
		const char *verb = q->op == OP_MKDIR && q->before.type != QI_FT_ABSENT ? "change the directory"
				   : i ? "rename onto" : verbs[q->op];
		char *full = qi_root_path(h, paths[i]);
		qi_error_kind(h, QI_ERR_USAGE, "refusing to %s %s: it is %s%s, which no run may change "
			      "(qinstall's journal could no longer undo its runs); choose another path",
			      verb, full, alias ? "(through a symlink or a mount) " : "", qi_state_part_name(part));
		free(full);
		return -1;
	}
	return 0;
}

/* A change is planned: report it, then make it now or queue it. Takes
 * ownership of Q's contents. */
static int submit(qi_handle *h, struct qi_change *q)
{
	struct qi_journal *j = h->journal;
	if (guard_state(h, q) < 0) {
		change_free(q);
		return -1;
	}
	report_change(h, q);
	add_diff(h, q);
	if (h->check) {
		qi_imagemap_set(&j->ov, q->path, q->op == OP_RENAME ? &(struct qi_image){ 0 } : &q->after);
		if (q->op == OP_RENAME)
			qi_imagemap_set(&j->ov, q->path2, &q->after);
		change_free(q);
		return 0;
	}
	if (j->nqueue == j->capqueue) {
		j->capqueue = j->capqueue ? 2 * j->capqueue : 64;
		j->queue = qi_xrealloc(j->queue, j->capqueue * sizeof(*j->queue));
	}
	j->queue[j->nqueue++] = *q;
	j->queue_bytes += q->len + (size_t)(q->src ? q->after.size : 0);
	if (j->batch && q->op != OP_RENAME && q->op != OP_REMOVE &&
	    j->nqueue < BATCH_MAX_OPS && j->queue_bytes < BATCH_MAX_BYTES) {
		qi_imagemap_set(&j->ov, q->path, &q->after);
		return 0;
	}
	return qi_journal_flush(h);
}

/* Before planning a change of PATH inside a batch: a path already queued
 * is made first, so that every queued change sees the live state. */
static int settle(qi_handle *h, const char *path)
{
	struct qi_journal *j = h->journal;
	if (!h->check && j->nqueue && qi_imagemap_get(&j->ov, path))
		return qi_journal_flush(h);
	return 0;
}

/* Common start of every change: a run, a clean path, the current image. */
static int plan_start(qi_handle *h, const char *path, char **clean, struct qi_image *before,
		      bool want_hash)
{
	*clean = NULL;
	memset(before, 0, sizeof(*before));
	if (need_run(h) < 0)
		return -1;
	*clean = qi_path_clean(h, path);
	if (!*clean)
		return -1;
	if (strcmp(*clean, "/") == 0) {
		free(*clean);
		*clean = NULL;
		return qi_error_kind(h, QI_ERR_USAGE, "qinstall does not change the root directory itself");
	}
	if (settle(h, *clean) < 0 || check_parent(h, *clean) < 0 ||
	    effective_image(h, *clean, want_hash, before) < 0) {
		if (!qi_errmsg(h)[0]) {
			char *full = qi_root_path(h, *clean);
			qi_error_errno(h, "cannot look at %s", full);
			free(full);
		}
		free(*clean);
		*clean = NULL;
		return -1;
	}
	return 0;
}

static uid_t owner_uid(uid_t u) { return u == (uid_t)-1 ? 0 : u; }
static gid_t owner_gid(gid_t g) { return g == (gid_t)-1 ? 0 : g; }

static int bad_mode(qi_handle *h, const char *path, mode_t mode)
{
	return qi_error_kind(h, QI_ERR_USAGE, "%s: mode %o is not a permission mode (0 to 07777)",
			     path, (unsigned)mode);
}

static int refuse(qi_handle *h, const char *clean, const char *what, const struct qi_image *before)
{
	char *full = qi_root_path(h, clean);
	qi_error(h, "cannot %s %s: it is a %s", what, full, qi_ftype_name(before->type));
	free(full);
	return -1;
}

/* Plan a new object at PATH (file, directory, symlink, fifo). */
static int plan_object(qi_handle *h, enum op op, const char *path, struct qi_image *after,
		       void *data, size_t len, const char *src)
{
	char *clean;
	struct qi_change q = { .op = op };
	if (plan_start(h, path, &clean, &q.before, op == OP_FILE) < 0) {
		free(data);
		qi_image_clear(after);
		return -1;
	}
	q.path = clean;
	q.after = *after;
	q.data = data;
	q.len = len;
	q.src = src ? qi_xstrdup(src) : NULL;
	if (op == OP_MKDIR && q.before.type == QI_FT_LNK && link_to_dir(h, clean)) {
		/* like dpkg: a symlink to a directory (/var/run -> /run) is kept */
		qi_debug(h, "mkdir %s: kept, a symlink to a directory", clean);
		change_free(&q);
		return 0;
	}
	if ((q.before.type == QI_FT_DIR && op != OP_MKDIR) || q.before.type == QI_FT_OTHER) {
		refuse(h, clean, "replace", &q.before);
		change_free(&q);
		return -1;
	}
	if (qi_image_equal(&q.before, &q.after)) {
		qi_debug(h, "%s %s: already so", op_names[op], clean);
		change_free(&q);
		return 0;
	}
	return submit(h, &q);
}

int qi_write_file(qi_handle *h, const char *path, const void *data, size_t len,
		  mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_REG, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid), .size = (int64_t)len };
	qi_sha256_buf(data, len, after.hash);
	void *copy = qi_xmalloc(len);
	if (len)
		memcpy(copy, data, len);
	return plan_object(h, OP_FILE, path, &after, copy, len, NULL);
}

int qi_write_file_from(qi_handle *h, const char *path, const char *src_host_path,
		       mode_t mode, uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = QI_FT_REG, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid) };
	int fd = open(src_host_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		qi_error_errno(h, "cannot read %s (the content for %s)", src_host_path, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return qi_error(h, "%s (the content for %s) is not a regular file", src_host_path, path);
	}
	if (qi_sha256_fd(fd, after.hash, &after.size) < 0) {
		qi_error_errno(h, "cannot read %s (the content for %s)", src_host_path, path);
		close(fd);
		return -1;
	}
	close(fd);
	return plan_object(h, OP_FILE, path, &after, NULL, 0, src_host_path);
}

/* A new directory or FIFO (TYPE) with MODE and owner. */
static int plan_node(qi_handle *h, enum op op, enum qi_ftype type, const char *path, mode_t mode,
		     uid_t uid, gid_t gid)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	struct qi_image after = { .type = type, .mode = mode, .uid = owner_uid(uid),
				  .gid = owner_gid(gid) };
	return plan_object(h, op, path, &after, NULL, 0, NULL);
}

int qi_mkdir(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	return plan_node(h, OP_MKDIR, QI_FT_DIR, path, mode, uid, gid);
}

int qi_mkdir_p(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (need_run(h) < 0)
		return -1;
	char *clean = qi_path_clean(h, path);
	if (!clean)
		return -1;
	for (char *s = strchr(clean + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct qi_image img;
		int rc = effective_image(h, clean, false, &img);
		if (rc == 0 && img.type == QI_FT_ABSENT)
			rc = qi_mkdir(h, clean, mode, uid, gid);
		else if (rc == 0 && img.type != QI_FT_DIR &&
			 !(img.type == QI_FT_LNK && link_to_dir(h, clean)))
			rc = refuse(h, clean, "make a directory inside", &img);
		else if (rc < 0)
			qi_error_errno(h, "cannot look at %s", clean);
		qi_image_clear(&img);
		*s = '/';
		if (rc < 0) {
			free(clean);
			return -1;
		}
	}
	int rc = strcmp(clean, "/") == 0 ? 0 : qi_mkdir(h, clean, mode, uid, gid);
	free(clean);
	return rc;
}

int qi_symlink(qi_handle *h, const char *path, const char *target)
{
	if (!target || !*target || strlen(target) >= PATH_MAX)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: a symlink needs a target", path);
	struct qi_image after = { .type = QI_FT_LNK, .mode = 0777, .target = qi_xstrdup(target),
				  .size = (int64_t)strlen(target) };
	/* a new link belongs to whoever qinstall runs as: root, or the caller */
	after.uid = geteuid();
	after.gid = getegid();
	return plan_object(h, OP_SYMLINK, path, &after, NULL, 0, NULL);
}

int qi_mkfifo(qi_handle *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	return plan_node(h, OP_FIFO, QI_FT_FIFO, path, mode, uid, gid);
}

/* Whether a chmod or chown of BEFORE may be planned: what it is (the
 * error set when not). */
static int meta_allowed(qi_handle *h, enum op op, const char *clean, const struct qi_image *before)
{
	if (before->type == QI_FT_ABSENT) {
		char *full = qi_root_path(h, clean);
		qi_error(h, "cannot %s %s: it does not exist", op_names[op], full);
		free(full);
		return -1;
	}
	if (op == OP_CHMOD && before->type == QI_FT_LNK)
		return refuse(h, clean, "chmod", before);
	if (before->type == QI_FT_OTHER)
		return refuse(h, clean, op_names[op], before);
	return 0;
}

/* chmod and chown: the same object with other metadata. */
static int plan_meta(qi_handle *h, enum op op, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char *clean;
	struct qi_change q = { .op = op };
	if (plan_start(h, path, &clean, &q.before, false) < 0)
		return -1;
	q.path = clean;
	if (meta_allowed(h, op, clean, &q.before) < 0) {
		change_free(&q);
		return -1;
	}
	qi_image_copy(&q.after, &q.before);
	if (op == OP_CHMOD) {
		q.after.mode = mode;
	} else {
		q.after.uid = uid == (uid_t)-1 ? q.before.uid : uid;
		q.after.gid = gid == (gid_t)-1 ? q.before.gid : gid;
	}
	if (q.after.mode == q.before.mode && q.after.uid == q.before.uid && q.after.gid == q.before.gid) {
		change_free(&q);
		return 0;
	}
	/* the content stays: hash it for verify (the store needs nothing) */
	if (q.before.type == QI_FT_REG) {
		struct qi_image hashed;
		if (effective_image(h, clean, true, &hashed) == 0 && hashed.type == QI_FT_REG) {
			memcpy(q.before.hash, hashed.hash, sizeof(q.before.hash));
			memcpy(q.after.hash, hashed.hash, sizeof(q.after.hash));
			q.before.size = q.after.size = hashed.size;
		}
		qi_image_clear(&hashed);
	}
	return submit(h, &q);
}

int qi_chmod(qi_handle *h, const char *path, mode_t mode)
{
	if (mode & ~07777u)
		return bad_mode(h, path, mode);
	return plan_meta(h, OP_CHMOD, path, mode, 0, 0);
}

int qi_chown(qi_handle *h, const char *path, uid_t uid, gid_t gid)
{
	return plan_meta(h, OP_CHOWN, path, 0, uid, gid);
}

/* Before a remove or a rename is planned, what is queued is made, so that
 * the plan sees the tree as it is (a directory about to get files is not
 * empty). */
static int flush_before(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	return h->check ? 0 : qi_journal_flush(h);
}

/* Is the directory CLEAN empty (or unreadable)? */
static bool dir_is_empty(qi_handle *h, const char *clean)
{
	const char *name;
	int dfd = qi_root_parent(h, clean, &name);
	int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool empty = true;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return empty;
}

int qi_remove(qi_handle *h, const char *path)
{
	char *clean;
	struct qi_change q = { .op = OP_REMOVE };
	if (flush_before(h) < 0)
		return -1;
	if (plan_start(h, path, &clean, &q.before, true) < 0)
		return -1;
	q.path = clean;
	int rc = 0;
	if (q.before.type == QI_FT_ABSENT) {
		change_free(&q);
		return 0;
	}
	if (q.before.type == QI_FT_OTHER) {
		rc = refuse(h, clean, "remove", &q.before);
	} else if (q.before.type == QI_FT_DIR && !h->check && !dir_is_empty(h, clean)) {
		/* only an empty directory; say so now rather than half-way */
		char *full = qi_root_path(h, clean);
		rc = qi_error(h, "cannot remove the directory %s: it is not empty (remove what is in it first)",
			      full);
		free(full);
	}
	if (rc < 0) {
		change_free(&q);
		return -1;
	}
	return submit(h, &q);
}

/* Whether the rename planned in Q may be made (the error set when not):
 * 1 when it would change nothing. */
static int rename_allowed(qi_handle *h, const struct qi_change *q)
{
	if (strcmp(q->path, q->path2) == 0)
		return 1;
	size_t n = strlen(q->path);
	if (strncmp(q->path2, q->path, n) == 0 && q->path2[n] == '/')
		return qi_error(h, "cannot rename %s into itself (%s)", q->path, q->path2);
	if (q->before2.type == QI_FT_DIR || q->before2.type == QI_FT_OTHER)
		return refuse(h, q->path2, "rename over", &q->before2);
	return 0;
}

int qi_rename(qi_handle *h, const char *from, const char *to)
{
	char *clean;
	struct qi_change q = { .op = OP_RENAME };
	if (flush_before(h) < 0)
		return -1;
	if (plan_start(h, from, &clean, &q.before, true) < 0)
		return -1;
	q.path = clean;
	int rc;
	if (q.before.type == QI_FT_ABSENT) {
		char *full = qi_root_path(h, clean);
		rc = qi_error(h, "cannot rename %s: it does not exist", full);
		free(full);
	} else {
		rc = plan_start(h, to, &q.path2, &q.before2, true);
		if (rc == 0)
			rc = rename_allowed(h, &q);
	}
	if (rc != 0) {
		change_free(&q);
		return rc < 0 ? -1 : 0;
	}
	qi_image_copy(&q.after, &q.before);
	return submit(h, &q);
}

/* ------------------------------------------------------------------ */
/* Making queued changes                                                */
/* ------------------------------------------------------------------ */

/* Save a regular file's content into the store (the before-image). */
static int save_before(qi_handle *h, const char *path, const struct qi_image *img, bool sync,
		       bool *added)
{
	*added = false;
	if (img->type != QI_FT_REG)
		return 0;
	/* An entry of that name is reused only when its bytes are sound
	 * (qi_store_put_fd checks): a damaged one is replaced, never trusted. */
	int fd = qi_root_open(h, path, O_RDONLY | O_NOFOLLOW | O_NOCTTY, 0);
	if (fd < 0) {
		int e = errno;
		char *full = qi_root_path(h, path);
		errno = e;
		qi_error_errno(h, "cannot save the before-image of %s", full);
		free(full);
		return -1;
	}
	int rc = qi_store_put_fd(h, h->journal->storefd, fd, img->hash, sync, added);
	close(fd);
	if (rc < 0) {
		char *full = qi_root_path(h, path);
		qi_error_prefix(h, "%s", full);
		free(full);
	}
	return rc;
}

static sqlite3_stmt *prepare_insert(qi_handle *h)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db,
			       "INSERT INTO changes(run, op, path, path2, state,"
			       " b_type, b_mode, b_uid, b_gid, b_size, b_hash, b_target,"
			       " c_type, c_mode, c_uid, c_gid, c_size, c_hash, c_target,"
			       " a_type, a_mode, a_uid, a_gid, a_size, a_hash, a_target,"
			       " kind, description, undo_data)"
			       " VALUES(?1,?2,?3,?4,'intent', ?5,?6,?7,?8,?9,?10,?11,"
			       " ?12,?13,?14,?15,?16,?17,?18, ?19,?20,?21,?22,?23,?24,?25, ?26,?27,?28)",
			       -1, &st, NULL) != SQLITE_OK) {
		qi_db_fail(h, "cannot record a change");
		return NULL;
	}
	return st;
}

/* Rename FROM to TO (Q's paths); DFD/NAME is FROM's spot. */
static int execute_rename(qi_handle *h, const struct qi_change *q, int dfd, const char *name)
{
	const char *name2;
	int dfd2 = qi_root_parent(h, q->path2, &name2);
	int rc = 0;
	if (dfd2 < 0 || renameat(dfd, name, dfd2, name2) < 0) {
		char *f1 = qi_root_path(h, q->path), *f2 = qi_root_path(h, q->path2);
		qi_error_errno(h, "cannot rename %s to %s", f1, f2);
		free(f1);
		free(f2);
		rc = -1;
	} else {
		qi_journal_note_dev(h->journal, dfd2);
	}
	if (dfd2 >= 0)
		close(dfd2);
	return rc;
}

/* Make Q's path what Q's after-image says; LIVE is what is there. */
static int execute_make(qi_handle *h, const struct qi_change *q, int dfd, const char *name,
			struct qi_image *live)
{
	/* content already there: only the metadata changes */
	if (live->type == QI_FT_REG && q->after.type == QI_FT_REG && q->before.type == QI_FT_REG &&
	    strcmp(q->before.hash, q->after.hash) == 0)
		memcpy(live->hash, q->before.hash, sizeof(live->hash));
	struct qi_content content = { .data = q->data, .len = q->len, .fd = -1 };
	if (q->src && (content.fd = open(q->src, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return qi_error_errno(h, "cannot read %s (the content for %s)", q->src, q->path);
	struct qi_spot at = { .dfd = dfd, .name = name, .path = q->path, .id = q->id };
	int rc = qi_journal_make_image(h, &at, &q->after, live, &content);
	if (content.fd >= 0)
		close(content.fd);
	return rc;
}

/* Make one queued change whose intent is committed. */
static int execute_one(qi_handle *h, struct qi_change *q)
{
	const char *name;
	int dfd = qi_root_parent(h, q->path, &name);
	if (dfd < 0) {
		char *full = qi_root_path(h, q->path);
		qi_error_errno(h, "cannot reach the directory of %s", full);
		free(full);
		return -1;
	}
	qi_journal_note_dev(h->journal, dfd);
	struct qi_image live;
	if (qi_image_at(dfd, name, false, &live) < 0) {
		char *full = qi_root_path(h, q->path);
		qi_error_errno(h, "cannot look at %s", full);
		free(full);
		close(dfd);
		return -1;
	}
	int rc = q->op == OP_RENAME ? execute_rename(h, q, dfd, name)
				    : execute_make(h, q, dfd, name, &live);
	qi_image_clear(&live);
	close(dfd);
	return rc;
}

/* Step 1: the before-images of the queue into the store, durably. */
static int store_befores(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	bool many = j->nqueue > 1, added_any = false;
	for (size_t i = 0; i < j->nqueue; i++) {
		struct qi_change *q = &j->queue[i];
		bool added = false;
		if (save_before(h, q->path, &q->before, !many, &added) < 0)
			return -1;
		added_any |= added;
		if (q->op == OP_RENAME && save_before(h, q->path2, &q->before2, !many, &added) < 0)
			return -1;
		added_any |= added;
	}
	if (added_any && ((many && syncfs(j->storefd) < 0) || fsync(j->storefd) < 0))
		return qi_error_errno(h, "cannot sync the journal's store");
	return 0;
}

/* Step 2: the intents of the queue, in one transaction; each change gets
 * its row's id. */
static int record_intents(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (qi_db_exec(h, "BEGIN IMMEDIATE") < 0)
		return -1;
	sqlite3_stmt *st = prepare_insert(h);
	int rc = st ? 0 : -1;
	for (size_t i = 0; st && i < j->nqueue; i++) {
		struct qi_change *q = &j->queue[i];
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, j->run);
		sqlite3_bind_text(st, 2, op_names[q->op], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, q->path, -1, SQLITE_STATIC);
		if (q->path2)
			sqlite3_bind_text(st, 4, q->path2, -1, SQLITE_STATIC);
		qi_db_bind_image(st, 5, &q->before, true);
		qi_db_bind_image(st, 12, &q->before2, q->op == OP_RENAME);
		qi_db_bind_image(st, 19, &q->after, true);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = qi_db_fail(h, "cannot record a change");
			break;
		}
		q->id = sqlite3_last_insert_rowid(j->db);
	}
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = qi_db_fail(h, "cannot commit the changes' intents");
	if (rc < 0)
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int qi_journal_flush(qi_handle *h)
{
	struct qi_journal *j = h->journal;
	if (!j->nqueue)
		return 0;
	int rc = store_befores(h);
	if (rc == 0)
		rc = record_intents(h);
	/* step 3: the acts */
	for (size_t i = 0; i < j->nqueue && rc == 0; i++)
		rc = execute_one(h, &j->queue[i]);
	queue_clear(j);
	return rc;
}

int qi_batch_begin(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	h->journal->batch = true;
	return 0;
}

int qi_batch_end(qi_handle *h)
{
	if (need_run(h) < 0)
		return -1;
	h->journal->batch = false;
	if (h->check)
		return 0;
	return qi_journal_flush(h);
}

/* ------------------------------------------------------------------ */
/* External operations                                                  */
/* ------------------------------------------------------------------ */

int qi_external_begin(qi_handle *h, const char *kind, const char *description,
		      const char *undo_data, int64_t *change_id)
{
	*change_id = 0;
	if (need_run(h) < 0)
		return -1;
	if (!qi_journal_find_undo(kind))
		return qi_error(h, "no undo handler is registered for '%s' (this is a bug)", kind);
	struct qi_journal *j = h->journal;
	json_t *c = json_object();
	json_object_set_new(c, "op", json_string("external"));
	json_object_set_new(c, "kind", json_string(kind));
	json_object_set_new(c, "description", json_string(description ? description : ""));
	json_array_append_new(json_object_get(h->result, "changes"), c);
	qi_set_changed(h);
	j->nchanges++;
	if (h->check)
		return 0;
	if (qi_journal_flush(h) < 0)
		return -1;
	sqlite3_stmt *st = prepare_insert(h);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, j->run);
	sqlite3_bind_text(st, 2, "external", -1, SQLITE_STATIC);
	for (int i = 5; i <= 25; i++)
		sqlite3_bind_null(st, i);
	sqlite3_bind_text(st, 26, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 27, description ? description : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 28, undo_data ? undo_data : "", -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot record an external change");
	*change_id = sqlite3_last_insert_rowid(j->db);
	return 0;
}

int qi_external_done(qi_handle *h, int64_t change_id)
{
	if (need_run(h) < 0)
		return -1;
	if (h->check)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->journal->db, "UPDATE changes SET state='done' WHERE id=?1 AND run=?2",
			       -1, &st, NULL) != SQLITE_OK)
		return qi_db_fail(h, "cannot mark an external change done");
	sqlite3_bind_int64(st, 1, change_id);
	sqlite3_bind_int64(st, 2, h->journal->run);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return qi_db_fail(h, "cannot mark an external change done");
	return 0;
}
