/*
 * validrcptto.c - control/validrcptto.cdb of the validrcptto patch
 * (netqmail-1.05-validrcptto.cdb): the recipients qmail-smtpd accepts at
 * RCPT time, built from what ROOT delivers to. The patch looks up the
 * lower-cased address ADDR@DOMAIN, then, for each '-' of ADDR from the
 * right, PREFIX-default@DOMAIN, then @DOMAIN; a key's data is not read.
 * So the keys are, for each domain of control/locals (control/me when
 * there is no locals):
 *
 *   NAME@DOMAIN, NAME-default@DOMAIN   each mail user of the password file
 *                                      (qmail delivers NAME-ext there too),
 *                                      and each system user qmail-getpw
 *                                      delivers to (uid from 1000, a home
 *                                      of its own)
 *   NAME@DOMAIN                        each ~alias/.qmail-NAME (':' in the
 *                                      file name is a '.' of the address)
 *   @DOMAIN                            ~alias/.qmail-default (a catch-all)
 *   each line of control/validrcptto.local ([mail] valid_rcpt): ADDRESS,
 *   @DOMAIN, or a bare NAME (NAME@ each domain)
 *
 * The cdb is made by assign.c's writer and written through the journal.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"
#include "mailusers/pwfile.h"

struct keyset {
	char **v;
	size_t n;
};

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* K with S (malloc'd, now K's) appended; K stays NULL-terminated. */
static void push(struct keyset *k, char *s)
{
	k->v = qi_xrealloc(k->v, (k->n + 2) * sizeof(*k->v));
	k->v[k->n++] = s;
	k->v[k->n] = NULL;
}

static void key_add(struct keyset *k, char *key)
{
	lower(key);
	push(k, key);
}

/* NAME at each domain (NAME "" : @DOMAIN). */
static void add_each(struct keyset *k, char *const *domains, const char *name)
{
	for (size_t d = 0; domains[d]; d++)
		key_add(k, qi_xasprintf("%s@%s", name, domains[d]));
}

/* The lines of TEXT that are not blank or a comment, trimmed. */
static char **text_lines(const char *text)
{
	char **v = qi_xmalloc(sizeof(*v));
	size_t n = 0;
	while (text && *text) {
		size_t len = strcspn(text, "\n");
		const char *s = text, *e = text + len;
		text += len + (text[len] == '\n');
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		v = qi_xrealloc(v, (n + 2) * sizeof(*v));
		v[n] = qi_xmalloc((size_t)(e - s) + 1);
		memcpy(v[n], s, (size_t)(e - s));
		v[n++][e - s] = '\0';
	}
	v[n] = NULL;
	return v;
}

void qi_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int qi_validrcptto_keys(qi_handle *h, const char *domains, const char *pw, size_t pwlen,
			const char *const *aliases, const char *local, char ***keys)
{
	*keys = NULL;
	char **dom = text_lines(domains);
	if (!dom[0]) {
		qi_strv_free(dom);
		return qi_error(h, "no mail domain for validrcptto.cdb: control/locals and control/me "
				"are empty or missing (provision with --domain DOMAIN)");
	}
	for (size_t d = 0; dom[d]; d++)
		lower(dom[d]);
	struct keyset k = { qi_xmalloc(sizeof(char *)), 0 };
	k.v[0] = NULL;
	struct qi_popdb db;
	qi_popdb_parse(&db, pw ? pw : "", pw ? pwlen : 0);
	for (size_t i = 0; i < db.n; i++)
		if (db.lines[i].entry) {
			char *ext = qi_xasprintf("%s-default", db.lines[i].login);
			add_each(&k, dom, db.lines[i].login);
			add_each(&k, dom, ext);
			free(ext);
		}
	qi_popdb_free(&db);
	for (size_t i = 0; aliases && aliases[i]; i++) {
		char *name = qi_xstrdup(strcmp(aliases[i], "default") == 0 ? "" : aliases[i]);
		for (char *c = name; *c; c++)
			if (*c == ':')
				*c = '.';
		if (*name || strcmp(aliases[i], "default") == 0)
			add_each(&k, dom, name);
		free(name);
	}
	char **extra = text_lines(local);
	for (size_t i = 0; extra[i]; i++) {
		if (strchr(extra[i], '@'))
			key_add(&k, qi_xstrdup(extra[i]));
		else
			add_each(&k, dom, extra[i]);
	}
	qi_strv_free(extra);
	qi_strv_free(dom);
	qsort(k.v, k.n, sizeof(*k.v), cmp);
	size_t w = 0;
	for (size_t i = 0; i < k.n; i++) {
		if (w && strcmp(k.v[w - 1], k.v[i]) == 0)
			free(k.v[i]);
		else
			k.v[w++] = k.v[i];
	}
	k.v[w] = NULL;
	*keys = k.v;
	return 0;
}

/* ROOT's PATH, or NULL when it is not there (an error only for trouble). */
static int read_optional(qi_handle *h, const char *path, char **text, size_t *len)
{
	struct stat st;
	*text = NULL;
	*len = 0;
	if (qi_root_lstat(h, path, &st) < 0)
		return errno == ENOENT ? 0 : qi_error_errno(h, "cannot look at %s", path);
	return qi_root_read(h, path, text, len);
}

/* The names of DIR's .qmail-* files, without ".qmail-", appended to K
 * (none when DIR is not there). */
