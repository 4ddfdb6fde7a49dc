/* Unit tests for sendmail.c: local-host-names, relay-domains, access,
 * virtusertable, mailertable and sendmail.mc converted line by line into
 * qmail's files, with the outcome of every entry; malformed input (no
 * value, unbalanced m4 quotes, NUL bytes, huge lines, a text that does
 * not end in a NUL) and missing inputs. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#define CT_CONVERTER cv_sendmail
#include "convert_test.h"

#define MC "/etc/mail/sendmail.mc"
#define LHN "/etc/mail/local-host-names"
#define RD "/etc/mail/relay-domains"
#define ACC "/etc/mail/access"
#define VUT "/etc/mail/virtusertable"
#define MT "/etc/mail/mailertable"

static void test_no_input(void **state)
{
	(void)state;
	struct cv_input other = { .name = "/etc/postfix/main.cf", .text = "", .len = 0 };
	struct cv_inputs none = { 0 }, wrong = { .v = &other, .n = 1 };
	const char *err = NULL;
	assert_int_equal(cv_sendmail(&none, &r, &err), -1);
	assert_non_null(err);
	err = NULL;
	assert_int_equal(cv_sendmail(&wrong, &r, &err), -1);
	assert_non_null(err);
	/* one empty file is enough */
	run(ACC, "", NULL);
	assert_int_equal(r.nitems, 0);
	assert_int_equal(r.nfiles, 0);
	assert_null(r.me);
}

static void test_local_host_names(void **state)
{
	(void)state;
	run(LHN, "# the names\nlocalhost\nMail.Example.org\n\nexample.org\nexample.org\nhost.sub.example.net\n", NULL);
	assert_string_equal(text("control/locals"), "example.org\nhost.sub.example.net\nlocalhost\nmail.example.org\n");
	assert_string_equal(text("control/rcpthosts"),
			    "example.org\nhost.sub.example.net\nlocalhost\nmail.example.org\n");
	outcome("local-host-names: localhost", CV_CONVERTED);
	outcome("local-host-names: Mail.Example.org", CV_CONVERTED);
	assert_string_equal(item("local-host-names: Mail.Example.org")->after,
			    "control/locals, control/rcpthosts: mail.example.org");
	assert_string_equal(r.me, "mail.example.org");
	assert_string_equal(r.domain, "example.org");
	assert_string_equal(text("control/me"), "mail.example.org\n");
	assert_string_equal(text("control/defaultdomain"), "example.org\n");
	assert_string_equal(text("control/plusdomain"), "example.org\n");
}

static void test_local_host_names_bad(void **state)
{
	(void)state;
	run(LHN, "[192.0.2.1]\nexample.org other.example\nexample\n", NULL);
	outcome("local-host-names: [192.0.2.1]", CV_NOT_CONVERTED);
	outcome("local-host-names: example.org other.example", CV_NOT_CONVERTED);
	outcome("local-host-names: example", CV_CONVERTED);
	assert_string_equal(text("control/locals"), "example\n");
	/* no name with a dot: no host name */
	assert_null(r.me);
	assert_null(r.domain);
	assert_null(cv_file_find(&r, "control/me"));
}

static void test_relay_domains_networks(void **state)
{
	(void)state;
	run(RD, "10\n192.168\n192.168.1\n192.168.1.7\n192.168.1\n256.1\n1.2.3.4.5\n", NULL);
	assert_string_equal(text("tcp.smtp"), "10.:allow,RELAYCLIENT=\"\"\n"
					      "192.168.:allow,RELAYCLIENT=\"\"\n"
					      "192.168.1.:allow,RELAYCLIENT=\"\"\n"
					      "192.168.1.7:allow,RELAYCLIENT=\"\"\n");
	outcome("relay-domains: 10", CV_CONVERTED);
	outcome("relay-domains: 192.168.1.7", CV_CONVERTED);
	assert_string_equal(item("relay-domains: 192.168.1.7")->after, "tcp.smtp: 192.168.1.7:allow,RELAYCLIENT=\"\"");
	/* neither networks nor domains */
	outcome("relay-domains: 256.1", CV_NOT_CONVERTED);
	outcome("relay-domains: 1.2.3.4.5", CV_NOT_CONVERTED);
}

