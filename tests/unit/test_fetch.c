/* Unit tests for fetch.c, fetch_spec.c and debian_origin.c's reading of
 * apt sources: origins through file: URLs, a refused loopback port and a
 * scripted FTP server (the HTTP and most FTP behaviours are in
 * tests/scenario/fetch*.sh, against tests/lib/httpd.py and ftpd.py). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "sources/sources.h"
#include "unit.h"

#define ABC256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC512 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

struct fixture {
	char *tmp, *srv, *dist;
	qi_handle *h;
};

static const char *sha256_hex(const char *text)
{
	static char hex[QI_SHA256_HEX + 1];
	qi_handle *h = qi_new();
	struct qi_digest d;
	qi_digest_init(h, &d, true, false);
	qi_digest_update(h, &d, text, strlen(text));
	qi_digest_final(h, &d, hex, NULL);
	qi_digest_free(&d);
	qi_free(h);
	return hex;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->tmp = ut_tmpdir("fetch");
	f->srv = qi_xasprintf("%s/srv", f->tmp);
	f->dist = qi_xasprintf("%s/dist", f->tmp);
	mkdir(f->srv, 0755);
	char *p = qi_xasprintf("%s/abc.tar.gz", f->srv);
	ut_write(NULL, p, "abc", 0);
	free(p);
	f->h = qi_new();
	qi_set_verbosity(f->h, -1);
	char *cache = qi_xasprintf("%s/cache", f->tmp);
	qi_set_cache_dir(f->h, cache);
	free(cache);
	setenv("QINSTALL_FETCH_RETRY_DELAY", "0.01", 1);
	*state = f;
	return 0;
}

static pid_t ftp_server;	/* a scripted FTP server still running (below) */

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (ftp_server > 0) {
		kill(ftp_server, SIGKILL);
		waitpid(ftp_server, NULL, 0);
		ftp_server = 0;
	}
	qi_part_writer_hook = NULL;	/* a writer test that failed half-way may have left it */
	ut_tmpdir_remove(f->tmp);
	qi_free(f->h);
	free(f->srv), free(f->dist), free(f);
	return 0;
}

/* The spec parser accepts the documented forms, pins in any order. */
static void test_spec_good(void **state)
{
	qi_handle *h = qi_new();
	struct qi_fetch_spec s;
	assert_int_equal(qi_fetch_spec_parse(h, "https://cr.yp.to/ucspi-tcp/ucspi-tcp-0.88.tar.gz#sha256="
					     ABC256 "&size=53019", &s), 0);
	assert_string_equal(s.url, "https://cr.yp.to/ucspi-tcp/ucspi-tcp-0.88.tar.gz");
	assert_string_equal(s.file, "ucspi-tcp-0.88.tar.gz");
	assert_string_equal(s.source.sha256, ABC256);
	assert_null(s.source.sha512);
	assert_int_equal(s.source.size, 53019);
	assert_string_equal(s.source.urls[0], s.url);
	assert_null(s.source.urls[1]);
	qi_fetch_spec_free(&s);
	/* Both hashes, upper case folded, size first; a query string is not
	 * part of the file name; a bare path is a file: URL. */
	assert_int_equal(qi_fetch_spec_parse(h, "http://h/x/a.tgz?dl=1#size=3&sha512="
					     ABC512 "&sha256=BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &s), 0);
	assert_string_equal(s.file, "a.tgz");
	assert_string_equal(s.sha256, ABC256);
	assert_string_equal(s.source.sha512, ABC512);
	qi_fetch_spec_free(&s);
	/* debian=PACKAGE/VERSION names the second origin (epochs have a colon). */
	assert_int_equal(qi_fetch_spec_parse(h, "http://h/u.tgz#sha256=" ABC256 "&debian=ucspi-tcp/1:0.88-7", &s), 0);
	assert_string_equal(s.source.debian_source, "ucspi-tcp");
	assert_string_equal(s.source.debian_version, "1:0.88-7");
	qi_fetch_spec_free(&s);
	assert_int_equal(qi_fetch_spec_parse(h, "/srv/a.tgz#sha512=" ABC512, &s), 0);
	assert_null(s.source.debian_source);
	assert_string_equal(s.url, "file:///srv/a.tgz");
	assert_int_equal(s.size, -1);
	assert_null(s.source.sha256);
	qi_fetch_spec_free(&s);
	qi_free(h);
}

/* Malformed specs are usage errors that say what is wrong. */
static void test_spec_bad(void **state)
{
	static const struct { const char *spec, *says; } bad[] = {
		{ "http://h/a.tgz", "no #sha256= or #sha512= pin" },
		{ "http://h/a.tgz#size=3", "no sha256 or sha512 pin" },
		{ "http://h/a.tgz#sha256=abc", "64 hex digits" },
		{ "http://h/a.tgz#sha256=" ABC256 "&sha256=" ABC256, "given twice" },
		{ "http://h/a.tgz#sha256=" ABC256 "&size=-1", "number of bytes" },
		{ "http://h/a.tgz#sha256=" ABC256 "&size=99999999999999999999", "number of bytes" },
		{ "http://h/a.tgz#sha256=" ABC256 "&md5=x", "unknown pin 'md5'" },
		{ "http://h/a.tgz#sha256", "KEY=VALUE" },
		{ "gopher://h/a.tgz#sha256=" ABC256, "must start with http://" },
		{ "http://h/#sha256=" ABC256, "does not end with a file name" },
		{ "http://h/..#sha256=" ABC256, "plain" },
		{ "http://h/a b.tgz#sha256=" ABC256, "space" },
		{ "#sha256=" ABC256, "no URL" },
		{ "http://h/a.tgz#sha512=" ABC256, "128 hex digits" },
		{ "http://h/a.tgz#sha256=" ABC256 "&debian=ucspi-tcp", "SOURCE-PACKAGE/VERSION" },
		{ "http://h/a.tgz#sha256=" ABC256 "&debian=/1", "SOURCE-PACKAGE/VERSION" },
	};
	qi_handle *h = qi_new();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qi_fetch_spec s;
		assert_int_equal(qi_fetch_spec_parse(h, bad[i].spec, &s), -1);
		assert_int_equal(qi_errkind(h), QI_ERR_USAGE);
		if (!strstr(qi_errmsg(h), bad[i].says))
			fail_msg("%s: error \"%s\" does not say \"%s\"", bad[i].spec, qi_errmsg(h), bad[i].says);
	}
	qi_free(h);
}

static struct qi_fetch_options opts(struct fixture *f)
{
	return (struct qi_fetch_options){ .distdir = f->dist };
}

/* A file: URL is fetched, verified and reported; the second time the
 * verified cache answers and nothing is downloaded. */
static void test_fetch_then_cache(void **state)
{
	struct fixture *f = *state;
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .sha512 = ABC512, .size = 3 };
	struct qi_fetch_options o = opts(f);
	struct qi_fetch_report r;
	char *path = NULL;
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	char *want = qi_xasprintf("%s/abc.tar.gz", f->dist);
	assert_string_equal(path, want);
	assert_string_equal(ut_slurp(NULL, path), "abc");
	assert_string_equal(r.origin, "url");
	assert_string_equal(r.url, url);
	assert_string_equal(r.sha256, ABC256);
	assert_string_equal(r.sha512, ABC512);
	assert_int_equal(r.size, 3);
	assert_int_equal(r.downloaded, 3);
	qi_fetch_report_free(&r);
	free(path);
	char *part = qi_xasprintf("%s.part", want);
	assert_int_equal(access(part, F_OK), -1);	/* renamed into place */
	/* Second time: the cache, nothing downloaded, even with a dead URL. */
	urls[0] = "file:///nonexistent/abc.tar.gz";
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_string_equal(r.origin, "cache");
	assert_null(r.url);
	assert_int_equal(r.downloaded, 0);
	qi_fetch_report_free(&r);
	free(path);
	free(part), free(want), free(url);
}

