/*
 * patch/series.c - quilt's series file, as in Debian's debian/patches:
 * one patch a line, named relative to the series file's directory and
 * optionally followed by -pN (single digit; 1 when not given); "#" starts
 * a comment anywhere on a line, blank lines and trailing CRs are skipped.
 * Any other option is refused, and so is a name that is absolute or has
 * a ".." component: a series never reaches outside its directory.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

void qi_series_free(struct qi_series *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

/* Is OPT "-pN", and then what is N? */
static bool strip_option(const char *opt, int *strip)
{
	if (strncmp(opt, "-p", 2) != 0 || opt[2] < '0' || opt[2] > '9' || opt[3])
		return false;
	*strip = opt[2] - '0';
	return true;
}

/* One line (without its newline, comments and CRs cut off): no entry
 * when it is blank, else one appended to S. */
static int parse_line(qi_handle *h, const char *file, int lineno, char *line, struct qi_series *s)
{
	char *save = NULL, *name = strtok_r(line, " \t", &save);
	if (!name)
		return 0;
	int strip = 1;
	for (char *opt; (opt = strtok_r(NULL, " \t", &save));)
		if (!strip_option(opt, &strip))
			return qi_error(h, "%s:%d: series option '%s' is not supported (only -pN)", file,
					lineno, opt);
	if (name[0] == '/' || qi_path_has_dotdot(name))
		return qi_error(h, "%s:%d: patch '%s' points outside the series directory", file, lineno,
				name);
	s->e = qi_xrealloc(s->e, (s->n + 1) * sizeof(*s->e));
	s->e[s->n++] = (struct qi_series_entry){ .name = qi_xstrdup(name), .strip = strip,
						 .line = lineno };
	return 0;
}

int qi_series_parse(qi_handle *h, const char *file, const char *text, size_t len,
		    struct qi_series *s)
{
	memset(s, 0, sizeof(*s));
	const char *p = text, *end = text + len;
	int lineno = 0, rc = 0;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = qi_xmalloc(n + 1);
		memcpy(line, p, n);
		line[n] = '\0';
		line[strcspn(line, "#\r")] = '\0';	/* a NUL byte ends the line too */
		rc = parse_line(h, file, ++lineno, line, s);
		free(line);
		p += n + (nl ? 1 : 0);
	}
	if (rc < 0)
		qi_series_free(s);
	return rc;
}
