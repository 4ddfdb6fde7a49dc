#!/bin/bash
# System: each patch of the netqmail profile's set proven where it matters,
# with real clients against the real servers. The cached debootstrap chroot
# (tests/lib/chroot.sh), its time zone set to Asia/Kolkata (+0530) and its
# resolver to a DNS server of the test's own, is provisioned with the
# options' defaults; svscan runs in the chroot inside a private network and
# PID namespace (tests/lib/netns.sh) with that DNS server
# (tests/lib/dnssrv.py); Python's smtplib (tests/lib/smtptool.py) talks to
# qmail-smtpd on ports 25 and 587:
#   smtp-auth      AUTH PLAIN and LOGIN as a mail user (235), a wrong
#                  password refused (535); CRAM-MD5 for a user added with
#                  `mailuser add --cram-md5`; after AUTH 127.0.0.2 may relay
#                  to a foreign domain, without it 553
#   qregex         a badmailfrom regular expression and a badhelo entry
#                  refused at RCPT with qregex's 553 texts; another sender
#                  accepted
#   validrcptto    an unknown local user refused at RCPT, a known one
#                  accepted, a user added with `mailuser add` accepted by the
#                  running server (same tcpserver pid)
#   submission     on 587 RCPT to a local user refused without AUTH (even
#                  from 127.0.0.1, which may relay on 25), accepted with it
#   date-localtime the Received lines of a delivered message end in +0530
#   oversize-dns   qmail-remote resolves an MX set whose reply is over 512
#                  bytes (TC over UDP, the whole reply over TCP) and hands
#                  the message to the server at its address, 127.0.0.7
#                  (not an interface address, so not "me"; qmail-smtpd's
#                  tcpserver listens there), which delivers it to alice
#   moreipme       (a second provision, --with moreipme --without
#                  oversize-dns, where big.test no longer resolves: the
#                  oversize DNS case's control; the first is this one's) with 192.0.2.10 in control/moreipme, an address
#                  that is on no interface: RCPT to alice@[192.0.2.10] is
#                  taken as local (qmail-smtpd's address-literal rule asks
#                  ipme_is) and lands in alice's Maildir, and qmail-remote,
#                  for a domain whose MX is 192.0.2.10, makes no connection
#                  but fails with its "listed as a best-preference MX"
#                  (#5.4.6); without the patch the first gets 553 and the
#                  second tries the network (#4.4.1: no route)
# and, without the namespace: the provision succeeded (so instcheck
# passed), and the patched build has no more compiler warnings than the
# pristine netqmail-1.06 built with the same compiler line, apart from those
# in files the patches add. Then everything is stopped and rolled back: the
# chroot is what it was.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/lib/netns.sh"

tap_heavy
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
netns_require
distfiles_qmail
# shellcheck disable=SC2086
distfiles_find $DISTFILES_NETQMAIL qmail-1.03-moreipme-0.6.patch qmail-1.03.tar.gz ||
	tap_skip_all "the patch set's files are not in a distfiles folder (QI_DISTFILES)"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
PY=${PYTHON3:-python3}
DOMAIN=mail.example.org
DNS=127.0.0.53	# the chroot's resolver, in the namespace
MXIP=127.0.0.7	# the A of every MX of big.test: not an interface address
FAR=192.0.2.10	# control/moreipme's address: on no interface, no route

C=$(tap_tmpdir)/root
chroot_mail_template "$C"
[ -f "$C/usr/share/zoneinfo/Asia/Kolkata" ] || tap_skip_all "the chroot has no tzdata (Asia/Kolkata)"
ln -sfn /usr/share/zoneinfo/Asia/Kolkata "$C/etc/localtime"
echo Asia/Kolkata >"$C/etc/timezone"
rm -f "$C/etc/resolv.conf"
echo "nameserver $DNS" >"$C/etc/resolv.conf"
TAP_TREE_EXCLUDE=var/lib/qinstall
before=$(tap_tree "$C")
W=$(tap_tmpdir)
Q=$C/var/qmail

