/*
 * debian_origin.c - Debian's source archive as a second origin.
 *
 * `apt-get source --download-only PKG=VERSION` runs through a private apt
 * configuration under CACHE_DIR/apt: deb-src entries derived from the
 * machine's own apt sources (the same URIs, suites, components and keys),
 * its own lists and no package status, so that it works where the machine
 * has no deb-src lines and changes nothing of the machine's configuration.
 * apt verifies the archive's signature and the files' checksums; the orig
 * tarball is then verified again against our own pins by fetch.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/sources.h"

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Append "deb-src [signed-by=KEY] URI SUITE COMPONENTS" for each suite. */
static void emit(struct qi_buf *out, const char *uris, const char *suites,
		 const char *components, const char *key)
{
	char *u = qi_xstrdup(uris), *su = NULL, *sv;
	for (char *uri = strtok_r(u, " \t", &su); uri; uri = strtok_r(NULL, " \t", &su)) {
		char *s = qi_xstrdup(suites);
		for (char *suite = strtok_r(s, " \t", &sv); suite; suite = strtok_r(NULL, " \t", &sv)) {
			qi_buf_addf(out, "deb-src %s%s%s%s %s %s\n", key && *key ? "[signed-by=" : "",
				    key && *key ? key : "", key && *key ? "] " : "", uri, suite,
				    components && *components ? components : "main");
		}
		free(s);
	}
	free(u);
}

/* deb822: paragraphs of "Field: value"; continuation lines start with a
 * space (a Signed-By holding a whole key block: then apt's keyrings are
 * used instead). */
static void parse_deb822(FILE *fp, struct qi_buf *out)
{
	char *line = NULL;
	size_t cap = 0;
	char *types = NULL, *uris = NULL, *suites = NULL, *comps = NULL, *key = NULL;
	bool enabled = true, eof = false;
	char **last = NULL;
	while (!eof) {
		ssize_t n = getline(&line, &cap, fp);
		eof = n < 0;
		char *l = eof ? "" : line;
		if (!eof && (l[0] == ' ' || l[0] == '\t')) {
			if (last == &key && *last) {	/* an inline key: not a path */
				free(key);
				key = NULL;
			}
			continue;
		}
		char *t = trim(l);
		if (t[0] == '#')
			continue;
		if (!*t) {
			if (enabled && types && uris && suites) {
				bool deb = false;
				char *ty = qi_xstrdup(types), *sv;
				for (char *w = strtok_r(ty, " \t", &sv); w; w = strtok_r(NULL, " \t", &sv))
					deb |= strcmp(w, "deb") == 0;
				free(ty);
				if (deb)
					emit(out, uris, suites, comps, key);
			}
			free(types), free(uris), free(suites), free(comps), free(key);
			types = uris = suites = comps = key = NULL;
			enabled = true;
			last = NULL;
			continue;
		}
		char *colon = strchr(t, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *val = trim(colon + 1);
		last = NULL;
		if (strcasecmp(t, "Types") == 0)
			last = &types;
		else if (strcasecmp(t, "URIs") == 0)
			last = &uris;
		else if (strcasecmp(t, "Suites") == 0)
			last = &suites;
		else if (strcasecmp(t, "Components") == 0)
			last = &comps;
		else if (strcasecmp(t, "Signed-By") == 0)
			last = &key;
		else if (strcasecmp(t, "Enabled") == 0)
			enabled = strcasecmp(val, "no") != 0;
		if (last) {
			free(*last);
			*last = qi_xstrdup(val);
		}
	}
	free(line);
}

/* One-line format: deb [opt=val ...] URI SUITE COMPONENT... */
static void parse_one_line(FILE *fp, struct qi_buf *out)
{
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, fp) >= 0) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *t = trim(line);
		if (strncmp(t, "deb", 3) != 0 || (t[3] != ' ' && t[3] != '\t'))
			continue;
		t = trim(t + 3);
		char key[512] = "";
		if (*t == '[') {
			char *end = strchr(t, ']');
			if (!end)
				continue;
			*end = '\0';
			char *sv;
			for (char *o = strtok_r(t + 1, " \t", &sv); o; o = strtok_r(NULL, " \t", &sv))
				if (strncmp(o, "signed-by=", 10) == 0)
					snprintf(key, sizeof(key), "%s", o + 10);
			t = trim(end + 1);
		}
		char *sv;
		char *uri = strtok_r(t, " \t", &sv);
		char *suite = uri ? strtok_r(NULL, " \t", &sv) : NULL;
		char *comps = suite ? trim(sv) : NULL;
		if (uri && suite)
			emit(out, uri, suite, comps, key);
	}
	free(line);
}

