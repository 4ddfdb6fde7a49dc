/*
 * postfix.c - Postfix's configuration as qmail's (convert.h, cv_postfix):
 * the values `postconf -x` gives for cv_postfix_names, the text of the
 * maps they name (virtual_alias_maps, transport_maps, alias_maps) and
 * /etc/mailname, into control/me, defaultdomain, plusdomain, defaulthost,
 * locals, rcpthosts, virtualdomains, smtproutes, databytes, the
 * ~alias/.qmail-* files and tcprules lines for qmail-smtpd. Every value
 * (every entry of a list or a map) is one item; the names `postconf -n`
 * lists that nothing here converts are items too, said why. All inputs
 * are bytes with a length: NUL bytes and a missing terminator are fine.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"

const char *const cv_postfix_names[] = {
	"myhostname",
	"mydomain",
	"myorigin",
	"mydestination",
	"relay_domains",
	"parent_domain_matches_subdomains",
	"virtual_alias_domains",
	"virtual_alias_maps",
	"alias_maps",
	"relayhost",
	"transport_maps",
	"mynetworks",
	"message_size_limit",
	"recipient_delimiter",
	NULL,
};

/* ---- small helpers ---- */

/* A growing NUL-terminated string. */
struct pf_buf {
	char *s;
	size_t n, cap;
};

/* Append N bytes of S to B (allocation failure aborts). */
static void pf_add(struct pf_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			abort();
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

/* Append the NUL-terminated S to B. */
static void pf_adds(struct pf_buf *b, const char *s)
{
	pf_add(b, s, strlen(s));
}

/* A malloc'd printf (allocation failure aborts). */
static char *pf_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

/* realloc that aborts on failure. */
static void *pf_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* S without its leading and trailing blanks, in place. */
static char *pf_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* S in lowercase, in place. */
static char *pf_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* A malloc'd copy of S with every '.' written ':', as qmail-local looks
 * an extension up in ~alias/.qmail-EXT. */
static char *pf_colons(const char *s)
{
	char *c = pf_printf("%s", s);
	for (char *p = c; *p; p++)
		if (*p == '.')
			*p = ':';
	return c;
}

/* Whether S is a domain name (lowercase letters, digits, '-', '_', dots
 * between labels). */
static bool pf_domain_ok(const char *s)
{
	if (!*s || *s == '.' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr(".-_", *p))
			return false;
	return true;
}

/* Whether S is a local part qmail can have in a file name ~alias/.qmail-S. */
static bool pf_local_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._+=-", *p))
			return false;
	return *s != '\0';
}

/* Whether S is an address (or a bare name) qmail can forward to. */
static bool pf_addr_ok(const char *s)
{
	const char *at = strchr(s, '@');
	if (at && (at == s || !at[1] || strchr(at + 1, '@')))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr(",\"<>()[]\\;:|/", *p))
			return false;
	return *s != '\0';
}

/* Append LINE to the file NAME unless the file has that line already. */
static void pf_line(struct cv_result *r, const char *name, const char *line)
{
	const struct cv_file *f = cv_file_find(r, name);
	size_t n = strlen(line);
	for (const char *p = f ? f->text : NULL; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if (l == n && memcmp(p, line, n) == 0)
			return;
		p = nl ? nl + 1 : p + l;
	}
	cv_file_line(r, name, line);
}

/* The words of a Postfix list (separated by commas and/or blanks) as a
 * malloc'd array of malloc'd strings; *COUNT of them. */
static char **pf_words(const char *v, size_t *count)
{
	char **w = NULL;
	size_t n = 0;
	const char *sep = ", \t\r\n";
	for (const char *p = v; *p;) {
		p += strspn(p, sep);
		size_t l = strcspn(p, sep);
		if (!l)
			break;
		w = pf_realloc(w, (n + 1) * sizeof(*w));
		w[n++] = pf_printf("%.*s", (int)l, p);
		p += l;
	}
	*count = n;
	return w;
}

/* Free the N strings of W and W. */
static void pf_free_words(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* Whether the list V has the word W. */
static bool pf_has_word(const char *v, const char *w)
{
	size_t n;
	char **ws = pf_words(v ? v : "", &n);
	bool has = false;
	for (size_t i = 0; i < n && !has; i++)
		has = strcmp(ws[i], w) == 0;
	pf_free_words(ws, n);
	return has;
}

/* ---- logical lines: postconf's output and the maps' source text ---- */

/* One logical line: a line that starts with text and the lines starting
 * with a blank after it, joined by a space. Blank lines, blanks only and
 * lines whose first non-blank is '#' are skipped. */
struct pf_logical {
	char *text;
	size_t line;		/* the number of its first line */
	bool nul;		/* it held a NUL byte */
	bool orphan;		/* it starts with a continuation line */
};

/* The logical lines of TEXT (LEN bytes), malloc'd; *COUNT of them. */
static struct pf_logical *pf_logical_lines(const char *text, size_t len, size_t *count)
{
	struct pf_logical *v = NULL;
	struct pf_buf b = { 0 };
	size_t n = 0, pos = 0, lineno = 0;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos, i = 0;
		pos = nl ? pos + l + 1 : len;
		lineno++;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		while (i < l && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == l || s[i] == '#')
			continue;
		if (i == 0 || n == 0) {
			if (n > 0) {
				v[n - 1].text = b.s;
				b = (struct pf_buf){ 0 };
			}
			v = pf_realloc(v, (n + 1) * sizeof(*v));
			v[n++] = (struct pf_logical){ .line = lineno, .orphan = i > 0 };
			pf_add(&b, "", 0);
		} else {
			pf_add(&b, " ", 1);
		}
		if (memchr(s, '\0', l))
			v[n - 1].nul = true;
		pf_add(&b, s, l);
	}
	if (n > 0)
		v[n - 1].text = b.s;
	*count = n;
	return v;
}