/* Without a distdir, files go to CACHE_DIR/distfiles. */
static void test_default_distdir(void **state)
{
	struct fixture *f = *state;
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = -1 };
	char *path = NULL;
	assert_int_equal(qi_fetch(f->h, &src, NULL, &path), 0);
	char *want = qi_xasprintf("%s/cache/distfiles/abc.tar.gz", f->tmp);
	assert_string_equal(path, want);
	free(want), free(path), free(url);
}

/* A cached file that no longer matches is moved aside as
 * FILE.bad-<sha256 prefix>, and the next origin is used. */
static void test_bad_cache_moved_aside(void **state)
{
	struct fixture *f = *state;
	mkdir(f->dist, 0755);
	char *cached = qi_xasprintf("%s/abc.tar.gz", f->dist);
	ut_write(NULL, cached, "abd", 0);
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	char *path = NULL;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), 0);
	assert_string_equal(ut_slurp(NULL, cached), "abc");
	/* sha256("abd") starts a52d159f262b */
	char *bad = qi_xasprintf("%s/abc.tar.gz.bad-a52d159f262b", f->dist);
	assert_string_equal(ut_slurp(NULL, bad), "abd");
	assert_int_equal(json_array_size(qi_warnings(f->h)) >= 1, 1);
	free(bad), free(path), free(url), free(cached);
}

/* Wrong bytes from every origin: an error listing each origin (once) with
 * both hashes, the bytes moved aside, no file in place. */
static void test_all_origins_wrong(void **state)
{
	struct fixture *f = *state;
	char *wrong = qi_xasprintf("%s/wrong.tar.gz", f->srv);
	ut_write(NULL, wrong, "xyz", 0);
	char *url = qi_xasprintf("file://%s", wrong);
	const char *urls[] = { url, "file:///nonexistent/wrong.tar.gz", NULL };
	struct qi_source src = { .file = "wrong.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	char *path = (char *)1;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_null(path);
	const char *msg = qi_errmsg(f->h);
	assert_non_null(strstr(msg, "cannot fetch wrong.tar.gz"));
	assert_non_null(strstr(msg, "expected " ABC256));
	assert_non_null(strstr(msg, "got 3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282"));
	assert_non_null(strstr(msg, "/nonexistent/wrong.tar.gz"));
	char *final = qi_xasprintf("%s/wrong.tar.gz", f->dist);
	assert_int_equal(access(final, F_OK), -1);
	char *bad = qi_xasprintf("%s/wrong.tar.gz.bad-3608bca1e44e", f->dist);
	assert_int_equal(access(bad, F_OK), 0);
	char *part = qi_xasprintf("%s.part", final);
	assert_int_equal(access(part, F_OK), -1);	/* no empty .part left */
	/* Each origin once, on its own line: the cache named before its
	 * file's message, a URL's message beginning with the URL (never twice). */
	ut_write(NULL, final, "abd", 0);
	assert_int_equal(qi_fetch(f->h, &src, &o, NULL), -1);
	msg = qi_errmsg(f->h);
	char *line = qi_xasprintf("cannot fetch wrong.tar.gz: no origin gave the pinned bytes:\n"
				  "  cache: %s: SHA-256 mismatch: expected " ABC256 ", got a52d", final);
	assert_non_null(strstr(msg, line));
	free(line);
	line = qi_xasprintf("\n  %s: SHA-256 mismatch: expected " ABC256 ", got 3608", url);
	assert_non_null(strstr(msg, line));
	free(line);
	line = qi_xasprintf("%s: %s", url, url);
	assert_null(strstr(msg, line));
	free(line);
	const char *last = strstr(msg, "\n  file:///nonexistent/wrong.tar.gz: ");
	assert_non_null(last);
	assert_null(strstr(last, "wrong.tar.gz: file:"));
	assert_non_null(strstr(last, "\n  (fix the URL, name a --mirror, or put the file into "));
	free(part), free(bad), free(final), free(url), free(wrong);
}

/* The mirror comes first (after the cache); --offline skips network URLs
 * but keeps file: ones. */
static void test_mirror_and_offline(void **state)
{
	struct fixture *f = *state;
	char *mirror = qi_xasprintf("file://%s/", f->srv);
	const char *urls[] = { "http://127.0.0.1:1/abc.tar.gz", NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = { .distdir = f->dist, .mirror = mirror, .offline = true };
	struct qi_fetch_report r;
	char *path = NULL;
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_string_equal(r.origin, "mirror");
	char *want = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	assert_string_equal(r.url, want);
	qi_fetch_report_free(&r);
	free(path);
	char *cached = qi_xasprintf("%s/abc.tar.gz", f->dist);
	unlink(cached);
	/* Offline without the mirror: the http URL is skipped, and said so. */
	o.mirror = NULL;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "skipped (--offline)"));
	free(cached), free(want), free(mirror);
}

