/*
 * dpkg_deps.c - which packages must go with the old MTA when the stand-in
 * takes its place: the ones dpkg would find with a dependency no longer
 * met (the exim4 metapackage, which depends on exim4-daemon-light; sendmail
 * on sendmail-bin), found from Depends and Pre-Depends as dpkg reads them
 * (clauses separated by ',', alternatives by '|', each a name with an
 * optional ":arch" and "(op version)"). Versions are not compared: a
 * package that is installed meets a clause that names it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

struct removal {
	const struct dpkg_db *db;
	const char *virtual;
	char **names;
	size_t n;
};

static bool going(const struct removal *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->names[i]) == len && memcmp(r->names[i], name, len) == 0)
			return true;
	return false;
}

/* Whether the name NAME (LEN bytes) is met by an installed package that
 * stays (WITH_GONE: or one that goes), by its name or its Provides. */
static bool met(const struct removal *r, const char *name, size_t len, bool with_gone)
{
	if (!with_gone && strlen(r->virtual) == len && memcmp(r->virtual, name, len) == 0)
		return true;	/* the stand-in provides it */
	char *want = qi_xmalloc(len + 1);
	memcpy(want, name, len);
	want[len] = '\0';
	bool ok = false;
	for (size_t i = 0; i < r->db->n && !ok; i++) {
		const struct dpkg_pkg *p = &r->db->v[i];
		if (!dpkg_installed(p) || (!with_gone && going(r, p->name, strlen(p->name))))
			continue;
		ok = strcmp(p->name, want) == 0 || dpkg_provides(p, want);
	}
	free(want);
	return ok;
}

/* Whether the clause S..E (alternatives) is met. */
static bool clause_met(const struct removal *r, const char *s, const char *e, bool with_gone)
{
	while (s < e) {
		const char *bar = memchr(s, '|', (size_t)(e - s));
		const char *end = bar ? bar : e;
		while (s < end && strchr(" \t\n", *s))
			s++;
		size_t len = 0;
		while (s + len < end && !strchr(" \t\n(:[", s[len]))
			len++;
		if (len && met(r, s, len, with_gone))
			return true;
		s = bar ? bar + 1 : e;
	}
	return false;
}

/* Whether FIELD has a clause that was met before and is not once the
 * packages going are gone. */
static bool breaks(const struct removal *r, const char *field)
{
	for (const char *s = field; s && *s;) {
		const char *comma = strchr(s, ',');
		const char *e = comma ? comma : s + strlen(s);
		if (clause_met(r, s, e, true) && !clause_met(r, s, e, false))
			return true;
		s = comma ? comma + 1 : e;
	}
	return false;
}

int dpkg_removal_set(const struct dpkg_db *db, const struct dpkg_pkg *provider, const char *virtual,
		     char ***names, size_t *n)
{
	struct removal r = { .db = db, .virtual = virtual };
	r.names = qi_xmalloc(sizeof(*r.names) * (db->n + 1));
	r.names[r.n++] = qi_xstrdup(provider->name);
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < db->n; i++) {
			const struct dpkg_pkg *p = &db->v[i];
			if (!dpkg_installed(p) || going(&r, p->name, strlen(p->name)))
				continue;
			if (breaks(&r, p->depends) || breaks(&r, p->pre_depends)) {
				r.names[r.n++] = qi_xstrdup(p->name);
				more = true;
			}
		}
	}
	*names = r.names;
	*n = r.n;
	return 0;
}
