/* libFuzzer target for alternatives.c's parser: any bytes parse or are
 * refused without a crash (a refusal leaves the group empty and says
 * why); what parses is written back as the very same bytes; a choice
 * added and removed again leaves a group that is written and parses. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	struct alt_group g, again;
	if (alt_parse(h, "mta", (const char *)data, size, &g) < 0) {
		check(g.nchoices == 0 && g.nslaves == 0 && g.link == NULL && qi_errmsg(h)[0]);
		qi_clear_error(h);
		return 0;
	}
	size_t len = 0;
	char *text = alt_format(&g, &len);
	check(len == size && memcmp(text, data, size) == 0);
	free(text);
	const struct alt_choice *best = alt_best(&g);
	check(!best || alt_find(&g, best->path) == best);
	const char *names[] = { "mta-qinstall-fuzz" }, *links[] = { "/qinstall/fuzz/link" },
		   *targets[] = { "/qinstall/fuzz/target" };
	size_t before = g.nchoices;
	bool had = alt_find(&g, "/qinstall/fuzz/choice") != NULL;
	if (alt_add_choice(h, &g, "/qinstall/fuzz/choice", 99, NULL, names, links, targets, 1) == 0) {
		check(alt_find(&g, "/qinstall/fuzz/choice") && g.nchoices == before + !had);
		text = alt_format(&g, &len);
		check(alt_parse(h, "mta", text, len, &again) == 0 && again.nchoices == g.nchoices);
		alt_group_free(&again);
		free(text);
		alt_remove_choice(&g, "/qinstall/fuzz/choice");
		check(!alt_find(&g, "/qinstall/fuzz/choice"));
		text = alt_format(&g, &len);
		check(alt_parse(h, "mta", text, len, &again) == 0 && again.nchoices == g.nchoices);
		alt_group_free(&again);
		free(text);
	} else {
		qi_clear_error(h);
	}
	alt_group_free(&g);
	return 0;
}
