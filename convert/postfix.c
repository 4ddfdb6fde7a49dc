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
#include "convert/util.h"

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
		w = cvu_alloc(w, (n + 1) * sizeof(*w));
		w[n++] = cvu_printf("%.*s", (int)l, p);
		p += l;
	}
	*count = n;
	return w;
}

/* Whether the list V has the word W. */
static bool pf_has_word(const char *v, const char *w)
{
	size_t n;
	char **ws = pf_words(v ? v : "", &n);
	bool has = false;
	for (size_t i = 0; i < n && !has; i++)
		has = strcmp(ws[i], w) == 0;
	cvu_strings_free(ws, n);
	return has;
}

/* ---- logical lines: postconf's output and the maps' source text ---- */

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
	struct cvu_logical *l = cvu_logical_lines(src->text, src->text ? src->len : 0, &n);
	for (size_t i = 0; i < n; i++) {
		char *eq = l[i].nul || l[i].orphan ? NULL : strchr(l[i].text, '=');
		char *name = NULL;
		if (eq) {
			*eq = '\0';
			name = cvu_trim_blanks(l[i].text);
		}
		if (!name || !*name || strspn(name, PF_NAME_CHARS) != strlen(name)) {
			char *setting = cvu_printf("%s: line %zu", src->name, l[i].line);
			char *why = cvu_printf("%s line %zu is not NAME = VALUE%s", src->name, l[i].line,
					      l[i].nul ? " (it has a NUL byte)" : "");
			if (eq)
				*eq = '=';
			cv_item_add(out, setting, cvu_trim_blanks(l[i].text), "", CV_NOT_CONVERTED, why);
			free(setting);
			free(why);
			continue;
		}
		char *value = cvu_trim_blanks(eq + 1);
		bool again = false;
		for (size_t j = 0; j < t->n; j++) {
			if (strcmp(t->v[j].name, name) == 0) {
				free(t->v[j].value);
				t->v[j].value = cvu_printf("%s", value);
				again = true;
			}
		}
		if (again) {
			char *setting = cvu_printf("%s: %s", src->name, name);
			char *why = cvu_printf("%s gives %s twice: the last is used", src->name, name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
			free(setting);
			free(why);
			continue;
		}
		t->v = cvu_alloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = (struct pf_param){ cvu_printf("%s", name), cvu_printf("%s", value) };
	}
	cvu_logical_free(l, n);
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
	struct cvu_buf b = { 0 };
	const char *namechars = PF_NAME_CHARS;
	*unknown = NULL;
	cvu_buf_add(&b, "", 0);
	for (const char *p = v; *p;) {
		if (*p != '$') {
			cvu_buf_add(&b, p++, 1);
			continue;
		}
		if (p[1] == '$') {
			cvu_buf_add(&b, "$", 1);
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
				char *nm = cvu_printf("%.*s", (int)n, name);
				value = pf_get(t, nm);
				free(nm);
			}
		}
		if (value) {
			cvu_buf_adds(&b, value);
		} else {
			cvu_buf_add(&b, p, (size_t)(after - p));
			if (!*unknown)
				*unknown = cvu_printf("%.*s", (int)(after - p), p);
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
	struct cvu_set locals;	/* mydestination's domains */
	struct cvu_set virt;	/* the virtual alias domains */
	char *origin;		/* myorigin's domain, or NULL */
	bool parent_relay;	/* parent_domain_matches_subdomains has relay_domains */
	bool parent_transport;	/* ... and transport_maps */
};

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
	*type = colon ? cvu_printf("%.*s", (int)(colon - ref), ref) : cvu_dup("");
	*path = cvu_printf("%s", colon ? colon + 1 : ref);
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
	struct cvu_logical *l = cvu_logical_lines(in->text, in->text ? in->len : 0, &n);
	struct pf_ent *e = cvu_alloc(NULL, n * sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		char *t = cvu_trim_blanks(l[i].text);
		size_t k = strcspn(t, " \t");
		e[i] = (struct pf_ent){ .line = l[i].line };
		e[i].key = cvu_lower(cvu_printf("%.*s", (int)k, t));
		char *v = cvu_trim_blanks(t + k);
		e[i].value = cvu_printf("%s", v);
		if (l[i].nul)
			e[i].bad = "a NUL byte in the line";
		else if (l[i].orphan)
			e[i].bad = "a continuation line (it starts with a blank) with no key before it";
		else if (!*v)
			e[i].bad = "a key with no value";
	}
	cvu_logical_free(l, n);
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
	cvu_lower(v);
	if (unknown || !pf_domain_ok(v)) {
		pf_item(pf, "myhostname", v, "", CV_NOT_CONVERTED, "not a host name%s%s: write control/me by hand",
			unknown ? ": unknown " : "", unknown ? unknown : "");
	} else {
		cv_file_line(pf->out, "control/me", v);
		free(pf->out->me);
		pf->out->me = cvu_printf("%s", v);
		char *after = cvu_printf("control/me: %s", v);
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
	cvu_lower(v);
	if (unknown || !pf_domain_ok(v)) {
		pf_item(pf, "mydomain", v, "", CV_NOT_CONVERTED,
			"not a domain name: write control/defaultdomain and control/plusdomain by hand");
	} else {
		cv_file_line(pf->out, "control/defaultdomain", v);
		cv_file_line(pf->out, "control/plusdomain", v);
		free(pf->out->domain);
		pf->out->domain = cvu_printf("%s", v);
		char *after = cvu_printf("control/defaultdomain, control/plusdomain: %s", v);
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
		char *line = cvu_printf("%.*s", (int)l, t);
		dom = cvu_printf("%s", cvu_trim_blanks(line));
		free(line);
	} else {
		dom = cvu_printf("%s", v);
	}
	cvu_lower(dom);
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
		char *after = cvu_printf("control/defaulthost: %s", dom);
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
		char *d = cvu_lower(cvu_printf("%s", w[i]));
		if (strchr(d, ':') || d[0] == '/') {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED,
				"a lookup table: list its domains in control/locals and control/rcpthosts by hand");
		} else if (strchr(d, '$')) {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED,
				"%s is unknown to postconf: write the domain in control/locals by hand", w[i]);
		} else if (!pf_domain_ok(d)) {
			pf_item(pf, "mydestination", w[i], "", CV_NOT_CONVERTED, "not a domain name");
		} else {
			cvu_set_add(&pf->locals, d);
			cvu_line_once(pf->out, "control/locals", d);
			cvu_line_once(pf->out, "control/rcpthosts", d);
			char *after = cvu_printf("control/locals, control/rcpthosts: %s", d);
			pf_item(pf, "mydestination", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	cvu_strings_free(w, n);
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
		char *d = cvu_lower(cvu_printf("%s", w[i]));
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
			cvu_line_once(pf->out, "control/rcpthosts", d);
			char *after;
			if (pf->parent_relay && !dot) {
				char *sub = cvu_printf(".%s", d);
				cvu_line_once(pf->out, "control/rcpthosts", sub);
				after = cvu_printf("control/rcpthosts: %s %s", d, sub);
				free(sub);
			} else {
				after = cvu_printf("control/rcpthosts: %s", d);
			}
			pf_item(pf, "relay_domains", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	cvu_strings_free(w, n);
	free(unknown);
	free(v);
}

/* Make D a virtual alias domain: rcpthosts D, virtualdomains D:alias-D. */
static void pf_virtual_domain(struct pf *pf, const char *d)
{
	if (!cvu_set_add(&pf->virt, d))
		return;
	char *line = cvu_printf("%s:alias-%s", d, d);
	cvu_line_once(pf->out, "control/rcpthosts", d);
	cvu_line_once(pf->out, "control/virtualdomains", line);
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
		char *d = cvu_lower(cvu_printf("%s", w[i]));
		if (strchr(d, ':') || d[0] == '/') {
			const struct cv_input *text;
			char *type, *path;
			enum pf_map m = pf_map_ref(pf, w[i], &text, &type, &path);
			if (m == PF_MAP_TEXT) {
				size_t ne;
				struct pf_ent *e = pf_map_read(text, &ne);
				struct cvu_buf doms = { 0 };
				cvu_buf_add(&doms, "", 0);
				for (size_t j = 0; j < ne; j++) {
					const char *at = e[j].bad ? NULL : strrchr(e[j].key, '@');
					if (!at || !pf_domain_ok(at + 1) || cvu_set_has(&pf->locals, at + 1) ||
					    cvu_set_has(&pf->virt, at + 1))
						continue;
					pf_virtual_domain(pf, at + 1);
					cvu_buf_adds(&doms, " ");
					cvu_buf_adds(&doms, at + 1);
				}
				char *after = doms.n ? cvu_printf("control/virtualdomains:%s", doms.s)
						     : cvu_printf("no virtual alias domain in %s", path);
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
		} else if (cvu_set_has(&pf->locals, d)) {
			pf_item(pf, "virtual_alias_domains", w[i], "", CV_NOT_CONVERTED,
				"%s is in mydestination too (Postfix warns of that): it stays a local domain", d);
		} else {
			pf_virtual_domain(pf, d);
			char *after = cvu_printf("control/rcpthosts: %s, control/virtualdomains: %s:alias-%s", d, d, d);
			pf_item(pf, "virtual_alias_domains", w[i], after, CV_CONVERTED, NULL);
			free(after);
		}
		free(d);
	}
	cvu_strings_free(w, n);
	free(unknown);
	free(v);
}

static const char pf_local_why[] = "qmail applies ~alias/.qmail-%s only when no system account %s exists";

/* One entry E of the virtual alias map PATH: its file and item. */
static void pf_virtual_entry(struct pf *pf, const char *path, const struct pf_ent *e)
{
	char *setting = cvu_printf("%s: %s", path, e->key), *file = NULL, *warn = NULL;
	const char *at = strrchr(e->key, '@');
	if (e->bad) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "line %zu: %s", e->line, e->bad);
		goto done;
	}
	if (!at && cvu_set_has(&pf->virt, e->key)) {
		pf_item(pf, setting, e->value, "declares a virtual alias domain (control/virtualdomains)", CV_CONVERTED,
			NULL);
		goto done;
	}
	char *local = cvu_printf("%.*s", (int)(at ? at - e->key : (long)strlen(e->key)), e->key);
	const char *dom = at ? at + 1 : NULL;
	if (dom && cvu_set_has(&pf->virt, dom)) {
		if (*local && (!cvu_qmail_name_ok(local) || strcmp(local, "default") == 0)) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"%s cannot be a qmail file name (only a-z 0-9 . _ + = -, not \"default\")", local);
		} else {
			char *d = cvu_colons(cvu_dup(dom)), *l = cvu_colons(cvu_dup(*local ? local : "default"));
			file = cvu_printf("alias/.qmail-%s-%s", d, l);
			free(d);
			free(l);
		}
	} else if (!dom || cvu_set_has(&pf->locals, dom)) {
		if (!*local) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"a catch-all of a local domain: ~alias/.qmail-default would catch only the addresses "
				"with no account; write it by hand if that is meant");
		} else if (!cvu_qmail_name_ok(local) || strcmp(local, "default") == 0) {
			pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED,
				"%s cannot be a qmail file name (only a-z 0-9 . _ + = -, not \"default\")", local);
		} else {
			char *l = cvu_colons(cvu_dup(local));
			file = cvu_printf("alias/.qmail-%s", l);
			warn = cvu_printf(pf_local_why, l, local);
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
	size_t n;
	char **w = pf_words(e->value, &n);
	struct cvu_set lines = { 0 };
	struct cvu_buf left = { 0 };
	cvu_buf_add(&left, "", 0);
	const char *host = pf->origin ? pf->origin : pf->out->me;
	for (size_t i = 0; i < n; i++) {
		char *t = cvu_lower(cvu_printf("%s", w[i]));
		const char *why = NULL;
		if (!pf_addr_ok(t))
			why = "not an address";
		else if (strcmp(t, e->key) == 0)
			why = "the key itself: it would loop";
		if (why) {
			cvu_buf_adds(&left, left.n ? "; " : "");
			cvu_buf_adds(&left, w[i]);
			cvu_buf_adds(&left, " (");
			cvu_buf_adds(&left, why);
			cvu_buf_adds(&left, ")");
		} else {
			char *line = strchr(t, '@') || !host ? cvu_printf("&%s", t) : cvu_printf("&%s@%s", t, host);
			cvu_set_take(&lines, line);
		}
		free(t);
	}
	if (lines.n == 0) {
		pf_item(pf, setting, e->value, "", CV_NOT_CONVERTED, "nothing qmail can forward to: %s", left.s);
	} else {
		for (size_t i = 0; i < lines.n; i++)
			cv_file_line(pf->out, file, lines.v[i]);
		char *after = cvu_printf("%s: %zu line%s", file, lines.n, lines.n == 1 ? "" : "s");
		if (warn && left.n)
			pf_item(pf, setting, e->value, after, CV_WARNED, "%s; left out: %s", warn, left.s);
		else if (warn || left.n)
			pf_item(pf, setting, e->value, after, CV_WARNED, "%s%s", warn ? "" : "left out: ",
				warn ? warn : left.s);
		else
			pf_item(pf, setting, e->value, after, CV_CONVERTED, NULL);
		free(after);
	}
	cvu_set_free(&lines);
	free(left.s);
	cvu_strings_free(w, n);
done:
	free(setting);
	free(file);
	free(warn);
}