static void test_relay_domains_domains(void **state)
{
	(void)state;
	run(RD, "Example.NET\n2001:db8::/32\n", NULL);
	outcome("relay-domains: Example.NET", CV_WARNED);
	assert_non_null(strstr(item("relay-domains: Example.NET")->why, "tcp.smtp"));
	assert_string_equal(text("control/rcpthosts"), ".example.net\nexample.net\n");
	outcome("relay-domains: 2001:db8::/32", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "tcp.smtp"));
}

static void test_access_connect(void **state)
{
	(void)state;
	run(ACC, "Connect:10.1 RELAY\nConnect:10.2\tREJECT\nconnect:10.3 DISCARD\n"
		 "Connect:10.4.5 ERROR:5.7.1:550 go away\nConnect:10.5.6.7 OK\nConnect:10.6 550 no\n"
		 "Connect:10.1 RELAY\nConnect:10.7 SKIP\n",
	    NULL);
	assert_string_equal(text("tcp.smtp"), "10.1.:allow,RELAYCLIENT=\"\"\n10.2.:deny\n10.3.:deny\n10.4.5.:deny\n"
					      "10.5.6.7:allow\n10.6.:deny\n");
	outcome("access: Connect:10.2", CV_CONVERTED);
	outcome("access: connect:10.3", CV_WARNED);
	outcome("access: Connect:10.4.5", CV_CONVERTED);
	outcome("access: Connect:10.5.6.7", CV_CONVERTED);
	outcome("access: Connect:10.6", CV_CONVERTED);
	outcome("access: Connect:10.7", CV_NOT_CONVERTED);
	assert_string_equal(item("access: Connect:10.4.5")->before, "Connect:10.4.5 ERROR:5.7.1:550 go away");
	/* the same entry twice: two items, one line */
	size_t twice = 0;
	for (size_t i = 0; i < r.nitems; i++)
		twice += strcmp(r.items[i].setting, "access: Connect:10.1") == 0;
	assert_int_equal(twice, 2);
}

static void test_access_connect_names(void **state)
{
	(void)state;
	run(ACC, "Connect:host.example.net RELAY\nConnect:IPv6:2001:db8::1 RELAY\nIPv6:2001:db8::2 OK\n", NULL);
	outcome("access: Connect:host.example.net", CV_NOT_CONVERTED);
	assert_non_null(strstr(item("access: Connect:host.example.net")->why, "=host"));
	outcome("access: Connect:IPv6:2001:db8::1", CV_NOT_CONVERTED);
	outcome("access: IPv6:2001:db8::2", CV_NOT_CONVERTED);
	assert_non_null(strstr(item("access: IPv6:2001:db8::2")->why, "IPv6"));
	assert_int_equal(r.nfiles, 0);
}

static void test_access_to(void **state)
{
	(void)state;
	run(ACC, "To:Example.com RELAY\nTo:example.org REJECT\nTo:user@example.net RELAY\nTo:10.1 RELAY\n", NULL);
	outcome("access: To:Example.com", CV_WARNED);
	assert_string_equal(item("access: To:Example.com")->after, "control/rcpthosts: example.com, .example.com");
	assert_string_equal(text("control/rcpthosts"), ".example.com\nexample.com\n");
	outcome("access: To:example.org", CV_NOT_CONVERTED);
	outcome("access: To:user@example.net", CV_NOT_CONVERTED);
	/* a network is no domain */
	outcome("access: To:10.1", CV_NOT_CONVERTED);
}

static void test_access_relay_hosts_only(void **state)
{
	(void)state;
	run(MC, "FEATURE(`relay_hosts_only')dnl\n", ACC, "To:example.com RELAY\n", RD, "example.net\n", NULL);
	outcome("sendmail.mc: FEATURE(`relay_hosts_only')", CV_CONVERTED);
	outcome("access: To:example.com", CV_CONVERTED);
	assert_string_equal(text("control/rcpthosts"), "example.com\nexample.net\n");
}

