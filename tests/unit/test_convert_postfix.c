/* Unit tests for convert/postfix.c (cv_postfix): each Postfix setting
 * qinstall converts as the qmail file it becomes (me, defaultdomain,
 * defaulthost from myorigin and /etc/mailname, locals and rcpthosts,
 * relay domains and their subdomains, virtual alias domains from a list
 * and from the map's keys, the virtual map's entries, relayhost and the
 * transport map as smtproutes, mynetworks as tcprules lines, databytes,
 * /etc/aliases through alias_maps, recipient_delimiter), the names
 * `postconf -n` lists that are not converted, said why, and broken input
 * (no postconf, wrapped and malformed lines, NUL bytes). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "convert_test.h"

/* Convert the inputs given as NAME, TEXT pairs ending in NULL (TEXT
 * NUL-terminated). */
static struct cv_result run(const char *name, ...)
{
	struct cv_result r = { 0 };
	va_list ap;
	va_start(ap, name);
	const char *err = ct_vrun(cv_postfix, &r, name, ap);
	va_end(ap);
	assert_null(err);
	return r;
}

/* The text of file NAME, or NULL. */
static const char *file(const struct cv_result *r, const char *name)
{
	return ct_file(r, name);
}

/* The item whose setting is SETTING and before BEFORE (NULL: any). */
static const struct cv_item *find(const struct cv_result *r, const char *setting, const char *before)
{
	return ct_find(r, setting, before);
}

/* Assert that item SETTING (BEFORE) has AFTER, OUTCOME and WHY. */
static void item(const struct cv_result *r, const char *setting, const char *before, const char *after,
		 enum cv_outcome o, const char *why)
{
	ct_assert_item(ct_find(r, setting, before), after, o, why);
}

/* myhostname, mydomain, and myorigin = $myhostname (nothing to write). */
static void test_names(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "myhostname = Mail.Example.org\n"
				 "mydomain = example.org\n"
				 "myorigin = $myhostname\n",
				 NULL);
	assert_int_equal(r.nitems, 3);
	assert_string_equal(r.me, "mail.example.org");
	assert_string_equal(r.domain, "example.org");
	assert_string_equal(file(&r, "control/me"), "mail.example.org\n");
	assert_string_equal(file(&r, "control/defaultdomain"), "example.org\n");
	assert_string_equal(file(&r, "control/plusdomain"), "example.org\n");
	assert_null(file(&r, "control/defaulthost"));
	item(&r, "myhostname", "mail.example.org", "control/me: mail.example.org", CV_CONVERTED, NULL);
	item(&r, "mydomain", "example.org", "control/defaultdomain, control/plusdomain: example.org", CV_CONVERTED,
	     NULL);
	item(&r, "myorigin", "$myhostname", "control/defaulthost not needed (qmail uses me)", CV_CONVERTED, NULL);
	cv_result_free(&r);
}

/* myorigin = /etc/mailname (Debian's) is the first line of that file. */
static void test_mailname(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "myhostname = mail.example.org\nmyorigin = /etc/mailname\n",
				 "/etc/mailname", "  example.org \r\nsecond\n", NULL);
	assert_string_equal(file(&r, "control/defaulthost"), "example.org\n");
	item(&r, "myorigin", "/etc/mailname", "control/defaulthost: example.org", CV_CONVERTED, NULL);
	cv_result_free(&r);
	/* not given */
	r = run("postconf", "myorigin = /etc/mailname\n", NULL);
	item(&r, "myorigin", "/etc/mailname", "", CV_NOT_CONVERTED,
	     "the text of /etc/mailname was not given: write control/defaulthost by hand");
	assert_int_equal(r.nfiles, 0);
	cv_result_free(&r);
}

/* myorigin a domain of its own. */
static void test_origin_domain(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "myhostname = mail.example.org\nmydomain = example.org\n"
					     "myorigin = $mydomain\n",
				 NULL);
	assert_string_equal(file(&r, "control/defaulthost"), "example.org\n");
	item(&r, "myorigin", "$mydomain", "control/defaulthost: example.org", CV_CONVERTED, NULL);
	cv_result_free(&r);
}

/* mydestination (references expanded, localhost kept, a map left out):
 * locals and rcpthosts, sorted. */
