/*
 * part_writer.c - a download's bytes to its .part file and to its digest,
 * in a thread of their own, so that receiving never waits for the disk or
 * for SHA-256/SHA-512.
 *
 * The receiving thread copies what arrives into a bounded ring of large
 * slots and hands each slot over when it is full, or when the last
 * hand-over is HAND_OVER_AFTER old (a slow download reaches the disk at
 * once, a fast one in large writes with few wake-ups). The writer thread
 * first hashes what the file held already (a resumed download), then
 * writes each slot in one call, hashes the very bytes it wrote, and starts
 * their write-back to disk (sync_file_range) so that the fsync before the
 * file is used is short. After a failure it writes and hashes nothing
 * more; the receiver learns of it at its next hand-over, and
 * qi_part_writer_finish reports it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sources/sources.h"

#define SLOT_SIZE ((size_t)1 << 20)	/* bytes per write and per hand-over */
#define SLOTS 4				/* at most this many MiB wait for the writer */
#define HAND_OVER_AFTER 0.02		/* seconds */
#define WRITEBACK_STEP ((int64_t)8 << 20)	/* start writing back to disk every 8 MiB */

struct qi_part_writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t handed, freed;	/* a slot to write; a slot to fill */
	int fd;
	struct qi_digest *d;		/* the writer's alone until finish */
	int64_t catch_up;		/* hash the file's bytes [d->bytes, catch_up) first */
	int64_t offset;			/* where the next slot goes in the file */
	int64_t written_back;		/* write-back started up to here */
	char *slot[SLOTS];
	size_t used[SLOTS];
	unsigned handed_n, done_n;	/* slots handed over, slots written (they only grow) */
	size_t fill;			/* bytes in the slot being filled, slot[handed_n % SLOTS] */
	double handed_at;		/* when the receiver last handed a slot over */
	bool closing;
	/* The first failure: which, and its errno. */
	enum { PW_OK, PW_READ, PW_WRITE, PW_HASH } failed;
	int err;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A failure of the writer thread, kept aside until it holds the lock. */
struct failure {
	int what;		/* PW_READ, PW_WRITE or PW_HASH */
	int err;
};

static int fail(struct failure *f, int what, int err)
{
	f->what = what;
	f->err = err;
	return -1;
}

/* Hash the bytes a resumed download starts from: [d->bytes, catch_up). */
static int catch_up(struct qi_part_writer *w, char *buf, struct failure *f)
{
	while (w->d->bytes < w->catch_up) {
		int64_t left = w->catch_up - w->d->bytes;
		size_t want = left < (int64_t)SLOT_SIZE ? (size_t)left : SLOT_SIZE;
		ssize_t n = pread(w->fd, buf, want, w->d->bytes);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)	/* at 0, shorter than it was: truncated under us */
			return fail(f, PW_READ, n < 0 ? errno : EIO);
		if (qi_digest_feed(w->d, buf, (size_t)n) < 0)
			return fail(f, PW_HASH, EIO);
	}
	return 0;
}

