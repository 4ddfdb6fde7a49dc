/*
 * build.c - component recipes for djb-style trees: conf-* files, make -j,
 * and the install into a staging directory.
 *
 * djb's install programs (built from hier.c) write straight into the
 * compiled-in home and know no DESTDIR, so the default install method
 * copies the programs the recipe lists, with the modes it gives (those of
 * hier.c), into STAGE/bindir. Trees that support DESTDIR use
 * `install = make` instead.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provision.h"
#include "sources/sources.h"

extern char **environ;

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void qi_recipe_free(struct qi_recipe *r)
{
	free(r->name);
	free(r->version);
	free(r->file);
	free_strv(r->urls);
	free(r->sha256);
	free(r->sha512);
	free(r->debian_source);
	free(r->debian_version);
	for (size_t i = 0; i < r->npatches; i++) {
		free(r->patches[i].spec);
		free(r->patches[i].path);
		free(r->patches[i].url);
		free(r->patches[i].component);
		free(r->patches[i].member);
		free(r->patches[i].glue);
		free(r->patches[i].glue_path);
		free(r->patches[i].base);
		free(r->patches[i].base_version);
		free(r->patches[i].base_dir);
	}
	free(r->patches);
	for (size_t i = 0; i < r->ncopies; i++) {
		free(r->copies[i].spec);
		free(r->copies[i].component);
		free(r->copies[i].member);
		free(r->copies[i].dest);
		free(r->copies[i].path);
	}
	free(r->copies);
	free(r->series_archive.spec);
	free(r->series_archive.path);
	free(r->series_archive.url);
	free(r->series_file);
	free(r->dir);
	for (size_t i = 0; i < r->nwrite; i++) {
		free(r->write_names[i]);
		free(r->write_values[i]);
	}
	free(r->write_names);
	free(r->write_values);
	free(r->cc);
	free(r->ld);
	free_strv(r->targets);
	for (size_t i = 0; i < r->nprograms; i++)
		free(r->programs[i].name);
	free(r->programs);
	free(r->bindir);
	free(r->install_target);
	free(r->home);
	free(r->home_file);
	free(r->home_auto);
	memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
	return s ? qi_xstrdup(s) : NULL;
}

/* Split S at blanks into a NULL-terminated vector, word by word as the
 * profile's validators split a value. */
static char **split_words(const char *s)
{
	char **v = qi_xmalloc(sizeof(*v));
	size_t n = 0;
	if (s)
		s += strspn(s, " \t");
	while (s && *s) {
		v = qi_xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = qi_profile_first_word(s, &s);
	}
	v[n] = NULL;
	return v;
}

/* The last path component of an URL, without query or fragment. */
static char *url_basename(const char *url)
{
	size_t len = strcspn(url, "?#");
	const char *end = url + len, *slash = end;
	while (slash > url && slash[-1] != '/')
		slash--;
	return strndup(slash, (size_t)(end - slash));
}

/* The source archive: version, URLs, file name, pins, size, Debian's
 * source package. */
static void recipe_source(const struct qi_profile *p, const char *sec, struct qi_recipe *r)
{
	const char *v;
	r->version = dup_or_null(qi_profile_get(p, sec, "version"));
	const char *const *urls = qi_profile_get_list(p, sec, "url");
	size_t nurls = 0;
	while (urls[nurls])
		nurls++;
	r->urls = qi_xmalloc((nurls + 1) * sizeof(*r->urls));
	for (size_t i = 0; i < nurls; i++)
		r->urls[i] = qi_xstrdup(urls[i]);
	r->urls[nurls] = NULL;
	v = qi_profile_get(p, sec, "file");
	r->file = v ? qi_xstrdup(v) : url_basename(urls[0]);
	r->sha256 = dup_or_null(qi_profile_get(p, sec, "sha256"));
	r->sha512 = dup_or_null(qi_profile_get(p, sec, "sha512"));
	v = qi_profile_get(p, sec, "size");
	r->size = v ? strtoll(v, NULL, 10) : -1;
	if ((v = qi_profile_get(p, sec, "debian"))) {
		r->debian_source = qi_profile_first_word(v, &v);
		r->debian_version = qi_xstrdup(v);
	}
	r->source = (struct qi_source){
		.file = r->file, .urls = (const char *const *)r->urls, .sha256 = r->sha256,
		.sha512 = r->sha512, .size = r->size, .debian_source = r->debian_source,
		.debian_version = r->debian_version,
	};
}

