/*
 * cmd_fetch.c - `qinstall fetch`: fetch one archive by URL and pin into the
 * distfile cache, verify it, and optionally unpack it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char *distdir, *mirror, *extract;
	int offline;
} o;

static const struct poptOption fetch_options[] = {
	{ "distdir", 0, POPT_ARG_STRING, &o.distdir, 0,
	  "the distfile cache (default CACHE_DIR/distfiles)", "DIR" },
	{ "mirror", 0, POPT_ARG_STRING, &o.mirror, 0,
	  "try BASE/FILE first, after the cache", "BASE" },
	{ "offline", 0, POPT_ARG_NONE, &o.offline, 0,
	  "use only the cache and file: URLs", NULL },
	{ "extract", 0, POPT_ARG_STRING, &o.extract, 0,
	  "then unpack the archive securely into DIR (new, or an empty directory)", "DIR" },
	POPT_TABLEEND
};

static void report_json(struct qi_cli *cli, const char *path, const struct qi_fetch_report *r)
{
	json_t *res = qi_result(cli->h);
	json_object_set_new(res, "path", json_string(path));
	json_object_set_new(res, "sha256", json_string(r->sha256));
	json_object_set_new(res, "sha512", r->sha512[0] ? json_string(r->sha512) : json_null());
	json_object_set_new(res, "size", json_integer(r->size));
	json_object_set_new(res, "origin", json_string(r->origin));
	json_object_set_new(res, "origin_url", r->url ? json_string(r->url) : json_null());
	json_object_set_new(res, "downloaded", json_integer(r->downloaded));
}

static int run_fetch(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	int rc = -1;
	if (argc != 1) {
		qi_error_kind(h, QI_ERR_USAGE, "fetch needs exactly one URL#sha256=HEX (see qinstall fetch --help)");
		goto out;
	}
	struct qi_fetch_spec spec;
	if (qi_fetch_spec_parse(h, argv[0], &spec) < 0)
		goto out;
	struct qi_fetch_options opt = { .distdir = o.distdir, .mirror = o.mirror, .offline = o.offline };
	if (qi_check(h)) {
		/* Dry run: say what would happen, write nothing. */
		char *cached = qi_distfile_path(h, &opt, spec.file);
		if (qi_verify_pins(h, cached, &spec.source) == 0) {
			qi_out(cli, "%s: verified in the cache\n", cached);
			qi_set_msg(h, "%s is in the cache and matches its pins", spec.file);
		} else {
			qi_clear_error(h);
			qi_out(cli, "would fetch %s into %s\n", spec.url, cached);
			qi_set_msg(h, "would fetch %s", spec.file);
		}
		json_object_set_new(qi_result(h), "path", json_string(cached));
		free(cached);
		qi_fetch_spec_free(&spec);
		rc = 0;
		goto out;
	}
	struct qi_fetch_report rep;
	char *path = NULL;
	if (qi_fetch_report(h, &spec.source, &opt, &path, &rep) == 0) {
		report_json(cli, path, &rep);
		if (rep.downloaded > 0 || strcmp(rep.origin, "cache") != 0)
			qi_set_changed(h);
		qi_out(cli, "%s\n", path);
		qi_set_msg(h, "%s verified (sha256 %s, %lld bytes) from %s", spec.file, rep.sha256,
			   (long long)rep.size, rep.url ? rep.url : rep.origin);
		rc = 0;
		if (o.extract) {
			char *top = NULL;
			if (qi_extract(h, path, o.extract, &top) < 0) {
				rc = -1;
			} else {
				json_object_set_new(qi_result(h), "extracted", json_string(o.extract));
				json_object_set_new(qi_result(h), "topdir", json_string(top));
				qi_set_changed(h);
				qi_out(cli, "%s\n", top);
			}
			free(top);
		}
		qi_fetch_report_free(&rep);
		free(path);
	}
	qi_fetch_spec_free(&spec);
out:
	free(o.distdir);
	free(o.mirror);
	free(o.extract);
	return rc;
}

const struct qi_command qi_cmd_fetch = {
	.name = "fetch",
	.args = "URL#sha256=HEX[&sha512=HEX][&size=BYTES][&debian=PACKAGE/VERSION]",
	.summary = "fetch one archive into the distfile cache and verify it against its pin",
	.description =
		"Origins are tried in order: the cache (verified again), --mirror BASE/FILE,\n"
		"the URL, then, with debian=PACKAGE/VERSION, Debian's source archive (through\n"
		"apt-get source and a private apt configuration). Downloads resume from\n"
		"FILE.part; time-outs, dropped connections, HTTP 408/429/5xx and FTP 4yz\n"
		"replies are retried with doubling back-off (honouring Retry-After); other\n"
		"failures (404, FTP 5yz, a name that does not resolve) move on at once.\n"
		"Bytes that do not match the pin are moved aside as FILE.bad-<sha256 prefix>\n"
		"and never used. The path of the verified file is printed (then the unpacked\n"
		"top directory with --extract). Exit 0 only when the bytes matched the pin.\n"
		"Writes nothing into the root.",
	.options = fetch_options,
	.run = run_fetch,
};
