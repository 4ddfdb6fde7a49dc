#!/bin/bash
# Scenario: crash injection over a whole provision of netqmail (qmail's
# accounts, /var/qmail with hier.c's owners, ucspi-tcp, daemontools; see
# tests/lib/crashprov.sh): killed at sampled points, each rollback gives
# back the root exactly, passwd and group included. The cache is warmed
# first, so that the kills land in qinstall's own steps.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/lib/crashprov.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"

crashprov_check
distfiles_qmail
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

tpl=$(tap_tmpdir)
qmail_root "$tpl"
echo "keep" >"$tpl/etc/motd"

W=$(tap_tmpdir)
qmail_root "$W"
tap_run 0 "a first provision warms the build cache" "$QINSTALL" -q --root "$W" provision \
	-p netqmail --domain mail.example.org --admin admin --mirror "file://$DISTFILES"
crashprov_run "$tpl" var/qmail/bin/qmail-queue -p netqmail --domain mail.example.org --admin admin --offline
tap_done
