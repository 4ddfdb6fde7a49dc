/*
 * profile.c - provisioning profiles: an INI-like text format, includes,
 * ${name} expansion, the checks of the whole, and where each value came
 * from; options ([option NAME]) and the sections that count only when
 * their condition holds ([KIND ARG if NAME !NAME]). What each section and
 * key may hold is profile_schema.c's; the format is documented in
 * qinstall-profile(5).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/provision.h"

#define QI_PROFILE_MAX_DEPTH 16		/* includes nested */
#define QI_PROFILE_MAX_FILES 256	/* files read for one profile, includes counted */

struct entry {
	char *section;		/* "build", "component ucspi-tcp" */
	char *key;
	char *value;		/* as written */
	char *expanded;		/* after ${...}; set by finalize */
	char *origin;		/* "FILE:LINE" or "command line" */
	char *file;		/* the file that wrote it (NULL: command line) */
	int line;
	const struct qi_keydef *def;
	char *cond;		/* "NAME !NAME" of a conditional section, or NULL */
	char *cond_origin;	/* its header's FILE:LINE */
	bool active;		/* it counts: no condition, or its condition holds */
};

/* An option's state, worked out by finalize. */
struct option {
	char *name;
	int state;		/* -1 not yet known, 0 off, 1 on */
	bool visiting;		/* on the default chain being followed (a loop) */
	const char *origin;	/* "command line", FILE:LINE of `enabled`, or "default" */
};

struct strlist {
	char **v;
	size_t n;
};

struct qi_profile {
	char *file;
	struct entry *e;
	size_t n;
	struct strlist sections;	/* section names in order of first appearance */
	struct strlist section_origins;
	struct strlist plain;		/* sections with a header without a condition */
	struct strlist components;	/* NULL-terminated view of the component names */
	struct option *opts;		/* the [option NAME] sections, in order */
	size_t nopts;
	struct strlist scratch;		/* strings handed out by get (defaults) */
	struct strlist loading;		/* include stack, for cycles */
	size_t nread;			/* profile files read, includes counted */
	char ***lists;			/* handed-out list arrays */
	size_t nlists;
	char *data_dir;
};

static void sl_add(struct strlist *l, char *s)
{
	l->v = qi_xrealloc(l->v, (l->n + 2) * sizeof(*l->v));
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static void sl_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool sl_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void qi_profile_free(struct qi_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->e[i].section);
		free(p->e[i].key);
		free(p->e[i].value);
		free(p->e[i].expanded);
		free(p->e[i].origin);
		free(p->e[i].file);
		free(p->e[i].cond);
		free(p->e[i].cond_origin);
	}
	free(p->e);
	for (size_t i = 0; i < p->nopts; i++)
		free(p->opts[i].name);
	free(p->opts);
	sl_free(&p->plain);
	sl_free(&p->sections);
	sl_free(&p->section_origins);
	sl_free(&p->components);
	sl_free(&p->scratch);
	sl_free(&p->loading);
	for (size_t i = 0; i < p->nlists; i++)
		free(p->lists[i]);
	free(p->lists);
	free(p->file);
	free(p->data_dir);
	free(p);
}

const char *qi_profile_file(const struct qi_profile *p) { return p->file; }

static bool truthy(const char *v)
{
	return v && (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int load_file(qi_handle *h, struct qi_profile *p, const char *path, const char *from);

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return qi_xstrdup(".");
	if (slash == path)
		return qi_xstrdup("/");
	return strndup(path, (size_t)(slash - path));
}

static bool file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Where `include = NAME` (written in FILE) points. */
static char *resolve_include(struct qi_profile *p, const char *file, const char *name)
{
	char *dir = dir_of(file);
	char *path;
	if (strchr(name, '/')) {
		path = name[0] == '/' ? qi_xstrdup(name) : qi_xasprintf("%s/%s", dir, name);
	} else {
		path = qi_xasprintf("%s/%s.profile", dir, name);
		if (!file_exists(path)) {
			free(path);
			path = qi_xasprintf("%s/profiles/%s.profile", p->data_dir, name);
		}
	}
	free(dir);
	return path;
}

/* "component NAME" (or "option NAME"): the ARG of a named kind's section,
 * or NULL. */
static const char *named_arg(const char *section, const char *kind)
{
	const char *k = qi_profile_section_kind(section);
	if (strcmp(k, section) == 0 || (kind && strcmp(k, kind) != 0))
		return NULL;
	return section + strlen(k) + 1;
}

/* PLAIN: its header has no condition. */
static void add_section(struct qi_profile *p, const char *name, const char *origin, bool plain)
{
	if (plain && !sl_has(&p->plain, name))
		sl_add(&p->plain, qi_xstrdup(name));
	if (sl_has(&p->sections, name))
		return;
	sl_add(&p->sections, qi_xstrdup(name));
	sl_add(&p->section_origins, qi_xstrdup(origin));
}

static struct entry *add_entry(struct qi_profile *p, const char *section, const char *key,
			       const char *value, const char *file, int line,
			       const struct qi_keydef *def)
{
	p->e = qi_xrealloc(p->e, (p->n + 1) * sizeof(*p->e));
	struct entry *e = &p->e[p->n++];
	memset(e, 0, sizeof(*e));
	e->section = qi_xstrdup(section);
	e->key = qi_xstrdup(key);
	e->value = qi_xstrdup(value);
	e->file = file ? qi_xstrdup(file) : NULL;
	e->line = line;
	e->origin = file ? qi_xasprintf("%s:%d", file, line) : qi_xstrdup("command line");
	e->def = def;
	e->active = true;
	return e;
}

/* Where the parser is: the section open, and its condition. */
struct cursor {
	char *section;		/* NULL before any header */
	char *cond;		/* "NAME !NAME" after the header's "if", or NULL */
	char *cond_origin;
};

/* The words after "if" in a header: NAME or !NAME, at least one. */
static int parse_cond(qi_handle *h, const char *file, int lineno, const char *s, char **cond)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	while (*(s += strspn(s, " \t"))) {
		char *w = qi_profile_first_word(s, &s);
		bool ok = qi_profile_section_name_ok(w[0] == '!' ? w + 1 : w);
		if (ok)
			qi_buf_addf(&b, "%s%s", b.len ? " " : "", w);
		free(w);
		if (!ok) {
			qi_buf_free(&b);
			return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: a condition is option names, each "
					     "NAME (on) or !NAME (off): [KIND ARG if NAME !NAME]", file, lineno);
		}
	}
	if (!b.len) {
		qi_buf_free(&b);
		return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: 'if' needs the options that must hold: "
				     "[KIND ARG if NAME !NAME]", file, lineno);
	}
	*cond = b.data;
	return 0;
}