/* A .part left by an earlier run is hashed and resumed: only the missing
 * bytes are read. A .part longer than the pinned size starts from zero. */
static void test_resume_part(void **state)
{
	struct fixture *f = *state;
	mkdir(f->dist, 0755);
	char *part = qi_xasprintf("%s/abc.tar.gz.part", f->dist);
	ut_write(NULL, part, "ab", 0);
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	struct qi_fetch_report r;
	char *path = NULL;
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_int_equal(r.downloaded, 1);
	assert_string_equal(ut_slurp(NULL, path), "abc");
	qi_fetch_report_free(&r);
	unlink(path);
	free(path);
	ut_write(NULL, part, "abcdef", 0);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_int_equal(r.downloaded, 3);
	qi_fetch_report_free(&r);
	unlink(path);
	free(path);
	/* A .part whose earlier bytes are wrong: the resumed file does not
	 * match, is moved aside, and the same URL is fetched again from zero. */
	ut_write(NULL, part, "x", 0);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_int_equal(r.downloaded, 2 + 3);
	assert_string_equal(ut_slurp(NULL, path), "abc");
	/* The resumed bytes "xbc", moved aside under their own hash. */
	char *bad = qi_xasprintf("%s/abc.tar.gz.bad-%.12s", f->dist, sha256_hex("xbc"));
	assert_string_equal(ut_slurp(NULL, bad), "xbc");
	qi_fetch_report_free(&r);
	free(bad), free(path), free(url), free(part);
}

/* A .part that already holds the pinned size is hashed at the end (no
 * transfer, so no writer thread did it): the right bytes are used without
 * downloading anything, wrong ones are moved aside and fetched again. */
static void test_complete_part(void **state)
{
	struct fixture *f = *state;
	mkdir(f->dist, 0755);
	char *part = qi_xasprintf("%s/abc.tar.gz.part", f->dist);
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .sha512 = ABC512, .size = 3 };
	struct qi_fetch_options o = opts(f);
	struct qi_fetch_report r;
	char *path = NULL;
	ut_write(NULL, part, "abc", 0);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_int_equal(r.downloaded, 0);
	assert_string_equal(r.sha512, ABC512);
	assert_string_equal(ut_slurp(NULL, path), "abc");
	assert_int_equal(access(part, F_OK), -1);
	qi_fetch_report_free(&r);
	unlink(path);
	free(path);
	ut_write(NULL, part, "xyz", 0);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_int_equal(r.downloaded, 3);
	assert_string_equal(ut_slurp(NULL, path), "abc");
	char *bad = qi_xasprintf("%s/abc.tar.gz.bad-%.12s", f->dist, sha256_hex("xyz"));
	assert_string_equal(ut_slurp(NULL, bad), "xyz");
	qi_fetch_report_free(&r);
	free(bad), free(path), free(url), free(part);
}

/* Without a pinned size, a download is still capped (by default 2 GiB). */
static void test_unpinned_cap(void **state)
{
	struct fixture *f = *state;
	char *url = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = -1 };
	struct qi_fetch_options o = { .distdir = f->dist, .max_unpinned = 2 };
	char *path = NULL;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "more than 2 bytes, the most qinstall takes when no size is pinned"));
	o.max_unpinned = 3;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), 0);
	free(path), free(url);
}

/* A refused connection is a hard failure: no retries, next origin at once. */
static void test_refused_connection(void **state)
{
	struct fixture *f = *state;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);	/* nobody listens there now */
	char *dead = qi_xasprintf("http://127.0.0.1:%d/abc.tar.gz", ntohs(a.sin_port));
	char *good = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { dead, good, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	struct qi_fetch_report r;
	char *path = NULL;
	setenv("QINSTALL_FETCH_RETRY_DELAY", "5", 1);	/* a retry would show in the time */
	time_t t0 = time(NULL);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_true(time(NULL) - t0 < 4);
	assert_string_equal(r.url, good);
	qi_fetch_report_free(&r);
	free(path), free(good), free(dead);
}

/* ---- a scripted FTP server (tests/lib/ftpd.py has the full one) ---- */

