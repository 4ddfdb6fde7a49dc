/*
 * qmailq.c - qmail's queue in ROOT, as a takeover uses it: a message of
 * the old MTA handed to qmail-queue with its envelope, and the messages of
 * qmail's queue found again by their content when a rollback takes the
 * undelivered ones back.
 *
 * qmail-queue (qmail-queue(8)) reads the message on descriptor 0 and the
 * envelope on descriptor 1: "F" SENDER NUL, "T" RECIPIENT NUL for each
 * recipient, and a last NUL. It puts one line at the top of the message,
 * "Received: (qmail PID invoked by uid UID); DATE": what a carry hashes is
 * the message without that line, so that the copy is found again.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate/migrate.h"

/* What qmail-queue's exit codes mean (qmail-queue(8)). */
static const char *qq_exit_reason(int code)
{
	switch (code) {
	case 11: return "an address is too long";
	case 31: return "the mail server permanently refuses to send the message";
	case 51: return "out of memory";
	case 52: return "timeout";
	case 53: return "write error (is the disk full?)";
	case 54: return "cannot read the envelope or the message";
	case 55: return "cannot read a configuration file";
	case 56: return "problem making a network connection";
	case 61: return "problem with the qmail home directory";
	case 62: return "problem with the queue directory (are qmail's owners and modes right?)";
	case 63: return "problem with the queue's pid directory";
	case 64: return "problem with the queue's mess directory";
	case 65: return "problem with the queue's intd or todo directory";
	case 71: return "the mail server temporarily refuses to send the message";
	case 81: return "internal bug";
	case 91: return "envelope format error";
	default: return "unknown error";
	}
}

static int memfd_with(qi_handle *h, const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return qi_error_errno(h, "cannot make a memory file for qmail-queue");
	if (qi_write_all(fd, data, len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		qi_error_errno(h, "cannot write a memory file for qmail-queue");
		close(fd);
		return -1;
	}
	return fd;
}

int qq_inject(qi_handle *h, const char *qmail_home, const struct mq_msg *m)
{
	struct qi_buf env = { 0 };
	qi_buf_addf(&env, "F%s", m->sender ? m->sender : "");
	qi_buf_add(&env, "", 1);
	for (size_t i = 0; i < m->nrcpts; i++) {
		qi_buf_addf(&env, "T%s", m->rcpts[i]);
		qi_buf_add(&env, "", 1);
	}
	qi_buf_add(&env, "", 1);
	int in = memfd_with(h, "qinstall-message", m->content, m->len);
	int out = in < 0 ? -1 : memfd_with(h, "qinstall-envelope", env.data, env.len);
	qi_buf_free(&env);
	if (out < 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	char *prog = qi_xasprintf("%s/bin/qmail-queue", qmail_home);
	char *label = qi_xasprintf("%s (message %s)", prog, m->id);
	const char *argv[] = { prog, NULL };
	static const char *const env_none[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct qi_proc_spec spec = { .argv = argv, .env = env_none, .in_fd = in, .out_fd = out,
				     .chroot = qi_root_is_host(h) ? NULL : qi_root(h), .label = label,
				     .hint = "", .keep_error = true };
	int status = 0;
	int rc = qi_proc_run(h, &spec, &status);
	int err = errno;
	close(in);
	close(out);
	if (rc < 0) {
		if (status > 0 && WIFEXITED(status))
			rc = qi_error(h, "qmail-queue refused message %s (exit %d: %s)", m->id,
				      WEXITSTATUS(status), qq_exit_reason(WEXITSTATUS(status)));
		else
			rc = qi_error(h, "cannot run %s for message %s: %s", prog, m->id,
				      status < 0 ? strerror(err) : "it was killed");
	}
	free(label);
	free(prog);
	return rc;
}

/* The hash a carry records: of the message as given to qmail-queue. */
void qq_content_hash(const char *content, size_t len, char hex[QI_SHA256_HEX + 1])
{
	qi_sha256_buf(content, len, hex);
}

/* ---- finding the carried messages again ---- */

void qq_index_free(struct qq_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		for (size_t k = 0; k < ix->v[i].nfiles; k++)
			free(ix->v[i].files[k]);
		free(ix->v[i].files);
		free(ix->v[i].name);
	}
	free(ix->v);
	free(ix->vdoms);
	free(ix->locals);
	memset(ix, 0, sizeof(*ix));
}

static void entry_file(struct qq_entry *e, char *path)
{
	e->files = qi_xrealloc(e->files, (e->nfiles + 1) * sizeof(*e->files));
	e->files[e->nfiles++] = path;
}

/* PATH inside ROOT, when it is there: added to E's files; PATH, or NULL
 * (PATH freed). */
static const char *take_if_there(qi_handle *h, struct qq_entry *e, char *path)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) == 0) {
		entry_file(e, path);
		return path;
	}
	free(path);
	return NULL;
}