/* The word "if" at S. */
static bool is_if(const char *s)
{
	return strncmp(s, "if", 2) == 0 && (s[2] == ' ' || s[2] == '\t' || s[2] == '\0');
}

/* The header L ("[NAME]", "[KIND ARG]", either with "if COND...", trimmed)
 * at FILE:LINENO opens the section of CUR (replaced, malloc'd). */
static int parse_header(qi_handle *h, struct qi_profile *p, const char *file, int lineno, char *l,
			struct cursor *cur)
{
	char *close = strchr(l, ']');
	if (!close || *trim(close + 1))
		return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: a section header is [NAME] alone on its line",
				     file, lineno);
	*close = '\0';
	const char *rest;
	char *name = qi_profile_first_word(trim(l + 1), &rest), *arg = NULL, *cond = NULL;
	int rc = 0;
	if (*rest && !is_if(rest))
		arg = qi_profile_first_word(rest, &rest);
	if (*rest && !is_if(rest))
		rc = qi_error_kind(h, QI_ERR_USAGE, "%s:%d: after [KIND ARG only 'if NAME !NAME...' may "
				   "follow", file, lineno);
	else if (*rest)
		rc = parse_cond(h, file, lineno, rest + 2, &cond);
	const struct qi_section_def *sd = rc == 0 ? qi_profile_section_def(name) : NULL;
	if (rc == 0 && !sd) {
		char *known = qi_profile_known_sections();
		rc = qi_error_kind(h, QI_ERR_USAGE, "%s:%d: unknown section [%s] (known: %s)", file, lineno, name,
				   known);
		free(known);
	} else if (rc == 0 && sd->named && (!arg || !qi_profile_section_name_ok(arg))) {
		rc = qi_error_kind(h, QI_ERR_USAGE,
				   "%s:%d: [%s NAME] needs a name of letters, digits, '-', '_' or '.'",
				   file, lineno, sd->name);
	} else if (rc == 0 && !sd->named && arg) {
		rc = qi_error_kind(h, QI_ERR_USAGE, "%s:%d: section [%s] takes no name", file, lineno, name);
	} else if (rc == 0 && cond && strcmp(sd->name, "option") == 0) {
		rc = qi_error_kind(h, QI_ERR_USAGE, "%s:%d: an [option NAME] section has no condition "
				   "(its 'default' may name other options)", file, lineno);
	}
	if (rc == 0) {
		free(cur->section);
		free(cur->cond);
		free(cur->cond_origin);
		cur->section = arg ? qi_xasprintf("%s %s", name, arg) : qi_xstrdup(name);
		cur->cond = cond;
		cur->cond_origin = qi_xasprintf("%s:%d", file, lineno);
		cond = NULL;
		add_section(p, cur->section, cur->cond_origin, !cur->cond);
	}
	free(cond);
	free(name);
	free(arg);
	return rc;
}

/* The line L ("KEY = VALUE", trimmed) at FILE:LINENO, in CUR's section:
 * a value, or an include read at once. */
static int parse_setting(qi_handle *h, struct qi_profile *p, const char *file, int lineno,
			 const struct cursor *cur, char *l)
{
	const char *section = cur->section;
	char *eq = strchr(l, '=');
	if (!eq)
		return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: expected KEY = VALUE, a [section] or a # comment",
				     file, lineno);
	*eq = '\0';
	char *key = trim(l), *value = trim(eq + 1);
	if (!section)
		return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: key '%s' before any [section]", file, lineno, key);
	const struct qi_keydef *def = qi_profile_key(section, key);
	if (!def) {
		char *known = qi_profile_known_keys(section);
		qi_error_kind(h, QI_ERR_USAGE, "%s:%d: unknown key '%s' in [%s] (known: %s)", file, lineno, key,
			      section, known);
		free(known);
		return -1;
	}
	if (strcmp(def->key, "include") == 0) {
		if (cur->cond)
			return qi_error_kind(h, QI_ERR_USAGE, "%s:%d: an include cannot depend on options "
					     "(%s: if %s): include it unconditionally", file, lineno,
					     cur->cond_origin, cur->cond);
		char *path = resolve_include(p, file, value);
		char *from = qi_xasprintf("%s:%d", file, lineno);
		int rc = load_file(h, p, path, from);
		free(from);
		free(path);
		return rc;
	}
	struct entry *e = add_entry(p, section, key, value, file, lineno, def);
	if (cur->cond) {
		e->cond = qi_xstrdup(cur->cond);
		e->cond_origin = qi_xstrdup(cur->cond_origin);
	}
	return 0;
}

