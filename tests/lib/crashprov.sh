# crashprov.sh - crash injection over a whole provision (after tap.sh), for
# provision-crash.sh and provision-netqmail-crash.sh. With the build cache
# warm, qinstall provision is killed (SIGKILL, tests/lib/crashshim.so) just
# before its Nth mutating call, for a sample of N spread over the whole
# range; after each kill `qinstall rollback` must give back a root
# identical to the template (tree manifest), and a provision after the
# last recovery must succeed and roll back cleanly.
#
#   crashprov_check            # skips the script without the shim, the
#                              # tree manifest, or in a sanitizer build
#   crashprov_run TEMPLATE CHECK ARGS...
#                              # TEMPLATE: the root before; CHECK: a file
#                              # (relative to the root) the provision
#                              # installs; ARGS: provision's arguments
#                              # (with --offline: the cache is warm);
#                              # $QI_CRASH_SAMPLES points (default 24)
crashprov_check() {
	CRASH_SHIM=$top_builddir/tests/lib/crashshim.so
	[ -f "$CRASH_SHIM" ] || tap_skip_all "the crash shim was not built ($CRASH_SHIM)"
	[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
	if ldd "$QINSTALL" 2>/dev/null | grep -q 'libasan'; then
		tap_skip_all "a sanitizer build cannot take a preloaded shim; run this test in a plain build"
	fi
	return 0
}

# The tree without the journal and without the shadow-utils lock files of
# a killed process (as users-crash.sh: stale locks, which the next run
# takes over; the last case checks that it does).
crashprov_tree() {
	tap_tree "$1" | grep -Ev '^/etc/(passwd|group|shadow|gshadow)\.(lock|[0-9]+) '
}

crashprov_run() {
	local tpl=$1 check=$2 t root before after total points n rc rrc bad=
	shift 2
	t=$(tap_tmpdir)
	root=$t/root
	TAP_TREE_EXCLUDE=var/lib/qinstall
	before=$(crashprov_tree "$tpl")
	rm -rf "$root"; cp -a "$tpl" "$root"
	LD_PRELOAD=$CRASH_SHIM QI_CRASH_COUNT=$t/count "$QINSTALL" -q --root "$root" provision "$@" \
		>/dev/null 2>"$t/err"
	total=$(cat "$t/count" 2>/dev/null || echo 0)
	tap_like "$total" '^[1-9][0-9]*$' "the shim counted the provision's mutating calls ($total)"
	tap_ok "the undisturbed provision changed the root" test "$(crashprov_tree "$root")" != "$before"
	tap_ok "the undisturbed provision installed $check" test -e "$root/$check"

	# N spread over 1..total: the samples, always the first and the last.
	points=$(awk -v t="$total" -v s="${QI_CRASH_SAMPLES:-24}" 'BEGIN {
		if (s > t) s = t
		for (i = 0; i < s; i++) { n = 1 + int(i * (t - 1) / (s > 1 ? s - 1 : 1)); if (!seen[n]++) print n } }')
	for n in $points; do
		rm -rf "$root"; cp -a "$tpl" "$root"
		rc=0
		{ LD_PRELOAD=$CRASH_SHIM QI_CRASH_AT=$n "$QINSTALL" -q --root "$root" provision "$@" \
			>/dev/null 2>"$t/err" || rc=$?; } 2>/dev/null
		rrc=0
		"$QINSTALL" -q --root "$root" rollback >/dev/null 2>"$t/rerr" || rrc=$?
		after=$(crashprov_tree "$root")
		# A kill before the run began leaves no journal: "nothing to roll back" is fine then.
		if [ "$rc" = 137 ] && [ "$after" = "$before" ] &&
			{ [ "$rrc" = 0 ] || grep -q 'nothing to roll back' "$t/rerr"; }; then
			tap_is ok ok "kill at call $n of $total: rollback restores the root"
		else
			tap_is "provision exit $rc, rollback exit $rrc" "provision exit 137, rollback exit 0, same tree" \
				"kill at call $n of $total: rollback restores the root"
			tap_diag "$(cat "$t/rerr")" "$(diff <(echo "$before") <(echo "$after") | head -20)"
			bad="$bad $n"
		fi
	done
	tap_is "$bad" "" "every sampled kill point was recovered"

	tap_case "provision after a recovered crash"
	rm -rf "$root"; cp -a "$tpl" "$root"
	{ LD_PRELOAD=$CRASH_SHIM QI_CRASH_AT=$total "$QINSTALL" -q --root "$root" provision "$@" \
		>/dev/null 2>&1; } 2>/dev/null
	tap_setup "$QINSTALL" -q --root "$root" rollback || return
	tap_run 0 "after the last recovery provision runs again" "$QINSTALL" -q --root "$root" provision "$@"
	tap_ok "and installs $check" test -e "$root/$check"
	tap_is "$(find "$root/etc" -maxdepth 1 -name '*.lock')" "" "no lock file is left in etc after it"
	tap_run 0 "rollback of that provision" "$QINSTALL" -q --root "$root" rollback
	tap_tree_is "$root" "$before" "and the root is as before once more"
}
