#!/bin/bash
# Scenario: `qinstall status` - runs newest first, text and --json. Each
# case starts from a root of its own (new_root, journal-lib.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

L=$(tap_tmpdir)
printf 'mkdir /a 0755 0:0\nmkdir /a/b 0755 0:0\n' >"$L/1.list"
printf 'mkdir /c 0755 0:0\n' >"$L/2.list"

case_no_journal() {
	tap_case "status of a root without a journal"
	new_root
	tap_run 0 "status of a root without a journal" "$QINSTALL" --root "$R" --json status
	tap_json_is runs "[]" "no runs: an empty runs array"
	tap_ok "status created nothing" test ! -e "$R/var/lib/qinstall"
}

case_runs() {
	tap_case "two runs, the second rolled back"
	new_root
	tap_run 0 "first run" "$QINSTALL" --root "$R" apply "$L/1.list"
	tap_run 0 "second run" "$QINSTALL" --root "$R" apply "$L/2.list"
	tap_run 0 "rollback of the second" "$QINSTALL" --root "$R" rollback
}

case_text() {
	tap_case "status after two runs, the second rolled back"
	new_root "apply $L/1.list" "apply $L/2.list" rollback || return
	tap_run 0 "status exits 0" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'RUN +STARTED +STATE +CHANGES +COMMAND' "status has a header"
	local first second
	first=$(printf '%s\n' "$TAP_STDOUT" | sed -n 2p)
	tap_like "$first" "^ +2 .* rolled-back +1 +apply $L/2.list" "the newest run comes first, rolled back, with its change count"
	second=$(printf '%s\n' "$TAP_STDOUT" | sed -n 3p)
	tap_like "$second" "^ +1 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +done +2 +apply" "then run 1: time (UTC), done, 2 changes"
}

case_json() {
	tap_case "status --json after two runs, the second rolled back"
	new_root "apply $L/1.list" "apply $L/2.list" rollback || return
	tap_run 0 "status --json exits 0" "$QINSTALL" --root "$R" --json status
	tap_json_is runs.# 2 "--json has a runs array"
	tap_json_is runs.#.id "[2, 1]" "runs newest first in --json"
	tap_json_is runs.#.state '["rolled-back", "done"]' "--json has each run's state"
	tap_json_is runs.#.changes "[1, 2]" "--json has each run's number of changes"
}

case_usage() {
	tap_case "status with an operand"
	new_root
	tap_run 2 "status takes no arguments" "$QINSTALL" --root "$R" status extra
}

case_no_journal
case_runs
case_text
case_json
case_usage
tap_done
