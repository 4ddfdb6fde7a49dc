/*
 * profile_schema.c - what a profile may say: its sections (written once,
 * here; the parser's checks, its messages and `profile show` derive from
 * the list), every key with its type and default, and the validators of
 * the values. The format is documented in qinstall-profile(5).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "provision/provision.h"

/* In the order `profile show` prints them; a named kind's sections follow
 * the others, in the order they appear. The keys of the sections searched
 * by ${...} have distinct names, so the order of that search is no matter. */
static const struct qi_section_def sections[] = {
	{ "profile", false, false },
	{ "build", false, true },
	{ "accounts", false, true },
	{ "mail", false, true },
	{ "services", false, true },
	{ "option", true, false },
	{ "component", true, false },
	{ NULL, false, false },
};

static const struct qi_keydef keys[] = {
	{ "profile", "description", QI_V_TEXT, false, NULL, 0, 0, NULL },
	{ "profile", "include", QI_V_NAME, true, NULL, 0, 0, NULL },
	{ "profile", "provenance", QI_V_ABSPATH, false,
	  "${prefix}/share/doc/qinstall/${profile_name}.provenance.json", 0, 0, NULL },

	/* [option NAME]: a switch (--with NAME, --without NAME) */
	{ "option", "description", QI_V_TEXT, false, NULL, 0, 0, NULL },
	{ "option", "default", QI_V_OPTDEFAULT, false, "no", 0, 0, NULL },
	{ "option", "enabled", QI_V_BOOL, false, NULL, 0, 0, NULL },
	{ "option", "conflicts", QI_V_OPTNAMES, true, NULL, 0, 0, NULL },
	{ "option", "requires", QI_V_OPTREQUIRES, true, NULL, 0, 0, NULL },

	{ "build", "cc", QI_V_TEXT, false, "gcc -O2", 0, 0, NULL },
	{ "build", "ld", QI_V_TEXT, false, "gcc -s", 0, 0, NULL },
	{ "build", "jobs", QI_V_JOBS, false, "auto", 0, 0, NULL },
	{ "build", "prefix", QI_V_ABSPATH, false, "/usr/local", 0, 0, NULL },
	{ "build", "isolate", QI_V_BOOL, false, "yes", 0, 0, NULL },
	{ "build", "user", QI_V_TEXT, false, "nobody", 0, 0, NULL },

	{ "accounts", "ids", QI_V_ENUM, false, "pinned", 0, 0, "pinned|auto" },
	{ "accounts", "auto_min", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "auto_max", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "nofiles", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmail", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "alias", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmaild", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmaill", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmailp", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmailq", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmailr", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmails", QI_V_INT, false, NULL, QI_ACCOUNT_ID_MIN, QI_ACCOUNT_ID_MAX, NULL },
	{ "accounts", "qmail_home", QI_V_ABSPATH, false, "/var/qmail", 0, 0, NULL },

	/* qmail's first configuration (mailconf.c); --domain and --admin set them. */
	{ "mail", "configure", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "mail", "domain", QI_V_DOMAIN, false, NULL, 0, 0, NULL },
	{ "mail", "admin", QI_V_ADMIN, false, NULL, 0, 0, NULL },
	/* control/validrcptto.cdb (mailusers/validrcptto.c) */
	{ "mail", "validrcptto", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "mail", "valid_rcpt", QI_V_TEXT, true, NULL, 0, 0, NULL },
	/* qmail-smtpd's STARTTLS certificate (tlscert.c): "generate" or a host file */
	{ "mail", "tls_cert", QI_V_TEXT, false, NULL, 0, 0, NULL },
	{ "mail", "tls_key", QI_V_ABSPATH, false, NULL, 0, 0, NULL },
	{ "mail", "tls_key_type", QI_V_ENUM, false, "rsa", 0, 0, "rsa|ec" },
	{ "mail", "tls_days", QI_V_INT, false, "825", 1, 3650, NULL },

	{ "services", "svscan", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "services", "service_dir", QI_V_ABSPATH, false, "/etc/service", 0, 0, NULL },
	{ "services", "unit", QI_V_FILENAME, false, "svscan.service", 0, 0, NULL },
	{ "services", "start", QI_V_BOOL, false, "yes", 0, 0, NULL },
	/* qmail's services under daemontools (qmailsvc.c) */
	{ "services", "qmail", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "services", "send", QI_V_BOOL, false, "yes", 0, 0, NULL },
	{ "services", "smtpd", QI_V_BOOL, false, "yes", 0, 0, NULL },
	{ "services", "pop3", QI_V_BOOL, false, "yes", 0, 0, NULL },
	{ "services", "supervise_dir", QI_V_ABSPATH, false, "${qmail_home}/supervise", 0, 0, NULL },
	{ "services", "log_dir", QI_V_ABSPATH, false, "/var/log/qmail", 0, 0, NULL },
	{ "services", "smtpd_address", QI_V_ADDRESS, false, "0", 0, 0, NULL },
	{ "services", "smtpd_port", QI_V_INT, false, "25", 1, 65535, NULL },
	{ "services", "smtpd_concurrency", QI_V_INT, false, "20", 1, 65000, NULL },
	{ "services", "smtpd_memory", QI_V_INT, false, "12000000", 1000000, 2000000000, NULL },
	{ "services", "pop3_address", QI_V_ADDRESS, false, "0", 0, 0, NULL },
	{ "services", "pop3_port", QI_V_INT, false, "110", 1, 65535, NULL },
	{ "services", "pop3_memory", QI_V_INT, false, "64000000", 1000000, 2000000000, NULL },
	{ "services", "checkpassword", QI_V_ABSPATH, false, "/usr/local/bin/qinstall-checkpassword", 0, 0, NULL },
	{ "services", "smtp_rules", QI_V_ABSPATH, false, "/etc/tcp.smtp", 0, 0, NULL },
	/* qmail-smtpd-auth's arguments; the submission service (port 587) */
	{ "services", "smtpd_auth", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "services", "smtpd_auth_checkpassword", QI_V_ABSPATH, false, QI_SMTP_CHECKPASSWORD_PATH, 0, 0, NULL },
	{ "services", "smtpd_auth_group", QI_V_NAME, false, "shadow", 0, 0, NULL },
	{ "services", "smtpd_auth_true", QI_V_ABSPATH, false, "/bin/true", 0, 0, NULL },
	{ "services", "submission", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "services", "submission_address", QI_V_ADDRESS, false, "0", 0, 0, NULL },
	{ "services", "submission_port", QI_V_INT, false, "587", 1, 65535, NULL },
	{ "services", "smtp_rule", QI_V_RULE, true, NULL, 0, 0, NULL },
	{ "services", "allow_open_relay", QI_V_BOOL, false, "no", 0, 0, NULL },
	/* qmail-smtpd built with the tls-smtpauth patch: STARTTLS, AUTH */
	{ "services", "smtpd_tls", QI_V_BOOL, false, "no", 0, 0, NULL },

	{ "component", "version", QI_V_TEXT, false, NULL, 0, 0, NULL },
	{ "component", "file", QI_V_FILENAME, false, NULL, 0, 0, NULL },
	{ "component", "url", QI_V_URL, true, NULL, 0, 0, NULL },
	{ "component", "sha256", QI_V_HEX64, false, NULL, 0, 0, NULL },
	{ "component", "sha512", QI_V_HEX128, false, NULL, 0, 0, NULL },
	{ "component", "size", QI_V_INT, false, NULL, 1, LONG_MAX, NULL },
	{ "component", "debian", QI_V_DEBIAN, false, NULL, 0, 0, NULL },
	{ "component", "patch", QI_V_PATCH, true, NULL, 0, 0, NULL },
	{ "component", "copy", QI_V_COPY, true, NULL, 0, 0, NULL },
	{ "component", "merge", QI_V_BOOL, false, "yes", 0, 0, NULL },
	{ "component", "series_archive", QI_V_SERIES, false, NULL, 0, 0, NULL },
	{ "component", "series", QI_V_RELPATH, false, "debian/patches/series", 0, 0, NULL },
	{ "component", "strip", QI_V_INT, false, "1", 0, 16, NULL },
	{ "component", "fuzz", QI_V_INT, false, "0", 0, 3, NULL },
	{ "component", "dir", QI_V_RELPATH, false, ".", 0, 0, NULL },
	{ "component", "write", QI_V_WRITE, true, NULL, 0, 0, NULL },
	{ "component", "make", QI_V_TARGETS, false, NULL, 0, 0, NULL },
	{ "component", "install", QI_V_ENUM, false, "programs", 0, 0, "programs|make|hier|none" },
	{ "component", "home", QI_V_ABSPATH, false, NULL, 0, 0, NULL },
	{ "component", "home_file", QI_V_FILENAME, false, "conf-home", 0, 0, NULL },
	{ "component", "home_auto", QI_V_FILENAME, false, "auto_home", 0, 0, NULL },
	{ "component", "accounts", QI_V_BOOL, false, "no", 0, 0, NULL },
	{ "component", "install_target", QI_V_TARGETS, false, "install", 0, 0, NULL },
	{ "component", "program", QI_V_PROGRAM, true, NULL, 0, 0, NULL },
	{ "component", "bindir", QI_V_ABSPATH, false, "${prefix}/bin", 0, 0, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* ---- sections and keys ---- */

const struct qi_section_def *qi_profile_sections(void)
{
	return sections;
}

const struct qi_section_def *qi_profile_section_def(const char *kind)
{
	for (const struct qi_section_def *s = sections; s->name; s++)
		if (strcmp(s->name, kind) == 0)
			return s;
	return NULL;
}

const char *qi_profile_section_kind(const char *section)
{
	for (const struct qi_section_def *s = sections; s->name; s++) {
		size_t n = strlen(s->name);
		if (s->named && strncmp(section, s->name, n) == 0 && section[n] == ' ')
			return s->name;
	}
	return section;
}

char *qi_profile_known_sections(void)
{
	struct qi_buf b = { 0 };
	for (const struct qi_section_def *s = sections; s->name; s++)
		qi_buf_addf(&b, "%s%s%s", b.len ? ", " : "", s->name, s->named ? " NAME" : "");
	return b.data;
}

bool qi_profile_section_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

const struct qi_keydef *qi_profile_keys(size_t *n)
{
	*n = NKEYS;
	return keys;
}

const struct qi_keydef *qi_profile_key(const char *section, const char *key)
{
	const char *kind = qi_profile_section_kind(section);
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, kind) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

char *qi_profile_known_keys(const char *section)
{
	struct qi_buf b = { 0 };
	const char *kind = qi_profile_section_kind(section);
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, kind) == 0)
			qi_buf_addf(&b, "%s%s", b.len ? ", " : "", keys[i].key);
	return b.data ? b.data : qi_xstrdup("");
}

char *qi_profile_first_word(const char *s, const char **rest)
{
	size_t n = strcspn(s, " \t");
	const char *r = s + n;
	while (*r == ' ' || *r == '\t')
		r++;
	if (rest)
		*rest = r;
	return strndup(s, n);
}

/* ---- the validators ---- */

static bool parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || !isdigit((unsigned char)s[0]))
		return false;
	*out = v;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_mode(const char *s)
{
	if (!*s || strlen(s) > 5)
		return false;
	for (const char *c = s; *c; c++)
		if (*c < '0' || *c > '7')
			return false;
	return true;
}

