/* Unit tests for exim.c: Debian's update-exim4.conf.conf (each dc_ key,
 * the configuration types, Exim's lists with their doubled separators,
 * networks as tcprules lines), /etc/mailname, the per-domain virtual
 * files, and malformed or missing input. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#define CT_CONVERTER cv_exim
#include "convert_test.h"

#define CONF "/etc/exim4/update-exim4.conf.conf"

static void test_missing_conf(void **state)
{
	(void)state;
	struct cv_input v = { .name = "/etc/mailname", .text = "mail.example.org\n", .len = 17 };
	struct cv_inputs in = { .v = &v, .n = 1 };
	const char *err = NULL;
	assert_int_equal(cv_exim(&in, &r, &err), -1);
	assert_non_null(strstr(err, "update-exim4.conf.conf"));
	run(CONF, "", NULL);
	assert_int_equal(r.nitems, 0);
	assert_int_equal(r.nfiles, 0);
}

static void test_internet(void **state)
{
	(void)state;
	run(CONF, "# comment\ndc_eximconfig_configtype='internet'\n"
		  "dc_other_hostnames='Example.org : mail.example.org:*.example.net::lsearch;/etc/x:!no.example'\n",
	    NULL);
	outcome("dc_eximconfig_configtype", CV_CONVERTED);
	outcome("dc_other_hostnames: Example.org", CV_CONVERTED);
	outcome("dc_other_hostnames: mail.example.org", CV_CONVERTED);
	outcome("dc_other_hostnames: *.example.net:lsearch;/etc/x", CV_NOT_CONVERTED);
	outcome("dc_other_hostnames: !no.example", CV_NOT_CONVERTED);
	assert_string_equal(text("control/locals"), "example.org\nmail.example.org\n");
	assert_string_equal(text("control/rcpthosts"), "example.org\nmail.example.org\n");
	run(CONF, "dc_other_hostnames='*.example.net'\n", NULL);
	outcome("dc_other_hostnames: *.example.net", CV_WARNED);
	assert_string_equal(text("control/rcpthosts"), ".example.net\n");
	assert_null(cv_file_find(&r, "control/locals"));
}

static void test_smarthost(void **state)
{
	(void)state;
	run(CONF, "dc_eximconfig_configtype='smarthost'\ndc_smarthost='Mail.ISP.example::587'\n", NULL);
	outcome("dc_eximconfig_configtype", CV_CONVERTED);
	outcome("dc_smarthost", CV_CONVERTED);
	assert_string_equal(text("control/smtproutes"), ":mail.isp.example:587\n");
	run(CONF, "dc_eximconfig_configtype='satellite'\ndc_smarthost='a.example:b.example::25'\n", NULL);
	outcome("dc_eximconfig_configtype", CV_WARNED);
	outcome("dc_smarthost", CV_WARNED);
	assert_string_equal(text("control/smtproutes"), ":a.example\n");
	run(CONF, "dc_eximconfig_configtype='smarthost'\ndc_smarthost='192.0.2.1'\n", NULL);
	assert_string_equal(text("control/smtproutes"), ":192.0.2.1\n");
	run(CONF, "dc_eximconfig_configtype='smarthost'\ndc_smarthost='bad_host!'\n", NULL);
	outcome("dc_smarthost", CV_NOT_CONVERTED);
	assert_int_equal(r.nfiles, 0);
}

static void test_smarthost_unused(void **state)
{
	(void)state;
	run(CONF, "dc_smarthost='relay.example'\ndc_eximconfig_configtype='internet'\n", NULL);
	outcome("dc_smarthost", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "control/smtproutes"));
	run(CONF, "dc_eximconfig_configtype='internet'\ndc_smarthost=''\n", NULL);
	outcome("dc_smarthost", CV_CONVERTED);
}

static void test_configtypes(void **state)
{
	(void)state;
	run(CONF, "dc_eximconfig_configtype='local'\n", NULL);
	outcome("dc_eximconfig_configtype", CV_WARNED);
	assert_string_equal(item("dc_eximconfig_configtype")->why,
			    "Exim was set to local delivery only: qmail will accept SMTP from the network as the "
			    "profile says");
	run(CONF, "dc_eximconfig_configtype='none'\n", NULL);
	outcome("dc_eximconfig_configtype", CV_NOT_CONVERTED);
}

static void test_local_interfaces(void **state)
{
	(void)state;
	run(CONF, "dc_local_interfaces='127.0.0.1 ; ::1'\n", NULL);
	outcome("dc_local_interfaces", CV_WARNED);
	assert_non_null(strstr(item("dc_local_interfaces")->why, "all addresses"));
	run(CONF, "dc_local_interfaces='192.0.2.1'\n", NULL);
	outcome("dc_local_interfaces", CV_NOT_CONVERTED);
	assert_string_equal(item("dc_local_interfaces")->why,
			    "qmail-smtpd listens where the profile's tcpserver is told (all addresses): restrict it "
			    "there if needed");
	run(CONF, "dc_local_interfaces=''\n", NULL);
	outcome("dc_local_interfaces", CV_CONVERTED);
}

static void test_relay_nets(void **state)
{
	(void)state;
	run(CONF, "dc_relay_nets='10.0.0.0/8 : 172.16.0.0/16:192.168.1.0/24:192.0.2.7/32:192.0.2.5:"
		  "192.0.2.130/25:198.51.100.64/26:198.51.100.9/31:172.16.0.0/12:0.0.0.0/0:"
		  "2001::db8::::/32:host.example:10.0.0.0/8'\n",
	    NULL);
	assert_string_equal(text("tcp.smtp"), "10.:allow,RELAYCLIENT=\"\"\n"
					      "172.16.:allow,RELAYCLIENT=\"\"\n"
					      "192.168.1.:allow,RELAYCLIENT=\"\"\n"
					      "192.0.2.7:allow,RELAYCLIENT=\"\"\n"
					      "192.0.2.5:allow,RELAYCLIENT=\"\"\n"
					      "192.0.2.128-255:allow,RELAYCLIENT=\"\"\n"
					      "198.51.100.64-127:allow,RELAYCLIENT=\"\"\n"
					      "198.51.100.8-9:allow,RELAYCLIENT=\"\"\n");
	outcome("dc_relay_nets: 192.0.2.130/25", CV_CONVERTED);
	outcome("dc_relay_nets: 172.16.0.0/12", CV_NOT_CONVERTED);
	outcome("dc_relay_nets: 0.0.0.0/0", CV_NOT_CONVERTED);
	outcome("dc_relay_nets: 2001:db8::/32", CV_NOT_CONVERTED);
	assert_non_null(strstr(item("dc_relay_nets: 2001:db8::/32")->why, "IPv6"));
	outcome("dc_relay_nets: host.example", CV_NOT_CONVERTED);
	run(CONF, "dc_relay_nets='10.1.0.0/16 ; 10.2.0.0/16'\n", NULL);
	assert_string_equal(text("tcp.smtp"), "10.1.:allow,RELAYCLIENT=\"\"\n10.2.:allow,RELAYCLIENT=\"\"\n");
	run(CONF, "dc_relay_nets=''\n", NULL);
	outcome("dc_relay_nets", CV_CONVERTED);
}

static void test_relay_domains(void **state)
{
	(void)state;
	run(CONF, "dc_relay_domains='b.example:*.c.example : a.example:@mx_any'\n", NULL);
	assert_string_equal(text("control/rcpthosts"), ".c.example\na.example\nb.example\n");
	outcome("dc_relay_domains: *.c.example", CV_CONVERTED);
	outcome("dc_relay_domains: @mx_any", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "control/locals"));
}

static void test_other_keys(void **state)
{
	(void)state;
	run(CONF, "dc_readhost='example.org'\ndc_minimaldns='false'\ndc_use_split_config='true'\n"
		  "dc_hide_mailname='true'\ndc_mailname_in_oh='true'\ndc_localdelivery='mail_spool'\n"
		  "dc_new_thing='x'\nCFILEMODE='644'\ndc_eximconfig_configtype='smarthost'\n",
	    NULL);
	outcome("dc_readhost", CV_NOT_CONVERTED);
	outcome("dc_minimaldns", CV_CONVERTED);
	outcome("dc_use_split_config", CV_CONVERTED);
	outcome("dc_hide_mailname", CV_NOT_CONVERTED);
	outcome("dc_mailname_in_oh", CV_CONVERTED);
	outcome("dc_localdelivery", CV_WARNED);
	assert_string_equal(item("dc_localdelivery")->why,
			    "Exim delivered to /var/mail; qmail's profile delivers to ./Maildir/: existing mail "
			    "stays in /var/mail");
	outcome("dc_new_thing", CV_NOT_CONVERTED);
	outcome("CFILEMODE", CV_NOT_CONVERTED);
	run(CONF, "dc_localdelivery=maildir_home\ndc_readhost=\ndc_hide_mailname='true'\n", NULL);
	outcome("dc_localdelivery", CV_CONVERTED);
	outcome("dc_readhost", CV_CONVERTED);
	outcome("dc_hide_mailname", CV_CONVERTED);
	run(CONF, "dc_localdelivery='mbox_elsewhere'\n", NULL);
	outcome("dc_localdelivery", CV_NOT_CONVERTED);
}

static void test_malformed_conf(void **state)
{
	(void)state;
	run(CONF, "dc_eximconfig_configtype='internet\nnot a line\ndc_relay_nets=10.0.0.0/8 junk\n"
		  "dc_other_hostnames=\"a.example\" # fine\ndc_other_hostnames=\"b.\\\"example\"\n=x\n"
		  "dc_readhost\n",
	    NULL);
	outcome("dc_eximconfig_configtype", CV_NOT_CONVERTED);
	outcome("not a line", CV_NOT_CONVERTED);
	outcome("dc_relay_nets", CV_NOT_CONVERTED);
	outcome("=x", CV_NOT_CONVERTED);
	outcome("dc_readhost", CV_NOT_CONVERTED);
	/* the first dc_other_hostnames is overridden, the second is no domain */
	outcome("dc_other_hostnames", CV_NOT_CONVERTED);
	outcome("dc_other_hostnames: b.\"example", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "tcp.smtp"));
	assert_null(cv_file_find(&r, "control/locals"));
}

