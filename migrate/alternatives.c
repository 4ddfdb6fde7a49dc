/*
 * alternatives.c - chkconfig's alternatives state files (alternatives.h):
 * the parser, the writer that gives back the very bytes alternatives
 * writes, the edits of a group (a choice added, replaced, removed), the
 * state read from ROOT, and a chain of symbolic links followed inside
 * ROOT, and a group's state made ROOT's through the journal (alt_store).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "migrate/migrate.h"

/* ---- the text ---- */

struct alt_lines {
	const char *text;
	size_t len, pos, lineno;
	const char *name;
};

/* The next line (without its LF) into *S, *N; false at the end. */
static bool next_line(struct alt_lines *l, const char **s, size_t *n)
{
	if (l->pos >= l->len)
		return false;
	const char *line = l->text + l->pos, *nl = memchr(line, '\n', l->len - l->pos);
	*s = line;
	*n = nl ? (size_t)(nl - line) : l->len - l->pos;
	l->pos += *n + (nl != NULL);
	l->lineno++;
	return true;
}

static int bad(qi_handle *h, const struct alt_lines *l, const char *what)
{
	return qi_error(h, "%s%s/%s, line %zu: %s; the alternatives state file does not parse: check it with "
			"`alternatives --display %s` on the system, then run qinstall again",
			qi_root_is_host(h) ? "" : qi_root(h), ALT_STATE_DIR, l->name, l->lineno, what, l->name);
}

static bool is_path(const char *s, size_t n)
{
	return n > 1 && s[0] == '/';
}

/* What C holds, for a group of NSLAVES slaves (C's path with ALL). */
static void choice_clear(struct alt_choice *c, size_t nslaves, bool all)
{
	if (all)
		free(c->path);
	free(c->family);
	free(c->initscript);
	for (size_t k = 0; k < nslaves; k++)
		free(c->targets[k]);
	free(c->targets);
}

void alt_group_free(struct alt_group *g)
{
	for (size_t i = 0; i < g->nslaves; i++) {
		free(g->slaves[i].name);
		free(g->slaves[i].link);
	}
	for (size_t i = 0; i < g->nchoices; i++)
		choice_clear(&g->choices[i], g->nslaves, true);
	free(g->slaves);
	free(g->choices);
	free(g->name);
	free(g->link);
	*g = (struct alt_group){ 0 };
}

/* The priority line S (N bytes): [@FAMILY@]NUMBER[ INITSCRIPT]. */
static int parse_priority(qi_handle *h, const struct alt_lines *l, const char *s, size_t n, struct alt_choice *c)
{
	char *line = qi_xasprintf("%.*s", (int)n, s), *p = line;
	int rc = 0;
	if (*p == '@') {
		char *end = strchr(p + 1, '@');
		if (!end || end == p + 1) {
			free(line);
			return bad(h, l, "a family (@NAME@) that does not end, where the priority was wanted");
		}
		c->family = qi_xasprintf("%.*s", (int)(end - p - 1), p + 1);
		p = end + 1;
	}
	char *end = NULL;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (end == p || errno || (*end && *end != ' ' && *end != '\t') || (*p != '-' && (*p < '0' || *p > '9'))) {
		rc = bad(h, l, "not a priority (a number, after @FAMILY@ if any)");
	} else {
		c->priority = v;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end)
			c->initscript = qi_xstrdup(end);
	}
	free(line);
	return rc;
}

/* The same text back? Only then is a parsed line kept as it is: a
 * priority written "060", or spaces after it, would not round-trip. */
static bool priority_exact(const struct alt_choice *c, const char *s, size_t n)
{
	struct qi_buf b = { 0 };
	if (c->family)
		qi_buf_addf(&b, "@%s@", c->family);
	qi_buf_addf(&b, "%ld", c->priority);
	if (c->initscript)
		qi_buf_addf(&b, " %s", c->initscript);
	bool same = b.len == n && memcmp(b.data, s, n) == 0;
	qi_buf_free(&b);
	return same;
}

