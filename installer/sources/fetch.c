/*
 * fetch.c - get a source into the distfile cache, verified against its pins.
 *
 * Origins, in order: the cache (verified again), --mirror BASE/FILE, the
 * source's URLs, then Debian's source archive (debian_origin.c). Downloads
 * go to FILE.part, hashed as they arrive, and resume from it (HTTP Range,
 * FTP REST); writing and hashing happen in two threads of their own, one
 * slot of bytes hashed while the next is written (part_writer.c), so that
 * receiving never waits for them. Soft failures
 * (time-outs, dropped connections, HTTP 408/429/5xx, FTP 4yz replies) are
 * retried with doubling back-off (honouring Retry-After), hard ones (HTTP
 * 404, FTP 5yz such as 550) move on to the next origin at once. Bytes that
 * do not match the pins are moved aside as FILE.bad-<sha256 prefix> and
 * never used.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <curl/curl.h>

#include "sources/sources.h"

#define FETCH_ATTEMPTS 5		/* per URL: the first try and 4 retries */
#define RETRY_DELAY_DEFAULT 1.0		/* seconds, doubled at each retry */
#define RETRY_MAX_DEFAULT 60.0		/* cap on any wait, Retry-After included */
#define CONNECT_TIMEOUT 30L
#define LOW_SPEED_LIMIT 1024L		/* bytes/s ... */
#define LOW_SPEED_TIME_DEFAULT 30L	/* ... for this many seconds: a soft failure */
#define MAX_UNPINNED_DEFAULT ((int64_t)2 << 30)	/* without a pinned size: 2 GiB at most */

struct fetcher {
	qi_handle *h;
	const struct qi_source *src;
	const struct qi_fetch_options *opt;
	struct qi_fetch_report *rep;
	char *distdir, *final, *part;
	int partfd;
	int64_t have;			/* bytes in .part */
	struct qi_digest dg;		/* hash of .part's first dg.bytes bytes (the writer
					 * thread catches up with HAVE) */
	int64_t limit;			/* the pinned size, or the cap when none is pinned */
	struct qi_buf tried;		/* "origin: why it failed" lines for the final error */
};

/* What a step of fetching came to (a transfer attempt, one URL, one
 * origin). Each but FETCH_OK and FETCH_RESTART leaves a message on the
 * handle. */
enum fetch_result {
	FETCH_OK,		/* done: the bytes (or the verified file) are there */
	FETCH_RETRY,		/* a soft failure: try the same URL again, after a while */
	FETCH_RESTART,		/* the server does not resume: start again from byte 0 */
	FETCH_NEXT_ORIGIN,	/* this origin failed (or has nothing): try the next */
	FETCH_FATAL,		/* a local failure no other origin can mend: stop */
};

struct transfer {
	struct fetcher *f;
	CURL *curl;
	bool http, resuming, checked_status;
	bool range_ignored, too_big;
	struct qi_part_writer *writer;
	struct qi_progress *prog;
};