/* The first of A and B that is not NULL. */
static const char *either(const char *a, const char *b)
{
	return a ? a : b;
}

/* A recipient file (local/ or remote/: "T" to do, "D" done, each ending
 * in NUL): its entries to do and done added to E's. */
static void count_rcpts(qi_handle *h, const char *path, struct qq_entry *e)
{
	char *data = NULL;
	size_t len = 0;
	if (qi_root_read(h, path, &data, &len) < 0) {
		qi_clear_error(h);
		return;
	}
	for (size_t i = 0; i < len; i += strnlen(data + i, len - i) + 1) {
		e->todo += data[i] == 'T';
		e->done += data[i] == 'D';
	}
	free(data);
}

/* The hash of MESS without qmail-queue's first line, read in pieces (a
 * message may be of any size). 1 when the file is gone (qmail-send
 * finished with it meanwhile). */
static int hash_mess(qi_handle *h, const char *mess, char hex[QI_SHA256_HEX + 1])
{
	int fd = qi_root_open(h, mess, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			return 1;
		}
		return -1;
	}
	struct qi_digest d;
	int rc = qi_digest_init(h, &d, true, false);
	static const char mark[] = "Received: (qmail ";
	char buf[65536];
	bool first = true, skipping = false;
	ssize_t n;
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;
		if (first) {
			first = false;
			skipping = (size_t)n >= sizeof(mark) - 1 && memcmp(buf, mark, sizeof(mark) - 1) == 0;
		}
		if (skipping) {
			const char *nl = memchr(buf, '\n', (size_t)n);
			off = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
			skipping = !nl;
		}
		rc = qi_digest_update(h, &d, buf + off, (size_t)n - off);
	}
	if (rc == 0 && n < 0)
		rc = qi_error_errno(h, "cannot read %s%s", qi_root(h), mess);
	close(fd);
	char none[QI_SHA512_HEX + 1];
	if (rc == 0)
		rc = qi_digest_final(h, &d, hex, none);
	qi_digest_free(&d);
	return rc;
}

/* One message of the queue: Q/mess/SPLIT/NAME. */
static int index_one(qi_handle *h, const char *q, const char *split, const char *name,
		     struct qq_index *ix)
{
	char *mess = qi_xasprintf("%s/mess/%s/%s", q, split, name);
	char hash[QI_SHA256_HEX + 1];
	int rc = hash_mess(h, mess, hash);
	if (rc != 0) {
		free(mess);
		return rc < 0 ? -1 : 0;
	}
	ix->v = qi_xrealloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
	struct qq_entry *e = &ix->v[ix->n++];
	memset(e, 0, sizeof(*e));
	e->name = qi_xstrdup(name);
	memcpy(e->hash, hash, sizeof(hash));
	/* what qmail-send has not looked at yet (todo/ and intd/, split or
	 * not), then what it has: info/ and the recipients to do and done */
	e->todo_path = either(take_if_there(h, e, qi_xasprintf("%s/todo/%s", q, name)),
			 take_if_there(h, e, qi_xasprintf("%s/todo/%s/%s", q, split, name)));
	e->intd = either(take_if_there(h, e, qi_xasprintf("%s/intd/%s", q, name)),
			 take_if_there(h, e, qi_xasprintf("%s/intd/%s/%s", q, split, name)));
	e->unprocessed = e->todo_path || e->intd;
	e->info_path = take_if_there(h, e, qi_xasprintf("%s/info/%s/%s", q, split, name));
	e->info = e->info_path != NULL;
	for (int k = 0; k < 2; k++) {
		char *p = qi_xasprintf("%s/%s/%s/%s", q, k ? "remote" : "local", split, name);
		count_rcpts(h, p, e);
		*(k ? &e->remote : &e->local) = take_if_there(h, e, p);
	}
	take_if_there(h, e, qi_xasprintf("%s/bounce/%s", q, name));
	entry_file(e, mess);	/* last: qmail-send removes the message last too */
	e->mess = mess;
	return 0;
}

