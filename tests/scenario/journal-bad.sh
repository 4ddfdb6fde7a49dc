#!/bin/bash
# Scenario: bad conditions. A missing or read-only root, a full disk, a
# second concurrent run, a corrupted or missing state.db, a before-image
# deleted by hand: each gives a clear error, loses nothing, and verify
# reports the damage. Mounts happen in a private namespace (unshare -m).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
echo "payload" >"$T/p"

# A missing root.
tap_case "a missing root"
tap_run 1 "a missing root fails" "$QINSTALL" --root "$T/nonexistent" status
tap_like "$TAP_STDERR" "cannot use $T/nonexistent as the root: No such file or directory \(create it" "the error names the root and what to do"

have_unshare=0
unshare -m true 2>/dev/null && have_unshare=1

# A read-only root, with and without a journal in it.
tap_case "a read-only root"
R=$T/ro
make_root "$R"
printf 'file /etc/motd 0644 0:0 %s\n' "$T/p" >"$T/motd.list"
if [ $have_unshare = 1 ]; then
	before=$(tree "$R")
	rc=0
	unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" --root "$1" apply "$3"' \
		sh "$R" "$QINSTALL" "$T/motd.list" >"$T/out" 2>"$T/err" || rc=$?
	tap_is "$rc" 1 "apply on a read-only root fails"
	tap_like "$(cat "$T/err")" "cannot create the journal's directory $R/var/lib/qinstall: Read-only file system" "the error says the root is read-only"
	tap_tree_is "$R" "$before" "nothing changed on the read-only root"
	tap_run 0 "a first run while writable" "$QINSTALL" --root "$R" apply "$T/motd.list"
	printf 'file /etc/other 0644 0:0 %s\n' "$T/p" >"$T/other.list"
	before=$(tree "$R")
	rc=0
	unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && "$2" --root "$1" apply "$3"; echo "apply=$?"; "$2" --root "$1" verify; echo "verify=$?"; "$2" --root "$1" status' \
		sh "$R" "$QINSTALL" "$T/other.list" >"$T/out" 2>"$T/err" || rc=$?
	tap_like "$(cat "$T/out")" "apply=1" "apply on a read-only root with a journal fails"
	tap_like "$(cat "$T/err")" "cannot open the lock $R/var/lib/qinstall/lock: Read-only file system" "the error names the lock and the cause"
	tap_like "$(cat "$T/out")" "verify=0" "verify still reads the journal of a read-only root"
	tap_like "$(cat "$T/out")" " 1 .* done " "status still reads the journal of a read-only root"
	tap_tree_is "$R" "$before" "nothing changed on the read-only root with a journal"
else
	for d in "ro apply fails" "ro message" "ro unchanged" "ro first run" "ro journal apply" "ro lock message" "ro verify" "ro status" "ro unchanged 2"; do
		tap_skip "$d" "unshare -m is not available (needs root)"
	done
fi

# A full disk: a small tmpfs.
tap_case "a full disk"
if [ $have_unshare = 1 ]; then
	D=$T/full
	mkdir -p "$D"
	head -c 3000000 /dev/zero >"$T/big3m"
	head -c 700000 /dev/urandom >"$T/big700k"
	cat >"$T/full.sh" <<'SCRIPT'
set -u
D=$1 Q=$2 M=$3 T=$4
mount -t tmpfs -o size=2m tmpfs "$D" || exit 99
. "$5"
make_root "$D"
head -c 1200000 /dev/urandom >"$D/srv/old"
tree "$D" >"$T/full.before"
printf 'mkdir /x 0755 0:0\nfile /x/big 0644 0:0 %s\n' "$T/big3m" >"$T/full1.list"
"$Q" --root "$D" apply "$T/full1.list" >"$T/full1.out" 2>"$T/full1.err"; echo "apply1=$?"
tree "$D" >"$T/full.after1"
printf 'file /srv/old 0644 0:0 %s\n' "$T/big700k" >"$T/full2.list"
"$Q" --root "$D" apply "$T/full2.list" >"$T/full2.out" 2>"$T/full2.err"; echo "apply2=$?"
tree "$D" >"$T/full.after2"
"$Q" --root "$D" verify >/dev/null 2>&1; echo "verify=$?"
"$Q" --root "$D" status 2>&1
SCRIPT
	unshare -m bash "$T/full.sh" "$D" "$QINSTALL" "$manifest" "$T" "$top_srcdir/tests/scenario/journal-lib.sh" >"$T/full.out" 2>&1
	out=$(cat "$T/full.out")
	if printf '%s' "$out" | grep -q '^99$\|mount:'; then
		tap_skip "disk full" "cannot mount a tmpfs here"
	else
		tap_like "$out" "apply1=1" "a file larger than the free space fails"
		tap_like "$(cat "$T/full1.err")" "No space left on device" "the error says the disk is full"
		tap_is "$(cat "$T/full.after1")" "$(cat "$T/full.before")" "the failed run was undone: the tree is as before"
		tap_like "$out" "apply2=1" "no room for a before-image fails"
		tap_like "$(cat "$T/full2.err")" "before-image.*No space left on device|No space left on device" "the error names the cause"
		tap_is "$(cat "$T/full.after2")" "$(cat "$T/full.before")" "the original file is intact when its before-image cannot be saved"
		tap_like "$out" "verify=0" "verify finds nothing wrong after the failed runs"
		tap_unlike "$out" "unfinished" "no run is left unfinished"
	fi
