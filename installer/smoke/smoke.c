/*
 * smoke.c - `qinstall smoke`: proves a provisioned server works. The
 * checks, in order: the SMTP greeting; a test message (its token in the
 * Subject and Message-ID) accepted for the admin; that message found in
 * the admin's Maildir inside ROOT (then removed); relaying to a domain
 * under .invalid refused from an address without RELAYCLIENT and
 * accepted from one with it (stopped after RCPT: nothing is queued);
 * a POP3 login and LIST. Each one is a {name, ok, detail} in "checks".
 */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "accounts/passwd.h"
#include "smoke/smoke.h"

#define SMOKE_RECORD "/var/lib/qinstall/provision.json"
#define SMOKE_FOREIGN "smoke-test@qinstall-smoke.invalid"

struct smoke {
	qi_handle *h;
	const struct qi_smoke_options *opt;
	json_t *checks;
	size_t failed;
	struct smoke_peer smtp;
	char *to;		/* the test message's address */
	char *maildir;		/* the admin's, inside ROOT; NULL: not looked into */
	char *no_maildir;	/* why not */
	char token[80];
};

static void check(struct smoke *s, const char *name, bool ok, bool skipped, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void check(struct smoke *s, const char *name, bool ok, bool skipped, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = NULL;
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	json_t *c = json_pack("{s:s, s:b, s:s, s:b}", "name", name, "ok", ok, "detail",
			      detail ? detail : "", "skipped", skipped);
	json_array_append_new(s->checks, c);
	if (!ok)
		s->failed++;
	free(detail);
}

/* "what the server answered", for a detail. */
static const char *answered(const struct smoke_reply *r, bool first)
{
	const char *line = first ? r->first : r->last;
	return line[0] ? line : r->why[0] ? r->why : "nothing";
}

/* The local ADMIN's Maildir, from ROOT's /etc/passwd; NULL with
 * s->no_maildir saying why. */
static void admin_maildir(struct smoke *s, const char *admin)
{
	char *text;
	size_t len;
	if (qi_root_read(s->h, "/etc/passwd", &text, &len) < 0) {
		s->no_maildir = qi_xasprintf("the admin %s: %s", admin, qi_errmsg(s->h));
		qi_clear_error(s->h);
		return;
	}
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, text, len);
	free(text);
	const struct qi_pwline *l = qi_pwdb_find_name(&db, admin);
	if (l && l->nfields > 5 && l->fields[5][0] == '/')
		s->maildir = qi_xasprintf("%s/Maildir", strcmp(l->fields[5], "/") ? l->fields[5] : "");
	else
		s->no_maildir = qi_xasprintf("the admin %s has no home in %s/etc/passwd", admin,
					     qi_root_is_host(s->h) ? "" : qi_root(s->h));
	qi_pwdb_free(&db);
}

/* The address (--to, or the admin's from the record) and the Maildir. */
static int target(struct smoke *s)
{
	const struct qi_smoke_options *o = s->opt;
	if (o->remote) {
		s->no_maildir = qi_xasprintf("--host %s without --root: no local root to look into", s->smtp.host);
		if (!o->to)
			return qi_error_kind(s->h, QI_ERR_USAGE, "smoke --host %s: give --to ADDRESS (the provision "
					     "record here is this machine's, not %s's)", s->smtp.host, s->smtp.host);
		s->to = qi_xstrdup(o->to);
		return 0;
	}
	char *domain = qi_provision_recorded(s->h, "domain"), *admin = qi_provision_recorded(s->h, "admin");
	bool local = admin && !strchr(admin, '@');
	int rc = 0;
	if (o->to)
		s->to = qi_xstrdup(o->to);
	else if (domain)
		s->to = qi_xasprintf("%s@%s", local ? admin : "postmaster", domain);
	else
		rc = qi_error_kind(s->h, QI_ERR_USAGE, "%s%s has no mail domain (was it provisioned?): give --to "
				   "ADDRESS", qi_root_is_host(s->h) ? "" : qi_root(s->h), SMOKE_RECORD);
	char *own = domain && local ? qi_xasprintf("%s@%s", admin, domain) : NULL;
	char *post = domain ? qi_xasprintf("postmaster@%s", domain) : NULL;
	if (rc == 0 && local && o->to && !(own && strcasecmp(o->to, own) == 0) &&
	    !(post && strcasecmp(o->to, post) == 0)) {
		s->no_maildir = qi_xasprintf("--to %s is not the admin's mailbox (%s or %s)", o->to,
					     own ? own : admin, post ? post : "postmaster");
		local = false;
	} else if (rc == 0 && !local)
		s->no_maildir = qi_xasprintf(admin ? "the admin %s is not a local mailbox" :
					     "%s names no admin", admin ? admin : SMOKE_RECORD);
	if (rc == 0 && local)
		admin_maildir(s, admin);
	free(own);
	free(post);
	free(domain);
	free(admin);
	return rc;
}

