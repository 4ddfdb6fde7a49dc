/*
 * fuzz_applyfile.c - libFuzzer target for the `qinstall apply` list parser
 * (applyfile.c). Invariants checked on every input:
 *   - parsing either succeeds with a usage-free handle, or fails with
 *     QI_ERR_USAGE and a message of the form "FILE:LINE: ...";
 *   - on success, every path is absolute and canonical (no "//", no "."
 *     or ".." component, no trailing "/"), every mode is at most 07777,
 *     owners and groups are non-empty, line numbers increase;
 *   - on failure, nothing is returned.
 * Seeds: tests/fuzz/applyfile-seeds (replayed by `make check`).
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal/journal.h"

static void check_path(const char *p)
{
	if (!p || p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
	    (strlen(p) > 1 && p[strlen(p) - 1] == '/'))
		abort();
	size_t n = strlen(p);
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qi_handle *h = qi_new();
	if (!h)
		return 0;
	struct qi_apply_list list;
	int rc = qi_apply_parse(h, "fuzz.list", (const char *)data, size, &list);
	if (rc < 0) {
		if (qi_errkind(h) != QI_ERR_USAGE || strncmp(qi_errmsg(h), "fuzz.list:", 10) != 0 ||
		    list.n != 0 || list.lines != NULL)
			abort();
	} else {
		unsigned last = 0;
		for (size_t i = 0; i < list.n; i++) {
			const struct qi_apply_line *l = &list.lines[i];
			check_path(l->path);
			if (l->op == QI_AOP_RENAME)
				check_path(l->arg);
			if (l->mode > 07777 || l->lineno <= last)
				abort();
			last = l->lineno;
			if ((l->owner && !*l->owner) || (l->group && !*l->group) || (!l->owner != !l->group))
				abort();
			if ((l->op == QI_AOP_FILE || l->op == QI_AOP_SYMLINK) && (!l->arg || !*l->arg))
				abort();
			if (strcmp(qi_apply_op_name(l->op), "?") == 0)
				abort();
		}
		qi_apply_free(&list);
	}
	qi_free(h);
	return 0;
}