/* How it is built and installed: strip and fuzz, dir, the compiler and
 * linker, -j, the conf files, the programs and the make targets. */
static void recipe_build(const struct qi_profile *p, const char *sec, struct qi_recipe *r)
{
	const char *v;
	r->strip = atoi(qi_profile_get(p, sec, "strip"));
	r->max_fuzz = atoi(qi_profile_get(p, sec, "fuzz"));
	r->dir = qi_xstrdup(qi_profile_get(p, sec, "dir"));
	r->cc = qi_xstrdup(qi_profile_get(p, "build", "cc"));
	r->ld = qi_xstrdup(qi_profile_get(p, "build", "ld"));
	v = qi_profile_get(p, "build", "jobs");
	r->jobs = strcmp(v, "auto") == 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : atoi(v);
	if (r->jobs < 1)
		r->jobs = 1;
	r->bindir = qi_xstrdup(qi_profile_get(p, sec, "bindir"));
	const char *install = qi_profile_get(p, sec, "install");
	r->install_make = strcmp(install, "make") == 0;
	r->install_hier = strcmp(install, "hier") == 0;
	r->install_none = strcmp(install, "none") == 0;
	r->merge = qi_profile_bool(p, sec, "merge");
	r->install_target = qi_xstrdup(qi_profile_get(p, sec, "install_target"));
	r->home = dup_or_null(qi_profile_get(p, sec, "home"));
	r->home_file = qi_xstrdup(qi_profile_get(p, sec, "home_file"));
	r->home_auto = qi_xstrdup(qi_profile_get(p, sec, "home_auto"));
	r->accounts = qi_profile_bool(p, sec, "accounts");

	const char *const *writes = qi_profile_get_list(p, sec, "write");
	for (size_t i = 0; writes[i]; i++) {
		r->write_names = qi_xrealloc(r->write_names, (r->nwrite + 1) * sizeof(char *));
		r->write_values = qi_xrealloc(r->write_values, (r->nwrite + 1) * sizeof(char *));
		r->write_names[r->nwrite] = qi_profile_first_word(writes[i], &v);
		r->write_values[r->nwrite++] = qi_xstrdup(v);
	}
	const char *const *progs = qi_profile_get_list(p, sec, "program");
	for (size_t i = 0; progs[i]; i++) {
		r->programs = qi_xrealloc(r->programs, (r->nprograms + 1) * sizeof(*r->programs));
		r->programs[r->nprograms].name = qi_profile_first_word(progs[i], &v);
		r->programs[r->nprograms++].mode = *v ? (mode_t)strtoul(v, NULL, 8) : 0755;
	}
	v = qi_profile_get(p, sec, "make");
	if (v) {
		r->targets = split_words(v);
	} else {
		/* By default make builds exactly the programs to install. */
		r->targets = qi_xmalloc((r->nprograms + 1) * sizeof(char *));
		for (size_t i = 0; i < r->nprograms; i++)
			r->targets[i] = qi_xstrdup(r->programs[i].name);
		r->targets[r->nprograms] = NULL;
	}
}

/* What VALUE of KEY (a patch, a series archive) names: an URL, fetched
 * later, whose pin stands for its content in the build key; or a file
 * beside the profile or in the data directory, hashed now. */
/* HEX: what fixes MEMBER of COMPONENT's source archive, its pin and
 * the path. */
static int member_hash(qi_handle *h, const struct qi_profile *p, const char *component,
		       const char *member, char *hex)
{
	char *other = qi_xasprintf("component %s", component);
	const char *pin = qi_profile_get(p, other, "sha256");
	if (!pin)
		pin = qi_profile_get(p, other, "sha512");
	struct qi_digest d;
	char hex512[QI_SHA512_HEX + 1];
	char *what = qi_xasprintf("member %s %s", pin ? pin : "", member);
	int rc = qi_digest_init(h, &d, true, false);
	if (rc == 0)
		rc = qi_digest_update(h, &d, what, strlen(what));
	if (rc == 0)
		rc = qi_digest_final(h, &d, hex, hex512);
	qi_digest_free(&d);
	free(what);
	free(other);
	return rc;
}