static double env_seconds(const char *name, double dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	double d = strtod(v, &end);
	return (*end || !(d >= 0) || d > 86400) ? dflt : d;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int qi_mkdir_parents(qi_handle *h, const char *dir)
{
	char *p = qi_xstrdup(dir);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				int rc = qi_error_errno(h, "cannot create the directory %s", p);
				free(p);
				return rc;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return qi_error(h, "%s is not a directory", dir);
	return 0;
}

/* Note why an origin failed, for the error if none works. ORIGIN: its
 * name, put before the message; NULL when the message begins with it
 * already (a URL's, and whatever was checked against the pins under the
 * origin's label). */
static void tried(struct fetcher *f, const char *origin)
{
	const char *msg = qi_errmsg(f->h);
	qi_info(f->h, "%s (trying the next origin)", msg);
	if (origin)
		qi_buf_addf(&f->tried, "\n  %s: %s", origin, msg);
	else
		qi_buf_addf(&f->tried, "\n  %s", msg);
	qi_clear_error(f->h);
}

/* ---- the .part file ---- */

static int part_restart(struct fetcher *f)
{
	if (ftruncate(f->partfd, 0) < 0 || lseek(f->partfd, 0, SEEK_SET) < 0)
		return qi_error_errno(f->h, "cannot truncate %s", f->part);
	f->have = 0;
	return qi_digest_reset(f->h, &f->dg);
}

/* Open (or create) FILE.part and lock it: a second qinstall fetching the
 * same file waits for the first (*waited is then set: the file may be in
 * the cache by now). What an earlier run left in it is kept to resume
 * from; it is hashed by the writer thread of the next transfer, or by
 * part_finish. */
static int part_open(struct fetcher *f, bool *waited)
{
	for (;;) {
		f->partfd = open(f->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (f->partfd < 0)
			return qi_error_errno(f->h, "cannot open %s", f->part);
		if (flock(f->partfd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK)
				return qi_error_errno(f->h, "cannot lock %s", f->part);
			qi_info(f->h, "waiting for another qinstall that is downloading %s", f->src->file);
			if (waited)
				*waited = true;
			while (flock(f->partfd, LOCK_EX) < 0)
				if (errno != EINTR)
					return qi_error_errno(f->h, "cannot lock %s", f->part);
		}
		/* The holder may have renamed it into place meanwhile: then the
		 * locked file is no longer the .part, and must not be touched. */
		struct stat held, now;
		if (fstat(f->partfd, &held) < 0)
			return qi_error_errno(f->h, "cannot stat %s", f->part);
		if (lstat(f->part, &now) == 0 && now.st_dev == held.st_dev && now.st_ino == held.st_ino)
			break;
		close(f->partfd);
		f->partfd = -1;
	}
	if (qi_digest_init(f->h, &f->dg, true, f->src->sha512 != NULL) < 0)
		return -1;
	struct stat st;
	if (fstat(f->partfd, &st) < 0)
		return qi_error_errno(f->h, "cannot stat %s", f->part);
	if (!S_ISREG(st.st_mode))
		return qi_error(f->h, "%s is not a regular file; remove it", f->part);
	if (st.st_size > f->limit)
		return part_restart(f);
	f->have = st.st_size;
	if (st.st_size > 0)
		qi_debug(f->h, "%s: %lld bytes from an earlier download, hashing them to resume",
			 f->part, (long long)st.st_size);
	return 0;
}

static void part_close(struct fetcher *f)
{
	struct stat st, at_path;
	/* An empty .part is no start worth keeping (if it is still ours: it
	 * may have been moved aside, and another qinstall may have made a new
	 * one meanwhile). */
	if (f->partfd >= 0 && fstat(f->partfd, &st) == 0 && st.st_size == 0 &&
	    lstat(f->part, &at_path) == 0 && at_path.st_ino == st.st_ino && at_path.st_dev == st.st_dev)
		unlink(f->part);
	if (f->partfd >= 0)
		close(f->partfd);	/* drops the lock */
	f->partfd = -1;
	qi_digest_free(&f->dg);
}

/* Move a file whose bytes do not match aside as FILE.bad-<sha256 prefix>. */
static void move_aside(struct fetcher *f, const char *path, const char *hex256)
{
	char *bad = qi_xasprintf("%s/%s.bad-%.12s", f->distdir, f->src->file,
				 hex256 && *hex256 ? hex256 : "unknown");
	if (rename(path, bad) == 0)
		qi_warn(f->h, "moved the mismatching file aside to %s; it will not be used", bad);
	else if (unlink(path) == 0)
		qi_warn(f->h, "removed the mismatching %s", path);
	free(bad);
}

/* The .part is complete: check it against the pins, then rename it into
 * place (or move it aside and start the next origin from zero). Every
 * message but a fatal one begins with LABEL. */
static enum fetch_result part_finish(struct fetcher *f, const char *label)
{
	char hex256[QI_SHA256_HEX + 1], hex512[QI_SHA512_HEX + 1];
	/* What no writer thread has hashed yet (a .part complete from the start). */
	if (f->dg.bytes < f->have && (lseek(f->partfd, f->dg.bytes, SEEK_SET) < 0 ||
				      qi_digest_fd(f->h, &f->dg, f->partfd, f->part) < 0))
		return qi_error_prefix(f->h, "%s", label), FETCH_FATAL;
	if (qi_digest_final(f->h, &f->dg, hex256, hex512) < 0)
		return qi_error_prefix(f->h, "%s", label), FETCH_NEXT_ORIGIN;
	if (qi_digest_check(f->h, f->src, label, hex256, hex512, f->dg.bytes) < 0) {
		qi_warn(f->h, "%s", qi_errmsg(f->h));
		move_aside(f, f->part, hex256);
		/* A new .part for the next origin. */
		int e = qi_errkind(f->h);
		char msg[sizeof(((struct qi_handle *)0)->errmsg)];
		snprintf(msg, sizeof(msg), "%s", qi_errmsg(f->h));
		part_close(f);
		if (part_open(f, NULL) < 0)
			return FETCH_FATAL;
		qi_error_kind(f->h, e, "%s", msg);
		return FETCH_NEXT_ORIGIN;
	}
	if (fsync(f->partfd) < 0)
		return qi_error_errno(f->h, "cannot write %s", f->part), FETCH_FATAL;
	if (rename(f->part, f->final) < 0)
		return qi_error_errno(f->h, "cannot rename %s to %s", f->part, f->final), FETCH_FATAL;
	qi_fsync_dir_path(f->distdir);
	memcpy(f->rep->sha256, hex256, sizeof(hex256));
	memcpy(f->rep->sha512, hex512, sizeof(hex512));
	f->rep->size = f->dg.bytes;
	return FETCH_OK;
}

/* ---- one URL ---- */

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	struct fetcher *f = t->f;
	size_t n = size * nmemb;
	if (!t->checked_status) {
		t->checked_status = true;
		long code = 0;
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
		/* Asked for a range, got the whole body: start again from zero. */
		if (t->http && t->resuming && code == 200) {
			t->range_ignored = true;
			return 0;
		}
	}
	if (f->have + (int64_t)n > f->limit) {
		t->too_big = true;
		return 0;
	}
	if (qi_part_writer_feed(t->writer, data, n) < 0)
		return 0;	/* qi_part_writer_finish says why */
	f->have += (int64_t)n;
	f->rep->downloaded += (int64_t)n;
	qi_progress_update(t->prog, f->have);
	return n;
}

/* libcurl calls it often, bytes arriving or not: those waiting in the
 * writer's ring reach the disk even when the server stalls. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = userdata;
	return qi_part_writer_tick(t->writer) < 0;	/* non-zero stops the transfer */
}

