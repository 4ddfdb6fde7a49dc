/* libFuzzer target for dpkg.c's status parser: any bytes parse or are
 * refused without a crash; every package parsed has a name and is found
 * by it; its fields hold no line break; the fields written back as a
 * status file parse again to the same packages; dpkg_provides and
 * dpkg_installed answer for any field's text. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void field(struct qi_buf *b, const char *name, const char *value)
{
	if (value)
		qi_buf_addf(b, "%s: %s\r\n", name, value);
}

/* DB written back: the kept fields of each package, CRLF, blank-separated. */
static void serialize(const struct dpkg_db *db, struct qi_buf *b)
{
	for (size_t i = 0; i < db->n; i++) {
		const struct dpkg_pkg *p = &db->v[i];
		field(b, "Package", p->name);
		field(b, "version", p->version);
		field(b, "Architecture", p->arch);
		field(b, "Status", p->status);
		field(b, "Provides", p->provides);
		field(b, "Depends", p->depends);
		field(b, "Pre-Depends", p->pre_depends);
		field(b, "Conflicts", p->conflicts);
		field(b, "Replaces", p->replaces);
		field(b, "Source", p->source);
		qi_buf_add(b, "\n", 1);
	}
	qi_buf_add(b, "", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	struct dpkg_db db, again;
	if (dpkg_status_parse(h, (const char *)data, size, &db) < 0) {
		check(db.n == 0 && db.v == NULL && qi_errmsg(h)[0]);
		qi_clear_error(h);
		return 0;
	}
	for (size_t i = 0; i < db.n; i++) {
		const struct dpkg_pkg *p = &db.v[i];
		check(p->name && p->name[0] && p->stanza);
		check(dpkg_find(&db, p->name) && strcmp(dpkg_find(&db, p->name)->name, p->name) == 0);
		const char *vals[] = { p->name, p->version, p->arch, p->status, p->provides,
				       p->depends, p->pre_depends, p->conflicts, p->replaces, p->source };
		for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++)
			check(!vals[k] || !strpbrk(vals[k], "\n"));
		check(!p->source || !strpbrk(p->source, " ("));
		dpkg_installed(p);
		dpkg_provides(p, "mail-transport-agent");
		if (p->provides && p->provides[0] && !strpbrk(p->provides, " \t\r,(:"))
			check(dpkg_provides(p, p->provides));
	}
	struct qi_buf b = { 0 };
	serialize(&db, &b);
	check(dpkg_status_parse(h, b.data, b.len - 1, &again) == 0 && again.n == db.n);
	for (size_t i = 0; i < db.n; i++) {
		const struct dpkg_pkg *p = &db.v[i], *q = &again.v[i];
		check(same(p->name, q->name) && same(p->version, q->version) && same(p->arch, q->arch) &&
		      same(p->status, q->status) && same(p->provides, q->provides) &&
		      same(p->depends, q->depends) && same(p->pre_depends, q->pre_depends) &&
		      same(p->conflicts, q->conflicts) && same(p->replaces, q->replaces) &&
		      same(p->source, q->source));
	}
	qi_buf_free(&b);
	dpkg_db_free(&again);
	dpkg_db_free(&db);
	return 0;
}
