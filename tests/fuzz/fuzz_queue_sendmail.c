/* libFuzzer target for queue_sendmail.c: the bytes before the first NUL
 * are a qf file, those after it the df. A parse either fails with a
 * message naming the line and leaves no half-filled message, or gives a
 * content of headers, the empty line and exactly the df, and recipients
 * that are one-line non-empty addresses. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static qi_handle *h;
	if (!h)
		h = qi_new();
	const char *text = (const char *)data, *nul = memchr(text, '\0', size);
	size_t qlen = nul ? (size_t)(nul - text) : size;
	const char *df = nul ? nul + 1 : "";
	size_t dlen = nul ? size - qlen - 1 : 0;
	struct mq_msg m = { .id = strdup("44TGQe0A012345") };
	if (mq_sendmail_parse(h, text, qlen, df, dlen, &m) < 0) {
		check(strstr(qi_errmsg(h), "qf44TGQe0A012345 line ") != NULL);
		check(!m.sender && !m.content && !m.rcpts && m.nrcpts == 0);
		qi_clear_error(h);
	} else {
		check(m.sender && !strchr(m.sender, '\n') && m.content && m.content[m.len] == '\0');
		check(m.body >= 1 && m.content[m.body - 1] == '\n' && (m.body == 1 || m.content[m.body - 2] == '\n'));
		check(m.len - m.body == dlen && memcmp(m.content + m.body, df, dlen) == 0);
		for (size_t i = 0; i < m.nrcpts; i++)
			check(m.rcpts[i][0] != '\0' && !strchr(m.rcpts[i], '\n'));
	}
	mq_msg_free(&m);
	return 0;
}
