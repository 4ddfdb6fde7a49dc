/*
 * sendmail.c - sendmail's configuration as qmail's (convert.h): the
 * class file local-host-names, relay-domains, the access, virtusertable
 * and mailertable maps in their text form, the m4 source sendmail.mc and
 * /etc/aliases (through cv_aliases). A pure function of the texts: every
 * entry read becomes one item, converted, warned or left out with why.
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

#define RCPTHOSTS "control/rcpthosts"
#define LOCALS "control/locals"
#define TCP "tcp.smtp"

/* What the conversion has learnt so far, beside the result. */
struct sm {
	struct cv_result *r;
	bool relay_hosts_only;	/* FEATURE(`relay_hosts_only') in sendmail.mc */
	struct cvu_set locals;	/* the domains of local-host-names, lower case */
	char *mc_me;		/* define(`confDOMAIN_NAME') */
	char *lhn_me;		/* the first local-host-names entry with a dot */
};

/* If S is an IPv4 network of 1 to 4 dotted octets, its tcprules address
 * ("10.1." for a network, "10.1.2.3" for a host) in a new string. */
static char *sm_ipv4_rule(const char *s)
{
	int octets = 0;
	const char *p = s;
	for (;;) {
		int v = 0, digits = 0;
		while (isdigit((unsigned char)*p) && digits < 4) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return NULL;
		octets++;
		if (*p == '\0')
			break;
		if (*p != '.' || octets == 4)
			return NULL;
		p++;
	}
	return octets == 4 ? cvu_dup(s) : cvu_printf("%s.", s);
}

/* Whether D (lower case) is one of local-host-names' domains. */
static bool sm_is_local(const struct sm *st, const char *d)
{
	return cvu_set_has(&st->locals, d);
}

/* local-host-names: each host or domain into locals and rcpthosts. */
static void sm_local_host_names(struct sm *st, const struct cv_input *in)
{
	struct cvu_lines l;
	bool nul;
	char *line;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *s = cvu_trim_space(line);
		if (nul) {
			cvu_nul_item(st->r, "local-host-names", s);
			continue;
		}
		if (*s == '\0' || *s == '#')
			continue;
		char *set = cvu_printf("local-host-names: %s", s);
		char *d = cvu_lower(cvu_dup(s));
		if (!cvu_domain_ok(d)) {
			cv_item_add(st->r, set, s, NULL, CV_NOT_CONVERTED,
				    "not a host or domain name qmail's control/locals can hold: add it by hand if it is one");
		} else {
			char *after = cvu_printf("control/locals, control/rcpthosts: %s", d);
			cv_file_line(st->r, LOCALS, d);
			cv_file_line(st->r, RCPTHOSTS, d);
			cv_item_add(st->r, set, s, after, CV_CONVERTED, NULL);
			free(after);
			cvu_set_add(&st->locals, d);
			if (!st->lhn_me && strchr(d, '.'))
				st->lhn_me = cvu_dup(d);
		}
		free(d);
		free(set);
	}
	cvu_lines_close(&l);
}

/* A domain into rcpthosts as sendmail's relaying matched it: the domain,
 * and its subdomains unless FEATURE(`relay_hosts_only'). The "after". */
static char *sm_relay_domain(struct sm *st, const char *d)
{
	cv_file_line(st->r, RCPTHOSTS, d);
	if (st->relay_hosts_only)
		return cvu_printf("control/rcpthosts: %s", d);
	char *sub = cvu_printf(".%s", d);
	cv_file_line(st->r, RCPTHOSTS, sub);
	free(sub);
	return cvu_printf("control/rcpthosts: %s, .%s", d, d);
}

