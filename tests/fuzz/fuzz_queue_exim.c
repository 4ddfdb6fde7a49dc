/* libFuzzer target for queue_exim.c: the bytes before the first NUL are
 * an -H file, those after it the -D file. A parse either fails with a
 * message naming the line and leaves no half-filled message, or gives a
 * content of live headers, the empty line and a body no longer than the
 * -D's, and recipients that are one-line non-empty addresses; with the
 * id known beforehand the result is the same. */
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

static int parse(qi_handle *h, const char *hdr, size_t hlen, const char *d, size_t dlen, struct mq_msg *m)
{
	int rc = mq_exim_parse(h, hdr, hlen, d, dlen, m);
	if (rc < 0) {
		check(strstr(qi_errmsg(h), " line ") != NULL);
		check(!m->sender && !m->content && !m->rcpts && m->nrcpts == 0 && m->ndone == 0);
		qi_clear_error(h);
		return rc;
	}
	check(rc == 0 && m->id && m->sender && !strchr(m->sender, '\n'));
	check(m->content && m->content[m->len] == '\0' && m->body >= 1 && m->body <= m->len);
	check(m->content[m->body - 1] == '\n' && (m->body == 1 || m->content[m->body - 2] == '\n'));
	check(m->len - m->body <= dlen);
	for (size_t i = 0; i < m->nrcpts; i++)
		check(m->rcpts[i][0] != '\0' && !strchr(m->rcpts[i], '\n'));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	const char *text = (const char *)data, *nul = memchr(text, '\0', size);
	size_t hlen = nul ? (size_t)(nul - text) : size;
	const char *d = nul ? nul + 1 : "";
	size_t dlen = nul ? size - hlen - 1 : 0;
	struct mq_msg a = { 0 }, b = { 0 };
	int rc = parse(h, text, hlen, d, dlen, &a);
	if (rc == 0) {
		b.id = strdup(a.id);
		check(parse(h, text, hlen, d, dlen, &b) == 0);
		check(b.len == a.len && memcmp(a.content, b.content, a.len) == 0 && a.body == b.body);
		check(a.nrcpts == b.nrcpts && a.ndone == b.ndone && strcmp(a.sender, b.sender) == 0);
	}
	mq_msg_free(&a);
	mq_msg_free(&b);
	return 0;
}