/* How a list of maps whose entries are read one by one is converted:
 * virtual_alias_maps and transport_maps. */
struct pf_maps {
	const char *name;	/* the parameter */
	const char *empty;	/* the "after" of an empty list */
	const char *made;	/* what the entries become */
	const char *missing;	/* what to do when the text was not given */
	const char *regexp;	/* why not a regexp: or pcre: map, or NULL: as OTHER */
	const char *other;	/* what to do for any other type of map */
	void (*entry)(struct pf *pf, const char *path, const struct pf_ent *e);
};

/* The parameter M->name: each map given as text read entry by entry
 * with M->entry, the others said why not. */
static void pf_entry_maps(struct pf *pf, const struct pf_maps *m)
{
	char *unknown, *v = pf_value(pf, m->name, &unknown);
	if (!v)
		return;
	size_t n;
	char **w = pf_words(v, &n);
	if (n == 0)
		pf_empty_list(pf, m->name, m->empty);
	for (size_t i = 0; i < n; i++) {
		const struct cv_input *text;
		char *type, *path;
		enum pf_map k = pf_map_ref(pf, w[i], &text, &type, &path);
		if (k == PF_MAP_TEXT) {
			size_t ne;
			struct pf_ent *e = pf_map_read(text, &ne);
			char *after = cvu_printf("%s from the %zu entr%s of %s", m->made, ne, ne == 1 ? "y" : "ies",
						 path);
			pf_item(pf, m->name, w[i], after, CV_CONVERTED, NULL);
			free(after);
			for (size_t j = 0; j < ne; j++)
				m->entry(pf, path, &e[j]);
			pf_map_free(e, ne);
		} else if (k == PF_MAP_MISSING) {
			pf_item(pf, m->name, w[i], "", CV_NOT_CONVERTED, "the text of %s was not given: %s", path,
				m->missing);
		} else if (k == PF_MAP_REGEXP && m->regexp) {
			pf_item(pf, m->name, w[i], "", CV_NOT_CONVERTED, "qmail has no %s aliases: %s", type, m->regexp);
		} else {
			pf_item(pf, m->name, w[i], "", CV_NOT_CONVERTED, "qmail has no %s lookups: %s", type, m->other);
		}
		free(type);
		free(path);
	}
	cvu_strings_free(w, n);
	free(unknown);
	free(v);
}

