#!/bin/bash
# Scenario: crash injection over a whole provision. With the build cache
# warm (one real build first), qinstall provision is killed (SIGKILL,
# tests/lib/crashshim.so) just before its Nth mutating call, for a sample
# of N spread over the whole range; after each kill `qinstall rollback`
# must give back a root identical to the one before (tree manifest), and a
# provision after that must succeed. The build itself runs in make's child
# processes, which the shim would also count, hence the warm cache: the
# kills land in qinstall's own steps (cache lookups, the journal, ROOT).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/httpd.sh"
. "$top_srcdir/tests/lib/djbsrc.sh"

shim=$top_builddir/tests/lib/crashshim.so
[ -f "$shim" ] || tap_skip_all "the crash shim was not built ($shim)"
[ -x "$top_builddir/tests/lib/treemanifest" ] || tap_skip_all "tests/lib/treemanifest is not built"
if ldd "$QINSTALL" 2>/dev/null | grep -q 'libasan'; then
	tap_skip_all "a sanitizer build cannot take a preloaded shim; run this test in a plain build"
fi
command -v make >/dev/null && command -v gcc >/dev/null || tap_skip_all "make and gcc are needed to build ucspi-tcp"
M=$(tap_tmpdir)
djbsrc_mirror "$M" || tap_skip_all "Debian's source archive is not reachable for ucspi-tcp and daemontools"
httpd_start "$M" || tap_skip_all "cannot start the loopback HTTP server"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)
SAMPLES=${QI_CRASH_SAMPLES:-24}

T=$(tap_tmpdir)
tpl=$T/template
mkdir -p "$tpl/etc/systemd/system" "$tpl/usr/local/bin" "$tpl/var/lib"
echo "keep" >"$tpl/etc/motd"
printf 'old\n' >"$tpl/usr/local/bin/tcpserver"; chmod 700 "$tpl/usr/local/bin/tcpserver"
ln -s /nowhere "$tpl/usr/local/bin/svc"
fresh() { rm -rf "$T/root"; cp -a "$tpl" "$T/root"; }
TAP_TREE_EXCLUDE=var/lib/qinstall
tree() { tap_tree "$T/root"; }
fresh
before=$(tree)

# Warm the build cache in another root.
W=$(tap_tmpdir)
tap_run 0 "a first provision warms the build cache" "$QINSTALL" -q --root "$W" provision \
	-p ucspi-daemontools --mirror "$HTTPD_URL"

rm -f "$T/count"
LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/root" provision \
	-p ucspi-daemontools --offline >/dev/null 2>"$T/err"
total=$(cat "$T/count" 2>/dev/null || echo 0)
tap_like "$total" '^[1-9][0-9]*$' "the shim counted the provision's mutating calls ($total)"
after=$(tree)
tap_ok "the undisturbed provision changed the root" test "$after" != "$before"
tap_is "$(cat "$T/root/usr/local/bin/tcpserver" | head -c 4 | od -An -c | tr -d ' ')" '177ELF' \
	"the undisturbed provision replaced tcpserver with the built program"

# N spread over 1..total: SAMPLES points, always the first and the last.
points=$(awk -v t="$total" -v s="$SAMPLES" 'BEGIN {
	if (s > t) s = t
	for (i = 0; i < s; i++) { n = 1 + int(i * (t - 1) / (s > 1 ? s - 1 : 1)); if (!seen[n]++) print n } }')
bad=
for n in $points; do
	fresh
	rc=0
	{ LD_PRELOAD=$shim QI_CRASH_AT=$n "$QINSTALL" -q --root "$T/root" provision -p ucspi-daemontools \
		--offline >/dev/null 2>"$T/err" || rc=$?; } 2>/dev/null
	rrc=0
	"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>"$T/rerr" || rrc=$?
	after=$(tree)
	# A kill before the run began leaves no journal: "nothing to roll back" is fine then.
	if [ "$rc" = 137 ] && [ "$after" = "$before" ] && { [ "$rrc" = 0 ] || grep -q 'nothing to roll back' "$T/rerr"; }; then
		tap_is ok ok "kill at call $n of $total: rollback restores the root"
	else
		tap_is "provision exit $rc, rollback exit $rrc" "provision exit 137, rollback exit 0, same tree" \
			"kill at call $n of $total: rollback restores the root"
		tap_diag "$(cat "$T/rerr")" "$(diff <(echo "$before") <(echo "$after") | head -20)"
		bad="$bad $n"
	fi
done
tap_is "$bad" "" "every sampled kill point was recovered"

# After a recovered crash, provision works and the cache is still sound.
provision_after_crash() {
	tap_case "provision after a recovered crash"
	fresh
	{ LD_PRELOAD=$shim QI_CRASH_AT=$total "$QINSTALL" -q --root "$T/root" provision -p ucspi-daemontools \
		--offline >/dev/null 2>&1; } 2>/dev/null
	tap_setup "$QINSTALL" -q --root "$T/root" rollback || return
	tap_run 0 "after the last recovery provision runs again" "$QINSTALL" -q --root "$T/root" --json provision \
		-p ucspi-daemontools --offline
	tap_ok "and installs svscan" test -x "$T/root/usr/local/bin/svscan"
	tap_run 0 "rollback of that provision" "$QINSTALL" -q --root "$T/root" rollback
	tap_tree_is "$T/root" "$before" "and the root is as before once more"
}
provision_after_crash
tap_done
