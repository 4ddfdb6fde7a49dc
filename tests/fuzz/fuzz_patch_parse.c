/* fuzz_patch_parse.c - libFuzzer target: the unified-diff parser
 * (patch/parse.c) on any input, with every -p and -R variant it offers;
 * every parsed hunk must be self-consistent. */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int strips[] = { -1, 0, 1, 2 };
	for (size_t s = 0; s < sizeof(strips) / sizeof(strips[0]); s++) {
		struct qi_patch_parsed p;
		qi_patch_parse(&p, (const char *)data, size, strips[s]);
		for (size_t i = 0; i < p.nfiles; i++) {
			struct qi_patch_file *f = &p.files[i];
			for (int k = 0; k < 3; k++)
				if (f->name[k])
					(void)qi_patch_name_is_safe(f->name[k]);
			for (size_t j = 0; j < f->nhunks; j++) {
				struct qi_patch_hunk *hk = &f->hunks[j];
				assert(hk->prefix_context >= 0 && hk->suffix_context >= 0);
				assert(hk->prefix_context <= hk->ptrn_lines);
				for (long l = 0; l < hk->ptrn_lines; l++)
					assert(hk->old[l].type == ' ' || hk->old[l].type == '-');
				for (long l = 0; l < hk->repl_lines; l++)
					assert(hk->new[l].type == ' ' || hk->new[l].type == '+');
				qi_patch_hunk_swap(hk);
				qi_patch_hunk_swap(hk);
			}
		}
		qi_patch_parsed_free(&p);
	}
	return 0;
}