int alt_parse(qi_handle *h, const char *name, const char *text, size_t len, struct alt_group *g)
{
	*g = (struct alt_group){ .name = qi_xstrdup(name) };
	struct alt_lines l = { .text = text, .len = len, .name = name };
	const char *s;
	size_t n;
	int rc = 0;
	if (memchr(text, '\0', len)) {
		/* the line of the first NUL, for the message */
		const char *z = memchr(text, '\0', len);
		for (const char *p = text; p <= z; p++)
			l.lineno += p == text || p[-1] == '\n';
		rc = bad(h, &l, "a NUL byte");
		goto out;
	}
	if (!next_line(&l, &s, &n) || !((n == 4 && memcmp(s, "auto", 4) == 0) ||
					 (n == 6 && memcmp(s, "manual", 6) == 0))) {
		rc = bad(h, &l, "\"auto\" or \"manual\" wanted");
		goto out;
	}
	g->manual = n == 6;
	if (!next_line(&l, &s, &n) || !is_path(s, n)) {
		rc = bad(h, &l, "the master link (an absolute path) wanted");
		goto out;
	}
	g->link = qi_xasprintf("%.*s", (int)n, s);
	/* the slaves: name and link pairs, up to an empty line */
	for (;;) {
		if (!next_line(&l, &s, &n)) {
			rc = bad(h, &l, "the file ends before the empty line after the slaves");
			goto out;
		}
		if (n == 0)
			break;
		if (s[0] == '/') {
			rc = bad(h, &l, "a slave's name wanted, not a path");
			goto out;
		}
		char *sname = qi_xasprintf("%.*s", (int)n, s);
		if (alt_slave_index(g, sname) >= 0) {
			free(sname);
			rc = bad(h, &l, "a slave named twice");
			goto out;
		}
		if (!next_line(&l, &s, &n) || !is_path(s, n)) {
			free(sname);
			rc = bad(h, &l, "the slave's link (an absolute path) wanted");
			goto out;
		}
		g->slaves = qi_xrealloc(g->slaves, (g->nslaves + 1) * sizeof(*g->slaves));
		g->slaves[g->nslaves++] = (struct alt_slave){ .name = sname,
							      .link = qi_xasprintf("%.*s", (int)n, s) };
	}
	/* the choices, up to the end (or an empty line, Debian's end) */
	while (next_line(&l, &s, &n)) {
		if (n == 0) {
			g->trailing_blank = true;
			if (l.pos < len) {
				rc = bad(h, &l, "text after the empty line that ends the choices");
				goto out;
			}
			break;
		}
		if (!is_path(s, n)) {
			rc = bad(h, &l, "a choice's path (absolute) wanted");
			goto out;
		}
		char *path = qi_xasprintf("%.*s", (int)n, s);
		if (alt_find(g, path)) {
			free(path);
			rc = bad(h, &l, "a choice given twice");
			goto out;
		}
		g->choices = qi_xrealloc(g->choices, (g->nchoices + 1) * sizeof(*g->choices));
		struct alt_choice *c = &g->choices[g->nchoices++];
		*c = (struct alt_choice){ .path = path, .targets = qi_xmalloc((g->nslaves + 1) * sizeof(char *)) };
		for (size_t k = 0; k < g->nslaves; k++)
			c->targets[k] = NULL;
		if (!next_line(&l, &s, &n)) {
			rc = bad(h, &l, "the file ends where the choice's priority was wanted");
			goto out;
		}
		if (parse_priority(h, &l, s, n, c) < 0) {
			rc = -1;
			goto out;
		}
		if (!priority_exact(c, s, n)) {
			rc = bad(h, &l, "a priority line alternatives would not write so (leading zeros, a "
				 "sign, extra blanks)");
			goto out;
		}
		for (size_t k = 0; k < g->nslaves; k++) {
			if (!next_line(&l, &s, &n)) {
				rc = bad(h, &l, "the file ends within a choice (a line per slave wanted)");
				goto out;
			}
			if (n && !is_path(s, n)) {
				rc = bad(h, &l, "a slave's target (an absolute path, or an empty line) wanted");
				goto out;
			}
			c->targets[k] = n ? qi_xasprintf("%.*s", (int)n, s) : NULL;
		}
	}
	/* a last line without its LF is not what alternatives writes */
	if (len && text[len - 1] != '\n') {
		rc = bad(h, &l, "the last line does not end in a line feed");
		goto out;
	}
out:
	if (rc < 0)
		alt_group_free(g);
	return rc;
}