static bool is_filename(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strlen(s) < 256;
}

#define DOMAIN_RULE "a domain name is labels of 1 to 63 letters, digits and hyphens (not at " \
	"a label's start or end), at least two of them joined by dots, 253 characters at most"

const char *qi_domain_invalid(const char *s)
{
	size_t n = strlen(s), label = 0, labels = 1;
	if (n == 0 || n > 253)
		return DOMAIN_RULE;
	for (const char *c = s;; c++) {
		if (*c == '.' || *c == '\0') {
			if (label == 0 || c[-1] == '-')
				return DOMAIN_RULE;
			if (!*c)
				break;
			label = 0;
			labels++;
		} else if (isalnum((unsigned char)*c) || (*c == '-' && label > 0)) {
			if (++label > 63)
				return DOMAIN_RULE;
		} else {
			return DOMAIN_RULE;
		}
	}
	return labels >= 2 ? NULL : DOMAIN_RULE;
}

/* A user name as shadow-utils allows it (no leading '-', at most 32). */
static bool is_user_name(const char *s, size_t n)
{
	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

const char *qi_admin_invalid(const char *s)
{
	static const char rule[] = "expected a local user name (letters, digits, '.', '_', '-') or an "
				   "address LOCAL@DOMAIN";
	const char *at = strrchr(s, '@');
	if (!at)
		return is_user_name(s, strlen(s)) ? NULL : rule;
	if (at == s)
		return rule;
	for (const char *c = s; c < at; c++)
		if (!isgraph((unsigned char)*c) || strchr("@&|#\"\\<>()[],;:", *c))
			return rule;
	return qi_domain_invalid(at + 1) ? rule : NULL;
}

/* ---- tcprules(1) lines ---- */

#define RULE_SYNTAX "expected a tcprules line ADDRESS:allow or ADDRESS:deny, then ,VAR=\"VALUE\" " \
	"settings (ADDRESS: 1.2.3.4, a prefix 1.2.3., a range 1.2.3.10-20, =host, =.domain, " \
	"INFO@ADDRESS, or nothing for everyone)"

/* An ADDRESS of tcprules: letters, digits and .-=@_ only. */
static bool rule_address_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-=@_", s[i]))
			return false;
	return true;
}

