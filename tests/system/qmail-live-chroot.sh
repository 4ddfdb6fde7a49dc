#!/bin/bash
# System: qmail running. A debootstrap'd chroot (tests/lib/chroot.sh) is
# provisioned with the netqmail profile (sources from the shared distfiles
# folder) and a mail-only user is added with `qinstall mailuser`; then,
# inside a private network and PID namespace (loopback only), svscan is
# started in the chroot and real clients (Python's smtplib and poplib)
# talk to the real servers: a message from 127.0.0.1 to the mail user
# lands in its Maildir with Received and Delivered-To; 127.0.0.2 (no
# RELAYCLIENT in the rules) may not relay (553), 127.0.0.1 may; POP3
# logs the mail user in with its yescrypt password and retrieves the
# message, and refuses a wrong password and root; `qinstall smoke` passes,
# and fails once qmail-smtpd is stopped. Then everything is stopped and
# rolled back: the chroot is what it was, and the mail and logs qmail
# wrote are kept aside and listed, not deleted.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/lib/netns.sh"

tap_heavy
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
netns_require
distfiles_qmail
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
PY=${PYTHON3:-python3}

C=$(tap_tmpdir)/root
chroot_mail_template "$C"
TAP_TREE_EXCLUDE=var/lib/qinstall
before=$(tap_tree "$C")
W=$(tap_tmpdir)

# smtp FROM_ADDR RCPT: one SMTP transaction from source address FROM_ADDR;
# prints "accepted" or the refusal's code and text.
smtp() {
	in_ns "$PY" - "$1" "$2" <<'PY'
import smtplib, sys
src, rcpt = sys.argv[1], sys.argv[2]
msg = "From: tester@example.com\r\nTo: %s\r\nSubject: qinstall live test\r\n\r\nhello, qmail\r\n" % rcpt
try:
    s = smtplib.SMTP("127.0.0.1", 25, source_address=(src, 0), timeout=20)
    s.sendmail("tester@example.com", [rcpt], msg)
    s.quit()
    print("accepted")
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print(code, text.decode())
except Exception as e:
    print("error", e)
PY
}

# pop3 USER PASSWORD: logs in and prints the number of messages and the
# first one, or the refusal.
pop3() {
	in_ns "$PY" - "$1" "$2" <<'PY'
import poplib, sys
try:
    p = poplib.POP3("127.0.0.1", 110, timeout=20)
    p.user(sys.argv[1]); p.pass_(sys.argv[2])
    n = p.stat()[0]
    print("messages", n)
    if n:
        print(b"\n".join(p.retr(1)[1]).decode())
    p.quit()
except Exception as e:
    print("refused", e)
PY
}

case_live() {
	tap_case "qmail running in the chroot"
	tap_run 0 "provision netqmail into the chroot" "$QINSTALL" --root "$C" provision \
		--domain mail.example.org --admin admin --mirror "file://$DISTFILES"
	tap_setup sh -c "printf 'alice-secret\n' | '$QINSTALL' --root '$C' mailuser add alice --owner vmail" || return
	tap_type_is "$C/home/vmail/alice/Maildir/new" dir "alice has a Maildir"
	netns_start || { tap_is "no namespace" "a namespace" "a private network and PID namespace"; return; }
	in_ns setsid chroot "$C" /usr/local/bin/svscan /etc/service </dev/null >"$W/svscan.log" 2>&1 &
	tap_ok "qmail-smtpd listens on port 25 in the namespace" wait_port 25
	tap_ok "qmail-pop3d listens on port 110" wait_port 110

	tap_is "$(smtp 127.0.0.1 alice@mail.example.org)" accepted "a message from 127.0.0.1 to alice is accepted"
	local i msg=
	for i in $(seq 100); do
		msg=$(ls "$C/home/vmail/alice/Maildir/new" 2>/dev/null | head -1)
		[ -n "$msg" ] && break
		sleep 0.2
	done
	tap_ok "it lands in alice's Maildir/new" test -n "$msg"
	if [ -n "$msg" ]; then
		tap_like "$(cat "$C/home/vmail/alice/Maildir/new/$msg")" 'Received: from unknown \(HELO .*\) \(127\.0\.0\.1\)' \
			"with qmail-smtpd's Received header"
		tap_like "$(cat "$C/home/vmail/alice/Maildir/new/$msg")" 'Delivered-To: .*alice@mail\.example\.org' \
			"and qmail-local's Delivered-To"
	fi
	tap_like "$(smtp 127.0.0.2 someone@example.net)" '^553 ' "127.0.0.2 may not relay to a foreign domain (553)"
	tap_is "$(smtp 127.0.0.1 someone@example.net)" accepted "127.0.0.1 may (RELAYCLIENT): accepted into the queue"

	# qmail-pop3d lists only messages older than the current second (its
	# maildir scan leaves the newest alone, so as not to mistake new for
	# cur): give the delivery a moment.
	sleep 2
	local out
	out=$(pop3 alice alice-secret)
	tap_like "$out" '^messages [1-9]' "POP3: alice logs in with her yescrypt password and sees the message" ||
		tap_diag "$(tail -5 "$C/var/log/qmail/qmail-pop3d/current" 2>/dev/null)" \
			"$(ls -laR "$C/home/vmail/alice" 2>&1)"
	tap_like "$out" 'hello, qmail' "and retrieves it"
	tap_like "$(pop3 alice wrong-password)" '^refused' "a wrong password is refused"
	tap_like "$(pop3 root anything)" '^refused' "root is refused"

	tap_run 0 "qinstall smoke passes against the running server" \
		sh -c "printf 'alice-secret\n' | nsenter -t '$NS' -n -p '$QINSTALL' --root '$C' smoke --pop3-user alice --timeout 30"
	in_ns chroot "$C" /usr/local/bin/svc -d /etc/service/qmail-smtpd
	sleep 1
	tap_run 1 "and fails once qmail-smtpd is stopped" \
		nsenter -t "$NS" -n -p "$QINSTALL" --root "$C" smoke --timeout 5
	tap_like "$TAP_STDOUT" 'FAIL.*greeting' "naming the greeting check"

	in_ns chroot "$C" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	sleep 1
	netns_stop
	tap_run 0 "rollback of both runs, everything stopped" "$QINSTALL" --root "$C" --json rollback 1
	tap_tree_is "$C" "$before" "the chroot is what it was before the provision"
	# (qmail-pop3d moved it from new/ to cur/ when it was retrieved)
	tap_ok "alice's message is kept aside, not deleted" \
		test -n "$(find "$C/var/lib/qinstall/kept" -path "*/home/vmail/alice/Maildir/*" -name "$msg*" 2>/dev/null)"
	tap_ok "qmail's logs are kept aside" \
		test -n "$(find "$C/var/lib/qinstall/kept" -path '*/var/log/qmail/*' -name current 2>/dev/null | head -1)"
}

case_live
tap_done