static int find_patch(qi_handle *h, const struct qi_profile *p, const char *sec, const char *key,
		      const char *value, struct qi_recipe_patch *pt)
{
	const char *name = pt->spec;	/* VALUE without a patch's attributes */
	if (qi_profile_patch_member(p, name, &pt->component, &pt->member))
		return member_hash(h, p, pt->component, pt->member, pt->hash);
	if (strstr(name, "://")) {
		struct qi_fetch_spec fs;
		if (qi_fetch_spec_parse(h, name, &fs) < 0)
			return qi_error_prefix(h, "%s: %s '%s'", qi_profile_origin(p, sec, key), key, name);
		pt->url = qi_xstrdup(name);
		snprintf(pt->hash, sizeof(pt->hash), "%s", fs.sha256[0] ? fs.sha256 : fs.sha512);
		qi_fetch_spec_free(&fs);
		return 0;
	}
	char hex512[QI_SHA512_HEX + 1];
	pt->path = qi_profile_find_named(h, p, sec, key, value, name);
	if (!pt->path)
		return -1;
	if (qi_digest_file(h, pt->path, true, false, pt->hash, hex512, NULL) < 0)
		return qi_error_prefix(h, "%s %s", key, pt->path);
	return 0;
}

/* base=COMPONENT of PT (the value VALUE): a component of the profile
 * other than R, install = none, pinned; R merges. Its version and pin
 * into PT. */
static int recipe_base(qi_handle *h, const struct qi_profile *p, const char *sec, const struct qi_recipe *r,
		       struct qi_recipe_patch *pt, const char *value)
{
	const char *where = qi_profile_value_origin(p, sec, "patch", value);
	const char *const *names = qi_profile_components(p);
	size_t i = 0;
	while (names[i] && strcmp(names[i], pt->base) != 0)
		i++;
	char *other = qi_xasprintf("component %s", pt->base);
	const char *install = names[i] ? qi_profile_get(p, other, "install") : NULL;
	const char *pin = names[i] ? qi_profile_get(p, other, "sha256") : NULL;
	if (names[i] && !pin)
		pin = qi_profile_get(p, other, "sha512");
	const char *version = names[i] ? qi_profile_get(p, other, "version") : NULL;
	free(other);
	const char *why = !names[i] ? "the profile has no such component (in force with these options)"
			  : strcmp(pt->base, r->name) == 0 ? "a patch's base is another component than its own"
			  : !install || strcmp(install, "none") != 0 ? "that component must be install = none"
			  : !pin ? "that component has no pinned sha256 or sha512"
			  : !r->merge ? "base= needs merge = yes in the patch's component" : NULL;
	if (why)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: patch = %s: base=%s: %s", where ? where : sec,
				     value, pt->base, why);
	pt->base_version = qi_xstrdup(version ? version : "");
	snprintf(pt->base_pin, sizeof(pt->base_pin), "%s", pin);
	return 0;
}

/* One patch value: "SPEC [strip=N] [fuzz=N] [glue=FILE] [base=COMPONENT]"
 * (PT->spec is the whole value until it is split here). */
static int recipe_patch(qi_handle *h, const struct qi_profile *p, const char *sec,
			const struct qi_recipe *r, struct qi_recipe_patch *pt)
{
	struct qi_patch_spec ps;
	char *value = pt->spec;
	/* The profile checked every value when it was loaded. */
	if (qi_patch_spec_parse(value, &ps))
		return qi_error_kind(h, QI_ERR_USAGE, "%s: bad patch '%s'", qi_profile_origin(p, sec, "patch"),
				     value);
	pt->spec = ps.spec;
	pt->strip = ps.strip >= 0 ? ps.strip : r->strip;
	pt->max_fuzz = ps.fuzz >= 0 ? ps.fuzz : r->max_fuzz;
	pt->glue = ps.glue;
	pt->base = ps.base;
	int rc = find_patch(h, p, sec, "patch", value, pt);
	if (rc == 0 && pt->base)
		rc = recipe_base(h, p, sec, r, pt, value);
	if (rc == 0 && pt->glue) {
		char hex512[QI_SHA512_HEX + 1];
		pt->glue_path = qi_profile_find_named(h, p, sec, "patch", value, pt->glue);
		if (!pt->glue_path ||
		    qi_digest_file(h, pt->glue_path, true, false, pt->glue_hash, hex512, NULL) < 0)
			rc = qi_error_prefix(h, "the glue of patch %s", pt->spec);
	}
	free(value);
	return rc;
}