static void test_access_from(void **state)
{
	(void)state;
	run(ACC, "From:Spammer@Bad.example REJECT\nFrom:bad.example ERROR:\"550 no\"\nFrom:junk@x.example DISCARD\n"
		 "From:friend@ok.example OK\nFrom:ok.example RELAY\nFrom:user@ REJECT\nFrom:a@b.example SKIP\n",
	    NULL);
	assert_string_equal(text("control/badmailfrom"), "spammer@bad.example\n@bad.example\njunk@x.example\n");
	outcome("access: From:Spammer@Bad.example", CV_CONVERTED);
	outcome("access: From:bad.example", CV_WARNED);
	outcome("access: From:junk@x.example", CV_WARNED);
	outcome("access: From:friend@ok.example", CV_NOT_CONVERTED);
	assert_non_null(strstr(item("access: From:friend@ok.example")->why, "qmail has no sender whitelist"));
	outcome("access: From:ok.example", CV_NOT_CONVERTED);
	outcome("access: From:user@", CV_NOT_CONVERTED);
	outcome("access: From:a@b.example", CV_NOT_CONVERTED);
}

static void test_access_other_tags(void **state)
{
	(void)state;
	run(ACC, "Spam:abuse@ FRIEND\nGreetPause:10.1 5000\nClientRate:10.2 10\nClientConn:10.3 5\n"
		 "Srv_Features:10.4 V\nTry_TLS:broken.example NO\nCompat:x@y DISCARD\n",
	    NULL);
	const char *s[] = { "access: Spam:abuse@",	 "access: GreetPause:10.1",   "access: ClientRate:10.2",
			    "access: ClientConn:10.3",	 "access: Srv_Features:10.4", "access: Try_TLS:broken.example",
			    "access: Compat:x@y" };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		outcome(s[i], CV_NOT_CONVERTED);
	assert_non_null(strstr(item("access: GreetPause:10.1")->why, "greeting"));
	assert_int_equal(r.nfiles, 0);
}

static void test_access_untagged(void **state)
{
	(void)state;
	run(ACC, "# comment\n\n10.1.2 RELAY\nexample.com REJECT\nuser@example.org OK\n", NULL);
	const char *why = "untagged: sendmail applies it to hosts, senders and recipients alike; write it as "
			  "Connect:, From: or To: and migrate again, or convert it by hand";
	assert_int_equal(r.nitems, 3);
	for (size_t i = 0; i < r.nitems; i++) {
		assert_int_equal(r.items[i].outcome, CV_NOT_CONVERTED);
		assert_string_equal(r.items[i].why, why);
	}
	assert_int_equal(r.nfiles, 0);
}

static void test_access_no_value(void **state)
{
	(void)state;
	run(ACC, "Connect:10.1\nTo:example.com   \n", NULL);
	outcome("access: Connect:10.1", CV_NOT_CONVERTED);
	outcome("access: To:example.com", CV_NOT_CONVERTED);
	assert_int_equal(r.nfiles, 0);
}

static void test_virtusertable(void **state)
{
	(void)state;
	run(VUT, "info@Example.com alice\nsales@example.com bob@elsewhere.example\nj.doe@example.com jdoe\n"
		 "x@other.example carol\n",
	    NULL);
	assert_string_equal(text("control/virtualdomains"), "example.com:alias-example.com\n"
							    "other.example:alias-other.example\n");
	assert_string_equal(text("control/rcpthosts"), "example.com\nother.example\n");
	assert_string_equal(text("alias/.qmail-example:com-info"), "&alice\n");
	assert_string_equal(text("alias/.qmail-example:com-sales"), "&bob@elsewhere.example\n");
	assert_string_equal(text("alias/.qmail-example:com-j:doe"), "&jdoe\n");
	assert_string_equal(text("alias/.qmail-other:example-x"), "&carol\n");
	outcome("virtusertable: info@Example.com", CV_CONVERTED);
	assert_string_equal(item("virtusertable: info@Example.com")->after,
			    "control/virtualdomains: example.com:alias-example.com; control/rcpthosts: example.com; "
			    "alias/.qmail-example:com-info: &alice");
	assert_string_equal(item("virtusertable: sales@example.com")->after,
			    "alias/.qmail-example:com-sales: &bob@elsewhere.example");
}

