/*
 * fuzz_statedir.c - libFuzzer target for opening the journal's state
 * (journal.c). The input bytes build, in a fresh temporary directory, a
 * root whose var, var/lib, var/lib/qinstall, state.db, state.db-wal,
 * state.db-shm, lock and store are each one of: a directory, a regular
 * file (state.db: empty, a real journal, a truncated one, or input bytes),
 * a symlink to a bait inside the root, a symlink out of the root (to a
 * bait, or to nothing), a FIFO, or absent. Then `qinstall status` and
 * `qinstall --check rollback` (qi_status, qi_rollback: the read-only
 * opens) run on it. Invariants:
 *   - nothing outside the root, nor the baits inside it, is ever touched
 *     (every entry's type, mode, size, mtime and content, and no new one);
 *   - a call that succeeds saw a proper state: each directory on the way
 *     a real directory (or absent, with nothing below), state.db a
 *     non-empty regular file, -wal, -shm and lock regular files, store a
 *     directory (or absent);
 *   - a call that fails leaves a message;
 *   - nothing blocks (a FIFO is never opened for reading): 20 s at most.
 * Seeds: tests/fuzz/statedir-seeds (replayed by `make check`), one byte
 * per component in the order above (kind = byte % 6: directory, file,
 * link inside, link outside, FIFO, absent; byte / 6 picks a variant),
 * then bytes for state.db's content.
 */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum kind { K_DIR, K_FILE, K_LINK_IN, K_LINK_OUT, K_FIFO, K_ABSENT };

/* The components, in input order; the first three are the way there. */
static const char *const parts[] = {
	"var", "var/lib", "var/lib/qinstall", "var/lib/qinstall/state.db",
	"var/lib/qinstall/state.db-wal", "var/lib/qinstall/state.db-shm",
	"var/lib/qinstall/lock", "var/lib/qinstall/store",
};
#define NPARTS (sizeof(parts) / sizeof(parts[0]))
#define STORE (NPARTS - 1)
#define DB 3

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of PATH (a host path of the temporary directory). */
static int mkdirs(const char *path)
{
	char *p = qi_xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	check(fd >= 0);
	check(qi_write_all(fd, data, len) == 0);
	close(fd);
}

/* A real journal's state.db (one run of one change), made once. */
static struct qi_buf journal_db;

static void make_journal_db(void)
{
	if (journal_db.data)
		return;
	char tmpl[] = "/tmp/qinstall-fuzz-statedir.XXXXXX";
	check(mkdtemp(tmpl) != NULL);
	char *lib = qi_xasprintf("%s/var/lib", tmpl);
	check(mkdirs(lib) == 0);
	free(lib);
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	check(qi_set_root(h, tmpl) == 0);
	check(qi_run_begin(h, "fuzz") == 0);
	check(qi_write_file(h, "/f", "x\n", 2, 0644, geteuid(), getegid()) == 0);
	check(qi_run_commit(h) == 0);
	qi_free(h);
	char *db = qi_xasprintf("%s/var/lib/qinstall/state.db", tmpl);
	int fd = open(db, O_RDONLY | O_CLOEXEC);
	check(fd >= 0 && qi_buf_read_fd(&journal_db, fd) == 0);
	close(fd);
	free(db);
	rm_tree(tmpl);
}

/* A bait tree at DIR: a journal to be tempted by. */
static void make_bait(const char *dir)
{
	static const char *const empty[] = { "lock", "state.db-wal", "state.db-shm" };
	char *p = qi_xasprintf("%s/var/lib/qinstall/store", dir);
	check(mkdirs(p) == 0);
	free(p);
	p = qi_xasprintf("%s/var/lib/qinstall/state.db", dir);
	write_file(p, journal_db.data, journal_db.len);
	free(p);
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		p = qi_xasprintf("%s/var/lib/qinstall/%s", dir, empty[i]);
		write_file(p, "", 0);
		free(p);
	}
}

/* ---- a snapshot of a tree: every entry, as lines ---- */

static struct qi_buf *snap;

static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	qi_buf_addf(snap, "%s %o %lld %lld.%09ld", path, (unsigned)st->st_mode, (long long)st->st_size,
		    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (S_ISREG(st->st_mode)) {
		char hex[QI_SHA256_HEX + 1];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		check(fd >= 0 && qi_sha256_fd(fd, hex, NULL) == 0);
		close(fd);
		qi_buf_addf(snap, " %s", hex);
	}
	qi_buf_add(snap, "\n", 1);
	return 0;
}

static char *snapshot(const char *dir)
{
	struct qi_buf b = { 0 };
	snap = &b;
	check(nftw(dir, snap_entry, 16, FTW_PHYS) == 0);
	qi_buf_add(&b, "", 1);
	return b.data;
}