/* Free the N logical lines of V. */
static void pf_free_logical(struct pf_logical *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

/* ---- postconf's output ---- */

/* What a parameter's name is made of (Postfix's own have capitals too:
 * smtp_tls_CApath). */
#define PF_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

struct pf_param {
	char *name, *value;
};

struct pf_table {
	struct pf_param *v;
	size_t n;
};

/* The NAME = VALUE lines of input SRC into T; a line that is none is an
 * item (named "SRC: line N"), and so is a name given twice (the last is
 * used, as in main.cf). */
static void pf_table_read(struct pf_table *t, const struct cv_input *src, struct cv_result *out)
{
	size_t n;
	struct pf_logical *l = pf_logical_lines(src->text, src->text ? src->len : 0, &n);
	for (size_t i = 0; i < n; i++) {
		char *eq = l[i].nul || l[i].orphan ? NULL : strchr(l[i].text, '=');
		char *name = NULL;
		if (eq) {
			*eq = '\0';
			name = pf_trim(l[i].text);
		}
		if (!name || !*name || strspn(name, PF_NAME_CHARS) != strlen(name)) {
			char *setting = pf_printf("%s: line %zu", src->name, l[i].line);
			char *why = pf_printf("%s line %zu is not NAME = VALUE%s", src->name, l[i].line,
					      l[i].nul ? " (it has a NUL byte)" : "");
			if (eq)
				*eq = '=';
			cv_item_add(out, setting, pf_trim(l[i].text), "", CV_NOT_CONVERTED, why);
			free(setting);
			free(why);
			continue;
		}
		char *value = pf_trim(eq + 1);
		bool again = false;
		for (size_t j = 0; j < t->n; j++) {
			if (strcmp(t->v[j].name, name) == 0) {
				free(t->v[j].value);
				t->v[j].value = pf_printf("%s", value);
				again = true;
			}
		}
		if (again) {
			char *setting = pf_printf("%s: %s", src->name, name);
			char *why = pf_printf("%s gives %s twice: the last is used", src->name, name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
			free(setting);
			free(why);
			continue;
		}
		t->v = pf_realloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = (struct pf_param){ pf_printf("%s", name), pf_printf("%s", value) };
	}
	pf_free_logical(l, n);
}

/* The value of NAME in T, or NULL. */
static const char *pf_get(const struct pf_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return t->v[i].value;
	return NULL;
}

/* Free T's names and values. */
static void pf_table_free(struct pf_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].value);
	}
	free(t->v);
}

/* V with $name, ${name} and $(name) replaced by their values in T, one
 * level (what a value brings is not expanded again); $$ is a '$'. A
 * reference T does not have, or another ${...} form, is left as it is
 * and the first of them is *UNKNOWN (malloc'd; NULL when none). */
static char *pf_expand(const struct pf_table *t, const char *v, char **unknown)
{
	struct pf_buf b = { 0 };
	const char *namechars = PF_NAME_CHARS;
	*unknown = NULL;
	pf_add(&b, "", 0);
	for (const char *p = v; *p;) {
		if (*p != '$') {
			pf_add(&b, p++, 1);
			continue;
		}
		if (p[1] == '$') {
			pf_add(&b, "$", 1);
			p += 2;
			continue;
		}
		const char *name = p + 1, *after;
		char close = 0;
		if (*name == '{' || *name == '(')
			close = *name++ == '{' ? '}' : ')';
		size_t n = strspn(name, namechars);
		after = name + n;
		const char *value = NULL;
		if (close && *after != close) {
			const char *c = strchr(after, close);
			after = c ? c + 1 : after + strlen(after);
		} else {
			if (close)
				after++;
			if (n > 0) {
				char *nm = pf_printf("%.*s", (int)n, name);
				value = pf_get(t, nm);
				free(nm);
			}
		}
		if (value) {
			pf_adds(&b, value);
		} else {
			pf_add(&b, p, (size_t)(after - p));
			if (!*unknown)
				*unknown = pf_printf("%.*s", (int)(after - p), p);
		}
		p = after;
	}
	return b.s;
}

/* ---- the conversion ---- */

struct pf {
	const struct cv_inputs *in;
	struct cv_result *out;
	struct pf_table conf;	/* "postconf" */
	char **locals;		/* mydestination's domains */
	size_t nlocals;
	char **virt;		/* the virtual alias domains */
	size_t nvirt;
	char *origin;		/* myorigin's domain, or NULL */
	bool parent_relay;	/* parent_domain_matches_subdomains has relay_domains */
	bool parent_transport;	/* ... and transport_maps */
};

/* Add S (copied) to the list *V of *N unless it is there; true if added. */
static bool pf_set_add(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return false;
	*v = pf_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = pf_printf("%s", s);
	return true;
}

/* Whether S is in the list V of N. */
static bool pf_set_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Add an item whose WHY is made by a printf of FMT. */
static void pf_item(struct pf *pf, const char *setting, const char *before, const char *after,
		    enum cv_outcome o, const char *fmt, ...)
{
	char *why = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&why, fmt, ap) < 0)
			abort();
		va_end(ap);
	}
	cv_item_add(pf->out, setting, before, after, o, why);
	free(why);
}

/* The value of NAME expanded (malloc'd), or NULL when postconf did not
 * give it; *UNKNOWN as pf_expand. */
static char *pf_value(struct pf *pf, const char *name, char **unknown)
{
	const char *v = pf_get(&pf->conf, name);
	*unknown = NULL;
	return v ? pf_expand(&pf->conf, v, unknown) : NULL;
}

/* A map reference: "TYPE:/path" or "/path". */
enum pf_map { PF_MAP_TEXT, PF_MAP_MISSING, PF_MAP_REGEXP, PF_MAP_OTHER };

/* What the map reference REF is; for a map whose source is a text file
 * that was given, *TEXT is its input; *PATH (malloc'd) the file or the
 * type's argument, *TYPE (malloc'd) the type ("" for a bare /path). */
static enum pf_map pf_map_ref(struct pf *pf, const char *ref, const struct cv_input **text, char **type,
			      char **path)
{
	const char *colon = ref[0] == '/' ? NULL : strchr(ref, ':');
	*type = colon ? pf_printf("%.*s", (int)(colon - ref), ref) : pf_printf("");
	*path = pf_printf("%s", colon ? colon + 1 : ref);
	*text = NULL;
	if (strcmp(*type, "regexp") == 0 || strcmp(*type, "pcre") == 0)
		return PF_MAP_REGEXP;
	static const char *const files[] = { "", "hash", "btree", "texthash", "lmdb", "cdb", "dbm", "sdbm", NULL };
	bool file = false;
	for (size_t i = 0; files[i]; i++)
		file = file || strcmp(*type, files[i]) == 0;
	if (!file || (*path)[0] != '/')
		return PF_MAP_OTHER;
	*text = cv_input_find(pf->in, *path);
	return *text ? PF_MAP_TEXT : PF_MAP_MISSING;
}

