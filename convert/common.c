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

/* The room a file's text of N bytes (its NUL included) is given. */
static size_t cv_room(size_t n)
{
	size_t room = 64;
	while (room < n)
		room *= 2;
	return room;
}

void cv_file_line(struct cv_result *r, const char *name, const char *line)
{
	struct cv_file *f = (struct cv_file *)cv_file_find(r, name);
	if (!f) {
		if (!r->names) {
			r->names = cvu_alloc(NULL, sizeof(struct cvu_set));
			*(struct cvu_set *)r->names = (struct cvu_set){ 0 };
		}
		cvu_set_add(r->names, name);	/* its place: the file's */
		r->files = cvu_alloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
		f = &r->files[r->nfiles++];
		*f = (struct cv_file){ .name = cvu_dup(name), .text = cvu_dup(""),
				       .lines = cvu_alloc(NULL, sizeof(struct cvu_set)) };
		*(struct cvu_set *)f->lines = (struct cvu_set){ 0 };
	}
	size_t add = strlen(line);
	/* grown by doubling, so that a million lines append in linear time:
	 * TEXT's room is the power of two that holds LEN + 1 (at least 64),
	 * but the "" it starts as */
	size_t had = f->len ? cv_room(f->len + 1) : 0, need = cv_room(f->len + add + 2);
	if (need > had)
		f->text = cvu_alloc(f->text, need);
	memcpy(f->text + f->len, line, add);
	f->text[f->len + add] = '\n';
	f->text[f->len + add + 1] = '\0';
	f->len += add + 1;
	cvu_set_add(f->lines, line);
}

const struct cv_file *cv_file_find(const struct cv_result *r, const char *name)
{
	size_t at = r->names ? cvu_set_find(r->names, name) : 0;
	return at ? &r->files[at - 1] : NULL;
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
		if (r->files[i].lines)
			cvu_set_free(r->files[i].lines);
		free(r->files[i].lines);
	}
	free(r->items);
	free(r->files);
	if (r->names)
		cvu_set_free(r->names);
	free(r->names);
	free(r->me);
	free(r->domain);
	*r = (struct cv_result){ 0 };
}

const char *cv_outcome_name(enum cv_outcome o)
{
	return o == CV_CONVERTED ? "converted" : o == CV_WARNED ? "warned" : "not converted";
}
