#!/bin/bash
# Scenario: crash injection. qinstall is killed (SIGKILL, through the
# preloaded tests/lib/crashshim.so) just before its Nth mutating call, for
# every N from 1 to the total of a mixed `apply`; after each kill,
# `qinstall rollback` must give back a tree identical to the one before the
# run in every path, type, mode, owner, size, content and link target.
# Then the same for kills during a rollback, followed by another rollback.
. "$top_srcdir/tests/lib/tap.sh"

shim=$top_builddir/tests/lib/crashshim.so
[ "$(id -u)" = 0 ] || tap_skip_all "crash.sh sets owners and needs root"
[ -f "$shim" ] || tap_skip_all "the crash shim was not built ($shim)"
if ldd "$QINSTALL" 2>/dev/null | grep -q 'libasan'; then
	tap_skip_all "a sanitizer build cannot take a preloaded shim; run crash.sh in a plain build"
fi

T=$(tap_tmpdir)
tpl=$T/template
src=$T/src
mkdir -p "$tpl"/etc "$tpl"/var/lib "$tpl"/srv/empty "$tpl"/srv/full "$src"
printf 'root:x:0:0::/root:/bin/sh\nqmaild:x:601:601::/var/qmail:/bin/false\nalias:x:600:601::/var/qmail/alias:/bin/false\n' >"$tpl/etc/passwd"
printf 'root:x:0:\nnofiles:x:600:\nqmail:x:601:\n' >"$tpl/etc/group"
echo "old motd" >"$tpl/etc/motd"
echo "keep me" >"$tpl/srv/full/keep"
head -c 100000 /dev/urandom >"$tpl/srv/big"
echo "secret" >"$tpl/etc/secret"; chmod 600 "$tpl/etc/secret"
ln -s motd "$tpl/etc/motd.link"
ln -s /etc "$tpl/etc/up"		# must resolve inside the root
mkfifo -m 640 "$tpl/srv/fifo"
echo "new motd" >"$src/motd"
head -c 70000 /dev/urandom >"$src/big"
echo "control" >"$src/control"

cat >"$T/ops.list" <<EOF
mkdir   /var/qmail 0755 root:qmail
mkdir   /var/qmail/control 0755 root:qmail
file    /var/qmail/control/me 0644 root:qmail $src/control
file    /etc/motd 0644 root:root $src/motd
file    /srv/big 0600 alias:nofiles $src/big
file    /etc/up/via-link 0644 root:root $src/control
symlink /etc/motd.link /var/qmail/control/me
symlink /var/qmail/bin /usr/local/bin
fifo    /var/qmail/trigger 0622 qmaild:qmail
fifo    /srv/fifo 0600 root:root
chmod   /etc/secret 0640
chown   /srv/full/keep alias:qmail
remove  /srv/empty
remove  /etc/motd.link
rename  /etc/secret /srv/secret
rename  /srv/full/keep /etc/passwd.keep
EOF

fresh() { rm -rf "$T/root"; cp -a "$tpl" "$T/root"; }
TAP_TREE_EXCLUDE=var/lib/qinstall
tree() { tap_tree "$T/root"; }
fresh
before=$(tree)

# Count the mutating calls of an undisturbed apply.
tap_case "an undisturbed apply"
rm -f "$T/count"
LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/root" apply "$T/ops.list" >/dev/null 2>&1
total=$(cat "$T/count" 2>/dev/null || echo 0)
tap_like "$total" '^[1-9][0-9]*$' "the shim counted the apply's mutating calls ($total)"
applied=$(tree)
tap_unlike "$applied" '^$' "the undisturbed apply changed the tree"
tap_ok "the apply changed something" test "$applied" != "$before"
cp -a "$T/root" "$T/applied"	# a tree with a finished run, for the rollback kills