static int parse_text(qi_handle *h, struct qi_profile *p, const char *file, const char *buf,
		      size_t len)
{
	struct cursor cur = { 0 };
	int lineno = 0, rc = 0;
	const char *s = buf, *end = buf + len;
	if (memchr(buf, '\0', len))
		return qi_error_kind(h, QI_ERR_USAGE,
				     "%s: not a profile (it contains NUL bytes)", file);
	while (s < end && rc == 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char *raw = strndup(s, n), *l = trim(raw);
		s += n + (nl ? 1 : 0);
		lineno++;
		json_t *utf8 = json_stringn(raw, n);	/* jansson checks UTF-8 */
		if (!utf8)
			rc = qi_error_kind(h, QI_ERR_USAGE, "%s:%d: not valid UTF-8 text", file, lineno);
		else if (!*l || *l == '#' || *l == ';')
			;	/* a blank line or a comment */
		else if (*l == '[')
			rc = parse_header(h, p, file, lineno, l, &cur);
		else
			rc = parse_setting(h, p, file, lineno, &cur, l);
		json_decref(utf8);
		free(raw);
	}
	free(cur.section);
	free(cur.cond);
	free(cur.cond_origin);
	return rc;
}

static int load_file(qi_handle *h, struct qi_profile *p, const char *path, const char *from)
{
	char *real = realpath(path, NULL);
	if (!real) {
		if (from)
			return qi_error_kind(h, QI_ERR_USAGE, "%s: include %s: %s", from, path, strerror(errno));
		return qi_error_errno(h, "cannot read profile %s", path);
	}
	if (sl_has(&p->loading, real)) {
		struct qi_buf b = { 0 };
		for (size_t i = 0; i < p->loading.n; i++)
			qi_buf_addf(&b, "%s -> ", p->loading.v[i]);
		qi_error_kind(h, QI_ERR_USAGE, "%s: include cycle: %s%s", from, b.data, real);
		qi_buf_free(&b);
		free(real);
		return -1;
	}
	if (p->loading.n >= QI_PROFILE_MAX_DEPTH || p->nread >= QI_PROFILE_MAX_FILES) {
		free(real);
		if (p->nread >= QI_PROFILE_MAX_FILES)
			return qi_error_kind(h, QI_ERR_USAGE, "%s: include %s: more than %d profile files "
					     "to read: include each profile once", from, path,
					     QI_PROFILE_MAX_FILES);
		return qi_error_kind(h, QI_ERR_USAGE, "%s: include %s: includes nest deeper than %d "
				     "profiles: include the inner ones directly", from, path,
				     QI_PROFILE_MAX_DEPTH);
	}
	char *text;
	size_t len;
	if (qi_input_read(h, QI_ERR_USAGE, path, "profile", QI_PROFILE_MAX, &text, &len) < 0) {
		free(real);
		return from ? qi_error_prefix(h, "%s", from) : -1;
	}
	p->nread++;
	sl_add(&p->loading, real);
	int rc = parse_text(h, p, path, text, len);
	free(p->loading.v[--p->loading.n]);
	p->loading.v[p->loading.n] = NULL;
	free(text);
	return rc;
}

/* ---- lookups ---- */

static const struct entry *last_entry(const struct qi_profile *p, const char *section, const char *key)
{
	for (size_t i = p->n; i-- > 0;)
		if (p->e[i].active && strcmp(p->e[i].section, section) == 0 && strcmp(p->e[i].key, key) == 0)
			return &p->e[i];
	return NULL;
}

static char *expand(qi_handle *h, const struct qi_profile *p, const char *section,
		    const char *value, const char *origin, const char *key, int depth);

/* The I-th section ${...} looks in from SECTION: SECTION itself, then the
 * kinds whose keys any section may name ([build], [accounts], [mail],
 * [services]); NULL after the last. */
static const char *var_scope(const char *section, size_t i)
{
	if (i == 0)
		return section;
	for (const struct qi_section_def *s = qi_profile_sections(); s->name; s++)
		if (s->vars && --i == 0)
			return s->name;
	return NULL;
}

/* The profile's name: its file's without the directory and ".profile". */
static char *profile_name(const struct qi_profile *p)
{
	const char *base = strrchr(p->file, '/') ? strrchr(p->file, '/') + 1 : p->file;
	size_t n = strlen(base);
	if (n > 8 && strcmp(base + n - 8, ".profile") == 0)
		n -= 8;
	return strndup(base, n);
}

/* The value of ${NAME} seen from SECTION. */
static char *lookup_var(qi_handle *h, const struct qi_profile *p, const char *section,
			const char *name, const char *origin, const char *key, int depth)
{
	const char *from;
	if (strcmp(name, "profile_name") == 0)
		return profile_name(p);
	for (size_t i = 0; (from = var_scope(section, i)); i++) {
		const struct qi_keydef *def = qi_profile_key(from, name);
		if (!def || def->list)
			continue;
		const struct entry *e = last_entry(p, from, name);
		const char *raw = e ? e->value : def->deflt;
		if (!raw)
			continue;
		if (strcmp(name, "jobs") == 0 && strcmp(raw, "auto") == 0) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);
			return qi_xasprintf("%ld", n > 0 ? n : 1);
		}
		return expand(h, p, from, raw, e ? e->origin : "default", name, depth + 1);
	}
	if (h)
		qi_error_kind(h, QI_ERR_USAGE, "%s: key '%s': ${%s} names no setting", origin, key, name);
	return NULL;
}

static char *expand(qi_handle *h, const struct qi_profile *p, const char *section,
		    const char *value, const char *origin, const char *key, int depth)
{
	if (depth > 8) {
		if (h)
			qi_error_kind(h, QI_ERR_USAGE, "%s: key '%s': ${...} nested too deeply (a loop?)", origin, key);
		return NULL;
	}
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	const char *s = value;
	while (*s) {
		const char *d = strstr(s, "${");
		if (!d) {
			qi_buf_add(&b, s, strlen(s));
			break;
		}
		qi_buf_add(&b, s, (size_t)(d - s));
		const char *close = strchr(d + 2, '}');
		if (!close) {
			if (h)
				qi_error_kind(h, QI_ERR_USAGE, "%s: key '%s': '${' without a closing '}'", origin, key);
			qi_buf_free(&b);
			return NULL;
		}
		char *name = strndup(d + 2, (size_t)(close - d - 2));
		char *v = lookup_var(h, p, section, name, origin, key, depth);
		free(name);
		if (!v) {
			qi_buf_free(&b);
			return NULL;
		}
		qi_buf_add(&b, v, strlen(v));
		free(v);
		s = close + 1;
	}
	return b.data;
}

