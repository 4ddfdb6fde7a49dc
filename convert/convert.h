/*
 * convert.h - the old MTA's configuration as qmail's: pure functions of
 * the text of its files (and of postconf's output) to the qmail files that
 * would result and an account of every setting (qinstall-migrate(8),
 * CONFIGURATION). Nothing here reads or writes a file, runs a program or
 * touches the handle: migrate/ reads the inputs from ROOT and decides what
 * to do with the result, and the unit tests and fuzz targets call these
 * directly.
 *
 * Memory: every string in a cv_result is malloc'd and owned by it;
 * cv_result_free frees them. The functions return 0, or -1 only when the
 * input is unusable as a whole (then ERR, a static message, says why);
 * a line they cannot read is an item with CV_NOT_CONVERTED, never a
 * failure, and nothing is silently dropped.
 */
#ifndef QI_CONVERT_H
#define QI_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

enum cv_outcome {
	CV_CONVERTED,		/* done as the old MTA meant it */
	CV_WARNED,		/* done, but not exactly: WHY says how it differs */
	CV_NOT_CONVERTED,	/* left out: WHY says why and what to do */
};

/* One setting of the old configuration (or one entry of one of its maps). */
struct cv_item {
	char *setting;		/* "myhostname", "/etc/aliases: root", "access: Connect:10.1" */
	char *before;		/* its value as the old MTA had it */
	char *after;		/* what it became ("control/me: mail.example.org"), "" when nothing */
	enum cv_outcome outcome;
	char *why;		/* NULL when converted as it was */
};

/* One file of qmail's that results, by a name relative to where it goes:
 *   "control/NAME"     qmail's control files (QMAIL/control/NAME)
 *   "alias/.qmail-X"   files in the alias user's home (~alias/.qmail-X)
 *   "tcp.smtp"         tcprules lines for qmail-smtpd (the profile's
 *                      [services] smtp_rules file, before its last
 *                      ":allow" line) */
struct cv_file {
	char *name;
	char *text;		/* whole lines, each ending in '\n' */
	size_t len;		/* strlen(text) */
	void *lines;		/* the converters' own: an index of its lines */
};

struct cv_result {
	struct cv_item *items;
	size_t nitems;
	struct cv_file *files;
	size_t nfiles;
	void *names;		/* the converters' own: an index of the files' names */
	char *me;		/* the host name found (control/me), or NULL */
	char *domain;		/* the mail domain found (defaultdomain), or NULL */
};

/* One input: a file's absolute path (as the old MTA names it) and its
 * text, or for Postfix the pseudo-names "postconf" (the output of
 * `postconf -x NAME...` for cv_postfix_names: NAME = VALUE lines, every
 * default resolved) and "postconf -n" (the output of `postconf -n`: the
 * names main.cf sets, so that none of them goes unreported). */
struct cv_input {
	const char *name;
	const char *text;
	size_t len;
};

struct cv_inputs {
	const struct cv_input *v;
	size_t n;
};

/* The text of input NAME, or NULL when it was not given. */
const struct cv_input *cv_input_find(const struct cv_inputs *in, const char *name);

/* Postfix: "postconf" (the names below, -x), and the files its maps name
 * (hash:/etc/postfix/virtual as "/etc/postfix/virtual", alias_maps'
 * "/etc/aliases", "/etc/mailname"). The names postconf must be asked for
 * are cv_postfix_names (NULL-terminated). */
extern const char *const cv_postfix_names[];
int cv_postfix(const struct cv_inputs *in, struct cv_result *out, const char **err);

/* Exim on Debian: "/etc/exim4/update-exim4.conf.conf", "/etc/aliases",
 * "/etc/mailname", "/etc/exim4/virtual" when there (read as
 * /etc/aliases is, one domain's aliases: not Debian's default). */
int cv_exim(const struct cv_inputs *in, struct cv_result *out, const char **err);

/* sendmail: "/etc/mail/local-host-names", "/etc/mail/relay-domains",
 * "/etc/mail/access", "/etc/mail/virtusertable", "/etc/mail/mailertable",
 * "/etc/mail/sendmail.mc" (SMART_HOST, confMAX_MESSAGE_SIZE, the host
 * name of define(`confDOMAIN_NAME')), "/etc/aliases". */
int cv_sendmail(const struct cv_inputs *in, struct cv_result *out, const char **err);

/* /etc/aliases (aliases(5): NAME: VALUE, VALUE...; continuation lines
 * that start with a blank; # comments) into alias/.qmail-NAME files:
 * addresses as &addr lines, /files as mbox lines, |commands as program
 * lines, :include: lists not converted. NAME's '.' becomes ':' as qmail
 * requires. SETTING_PREFIX names the items ("/etc/aliases"). Aliases that
 * qmail's own setup writes (postmaster, mailer-daemon, root) are
 * converted too: migrate decides which wins. */
int cv_aliases(const char *text, size_t len, const char *setting_prefix, struct cv_result *out);

/* ---- building a result (common.c), for the converters ---- */

/* Add an item (BEFORE, AFTER, WHY may be NULL; copied). */
void cv_item_add(struct cv_result *r, const char *setting, const char *before, const char *after,
		 enum cv_outcome outcome, const char *why);
/* Append LINE and a '\n' to the file NAME (made when new). */
void cv_file_line(struct cv_result *r, const char *name, const char *line);
/* The file NAME, or NULL. */
const struct cv_file *cv_file_find(const struct cv_result *r, const char *name);
void cv_result_free(struct cv_result *r);
/* "converted", "warned", "not converted". */
const char *cv_outcome_name(enum cv_outcome o);

#endif /* QI_CONVERT_H */
