/*
 * fetch_spec.c - the one-off source form of `qinstall fetch`:
 *
 *     URL#sha256=HEX[&sha512=HEX][&size=N][&debian=PKG/VERSION]
 *
 * Keys in any order; debian= names Debian's source package and version as
 * a second origin, tried when the URL fails. The fragment never reaches a server (curl strips it), so it is a safe
 * place for the pins. A bare absolute path stands for a file: URL.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sources/sources.h"

static bool known_scheme(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "file://" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
			return true;
	return false;
}

static int usage(qi_handle *h, const char *spec, const char *what)
{
	return qi_error_kind(h, QI_ERR_USAGE, "bad source '%.200s': %s "
			     "(write URL#sha256=HEX, optionally &sha512=HEX, &size=BYTES and &debian=PACKAGE/VERSION)",
			     spec, what);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* One "key=value" of the fragment. */
static int parse_pin(qi_handle *h, const char *spec, const char *key, size_t keylen,
		     const char *val, size_t vallen, struct qi_fetch_spec *out)
{
	if (keylen == 6 && memcmp(key, "sha256", 6) == 0) {
		if (out->sha256[0])
			return usage(h, spec, "sha256 given twice");
		if (vallen != QI_SHA256_HEX)
			return usage(h, spec, "sha256 needs 64 hex digits");
		memcpy(out->sha256, val, vallen);
		out->sha256[vallen] = '\0';
		if (!qi_is_hex(out->sha256, QI_SHA256_HEX))
			return usage(h, spec, "sha256 needs 64 hex digits");
		lower(out->sha256);
		return 0;
	}
	if (keylen == 6 && memcmp(key, "sha512", 6) == 0) {
		if (out->sha512[0])
			return usage(h, spec, "sha512 given twice");
		if (vallen != QI_SHA512_HEX)
			return usage(h, spec, "sha512 needs 128 hex digits");
		memcpy(out->sha512, val, vallen);
		out->sha512[vallen] = '\0';
		if (!qi_is_hex(out->sha512, QI_SHA512_HEX))
			return usage(h, spec, "sha512 needs 128 hex digits");
		lower(out->sha512);
		return 0;
	}
	if (keylen == 4 && memcmp(key, "size", 4) == 0) {
		if (out->size >= 0)
			return usage(h, spec, "size given twice");
		if (vallen == 0 || vallen > 18)
			return usage(h, spec, "size must be a number of bytes");
		int64_t n = 0;
		for (size_t i = 0; i < vallen; i++) {
			if (val[i] < '0' || val[i] > '9')
				return usage(h, spec, "size must be a number of bytes");
			n = n * 10 + (val[i] - '0');
		}
		out->size = n;
		return 0;
	}
	if (keylen == 6 && memcmp(key, "debian", 6) == 0) {
		const char *slash = memchr(val, '/', vallen);
		if (out->debian_source)
			return usage(h, spec, "debian given twice");
		if (!slash || slash == val || slash == val + vallen - 1)
			return usage(h, spec, "debian= needs SOURCE-PACKAGE/VERSION, e.g. debian=ucspi-tcp/1:0.88-7");
		out->debian_source = qi_xasprintf("%.*s", (int)(slash - val), val);
		out->debian_version = qi_xasprintf("%.*s", (int)(val + vallen - slash - 1), slash + 1);
		return 0;
	}
	char what[128];
	snprintf(what, sizeof(what), "unknown pin '%.*s'", (int)(keylen > 40 ? 40 : keylen), key);
	return usage(h, spec, what);
}

int qi_fetch_spec_parse(qi_handle *h, const char *spec, struct qi_fetch_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->size = -1;
	const char *hash = strchr(spec, '#');
	if (!hash)
		return usage(h, spec, "no #sha256= or #sha512= pin; qinstall never uses unverified bytes");
	size_t urllen = (size_t)(hash - spec);
	if (urllen == 0)
		return usage(h, spec, "no URL before '#'");
	for (size_t i = 0; i < urllen; i++)
		if ((unsigned char)spec[i] <= ' ' || spec[i] == 0x7f)
			return usage(h, spec, "the URL holds a space or a control character");

	/* The pins. */
	const char *p = hash + 1;
	while (*p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq)
			return usage(h, spec, "each pin is KEY=VALUE");
		if (parse_pin(h, spec, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1, out) < 0)
			goto fail;
		p += len;
		if (*p == '&')
			p++;
	}
	if (!out->sha256[0] && !out->sha512[0]) {
		usage(h, spec, "no sha256 or sha512 pin; qinstall never uses unverified bytes");
		goto fail;
	}

	/* The URL, and the file name it ends with. */
	if (spec[0] == '/')
		out->url = qi_xasprintf("file://%.*s", (int)urllen, spec);
	else {
		out->url = qi_xmalloc(urllen + 1);
		memcpy(out->url, spec, urllen);
		out->url[urllen] = '\0';
	}
	if (!known_scheme(out->url)) {
		usage(h, spec, "the URL must start with http://, https://, ftp:// or file:// (or be an absolute path)");
		goto fail;
	}
	const char *path = strstr(out->url, "://") + 3;
	size_t pathlen = strcspn(path, "?");
	const char *slash = NULL;
	for (const char *q = path; q < path + pathlen; q++)
		if (*q == '/')
			slash = q;
	if (!slash || slash + 1 >= path + pathlen) {
		usage(h, spec, "the URL does not end with a file name");
		goto fail;
	}
	size_t flen = (size_t)(path + pathlen - slash - 1);
	out->file = qi_xmalloc(flen + 1);
	memcpy(out->file, slash + 1, flen);
	out->file[flen] = '\0';
	if (strcmp(out->file, ".") == 0 || strcmp(out->file, "..") == 0 || strchr(out->file, '%') ||
	    out->file[0] == '.') {
		usage(h, spec, "the URL's file name must be plain (no leading dot, no %-escapes)");
		goto fail;
	}

	out->urls[0] = out->url;
	out->urls[1] = NULL;
	out->source = (struct qi_source){
		.file = out->file,
		.urls = out->urls,
		.sha256 = out->sha256[0] ? out->sha256 : NULL,
		.sha512 = out->sha512[0] ? out->sha512 : NULL,
		.size = out->size,
		.debian_source = out->debian_source,
		.debian_version = out->debian_version,
	};
	return 0;
fail:
	qi_fetch_spec_free(out);
	return -1;
}

void qi_fetch_spec_free(struct qi_fetch_spec *s)
{
	free(s->url);
	free(s->file);
	free(s->debian_source);
	free(s->debian_version);
	s->url = s->file = s->debian_source = s->debian_version = NULL;
}
