/*
 * exim.c - Debian's Exim configuration as qmail's (convert.h): the
 * debconf answers in update-exim4.conf.conf (dc_KEY='VALUE' lines),
 * /etc/mailname, /etc/aliases (through cv_aliases) and one aliases-style
 * file per virtual domain (/etc/exim4/virtual/DOMAIN). A pure function of
 * the texts: every setting and entry read becomes one item.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert/convert.h"
#include "convert/util.h"

#define CONF "/etc/exim4/update-exim4.conf.conf"
#define VIRTUAL "/etc/exim4/virtual"
#define RCPTHOSTS "control/rcpthosts"
#define LOCALS "control/locals"
#define TCP "tcp.smtp"

/* One line of update-exim4.conf.conf: KEY and VALUE (unquoted), or BAD
 * saying why the line is not KEY=VALUE. */
struct ex_kv {
	char *key;
	char *value;
	char *raw;
	const char *bad;
};

/* The conversion's state: the result and the local domains so far. */
struct ex {
	struct cv_result *r;
	struct cvu_set locals;
	const char *configtype;	/* dc_eximconfig_configtype's value, or "" */
};

/* Parses the shell assignment S (KEY=VALUE, VALUE quoted with ' or " or
 * bare, then an optional # comment) into KV. */
static void ex_parse_kv(char *s, struct ex_kv *kv)
{
	*kv = (struct ex_kv){ .raw = cvu_dup(s) };
	size_t k = 0;
	while (isalnum((unsigned char)s[k]) || s[k] == '_')
		k++;
	if (k == 0 || s[k] != '=') {
		kv->key = cvu_dup(s);
		kv->bad = "not a KEY='VALUE' line: fix it (dpkg-reconfigure exim4-config) and migrate again";
		return;
	}
	kv->key = strndup(s, k);
	char *v = s + k + 1, *out = malloc(strlen(v) + 1);
	if (!kv->key || !out)
		abort();
	size_t o = 0;
	char quote = 0;
	for (; *v; v++) {
		if (quote == '\'') {
			if (*v == '\'')
				quote = 0;
			else
				out[o++] = *v;
		} else if (quote == '"') {
			if (*v == '"')
				quote = 0;
			else if (*v == '\\' && v[1] && strchr("\"\\$`", v[1]))
				out[o++] = *++v;
			else
				out[o++] = *v;
		} else if (*v == '\'' || *v == '"') {
			quote = *v;
		} else if (isspace((unsigned char)*v)) {
			break;
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	kv->value = out;
	while (isspace((unsigned char)*v))
		v++;
	if (quote)
		kv->bad = "a quote that does not close: fix it and migrate again";
	else if (*v && *v != '#')
		kv->bad = "text after the value: not a KEY='VALUE' line; fix it and migrate again";
}

/* Splits the Exim list V into its items (trimmed, empty ones left out):
 * ':' separates them, or the character after a leading '<'; a doubled
 * separator stands for itself. Returns the count; *ITEMS is malloc'd. */
static size_t ex_list(const char *v, char sep, char ***items)
{
	while (isspace((unsigned char)*v))
		v++;
	if (v[0] == '<' && v[1] && ispunct((unsigned char)v[1])) {
		sep = v[1];
		v += 2;
	}
	size_t n = 0, len = strlen(v);
	char **out = malloc((len / 2 + 2) * sizeof(*out)), *cur = malloc(len + 1);
	if (!out || !cur)
		abort();
	size_t c = 0;
	for (size_t i = 0;; i++) {
		if (v[i] == sep && v[i + 1] == sep) {
			cur[c++] = sep;
			i++;
			continue;
		}
		if (v[i] == sep || v[i] == '\0') {
			cur[c] = '\0';
			char *t = cvu_trim_space(cur);
			if (*t)
				out[n++] = cvu_dup(t);
			c = 0;
			if (v[i] == '\0')
				break;
			continue;
		}
		cur[c++] = v[i];
	}
	free(cur);
	*items = out;
	return n;
}

/* Whether D is one of the local domains found. */
static bool ex_is_local(const struct ex *st, const char *d)
{
	return cvu_set_has(&st->locals, d);
}

/* dc_other_hostnames: the local domains, into locals and rcpthosts. */
static void ex_other_hostnames(struct ex *st, const struct ex_kv *kv)
{
	char **v;
	size_t n = ex_list(kv->value, ':', &v);
	for (size_t i = 0; i < n; i++) {
		char *set = cvu_printf("%s: %s", kv->key, v[i]), *d = cvu_lower(cvu_dup(v[i]));
		if (strncmp(d, "*.", 2) == 0 && cvu_domain_ok(d + 2)) {
			char *after = cvu_printf("control/rcpthosts: %s", d + 1);
			cv_file_line(st->r, RCPTHOSTS, d + 1);
			cv_item_add(st->r, set, v[i], after, CV_WARNED,
				    "control/locals cannot match subdomains: mail to them is accepted (rcpthosts "
				    ".dom) but not delivered locally; add each subdomain to control/locals by hand");
			free(after);
		} else if (cvu_domain_ok(d)) {
			char *after = cvu_printf("control/locals, control/rcpthosts: %s", d);
			cv_file_line(st->r, LOCALS, d);
			cv_file_line(st->r, RCPTHOSTS, d);
			cv_item_add(st->r, set, v[i], after, CV_CONVERTED, NULL);
			free(after);
			cvu_set_add(&st->locals, d);
		} else {
			cv_item_add(st->r, set, v[i], NULL, CV_NOT_CONVERTED,
				    "not a domain name (an Exim lookup, pattern or negation): add the domains it "
				    "stands for to control/locals and control/rcpthosts by hand");
		}
		free(d);
		free(set);
	}
	if (n == 0)
		cv_item_add(st->r, kv->key, kv->value, "nothing to convert: not set", CV_CONVERTED, NULL);
	cvu_strings_free(v, n);
}

/* dc_relay_domains: the domains relayed to, into rcpthosts. */
static void ex_relay_domains(struct ex *st, const struct ex_kv *kv)
{
	char **v;
	size_t n = ex_list(kv->value, ':', &v);
	for (size_t i = 0; i < n; i++) {
		char *set = cvu_printf("%s: %s", kv->key, v[i]), *d = cvu_lower(cvu_dup(v[i]));
		const char *line = strncmp(d, "*.", 2) == 0 ? d + 1 : d;
		if (cvu_domain_ok(line[0] == '.' && line != d ? line + 1 : line)) {
			char *after = cvu_printf("control/rcpthosts: %s", line);
			cv_file_line(st->r, RCPTHOSTS, line);
			cv_item_add(st->r, set, v[i], after, CV_CONVERTED, NULL);
			free(after);
		} else {
			cv_item_add(st->r, set, v[i], NULL, CV_NOT_CONVERTED,
				    "not a domain name (an Exim lookup, pattern or negation): add the domains it "
				    "stands for to control/rcpthosts by hand");
		}
		free(d);
		free(set);
	}
	if (n == 0)
		cv_item_add(st->r, kv->key, kv->value, "nothing to convert: not set", CV_CONVERTED, NULL);
	cvu_strings_free(v, n);
}

/* The tcprules address of the IPv4 network S (a.b.c.d or a.b.c.d/LEN)
 * that matches exactly that network, or NULL: /8, /16, /24 as prefixes,
 * /25 to /32 as a last-octet range or a host. */
static char *ex_cidr_rule(const char *s)
{
	unsigned o[4], len = 32;
	int end = 0;
	char extra;
	if (strchr(s, '/')) {
		if (sscanf(s, "%3u.%3u.%3u.%3u/%2u%n%c", &o[0], &o[1], &o[2], &o[3], &len, &end, &extra) != 5)
			return NULL;
	} else if (sscanf(s, "%3u.%3u.%3u.%3u%n%c", &o[0], &o[1], &o[2], &o[3], &end, &extra) != 4) {
		return NULL;
	}
	if (s[end] != '\0' || !isdigit((unsigned char)s[0]) || strspn(s, "0123456789./") != strlen(s))
		return NULL;
	for (int i = 0; i < 4; i++)
		if (o[i] > 255)
			return NULL;
	return cvu_tcprules_addr(o, len);
}

/* dc_relay_nets: the networks that may relay, into tcp.smtp. */
static void ex_relay_nets(struct ex *st, const struct ex_kv *kv)
{
	char **v;
	size_t n = ex_list(kv->value, strchr(kv->value, ';') ? ';' : ':', &v);
	for (size_t i = 0; i < n; i++) {
		char *set = cvu_printf("%s: %s", kv->key, v[i]), *addr = ex_cidr_rule(v[i]);
		if (addr) {
			char *rule = cvu_printf("%s:allow,RELAYCLIENT=\"\"", addr), *after = cvu_printf("tcp.smtp: %s", rule);
			cvu_line_once(st->r, TCP, rule);
			cv_item_add(st->r, set, v[i], after, CV_CONVERTED, NULL);
			free(after);
			free(rule);
			free(addr);
		} else {
			cv_item_add(st->r, set, v[i], NULL, CV_NOT_CONVERTED,
				    strchr(v[i], ':') ? "an IPv6 network: write a tcprules line for it by hand"
				    : strchr(v[i], '/')
					    ? "a prefix length tcprules cannot match exactly (only /8, /16, /24 and "
					      "/25 to /32): write tcp.smtp lines for it by hand"
					    : "not an IPv4 address or network (a host name or lookup?): write tcp.smtp "
					      "lines for its addresses by hand");
		}
		free(set);
	}
	if (n == 0)
		cv_item_add(st->r, kv->key, kv->value, "nothing to convert: not set", CV_CONVERTED, NULL);
	cvu_strings_free(v, n);
}

/* dc_smarthost: the first host (host, host::port) into smtproutes. */
static void ex_smarthost(struct ex *st, const struct ex_kv *kv)
{
	bool used = strcmp(st->configtype, "smarthost") == 0 || strcmp(st->configtype, "satellite") == 0;
	char **v;
	size_t n = ex_list(kv->value, ':', &v);
	if (n == 0) {
		cv_item_add(st->r, kv->key, kv->value, "nothing to convert: not set", CV_CONVERTED, NULL);
	} else if (!used) {
		cv_item_add(st->r, kv->key, kv->value, NULL, CV_NOT_CONVERTED,
			    "Exim does not use it with this dc_eximconfig_configtype: if mail should go out "
			    "through it, write control/smtproutes :host by hand");
	} else {
		char *host = cvu_lower(cvu_dup(v[0])), *port = strrchr(host, ':');
		if (port && port[1] && strspn(port + 1, "0123456789") == strlen(port + 1) && strlen(port + 1) <= 5)
			*port++ = '\0';
		else
			port = NULL;
		size_t hl = strlen(host);
		if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		char *ip = ex_cidr_rule(host);
		bool addr = ip != NULL;
		free(ip);
		if (!addr && !cvu_domain_ok(host)) {
			cv_item_add(st->r, kv->key, kv->value, NULL, CV_NOT_CONVERTED,
				    "not a host name or IPv4 address qmail's smtproutes can hold: write "
				    "control/smtproutes :host by hand");
		} else {
			char *route = port ? cvu_printf(":%s:%s", host, port) : cvu_printf(":%s", host);
			char *after = cvu_printf("control/smtproutes: %s", route);
			cvu_line_once(st->r, "control/smtproutes", route);
			cv_item_add(st->r, kv->key, kv->value, after, n > 1 ? CV_WARNED : CV_CONVERTED,
				    n > 1 ? "qmail uses one relay per route: the hosts after the first are left out"
					  : NULL);
			free(after);
			free(route);
		}
		free(host);
	}
	cvu_strings_free(v, n);
}

/* dc_local_interfaces: where Exim listened; qmail-smtpd listens where
 * the profile's tcpserver is told. */
static void ex_local_interfaces(struct ex *st, const struct ex_kv *kv)
{
	char **v;
	size_t n = ex_list(kv->value, strchr(kv->value, ';') ? ';' : ':', &v), loop = 0;
	for (size_t i = 0; i < n; i++)
		loop += strncmp(v[i], "127.", 4) == 0 || strcmp(v[i], "::1") == 0 ||
			strcasecmp(v[i], "localhost") == 0;
	if (n == 0)
		cv_item_add(st->r, kv->key, kv->value, "nothing to convert: Exim listened on all addresses",
			    CV_CONVERTED, NULL);
	else if (loop == n)
		cv_item_add(st->r, kv->key, kv->value, "qmail-smtpd on all addresses", CV_WARNED,
			    "Exim listened on the loopback only; qmail will listen on all addresses (the "
			    "profile's tcpserver): restrict it there if it should not take mail from the network");
	else
		cv_item_add(st->r, kv->key, kv->value, NULL, CV_NOT_CONVERTED,
			    "qmail-smtpd listens where the profile's tcpserver is told (all addresses): restrict "
			    "it there if needed");
	cvu_strings_free(v, n);
}

/* One key of update-exim4.conf.conf, converted. */
static void ex_key(struct ex *st, const struct ex_kv *kv)
{
	const char *k = kv->key, *v = kv->value;
	const char *own = "nothing to convert: Exim's own; nothing in qmail needs it";
	if (strcmp(k, "dc_eximconfig_configtype") == 0) {
		if (strcmp(v, "internet") == 0)
			cv_item_add(st->r, k, v, "nothing to convert", CV_CONVERTED, NULL);
		else if (strcmp(v, "smarthost") == 0)
			cv_item_add(st->r, k, v, "control/smtproutes from dc_smarthost", CV_CONVERTED, NULL);
		else if (strcmp(v, "satellite") == 0)
			cv_item_add(st->r, k, v, "control/smtproutes from dc_smarthost", CV_WARNED,
				    "a satellite delivered no mail locally: qmail delivers the domains of "
				    "control/locals locally; empty control/locals if none should be");
		else if (strcmp(v, "local") == 0)
			cv_item_add(st->r, k, v, "", CV_WARNED,
				    "Exim was set to local delivery only: qmail will accept SMTP from the network "
				    "as the profile says");
		else
			cv_item_add(st->r, k, v, NULL, CV_NOT_CONVERTED,
				    "a configuration type qinstall does not know (none?): set qmail up by hand");
	} else if (strcmp(k, "dc_other_hostnames") == 0) {
		ex_other_hostnames(st, kv);
	} else if (strcmp(k, "dc_local_interfaces") == 0) {
		ex_local_interfaces(st, kv);
	} else if (strcmp(k, "dc_readhost") == 0) {
		if (*v)
			cv_item_add(st->r, k, v, NULL, CV_NOT_CONVERTED,
				    "Exim rewrote the sender's domain in the headers: qmail does not rewrite headers");
		else
			cv_item_add(st->r, k, v, "nothing to convert: not set", CV_CONVERTED, NULL);
	} else if (strcmp(k, "dc_relay_domains") == 0) {
		ex_relay_domains(st, kv);
	} else if (strcmp(k, "dc_relay_nets") == 0) {
		ex_relay_nets(st, kv);
	} else if (strcmp(k, "dc_smarthost") == 0) {
		ex_smarthost(st, kv);
	} else if (strcmp(k, "dc_minimaldns") == 0 || strcmp(k, "dc_use_split_config") == 0) {
		cv_item_add(st->r, k, v, own, CV_CONVERTED, NULL);
	} else if (strcmp(k, "dc_mailname_in_oh") == 0) {
		cv_item_add(st->r, k, v, "nothing to convert: qmail qualifies bare names with control/me (/etc/mailname)",
			    CV_CONVERTED, NULL);
	} else if (strcmp(k, "dc_hide_mailname") == 0) {
		if (strcmp(v, "true") == 0 &&
		    (strcmp(st->configtype, "smarthost") == 0 || strcmp(st->configtype, "satellite") == 0))
			cv_item_add(st->r, k, v, NULL, CV_NOT_CONVERTED,
				    "Exim rewrote the local host's name in the headers: qmail does not rewrite headers");
		else
			cv_item_add(st->r, k, v, own, CV_CONVERTED, NULL);
	} else if (strcmp(k, "dc_localdelivery") == 0) {
		if (strcmp(v, "mail_spool") == 0)
			cv_item_add(st->r, k, v, "", CV_WARNED,
				    "Exim delivered to /var/mail; qmail's profile delivers to ./Maildir/: existing "
				    "mail stays in /var/mail");
		else if (strcmp(v, "maildir_home") == 0)
			cv_item_add(st->r, k, v, "./Maildir/ as the profile says", CV_CONVERTED, NULL);
		else
			cv_item_add(st->r, k, v, NULL, CV_NOT_CONVERTED,
				    "a delivery qinstall does not know: check qmail's defaultdelivery in the profile");
	} else {
		cv_item_add(st->r, k, v, NULL, CV_NOT_CONVERTED,
			    "not a key qinstall knows: check by hand whether qmail needs it");
	}
}

/* update-exim4.conf.conf: all of its lines, the last of a key winning as
 * in the shell. */
static void ex_conf(struct ex *st, const struct cv_input *in)
{
	struct cvu_lines l;
	bool nul;
	char *line;
	struct ex_kv *kv = NULL;
	size_t n = 0;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *s = cvu_trim_space(line);
		if (nul) {
			cvu_nul_item(st->r, "update-exim4.conf.conf", s);
			continue;
		}
		if (*s == '\0' || *s == '#')
			continue;
		kv = cvu_alloc(kv, (n + 1) * sizeof(*kv));
		ex_parse_kv(s, &kv[n++]);
	}
	cvu_lines_close(&l);
	st->configtype = "";
	for (size_t i = 0; i < n; i++)
		if (!kv[i].bad && strcmp(kv[i].key, "dc_eximconfig_configtype") == 0)
			st->configtype = kv[i].value;
	/* the local domains first, for the virtual domains */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			bool later = false;
			for (size_t j = i + 1; j < n && !kv[i].bad; j++)
				later |= !kv[j].bad && strcmp(kv[i].key, kv[j].key) == 0;
			bool first = strcmp(kv[i].key, "dc_other_hostnames") == 0;
			if ((pass == 0) != first)
				continue;
			if (kv[i].bad)
				cv_item_add(st->r, kv[i].key, kv[i].raw, NULL, CV_NOT_CONVERTED, kv[i].bad);
			else if (later)
				cv_item_add(st->r, kv[i].key, kv[i].value, NULL, CV_NOT_CONVERTED,
					    "set again below: the last one counts, as in the shell");
			else
				ex_key(st, &kv[i]);
		}
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
		free(kv[i].raw);
	}
	free(kv);
	st->configtype = "";
}

