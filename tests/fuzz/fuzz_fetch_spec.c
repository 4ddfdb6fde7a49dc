/* libFuzzer target: the URL#sha256=HEX&sha512=HEX&size=N&debian=P/V parser
 * of `qinstall fetch`. Whatever the input, parsing must not crash, and a
 * spec it accepts must be one fetch can use safely. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h) {
		h = qi_new();
		qi_set_verbosity(h, -1);
	}
	char *spec = malloc(size + 1);
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct qi_fetch_spec s;
	if (qi_fetch_spec_parse(h, spec, &s) == 0) {
		/* A plain file name: never a path, never hidden, never empty. */
		if (!s.file[0] || strchr(s.file, '/') || s.file[0] == '.')
			abort();
		/* At least one hash, each exactly as long as it must be. */
		if (!s.source.sha256 && !s.source.sha512)
			abort();
		if (s.source.sha256 && !qi_is_hex(s.source.sha256, QI_SHA256_HEX))
			abort();
		if (s.source.sha512 && !qi_is_hex(s.source.sha512, QI_SHA512_HEX))
			abort();
		/* Only the allowed protocols, and nothing of the pins in the URL. */
		if (strncasecmp(s.url, "http://", 7) && strncasecmp(s.url, "https://", 8) &&
		    strncasecmp(s.url, "ftp://", 6) && strncasecmp(s.url, "file://", 7))
			abort();
		if (strchr(s.url, '#') || s.source.urls[0] != s.url || s.source.urls[1])
			abort();
		if ((s.source.debian_source == NULL) != (s.source.debian_version == NULL))
			abort();
		qi_fetch_spec_free(&s);
	} else if (!qi_errmsg(h)[0]) {
		abort();	/* a failure always says why */
	}
	qi_clear_error(h);
	free(spec);
	return 0;
}
