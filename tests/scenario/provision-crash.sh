#!/bin/bash
# Scenario: crash injection over a whole provision of ucspi-daemontools
# (tests/lib/crashprov.sh): killed at sampled points, each rollback gives
# back the root exactly. The build runs in make's child processes, which
# the shim would also count, hence the warm cache: the kills land in
# qinstall's own steps (cache lookups, the journal, ROOT).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"
. "$top_srcdir/tests/lib/crashprov.sh"

crashprov_check
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

# The template: a file of its own, an old tcpserver to replace, a dangling
# svc link where a program goes.
tpl=$(tap_tmpdir)
mkdir -p "$tpl/etc/systemd/system" "$tpl/usr/local/bin" "$tpl/var/lib"
echo "keep" >"$tpl/etc/motd"
printf 'old\n' >"$tpl/usr/local/bin/tcpserver"; chmod 700 "$tpl/usr/local/bin/tcpserver"
ln -s /nowhere "$tpl/usr/local/bin/svc"

W=$(tap_tmpdir)
tap_run 0 "a first provision warms the build cache" "$QINSTALL" -q --root "$W" provision \
	-p ucspi-daemontools --mirror "$HTTPD_URL"
crashprov_run "$tpl" usr/local/bin/svscan -p ucspi-daemontools --offline
tap_done
