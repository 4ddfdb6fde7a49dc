/*
 * mailconf.c - qmail's first configuration, the provision step of
 * [mail] configure = yes (what the seed guide's config-fast does, done
 * idempotently): QMAIL/control/{me,defaultdomain,plusdomain,locals,
 * rcpthosts,defaultdelivery}, ~alias/.qmail-{postmaster,mailer-daemon,root}
 * for the admin, the admin's Maildir, QMAIL/rc (payload/qmail/rc.in) and
 * the sendmail links, all through the journal in provision's run.
 *
 * Every content is computed, never appended, so running it again writes
 * nothing. A file the administrator owns is left as it is, with a
 * warning: one that qinstall never wrote, or one whose content is no
 * longer what qinstall's last write of it left (qi_journal_last_image).
 * A sendmail path that another MTA holds is left for `qinstall migrate`.
 *
 * With [mail] tls_cert (the tls-smtpauth option): control/servercert.pem,
 * the key and certificate of qmail-smtpd's STARTTLS (tlscert.c), qmaild's
 * and group qmail's only (0640, as the patch's `make cert` makes it), and
 * control/clientcert.pem linked to it (qmail-remote's, as qmailr). A
 * generated one is made once: never again over a file that is there.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts/passwd.h"
#include "provision/provision.h"

enum mc_kind { MC_DIR, MC_FILE, MC_LINK };
enum mc_action { MC_SAME, MC_CREATE, MC_REPLACE, MC_LEFT };

struct mc_item {
	enum mc_kind kind;
	char *path;
	char *data;		/* a file's content, a link's target */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool guarded;		/* the administrator's edits are kept */
	bool listed;		/* in "control" even when nothing is done (dirs are not) */
	bool secret;		/* never shown in a plan's diff (a private key) */
	bool generate;		/* made (DATA) only where nothing is: kept once there */
	bool admin_link;	/* a link of qmail's own, not the sendmail one */
	bool other_mta;		/* MC_LEFT: a sendmail link another MTA owns */
	enum mc_action action;	/* from scan() */
	char *why;		/* MC_LEFT: whose it is */
	const char *remedy;	/* MC_LEFT: what to do to have qinstall's */
};

struct qi_mailconf {
	char *domain, *admin, *qmail;
	char *rcpthosts;		/* its path */
	const char *tls_type;		/* a generated certificate's key type */
	int tls_days;
	struct mc_item *it;
	size_t n;
	bool takeover;		/* another MTA's links are migrate's to take */
};

static const char *const action_names[] = { "same", "create", "replace", "left" };

static const char take_ours[] = "to take qinstall's version, remove it and provision again";

/* ---- the domain ---- */

/* The host's fully qualified name: gethostname, or what the resolver
 * gives as the canonical name of a name without a dot. Malloc'd. */
static char *host_fqdn(void)
{
	char name[256];
	if (gethostname(name, sizeof(name) - 1) < 0)
		return NULL;
	name[sizeof(name) - 1] = '\0';
	char *out = NULL;
	if (!strchr(name, '.')) {
		struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM }, *res;
		if (getaddrinfo(name, NULL, &hints, &res) == 0) {
			if (res->ai_canonname && strchr(res->ai_canonname, '.'))
				out = qi_xstrdup(res->ai_canonname);
			freeaddrinfo(res);
		}
	}
	if (!out)
		out = qi_xstrdup(name);
	size_t n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	return out;
}

json_t *qi_provision_record_load(qi_handle *h)
{
	char *text = NULL;
	size_t len;
	struct stat st;
	if (qi_root_lstat(h, QI_PROVISION_RECORD, &st) < 0 || !S_ISREG(st.st_mode) ||
	    qi_root_read(h, QI_PROVISION_RECORD, &text, &len) < 0) {
		qi_clear_error(h);
		return NULL;
	}
	json_t *rec = json_loadb(text, len, 0, NULL);
	free(text);
	return rec;
}

