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
#include "convert_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "/etc/exim4/update-exim4.conf.conf", "/etc/mailname",
					     "/etc/aliases", "/etc/exim4/virtual/example.com",
					     "/etc/exim4/virtual/example.org" };
	cf_run_split(cv_exim, names, sizeof(names) / sizeof(names[0]), data, size);
	return 0;
}