static char *message(struct smoke *s, size_t *len)
{
	unsigned char rnd[8] = { 0 };
	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, (int)getpid(), sizeof(rnd));
	snprintf(s->token, sizeof(s->token), "qinstall-smoke-%lld-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
		 (long long)time(NULL), (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		 rnd[6], rnd[7]);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&now, &tm));
	const char *at = strrchr(s->to, '@');
	char *m = qi_xasprintf("To: <%s>\r\nFrom: qinstall smoke test <qinstall-smoke@%s>\r\nSubject: qinstall smoke test %s\r\n"
			       "Message-ID: <%s@qinstall-smoke.invalid>\r\nDate: %s\r\n\r\n"
			       "This message was sent by `qinstall smoke` to see that mail is delivered.\r\n"
			       "qinstall removes it from the admin's Maildir when it finds it there.\r\n",
			       s->to, at ? at + 1 : "localhost", s->token, s->token, date);
	*len = strlen(m);
	return m;
}

/* 1: the greeting. */
static bool check_greeting(struct smoke *s)
{
	struct smoke_reply r;
	const struct smoke_peer *p = &s->smtp;
	if (smoke_smtp_greeting(p, &r) == 0) {
		check(s, "greeting", true, false, "%s:%d greets: %s", p->host, p->port, r.first);
		return true;
	}
	check(s, "greeting", false, false, "%s:%d: no 220 greeting (%s%s%s): is qmail-smtpd running "
	      "under tcpserver on that port?", p->host, p->port, answered(&r, true),
	      r.first[0] && r.why[0] ? "; " : "", r.first[0] ? r.why : "");
	return false;
}

/* 2: the test message accepted. */
static bool check_accepted(struct smoke *s)
{
	size_t len;
	char *m = message(s, &len);
	struct smoke_reply r;
	const struct smoke_peer *p = &s->smtp;
	int rc = smoke_smtp_send(p, s->to, m, len, &r);
	free(m);
	if (rc == 0)
		check(s, "accepted", true, false, "%s:%d accepted the test message %s for %s: %s", p->host,
		      p->port, s->token, s->to, r.last);
	else
		check(s, "accepted", false, false, "%s:%d did not accept a message for %s: %s%s%s", p->host,
		      p->port, s->to, answered(&r, false), r.last[0] && r.why[0] ? "; " : "",
		      r.last[0] ? r.why : "");
	return rc == 0;
}

/* 3: the message in the Maildir; *found what was (malloc'd). */
static void check_delivered(struct smoke *s, bool sent, char **found)
{
	*found = NULL;
	char *where = s->maildir ? qi_root_path(s->h, s->maildir) : NULL;
	int timeout = s->opt->timeout > 0 ? s->opt->timeout : 30;
	if (!s->maildir)
		check(s, "delivered", true, true, "skipped: %s", s->no_maildir);
	else if (!sent)
		check(s, "delivered", false, false, "no test message to look for in %s: it was not accepted", where);
	else if (smoke_maildir_find(s->h, s->maildir, s->token, timeout, found) < 0) {
		check(s, "delivered", false, false, "%s", qi_errmsg(s->h));
		qi_clear_error(s->h);
	} else if (!*found)
		check(s, "delivered", false, false, "the test message %s is not in %s/new or cur after %d s: "
		      "see qmail-send's log", s->token, where, timeout);
	else
		check(s, "delivered", true, false, "the test message is in %s/%s", where, *found);
	free(where);
}

/* 4 and 5: RCPT to a foreign domain from FROM, refused (553) or not. */
static void check_relay(struct smoke *s, const char *name, const char *from, bool refused)
{
	struct smoke_peer p = s->smtp;
	p.from = from;
	struct smoke_reply r;
	bool at_mail;
	int rc = smoke_smtp_rcpt(&p, SMOKE_FOREIGN, &r, &at_mail);
	bool ok = rc == 0 && (refused ? r.code == 553 : r.code / 100 == 2);
	if (rc < 0)
		check(s, name, false, false, "%s:%d from %s: %s %s%s%s", p.host, p.port, from,
		      at_mail ? "MAIL FROM:<> got" : "RCPT got", answered(&r, false),
		      r.last[0] && r.why[0] ? "; " : "", r.last[0] ? r.why : "");
	else if (ok)
		check(s, name, true, false, "%s:%d from %s: RCPT TO:<%s> %s: %s", p.host, p.port, from,
		      SMOKE_FOREIGN, refused ? "refused" : "accepted (then RSET, no DATA)", r.last);
	else
		check(s, name, false, false, "%s:%d from %s: RCPT TO:<%s> answered %s, wanted %s", p.host,
		      p.port, from, SMOKE_FOREIGN, r.last, refused ?
		      "553 (an open relay? see /etc/tcp.smtp: only 127.0.0.1 gets RELAYCLIENT)" :
		      "250 (does /etc/tcp.smtp.cdb give this address RELAYCLIENT?)");
}

