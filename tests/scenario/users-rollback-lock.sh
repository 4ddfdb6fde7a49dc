#!/bin/bash
# Scenario: `qinstall rollback` of a `users` run takes the same
# shadow-utils locks as `users` (ROOT/etc/FILE.lock, with its pid) before
# it gives passwd, group, shadow, gshadow and their FILE- backups back. A
# lock held by a live process makes it wait the bounded time of `users`,
# then fail with exit 3 naming the pid, before anything is undone; a lock
# of a dead process is taken over; a rollback killed while it holds the
# locks leaves stale locks that the next rollback takes over; no lock is
# ever left behind.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

locks() { (cd "$1/etc" && ls | grep -E '\.lock$' || true); }
# ROOT/etc without lock files (and the journal lives in ROOT/var).
etc_state() { etc_sums "$1" | grep -Ev '\.(lock|[0-9]+)( |$)'; }
run_state() { "$QINSTALL" --root "$1" --json status | sed -n 's/.*"state": "\([a-z-]*\)".*/\1/p' | head -1; }

# users_root: a new root, pristine its etc_sums, after `qinstall users`,
# with_users its etc_sums then.
users_root() {
	new_root
	pristine=$before
	tap_setup_qinstall "$R" users || return
	with_users=$(etc_sums "$R")
}

case_users() {
	tap_case "users adds the accounts"
	new_root
	tap_run 0 "users adds the accounts" "$QINSTALL" --root "$R" users
	tap_ok "users changed ROOT/etc" test "$(etc_sums "$R")" != "$before"
}

# --- a live holder: refused before anything is undone -----------------------------
case_live_holder() {
	tap_case "rollback while a live process holds a lock"
	users_root || return
	local holder start took
	hold_lock "$R/etc/passwd.lock" 120
	start=$(date +%s)
	tap_run 3 "rollback while a live process holds passwd.lock fails with exit 3 (locked)" \
		"$QINSTALL" --root "$R" rollback
	took=$(( $(date +%s) - start ))
	tap_like "$TAP_STDERR" "etc/passwd is locked by process $holder" "the error names the holder's pid"
	tap_like "$TAP_STDERR" "nothing was undone" "the error says nothing was undone"
	tap_like "$TAP_STDERR" "waiting for process $holder to unlock /etc/passwd" "it waited for the holder first"
	tap_ok "the wait is bounded (users' default, 15 s; took ${took}s)" test "$took" -ge 14 -a "$took" -le 40
	tap_is "$(etc_state "$R")" "$(echo "$with_users" | grep -Ev '\.(lock|[0-9]+)( |$)')" \
		"ROOT/etc is byte for byte as users left it"
	tap_is "$(run_state "$R")" "done" "status still shows the users run done"
	tap_is "$(locks "$R")" "passwd.lock" "only the holder's lock is there: rollback removed the ones it took"
	tap_is "$(tr -d '\0' <"$R/etc/passwd.lock")" "$holder" "the holder's lock is untouched"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
}

# --- the holder lets go while rollback waits: it completes ---------------------------
case_released() {
	tap_case "a lock released while rollback waits"
	users_root || return
	local holder releaser
	hold_lock "$R/etc/passwd.lock" 120
	( sleep 1; rm -f "$R/etc/passwd.lock" ) &
	releaser=$!
	tap_run 0 "the holder releases the lock during the wait: rollback completes" \
		"$QINSTALL" --root "$R" rollback
	wait "$releaser"
	tap_like "$TAP_STDERR" "waiting for process $holder" "it had waited for the holder"
	tap_is "$(etc_sums "$R")" "$pristine" "ROOT/etc is byte for byte as before users (no lock left either)"
	tap_is "$(run_state "$R")" "rolled-back" "status shows the run rolled back"
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
}

# --- a stale lock of a dead process is taken over ------------------------------------
case_stale() {
	tap_case "stale locks of a dead process"
	new_root
	pristine=$before
	tap_run 0 "users again" "$QINSTALL" --root "$R" users
	local dead; dead=$(dead_pid)
	write_lock "$R/etc/passwd.lock" "$dead"
	write_lock "$R/etc/gshadow.lock" "$dead"
	tap_run 0 "rollback takes over stale locks of a dead pid" "$QINSTALL" --root "$R" rollback
	tap_like "$TAP_STDERR" "removing the stale lock .*/etc/passwd.lock of process $dead" "it says it removed the stale lock"
	tap_is "$(etc_sums "$R")" "$pristine" "ROOT/etc is byte for byte as before users, and no lock is left"
}

# --- a rollback killed while it holds the locks --------------------------------------
case_killed() {
	tap_case "a rollback killed while it holds the locks"
	local shim=$top_builddir/tests/lib/crashshim.so
	if [ ! -f "$shim" ]; then
		tap_skip "rollback killed at each mutating call, then rolled back again" "the crash shim was not built"
		tap_skip "some kill left a dead process's lock that the next rollback took over" "the crash shim was not built"
		return
	elif ldd "$QINSTALL" 2>/dev/null | grep -q 'libasan'; then
		tap_skip "rollback killed at each mutating call, then rolled back again" "a sanitizer build cannot take a preloaded shim"
		tap_skip "some kill left a dead process's lock that the next rollback took over" "a sanitizer build cannot take a preloaded shim"
		return
	fi
	local T pristine_state total bad= taken=0 late=0 n rc rrc urc left state
	new_root
	pristine_state=$(etc_state "$R")
	T=$(tap_tmpdir)
	make_root "$T/template"
	tap_setup_qinstall "$T/template" users || return
	fresh() { rm -rf "$T/root"; cp -a "$T/template" "$T/root"; }
	fresh
	rm -f "$T/count"
	LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1
	total=$(cat "$T/count" 2>/dev/null || echo 0)
	for n in $(seq 1 "$total"); do
		fresh
		rc=0
		{ LD_PRELOAD=$shim QI_CRASH_AT=$n "$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1 || rc=$?; } 2>/dev/null
		left=$(locks "$T/root")
		rrc=0
		"$QINSTALL" --root "$T/root" rollback >/dev/null 2>"$T/rerr" || rrc=$?
		if [ -n "$left" ] && grep -q 'removing the stale lock' "$T/rerr"; then
			taken=$((taken + 1))
		fi
		state=$(etc_state "$T/root")
		# Killed after its last undo was recorded but before it let go of
		# the locks, there is nothing left to roll back: the dead
		# process's locks are then taken over by the next tool that locks
		# (users here; useradd and vipw do the same).
		urc=0
		if [ -n "$(locks "$T/root")" ]; then
			late=$((late + 1))
			"$QINSTALL" --root "$T/root" users >/dev/null 2>"$T/uerr" || urc=$?
			grep -q 'removing the stale lock' "$T/uerr" || urc=stale-not-taken
		fi
		if [ "$rc" != 137 ] || [ "$rrc" != 0 ] || [ "$state" != "$pristine_state" ] ||
			[ "$urc" != 0 ] || [ -n "$(locks "$T/root")" ]; then
			tap_diag "kill at $n: rollback exit $rc, then rollback exit $rrc, users $urc" \
				"$(cat "$T/rerr")" "locks left: $(locks "$T/root")"
			bad="$bad $n"
		fi
	done
	tap_is "$bad" "" "rollback killed at each of its $total mutating calls: the next rollback completes, files as before users, no lock left in the end"
	tap_ok "some kills ($taken) left a dead process's locks that the next rollback took over" test "$taken" -gt 0
	tap_diag "kills after the last undo was recorded, whose locks users took over: $late"
}

case_users
case_live_holder
case_released
case_stale
case_killed
tap_done