static char *hand_out(const struct qi_profile *pc, char *s)
{
	struct qi_profile *p = (struct qi_profile *)pc;
	sl_add(&p->scratch, s);
	return s;
}

const char *qi_profile_get(const struct qi_profile *p, const char *section, const char *key)
{
	const struct qi_keydef *def = qi_profile_key(section, key);
	if (def && def->list)
		return NULL;
	const struct entry *e = last_entry(p, section, key);
	if (e)
		return e->expanded ? e->expanded : e->value;
	if (!def || !def->deflt)
		return NULL;
	if (strcmp(key, "jobs") == 0 && strcmp(def->deflt, "auto") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		return hand_out(p, qi_xasprintf("%ld", n > 0 ? n : 1));
	}
	/* Defaults were expanded once by finalize; this cannot fail now. */
	char *v = expand(NULL, p, section, def->deflt, "default", key, 0);
	return v ? hand_out(p, v) : NULL;
}

const char *qi_profile_origin(const struct qi_profile *p, const char *section, const char *key)
{
	const struct entry *e = last_entry(p, section, key);
	if (e)
		return e->origin;
	const struct qi_keydef *def = qi_profile_key(section, key);
	return def && def->deflt && !def->list ? "default" : NULL;
}

const char *qi_profile_value_origin(const struct qi_profile *p, const char *section, const char *key,
				    const char *value)
{
	for (size_t i = p->n; i-- > 0;) {
		const struct entry *e = &p->e[i];
		if (e->active && strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0 &&
		    strcmp(e->expanded ? e->expanded : e->value, value) == 0)
			return e->origin;
	}
	return NULL;
}

bool qi_profile_list_set(const struct qi_profile *p, const char *section, const char *key)
{
	return last_entry(p, section, key) != NULL;
}

const char *const *qi_profile_get_list(const struct qi_profile *pc, const char *section,
				       const char *key)
{
	struct qi_profile *p = (struct qi_profile *)pc;
	size_t cap = 1, n = 0;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->e[i].section, section) == 0 && strcmp(p->e[i].key, key) == 0)
			cap++;
	char **v = qi_xmalloc(cap * sizeof(*v));
	for (size_t i = 0; i < p->n; i++) {
		if (!p->e[i].active || strcmp(p->e[i].section, section) != 0 || strcmp(p->e[i].key, key) != 0)
			continue;
		if (!*p->e[i].value)
			n = 0;
		else
			v[n++] = p->e[i].expanded ? p->e[i].expanded : p->e[i].value;
	}
	v[n] = NULL;
	p->lists = qi_xrealloc(p->lists, (p->nlists + 1) * sizeof(*p->lists));
	p->lists[p->nlists++] = v;
	return (const char *const *)v;
}

const char *const *qi_profile_components(const struct qi_profile *p)
{
	static const char *const none[] = { NULL };
	return p->components.v ? (const char *const *)p->components.v : none;
}

static int finalize(qi_handle *h, struct qi_profile *p);

/* ---- options ---- */

static struct option *find_option(const struct qi_profile *p, const char *name, size_t n)
{
	for (size_t i = 0; i < p->nopts; i++)
		if (strlen(p->opts[i].name) == n && strncmp(p->opts[i].name, name, n) == 0)
			return &p->opts[i];
	return NULL;
}

char *qi_profile_option_names(const struct qi_profile *p)
{
	struct qi_buf b = { 0 };
	for (size_t i = 0; i < p->nopts; i++)
		qi_buf_addf(&b, "%s%s", i ? ", " : "", p->opts[i].name);
	return b.data ? b.data : qi_xstrdup("");
}

/* Every option name in V (words, each "A|B|..." when ALTS) is declared. */
static int check_names(qi_handle *h, const struct qi_profile *p, const struct entry *e, bool alts)
{
	for (const char *s = e->value; *(s += strspn(s, " \t|"));) {
		size_t n = strcspn(s, alts ? " \t|" : " \t");
		if (!find_option(p, s, n)) {
			char *known = qi_profile_option_names(p);
			qi_error_kind(h, QI_ERR_USAGE, "%s: [%s] %s names the option '%.*s', which the profile "
				      "does not declare (its options: %s)", e->origin, e->section, e->key,
				      (int)n, s, *known ? known : "none");
			free(known);
			return -1;
		}
		s += n;
	}
	return 0;
}

static int option_state(qi_handle *h, struct qi_profile *p, struct option *o);

/* The default "yes", "no" or "A|B|...": on when any of them is on. */
static int default_state(qi_handle *h, struct qi_profile *p, struct option *o, const char *v)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0)
		return strcmp(v, "yes") == 0;
	o->visiting = true;
	int on = 0;
	for (const char *s = v; *s && on == 0; s += strspn(s, "|")) {
		size_t n = strcspn(s, "|");
		on = option_state(h, p, find_option(p, s, n));
		s += n;
	}
	o->visiting = false;
	return on;
}

/* Whether option NAME (N bytes) is turned on explicitly: its last
 * `enabled` (the profile's or the command line's) says yes. */
static bool enabled_yes(const struct qi_profile *p, const char *name, size_t n)
{
	char *sec = qi_xasprintf("option %.*s", (int)n, name);
	const struct entry *en = last_entry(p, sec, "enabled");
	free(sec);
	return en && truthy(en->value);
}