/* One copy value: "COMPONENT:MEMBER [DEST]". */
static int recipe_copy(qi_handle *h, const struct qi_profile *p, const char *sec,
		       const struct qi_recipe *r, struct qi_recipe_copy *cp)
{
	const char *rest;
	char *w = qi_profile_first_word(cp->spec, &rest);
	bool ok = qi_profile_patch_member(p, w, &cp->component, &cp->member);
	free(w);
	if (!ok)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: copy = %s: the profile has no component named "
				     "before the ':' (copy = COMPONENT:MEMBER [DEST])",
				     qi_profile_value_origin(p, sec, "copy", cp->spec), cp->spec);
	if (strcmp(cp->component, r->name) == 0)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: copy = %s: a component copies from another "
				     "component's archive, not its own", qi_profile_value_origin(p, sec, "copy",
				     cp->spec), cp->spec);
	const char *base = strrchr(cp->member, '/') ? strrchr(cp->member, '/') + 1 : cp->member;
	cp->dest = qi_xstrdup(*rest ? rest : base);
	return member_hash(h, p, cp->component, cp->member, cp->hash);
}

/* The series archive (Debian's, an URL or a file) and the patches. */
static int recipe_patches(qi_handle *h, const struct qi_profile *p, const char *sec,
			  struct qi_recipe *r)
{
	const char *v;
	if ((v = qi_profile_get(p, sec, "series_archive"))) {
		struct qi_recipe_patch *sa = &r->series_archive;
		sa->spec = qi_xstrdup(v);
		r->series_file = qi_xstrdup(qi_profile_get(p, sec, "series"));
		if (strncmp(v, "debian#", 7) == 0) {
			r->series_from_debian = true;
			snprintf(sa->hash, sizeof(sa->hash), "%s", strchr(v, '=') + 1);
		} else if (find_patch(h, p, sec, "series_archive", v, sa) < 0) {	/* spec = v */
			return -1;
		}
	}
	const char *const *patches = qi_profile_get_list(p, sec, "patch");
	for (size_t i = 0; patches[i]; i++) {
		r->patches = qi_xrealloc(r->patches, (r->npatches + 1) * sizeof(*r->patches));
		struct qi_recipe_patch *pt = &r->patches[r->npatches++];
		memset(pt, 0, sizeof(*pt));
		pt->spec = qi_xstrdup(patches[i]);
		if (recipe_patch(h, p, sec, r, pt) < 0)
			return -1;
	}
	const char *const *copies = qi_profile_get_list(p, sec, "copy");
	for (size_t i = 0; copies[i]; i++) {
		r->copies = qi_xrealloc(r->copies, (r->ncopies + 1) * sizeof(*r->copies));
		struct qi_recipe_copy *cp = &r->copies[r->ncopies++];
		memset(cp, 0, sizeof(*cp));
		cp->spec = qi_xstrdup(copies[i]);
		if (recipe_copy(h, p, sec, r, cp) < 0)
			return -1;
	}
	return 0;
}

int qi_recipe_from_profile(qi_handle *h, const struct qi_profile *p, const char *component,
			   struct qi_recipe *r)
{
	memset(r, 0, sizeof(*r));
	char *sec = qi_xasprintf("component %s", component);
	r->name = qi_xstrdup(component);
	recipe_source(p, sec, r);
	recipe_build(p, sec, r);
	int rc = recipe_patches(h, p, sec, r);
	free(sec);
	if (rc < 0) {
		qi_error_prefix(h, "component %s", component);
		qi_recipe_free(r);
	}
	return rc;
}