static void parse_file(const char *path, bool deb822, struct qi_buf *out)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return;
	if (deb822)
		parse_deb822(fp, out);
	else
		parse_one_line(fp, out);
	fclose(fp);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int qi_debian_src_lines(qi_handle *h, const char *sources_list, const char *sources_parts,
			struct qi_buf *out)
{
	if (sources_list)
		parse_file(sources_list, false, out);
	struct dirent **names = NULL;
	int n = sources_parts ? scandir(sources_parts, &names, NULL, by_name) : 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		bool is822 = len > 8 && strcmp(name + len - 8, ".sources") == 0;
		bool islist = len > 5 && strcmp(name + len - 5, ".list") == 0;
		if (is822 || islist) {
			char *p = qi_xasprintf("%s/%s", sources_parts, name);
			parse_file(p, is822, out);
			free(p);
		}
		free(names[i]);
	}
	free(names);
	if (out->len == 0)
		return qi_error(h, "no Debian archive in this machine's apt sources (%s, %s); "
				"the Debian origin needs one", sources_list ? sources_list : "-",
				sources_parts ? sources_parts : "-");
	return 0;
}

static bool plain_token(const char *s, const char *extra)
{
	if (!s || !*s || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s)))
			return false;
	return true;
}

/* Run apt-get with our private configuration; its output goes to stderr
 * (the library never writes to stdout). */
static int run_apt(qi_handle *h, const char *aptdir, const char *cwd, const char *const *args)
{
	const char *base[32];
	const char *verb = args[0];
	char *opts[8];
	int n = 0, o = 0;
	base[n++] = "apt-get";
	base[n++] = qi_verbosity(h) > 0 ? "-q" : "-qq";
	opts[o++] = qi_xasprintf("Dir::Etc::SourceList=%s/sources.list", aptdir);
	opts[o++] = qi_xasprintf("Dir::Etc::SourceParts=%s/parts", aptdir);
	opts[o++] = qi_xasprintf("Dir::State::Lists=%s/lists", aptdir);
	opts[o++] = qi_xasprintf("Dir::Cache=%s/cache", aptdir);
	opts[o++] = qi_xstrdup("Dir::State::Status=/dev/null");
	opts[o++] = qi_xstrdup("Acquire::Retries=3");
	opts[o++] = qi_xstrdup("APT::Get::Only-Source=true");
	if (geteuid() == 0)	/* apt's _apt sandbox user cannot write to our cache */
		opts[o++] = qi_xstrdup("APT::Sandbox::User=root");
	for (int i = 0; i < o; i++) {
		base[n++] = "-o";
		base[n++] = opts[i];
	}
	for (; *args && n < 31; args++)
		base[n++] = *args;
	base[n] = NULL;

	char *label = qi_xasprintf("apt-get %s", verb);
	struct qi_proc_spec spec = { .argv = base, .cwd = cwd, .search_path = true,
				     .output = QI_PROC_STDERR, .label = label };
	int rc = qi_proc_run(h, &spec, NULL);
	free(label);
	for (int i = 0; i < o; i++)
		free(opts[i]);
	return rc;
}

