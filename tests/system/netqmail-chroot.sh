#!/bin/bash
# System: `qinstall provision` of netqmail into a debootstrap'd Debian
# chroot (tests/lib/chroot.sh), the sources from the shared distfiles
# folder. Inside the chroot, the installed qmail-inject queues a message
# to postmaster and qmail-send, started by the installed /var/qmail/rc,
# delivers it through ~alias/.qmail-postmaster to the admin's Maildir/new
# with qmail's Delivered-To header. Then rollback: the chroot is what it
# was, and the delivered message, which qinstall did not write, is kept
# aside and reported, never destroyed.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
. "$top_srcdir/tests/lib/distfiles.sh"

tap_heavy
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
distfiles_qmail
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

C=$(tap_tmpdir)/root
chroot_template "$C"
# The administrator, a user of the chroot with a home of their own.
chroot "$C" useradd -m -u 1000 -s /bin/sh admin
TAP_TREE_EXCLUDE=var/lib/qinstall
before=$(tap_tree "$C")

# qmail_run SECONDS: qmail-send and its helpers, started as the rc script
# starts them, for a moment; then told to stop (SIGTERM to the group).
qmail_run() {
	setsid chroot "$C" /var/qmail/rc >"$C.qmail.log" 2>&1 &
	local pid=$! i
	for i in $(seq $((${1} * 10))); do
		ls "$C/home/admin/Maildir/new" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	kill -TERM -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sleep 0.5
	pkill -KILL -f "^qmail-" 2>/dev/null
	return 0
}

case_deliver() {
	tap_case "provision netqmail in the chroot and deliver a message"
	tap_run 0 "provision into the chroot" "$QINSTALL" --root "$C" --json provision \
		--domain mail.example.org --admin admin --mirror "file://$DISTFILES"
	tap_json_is changed true "it changed the chroot"
	tap_is "$(chroot "$C" id -u qmailq)" 604 "the chroot's own id sees qmailq"
	tap_is "$(chroot "$C" stat -c '%U:%G %a' /var/qmail/bin/qmail-queue)" "qmailq:qmail 4711" \
		"the chroot's stat names qmail-queue's owners and its setuid mode"
	tap_is "$(cat "$C/var/qmail/control/me")" mail.example.org "control/me is the domain"
	tap_type_is "$C/home/admin/Maildir/new" dir "the admin has a Maildir"

	printf 'To: postmaster\nSubject: qinstall system test\n\nhello from the chroot\n' >"$C.msg"
	tap_run 0 "qmail-inject queues a message to postmaster" \
		chroot "$C" /var/qmail/bin/qmail-inject -f admin@mail.example.org postmaster <"$C.msg"
	qmail_run 20
	local msg
	msg=$(ls "$C/home/admin/Maildir/new" 2>/dev/null | head -1)
	tap_ok "qmail-send delivered it into the admin's Maildir/new" test -n "$msg"
	[ -n "$msg" ] || { tap_diag "$(cat "$C.qmail.log")"; return; }
	tap_like "$(cat "$C/home/admin/Maildir/new/$msg")" 'Delivered-To: admin@mail\.example\.org' \
		"with qmail's Delivered-To header for the admin"
	tap_like "$(cat "$C/home/admin/Maildir/new/$msg")" 'hello from the chroot' "and the body"
	tap_owner_is "$C/home/admin/Maildir/new/$msg" 1000:1000 "the message belongs to the admin"
	cp "$C/home/admin/Maildir/new/$msg" "$C.delivered"

	tap_run 0 "rollback" "$QINSTALL" --root "$C" --json rollback
	tap_tree_is "$C" "$before" "the chroot is what it was before the provision"
	local kept
	kept=$(find "$C/var/lib/qinstall/kept" -type f -path "*/Maildir/new/$msg" 2>/dev/null | head -1)
	tap_ok "the delivered message is kept aside under /var/lib/qinstall/kept" test -n "$kept"
	[ -n "$kept" ] && tap_ok "with its content intact" cmp -s "$kept" "$C.delivered"
	tap_like "$TAP_STDOUT$TAP_STDERR" 'Maildir/new' "rollback reports what it kept aside"
}

case_deliver
tap_done