/* An option turned on explicitly that conflicts with O (either declares
 * it): its `enabled` entry's origin, or NULL. */
static const struct entry *explicit_conflict(const struct qi_profile *p, const struct option *o)
{
	size_t on = strlen(o->name);
	for (size_t i = 0; i < p->n; i++) {
		const struct entry *e = &p->e[i];
		const char *name = named_arg(e->section, "option");
		if (!name || strcmp(e->key, "conflicts") != 0)
			continue;
		bool mine = strcmp(name, o->name) == 0;
		for (const char *s = e->value; *(s += strspn(s, " \t"));) {
			size_t n = strcspn(s, " \t");
			if (mine && enabled_yes(p, s, n))
				return e;
			if (!mine && n == on && memcmp(s, o->name, n) == 0 && enabled_yes(p, name, strlen(name)))
				return e;
			s += n;
		}
	}
	return NULL;
}

/* O's state: its last `enabled` (the command line's come last), else its
 * default; an option on only by its default is off when an option turned
 * on explicitly conflicts with it (--with tls-smtpauth turns smtp-auth's
 * default off). -1 on a loop of defaults. */
static int option_state(qi_handle *h, struct qi_profile *p, struct option *o)
{
	if (o->state >= 0)
		return o->state;
	char *sec = qi_xasprintf("option %s", o->name);
	const struct entry *en = last_entry(p, sec, "enabled"), *df = last_entry(p, sec, "default");
	free(sec);
	if (o->visiting)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: the default of option %s depends on itself "
				     "(through the defaults of the options it names)", df->origin, o->name);
	int on;
	if (en) {
		if (qi_profile_invalid(en->def, en->value))
			return qi_error_kind(h, QI_ERR_USAGE, "%s: bad value for 'enabled' in [option %s]: "
					     "'%s': expected yes or no", en->origin, o->name, en->value);
		on = truthy(en->value);
		o->origin = en->origin;
	} else {
		on = df ? default_state(h, p, o, df->value) : 0;
		o->origin = "default";
		if (on == 1 && explicit_conflict(p, o)) {
			on = 0;
			o->origin = "default, yielding to a conflicting option turned on";
		}
	}
	return on < 0 ? -1 : (o->state = on);
}

/* The [option NAME] sections and the states of their options. */
static int eval_options(qi_handle *h, struct qi_profile *p)
{
	for (size_t i = 0; i < p->nopts; i++)
		free(p->opts[i].name);
	p->nopts = 0;
	for (size_t i = 0; i < p->sections.n; i++) {
		const char *name = named_arg(p->sections.v[i], "option");
		if (!name)
			continue;
		p->opts = qi_xrealloc(p->opts, (p->nopts + 1) * sizeof(*p->opts));
		p->opts[p->nopts++] = (struct option){ .name = qi_xstrdup(name), .state = -1 };
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct entry *e = &p->e[i];
		if (!named_arg(e->section, "option") || strcmp(e->key, "enabled") == 0 ||
		    strcmp(e->key, "description") == 0)
			continue;
		const char *why = qi_profile_invalid(e->def, e->value);
		if (why)
			return qi_error_kind(h, QI_ERR_USAGE, "%s: bad value for '%s' in [%s]: '%s': %s",
					     e->origin, e->key, e->section, e->value, why);
		if ((strcmp(e->key, "default") != 0 || (strcmp(e->value, "yes") && strcmp(e->value, "no"))) &&
		    check_names(h, p, e, strcmp(e->key, "conflicts") != 0) < 0)
			return -1;
	}
	for (size_t i = 0; i < p->nopts; i++)
		if (option_state(h, p, &p->opts[i]) < 0)
			return -1;
	return 0;
}

/* Whether E counts: its condition (each NAME on, each !NAME off) holds.
 * -1 when it names an option the profile does not declare. */
static int entry_active(qi_handle *h, const struct qi_profile *p, struct entry *e)
{
	e->active = true;
	for (const char *s = e->cond ? e->cond : ""; *(s += strspn(s, " "));) {
		bool neg = *s == '!';
		size_t n = strcspn(s += neg, " ");
		const struct option *o = find_option(p, s, n);
		if (!o) {
			char *known = qi_profile_option_names(p);
			qi_error_kind(h, QI_ERR_USAGE, "%s: the condition names the option '%.*s', which the "
				      "profile does not declare (its options: %s)", e->cond_origin, (int)n, s,
				      *known ? known : "none");
			free(known);
			return -1;
		}
		if ((o->state == 1) == neg)
			e->active = false;
		s += n;
	}
	return 0;
}

/* The component names: sections with a header without a condition, or
 * with a setting that counts. */
static void list_components(struct qi_profile *p)
{
	sl_free(&p->components);
	for (size_t i = 0; i < p->sections.n; i++) {
		const char *s = p->sections.v[i], *name = named_arg(s, "component");
		bool counts = name && sl_has(&p->plain, s);
		for (size_t k = 0; name && !counts && k < p->n; k++)
			counts = p->e[k].active && strcmp(p->e[k].section, s) == 0;
		if (counts)
			sl_add(&p->components, qi_xstrdup(name));
	}
}

bool qi_profile_option(const struct qi_profile *p, const char *name)
{
	const struct option *o = find_option(p, name, strlen(name));
	return o && o->state == 1;
}

int qi_profile_set_option(qi_handle *h, struct qi_profile *p, const char *name, bool on)
{
	if (!find_option(p, name, strlen(name))) {
		char *known = qi_profile_option_names(p);
		qi_error_kind(h, QI_ERR_USAGE, "profile %s has no option '%s' (%s%s)", p->file, name,
			      *known ? "its options: " : "it declares no [option NAME]", known);
		free(known);
		return -1;
	}
	char *sec = qi_xasprintf("option %s", name);
	add_entry(p, sec, "enabled", on ? "yes" : "no", NULL, 0, qi_profile_key(sec, "enabled"));
	free(sec);
	return finalize(h, p);
}