# smtp [--port N] [--source ADDR] STEP...: one session (smtptool.py), its
# replies one a line ("rcpt 553 sorry, ...").
smtp() { in_ns "$PY" "$top_srcdir/tests/lib/smtptool.py" "$@"; }
# remote HOST RCPT [SUBJECT]: qmail-remote of the chroot, its answer with
# NULs as newlines.
remote() {
	printf 'From: tester@example.com\nTo: %s\nSubject: %s\n\nhello\n' "$2" "${3:-remote}" |
		in_ns chroot "$C" "${Q#"$C"}/bin/qmail-remote" "$1" tester@example.com "$2" | tr '\0' '\n'
}
# mailuser NAME PASSWORD [OPTION...]: a mail user of vmail's.
mailuser() {
	local name=$1 pw=$2; shift 2
	printf '%s\n' "$pw" | "$QINSTALL" -q --root "$C" mailuser add "$name" --owner vmail "$@"
}
# ctl NAME LINE...: a control file of the test's own (the original is put
# back by ctl_restore before the rollback).
ctl() {
	local f=$Q/control/$1; shift
	mkdir -p "$W/ctl"
	if [ ! -e "$W/ctl/${f##*/}" ] && [ ! -e "$W/ctl/${f##*/}.absent" ]; then
		if [ -e "$f" ]; then cp -p "$f" "$W/ctl/${f##*/}"; else : >"$W/ctl/${f##*/}.absent"; fi
	fi
	printf '%s\n' "$@" >"$f"
}
ctl_restore() {
	local s
	for s in "$W"/ctl/*; do
		[ -e "$s" ] || continue
		case $s in
		*.absent) rm -f "$Q/control/$(basename "$s" .absent)" ;;
		*) cp -p "$s" "$Q/control/${s##*/}" ;;
		esac
	done
	rm -rf "$W/ctl"
}
# newest_mail USER SUBJECT: the file of USER's Maildir/new with SUBJECT (10 s).
newest_mail() {
	local i f
	for i in $(seq 50); do
		f=$(grep -l "^Subject: $2\$" "$C/home/vmail/$1/Maildir/new/"* 2>/dev/null | head -1)
		[ -n "$f" ] && { printf '%s\n' "$f"; return 0; }
		sleep 0.2
	done
	return 1
}
smtpd_pid() { in_ns chroot "$C" /usr/local/bin/svstat /etc/service/qmail-smtpd | sed -n 's/.*(pid \([0-9]*\)).*/\1/p'; }

# warnings LOG: "COUNT FILE" for each file that has compiler warnings in LOG.
warnings() { grep -o '^[A-Za-z0-9_.+-]*\.[ch]:[0-9]*:[0-9]*: warning:' "$1" | cut -d: -f1 | sort | uniq -c; }
# pristine_warnings: warnings() of netqmail-1.06 as released, built with
# the profile's compiler and linker lines (gcc -O2, gcc -s: the profile
# schema's defaults); cached in QI_TEST_CACHE by the compiler's version.
pristine_warnings() {
	local cc="gcc -O2" v key d
	v=$(gcc --version | head -1 | sha256sum | cut -c1-12)
	key=$QI_TEST_CACHE/netqmail-1.06-pristine-warnings-$v.txt
	if [ ! -f "$key" ]; then
		d=$(tap_tmpdir)
		tar -C "$d" -xzf "$DISTFILES/netqmail-1.06.tar.gz" || return 1
		(
			cd "$d/netqmail-1.06" || exit 1
			echo "$cc" >conf-cc && echo "gcc -s" >conf-ld && echo "$d/home" >conf-qmail
			# auto-uid needs names of this machine: the ids do not change warnings.
			printf 'root\n%.0s' 1 2 3 4 5 6 7 8 >conf-users && printf 'root\nroot\n' >conf-groups
			nice make it man >"$d/build.log" 2>&1
		) || { tap_diag "$(tail -5 "$d/build.log")"; return 1; }
		warnings "$d/build.log" >"$key.tmp" && mv "$key.tmp" "$key"
	fi
	cat "$key"
}
sum_counts() { awk '{ n += $1 } END { print n + 0 }'; }

# build_log JSON: the netqmail build log named in provision's --json result.
build_log() {
	printf '%s' "$1" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["build_logs"]["netqmail"])' 2>/dev/null
}