const char *qi_tcprule_invalid(const char *s, bool *relay_all)
{
	size_t colon = strcspn(s, ":");
	bool relay = false;
	if (!s[colon] || !rule_address_ok(s, colon))
		return RULE_SYNTAX;
	const char *x = s + colon + 1;
	if (strncmp(x, "allow", 5) == 0)
		x += 5;
	else if (strncmp(x, "deny", 4) == 0)
		x += 4;
	else
		return RULE_SYNTAX;
	while (*x) {
		/* ,VAR=qVALUEq: q is any character, as tcprules reads it */
		const char *eq = strchr(x, '=');
		if (*x != ',' || !eq || eq == x + 1 || !eq[1])
			return RULE_SYNTAX;
		for (const char *c = x + 1; c < eq; c++)
			if (!isalnum((unsigned char)*c) && *c != '_')
				return RULE_SYNTAX;
		const char *close = strchr(eq + 2, eq[1]);
		if (!close)
			return RULE_SYNTAX;
		relay |= eq - x - 1 == 11 && strncmp(x + 1, "RELAYCLIENT", 11) == 0;
		x = close + 1;
	}
	/* everyone: no address, any named host (=), or INFO@ with no address */
	bool everyone = colon == 0 || (colon == 1 && s[0] == '=') || s[colon - 1] == '@';
	if (relay_all)
		*relay_all = relay && everyone && strncmp(s + colon + 1, "allow", 5) == 0;
	return NULL;
}