static void test_mydestination(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "myhostname = mail.example.org\n"
				 "mydomain = example.org\n"
				 "mydestination = $myhostname, localhost.${mydomain}, localhost,\n"
				 "\texample.org hash:/etc/postfix/local_domains\n",
				 NULL);
	assert_string_equal(file(&r, "control/locals"),
			    "example.org\nlocalhost\nlocalhost.example.org\nmail.example.org\n");
	assert_string_equal(file(&r, "control/rcpthosts"),
			    "example.org\nlocalhost\nlocalhost.example.org\nmail.example.org\n");
	item(&r, "mydestination", "mail.example.org", "control/locals, control/rcpthosts: mail.example.org",
	     CV_CONVERTED, NULL);
	item(&r, "mydestination", "localhost", "control/locals, control/rcpthosts: localhost", CV_CONVERTED, NULL);
	item(&r, "mydestination", "hash:/etc/postfix/local_domains", "", CV_NOT_CONVERTED,
	     "a lookup table: list its domains in control/locals and control/rcpthosts by hand");
	cv_result_free(&r);
}

/* A reference postconf does not know: left as it is, not converted. */
static void test_unknown_reference(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "mydestination = $nosuch, example.org\n", NULL);
	item(&r, "mydestination", "$nosuch", "", CV_NOT_CONVERTED,
	     "$nosuch is unknown to postconf: write the domain in control/locals by hand");
	assert_string_equal(file(&r, "control/locals"), "example.org\n");
	cv_result_free(&r);
}

/* relay_domains with parent_domain_matches_subdomains naming it: the
 * domain and .domain; $mydestination expanded. */
static void test_relay_domains(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "mydestination = example.org\n"
				 "parent_domain_matches_subdomains = debug_peer_list,relay_domains\n"
				 "relay_domains = $mydestination relay.example.net .sub.example.com ldap:relays\n",
				 NULL);
	assert_string_equal(file(&r, "control/rcpthosts"), ".example.org\n.relay.example.net\n.sub.example.com\n"
							   "example.org\nrelay.example.net\n");
	assert_string_equal(file(&r, "control/locals"), "example.org\n");
	item(&r, "relay_domains", "relay.example.net", "control/rcpthosts: relay.example.net .relay.example.net",
	     CV_CONVERTED, NULL);
	item(&r, "relay_domains", ".sub.example.com", "control/rcpthosts: .sub.example.com", CV_CONVERTED, NULL);
	item(&r, "relay_domains", "ldap:relays", "", CV_NOT_CONVERTED,
	     "a lookup table: list its domains in control/rcpthosts by hand");
	cv_result_free(&r);
	/* without the parent matching: the domain only */
	r = run("postconf", "parent_domain_matches_subdomains = debug_peer_list\nrelay_domains = relay.example.net\n",
		NULL);
	assert_string_equal(file(&r, "control/rcpthosts"), "relay.example.net\n");
	item(&r, "relay_domains", "relay.example.net", "control/rcpthosts: relay.example.net", CV_CONVERTED, NULL);
	cv_result_free(&r);
}

/* virtual_alias_domains as a list: rcpthosts and virtualdomains; the
 * map's entries as ~alias files, bare targets with myorigin's domain. */
static void test_virtual_list(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "myhostname = mail.example.org\n"
				 "myorigin = example.org\n"
				 "mydestination = example.org\n"
				 "virtual_alias_domains = example.com, shop.example.net\n"
				 "virtual_alias_maps = hash:/etc/postfix/virtual\n",
				 "/etc/postfix/virtual",
				 "# virtual\n"
				 "info@example.com      alice@example.org, bob\n"
				 "john.doe@shop.example.net  john\n"
				 "@example.com          catchall@example.org\n"
				 "sales@other.example   carol\n",
				 NULL);
	assert_string_equal(file(&r, "control/rcpthosts"), "example.com\nexample.org\nshop.example.net\n");
	assert_string_equal(file(&r, "control/virtualdomains"),
			    "example.com:alias-example.com\nshop.example.net:alias-shop.example.net\n");
	assert_string_equal(file(&r, "alias/.qmail-example:com-info"), "&alice@example.org\n&bob@example.org\n");
	assert_string_equal(file(&r, "alias/.qmail-shop:example:net-john:doe"), "&john@example.org\n");
	assert_string_equal(file(&r, "alias/.qmail-example:com-default"), "&catchall@example.org\n");
	item(&r, "virtual_alias_domains", "example.com",
	     "control/rcpthosts: example.com, control/virtualdomains: example.com:alias-example.com", CV_CONVERTED,
	     NULL);
	item(&r, "virtual_alias_maps", "hash:/etc/postfix/virtual",
	     "~alias/.qmail-* from the 4 entries of /etc/postfix/virtual", CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/virtual: info@example.com", NULL, "alias/.qmail-example:com-info: 2 lines",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/virtual: @example.com", NULL, "alias/.qmail-example:com-default: 1 line",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/virtual: sales@other.example", NULL, "", CV_NOT_CONVERTED,
	     "other.example is neither a virtual alias domain nor in mydestination: qmail cannot rewrite the "
	     "addresses of other domains");
	cv_result_free(&r);
}