int qi_recipe_key(qi_handle *h, struct qi_recipe *r)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "qinstall build key 1\nname %s\nversion %s\nfile %s\nsha256 %s\nsha512 %s\nsize %lld\n",
		    r->name, r->version, r->file, r->sha256 ? r->sha256 : "", r->sha512 ? r->sha512 : "",
		    (long long)r->size);
	if (r->series_archive.spec)
		qi_buf_addf(&b, "series %s %s\n", r->series_archive.hash, r->series_file);
	/* A patch's own strip, fuzz, glue and base only when it has them, so that
	 * the keys of the builds before them stay what they were. */
	for (size_t i = 0; i < r->ncopies; i++)
		qi_buf_addf(&b, "copy %s %s\n", r->copies[i].hash, r->copies[i].dest);
	for (size_t i = 0; i < r->npatches; i++) {
		const struct qi_recipe_patch *pt = &r->patches[i];
		qi_buf_addf(&b, "patch %s", pt->hash);
		if (pt->strip != r->strip)
			qi_buf_addf(&b, " strip %d", pt->strip);
		if (pt->max_fuzz != r->max_fuzz)
			qi_buf_addf(&b, " fuzz %d", pt->max_fuzz);
		if (pt->glue)
			qi_buf_addf(&b, " glue %s", pt->glue_hash);
		if (pt->base)
			qi_buf_addf(&b, " base %s %s", pt->base, pt->base_pin);
		qi_buf_addf(&b, "\n");
	}
	if (!r->merge)
		qi_buf_addf(&b, "merge no\n");
	qi_buf_addf(&b, "strip %d\nfuzz %d\ndir %s\ncc %s\nld %s\n", r->strip, r->max_fuzz, r->dir, r->cc,
		    r->ld);
	for (size_t i = 0; i < r->nwrite; i++)
		qi_buf_addf(&b, "write %s %s\n", r->write_names[i], r->write_values[i]);
	for (size_t i = 0; r->targets[i]; i++)
		qi_buf_addf(&b, "target %s\n", r->targets[i]);
	for (size_t i = 0; i < r->nprograms; i++)
		qi_buf_addf(&b, "program %s %o\n", r->programs[i].name, (unsigned)r->programs[i].mode);
	qi_buf_addf(&b, "bindir %s\ninstall %s %s\n", r->bindir,
		    r->install_hier ? "hier" : r->install_make ? "make" : r->install_none ? "none" : "programs", r->install_target);
	if (r->install_hier)
		qi_buf_addf(&b, "home %s %s %s\n", r->home, r->home_file, r->home_auto);
	/* The ids are compiled in: a build for other ids is another build. */
	if (r->accounts)
		for (int a = 0; a < QI_ACCT_COUNT; a++)
			qi_buf_addf(&b, "id %s %lld\n", qi_account_defs[a].name, r->ids.id[a]);
	struct qi_digest d;
	char hex512[QI_SHA512_HEX + 1];
	int rc = qi_digest_init(h, &d, true, false);
	if (rc == 0)
		rc = qi_digest_update(h, &d, b.data, b.len);
	if (rc == 0)
		rc = qi_digest_final(h, &d, r->key, hex512);
	qi_digest_free(&d);
	qi_buf_free(&b);
	return rc;
}

char *qi_file_tail(const char *path, int n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return qi_xstrdup("");
	struct qi_buf b = { 0 };
	char chunk[8192];
	size_t got;
	/* Logs are small (a djb build writes a few hundred lines); keep the
	 * last 64 KiB at most. */
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		qi_buf_add(&b, chunk, got);
		if (b.len > 65536) {
			memmove(b.data, b.data + b.len - 32768, 32768);
			b.len = 32768;
			b.data[b.len] = '\0';
		}
	}
	fclose(f);
	if (!b.data)
		return qi_xstrdup("");
	size_t end = b.len;
	while (end > 0 && b.data[end - 1] == '\n')
		end--;
	size_t start = end;
	int lines = 0;
	while (start > 0) {
		if (b.data[start - 1] == '\n' && ++lines == n)
			break;
		start--;
	}
	char *out = strndup(b.data + start, end - start);
	qi_buf_free(&b);
	return out;
}

/* The environment for make: ours, without what a calling make passes down
 * (its jobserver and flags would leak into the component's build). */
static char **build_env(void)
{
	static const char *const drop[] = { "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKEOVERRIDES=",
					    "DESTDIR=", "LC_ALL=", NULL };
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = qi_xmalloc((n + 2) * sizeof(*env));
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		bool skip = false;
		for (size_t k = 0; drop[k]; k++)
			skip |= strncmp(environ[i], drop[k], strlen(drop[k])) == 0;
		if (!skip)
			env[o++] = environ[i];
	}
	env[o++] = "LC_ALL=C";
	env[o] = NULL;
	return env;
}

int qi_run_logged(qi_handle *h, const char *dir, const char *const *argv,
		  const char *const *env, const char *log, const struct qi_sandbox *sb)
{
	/* No hint: the caller quotes the log and says where it is. */
	struct qi_proc_spec spec = { .argv = argv, .env = env, .cwd = dir, .search_path = true,
				     .output = QI_PROC_LOG, .log = log, .hint = "", .sandbox = sb };
	return qi_proc_run(h, &spec, NULL);
}