char *alt_format(const struct alt_group *g, size_t *len)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "%s\n%s\n", g->manual ? "manual" : "auto", g->link ? g->link : "");
	for (size_t i = 0; i < g->nslaves; i++)
		qi_buf_addf(&b, "%s\n%s\n", g->slaves[i].name, g->slaves[i].link);
	qi_buf_add(&b, "\n", 1);
	for (size_t i = 0; i < g->nchoices; i++) {
		const struct alt_choice *c = &g->choices[i];
		qi_buf_addf(&b, "%s\n", c->path);
		if (c->family)
			qi_buf_addf(&b, "@%s@", c->family);
		qi_buf_addf(&b, "%ld", c->priority);
		if (c->initscript)
			qi_buf_addf(&b, " %s", c->initscript);
		qi_buf_add(&b, "\n", 1);
		for (size_t k = 0; k < g->nslaves; k++)
			qi_buf_addf(&b, "%s\n", c->targets[k] ? c->targets[k] : "");
	}
	if (g->trailing_blank)
		qi_buf_add(&b, "\n", 1);
	if (len)
		*len = b.len;
	return b.data;
}

/* ---- edits ---- */

long alt_slave_index(const struct alt_group *g, const char *name)
{
	for (size_t i = 0; i < g->nslaves; i++)
		if (strcmp(g->slaves[i].name, name) == 0)
			return (long)i;
	return -1;
}

const struct alt_choice *alt_find(const struct alt_group *g, const char *path)
{
	for (size_t i = 0; i < g->nchoices; i++)
		if (strcmp(g->choices[i].path, path) == 0)
			return &g->choices[i];
	return NULL;
}

const struct alt_choice *alt_best(const struct alt_group *g)
{
	const struct alt_choice *best = NULL;
	for (size_t i = 0; i < g->nchoices; i++)
		if (!best || g->choices[i].priority > best->priority)
			best = &g->choices[i];
	return best;
}

/* chkconfig's matchFollowers: the header's slaves sorted by their link
 * paths (strcmp), each choice's targets following them. */
static void sort_slaves(struct alt_group *g)
{
	/* insertion sort: a few slaves, and the links are unique */
	for (size_t i = 1; i < g->nslaves; i++)
		for (size_t k = i; k > 0 && strcmp(g->slaves[k - 1].link, g->slaves[k].link) > 0; k--) {
			struct alt_slave t = g->slaves[k - 1];
			g->slaves[k - 1] = g->slaves[k];
			g->slaves[k] = t;
			for (size_t c = 0; c < g->nchoices; c++) {
				char *x = g->choices[c].targets[k - 1];
				g->choices[c].targets[k - 1] = g->choices[c].targets[k];
				g->choices[c].targets[k] = x;
			}
		}
}

/* chkconfig's removeUnusedFollowersFromTemplate: a slave no choice has a
 * target for leaves the header. */