/* KEY ("domain", "admin") of the last provision's record in ROOT, so
 * that provisioning again without --domain or --admin keeps what the
 * first one was given (and the smoke test knows the admin). */
char *qi_provision_recorded(qi_handle *h, const char *key)
{
	char *out = NULL;
	json_t *rec = qi_provision_record_load(h);
	const char *v = json_string_value(json_object_get(rec, key));
	if (v && *v)
		out = qi_xstrdup(v);
	json_decref(rec);
	return out;
}

static int mail_domain(qi_handle *h, const struct qi_profile *p, struct qi_mailconf *mc)
{
	const char *d = qi_profile_get(p, "mail", "domain");
	if (d) {
		mc->domain = qi_xstrdup(d);	/* checked by the profile */
		return 0;
	}
	char *last = qi_provision_recorded(h, "domain");
	if (last && !qi_domain_invalid(last)) {
		mc->domain = last;
		return 0;
	}
	free(last);
	char *host = host_fqdn();
	if (!host || !strchr(host, '.')) {
		int rc = qi_error_kind(h, QI_ERR_USAGE, "%s: [mail] configure = yes needs the mail domain, and "
				       "the host name '%s' has no dot (not a fully qualified name): give --domain "
				       "DOMAIN (or [mail] domain)", qi_profile_file(p), host ? host : "");
		free(host);
		return rc;
	}
	const char *why = qi_domain_invalid(host);
	if (why) {
		int rc = qi_error_kind(h, QI_ERR_USAGE, "the host's name '%s' is not a valid mail domain (%s): "
				       "give --domain DOMAIN (or [mail] domain)", host, why);
		free(host);
		return rc;
	}
	mc->domain = host;
	return 0;
}

/* ---- the admin ---- */

struct admin {
	bool local;
	uid_t uid;
	gid_t gid;
	char *home;		/* a local admin's */
};

/* A local admin: a user of ROOT's /etc/passwd with a home, not root. */
static int local_admin(qi_handle *h, const char *name, struct admin *a)
{
	char *text;
	size_t len;
	if (qi_root_read(h, "/etc/passwd", &text, &len) < 0)
		return qi_error_prefix(h, "the admin %s", name);
	struct qi_pwdb db;
	qi_pwdb_parse(&db, QI_PW_PASSWD, text, len);
	free(text);
	const struct qi_pwline *l = qi_pwdb_find_name(&db, name);
	char *where = qi_root_path(h, "/etc/passwd");
	int rc = 0;
	if (!l)
		rc = qi_error_kind(h, QI_ERR_USAGE, "the admin '%s' is no user in %s: make the user first, or "
				   "give --admin USER|ADDRESS of a mailbox that exists", name, where);
	else if (l->id == 0)
		rc = qi_error_kind(h, QI_ERR_USAGE, "the admin '%s' is root (uid 0 in %s): qmail never delivers "
				   "to root: give --admin USER or ADDRESS", name, where);
	else if (l->fields[5][0] != '/')
		rc = qi_error_kind(h, QI_ERR_USAGE, "the admin '%s' has no home directory in %s: give the user "
				   "a home (for its Maildir) or give --admin ADDRESS", name, where);
	if (rc == 0) {
		a->uid = (uid_t)l->id;
		a->gid = (gid_t)l->gid;
		a->home = qi_xstrdup(l->fields[5]);
	}
	free(where);
	qi_pwdb_free(&db);
	return rc;
}

