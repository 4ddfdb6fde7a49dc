/*
 * queue.c - the messages of an old MTA's queue, as the readers of
 * queue_postfix.c, queue_exim.c and queue_sendmail.c give them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

void mq_msg_free(struct mq_msg *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->queue);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->files);
	free(m->sender);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->content);
	free(m->why);
	memset(m, 0, sizeof(*m));
}

void mq_msg_unparse(struct mq_msg *m)
{
	free(m->sender);
	m->sender = NULL;
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	m->rcpts = NULL;
	m->nrcpts = m->ndone = 0;
	free(m->content);
	m->content = NULL;
	m->len = m->body = 0;
}

struct mq_msg *mq_list_add(struct mq_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = qi_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

void mq_list_free(struct mq_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		mq_msg_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void mq_msg_add_file(struct mq_msg *m, const char *path)
{
	m->files = qi_xrealloc(m->files, (m->nfiles + 1) * sizeof(*m->files));
	m->files[m->nfiles++] = qi_xstrdup(path);
}

void mq_msg_add_rcpt(struct mq_msg *m, const char *addr, size_t len)
{
	char *a = qi_xmalloc(len + 1);
	memcpy(a, addr, len);
	a[len] = '\0';
	m->rcpts = qi_xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
	m->rcpts[m->nrcpts++] = a;
}