/* ---- the tree from the input ---- */

struct input {
	const uint8_t *data;
	size_t size, pos;
};

static uint8_t next_byte(struct input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : (uint8_t)K_ABSENT;
}

/* The content of a regular state.db: VARIANT picks it. */
static void write_db(struct input *in, const char *path, unsigned variant)
{
	switch (variant % 4) {
	case 0:
		write_file(path, "", 0);
		break;
	case 1:
		write_file(path, journal_db.data, journal_db.len);
		break;
	case 2: {
		size_t cut = (size_t)next_byte(in) * 64;
		write_file(path, journal_db.data, cut < journal_db.len ? cut : journal_db.len / 2);
		break;
	}
	default: {
		size_t n = in->size - in->pos < 8192 ? in->size - in->pos : 8192;
		write_file(path, in->data + in->pos, n);
		in->pos += n;
	}
	}
}

/* Make component I under ROOT (D is the temporary directory) as the
 * input says; its kind. */
static enum kind make_part(struct input *in, const char *d, const char *root, size_t i)
{
	uint8_t b = next_byte(in);
	enum kind k = (enum kind)(b % 6);
	unsigned variant = b / 6;
	char *path = qi_xasprintf("%s/%s", root, parts[i]);
	switch (k) {
	case K_DIR:
		check(mkdir(path, 0755) == 0);
		break;
	case K_FILE:
		if (i == DB)
			write_db(in, path, variant);
		else
			write_file(path, "", 0);
		break;
	case K_LINK_IN: {
		/* relative, to the same part of ROOT/inside */
		struct qi_buf t = { 0 };
		for (const char *s = strchr(parts[i], '/'); s; s = strchr(s + 1, '/'))
			qi_buf_add(&t, "../", 3);
		qi_buf_addf(&t, "inside/%s", parts[i]);
		check(symlink(t.data, path) == 0);
		qi_buf_free(&t);
		break;
	}
	case K_LINK_OUT: {
		char *t = variant % 2 ? qi_xasprintf("%s/outside/missing-%zu", d, i)
				      : qi_xasprintf("%s/outside/%s", d, parts[i]);
		check(symlink(t, path) == 0);
		free(t);
		break;
	}
	case K_FIFO:
		check(mkfifo(path, 0644) == 0);
		break;
	case K_ABSENT:
		break;
	}
	free(path);
	return k;
}

/* What a successful open saw must have been a proper state. */
static void check_proper(const char *root)
{
	for (size_t i = 0; i < NPARTS; i++) {
		char *path = qi_xasprintf("%s/%s", root, parts[i]);
		struct stat st;
		int rc = lstat(path, &st);
		free(path);
		if (rc < 0) {
			check(errno == ENOENT);
			if (i < 3)
				return;		/* nothing below it */
			continue;
		}
		if (i < 3 || i == STORE)
			check(S_ISDIR(st.st_mode));
		else
			check(S_ISREG(st.st_mode) && (i != DB || st.st_size > 0));
	}
}

static void run(const char *root, bool rollback)
{
	qi_handle *h = qi_new();
	qi_set_verbosity(h, -1);
	check(qi_set_root(h, root) == 0);
	qi_set_check(h, rollback);
	int rc = rollback ? qi_rollback(h, 0) : qi_status(h);
	if (rc == 0)
		check_proper(root);
	else
		check(qi_errmsg(h)[0] != '\0');
	qi_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	make_journal_db();
	char d[] = "/tmp/qinstall-fuzz-statedir.XXXXXX";
	check(mkdtemp(d) != NULL);
	char *outside = qi_xasprintf("%s/outside", d), *root = qi_xasprintf("%s/root", d);
	char *inside = qi_xasprintf("%s/inside", root);
	make_bait(outside);
	make_bait(inside);
	struct input in = { data, size, 0 };
	bool way = true;	/* every directory so far is a real one */
	for (size_t i = 0; i < NPARTS; i++) {
		if (!way) {
			next_byte(&in);
			continue;
		}
		way = make_part(&in, d, root, i) == K_DIR || i >= 3;
	}
	char *out0 = snapshot(outside), *in0 = snapshot(inside);
	alarm(20);
	run(root, false);
	run(root, true);
	alarm(0);
	char *out1 = snapshot(outside), *in1 = snapshot(inside);
	check(strcmp(out0, out1) == 0);
	check(strcmp(in0, in1) == 0);
	free(out0);
	free(out1);
	free(in0);
	free(in1);
	rm_tree(d);
	free(outside);
	free(root);
	free(inside);
	return 0;
}
