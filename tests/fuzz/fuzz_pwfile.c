/* libFuzzer target for pwfile.c, cram.c and assign.c: any bytes, read
 * as a password file, come back byte for byte; every entry is found
 * again, by lookup too with the same CRAM-MD5 secret; a set entry
 * replaces or appends one line (its "#cram-md5:" lines gone) and keeps
 * every other line; a secret set is found on the line after it; a
 * removed entry is gone. The same bytes as checkpassword's descriptor 3:
 * split, and a CRAM-MD5 response checked, without a crash. The same
 * bytes as users/assign: the edit keeps the other lines, and compiling
 * it never crashes. */
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
	size_t stray = 0;
	for (size_t i = 0; i < db.n; i++) {
		const struct qi_popline *l = &db.lines[i];
		if (l->comp_login && strcmp(l->comp_login, "fuzzq") == 0)
			stray++;
		if (!l->entry)
			continue;
		const struct qi_popline *first = qi_popdb_find(&db, l->login);
		check(first != NULL && l->home[0] == '/');
		struct qi_popline got;
		check(qi_popdb_lookup(text, size, l->login, &got));
		check(strcmp(got.hash, first->hash) == 0);
		check(!got.cram == !first->cram && (!got.cram || strcmp(got.cram, first->cram) == 0));
		qi_popline_clear(&got);
	}
	size_t n = db.n;
	bool had = qi_popdb_find(&db, "fuzzq") != NULL;
	qi_popdb_set(&db, "fuzzq", "$y$x", "vmail", "/home/vmail/fuzzq");
	check(db.n == (had ? n : n + 1) - stray);
	const struct qi_popline *l = qi_popdb_find(&db, "fuzzq");
	check(l && strcmp(l->hash, "$y$x") == 0 && !l->cram);
	const char *secret = "4638c77f1a70c6fda4ddfa6fbe34e6ee090a0f0088f15da8fed5e0a5ff2b4152";
	qi_popdb_set_cram(&db, "fuzzq", secret);
	l = qi_popdb_find(&db, "fuzzq");
	check(l && l->cram && strcmp(l->cram, secret) == 0);
	check(l[1].comp_login && strcmp(l[1].comp_login, "fuzzq") == 0);
	check(qi_popdb_remove(&db, "fuzzq"));
	for (size_t i = 0; i < db.n; i++)
		check(!db.lines[i].comp_login || strcmp(db.lines[i].comp_login, "fuzzq") != 0);
	qi_popdb_free(&db);
}

static void fuzz_checkpw(const char *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct qi_checkpw_input in;
	if (qi_checkpw_split(buf, size, &in)) {
		check(in.secret + in.secretlen < buf + size && in.rest <= buf + size);
		check(!in.cram || strlen(in.rest) == 32);
		const char *secret = "4638c77f1a70c6fda4ddfa6fbe34e6ee090a0f0088f15da8fed5e0a5ff2b4152";
		qi_cram_verify(secret, in.secret, in.secretlen, in.rest);
		qi_cram_verify(in.rest, in.secret, in.secretlen, in.rest);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	fuzz_popdb((const char *)data, size);
	fuzz_checkpw((const char *)data, size);
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
