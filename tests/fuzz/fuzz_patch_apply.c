/* fuzz_patch_apply.c - libFuzzer target: parse and apply, in memory. The
 * input is a file's text, a line "=====", then a patch; every hunk of the
 * patch's files is placed with fuzz 0 to 3 and applied to the text as GNU
 * patch would, failed hunks are formatted as rejects and their near miss
 * computed. Nothing touches the file system. */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *sep = memmem(text, size, "=====\n", 6);
	size_t flen = sep ? (size_t)(sep - text) : 0;
	const char *ptext = sep ? sep + 6 : text;
	size_t plen = size - (size_t)(ptext - text);
	char *file = qi_xmalloc(flen + 1);
	memcpy(file, text, flen);
	file[flen] = '\0';

	struct qi_patch_parsed p;
	qi_patch_parse(&p, ptext, plen, 1);
	struct qi_patch_text in;
	qi_patch_text_index(&in, file, flen);
	for (size_t i = 0; i < p.nfiles; i++) {
		struct qi_patch_applier a;
		qi_patch_applier_init(&a, &in);
		struct qi_buf rej = { 0 };
		for (size_t j = 0; j < p.files[i].nhunks; j++) {
			struct qi_patch_hunk *hk = &p.files[i].hunks[j];
			if (j % 2)
				qi_patch_hunk_swap(hk);
			long where = 0;
			for (long fuzz = 0; fuzz <= 3 && !where; fuzz++)
				where = qi_patch_locate(&a, hk, fuzz);
			if (where && a.last_frozen <= where - 1 + hk->prefix_context) {
				qi_patch_apply_hunk(&a, hk, where);
			} else {
				long line, differ;
				qi_patch_near_miss(&in, hk, hk->first, &line, &differ);
				assert(differ >= 0 && differ <= hk->ptrn_lines);
				qi_patch_reject_hunk(&rej, hk, a.out_offset);
			}
			if (j % 2)
				qi_patch_hunk_swap(hk);
		}
		qi_patch_finish(&a);
		qi_buf_free(&a.out);
		qi_buf_free(&rej);
	}
	qi_patch_text_free(&in);
	qi_patch_parsed_free(&p);
	free(file);
	return 0;
}
