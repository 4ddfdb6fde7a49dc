#!/bin/bash
# Scenario: crash injection into `qinstall users`. qinstall is killed
# (SIGKILL, through the preloaded tests/lib/crashshim.so) just before each
# of its mutating calls in turn; after each kill, `qinstall rollback` must
# give back a tree identical to the one before (every path, type, mode,
# owner and content), the only leftovers allowed being the dead process's
# shadow-utils lock files, which the next `qinstall users` takes over.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

shim=$top_builddir/tests/lib/crashshim.so
manifest=$top_builddir/tests/lib/treemanifest
[ -f "$shim" ] && [ -x "$manifest" ] || tap_skip_all "the crash shim or treemanifest was not built"
if ldd "$QINSTALL" 2>/dev/null | grep -q 'libasan'; then
	tap_skip_all "a sanitizer build cannot take a preloaded shim; run users-crash.sh in a plain build"
fi

T=$(tap_tmpdir)
make_root "$T/template"
fresh() { rm -rf "$T/root"; cp -a "$T/template" "$T/root"; }
# The tree without the journal and without a dead process's lock files.
tree() {
	"$manifest" --exclude var/lib/qinstall "$T/root" |
		grep -Ev '^/etc/(passwd|group|shadow|gshadow)\.(lock|[0-9]+) '
}
fresh
before=$(tree)

rm -f "$T/count"
LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/root" users >/dev/null 2>&1
total=$(cat "$T/count" 2>/dev/null || echo 0)
tap_like "$total" '^[1-9][0-9]*$' "the shim counted the mutating calls of users ($total)"
tap_unlike "$(diff <(echo "$before") <(tree))" '^$' "the undisturbed run changed the tree"

bad=
for n in $(seq 1 "$total"); do
	fresh
	rc=0
	{ LD_PRELOAD=$shim QI_CRASH_AT=$n "$QINSTALL" -q --root "$T/root" users >/dev/null 2>&1 || rc=$?; } 2>/dev/null
	rrc=0
	"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>"$T/rerr" || rrc=$?
	after=$(tree)
	if [ "$rc" = 137 ] && [ "$rrc" = 0 ] && [ "$after" = "$before" ]; then
		:
	else
		tap_diag "kill at $n: users exit $rc, rollback exit $rrc" "$(cat "$T/rerr")" \
			"$(diff <(echo "$before") <(echo "$after") | head -10)"
		bad="$bad $n"
	fi
done
tap_is "$bad" "" "users killed at each of its $total mutating calls: rollback restores the tree every time"

# A kill in the middle leaves stale locks; the next run takes them over.
fresh
{ LD_PRELOAD=$shim QI_CRASH_AT=$(( total / 2 )) "$QINSTALL" -q --root "$T/root" users >/dev/null 2>&1; } 2>/dev/null
"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1
tap_run 0 "after a crash and its rollback, users runs again" "$QINSTALL" --root "$T/root" users --lock-wait 1
tap_is "$(cd "$T/root/etc" && ls | grep -E '\.lock$' || true)" "" "no lock is left after it"
tap_is "$(grep -c '^qmail' "$T/root/etc/passwd")" 6 "and the accounts are there"

tap_done