static int write_small(qi_handle *h, const char *dir, const char *name, const char *content)
{
	char *path = qi_xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc = 0;
	if (fd < 0 || qi_write_all(fd, content, strlen(content)) < 0 || qi_write_all(fd, "\n", 1) < 0)
		rc = qi_error_errno(h, "cannot write %s", path);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s", path);
	free(path);
	return rc;
}

/* Quote the log's last lines into the error, and say where it is. */
static int fail_with_log(qi_handle *h, const char *log)
{
	char *tail = qi_file_tail(log, 15);
	qi_error_prefix(h, "build failed");
	char *msg = qi_xasprintf("%s\nlast lines of %s:\n%s\n(the whole log is %s; nothing was written into the root)",
				 qi_errmsg(h), log, tail, log);
	qi_error(h, "%s", msg);
	free(msg);
	free(tail);
	return -1;
}

/* qmail's conf-users and conf-groups, in the order its Makefile reads
 * them (head -N), and the private passwd and group the build sees: the
 * accounts with the ids resolved in ROOT, and root. */
static int write_accounts(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
			  char **passwd, char **group)
{
	static const char *const users[] = { "alias", "qmaild", "qmaill", "root", "qmailp", "qmailq",
					     "qmailr", "qmails" };
	struct qi_buf cu = { 0 }, pw = { 0 }, gr = { 0 };
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		qi_buf_addf(&cu, "%s%s", i ? "\n" : "", users[i]);
	qi_buf_addf(&pw, "root:x:0:0:root:/root:/bin/false\n");
	qi_buf_addf(&gr, "root:x:0:\n");
	for (int a = 0; a < QI_ACCT_COUNT; a++) {
		const struct qi_account_def *d = &qi_account_defs[a];
		if (d->group)
			qi_buf_addf(&gr, "%s:x:%lld:\n", d->name, r->ids.id[a]);
		else
			qi_buf_addf(&pw, "%s:x:%lld:%lld::/nonexistent:/bin/false\n", d->name, r->ids.id[a],
				    r->ids.id[d->primary]);
	}
	*passwd = qi_xasprintf("%s/passwd", work);
	*group = qi_xasprintf("%s/group", work);
	/* write_small ends each with a newline */
	pw.data[--pw.len] = '\0';
	gr.data[--gr.len] = '\0';
	int rc = write_small(h, dir, "conf-users", cu.data);
	if (rc == 0)
		rc = write_small(h, dir, "conf-groups", "qmail\nnofiles");
	if (rc == 0)
		rc = write_small(h, work, "passwd", pw.data);
	if (rc == 0)
		rc = write_small(h, work, "group", gr.data);
	qi_buf_free(&cu);
	qi_buf_free(&pw);
	qi_buf_free(&gr);
	return rc;
}

/* The conf files: compiler, linker, the home (install = hier), the
 * accounts, then the profile's `write` lines (which may override them). */
static int write_conf(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
		      char **passwd, char **group)
{
	int rc = 0;
	if (write_small(h, dir, "conf-cc", r->cc) < 0 || write_small(h, dir, "conf-ld", r->ld) < 0)
		return -1;
	if (r->install_hier && write_small(h, dir, r->home_file, r->home) < 0)
		return -1;
	if (r->accounts && write_accounts(h, r, dir, work, passwd, group) < 0)
		return -1;
	for (size_t i = 0; i < r->nwrite && rc == 0; i++)
		rc = write_small(h, dir, r->write_names[i], r->write_values[i]);
	return rc;
}

/* Where a step of R's build runs: BASE (the run's: the build user, only
 * WORK writable; NULL when not isolated), as root for an install program
 * that gives files their owners (KEEP_ROOT), with the private passwd and
 * group of an accounts build. NULL when not isolated. */
static struct qi_sandbox *sandbox_for(const struct qi_recipe *r, const struct qi_sandbox *base,
				      const char *work, bool keep_root, struct qi_sandbox *sb)
{
	if (!base)
		return NULL;
	*sb = *base;
	sb->keep_root = keep_root;
	sb->passwd = sb->group = NULL;
	if (r->accounts) {
		sb->passwd = qi_xasprintf("%s/passwd", work);
		sb->group = qi_xasprintf("%s/group", work);
	}
	return sb;
}

static void sandbox_free(struct qi_sandbox *sb)
{
	if (!sb)
		return;
	free((char *)sb->passwd);
	free((char *)sb->group);
}