/* A big table: 20000 virtual alias domains (each named twice) and an
 * entry for each, one forwarding to a long list with repeats. Every
 * domain is in rcpthosts and virtualdomains once, in order; each file's
 * length is its text's; a repeated target is one line. The files are
 * sets of lines kept in linear time (this run took minutes when each
 * line was looked for by reading the file from its start). */
static void test_virtual_big(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct { char *s; size_t n; } conf = { 0 }, map = { 0 };
	FILE *fc = open_memstream(&conf.s, &conf.n), *fm = open_memstream(&map.s, &map.n);
	assert_non_null(fc);
	assert_non_null(fm);
	fprintf(fc, "mydestination = example.org\nmyorigin = example.org\nvirtual_alias_domains =");
	for (int i = 0; i < N; i++)
		fprintf(fc, " d%05d.example, d%05d.example", i, i);
	fprintf(fc, "\nvirtual_alias_maps = hash:/etc/postfix/virtual\n");
	fprintf(fm, "list@d00000.example");
	for (int i = 0; i < 3 * N; i++)
		fprintf(fm, "%s u%05d", i ? "," : "", i % N);
	fprintf(fm, "\n");
	for (int i = 1; i < N; i++)
		fprintf(fm, "info@d%05d.example u%05d\n", i, i);
	fclose(fc);
	fclose(fm);
	struct cv_result r = run("postconf", conf.s, "/etc/postfix/virtual", map.s, NULL);
	const char *vd = file(&r, "control/virtualdomains"), *rh = file(&r, "control/rcpthosts");
	assert_non_null(vd);
	assert_non_null(rh);
	size_t lines = 0;
	for (const char *p = vd; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, N);
	assert_non_null(strstr(vd, "d00000.example:alias-d00000.example\nd00001.example:alias-d00001.example\n"));
	assert_non_null(strstr(rh, "d19999.example\n"));
	assert_null(strstr(rh, "d19999.example\nd19999.example\n"));
	for (size_t i = 0; i < r.nfiles; i++)
		assert_int_equal(r.files[i].len, strlen(r.files[i].text));
	const char *list = file(&r, "alias/.qmail-d00000:example-list");
	assert_non_null(list);
	lines = 0;
	for (const char *p = list; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, N);
	assert_string_equal(file(&r, "alias/.qmail-d19999:example-info"), "&u19999@example.org\n");
	cv_result_free(&r);
	free(conf.s);
	free(map.s);
}

/* virtual_alias_domains = $virtual_alias_maps (the default): the
 * domains of the map's keys, those not in mydestination. */
static void test_virtual_from_map(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "mydestination = example.org\n"
				 "virtual_alias_domains = $virtual_alias_maps\n"
				 "virtual_alias_maps = hash:/etc/postfix/virtual\n",
				 "/etc/postfix/virtual",
				 "example.net   anything\n"
				 "a@example.net x@example.org\n"
				 "b@Example.NET y@example.org\n"
				 "c@example.org z@example.com\n",
				 NULL);
	assert_string_equal(file(&r, "control/virtualdomains"), "example.net:alias-example.net\n");
	assert_string_equal(file(&r, "control/rcpthosts"), "example.net\nexample.org\n");
	item(&r, "virtual_alias_domains", "hash:/etc/postfix/virtual", "control/virtualdomains: example.net",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/virtual: example.net", "anything",
	     "declares a virtual alias domain (control/virtualdomains)", CV_CONVERTED, NULL);
	assert_string_equal(file(&r, "alias/.qmail-example:net-b"), "&y@example.org\n");
	/* a key of a local domain: ~alias/.qmail-user, warned */
	item(&r, "/etc/postfix/virtual: c@example.org", NULL, "alias/.qmail-c: 1 line", CV_WARNED,
	     "qmail applies ~alias/.qmail-c only when no system account c exists");
	assert_string_equal(file(&r, "alias/.qmail-c"), "&z@example.com\n");
	cv_result_free(&r);
}

/* Bare keys, continuation lines, duplicates, a catch-all of a local
 * domain, a self reference, a missing map and a regexp map. */