/* ---- addresses to listen on ---- */

/* "0" (every address), a dotted IPv4 address or a host name. */
static bool is_listen_address(const char *s)
{
	if (strlen(s) > 253)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
			return false;
	return *s && *s != '-' && *s != '.';
}

static bool is_url(const char *s)
{
	const char *c = strstr(s, "://");
	if (!c || c == s || strchr(s, ' ') || strchr(s, '\t'))
		return false;
	for (const char *k = s; k < c; k++)
		if (!isalnum((unsigned char)*k) && *k != '+' && *k != '-' && *k != '.')
			return false;
	return c[3] != '\0';
}

static bool is_enum(const char *enums, const char *v)
{
	size_t len = strlen(v);
	for (const char *c = enums; c && *c;) {
		size_t m = strcspn(c, "|");
		if (m == len && strncmp(c, v, m) == 0)
			return true;
		c += m + (c[m] ? 1 : 0);
	}
	return false;
}

/* A patch: a file name without blanks, or an URL pinned by its fragment. */
static const char *invalid_patch_file(const char *v)
{
	if (strstr(v, "://")) {
		const char *frag = strchr(v, '#');
		if (!frag || (!strstr(frag, "sha256=") && !strstr(frag, "sha512=")))
			return "a patch URL must be pinned: URL#sha256=HEX";
		return is_url(v) ? NULL : "expected an URL (scheme://...)";
	}
	return strpbrk(v, " \t") ? "a patch file name has no blanks" : NULL;
}

/* A series archive: a patch's forms, or debian#PIN. */
static const char *invalid_series(const char *v)
{
	if (strncmp(v, "debian#", 7) == 0) {
		const char *pin = v + 7;
		return (strncmp(pin, "sha256=", 7) == 0 && is_hex(pin + 7, 64)) ||
			       (strncmp(pin, "sha512=", 7) == 0 && is_hex(pin + 7, 128))
		       ? NULL : "expected debian#sha256=HEX (the pin of Debian's debian.tar.*)";
	}
	return invalid_patch_file(v);
}

