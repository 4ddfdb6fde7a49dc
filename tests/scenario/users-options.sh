#!/bin/bash
# Scenario: `qinstall users` options (--ids auto, --range, --id, --shell,
# --qmail-home), roots without shadow files or nologin, odd passwd files.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

# The profiles; no case changes them.
PF=$(tap_tmpdir)
printf '[accounts]\nnofiles = 2108\nqmail = 2107\nalias = 7790\nqmaild = 7791\nqmaill = 7792\nqmailp = 7793\nqmailq = 7794\nqmailr = 7795\nqmails = 7796\nqmail_home = /srv/qmail\n' >"$PF/lwq.profile"
printf '[accounts]\nids = auto\nauto_min = 3000\nauto_max = 3100\nqmail_home = /srv/qmail\n' >"$PF/auto.profile"

# ids_in_use: a new root where uids 600-603 and 605 and gid 600 are taken.
ids_in_use() {
	new_root
	local i
	for i in 600 601 602 603 605; do echo "u$i:x:$i:1::/:/usr/sbin/nologin" >>"$R/etc/passwd"; done
	echo 'g600:x:600:' >>"$R/etc/group"
}

# --- --ids auto ---------------------------------------------------------------
case_ids_auto() {
	tap_case "--ids auto"
	ids_in_use
	tap_run 0 "--ids auto picks around ids in use" "$QINSTALL" --root "$R" --json users --ids auto
	tap_is "$(tap_json ids.nofiles) $(tap_json ids.qmail)" "601 602" "the lowest two free gids in a row"
	tap_is "$(tap_json ids.alias) $(tap_json ids.qmails)" "606 612" "the lowest seven free uids in a row"
	tap_json_is ids_auto true "the result says the ids were picked"
}

case_ids_auto_again() {
	tap_case "--ids auto again"
	ids_in_use
	tap_setup_qinstall "$R" "users --ids auto" || return
	tap_run 0 "--ids auto again changes nothing (the picked accounts are kept)" \
		"$QINSTALL" --root "$R" --json users --ids auto
	tap_is "$(tap_json changed) $(tap_json ids.alias)" "false 606" "the second auto run keeps the ids"
	tap_run 0 "human output of --ids auto" "$QINSTALL" --root "$R" users --ids auto
	tap_like "$TAP_STDOUT" 'ids picked by --ids auto' "it says the ids were picked"
}

case_range() {
	tap_case "--ids auto --range"
	new_root
	tap_run 0 "--ids auto --range 2000-2100" "$QINSTALL" --root "$R" --json users --ids auto --range 2000-2100
	tap_is "$(tap_json ids.nofiles) $(tap_json ids.alias) $(tap_json ids.qmails)" "2000 2000 2006" "the range is honoured"
	new_root
	tap_run 1 "a range too small for seven uids fails" "$QINSTALL" --root "$R" users --ids auto --range 700-703
	tap_like "$TAP_STDERR" 'no 7 free uids in 700-703' "the error says why and how to fix it"
	tap_is "$(grep -c qmail "$R/etc/group")" 0 "and nothing was added"
}

# --- --id, --shell, --qmail-home -------------------------------------------------
case_id_shell_home() {
	tap_case "--id, --shell, --qmail-home"
	new_root
	touch "$R/bin/false"; chmod 755 "$R/bin/false"
	tap_run 0 "--id pins single ids" "$QINSTALL" --root "$R" --json users --id qmaild=7791 --id qmail=2107 \
		--shell /bin/false --qmail-home /opt/qmail
	tap_is "$(grep '^qmaild:' "$R/etc/passwd")" "qmaild:x:7791:600::/opt/qmail:/bin/false" "--id, --shell and --qmail-home are used"
	tap_is "$(grep '^qmails:' "$R/etc/passwd" | cut -d: -f4,6)" "2107:/opt/qmail" "users of group qmail get its pinned gid"
	tap_mode_is "$R/opt/qmail" 0755 "the home is made 0755"
	tap_owner_is "$R/opt/qmail" 0:2107 "the home is made root:qmail"
	tap_mode_is "$R/opt/qmail/alias" 2755 "alias's home is made 02755"
	tap_owner_is "$R/opt/qmail/alias" 600:2107 "alias's home is made alias:qmail"
	tap_mode_is "$R/opt" 0755 "their missing parent is made 0755"
	tap_owner_is "$R/opt" 0:0 "their missing parent is root's"
}

# --- --profile: a fleet's pinned ids -----------------------------------------------
case_profile() {
	tap_case "--profile"
	new_root
	tap_run 0 "--profile FILE takes the pinned ids of its [accounts]" "$QINSTALL" --root "$R" --json users --profile "$PF/lwq.profile"
	tap_is "$(tap_json ids.qmail) $(tap_json ids.nofiles) $(tap_json ids.alias) $(tap_json ids.qmails)" "2107 2108 7790 7796" "the profile's ids are used"
	tap_is "$(grep '^qmailr:' "$R/etc/passwd")" "qmailr:x:7795:2107::/srv/qmail:/usr/sbin/nologin" "and its qmail home"
}

