#!/bin/bash
# Scenario: `qinstall rollback [RUN]` - the last run, a run and every later
# one, unfinished runs (which block every change until rolled back), and
# --check.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
R=$T/root
make_root "$R"
echo one >"$T/one"; echo two >"$T/two"; echo three >"$T/three"
printf 'file /etc/motd 0644 root:root %s\nremove /etc/motd.link\nremove /srv/empty\nfifo /srv/fifo 0600 0:0\nmkdir /srv/new 0700 qmaild:qmail\n' "$T/one" >"$T/1.list"
printf 'file /etc/motd 0640 root:qmail %s\nsymlink /srv/new/l /etc/motd\nrename /srv/fifo /srv/fifo2\n' "$T/two" >"$T/2.list"
printf 'file /etc/motd 0600 0:0 %s\nfile /srv/new/f 0600 0:0 %s\n' "$T/three" "$T/three" >"$T/3.list"
t0=$(tree "$R")
tap_run 0 "rollback with no journal says there is nothing to do" "$QINSTALL" --root "$R" rollback
tap_like "$TAP_STDOUT" 'nothing to roll back' "rollback without runs says so"
tap_run 0 "run 1" "$QINSTALL" --root "$R" apply "$T/1.list"
t1=$(tree "$R")
tap_run 0 "run 2" "$QINSTALL" --root "$R" apply "$T/2.list"
t2=$(tree "$R")
tap_run 0 "run 3" "$QINSTALL" --root "$R" apply "$T/3.list"

tap_run 0 "rollback --check exits 0" "$QINSTALL" --root "$R" --check --json rollback
tap_like "$TAP_STDOUT" '"path": "/srv/new/f"' "rollback --check lists what it would undo"
tap_unlike "$(tree "$R")" '^$' "tree present"
tap_is "$(cat "$R/etc/motd")" "three" "rollback --check changed nothing"

tap_run 0 "rollback undoes the last run" "$QINSTALL" --root "$R" --json --diff rollback
tap_like "$TAP_STDOUT" '"before": ".*--- /etc/motd[^"]*mode 0600' "rollback --diff shows what is there before the undo"
tap_like "$TAP_STDOUT" '"after": ".*--- /etc/motd[^"]*mode 0640' "rollback --diff shows what is given back"
tap_unlike "$TAP_STDOUT" 'three|two' "rollback --diff shows no content of files others may not read"
tap_like "$TAP_STDOUT" '"before": ".*--- /srv/new/f[^"]*not readable by others' "and says why"
tap_is "$(printf '%s\n' "$TAP_STDOUT" | tr -d ' \n' | grep -o '"rolled_back":\[[0-9,]*\]')" '"rolled_back":[3]' "--json names the run rolled back"
tap_like "$TAP_STDOUT" '"changed": true' "a rollback that undid something says changed"
tap_is "$(tree "$R")" "$t2" "the tree is as after run 2"
tap_run 0 "rollback 1 rolls back run 1 and every later run" "$QINSTALL" --root "$R" rollback 1
tap_like "$TAP_STDOUT" 'rolled back runs 2, 1' "runs are rolled back newest first"
tap_is "$(tree "$R")" "$t0" "the tree is as before run 1, in every path, type, mode, owner and content"
tap_run 0 "rollback when every run is rolled back" "$QINSTALL" --root "$R" --json rollback
tap_like "$TAP_STDOUT" '"changed": false' "nothing left to undo: changed false"
tap_run 2 "rollback of an unknown run is a usage error" "$QINSTALL" --root "$R" rollback 99
tap_like "$TAP_STDERR" 'no run 99' "the unknown run is named"
tap_run 2 "rollback of a non-number is a usage error" "$QINSTALL" --root "$R" rollback abc

# A run killed half-way blocks every mutating command until rolled back.
shim=$top_builddir/tests/lib/crashshim.so
if [ -f "$shim" ] && ! ldd "$QINSTALL" | grep -q libasan; then
	cp -a "$R" "$T/count-root"
	LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/count-root" apply "$T/1.list" >/dev/null 2>&1
	half=$(( $(cat "$T/count") * 2 / 3 ))
	{ LD_PRELOAD=$shim QI_CRASH_AT=$half "$QINSTALL" -q --root "$R" apply "$T/1.list" >/dev/null 2>&1; } 2>/dev/null
	tap_run 4 "an unfinished run blocks apply (exit 4)" "$QINSTALL" --root "$R" apply "$T/2.list"
	tap_like "$TAP_STDERR" "roll it back first: qinstall --root $R rollback" "the refusal says exactly how to roll back"
	tap_run 0 "status still works" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'unfinished' "status shows the run unfinished"
	tap_run 0 "rollback of the unfinished run" "$QINSTALL" --root "$R" rollback
	tap_is "$(tree "$R")" "$t0" "the unfinished run is undone"
	tap_run 0 "after the rollback apply runs again" "$QINSTALL" --root "$R" apply "$T/1.list"
	tap_is "$(tree "$R")" "$t1" "the new run did its changes"
else
	for d in "blocks apply" "says how" "status works" "status shows" "rollback" "undone" "apply again" "new run"; do
		tap_skip "unfinished run: $d" "needs the crash shim in a build without sanitizers"
	done
fi
tap_done
