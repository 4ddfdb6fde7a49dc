/*
 * convert_fuzz.h - what the fuzz targets of convert/ (fuzz_convert_*.c)
 * share: aborting on a broken invariant, splitting the fuzzer's bytes
 * into inputs, and the invariants every conversion's result keeps (its
 * items complete, its files whole lines, sorted files sorted).
 *
 * Include it after convert/convert.h, in a target whose first include is
 * config.h. The helpers are static inline: a target pays only for those
 * it calls.
 */
#ifndef QI_TESTS_CONVERT_FUZZ_H
#define QI_TESTS_CONVERT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"

/* Abort (the fuzzer's crash) unless OK. */
static inline void cf_check(bool ok)
{
	if (!ok)
		abort();
}

/* Whether the lines of TEXT (whole lines) are in strictly rising order. */
static inline bool cf_sorted(const char *text)
{
	const char *prev = NULL;
	size_t plen = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = (size_t)(nl - p);
		if (prev) {
			int c = memcmp(prev, p, plen < l ? plen : l);
			if (c > 0 || (c == 0 && plen >= l))
				return false;
		}
		prev = p;
		plen = l;
		p = nl + 1;
	}
	return true;
}

/* DATA (SIZE bytes) split on NUL bytes into the inputs V named NAMES[0],
 * NAMES[1]... (at most MAX), pointing into DATA; those past the last NUL
 * missing, an empty one after a NUL at the end. Returns their count. */
static inline size_t cf_split(const uint8_t *data, size_t size, const char *const *names, size_t max,
			      struct cv_input *v)
{
	size_t n = 0, pos = 0;
	const char *text = (const char *)data;
	while (n < max && pos <= size) {
		const char *nul = memchr(text + pos, '\0', size - pos);
		size_t len = nul ? (size_t)(nul - (text + pos)) : size - pos;
		v[n] = (struct cv_input){ .name = names[n], .text = text + pos, .len = len };
		n++;
		pos += len + 1;
		if (!nul)
			break;
	}
	return n;
}

/* The items of R are whole: a setting (not empty when NAMED), a before
 * and an after; a why when not converted, and when WHY_IFF none when
 * converted. */
static inline void cf_check_items(const struct cv_result *r, bool named, bool why_iff)
{
	for (size_t i = 0; i < r->nitems; i++) {
		const struct cv_item *it = &r->items[i];
		cf_check(it->setting != NULL && it->before != NULL && it->after != NULL);
		cf_check(!named || it->setting[0]);
		if (why_iff)
			cf_check((it->outcome == CV_CONVERTED) == (it->why == NULL));
		else
			cf_check(it->outcome == CV_CONVERTED || it->why);
	}
}

/* The files of R are whole lines (a text not empty that ends in '\n'),
 * with a name not empty when NAMED, and one that convert.h gives
 * (control/NAME, alias/.qmail-NAME, tcp.smtp: no other '/', no ".."). */
static inline void cf_check_files(const struct cv_result *r, bool named)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		size_t len = strlen(r->files[i].text);
		cf_check(!named || r->files[i].name[0]);
		/* a name convert.h gives: never a path out of where it goes */
		const char *nm = r->files[i].name;
		const char *base = strncmp(nm, "control/", 8) == 0 ? nm + 8 :
				   strncmp(nm, "alias/.qmail-", 13) == 0 ? nm + 13 :
				   strcmp(nm, "tcp.smtp") == 0 ? nm : NULL;
		cf_check(!named || (base && *base && !strchr(base, '/') && !strstr(nm, "..")));
		cf_check(len > 0 && r->files[i].text[len - 1] == '\n');
	}
}

/* A converter of convert.h (cv_sendmail, cv_exim). */
typedef int (*cf_converter)(const struct cv_inputs *in, struct cv_result *out, const char **err);

/* The whole target of a converter that takes DATA (SIZE bytes) split as
 * cf_split does into the inputs NAMES (N of them, at most 16): CONVERT
 * succeeds; its files are whole lines with names, its items whole with a
 * why unless converted; control/rcpthosts is sorted with no line twice; a
 * domain comes with a host name; and with no input CONVERT fails with a
 * message. */
static inline void cf_run_split(cf_converter convert, const char *const *names, size_t n, const uint8_t *data,
				size_t size)
{
	struct cv_input v[16];
	cf_check(n <= 16);
	struct cv_inputs in = { .v = v, .n = cf_split(data, size, names, n, v) };
	struct cv_result r = { 0 };
	const char *err = NULL;
	cf_check(convert(&in, &r, &err) == 0);
	cf_check_files(&r, true);
	cf_check_items(&r, true, false);
	const struct cv_file *f = cv_file_find(&r, "control/rcpthosts");
	cf_check(!f || cf_sorted(f->text));
	cf_check(!r.domain || r.me);
	cv_result_free(&r);
	struct cv_inputs none = { 0 };
	cf_check(convert(&none, &r, &err) == -1 && err);
}

#endif /* QI_TESTS_CONVERT_FUZZ_H */