/* make ARGS... in DIR, in R's sandbox (KEEP_ROOT as there), into LOG. */
static int make_in(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
		   const struct qi_sandbox *base, bool keep_root, const char *const *args,
		   const char *log)
{
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = qi_xmalloc((n + 2) * sizeof(*argv));
	argv[0] = "make";
	memcpy(argv + 1, args, (n + 1) * sizeof(*argv));
	char **env = build_env();
	struct qi_sandbox buf, *sb = sandbox_for(r, base, work, keep_root, &buf);
	int rc = qi_run_logged(h, dir, argv, (const char *const *)env, log, sb);
	sandbox_free(sb);
	free(env);
	free(argv);
	return rc;
}

int qi_recipe_build(qi_handle *h, const struct qi_recipe *r, const char *tree, const char *work,
		    const char *log, const struct qi_sandbox *sb)
{
	char *dir = qi_xasprintf("%s/%s", tree, r->dir), *passwd = NULL, *group = NULL;
	struct stat st;
	int rc = 0;
	if (r->accounts && !sb)
		rc = qi_error_kind(h, QI_ERR_USAGE, "component %s is built for qmail's accounts "
				   "(accounts = yes): its build sees them in a private passwd and group, "
				   "which needs the isolated build; set [build] isolate = yes", r->name);
	else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = qi_error(h, "component %s: the build directory '%s' is not in the unpacked tree %s (check 'dir' in the profile)",
			      r->name, r->dir, tree);
	if (rc == 0)
		rc = write_conf(h, r, dir, work, &passwd, &group);
	free(passwd);
	free(group);
	if (rc < 0) {
		free(dir);
		return -1;
	}
	size_t nt = 0;
	while (r->targets[nt])
		nt++;
	const char **args = qi_xmalloc((nt + 2) * sizeof(*args));
	char *jobs = qi_xasprintf("-j%d", r->jobs);
	args[0] = jobs;
	memcpy(args + 1, r->targets, (nt + 1) * sizeof(*args));
	qi_info(h, "building %s-%s (make %s)", r->name, r->version, jobs);
	rc = make_in(h, r, dir, work, sb, false, args, log);
	if (rc < 0)
		fail_with_log(h, log);
	free(args);
	free(jobs);
	free(dir);
	return rc;
}

int qi_mkdirs_host(qi_handle *h, const char *path)
{
	char *p = qi_xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				int rc = qi_error_errno(h, "cannot create %s (is the cache directory writable?)", p);
				free(p);
				return rc;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

static int copy_program(qi_handle *h, const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return qi_error_errno(h, "the build did not produce %s (is it in the recipe's targets?)", from);
	struct stat st;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return qi_error(h, "%s is not a regular file", from);
	}
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		close(in);
		return qi_error_errno(h, "cannot create %s", to);
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = qi_error_errno(h, "cannot read %s", from);
			break;
		}
		if (qi_write_all(out, buf, (size_t)n) < 0) {
			rc = qi_error_errno(h, "cannot write %s", to);
			break;
		}
	}
	if (rc == 0 && fchmod(out, mode) < 0)
		rc = qi_error_errno(h, "cannot set the mode of %s", to);
	if (close(out) < 0 && rc == 0)
		rc = qi_error_errno(h, "cannot write %s", to);
	close(in);
	return rc;
}

/* install = make: the tree's install target with DESTDIR=STAGE, as root
 * (it may give files their owners), still only WORK writable. */
static int install_make(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
			const char *stage, const char *log, const struct qi_sandbox *sb)
{
	char *destdir = qi_xasprintf("DESTDIR=%s", stage);
	char **targets = split_words(r->install_target);
	size_t nt = 0;
	while (targets[nt])
		nt++;
	const char **args = qi_xmalloc((nt + 2) * sizeof(*args));
	memcpy(args, targets, nt * sizeof(*args));
	args[nt] = destdir;
	args[nt + 1] = NULL;
	int rc = 0;
	if (qi_mkdirs_host(h, stage) < 0 || make_in(h, r, dir, work, sb, true, args, log) < 0)
		rc = fail_with_log(h, log);
	free(args);
	free_strv(targets);
	free(destdir);
	return rc;
}

/* install = programs: the recipe's programs, with its modes, into
 * STAGE/bindir. */
