/*
 * aliases-stub.c - TEMPORARY stand-in for cv_aliases (convert.h) until
 * aliases.c is merged: each "name: value" line of the text becomes one
 * item and an alias/.qmail-NAME file with the line "&value". Only so
 * that the sendmail and Exim converters build and can be tested.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"

/* Each NAME: VALUE line of TEXT (LEN bytes) as one alias. */
int cv_aliases(const char *text, size_t len, const char *setting_prefix, struct cv_result *out)
{
	char *buf = malloc(len + 1);
	if (!buf)
		abort();
	if (len)
		memcpy(buf, text, len);
	buf[len] = '\0';
	for (size_t pos = 0; pos < len;) {
		char *line = buf + pos, *e = memchr(line, '\n', len - pos);
		size_t n = e ? (size_t)(e - line) : len - pos;
		line[n] = '\0';
		pos += n + 1;
		char *colon = strchr(line, ':');
		if (!colon || line[0] == '#' || colon == line)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (isspace((unsigned char)*v))
			v++;
		size_t sl = strlen(setting_prefix) + strlen(line) + 3, fl = strlen(line) + 14, ll = strlen(v) + 2;
		char *set = malloc(sl), *file = malloc(fl), *dest = malloc(ll);
		if (!set || !file || !dest)
			abort();
		snprintf(set, sl, "%s: %s", setting_prefix, line);
		snprintf(file, fl, "alias/.qmail-%s", line);
		snprintf(dest, ll, "&%s", v);
		cv_file_line(out, file, dest);
		cv_item_add(out, set, v, file, CV_CONVERTED, NULL);
		free(set);
		free(file);
		free(dest);
	}
	free(buf);
	return 0;
}
