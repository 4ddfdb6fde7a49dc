/* Replays the seed corpus of fuzz_passwd.c under the normal compiler, so
 * that `make check` runs the fuzz target's checks on every seed. Each seed
 * file is one TAP case; an invariant broken aborts (and fails the test).
 * With arguments, replays those files instead (e.g. a crash found by
 * libFuzzer). */
#include "config.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path, int n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d - %s: cannot open\n", n, path);
		return 1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return 1;
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("ok %d - seed %s\n", n, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, failed = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed += replay(argv[i], ++n);
	} else {
		const char *top = getenv("top_srcdir");
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/passwd-seeds", top ? top : ".");
		struct dirent **names;
		int count = scandir(dir, &names, NULL, alphasort);
		if (count < 0) {
			printf("1..0 # SKIP no seed directory %s\n", dir);
			return 0;
		}
		for (int i = 0; i < count; i++) {
			if (names[i]->d_name[0] != '.') {
				char path[8192];
				snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
				failed += replay(path, ++n);
			}
			free(names[i]);
		}
		free(names);
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