/* relay-domains: networks into tcp.smtp, domains into rcpthosts. */
static void sm_relay_domains(struct sm *st, const struct cv_input *in)
{
	struct cvu_lines l;
	bool nul;
	char *line;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *s = cvu_trim_space(line);
		if (nul) {
			cvu_nul_item(st->r, "relay-domains", s);
			continue;
		}
		if (*s == '\0' || *s == '#')
			continue;
		char *set = cvu_printf("relay-domains: %s", s), *addr = sm_ipv4_rule(s);
		char *d = cvu_lower(cvu_dup(s));
		if (addr) {
			char *rule = cvu_printf("%s:allow,RELAYCLIENT=\"\"", addr);
			char *after = cvu_printf("tcp.smtp: %s", rule);
			cvu_line_once(st->r, TCP, rule);
			cv_item_add(st->r, set, s, after, CV_CONVERTED, NULL);
			free(after);
			free(rule);
		} else if (cvu_domain_ok(d)) {
			char *after = sm_relay_domain(st, d);
			cv_item_add(st->r, set, s, after, CV_WARNED,
				    "sendmail also let the hosts in this domain relay (by their reverse DNS names): "
				    "tcprules cannot match them by name without reverse DNS; add their addresses "
				    "to tcp.smtp with RELAYCLIENT=\"\"");
			free(after);
		} else {
			cv_item_add(st->r, set, s, NULL, CV_NOT_CONVERTED,
				    "neither an IPv4 network nor a domain name (IPv6?): let those hosts relay "
				    "through tcp.smtp by hand");
		}
		free(d);
		free(addr);
		free(set);
	}
	cvu_lines_close(&l);
}

/* What the right-hand side of an access entry asks for. */
enum sm_action { SM_RELAY, SM_OK, SM_REJECT, SM_DISCARD, SM_OTHER };

/* The action of access value V. */
static enum sm_action sm_access_action(const char *v)
{
	if (strcasecmp(v, "RELAY") == 0)
		return SM_RELAY;
	if (strcasecmp(v, "OK") == 0)
		return SM_OK;
	if (strcasecmp(v, "REJECT") == 0 || strncasecmp(v, "ERROR:", 6) == 0)
		return SM_REJECT;
	if (strcasecmp(v, "DISCARD") == 0)
		return SM_DISCARD;
	if ((v[0] == '4' || v[0] == '5') && isdigit((unsigned char)v[1]) && isdigit((unsigned char)v[2]) &&
	    (v[3] == '\0' || isspace((unsigned char)v[3])))
		return SM_REJECT;
	return SM_OTHER;
}

/* Connect:KEY VALUE: an IPv4 network into tcp.smtp. */
static void sm_access_connect(struct sm *st, const char *set, const char *before, const char *key,
			      enum sm_action a)
{
	char *addr = sm_ipv4_rule(key);
	if (!addr) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    strncasecmp(key, "IPv6:", 5) == 0
				    ? "an IPv6 network: write a tcprules line for it by hand"
				    : "a host name: tcprules matches names only through reverse DNS (\"=host\" "
				      "rules, and tcpserver without -H); add the host's addresses to tcp.smtp instead");
		return;
	}
	const char *tail = a == SM_RELAY ? ":allow,RELAYCLIENT=\"\"" : a == SM_OK ? ":allow" : ":deny";
	if (a == SM_OTHER) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "an action tcprules has no match for: convert it by hand");
	} else {
		char *rule = cvu_printf("%s%s", addr, tail), *after = cvu_printf("tcp.smtp: %s", rule);
		cvu_line_once(st->r, TCP, rule);
		if (a == SM_DISCARD)
			cv_item_add(st->r, set, before, after, CV_WARNED,
				    "sendmail took the mail and threw it away; qmail refuses the connection");
		else
			cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
		free(after);
		free(rule);
	}
	free(addr);
}

/* To:KEY VALUE: a domain that may be relayed to into rcpthosts. */
static void sm_access_to(struct sm *st, const char *set, const char *before, const char *key,
			 enum sm_action a)
{
	char *d = cvu_lower(cvu_dup(key));
	if (a != SM_RELAY) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "qmail-smtpd has no per-recipient rules but control/rcpthosts: refuse such "
			    "recipients in a .qmail file (|bouncesaying) by hand");
	} else if (!cvu_domain_ok(d)) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "not a domain: qmail's control/rcpthosts holds domains only; add it by hand");
	} else {
		char *after = sm_relay_domain(st, d);
		if (st->relay_hosts_only)
			cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
		else
			cv_item_add(st->r, set, before, after, CV_WARNED,
				    "sendmail's To: matches subdomains too (no FEATURE(`relay_hosts_only')): "
				    "the subdomains were added as .dom; remove that line if none should be relayed to");
		free(after);
	}
	free(d);
}