struct ftp_script {
	int retr_code;		/* 150: send "abc" from the REST offset; else that reply */
	int rest_code;		/* 350: REST accepted; else that reply */
	char *count;		/* one byte appended per RETR */
	pid_t pid;
	int port;
};

static int listen_loopback(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
		return -1;
	getsockname(s, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return s;
}

static void ftp_say(int c, const char *line)
{
	if (write(c, line, strlen(line)) < 0)
		_exit(1);
}

/* One control connection, until QUIT or EOF. */
static void ftp_session(int c, const struct ftp_script *sc)
{
	FILE *in = fdopen(c, "r");
	char line[512], reply[128];
	int data = -1;
	long rest = 0;
	ftp_say(c, "220 scripted\r\n");
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "USER", 4))
			ftp_say(c, "331 any password\r\n");
		else if (!strncmp(line, "PASS", 4))
			ftp_say(c, "230 in\r\n");
		else if (!strncmp(line, "PWD", 3))
			ftp_say(c, "257 \"/\"\r\n");
		else if (!strncmp(line, "CWD", 3) || !strncmp(line, "TYPE", 4))
			ftp_say(c, "250 ok\r\n");
		else if (!strncmp(line, "SIZE", 4))
			ftp_say(c, "213 3\r\n");
		else if (!strncmp(line, "EPSV", 4)) {
			int port;
			if (data >= 0)
				close(data);
			data = listen_loopback(&port);
			snprintf(reply, sizeof(reply), "229 passive (|||%d|)\r\n", port);
			ftp_say(c, reply);
		} else if (!strncmp(line, "REST", 4)) {
			if (sc->rest_code == 350)
				rest = atol(line + 5);
			snprintf(reply, sizeof(reply), "%d rest\r\n", sc->rest_code);
			ftp_say(c, reply);
		} else if (!strncmp(line, "RETR", 4)) {
			int fd = open(sc->count, O_WRONLY | O_APPEND | O_CREAT, 0644);
			if (fd < 0 || write(fd, "r", 1) != 1)
				_exit(1);
			close(fd);
			if (sc->retr_code == 150 && data >= 0) {
				ftp_say(c, "150 here it comes\r\n");
				int d = accept(data, NULL, NULL);
				if (d >= 0 && rest < 3 && write(d, "abc" + rest, (size_t)(3 - rest)) < 0)
					_exit(1);
				close(d);
				ftp_say(c, "226 done\r\n");
			} else {
				snprintf(reply, sizeof(reply), "%d scripted refusal\r\n", sc->retr_code);
				ftp_say(c, reply);
			}
			rest = 0;
		} else if (!strncmp(line, "QUIT", 4)) {
			ftp_say(c, "221 bye\r\n");
			break;
		} else
			ftp_say(c, "502 not here\r\n");
	}
	fclose(in);
}

static void ftp_start(struct fixture *f, struct ftp_script *sc)
{
	sc->count = qi_xasprintf("%s/retr-count", f->tmp);
	int s = listen_loopback(&sc->port);
	assert_true(s >= 0);
	pid_t parent = getpid();
	sc->pid = fork();
	assert_true(sc->pid >= 0);
	if (sc->pid == 0) {
		/* Dies with the test, even one that failed an assertion, and
		 * holds none of its output open (the harness waits for EOF). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		signal(SIGCHLD, SIG_IGN);	/* no zombies from the sessions */
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				continue;
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				ftp_session(c, sc);
				_exit(0);
			}
			close(c);
		}
	}
	close(s);
	ftp_server = sc->pid;
}

static int ftp_retrs(struct ftp_script *sc)
{
	struct stat st;
	return stat(sc->count, &st) == 0 ? (int)st.st_size : 0;
}

static void ftp_stop(struct ftp_script *sc)
{
	kill(sc->pid, SIGTERM);
	waitpid(sc->pid, NULL, 0);
	ftp_server = 0;
	free(sc->count);
}

/* FTP: a 4yz reply to RETR (450 file busy) is transient and retried, as
 * RFC 959 says; all five attempts are made before giving up. */