/* virtual_alias_maps: each map's entries as ~alias/.qmail-* files. */
static void pf_virtual_maps(struct pf *pf)
{
	static const struct pf_maps m = {
		.name = "virtual_alias_maps",
		.empty = "no virtual alias",
		.made = "~alias/.qmail-*",
		.missing = "write its ~alias/.qmail-DOMAIN-USER files by hand",
		.regexp = "write ~alias/.qmail-DOMAIN-USER (or -default) files by hand",
		.other = "write ~alias/.qmail-DOMAIN-USER files by hand",
		.entry = pf_virtual_entry,
	};
	pf_entry_maps(pf, &m);
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
			char *after = cvu_printf("~alias/.qmail-* from %s", path);
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
	cvu_strings_free(w, n);
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
	char *h = cvu_lower(cvu_printf("%.*s", (int)(end - s), s));
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
		*port = cvu_printf("%s", rest + 1);
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
			char *line = port ? cvu_printf(":%s:%s", host, port) : cvu_printf(":%s", host);
			char *after = cvu_printf("control/smtproutes: %s", line);
			cvu_line_once(pf->out, "control/smtproutes", line);
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
	cvu_strings_free(w, n);
	free(unknown);
	free(v);
}

/* One entry E of the transport map PATH: smtproutes lines for the smtp
 * and relay transports. */