/* From:KEY VALUE: refused senders into badmailfrom. */
static void sm_access_from(struct sm *st, const char *set, const char *before, const char *key,
			   enum sm_action a)
{
	char *k = cvu_lower(cvu_dup(key)), *at = strchr(k, '@');
	if (a == SM_OK || a == SM_RELAY) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "qmail has no sender whitelist: nothing to do unless other rules refuse this sender");
	} else if (a == SM_OTHER) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "an action qmail has no match for: convert it by hand");
	} else if (at && at != k && cvu_domain_ok(at + 1)) {
		char *after = cvu_printf("control/badmailfrom: %s", k);
		cvu_line_once(st->r, "control/badmailfrom", k);
		cv_item_add(st->r, set, before, after, a == SM_DISCARD ? CV_WARNED : CV_CONVERTED,
			    a == SM_DISCARD ? "sendmail took the mail and threw it away; qmail refuses it" : NULL);
		free(after);
	} else if (!at && cvu_domain_ok(k)) {
		char *line = cvu_printf("@%s", k), *after = cvu_printf("control/badmailfrom: %s", line);
		cvu_line_once(st->r, "control/badmailfrom", line);
		cv_item_add(st->r, set, before, after, CV_WARNED,
			    "sendmail also refused senders in the subdomains; qmail's @dom matches the domain "
			    "only: add a line for each subdomain");
		free(after);
		free(line);
	} else {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "qmail's control/badmailfrom holds addresses and @domains only (no user@ of any "
			    "domain, no networks): refuse it by hand");
	}
	free(k);
}

/* The tags of access entries that qmail has nothing for, and why. */
static const struct {
	const char *tag;
	const char *why;
} sm_other_tags[] = {
	{ "Spam", "sendmail's spam-friend rules: qmail has none; nothing to do" },
	{ "GreetPause", "sendmail's greeting delay: qmail has none (a tcpserver-side delay needs other software)" },
	{ "ClientRate", "sendmail's connection rate limit: qmail has none; limit in a firewall or with "
			"tcpserver -c if needed" },
	{ "ClientConn", "sendmail's per-host connection limit: qmail has none; tcpserver -c limits all "
			"connections" },
	{ "Srv_Features", "sendmail's per-client SMTP features: qmail has none; nothing to do" },
	{ "Try_TLS", "sendmail's STARTTLS policy: qmail's TLS is set up by the profile, not per host" },
};

/* Split the map line S of TABLE into its key (S, cut at the first blank)
 * and its value (returned, trimmed, in S); *SET is "TABLE: KEY" and
 * *BEFORE "KEY VALUE" (or KEY alone when no value), both malloc'd. */
static char *sm_map_split(char *s, const char *table, char **set, char **before)
{
	char *v = s;
	while (*v && !isspace((unsigned char)*v))
		v++;
	if (*v)
		*v++ = '\0';
	v = cvu_trim_space(v);
	*set = cvu_printf("%s: %s", table, s);
	*before = *v ? cvu_printf("%s %s", s, v) : cvu_dup(s);
	return v;
}

/* access: one KEY VALUE line. */
static void sm_access_line(struct sm *st, char *s)
{
	char *set, *before, *v = sm_map_split(s, "access", &set, &before);
	char *colon = strchr(s, ':');
	size_t taglen = colon ? (size_t)(colon - s) : 0;
	for (size_t i = 0; i < taglen; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			taglen = 0;
	if (!*v) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "no value: an access entry is KEY VALUE; fix it and migrate again");
	} else if (taglen && strncasecmp(s, "IPv6", taglen) == 0 && taglen == 4) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "an IPv6 key: write a tcprules line for it by hand");
	} else if (!taglen) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "untagged: sendmail applies it to hosts, senders and recipients alike; write it as "
			    "Connect:, From: or To: and migrate again, or convert it by hand");
	} else {
		const char *key = colon + 1;
		enum sm_action a = sm_access_action(v);
		if (taglen == 7 && strncasecmp(s, "Connect", 7) == 0) {
			sm_access_connect(st, set, before, key, a);
		} else if (taglen == 2 && strncasecmp(s, "To", 2) == 0) {
			sm_access_to(st, set, before, key, a);
		} else if (taglen == 4 && strncasecmp(s, "From", 4) == 0) {
			sm_access_from(st, set, before, key, a);
		} else {
			const char *why = "a tag qmail has nothing for: convert it by hand if it matters";
			for (size_t i = 0; i < sizeof(sm_other_tags) / sizeof(sm_other_tags[0]); i++)
				if (strlen(sm_other_tags[i].tag) == taglen &&
				    strncasecmp(s, sm_other_tags[i].tag, taglen) == 0)
					why = sm_other_tags[i].why;
			cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED, why);
		}
	}
	free(before);
	free(set);
}