# Kill the apply at every N, then roll back.
tap_case "the apply killed at every call"
bad=
for n in $(seq 1 "$total"); do
	fresh
	rc=0
	{ LD_PRELOAD=$shim QI_CRASH_AT=$n "$QINSTALL" -q --root "$T/root" apply "$T/ops.list" >/dev/null 2>"$T/err" || rc=$?; } 2>/dev/null
	rrc=0
	"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>"$T/rerr" || rrc=$?
	after=$(tree)
	if [ "$rc" = 137 ] && [ "$rrc" = 0 ] && [ "$after" = "$before" ]; then
		tap_is ok ok "kill at call $n of $total: rollback restores the tree"
	else
		tap_is "apply exit $rc, rollback exit $rrc" "apply exit 137, rollback exit 0, same tree" \
			"kill at call $n of $total: rollback restores the tree"
		tap_diag "$(cat "$T/rerr")" "$(diff <(echo "$before") <(echo "$after") | head -20)"
		bad="$bad $n"
	fi
done
tap_is "$bad" "" "every kill point of the apply was recovered"

# After a recovered crash the root takes new runs again.
tap_case "a new run after a recovered crash"
fresh
{ LD_PRELOAD=$shim QI_CRASH_AT=$total "$QINSTALL" -q --root "$T/root" apply "$T/ops.list" >/dev/null 2>&1; } 2>/dev/null
if tap_setup "$QINSTALL" -q --root "$T/root" rollback; then
	tap_run 0 "after the last recovery a new apply runs" "$QINSTALL" -q --root "$T/root" apply "$T/ops.list"
fi

# Kill a rollback at every M, then roll back again.
tap_case "the rollback killed at every call"
rm -rf "$T/root"; cp -a "$T/applied" "$T/root"
rm -f "$T/count"
LD_PRELOAD=$shim QI_CRASH_COUNT=$T/count "$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1
rtotal=$(cat "$T/count" 2>/dev/null || echo 0)
tap_like "$rtotal" '^[1-9][0-9]*$' "the shim counted the rollback's mutating calls ($rtotal)"
tap_tree_is "$T/root" "$before" "the undisturbed rollback restores the tree"
bad=
for m in $(seq 1 "$rtotal"); do
	rm -rf "$T/root"; cp -a "$T/applied" "$T/root"
	rc=0
	{ LD_PRELOAD=$shim QI_CRASH_AT=$m "$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1 || rc=$?; } 2>/dev/null
	rrc=0
	"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>"$T/rerr" || rrc=$?
	after=$(tree)
	if [ "$rc" = 137 ] && [ "$rrc" = 0 ] && [ "$after" = "$before" ]; then
		tap_is ok ok "rollback killed at call $m of $rtotal: a second rollback completes it"
	else
		tap_is "rollback exit $rc, second rollback exit $rrc" \
			"137, 0, same tree" "rollback killed at call $m of $rtotal: a second rollback completes it"
		tap_diag "$(cat "$T/rerr")" "$(diff <(echo "$before") <(echo "$after") | head -20)"
		bad="$bad $m"
	fi
done
tap_is "$bad" "" "every kill point of the rollback was recovered"

# A crash during the apply, then a crash during its rollback, then a rollback.
tap_case "a killed apply, its killed rollback, a rollback"
for n in $(( total / 3 )) $(( total / 2 )) $(( total - 2 )); do
	[ "$n" -ge 1 ] || continue
	fresh
	{ LD_PRELOAD=$shim QI_CRASH_AT=$n "$QINSTALL" -q --root "$T/root" apply "$T/ops.list" >/dev/null 2>&1; } 2>/dev/null
	m=3
	{ LD_PRELOAD=$shim QI_CRASH_AT=$m "$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1; } 2>/dev/null
	"$QINSTALL" -q --root "$T/root" rollback >/dev/null 2>&1
	tap_tree_is "$T/root" "$before" "apply killed at $n, its rollback killed at $m, rollback again: tree restored"
done
tap_done
