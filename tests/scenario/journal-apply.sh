#!/bin/bash
# Scenario: `qinstall apply FILE` - the list format, owners from ROOT,
# --check, --json, --diff, idempotence, and symlinks that point out of ROOT.
# Each case starts from a root of its own (new_root, journal-lib.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

# The lists and their sources; no case changes them.
L=$(tap_tmpdir)
echo "hello qmail" >"$L/me"
cat >"$L/ops.list" <<LIST
# qmail's first files
mkdir   /var/qmail          0755 root:qmail
mkdir   /var/qmail/control  0755 root:qmail
file    /var/qmail/control/me 0644 qmaild:qmail me     # relative to the list
symlink /var/qmail/control/link me
fifo    /var/qmail/trigger  0622 qmaild:qmail
chmod   /etc/motd 0600
chown   /etc/motd alias:nofiles
LIST
echo "new content" >"$L/motd"
printf 'file /etc/motd 0644 root:root %s\n' "$L/motd" >"$L/diff.list"
printf 'mkdir /a 0755 root:root\nmkdir /b 0799 root:root\n' >"$L/bad.list"
printf 'mkdir /a 0755 root:root\nmkdir /b 0755 nosuchuser:root\n' >"$L/owner.list"
printf 'mkdir /c 0755 root:root\nfile /c/x 0644 root:root /nonexistent-source\n' >"$L/src.list"
printf 'mkdir /d 0755 root:root\nremove /srv\n' >"$L/fail.list"
name=qinstall-escape-test-$$
printf 'file /etc/hostetc/%s 0644 root:root %s\n' "$name" "$L/me" >"$L/escape.list"
printf 'file /etc/up/etc/%s.2 0644 root:root %s\n' "$name" "$L/me" >"$L/escape2.list"

# --check: nothing written anywhere, not even the state directory.
case_check() {
	tap_case "apply --check"
	new_root
	tap_run 0 "apply --check exits 0" "$QINSTALL" --root "$R" --check --json apply "$L/ops.list"
	tap_json_is changed true "--check reports changed"
	tap_json_has changes.#.path /var/qmail/control/me "--check lists a file planned inside a planned directory"
	tap_is "$("$manifest" "$R")" "$("$manifest" "$R")" "manifest is stable"
	tap_tree_is "$R" "$t0" "--check changed nothing in the tree"
	tap_ok "--check did not create the state directory" test ! -e "$R/var/lib/qinstall"
}

case_apply() {
	tap_case "apply"
	new_root
	tap_run 0 "apply exits 0" "$QINSTALL" --root "$R" --json apply "$L/ops.list"
	tap_json_is run 1 "--json names the run"
	tap_json_is failed false "--json says not failed"
	tap_is "$(cat "$R/var/qmail/control/me")" "hello qmail" "the file holds the source's bytes"
	tap_mode_is "$R/var/qmail/control/me" 0644 "the file has its mode"
	tap_owner_is "$R/var/qmail/control/me" 601:601 "owner names resolved in ROOT's passwd and group"
	tap_mode_is "$R/etc/motd" 0600 "chmod applied"
	tap_owner_is "$R/etc/motd" 600:600 "chown applied"
	tap_is "$(readlink "$R/var/qmail/control/link")" "me" "the symlink points at its target"
	tap_type_is "$R/var/qmail/trigger" fifo "the fifo is made"
	tap_mode_is "$R/var/qmail/trigger" 0622 "the fifo has its mode"
}

case_again() {
	tap_case "the same apply again"
	new_root "apply $L/ops.list" || return
	tap_run 0 "the same apply again exits 0" "$QINSTALL" --root "$R" --json apply "$L/ops.list"
	tap_json_is changed false "the second identical apply says changed: false"
	tap_json_is run null "a run that changed nothing leaves no run behind"
}

