/*
 * aliases.c - /etc/aliases (aliases(5)) as qmail's ~alias/.qmail-NAME
 * files (convert.h, cv_aliases): one item per alias, one file per alias
 * that has something qmail can deliver to. Addresses become &address
 * lines, /files mbox (or, ending in '/', Maildir) lines, |commands
 * program lines; :include:, error: and the other forms qmail has no line
 * for are left out and said why. The text is read as bytes with a
 * length: it may hold NUL bytes and need not be terminated.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert/convert.h"
#include "convert/util.h"

/* Whether V is an address user@domain qmail can forward to: printable,
 * no blank or address punctuation, text on both sides of one '@'. */
static bool al_addr_ok(const char *v)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr(",\"<>()[]\\;:", *p))
			return false;
	return true;
}

/* Whether V is a bare local name (a user or another alias). */
static bool al_local_ok(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+=-", *p))
			return false;
	return *v != '\0';
}

static const char al_include_why[] =
	"qmail has no :include:; put the addresses in ~alias/.qmail-NAME by hand (or use fastforward)";

/* The .qmail line for the value V of alias NAME, or NULL with *WHY set
 * (static text) when qmail has none; *SELF when V is NAME itself. */
static char *al_value(const char *name, const char *v, const char **why, bool *self)
{
	*self = false;
	if (v[0] == '|') {
		char *cmd = cvu_printf("%s", v + 1);
		bool empty = cvu_trim_blanks(cmd)[0] == '\0';
		free(cmd);
		if (empty) {
			*why = "an empty |command";
			return NULL;
		}
		return cvu_printf("%s", v);
	}
	if (v[0] == '/')
		return cvu_printf("%s", v);
	if (strncasecmp(v, ":include:", 9) == 0) {
		*why = al_include_why;
		return NULL;
	}
	if (strncasecmp(v, "error:", 6) == 0) {
		*why = "qmail has no error: addresses; a |command line that exits 100 bounces the mail "
		       "(e.g. |echo 'TEXT'; exit 100)";
		return NULL;
	}
	if (v[0] == '\\') {
		*why = "qmail has no \\user (delivery past the aliases): it delivers to a system account "
		       "before it looks at ~alias";
		return NULL;
	}
	if (strchr(v, '@')) {
		if (!al_addr_ok(v)) {
			*why = "not an address qmail can forward to";
			return NULL;
		}
		return cvu_printf("&%s", v);
	}
	if (al_local_ok(v)) {
		if (strcasecmp(v, name) == 0) {
			*self = true;
			*why = "the alias itself: it would loop";
			return NULL;
		}
		return cvu_printf("&%s", v);
	}
	*why = "not an address, a /file or a |command";
	return NULL;
}

/* The values of VALUE (comma-separated, each may be "quoted", with \"
 * and \\ inside quotes), as a malloc'd array of malloc'd strings, blanks
 * around each removed, empty ones left out; *UNTERMINATED when a quote
 * does not end. */