# check_warnings LOG WHAT: LOG's compiler warnings are no more than the
# pristine tree's plus those in the files the patches add (base64.c of
# smtp-auth, qregex.c, moreipme's ipmetest.c: not in the pristine tarball,
# so their warnings are theirs, counted apart and stated).
check_warnings() {
	local log=$1 what=$2 pristine patched added p n a allowed
	tap_ok "the build log of $what is kept ($log)" test -s "$log"
	[ -s "$log" ] || return
	pristine=$(pristine_warnings) || { tap_is "no pristine build" "a pristine build" "netqmail-1.06 as released builds"; return; }
	patched=$(warnings "$log")
	tar -tzf "$DISTFILES/netqmail-1.06.tar.gz" | sed 's|^[^/]*/||' >"$W/pristine-files"
	added=$(printf '%s\n' "$patched" | awk 'NR == FNR { have[$1] = 1; next } $2 != "" && !($2 in have)' \
		"$W/pristine-files" -)
	p=$(printf '%s\n' "$pristine" | sum_counts)
	n=$(printf '%s\n' "$patched" | sum_counts)
	a=$(printf '%s\n' "$added" | sum_counts)
	allowed=$((p + a))
	tap_diag "compiler warnings: pristine netqmail-1.06 $p; $what $n, of which $a in the files the patches add" \
		"${added:-(none)}"
	tap_ok "$what has no more warnings ($n) than the pristine tree ($p) plus the patches' new files ($a)" \
		test "$n" -le "$allowed"
	[ "$n" -le "$allowed" ] ||
		tap_diag "files with more warnings than in the pristine tree (file, pristine, patched):" \
			"$(join -1 2 -2 2 -a 2 -e 0 -o 0,1.1,2.1 <(printf '%s\n' "$pristine" | sort -k2) \
				<(printf '%s\n' "$patched" | sort -k2) | awk '$3 > $2')"
}

case_build() {
	tap_case "the set builds and installs"
	tap_run 0 "provision netqmail with the options' defaults (so its instcheck passed)" \
		"$QINSTALL" --root "$C" --json provision --domain "$DOMAIN" --admin admin --mirror "file://$DISTFILES"
	check_warnings "$(build_log "$TAP_STDOUT")" "the default set"
}

start_servers() {
	netns_start || return 1
	in_ns "$PY" "$top_srcdir/tests/lib/dnssrv.py" --listen "$DNS" --ready "$W/dns.ready" --log "$W/dns.log" \
		--mx "big.test=30@$MXIP" --mx "moreipme.test=1@$FAR" </dev/null >"$W/dns.err" 2>&1 &
	in_ns setsid chroot "$C" /usr/local/bin/svscan /etc/service </dev/null >"$W/svscan.log" 2>&1 &
	local i
	for i in $(seq 100); do [ -s "$W/dns.ready" ] && break; sleep 0.1; done
	tap_ok "the DNS server runs in the namespace" test -s "$W/dns.ready"
	tap_ok "qmail-smtpd listens on port 25" wait_port 25
	tap_ok "and the submission service on port 587" wait_port 587
}

case_auth() {
	tap_case "smtp-auth"
	local s
	s=$(smtp --source 127.0.0.2 ehlo:client.example plain:alice:alice-secret mail:tester@example.com \
		rcpt:someone@example.net data:relayed)
	tap_like "$s" '^ehlo-auth .*PLAIN' "EHLO offers AUTH PLAIN"
	tap_like "$s" '^ehlo-auth .*LOGIN' "and LOGIN"
	tap_like "$s" '^plain 235 ' "AUTH PLAIN as alice succeeds (235)"
	tap_like "$s" '^rcpt 250 ' "after AUTH 127.0.0.2 may relay to a foreign domain"
	tap_like "$s" '^data 250 ' "and the message is taken"
	s=$(smtp --source 127.0.0.2 ehlo:client.example login:alice:alice-secret mail:tester@example.com rcpt:someone@example.net)
	tap_like "$s" '^login 235 ' "AUTH LOGIN as alice succeeds (235)"
	tap_like "$s" '^rcpt 250 ' "and may relay"
	s=$(smtp --source 127.0.0.2 ehlo:client.example plain:alice:wrong-password mail:tester@example.com rcpt:someone@example.net)
	tap_like "$s" '^plain 535 ' "AUTH PLAIN with a wrong password is refused (535)"
	tap_like "$s" '^rcpt 553 ' "and the session may not relay (553)"
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example login:alice:wrong-password)" '^login 535 ' \
		"AUTH LOGIN with a wrong password is refused (535)"
	s=$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com rcpt:someone@example.net)
	tap_like "$s" '^rcpt 553 ' "without AUTH 127.0.0.2 may not relay (553)"
	if [ -z "$CRAM" ]; then
		tap_skip "AUTH CRAM-MD5" "mailuser add --cram-md5 was refused: $CRAM_WHY"
		return
	fi
	s=$(smtp --source 127.0.0.2 ehlo:client.example cram:carol:carol-secret mail:tester@example.com rcpt:someone@example.net)
	tap_like "$s" '^ehlo-auth .*CRAM-MD5' "EHLO offers CRAM-MD5"
	tap_like "$s" '^cram 235 ' "AUTH CRAM-MD5 as carol (added with --cram-md5) succeeds"
	tap_like "$s" '^rcpt 250 ' "and may relay"
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example cram:carol:wrong-password)" '^cram 535 ' \
		"CRAM-MD5 with a wrong password is refused (535)"
}