void qi_patch_spec_free(struct qi_patch_spec *ps)
{
	free(ps->spec);
	free(ps->glue);
	free(ps->base);
	memset(ps, 0, sizeof(*ps));
}

#define PATCH_ATTRS "after the patch come only strip=N, fuzz=N, glue=FILE and base=COMPONENT"

/* "strip=N", "fuzz=N", "glue=FILE" or "base=COMPONENT" at W into PS. */
static const char *patch_attr(const char *w, struct qi_patch_spec *ps)
{
	const char *eq = strchr(w, '=');
	long n;
	if (!eq)
		return PATCH_ATTRS;
	if (strncmp(w, "base=", 5) == 0) {
		if (ps->base)
			return "base= is given twice";
		if (!qi_profile_section_name_ok(eq + 1))
			return "base=COMPONENT names a component of the profile (the tree the patch was made against)";
		ps->base = qi_xstrdup(eq + 1);
		return NULL;
	}
	if (strncmp(w, "glue=", 5) == 0) {
		if (ps->glue)
			return "glue= is given twice";
		if (!eq[1] || strstr(eq + 1, "://") || strchr(eq + 1, ':'))
			return "glue=FILE names a file of the project's own (beside the profile or in the data directory)";
		ps->glue = qi_xstrdup(eq + 1);
		return NULL;
	}
	bool strip = strncmp(w, "strip=", 6) == 0, fuzz = strncmp(w, "fuzz=", 5) == 0;
	if (!strip && !fuzz)
		return PATCH_ATTRS;
	if (!parse_long(eq + 1, &n) || n < 0 || n > (strip ? 16 : 3))
		return strip ? "strip=N takes 0 to 16" : "fuzz=N takes 0 to 3";
	if ((strip ? ps->strip : ps->fuzz) >= 0)
		return strip ? "strip= is given twice" : "fuzz= is given twice";
	*(strip ? &ps->strip : &ps->fuzz) = (int)n;
	return NULL;
}

const char *qi_patch_spec_parse(const char *v, struct qi_patch_spec *ps)
{
	const char *rest, *why;
	memset(ps, 0, sizeof(*ps));
	ps->strip = ps->fuzz = -1;
	ps->spec = qi_profile_first_word(v, &rest);
	why = invalid_patch_file(ps->spec);
	while (!why && *rest) {
		char *w = qi_profile_first_word(rest, &rest);
		why = patch_attr(w, ps);
		free(w);
	}
	if (why)
		qi_patch_spec_free(ps);
	return why;
}

static const char *invalid_patch(const char *v)
{
	struct qi_patch_spec ps;
	const char *why = qi_patch_spec_parse(v, &ps);
	qi_patch_spec_free(&ps);
	return why;
}

/* "COMPONENT:MEMBER [DEST]": DEST relative, without "..". */
static const char *invalid_copy(const char *v)
{
	const char *rest;
	char *w = qi_profile_first_word(v, &rest);
	const char *colon = strchr(w, ':');
	const char *why = !colon || colon == w || !colon[1] || strstr(w, "://") ?
		"expected COMPONENT:MEMBER [DEST] (a file of another component's source archive)" : NULL;
	free(w);
	if (!why && *rest && (rest[0] == '/' || qi_path_has_dotdot(rest) || strpbrk(rest, " \t")))
		why = "DEST is one relative path in the tree, without '..'";
	return why;
}

/* Option names at V, words (ALTS: each "A|B|..."), at least one. */
static const char *invalid_option_names(const char *v, bool alts)
{
	for (const char *s = v; *(s += strspn(s, " \t"));) {
		size_t n = strcspn(s, " \t");
		for (const char *a = s; a < s + n;) {
			size_t k = alts ? strcspn(a, "| \t") : n;
			char *name = strndup(a, k);
			bool ok = qi_profile_section_name_ok(name);
			free(name);
			if (!ok)
				return alts ? "expected option names, each NAME or A|B (one of them)" :
					"expected option names (letters, digits, '-', '_', '.')";
			a += k;
			if (a < s + n && *a == '|' && a + 1 < s + n)
				a++;
			else if (a < s + n)
				return "expected option names, each NAME or A|B (one of them)";
		}
		s += n;
	}
	return NULL;
}