static bool soft_http_status(long code)
{
	return code == 408 || code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

static bool soft_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_FTP_ACCEPT_TIMEOUT:
		return true;
	default:
		return false;
	}
}

/* What the FTP failure replies a download meets mean (RFC 959). */
static const char *ftp_reply_meaning(long code)
{
	switch (code) {
	case 421: return "service not available, try later";
	case 425: return "cannot open the data connection";
	case 426: return "transfer aborted";
	case 450: return "file unavailable for now";
	case 451: return "local error on the server";
	case 530: return "not logged in";
	case 550: return "no such file, or no access to it";
	default: return NULL;
	}
}

static enum fetch_result transfer_once(struct fetcher *f, CURL *curl, const char *url,
				       struct qi_progress *prog, long *retry_after)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct transfer t = {
		.f = f, .curl = curl, .prog = prog,
		.http = strncasecmp(url, "http", 4) == 0,
		.resuming = f->have > 0,
	};
	if (lseek(f->partfd, f->have, SEEK_SET) < 0) {
		qi_error_errno(f->h, "cannot seek in %s", f->part);
		return FETCH_FATAL;
	}
	if (!(t.writer = qi_part_writer_start(f->h, f->partfd, &f->dg, f->have)))
		return FETCH_FATAL;
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)f->have);
	CURLcode rc = curl_easy_perform(curl);
	/* Everything received is written and hashed before anything else. */
	if (qi_part_writer_finish(f->h, t.writer, f->part) < 0)
		return FETCH_FATAL;
	long code = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_off_t ra = 0;
	if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		*retry_after = (long)ra;
	if (rc == CURLE_OK) {
		if (t.http && code != 200 && code != 206) {
			qi_error(f->h, "%s: unexpected HTTP status %ld", url, code);
			return FETCH_NEXT_ORIGIN;
		}
		return FETCH_OK;
	}
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	/* The transfer's own protocol (a redirect may have changed it). */
	const char *scheme = NULL;
	bool ftp = curl_easy_getinfo(curl, CURLINFO_SCHEME, &scheme) == CURLE_OK && scheme
		   ? strncasecmp(scheme, "ftp", 3) == 0 : strncasecmp(url, "ftp", 3) == 0;
	/* HTTP: Range ignored or refused. FTP: REST refused, or the server's
	 * file is shorter than what .part holds. */
	if (t.range_ignored || rc == CURLE_RANGE_ERROR ||
	    (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t.resuming) ||
	    (t.resuming && (rc == CURLE_FTP_COULDNT_USE_REST || rc == CURLE_BAD_DOWNLOAD_RESUME))) {
		qi_info(f->h, "%s: the server does not resume downloads; starting again from byte 0", url);
		return FETCH_RESTART;
	}
	if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		if (f->src->size >= 0)
			qi_error(f->h, "%s: the server sends more than the pinned %lld bytes; not the pinned file",
				 url, (long long)f->src->size);
		else
			qi_error(f->h, "%s: the server sends more than %lld bytes, the most qinstall takes "
				 "when no size is pinned (pin the size)", url, (long long)f->limit);
		if (part_restart(f) < 0)
			return FETCH_FATAL;
		return FETCH_NEXT_ORIGIN;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		qi_error(f->h, "%s: HTTP %ld", url, code);
		return soft_http_status(code) ? FETCH_RETRY : FETCH_NEXT_ORIGIN;
	}
	if (ftp && code >= 400 && code < 600) {
		/* RFC 959: a 4yz reply is transient (421 busy, 425/426 data
		 * connection, 450 file busy, 451 local error), a 5yz one is
		 * permanent (550 no such file, 530 not logged in). */
		const char *meaning = ftp_reply_meaning(code);
		qi_error(f->h, "%s: %s (FTP reply %ld%s%s)", url, why, code,
			 meaning ? ": " : "", meaning ? meaning : "");
		return code < 500 || soft_curl_error(rc) ? FETCH_RETRY : FETCH_NEXT_ORIGIN;
	}
	qi_error(f->h, "%s: %s", url, why);
	return soft_curl_error(rc) ? FETCH_RETRY : FETCH_NEXT_ORIGIN;
}

