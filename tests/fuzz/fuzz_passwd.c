/* libFuzzer target for passwd.c: any bytes, read as each of the four
 * kinds, must come back byte for byte, every entry must be well formed,
 * and an added entry must be found again with every old line kept. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "accounts/passwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	static const char *const adds[][QI_PW_MAXFIELDS] = {
		[QI_PW_PASSWD] = { "fuzzq", "x", "601", "600", "", "/var/qmail", "/usr/sbin/nologin" },
		[QI_PW_GROUP] = { "fuzzq", "x", "601", "" },
		[QI_PW_SHADOW] = { "fuzzq", "!", "20000", "", "", "", "", "", "" },
		[QI_PW_GSHADOW] = { "fuzzq", "!", "", "" },
	};
	for (int k = QI_PW_PASSWD; k <= QI_PW_GSHADOW; k++) {
		struct qi_pwdb db;
		qi_pwdb_parse(&db, (enum qi_pwkind)k, (const char *)data, size);
		size_t len;
		char *out = qi_pwdb_serialize(&db, &len);
		check(len == size && memcmp(out, data, size) == 0);
		free(out);
		for (size_t i = 0; i < db.n; i++) {
			const struct qi_pwline *l = &db.lines[i];
			if (l->type != QI_PWL_ENTRY)
				continue;
			check(l->nfields == qi_pwkind_nfields(db.kind) && l->fields[0][0]);
			check((k != QI_PW_PASSWD && k != QI_PW_GROUP) || l->id >= 0);
			check(qi_pwdb_find_name(&db, l->fields[0]) != NULL);
		}
		bool had = qi_pwdb_find_any_name(&db, "fuzzq") != NULL;
		int rc = qi_pwdb_add(h, &db, adds[k]);
		check(had ? rc < 0 : rc == 0);
		if (rc == 0) {
			out = qi_pwdb_serialize(&db, &len);
			check(len > size);
			struct qi_pwdb again;
			qi_pwdb_parse(&again, (enum qi_pwkind)k, out, len);
			const struct qi_pwline *l = qi_pwdb_find_name(&again, "fuzzq");
			check(l != NULL && (k == QI_PW_SHADOW || k == QI_PW_GSHADOW || l->id == 601));
			/* Every old byte is still there, in order (an added final
			 * newline and the new line aside). */
			size_t a = 0, b = 0;
			while (a < size && b < len) {
				if (data[a] == (uint8_t)out[b])
					a++;
				b++;
			}
			check(a == size);
			qi_pwdb_free(&again);
			free(out);
		}
		qi_pwdb_free(&db);
	}
	return 0;
}
