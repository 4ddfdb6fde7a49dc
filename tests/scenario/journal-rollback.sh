#!/bin/bash
# Scenario: `qinstall rollback [RUN]` - the last run, a run and every later
# one, unfinished runs (which block every change until rolled back), and
# --check. Each case starts from a root of its own (root_after).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

# The three runs' lists and their sources; no case changes them.
L=$(tap_tmpdir)
echo one >"$L/one"; echo two >"$L/two"; echo three >"$L/three"
printf 'file /etc/motd 0644 root:root %s\nremove /etc/motd.link\nremove /srv/empty\nfifo /srv/fifo 0600 0:0\nmkdir /srv/new 0700 qmaild:qmail\n' "$L/one" >"$L/1.list"
printf 'file /etc/motd 0640 root:qmail %s\nsymlink /srv/new/l /etc/motd\nrename /srv/fifo /srv/fifo2\n' "$L/two" >"$L/2.list"
printf 'file /etc/motd 0600 0:0 %s\nfile /srv/new/f 0600 0:0 %s\n' "$L/three" "$L/three" >"$L/3.list"

# root_after [STEP]...: new_root, where a STEP "N" applies N.list.
root_after() {
	local s steps=()
	for s in "$@"; do
		case $s in [0-9]) steps+=("apply $L/$s.list") ;; *) steps+=("$s") ;; esac
	done
	new_root "${steps[@]}"
}

# diff_of PATH: PATH's part of a --diff text on stdin.
diff_of() { awk -v h="--- $1" '/^--- / { on = ($0 == h) } on'; }

case_no_journal() {
	tap_case "rollback of a root without a journal"
	root_after
	tap_run 0 "rollback with no journal says there is nothing to do" "$QINSTALL" --root "$R" rollback
	tap_like "$TAP_STDOUT" 'nothing to roll back' "rollback without runs says so"
}

case_three_runs() {
	tap_case "three runs apply"
	root_after
	tap_run 0 "run 1" "$QINSTALL" --root "$R" apply "$L/1.list"
	tap_run 0 "run 2" "$QINSTALL" --root "$R" apply "$L/2.list"
	tap_run 0 "run 3" "$QINSTALL" --root "$R" apply "$L/3.list"
}

case_check() {
	tap_case "rollback --check after three runs"
	root_after 1 2 3 || return
	tap_run 0 "rollback --check exits 0" "$QINSTALL" --root "$R" --check --json rollback
	tap_json_has changes.#.path /srv/new/f "rollback --check lists what it would undo"
	tap_unlike "$(tree "$R")" '^$' "tree present"
	tap_is "$(cat "$R/etc/motd")" "three" "rollback --check changed nothing"
}

case_last_run() {
	tap_case "rollback --diff of the last of three runs"
	root_after 1 2 || return
	local t2; t2=$(tree "$R")
	root_after 1 2 3 || return
	tap_run 0 "rollback undoes the last run" "$QINSTALL" --root "$R" --json --diff rollback
	tap_like "$(tap_json diff.before | diff_of /etc/motd)" 'mode 0600' "rollback --diff shows what is there before the undo"
	tap_like "$(tap_json diff.after | diff_of /etc/motd)" 'mode 0640' "rollback --diff shows what is given back"
	tap_unlike "$TAP_STDOUT" 'three|two' "rollback --diff shows no content of files others may not read"
	tap_like "$(tap_json diff.before | diff_of /srv/new/f)" 'not readable by others' "and says why"
	tap_json_is rolled_back "[3]" "--json names the run rolled back"
	tap_json_is changed true "a rollback that undid something says changed"
	tap_tree_is "$R" "$t2" "the tree is as after run 2"
}

case_run_and_later() {
	tap_case "rollback 1 after run 3 was rolled back"
	root_after 1 2 3 rollback || return
	tap_run 0 "rollback 1 rolls back run 1 and every later run" "$QINSTALL" --root "$R" rollback 1
	tap_like "$TAP_STDOUT" 'rolled back runs 2, 1' "runs are rolled back newest first"
	tap_tree_is "$R" "$t0" "the tree is as before run 1, in every path, type, mode, owner and content"
}

case_all_rolled_back() {
	tap_case "rollback when every run is rolled back"
	root_after 1 2 3 rollback "rollback 1" || return
	tap_run 0 "rollback when every run is rolled back" "$QINSTALL" --root "$R" --json rollback
	tap_json_is changed false "nothing left to undo: changed false"
}

case_usage() {
	tap_case "rollback of a run that is not there"
	root_after 1 2 3 rollback "rollback 1" || return
	tap_run 2 "rollback of an unknown run is a usage error" "$QINSTALL" --root "$R" rollback 99
	tap_like "$TAP_STDERR" 'no run 99' "the unknown run is named"
	tap_run 2 "rollback of a non-number is a usage error" "$QINSTALL" --root "$R" rollback abc
}

# A run killed half-way blocks every mutating command until rolled back.
case_unfinished() {
	tap_case "an unfinished run"
	local shim=$top_builddir/tests/lib/crashshim.so t1 half
	if [ ! -f "$shim" ] || ldd "$QINSTALL" | grep -q libasan; then
		for d in "blocks apply" "says how" "status works" "status shows" "rollback" "undone" "apply again" "new run"; do
			tap_skip "unfinished run: $d" "needs the crash shim in a build without sanitizers"
		done
		return
	fi
	root_after 1 || return
	t1=$(tree "$R")
	# A root whose runs are all rolled back, and a copy to count the calls in.
	root_after 1 2 3 rollback "rollback 1" || return
	cp -a "$R" "$R.count"
	LD_PRELOAD=$shim QI_CRASH_COUNT=$R.calls "$QINSTALL" -q --root "$R.count" apply "$L/1.list" >/dev/null 2>&1
	half=$(( $(cat "$R.calls") * 2 / 3 ))
	{ LD_PRELOAD=$shim QI_CRASH_AT=$half "$QINSTALL" -q --root "$R" apply "$L/1.list" >/dev/null 2>&1; } 2>/dev/null
	tap_run 4 "an unfinished run blocks apply (exit 4)" "$QINSTALL" --root "$R" apply "$L/2.list"
	tap_like "$TAP_STDERR" "roll it back first: qinstall --root $R rollback" "the refusal says exactly how to roll back"
	tap_run 0 "status still works" "$QINSTALL" --root "$R" status
	tap_like "$TAP_STDOUT" 'unfinished' "status shows the run unfinished"
	tap_run 0 "rollback of the unfinished run" "$QINSTALL" --root "$R" rollback
	tap_tree_is "$R" "$t0" "the unfinished run is undone"
	tap_run 0 "after the rollback apply runs again" "$QINSTALL" --root "$R" apply "$L/1.list"
	tap_tree_is "$R" "$t1" "the new run did its changes"
}

case_no_journal
case_three_runs
case_check
case_last_run
case_run_and_later
case_all_rolled_back
case_usage
case_unfinished
tap_done