/* The text of sendmail's error: target T (after "error:") as a
 * bouncesaying line: the DSN or the word, the code and quotes left out,
 * each ' written '\'' for the shell. */
static char *sm_bounce_line(const char *t)
{
	const char *p = t;
	if (isdigit((unsigned char)*p) && strchr(p, ':') && strchr(p, ':') < p + strcspn(p, " \t"))
		p = strchr(p, ':') + 1;
	else if (isalpha((unsigned char)*p))
		while (*p && !isspace((unsigned char)*p))
			p++;
	while (isspace((unsigned char)*p))
		p++;
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    (p[3] == '\0' || isspace((unsigned char)p[3])))
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n == 0) {
		p = "This address no longer accepts mail.";
		n = strlen(p);
	}
	char *out = malloc(n * 4 + 32);
	if (!out)
		abort();
	size_t o = (size_t)sprintf(out, "|bouncesaying '");
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = p[i];
		}
	}
	strcpy(out + o, "'");
	return out;
}

/* Whether virtusertable target T uses sendmail's %N substitutions. */
static bool sm_substitutes(const char *t)
{
	for (const char *p = strchr(t, '%'); p; p = strchr(p + 1, '%'))
		if (isdigit((unsigned char)p[1]))
			return true;
	return false;
}

/* virtusertable: one KEY TARGET line. */
static void sm_virtuser_line(struct sm *st, char *s)
{
	char *set, *before, *t = sm_map_split(s, "virtusertable", &set, &before);
	char *key = cvu_lower(cvu_dup(s)), *at = strrchr(key, '@');
	const char *dom = at ? at + 1 : "";
	if (at)
		*at = '\0';
	bool catchall = at == key;
	char *line = NULL;
	const char *why = NULL;
	if (!*t)
		why = "no target: a virtusertable entry is KEY TARGET; fix it and migrate again";
	else if (!at || !cvu_domain_ok(dom) || (!catchall && !cvu_local_ok(key)))
		why = "not a key qmail can name a .qmail file after (user@domain or @domain): convert it by hand";
	else if (strncasecmp(t, "error:", 6) == 0)
		line = sm_bounce_line(t + 6);
	else if (sm_substitutes(t))
		why = "needs hand work: sendmail's %1/%2/%3 substitutions; qmail gives the extension in "
		      "$EXT/$DEFAULT to a .qmail-default's program";
	else if (!strpbrk(t, " \t,|/\"") && t[0] != '@' && t[0] != ':')
		line = cvu_printf("&%s", t);
	else
		why = "not a single address: convert it by hand";
	if (why) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED, why);
	} else {
		bool local = sm_is_local(st, dom);
		char *cdom = cvu_colons(cvu_dup(dom)), *cuser = cvu_colons(cvu_dup(key)), *file;
		if (local)
			file = catchall ? cvu_dup("alias/.qmail-default") : cvu_printf("alias/.qmail-%s", cuser);
		else
			file = catchall ? cvu_printf("alias/.qmail-%s-default", cdom)
					: cvu_printf("alias/.qmail-%s-%s", cdom, cuser);
		if (cv_file_find(st->r, file)) {
			cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
				    "another entry above already makes the same .qmail file: the first one is kept");
		} else {
			char *vd = NULL, *after;
			if (!local) {
				char *vline = cvu_printf("%s:alias-%s", dom, dom);
				if (!cvu_has_line(st->r, "control/virtualdomains", vline)) {
					cv_file_line(st->r, "control/virtualdomains", vline);
					cv_file_line(st->r, RCPTHOSTS, dom);
					vd = cvu_printf("control/virtualdomains: %s; control/rcpthosts: %s; ", vline, dom);
				}
				free(vline);
			}
			cv_file_line(st->r, file, line);
			after = cvu_printf("%s%s: %s", vd ? vd : "", file, line);
			if (!local)
				cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
			else if (catchall)
				cv_item_add(st->r, set, before, after, CV_WARNED,
					    "a local domain (local-host-names): sendmail sent all of its mail without "
					    "an entry here, qmail's ~alias/.qmail-default gets only names that have no "
					    "system account");
			else
				cv_item_add(st->r, set, before, after, CV_WARNED,
					    "a local domain (local-host-names), where qmail's virtualdomains do not "
					    "apply: qmail applies ~alias/.qmail-user only when no system account user "
					    "exists");
			free(after);
			free(vd);
		}
		free(file);
		free(cuser);
		free(cdom);
	}
	free(line);
	free(key);
	free(before);
	free(set);
}