static void test_ftp_4yz_retried(void **state)
{
	struct fixture *f = *state;
	struct ftp_script sc = { .retr_code = 450, .rest_code = 350 };
	ftp_start(f, &sc);
	char *url = qi_xasprintf("ftp://127.0.0.1:%d/abc.tar.gz", sc.port);
	const char *urls[] = { url, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	char *path = NULL;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_int_equal(ftp_retrs(&sc), 5);
	assert_non_null(strstr(qi_errmsg(f->h), "(FTP reply 450: file unavailable for now)"));
	assert_non_null(strstr(qi_errmsg(f->h), "gave up after 5 attempts"));
	ftp_stop(&sc);
	free(url);
}

/* FTP: a 5yz reply to RETR (550 no such file) is permanent: asked once,
 * and the next origin is used at once. */
static void test_ftp_5yz_hard(void **state)
{
	struct fixture *f = *state;
	struct ftp_script sc = { .retr_code = 550, .rest_code = 350 };
	ftp_start(f, &sc);
	char *url = qi_xasprintf("ftp://127.0.0.1:%d/abc.tar.gz", sc.port);
	char *good = qi_xasprintf("file://%s/abc.tar.gz", f->srv);
	const char *urls[] = { url, good, NULL };
	struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
	struct qi_fetch_options o = opts(f);
	struct qi_fetch_report r;
	char *path = NULL;
	setenv("QINSTALL_FETCH_RETRY_DELAY", "5", 1);	/* a retry would show in the time */
	time_t t0 = time(NULL);
	assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
	assert_true(time(NULL) - t0 < 4);
	assert_int_equal(ftp_retrs(&sc), 1);
	assert_string_equal(r.url, good);
	qi_fetch_report_free(&r);
	ftp_stop(&sc);
	free(path), free(good), free(url);
}

/* FTP resume: a .part is continued with REST, only the missing bytes
 * cross the wire; a server that refuses REST gets the file from byte 0
 * (as an HTTP server that ignores Range does) instead of being given up. */
static void test_ftp_rest(void **state)
{
	struct fixture *f = *state;
	static const int rest_codes[] = { 350, 502 };
	mkdir(f->dist, 0755);
	char *part = qi_xasprintf("%s/abc.tar.gz.part", f->dist);
	for (size_t i = 0; i < 2; i++) {
		struct ftp_script sc = { .retr_code = 150, .rest_code = rest_codes[i] };
		ftp_start(f, &sc);
		char *url = qi_xasprintf("ftp://127.0.0.1:%d/abc.tar.gz", sc.port);
		const char *urls[] = { url, NULL };
		struct qi_source src = { .file = "abc.tar.gz", .urls = urls, .sha256 = ABC256, .size = 3 };
		struct qi_fetch_options o = opts(f);
		struct qi_fetch_report r;
		char *path = NULL;
		ut_write(NULL, part, "ab", 0);
		assert_int_equal(qi_fetch_report(f->h, &src, &o, &path, &r), 0);
		assert_string_equal(ut_slurp(NULL, path), "abc");
		assert_int_equal(r.downloaded, rest_codes[i] == 350 ? 1 : 3);
		assert_int_equal(ftp_retrs(&sc), 1);
		qi_fetch_report_free(&r);
		unlink(path);
		unlink(sc.count);
		ftp_stop(&sc);
		free(path), free(url);
	}
	free(part);
}

/* Sources without a plain file name or without a hash are refused. */
static void test_bad_sources(void **state)
{
	struct fixture *f = *state;
	struct qi_fetch_options o = opts(f);
	char *path;
	struct qi_source src = { .file = "../evil", .sha256 = ABC256, .size = -1 };
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_int_equal(qi_errkind(f->h), QI_ERR_USAGE);
	src.file = "a b?.tgz";	/* would not survive being put in a mirror URL */
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "must be a plain name"));
	src.file = "ok.tgz";
	src.sha256 = NULL;
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "never uses unverified bytes"));
	src.sha256 = "abc";
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "not 64 hex digits"));
	/* A Debian origin with an option-like package name never reaches apt. */
	src.sha256 = ABC256;
	src.debian_source = "-oFoo=bar";
	src.debian_version = "1";
	assert_int_equal(qi_fetch(f->h, &src, &o, &path), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "bad Debian source"));
}

/* Without apt-get, the Debian origin fails with a message saying so. */
static void test_debian_without_apt(void **state)
{
	struct fixture *f = *state;
	char *oldpath = qi_xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *work = qi_xasprintf("%s/work", f->tmp);
	mkdir(work, 0755);
	setenv("PATH", f->srv, 1);	/* a directory without apt-get */
	struct qi_source src = { .file = "u.tar.gz", .sha256 = ABC256, .size = -1,
				 .debian_source = "ucspi-tcp", .debian_version = "1:0.88-7" };
	char *orig = NULL;
	int rc = qi_debian_fetch_orig(f->h, &src, work, &orig);
	setenv("PATH", oldpath, 1);
	if (access("/etc/apt/sources.list", F_OK) < 0 && access("/etc/apt/sources.list.d", F_OK) < 0)
		skip();	/* no apt sources on this machine: a different error first */
	assert_int_equal(rc, -1);
	assert_null(orig);
	assert_non_null(strstr(qi_errmsg(f->h), "cannot run apt-get"));
	free(work), free(oldpath);
}

/* The machine's apt sources become deb-src lines: deb822 and one-line
 * formats, signed-by kept, disabled and deb-src-only entries skipped. */
static void test_debian_src_lines(void **state)
{
	struct fixture *f = *state;
	char *parts = qi_xasprintf("%s/parts", f->tmp), *list = qi_xasprintf("%s/sources.list", f->tmp);
	mkdir(parts, 0755);
	char *p = qi_xasprintf("%s/a.sources", parts);
	ut_write(NULL, p, "Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm bookworm-updates\n"
	                  "Components: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n"
	                  "Types: deb-src\nURIs: http://only-src.example/debian\nSuites: x\nComponents: main\n\n"
	                  "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: y\nComponents: main\n", 0);
	free(p);
	ut_write(NULL, list, "# comment\ndeb [arch=amd64 signed-by=/k2.gpg] http://one.example/debian bookworm main contrib\n"
			     "deb-src http://ignored.example/debian bookworm main\n", 0);
	struct qi_buf out = { 0 };
	assert_int_equal(qi_debian_src_lines(f->h, list, parts, &out), 0);
	assert_string_equal(out.data,
		"deb-src [signed-by=/k2.gpg] http://one.example/debian bookworm main contrib\n"
		"deb-src [signed-by=/usr/share/keyrings/k.gpg] http://archive.example/debian bookworm main\n"
		"deb-src [signed-by=/usr/share/keyrings/k.gpg] http://archive.example/debian bookworm-updates main\n");
	qi_buf_free(&out);
	/* Nothing configured: an error saying so. */
	ut_write(NULL, list, "", 0);
	p = qi_xasprintf("%s/a.sources", parts);
	unlink(p);
	free(p);
	assert_int_equal(qi_debian_src_lines(f->h, list, parts, &out), -1);
	assert_non_null(strstr(qi_errmsg(f->h), "no Debian archive"));
	qi_buf_free(&out);
	free(parts), free(list);
}

