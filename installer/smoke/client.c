/*
 * client.c - the smoke test's SMTP and POP3 clients, all libcurl: its
 * smtp:// and pop3:// handlers, their connect (greeting, EHLO or CAPA),
 * CURLOPT_MAIL_FROM/MAIL_RCPT with a read callback for a message, and
 * CURLOPT_CUSTOMREQUEST for single commands on one connection (MAIL, RCPT
 * and RSET without DATA; USER and PASS, which libcurl's own login would
 * replace by APOP when qmail-popup's greeting offers it). The server's
 * lines are seen through CURLOPT_DEBUGFUNCTION; nothing is printed.
 */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "smoke/smoke.h"

_Static_assert(sizeof(((struct smoke_reply *)0)->why) >= CURL_ERROR_SIZE, "why holds libcurl's error");

/* Each line the server sent: the first kept, the last overwritten. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smoke_reply *r = arg;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	/* QUIT's answer, when libcurl closes a connection after a refusal,
	 * is not what the refusal was. */
	if (r->last[0] && size >= 3 && memcmp(data, "221", 3) == 0)
		return 0;
	if (size >= sizeof(r->last))
		size = sizeof(r->last) - 1;
	memcpy(r->last, data, size);
	r->last[size] = '\0';
	if (!r->first[0])
		memcpy(r->first, r->last, size + 1);
	return 0;
}

/* What a LIST or a command's answer brings as a body: lines counted. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	long *lines = arg;
	for (size_t i = 0; lines && i < size * n; i++)
		if (data[i] == '\n')
			(*lines)++;
	return size * n;
}

struct message {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct message *m = arg;
	size_t want = size * n, left = m->len - m->off;
	if (want > left)
		want = left;
	memcpy(buf, m->data + m->off, want);
	m->off += want;
	return want;
}

/* A handle for SCHEME://HOST:PORT/ from P's source address, its answers
 * into R. NULL (R->why said) when libcurl cannot start one. */
static CURL *open_peer(const struct smoke_peer *p, const char *scheme, struct smoke_reply *r)
{
	memset(r, 0, sizeof(*r));
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(r->why, sizeof(r->why), "libcurl cannot start a transfer (out of memory?)");
		return NULL;
	}
	bool v6 = strchr(p->host, ':') != NULL;
	/* The SMTP URL's path is the name said in EHLO. */
	char *url = qi_xasprintf("%s://%s%s%s:%d/%s", scheme, v6 ? "[" : "", p->host, v6 ? "]" : "",
				 p->port, strcmp(scheme, "smtp") == 0 ? "qinstall-smoke" : "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, scheme);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->why);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)p->timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)p->timeout);
	if (p->from) {
		char iface[300];
		snprintf(iface, sizeof(iface), "host!%s", p->from);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	return c;
}

/* Perform C; R gets the SMTP code and, on failure, libcurl's reason. */
static CURLcode perform(CURL *c, struct smoke_reply *r)
{
	r->why[0] = '\0';
	r->code = 0;
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	if (rc != CURLE_OK && !r->why[0])
		snprintf(r->why, sizeof(r->why), "%s", curl_easy_strerror(rc));
	return rc;
}

int smoke_smtp_greeting(const struct smoke_peer *p, struct smoke_reply *r)
{
	CURL *c = open_peer(p, "smtp", r);
	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	CURLcode rc = perform(c, r);
	curl_easy_cleanup(c);
	r->code = atol(r->first);
	return rc == CURLE_OK && strncmp(r->first, "220", 3) == 0 ? 0 : -1;
}

int smoke_smtp_send(const struct smoke_peer *p, const char *rcpt, const char *message, size_t len,
		    struct smoke_reply *r)
{
	CURL *c = open_peer(p, "smtp", r);
	if (!c)
		return -1;
	struct message m = { .data = message, .len = len };
	struct curl_slist *to = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<>");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &m);
	CURLcode rc = perform(c, r);
	curl_easy_cleanup(c);
	curl_slist_free_all(to);
	return rc == CURLE_OK && r->code == 250 ? 0 : -1;
}

/* COMMAND alone on C's connection (made by the first); R its answer. */
static CURLcode command(CURL *c, const char *cmd, struct smoke_reply *r)
{
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cmd);
	return perform(c, r);
}

int smoke_smtp_rcpt(const struct smoke_peer *p, const char *rcpt, struct smoke_reply *r, bool *at_mail)
{
	*at_mail = true;
	CURL *c = open_peer(p, "smtp", r);
	if (!c)
		return -1;
	int ret = -1;
	if (command(c, "MAIL FROM:<>", r) == CURLE_OK && r->code / 100 == 2) {
		*at_mail = false;
		char *cmd = qi_xasprintf("RCPT TO:<%s>", rcpt);
		command(c, cmd, r);
		free(cmd);
		ret = r->code ? 0 : -1;
		/* Accepted: forget the envelope before anything is sent
		 * (QUIT follows at cleanup); R stays RCPT's answer. */
		if (r->code / 100 == 2) {
			struct smoke_reply keep = *r;
			command(c, "RSET", r);
			*r = keep;
		}
	}
	curl_easy_cleanup(c);
	return ret;
}

/* USER NAME or PASS SECRET: the argument escaped, since libcurl
 * URL-decodes a custom request. */
static CURLcode pop3_command(CURL *c, const char *verb, const char *arg, struct smoke_reply *r)
{
	char *esc = curl_easy_escape(c, arg, 0);
	if (!esc) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	char *cmd = qi_xasprintf("%s %s", verb, esc);
	curl_free(esc);
	CURLcode rc = command(c, cmd, r);
	free(cmd);
	return rc;
}

int smoke_pop3_list(const struct smoke_peer *p, const char *user, const char *pass, long *count,
		    struct smoke_reply *r)
{
	*count = 0;
	CURL *c = open_peer(p, "pop3", r);
	if (!c)
		return -1;
	int ret = -1;
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (pop3_command(c, "USER", user, r) == CURLE_OK && pop3_command(c, "PASS", pass, r) == CURLE_OK) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, count);
		if (perform(c, r) == CURLE_OK)
			ret = 0;
	}
	curl_easy_cleanup(c);
	return ret;
}
