#!/bin/bash
# Scenario: the shadow-utils lock on ROOT/etc/passwd, group, shadow and
# gshadow. A lock held by a live process makes qinstall wait a bounded
# time, then fail naming the pid; a lock left by a dead process is taken
# over; qinstall never leaves a lock behind.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

locks() { (cd "$1/etc" && ls | grep -E '\.lock$|\.[0-9]+$' || true); }

# --- a live holder -----------------------------------------------------------
case_live_holder() {
	tap_case "a lock held by a live process"
	new_root
	local holder start took
	hold_lock "$R/etc/group.lock"
	start=$(date +%s)
	tap_run 3 "a lock held by a live process fails with exit 3 (locked)" \
		"$QINSTALL" --root "$R" users --lock-wait 1
	took=$(( $(date +%s) - start ))
	tap_like "$TAP_STDERR" "etc/group is locked by process $holder" "the error names the holder's pid"
	tap_like "$TAP_STDERR" "waiting for process $holder" "it said it was waiting"
	tap_ok "the wait is bounded by --lock-wait (took ${took}s)" test "$took" -le 5
	tap_is "$(locks "$R")" "group.lock" "only the holder's lock is left: ours are all removed"
	tap_is "$(cat "$R/etc/group.lock" | tr -d '\0')" "$holder" "the holder's lock is not touched"
	rm -f "$R/etc/group.lock"
	tap_is "$(etc_sums "$R")" "$before" "nothing changed"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
}

# The holder finishes while we wait: we go on.
case_released() {
	tap_case "a lock released during the wait"
	new_root
	local holder
	hold_lock "$R/etc/passwd.lock"
	( sleep 1; rm -f "$R/etc/passwd.lock" ) &
	tap_run 0 "a lock released during the wait lets the run go on" \
		"$QINSTALL" --root "$R" users --lock-wait 20
	tap_is "$(locks "$R")" "" "no lock file is left after success"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
}

# --- interrupted while waiting: our locks go, the run is aborted -------------------
case_interrupted() {
	tap_case "interrupted while waiting"
	new_root
	local holder q rc
	hold_lock "$R/etc/group.lock"
	"$QINSTALL" --root "$R" users --lock-wait 30 >"$R/out" 2>"$R/err" &
	q=$!
	for _ in $(seq 100); do grep -q 'waiting for process' "$R/err" && break; sleep 0.1; done
	kill -INT "$q"
	rc=0; wait "$q" || rc=$?
	tap_is "$rc" 1 "SIGINT while waiting ends qinstall with a failure, not half-way"
	tap_like "$(cat "$R/err")" 'interrupted by signal 2 while waiting for /etc/group' "it says it was interrupted"
	tap_is "$(locks "$R")" "group.lock" "the passwd and shadow locks it held are removed"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
	rm -f "$R/etc/group.lock"
	tap_is "$(etc_sums "$R")" "$before" "nothing changed"
	tap_run 0 "the next run is not blocked by an unfinished one" "$QINSTALL" --root "$R" users
}

# --- a stale lock ------------------------------------------------------------
case_stale() {
	tap_case "stale locks"
	new_root
	local dead; dead=$(dead_pid)
	write_lock "$R/etc/passwd.lock" "$dead"
	write_lock "$R/etc/shadow.lock" "$dead"
	tap_run 0 "stale locks of a dead pid are taken over" "$QINSTALL" --root "$R" users --lock-wait 1
	tap_like "$TAP_STDERR" "removing the stale lock .*/etc/passwd.lock of process $dead" "it says it removed the stale lock"
	tap_is "$(grep -c '^qmail' "$R/etc/passwd")" 6 "the accounts were created"
	tap_is "$(locks "$R")" "" "no lock file is left, neither the stale ones nor ours"
}

# --- a lock without a valid pid is never removed --------------------------------
case_no_pid() {
	tap_case "a lock holding no pid"
	new_root
	printf 'garbage' >"$R/etc/passwd.lock"
	tap_run 3 "a lock holding no pid is not removed" "$QINSTALL" --root "$R" users --lock-wait 0
	tap_like "$TAP_STDERR" 'holds no valid pid' "the error says the lock holds no pid"
	tap_is "$(cat "$R/etc/passwd.lock")" garbage "the lock is left for a human to judge"
}

# --- shadow-utils sees our lock --------------------------------------------------
case_useradd() {
	tap_case "useradd and our lock"
	if ! command -v useradd >/dev/null || ! command -v unshare >/dev/null; then
		tap_skip "useradd honours the same lock" "useradd is not installed"
		tap_skip "useradd added nothing" "useradd is not installed"
		return
	fi
	new_root
	local holder rc
	hold_lock "$R/etc/passwd.lock"
	rc=0; useradd --prefix "$R" -u 3000 someone >/dev/null 2>&1 || rc=$?
	tap_ok "useradd --prefix refuses while the same lock is held (exit $rc)" test "$rc" -ne 0
	tap_is "$(grep -c someone "$R/etc/passwd")" 0 "useradd added nothing"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
}

case_live_holder
case_released
case_interrupted
case_stale
case_no_pid
case_useradd
tap_done
