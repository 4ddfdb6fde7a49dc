#!/bin/bash
# Scenario: `qinstall users` refuses on conflicts, lists every one of them
# with a suggestion, and changes nothing.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

# conflict_root: a new root with four conflicts: uid 601 (qmaild's) held
# by postfix; group qmail with gid 1001; qmails with a login shell; gid
# 600 (nofiles') held by another group.
conflict_root() {
	new_root
	echo 'postfix:x:601:1002::/var/spool/postfix:/usr/sbin/nologin' >>"$R/etc/passwd"
	echo 'qmails:x:606:601::/var/qmail:/bin/bash' >>"$R/etc/passwd"
	echo 'qmail:x:1001:' >>"$R/etc/group"
	echo 'staff2:x:600:' >>"$R/etc/group"
	before=$(etc_sums "$R")
}

case_conflicts() {
	tap_case "a root with conflicts"
	conflict_root
	tap_run 1 "users refuses a root with conflicts" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDERR" '4 conflicts, so nothing was changed' "the error counts the conflicts and says nothing changed"
	tap_like "$TAP_STDERR" 'uid 601, wanted for user qmaild, is held by user postfix' "an id held by another name is listed"
	tap_like "$TAP_STDERR" 'group qmail has gid 1001, wanted 601' "a name with another id is listed"
	tap_like "$TAP_STDERR" 'suggestion: keep it with --id qmail=1001' "with the option that keeps it"
	tap_like "$TAP_STDERR" "gid 600, wanted for group nofiles, is held by group staff2" "a gid held by another group is listed"
	tap_like "$TAP_STDERR" "user qmails has the login shell '/bin/bash'" "a login shell is listed"
	tap_like "$TAP_STDERR" 'suggestion: gids [0-9]+-[0-9]+ and uids [0-9]+-[0-9]+ are free' "free ids are suggested"
	tap_is "$(etc_sums "$R")" "$before" "nothing in ROOT/etc changed"
	tap_ok "no home was made" test ! -e "$R/var/qmail"
	tap_ok "no lock file is left" test -z "$(ls "$R/etc" | grep -E '\.lock$')"
}

case_conflicts_json() {
	tap_case "a root with conflicts, --json"
	conflict_root
	tap_run 1 "the same with --json" "$QINSTALL" --root "$R" --json users
	tap_json_is failed true "failed is true"
	tap_json_is conflicts.# 4 "the conflicts array lists all four"
	tap_json_is conflicts.0.kind gid-taken "each conflict has a kind"
	tap_like "$(tap_json conflicts.0.suggestion)" 'free' "each conflict has a suggestion"
}

# The suggestion works: pin qmail's existing gid and take other ids.
case_suggestion() {
	tap_case "following the suggestion"
	new_root
	echo 'qmail:x:1001:' >>"$R/etc/group"
	tap_run 0 "following the suggestion (--id qmail=1001) succeeds" "$QINSTALL" --root "$R" users --id qmail=1001
	tap_is "$(grep -c ':1001::/var/qmail:' "$R/etc/passwd")" 3 "qmailq, qmailr and qmails get the existing group"
}

# A user with another home, and a shadow entry with a password.
case_home_password() {
	tap_case "another home, a password, a malformed line"
	new_root
	echo 'alias:x:600:600::/home/alias:/usr/sbin/nologin' >>"$R/etc/passwd"
	echo 'qmaill:x:602:600::/var/qmail:/usr/sbin/nologin' >>"$R/etc/passwd"
	echo 'qmaill:$6$salt$hash:19000:0:99999:7:::' >>"$R/etc/shadow"
	echo 'qmaild:broken' >>"$R/etc/passwd"
	local before3; before3=$(etc_sums "$R")
	tap_run 1 "a wrong home, a password and a malformed line are refused" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDERR" 'user alias has home /home/alias, wanted /var/qmail/alias' "another home is listed"
	tap_like "$TAP_STDERR" 'user qmaill has a password in .*/etc/shadow' "a usable password is listed"
	tap_like "$TAP_STDERR" "line 7 of .*/etc/passwd, for 'qmaild', is malformed" "a malformed line of our name is listed with its line"
	tap_is "$(etc_sums "$R")" "$before3" "nothing changed"
}

# A home that exists as a file.
case_home_file() {
	tap_case "a home that is a file"
	new_root
	touch "$R/var/qmail"
	tap_run 1 "a home that is a file is refused" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDERR" '/var/qmail exists and is not a directory' "the error names it"
	tap_is "$(grep -c qmail "$R/etc/passwd")" 0 "and no account was added"
}

case_conflicts
case_conflicts_json
case_suggestion
case_home_password
case_home_file
tap_done
