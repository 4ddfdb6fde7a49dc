/*
 * sources.h - what the sources module's files (fetch, digest, extract,
 * Debian origin, progress, the URL#pin spec parser) share with each other,
 * with the fetch command and with their unit tests and fuzz targets.
 */
#ifndef QI_SOURCES_H
#define QI_SOURCES_H

#include "internal.h"

struct archive;

/* ---- digest.c: SHA-256 and SHA-512, streaming (libcrypto EVP) ---- */

#define QI_SHA256_HEX 64
#define QI_SHA512_HEX 128

struct qi_digest {
	void *sha256;		/* EVP_MD_CTX *, or NULL when not wanted */
	void *sha512;
	int64_t bytes;		/* bytes fed so far */
};

/* Start hashing; SHA-256 and/or SHA-512 as asked (at least one). */
int qi_digest_init(qi_handle *h, struct qi_digest *d, bool sha256, bool sha512);
int qi_digest_update(qi_handle *h, struct qi_digest *d, const void *data, size_t len);
/* Finish: lowercase hex into HEX256 / HEX512 (left "" when not computed). */
int qi_digest_final(qi_handle *h, struct qi_digest *d,
		    char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1]);
/* Start again from zero bytes (a download that restarts). */
int qi_digest_reset(qi_handle *h, struct qi_digest *d);
void qi_digest_free(struct qi_digest *d);
/* Feed the whole content read from FD (from its current offset to EOF). */
int qi_digest_fd(qi_handle *h, struct qi_digest *d, int fd, const char *name);
/* Hash a whole file; SIZE (may be NULL) gets its length. */
int qi_digest_file(qi_handle *h, const char *path, bool sha256, bool sha512,
		   char hex256[QI_SHA256_HEX + 1], char hex512[QI_SHA512_HEX + 1],
		   int64_t *size);
/* True when S is exactly LEN hex digits. */
bool qi_is_hex(const char *s, size_t len);
/* Compare computed digests and size with SRC's pins; on a mismatch the
 * error names FILE and gives both the expected and the actual values. */
int qi_digest_check(qi_handle *h, const struct qi_source *src, const char *label,
		    const char *hex256, const char *hex512, int64_t size);

/* ---- fetch_spec.c: "URL#sha256=HEX&sha512=HEX&size=N&debian=PKG/VERSION" ---- */

struct qi_fetch_spec {
	char *url;		/* the URL without its fragment (a bare /path becomes file://) */
	char *file;		/* the last path component of the URL */
	char sha256[QI_SHA256_HEX + 1];	/* "" when not pinned */
	char sha512[QI_SHA512_HEX + 1];
	int64_t size;		/* -1 when not pinned */
	char *debian_source;	/* debian=PKG/VERSION: Debian as a second origin, or NULL */
	char *debian_version;
	const char *urls[2];	/* { url, NULL } for struct qi_source */
	struct qi_source source;/* points into this struct */
};

/* Parse SPEC; usage errors (kind QI_ERR_USAGE) say what is wrong. */
int qi_fetch_spec_parse(qi_handle *h, const char *spec, struct qi_fetch_spec *out);
void qi_fetch_spec_free(struct qi_fetch_spec *s);

/* ---- progress.c: a bar on a terminal, one line per file otherwise ---- */

struct qi_progress;
/* TOTAL: expected size or -1; START: bytes already on disk (a resume). */
struct qi_progress *qi_progress_start(qi_handle *h, const char *file, int64_t total, int64_t start);
void qi_progress_update(struct qi_progress *p, int64_t have);
/* Ends the bar; prints the one line (ok: "fetched ..."; else nothing). */
void qi_progress_done(struct qi_progress *p, bool ok, const char *origin);

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