/* 6: POP3. */
static void check_pop3(struct smoke *s)
{
	const struct qi_smoke_options *o = s->opt;
	struct smoke_peer p = s->smtp;
	p.port = o->pop3_port > 0 ? o->pop3_port : 110;
	if (!o->pop3_user) {
		check(s, "pop3", true, true, "skipped: no --pop3-user given");
		return;
	}
	struct smoke_reply r;
	long n = 0;
	int rc;
	/* qmail-pop3d lists only the messages older than the current second
	 * (its maildir scan leaves the newest alone): a message delivered a
	 * moment ago shows on the next try. */
	for (int tries = 0; (rc = smoke_pop3_list(&p, o->pop3_user, o->pop3_pass ? o->pop3_pass : "",
						&n, &r)) == 0 && n < 1 && tries < 2; tries++)
		usleep(1200 * 1000);
	if (rc < 0)
		check(s, "pop3", false, false, "%s:%d: login as %s failed: %s", p.host, p.port, o->pop3_user,
		      answered(&r, false));
	else if (n < 1)
		check(s, "pop3", false, false, "%s:%d: %s logged in, but LIST shows no message", p.host, p.port,
		      o->pop3_user);
	else
		check(s, "pop3", true, false, "%s:%d: %s logged in, LIST shows %ld message%s", p.host, p.port,
		      o->pop3_user, n, n == 1 ? "" : "s");
}

/* The test message removed; said in check 3's detail. */
static void remove_found(struct smoke *s, json_t *delivered)
{
	char *gone = NULL;
	const char *was = json_string_value(json_object_get(delivered, "detail"));
	char *detail;
	if (smoke_maildir_remove(s->h, s->maildir, s->token, &gone) < 0) {
		detail = qi_xasprintf("%s, but %s", was, qi_errmsg(s->h));
		qi_clear_error(s->h);
		json_object_set_new(delivered, "ok", json_false());
		s->failed++;
	} else {
		detail = qi_xasprintf("%s, removed%s", was, gone ? "" : " (by someone else)");
	}
	json_object_set_new(delivered, "detail", json_string(detail));
	free(detail);
	free(gone);
}

int qi_smoke(qi_handle *h, const struct qi_smoke_options *opt)
{
	static bool curl_ready;
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return qi_error(h, "cannot initialise libcurl");
	curl_ready = true;
	struct smoke s = { .h = h, .opt = opt, .checks = json_array() };
	s.smtp = (struct smoke_peer){ .host = opt->host ? opt->host : "127.0.0.1",
				      .port = opt->port > 0 ? opt->port : 25, .timeout = 30 };
	json_object_set_new(qi_result(h), "checks", s.checks);
	int rc = target(&s);
	if (rc == 0) {
		bool up = check_greeting(&s);
		bool sent = up && check_accepted(&s);
		if (!up)
			check(&s, "accepted", false, false, "not tried: no greeting");
		char *found;
		check_delivered(&s, sent, &found);
		check_relay(&s, "relay-refused", opt->foreign_from ? opt->foreign_from : "127.0.0.2", true);
		check_relay(&s, "relay-allowed", opt->relay_from ? opt->relay_from : "127.0.0.1", false);
		check_pop3(&s);
		if (found)
			remove_found(&s, json_array_get(s.checks, 2));
		free(found);
	}
	size_t n = json_array_size(s.checks), skipped = 0, i;
	json_t *c;
	json_array_foreach(s.checks, i, c)
		skipped += json_is_true(json_object_get(c, "skipped"));
	if (rc == 0 && s.failed)
		rc = qi_error_kind(h, QI_ERR_FAILED, "%zu of %zu smoke checks failed on %s:%d", s.failed, n,
				   s.smtp.host, s.smtp.port);
	else if (rc == 0 && skipped)
		qi_set_msg(h, "%zu smoke checks passed on %s:%d (%zu skipped)", n - skipped, s.smtp.host,
			   s.smtp.port, skipped);
	else if (rc == 0)
		qi_set_msg(h, "all %zu smoke checks passed on %s:%d", n, s.smtp.host, s.smtp.port);
	free(s.to);
	free(s.maildir);
	free(s.no_maildir);
	return rc;
}
