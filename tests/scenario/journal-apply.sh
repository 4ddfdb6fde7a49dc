#!/bin/bash
# Scenario: `qinstall apply FILE` - the list format, owners from ROOT,
# --check, --json, --diff, idempotence, and symlinks that point out of ROOT.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
R=$T/root
make_root "$R"
echo "hello qmail" >"$T/me"
cat >"$T/ops.list" <<LIST
# qmail's first files
mkdir   /var/qmail          0755 root:qmail
mkdir   /var/qmail/control  0755 root:qmail
file    /var/qmail/control/me 0644 qmaild:qmail me     # relative to the list
symlink /var/qmail/control/link me
fifo    /var/qmail/trigger  0622 qmaild:qmail
chmod   /etc/motd 0600
chown   /etc/motd alias:nofiles
LIST
before=$(tree "$R")

# --check: nothing written anywhere, not even the state directory.
tap_run 0 "apply --check exits 0" "$QINSTALL" --root "$R" --check --json apply "$T/ops.list"
tap_like "$TAP_STDOUT" '"changed": true' "--check reports changed"
tap_like "$TAP_STDOUT" '"path": "/var/qmail/control/me"' "--check lists a file planned inside a planned directory"
tap_is "$("$manifest" "$R")" "$("$manifest" "$R")" "manifest is stable"
tap_is "$(tree "$R")" "$before" "--check changed nothing in the tree"
tap_ok "--check did not create the state directory" test ! -e "$R/var/lib/qinstall"

# The real run.
tap_run 0 "apply exits 0" "$QINSTALL" --root "$R" --json apply "$T/ops.list"
tap_like "$TAP_STDOUT" '"run": 1' "--json names the run"
tap_like "$TAP_STDOUT" '"failed": false' "--json says not failed"
tap_is "$(cat "$R/var/qmail/control/me")" "hello qmail" "the file holds the source's bytes"
tap_is "$(stat -c '%a %u %g' "$R/var/qmail/control/me")" "644 601 601" "owner names resolved in ROOT's passwd and group"
tap_is "$(stat -c '%a %u %g' "$R/etc/motd")" "600 600 600" "chmod and chown applied"
tap_is "$(readlink "$R/var/qmail/control/link")" "me" "the symlink points at its target"
tap_is "$(stat -c %F "$R/var/qmail/trigger")" "fifo" "the fifo is made"
tap_is "$(stat -c '%a' "$R/var/qmail/trigger")" "622" "the fifo has its mode"

# A second identical apply changes nothing.
tap_run 0 "the same apply again exits 0" "$QINSTALL" --root "$R" --json apply "$T/ops.list"
tap_like "$TAP_STDOUT" '"changed": false' "the second identical apply says changed: false"
tap_like "$TAP_STDOUT" '"run": null' "a run that changed nothing leaves no run behind"

# --diff shows before and after of a file's content and of a mode.
echo "new content" >"$T/motd"
printf 'file /etc/motd 0644 root:root %s\n' "$T/motd" >"$T/diff.list"
tap_run 0 "apply --diff --check exits 0" "$QINSTALL" --root "$R" --json --diff --check apply "$T/diff.list"
tap_unlike "$TAP_STDOUT" 'old motd' "--diff hides the content of a file others may not read (mode 0600)"
tap_like "$TAP_STDOUT" 'not readable by others: content not shown' "and says why"
tap_like "$TAP_STDOUT" 'new content' "--diff shows the content after (mode 0644)"
tap_like "$TAP_STDOUT" 'mode 0600' "--diff shows the mode before"
chmod 0644 "$R/etc/motd"
tap_run 0 "apply --diff --check of a readable file" "$QINSTALL" --root "$R" --json --diff --check apply "$T/diff.list"
tap_like "$TAP_STDOUT" 'old motd' "--diff shows the content before when others may read it"
chmod 0600 "$R/etc/motd"

# A malformed line is reported with FILE:LINE before anything changes.
mid=$(tree "$R")
printf 'mkdir /a 0755 root:root\nmkdir /b 0799 root:root\n' >"$T/bad.list"
tap_run 2 "a malformed list is a usage error" "$QINSTALL" --root "$R" apply "$T/bad.list"
tap_like "$TAP_STDERR" "bad.list:2: '0799' is not an octal mode" "the error names the file and line"
tap_is "$(tree "$R")" "$mid" "nothing changed for a malformed list"
printf 'mkdir /a 0755 root:root\nmkdir /b 0755 nosuchuser:root\n' >"$T/owner.list"
tap_run 1 "an unknown owner fails" "$QINSTALL" --root "$R" apply "$T/owner.list"
tap_like "$TAP_STDERR" "owner.list:2: .*nosuchuser" "the unknown owner is named with its line"
tap_is "$(tree "$R")" "$mid" "nothing changed for an unknown owner"
printf 'mkdir /c 0755 root:root\nfile /c/x 0644 root:root /nonexistent-source\n' >"$T/src.list"
tap_run 1 "a missing source fails" "$QINSTALL" --root "$R" apply "$T/src.list"
tap_like "$TAP_STDERR" "src.list:2: cannot read the source /nonexistent-source" "the missing source is named with its line"
tap_is "$(tree "$R")" "$mid" "nothing changed for a missing source"

# A failing operation in the middle undoes the run's earlier changes.
printf 'mkdir /d 0755 root:root\nremove /srv\n' >"$T/fail.list"
tap_run 1 "a failing operation fails the run" "$QINSTALL" --root "$R" apply "$T/fail.list"
tap_like "$TAP_STDERR" "fail.list:2: .*not empty" "the failing line is named"
tap_is "$(tree "$R")" "$mid" "the run's earlier changes were undone"

# A symlink inside ROOT pointing at the host's /etc never leads out of ROOT.
name=qinstall-escape-test-$$
ln -s /etc "$R/etc/hostetc"
printf 'file /etc/hostetc/%s 0644 root:root %s\n' "$name" "$T/me" >"$T/escape.list"
tap_run 0 "apply through an absolute symlink exits 0" "$QINSTALL" --root "$R" apply "$T/escape.list"
tap_ok "the host's /etc was not written" test ! -e "/etc/$name"
tap_ok "the file landed in ROOT/etc" test -f "$R/etc/$name"
ln -s ../../../../../../../../.. "$R/etc/up"
printf 'file /etc/up/etc/%s.2 0644 root:root %s\n' "$name" "$T/me" >"$T/escape2.list"
tap_run 0 "apply through a ../.. symlink exits 0" "$QINSTALL" --root "$R" apply "$T/escape2.list"
tap_ok "a ../.. symlink did not climb out of ROOT" test ! -e "/etc/$name.2"
tap_ok "the ../.. file landed in ROOT/etc" test -f "$R/etc/$name.2"

# stdin and usage.
tap_run 0 "apply - reads the list from stdin" sh -c "echo 'mkdir /fromstdin 0700 0:0' | '$QINSTALL' --root '$R' apply -"
tap_ok "the stdin list was applied" test -d "$R/fromstdin"
tap_run 2 "apply without FILE is a usage error" "$QINSTALL" --root "$R" apply
tap_run 0 "apply --help exits 0" "$QINSTALL" apply --help
tap_like "$TAP_STDOUT" 'symlink PATH TARGET' "apply --help shows the format"
tap_done