static void test_virtual_entries(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "myhostname = mail.example.org\n"
				 "mydestination = example.org\n"
				 "virtual_alias_domains = example.com\n"
				 "virtual_alias_maps = hash:/etc/postfix/virtual, regexp:/etc/postfix/virtual.re,\n"
				 " /etc/postfix/missing\n",
				 "/etc/postfix/virtual",
				 "  orphan\n"
				 "postmaster.x  alice@example.org,\n"
				 "   bob@example.org\n"
				 "a@example.com a@example.com, b@example.org\n"
				 "a@example.com c@example.org\n"
				 "@example.org  all@example.com\n"
				 "lonely@example.com\n",
				 NULL);
	item(&r, "/etc/postfix/virtual: postmaster.x", NULL, "alias/.qmail-postmaster:x: 2 lines", CV_WARNED,
	     "qmail applies ~alias/.qmail-postmaster:x only when no system account postmaster.x exists");
	assert_string_equal(file(&r, "alias/.qmail-postmaster:x"), "&alice@example.org\n&bob@example.org\n");
	item(&r, "/etc/postfix/virtual: a@example.com", "a@example.com, b@example.org",
	     "alias/.qmail-example:com-a: 1 line", CV_WARNED, "left out: a@example.com (the key itself: it would loop)");
	item(&r, "/etc/postfix/virtual: a@example.com", "c@example.org", "", CV_NOT_CONVERTED,
	     "a second entry for alias/.qmail-example:com-a: the first is used");
	item(&r, "/etc/postfix/virtual: @example.org", NULL, "", CV_NOT_CONVERTED,
	     "a catch-all of a local domain: ~alias/.qmail-default would catch only the addresses with no account; "
	     "write it by hand if that is meant");
	item(&r, "/etc/postfix/virtual: lonely@example.com", NULL, "", CV_NOT_CONVERTED, "line 7: a key with no value");
	item(&r, "/etc/postfix/virtual: orphan", NULL, "", CV_NOT_CONVERTED,
	     "line 1: a continuation line (it starts with a blank) with no key before it");
	item(&r, "virtual_alias_maps", "regexp:/etc/postfix/virtual.re", "", CV_NOT_CONVERTED,
	     "qmail has no regexp aliases: write ~alias/.qmail-DOMAIN-USER (or -default) files by hand");
	item(&r, "virtual_alias_maps", "/etc/postfix/missing", "", CV_NOT_CONVERTED,
	     "the text of /etc/postfix/missing was not given: write its ~alias/.qmail-DOMAIN-USER files by hand");
	cv_result_free(&r);
}

/* relayhost: [host]:port, [host], host (MX warned), empty. */
static void test_relayhost(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "relayhost = [smtp.example.net]:587\n", NULL);
	assert_string_equal(file(&r, "control/smtproutes"), ":smtp.example.net:587\n");
	item(&r, "relayhost", "[smtp.example.net]:587", "control/smtproutes: :smtp.example.net:587", CV_CONVERTED,
	     NULL);
	cv_result_free(&r);
	r = run("postconf", "relayhost = [10.0.0.1]\n", NULL);
	assert_string_equal(file(&r, "control/smtproutes"), ":10.0.0.1\n");
	cv_result_free(&r);
	r = run("postconf", "relayhost = relay.example.net\n", NULL);
	assert_string_equal(file(&r, "control/smtproutes"), ":relay.example.net\n");
	item(&r, "relayhost", "relay.example.net", "control/smtproutes: :relay.example.net", CV_WARNED,
	     "qmail's smtproutes does not look up MX records: relay.example.net is used as the relay itself");
	cv_result_free(&r);
	r = run("postconf", "relayhost =\n", NULL);
	assert_int_equal(r.nfiles, 0);
	item(&r, "relayhost", "", "no smarthost", CV_CONVERTED, NULL);
	cv_result_free(&r);
	r = run("postconf", "relayhost = [2001:db8::1]:25\n", NULL);
	item(&r, "relayhost", "[2001:db8::1]:25", "", CV_NOT_CONVERTED, "an IPv6 relay: qmail-remote here has no IPv6");
	cv_result_free(&r);
	r = run("postconf", "relayhost = [relay.example.net]:submission\n", NULL);
	item(&r, "relayhost", NULL, "", CV_NOT_CONVERTED,
	     "the port is not a number (qmail's smtproutes takes a number)");
	cv_result_free(&r);
}