static void pf_transport_entry(struct pf *pf, const char *path, const struct pf_ent *e)
{
	char *setting = cvu_printf("%s: %s", path, e->key);
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
	char *transport = cvu_printf("%.*s", (int)(colon ? colon - e->value : (long)strlen(e->value)), e->value);
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
			struct cvu_buf after = { 0 };
			cvu_buf_adds(&after, "control/smtproutes:");
			for (int sub = 0; sub < 2; sub++) {
				if (sub && (dot || !pf->parent_transport))
					break;
				char *line = port ? cvu_printf("%s%s:%s:%s", sub ? "." : "", key, host, port)
						  : cvu_printf("%s%s:%s", sub ? "." : "", key, host);
				cvu_line_once(pf->out, "control/smtproutes", line);
				cvu_buf_adds(&after, " ");
				cvu_buf_adds(&after, line);
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
	static const struct pf_maps m = {
		.name = "transport_maps",
		.empty = "no route",
		.made = "control/smtproutes",
		.missing = "write control/smtproutes by hand",
		.regexp = NULL,
		.other = "write control/smtproutes by hand",
		.entry = pf_transport_entry,
	};
	pf_entry_maps(pf, &m);
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
	char *addr = cvu_printf("%s", w), *slash = strchr(addr, '/');
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
	char *prefix = cvu_tcprules_addr(o, len);
	char *line = cvu_printf("%s:allow,RELAYCLIENT=\"\"", prefix);
	char *after = cvu_printf("tcp.smtp: %s", line);
	cvu_line_once(pf->out, "tcp.smtp", line);
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
	cvu_strings_free(w, n);
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
		char *after = cvu_printf("control/databytes: %s", v);
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
			return cvu_printf("%s", known[i].why);
	if (strncmp(name, "smtpd_sasl_", 11) == 0)
		return cvu_printf("SMTP AUTH needs qmail's smtp-auth patch and checkpassword: qinstall's profile "
				 "sets that up, not from this setting");
	if (strncmp(name, "smtp_sasl_", 10) == 0)
		return cvu_printf("qmail-remote does no SMTP AUTH to a relay: a relay that needs it needs a patched "
				 "qmail-remote");
	if (pf_ends(name, "milters") || strncmp(name, "milter_", 7) == 0)
		return cvu_printf("qmail has no milter interface");
	if (pf_ends(name, "_checks"))
		return cvu_printf("Postfix's content checks have no qmail counterpart");
	if (strncmp(name, "smtpd_tls_", 10) == 0 || strncmp(name, "smtp_tls_", 9) == 0 ||
	    strncmp(name, "tls_", 4) == 0)
		return cvu_printf("TLS is the profile's tls-smtpauth option");
	return cvu_printf("qinstall does not convert %s: set up its qmail counterpart by hand", name);
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
		char *why = handled ? cvu_printf("postconf -x did not give %s: convert it by hand", set.v[i].name)
				    : pf_other_why(set.v[i].name);
		cv_item_add(pf->out, set.v[i].name, set.v[i].value, "", CV_NOT_CONVERTED, why);
		free(why);
	}
	pf_table_free(&set);
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
	cvu_sort_file(out, "control/rcpthosts");
	cvu_sort_file(out, "control/locals");
	pf_table_free(&pf.conf);
	cvu_set_free(&pf.locals);
	cvu_set_free(&pf.virt);
	free(pf.origin);
	return 0;
}