static void test_virtusertable_errors(void **state)
{
	(void)state;
	run(VUT, "a@example.com error:nouser 550 No such user\nb@example.com error:5.1.1:550 \"User's gone\"\n"
		 "c@example.com error:550 Bye\nd@example.com error:nouser\n",
	    NULL);
	assert_string_equal(text("alias/.qmail-example:com-a"), "|bouncesaying 'No such user'\n");
	assert_string_equal(text("alias/.qmail-example:com-b"), "|bouncesaying 'User'\\''s gone'\n");
	assert_string_equal(text("alias/.qmail-example:com-c"), "|bouncesaying 'Bye'\n");
	assert_string_equal(text("alias/.qmail-example:com-d"), "|bouncesaying 'This address no longer accepts mail.'\n");
	outcome("virtusertable: b@example.com", CV_CONVERTED);
}

static void test_virtusertable_catchall(void **state)
{
	(void)state;
	run(VUT, "@example.com postmaster\n@example.org %1@example.net\nx+*@example.com y\n"
		 "@example.net error:nouser 550 No\n",
	    NULL);
	assert_string_equal(text("alias/.qmail-example:com-default"), "&postmaster\n");
	assert_string_equal(text("alias/.qmail-example:net-default"), "|bouncesaying 'No'\n");
	outcome("virtusertable: @example.com", CV_CONVERTED);
	outcome("virtusertable: @example.org", CV_NOT_CONVERTED);
	assert_non_null(strstr(item("virtusertable: @example.org")->why, "$EXT"));
	outcome("virtusertable: x+*@example.com", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "alias/.qmail-example:org-default"));
}

static void test_virtusertable_local_domain(void **state)
{
	(void)state;
	run(LHN, "example.org\n", VUT, "info@example.org alice\n@example.org bob\nz@v.example carol\n", NULL);
	assert_string_equal(text("alias/.qmail-info"), "&alice\n");
	assert_string_equal(text("alias/.qmail-default"), "&bob\n");
	outcome("virtusertable: info@example.org", CV_WARNED);
	assert_non_null(strstr(item("virtusertable: info@example.org")->why, "no system account"));
	outcome("virtusertable: @example.org", CV_WARNED);
	assert_string_equal(text("control/virtualdomains"), "v.example:alias-v.example\n");
	assert_string_equal(text("control/rcpthosts"), "example.org\nv.example\n");
}

static void test_virtusertable_bad(void **state)
{
	(void)state;
	run(VUT, "info@example.com alice\ninfo@example.com bob\nnoat alice\nuser@bad_dom x\n"
		 "novalue@example.com\nu@example.com a, b\nv@example.com |prog\n",
	    NULL);
	assert_string_equal(text("alias/.qmail-example:com-info"), "&alice\n");
	size_t n = 0;
	for (size_t i = 0; i < r.nitems; i++)
		if (strcmp(r.items[i].setting, "virtusertable: info@example.com") == 0)
			n += r.items[i].outcome == CV_NOT_CONVERTED;
	assert_int_equal(n, 1);
	outcome("virtusertable: noat", CV_NOT_CONVERTED);
	outcome("virtusertable: user@bad_dom", CV_NOT_CONVERTED);
	outcome("virtusertable: novalue@example.com", CV_NOT_CONVERTED);
	outcome("virtusertable: u@example.com", CV_NOT_CONVERTED);
	outcome("virtusertable: v@example.com", CV_NOT_CONVERTED);
}