/* One target T of a virtual alias (its quotes off) as a .qmail line:
 * :fail: as bouncesaying (each ' written '\'' for the shell),
 * :blackhole: as a comment (a .qmail of comments delivers nowhere),
 * programs and files as they are, addresses as forwards; or NULL. */
static char *ex_unquoted_target(const char *t)
{
	if (strncmp(t, ":fail:", 6) == 0) {
		const char *p = t + 6;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			p = "This address no longer accepts mail.";
		char *out = malloc(strlen(p) * 4 + 32);
		if (!out)
			abort();
		size_t o = (size_t)sprintf(out, "|bouncesaying '");
		for (; *p; p++) {
			if (*p == '\'') {
				memcpy(out + o, "'\\''", 4);
				o += 4;
			} else {
				out[o++] = *p;
			}
		}
		strcpy(out + o, "'");
		return out;
	}
	if (strcmp(t, ":blackhole:") == 0)
		return cvu_dup("#");
	if (t[0] == '|' || t[0] == '/')
		return cvu_dup(t);
	if (t[0] == ':' || t[0] == '@' || strpbrk(t, " \t\""))
		return NULL;
	return cvu_printf("&%s", t);
}

/* TARGET, quoted or not, as a .qmail line, or NULL. */
static char *ex_target_line(const char *target)
{
	char *t = cvu_dup(target);
	size_t n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
		memmove(t, t + 1, n - 2);
		t[n - 2] = '\0';
	}
	char *line = ex_unquoted_target(t);
	free(t);
	return line;
}