static CURL *new_curl(struct fetcher *f, const char *url)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return NULL;
	long low_time = (long)env_seconds("QINSTALL_FETCH_LOW_SPEED_TIME", LOW_SPEED_TIME_DEFAULT);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,ftp,file");
	/* A server may redirect to another server, never to a local file. */
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_LIMIT);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, low_time > 0 ? low_time : 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "qinstall/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	/* Fewer, larger reads (the 2 and 10 MiB that libcurl 7.88 allows were
	 * no faster over loopback). */
	curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->limit);
	return curl;
}

/* Download URL into .part, retrying soft failures: FETCH_OK when .part is
 * complete (not yet verified), FETCH_NEXT_ORIGIN or FETCH_FATAL. */
static enum fetch_result fetch_url(struct fetcher *f, const char *url)
{
	double base = env_seconds("QINSTALL_FETCH_RETRY_DELAY", RETRY_DELAY_DEFAULT);
	double cap = env_seconds("QINSTALL_FETCH_RETRY_MAX", RETRY_MAX_DEFAULT);
	if (f->src->size >= 0 && f->have == f->src->size) {
		qi_debug(f->h, "%s is complete; verifying it", f->part);
		return FETCH_OK;
	}
	CURL *curl = new_curl(f, url);
	if (!curl)
		return qi_error(f->h, "cannot start libcurl"), FETCH_FATAL;
	qi_debug(f->h, "fetching %s%s", url, f->have ? " (resuming)" : "");
	struct qi_progress *prog = qi_progress_start(f->h, f->src->file, f->src->size, f->have);
	enum fetch_result r;
	int restarts = 0;
	for (int attempt = 1;; attempt++) {
		long retry_after = 0;
		r = transfer_once(f, curl, url, prog, &retry_after);
		if (r == FETCH_OK || r == FETCH_FATAL || r == FETCH_NEXT_ORIGIN)
			break;
		if (r == FETCH_RESTART) {
			if (part_restart(f) < 0) {
				r = FETCH_FATAL;
				break;
			}
			if (++restarts > 2) {
				qi_error(f->h, "%s: the download had to start again from zero %d times; giving up",
					 url, restarts);
				r = FETCH_NEXT_ORIGIN;
				break;
			}
			attempt--;	/* starting over is not a failed attempt */
			continue;
		}
		if (attempt >= FETCH_ATTEMPTS) {
			char msg[sizeof(((struct qi_handle *)0)->errmsg) - 64];
			snprintf(msg, sizeof(msg), "%s", qi_errmsg(f->h));
			qi_error(f->h, "%s (gave up after %d attempts)", msg, attempt);
			r = FETCH_NEXT_ORIGIN;
			break;
		}
		double wait = base;
		for (int i = 1; i < attempt && wait < cap; i++)
			wait *= 2;
		if (retry_after > 0)
			wait = (double)retry_after;
		if (wait > cap)
			wait = cap;
		qi_info(f->h, "%s; retrying in %.1fs (attempt %d of %d)%s", qi_errmsg(f->h), wait,
			attempt + 1, FETCH_ATTEMPTS,
			retry_after > 0 ? (wait < (double)retry_after ? " as the server asked, capped" : " as the server asked") : "");
		sleep_seconds(wait);
	}
	qi_progress_done(prog, r == FETCH_OK, url);
	curl_easy_cleanup(curl);
	return r;
}