static int mail_admin(qi_handle *h, const struct qi_profile *p, struct qi_mailconf *mc, struct admin *a)
{
	const char *v = qi_profile_get(p, "mail", "admin");
	char *last = v ? NULL : qi_provision_recorded(h, "admin");
	if (last && strcmp(last, "root") != 0)
		v = last;
	if (!v || strcmp(v, "root") == 0) {
		free(last);
		return qi_error_kind(h, QI_ERR_USAGE, "%s: [mail] configure = yes, and %s: qmail never delivers "
				     "to root: give --admin USER or ADDRESS (or [mail] admin), the mailbox of "
				     "postmaster, mailer-daemon and root", v ? qi_profile_origin(p, "mail", "admin") :
				     qi_profile_file(p), v ? "the admin is root" : "no admin is given");
	}
	mc->admin = qi_xstrdup(v);
	free(last);
	a->local = !strchr(mc->admin, '@');
	return a->local ? local_admin(h, mc->admin, a) : 0;
}

/* ---- the items ---- */

static struct mc_item *add(struct qi_mailconf *mc, enum mc_kind kind, char *path, char *data, mode_t mode,
			   uid_t uid, gid_t gid)
{
	mc->it = qi_xrealloc(mc->it, (mc->n + 1) * sizeof(*mc->it));
	struct mc_item *it = &mc->it[mc->n++];
	*it = (struct mc_item){ .kind = kind, .path = path, .data = data, .mode = mode, .uid = uid,
				.gid = gid, .guarded = kind == MC_FILE, .listed = kind != MC_DIR };
	return it;
}

/* PATH and each missing directory above it (not yet among the items),
 * parents first; those above get root's 0755. */
static void add_dir(qi_handle *h, struct qi_mailconf *mc, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char *p = qi_xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		struct stat st;
		bool known = false;
		for (size_t i = 0; i < mc->n && !known; i++)
			known = strcmp(mc->it[i].path, p) == 0;
		if (!known && (c == '\0' || qi_root_lstat(h, p, &st) < 0))
			add(mc, MC_DIR, qi_xstrdup(p), NULL, c ? 0755 : mode, c ? 0 : uid, c ? 0 : gid);
		*s = c;
		if (!c)
			break;
	}
	free(p);
}

static void add_control(qi_handle *h, struct qi_mailconf *mc, const char *name, const char *line)
{
	add(mc, MC_FILE, qi_xasprintf("%s/control/%s", mc->qmail, name), qi_xasprintf("%s\n", line), 0644, 0, 0);
}

/* The admin's Maildir, when the home exists and has none. */
static void add_maildir(qi_handle *h, struct qi_mailconf *mc, const struct admin *a)
{
	struct stat st;
	char *md = qi_xasprintf("%s/Maildir", strcmp(a->home, "/") ? a->home : "");
	if (qi_root_lstat(h, a->home, &st) < 0) {
		qi_warn(h, "the admin's home %s%s does not exist: no Maildir made (make it, then provision again)",
			qi_root(h), a->home);
	} else if (qi_root_lstat(h, md, &st) == 0) {
		add(mc, MC_DIR, qi_xstrdup(md), NULL, 0700, a->uid, a->gid)->listed = true;
	} else {
		add(mc, MC_DIR, qi_xstrdup(md), NULL, 0700, a->uid, a->gid)->listed = true;
		static const char *const sub[] = { "cur", "new", "tmp" };
		for (int i = 0; i < 3; i++)
			add(mc, MC_DIR, qi_xasprintf("%s/%s", md, sub[i]), NULL, 0700, a->uid, a->gid)->listed = true;
	}
	free(md);
}

/* [mail] tls_cert: control/servercert.pem (generated, or from the host's
 * files) and the clientcert.pem link. */