/* One entry KEY: TARGETS of the virtual domain DOM's file. */
static void ex_virtual_entry(struct ex *st, const char *dom, char *e)
{
	char *colon = strchr(e, ':');
	char *set, *before = cvu_dup(e);
	if (colon)
		*colon = '\0';
	char *key = cvu_lower(cvu_trim_space(e)), *targets = colon ? cvu_trim_space(colon + 1) : "";
	set = cvu_printf("%s/%s: %s", VIRTUAL, dom, key);
	bool catchall = strcmp(key, "*") == 0;
	const char *why = NULL;
	char **v = NULL, **lines = NULL;
	size_t n = 0;
	if (!colon || !*targets)
		why = "not a KEY: TARGETS line: fix it and migrate again";
	else if (!catchall && !cvu_local_ok(key))
		why = "not a local part a .qmail file can be named after: convert it by hand";
	if (!why) {
		n = ex_list(targets, ',', &v);
		lines = calloc(n ? n : 1, sizeof(*lines));
		if (!lines)
			abort();
		for (size_t i = 0; i < n && !why; i++)
			if (!(lines[i] = ex_target_line(v[i])))
				why = "a target qmail has no match for (:defer:, :include:, a lookup, a quoted "
				      "list): convert it by hand";
		if (n == 0)
			why = "no target: fix it and migrate again";
	}
	bool local = ex_is_local(st, dom);
	char *cdom = cvu_colons(cvu_dup(dom)), *cuser = cvu_colons(cvu_dup(key)), *file;
	if (local)
		file = catchall ? cvu_dup("alias/.qmail-default") : cvu_printf("alias/.qmail-%s", cuser);
	else
		file = catchall ? cvu_printf("alias/.qmail-%s-default", cdom) : cvu_printf("alias/.qmail-%s-%s", cdom, cuser);
	if (!why && cv_file_find(st->r, file))
		why = "another entry above already makes the same .qmail file: the first one is kept";
	if (why) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED, why);
	} else {
		char *after = cvu_printf("%s:", file);
		for (size_t i = 0; i < n; i++) {
			char *a = cvu_printf("%s%s %s", after, i ? "," : "", lines[i]);
			free(after);
			after = a;
			cv_file_line(st->r, file, lines[i]);
		}
		if (!local)
			cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
		else if (catchall)
			cv_item_add(st->r, set, before, after, CV_WARNED,
				    "a local domain (dc_other_hostnames), where qmail's virtualdomains do not apply: "
				    "qmail's ~alias/.qmail-default gets only names that have no system account");
		else
			cv_item_add(st->r, set, before, after, CV_WARNED,
				    "a local domain (dc_other_hostnames), where qmail's virtualdomains do not apply: "
				    "qmail applies ~alias/.qmail-user only when no system account user exists");
		free(after);
	}
	for (size_t i = 0; i < n; i++)
		free(lines ? lines[i] : NULL);
	free(lines);
	cvu_strings_free(v, n);
	free(file);
	free(cuser);
	free(cdom);
	free(set);
	free(before);
}