/* ---- part_writer.c: the thread that writes and hashes a download ---- */

/* LEN bytes of a fixed pseudo-random sequence, starting at its byte SEED. */
static char *pattern(size_t len, unsigned seed)
{
	char *b = qi_xmalloc(len);
	uint32_t x = 2463534242u + seed;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b[i] = (char)(x >> 24);
	}
	return b;
}

/* Both digests of LEN bytes at DATA, in one call. */
static void one_shot(const char *data, size_t len, char hex256[QI_SHA256_HEX + 1],
		     char hex512[QI_SHA512_HEX + 1])
{
	qi_handle *h = qi_new();
	struct qi_digest d;
	assert_int_equal(qi_digest_init(h, &d, true, true), 0);
	assert_int_equal(qi_digest_update(h, &d, data, len), 0);
	assert_int_equal(qi_digest_final(h, &d, hex256, hex512), 0);
	qi_digest_free(&d);
	qi_free(h);
}

/* Feed LEN bytes in chunks of odd, changing sizes (1 byte to past a slot). */
static void feed_odd(struct qi_part_writer *w, const char *data, size_t len)
{
	static const size_t sizes[] = { 1, 7, 4093, 16384, 65537, 3, (1 << 20) + 3, 250001, 2 };
	for (size_t off = 0, i = 0; off < len; i++) {
		size_t n = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > len - off)
			n = len - off;
		assert_int_equal(qi_part_writer_feed(w, data + off, n), 0);
		off += n;
	}
}

/* The file at FD holds exactly LEN bytes, those at DATA. */
static void assert_holds(int fd, const char *data, size_t len)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)len);
	char *back = qi_xmalloc(len + 1);
	assert_int_equal(pread(fd, back, len + 1, 0), (ssize_t)len);
	assert_memory_equal(back, data, len);
	free(back);
}

/* The digests of DATA; D's bytes count. */
static void assert_digest_of(qi_handle *h, struct qi_digest *d, const char *data, size_t len)
{
	char want256[QI_SHA256_HEX + 1], want512[QI_SHA512_HEX + 1];
	char got256[QI_SHA256_HEX + 1], got512[QI_SHA512_HEX + 1];
	one_shot(data, len, want256, want512);
	assert_int_equal(qi_digest_final(h, d, got256, got512), 0);
	assert_string_equal(got256, want256);
	assert_string_equal(got512, want512);
	assert_int_equal(d->bytes, (int64_t)len);
}

static int open_part(struct fixture *f, char **path)
{
	*path = qi_xasprintf("%s/x.part", f->tmp);
	int fd = open(*path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	return fd;
}

/* Cut the file at FD to AT bytes, to go on from there. */
static void cut_at(int fd, off_t at)
{
	assert_int_equal(ftruncate(fd, at), 0);
	assert_int_equal(lseek(fd, at, SEEK_SET), at);
}

/* A writer on FD, which holds the first HAVE bytes at DATA, is fed the
 * rest up to LEN in odd pieces; then FD holds LEN bytes, those at DATA,
 * and D has their digests. */
static void write_through(qi_handle *h, int fd, struct qi_digest *d, const char *path,
			  const char *data, size_t have, size_t len)
{
	struct qi_part_writer *w = qi_part_writer_start(h, fd, d, (int64_t)have);
	assert_non_null(w);
	feed_odd(w, data + have, len - have);
	assert_int_equal(qi_part_writer_finish(h, w, path), 0);
	assert_holds(fd, data, len);
	assert_digest_of(h, d, data, len);
}

/* Bytes fed in many odd-sized pieces (more than the ring holds) reach the
 * file whole and in order, and their digests are those of one call. */
static void test_writer_odd_chunks(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd = open_part(f, &path);
	size_t len = (9u << 20) + 12345;
	char *data = pattern(len, 1);
	struct qi_digest d;
	assert_int_equal(qi_digest_init(f->h, &d, true, true), 0);
	write_through(f->h, fd, &d, path, data, 0, len);
	/* Nothing fed: an empty file, the digests of nothing. */
	assert_int_equal(qi_digest_reset(f->h, &d), 0);
	cut_at(fd, 0);
	write_through(f->h, fd, &d, path, "", 0, 0);
	qi_digest_free(&d);
	close(fd);
	free(data), free(path);
}

/* A resumed download: the writer first hashes what the file holds (from
 * where the digest stands), then goes on after it; the digests are those
 * of the whole. */
static void test_writer_resume(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd = open_part(f, &path);
	size_t have = (3u << 20) + 777, len = have + (2u << 20) + 5;
	char *data = pattern(len, 2);
	assert_int_equal(qi_write_all(fd, data, have), 0);
	for (size_t hashed = 0; hashed <= 1000; hashed += 1000) {
		struct qi_digest d;
		assert_int_equal(qi_digest_init(f->h, &d, true, true), 0);
		assert_int_equal(qi_digest_update(f->h, &d, data, hashed), 0);
		cut_at(fd, (off_t)have);
		write_through(f->h, fd, &d, path, data, have, len);
		qi_digest_free(&d);
	}
	close(fd);
	free(data), free(path);
}

/* Starting again from byte 0 (a server that does not resume): after a
 * reset, the digests and the file are those of the new bytes only. */
static void test_writer_restart(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd = open_part(f, &path);
	size_t len = (2u << 20) + 99;
	char *first = pattern(len, 3), *second = pattern(len / 2, 4);
	struct qi_digest d;
	assert_int_equal(qi_digest_init(f->h, &d, true, true), 0);
	write_through(f->h, fd, &d, path, first, 0, len);
	cut_at(fd, 0);
	assert_int_equal(qi_digest_reset(f->h, &d), 0);
	write_through(f->h, fd, &d, path, second, 0, len / 2);
	qi_digest_free(&d);
	close(fd);
	free(first), free(second), free(path);
}

/* Feed LEN bytes at DATA in 64 KiB pieces until a feed fails: its result. */
static int feed_until_failure(struct qi_part_writer *w, const char *data, size_t len)
{
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += 65536)
		rc = qi_part_writer_feed(w, data + off, 65536);
	return rc;
}

