#!/bin/bash
# Scenario: input files named on the command line (an operation list, a
# patch) are opened without blocking and must be regular files: a FIFO or
# a device is refused at once, with the file's name, and nothing changes.
. "$top_srcdir/tests/lib/tap.sh"
T=$(tap_tmpdir)
mkdir "$T/root"
mkfifo "$T/fifo"

tap_run 2 "apply refuses a FIFO as its operation list" timeout 20 "$QINSTALL" --root "$T/root" apply "$T/fifo"
tap_like "$TAP_STDERR" "operation list $T/fifo is a FIFO, not a regular file" "the message names the list and says why"
tap_run 2 "apply refuses a device as its operation list" timeout 20 "$QINSTALL" --root "$T/root" apply /dev/zero
tap_run 2 "patch -i refuses a FIFO" timeout 20 "$QINSTALL" patch -d "$T" -i "$T/fifo"
tap_like "$TAP_STDERR" "patch file $T/fifo is a FIFO, not a regular file" "the patch message names the file"
tap_run 2 "patch -i refuses a device" timeout 20 "$QINSTALL" patch -d "$T" -i /dev/zero
tap_run 2 "a missing operation list is a usage error" "$QINSTALL" --root "$T/root" apply "$T/nonesuch"
tap_like "$TAP_STDERR" "cannot open the operation list $T/nonesuch" "the message names the missing list"
tap_is "$(ls -A "$T/root")" "" "nothing was written into the root"

printf 'mkdir /a 0755 0:0\n' >"$T/list"
tap_run 0 "apply still reads its list from standard input" "$QINSTALL" --root "$T/root" apply - <"$T/list"
tap_ok "the list from standard input was applied" test -d "$T/root/a"
tap_done
