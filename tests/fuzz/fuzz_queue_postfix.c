/* libFuzzer target for migrate/queue_postfix.c: any bytes, parsed as a
 * Postfix queue file, are either refused with a message and nothing
 * kept, or give a sender, recipients and a content that ends in a line
 * feed, is NUL-terminated and has its body inside it. What was parsed,
 * written again as a plain queue file (each line one record), parses
 * back to the same sender, recipients, delivered count and content. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void put(struct qi_buf *b, int type, const char *s, size_t len)
{
	unsigned char hdr[8];
	size_t n = 0, l = len;
	hdr[n++] = (unsigned char)type;
	do {
		hdr[n] = l & 0x7f;
		l >>= 7;
		hdr[n++] |= l ? 0x80 : 0;
	} while (l);
	qi_buf_add(b, hdr, n);
	qi_buf_add(b, s, len);
}

/* M written again: S, R..., D... (as many as were done), M, the lines, X, E. */
static void rewrite(const struct mq_msg *m, struct qi_buf *b)
{
	put(b, 'S', m->sender, strlen(m->sender));
	for (size_t i = 0; i < m->nrcpts; i++)
		put(b, 'R', m->rcpts[i], strlen(m->rcpts[i]));
	for (size_t i = 0; i < m->ndone; i++)
		put(b, 'D', "x", 1);
	put(b, 'M', "", 0);
	for (size_t at = 0; at < m->len;) {
		const char *nl = memchr(m->content + at, '\n', m->len - at);
		check(nl != NULL);
		put(b, 'N', m->content + at, (size_t)(nl - (m->content + at)));
		at = (size_t)(nl - m->content) + 1;
	}
	put(b, 'X', "", 0);
	put(b, 'E', "", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	struct mq_msg m = { 0 };
	if (mq_postfix_parse(h, data, size, &m) < 0) {
		check(qi_errmsg(h)[0] != '\0');
		check(!m.sender && !m.rcpts && !m.content && m.nrcpts == 0);
		qi_clear_error(h);
		return 0;
	}
	check(m.sender && m.content && m.content[m.len] == '\0' && m.body <= m.len);
	check(m.len == 0 || m.content[m.len - 1] == '\n');
	for (size_t i = 0; i < m.nrcpts; i++)
		check(m.rcpts[i] != NULL);
	struct qi_buf b = { 0 };
	rewrite(&m, &b);
	struct mq_msg again = { 0 };
	check(mq_postfix_parse(h, (const unsigned char *)b.data, b.len, &again) == 0);
	check(strcmp(again.sender, m.sender) == 0 && again.nrcpts == m.nrcpts && again.ndone == m.ndone);
	for (size_t i = 0; i < m.nrcpts; i++)
		check(strcmp(again.rcpts[i], m.rcpts[i]) == 0);
	check(again.len == m.len && memcmp(again.content, m.content, m.len) == 0);
	qi_buf_free(&b);
	mq_msg_free(&again);
	mq_msg_free(&m);
	return 0;
}