bool qq_undelivered(const struct qq_entry *e, size_t nrcpts)
{
	/* qmail-send removes a channel's file once its recipients are done,
	 * so only all of them still to do says nothing was delivered */
	return e->unprocessed || (e->info && e->done == 0 && e->todo == nrcpts);
}

int qq_index_load(qi_handle *h, const char *qmail_home, struct qq_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	for (int k = 0; k < 2; k++) {
		char *c = qi_xasprintf("%s/control/%s", qmail_home, k ? "locals" : "virtualdomains");
		if (qi_root_read(h, c, k ? &ix->locals : &ix->vdoms, NULL) < 0)
			qi_clear_error(h);	/* none: nothing rewritten */
		free(c);
	}
	char *q = qi_xasprintf("%s/queue", qmail_home);
	char *messdir = qi_xasprintf("%s/mess", q);
	int rc = 0;
	int fd = qi_root_open(h, messdir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		/* no queue: nothing of qmail's to find */
		qi_clear_error(h);
		goto out;
	}
	DIR *d = fdopendir(fd);
	struct dirent *de;
	while (d && rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *sub = qi_xasprintf("%s/%s", messdir, de->d_name);
		int sfd = qi_root_open(h, sub, O_RDONLY | O_DIRECTORY, 0);
		free(sub);
		if (sfd < 0) {
			qi_clear_error(h);
			continue;
		}
		DIR *sd = fdopendir(sfd);
		struct dirent *se;
		while (sd && rc == 0 && (se = readdir(sd)))
			if (se->d_name[0] != '.')
				rc = index_one(h, q, de->d_name, se->d_name, ix);
		if (sd)
			closedir(sd);
	}
	if (d)
		closedir(d);
out:
	free(messdir);
	free(q);
	return rc;
}

/* ---- envelopes ---- */

/* Whether the control file TEXT (one entry a line) has the line KEY:
 * compared without case, as qmail's constmap does; with COLON, only the
 * part of each line before its first ':' is compared, and *VALUE is what
 * follows it (a pointer into TEXT, up to the line's end, *VLEN bytes). */
static bool control_has(const char *text, const char *key, size_t klen, bool colon, const char **value,
			size_t *vlen)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		size_t kl = len;
		if (colon) {
			const char *c = memchr(l, ':', len);
			if (!c)
				continue;
			kl = (size_t)(c - l);
		}
		if (kl == klen && strncasecmp(l, key, klen) == 0) {
			if (colon) {
				*value = l + kl + 1;
				*vlen = len - kl - 1;
			}
			return true;
		}
	}
	return false;
}

char *qq_unrewrite(const char *addr, const char *vdoms, const char *locals)
{
	const char *at = strrchr(addr, '@');
	if (!at || !vdoms)
		return qi_xstrdup(addr);
	const char *dom = at + 1;
	size_t dlen = strlen(dom);
	if (locals && control_has(locals, dom, dlen, false, NULL, NULL))
		return qi_xstrdup(addr);
	/* qmail-send's lookup: the domain, each ".suffix" of it, then "" */
	for (size_t i = 0; i <= dlen; i++) {
		if (i != 0 && i != dlen && dom[i] != '.')
			continue;
		const char *prefix;
		size_t plen;
		if (!control_has(vdoms, dom + i, dlen - i, true, &prefix, &plen))
			continue;
		if (plen == 0 || strncmp(addr, prefix, plen) != 0 || addr[plen] != '-')
			break;
		return qi_xstrdup(addr + plen + 1);
	}
	return qi_xstrdup(addr);
}

