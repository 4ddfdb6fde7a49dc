#!/bin/bash
# Scenario: `qinstall verify` - ROOT against what the journal says qinstall
# wrote last: content, mode, owner, type, link target; exit 5 on drift.
# Each case starts from a root of its own (new_root, journal-lib.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

L=$(tap_tmpdir)
echo content >"$L/c"
printf 'mkdir /q 0755 root:qmail\nfile /q/a 0644 0:0 %s\nfile /q/b 0644 0:0 %s\nsymlink /q/l a\nfifo /q/f 0600 0:0\nremove /etc/motd\n' "$L/c" "$L/c" >"$L/1.list"

# drifted_root: a root after 1.list, then six changes made by hand.
drifted_root() {
	new_root "apply $L/1.list" || return
	echo edited >>"$R/q/a"
	chmod 600 "$R/q/b"
	rm "$R/q/l"; ln -s b "$R/q/l"
	chown 601 "$R/q"
	rm "$R/q/f"; echo file >"$R/q/f"
	echo back >"$R/etc/motd"
}

case_no_journal() {
	tap_case "verify without a journal"
	new_root
	tap_run 0 "verify without a journal" "$QINSTALL" --root "$R" verify
}

case_clean() {
	tap_case "verify right after a run"
	new_root
	tap_run 0 "apply" "$QINSTALL" --root "$R" apply "$L/1.list"
	tap_run 0 "verify right after the run finds nothing" "$QINSTALL" --root "$R" --json verify
	tap_json_is drift "[]" "no drift"
}

case_drift() {
	tap_case "verify of a root changed by hand"
	drifted_root || return
	tap_run 5 "verify exits 5 on drift" "$QINSTALL" --root "$R" verify
	tap_like "$TAP_STDOUT" '/q/a: content differs' "changed content is listed"
	tap_like "$TAP_STDOUT" '/q/b: mode differs' "a changed mode is listed"
	tap_like "$TAP_STDOUT" '/q/l: ' "a changed link target is listed"
	tap_like "$TAP_STDOUT" '/q: owner differs' "a changed owner is listed"
	tap_like "$TAP_STDOUT" '/q/f: type differs' "a changed type is listed"
	tap_like "$TAP_STDOUT" '/etc/motd: present' "a path qinstall removed and that came back is listed"
	tap_like "$TAP_STDOUT" 'expected: regular file, mode 0644' "the expected state is shown"
	tap_like "$TAP_STDERR" '6 differences' "the error counts the differences"
}

case_drift_json() {
	tap_case "verify --json of a root changed by hand"
	drifted_root || return
	tap_run 5 "verify --json exits 5" "$QINSTALL" --root "$R" --json verify
	tap_json_is failed true "--json says failed"
	tap_json_is drift.#.path '["/q", "/q/a", "/q/b", "/q/l", "/q/f", "/etc/motd"]' "--json lists each difference in drift"
	tap_ok "--json gives each difference's problem" tap_json drift.#.problem
}

case_rollback() {
	tap_case "rollback over the drift"
	drifted_root || return
	tap_run 0 "rollback over the drift" "$QINSTALL" --root "$R" rollback
	tap_run 0 "after the rollback verify is clean" "$QINSTALL" --root "$R" verify
}

case_no_journal
case_clean
case_drift
case_drift_json
case_rollback
tap_done