static void test_mailertable(void **state)
{
	(void)state;
	run(MT, "example.com smtp:[gw.example.com]\n.example.net esmtp:relay.example.net\n"
		"a.example relay:[192.0.2.1]\nb.example smtp8:[h1.example]:[h2.example]\n. smtp:[outgoing.example]\n"
		"local.example local:user\nerr.example error:nouser 550 no\nu.example uucp-dom:host\n"
		"bad.example smtp:[not a host]\nnovalue.example\n",
	    NULL);
	assert_string_equal(text("control/smtproutes"), "example.com:gw.example.com\n.example.net:relay.example.net\n"
							"a.example:192.0.2.1\nb.example:h1.example\n:outgoing.example\n");
	outcome("mailertable: example.com", CV_CONVERTED);
	outcome("mailertable: .example.net", CV_WARNED);
	assert_non_null(strstr(item("mailertable: .example.net")->why, "MX"));
	outcome("mailertable: a.example", CV_CONVERTED);
	outcome("mailertable: b.example", CV_WARNED);
	outcome("mailertable: .", CV_CONVERTED);
	outcome("mailertable: local.example", CV_NOT_CONVERTED);
	outcome("mailertable: err.example", CV_NOT_CONVERTED);
	outcome("mailertable: u.example", CV_NOT_CONVERTED);
	outcome("mailertable: bad.example", CV_NOT_CONVERTED);
	outcome("mailertable: novalue.example", CV_NOT_CONVERTED);
}

static void test_mc_smart_host(void **state)
{
	(void)state;
	const char *forms[][3] = { { "define(`SMART_HOST', `[relay.example]')dnl\n", ":relay.example\n", "c" },
				   { "define(`SMART_HOST',`smtp:[relay.example]')\n", ":relay.example\n", "c" },
				   { "define(`SMART_HOST', `esmtp:relay.example')dnl\n", ":relay.example\n", "w" },
				   { "define(`SMART_HOST', `relay.example')dnl\n", ":relay.example\n", "w" },
				   { "define(`SMART_HOST', `[not valid')dnl\n", "", "n" } };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		run(MC, forms[i][0], NULL);
		assert_string_equal(text("control/smtproutes"), forms[i][1]);
		outcome("sendmail.mc: SMART_HOST", forms[i][2][0] == 'c'   ? CV_CONVERTED
						   : forms[i][2][0] == 'w' ? CV_WARNED
									   : CV_NOT_CONVERTED);
	}
}

static void test_mc_size_and_name(void **state)
{
	(void)state;
	run(MC, "define(`confMAX_MESSAGE_SIZE', `10485760')dnl\ndefine(`confDOMAIN_NAME', `mx.mail.example.org')dnl\n",
	    LHN, "other.example\n", NULL);
	assert_string_equal(text("control/databytes"), "10485760\n");
	outcome("sendmail.mc: confMAX_MESSAGE_SIZE", CV_CONVERTED);
	outcome("sendmail.mc: confDOMAIN_NAME", CV_CONVERTED);
	assert_string_equal(r.me, "mx.mail.example.org");
	assert_string_equal(r.domain, "mail.example.org");
	assert_string_equal(text("control/me"), "mx.mail.example.org\n");
	assert_string_equal(text("control/defaultdomain"), "mail.example.org\n");
	assert_string_equal(text("control/plusdomain"), "mail.example.org\n");
	run(MC, "define(`confMAX_MESSAGE_SIZE', `10M')\ndefine(`confDOMAIN_NAME', `$w.$m')\n", NULL);
	outcome("sendmail.mc: confMAX_MESSAGE_SIZE", CV_NOT_CONVERTED);
	outcome("sendmail.mc: confDOMAIN_NAME", CV_NOT_CONVERTED);
	assert_null(r.me);
	run(MC, "define(`confDOMAIN_NAME', `example.org')\n", NULL);
	assert_string_equal(r.domain, "example.org");
}