/* The NUL-terminated entries of a queue file PATH: "F" and "T" (or with
 * ALL "D" too) into M; LOCAL: its recipients are local ones. */
static int read_entries(qi_handle *h, const char *path, bool all, bool local, const char *vdoms,
			const char *locals, struct mq_msg *m)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0)
		return 1;	/* gone: qmail-send finished with it */
	if (qi_root_read(h, path, &data, &len) < 0)
		return -1;
	for (size_t i = 0; i < len; i += strnlen(data + i, len - i) + 1) {
		const char *f = data + i;
		if (*f == 'F' && !m->sender) {
			m->sender = qi_xstrdup(strcmp(f + 1, "#@[]") == 0 ? "" : f + 1);
		} else if (*f == 'T' || (all && *f == 'D')) {
			char *a = local ? qq_unrewrite(f + 1, vdoms, locals) : qi_xstrdup(f + 1);
			mq_msg_add_rcpt(m, a, strlen(a));
			free(a);
		}
	}
	free(data);
	return 0;
}

int qq_envelope(qi_handle *h, const struct qq_entry *e, const char *vdoms, const char *locals, bool all,
		struct mq_msg *m)
{
	int rc;
	if (e->todo_path)	/* what qmail-queue wrote: no rewriting yet */
		rc = read_entries(h, e->todo_path, all, false, NULL, NULL, m);
	else if (e->info_path) {
		rc = read_entries(h, e->info_path, all, false, NULL, NULL, m);
		if (rc == 0 && e->local)
			rc = read_entries(h, e->local, all, true, vdoms, locals, m) < 0 ? -1 : 0;
		if (rc == 0 && e->remote)
			rc = read_entries(h, e->remote, all, false, NULL, NULL, m) < 0 ? -1 : 0;
	} else
		rc = 1;	/* intd/ only, or gone */
	if (rc == 0 && !m->sender)
		m->sender = qi_xstrdup("");
	if (rc != 0)
		mq_msg_unparse(m);
	return rc;
}

/* Whether each of the N addresses A is one of the M addresses B. */
static bool all_among(char *const *a, size_t n, char *const *b, size_t m)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < m && strcmp(a[i], b[k]) != 0)
			k++;
		if (k == m)
			return false;
	}
	return true;
}

struct qq_entry *qq_find(qi_handle *h, struct qq_index *ix, const char *hash, const char *sender,
			 char *const *rcpts, size_t nrcpts)
{
	for (size_t i = 0; i < ix->n; i++) {
		struct qq_entry *e = &ix->v[i];
		if (e->taken || strcmp(e->hash, hash) != 0)
			continue;
		if (!sender)
			return e;
		/* the sender, and the recipients qmail still names: todo/ has
		 * them all; once qmail-send took it on, a finished channel's
		 * file is gone, so they need only be among those given */
		struct mq_msg env = { 0 };
		int rc = qq_envelope(h, e, ix->vdoms, ix->locals, true, &env);
		if (rc < 0)
			qi_clear_error(h);
		bool same = rc == 0 && strcmp(env.sender, sender) == 0 &&
			    all_among(env.rcpts, env.nrcpts, rcpts, nrcpts) &&
			    (!e->todo_path || env.nrcpts == nrcpts);	/* todo/: all of them */
		mq_msg_free(&env);
		if (same)
			return e;
	}
	return NULL;
}

int qq_remove(qi_handle *h, struct qq_entry *e)
{
	for (size_t i = 0; i < e->nfiles; i++) {
		const char *name;
		int dfd = qi_root_parent(h, e->files[i], &name);
		if (dfd < 0 || (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)) {
			char *full = qi_root_path(h, e->files[i]);
			qi_error_errno(h, "cannot remove qmail's copy %s", full);
			free(full);
			if (dfd >= 0)
				close(dfd);
			return -1;
		}
		close(dfd);
	}
	e->taken = e->removed = true;
	return 0;
}