/* ---- origins ---- */

/* Try one URL origin; FETCH_OK when the verified file is in place. Its
 * messages begin with the URL. */
static enum fetch_result try_url(struct fetcher *f, const char *origin, const char *url)
{
	enum fetch_result r;
	for (int round = 0;; round++) {
		/* Bytes from an earlier run or another origin may be the bad ones. */
		bool resumed = f->have > 0, mismatch = false;
		r = fetch_url(f, url);
		if (r == FETCH_OK) {
			r = part_finish(f, url);
			mismatch = r == FETCH_NEXT_ORIGIN;
		}
		if (r == FETCH_OK) {
			f->rep->origin = origin;
			f->rep->url = qi_xstrdup(url);
			return FETCH_OK;
		}
		if (!mismatch || !resumed || round > 0)
			break;
		qi_info(f->h, "%s (the download had resumed earlier bytes: fetching it again from zero)",
			qi_errmsg(f->h));
		qi_clear_error(f->h);
	}
	if (r == FETCH_NEXT_ORIGIN)
		tried(f, NULL);
	return r;
}

/* The cache: FETCH_NEXT_ORIGIN also when the file is not there. */
static enum fetch_result try_cache(struct fetcher *f)
{
	struct stat st;
	if (lstat(f->final, &st) < 0) {
		if (errno == ENOENT)
			return FETCH_NEXT_ORIGIN;
		return qi_error_errno(f->h, "cannot stat %s", f->final), FETCH_FATAL;
	}
	if (!S_ISREG(st.st_mode))
		return qi_error(f->h, "%s is not a regular file; remove it and run again", f->final), FETCH_FATAL;
	char hex256[QI_SHA256_HEX + 1], hex512[QI_SHA512_HEX + 1];
	int64_t size;
	if (qi_digest_file(f->h, f->final, true, f->src->sha512 != NULL, hex256, hex512, &size) < 0)
		return FETCH_FATAL;
	if (qi_digest_check(f->h, f->src, f->final, hex256, hex512, size) < 0) {
		qi_warn(f->h, "%s", qi_errmsg(f->h));
		move_aside(f, f->final, hex256);
		tried(f, "cache");
		return FETCH_NEXT_ORIGIN;
	}
	f->rep->origin = "cache";
	memcpy(f->rep->sha256, hex256, sizeof(hex256));
	memcpy(f->rep->sha512, hex512, sizeof(hex512));
	f->rep->size = size;
	qi_debug(f->h, "%s: verified in the cache", f->final);
	return FETCH_OK;
}

static int64_t tree_bytes(const char *dir)
{
	int64_t sum = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			sum += st.st_size;
	}
	closedir(d);
	return sum;
}