static void drop_unused(struct alt_group *g)
{
	for (size_t k = 0; k < g->nslaves;) {
		bool used = false;
		for (size_t i = 0; i < g->nchoices && !used; i++)
			used = g->choices[i].targets[k] != NULL;
		if (used) {
			k++;
			continue;
		}
		free(g->slaves[k].name);
		free(g->slaves[k].link);
		memmove(&g->slaves[k], &g->slaves[k + 1], (g->nslaves - k - 1) * sizeof(*g->slaves));
		for (size_t i = 0; i < g->nchoices; i++)
			memmove(&g->choices[i].targets[k], &g->choices[i].targets[k + 1],
				(g->nslaves - k - 1) * sizeof(char *));
		g->nslaves--;
	}
}

int alt_add_choice(qi_handle *h, struct alt_group *g, const char *path, long priority, const char *initscript,
		   const char *const *names, const char *const *links, const char *const *targets, size_t n)
{
	if (!path || path[0] != '/')
		return qi_error(h, "alternatives: the choice %s is not an absolute path", path ? path : "(none)");
	for (size_t i = 0; i < n; i++) {
		long k = alt_slave_index(g, names[i]);
		if (k >= 0 && strcmp(g->slaves[k].link, links[i]) != 0)
			return qi_error(h, "alternatives group %s: its slave %s is the link %s, not %s", g->name,
					names[i], g->slaves[k].link, links[i]);
		for (size_t j = 0; j < g->nslaves; j++)
			if (k < 0 && strcmp(g->slaves[j].link, links[i]) == 0)
				return qi_error(h, "alternatives group %s: the link %s is its slave %s already, "
						"not %s", g->name, links[i], g->slaves[j].name, names[i]);
	}
	/* new slaves join the header; every choice gets a place for them */
	for (size_t i = 0; i < n; i++) {
		if (alt_slave_index(g, names[i]) >= 0)
			continue;
		g->slaves = qi_xrealloc(g->slaves, (g->nslaves + 1) * sizeof(*g->slaves));
		g->slaves[g->nslaves] = (struct alt_slave){ .name = qi_xstrdup(names[i]),
							    .link = qi_xstrdup(links[i]) };
		for (size_t c = 0; c < g->nchoices; c++) {
			g->choices[c].targets = qi_xrealloc(g->choices[c].targets,
							    (g->nslaves + 1) * sizeof(char *));
			g->choices[c].targets[g->nslaves] = NULL;
		}
		g->nslaves++;
	}
	struct alt_choice *c = (struct alt_choice *)alt_find(g, path);
	bool replaced = c != NULL;
	if (c) {
		choice_clear(c, g->nslaves, false);
	} else {
		g->choices = qi_xrealloc(g->choices, (g->nchoices + 1) * sizeof(*g->choices));
		c = &g->choices[g->nchoices++];
		c->path = qi_xstrdup(path);
	}
	c->priority = priority;
	c->family = NULL;
	c->initscript = initscript ? qi_xstrdup(initscript) : NULL;
	c->targets = qi_xmalloc((g->nslaves + 1) * sizeof(char *));
	for (size_t k = 0; k < g->nslaves; k++)
		c->targets[k] = NULL;
	for (size_t i = 0; i < n; i++)
		c->targets[alt_slave_index(g, names[i])] = targets[i] ? qi_xstrdup(targets[i]) : NULL;
	if (replaced)
		drop_unused(g);
	sort_slaves(g);
	return 0;
}

void alt_remove_choice(struct alt_group *g, const char *path)
{
	struct alt_choice *c = (struct alt_choice *)alt_find(g, path);
	if (!c)
		return;
	/* chkconfig's removeService: the last choice takes the slot; every
	 * slave stays in the header */
	size_t at = (size_t)(c - g->choices);
	choice_clear(c, g->nslaves, true);
	g->choices[at] = g->choices[g->nchoices - 1];
	g->nchoices--;
}

/* ---- ROOT ---- */

