/*
 * cmd_smoke.c - `qinstall smoke`: prove a provisioned mail server works
 * (SMTP greeting, delivery to the admin's Maildir, relaying refused and
 * allowed, POP3), one line a check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static struct {
	char *host, *to, *foreign_from, *relay_from, *pop3_user;
	int port, timeout, pop3_port;
} o;

static const struct poptOption options[] = {
	{ "host", 0, POPT_ARG_STRING, &o.host, 0,
	  "the server to test (default 127.0.0.1); without --root, its Maildir is not looked into", "HOST" },
	{ "port", 0, POPT_ARG_INT, &o.port, 0, "its SMTP port (default 25)", "PORT" },
	{ "to", 0, POPT_ARG_STRING, &o.to, 0,
	  "the test message's address (default: the admin's, from ROOT's provision record)", "ADDRESS" },
	{ "timeout", 0, POPT_ARG_INT, &o.timeout, 0,
	  "seconds to wait for the message in the admin's Maildir (default 30)", "SECONDS" },
	{ "foreign-from", 0, POPT_ARG_STRING, &o.foreign_from, 0,
	  "source address that must not relay (default 127.0.0.2)", "ADDRESS" },
	{ "relay-from", 0, POPT_ARG_STRING, &o.relay_from, 0,
	  "source address that may relay (RELAYCLIENT; default 127.0.0.1)", "ADDRESS" },
	{ "pop3-user", 0, POPT_ARG_STRING, &o.pop3_user, 0,
	  "log in to POP3 as NAME, the password read from standard input", "NAME" },
	{ "pop3-port", 0, POPT_ARG_INT, &o.pop3_port, 0, "the POP3 port (default 110)", "PORT" },
	POPT_TABLEEND
};

/* The POP3 password: the first line of standard input. */
static int read_password(qi_handle *h, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, stdin) || buf[0] == '\n' || buf[0] == '\0')
		return qi_error_kind(h, QI_ERR_USAGE, "--pop3-user %s reads the password from standard input, "
				     "which gave none", o.pop3_user);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int bad_number(qi_handle *h, const char *opt, int v, int max)
{
	return v < 0 || v > max ? qi_error_kind(h, QI_ERR_USAGE, "smoke %s %d: give 1 to %d", opt, v, max) : 0;
}

static int run_smoke(struct qi_cli *cli, int argc, const char **argv)
{
	qi_handle *h = cli->h;
	if (argc > 0)
		return qi_error_kind(h, QI_ERR_USAGE, "smoke takes no arguments");
	if (bad_number(h, "--port", o.port, 65535) < 0 || bad_number(h, "--pop3-port", o.pop3_port, 65535) < 0 ||
	    bad_number(h, "--timeout", o.timeout, 3600) < 0)
		return -1;
	char pass[1024] = "";
	if (o.pop3_user && read_password(h, pass, sizeof(pass)) < 0)
		return -1;
	struct qi_smoke_options so = {
		.host = o.host, .remote = o.host && qi_root_is_host(h), .port = o.port, .to = o.to,
		.timeout = o.timeout, .foreign_from = o.foreign_from, .relay_from = o.relay_from,
		.pop3_user = o.pop3_user, .pop3_pass = pass, .pop3_port = o.pop3_port,
	};
	int rc = qi_smoke(h, &so);
	memset(pass, 0, sizeof(pass));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(qi_result(h), "checks"), i, c) {
		bool ok = json_is_true(json_object_get(c, "ok"));
		bool skipped = json_is_true(json_object_get(c, "skipped"));
		qi_out(cli, "%-4s %-13s %s\n", skipped ? "skip" : ok ? "ok" : "FAIL",
		       json_string_value(json_object_get(c, "name")),
		       json_string_value(json_object_get(c, "detail")));
	}
	if (rc == 0)
		qi_out(cli, "%s\n", qi_msg(h));
	return rc;
}

const struct qi_command qi_cmd_smoke = {
	.name = "smoke",
	.args = NULL,
	.summary = "prove a provisioned mail server works: SMTP, delivery, relaying, POP3",
	.description =
		"Six checks, one line each (\"checks\" with --json): the SMTP greeting\n"
		"(220); a test message for the admin accepted (250 after DATA); that\n"
		"message in the admin's Maildir in ROOT within --timeout, then removed\n"
		"(skipped with --host and no --root); relaying to a domain under\n"
		".invalid refused (553) from --foreign-from; relaying accepted from\n"
		"--relay-from, stopped after RCPT (RSET, QUIT: nothing is queued); a\n"
		"POP3 login and LIST (with --pop3-user, the password on standard\n"
		"input). The exit status is 1 when any check fails. Nothing is written\n"
		"but the removal of the test message.",
	.options = options,
	.run = run_smoke,
};