static void test_mc_macros(void **state)
{
	(void)state;
	run(MC, "divert(-1)dnl\n#\tcomment: don't\ndivert(0)dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n"
		"VERSIONID(`x')\nOSTYPE(`debian')dnl\nDOMAIN(`debian-mta')dnl\nFEATURE(`access_db', `hash -T<TMPF>')dnl\n"
		"FEATURE(`mailertable')\nFEATURE(virtusertable)\nFEATURE(`no_default_msa')dnl\n"
		"define(`confPRIVACY_FLAGS', `goaway')dnl\nundefine(`confHOST_STATUS_DIRECTORY')dnl   #DAEMON_HOSTSTATS=\n"
		"MASQUERADE_AS(`example.org')dnl\nMAILER(`local')dnl\nMAILER(smtp)dnl\ninclude(`/etc/mail/m4/extra.m4')\n"
		"LOCAL_CONFIG\n",
	    NULL);
	outcome("sendmail.mc: divert(`-1')", CV_CONVERTED);
	outcome("sendmail.mc: divert(`0')", CV_CONVERTED);
	outcome("sendmail.mc: include(`/usr/share/sendmail/cf/m4/cf.m4')", CV_CONVERTED);
	outcome("sendmail.mc: include(`/etc/mail/m4/extra.m4')", CV_NOT_CONVERTED);
	outcome("sendmail.mc: OSTYPE(`debian')", CV_CONVERTED);
	outcome("sendmail.mc: DOMAIN(`debian-mta')", CV_CONVERTED);
	outcome("sendmail.mc: VERSIONID(`x')", CV_CONVERTED);
	outcome("sendmail.mc: MAILER(`local')", CV_CONVERTED);
	outcome("sendmail.mc: MAILER(`smtp')", CV_CONVERTED);
	outcome("sendmail.mc: FEATURE(`access_db')", CV_CONVERTED);
	outcome("sendmail.mc: FEATURE(`mailertable')", CV_CONVERTED);
	outcome("sendmail.mc: FEATURE(`virtusertable')", CV_CONVERTED);
	outcome("sendmail.mc: FEATURE(`no_default_msa')", CV_NOT_CONVERTED);
	assert_string_equal(item("sendmail.mc: FEATURE(`no_default_msa')")->why,
			    "sendmail's own; set up by hand if qmail needs it");
	outcome("sendmail.mc: confPRIVACY_FLAGS", CV_NOT_CONVERTED);
	outcome("sendmail.mc: confHOST_STATUS_DIRECTORY", CV_NOT_CONVERTED);
	outcome("sendmail.mc: MASQUERADE_AS(`example.org')", CV_NOT_CONVERTED);
	assert_string_equal(item("sendmail.mc: MASQUERADE_AS(`example.org')")->why,
			    "qmail does not rewrite headers; defaulthost only qualifies bare names");
	outcome("sendmail.mc: LOCAL_CONFIG", CV_NOT_CONVERTED);
	assert_int_equal(r.nfiles, 0);
}

static void test_mc_multiline(void **state)
{
	(void)state;
	run(MC, "dnl define(`SMART_HOST', `[commented.example]')\n"
		"define(`SMART_HOST',dnl\n  `[relay.example]')dnl\n"
		"define(`confMAX_MESSAGE_SIZE',\n  `1000')\nFEATURE(`a')FEATURE(`b')dnl\n",
	    NULL);
	assert_string_equal(text("control/smtproutes"), ":relay.example\n");
	assert_string_equal(text("control/databytes"), "1000\n");
	outcome("sendmail.mc: FEATURE(`a')", CV_NOT_CONVERTED);
	outcome("sendmail.mc: FEATURE(`b')", CV_NOT_CONVERTED);
}

static void test_mc_unbalanced(void **state)
{
	(void)state;
	run(MC, "FEATURE(`access_db')dnl\ndefine(`SMART_HOST', `[relay.example]\nFEATURE(`x')\n", NULL);
	outcome("sendmail.mc: FEATURE(`access_db')", CV_CONVERTED);
	assert_null(cv_file_find(&r, "control/smtproutes"));
	size_t bad = 0;
	for (size_t i = 0; i < r.nitems; i++)
		bad += r.items[i].outcome == CV_NOT_CONVERTED;
	assert_int_equal(bad, 1);
	run(MC, "define(`a', `b'))\n)))\n'''\n", NULL);
	for (size_t i = 0; i < r.nitems; i++)
		assert_non_null(r.items[i].setting);
	assert_true(r.nitems >= 2);
}