/* The option named by the word at S (N bytes) of E is on. */
static bool word_on(const struct qi_profile *p, const char *s, size_t n)
{
	const struct option *o = find_option(p, s, n);
	return o && o->state == 1;
}

int qi_profile_check_options(qi_handle *h, const struct qi_profile *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct entry *e = &p->e[i];
		const char *name = named_arg(e->section, "option");
		if (!name || !qi_profile_option(p, name))
			continue;
		bool req = strcmp(e->key, "requires") == 0;
		if (!req && strcmp(e->key, "conflicts") != 0)
			continue;
		for (const char *s = e->value; *(s += strspn(s, " \t"));) {
			size_t n = strcspn(s, " \t"), k = n;
			bool any = false;
			for (const char *a = s; a < s + n; a += k + 1) {
				k = strcspn(a, "| \t");
				any |= word_on(p, a, k);
			}
			const struct option *o = find_option(p, name, strlen(name));
			if (!req && any) {
				const struct option *c = find_option(p, s, n);
				return qi_error_kind(h, QI_ERR_USAGE, "options %s and %.*s conflict, and both are on "
						     "(%s: %s; %.*s: %s; %s declares the conflict): turn one off "
						     "with --without NAME", name, (int)n, s, name, o->origin,
						     (int)n, s, c->origin, e->origin);
			}
			if (req && !any)
				return qi_error_kind(h, QI_ERR_USAGE, "option %s (on: %s) requires %s%.*s, which %s "
						     "off (%s): turn %s on with --with NAME, or %s off",
						     name, o->origin, memchr(s, '|', n) ? "one of " : "", (int)n, s,
						     memchr(s, '|', n) ? "are all" : "is", e->origin,
						     memchr(s, '|', n) ? "one" : "it", name);
			s += n;
		}
	}
	return 0;
}

json_t *qi_profile_options_json(const struct qi_profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->nopts; i++) {
		const struct option *o = &p->opts[i];
		char *sec = qi_xasprintf("option %s", o->name);
		const char *desc = qi_profile_get(p, sec, "description");
		const char *deflt = qi_profile_get(p, sec, "default");
		json_t *j = json_pack("{s:s, s:b, s:s, s:s, s:s}", "name", o->name, "on", o->state == 1,
				      "state", o->state == 1 ? "on" : "off", "origin", o->origin, "default",
				      deflt ? deflt : "no");
		if (desc)
			json_object_set_new(j, "description", json_string(desc));
		static const char *const lists[] = { "conflicts", "requires" };
		for (int l = 0; l < 2; l++) {
			json_t *v = json_array();
			const char *const *vals = qi_profile_get_list(p, sec, lists[l]);
			for (size_t k = 0; vals[k]; k++)
				for (const char *s = vals[k]; *(s += strspn(s, " \t"));) {
					size_t n = strcspn(s, " \t");
					json_array_append_new(v, json_stringn(s, n));
					s += n;
				}
			json_object_set_new(j, lists[l], v);
		}
		json_array_append_new(a, j);
		free(sec);
	}
	return a;
}

/* ---- validation ---- */

/* The options' states, which settings count, then every value expanded
 * and checked, and the whole: each component pinned and with an origin.
 * (The options' conflicts and requires are qi_profile_check_options's:
 * the command line may still turn options on and off.) */
static int finalize(qi_handle *h, struct qi_profile *p)
{
	sl_free(&p->scratch);
	if (eval_options(h, p) < 0)
		return -1;
	for (size_t i = 0; i < p->n; i++)
		if (entry_active(h, p, &p->e[i]) < 0)
			return -1;
	list_components(p);
	for (size_t i = 0; i < p->n; i++) {
		struct entry *e = &p->e[i];
		free(e->expanded);
		e->expanded = NULL;
		/* A setting that does not count is neither expanded nor checked:
		 * its ${...} may name settings that do not count either (the
		 * version of a component an option brings). */
		if (!e->active)
			continue;
		e->expanded = expand(h, p, e->section, e->value, e->origin, e->key, 0);
		if (!e->expanded)
			return -1;
		const char *why = qi_profile_invalid(e->def, e->expanded);
		if (why)
			return qi_error_kind(h, QI_ERR_USAGE, "%s: bad value for '%s' in [%s]: '%s': %s",
					     e->origin, e->key, e->section, e->expanded, why);
	}
	for (size_t i = 0; i < p->sections.n; i++) {
		const char *s = p->sections.v[i], *origin = p->section_origins.v[i];
		const char *cname = named_arg(s, "component");
		if (!cname || !sl_has(&p->components, cname))
			continue;
		if (!last_entry(p, s, "version"))
			return qi_error_kind(h, QI_ERR_USAGE, "%s: [%s] has no 'version'", origin, s);
		if (!last_entry(p, s, "sha256") && !last_entry(p, s, "sha512"))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] is not pinned: give 'sha256' or 'sha512' of its source archive",
					     origin, s);
		const char *const *urls = qi_profile_get_list(p, s, "url");
		if (!urls[0] && !last_entry(p, s, "debian"))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] has no origin: give a 'url' or a 'debian' source package",
					     origin, s);
		if (!urls[0] && !last_entry(p, s, "file"))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] has no 'url', so it needs 'file' (the archive's name)",
					     origin, s);
		const struct entry *sa = last_entry(p, s, "series_archive");
		if (sa && strncmp(sa->expanded, "debian#", 7) == 0 && !last_entry(p, s, "debian"))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: series_archive = debian#... needs 'debian = PACKAGE VERSION' in [%s]",
					     sa->origin, s);
		const char *install = qi_profile_get(p, s, "install");
		if (strcmp(install, "programs") == 0 && !qi_profile_get_list(p, s, "program")[0])
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] installs its programs but lists none: add 'program = NAME'",
					     origin, s);
		if (strcmp(install, "none") == 0 && (qi_profile_get_list(p, s, "patch")[0] ||
		    qi_profile_get_list(p, s, "copy")[0] || qi_profile_get_list(p, s, "program")[0]))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] has install = none: nothing of it is built, so it takes no "
					     "'patch', 'copy' or 'program' (others take its files with patch = "
					     "%s:MEMBER or copy = %s:MEMBER)", origin, s, cname, cname);
		if (strcmp(install, "hier") == 0 && !qi_profile_get(p, s, "home"))
			return qi_error_kind(h, QI_ERR_USAGE,
					     "%s: [%s] has install = hier but no 'home' (the directory its "
					     "install program writes: for qmail, home = ${qmail_home})", origin, s);
	}
	const char *ids = qi_profile_get(p, "accounts", "ids");
	if (ids && strcmp(ids, "auto") == 0) {
		const char *lo = qi_profile_get(p, "accounts", "auto_min");
		const char *hi = qi_profile_get(p, "accounts", "auto_max");
		if (lo && hi && atol(lo) > atol(hi))
			return qi_error_kind(h, QI_ERR_USAGE, "%s: auto_min is above auto_max in [accounts]",
					     qi_profile_origin(p, "accounts", "auto_max"));
	}
	return 0;
}

