/* libFuzzer target for rpm.c's parser of `rpm -qa --qf RPM_QA_FORMAT`:
 * any bytes parse or are refused without a crash (a refusal leaves the
 * list empty and says why); every package parsed has its six fields,
 * is found by its name, and its NEVRA
 * is made of them; written back as rpm would print them they parse again
 * to the same packages; no field holds a control character. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/rpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool clean(const char *s)
{
	if (!s || !s[0])
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	struct rpm_db db, again;
	if (rpm_qa_parse(h, (const char *)data, size, &db) < 0) {
		check(db.n == 0 && db.v == NULL && qi_errmsg(h)[0]);
		qi_clear_error(h);
		return 0;
	}
	struct qi_buf b = { 0 };
	for (size_t i = 0; i < db.n; i++) {
		const struct rpm_pkg *p = &db.v[i];
		check(clean(p->name) && clean(p->version) && clean(p->release) && clean(p->arch) &&
		      clean(p->nevra) && clean(p->sha1header));
		check(!p->epoch || clean(p->epoch));
		check(rpm_find(&db, p->name) != NULL);
		check(strncmp(p->nevra, p->name, strlen(p->name)) == 0);
		check(strstr(p->nevra, p->release) != NULL);
		qi_buf_addf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", p->name, p->epoch ? p->epoch : "(none)", p->version,
			    p->release, p->arch, p->sha1header);
	}
	check(rpm_qa_parse(h, b.data ? b.data : "", b.len, &again) == 0 && again.n == db.n);
	for (size_t i = 0; i < db.n; i++)
		check(strcmp(db.v[i].nevra, again.v[i].nevra) == 0 &&
		      strcmp(db.v[i].sha1header, again.v[i].sha1header) == 0);
	qi_buf_free(&b);
	rpm_db_free(&again);
	rpm_db_free(&db);
	return 0;
}