static int add_tls(qi_handle *h, const struct qi_profile *p, struct qi_mailconf *mc,
		   const struct qi_account_ids *ids)
{
	const char *cert = qi_profile_get(p, "mail", "tls_cert");
	if (!cert || !*cert)
		return 0;
	bool gen = strcmp(cert, "generate") == 0;
	if (!gen && (cert[0] != '/' || qi_path_has_dotdot(cert)))
		return qi_error_kind(h, QI_ERR_USAGE, "%s: [mail] tls_cert = %s: expected `generate` or the absolute "
				     "path of a PEM certificate on this host", qi_profile_origin(p, "mail", "tls_cert"),
				     cert);
	char *pem = NULL;
	if (!gen && qi_tlscert_from_files(h, cert, qi_profile_get(p, "mail", "tls_key"), &pem) < 0)
		return qi_error_prefix(h, "%s", qi_profile_origin(p, "mail", "tls_cert"));
	mc->tls_type = qi_profile_get(p, "mail", "tls_key_type");
	mc->tls_days = atoi(qi_profile_get(p, "mail", "tls_days"));
	struct mc_item *it = add(mc, MC_FILE, qi_xasprintf("%s/control/servercert.pem", mc->qmail), pem, 0640,
				 (uid_t)ids->id[QI_ACCT_QMAILD], (gid_t)ids->id[QI_ACCT_QMAIL]);
	it->secret = true;
	it->generate = gen;
	it = add(mc, MC_LINK, qi_xasprintf("%s/control/clientcert.pem", mc->qmail), qi_xstrdup("servercert.pem"),
		 0, 0, 0);
	it->admin_link = true;
	return 0;
}

static int add_items(qi_handle *h, const struct qi_profile *p, struct qi_mailconf *mc, const struct admin *a,
		     const struct qi_account_ids *ids)
{
	char *tpl = qi_payload_template(h, "qmail/rc.in");
	if (!tpl)
		return -1;
	gid_t qmail_gid = (gid_t)ids->id[QI_ACCT_QMAIL];
	uid_t alias_uid = (uid_t)ids->id[QI_ACCT_ALIAS];
	gid_t nofiles_gid = (gid_t)ids->id[QI_ACCT_NOFILES];
	/* hier.c's owners and modes */
	add_dir(h, mc, mc->qmail, 0755, 0, qmail_gid);
	char *dir = qi_xasprintf("%s/control", mc->qmail);
	add_dir(h, mc, dir, 0755, 0, qmail_gid);
	free(dir);
	dir = qi_xasprintf("%s/alias", mc->qmail);
	add_dir(h, mc, dir, 02755, alias_uid, qmail_gid);
	free(dir);
	const char *d = mc->domain, *dot = strchr(d, '.');
	const char *parent = strchr(dot + 1, '.') ? dot + 1 : d;	/* three labels or more */
	add_control(h, mc, "me", d);
	add_control(h, mc, "defaultdomain", parent);
	add_control(h, mc, "plusdomain", parent);
	add_control(h, mc, "locals", d);
	add_control(h, mc, "rcpthosts", d);
	mc->rcpthosts = qi_xstrdup(mc->it[mc->n - 1].path);
	add_control(h, mc, "defaultdelivery", "./Maildir/");
	if (add_tls(h, p, mc, ids) < 0) {
		free(tpl);
		return -1;
	}
	static const char *const aliases[] = { "postmaster", "mailer-daemon", "root" };
	for (int i = 0; i < 3; i++)
		add(mc, MC_FILE, qi_xasprintf("%s/alias/.qmail-%s", mc->qmail, aliases[i]),
		    qi_xasprintf("&%s\n", mc->admin), 0644, alias_uid, nofiles_gid);
	const char *name = strrchr(qi_profile_file(p), '/');
	char *t1 = qi_template_replace(tpl, "@QMAIL@", mc->qmail);
	add(mc, MC_FILE, qi_xasprintf("%s/rc", mc->qmail),
	    qi_template_replace(t1, "@PROFILE@", name ? name + 1 : qi_profile_file(p)), 0755, 0, 0);
	free(t1);
	free(tpl);
	if (a->local)
		add_maildir(h, mc, a);
	static const char *const links[] = { "/usr/sbin/sendmail", "/usr/lib/sendmail" };
	for (int i = 0; i < 2; i++) {
		dir = qi_xstrdup(links[i]);
		*strrchr(dir, '/') = '\0';
		add_dir(h, mc, dir, 0755, 0, 0);
		free(dir);
		add(mc, MC_LINK, qi_xstrdup(links[i]), qi_xasprintf("%s/bin/sendmail", mc->qmail), 0, 0, 0);
	}
	return 0;
}