case_profile_again() {
	tap_case "--profile on a root it set up"
	new_root "users --profile $PF/lwq.profile" || return
	tap_run 0 "--id overrides one profile id" "$QINSTALL" --root "$R" --check --json users --profile "$PF/lwq.profile" --id qmailr=7795
	tap_json_is changed false "the same ids again change nothing"
	tap_run 0 "a profile can ask for --ids auto in its own range" "$QINSTALL" --root "$R" --check --json users --profile "$PF/auto.profile"
	tap_is "$(tap_json ids.nofiles) $(tap_json ids.alias)" "2108 7790" "auto keeps the accounts that exist"
	tap_run 2 "an unknown profile is a usage error" "$QINSTALL" --root "$R" users --profile "$PF/none.profile"
}

# --- the id bounds: 1..65533 for --id, --range and a profile alike ----------------
case_id_bounds() {
	tap_case "the id bounds"
	new_root
	tap_run 0 "--id at the top of the range (65533)" "$QINSTALL" --root "$R" --check --json users --id qmails=65533
	tap_json_is ids.qmails 65533 "65533 is a usable id"
	tap_run 2 "--id 65534 (nobody's) is refused" "$QINSTALL" --root "$R" users --id qmails=65534
	tap_like "$TAP_STDERR" 'give a number from 1 to 65533' "the error gives the bounds"
	printf '[accounts]\nqmails = 65533\n' >"$R/top.profile"
	tap_run 0 "a profile's id at the top of the range" "$QINSTALL" --root "$R" --check --json users --profile "$R/top.profile"
	tap_json_is ids.qmails 65533 "the profile's 65533 is used"
	printf '[accounts]\nqmails = 65534\n' >"$R/nobody.profile"
	tap_run 2 "a profile's id 65534 is refused like --id qmails=65534" "$QINSTALL" --root "$R" users --profile "$R/nobody.profile"
	tap_like "$TAP_STDERR" "nobody.profile:2: bad value for 'qmails' in \[accounts\]: '65534'" \
		"when the profile is loaded, naming its file, line and key"
	printf '[accounts]\nids = auto\nauto_min = 600\nauto_max = 65534\n' >"$R/range.profile"
	tap_run 2 "a profile's auto_max 65534 is refused like --range 600-65534" "$QINSTALL" --root "$R" users --profile "$R/range.profile"
	tap_run 2 "--range up to 65534 is refused" "$QINSTALL" --root "$R" users --ids auto --range 600-65534
	tap_like "$TAP_STDERR" '1 <= MIN <= MAX <= 65533' "the error gives the bounds"
	tap_run 0 "--range ending at 65533 fits seven uids exactly" "$QINSTALL" --root "$R" --check --json users --ids auto --range 65527-65533
	tap_is "$(tap_json ids.alias) $(tap_json ids.qmails)" "65527 65533" "the block ends at 65533"
	tap_is "$(etc_sums "$R")" "$before" "nothing in ROOT/etc changed"
}

# --- an existing home is not clobbered; --diff of a real run -----------------------
case_existing_home() {
	tap_case "an existing /var/qmail of another mode"
	new_root
	mkdir -p "$R/var/qmail"
	chmod 0700 "$R/var/qmail"
	tap_run 0 "users with an existing /var/qmail of another mode" "$QINSTALL" --root "$R" --diff --json users
	tap_like "$(tap_json warnings.0)" '/var/qmail exists with mode 0700 and owner 0:0; qmail wants 0755 and 0:601' \
		"a warning reports the differing mode and owner"
	tap_mode_is "$R/var/qmail" 0700 "the existing home keeps its mode"
	tap_owner_is "$R/var/qmail" 0:0 "the existing home keeps its owner"
	tap_is "$(printf '%s\n' "$TAP_STDERR" | grep -c 'exists with mode')" 1 "the warning is given once"
	tap_mode_is "$R/var/qmail/alias" 2755 "the missing alias home is still made, 02755"
	tap_owner_is "$R/var/qmail/alias" 600:601 "the missing alias home is still made, alias:qmail"
	tap_like "$(tap_json diff.after)" 'qmails:x:606:601::/var/qmail:/usr/sbin/nologin' "--diff of a real run shows the new passwd"
	tap_unlike "$(tap_json diff.before)$(tap_json diff.after)" 'abcdefghijklmnopqrstu' "--diff of a real run hides root's hash"
	tap_unlike "$(tap_json diff.after)" '--- /etc/passwd-' "--diff does not repeat the backups"
}

# A symlinked qmail home (/var/qmail -> /opt/qmail) is followed inside ROOT.
case_symlinked_home() {
	tap_case "a symlinked qmail home"
	new_root
	mkdir -p "$R/opt/qmail"
	ln -s /opt/qmail "$R/var/qmail"
	tap_run 0 "users with /var/qmail a symlink to a directory" "$QINSTALL" --root "$R" users
	tap_type_is "$R/var/qmail" symlink "the symlink is kept"
	tap_mode_is "$R/opt/qmail/alias" 2755 "alias's home is made through it, 02755"
	tap_owner_is "$R/opt/qmail/alias" 600:601 "alias's home is made through it, alias:qmail"
	new_root
	ln -s /nowhere "$R/var/qmail"
	tap_run 1 "a dangling qmail home symlink is refused" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDERR" 'var/qmail exists and is not a directory' "the error names it"
}

