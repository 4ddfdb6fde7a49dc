#!/bin/bash
# Scenario: `qinstall status` - runs newest first, text and --json.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
R=$T/root
make_root "$R"
tap_run 0 "status of a root without a journal" "$QINSTALL" --root "$R" --json status
tap_like "$TAP_STDOUT" '"runs": \[\]' "no runs: an empty runs array"
tap_ok "status created nothing" test ! -e "$R/var/lib/qinstall"
printf 'mkdir /a 0755 0:0\nmkdir /a/b 0755 0:0\n' >"$T/1.list"
printf 'mkdir /c 0755 0:0\n' >"$T/2.list"
tap_run 0 "first run" "$QINSTALL" --root "$R" apply "$T/1.list"
tap_run 0 "second run" "$QINSTALL" --root "$R" apply "$T/2.list"
tap_run 0 "rollback of the second" "$QINSTALL" --root "$R" rollback
tap_run 0 "status exits 0" "$QINSTALL" --root "$R" status
tap_like "$TAP_STDOUT" 'RUN +STARTED +STATE +CHANGES +COMMAND' "status has a header"
first=$(printf '%s\n' "$TAP_STDOUT" | sed -n 2p)
tap_like "$first" "^ +2 .* rolled-back +1 +apply $T/2.list" "the newest run comes first, rolled back, with its change count"
second=$(printf '%s\n' "$TAP_STDOUT" | sed -n 3p)
tap_like "$second" "^ +1 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +done +2 +apply" "then run 1: time (UTC), done, 2 changes"
tap_run 0 "status --json exits 0" "$QINSTALL" --root "$R" --json status
tap_like "$TAP_STDOUT" '"runs": \[' "--json has a runs array"
ids=$(printf '%s\n' "$TAP_STDOUT" | sed -n 's/^ *"id": \([0-9]*\),/\1/p' | tr '\n' ' ')
tap_is "$ids" "2 1 " "runs newest first in --json"
tap_like "$TAP_STDOUT" '"state": "done"' "--json has each run's state"
tap_like "$TAP_STDOUT" '"changes": 2' "--json has each run's number of changes"
tap_run 2 "status takes no arguments" "$QINSTALL" --root "$R" status extra
tap_done