/* /etc/exim4/virtual/DOM: one domain's aliases (aliases(5) lines, those
 * that start with a blank continuing the entry above). */
static void ex_virtual(struct ex *st, const struct cv_input *in)
{
	const char *name = in->name + strlen(VIRTUAL) + 1;
	char *dom = cvu_lower(cvu_dup(name));
	if (!cvu_domain_ok(dom)) {
		char *set = cvu_printf("%s: %s", VIRTUAL, name);
		cv_item_add(st->r, set, name, NULL, CV_NOT_CONVERTED,
			    "the file's name is not a domain name: convert its aliases by hand");
		free(set);
		free(dom);
		return;
	}
	if (!ex_is_local(st, dom)) {
		char *vline = cvu_printf("%s:alias-%s", dom, dom), *set = cvu_printf("%s/%s", VIRTUAL, dom);
		char *after = cvu_printf("control/virtualdomains: %s; control/rcpthosts: %s", vline, dom);
		if (!cvu_has_line(st->r, "control/virtualdomains", vline)) {
			cv_file_line(st->r, "control/virtualdomains", vline);
			cv_file_line(st->r, RCPTHOSTS, dom);
			cv_item_add(st->r, set, dom, after, CV_CONVERTED, NULL);
		}
		free(after);
		free(set);
		free(vline);
	}
	struct cvu_lines l;
	bool nul;
	char *line, *entry = NULL;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *tab = cvu_printf("%s/%s", VIRTUAL, dom);
		if (nul) {
			cvu_nul_item(st->r, tab, cvu_trim_space(line));
		} else if (isspace((unsigned char)line[0]) && entry && *cvu_trim_space(line)) {
			char *t = cvu_printf("%s %s", entry, cvu_trim_space(line));
			free(entry);
			entry = t;
		} else {
			char *s = cvu_trim_space(line);
			if (*s && *s != '#') {
				if (entry)
					ex_virtual_entry(st, dom, entry);
				free(entry);
				entry = cvu_dup(s);
			}
		}
		free(tab);
	}
	if (entry)
		ex_virtual_entry(st, dom, entry);
	free(entry);
	cvu_lines_close(&l);
	free(dom);
}

