/* libFuzzer target for sendmail.c: the input split on NUL bytes gives,
 * in this order, sendmail.mc, local-host-names, relay-domains, access,
 * virtusertable, mailertable and /etc/aliases (those past the last NUL
 * missing). The conversion succeeds; every file's text is whole lines,
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
	static const char *const names[] = { "/etc/mail/sendmail.mc",	"/etc/mail/local-host-names",
					     "/etc/mail/relay-domains", "/etc/mail/access",
					     "/etc/mail/virtusertable", "/etc/mail/mailertable",
					     "/etc/aliases" };
	cf_run_split(cv_sendmail, names, sizeof(names) / sizeof(names[0]), data, size);
	return 0;
}