/* ---- another MTA's configuration (qi_migrate's) ---- */

/* Whether TEXT has the line LINE (without its '\n'), LEN bytes. */
static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (strncmp(s, line, len) == 0 && (s[len] == '\n' || s[len] == '\0'))
			return true;
	return false;
}

/* DATA (malloc'd, whole lines) with each line of ADD it lacks, after its own. */
static char *merge_lines(char *data, const char *add)
{
	struct qi_buf b = { 0 };
	qi_buf_addf(&b, "%s", data);
	for (const char *s = add; *s;) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len && !has_line(b.data, s, len))
			qi_buf_addf(&b, "%.*s\n", (int)len, s);
		s += len + (e != NULL);
	}
	free(data);
	return b.data ? b.data : qi_xstrdup("");
}

/* CONV's files over the items: where each goes, merged or replacing. A
 * name that is not control/NAME or alias/.qmail-NAME is a bug of the
 * caller's, said and skipped. */
static void add_conversion(qi_handle *h, struct qi_mailconf *mc, const struct qi_mail_conversion *conv,
			   const struct qi_account_ids *ids)
{
	for (size_t i = 0; conv && i < conv->n; i++) {
		const char *name = conv->names[i], *text = conv->texts[i];
		bool control = strncmp(name, "control/", 8) == 0;
		const char *base = control ? name + 8 : strncmp(name, "alias/.qmail-", 13) == 0 ? name + 6 : NULL;
		if (!base || !base[control ? 0 : 7] || strchr(base, '/') || strstr(name, "..")) {
			qi_warn(h, "%s: a file %s, which is not one of qmail's control or alias files: not "
				"written", conv->origin ? conv->origin : "the conversion", name);
			continue;
		}
		/* the domain decides control/me, and the three below unless
		 * it is the one the old configuration had */
		if (control && (strcmp(base, "me") == 0 ||
				((strcmp(base, "defaultdomain") == 0 || strcmp(base, "plusdomain") == 0 ||
				  strcmp(base, "defaulthost") == 0) &&
				 (!conv->domain || strcmp(conv->domain, mc->domain) != 0))))
			continue;
		char *path = qi_xasprintf("%s/%s/%s", mc->qmail, control ? "control" : "alias", base);
		struct mc_item *it = NULL;
		for (size_t j = 0; j < mc->n && !it; j++)
			if (mc->it[j].kind == MC_FILE && strcmp(mc->it[j].path, path) == 0)
				it = &mc->it[j];
		if (it && control && (strcmp(base, "locals") == 0 || strcmp(base, "rcpthosts") == 0)) {
			it->data = merge_lines(it->data, text);
		} else if (it) {
			free(it->data);
			it->data = qi_xstrdup(text);
		} else {
			add(mc, MC_FILE, path, qi_xstrdup(text), 0644, control ? 0 : (uid_t)ids->id[QI_ACCT_ALIAS],
			    control ? 0 : (gid_t)ids->id[QI_ACCT_NOFILES]);
			path = NULL;
		}
		free(path);
	}
}

void qi_mailconf_free(struct qi_mailconf *mc)
{
	if (!mc)
		return;
	for (size_t i = 0; i < mc->n; i++) {
		free(mc->it[i].path);
		if (mc->it[i].secret && mc->it[i].data)
			explicit_bzero(mc->it[i].data, strlen(mc->it[i].data));	/* a private key */
		free(mc->it[i].data);
		free(mc->it[i].why);
	}
	free(mc->it);
	free(mc->domain);
	free(mc->admin);
	free(mc->qmail);
	free(mc->rcpthosts);
	free(mc);
}

/* ---- what is there: scan ---- */

