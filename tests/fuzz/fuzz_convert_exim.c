/* libFuzzer target for exim.c: the input split on NUL bytes gives, in
 * this order, update-exim4.conf.conf, /etc/mailname, /etc/aliases and
 * the virtual domains example.com and example.org (those past the last
 * NUL missing). The conversion succeeds; every file's text is whole lines,
 * every item has a setting, a before and an after, and a why unless
 * converted; rcpthosts is sorted with no line twice. */
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

/* Whether the lines of TEXT are in strictly increasing order. */
static bool sorted(const char *text)
{
	const char *prev = NULL;
	size_t plen = 0;
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = (size_t)(e - p);
		if (prev) {
			int c = memcmp(prev, p, plen < n ? plen : n);
			if (c > 0 || (c == 0 && plen >= n))
				return false;
		}
		prev = p;
		plen = n;
		p = e + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "/etc/exim4/update-exim4.conf.conf", "/etc/mailname",
					     "/etc/aliases", "/etc/exim4/virtual/example.com",
					     "/etc/exim4/virtual/example.org" };
	struct cv_input v[5];
	size_t n = 0, pos = 0;
	const char *text = (const char *)data;
	while (n < 5 && pos <= size) {
		const char *nul = memchr(text + pos, '\0', size - pos);
		size_t len = nul ? (size_t)(nul - (text + pos)) : size - pos;
		v[n] = (struct cv_input){ .name = names[n], .text = text + pos, .len = len };
		n++;
		pos += len + 1;
		if (!nul)
			break;
	}
	struct cv_inputs in = { .v = v, .n = n };
	struct cv_result r = { 0 };
	const char *err = NULL;
	check(cv_exim(&in, &r, &err) == 0);
	for (size_t i = 0; i < r.nfiles; i++) {
		size_t len = strlen(r.files[i].text);
		check(r.files[i].name[0] && len > 0 && r.files[i].text[len - 1] == '\n');
	}
	for (size_t i = 0; i < r.nitems; i++) {
		check(r.items[i].setting && r.items[i].setting[0] && r.items[i].before && r.items[i].after);
		check(r.items[i].outcome == CV_CONVERTED || r.items[i].why);
	}
	const struct cv_file *f = cv_file_find(&r, "control/rcpthosts");
	check(!f || sorted(f->text));
	check(!r.domain || r.me);
	cv_result_free(&r);
	struct cv_inputs none = { 0 };
	check(cv_exim(&none, &r, &err) == -1 && err);
	return 0;
}