/* A relay host H as sendmail writes it ("[host]" without MX, "host"
 * with); the host alone in a new string, *MX whether sendmail looked up
 * MX records, or NULL when it is not a host name or address. */
static char *sm_relay_host(const char *h, bool *mx)
{
	size_t n = strlen(h);
	char *host;
	*mx = !(n >= 2 && h[0] == '[' && h[n - 1] == ']');
	host = *mx ? cvu_dup(h) : cvu_ndup(h + 1, n - 2);
	cvu_lower(host);
	char *ip = sm_ipv4_rule(host);
	bool addr = ip && ip[strlen(ip) - 1] != '.';	/* a.b.c.d */
	free(ip);
	if (!addr && !cvu_domain_ok(host)) {
		free(host);
		return NULL;
	}
	return host;
}

/* mailertable: one KEY MAILER:HOST line. */
static void sm_mailer_line(struct sm *st, char *s)
{
	char *set, *before, *v = sm_map_split(s, "mailertable", &set, &before);
	char *key = cvu_lower(cvu_dup(s)), *colon = strchr(v, ':');
	size_t ml = colon ? (size_t)(colon - v) : strlen(v);
	bool keyok = strcmp(key, ".") == 0 || cvu_domain_ok(key[0] == '.' ? key + 1 : key);
	if (!*v) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "no value: a mailertable entry is KEY MAILER:HOST; fix it and migrate again");
	} else if (!keyok) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "not a domain, .domain or \".\": convert it by hand");
	} else if (ml == 5 && strncasecmp(v, "local", 5) == 0) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "local delivery: if the domain is local, add it to control/locals and "
			    "control/rcpthosts by hand");
	} else if (ml == 5 && strncasecmp(v, "error", 5) == 0) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "sendmail refused mail for it: qmail refuses it from the network when the domain is "
			    "not in control/rcpthosts; nothing to do unless it is there");
	} else if (!colon || !((ml == 4 && strncasecmp(v, "smtp", 4) == 0) ||
			       (ml == 5 && strncasecmp(v, "esmtp", 5) == 0) ||
			       (ml == 5 && strncasecmp(v, "relay", 5) == 0) ||
			       (ml == 5 && strncasecmp(v, "smtp8", 5) == 0))) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "a mailer qmail has no match for (qmail-remote speaks SMTP only): convert it by hand");
	} else {
		char *hosts = cvu_dup(colon + 1), *more = NULL;
		/* sendmail's mailertable lists fallback hosts separated by ':' */
		for (char *p = hosts, *open = NULL; *p; p++) {
			if (*p == '[')
				open = p;
			else if (*p == ']')
				open = NULL;
			else if (*p == ':' && !open) {
				*p = '\0';
				more = p + 1;
				break;
			}
		}
		bool mx;
		char *host = sm_relay_host(cvu_trim_space(hosts), &mx);
		if (!host) {
			cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
				    "not a host name or address qmail's smtproutes can hold: convert it by hand");
		} else {
			char *route = cvu_printf("%s:%s", strcmp(key, ".") == 0 ? "" : key, host);
			char *after = cvu_printf("control/smtproutes: %s", route);
			cvu_line_once(st->r, "control/smtproutes", route);
			if (more)
				cv_item_add(st->r, set, before, after, CV_WARNED,
					    "qmail uses one relay per route: the hosts after the first are left out");
			else if (mx)
				cv_item_add(st->r, set, before, after, CV_WARNED,
					    "qmail's smtproutes does not look up MX: the host itself is used "
					    "(sendmail looked up its MX records)");
			else
				cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
			free(after);
			free(route);
			free(host);
		}
		free(hosts);
	}
	free(key);
	free(before);
	free(set);
}