static void test_mailname(void **state)
{
	(void)state;
	run(CONF, "", "/etc/mailname", "\nMail.Example.org\nsecond.example\n", NULL);
	outcome("/etc/mailname", CV_CONVERTED);
	assert_string_equal(r.me, "mail.example.org");
	assert_string_equal(r.domain, "example.org");
	assert_string_equal(text("control/me"), "mail.example.org\n");
	assert_string_equal(text("control/defaultdomain"), "example.org\n");
	assert_string_equal(text("control/plusdomain"), "example.org\n");
	size_t not = 0;
	for (size_t i = 0; i < r.nitems; i++)
		not += r.items[i].outcome == CV_NOT_CONVERTED;
	assert_int_equal(not, 1);
	run(CONF, "", "/etc/mailname", "example.org", NULL);
	assert_string_equal(r.me, "example.org");
	assert_string_equal(r.domain, "example.org");
	run(CONF, "", "/etc/mailname", "not valid\n", NULL);
	outcome("/etc/mailname", CV_NOT_CONVERTED);
	assert_null(r.me);
	assert_null(cv_file_find(&r, "control/me"));
}

static void test_virtual(void **state)
{
	(void)state;
	run(CONF, "", "/etc/exim4/virtual/Example.com",
	    "# aliases\ninfo: alice\nsales: bob@elsewhere.example, carol\nj.doe: \"|/usr/bin/prog arg\"\n"
	    "box: /var/mail/box\nmd: /home/md/Maildir/\ngone: :fail: User's gone\nnull: :blackhole:\n"
	    "*: postmaster\nlater: :defer: try again\nbad/name: x\nnovalue:\ninfo: again\nlong: a,\n  b\n",
	    NULL);
	assert_string_equal(text("control/virtualdomains"), "example.com:alias-example.com\n");
	assert_string_equal(text("control/rcpthosts"), "example.com\n");
	outcome("/etc/exim4/virtual/example.com", CV_CONVERTED);
	assert_string_equal(text("alias/.qmail-example:com-info"), "&alice\n");
	assert_string_equal(text("alias/.qmail-example:com-sales"), "&bob@elsewhere.example\n&carol\n");
	assert_string_equal(text("alias/.qmail-example:com-j:doe"), "|/usr/bin/prog arg\n");
	assert_string_equal(text("alias/.qmail-example:com-box"), "/var/mail/box\n");
	assert_string_equal(text("alias/.qmail-example:com-md"), "/home/md/Maildir/\n");
	assert_string_equal(text("alias/.qmail-example:com-gone"), "|bouncesaying 'User'\\''s gone'\n");
	assert_string_equal(text("alias/.qmail-example:com-null"), "#\n");
	assert_string_equal(text("alias/.qmail-example:com-default"), "&postmaster\n");
	assert_string_equal(text("alias/.qmail-example:com-long"), "&a\n&b\n");
	assert_string_equal(item("/etc/exim4/virtual/example.com: sales")->after,
			    "alias/.qmail-example:com-sales: &bob@elsewhere.example, &carol");
	outcome("/etc/exim4/virtual/example.com: later", CV_NOT_CONVERTED);
	outcome("/etc/exim4/virtual/example.com: bad/name", CV_NOT_CONVERTED);
	outcome("/etc/exim4/virtual/example.com: novalue", CV_NOT_CONVERTED);
	assert_null(cv_file_find(&r, "alias/.qmail-example:com-later"));
}