/* A write that fails (a full disk) stops the writer: feeding fails soon,
 * never waits for ever on a full ring, and the failure is the message. */
static void test_writer_write_fails(void **state)
{
	struct fixture *f = *state;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		skip();
	size_t len = 16u << 20;
	char *data = pattern(len, 5);
	struct qi_digest d;
	assert_int_equal(qi_digest_init(f->h, &d, true, false), 0);
	struct qi_part_writer *w = qi_part_writer_start(f->h, fd, &d, 0);
	assert_non_null(w);
	assert_int_equal(feed_until_failure(w, data, len), -1);
	/* Once failed, it stays failed. */
	assert_int_equal(qi_part_writer_feed(w, data, 1), -1);
	assert_int_equal(qi_part_writer_finish(f->h, w, "/dev/full"), -1);
	assert_string_equal(qi_errmsg(f->h), "cannot write /dev/full: No space left on device "
			    "(the file system is full: free some space on it, then run the command again)");
	assert_int_equal(d.bytes, 0);
	qi_digest_free(&d);
	close(fd);
	free(data);
}

/* A failure before the first byte is fed (the bytes of a resumed download
 * cannot be read back) is reported too, at the first hand-over or at the
 * end; nothing is written after it. */
static void test_writer_read_fails(void **state)
{
	struct fixture *f = *state;
	char *path = qi_xasprintf("%s/x.part", f->tmp);
	ut_write(NULL, path, "abcdef", 0);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);	/* pread fails: EBADF */
	assert_true(fd >= 0);
	struct qi_digest d;
	assert_int_equal(qi_digest_init(f->h, &d, true, false), 0);
	struct qi_part_writer *w = qi_part_writer_start(f->h, fd, &d, 6);
	assert_non_null(w);
	char *data = pattern(8u << 20, 6);
	assert_int_equal(feed_until_failure(w, data, 8u << 20), -1);
	assert_int_equal(qi_part_writer_finish(f->h, w, path), -1);
	char *want = qi_xasprintf("cannot read %s: Bad file descriptor", path);
	assert_string_equal(qi_errmsg(f->h), want);
	close(fd);
	assert_string_equal(ut_slurp(NULL, path), "abcdef");
	qi_digest_free(&d);
	free(want), free(data), free(path);
}

/* A slow download reaches the disk although no slot fills: bytes that
 * have waited are handed over (by the next feed, or by a tick when none
 * come), so that a killed run leaves them in the .part. */