/* One of the maps access, virtusertable and mailertable (TABLE, the
 * text IN): each line trimmed, a line with a NUL byte reported, blank
 * lines and comments skipped, the others read by LINE_FN. */
static void sm_map(struct sm *st, const struct cv_input *in, const char *table,
		   void (*line_fn)(struct sm *st, char *s))
{
	struct cvu_lines l;
	bool nul;
	char *line;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		char *s = cvu_trim_space(line);
		if (nul)
			cvu_nul_item(st->r, table, s);
		else if (*s && *s != '#')
			line_fn(st, s);
	}
	cvu_lines_close(&l);
}

/* ---- sendmail.mc ---- */

/* Whether C can be part of an m4 name. */
static bool mc_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Scans S on from the quote depth *Q and parenthesis depth *P; returns
 * where a dnl or a # comment starts outside quotes (strlen(S) if none). */
static size_t mc_scan(const char *s, int *q, int *p)
{
	size_t i;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (c == '`') {
			(*q)++;
		} else if (c == '\'' && *q > 0) {
			(*q)--;
		} else if (*q == 0) {
			if (c == '#')
				break;
			if (c == 'd' && strncmp(s + i, "dnl", 3) == 0 && (i == 0 || !mc_word(s[i - 1])) &&
			    !mc_word(s[i + 3]))
				break;
			if (c == '(')
				(*p)++;
			else if (c == ')' && *p > 0)
				(*p)--;
		}
	}
	return i;
}

/* A macro argument without its outer level of m4 quotes and blanks. */
static char *mc_unquote(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		abort();
	size_t o = 0;
	int q = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '`' && q++ == 0)
			continue;
		if (c == '\'' && q > 0 && --q == 0)
			continue;
		out[o++] = c;
	}
	out[o] = '\0';
	char *t = cvu_trim_space(out);
	memmove(out, t, strlen(t) + 1);
	return out;
}

/* A macro call: its name and its first two arguments (unquoted). */
struct mc_call {
	char name[64];
	char *arg[2];
	size_t nargs;
};

/* Parses one macro call at *PP (name, optional parenthesised arguments);
 * *PP moves past it. Returns -1 when the text there is not one or its
 * quotes or parentheses do not close. */
static int mc_parse_call(const char **pp, struct mc_call *c)
{
	const char *p = *pp;
	size_t n = 0;
	*c = (struct mc_call){ 0 };
	if (!isalpha((unsigned char)*p) && *p != '_')
		return -1;
	while (mc_word(p[n]))
		n++;
	if (n >= sizeof(c->name))
		return -1;
	memcpy(c->name, p, n);
	p += n;
	if (*p != '(') {
		*pp = p;
		return 0;
	}
	p++;
	const char *start = p;
	int q = 0, depth = 0;
	for (;; p++) {
		if (*p == '\0')
			return -1;
		if (*p == '`') {
			q++;
		} else if (*p == '\'' && q > 0) {
			q--;
		} else if (q == 0 && *p == '(') {
			depth++;
		} else if (q == 0 && *p == ')' && depth > 0) {
			depth--;
		} else if (q == 0 && depth == 0 && (*p == ',' || *p == ')')) {
			if (c->nargs < 2)
				c->arg[c->nargs] = mc_unquote(start, (size_t)(p - start));
			c->nargs++;
			start = p + 1;
			if (*p == ')')
				break;
		}
	}
	*pp = p + 1;
	return 0;
}

/* The macros that need no conversion, and the defines that convert. */
static const char *const mc_nothing[] = { "include", "OSTYPE", "DOMAIN", "MAILER", "VERSIONID", "divert", NULL };