/* A file: absent, the administrator's (left), or qinstall's (same or
 * replaced). */
static int scan_generated(qi_handle *h, struct qi_mailconf *mc, struct mc_item *it, const struct qi_image *live);

static int scan_file(qi_handle *h, struct qi_mailconf *mc, struct mc_item *it)
{
	struct qi_image live, last;
	bool found;
	if (qi_image_path(h, it->path, true, &live) < 0)
		return -1;
	if (it->generate) {
		int rc = scan_generated(h, mc, it, &live);
		qi_image_clear(&live);
		return rc;
	}
	char hash[QI_SHA256_HEX + 1];
	qi_sha256_buf(it->data, strlen(it->data), hash);
	bool same_content = live.type == QI_FT_REG && strcmp(live.hash, hash) == 0;
	int rc = 0;
	if (live.type == QI_FT_ABSENT) {
		it->action = MC_CREATE;
	} else if (same_content && live.mode == it->mode && live.uid == it->uid && live.gid == it->gid) {
		it->action = MC_SAME;
	} else if (live.type != QI_FT_REG) {
		it->action = MC_LEFT;
		it->why = qi_xasprintf("it is a %s, not a file qinstall wrote", qi_ftype_name(live.type));
		it->remedy = take_ours;
	} else if ((rc = qi_journal_last_image(h, it->path, &last, &found)) == 0) {
		bool ours = found && last.type == QI_FT_REG && strcmp(last.hash, live.hash) == 0;
		if (ours || same_content) {
			it->action = ours ? MC_REPLACE : MC_SAME;
		} else {
			it->action = MC_LEFT;
			it->why = qi_xstrdup(found ? "the administrator changed it since qinstall wrote it" :
					     "qinstall did not write it (it is the administrator's)");
		}
		it->remedy = take_ours;
		qi_image_clear(&last);
	}
	qi_image_clear(&live);
	return rc;
}

/* A generated file: made where nothing is (the content generated then,
 * once), kept as it is once there: qinstall's own unchanged (same), or
 * the administrator's (left). */
static int scan_generated(qi_handle *h, struct qi_mailconf *mc, struct mc_item *it, const struct qi_image *live)
{
	struct qi_image last;
	bool found;
	if (live->type == QI_FT_ABSENT) {
		it->action = MC_CREATE;
		if (!it->data && qi_tlscert_generate(h, mc->domain, mc->tls_type, mc->tls_days, &it->data) < 0)
			return -1;
		return 0;
	}
	if (qi_journal_last_image(h, it->path, &last, &found) < 0)
		return -1;
	bool ours = found && live->type == QI_FT_REG && last.type == QI_FT_REG && strcmp(last.hash, live->hash) == 0;
	qi_image_clear(&last);
	it->action = ours ? MC_SAME : MC_LEFT;
	if (!ours) {
		it->why = qi_xstrdup(found ? "the administrator changed it since qinstall generated it" :
				     "qinstall did not write it (it is the administrator's)");
		it->remedy = "qinstall generates a certificate only where none is: to have a new one, remove it "
			"and provision again";
	}
	return 0;
}

/* A sendmail link: ours to make only where no other MTA is. */
static void scan_link(qi_handle *h, struct mc_item *it)
{
	struct stat st;
	if (qi_root_lstat(h, it->path, &st) < 0) {
		it->action = MC_CREATE;
		return;
	}
	char *target = S_ISLNK(st.st_mode) ? qi_stage_readlink(h, it->path) : NULL;
	if (target && strcmp(target, it->data) == 0) {
		it->action = MC_SAME;
	} else if (it->admin_link) {
		it->action = MC_LEFT;
		it->why = qi_xstrdup(target ? "the administrator's link" : "the administrator's");
		it->remedy = take_ours;
	} else {
		it->action = MC_LEFT;
		it->why = target ? qi_xasprintf("owned by another MTA: a link to %s", target) :
			qi_xasprintf("owned by another MTA: a %s", S_ISDIR(st.st_mode) ? "directory" : "file");
		it->remedy = "`qinstall migrate` takes it over";
		it->other_mta = true;
	}
	free(target);
}

