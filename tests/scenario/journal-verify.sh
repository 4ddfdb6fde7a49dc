#!/bin/bash
# Scenario: `qinstall verify` - ROOT against what the journal says qinstall
# wrote last: content, mode, owner, type, link target; exit 5 on drift.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
R=$T/root
make_root "$R"
echo content >"$T/c"
printf 'mkdir /q 0755 root:qmail\nfile /q/a 0644 0:0 %s\nfile /q/b 0644 0:0 %s\nsymlink /q/l a\nfifo /q/f 0600 0:0\nremove /etc/motd\n' "$T/c" "$T/c" >"$T/1.list"
tap_run 0 "verify without a journal" "$QINSTALL" --root "$R" verify
tap_run 0 "apply" "$QINSTALL" --root "$R" apply "$T/1.list"
tap_run 0 "verify right after the run finds nothing" "$QINSTALL" --root "$R" --json verify
tap_like "$TAP_STDOUT" '"drift": \[\]' "no drift"

echo edited >>"$R/q/a"
chmod 600 "$R/q/b"
rm "$R/q/l"; ln -s b "$R/q/l"
chown 601 "$R/q"
rm "$R/q/f"; echo file >"$R/q/f"
echo back >"$R/etc/motd"
tap_run 5 "verify exits 5 on drift" "$QINSTALL" --root "$R" verify
tap_like "$TAP_STDOUT" '/q/a: content differs' "changed content is listed"
tap_like "$TAP_STDOUT" '/q/b: mode differs' "a changed mode is listed"
tap_like "$TAP_STDOUT" '/q/l: ' "a changed link target is listed"
tap_like "$TAP_STDOUT" '/q: owner differs' "a changed owner is listed"
tap_like "$TAP_STDOUT" '/q/f: type differs' "a changed type is listed"
tap_like "$TAP_STDOUT" '/etc/motd: present' "a path qinstall removed and that came back is listed"
tap_like "$TAP_STDOUT" 'expected: regular file, mode 0644' "the expected state is shown"
tap_like "$TAP_STDERR" '6 differences' "the error counts the differences"
tap_run 5 "verify --json exits 5" "$QINSTALL" --root "$R" --json verify
tap_like "$TAP_STDOUT" '"failed": true' "--json says failed"
n=$(printf '%s\n' "$TAP_STDOUT" | grep -c '"problem"')
tap_is "$n" 6 "--json lists each difference in drift"
tap_run 0 "rollback over the drift" "$QINSTALL" --root "$R" rollback
tap_run 0 "after the rollback verify is clean" "$QINSTALL" --root "$R" verify
tap_done
