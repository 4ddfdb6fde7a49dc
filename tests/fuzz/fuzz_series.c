/*
 * fuzz_series.c - libFuzzer target for the quilt series parser
 * (patch/series.c).
 *
 * Invariants checked on every input:
 *  - parsing fails with "series:LINE: ..." and an empty result, or
 *    succeeds;
 *  - every entry is one word (no blank, '#', CR or newline), neither
 *    absolute nor with a ".." component (checked against a plain split
 *    at '/', not the helper the parser uses), with -p 0 to 9, on a line of
 *    the input, the lines increasing;
 *  - round trip: the entries written back as "NAME -pN" lines parse again
 *    to the same entries, one a line.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A ".." component, by splitting at every '/'. */
static bool climbs(const char *name)
{
	char *copy = qi_xstrdup(name), *save = NULL;
	bool up = false;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
		up |= strcmp(c, "..") == 0;
	free(copy);
	return up;
}

static void check_entries(const struct qi_series *s, const uint8_t *data, size_t size)
{
	long lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (size_t i = 0; i < s->n; i++) {
		const struct qi_series_entry *e = &s->e[i];
		if (!e->name[0] || strpbrk(e->name, " \t#\r\n") || e->name[0] == '/' || climbs(e->name))
			abort();	/* one word, inside the series directory */
		if (e->strip < 0 || e->strip > 9 || e->line < 1 || e->line > lines)
			abort();
		if (i > 0 && e->line <= s->e[i - 1].line)
			abort();	/* in the order of the file, one a line */
	}
}

static void check_round_trip(qi_handle *h, const struct qi_series *s)
{
	struct qi_buf b = { 0 };
	qi_buf_add(&b, "", 0);
	for (size_t i = 0; i < s->n; i++)
		qi_buf_addf(&b, "%s -p%d\n", s->e[i].name, s->e[i].strip);
	struct qi_series again;
	if (qi_series_parse(h, "again", b.data, b.len, &again) < 0) {
		fprintf(stderr, "round trip failed: %s\n--- text:\n%s", qi_errmsg(h), b.data);
		abort();
	}
	if (again.n != s->n)
		abort();
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(again.e[i].name, s->e[i].name) || again.e[i].strip != s->e[i].strip ||
		    again.e[i].line != (int)i + 1)
			abort();
	qi_series_free(&again);
	qi_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h) {
		h = qi_new();
		qi_set_verbosity(h, -1);
	}
	qi_clear_error(h);
	struct qi_series s;
	if (qi_series_parse(h, "series", (const char *)data, size, &s) < 0) {
		int line;
		if (s.n || s.e || sscanf(qi_errmsg(h), "series:%d: ", &line) != 1 || line < 1)
			abort();	/* a failure leaves nothing and names the line */
		return 0;
	}
	check_entries(&s, data, size);
	check_round_trip(h, &s);
	qi_series_free(&s);
	return 0;
}