/* Whether TEXT names no domain: only blank and comment lines. */
static bool no_domain(const char *text)
{
	for (const char *s = text; *s; s++)
		if (*s == '#')
			s += strcspn(s, "\n") - 1;
		else if (!strchr(" \t\r\n", *s))
			return false;
	return true;
}

/* An rcpthosts that stays must name a domain: an empty one makes
 * qmail-1.03's qmail-smtpd an open relay. */
static int check_rcpthosts(qi_handle *h, struct qi_mailconf *mc, const struct mc_item *it)
{
	if (it->action != MC_LEFT)
		return 0;
	char *text = NULL;
	size_t len;
	bool empty = qi_root_read(h, it->path, &text, &len) < 0 || no_domain(text);
	qi_clear_error(h);
	free(text);
	if (!empty)
		return 0;
	char *where = qi_root_path(h, it->path);
	int rc = qi_error(h, "%s is empty (no line names a domain): qmail-smtpd would then relay mail for "
			  "anyone (an open relay). Write into it the domains this host receives mail for, one a "
			  "line, or remove it so that qinstall writes %s; then provision again (nothing was "
			  "written)", where, mc->domain);
	free(where);
	return rc;
}

static int scan(qi_handle *h, struct qi_mailconf *mc)
{
	for (size_t i = 0; i < mc->n; i++) {
		struct mc_item *it = &mc->it[i];
		struct stat st;
		free(it->why);
		it->why = NULL;
		it->other_mta = false;
		if (it->kind == MC_DIR)
			it->action = qi_root_lstat(h, it->path, &st) == 0 ? MC_SAME : MC_CREATE;
		else if (it->kind == MC_LINK)
			scan_link(h, it);
		else if (scan_file(h, mc, it) < 0)
			return -1;
		if (it->kind == MC_FILE && strcmp(it->path, mc->rcpthosts) == 0 && check_rcpthosts(h, mc, it) < 0)
			return -1;
	}
	return 0;
}

/* ---- the API ---- */

int qi_mailconf_prepare(qi_handle *h, const struct qi_profile *p, const struct qi_account_ids *ids,
			const struct qi_mail_conversion *conv, struct qi_mailconf **out)
{
	*out = NULL;
	if (!qi_profile_bool(p, "mail", "configure"))
		return 0;
	struct qi_mailconf *mc = calloc(1, sizeof(*mc));
	struct admin a = { 0 };
	if (!mc)
		abort();
	mc->qmail = qi_path_normalise(qi_profile_get(p, "accounts", "qmail_home"), 0);
	int rc = mail_domain(h, p, mc);
	if (rc == 0)
		rc = mail_admin(h, p, mc, &a);
	if (rc == 0)
		rc = add_items(h, p, mc, &a, ids);
	if (rc == 0)
		add_conversion(h, mc, conv, ids);
	if (rc == 0)
		rc = scan(h, mc);
	free(a.home);
	if (rc < 0) {
		qi_mailconf_free(mc);
		return -1;
	}
	*out = mc;
	return 0;
}

void qi_mailconf_takeover(struct qi_mailconf *mc)
{
	if (mc)
		mc->takeover = true;
}