/* transport_maps: smtp and relay routes, .domain keys, other transports. */
static void test_transport(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "transport_maps = hash:/etc/postfix/transport\n",
				 "/etc/postfix/transport",
				 "example.com     smtp:[mx.example.com]:2525\n"
				 ".example.com    relay:[mx.example.com]\n"
				 "example.net     smtp:gw.example.net\n"
				 "example.edu     smtp:\n"
				 "local.example   local:\n"
				 "bad.example     error:no mail here\n"
				 "lm.example      lmtp:unix:/run/lmtp\n"
				 "user@example.org smtp:[x.example]\n"
				 "*               smtp:[fallback.example]\n",
				 NULL);
	assert_string_equal(file(&r, "control/smtproutes"), "example.com:mx.example.com:2525\n"
							    ".example.com:mx.example.com\n"
							    "example.net:gw.example.net\n");
	item(&r, "transport_maps", "hash:/etc/postfix/transport",
	     "control/smtproutes from the 9 entries of /etc/postfix/transport", CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/transport: example.com", NULL, "control/smtproutes: example.com:mx.example.com:2525",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/transport: .example.com", NULL, "control/smtproutes: .example.com:mx.example.com",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/transport: example.net", NULL, "control/smtproutes: example.net:gw.example.net",
	     CV_WARNED, "qmail's smtproutes does not look up MX records: gw.example.net is used as the relay itself");
	item(&r, "/etc/postfix/transport: example.edu", NULL, "nothing: qmail delivers to the domain's MX itself",
	     CV_CONVERTED, NULL);
	item(&r, "/etc/postfix/transport: local.example", NULL, "", CV_NOT_CONVERTED,
	     "the local transport delivers local.example on this host: add it to control/locals by hand");
	item(&r, "/etc/postfix/transport: bad.example", NULL, "", CV_NOT_CONVERTED,
	     "the error transport refuses mail for bad.example: in qmail, leave it out of control/rcpthosts");
	item(&r, "/etc/postfix/transport: lm.example", NULL, "", CV_NOT_CONVERTED,
	     "Postfix's lmtp transport has no smtproutes counterpart (only smtp and relay have): deliver lm.example "
	     "by hand");
	assert_int_equal(find(&r, "/etc/postfix/transport: user@example.org", NULL)->outcome, CV_NOT_CONVERTED);
	assert_int_equal(find(&r, "/etc/postfix/transport: *", NULL)->outcome, CV_NOT_CONVERTED);
	cv_result_free(&r);
}

/* mynetworks: every prefix length tcprules can say, ranges for /25-/31,
 * the others and IPv6 left out, duplicates once. */
static void test_mynetworks(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 10.0.0.0/16,\n"
				 "    192.168.1.0/24 192.168.2.128/25 192.168.3.7 203.0.113.8/29 172.16.0.0/12\n"
				 "    10.0.0.0/16 192.168.4.5/24 host.example hash:/etc/postfix/nets 0.0.0.0/0\n",
				 NULL);
	assert_string_equal(file(&r, "tcp.smtp"), "127.:allow,RELAYCLIENT=\"\"\n"
						  "10.0.:allow,RELAYCLIENT=\"\"\n"
						  "192.168.1.:allow,RELAYCLIENT=\"\"\n"
						  "192.168.2.128-255:allow,RELAYCLIENT=\"\"\n"
						  "192.168.3.7:allow,RELAYCLIENT=\"\"\n"
						  "203.0.113.8-15:allow,RELAYCLIENT=\"\"\n"
						  "192.168.4.:allow,RELAYCLIENT=\"\"\n");
	item(&r, "mynetworks", "127.0.0.0/8", "tcp.smtp: 127.:allow,RELAYCLIENT=\"\"", CV_CONVERTED, NULL);
	item(&r, "mynetworks", "[::1]/128", "", CV_NOT_CONVERTED, "an IPv6 network: qmail's tcpserver here has no IPv6");
	item(&r, "mynetworks", "[::ffff:127.0.0.0]/104", "", CV_NOT_CONVERTED,
	     "an IPv6 network: qmail's tcpserver here has no IPv6");
	item(&r, "mynetworks", "172.16.0.0/12", "", CV_NOT_CONVERTED,
	     "tcprules matches whole octets: write the rules for 172.16.0.0/12 by hand");
	item(&r, "mynetworks", "192.168.4.5/24", "tcp.smtp: 192.168.4.:allow,RELAYCLIENT=\"\"", CV_WARNED,
	     "192.168.4.5/24 has host bits set: the network 192.168.4. is used (as Postfix does)");
	assert_int_equal(find(&r, "mynetworks", "host.example")->outcome, CV_NOT_CONVERTED);
	item(&r, "mynetworks", "hash:/etc/postfix/nets", "", CV_NOT_CONVERTED,
	     "a lookup table: write its networks as tcprules lines (ADDR:allow,RELAYCLIENT=\"\") by hand");
	assert_int_equal(find(&r, "mynetworks", "0.0.0.0/0")->outcome, CV_NOT_CONVERTED);
	size_t n = 0;
	for (size_t i = 0; i < r.nitems; i++)
		n += strcmp(r.items[i].setting, "mynetworks") == 0;
	assert_int_equal(n, 14);
	cv_result_free(&r);
	/* not a network: a bad octet, a bad length */
	r = run("postconf", "mynetworks = 10.0.0.256/32 10.0.0.0/33 1.2.3/24\n", NULL);
	assert_null(file(&r, "tcp.smtp"));
	assert_int_equal(r.nitems, 3);
	for (size_t i = 0; i < r.nitems; i++)
		assert_int_equal(r.items[i].outcome, CV_NOT_CONVERTED);
	cv_result_free(&r);
}