static int install_programs(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *stage)
{
	char *bindir = qi_xasprintf("%s%s", stage, r->bindir);
	int rc = qi_mkdirs_host(h, bindir);
	for (size_t i = 0; i < r->nprograms && rc == 0; i++) {
		char *from = qi_xasprintf("%s/%s", dir, r->programs[i].name);
		char *to = qi_xasprintf("%s/%s", bindir, r->programs[i].name);
		rc = copy_program(h, from, to, r->programs[i].mode);
		free(from);
		free(to);
	}
	free(bindir);
	return rc < 0 ? qi_error_prefix(h, "component %s: install into the staging area", r->name) : 0;
}

/* Run the tree's PROGRAM (./install, ./instcheck) as root in R's sandbox,
 * its output into OUT. */
static int run_tree_program(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
			    const struct qi_sandbox *base, const char *program, const char *out)
{
	const char *argv[] = { program, NULL };
	char **env = build_env();
	struct qi_sandbox buf, *sb = sandbox_for(r, base, work, true, &buf);
	struct qi_proc_spec spec = { .argv = argv, .env = (const char *const *)env, .cwd = dir,
				     .output = QI_PROC_LOG, .log = out, .hint = "", .sandbox = sb };
	int rc = qi_proc_run(h, &spec, NULL);
	sandbox_free(sb);
	free(env);
	return rc;
}

/* What instcheck said, after the log's first line (the command): its
 * every line is a complaint. Malloc'd; "" when it said nothing. */
static char *complaints(const char *out)
{
	char *text = qi_file_tail(out, 1000);
	char *nl = strchr(text, '\n');
	char *rest = qi_xstrdup(nl ? nl + 1 : "");
	free(text);
	return rest;
}

/* install = hier: the tree's own install program, made from hier.c, with
 * the staging directory as its home (HOME_FILE rewritten, HOME_AUTO made
 * again; the programs installed were built with the real home), then
 * instcheck against the stage, as pkgsrc does: any complaint fails. */
static int install_hier(qi_handle *h, const struct qi_recipe *r, const char *dir, const char *work,
			const char *stage, const char *log, const struct qi_sandbox *sb)
{
	char *home = qi_xasprintf("%s%s", stage, r->home), *parent = qi_xstrdup(home);
	char *check = qi_xasprintf("%s/instcheck.log", work), *said = NULL;
	*strrchr(parent, '/') = '\0';
	static const char *const relink[] = { "install", "instcheck", NULL };
	int rc = write_small(h, dir, r->home_file, home);
	for (const char *const *f = relink; rc == 0 && *f; f++) {
		char *path = qi_xasprintf("%s/%s", dir, *f);
		if (unlink(path) < 0 && errno != ENOENT)
			rc = qi_error_errno(h, "cannot remove %s", path);
		free(path);
	}
	for (const char *ext = "co"; rc == 0 && *ext; ext++) {
		char *path = qi_xasprintf("%s/%s.%c", dir, r->home_auto, *ext);
		if (unlink(path) < 0 && errno != ENOENT)
			rc = qi_error_errno(h, "cannot remove %s", path);
		free(path);
	}
	qi_info(h, "installing %s-%s with its own install program (hier.c)", r->name, r->version);
	if (rc == 0 && (make_in(h, r, dir, work, sb, false, relink, log) < 0 || qi_mkdirs_host(h, parent) < 0 ||
			run_tree_program(h, r, dir, work, sb, "./install", log) < 0))
		rc = fail_with_log(h, log);
	if (rc == 0 && run_tree_program(h, r, dir, work, sb, "./instcheck", check) < 0)
		rc = fail_with_log(h, check);
	if (rc == 0 && *(said = complaints(check)))
		rc = qi_error(h, "component %s: its instcheck complains about the staged tree %s:\n%s\n"
			      "(nothing was written into the root; the build log is %s)", r->name, home, said, log);
	free(said);
	free(check);
	free(parent);
	free(home);
	return rc;
}

int qi_recipe_install(qi_handle *h, const struct qi_recipe *r, const char *tree, const char *work,
		      const char *stage, const char *log, const struct qi_sandbox *sb)
{
	char *dir = qi_xasprintf("%s/%s", tree, r->dir);
	int rc = r->install_hier ? install_hier(h, r, dir, work, stage, log, sb)
		 : r->install_make ? install_make(h, r, dir, work, stage, log, sb)
		 : install_programs(h, r, dir, stage);
	free(dir);
	return rc;
}