/* One entry of a map: its key (lowercase, as postmap makes it) and value. */
struct pf_ent {
	char *key, *value;
	size_t line;
	const char *bad;	/* why the line is not KEY VALUE, or NULL */
};

/* The entries of the map source text IN, malloc'd; *COUNT of them. */
static struct pf_ent *pf_map_read(const struct cv_input *in, size_t *count)
{
	size_t n;
	struct pf_logical *l = pf_logical_lines(in->text, in->text ? in->len : 0, &n);
	struct pf_ent *e = pf_realloc(NULL, n * sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		char *t = pf_trim(l[i].text);
		size_t k = strcspn(t, " \t");
		e[i] = (struct pf_ent){ .line = l[i].line };
		e[i].key = pf_lower(pf_printf("%.*s", (int)k, t));
		char *v = pf_trim(t + k);
		e[i].value = pf_printf("%s", v);
		if (l[i].nul)
			e[i].bad = "a NUL byte in the line";
		else if (l[i].orphan)
			e[i].bad = "a continuation line (it starts with a blank) with no key before it";
		else if (!*v)
			e[i].bad = "a key with no value";
	}
	pf_free_logical(l, n);
	*count = n;
	return e;
}

/* Free the N entries of E. */
static void pf_map_free(struct pf_ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].key);
		free(e[i].value);
	}
	free(e);
}

/* myhostname: control/me. */
static void pf_myhostname(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "myhostname", &unknown);
	if (!v)
		return;
	pf_lower(v);
	if (unknown || !pf_domain_ok(v)) {
		pf_item(pf, "myhostname", v, "", CV_NOT_CONVERTED, "not a host name%s%s: write control/me by hand",
			unknown ? ": unknown " : "", unknown ? unknown : "");
	} else {
		cv_file_line(pf->out, "control/me", v);
		free(pf->out->me);
		pf->out->me = pf_printf("%s", v);
		char *after = pf_printf("control/me: %s", v);
		pf_item(pf, "myhostname", v, after, CV_CONVERTED, NULL);
		free(after);
	}
	free(unknown);
	free(v);
}

/* mydomain: control/defaultdomain and control/plusdomain. */
static void pf_mydomain(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "mydomain", &unknown);
	if (!v)
		return;
	pf_lower(v);
	if (unknown || !pf_domain_ok(v)) {
		pf_item(pf, "mydomain", v, "", CV_NOT_CONVERTED,
			"not a domain name: write control/defaultdomain and control/plusdomain by hand");
	} else {
		cv_file_line(pf->out, "control/defaultdomain", v);
		cv_file_line(pf->out, "control/plusdomain", v);
		free(pf->out->domain);
		pf->out->domain = pf_printf("%s", v);
		char *after = pf_printf("control/defaultdomain, control/plusdomain: %s", v);
		pf_item(pf, "mydomain", v, after, CV_CONVERTED, NULL);
		free(after);
	}
	free(unknown);
	free(v);
}

/* myorigin: control/defaulthost when it is not control/me; a /file (as
 * Debian's /etc/mailname) is read for its first line. */
static void pf_myorigin(struct pf *pf)
{
	const char *raw = pf_get(&pf->conf, "myorigin");
	char *unknown, *v = pf_value(pf, "myorigin", &unknown);
	if (!v)
		return;
	char *dom = NULL;
	if (v[0] == '/') {
		const struct cv_input *f = cv_input_find(pf->in, v);
		if (!f) {
			pf_item(pf, "myorigin", raw, "", CV_NOT_CONVERTED,
				"the text of %s was not given: write control/defaulthost by hand", v);
			goto done;
		}
		const char *t = f->text ? f->text : "";
		size_t len = f->text ? f->len : 0, l = 0;
		while (l < len && t[l] != '\n' && t[l] != '\0')
			l++;
		if (l > 0 && t[l - 1] == '\r')
			l--;
		char *line = pf_printf("%.*s", (int)l, t);
		dom = pf_printf("%s", pf_trim(line));
		free(line);
	} else {
		dom = pf_printf("%s", v);
	}
	pf_lower(dom);
	if (unknown || !pf_domain_ok(dom)) {
		pf_item(pf, "myorigin", raw, "", CV_NOT_CONVERTED,
			"%s is not a domain name: write control/defaulthost by hand", dom);
		free(dom);
		goto done;
	}
	pf->origin = dom;
	if (pf->out->me && strcmp(pf->out->me, dom) == 0) {
		pf_item(pf, "myorigin", raw, "control/defaulthost not needed (qmail uses me)", CV_CONVERTED, NULL);
	} else {
		cv_file_line(pf->out, "control/defaulthost", dom);
		char *after = pf_printf("control/defaulthost: %s", dom);
		pf_item(pf, "myorigin", raw, after, CV_CONVERTED, NULL);
		free(after);
	}
done:
	free(unknown);
	free(v);
}

/* The item of an empty list NAME (nothing to convert). */
static void pf_empty_list(struct pf *pf, const char *name, const char *after)
{
	pf_item(pf, name, "", after, CV_CONVERTED, NULL);
}