/* message_size_limit: databytes, 0 as 0. */
static void test_size(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "message_size_limit = 10240000\n", NULL);
	assert_string_equal(file(&r, "control/databytes"), "10240000\n");
	item(&r, "message_size_limit", "10240000", "control/databytes: 10240000", CV_CONVERTED, NULL);
	cv_result_free(&r);
	r = run("postconf", "message_size_limit = 0\n", NULL);
	assert_string_equal(file(&r, "control/databytes"), "0\n");
	cv_result_free(&r);
	r = run("postconf", "message_size_limit = 10m\n", NULL);
	item(&r, "message_size_limit", "10m", "", CV_NOT_CONVERTED,
	     "not a number of bytes: write control/databytes by hand");
	cv_result_free(&r);
}

/* alias_maps: /etc/aliases through cv_aliases, other tables left out. */
static void test_alias_maps(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "alias_maps = hash:/etc/aliases, nis:mail.aliases, hash:/etc/other\n",
				 "/etc/aliases", "postmaster: root\nroot: admin@example.org\n", NULL);
	assert_string_equal(file(&r, "alias/.qmail-postmaster"), "&root\n");
	assert_string_equal(file(&r, "alias/.qmail-root"), "&admin@example.org\n");
	item(&r, "alias_maps", "hash:/etc/aliases", "~alias/.qmail-* from /etc/aliases", CV_CONVERTED, NULL);
	item(&r, "/etc/aliases: root", NULL, "alias/.qmail-root: 1 line", CV_CONVERTED, NULL);
	item(&r, "alias_maps", "nis:mail.aliases", "", CV_NOT_CONVERTED,
	     "qmail has no nis lookups: copy these aliases into ~alias/.qmail-NAME files by hand");
	item(&r, "alias_maps", "hash:/etc/other", "", CV_NOT_CONVERTED,
	     "the text of /etc/other was not given: write its ~alias/.qmail-NAME files by hand");
	cv_result_free(&r);
}

/* A virtual entry for a local user and an alias of the same name: the
 * virtual one (applied first by Postfix) is kept. */
static void test_virtual_before_alias(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "mydestination = example.org\n"
				 "virtual_alias_maps = hash:/etc/postfix/virtual\n"
				 "alias_maps = hash:/etc/aliases\n",
				 "/etc/postfix/virtual", "info@example.org  a@example.net\n", "/etc/aliases",
				 "info: b@example.net\n", NULL);
	assert_string_equal(file(&r, "alias/.qmail-info"), "&a@example.net\n");
	item(&r, "/etc/aliases: info", NULL, "", CV_NOT_CONVERTED,
	     "alias/.qmail-info is made already by an earlier setting: merge the two by hand");
	cv_result_free(&r);
}

/* recipient_delimiter: empty and '-' fit qmail, '+' is warned. */
static void test_delimiter(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "recipient_delimiter =\n", NULL);
	item(&r, "recipient_delimiter", "", "", CV_CONVERTED, NULL);
	cv_result_free(&r);
	r = run("postconf", "recipient_delimiter = -\n", NULL);
	item(&r, "recipient_delimiter", "-", "", CV_CONVERTED, NULL);
	cv_result_free(&r);
	r = run("postconf", "recipient_delimiter = +\n", NULL);
	item(&r, "recipient_delimiter", "+", "", CV_WARNED,
	     "qmail separates extensions with '-' (user-ext): addresses user+ext will not reach user");
	cv_result_free(&r);
}

/* The names postconf -n gives that nothing converts: one item each, said
 * why by family; the converted ones not twice. */