static void test_virtual_local_and_bad(void **state)
{
	(void)state;
	run(CONF, "dc_other_hostnames='example.org'\n", "/etc/exim4/virtual/example.org", "info: alice\n*: bob\n",
	    "/etc/exim4/virtual/bad_name", "x: y\n", "/etc/exim4/virtual", "x: y\n", NULL);
	outcome("/etc/exim4/virtual/example.org: info", CV_WARNED);
	outcome("/etc/exim4/virtual/example.org: *", CV_WARNED);
	assert_string_equal(text("alias/.qmail-info"), "&alice\n");
	assert_string_equal(text("alias/.qmail-default"), "&bob\n");
	assert_null(cv_file_find(&r, "control/virtualdomains"));
	outcome("/etc/exim4/virtual: bad_name", CV_NOT_CONVERTED);
	outcome("/etc/exim4/virtual", CV_NOT_CONVERTED);
}

static void test_aliases(void **state)
{
	(void)state;
	run(CONF, "", "/etc/aliases", "root: alice\n", NULL);
	bool found = false;
	for (size_t i = 0; i < r.nitems; i++)
		found |= strncmp(r.items[i].setting, "/etc/aliases", 12) == 0;
	assert_true(found);
}

static void test_nul_huge_unterminated(void **state)
{
	(void)state;
	static const char conf[] = "dc_relay_nets='10.0.0.0/8'\ndc_other\0hostnames='x.example'\n"
				   "dc_relay_domains='a.example:b.example'";
	size_t n = 300000;
	char *big = malloc(n + 32);
	assert_non_null(big);
	memcpy(big, "dc_other_hostnames='", 20);
	memset(big + 20, 'a', n);
	strcpy(big + 20 + n, "'\r\n");
	struct cv_input v[] = { { .name = CONF, .text = conf, .len = sizeof(conf) - 1 - 11 },
				{ .name = "/etc/mailname", .text = "mail.example.org\0junk", .len = 21 } };
	struct cv_inputs in = { .v = v, .n = 2 };
	const char *err = NULL;
	cv_result_free(&r);
	assert_int_equal(cv_exim(&in, &r, &err), 0);
	assert_string_equal(text("tcp.smtp"), "10.:allow,RELAYCLIENT=\"\"\n");
	assert_null(cv_file_find(&r, "control/locals"));
	assert_null(r.me);
	/* cut inside the quote */
	outcome("dc_relay_domains", CV_NOT_CONVERTED);
	run(CONF, big, "/etc/exim4/virtual/example.com", big, NULL);
	free(big);
	assert_int_equal(r.items[0].outcome, CV_NOT_CONVERTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_missing_conf, teardown),
		cmocka_unit_test_teardown(test_internet, teardown),
		cmocka_unit_test_teardown(test_smarthost, teardown),
		cmocka_unit_test_teardown(test_smarthost_unused, teardown),
		cmocka_unit_test_teardown(test_configtypes, teardown),
		cmocka_unit_test_teardown(test_local_interfaces, teardown),
		cmocka_unit_test_teardown(test_relay_nets, teardown),
		cmocka_unit_test_teardown(test_relay_domains, teardown),
		cmocka_unit_test_teardown(test_other_keys, teardown),
		cmocka_unit_test_teardown(test_malformed_conf, teardown),
		cmocka_unit_test_teardown(test_mailname, teardown),
		cmocka_unit_test_teardown(test_virtual, teardown),
		cmocka_unit_test_teardown(test_virtual_local_and_bad, teardown),
		cmocka_unit_test_teardown(test_aliases, teardown),
		cmocka_unit_test_teardown(test_nul_huge_unterminated, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
