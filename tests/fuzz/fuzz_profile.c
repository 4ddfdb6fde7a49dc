/*
 * fuzz_profile.c - libFuzzer target for the profile parser (profile.c).
 *
 * Invariants checked on every input:
 *  - parsing either fails with a message naming the input (or an included
 *    file) or succeeds;
 *  - a parsed profile prints (qi_profile_to_json) as valid JSON whose
 *    values all have an origin;
 *  - round trip: the resolved profile written back as text parses again
 *    to the same resolved values (when no value holds a literal "${",
 *    which the text form would expand again).
 * Includes are looked up in a data directory that does not exist.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/provision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "[section]\nkey = value\n..." of the values in force, and whether the
 * text is safe to parse again. */
static char *as_text(json_t *j, bool *safe)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	*safe = true;
	size_t i, k;
	json_t *sec, *v;
	json_array_foreach(json_object_get(j, "sections"), i, sec) {
		qi_buf_addf(&b, "[%s]\n", json_string_value(json_object_get(sec, "name")));
		json_array_foreach(json_object_get(sec, "values"), k, v) {
			const char *value = json_string_value(json_object_get(v, "value"));
			if (!json_string_value(json_object_get(v, "origin")))
				abort();	/* every value says where it came from */
			if (strstr(value, "${") || strchr(value, '\r'))
				*safe = false;
			qi_buf_addf(&b, "%s = %s\n", json_string_value(json_object_get(v, "key")), value);
		}
	}
	return b.data;
}

/* The sections and values of J without origins, for comparison. */
static json_t *strip_origins(json_t *j)
{
	json_t *out = json_array();
	size_t i, k;
	json_t *sec, *v;
	json_array_foreach(json_object_get(j, "sections"), i, sec) {
		json_t *vals = json_array();
		json_array_foreach(json_object_get(sec, "values"), k, v)
			json_array_append_new(vals, json_pack("[OO]", json_object_get(v, "key"),
							      json_object_get(v, "value")));
		if (json_array_size(vals))
			json_array_append_new(out, json_pack("[Oo]", json_object_get(sec, "name"), vals));
		else
			json_decref(vals);
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h) {
		setenv("QINSTALL_DATADIR", "/nonexistent/qinstall-fuzz", 1);
		h = qi_new();
		qi_set_verbosity(h, -1);
	}
	qi_clear_error(h);
	struct qi_profile *p = NULL;
	if (qi_profile_parse_buffer(h, "fuzz.profile", (const char *)data, size, &p) < 0) {
		if (p || !qi_errmsg(h)[0])
			abort();	/* a failure leaves no profile and says why */
		return 0;
	}
	json_t *j = qi_profile_to_json(p);
	char *dump = json_dumps(j, 0);
	if (!dump)
		abort();
	json_error_t err;
	json_t *again = json_loads(dump, 0, &err);
	if (!again)
		abort();	/* printable, valid JSON */
	json_decref(again);
	free(dump);
	for (const char *const *c = qi_profile_components(p); *c; c++) {
		char *sec = qi_xasprintf("component %s", *c);
		if (!qi_profile_get(p, sec, "version"))
			abort();	/* validation guarantees a version */
		free(sec);
	}
	bool safe;
	char *text = as_text(j, &safe);
	if (safe) {
		struct qi_profile *q = NULL;
		if (qi_profile_parse_buffer(h, "roundtrip.profile", text, strlen(text), &q) < 0) {
			fprintf(stderr, "round trip failed: %s\n--- text:\n%s", qi_errmsg(h), text);
			abort();
		}
		json_t *jq = qi_profile_to_json(q);
		json_t *a = strip_origins(j), *b = strip_origins(jq);
		if (!json_equal(a, b)) {
			fprintf(stderr, "round trip changed the profile:\n%s", text);
			abort();
		}
		json_decref(a);
		json_decref(b);
		json_decref(jq);
		qi_profile_free(q);
	}
	free(text);
	json_decref(j);
	qi_profile_free(p);
	return 0;
}