# --- usage errors ---------------------------------------------------------------
case_usage() {
	tap_case "usage errors"
	new_root
	tap_run 2 "--id with an unknown name is a usage error" "$QINSTALL" --root "$R" users --id bogus=5
	tap_like "$TAP_STDERR" "'bogus' is not one of qmail's accounts" "it names the bad account"
	tap_run 2 "--id with a bad number" "$QINSTALL" --root "$R" users --id qmaild=abc
	tap_run 2 "--id 0 (root's) is refused" "$QINSTALL" --root "$R" users --id alias=0
	tap_run 2 "two users with the same pinned uid" "$QINSTALL" --root "$R" users --id qmaild=600
	tap_like "$TAP_STDERR" 'alias and qmaild are both given id 600' "it names both"
	tap_run 2 "--ids with a bad word" "$QINSTALL" --root "$R" users --ids some
	tap_run 2 "--range without --ids auto" "$QINSTALL" --root "$R" users --range 1-9
	tap_run 2 "a bad --range" "$QINSTALL" --root "$R" users --ids auto --range 9-1
	tap_run 2 "--id with --ids auto" "$QINSTALL" --root "$R" users --ids auto --id qmaild=9
	tap_run 2 "a relative --qmail-home" "$QINSTALL" --root "$R" users --qmail-home var/qmail
	tap_run 2 "an operand" "$QINSTALL" --root "$R" users extra
	tap_run 0 "users --help" "$QINSTALL" users --help
	tap_like "$TAP_STDOUT" '--ids=auto\|pinned' "--help lists --ids"
	tap_like "$TAP_STDOUT" 'nofiles 600, qmail 601, users 600-606' "--help states the default ids"
}

# --- roots without shadow files, without nologin, with odd files ---------------
case_no_shadow() {
	tap_case "a root without shadow files"
	new_root
	rm "$R/etc/shadow" "$R/etc/gshadow" "$R/usr/sbin/nologin"
	printf '#!/bin/sh\nexit 1\n' >"$R/bin/false"; chmod 755 "$R/bin/false"
	tap_run 0 "a root without shadow files" "$QINSTALL" --root "$R" users
	tap_ok "no shadow file is created" test ! -e "$R/etc/shadow" -a ! -e "$R/etc/gshadow"
	tap_is "$(grep '^qmailq:' "$R/etc/passwd")" "qmailq:*:604:601::/var/qmail:/bin/false" \
		"passwords are locked in passwd itself, and /bin/false is the shell when there is no nologin"
	tap_is "$(grep '^qmail:' "$R/etc/group")" "qmail:*:601:" "the group password is locked too"
}

case_no_nologin() {
	tap_case "a root without a non-login shell"
	new_root
	rm "$R/usr/sbin/nologin"
	tap_run 1 "a root without any non-login shell fails" "$QINSTALL" --root "$R" users
	tap_like "$TAP_STDERR" 'has no non-login shell.*--shell' "the error says what to do"
}

case_odd_passwd() {
	tap_case "an odd passwd"
	new_root
	local O=$R
	printf 'root:x:0:0:root:/root:/bin/bash\r\n# local users\n  odd:x:1000:1000:spaced:/home/odd:/bin/sh\n+@admins::::::\n-' >"$O/etc/passwd"
	printf 'root:x:0:\n+' >"$O/etc/group"
	cp "$O/etc/passwd" "$O/passwd.orig"
	tap_run 0 "a passwd with CRLF, comments, NIS lines and no final newline" "$QINSTALL" --root "$O" users
	tap_is "$(head -c "$(stat -c %s "$O/passwd.orig")" "$O/etc/passwd" | head -3 | od -c | head -2)" \
		"$(head -3 "$O/passwd.orig" | od -c | head -2)" "the old lines keep their bytes (CR included)"
	tap_is "$(sed -n '4p;11p;12p' "$O/etc/passwd")" "alias:x:600:600::/var/qmail/alias:/usr/sbin/nologin
+@admins::::::
-" "the new users go before the NIS lines, which stay last"
	tap_is "$(tail -c 1 "$O/etc/passwd" | od -An -c | tr -d ' ')" "-" "the missing final newline is still missing"
	tap_run 0 "rollback" "$QINSTALL" --root "$O" rollback
	tap_ok "rollback gives the odd passwd back byte for byte" cmp "$O/etc/passwd" "$O/passwd.orig"
}

case_ids_auto
case_ids_auto_again
case_range
case_id_shell_home
case_profile
case_profile_again
case_id_bounds
case_existing_home
case_symlinked_home
case_usage
case_no_shadow
case_no_nologin
case_odd_passwd
tap_done