static void test_nul_and_length(void **state)
{
	(void)state;
	/* a NUL inside a line, and a text that goes on past its length */
	static const char acc[] = "Connect:10.1 RELAY\nConnect:10.2\0 REJECT\nConnect:10.3 REJECTED-BUT-CUT";
	struct cv_input v[] = { { .name = ACC, .text = acc, .len = sizeof(acc) - 1 - 10 },
				{ .name = LHN, .text = "example.org\nexample.net", .len = 11 } };
	struct cv_inputs in = { .v = v, .n = 2 };
	const char *err = NULL;
	cv_result_free(&r);
	assert_int_equal(cv_sendmail(&in, &r, &err), 0);
	assert_string_equal(text("tcp.smtp"), "10.1.:allow,RELAYCLIENT=\"\"\n10.3.:deny\n");
	outcome("access: Connect:10.2", CV_NOT_CONVERTED);
	assert_string_equal(text("control/locals"), "example.org\n");
}

static void test_huge_and_crlf(void **state)
{
	(void)state;
	size_t n = 200000;
	char *big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "Connect:", 8);
	memset(big + 8, 'a', n);
	strcpy(big + 8 + n, " RELAY\r\nConnect:10.9 RELAY\r\n");
	run(ACC, big, MC, big, VUT, big, MT, big, RD, big, LHN, big, NULL);
	assert_string_equal(text("tcp.smtp"), "10.9.:allow,RELAYCLIENT=\"\"\n");
	outcome("access: Connect:10.9", CV_CONVERTED);
	free(big);
}

static void test_aliases(void **state)
{
	(void)state;
	run("/etc/aliases", "postmaster: root\nroot: alice\n", NULL);
	bool found = false;
	for (size_t i = 0; i < r.nitems; i++)
		found |= strncmp(r.items[i].setting, "/etc/aliases", 12) == 0;
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_no_input, teardown),
		cmocka_unit_test_teardown(test_local_host_names, teardown),
		cmocka_unit_test_teardown(test_local_host_names_bad, teardown),
		cmocka_unit_test_teardown(test_relay_domains_networks, teardown),
		cmocka_unit_test_teardown(test_relay_domains_domains, teardown),
		cmocka_unit_test_teardown(test_access_connect, teardown),
		cmocka_unit_test_teardown(test_access_connect_names, teardown),
		cmocka_unit_test_teardown(test_access_to, teardown),
		cmocka_unit_test_teardown(test_access_relay_hosts_only, teardown),
		cmocka_unit_test_teardown(test_access_from, teardown),
		cmocka_unit_test_teardown(test_access_other_tags, teardown),
		cmocka_unit_test_teardown(test_access_untagged, teardown),
		cmocka_unit_test_teardown(test_access_no_value, teardown),
		cmocka_unit_test_teardown(test_virtusertable, teardown),
		cmocka_unit_test_teardown(test_virtusertable_errors, teardown),
		cmocka_unit_test_teardown(test_virtusertable_catchall, teardown),
		cmocka_unit_test_teardown(test_virtusertable_local_domain, teardown),
		cmocka_unit_test_teardown(test_virtusertable_bad, teardown),
		cmocka_unit_test_teardown(test_mailertable, teardown),
		cmocka_unit_test_teardown(test_mc_smart_host, teardown),
		cmocka_unit_test_teardown(test_mc_size_and_name, teardown),
		cmocka_unit_test_teardown(test_mc_macros, teardown),
		cmocka_unit_test_teardown(test_mc_multiline, teardown),
		cmocka_unit_test_teardown(test_mc_unbalanced, teardown),
		cmocka_unit_test_teardown(test_nul_and_length, teardown),
		cmocka_unit_test_teardown(test_huge_and_crlf, teardown),
		cmocka_unit_test_teardown(test_aliases, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