static enum fetch_result try_debian(struct fetcher *f)
{
	const struct qi_source *src = f->src;
	char *label = qi_xasprintf("Debian source %s=%s", src->debian_source, src->debian_version);
	char *work = qi_xasprintf("%s/.debian-XXXXXX", f->distdir);
	char *orig = NULL;
	enum fetch_result r = FETCH_NEXT_ORIGIN;
	if (!mkdtemp(work)) {
		qi_error_errno(f->h, "cannot create a work directory in %s", f->distdir);
		r = FETCH_FATAL;
		goto out;
	}
	qi_info(f->h, "fetching %s from %s", src->file, label);
	if (qi_debian_fetch_orig(f->h, src, work, &orig) < 0) {
		tried(f, label);
		goto out;
	}
	f->rep->downloaded += tree_bytes(work);
	char hex256[QI_SHA256_HEX + 1], hex512[QI_SHA512_HEX + 1];
	int64_t size;
	if (qi_digest_file(f->h, orig, true, src->sha512 != NULL, hex256, hex512, &size) < 0) {
		r = FETCH_FATAL;
		goto out;
	}
	if (qi_digest_check(f->h, src, label, hex256, hex512, size) < 0) {
		qi_warn(f->h, "%s", qi_errmsg(f->h));
		move_aside(f, orig, hex256);
		tried(f, NULL);	/* the message begins with LABEL */
		goto out;
	}
	int fd = open(orig, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(orig, f->final) < 0) {
		qi_error_errno(f->h, "cannot rename %s to %s", orig, f->final);
		r = FETCH_FATAL;
		goto out;
	}
	qi_fsync_dir_path(f->distdir);
	unlink(f->part);	/* a partial download from another origin is no longer needed */
	f->rep->origin = "debian";
	f->rep->url = qi_xasprintf("%s=%s", src->debian_source, src->debian_version);
	memcpy(f->rep->sha256, hex256, sizeof(hex256));
	memcpy(f->rep->sha512, hex512, sizeof(hex512));
	f->rep->size = size;
	qi_info(f->h, "fetched %s from %s", src->file, label);
	r = FETCH_OK;
out:
	if (access(work, F_OK) == 0) {
		/* Keep the error of the fetch, not of the clean-up. */
		char msg[sizeof(((struct qi_handle *)0)->errmsg)];
		enum qi_errkind k = qi_errkind(f->h);
		snprintf(msg, sizeof(msg), "%s", qi_errmsg(f->h));
		if (qi_remove_tree(f->h, work) < 0)
			qi_warn(f->h, "%s", qi_errmsg(f->h));
		if (k != QI_ERR_NONE)
			qi_error_kind(f->h, k, "%s", msg);
		else
			qi_clear_error(f->h);
	}
	free(orig);
	free(work);
	free(label);
	return r;
}

