/* libFuzzer target: the archive reader and the secure extraction
 * (qi_extract_memory). Whatever the bytes, nothing may be written outside
 * the destination, a failure must leave no destination behind, and a tree
 * that was extracted holds only directories, regular files without set-id
 * bits and symlinks that resolve inside it. */
#include "config.h"
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "sources/sources.h"

static char base[64];
static char dest[128];
static char real_dest[PATH_MAX];

static void cleanup(void)
{
	qi_handle *h = qi_new();
	qi_remove_tree(h, base);
	qi_free(h);
}

static int entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static int check_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag, (void)ftw;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		if (st->st_mode & 07000)
			abort();	/* set-id or sticky bit kept */
	} else if (S_ISLNK(st->st_mode)) {
		char resolved[PATH_MAX];
		if (realpath(path, resolved) &&
		    (strncmp(resolved, real_dest, strlen(real_dest)) != 0 ||
		     (resolved[strlen(real_dest)] != '/' && resolved[strlen(real_dest)] != '\0')))
			abort();	/* a symlink leading out of the tree */
	} else {
		abort();	/* a device, FIFO or socket */
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h) {
		h = qi_new();
		qi_set_verbosity(h, -1);
		snprintf(base, sizeof(base), "/tmp/qinstall-fuzz-extract.XXXXXX");
		if (!mkdtemp(base))
			abort();
		snprintf(dest, sizeof(dest), "%s/x", base);
		atexit(cleanup);
	}
	struct qi_extract_limits lim = { .max_total = 8 << 20, .max_entries = 2000 };
	char *top = NULL;
	int rc = qi_extract_memory(h, data, size, "fuzz", dest, &lim, &top);
	if (rc < 0) {
		if (!qi_errmsg(h)[0] || entries_in(base) != 0)
			abort();	/* no message, or something left behind */
	} else {
		if (entries_in(base) != 1 || !top || strncmp(top, dest, strlen(dest)) != 0)
			abort();
		if (!realpath(dest, real_dest))
			abort();
		nftw(dest, check_entry, 16, FTW_PHYS);
		qi_remove_tree(h, dest);
	}
	free(top);
	qi_clear_error(h);
	return 0;
}
