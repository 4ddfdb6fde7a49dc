/* libFuzzer target for convert/postfix.c (cv_postfix): the bytes are
 * split on NUL bytes into the texts of "postconf", "postconf -n",
 * "/etc/postfix/virtual", "/etc/aliases", "/etc/postfix/transport" and
 * "/etc/mailname", in that order (the postconf lines may name those files
 * as maps).
 * Each text is copied into a buffer of exactly its size, not
 * terminated, so that ASan sees a read past it. The conversion returns
 * 0; every file is whole lines (its text ends in '\n'), every item has a
 * setting and a why exactly when it is not converted as it was;
 * control/rcpthosts and control/locals are sorted without duplicates. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "convert_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "postconf", "postconf -n", "/etc/postfix/virtual", "/etc/aliases",
					     "/etc/postfix/transport", "/etc/mailname" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct cv_input v[N];
	char *copies[N] = { 0 };
	size_t n = 0, pos = 0;
	while (n < N && (pos < size || n == 0)) {
		const uint8_t *nul = n < N - 1 && pos < size ? memchr(data + pos, '\0', size - pos) : NULL;
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;
		copies[n] = malloc(len ? len : 1);
		cf_check(copies[n] != NULL);
		if (len)
			memcpy(copies[n], data + pos, len);
		v[n] = (struct cv_input){ names[n], copies[n], len };
		n++;
		pos += len + (nul ? 1 : 0);
		if (!nul)
			break;
	}
	struct cv_inputs in = { v, n };
	struct cv_result r = { 0 };
	const char *err = NULL;
	cf_check(cv_postfix(&in, &r, &err) == 0 && err == NULL);
	cf_check_items(&r, false, true);
	cf_check_files(&r, false);
	for (size_t i = 0; i < r.nfiles; i++)
		if (strcmp(r.files[i].name, "control/rcpthosts") == 0 || strcmp(r.files[i].name, "control/locals") == 0)
			cf_check(cf_sorted(r.files[i].text));
	cv_result_free(&r);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	/* without "postconf" the input is refused, nothing made */
	struct cv_inputs none = { v + 1, n > 1 ? n - 1 : 0 };
	for (size_t i = 0; i < none.n; i++)
		v[i + 1].text = NULL, v[i + 1].len = 0;
	cf_check(cv_postfix(&none, &r, &err) == -1 && err != NULL && r.nitems == 0 && r.nfiles == 0);
	return 0;
}