static int check_source(qi_handle *h, const struct qi_source *src)
{
	if (!src || !src->file || !*src->file)
		return qi_error_kind(h, QI_ERR_USAGE, "a source has no file name");
	if (src->file[0] == '.' || strspn(src->file, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789._+~,@=-") != strlen(src->file))
		return qi_error_kind(h, QI_ERR_USAGE, "source file name '%s' must be a plain name "
				     "(letters, digits and ._+~,@=- only, no leading dot)", src->file);
	if (!src->sha256 && !src->sha512)
		return qi_error_kind(h, QI_ERR_USAGE, "%s: no SHA-256 or SHA-512 pinned; "
				     "qinstall never uses unverified bytes", src->file);
	if (src->sha256 && !qi_is_hex(src->sha256, QI_SHA256_HEX))
		return qi_error_kind(h, QI_ERR_USAGE, "%s: the pinned SHA-256 is not 64 hex digits", src->file);
	if (src->sha512 && !qi_is_hex(src->sha512, QI_SHA512_HEX))
		return qi_error_kind(h, QI_ERR_USAGE, "%s: the pinned SHA-512 is not 128 hex digits", src->file);
	return 0;
}

static bool is_file_url(const char *url)
{
	return strncasecmp(url, "file:", 5) == 0;
}

static enum fetch_result fetch_origins(struct fetcher *f)
{
	const struct qi_fetch_options *opt = f->opt;
	enum fetch_result r = try_cache(f);
	if (r != FETCH_NEXT_ORIGIN)
		return r;
	bool waited = false;
	if (part_open(f, &waited) < 0)
		return FETCH_FATAL;
	if (waited && (r = try_cache(f)) != FETCH_NEXT_ORIGIN)
		return r;	/* the other qinstall got it */
	if (opt->mirror && *opt->mirror && (!opt->offline || is_file_url(opt->mirror))) {
		size_t n = strlen(opt->mirror);
		while (n > 0 && opt->mirror[n - 1] == '/')
			n--;
		char *url = qi_xasprintf("%.*s/%s", (int)n, opt->mirror, f->src->file);
		r = try_url(f, "mirror", url);
		free(url);
		if (r != FETCH_NEXT_ORIGIN)
			return r;
	}
	for (const char *const *u = f->src->urls; u && *u; u++) {
		if (opt->offline && !is_file_url(*u)) {
			qi_buf_addf(&f->tried, "\n  %s: skipped (--offline)", *u);
			continue;
		}
		r = try_url(f, "url", *u);
		if (r != FETCH_NEXT_ORIGIN)
			return r;
	}
	if (f->src->debian_source && f->src->debian_version) {
		if (opt->offline)
			qi_buf_addf(&f->tried, "\n  Debian source %s: skipped (--offline)", f->src->debian_source);
		else if ((r = try_debian(f)) != FETCH_NEXT_ORIGIN)
			return r;
	}
	return FETCH_NEXT_ORIGIN;
}

char *qi_distfile_path(const qi_handle *h, const struct qi_fetch_options *opt, const char *file)
{
	if (opt && opt->distdir && *opt->distdir)
		return qi_xasprintf("%s/%s", opt->distdir, file);
	return qi_xasprintf("%s/distfiles/%s", qi_cache_dir(h), file);
}

int qi_fetch_report(qi_handle *h, const struct qi_source *src,
		    const struct qi_fetch_options *opt, char **path, struct qi_fetch_report *report)
{
	static const struct qi_fetch_options no_options;
	struct qi_fetch_report local;
	struct qi_fetch_report *rep = report ? report : &local;
	memset(rep, 0, sizeof(*rep));
	rep->size = -1;
	if (path)
		*path = NULL;
	if (check_source(h, src) < 0)
		return -1;
	if (!opt)
		opt = &no_options;
	static bool curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return qi_error(h, "cannot initialise libcurl");
		curl_ready = true;
	}
	struct fetcher f = { .h = h, .src = src, .opt = opt, .rep = rep, .partfd = -1 };
	f.limit = src->size >= 0 ? src->size : opt->max_unpinned > 0 ? opt->max_unpinned : MAX_UNPINNED_DEFAULT;
	f.final = qi_distfile_path(h, opt, src->file);
	f.distdir = qi_xstrdup(f.final);
	*strrchr(f.distdir, '/') = '\0';
	f.part = qi_xasprintf("%s.part", f.final);
	enum fetch_result r = FETCH_FATAL;
	if (qi_mkdir_parents(h, f.distdir) == 0) {
		r = fetch_origins(&f);
		if (r == FETCH_NEXT_ORIGIN) {
			qi_error(h, "cannot fetch %s: no origin gave the pinned bytes%s%s\n"
				 "  (fix the URL, name a --mirror, or put the file into %s yourself)",
				 src->file, f.tried.len ? ":" : " (none was tried)",
				 f.tried.len ? f.tried.data : "", f.distdir);
		}
	}
	part_close(&f);
	if (r == FETCH_OK) {
		if (path)
			*path = qi_xstrdup(f.final);
	} else {
		if (qi_errkind(h) == QI_ERR_NONE)
			qi_error(h, "cannot fetch %s", src->file);
		free(rep->url);
		rep->url = NULL;
	}
	if (rep == &local)
		free(local.url);
	qi_buf_free(&f.tried);
	free(f.distdir);
	free(f.final);
	free(f.part);
	return r == FETCH_OK ? 0 : -1;
}

int qi_fetch(qi_handle *h, const struct qi_source *src,
	     const struct qi_fetch_options *opt, char **path)
{
	return qi_fetch_report(h, src, opt, path, NULL);
}

void qi_fetch_report_free(struct qi_fetch_report *report)
{
	if (!report)
		return;
	free(report->url);
	report->url = NULL;
}