int alt_load(qi_handle *h, const char *name, struct alt_group *g)
{
	*g = (struct alt_group){ 0 };
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return qi_error(h, "alternatives: %s is not the name of a group", name);
	char *path = qi_xasprintf("%s/%s", ALT_STATE_DIR, name);
	char *tmp = qi_xasprintf("%s.new", path);
	const char *shown = qi_root_is_host(h) ? "" : qi_root(h);
	struct stat st;
	int rc = 0;
	if (qi_root_lstat(h, tmp, &st) == 0) {
		rc = qi_error(h, "%s%s is there: alternatives was interrupted while it wrote the state of %s. "
			      "Check %s%s (and that its links are as it says), remove %s%s, then run qinstall "
			      "again", shown, tmp, name, shown, path, shown, tmp);
	} else if (qi_root_lstat(h, path, &st) < 0) {
		if (errno == ENOENT) {
			qi_clear_error(h);
			rc = 1;
		} else {
			rc = -1;
		}
	} else if (!S_ISREG(st.st_mode)) {
		rc = qi_error(h, "%s%s is not a regular file (%s): qinstall reads no alternatives state "
			      "through it; put the real file there, then run qinstall again", shown, path,
			      S_ISLNK(st.st_mode) ? "a symbolic link" : "not a file");
	} else if ((size_t)st.st_size > ALT_STATE_MAX) {
		rc = qi_error(h, "%s%s is %lld bytes, more than an alternatives state file holds (at most "
			      "%zu): look at what it is, then run qinstall again", shown, path,
			      (long long)st.st_size, ALT_STATE_MAX);
	} else {
		char *text = NULL;
		size_t len = 0;
		rc = qi_root_read(h, path, &text, &len);
		if (rc == 0 && len > ALT_STATE_MAX)
			rc = qi_error(h, "%s%s grew past %zu bytes while it was read", shown, path, ALT_STATE_MAX);
		if (rc == 0)
			rc = alt_parse(h, name, text, len, g);
		free(text);
	}
	free(tmp);
	free(path);
	return rc;
}

/* What stands at PATH: 0 nothing, 1 a symbolic link, -1 anything else
 * (an error naming it). */
static int link_spot(qi_handle *h, const char *path)
{
	struct stat st;
	if (qi_root_lstat(h, path, &st) < 0) {
		qi_clear_error(h);
		return 0;
	}
	if (S_ISLNK(st.st_mode))
		return 1;
	return qi_error(h, "%s%s is not a symbolic link: alternatives' link cannot go there; move it "
			"away (it is not qinstall's to remove), then run qinstall again",
			qi_root_is_host(h) ? "" : qi_root(h), path);
}

/* PATH -> TARGET through the journal, read back. */
static int set_link(qi_handle *h, const char *path, const char *target)
{
	char *at = mta_readlink(h, path);
	bool same = at && strcmp(at, target) == 0;
	free(at);
	if (same)
		return 0;
	if (link_spot(h, path) == 1 && qi_remove(h, path) < 0)
		return -1;
	if (qi_symlink(h, path, target) < 0)
		return -1;
	at = mta_readlink(h, path);
	same = at && strcmp(at, target) == 0;
	free(at);
	if (!same)
		return qi_error(h, "%s%s does not point at %s after qinstall made it so",
				qi_root_is_host(h) ? "" : qi_root(h), path, target);
	return 0;
}

/* The link PATH removed (through the journal) when it is one. */
static int drop_link(qi_handle *h, const char *path)
{
	return link_spot(h, path) == 1 ? qi_remove(h, path) : 0;
}