case_qregex() {
	tap_case "qregex"
	ctl badmailfrom '^spammer[0-9]+@example\.com$'
	ctl badhelo '^bad-helo\.'
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example mail:spammer42@example.com rcpt:alice@$DOMAIN)" \
		'^rcpt 553 sorry, your envelope sender has been denied \(#5\.7\.1\)' \
		"a sender matching badmailfrom's regular expression is refused at RCPT (553)"
	tap_like "$(smtp --source 127.0.0.2 ehlo:bad-helo.example mail:tester@example.com rcpt:alice@$DOMAIN)" \
		'^rcpt 553 sorry, your HELO host name has been denied \(#5\.7\.1\)' \
		"a HELO matching badhelo is refused at RCPT (553)"
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example mail:spammer@example.com rcpt:alice@$DOMAIN)" \
		'^rcpt 250 ' "a sender that does not match (no digits) is accepted"
	tap_like "$(grep -h 'badmailfrom: <spammer42@example.com>' "$C"/var/log/qmail/qmail-smtpd/current 2>/dev/null)" \
		'spammer42' "qmail-smtpd logs the refusal"
	# qmail-smtpd-auth's authenticate() makes descriptor 2 a copy of 1 (the
	# client's socket) for the checkpassword program: a log line written
	# after AUTH must not end up in the SMTP dialogue.
	local s
	s=$(smtp --source 127.0.0.2 ehlo:client.example plain:alice:alice-secret mail:spammer42@example.com \
		rcpt:alice@$DOMAIN)
	tap_like "$s" '^plain 235 ' "AUTH, then the same sender:"
	tap_like "$s" '^rcpt 553 sorry, your envelope sender has been denied' "after AUTH the sender is refused as well"
	tap_unlike "$s" '^rcpt -1 |qmail-smtpd: badmailfrom' "and qmail-smtpd's log line does not reach the client"
}

case_validrcptto() {
	tap_case "validrcptto"
	local s pid
	s=$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com rcpt:nosuch@$DOMAIN)
	tap_like "$s" '^rcpt 553 sorry, this recipient is not in my validrcptto list' \
		"RCPT to an unknown local user is refused at RCPT time (553)"
	s=$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com rcpt:alice@$DOMAIN data:known-user)
	tap_like "$s" '^rcpt 250 ' "RCPT to alice, a mail user, is accepted"
	tap_like "$s" '^data 250 ' "and her message taken"
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com rcpt:bob@$DOMAIN)" '^rcpt 553 ' \
		"bob is refused before he is added"
	pid=$(smtpd_pid)
	tap_setup mailuser bob bob-secret || return
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com rcpt:bob@$DOMAIN)" '^rcpt 250 ' \
		"after mailuser add bob, RCPT to bob is accepted"
	tap_is "$(smtpd_pid)" "$pid" "by the same running qmail-smtpd service (no restart)"
}

case_submission() {
	tap_case "submission (port 587)"
	local s src
	for src in 127.0.0.1 127.0.0.2; do
		tap_like "$(smtp --port 587 --source $src ehlo:client.example mail:tester@example.com rcpt:alice@$DOMAIN)" \
			'^rcpt 5[0-9][0-9] ' "without AUTH, RCPT to a local user from $src is refused"
	done
	tap_like "$(smtp --port 25 --source 127.0.0.1 ehlo:client.example mail:tester@example.com rcpt:alice@$DOMAIN)" \
		'^rcpt 250 ' "(on port 25 the same RCPT is accepted)"
	s=$(smtp --port 587 --source 127.0.0.2 ehlo:client.example plain:alice:alice-secret mail:alice@$DOMAIN \
		rcpt:alice@$DOMAIN rcpt:someone@example.net data:submitted)
	tap_like "$s" '^plain 235 ' "AUTH on 587 succeeds"
	tap_like "$s" '^rcpt 250 .*' "with AUTH, RCPT to a local user is accepted"
	tap_like "$(printf '%s\n' "$s" | grep '^rcpt' | tail -1)" '^rcpt 250 ' "and to a foreign one"
	tap_like "$s" '^data 250 ' "and the message taken"
	tap_ok "it is delivered to alice" newest_mail alice submitted
}