/* The warnings for what is left, and "mail" into the result. */
static void report(qi_handle *h, const struct qi_mailconf *mc)
{
	json_t *control = json_array(), *warnings = json_array();
	struct qi_buf sendmail = { 0 };
	for (size_t i = 0; i < mc->n; i++) {
		const struct mc_item *it = &mc->it[i];
		if (it->listed || it->action != MC_SAME)
			json_array_append_new(control, json_pack("{s:s, s:s}", "path", it->path, "action",
								 action_names[it->action]));
		if (it->kind == MC_LINK && it->action == MC_LEFT)
			qi_buf_addf(&sendmail, "%s%s %s", sendmail.len ? "; " : "left: ", it->path, it->why);
		if (it->action != MC_LEFT)
			continue;
		char *where = qi_root_path(h, it->path);
		if (it->other_mta && mc->takeover) {
			qi_info(h, "%s: %s: left to the takeover's link step", where, it->why);
			free(where);
			continue;
		}
		char *w = qi_xasprintf("%s: %s: left as it is; %s", where, it->why, it->remedy);
		qi_warn(h, "%s", w);
		json_array_append_new(warnings, json_string(w));
		free(w);
		free(where);
	}
	json_object_set_new(qi_result(h), "mail",
			    json_pack("{s:s, s:s, s:o, s:s, s:o}", "domain", mc->domain, "admin", mc->admin,
				      "control", control, "sendmail", sendmail.data ? sendmail.data : "linked",
				      "warnings", warnings));
	qi_buf_free(&sendmail);
}

/* Whether IT is a change to make. */
static bool to_do(const struct mc_item *it)
{
	return it->action == MC_CREATE || it->action == MC_REPLACE;
}

/* What is there now, with its warnings and the result. */
static int scan_report(qi_handle *h, struct qi_mailconf *mc)
{
	if (scan(h, mc) < 0)
		return -1;
	report(h, mc);
	return 0;
}

int qi_mailconf_pending(qi_handle *h, struct qi_mailconf *mc, bool *pending)
{
	*pending = false;
	if (!mc)
		return 0;
	if (scan(h, mc) < 0)
		return -1;
	for (size_t i = 0; i < mc->n; i++)
		*pending |= to_do(&mc->it[i]);
	if (!*pending)
		report(h, mc);
	return 0;
}

int qi_mailconf_commit(qi_handle *h, struct qi_mailconf *mc)
{
	if (!mc)
		return 0;
	if (scan_report(h, mc) < 0)
		return -1;
	for (size_t i = 0; i < mc->n; i++) {
		const struct mc_item *it = &mc->it[i];
		int rc = 0;
		if (!to_do(it))
			continue;
		if (it->kind == MC_DIR)
			rc = qi_mkdir(h, it->path, it->mode, it->uid, it->gid);
		else if (it->kind == MC_FILE)
			rc = qi_write_file(h, it->path, it->data, strlen(it->data), it->mode, it->uid, it->gid);
		else
			rc = qi_symlink(h, it->path, it->data);
		if (rc < 0)
			return qi_error_prefix(h, "mail configuration");
	}
	qi_info(h, "mail configured for %s (admin %s)", mc->domain, mc->admin);
	return 0;
}

int qi_mailconf_plan(qi_handle *h, struct qi_mailconf *mc, json_t *plan)
{
	if (!mc || scan_report(h, mc) < 0)
		return mc ? -1 : 0;
	for (size_t i = 0; i < mc->n; i++) {
		const struct mc_item *it = &mc->it[i];
		if (!to_do(it))
			continue;
		json_array_append_new(plan, json_pack("{s:s, s:s, s:s}", "path", it->path, "action",
						      action_names[it->action], "component", "mail"));
		if (it->kind != MC_FILE || it->secret)
			continue;
		char *old = NULL;
		size_t len;
		if (it->action == MC_REPLACE && qi_root_read(h, it->path, &old, &len) < 0)
			qi_clear_error(h);
		qi_diff_add(h, it->path, old, it->data);
		free(old);
	}
	return 0;
}

const char *qi_mailconf_domain(const struct qi_mailconf *mc)
{
	return mc ? mc->domain : NULL;
}

void qi_mailconf_record(const struct qi_mailconf *mc, json_t *o)
{
	if (!mc)
		return;
	json_object_set_new(o, "domain", json_string(mc->domain));
	json_object_set_new(o, "admin", json_string(mc->admin));
}