/* /etc/mailname: its first line, the host name. */
static void ex_mailname(struct ex *st, const struct cv_input *in)
{
	struct cvu_lines l;
	bool nul, first = true;
	char *line;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *s = cvu_trim_space(line);
		if (nul) {
			cvu_nul_item(st->r, "/etc/mailname", s);
			first = false;
			continue;
		}
		if (!*s)
			continue;
		char *me = cvu_lower(cvu_dup(s));
		if (!first) {
			char *set = cvu_printf("/etc/mailname: %s", s);
			cv_item_add(st->r, set, s, NULL, CV_NOT_CONVERTED, "only the first line of /etc/mailname counts");
			free(set);
		} else if (!cvu_domain_ok(me)) {
			cv_item_add(st->r, "/etc/mailname", s, NULL, CV_NOT_CONVERTED,
				    "not a host name: set control/me by hand");
		} else {
			char *after = cvu_printf("control/me: %s", me);
			st->r->me = cvu_dup(me);
			cv_item_add(st->r, "/etc/mailname", s, after, CV_CONVERTED, NULL);
			free(after);
		}
		first = false;
		free(me);
	}
	cvu_lines_close(&l);
}

int cv_exim(const struct cv_inputs *in, struct cv_result *out, const char **err)
{
	const struct cv_input *conf = cv_input_find(in, CONF), *f;
	if (!conf) {
		*err = "Debian's /etc/exim4/update-exim4.conf.conf is needed: qinstall converts only the "
		       "configuration debconf writes";
		return -1;
	}
	struct ex st = { .r = out, .configtype = "" };
	free(out->me);
	out->me = NULL;
	if ((f = cv_input_find(in, "/etc/mailname")))
		ex_mailname(&st, f);
	ex_conf(&st, conf);
	for (size_t i = 0; i < in->n; i++) {
		const char *name = in->v[i].name;
		if (!name)
			continue;
		if (strncmp(name, VIRTUAL "/", strlen(VIRTUAL) + 1) == 0)
			ex_virtual(&st, &in->v[i]);
		else if (strcmp(name, VIRTUAL) == 0)
			cv_item_add(out, VIRTUAL, "", NULL, CV_NOT_CONVERTED,
				    "one file of aliases for a domain it does not name: give it as "
				    "/etc/exim4/virtual/DOMAIN, or convert it by hand");
	}
	if ((f = cv_input_find(in, "/etc/aliases")))
		cv_aliases(f->text, f->len, "/etc/aliases", out);
	if (out->me) {
		const char *dot = strchr(out->me, '.');
		bool two = dot && strchr(dot + 1, '.');
		free(out->domain);
		out->domain = cvu_dup(two ? dot + 1 : out->me);
		cv_file_line(out, "control/me", out->me);
		cv_file_line(out, "control/defaultdomain", out->domain);
		cv_file_line(out, "control/plusdomain", out->domain);
	}
	cvu_sort_file(out, RCPTHOSTS);
	cvu_sort_file(out, LOCALS);
	cvu_set_free(&st.locals);
	return 0;
}