static void test_others(void **state)
{
	(void)state;
	struct cv_result r = run("postconf", "myhostname = mail.example.org\n", "postconf -n",
				 "myhostname = mail.example.org\n"
				 "smtpd_sasl_auth_enable = yes\n"
				 "smtpd_milters = inet:localhost:8891\n"
				 "header_checks = regexp:/etc/postfix/header_checks\n"
				 "smtpd_tls_cert_file = /etc/ssl/certs/cert.pem\n"
				 "smtp_tls_security_level = may\n"
				 "smtp_tls_CApath = /etc/ssl/certs\n"
				 "compatibility_level = 3.6\n"
				 "biff = no\n"
				 "inet_interfaces = all\n"
				 "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination\n"
				 "home_mailbox = Maildir/\n"
				 "mydomain = example.org\n",
				 NULL);
	assert_int_equal(r.nitems, 13);
	item(&r, "myhostname", NULL, "control/me: mail.example.org", CV_CONVERTED, NULL);
	item(&r, "smtpd_sasl_auth_enable", "yes", "", CV_NOT_CONVERTED,
	     "SMTP AUTH needs qmail's smtp-auth patch and checkpassword: qinstall's profile sets that up, not from "
	     "this setting");
	item(&r, "smtpd_milters", NULL, "", CV_NOT_CONVERTED, "qmail has no milter interface");
	item(&r, "header_checks", NULL, "", CV_NOT_CONVERTED, "Postfix's content checks have no qmail counterpart");
	item(&r, "smtpd_tls_cert_file", NULL, "", CV_NOT_CONVERTED, "TLS is the profile's tls-smtpauth option");
	item(&r, "smtp_tls_security_level", NULL, "", CV_NOT_CONVERTED, "TLS is the profile's tls-smtpauth option");
	item(&r, "smtp_tls_CApath", "/etc/ssl/certs", "", CV_NOT_CONVERTED, "TLS is the profile's tls-smtpauth option");
	item(&r, "compatibility_level", "3.6", "", CV_NOT_CONVERTED, "Postfix's own; nothing in qmail needs it");
	assert_int_equal(find(&r, "biff", "no")->outcome, CV_NOT_CONVERTED);
	assert_int_equal(find(&r, "inet_interfaces", "all")->outcome, CV_NOT_CONVERTED);
	assert_int_equal(find(&r, "smtpd_relay_restrictions", NULL)->outcome, CV_NOT_CONVERTED);
	item(&r, "home_mailbox", "Maildir/", "", CV_NOT_CONVERTED,
	     "qinstall does not convert home_mailbox: set up its qmail counterpart by hand");
	item(&r, "mydomain", "example.org", "", CV_NOT_CONVERTED, "postconf -x did not give mydomain: convert it by hand");
	cv_result_free(&r);
}

/* No "postconf": the input is unusable, -1 and a message. */
static void test_no_postconf(void **state)
{
	(void)state;
	struct cv_input v[] = { { "postconf -n", "myhostname = x\n", 15 } };
	struct cv_inputs in = { v, 1 };
	struct cv_result r = { 0 };
	const char *err = NULL;
	assert_int_equal(cv_postfix(&in, &r, &err), -1);
	assert_non_null(err);
	assert_int_equal(r.nitems, 0);
	assert_int_equal(r.nfiles, 0);
	in.n = 0;
	assert_int_equal(cv_postfix(&in, &r, &err), -1);
	cv_result_free(&r);
}

/* Malformed postconf lines, a NUL byte, a name twice, a wrapped value,
 * an empty value: items, never a failure. */
static void test_malformed(void **state)
{
	(void)state;
	static const char conf[] = "  orphan continuation\n"
				   "this is no setting\n"
				   "bad\0name = x\n"
				   "message_size_limit = 1\n"
				   "message_size_limit = 2\n"
				   "mydestination = a.example,\n"
				   "    b.example\n"
				   "\tc.example\n"
				   "mydomain =\n"
				   "= value\n"
				   "myhostname = host.exampleTRAILING";
	struct cv_input v[] = { { "postconf", conf, sizeof(conf) - 1 - strlen("TRAILING") } };
	struct cv_inputs in = { v, 1 };
	struct cv_result r = { 0 };
	const char *err = NULL;
	assert_int_equal(cv_postfix(&in, &r, &err), 0);
	item(&r, "postconf: line 1", NULL, "", CV_NOT_CONVERTED, "postconf line 1 is not NAME = VALUE");
	item(&r, "postconf: line 2", NULL, "", CV_NOT_CONVERTED, "postconf line 2 is not NAME = VALUE");
	item(&r, "postconf: line 3", NULL, "", CV_NOT_CONVERTED,
	     "postconf line 3 is not NAME = VALUE (it has a NUL byte)");
	item(&r, "postconf: message_size_limit", "2", "", CV_NOT_CONVERTED,
	     "postconf gives message_size_limit twice: the last is used");
	item(&r, "postconf: line 10", "= value", "", CV_NOT_CONVERTED, "postconf line 10 is not NAME = VALUE");
	assert_string_equal(file(&r, "control/databytes"), "2\n");
	assert_string_equal(file(&r, "control/locals"), "a.example\nb.example\nc.example\n");
	assert_string_equal(file(&r, "control/me"), "host.example\n");
	item(&r, "mydomain", "", "", CV_NOT_CONVERTED,
	     "not a domain name: write control/defaultdomain and control/plusdomain by hand");
	cv_result_free(&r);
}

