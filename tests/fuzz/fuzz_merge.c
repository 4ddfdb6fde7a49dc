/* fuzz_merge.c - libFuzzer target: the three-way merge of one file. The
 * input is three texts separated by lines "=====" (base, ours, theirs);
 * they are merged with libgit2 and the rules (patch/merge.c), with and
 * without taking true conflicts as the union. Invariants: a side equal
 * to the base gives the other side; without the union a merge with no
 * true conflict is the same as with it; every region's sides are kept;
 * nothing touches the file system. */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct qi_buf *b, const struct qi_merge_text *t)
{
	return b->len == t->len && !memcmp(b->data, t->data, t->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size;
	struct qi_merge_text in[3] = { { "", 0 }, { "", 0 }, { "", 0 } };
	const char *s = text;
	for (int k = 0; k < 3; k++) {
		const char *sep = k < 2 ? memmem(s, (size_t)(end - s), "=====\n", 6) : NULL;
		in[k] = (struct qi_merge_text){ s, sep ? (size_t)(sep - s) : (size_t)(end - s) };
		if (!sep)
			break;
		s = sep + 6;
	}
	qi_handle *h = qi_new();
	struct qi_merge_result plain, uni;
	int rc = qi_merge_file(h, "fuzz", in, false, &plain);
	int urc = qi_merge_file(h, "fuzz", in, true, &uni);
	assert(rc == urc);
	if (rc == 0) {
		assert(uni.ntrue == 0);
		assert(plain.n == uni.n);
		if (plain.ntrue == 0)
			assert(plain.out.len == uni.out.len && !memcmp(plain.out.data, uni.out.data, uni.out.len));
		bool ours_is_base = in[0].len == in[1].len && !memcmp(in[0].data, in[1].data, in[0].len);
		bool theirs_is_base = in[0].len == in[2].len && !memcmp(in[0].data, in[2].data, in[0].len);
		if (ours_is_base)
			assert(plain.n == 0 && same(&plain.out, &in[2]));
		if (theirs_is_base)
			assert(plain.n == 0 && same(&plain.out, &in[1]));
		for (size_t i = 0; i < plain.n; i++)
			for (int k = 0; k < 3; k++)
				assert(plain.r[i].side[k].data != NULL);
		qi_merge_result_free(&plain);
		qi_merge_result_free(&uni);
	}
	qi_free(h);
	return 0;
}
