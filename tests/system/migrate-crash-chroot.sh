#!/bin/bash
# System: a migrate from Postfix (the cached chroot of tests/lib/mtachroot.sh
# with 20 deferred messages) that goes wrong, and one that is asked twice.
#   bad queue files   a file of garbage and a truncated copy of a real queue
#                     file in deferred/: the 20 good ones are carried, the two
#                     are left in place byte for byte and listed (queue.left,
#                     with why); a second migrate of the taken-over root
#                     changes nothing (changed false); the rollback puts the
#                     20 back and leaves the two as they were
#   crash injection   qinstall killed (SIGKILL, tests/lib/crashshim.so with
#                     QI_CRASH_SELF_ONLY: dpkg and the maintainer scripts run
#                     without it) just before its Nth mutating call, for a
#                     sample of N over the whole run ($QI_CRASH_SAMPLES,
#                     default 8; the carry's calls among them); then
#                     `qinstall rollback`: no message lost or duplicated (the
#                     queue's senders, recipients and body hashes as before,
#                     none left in qmail's queue), postfix installed and
#                     qinstall-mta not, dpkg --audit silent, `postfix check`
#                     passes
# The build cache is warmed first by a migrate and its rollback (the story
# of migrate-postfix-chroot.sh, asserted there), so each crashed run is
# --offline.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migrate-chroot.sh"

tap_heavy
CRASH_SHIM=$top_builddir/tests/lib/crashshim.so
[ -f "$CRASH_SHIM" ] || tap_skip_all "the crash shim was not built ($CRASH_SHIM)"
if ldd "$QINSTALL" 2>/dev/null | grep -q libasan; then
	tap_skip_all "a sanitizer build cannot take a preloaded shim; this test runs in the plain build"
fi
netns_require
distfiles_qmail
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
W=$(tap_tmpdir)
QUEUED=$(tap_tmpdir)/queued
mta_chroot "$QUEUED" postfix
mta_queue "$QUEUED" postfix 20 || tap_skip_all "Postfix did not defer the 20 messages (see above)"
REF=$(mta_queue_ref "$QUEUED" postfix)

rollback() { "$QINSTALL" --root "$1" --cache-dir "$QINSTALL_CACHE_DIR" --json rollback "${@:2}"; }

# A real queue file's name, and a deferred/ path of the same hashing.
first_id() { find "$QUEUED/var/spool/postfix/deferred" -type f | head -1; }

