/*
 * common.c - building a conversion's result (convert.h): items, files,
 * and the inputs' lookup. Allocation failure aborts, as the rest of
 * qinstall's allocation does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "convert/util.h"

const struct cv_input *cv_input_find(const struct cv_inputs *in, const char *name)
{
	for (size_t i = 0; in && i < in->n; i++)
		if (in->v[i].name && strcmp(in->v[i].name, name) == 0)
			return &in->v[i];
	return NULL;
}

void cv_item_add(struct cv_result *r, const char *setting, const char *before, const char *after,
		 enum cv_outcome outcome, const char *why)
{
	r->items = cvu_alloc(r->items, (r->nitems + 1) * sizeof(*r->items));
	r->items[r->nitems++] = (struct cv_item){ .setting = cvu_dup(setting ? setting : ""),
						  .before = cvu_dup(before ? before : ""),
						  .after = cvu_dup(after ? after : ""), .outcome = outcome,
						  .why = cvu_dup(why) };
}

void cv_file_line(struct cv_result *r, const char *name, const char *line)
{
	struct cv_file *f = (struct cv_file *)cv_file_find(r, name);
	if (!f) {
		r->files = cvu_alloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
		f = &r->files[r->nfiles++];
		*f = (struct cv_file){ .name = cvu_dup(name), .text = cvu_dup("") };
	}
	size_t have = strlen(f->text), add = strlen(line);
	f->text = cvu_alloc(f->text, have + add + 2);
	memcpy(f->text + have, line, add);
	f->text[have + add] = '\n';
	f->text[have + add + 1] = '\0';
}

const struct cv_file *cv_file_find(const struct cv_result *r, const char *name)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].name, name) == 0)
			return &r->files[i];
	return NULL;
}

void cv_result_free(struct cv_result *r)
{
	for (size_t i = 0; i < r->nitems; i++) {
		free(r->items[i].setting);
		free(r->items[i].before);
		free(r->items[i].after);
		free(r->items[i].why);
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].name);
		free(r->files[i].text);
	}
	free(r->items);
	free(r->files);
	free(r->me);
	free(r->domain);
	*r = (struct cv_result){ 0 };
}

const char *cv_outcome_name(enum cv_outcome o)
{
	return o == CV_CONVERTED ? "converted" : o == CV_WARNED ? "warned" : "not converted";
}