/* The values of two words, "FIRST REST": is each part well formed? */
static bool words_ok(enum qi_vtype type, const char *v)
{
	const char *rest;
	char *w = qi_profile_first_word(v, &rest);
	bool ok = false;
	if (type == QI_V_DEBIAN)
		ok = *w && *rest && !strpbrk(rest, " \t") && !strchr(w, '/');
	else if (type == QI_V_PROGRAM)
		ok = is_filename(w) && (!*rest || is_mode(rest));
	else if (type == QI_V_WRITE)
		ok = is_filename(w);
	free(w);
	return ok;
}

const char *qi_profile_invalid(const struct qi_keydef *def, const char *v)
{
	long n;
	if (strchr(v, '\n'))
		return "a value is one line";
	if (!*v)
		return def->list ? NULL : "the value is empty";
	switch (def->type) {
	case QI_V_TEXT:
	case QI_V_NAME:
		return NULL;
	case QI_V_JOBS:
		if (strcmp(v, "auto") == 0)
			return NULL;
		return parse_long(v, &n) && n >= 1 && n <= 1024 ? NULL : "expected 'auto' or a number from 1 to 1024";
	case QI_V_INT:
		if (!parse_long(v, &n))
			return "expected a whole number";
		return n >= def->min && n <= def->max ? NULL : "the number is out of range";
	case QI_V_BOOL:
		return is_enum("yes|no|true|false|1|0", v) ? NULL : "expected yes or no";
	case QI_V_ABSPATH:
		return v[0] == '/' && !qi_path_has_dotdot(v) ? NULL : "expected an absolute path without '..'";
	case QI_V_RELPATH:
		return v[0] != '/' && !qi_path_has_dotdot(v) ? NULL : "expected a relative path without '..'";
	case QI_V_ENUM:
		return is_enum(def->enums, v) ? NULL : "not one of the allowed values";
	case QI_V_HEX64:
		return is_hex(v, 64) ? NULL : "expected 64 lowercase hex digits";
	case QI_V_HEX128:
		return is_hex(v, 128) ? NULL : "expected 128 lowercase hex digits";
	case QI_V_DOMAIN:
		return qi_domain_invalid(v) ? "not a valid domain name (" DOMAIN_RULE ")" : NULL;
	case QI_V_ADMIN:
		return qi_admin_invalid(v);
	case QI_V_RULE:
		return qi_tcprule_invalid(v, NULL);
	case QI_V_ADDRESS:
		return is_listen_address(v) ? NULL : "expected 0 (every address), an IPv4 address or a host name";
	case QI_V_URL:
		return is_url(v) ? NULL : "expected an URL (scheme://...)";
	case QI_V_FILENAME:
		return is_filename(v) ? NULL : "expected a file name (no '/')";
	case QI_V_DEBIAN:
		return words_ok(def->type, v) ? NULL : "expected 'PACKAGE VERSION' (e.g. ucspi-tcp 1:0.88-7)";
	case QI_V_PATCH:
		return invalid_patch(v);
	case QI_V_COPY:
		return invalid_copy(v);
	case QI_V_OPTDEFAULT:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0)
			return NULL;
		return strpbrk(v, " \t") || invalid_option_names(v, true) ?
			"expected yes, no, or A|B|... (on when any of those options is on)" : NULL;
	case QI_V_OPTNAMES:
		return invalid_option_names(v, false);
	case QI_V_OPTREQUIRES:
		return invalid_option_names(v, true);
	case QI_V_SERIES:
		return invalid_series(v);
	case QI_V_PROGRAM:
		return words_ok(def->type, v) ? NULL : "expected 'NAME [OCTAL-MODE]'";
	case QI_V_WRITE:
		return words_ok(def->type, v) ? NULL : "expected 'FILE CONTENT' (FILE without '/')";
	case QI_V_TARGETS:
		for (const char *c = v; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr(" \t-_.@+/", *c))
				return "make targets are words of letters, digits and -_.@+/";
		return NULL;
	}
	return NULL;
}