static char **al_split(const char *value, size_t *count, bool *unterminated)
{
	char **v = NULL;
	size_t n = 0;
	struct cvu_buf cur = { 0 };
	bool inq = false;
	*unterminated = false;
	for (const char *p = value;; p++) {
		if (*p == '\0' || (*p == ',' && !inq)) {
			cvu_buf_add(&cur, "", 0);
			char *t = cvu_trim_blanks(cur.s);
			if (*p == '\0' && inq && !*t)
				t = "\"";	/* a lone unterminated quote is still a value */
			if (*t) {
				v = cvu_alloc(v, (n + 1) * sizeof(*v));
				v[n++] = cvu_printf("%s", t);
			}
			cur.n = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '"') {
			inq = !inq;
			continue;
		}
		if (inq && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		cvu_buf_add(&cur, p, 1);
	}
	free(cur.s);
	*unterminated = inq;
	*count = n;
	return v;
}

/* The names seen so far: the first entry of a name is the one used. */
struct al_names {
	struct cvu_set set;
};

/* Whether NAME was seen; if not, it is remembered. */
static bool al_seen(struct al_names *s, const char *name)
{
	return !cvu_set_add(&s->set, name);
}

/* One alias NAME (lowercase, usable) with the raw VALUE: its item, and its
 * file when any value converts. */
static void al_alias(struct cv_result *out, const char *setting, const char *name, const char *value)
{
	char *file = cvu_printf("alias/.qmail-%s", name);
	cvu_colons(file + strlen("alias/.qmail-"));
	if (cv_file_find(out, file)) {
		char *why = cvu_printf("%s is made already by an earlier setting: merge the two by hand", file);
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		free(why);
		free(file);
		return;
	}
	size_t nv, nleft = 0, nself = 0;
	bool unterminated;
	char **v = al_split(value, &nv, &unterminated);
	struct cvu_set lines = { 0 };
	struct cvu_buf left = { 0 };
	const char *onewhy = NULL;
	for (size_t i = 0; i < nv; i++) {
		const char *why = NULL;
		bool self = false;
		char *line = NULL;
		if (unterminated && i == nv - 1)
			why = "a quote that does not end";
		else
			line = al_value(name, v[i], &why, &self);
		if (!line) {
			cvu_buf_adds(&left, nleft++ ? "; " : "");
			cvu_buf_adds(&left, v[i]);
			cvu_buf_adds(&left, " (");
			cvu_buf_adds(&left, why);
			cvu_buf_adds(&left, ")");
			onewhy = why;
			nself += self;
			continue;
		}
		cvu_set_take(&lines, line);
	}
	if (nv == 0) {
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED,
			    unterminated ? "a quote that does not end" : "no address after the ':'");
	} else if (lines.n == 0) {
		char *why;
		if (nself == nleft)
			why = cvu_printf("%s points to itself only: it would loop", name);
		else if (nleft == 1)
			why = cvu_printf("%s", onewhy);
		else
			why = cvu_printf("nothing qmail can use: %s", left.s);
		cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		free(why);
	} else {
		for (size_t i = 0; i < lines.n; i++)
			cv_file_line(out, file, lines.v[i]);
		char *after = cvu_printf("%s: %zu line%s", file, lines.n, lines.n == 1 ? "" : "s");
		char *why = nleft ? cvu_printf("left out: %s", left.s) : NULL;
		cv_item_add(out, setting, value, after, nleft ? CV_WARNED : CV_CONVERTED, why);
		free(after);
		free(why);
	}
	cvu_set_free(&lines);
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	free(left.s);
	free(file);
}

int cv_aliases(const char *text, size_t len, const char *setting_prefix, struct cv_result *out)
{
	const char *prefix = setting_prefix ? setting_prefix : "aliases";
	struct cvu_logical *entries, *e;
	struct al_names seen = { 0 };
	size_t nentries;
	if (!text)
		len = 0;
	entries = cvu_logical_lines(text, len, &nentries);
	for (e = entries; e < entries + nentries; e++) {
		char *line = cvu_printf("%s: line %zu", prefix, e->line), *why = NULL;
		char *colon = e->nul || e->orphan ? NULL : strchr(e->text, ':');
		if (e->nul)
			why = cvu_printf("line %zu: a NUL byte in the entry", e->line);
		else if (e->orphan)
			why = cvu_printf("line %zu: a continuation line (it starts with a blank) with no alias "
					"before it",
					e->line);
		else if (!colon)
			why = cvu_printf("line %zu: no ':' after the alias name", e->line);
		if (why) {
			cv_item_add(out, line, cvu_trim_blanks(e->text), "", CV_NOT_CONVERTED, why);
			free(why);
			free(line);
			continue;
		}
		*colon = '\0';
		char *name = cvu_trim_blanks(e->text), *value = cvu_trim_blanks(colon + 1);
		cvu_lower(name);
		char *setting = cvu_printf("%s: %s", prefix, name);
		size_t nlen = strlen(name);
		if (!*name) {
			why = cvu_printf("line %zu: no alias name before the ':'", e->line);
			cv_item_add(out, line, value, "", CV_NOT_CONVERTED, why);
		} else if (!cvu_qmail_name_ok(name)) {
			why = cvu_printf("%s has characters qmail cannot use in ~alias/.qmail-NAME "
					"(only a-z 0-9 . _ + = -)",
					name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else if (al_seen(&seen, name)) {
			why = cvu_printf("a second entry for %s: the first is used", name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else if (strcmp(name, "default") == 0 ||
			   (nlen > 8 && strcmp(name + nlen - 8, "-default") == 0)) {
			why = cvu_printf("~alias/.qmail-%s would catch every address that has no alias of its "
					"own: write it by hand if that is meant",
					name);
			cv_item_add(out, setting, value, "", CV_NOT_CONVERTED, why);
		} else {
			al_alias(out, setting, name, value);
		}
		free(why);
		free(setting);
		free(line);
	}
	cvu_set_free(&seen.set);
	cvu_logical_free(entries, nentries);
	return 0;
}