/* A whole Debian-like configuration: every file at once. */
static void test_debian(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "alias_maps = hash:/etc/aliases\n"
				 "message_size_limit = 0\n"
				 "mydestination = $myhostname, mail.example.org, localhost.example.org, , localhost\n"
				 "mydomain = example.org\n"
				 "myhostname = mail.example.org\n"
				 "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128\n"
				 "myorigin = /etc/mailname\n"
				 "parent_domain_matches_subdomains = debug_peer_list,fast_flush_domains,mynetworks,"
				 "permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps\n"
				 "recipient_delimiter = +\n"
				 "relay_domains =\n"
				 "relayhost =\n"
				 "transport_maps =\n"
				 "virtual_alias_domains = $virtual_alias_maps\n"
				 "virtual_alias_maps =\n",
				 "/etc/mailname", "example.org\n", "/etc/aliases",
				 "# See man 5 aliases for format\npostmaster:    root\n", NULL);
	assert_string_equal(file(&r, "control/me"), "mail.example.org\n");
	assert_string_equal(file(&r, "control/defaulthost"), "example.org\n");
	assert_string_equal(file(&r, "control/locals"), "localhost\nlocalhost.example.org\nmail.example.org\n");
	assert_string_equal(file(&r, "control/rcpthosts"), "localhost\nlocalhost.example.org\nmail.example.org\n");
	assert_string_equal(file(&r, "control/databytes"), "0\n");
	assert_string_equal(file(&r, "tcp.smtp"), "127.:allow,RELAYCLIENT=\"\"\n");
	assert_string_equal(file(&r, "alias/.qmail-postmaster"), "&root\n");
	assert_null(file(&r, "control/smtproutes"));
	assert_null(file(&r, "control/virtualdomains"));
	item(&r, "relay_domains", "", "no relay domain", CV_CONVERTED, NULL);
	item(&r, "virtual_alias_domains", "$virtual_alias_maps", "no virtual alias domain", CV_CONVERTED, NULL);
	item(&r, "virtual_alias_maps", "", "no virtual alias", CV_CONVERTED, NULL);
	item(&r, "transport_maps", "", "no route", CV_CONVERTED, NULL);
	assert_int_equal(find(&r, "recipient_delimiter", "+")->outcome, CV_WARNED);
	for (size_t i = 0; i < r.nfiles; i++) {
		size_t l = strlen(r.files[i].text);
		assert_true(l > 0 && r.files[i].text[l - 1] == '\n');
	}
	cv_result_free(&r);
}

/* cv_postfix_names has the names cv_postfix reads. */
static void test_names_list(void **state)
{
	(void)state;
	static const char *const want[] = { "myhostname", "mydomain", "myorigin", "mydestination", "relay_domains",
					    "parent_domain_matches_subdomains", "mynetworks", "virtual_alias_domains",
					    "virtual_alias_maps", "relayhost", "transport_maps", "message_size_limit",
					    "alias_maps", "recipient_delimiter" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (size_t j = 0; cv_postfix_names[j]; j++)
			found = found || strcmp(cv_postfix_names[j], want[i]) == 0;
		assert_true(found);
	}
}

/* The transport map with the parent matching for transport_maps: the
 * subdomains routed too. */
static void test_transport_parent(void **state)
{
	(void)state;
	struct cv_result r = run("postconf",
				 "parent_domain_matches_subdomains = transport_maps\n"
				 "transport_maps = /etc/postfix/transport\n",
				 "/etc/postfix/transport", "example.com smtp:[mx.example.com]\n", NULL);
	assert_string_equal(file(&r, "control/smtproutes"), "example.com:mx.example.com\n.example.com:mx.example.com\n");
	cv_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mailname),
		cmocka_unit_test(test_origin_domain),
		cmocka_unit_test(test_mydestination),
		cmocka_unit_test(test_unknown_reference),
		cmocka_unit_test(test_relay_domains),
		cmocka_unit_test(test_virtual_list),
		cmocka_unit_test(test_virtual_big),
		cmocka_unit_test(test_virtual_from_map),
		cmocka_unit_test(test_virtual_entries),
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_transport_parent),
		cmocka_unit_test(test_mynetworks),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_alias_maps),
		cmocka_unit_test(test_virtual_before_alias),
		cmocka_unit_test(test_delimiter),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_no_postconf),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_debian),
		cmocka_unit_test(test_names_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