static int make_dirs(qi_handle *h, const char *aptdir)
{
	if (qi_mkdir_parents(h, aptdir) < 0)
		return -1;
	static const char *const subs[] = { "/parts", "/lists", "/lists/partial",
					    "/cache", "/cache/archives", "/cache/archives/partial" };
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *d = qi_xasprintf("%s%s", aptdir, subs[i]);
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			int rc = qi_error_errno(h, "cannot create %s", d);
			free(d);
			return rc;
		}
		free(d);
	}
	return 0;
}

/* Write the private sources.list; true when it changed (lists are stale). */
static int write_sources(qi_handle *h, const char *aptdir, bool *changed)
{
	struct qi_buf lines = { 0 };
	if (qi_debian_src_lines(h, "/etc/apt/sources.list", "/etc/apt/sources.list.d", &lines) < 0)
		return -1;
	char *path = qi_xasprintf("%s/sources.list", aptdir);
	char old[65536];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, old, sizeof(old));
		close(fd);
	}
	*changed = !(n >= 0 && (size_t)n == lines.len && memcmp(old, lines.data, lines.len) == 0);
	int rc = 0;
	if (*changed) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || qi_write_all(fd, lines.data, lines.len) < 0)
			rc = qi_error_errno(h, "cannot write %s", path);
		if (fd >= 0)
			close(fd);
	}
	free(path);
	qi_buf_free(&lines);
	return rc;
}

static bool have_lists(const char *aptdir)
{
	char *pat = qi_xasprintf("%s/lists/*Sources*", aptdir);
	glob_t g;
	bool yes = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	free(pat);
	return yes;
}

/* The orig tarball apt-get left in WORKDIR. */
static int find_orig(qi_handle *h, const char *workdir, const char *label, char **orig)
{
	char *pat = qi_xasprintf("%s/*.orig.tar.*", workdir);
	glob_t g;
	int rc = -1;
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			size_t len = strlen(g.gl_pathv[i]);
			if (len > 4 && strcmp(g.gl_pathv[i] + len - 4, ".asc") == 0)
				continue;
			*orig = qi_xstrdup(g.gl_pathv[i]);
			rc = 0;
			break;
		}
	}
	globfree(&g);
	free(pat);
	if (rc < 0)
		qi_error(h, "%s: apt-get brought no .orig.tar (a Debian-native package "
			 "does not carry the upstream archive)", label);
	return rc;
}

int qi_debian_fetch_orig(qi_handle *h, const struct qi_source *src, const char *workdir,
			 char **orig)
{
	*orig = NULL;
	if (!plain_token(src->debian_source, "+-.") || !plain_token(src->debian_version, "+-.~:"))
		return qi_error_kind(h, QI_ERR_USAGE, "bad Debian source '%s' version '%s'",
				     src->debian_source ? src->debian_source : "",
				     src->debian_version ? src->debian_version : "");
	char *label = qi_xasprintf("%s=%s", src->debian_source, src->debian_version);
	char *aptdir = qi_xasprintf("%s/apt", qi_cache_dir(h));
	bool changed = false;
	int rc = make_dirs(h, aptdir);
	if (rc == 0)
		rc = write_sources(h, aptdir, &changed);
	bool updated = false;
	if (rc == 0 && (changed || !have_lists(aptdir))) {
		static const char *const update[] = { "update", NULL };
		qi_info(h, "reading Debian's source index (private apt configuration in %s)", aptdir);
		rc = run_apt(h, aptdir, NULL, update);
		updated = true;
	}
	if (rc == 0) {
		const char *const source[] = { "source", "--download-only", label, NULL };
		rc = run_apt(h, aptdir, workdir, source);
		if (rc < 0 && !updated) {
			/* The index may be older than the version asked for. */
			static const char *const update[] = { "update", NULL };
			qi_clear_error(h);
			rc = run_apt(h, aptdir, NULL, update);
			if (rc == 0)
				rc = run_apt(h, aptdir, workdir, source);
		}
	}
	if (rc == 0)
		rc = find_orig(h, workdir, label, orig);
	else
		qi_error_prefix(h, "apt-get source %s", label);
	free(aptdir);
	free(label);
	return rc;
}