# --diff shows before and after of a file's content and of a mode.
case_diff() {
	tap_case "apply --diff --check"
	new_root "apply $L/ops.list" || return
	tap_run 0 "apply --diff --check exits 0" "$QINSTALL" --root "$R" --json --diff --check apply "$L/diff.list"
	tap_unlike "$TAP_STDOUT" 'old motd' "--diff hides the content of a file others may not read (mode 0600)"
	tap_like "$(tap_json diff.before)" 'not readable by others: content not shown' "and says why"
	tap_like "$(tap_json diff.after)" 'new content' "--diff shows the content after (mode 0644)"
	tap_like "$(tap_json diff.before)" 'mode 0600' "--diff shows the mode before"
	chmod 0644 "$R/etc/motd"
	tap_run 0 "apply --diff --check of a readable file" "$QINSTALL" --root "$R" --json --diff --check apply "$L/diff.list"
	tap_like "$(tap_json diff.before)" 'old motd' "--diff shows the content before when others may read it"
}

# case_refused NAME CODE LIST ERROR DESC_RUN DESC_ERROR DESC_TREE: on a
# root after ops.list, LIST fails with exit CODE, the error matches ERROR,
# and the tree is as it was.
case_refused() {
	tap_case "$1"
	new_root "apply $L/ops.list" || return
	local mid; mid=$(tree "$R")
	tap_run "$2" "$5" "$QINSTALL" --root "$R" apply "$L/$3"
	tap_like "$TAP_STDERR" "$4" "$6"
	tap_tree_is "$R" "$mid" "$7"
}

# A symlink inside ROOT pointing at the host's /etc never leads out of ROOT.
# case_escape NAME LINK TARGET LIST FILE DESC_RUN DESC_HOST DESC_ROOT: with
# ROOT/etc/LINK -> TARGET, LIST writes FILE through it into ROOT/etc only.
case_escape() {
	tap_case "$1"
	new_root "apply $L/ops.list" || return
	ln -s "$3" "$R/etc/$2"
	tap_run 0 "$6" "$QINSTALL" --root "$R" apply "$L/$4"
	tap_ok "$7" test ! -e "/etc/$5"
	tap_ok "$8" test -f "$R/etc/$5"
}

case_stdin_usage() {
	tap_case "the list on stdin; usage"
	new_root
	tap_run 0 "apply - reads the list from stdin" sh -c "echo 'mkdir /fromstdin 0700 0:0' | '$QINSTALL' --root '$R' apply -"
	tap_type_is "$R/fromstdin" dir "the stdin list was applied"
	tap_run 2 "apply without FILE is a usage error" "$QINSTALL" --root "$R" apply
	tap_run 0 "apply --help exits 0" "$QINSTALL" apply --help
	tap_like "$TAP_STDOUT" 'symlink PATH TARGET' "apply --help shows the format"
}

case_check
case_apply
case_again
case_diff
# A malformed line is reported with FILE:LINE before anything changes.
case_refused "a malformed list" 2 bad.list "bad.list:2: '0799' is not an octal mode" \
	"a malformed list is a usage error" "the error names the file and line" \
	"nothing changed for a malformed list"
case_refused "an unknown owner" 1 owner.list "owner.list:2: .*nosuchuser" \
	"an unknown owner fails" "the unknown owner is named with its line" \
	"nothing changed for an unknown owner"
case_refused "a missing source" 1 src.list "src.list:2: cannot read the source /nonexistent-source" \
	"a missing source fails" "the missing source is named with its line" \
	"nothing changed for a missing source"
# A failing operation in the middle undoes the run's earlier changes.
case_refused "a failing operation" 1 fail.list "fail.list:2: .*not empty" \
	"a failing operation fails the run" "the failing line is named" \
	"the run's earlier changes were undone"
case_escape "a symlink to the host's /etc" hostetc /etc escape.list "$name" \
	"apply through an absolute symlink exits 0" "the host's /etc was not written" "the file landed in ROOT/etc"
case_escape "a ../.. symlink" up ../../../../../../../../.. escape2.list "$name.2" \
	"apply through a ../.. symlink exits 0" "a ../.. symlink did not climb out of ROOT" "the ../.. file landed in ROOT/etc"
case_stdin_usage
tap_done