/* Write one slot, hash it, start its write-back. */
static int put_slot(struct qi_part_writer *w, const char *data, size_t len, struct failure *f)
{
	if (qi_write_all(w->fd, data, len) < 0)
		return fail(f, PW_WRITE, errno);
	if (qi_digest_feed(w->d, data, len) < 0)
		return fail(f, PW_HASH, EIO);
	w->offset += (int64_t)len;
	/* Only a head start for the final fsync, in large steps: where it is
	 * not supported (EINVAL, ESPIPE), the fsync does it all. */
	if (w->offset - w->written_back >= WRITEBACK_STEP) {
		sync_file_range(w->fd, w->written_back, w->offset - w->written_back, SYNC_FILE_RANGE_WRITE);
		w->written_back = w->offset;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct qi_part_writer *w = arg;
	struct failure f = { PW_OK, 0 };
	if (w->d->bytes < w->catch_up) {
		char *buf = qi_xmalloc(SLOT_SIZE);
		catch_up(w, buf, &f);
		free(buf);
	}
	pthread_mutex_lock(&w->lock);
	for (;;) {
		if (f.what != PW_OK && w->failed == PW_OK) {
			w->failed = f.what;
			w->err = f.err;
			/* A receiver waiting for a free slot must learn of it. */
			pthread_cond_signal(&w->freed);
		}
		/* After a failure nothing more is handed over. */
		while (w->done_n == w->handed_n && !w->closing && !w->failed)
			pthread_cond_wait(&w->handed, &w->lock);
		if (w->done_n == w->handed_n)
			break;
		unsigned i = w->done_n % SLOTS;
		pthread_mutex_unlock(&w->lock);
		if (f.what == PW_OK)	/* after a failure, only given back */
			put_slot(w, w->slot[i], w->used[i], &f);
		pthread_mutex_lock(&w->lock);
		w->done_n++;
		pthread_cond_signal(&w->freed);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void writer_free(struct qi_part_writer *w)
{
	for (int i = 0; i < SLOTS; i++)
		free(w->slot[i]);
	pthread_cond_destroy(&w->freed);
	pthread_cond_destroy(&w->handed);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct qi_part_writer *qi_part_writer_start(qi_handle *h, int fd, struct qi_digest *d, int64_t have)
{
	struct qi_part_writer *w = qi_xmalloc(sizeof(*w));
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->d = d;
	w->catch_up = have;
	w->offset = w->written_back = have;
	w->handed_at = now();
	for (int i = 0; i < SLOTS; i++)
		w->slot[i] = qi_xmalloc(SLOT_SIZE);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->handed, NULL);
	pthread_cond_init(&w->freed, NULL);
	int e = pthread_create(&w->thread, NULL, writer_main, w);
	if (e != 0) {
		writer_free(w);
		errno = e;
		qi_error_errno(h, "cannot start the thread that writes and hashes a download");
		return NULL;
	}
	return w;
}

/* Hand the slot being filled over to the writer; 0, or -1 once it failed. */
static int hand_over(struct qi_part_writer *w)
{
	pthread_mutex_lock(&w->lock);
	int rc = w->failed ? -1 : 0;
	if (rc == 0 && w->fill > 0) {
		w->used[w->handed_n % SLOTS] = w->fill;
		w->handed_n++;
		w->fill = 0;
		w->handed_at = now();
		pthread_cond_signal(&w->handed);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Wait until the slot to fill next is free; 0, or -1 once the writer failed. */
static int wait_free(struct qi_part_writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->handed_n - w->done_n == SLOTS && !w->failed)
		pthread_cond_wait(&w->freed, &w->lock);
	int rc = w->failed ? -1 : 0;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int qi_part_writer_feed(struct qi_part_writer *w, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		if (w->fill == 0 && wait_free(w) < 0)
			return -1;
		size_t n = SLOT_SIZE - w->fill;
		if (n > len)
			n = len;
		memcpy(w->slot[w->handed_n % SLOTS] + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		if (w->fill == SLOT_SIZE && hand_over(w) < 0)
			return -1;
	}
	return qi_part_writer_tick(w);
}

int qi_part_writer_tick(struct qi_part_writer *w)
{
	if (w->fill > 0 && now() - w->handed_at >= HAND_OVER_AFTER)
		return hand_over(w);
	return 0;
}

int qi_part_writer_finish(qi_handle *h, struct qi_part_writer *w, const char *name)
{
	if (!w)
		return 0;
	hand_over(w);
	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_signal(&w->handed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	int rc = 0;
	errno = w->err;
	if (w->failed == PW_READ)
		rc = qi_error_errno(h, "cannot read %s", name);
	else if (w->failed == PW_WRITE)
		rc = qi_error_errno(h, "cannot write %s", name);
	else if (w->failed == PW_HASH)
		rc = qi_error(h, "cannot hash %s: hashing failed (libcrypto)", name);
	writer_free(w);
	return rc;
}
