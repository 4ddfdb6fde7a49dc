/*
 * sources.h - what the sources module's files (fetch, digest, extract,
 * Debian origin, progress, the URL#pin spec parser) share with each other,
 * with the fetch command and with their unit tests and fuzz targets.
 */
#ifndef QI_SOURCES_H
#define QI_SOURCES_H

#include "core/core.h"

struct archive;

/* ---- progress.c: a bar on a terminal, one line per file otherwise ---- */

struct qi_progress;
/* TOTAL: expected size or -1; START: bytes already on disk (a resume). */
struct qi_progress *qi_progress_start(qi_handle *h, const char *file, int64_t total, int64_t start);
void qi_progress_update(struct qi_progress *p, int64_t have);
/* Ends the bar; prints the one line (ok: "fetched ..."; else nothing). */
void qi_progress_done(struct qi_progress *p, bool ok, const char *origin);

/* ---- part_writer.c: a download's bytes to FILE.part and its digest, in
 * two threads of their own (one writes, the other hashes what was written) ---- */

struct qi_part_writer;
/* Start the threads that write what is fed to FD (at its current offset,
 * which is HAVE, the bytes FD holds) and hash it into D; first the bytes
 * [D->bytes, HAVE) of FD are hashed, those of a resumed download. D is the
 * threads' until qi_part_writer_finish; NULL (with a message) on failure. */
struct qi_part_writer *qi_part_writer_start(qi_handle *h, int fd, struct qi_digest *d, int64_t have);
/* Copy LEN bytes into the ring of buffers, waiting while it is full: 0, or
 * -1 (no message: from a libcurl callback) once the thread has failed. */
int qi_part_writer_feed(struct qi_part_writer *w, const void *data, size_t len);
/* Hand over bytes that have waited long enough even though no more come
 * (from libcurl's progress callback); 0, or -1 as qi_part_writer_feed. */
int qi_part_writer_tick(struct qi_part_writer *w);
/* Write and hash what is left, stop the threads and free W (NULL: nothing
 * to do): 0, or -1 with the thread's failure as the message, NAME being
 * the file ("cannot write NAME: ..."). */
int qi_part_writer_finish(qi_handle *h, struct qi_part_writer *w, const char *name);
/* For unit tests only (NULL otherwise; set it while no writer runs):
 * called in the writer thread before each write, and in the hasher thread
 * before each slot is hashed; it may sleep, and a non-zero return (an
 * errno) makes that step fail. */
enum qi_part_writer_step { QI_PART_WRITER_WRITE, QI_PART_WRITER_HASH };
extern int (*qi_part_writer_hook)(enum qi_part_writer_step step);

/* ---- debian_origin.c: Debian's source archive as a second origin ---- */

/* Download SRC->debian_source=SRC->debian_version with `apt-get source
 * --download-only` through a private apt configuration (under
 * CACHE_DIR/apt) derived from the machine's apt sources, into WORKDIR
 * (which exists); *orig gets the path of the orig tarball (malloc'd). */
int qi_debian_fetch_orig(qi_handle *h, const struct qi_source *src, const char *workdir,
			 char **orig);
/* The machine's archives as "deb-src" lines (one per URI and suite),
 * read from SOURCES_LIST and the *.list / *.sources in SOURCES_PARTS. */
int qi_debian_src_lines(qi_handle *h, const char *sources_list, const char *sources_parts,
			struct qi_buf *out);

/* mkdir -p (mode 0755 for what it makes, as a cache is); fetch.c. */
int qi_mkdir_parents(qi_handle *h, const char *dir);

/* ---- extract.c ---- */

struct qi_extract_limits {
	int64_t max_total;	/* bytes of file content, all entries together */
	int64_t max_entries;
};
#define QI_EXTRACT_MAX_TOTAL ((int64_t)2 << 30)	/* 2 GiB */
#define QI_EXTRACT_MAX_ENTRIES 100000

/* qi_extract with explicit limits (NULL: the defaults above). */
int qi_extract_limited(qi_handle *h, const char *archive, const char *dest,
		       const struct qi_extract_limits *lim, char **topdir);
/* The same from memory (fuzzing, unit tests); LABEL names it in messages. */
int qi_extract_memory(qi_handle *h, const void *data, size_t len, const char *label,
		      const char *dest, const struct qi_extract_limits *lim, char **topdir);
/* Remove the tree at PATH (never following symlinks). */
int qi_remove_tree(qi_handle *h, const char *path);

#endif
