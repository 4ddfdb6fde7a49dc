/* A main() for any libFuzzer target, built with the normal compiler so that
 * `make check` runs the target's checks on every seed: each file named on
 * the command line, or each file of the directories named there (default:
 * $top_srcdir/QI_SEED_DIR, set when compiling), is one TAP case. A broken
 * invariant aborts, which fails the test. Reproduce a crash found by
 * libFuzzer by naming its file. */
#include "config.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++n, path);
		return 1;
	}
	size_t cap = 4096, len = 0, r;
	uint8_t *buf = malloc(cap);
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("ok %d - seed %s\n", ++n, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	fflush(stdout);
	return 0;
}

static int replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int count = scandir(path, &names, NULL, alphasort), failed = 0;
		for (int i = 0; i < count; i++) {
			if (names[i]->d_name[0] != '.') {
				char file[8192];
				snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
				failed += replay_file(file);
			}
			free(names[i]);
		}
		free(names);
		return failed;
	}
	return replay_file(path);
}

int main(int argc, char **argv)
{
	int failed = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed += replay(argv[i]);
	} else {
#ifdef QI_SEED_DIR
		const char *top = getenv("top_srcdir");
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/%s", top ? top : ".", QI_SEED_DIR);
		failed += replay(dir);
#endif
	}
	if (n == 0) {
		printf("1..0 # SKIP no seed found\n");
		return 0;
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