/* mydestination: control/locals and control/rcpthosts. */
static void pf_mydestination(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "mydestination", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "mydestination", "no local domain");
	for (size_t i = 0; i < n; i++) {
		char *d = pf_lower(pf_printf("%s", w[i]));
		if (strchr(d, ':') || d[0] == '/') {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED,
				"a lookup table: list its domains in control/locals and control/rcpthosts by hand");
		} else if (strchr(d, '$')) {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED,
				"%s is unknown to postconf: write the domain in control/locals by hand", w[i]);
		} else if (!pf_domain_ok(d)) {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED, "not a domain name");
		} else {
			pf_set_add(&pf->locals, &pf->nlocals, d);
			pf_line(pf->out, "control/locals", d);
			pf_line(pf->out, "control/rcpthosts", d);
			char *after = pf_printf("control/locals, control/rcpthosts: %s", d);
			pf_item(pf, "mydestination", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* parent_domain_matches_subdomains: read for relay_domains and
 * transport_maps (the other lists it names have no qmail counterpart
 * here). */
static void pf_parent(struct pf *pf)
{
	const char *v = pf_get(&pf->conf, "parent_domain_matches_subdomains");
	if (!v)
		return;
	pf->parent_relay = pf_has_word(v, "relay_domains");
	pf->parent_transport = pf_has_word(v, "transport_maps");
	pf_item(pf, "parent_domain_matches_subdomains", v,
		pf->parent_relay ? "relay_domains' domains match their subdomains (.domain lines)" : "", CV_CONVERTED,
		NULL);
}

/* relay_domains: control/rcpthosts (and ".domain" when
 * parent_domain_matches_subdomains says so). */
static void pf_relay_domains(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "relay_domains", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "relay_domains", "no relay domain");
	for (size_t i = 0; i < n; i++) {
		char *d = pf_lower(pf_printf("%s", w[i]));
		bool dot = d[0] == '.';
		if (strchr(d, ':') || d[0] == '/') {
			pf_item(pf, "relay_domains", w[i], "", CV_NOT_CONVERTED,
				"a lookup table: list its domains in control/rcpthosts by hand");
		} else if (strchr(d, '$')) {
			pf_item(pf, "relay_domains", w[i], "", CV_NOT_CONVERTED,
				"%s is unknown to postconf: write the domain in control/rcpthosts by hand", w[i]);
		} else if (!pf_domain_ok(d + dot)) {
			pf_item(pf, "relay_domains", w[i], "", CV_NOT_CONVERTED, "not a domain name");
		} else {
			pf_line(pf->out, "control/rcpthosts", d);
			char *after;
			if (pf->parent_relay && !dot) {
				char *sub = pf_printf(".%s", d);
				pf_line(pf->out, "control/rcpthosts", sub);
				after = pf_printf("control/rcpthosts: %s %s", d, sub);
				free(sub);
			} else {
				after = pf_printf("control/rcpthosts: %s", d);
			}
			pf_item(pf, "relay_domains", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* Make D a virtual alias domain: rcpthosts D, virtualdomains D:alias-D. */
static void pf_virtual_domain(struct pf *pf, const char *d)
{
	if (!pf_set_add(&pf->virt, &pf->nvirt, d))
		return;
	char *line = pf_printf("%s:alias-%s", d, d);
	pf_line(pf->out, "control/rcpthosts", d);
	pf_line(pf->out, "control/virtualdomains", line);
	free(line);
}

/* virtual_alias_domains: each domain (or the domains of the keys of a
 * map it names, those not in mydestination) is virtual. */
static void pf_virtual_domains(struct pf *pf)
{
	const char *raw = pf_get(&pf->conf, "virtual_alias_domains");
	char *unknown, *v = pf_value(pf, "virtual_alias_domains", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_item(pf, "virtual_alias_domains", raw, "no virtual alias domain", CV_CONVERTED, NULL);
	for (size_t i = 0; i < n; i++) {
		char *d = pf_lower(pf_printf("%s", w[i]));
		if (strchr(d, ':') || d[0] == '/') {
			const struct cv_input *text;
			char *type, *path;
			enum pf_map m = pf_map_ref(pf, w[i], &text, &type, &path);
			if (m == PF_MAP_TEXT) {
				size_t ne;
				struct pf_ent *e = pf_map_read(text, &ne);
				struct pf_buf doms = { 0 };
				pf_add(&doms, "", 0);
				for (size_t j = 0; j < ne; j++) {
					const char *at = e[j].bad ? NULL : strrchr(e[j].key, '@');
					if (!at || !pf_domain_ok(at + 1) || pf_set_has(pf->locals, pf->nlocals, at + 1) ||
					    pf_set_has(pf->virt, pf->nvirt, at + 1))
						continue;
					pf_virtual_domain(pf, at + 1);
					pf_adds(&doms, " ");
					pf_adds(&doms, at + 1);
				}
				char *after = doms.n ? pf_printf("control/virtualdomains:%s", doms.s)
						     : pf_printf("no virtual alias domain in %s", path);
				pf_item(pf, "virtual_alias_domains", w[i], after, CV_CONVERTED, NULL);
				free(after);
				free(doms.s);
				pf_map_free(e, ne);
			} else if (m == PF_MAP_MISSING) {
				pf_item(pf, "virtual_alias_domains", w[i], "", CV_NOT_CONVERTED,
					"the text of %s was not given: list its domains in control/virtualdomains by hand",
					path);
			} else {
				pf_item(pf, "virtual_alias_domains", w[i], "", CV_NOT_CONVERTED,
					"qmail cannot look domains up in a %s table: list them in control/virtualdomains "
					"by hand",
					type);
			}
			free(type);
			free(path);
		} else if (!pf_domain_ok(d)) {
			pf_item(pf, "virtual_alias_domains", w[i], "", CV_NOT_CONVERTED, "not a domain name");
		} else if (pf_set_has(pf->locals, pf->nlocals, d)) {
			pf_item(pf, "virtual_alias_domains", w[i], "", CV_NOT_CONVERTED,
				"%s is in mydestination too (Postfix warns of that): it stays a local domain", d);
		} else {
			pf_virtual_domain(pf, d);
			char *after = pf_printf("control/rcpthosts: %s, control/virtualdomains: %s:alias-%s", d, d, d);
			pf_item(pf, "virtual_alias_domains", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

static const char pf_local_why[] = "qmail applies ~alias/.qmail-%s only when no system account %s exists";

/* One entry E of the virtual alias map PATH: its file and item. */
static void pf_virtual_entry(struct pf *pf, const char *path, const struct pf_ent *e)
{
	char *setting = pf_printf("%s: %s", path, e->key), *file = NULL, *warn = NULL;
	const char *at = strrchr(e->key, '@');
	if (e->bad) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "line %zu: %s", e->line, e->bad);
		goto done;
	}
	if (!at && pf_set_has(pf->virt, pf->nvirt, e->key)) {
		pf_item(pf, setting, e->value, "declares a virtual alias domain (control/virtualdomains)", CV_CONVERTED,
			NULL);
		goto done;
	}
	char *local = pf_printf("%.*s", (int)(at ? at - e->key : (long)strlen(e->key)), e->key);
	const char *dom = at ? at + 1 : NULL;
	if (dom && pf_set_has(pf->virt, pf->nvirt, dom)) {
		if (*local && (!pf_local_ok(local) || strcmp(local, "default") == 0)) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"%s cannot be a qmail file name (only a-z 0-9 . _ + = -, not \"default\")", local);
		} else {
			char *d = pf_colons(dom), *l = pf_colons(*local ? local : "default");
			file = pf_printf("alias/.qmail-%s-%s", d, l);
			free(d);
			free(l);
		}
	} else if (!dom || pf_set_has(pf->locals, pf->nlocals, dom)) {
		if (!*local) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"a catch-all of a local domain: ~alias/.qmail-default would catch only the addresses "
				"with no account; write it by hand if that is meant");
		} else if (!pf_local_ok(local) || strcmp(local, "default") == 0) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"%s cannot be a qmail file name (only a-z 0-9 . _ + = -, not \"default\")", local);
		} else {
			char *l = pf_colons(local);
			file = pf_printf("alias/.qmail-%s", l);
			warn = pf_printf(pf_local_why, l, local);
			free(l);
		}
	} else {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
			"%s is neither a virtual alias domain nor in mydestination: qmail cannot rewrite the "
			"addresses of other domains",
			dom);
	}
	free(local);
	if (!file)
		goto done;
	if (cv_file_find(pf->out, file)) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "a second entry for %s: the first is used", file);
		goto done;
	}
	size_t n, nlines = 0;
	char **w = pf_words(e->value, &n);
	char **lines = pf_realloc(NULL, n * sizeof(*lines));
	struct pf_buf left = { 0 };
	pf_add(&left, "", 0);
	const char *host = pf->origin ? pf->origin : pf->out->me;
	for (size_t i = 0; i < n; i++) {
		char *t = pf_lower(pf_printf("%s", w[i]));
		const char *why = NULL;
		if (!pf_addr_ok(t))
			why = "not an address";
		else if (strcmp(t, e->key) == 0)
			why = "the key itself: it would loop";
		if (why) {
			pf_adds(&left, left.n ? "; " : "");
			pf_adds(&left, w[i]);
			pf_adds(&left, " (");
			pf_adds(&left, why);
			pf_adds(&left, ")");
		} else {
			char *line = strchr(t, '@') || !host ? pf_printf("&%s", t) : pf_printf("&%s@%s", t, host);
			bool dup = false;
			for (size_t j = 0; j < nlines && !dup; j++)
				dup = strcmp(lines[j], line) == 0;
			if (dup)
				free(line);
			else
				lines[nlines++] = line;
		}
		free(t);
	}
	if (nlines == 0) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "nothing qmail can forward to: %s", left.s);
	} else {
		for (size_t i = 0; i < nlines; i++)
			cv_file_line(pf->out, file, lines[i]);
		char *after = pf_printf("%s: %zu line%s", file, nlines, nlines == 1 ? "" : "s");
		if (warn && left.n)
			pf_item(pf, setting, e->value, after, CV_WARNED, "%s; left out: %s", warn, left.s);
		else if (warn || left.n)
			pf_item(pf, setting, e->value, after, CV_WARNED, "%s%s", warn ? "" : "left out: ",
				warn ? warn : left.s);
		else
			pf_item(pf, setting, e->value, after, CV_CONVERTED, NULL);
		free(after);
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(left.s);
	pf_free_words(w, n);
done:
	free(setting);
	free(file);
	free(warn);
}

