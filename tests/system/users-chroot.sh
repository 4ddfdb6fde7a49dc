#!/bin/bash
# System: `qinstall users` in a debootstrap'd Debian chroot. glibc's own
# getent and id inside the chroot must see the accounts; shadow-utils'
# pwck and grpck must find the files as consistent as before; rollback
# must make the accounts vanish and give every file under /etc back byte
# for byte.
#
# The chroot: tests/lib/chroot.sh (debootstrap'd once, cached outside the
# clone).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/chroot.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

tap_heavy

C=$(tap_tmpdir)/template
chroot_template "$C"
TPL=$C

# fresh_chroot: C is a new chroot, a copy of the template: its /etc (what
# qinstall writes and rolls back) copied, the rest hard links (qinstall
# only adds to /var, never writes a file there, and nothing else is written).
fresh_chroot() {
	C=$(tap_tmpdir)/root
	cp -al "$TPL" "$C" && rm -rf "$C/etc" && cp -a "$TPL/etc" "$C/etc"
}
sums() { (cd "$C/etc" && find . -type f -print0 | sort -z | xargs -0 sha256sum &&
	find . -printf '%p %y %m %U:%G\n' | sort); }
fresh_chroot
before=$(sums)
pwck_before=$(chroot "$C" pwck -r >/dev/null 2>&1; echo $?)
grpck_before=$(chroot "$C" grpck -r >/dev/null 2>&1; echo $?)

case_users() {
	tap_case "users in the chroot"
	fresh_chroot
	tap_run 0 "qinstall --root CHROOT users" "$QINSTALL" --root "$C" users
	tap_like "$(chroot "$C" getent passwd qmaild)" '^qmaild:x:601:600::/var/qmail:(/usr)?/sbin/nologin$' \
		"getent passwd qmaild in the chroot sees the account"
	tap_is "$(chroot "$C" id qmails)" "uid=606(qmails) gid=601(qmail) groups=601(qmail)" \
		"id qmails in the chroot sees the user and its group"
	tap_is "$(chroot "$C" getent group nofiles)" "nofiles:x:600:" "getent group nofiles sees the group"
	tap_is "$(chroot "$C" stat -c '%U:%G %a' /var/qmail/alias)" "alias:qmail 2755" \
		"the chroot's own stat names alias's home's owners"
	tap_is "$(chroot "$C" pwck -r >/dev/null 2>&1; echo $?)" "$pwck_before" "pwck finds passwd/shadow as consistent as before"
	tap_is "$(chroot "$C" grpck -r >/dev/null 2>&1; echo $?)" "$grpck_before" "grpck finds group/gshadow as consistent as before"
	tap_like "$(chroot "$C" passwd -S qmaild)" '^qmaild L ' "passwd -S in the chroot reports qmaild's password locked"
}

case_again() {
	tap_case "users again in the chroot"
	fresh_chroot
	tap_setup_qinstall "$C" users || return
	tap_run 0 "users again changes nothing" "$QINSTALL" --root "$C" --json users
	tap_json_is changed false "changed is false"
}

case_rollback() {
	tap_case "rollback in the chroot"
	fresh_chroot
	tap_setup_qinstall "$C" users || return
	local rc
	tap_run 0 "qinstall --root CHROOT rollback" "$QINSTALL" --root "$C" rollback
	rc=0; chroot "$C" getent passwd qmaild >/dev/null || rc=$?
	tap_is "$rc" 2 "after rollback getent no longer finds qmaild"
	rc=0; chroot "$C" id qmails >/dev/null 2>&1 || rc=$?
	tap_ok "after rollback id no longer finds qmails" test "$rc" -ne 0
	tap_is "$(sums)" "$before" "every file under the chroot's /etc is back byte for byte"
	tap_ok "/var/qmail is gone" test ! -e "$C/var/qmail"
}

case_users
case_again
case_rollback
tap_done
