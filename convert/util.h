/*
 * util.h - the small helpers the converters of convert/ share (strings,
 * buffers, lines of an input, names qmail accepts, tcprules addresses,
 * the result's files as sets of lines). This header is internal to the
 * convert/ module and NOT part of its public API (that is convert.h):
 * only the files of convert/ include it. Allocation failure aborts, as in the rest
 * of qinstall.
 */
#ifndef QI_CONVERT_UTIL_H
#define QI_CONVERT_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "convert/convert.h"

/* ---- memory and strings ---- */

/* realloc(P, N) (N 0 taken as 1); aborts when out of memory. */
void *cvu_alloc(void *p, size_t n);
/* A malloc'd copy of S, or NULL when S is NULL; aborts when out of memory. */
char *cvu_dup(const char *s);
/* A malloc'd copy of at most N bytes of S; aborts when out of memory. */
char *cvu_ndup(const char *s, size_t n);
/* A malloc'd printf; aborts when out of memory. */
char *cvu_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* S without its leading and trailing blanks (' ' and '\t'), in place. */
char *cvu_trim_blanks(char *s);
/* S without its leading and trailing white space (isspace), in place. */
char *cvu_trim_space(char *s);
/* S lower-cased in place. */
char *cvu_lower(char *s);
/* S with every '.' written ':' (in place), as qmail names .qmail files. */
char *cvu_colons(char *s);

/* A growing NUL-terminated string; { 0 } is empty (S NULL until the
 * first add). */
struct cvu_buf {
	char *s;
	size_t n, cap;
};

/* Append N bytes of S to B. */
void cvu_buf_add(struct cvu_buf *b, const char *s, size_t n);
/* Append the NUL-terminated S to B. */
void cvu_buf_adds(struct cvu_buf *b, const char *s);

/* ---- sets of strings ---- */

/* Strings in the order added, each once, found in constant time (a hash
 * index beside the list), so that a table of a million lines is read in
 * linear time; { 0 } is empty. V[0..N) may be read; only these functions
 * change it. */
struct cvu_set {
	char **v;
	size_t n, cap;
	size_t *slot;		/* open addressing: index + 1 into v, 0 free */
	size_t nslot;		/* a power of two, or 0 */
};
/* Add S (copied) unless it is there; true if added. */
bool cvu_set_add(struct cvu_set *s, const char *str);
/* Add the malloc'd STR unless an equal string is there (then STR is
 * freed); true if added. */
bool cvu_set_take(struct cvu_set *s, char *str);
/* Whether STR is in S. */
bool cvu_set_has(const struct cvu_set *s, const char *str);
/* Where STR is in S's V, plus one; 0 when it is not there. */
size_t cvu_set_find(const struct cvu_set *s, const char *str);
/* Free S's strings and index; S is empty again. */
void cvu_set_free(struct cvu_set *s);
void cvu_strings_free(char **v, size_t n);

/* ---- names qmail accepts ---- */

/* Whether S is a domain or host name qmail's control files can hold:
 * letters, digits, '-' and '.', at most 253 of them, no empty label, a
 * last label that is not all digits (that would be an address). */
bool cvu_domain_ok(const char *s);
/* Whether S is a local part a .qmail file can be named after: at most
 * 200 printable characters, no blank, '/', '@', '*' or '%'. */
bool cvu_local_ok(const char *s);
/* Whether S (lowercase) can be the NAME of ~alias/.qmail-NAME: a-z, 0-9
 * and "._+=-" only, not empty. */
bool cvu_qmail_name_ok(const char *s);

/* ---- tcprules ---- */

/* The tcprules address of the IPv4 network O[0].O[1].O[2].O[3]/LEN
 * (malloc'd), or NULL when tcprules cannot match it exactly: /8, /16,
 * /24 as prefixes ("10.", "10.1.", "10.1.2."), /32 a host, /25 to /31 a
 * last-octet range ("10.1.2.128-255"), the host bits of that octet
 * cleared. */
char *cvu_tcprules_addr(const unsigned o[4], unsigned len);

/* ---- the result's files ---- */

/* Whether the file NAME of R has the line LINE. */
bool cvu_has_line(const struct cv_result *r, const char *name, const char *line);
/* Append LINE to the file NAME unless the file has that line already. */
void cvu_line_once(struct cv_result *r, const char *name, const char *line);
/* The lines of the file NAME (if there is one) sorted in the C locale's
 * order, each kept once. */
void cvu_sort_file(struct cv_result *r, const char *name);
/* Report the line LINE of TABLE that held a NUL byte: an item
 * "TABLE: LINE", not converted. */
void cvu_nul_item(struct cv_result *r, const char *table, const char *line);

/* ---- reading an input ---- */

/* Reading an input by physical lines: its text copied with a NUL after it. */
struct cvu_lines {
	char *buf;
	size_t len, pos;
};

/* Start reading IN's text by lines (cvu_lines_close frees L). */
void cvu_lines_open(struct cvu_lines *l, const struct cv_input *in);
/* The next line (without its "\n" or "\r\n"), or NULL at the end; *NUL
 * tells whether it held a NUL byte (the string then ends at the first). */
char *cvu_lines_next(struct cvu_lines *l, bool *nul);
/* Free what cvu_lines_open allocated. */
void cvu_lines_close(struct cvu_lines *l);

/* One logical line: a line that starts with text and the lines starting
 * with a blank after it, joined by a space. Blank lines, blanks only and
 * lines whose first non-blank is '#' are skipped; a trailing '\r' is
 * dropped from each line. */
struct cvu_logical {
	char *text;		/* malloc'd, never NULL */
	size_t line;		/* the number of its first line */
	bool nul;		/* it held a NUL byte */
	bool orphan;		/* it starts with a continuation line */
};

/* The logical lines of TEXT (LEN bytes, not necessarily terminated),
 * malloc'd; *COUNT of them. */
struct cvu_logical *cvu_logical_lines(const char *text, size_t len, size_t *count);
/* Free the N logical lines of V. */
void cvu_logical_free(struct cvu_logical *v, size_t n);

#endif /* QI_CONVERT_UTIL_H */
