/* fuzz_patch_replay.c - replays the patch engine's seed corpus through a
 * libFuzzer entry point under the normal compiler, so that `make check`
 * runs every seed (no fuzzing): one TAP case per seed file. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : QI_FUZZ_SEEDS;
	DIR *d = opendir(dir);
	if (!d) {
		printf("1..0 # SKIP no seed corpus at %s\n", dir);
		return 0;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = qi_xrealloc(names, sizeof(*names) * (n + 1));
		names[n++] = qi_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = qi_xasprintf("%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		struct qi_buf b = { 0 };
		char chunk[4096];
		size_t got;
		if (f) {
			while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
				qi_buf_add(&b, chunk, got);
			fclose(f);
		}
		if (!f) {
			printf("not ok %zu - %s (unreadable)\n", i + 1, names[i]);
			failed++;
		} else {
			/* A crash or a failed assertion ends the run: the harness
			 * then reports the missing cases. */
			LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""), b.len);
			printf("ok %zu - %s\n", i + 1, names[i]);
		}
		qi_buf_free(&b);
		free(path);
		free(names[i]);
	}
	free(names);
	printf("1..%zu\n", n);
	return failed ? 1 : 0;
}