/* virtual_alias_maps: each map's entries as ~alias/.qmail-* files. */
static void pf_virtual_maps(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "virtual_alias_maps", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "virtual_alias_maps", "no virtual alias");
	for (size_t i = 0; i < n; i++) {
		const struct cv_input *text;
		char *type, *path;
		enum pf_map m = pf_map_ref(pf, w[i], &text, &type, &path);
		if (m == PF_MAP_TEXT) {
			size_t ne;
			struct pf_ent *e = pf_map_read(text, &ne);
			char *after = pf_printf("~alias/.qmail-* from the %zu entr%s of %s", ne, ne == 1 ? "y" : "ies",
						path);
			pf_item(pf, "virtual_alias_maps", w[i], after, CV_CONVERTED, NULL);
			free(after);
			for (size_t j = 0; j < ne; j++)
				pf_virtual_entry(pf, path, &e[j]);
			pf_map_free(e, ne);
		} else if (m == PF_MAP_MISSING) {
			pf_item(pf, "virtual_alias_maps", w[i], "", CV_NOT_CONVERTED,
				"the text of %s was not given: write its ~alias/.qmail-DOMAIN-USER files by hand", path);
		} else if (m == PF_MAP_REGEXP) {
			pf_item(pf, "virtual_alias_maps", w[i], "", CV_NOT_CONVERTED,
				"qmail has no %s aliases: write ~alias/.qmail-DOMAIN-USER (or -default) files by hand",
				type);
		} else {
			pf_item(pf, "virtual_alias_maps", w[i], "", CV_NOT_CONVERTED,
				"qmail has no %s lookups: write ~alias/.qmail-DOMAIN-USER files by hand", type);
		}
		free(type);
		free(path);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* alias_maps: each map given as text through cv_aliases. */
static void pf_alias_maps(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "alias_maps", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "alias_maps", "no alias");
	for (size_t i = 0; i < n; i++) {
		const struct cv_input *text;
		char *type, *path;
		enum pf_map m = pf_map_ref(pf, w[i], &text, &type, &path);
		if (m == PF_MAP_TEXT) {
			char *after = pf_printf("~alias/.qmail-* from %s", path);
			pf_item(pf, "alias_maps", w[i], after, CV_CONVERTED, NULL);
			free(after);
			cv_aliases(text->text, text->text ? text->len : 0, path, pf->out);
		} else if (m == PF_MAP_MISSING) {
			pf_item(pf, "alias_maps", w[i], "", CV_NOT_CONVERTED,
				"the text of %s was not given: write its ~alias/.qmail-NAME files by hand", path);
		} else {
			pf_item(pf, "alias_maps", w[i], "", CV_NOT_CONVERTED,
				"qmail has no %s lookups: copy these aliases into ~alias/.qmail-NAME files by hand",
				type);
		}
		free(type);
		free(path);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

static const char pf_mx_why[] = "qmail's smtproutes does not look up MX records: %s is used as the relay itself";

/* A next hop "[host]:port", "[host]", "host:port" or "host": *HOST and
 * *PORT (malloc'd; *PORT NULL when none), *BRACKETS when in [].
 * NULL, or why it cannot be an smtproutes relay (static text). */
static const char *pf_nexthop(const char *s, char **host, char **port, bool *brackets)
{
	const char *end, *rest;
	*host = *port = NULL;
	*brackets = s[0] == '[';
	if (*brackets) {
		end = strchr(s, ']');
		if (!end)
			return "a '[' with no ']'";
		rest = end + 1;
		s++;
	} else {
		end = strchr(s, ':');
		end = end ? end : s + strlen(s);
		rest = end;
	}
	char *h = pf_lower(pf_printf("%.*s", (int)(end - s), s));
	if (strchr(h, ':') || strncmp(h, "ipv6", 4) == 0) {
		free(h);
		return "an IPv6 relay: qmail-remote here has no IPv6";
	}
	if (!pf_domain_ok(h)) {
		free(h);
		return "not a host name";
	}
	if (*rest) {
		if (rest[0] != ':' || !rest[1] || strspn(rest + 1, "0123456789") != strlen(rest + 1) ||
		    strlen(rest + 1) > 5) {
			free(h);
			return "the port is not a number (qmail's smtproutes takes a number)";
		}
		*port = pf_printf("%s", rest + 1);
	}
	*host = h;
	return NULL;
}

/* relayhost: smtproutes ":host[:port]". */
static void pf_relayhost(struct pf *pf)
{
	const char *raw = pf_get(&pf->conf, "relayhost");
	char *unknown, *v = pf_value(pf, "relayhost", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0) {
		pf_item(pf, "relayhost", raw, "no smarthost", CV_CONVERTED, NULL);
	} else if (n > 1) {
		pf_item(pf, "relayhost", raw, "", CV_NOT_CONVERTED,
			"more than one relay host: qmail's smtproutes takes one; write control/smtproutes by hand");
	} else {
		char *host, *port;
		bool br;
		const char *why = pf_nexthop(w[0], &host, &port, &br);
		if (why) {
			pf_item(pf, "relayhost", raw, "", CV_NOT_CONVERTED, "%s", why);
		} else {
			char *line = port ? pf_printf(":%s:%s", host, port) : pf_printf(":%s", host);
			char *after = pf_printf("control/smtproutes: %s", line);
			pf_line(pf->out, "control/smtproutes", line);
			if (br)
				pf_item(pf, "relayhost", raw, after, CV_CONVERTED, NULL);
			else
				pf_item(pf, "relayhost", raw, after, CV_WARNED, pf_mx_why, host);
			free(line);
			free(after);
		}
		free(host);
		free(port);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* One entry E of the transport map PATH: smtproutes lines for the smtp
 * and relay transports. */
static void pf_transport_entry(struct pf *pf, const char *path, const struct pf_ent *e)
{
	char *setting = pf_printf("%s: %s", path, e->key);
	const char *key = e->key;
	bool dot = key[0] == '.';
	if (e->bad) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "line %zu: %s", e->line, e->bad);
		goto done;
	}
	if (strcmp(key, "*") == 0) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
			"qmail's route for every domain is relayhost's (smtproutes ':host'): set relayhost, or "
			"write that line by hand");
		goto done;
	}
	if (strchr(key, '@')) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
			"qmail's smtproutes routes domains, not addresses: route %s by hand", key);
		goto done;
	}
	if (!pf_domain_ok(key + dot)) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "%s is not a domain name", key);
		goto done;
	}
	const char *colon = strchr(e->value, ':');
	char *transport = pf_printf("%.*s", (int)(colon ? colon - e->value : (long)strlen(e->value)), e->value);
	const char *nexthop = colon ? colon + 1 : "";
	if (*transport && strcmp(transport, "smtp") != 0 && strcmp(transport, "relay") != 0) {
		if (strcmp(transport, "local") == 0)
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"the local transport delivers %s on this host: add it to control/locals by hand", key);
		else if (strcmp(transport, "error") == 0)
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"the error transport refuses mail for %s: in qmail, leave it out of control/rcpthosts",
				key);
		else
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"Postfix's %s transport has no smtproutes counterpart (only smtp and relay have): "
				"deliver %s by hand",
				transport, key);
	} else if (!*nexthop) {
		pf_item(pf, setting, e->value, "nothing: qmail delivers to the domain's MX itself", CV_CONVERTED, NULL);
	} else {
		char *host, *port;
		bool br;
		const char *why = pf_nexthop(nexthop, &host, &port, &br);
		if (why) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "%s", why);
		} else {
			struct pf_buf after = { 0 };
			pf_adds(&after, "control/smtproutes:");
			for (int sub = 0; sub < 2; sub++) {
				if (sub && (dot || !pf->parent_transport))
					break;
				char *line = port ? pf_printf("%s%s:%s:%s", sub ? "." : "", key, host, port)
						  : pf_printf("%s%s:%s", sub ? "." : "", key, host);
				pf_line(pf->out, "control/smtproutes", line);
				pf_adds(&after, " ");
				pf_adds(&after, line);
				free(line);
			}
			if (br)
				pf_item(pf, setting, e->value, after.s, CV_CONVERTED, NULL);
			else
				pf_item(pf, setting, e->value, after.s, CV_WARNED, pf_mx_why, host);
			free(after.s);
		}
		free(host);
		free(port);
	}
	free(transport);
