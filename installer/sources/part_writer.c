/*
 * part_writer.c - a download's bytes to its .part file and to its digest,
 * in two threads of their own, so that receiving never waits for the disk
 * or for SHA-256/SHA-512, and writing never waits for hashing.
 *
 * The receiving thread copies what arrives into a bounded ring of large
 * slots and hands each slot over when it is full, or when the last
 * hand-over is HAND_OVER_AFTER old (a slow download reaches the disk at
 * once, a fast one in large writes with few wake-ups). Each slot then goes
 * through a pipeline of two threads, in order: the writer writes it in one
 * call and starts its write-back to disk (sync_file_range, so that the
 * fsync before the file is used is short); the hasher then hashes the very
 * bytes that were written, and gives the slot back to the receiver. While
 * one slot is hashed the next is written, so a download goes as fast as
 * the slower of the two, not as their sum. The digest always covers a
 * prefix of what the file holds. The hasher first hashes what the file
 * held already (a resumed download); nothing is written before that is
 * done. After a failure in either thread, both write and hash nothing
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
#define SLOTS 8				/* at most this many MiB wait for the two threads */
#define HAND_OVER_AFTER 0.02		/* seconds */
#define WRITEBACK_STEP ((int64_t)8 << 20)	/* start writing back to disk every 8 MiB */

int (*qi_part_writer_hook)(enum qi_part_writer_step step);

/* Why the threads stopped: the first failure. */
enum failure { PW_OK, PW_READ, PW_WRITE, PW_HASH, PW_ABORT };

struct qi_part_writer {
	pthread_t writer, hasher;
	pthread_mutex_t lock;
	pthread_cond_t handed;		/* the writer's: a slot to write (or caught up, closing, failed) */
	pthread_cond_t written;		/* the hasher's: a slot to hash (or writer gone, failed) */
	pthread_cond_t freed;		/* the receiver's: a slot to fill (or failed) */
	int fd;
	struct qi_digest *d;		/* the hasher's alone until finish */
	int64_t catch_up;		/* hash the file's bytes [d->bytes, catch_up) first */
	int64_t offset;			/* the writer's: where the next slot goes in the file */
	int64_t written_back;		/* the writer's: write-back started up to here */
	char *slot[SLOTS];
	size_t used[SLOTS];
	/* Slots handed over, written, hashed (they only grow; the next of each
	 * is slot[n % SLOTS]). hashed_n <= written_n <= handed_n. */
	unsigned handed_n, written_n, hashed_n;
	size_t fill;			/* the receiver's: bytes in slot[handed_n % SLOTS] */
	double handed_at;		/* when the receiver last handed a slot over */
	bool caught_up;			/* the hasher is done with the file's old bytes */
	bool closing;			/* nothing more will be handed over */
	bool writer_done;		/* nothing more will be written */
	enum failure failed;
	int err;			/* its errno */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The test hook before STEP: 0, or the errno it makes the step fail with. */
static int hook(enum qi_part_writer_step step)
{
	return qi_part_writer_hook ? qi_part_writer_hook(step) : 0;
}

/* Record a failure (the first one counts) and wake everyone; with the lock held. */
static void failed_locked(struct qi_part_writer *w, enum failure what, int err)
{
	if (w->failed == PW_OK) {
		w->failed = what;
		w->err = err;
	}
	pthread_cond_broadcast(&w->handed);
	pthread_cond_broadcast(&w->written);
	pthread_cond_broadcast(&w->freed);
}

static void fail(struct qi_part_writer *w, enum failure what, int err)
{
	pthread_mutex_lock(&w->lock);
	failed_locked(w, what, err);
	pthread_mutex_unlock(&w->lock);
}

/* Hash the bytes a resumed download starts from, [d->bytes, catch_up): 0,
 * or -1 once recorded as the failure. */
static int catch_up(struct qi_part_writer *w)
{
	char *buf = qi_xmalloc(SLOT_SIZE);
	int rc = 0;
	while (rc == 0 && w->d->bytes < w->catch_up) {
		int64_t left = w->catch_up - w->d->bytes;
		size_t want = left < (int64_t)SLOT_SIZE ? (size_t)left : SLOT_SIZE;
		ssize_t n = pread(w->fd, buf, want, w->d->bytes);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {	/* at 0, shorter than it was: truncated under us */
			fail(w, PW_READ, n < 0 ? errno : EIO);
			rc = -1;
		} else if (qi_digest_feed(w->d, buf, (size_t)n) < 0) {
			fail(w, PW_HASH, EIO);
			rc = -1;
		}
	}
	free(buf);
	return rc;
}

/* Write one slot and start its write-back: 0, or the errno of the failure. */
static int put_slot(struct qi_part_writer *w, const char *data, size_t len)
{
	int e = hook(QI_PART_WRITER_WRITE);
	if (e != 0)
		return e;
	if (qi_write_all(w->fd, data, len) < 0)
		return errno;
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
	pthread_mutex_lock(&w->lock);
	/* Nothing after the old bytes before they are known to be readable. */
	while (!w->caught_up && !w->failed)
		pthread_cond_wait(&w->handed, &w->lock);
	for (;;) {
		while (w->written_n == w->handed_n && !w->closing && !w->failed)
			pthread_cond_wait(&w->handed, &w->lock);
		if (w->failed || w->written_n == w->handed_n)
			break;
		unsigned i = w->written_n % SLOTS;
		pthread_mutex_unlock(&w->lock);
		int e = put_slot(w, w->slot[i], w->used[i]);
		pthread_mutex_lock(&w->lock);
		if (e != 0) {
			failed_locked(w, PW_WRITE, e);
			break;
		}
		w->written_n++;
		pthread_cond_signal(&w->written);
	}
	w->writer_done = true;
	pthread_cond_signal(&w->written);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void *hasher_main(void *arg)
{
	struct qi_part_writer *w = arg;
	if (w->d->bytes < w->catch_up && catch_up(w) < 0)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->caught_up = true;
	pthread_cond_signal(&w->handed);
	for (;;) {
		while (w->hashed_n == w->written_n && !w->writer_done && !w->failed)
			pthread_cond_wait(&w->written, &w->lock);
		if (w->failed || w->hashed_n == w->written_n)
			break;
		unsigned i = w->hashed_n % SLOTS;
		pthread_mutex_unlock(&w->lock);
		int e = hook(QI_PART_WRITER_HASH);
		if (e == 0 && qi_digest_feed(w->d, w->slot[i], w->used[i]) < 0)
			e = EIO;
		pthread_mutex_lock(&w->lock);
		if (e != 0) {
			failed_locked(w, PW_HASH, e);
			break;
		}
		w->hashed_n++;
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
	pthread_cond_destroy(&w->written);
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
	pthread_cond_init(&w->written, NULL);
	pthread_cond_init(&w->freed, NULL);
	int e = pthread_create(&w->writer, NULL, writer_main, w);
	if (e == 0 && (e = pthread_create(&w->hasher, NULL, hasher_main, w)) != 0) {
		fail(w, PW_ABORT, e);	/* the writer stops at once */
		pthread_join(w->writer, NULL);
	}
	if (e != 0) {
		writer_free(w);
		errno = e;
		qi_error_errno(h, "cannot start the threads that write and hash a download");
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

/* Wait until the slot to fill next is free; 0, or -1 once a thread failed. */
static int wait_free(struct qi_part_writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->handed_n - w->hashed_n == SLOTS && !w->failed)
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
	pthread_join(w->writer, NULL);
	pthread_join(w->hasher, NULL);
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