case_bad_files() {
	tap_case "bad queue files; a second migrate; rollback"
	local c real garbage trunc gsum tsum
	c=$(tap_tmpdir)/root
	tap_setup cp -a "$QUEUED" "$c" || return
	real=$(first_id)
	real=${real#"$QUEUED"}
	garbage=$(dirname "$real")/AAAAAAAAAAG
	trunc=$(dirname "$real")/AAAAAAAAAAT
	head -c 3000 /dev/urandom >"$c$garbage"
	head -c 200 "$c$real" >"$c$trunc"
	chmod 0700 "$c$garbage" "$c$trunc"
	chown --reference="$c$real" "$c$garbage" "$c$trunc"
	gsum=$(sha256sum <"$c$garbage")
	tsum=$(sha256sum <"$c$trunc")
	tap_run 0 "migrate with two bad queue files" _migrate_run "$c"
	[ "$(tap_json failed 2>/dev/null)" = false ] || return
	tap_json_is queue.found 22 "queue.found 22"
	tap_json_is queue.carried 20 "queue.carried 20"
	tap_json_is queue.left_count 2 "two left"
	tap_json_has queue.left.#.path "$garbage" "the garbage file is listed"
	tap_json_has queue.left.#.path "$trunc" "the truncated file is listed"
	tap_like "$(tap_json queue.left.0.why)" "not a queue file Postfix could deliver" "with why"
	tap_is "$(qmail_queue_ref "$c")" "$REF" "the 20 good ones are in qmail's queue"
	tap_is "$(sha256sum <"$c$garbage")" "$gsum" "the garbage file is left in place, byte for byte"
	tap_is "$(sha256sum <"$c$trunc")" "$tsum" "the truncated file is left in place, byte for byte"
	tap_run 0 "a second migrate of the taken-over root" _migrate_run "$c" --offline
	tap_json_is changed false "changes nothing"
	tap_like "$(tap_json msg)" "already runs qmail" "and says qmail runs already"
	tap_run 0 "rollback" rollback "$c"
	tap_json_is queue_returned.returned 20 "the 20 go back"
	tap_is "$(sha256sum <"$c$garbage")" "$gsum" "the garbage file is still there as it was"
	tap_is "$(sha256sum <"$c$trunc")" "$tsum" "the truncated file is still there as it was"
	rm -f "$c$garbage" "$c$trunc"
	tap_is "$(mta_queue_ref "$c" postfix)" "$REF" "the 20 messages are back in Postfix's queue"
}

# One killed run at N, then its rollback, on a fresh copy.
crash_at() {
	local n=$1 c rc=0 qref
	c=$(tap_tmpdir)/crash-$n
	tap_setup cp -a "$QUEUED" "$c" || return
	QI_CRASH_SELF_ONLY=1 QI_CRASH_AT=$n LD_PRELOAD=$CRASH_SHIM _migrate_run "$c" --offline \
		>"$W/crash-$n.out" 2>&1 || rc=$?
	chroot_wait_idle "$c" || tap_diag "crash $n: processes still run in the root"
	tap_run 0 "crash at call $n/$TOTAL (exit $rc): rollback" rollback "$c"
	tap_is "$(mta_queue_ref "$c" postfix)" "$REF" "crash $n: no message lost or duplicated in Postfix's queue"
	qref=$(qmail_queue_ref "$c" 2>/dev/null)
	tap_is "$qref" "" "crash $n: none left in qmail's queue"
	tap_is "$(_migrate_status "$c" postfix)" "install ok installed" "crash $n: postfix installed"
	tap_unlike "$(_migrate_status "$c" qinstall-mta)" ' installed$' "crash $n: qinstall-mta not installed"
	tap_is "$(chroot "$c" dpkg --audit 2>&1)" "" "crash $n: dpkg --audit finds nothing"
	tap_ok "crash $n: postfix check passes" chroot "$c" postfix check
	rm -rf "$c"
}

case_crashes() {
	tap_case "crash injection"
	local c n i samples=${QI_CRASH_SAMPLES:-8}
	c=$(tap_tmpdir)/warm
	tap_setup cp -a "$QUEUED" "$c" || return
	tap_run 0 "a migrate (warms the build cache)" _migrate_run "$c"
	tap_run 0 "and its rollback" rollback "$c"
	rm -rf "$c"
	tap_setup cp -a "$QUEUED" "$c" || return
	QI_CRASH_SELF_ONLY=1 QI_CRASH_COUNT=$W/count QI_CRASH_TRACE=$W/trace LD_PRELOAD=$CRASH_SHIM \
		_migrate_run "$c" --offline >"$W/count.out" 2>&1
	TOTAL=$(cat "$W/count" 2>/dev/null || echo 0)
	tap_ok "the counting run made its mutating calls ($TOTAL)" test "$TOTAL" -gt 100
	rm -rf "$c"
	[ "$TOTAL" -gt 100 ] || return
	# The carry, in the trace: per message the two writes of its envelope
	# and content for qmail-queue, then the renames of its files aside. A
	# kill at such a rename is a message qmail took that is still in the
	# old queue too.
	local carry
	carry=$(awk '{ printf "%s:%s ", $1, $2 }' "$W/trace" |
		grep -o '[0-9]*:write [0-9]*:write [0-9]*:renameat' | sed 's/.* \([0-9]*\):renameat/\1/')
	tap_ok "the trace shows the carry's renames" test -n "$carry"
	for i in $(seq "$samples"); do
		n=$(( (TOTAL * i) / (samples + 1) ))
		crash_at "$n"
	done
	# in the carry: at the first message's rename, one in the middle, the last
	set -- $carry
	[ $# -gt 0 ] || return
	local mid=$(( ($# + 1) / 2 ))
	crash_at "$1"
	crash_at "${!mid}"
	crash_at "${!#}"
}

case_bad_files
case_crashes
tap_done
