#!/bin/bash
# Scenario: `qinstall users` on throwaway roots: fresh, all present,
# rollback byte for byte, --check, --diff, partly present. Each case starts
# from a root of its own (new_root, users-fixture.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

case_fresh() {
	tap_case "users on a fresh root"
	new_root
	local O; O=$(tap_tmpdir)
	cp -a "$R/etc" "$O/etc"
	tap_run 0 "users on a fresh root succeeds" "$QINSTALL" --root "$R" --json users
	tap_json_is changed true "changed is true"
	tap_is "$(tap_json ids.nofiles) $(tap_json ids.qmail) $(tap_json ids.alias) $(tap_json ids.qmails)" "600 601 600 606" \
		"the seed guide's ids by default"
	tap_is "$(grep -c '' "$R/etc/passwd")" 11 "passwd has the 4 old lines and 7 new ones"
	tap_is "$(head -4 "$R/etc/passwd")" "$(cat "$O/etc/passwd")" "the old passwd lines are kept in place"
	tap_is "$(sed -n '5,11p' "$R/etc/passwd")" "alias:x:600:600::/var/qmail/alias:/usr/sbin/nologin
qmaild:x:601:600::/var/qmail:/usr/sbin/nologin
qmaill:x:602:600::/var/qmail:/usr/sbin/nologin
qmailp:x:603:600::/var/qmail:/usr/sbin/nologin
qmailq:x:604:601::/var/qmail:/usr/sbin/nologin
qmailr:x:605:601::/var/qmail:/usr/sbin/nologin
qmails:x:606:601::/var/qmail:/usr/sbin/nologin" "the seven users, their groups, homes and shell"
	tap_is "$(tail -2 "$R/etc/group")" "nofiles:x:600:
qmail:x:601:" "the two groups"
	tap_like "$(tail -7 "$R/etc/shadow")" '^alias:!:[0-9]+::::::$' "shadow entries are locked with a lastchg"
	tap_is "$(grep -c '^qmail[a-z]*:!:' "$R/etc/shadow")" 6 "every qmail user has a locked shadow entry"
	tap_is "$(tail -2 "$R/etc/gshadow")" "nofiles:!::
qmail:!::" "gshadow entries are locked"
	tap_mode_is "$R/etc/shadow" 0640 "shadow keeps its mode"
	tap_owner_is "$R/etc/shadow" 0:42 "shadow keeps its owner"
	tap_mode_is "$R/etc/passwd" 0644 "passwd keeps its mode"
	tap_owner_is "$R/etc/passwd" 0:0 "passwd keeps its owner"
	tap_ok "passwd- is the old passwd" cmp "$R/etc/passwd-" "$O/etc/passwd"
	tap_ok "shadow- is the old shadow" cmp "$R/etc/shadow-" "$O/etc/shadow"
	tap_mode_is "$R/etc/shadow-" 0640 "the shadow backup is as private as shadow: its mode"
	tap_owner_is "$R/etc/shadow-" 0:42 "the shadow backup is as private as shadow: its owner"
	tap_mode_is "$R/var/qmail" 0755 "/var/qmail is 0755"
	tap_owner_is "$R/var/qmail" 0:601 "/var/qmail is root:qmail"
	tap_mode_is "$R/var/qmail/alias" 2755 "/var/qmail/alias is 02755"
	tap_owner_is "$R/var/qmail/alias" 600:601 "/var/qmail/alias is alias:qmail"
	tap_is "$(ls -A "$R/var/qmail/alias")" "" "no skeleton is copied into a home"
	tap_is "$(cd "$R/etc" && ls | grep -E '\.lock$|\.[0-9]+$' || true)" "" "no lock file is left behind"
	tap_json_is shell "/usr/sbin/nologin" "the shell is the nologin ROOT has"
	tap_ok "glibc's lckpwdf() is not used for a root other than / (no etc/.pwd.lock)" test ! -e "$R/etc/.pwd.lock"
}

case_present() {
	tap_case "users when all is present"
	new_root users || return
	local after; after=$(etc_sums "$R")
	tap_run 0 "users again succeeds" "$QINSTALL" --root "$R" --json users
	tap_json_is changed false "changed is false when all is present"
	tap_json_is run null "no run is recorded when nothing changes"
	tap_is "$(etc_sums "$R")" "$after" "the files are untouched by the second run"
	tap_run 0 "users again, human output" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDOUT" 'Nothing to change' "it says there is nothing to change"
}

case_rollback() {
	tap_case "rollback of users"
	new_root users users || return
	tap_run 0 "rollback succeeds" "$QINSTALL" --root "$R" rollback
	tap_is "$(etc_sums "$R")" "$before" "rollback gives ROOT/etc back byte for byte (content, mode, owner)"
	tap_ok "no passwd- is left (there was none)" test ! -e "$R/etc/passwd-"
	tap_ok "/var/qmail is gone" test ! -e "$R/var/qmail"
}

case_check() {
	tap_case "users --check"
	new_root
	tap_run 0 "--check succeeds" "$QINSTALL" --root "$R" --check --json users
	tap_json_is changed true "--check says it would change"
	tap_json_is accounts.2.action create "--check lists alias as to be created"
	tap_is "$(etc_sums "$R")" "$before" "--check writes nothing into ROOT/etc"
	tap_ok "--check makes no journal" test ! -e "$R/var/lib/qinstall"
	tap_run 0 "--check, human output" "$QINSTALL" --root "$R" --check users
	tap_like "$TAP_STDOUT" 'user +qmaild +601 +would be created' "--check says what would be created"
}

case_diff() {
	tap_case "users --check --diff"
	new_root
	tap_run 0 "--check --diff succeeds" "$QINSTALL" --root "$R" --check --diff --json users
	local d; d=$(tap_json diff.after)
	tap_like "$d" 'qmaild:x:601:600::/var/qmail:/usr/sbin/nologin' "--diff shows the new passwd line"
	tap_like "$d" 'qmaild:!:' "--diff shows the new shadow line's locked password"
	tap_unlike "$d" 'abcdefghijklmnopqrstu' "--diff never shows a password hash"
}

case_partly() {
	tap_case "users on a partly set up root"
	new_root
	echo 'qmail:x:601:' >>"$R/etc/group"
	echo 'qmail:!::' >>"$R/etc/gshadow"
	echo 'qmaild:x:601:600::/var/qmail:/bin/false' >>"$R/etc/passwd"
	local pbefore; pbefore=$(etc_sums "$R")
	tap_run 0 "users on a partly set up root succeeds" "$QINSTALL" --root "$R" --json users
	tap_json_is accounts.1.action present "the existing qmail group is reported present"
	tap_json_is accounts.3.action complete "qmaild (without a shadow entry) is completed"
	tap_is "$(grep -c '^qmaild:' "$R/etc/passwd")" 1 "qmaild is not added twice"
	tap_is "$(grep '^qmaild:' "$R/etc/passwd")" "qmaild:x:601:600::/var/qmail:/bin/false" \
		"the existing qmaild line (a non-login /bin/false) is left as it was"
	tap_is "$(grep -c '^qmaild:!:' "$R/etc/shadow")" 1 "qmaild gets its locked shadow entry"
	tap_is "$(grep -c '^qmail:' "$R/etc/group")" 1 "the qmail group is not added twice"
	tap_run 0 "rollback of the partial run" "$QINSTALL" --root "$R" rollback
	tap_is "$(etc_sums "$R")" "$pbefore" "rollback restores the partly set up files byte for byte"
}

case_fresh
case_present
case_rollback
case_check
case_diff
case_partly
tap_done
