/*
 * imagemap.c - a map from paths to images, last writer wins, the paths
 * kept in the order they were first set: the --check and batch overlay
 * (what each path is planned to be) and verify's expectations (what each
 * path's last change left). The index is a small open-addressing table
 * (linear probing, FNV-1a, grown at half full) whose slots hold a path
 * and its entry's position.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "journal/journal.h"

static size_t path_hash(const char *s)
{
	size_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of PATH, or the free slot where it would go (CAP > N). */
static struct qi_imagemap_slot *probe(struct qi_imagemap_slot *slot, size_t cap, const char *path)
{
	size_t i = path_hash(path) & (cap - 1);
	while (slot[i].path && strcmp(slot[i].path, path) != 0)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

/* Double the index (the entries stay where they are). */
static void grow_index(struct qi_imagemap *m)
{
	size_t cap = m->nslots ? 2 * m->nslots : 64;
	struct qi_imagemap_slot *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		abort();
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slot[i].path)
			*probe(slot, cap, m->slot[i].path) = m->slot[i];
	free(m->slot);
	m->slot = slot;
	m->nslots = cap;
}

struct qi_image_entry *qi_imagemap_get(const struct qi_imagemap *m, const char *path)
{
	if (!m->n)
		return NULL;
	struct qi_imagemap_slot *s = probe(m->slot, m->nslots, path);
	return s->path ? &m->e[s->index] : NULL;
}

void qi_imagemap_set(struct qi_imagemap *m, const char *path, const struct qi_image *img)
{
	struct qi_image_entry *e = qi_imagemap_get(m, path);
	if (!e) {
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 64;
			m->e = qi_xrealloc(m->e, m->cap * sizeof(*m->e));
		}
		if (2 * (m->n + 1) > m->nslots)
			grow_index(m);
		e = &m->e[m->n];
		memset(e, 0, sizeof(*e));
		e->path = qi_xstrdup(path);
		*probe(m->slot, m->nslots, e->path) = (struct qi_imagemap_slot){ e->path, m->n };
		m->n++;
	}
	qi_image_copy(&e->img, img);
}

void qi_imagemap_clear(struct qi_imagemap *m)
{
	if (!m->n)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		qi_image_clear(&m->e[i].img);
	}
	m->n = 0;
	memset(m->slot, 0, m->nslots * sizeof(*m->slot));
}

void qi_imagemap_free(struct qi_imagemap *m)
{
	qi_imagemap_clear(m);
	free(m->e);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