/* The host of SMART_HOST's value V ("[host]", "host", "mailer:[host]"). */
static void mc_smart_host(struct sm *st, const char *set, const char *before, const char *v)
{
	const char *colon = strchr(v, ':');
	bool mx;
	char *host = sm_relay_host(colon ? colon + 1 : v, &mx);
	if (!host) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "not a host name or address qmail's smtproutes can hold: set control/smtproutes "
			    "(:host) by hand");
		return;
	}
	char *route = cvu_printf(":%s", host), *after = cvu_printf("control/smtproutes: %s", route);
	cvu_line_once(st->r, "control/smtproutes", route);
	cv_item_add(st->r, set, before, after, mx ? CV_WARNED : CV_CONVERTED,
		    mx ? "qmail's smtproutes does not look up MX: the host itself is used" : NULL);
	free(after);
	free(route);
	free(host);
}

/* One macro call C of sendmail.mc (BEFORE its text) as an item. */
static void mc_call_item(struct sm *st, const struct mc_call *c, const char *before)
{
	const char *a0 = c->arg[0] ? c->arg[0] : "", *a1 = c->arg[1] ? c->arg[1] : "";
	const char *own = "sendmail's own; set up by hand if qmail needs it";
	char *set = (strcmp(c->name, "define") == 0 || strcmp(c->name, "undefine") == 0) && *a0
			    ? cvu_printf("sendmail.mc: %s", a0)
		    : c->arg[0] ? cvu_printf("sendmail.mc: %s(`%s')", c->name, a0)
				: cvu_printf("sendmail.mc: %s", c->name);
	if (strcmp(c->name, "define") == 0) {
		if (strcmp(a0, "SMART_HOST") == 0) {
			mc_smart_host(st, set, before, a1);
		} else if (strcmp(a0, "confMAX_MESSAGE_SIZE") == 0) {
			bool digits = *a1 && strspn(a1, "0123456789") == strlen(a1) && strlen(a1) < 19;
			if (digits) {
				char *after = cvu_printf("control/databytes: %s", a1);
				cv_file_line(st->r, "control/databytes", a1);
				cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
				free(after);
			} else {
				cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
					    "not a number of bytes: set control/databytes by hand");
			}
		} else if (strcmp(a0, "confDOMAIN_NAME") == 0) {
			char *h = cvu_lower(cvu_dup(a1));
			if (cvu_domain_ok(h)) {
				char *after = cvu_printf("control/me: %s", h);
				free(st->mc_me);
				st->mc_me = h;
				h = NULL;
				cv_item_add(st->r, set, before, after, CV_CONVERTED, NULL);
				free(after);
			} else {
				cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
					    "not a host name (an m4 expression?): set control/me by hand");
			}
			free(h);
		} else {
			cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED, own);
		}
	} else if (strcmp(c->name, "FEATURE") == 0) {
		static const char *const read[][2] = { { "access_db", "read through /etc/mail/access" },
						       { "virtusertable", "read through /etc/mail/virtusertable" },
						       { "mailertable", "read through /etc/mail/mailertable" },
						       { "relay_hosts_only", "applied to relay-domains and To:" } };
		const char *note = NULL;
		for (size_t i = 0; i < sizeof(read) / sizeof(read[0]); i++)
			if (strcmp(a0, read[i][0]) == 0)
				note = read[i][1];
		if (strcmp(a0, "relay_hosts_only") == 0)
			st->relay_hosts_only = true;
		cv_item_add(st->r, set, before, note, note ? CV_CONVERTED : CV_NOT_CONVERTED, note ? NULL : own);
	} else if (strcmp(c->name, "MASQUERADE_AS") == 0) {
		cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
			    "qmail does not rewrite headers; defaulthost only qualifies bare names");
	} else {
		bool nothing = false;
		for (size_t i = 0; mc_nothing[i]; i++)
			if (strcmp(c->name, mc_nothing[i]) == 0)
				nothing = true;
		if (strcmp(c->name, "include") == 0) {
			size_t n = strlen(a0);
			nothing = n >= 6 && strcmp(a0 + n - 6, "/cf.m4") == 0;
		}
		if (nothing)
			cv_item_add(st->r, set, before, "nothing to convert", CV_CONVERTED, NULL);
		else
			cv_item_add(st->r, set, before, NULL, CV_NOT_CONVERTED,
				    strcmp(c->name, "include") == 0
					    ? "another m4 file: its settings were not read; convert them by hand"
					    : own);
	}
	free(set);
}

