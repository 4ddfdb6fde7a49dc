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
#include "convert_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	cf_check(text != NULL);
	if (size)
		memcpy(text, data, size);
	struct cv_result r = { 0 };
	cf_check(cv_aliases(text, size, "/etc/aliases", &r) == 0);
	cf_check_items(&r, false, true);
	cf_check_files(&r, false);
	for (size_t i = 0; i < r.nfiles; i++) {
		cf_check(strncmp(r.files[i].name, "alias/.qmail-", 13) == 0 && !strchr(r.files[i].name + 13, '/'));
		cf_check(!strchr(r.files[i].name + 13, '.'));
	}
	cv_result_free(&r);
	cf_check(r.nitems == 0 && r.nfiles == 0 && !r.items && !r.files);
	free(text);
	return 0;
}