case_localtime() {
	tap_case "date-localtime"
	local f
	f=$(newest_mail alice known-user)
	tap_ok "the message to alice is in her Maildir" test -n "$f"
	[ -n "$f" ] || return
	local rcv
	rcv=$(sed -n '/^Received:/,/^[^ \t]/p' "$f" | grep -v '^[^R \t]')
	tap_like "$rcv" '; [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0530$' \
		"its Received lines carry the chroot's zone offset (+0530)"
	tap_unlike "$rcv" '-0000' "not -0000"
}

case_dns() {
	tap_case "oversize DNS"
	local out
	out=$(remote big.test "alice@$DOMAIN" oversize-dns)
	tap_like "$out" "^r?K$MXIP accepted message" "qmail-remote resolves big.test's MX and delivers to $MXIP"
	tap_ok "which hands the message to alice" newest_mail alice oversize-dns
	tap_like "$(cat "$W/dns.log")" 'udp big.test 15 [0-9]+ truncated' "the MX reply was truncated over UDP"
	tap_like "$(sed -n 's/^tcp big.test 15 \([0-9]*\)$/\1/p' "$W/dns.log" | head -1)" '^([6-9][0-9][0-9]|[0-9]{4,})$' \
		"and sent whole over TCP, over 512 bytes"
}

case_moreipme_control() {
	tap_case "moreipme off (the control)"
	ctl moreipme "$FAR"
	tap_like "$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com "rcpt:alice@[$FAR]")" \
		'^rcpt 553 ' "RCPT to alice@[$FAR] is a foreign domain (553)"
	tap_like "$(remote moreipme.test someone@moreipme.test)" '^Z.*establish an SMTP connection' \
		"qmail-remote tries the network for an MX of $FAR"
}

case_moreipme() {
	tap_case "moreipme on (a second provision)"
	tap_run 0 "provision again --with moreipme --without oversize-dns" "$QINSTALL" --root "$C" --json \
		provision --domain "$DOMAIN" --admin admin --mirror "file://$DISTFILES" --with moreipme --without oversize-dns
	check_warnings "$(build_log "$TAP_STDOUT")" "the set with moreipme, without oversize-dns"
	# The control of the oversize DNS case: the lookup fails before
	# qmail-remote could ask whether the MX is itself.
	tap_like "$(remote big.test "alice@$DOMAIN")" "couldn't find any host by that name" \
		"without oversize-dns, qmail-remote cannot resolve big.test's MX (the reply is over 512 bytes)"
	# control/moreipme is the test's own (written by the control case).
	local s
	s=$(smtp --source 127.0.0.2 ehlo:client.example mail:tester@example.com "rcpt:alice@[$FAR]" data:literal)
	tap_like "$s" '^rcpt 250 ' "RCPT to alice@[$FAR] is accepted as local"
	tap_ok "and lands in alice's Maildir" newest_mail alice literal
	# qmail-remote checks the MX against ipme before it connects: #5.4.6
	# instead of the control's #4.4.1 means no connection was tried.
	s=$(remote moreipme.test someone@moreipme.test | tr '\n' ' ')
	tap_like "$s" "^DSorry\. Although I.m listed as a best-preference MX .*\(#5\.4\.6\)" \
		"qmail-remote knows an MX of $FAR is itself (#5.4.6) and does not connect"
}

case_rollback() {
	tap_case "rollback"
	in_ns chroot "$C" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	sleep 1
	netns_stop
	ctl_restore
	tap_run 0 "rollback of every run, everything stopped" "$QINSTALL" --root "$C" --json rollback 1
	tap_tree_is "$C" "$before" "the chroot is what it was before the provision"
}

CRAM= CRAM_WHY=
case_build
if [ -x "$Q/bin/qmail-smtpd" ]; then
	tap_setup mailuser alice alice-secret
	if out=$(mailuser carol carol-secret --cram-md5 2>&1); then CRAM=yes; else CRAM_WHY=$(printf '%s' "$out" | head -1); fi
	if start_servers; then
		case_auth
		case_qregex
		case_validrcptto
		case_submission
		case_localtime
		case_dns
		case_moreipme_control
		case_moreipme
	else
		tap_is "no namespace" "a namespace" "a private network and PID namespace with the servers"
	fi
	case_rollback
fi
tap_done