else
	tap_skip "disk full" "unshare -m is not available (needs root)"
fi

# A second concurrent run: another process holds the lock.
tap_case "a second concurrent run"
R=$T/lock
make_root "$R"
tap_run 0 "a first run" "$QINSTALL" --root "$R" apply "$T/motd.list"
"$PYTHON3" - "$R/var/lib/qinstall/lock" "$T/locked" <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
os.ftruncate(fd, 0)
os.write(fd, b"%d\n" % os.getpid())
open(sys.argv[2], "w").close()
time.sleep(30)
PY
holder=$!
for _ in $(seq 50); do [ -e "$T/locked" ] && break; sleep 0.1; done
before=$(tree "$R")
printf 'file /etc/x 0644 0:0 %s\n' "$T/p" >"$T/x.list"
tap_run 3 "a second run is refused with exit 3" "$QINSTALL" --root "$R" apply "$T/x.list"
tap_like "$TAP_STDERR" "in use by another qinstall run \(pid $holder\)" "the refusal names the pid holding the lock"
tap_run 3 "rollback is refused too" "$QINSTALL" --root "$R" rollback
tap_run 0 "status works while another run holds the lock" "$QINSTALL" --root "$R" status
tap_tree_is "$R" "$before" "nothing changed while locked"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
tap_run 0 "once the holder is gone the run goes ahead" "$QINSTALL" --root "$R" apply "$T/x.list"

# A corrupted state.db.
tap_case "a corrupted state.db"
R=$T/corrupt
make_root "$R"
tap_run 0 "a run to have a journal" "$QINSTALL" --root "$R" apply "$T/motd.list"
head -c 8192 /dev/urandom >"$R/var/lib/qinstall/state.db"
rm -f "$R/var/lib/qinstall/state.db-wal" "$R/var/lib/qinstall/state.db-shm"
before=$(tree "$R")
tap_run 1 "apply refuses a corrupted state.db" "$QINSTALL" --root "$R" apply "$T/x.list"
tap_like "$TAP_STDERR" "state.db: .*(not a database|malformed).*restore state.db from a backup" "the error names state.db and what to do"
tap_tree_is "$R" "$before" "nothing changed with a corrupted journal"
tap_run 1 "rollback refuses a corrupted state.db" "$QINSTALL" --root "$R" rollback
tap_run 5 "verify reports the corrupted journal (exit 5)" "$QINSTALL" --root "$R" verify
tap_like "$TAP_STDOUT" "state.db" "verify names state.db"

# A missing state.db while the store still holds before-images.
tap_case "a missing state.db"
R=$T/missing
make_root "$R"
tap_run 0 "a run to have a journal" "$QINSTALL" --root "$R" apply "$T/motd.list"
rm -f "$R/var/lib/qinstall/state.db"*
before=$(tree "$R")
tap_run 1 "apply refuses to start a fresh journal over a lost one" "$QINSTALL" --root "$R" apply "$T/x.list"
tap_like "$TAP_STDERR" "state.db is missing but its store still holds before-images" "the error says the journal was lost"
tap_tree_is "$R" "$before" "nothing changed without the journal"
tap_run 5 "verify reports the missing journal (exit 5)" "$QINSTALL" --root "$R" verify
tap_like "$TAP_STDOUT" "state.db is missing" "verify says state.db is missing"

# A before-image deleted by hand.
tap_case "a before-image deleted by hand"
R=$T/store
make_root "$R"
tap_run 0 "a run that overwrites /etc/motd" "$QINSTALL" --root "$R" apply "$T/motd.list"
hash=$(printf 'old motd\n' | sha256sum | cut -d' ' -f1)
tap_ok "the before-image is in the store" test -f "$R/var/lib/qinstall/store/$hash"
rm "$R/var/lib/qinstall/store/$hash"
before=$(tree "$R")
tap_run 5 "verify reports the deleted before-image (exit 5)" "$QINSTALL" --root "$R" verify
tap_like "$TAP_STDOUT" "/etc/motd: its before-image .* is missing from the journal's store" "verify names the path whose before-image is gone"
tap_run 1 "rollback refuses when a before-image is missing" "$QINSTALL" --root "$R" rollback
tap_like "$TAP_STDERR" "1 before-image is missing .* /etc/motd .*nothing was changed" "the refusal names the path and says nothing changed"
tap_tree_is "$R" "$before" "the refused rollback changed nothing"
printf 'old motd\n' >"$R/etc/motd"
tap_run 0 "with the content put back by hand the rollback completes" "$QINSTALL" --root "$R" rollback
tap_done
