/*
 * smoke.h - what the smoke test's files share: the SMTP and POP3 clients
 * (client.c, libcurl) and the look into the admin's Maildir (maildir.c).
 */
#ifndef QI_SMOKE_H
#define QI_SMOKE_H

#include <stdbool.h>
#include <stddef.h>
#include "qinstall.h"

/* What a server answered: the numeric SMTP code (0 when none), and its
 * first and last lines (greeting or reply), without CRLF. WHY says, when
 * the exchange failed before an answer, what libcurl said. */
struct smoke_reply {
	long code;
	char first[256];
	char last[256];
	char why[256];
};

/* Where to talk to: HOST:PORT, from source address FROM (NULL: any). */
struct smoke_peer {
	const char *host;
	int port;
	const char *from;
	int timeout;		/* seconds for each exchange */
};

/* The greeting (libcurl's connect only: greeting and EHLO, then QUIT).
 * 0 when the server answered 220. */
int smoke_smtp_greeting(const struct smoke_peer *p, struct smoke_reply *r);
/* MESSAGE (LEN bytes, CRLF lines) from the null sender to RCPT: 0 when
 * the server answered 250 after DATA. */
int smoke_smtp_send(const struct smoke_peer *p, const char *rcpt, const char *message, size_t len,
		    struct smoke_reply *r);
/* MAIL FROM:<> and RCPT TO:<RCPT>, then RSET and QUIT: never DATA.
 * R is the answer to RCPT (or to MAIL when that failed: *at_mail). 0 when
 * the exchange got an answer to RCPT, whatever it was. */
int smoke_smtp_rcpt(const struct smoke_peer *p, const char *rcpt, struct smoke_reply *r, bool *at_mail);
/* USER, PASS, LIST: *count messages. 0 when logged in and listed; R is
 * the answer that refused. */
int smoke_pop3_list(const struct smoke_peer *p, const char *user, const char *pass, long *count,
		    struct smoke_reply *r);

/* Wait up to TIMEOUT seconds for a file holding TOKEN in MAILDIR/new or
 * MAILDIR/cur (inside ROOT); *found ("new/NAME", malloc'd) or NULL when
 * none came. -1 when the Maildir cannot be read. */
int smoke_maildir_find(qi_handle *h, const char *maildir, const char *token, int timeout,
		       char **found);
/* Remove the file holding TOKEN (the test message, nothing else) from
 * MAILDIR/new or cur, wherever it is now; *removed its "new/NAME"
 * (malloc'd), NULL when it is gone already. */
int smoke_maildir_remove(qi_handle *h, const char *maildir, const char *token, char **removed);

#endif