bool qi_profile_patch_member(const struct qi_profile *p, const char *value, char **component,
			     char **member)
{
	const char *colon = strchr(value, ':');
	if (!colon || strstr(value, "://") || !colon[1])
		return false;
	const char *const *names = qi_profile_components(p);
	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == (size_t)(colon - value) && strncmp(names[i], value, (size_t)(colon - value)) == 0) {
			*component = qi_xstrdup(names[i]);
			*member = qi_xstrdup(colon + 1);
			return true;
		}
	return false;
}

static struct qi_profile *profile_new(qi_handle *h)
{
	struct qi_profile *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->data_dir = qi_xstrdup(qi_data_dir(h));
	return p;
}

/* A name without '/' that does not end in ".profile" is a shipped profile. */
static char *find_profile(qi_handle *h, const char *name)
{
	size_t n = strlen(name);
	if (strchr(name, '/') || (n > 8 && strcmp(name + n - 8, ".profile") == 0))
		return qi_xstrdup(name);
	return qi_xasprintf("%s/profiles/%s.profile", qi_data_dir(h), name);
}

int qi_profile_load(qi_handle *h, const char *name_or_path, struct qi_profile **out)
{
	*out = NULL;
	if (!name_or_path || !*name_or_path)
		return qi_error_kind(h, QI_ERR_USAGE, "no profile given: use --profile NAME or --profile FILE");
	struct qi_profile *p = profile_new(h);
	p->file = find_profile(h, name_or_path);
	if (access(p->file, R_OK) != 0) {
		int e = errno;
		if (!strchr(name_or_path, '/'))
			qi_error_kind(h, QI_ERR_USAGE,
				      "no profile named '%s' (looked for %s): `ls %s/profiles` lists the shipped ones, or give a path",
				      name_or_path, p->file, qi_data_dir(h));
		else
			qi_error_kind(h, QI_ERR_USAGE, "cannot read profile %s: %s", p->file, strerror(e));
		qi_profile_free(p);
		return -1;
	}
	if (load_file(h, p, p->file, NULL) < 0 || finalize(h, p) < 0 || qi_profile_check_options(h, p) < 0) {
		if (qi_errkind(h) == QI_ERR_FAILED)
			h->errkind = QI_ERR_USAGE;
		qi_profile_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int qi_profile_parse_buffer(qi_handle *h, const char *name, const char *buf, size_t len,
			    struct qi_profile **out)
{
	*out = NULL;
	struct qi_profile *p = profile_new(h);
	p->file = qi_xstrdup(name);
	if (parse_text(h, p, name, buf, len) < 0 || finalize(h, p) < 0 || qi_profile_check_options(h, p) < 0) {
		qi_profile_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int qi_profile_set(qi_handle *h, struct qi_profile *p, const char *section, const char *key,
		   const char *value)
{
	const struct qi_keydef *def = qi_profile_key(section, key);
	if (!def)
		return qi_error_kind(h, QI_ERR_USAGE, "no setting '%s' in [%s]", key, section);
	add_section(p, section, "command line", true);
	add_entry(p, section, key, value, NULL, 0, def);
	return finalize(h, p);
}

/* Where NAME, written in VALUE of list KEY of SECTION, is found (see
 * qi_profile_find_file), and *ORIGIN, the FILE:LINE that wrote it (NULL:
 * unknown). */
static char *locate_file(qi_handle *h, const struct qi_profile *p, const char *section,
			 const char *key, const char *value, const char *name, const char **origin)
{
	*origin = NULL;
	char *beside = NULL;
	for (size_t i = p->n; i-- > 0;) {
		const struct entry *e = &p->e[i];
		if (e->active && strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0 &&
		    strcmp(e->expanded ? e->expanded : e->value, value) == 0) {
			*origin = e->origin;
			if (e->file && name[0] != '/') {
				char *dir = dir_of(e->file);
				beside = qi_xasprintf("%s/%s", dir, name);
				free(dir);
			}
			break;
		}
	}
	if (name[0] == '/') {
		if (file_exists(name))
			return qi_xstrdup(name);
		return qi_error_errno(h, "cannot read %s", name), NULL;
	}
	if (beside && file_exists(beside))
		return beside;
	char *data = qi_xasprintf("%s/%s", p->data_dir, name);
	if (file_exists(data)) {
		free(beside);
		return data;
	}
	qi_error(h, "%s%s%s '%s' of [%s]: no such file (looked in %s%s%s)", *origin ? *origin : "",
		 *origin ? ": " : "", key, name, section, beside ? beside : "", beside ? " and " : "", data);
	free(beside);
	free(data);
	return NULL;
}

char *qi_profile_find_named(qi_handle *h, const struct qi_profile *p, const char *section,
			    const char *key, const char *value, const char *name)
{
	const char *origin;
	char *path = locate_file(h, p, section, key, value, name, &origin);
	if (!path)
		return NULL;
	/* A patch is read whole (bounded like every input); a series archive
	 * is streamed into the extractor, whose own limits apply. */
	bool patch = strcmp(key, "patch") == 0;
	if (qi_input_check(h, QI_ERR_USAGE, path, patch ? "patch" : "series archive",
			   patch ? QI_INPUT_MAX : 0) == 0)
		return path;
	qi_error_prefix(h, "%s%s%s '%s' of [%s]", origin ? origin : "", origin ? ": " : "", key, name,
			section);
	free(path);
	return NULL;
}

char *qi_profile_find_file(qi_handle *h, const struct qi_profile *p, const char *section,
			   const char *key, const char *value)
{
	return qi_profile_find_named(h, p, section, key, value, value);
}

/* The values of list KEY of SECTION in force (after the last clearing),
 * appended to VALUES. */
static void list_json(const struct qi_profile *p, const char *section, const char *key,
		      json_t *values)
{
	size_t from = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].active && !strcmp(p->e[i].section, section) && !strcmp(p->e[i].key, key) &&
		    !*p->e[i].value)
			from = i + 1;
	for (size_t i = from; i < p->n; i++) {
		const struct entry *e = &p->e[i];
		if (!e->active || strcmp(e->section, section) || strcmp(e->key, key))
			continue;
		json_array_append_new(values, json_pack("{s:s, s:s, s:s}", "key", e->key, "value",
							e->expanded ? e->expanded : e->value, "origin", e->origin));
	}
}

/* {name, values: [{key, value, origin}]} of SECTION, or NULL when it has
 * no value and the profile does not name it. */
static json_t *section_json(const struct qi_profile *p, const char *section)
{
	const char *kind = qi_profile_section_kind(section);
	const char *cname = named_arg(section, "component");
	if (cname && !sl_has(&p->components, cname))
		return NULL;	/* only conditional sections, none of which counts */
	json_t *values = json_array();
	size_t nkeys;
	const struct qi_keydef *keys = qi_profile_keys(&nkeys);
	for (size_t k = 0; k < nkeys; k++) {
		if (strcmp(keys[k].section, kind) != 0 || strcmp(keys[k].key, "include") == 0)
			continue;
		if (keys[k].list) {
			list_json(p, section, keys[k].key, values);
			continue;
		}
		const char *v = qi_profile_get(p, section, keys[k].key);
		if (v)
			json_array_append_new(values, json_pack("{s:s, s:s, s:s}", "key", keys[k].key, "value", v,
								"origin", qi_profile_origin(p, section, keys[k].key)));
	}
	if (json_array_size(values) == 0 && !sl_has(&p->sections, section)) {
		json_decref(values);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "name", section, "values", values);
}

json_t *qi_profile_to_json(const struct qi_profile *p)
{
	json_t *o = json_object(), *sections = json_array(), *s;
	json_object_set_new(o, "file", json_string(p->file));
	/* Every kind of one section in the schema's order, then the named
	 * sections as they appear. */
	for (const struct qi_section_def *sd = qi_profile_sections(); sd->name; sd++)
		if (!sd->named && (s = section_json(p, sd->name)))
			json_array_append_new(sections, s);
	for (size_t i = 0; i < p->sections.n; i++) {
		const struct qi_section_def *sd = qi_profile_section_def(p->sections.v[i]);
		if ((!sd || sd->named) && (s = section_json(p, p->sections.v[i])))
			json_array_append_new(sections, s);
	}
	json_object_set_new(o, "sections", sections);
	json_t *comps = json_array();
	for (size_t i = 0; i < p->components.n; i++)
		json_array_append_new(comps, json_string(p->components.v[i]));
	json_object_set_new(o, "components", comps);
	json_object_set_new(o, "options", qi_profile_options_json(p));
	return o;
}

bool qi_profile_bool(const struct qi_profile *p, const char *section, const char *key)
{
	return truthy(qi_profile_get(p, section, key));
}

int qi_profile_accounts_spec(qi_handle *h, const struct qi_profile *p,
			     struct qi_accounts_spec *spec)
{
	qi_accounts_default(spec);
	for (int a = 0; a < QI_ACCT_COUNT; a++) {
		const char *name = qi_account_defs[a].name;
		const char *v = qi_profile_get(p, "accounts", name);
		if (v && qi_accounts_set_id(h, &spec->ids, name, strtoll(v, NULL, 10)) < 0)
			return qi_error_prefix(h, "%s", qi_profile_origin(p, "accounts", name));
	}
	const char *v = qi_profile_get(p, "accounts", "ids");
	spec->ids_auto = v && strcmp(v, "auto") == 0;
	if ((v = qi_profile_get(p, "accounts", "auto_min")))
		spec->auto_min = (unsigned)strtoul(v, NULL, 10);
	if ((v = qi_profile_get(p, "accounts", "auto_max")))
		spec->auto_max = (unsigned)strtoul(v, NULL, 10);
	if (spec->ids_auto && spec->auto_min > spec->auto_max)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: [accounts] auto_min %u is above auto_max %u",
				     p->file, spec->auto_min, spec->auto_max);
	/* qmail_home always has a value (its default); the string lives as
	 * long as the profile. */
	spec->qmail_home = qi_profile_get(p, "accounts", "qmail_home");
	return 0;
}