static void test_writer_slow_bytes_written(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd = open_part(f, &path);
	struct qi_digest d;
	assert_int_equal(qi_digest_init(f->h, &d, true, true), 0);
	struct qi_part_writer *w = qi_part_writer_start(f->h, fd, &d, 0);
	assert_int_equal(qi_part_writer_feed(w, "abc", 3), 0);
	struct timespec pause = { 0, 30 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	assert_int_equal(qi_part_writer_tick(w), 0);
	struct stat st = { .st_size = 0 };
	for (int i = 0; i < 500 && st.st_size < 3; i++) {	/* the thread writes it soon */
		nanosleep(&pause, NULL);
		assert_int_equal(fstat(fd, &st), 0);
	}
	assert_int_equal(st.st_size, 3);
	nanosleep(&pause, NULL);
	assert_int_equal(qi_part_writer_feed(w, "def", 3), 0);	/* "def" after a wait: at once */
	for (int i = 0; i < 500 && st.st_size < 6; i++) {
		nanosleep(&pause, NULL);
		assert_int_equal(fstat(fd, &st), 0);
	}
	assert_int_equal(st.st_size, 6);
	assert_int_equal(qi_part_writer_finish(f->h, w, path), 0);
	assert_digest_of(f->h, &d, "abcdef", 6);
	qi_digest_free(&d);
	close(fd);
	free(path);
}

/* ---- the writer and the hasher, each slowed or failed through the hook ---- */

#define MIB ((size_t)1 << 20)

/* What the test hook does; the counts are read once qi_part_writer_finish
 * has joined the threads (the writes, atomic, by the hasher too). */
static struct hook_state {
	int fd;			/* the file being written */
	struct qi_digest *d;	/* its digest (the hasher's while it runs) */
	long write_us, hash_us;	/* sleep before each write, each hash */
	bool wait_ahead;	/* the first hash waits for 3 writes */
	enum qi_part_writer_step fail_step;
	unsigned fail_at;	/* that step's FAIL_AT-th call (from 1) fails ... */
	int fail_errno;		/* ... with this errno */
	unsigned writes, hashes;
	bool ahead;		/* the writer was seen 2 slots ahead of the hasher */
	bool unwritten;		/* a slot was hashed before it was in the file */
} hk;

static off_t file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static int test_hook(enum qi_part_writer_step step)
{
	unsigned n = step == QI_PART_WRITER_WRITE ? __atomic_add_fetch(&hk.writes, 1, __ATOMIC_SEQ_CST)
		     : ++hk.hashes;
	if (step == QI_PART_WRITER_HASH) {
		/* The slot about to be hashed is in the file already. */
		if (file_size(hk.fd) <= hk.d->bytes)
			hk.unwritten = true;
		for (int i = 0; n == 1 && hk.wait_ahead && i < 5000 && !hk.ahead; i++) {
			hk.ahead = __atomic_load_n(&hk.writes, __ATOMIC_SEQ_CST) >= 3;
			sleep_us(1000);
		}
	}
	sleep_us(step == QI_PART_WRITER_WRITE ? hk.write_us : hk.hash_us);
	return step == hk.fail_step && n == hk.fail_at ? hk.fail_errno : 0;
}

/* Start a writer on a new x.part with the hook set up from HOOK. */
static struct qi_part_writer *hooked_writer(struct fixture *f, char **path, struct qi_digest *d,
					    int *fd)
{
	*fd = open_part(f, path);
	assert_int_equal(qi_digest_init(f->h, d, true, true), 0);
	hk.fd = *fd;
	hk.d = d;
	qi_part_writer_hook = test_hook;
	struct qi_part_writer *w = qi_part_writer_start(f->h, *fd, d, 0);
	assert_non_null(w);
	return w;
}

static void unhook(int fd, struct qi_digest *d, char *path)
{
	qi_part_writer_hook = NULL;
	memset(&hk, 0, sizeof(hk));
	qi_digest_free(d);
	close(fd);
	free(path);
}

/* LEN bytes fed in odd pieces through a hooked writer (HK set up by the
 * caller) reach the file and the digests exactly, no slot hashed before it
 * was written; what the hook saw. */
static struct hook_state hooked_write_through(struct fixture *f, size_t len, unsigned seed)
{
	char *path;
	int fd;
	struct qi_digest d;
	char *data = pattern(len, seed);
	struct qi_part_writer *w = hooked_writer(f, &path, &d, &fd);
	feed_odd(w, data, len);
	assert_int_equal(qi_part_writer_finish(f->h, w, path), 0);
	assert_false(hk.unwritten);
	assert_holds(fd, data, len);
	assert_digest_of(f->h, &d, data, len);
	struct hook_state seen = hk;
	unhook(fd, &d, path);
	free(data);
	return seen;
}

/* A slow hasher does not hold the writer up: while it hashes the first
 * slot the next ones reach the file. */
static void test_writer_slow_hasher(void **state)
{
	hk.hash_us = 2000;
	hk.wait_ahead = true;
	assert_true(hooked_write_through(*state, 9 * MIB + 12345, 7).ahead);
}

/* A slow writer: the hasher waits for it, slot by slot. */
static void test_writer_slow_writer(void **state)
{
	hk.write_us = 3000;
	assert_true(hooked_write_through(*state, 9 * MIB + 54321, 8).hashes >= 9);
}

/* Hashing fails on the third slot (the writer fast): feeding fails soon,
 * the writer stops too, and the failure is the message. */
static void test_writer_hash_fails(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd;
	struct qi_digest d;
	size_t len = 64 * MIB;
	char *data = pattern(len, 9);
	hk.fail_step = QI_PART_WRITER_HASH;
	hk.fail_at = 3;
	hk.fail_errno = EIO;
	struct qi_part_writer *w = hooked_writer(f, &path, &d, &fd);
	assert_int_equal(feed_until_failure(w, data, len), -1);
	assert_int_equal(qi_part_writer_feed(w, data, 1), -1);
	assert_int_equal(qi_part_writer_finish(f->h, w, path), -1);
	char *want = qi_xasprintf("cannot hash %s: hashing failed (libcrypto)", path);
	assert_string_equal(qi_errmsg(f->h), want);
	assert_int_equal(hk.hashes, 3);
	/* The writer stopped: the file holds a start of the bytes, far from
	 * all (slots are at most 1 MiB; a slow feed hands over less). */
	off_t size = file_size(fd);
	assert_true(d.bytes > 0 && d.bytes <= (int64_t)(2 * MIB) && size >= d.bytes);
	assert_true(size < (off_t)(32 * MIB));
	assert_holds(fd, data, (size_t)size);
	unhook(fd, &d, path);
	free(want), free(data);
}

/* The disk fills on the third write while the hasher is slow: the hasher
 * stops too, having hashed only what was written; the disk-full wording. */
static void test_writer_disk_full_slow_hasher(void **state)
{
	struct fixture *f = *state;
	char *path;
	int fd;
	struct qi_digest d;
	size_t len = 64 * MIB;
	char *data = pattern(len, 10);
	hk.hash_us = 5000;
	hk.fail_step = QI_PART_WRITER_WRITE;
	hk.fail_at = 3;
	hk.fail_errno = ENOSPC;
	struct qi_part_writer *w = hooked_writer(f, &path, &d, &fd);
	assert_int_equal(feed_until_failure(w, data, len), -1);
	assert_int_equal(qi_part_writer_finish(f->h, w, path), -1);
	char *want = qi_xasprintf("cannot write %s: No space left on device (the file system is full: "
				  "free some space on it, then run the command again)", path);
	assert_string_equal(qi_errmsg(f->h), want);
	assert_int_equal(hk.writes, 3);
	off_t size = file_size(fd);
	assert_true(size > 0 && size <= (off_t)(2 * MIB) && d.bytes <= size);
	assert_holds(fd, data, (size_t)size);
	assert_false(hk.unwritten);
	unhook(fd, &d, path);
	free(want), free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_good),
		cmocka_unit_test(test_spec_bad),
		cmocka_unit_test_setup_teardown(test_fetch_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_distdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cache_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_origins_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_and_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpinned_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_4yz_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_5yz_hard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ftp_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debian_without_apt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debian_src_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_odd_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_read_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_slow_bytes_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_slow_hasher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_slow_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_hash_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_disk_full_slow_hasher, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
