/* libFuzzer target for pwfile.c and assign.c: any bytes, read as a
 * password file, come back byte for byte; every entry is found again; a
 * set entry replaces or appends one line and keeps every other line; a
 * removed one is gone. The same bytes as users/assign: the edit keeps
 * the other lines, and compiling it never crashes. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mailusers/pwfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void fuzz_popdb(const char *text, size_t size)
{
	struct qi_popdb db;
	qi_popdb_parse(&db, text, size);
	size_t len;
	char *out = qi_popdb_serialize(&db, &len);
	check(len == size && memcmp(out, text, size) == 0);
	free(out);
	for (size_t i = 0; i < db.n; i++)
		if (db.lines[i].entry)
			check(qi_popdb_find(&db, db.lines[i].login) != NULL &&
			      db.lines[i].home[0] == '/');
	size_t n = db.n;
	bool had = qi_popdb_find(&db, "fuzzq") != NULL;
	qi_popdb_set(&db, "fuzzq", "$y$x", "vmail", "/home/vmail/fuzzq");
	check(db.n == (had ? n : n + 1));
	const struct qi_popline *l = qi_popdb_find(&db, "fuzzq");
	check(l && strcmp(l->hash, "$y$x") == 0);
	check(qi_popdb_remove(&db, "fuzzq"));
	qi_popdb_free(&db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	fuzz_popdb((const char *)data, size);
	size_t len, cdblen;
	char *assign = qi_assign_edit((const char *)data, size, "fuzzq", true, "vmail", 1000, 1000,
				      "/home/vmail/fuzzq", &len);
	check(len >= 2 && memcmp(assign + len - 2, ".\n", 2) == 0);
	char *cdb = NULL;
	if (qi_assign_cdb(h, assign, len, &cdb, &cdblen) == 0)
		check(cdblen >= 2048);
	qi_clear_error(h);
	free(cdb);
	free(assign);
	return 0;
}