/* One m4 statement of sendmail.mc (its calls, comments stripped). */
static void mc_statement(struct sm *st, const char *s)
{
	const char *p = s;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		struct mc_call c;
		if (mc_parse_call(&p, &c) < 0) {
			char *set = cvu_printf("sendmail.mc: %.40s", start);
			cv_item_add(st->r, set, start, NULL, CV_NOT_CONVERTED,
				    "not a macro call qinstall reads (raw sendmail.cf text, or unbalanced m4 "
				    "quotes or parentheses): convert it by hand");
			free(set);
			free(c.arg[0]);
			free(c.arg[1]);
			break;
		}
		char *before = cvu_ndup(start, (size_t)(p - start));
		mc_call_item(st, &c, before);
		free(before);
		free(c.arg[0]);
		free(c.arg[1]);
	}
}

/* sendmail.mc: statements joined over lines while quotes or parentheses
 * are open, each line's dnl or # comment left out. */
static void sm_mc(struct sm *st, const struct cv_input *in)
{
	struct cvu_lines l;
	bool nul;
	char *line, *stmt = NULL;
	size_t slen = 0;
	int q = 0, p = 0;
	cvu_lines_open(&l, in);
	while ((line = cvu_lines_next(&l, &nul))) {
		if (nul) {
			cvu_nul_item(st->r, "sendmail.mc", cvu_trim_space(line));
			continue;
		}
		/* the quotes and parentheses left open carry on to this line */
		line[mc_scan(line, &q, &p)] = '\0';
		size_t add = strlen(line);
		stmt = realloc(stmt, slen + add + 2);
		if (!stmt)
			abort();
		if (slen)
			stmt[slen++] = ' ';
		memcpy(stmt + slen, line, add + 1);
		slen += add;
		if (q == 0 && p == 0) {
			mc_statement(st, stmt);
			slen = 0;
		}
	}
	if (slen) {
		stmt[slen] = '\0';
		mc_statement(st, stmt);
	}
	free(stmt);
	cvu_lines_close(&l);
}

int cv_sendmail(const struct cv_inputs *in, struct cv_result *out, const char **err)
{
	static const char *const names[] = { "/etc/mail/sendmail.mc",	  "/etc/mail/local-host-names",
					     "/etc/mail/relay-domains",	  "/etc/mail/access",
					     "/etc/mail/virtusertable",	  "/etc/mail/mailertable",
					     "/etc/aliases" };
	bool any = false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		any |= cv_input_find(in, names[i]) != NULL;
	if (!any) {
		*err = "none of sendmail's files was given (/etc/mail/sendmail.mc, local-host-names, "
		       "access, ..., /etc/aliases)";
		return -1;
	}
	struct sm st = { .r = out };
	const struct cv_input *f;
	if ((f = cv_input_find(in, names[0])))
		sm_mc(&st, f);
	if ((f = cv_input_find(in, names[1])))
		sm_local_host_names(&st, f);
	if ((f = cv_input_find(in, names[2])))
		sm_relay_domains(&st, f);
	if ((f = cv_input_find(in, names[3])))
		sm_map(&st, f, "access", sm_access_line);
	if ((f = cv_input_find(in, names[4])))
		sm_map(&st, f, "virtusertable", sm_virtuser_line);
	if ((f = cv_input_find(in, names[5])))
		sm_map(&st, f, "mailertable", sm_mailer_line);
	if ((f = cv_input_find(in, names[6])))
		cv_aliases(f->text, f->len, "/etc/aliases", out);
	const char *me = st.mc_me ? st.mc_me : st.lhn_me;
	if (me) {
		const char *dot = strchr(me, '.');
		bool two = dot && strchr(dot + 1, '.');
		free(out->me);
		free(out->domain);
		out->me = cvu_dup(me);
		out->domain = cvu_dup(two ? dot + 1 : me);
		cv_file_line(out, "control/me", out->me);
		cv_file_line(out, "control/defaultdomain", out->domain);
		cv_file_line(out, "control/plusdomain", out->domain);
	}
	cvu_sort_file(out, RCPTHOSTS);
	cvu_sort_file(out, LOCALS);
	cvu_set_free(&st.locals);
	free(st.mc_me);
	free(st.lhn_me);
	return 0;
}
