/* libFuzzer target for convert/aliases.c (cv_aliases): any bytes, read
 * as /etc/aliases, give a result whose every file is whole lines (its
 * text ends in '\n'), named alias/.qmail-NAME, and whose every item has a
 * setting; the input is read only within its length (it is copied into
 * a buffer of exactly that size, so that ASan sees a read past it). */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	check(text != NULL);
	if (size)
		memcpy(text, data, size);
	struct cv_result r = { 0 };
	check(cv_aliases(text, size, "/etc/aliases", &r) == 0);
	for (size_t i = 0; i < r.nitems; i++) {
		check(r.items[i].setting != NULL && r.items[i].before != NULL && r.items[i].after != NULL);
		check((r.items[i].outcome == CV_CONVERTED) == (r.items[i].why == NULL));
	}
	for (size_t i = 0; i < r.nfiles; i++) {
		size_t l = strlen(r.files[i].text);
		check(strncmp(r.files[i].name, "alias/.qmail-", 13) == 0 && !strchr(r.files[i].name + 13, '/'));
		check(!strchr(r.files[i].name + 13, '.'));
		check(l > 0 && r.files[i].text[l - 1] == '\n');
	}
	cv_result_free(&r);
	check(r.nitems == 0 && r.nfiles == 0 && !r.items && !r.files);
	free(text);
	return 0;
}