done:
	free(setting);
}

/* transport_maps: each map's entries as smtproutes lines. */
static void pf_transport_maps(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "transport_maps", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "transport_maps", "no route");
	for (size_t i = 0; i < n; i++) {
		const struct cv_input *text;
		char *type, *path;
		enum pf_map m = pf_map_ref(pf, w[i], &text, &type, &path);
		if (m == PF_MAP_TEXT) {
			size_t ne;
			struct pf_ent *e = pf_map_read(text, &ne);
			char *after = pf_printf("control/smtproutes from the %zu entr%s of %s", ne,
						ne == 1 ? "y" : "ies", path);
			pf_item(pf, "transport_maps", w[i], after, CV_CONVERTED, NULL);
			free(after);
			for (size_t j = 0; j < ne; j++)
				pf_transport_entry(pf, path, &e[j]);
			pf_map_free(e, ne);
		} else if (m == PF_MAP_MISSING) {
			pf_item(pf, "transport_maps", w[i], "", CV_NOT_CONVERTED,
				"the text of %s was not given: write control/smtproutes by hand", path);
		} else {
			pf_item(pf, "transport_maps", w[i], "", CV_NOT_CONVERTED,
				"qmail has no %s lookups: write control/smtproutes by hand", type);
		}
		free(type);
		free(path);
	}
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* The IPv4 address S ("a.b.c.d", decimal) into A; false when it is none. */
static bool pf_ipv4(const char *s, unsigned a[4])
{
	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)*s))
			return false;
		unsigned v = 0;
		int digits = 0;
		while (isdigit((unsigned char)*s) && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (v > 255 || isdigit((unsigned char)*s))
			return false;
		a[i] = v;
		if (i < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* One mynetworks entry W: its tcprules line, or why none. */
static void pf_network(struct pf *pf, const char *w)
{
	char *addr = pf_printf("%s", w), *slash = strchr(addr, '/');
	unsigned a[4], len = 32;
	bool ok = true;
	size_t alen = slash ? (size_t)(slash - addr) : strlen(addr);
	bool v6 = w[0] == '[' || (memchr(addr, ':', alen) && strspn(addr, "0123456789abcdefABCDEF:.") == alen &&
				  (strstr(addr, "::") || strchr(addr, ':') != strrchr(addr, ':')));
	if (v6) {
		pf_item(pf, "mynetworks", w, "", CV_NOT_CONVERTED, "an IPv6 network: qmail's tcpserver here has no IPv6");
		goto done;
	}
	if (w[0] == '/' || strchr(w, ':')) {
		pf_item(pf, "mynetworks", w, "", CV_NOT_CONVERTED,
			"a lookup table: write its networks as tcprules lines (ADDR:allow,RELAYCLIENT=\"\") by hand");
		goto done;
	}
	if (slash) {
		*slash = '\0';
		const char *l = slash + 1;
		ok = *l && strlen(l) <= 2 && strspn(l, "0123456789") == strlen(l) && atoi(l) <= 32;
		len = ok ? (unsigned)atoi(l) : 0;
	}
	if (!ok || !pf_ipv4(addr, a)) {
		pf_item(pf, "mynetworks", w, "", CV_NOT_CONVERTED,
			"not an IPv4 network: write tcprules lines (ADDR:allow,RELAYCLIENT=\"\") by hand");
		goto done;
	}
	if (len < 25 && len != 8 && len != 16 && len != 24 && len != 0) {
		pf_item(pf, "mynetworks", w, "", CV_NOT_CONVERTED,
			"tcprules matches whole octets: write the rules for %s/%u by hand", addr, len);
		goto done;
	}
	if (len == 0) {
		pf_item(pf, "mynetworks", w, "", CV_NOT_CONVERTED,
			"every address: qinstall does not make qmail-smtpd an open relay; write that rule by hand "
			"if it is meant");
		goto done;
	}
	uint32_t ip = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | (uint32_t)a[3];
	uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	bool hostbits = (ip & ~mask) != 0;
	ip &= mask;
	unsigned o[4] = { ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255 };
	char *prefix;
	if (len == 8)
		prefix = pf_printf("%u.", o[0]);
	else if (len == 16)
		prefix = pf_printf("%u.%u.", o[0], o[1]);
	else if (len == 24)
		prefix = pf_printf("%u.%u.%u.", o[0], o[1], o[2]);
	else if (len == 32)
		prefix = pf_printf("%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
	else
		prefix = pf_printf("%u.%u.%u.%u-%u", o[0], o[1], o[2], o[3], o[3] + (~mask & 255));
	char *line = pf_printf("%s:allow,RELAYCLIENT=\"\"", prefix);
	char *after = pf_printf("tcp.smtp: %s", line);
	pf_line(pf->out, "tcp.smtp", line);
	if (hostbits)
		pf_item(pf, "mynetworks", w, after, CV_WARNED,
			"%s/%u has host bits set: the network %s is used (as Postfix does)", addr, len, prefix);
	else
		pf_item(pf, "mynetworks", w, after, CV_CONVERTED, NULL);
	free(prefix);
	free(line);
	free(after);
done:
	free(addr);
}

/* mynetworks: tcprules lines that set RELAYCLIENT. */
static void pf_mynetworks(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "mynetworks", &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, "mynetworks", "no relay client");
	for (size_t i = 0; i < n; i++)
		pf_network(pf, w[i]);
	pf_free_words(w, n);
	free(unknown);
	free(v);
}

/* message_size_limit: control/databytes (0 is no limit in both). */
static void pf_size(struct pf *pf)
{
	char *unknown, *v = pf_value(pf, "message_size_limit", &unknown);
	if (!v)
		return;
	if (!*v || strlen(v) > 19 || strspn(v, "0123456789") != strlen(v)) {
		pf_item(pf, "message_size_limit", v, "", CV_NOT_CONVERTED,
			"not a number of bytes: write control/databytes by hand");
	} else {
		cv_file_line(pf->out, "control/databytes", v);
		char *after = pf_printf("control/databytes: %s", v);
		pf_item(pf, "message_size_limit", v, after, CV_CONVERTED, NULL);
		free(after);
	}
	free(unknown);
	free(v);
}

/* recipient_delimiter: qmail's is '-' and cannot be changed. */
static void pf_delimiter(struct pf *pf)
{
	const char *v = pf_get(&pf->conf, "recipient_delimiter");
	if (!v)
		return;
	const char *other = v + strspn(v, "-");
	if (!*other)
		pf_item(pf, "recipient_delimiter", v, "", CV_CONVERTED, NULL);
	else
		pf_item(pf, "recipient_delimiter", v, "", CV_WARNED,
			"qmail separates extensions with '-' (user-ext): addresses user%cext will not reach user",
			*other);
}

/* Whether S ends with SUFFIX. */
static bool pf_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Why NAME, set in main.cf and not converted above, is not converted. */
static char *pf_other_why(const char *name)
{
	static const struct {
		const char *name, *why;
	} known[] = {
		{ "compatibility_level", "Postfix's own; nothing in qmail needs it" },
		{ "biff", "Postfix's own (comsat notices); nothing in qmail needs it" },
		{ "readme_directory", "Postfix's own; nothing in qmail needs it" },
		{ "html_directory", "Postfix's own; nothing in qmail needs it" },
		{ "manpage_directory", "Postfix's own; nothing in qmail needs it" },
		{ "sample_directory", "Postfix's own; nothing in qmail needs it" },
		{ "queue_directory", "Postfix's own; nothing in qmail needs it" },
		{ "command_directory", "Postfix's own; nothing in qmail needs it" },
		{ "daemon_directory", "Postfix's own; nothing in qmail needs it" },
		{ "data_directory", "Postfix's own; nothing in qmail needs it" },
		{ "mail_owner", "Postfix's own; nothing in qmail needs it" },
		{ "setgid_group", "Postfix's own; nothing in qmail needs it" },
		{ "sendmail_path", "Postfix's own; qmail's sendmail is set up by qinstall" },
		{ "newaliases_path", "Postfix's own; nothing in qmail needs it" },
		{ "mailq_path", "Postfix's own; nothing in qmail needs it" },
		{ "append_dot_mydomain",
		  "qmail-inject always appends control/defaultdomain to a host name with no dot" },
		{ "inet_interfaces", "qmail-smtpd listens where the profile's tcpserver service says" },
		{ "inet_protocols", "qmail's tcpserver here has IPv4 only" },
		{ "smtpd_banner",
		  "qmail-smtpd's greeting is control/smtpgreeting (default: control/me): write it by hand if wanted" },
		{ "alias_database", "Postfix's newaliases output; qmail reads ~alias/.qmail-* directly" },
		{ "mailbox_size_limit", "Postfix's local delivery limit; qmail-local has none" },
		{ "smtpd_relay_restrictions",
		  "Postfix's relay policy: qmail-smtpd relays for control/rcpthosts and for clients with RELAYCLIENT "
		  "(tcp.smtp)" },
		{ "smtpd_recipient_restrictions",
		  "Postfix's relay policy: qmail-smtpd relays for control/rcpthosts and for clients with RELAYCLIENT "
		  "(tcp.smtp)" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i].name) == 0)
			return pf_printf("%s", known[i].why);
	if (strncmp(name, "smtpd_sasl_", 11) == 0)
		return pf_printf("SMTP AUTH needs qmail's smtp-auth patch and checkpassword: qinstall's profile "
				 "sets that up, not from this setting");
	if (strncmp(name, "smtp_sasl_", 10) == 0)
		return pf_printf("qmail-remote does no SMTP AUTH to a relay: a relay that needs it needs a patched "
				 "qmail-remote");
	if (pf_ends(name, "milters") || strncmp(name, "milter_", 7) == 0)
		return pf_printf("qmail has no milter interface");
	if (pf_ends(name, "_checks"))
		return pf_printf("Postfix's content checks have no qmail counterpart");
	if (strncmp(name, "smtpd_tls_", 10) == 0 || strncmp(name, "smtp_tls_", 9) == 0 ||
	    strncmp(name, "tls_", 4) == 0)
		return pf_printf("TLS is the profile's tls-smtpauth option");
	return pf_printf("qinstall does not convert %s: set up its qmail counterpart by hand", name);
}

/* The names "postconf -n" gives that nothing above converted. */
static void pf_others(struct pf *pf)
{
	const struct cv_input *src = cv_input_find(pf->in, "postconf -n");
	if (!src)
		return;
	struct pf_table set = { 0 };
	pf_table_read(&set, src, pf->out);
	for (size_t i = 0; i < set.n; i++) {
		bool handled = false;
		for (size_t j = 0; cv_postfix_names[j] && !handled; j++)
			handled = strcmp(set.v[i].name, cv_postfix_names[j]) == 0;
		if (handled && pf_get(&pf->conf, set.v[i].name))
			continue;
		char *why = handled ? pf_printf("postconf -x did not give %s: convert it by hand", set.v[i].name)
				    : pf_other_why(set.v[i].name);
		cv_item_add(pf->out, set.v[i].name, set.v[i].value, "", CV_NOT_CONVERTED, why);
		free(why);
	}
	pf_table_free(&set);
}

/* qsort's comparison of two strings, in the C locale's order. */
static int pf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of the file NAME sorted and without duplicates. */
static void pf_sort_file(struct cv_result *r, const char *name)
{
	struct cv_file *f = (struct cv_file *)cv_file_find(r, name);
	if (!f)
		return;
	size_t n = 0;
	char **v = NULL;
	for (char *p = f->text; *p;) {
		char *nl = strchr(p, '\n');
		v = pf_realloc(v, (n + 1) * sizeof(*v));
		v[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	qsort(v, n, sizeof(*v), pf_cmp);
	struct pf_buf b = { 0 };
	pf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		pf_adds(&b, v[i]);
		pf_add(&b, "\n", 1);
	}
	free(v);
	free(f->text);
	f->text = b.s;
}

int cv_postfix(const struct cv_inputs *in, struct cv_result *out, const char **err)
{
	const struct cv_input *conf = cv_input_find(in, "postconf");
	if (!conf) {
		if (err)
			*err = "no postconf output to convert (postconf -x did not run?)";
		return -1;
	}
	struct pf pf = { .in = in, .out = out };
	pf_table_read(&pf.conf, conf, out);
	pf_myhostname(&pf);
	pf_mydomain(&pf);
	pf_myorigin(&pf);
	pf_mydestination(&pf);
	pf_parent(&pf);
	pf_relay_domains(&pf);
	pf_virtual_domains(&pf);
	pf_virtual_maps(&pf);
	pf_alias_maps(&pf);
	pf_relayhost(&pf);
	pf_transport_maps(&pf);
	pf_mynetworks(&pf);
	pf_size(&pf);
	pf_delimiter(&pf);
	pf_others(&pf);
	pf_sort_file(out, "control/rcpthosts");
	pf_sort_file(out, "control/locals");
	pf_table_free(&pf.conf);
	pf_free_words(pf.locals, pf.nlocals);
	pf_free_words(pf.virt, pf.nvirt);
	free(pf.origin);
	return 0;
}