int alt_store(qi_handle *h, const struct alt_group *g, const char *current)
{
	const struct alt_choice *c = current ? alt_find(g, current) : alt_best(g);
	if (!c)
		return qi_error(h, "alternatives group %s has no choice %s", g->name,
				current ? current : "(it has none at all)");
	/* the spots first: nothing is written when one is taken */
	if (link_spot(h, g->link) < 0)
		return -1;
	for (size_t k = 0; k < g->nslaves; k++)
		if (link_spot(h, g->slaves[k].link) < 0)
			return -1;
	size_t len = 0;
	char *text = alt_format(g, &len);
	char *state = qi_xasprintf("%s/%s", ALT_STATE_DIR, g->name);
	int rc = qi_mkdir_p(h, ALT_STATE_DIR, 0755, (uid_t)-1, (gid_t)-1);
	if (rc == 0)
		rc = qi_mkdir_p(h, ALT_LINK_DIR, 0755, (uid_t)-1, (gid_t)-1);
	if (rc == 0)
		rc = qi_write_file(h, state, text, len, 0644, (uid_t)-1, (gid_t)-1);
	free(state);
	free(text);
	char *mid = qi_xasprintf("%s/%s", ALT_LINK_DIR, g->name);
	if (rc == 0)
		rc = set_link(h, mid, c->path);
	if (rc == 0)
		rc = set_link(h, g->link, mid);
	free(mid);
	for (size_t k = 0; k < g->nslaves && rc == 0; k++) {
		mid = qi_xasprintf("%s/%s", ALT_LINK_DIR, g->slaves[k].name);
		if (c->targets[k]) {
			rc = set_link(h, mid, c->targets[k]);
			if (rc == 0)
				rc = set_link(h, g->slaves[k].link, mid);
		} else {
			rc = drop_link(h, mid);
			/* the slave's own link only when it is alternatives' */
			char *at = rc == 0 ? mta_readlink(h, g->slaves[k].link) : NULL;
			if (at && strcmp(at, mid) == 0)
				rc = drop_link(h, g->slaves[k].link);
			free(at);
		}
		free(mid);
	}
	return rc;
}

void alt_chain_free(char **hops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(hops[i]);
	free(hops);
}

/* PATH made plain: no "//", ".", "..", never above "/". Malloc'd. */
static char *plain_path(const char *path)
{
	size_t len = strlen(path);
	char *out = qi_xmalloc(len + 2);
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

int alt_chain(qi_handle *h, const char *path, char ***hops, size_t *n)
{
	*hops = NULL;
	*n = 0;
	char *at = plain_path(path);
	for (;;) {
		for (size_t i = 0; i < *n; i++)
			if (strcmp((*hops)[i], at) == 0) {
				int rc = qi_error(h, "the links from %s%s loop at %s: fix the chain by hand, "
						  "then run qinstall again", qi_root_is_host(h) ? "" : qi_root(h),
						  path, at);
				free(at);
				alt_chain_free(*hops, *n);
				*hops = NULL;
				*n = 0;
				return rc;
			}
		*hops = qi_xrealloc(*hops, (*n + 1) * sizeof(**hops));
		(*hops)[(*n)++] = at;
		struct stat st;
		if (qi_root_lstat(h, at, &st) < 0) {
			qi_clear_error(h);
			return 0;	/* missing: the chain ends there */
		}
		if (!S_ISLNK(st.st_mode))
			return 0;
		if (*n > ALT_CHAIN_MAX) {
			int rc = qi_error(h, "the links from %s%s go on past %d links (at %s): fix the chain "
					  "by hand, then run qinstall again", qi_root_is_host(h) ? "" : qi_root(h),
					  path, ALT_CHAIN_MAX, at);
			alt_chain_free(*hops, *n);
			*hops = NULL;
			*n = 0;
			return rc;
		}
		char *target = mta_readlink(h, at);
		if (!target) {
			int rc = qi_error(h, "cannot read the link %s%s", qi_root_is_host(h) ? "" : qi_root(h), at);
			alt_chain_free(*hops, *n);
			*hops = NULL;
			*n = 0;
			return rc;
		}
		char *joined;
		if (target[0] == '/') {
			joined = qi_xstrdup(target);
		} else {
			char *dir = qi_xstrdup(at);
			*strrchr(dir, '/') = '\0';
			joined = qi_xasprintf("%s/%s", dir, target);
			free(dir);
		}
		free(target);
		at = plain_path(joined);
		free(joined);
	}
}