static int alias_names(qi_handle *h, const char *dir, struct keyset *k)
{
	struct stat st;
	if (qi_root_lstat(h, dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	int fd = qi_root_open(h, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qi_error_errno(h, "cannot list %s", dir);
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".qmail-", 7) == 0 && e->d_name[7])
			push(k, qi_xstrdup(e->d_name + 7));
	closedir(d);
	return 0;
}

/* The system users qmail-getpw delivers to, appended to K with their
 * -default: ROOT's passwd users with a uid from 1000 (not nobody's
 * 65534) whose home is a directory they own; the name "default" (it would
 * be the catch-all) is left out. Without them validrcptto would refuse
 * mail qmail delivers. */
static int system_users(qi_handle *h, struct keyset *k)
{
	char *text = NULL;
	size_t len = 0;
	if (read_optional(h, "/etc/passwd", &text, &len) < 0)
		return -1;
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, text ? text : "", len);
	for (size_t i = 0; i < db.n; i++) {
		const struct qi_pwline *l = &db.lines[i];
		struct stat st;
		if (l->type != QI_PWL_ENTRY || l->id < 1000 || l->id == 65534 || !*l->fields[0] ||
		    strcmp(l->fields[0], "default") == 0 || l->fields[5][0] != '/' ||
		    qi_root_lstat(h, l->fields[5], &st) < 0 || !S_ISDIR(st.st_mode) ||
		    (long long)st.st_uid != l->id) {
			qi_clear_error(h);
			continue;
		}
		push(k, qi_xstrdup(l->fields[0]));
		push(k, qi_xasprintf("%s-default", l->fields[0]));
	}
	qi_pwdb_free(&db);
	free(text);
	return 0;
}

int qi_validrcptto_build(qi_handle *h, const char *qmail_home, const char *pwfile, char **cdb,
			 size_t *len, json_t **keys)
{
	char *locals = qi_xasprintf("%s/control/locals", qmail_home);
	char *me = qi_xasprintf("%s/control/me", qmail_home);
	char *local = qi_xasprintf("%s/control/validrcptto.local", qmail_home);
	char *alias = qi_xasprintf("%s/alias", qmail_home);
	char *dom = NULL, *pw = NULL, *extra = NULL, **k = NULL;
	/* the names delivered to at each domain besides the mail users:
	 * ~alias's .qmail-NAME files, then the system users */
	struct keyset names = { qi_xmalloc(sizeof(char *)), 0 };
	names.v[0] = NULL;
	size_t dlen, pwlen, elen;
	int rc = read_optional(h, locals, &dom, &dlen);
	if (rc == 0 && (!dom || !*dom)) {
		free(dom);
		rc = read_optional(h, me, &dom, &dlen);
	}
	if (rc == 0)
		rc = read_optional(h, pwfile, &pw, &pwlen);
	if (rc == 0)
		rc = read_optional(h, local, &extra, &elen);
	if (rc == 0)
		rc = alias_names(h, alias, &names);
	if (rc == 0)
		rc = system_users(h, &names);
	if (rc == 0)
		rc = qi_validrcptto_keys(h, dom, pw, pwlen, (const char *const *)names.v, extra, &k);
	if (rc == 0) {
		struct qi_cdb_make m;
		qi_cdb_start(&m);
		if (keys)
			*keys = json_array();
		for (size_t i = 0; k[i]; i++) {
			qi_cdb_add(&m, k[i], strlen(k[i]), "", 0);
			if (keys)
				json_array_append_new(*keys, json_string(k[i]));
		}
		qi_cdb_finish(&m);
		*cdb = m.out.data;
		*len = m.out.len;
	}
	if (pw)
		explicit_bzero(pw, pwlen);
	qi_strv_free(k);
	qi_strv_free(names.v);
	free(pw);
	free(dom);
	free(extra);
	free(alias);
	free(local);
	free(me);
	free(locals);
	return rc < 0 ? qi_error_prefix(h, "validrcptto.cdb") : 0;
}

/* PATH through the journal, unless it holds DATA already (0644 root). */
static int write_changed(qi_handle *h, const char *path, const char *data, size_t len)
{
	char *old = NULL;
	size_t olen = 0;
	struct stat st;
	bool same = qi_root_lstat(h, path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 &&
		    st.st_uid == 0 && st.st_gid == 0 && qi_root_read(h, path, &old, &olen) == 0 && olen == len &&
		    memcmp(old, data, len) == 0;
	qi_clear_error(h);
	free(old);
	return same ? 0 : qi_write_file(h, path, data, len, 0644, 0, 0);
}

int qi_validrcptto_update(qi_handle *h, const char *qmail_home, const char *pwfile,
			  const char *const *local, bool only_if_there)
{
	char *path = qi_xasprintf("%s/control/validrcptto.cdb", qmail_home);
	struct stat st;
	int rc = 0;
	if (only_if_there && qi_root_lstat(h, path, &st) < 0) {
		free(path);
		return 0;
	}
	if (local) {
		struct qi_buf b = { 0 };
		qi_buf_addf(&b, "# Written by qinstall from [mail] valid_rcpt: addresses (or @domain)\n"
			    "# that qmail-smtpd accepts besides the mail users and ~alias/.qmail-*.\n");
		for (size_t i = 0; local[i]; i++)
			qi_buf_addf(&b, "%s\n", local[i]);
		char *lp = qi_xasprintf("%s/control/validrcptto.local", qmail_home);
		rc = write_changed(h, lp, b.data, b.len);
		free(lp);
		qi_buf_free(&b);
	}
	char *cdb = NULL;
	size_t len = 0;
	json_t *keys = NULL;
	if (rc == 0)
		rc = qi_validrcptto_build(h, qmail_home, pwfile, &cdb, &len, &keys);
	if (rc == 0)
		rc = write_changed(h, path, cdb, len);
	if (rc == 0)
		json_object_set_new(qi_result(h), "validrcptto", json_pack("{s:s, s:O}", "path", path,
									    "keys", keys));
	json_decref(keys);
	free(cdb);
	free(path);
	return rc;
}
