#!/bin/bash
# Scenario: rollback restores only verified bytes. A before-image damaged
# in the store (a byte flipped, truncated, another file's content, removed,
# a symlink, a FIFO) makes rollback refuse with nothing changed, naming the
# path, hash and run, and the run stays as it was; `--skip-damaged PATH`
# leaves exactly the named paths and rolls back the rest; verify reports a
# damaged or missing store (exit 5); `--check rollback` says exactly what
# the rollback then does, refusals included.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/journal-lib.sh"

T=$(tap_tmpdir)
Q() { timeout 60 "$QINSTALL" "$@"; }	# a FIFO in the store must never hang it
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
H_MOTD=$(sha $'old motd\n')
H_HOSTS=$(sha $'old hosts\n')
S=var/lib/qinstall/store

# The base: two runs over a small root; T0 is the tree before run 1.
B=$T/base
make_root "$B"
echo "old hosts" >"$B/etc/hosts"
echo one >"$T/one"; echo two >"$T/two"; echo three >"$T/three"
printf 'file /etc/motd 0640 0:0 %s\nfile /etc/hosts 0644 0:0 %s\nfile /etc/issue 0644 0:0 %s\nremove /etc/motd.link\nmkdir /srv/new 0700 0:0\n' \
	"$T/one" "$T/one" "$T/one" >"$T/1.list"
printf 'file /etc/issue 0600 0:0 %s\nsymlink /srv/new/l /etc/motd\n' "$T/two" >"$T/2.list"
printf 'file /etc/motd 0644 0:0 %s\n' "$T/three" >"$T/3.list"
t0=$(tree "$B")
tap_run 0 "run 1" "$QINSTALL" --root "$B" apply "$T/1.list"
tap_run 0 "run 2" "$QINSTALL" --root "$B" apply "$T/2.list"
tap_ok "the before-image of /etc/motd is in the store" test -f "$B/$S/$H_MOTD"

# Ways to damage the store entry $1 of root $2.
damage_flip() { "${PYTHON3:-python3}" -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[0] ^= 1; open(p, "wb").write(b)' "$1"; }
damage_truncate() { truncate -s 3 "$1"; }
damage_other() { cp "$2/$S/$H_HOSTS" "$1"; }
damage_remove() { rm "$1"; }
damage_symlink() { printf 'old motd\n' >"$2.copy"; rm "$1"; ln -s "$2.copy" "$1"; }	# right content, but a link
damage_fifo() { rm "$1"; mkfifo "$1"; }

# What the refusal says for each way (state name in the list, then text).
declare -A word=([flip]=damaged [truncate]=damaged [other]=damaged [remove]=missing
	[symlink]="not a regular file" [fifo]="not a regular file")
declare -A text=([flip]="is damaged in" [truncate]="is damaged in" [other]="is damaged in"
	[remove]="is missing from" [symlink]="is not a regular file in" [fifo]="is not a regular file in")

for how in flip truncate other remove symlink fifo; do
	R=$T/$how
	cp -a "$B" "$R"
	damage_$how "$R/$S/$H_MOTD" "$R"
	pre=$(tree "$R")
	spre=$("$manifest" "$R/$S")

	# refused, nothing changed, the run as it was
	tap_run 1 "$how: rollback refuses" Q --root "$R" rollback 1
	real_err=$TAP_STDERR
	tap_like "$TAP_STDERR" "cannot roll back: 1 before-image ${text[$how]} the journal's store.*: /etc/motd \(sha256 $H_MOTD, change [0-9]+ of run 1: ${word[$how]}\); nothing was changed" \
		"$how: the refusal names the path, the hash, the run and the damage"
	tap_like "$TAP_STDERR" "or leave that path as it is now and roll back everything else: qinstall --root $R rollback 1 --skip-damaged /etc/motd" \
		"$how: the refusal says how to leave the path and roll back the rest"
	tap_is "$(tree "$R")" "$pre" "$how: the refused rollback left ROOT as it was"
	tap_is "$("$manifest" "$R/$S")" "$spre" "$how: and the store as it was"
	tap_run 0 "$how: status works after the refusal" Q --root "$R" --json status
	tap_is "$(tap_json runs.0.state) $(tap_json runs.1.state)" "done done" \
		"$how: no run is marked unfinished"

	# --check fails the same way and writes nothing
	tap_run 1 "$how: --check rollback refuses with the same exit status" Q --root "$R" --check rollback 1
	tap_is "$TAP_STDERR" "$real_err" "$how: --check rollback gives the same message"
	tap_is "$(tree "$R")" "$pre" "$how: --check rollback wrote nothing"

	# verify sees it
	tap_run 5 "$how: verify reports the damaged before-image (exit 5)" Q --root "$R" verify
	tap_like "$TAP_STDOUT" "^/etc/motd: its before-image \(change [0-9]+ of run 1\) ${text[$how]} the journal's store" \
		"$how: verify says what is wrong with it"
	tap_like "$TAP_STDOUT" "expected: sha256 $H_MOTD" "$how: verify gives the hash"

	# leave the named path, roll back the rest
	tap_run 0 "$how: --check rollback --skip-damaged" Q --root "$R" --check --json rollback 1 --skip-damaged /etc/motd
	check_changes=$(tap_json changes)
	check_left=$(tap_json left)
	tap_is "$(tree "$R")" "$pre" "$how: --check rollback --skip-damaged wrote nothing"
	tap_run 0 "$how: rollback --skip-damaged /etc/motd" Q --root "$R" --json rollback 1 --skip-damaged /etc/motd
	tap_is "$(tap_json changes)" "$check_changes" "$how: it undid exactly what --check listed"
	tap_is "$(tap_json left)" "$check_left" "$how: and left exactly what --check listed"
	tap_like "$(tap_json left)" '"path": "/etc/motd"' "$how: the result lists the change left"
	tap_like "$TAP_STDERR" "warning: /etc/motd is left as it is now, not rolled back: its before-image \(sha256 $H_MOTD" \
		"$how: it says what it leaves"
	tap_is "$(tree "$R" | grep -v '^/etc/motd ')" "$(printf '%s\n' "$t0" | grep -v '^/etc/motd ')" \
		"$how: every other path is as before run 1"
	tap_is "$(tree "$R" | grep '^/etc/motd ')" "$(printf '%s\n' "$pre" | grep '^/etc/motd ')" \
		"$how: /etc/motd stays as it was"
	tap_run 0 "$how: status after the rollback" Q --root "$R" --json status
	tap_is "$(tap_json runs.0.state) $(tap_json runs.1.state)" "rolled-back rolled-back" \
		"$how: both runs are complete"

	# later runs work, and a sound copy of that content is saved again
	printf 'old motd\n' >"$R/etc/motd"
	tap_run 0 "$how: a later apply works" Q --root "$R" apply "$T/3.list"
	tap_is "$(cat "$R/etc/motd")" "three" "$how: it made its change"
	tap_run 0 "$how: and its rollback works" Q --root "$R" rollback
	tap_is "$(cat "$R/etc/motd")" "old motd" "$how: giving back the content whose old copy was damaged"
done
tap_ok "a damaged store entry is set aside, its bytes kept" test -f "$T/flip/$S/.damaged.$H_MOTD"

# Two damaged before-images, one named: still refused, nothing changed.
R=$T/both
cp -a "$B" "$R"
damage_flip "$R/$S/$H_MOTD"
damage_remove "$R/$S/$H_HOSTS"
pre=$(tree "$R")
tap_run 1 "a damaged before-image not named still refuses" Q --root "$R" rollback 1 --skip-damaged /etc/motd
tap_like "$TAP_STDERR" "1 before-image is missing from the journal's store.*: /etc/hosts \(sha256 $H_HOSTS" \
	"the refusal names the one not named"
tap_like "$TAP_STDERR" "rollback 1 --skip-damaged /etc/hosts --skip-damaged /etc/motd$" "and gives the command that names both"
tap_is "$(tree "$R")" "$pre" "nothing was changed"
tap_run 2 "a named path whose before-images are sound is a usage error" \
	Q --root "$R" rollback 1 --skip-damaged /etc/motd --skip-damaged /etc/hosts --skip-damaged /etc/issue
tap_like "$TAP_STDERR" "--skip-damaged /etc/issue: no before-image .* is missing or damaged" "it names that path"
tap_run 2 "a relative path is a usage error" Q --root "$R" rollback 1 --skip-damaged etc/motd
tap_is "$(tree "$R")" "$pre" "nothing was changed by either"
tap_run 0 "both named: the rest is rolled back" Q --root "$R" rollback 1 --skip-damaged /etc/motd --skip-damaged /etc/hosts
tap_like "$TAP_STDOUT" "leaving /etc/hosts, /etc/motd as they are now" "it says which paths it left"
tap_is "$(tree "$R" | grep -Ev '^/etc/(motd|hosts) ')" "$(printf '%s\n' "$t0" | grep -Ev '^/etc/(motd|hosts) ')" \
	"every other path is as before run 1"
tap_is "$(tree "$R" | grep -E '^/etc/(motd|hosts) ')" "$(printf '%s\n' "$pre" | grep -E '^/etc/(motd|hosts) ')" \
	"the two left paths are as they were"
tap_run 0 "a later apply works" Q --root "$R" apply "$T/3.list"

# The store directory itself: missing, or a symlink.
R=$T/nostore
cp -a "$B" "$R"
rm -rf "$R/$S"
pre=$(tree "$R")
tap_run 5 "verify reports a missing store (exit 5)" Q --root "$R" --json verify
tap_like "$(tap_json drift)" '"path": "/var/lib/qinstall/store", "problem": "the journal.s store is missing' "the drift says the store is missing"
tap_like "$(tap_json drift)" "\"path\": \"/etc/motd\", \"problem\": \"its before-image .* is missing from the journal's store" \
	"and lists the before-images that can no longer be read"
tap_run 1 "rollback refuses without a store" Q --root "$R" rollback 1
tap_like "$TAP_STDERR" "The journal's store $R/$S is missing" "the refusal says the store is missing"
tap_is "$(tree "$R")" "$pre" "nothing was changed"
tap_ok "the refused rollback did not make an empty store" test ! -e "$R/$S"

R=$T/linkstore
cp -a "$B" "$R"
mv "$R/$S" "$T/elsewhere"
ln -s "$T/elsewhere" "$R/$S"
pre=$(tree "$R")
tap_run 5 "verify reports a store that is a symlink (exit 5)" Q --root "$R" verify
tap_like "$TAP_STDOUT" "^/var/lib/qinstall: the journal's state is not sound" "the drift says the state is not sound"
tap_like "$TAP_STDOUT" "found: +$R/$S is a symlink to " "and that the store is a symlink"
tap_run 1 "rollback does not follow a store that is a symlink" Q --root "$R" rollback 1
tap_like "$TAP_STDERR" "$R/$S is a symlink to .*, not a directory" "the refusal says so"
tap_is "$(tree "$R")" "$pre" "nothing was changed"

# --check rollback and the rollback itself agree, change for change.
R=$T/agree
cp -a "$B" "$R"
tap_run 0 "verify of a sound journal" Q --root "$R" verify
tap_run 0 "--check rollback 1" Q --root "$R" --check --json rollback 1
check_changes=$(tap_json changes)
tap_like "$check_changes" '"path": "/srv/new/l"' "--check lists the changes of both runs"
tap_run 0 "rollback 1" Q --root "$R" --json rollback 1
tap_is "$(tap_json changes)" "$check_changes" "the rollback undid exactly what --check listed, in that order"
tap_is "$(tree "$R")" "$t0" "the tree is as before run 1"

# A damaged entry is never reused: a later run whose before-image has the
# same content writes a sound copy over it, so its rollback can go ahead.
R=$T/reuse
cp -a "$B" "$R"
damage_flip "$R/$S/$H_MOTD"
echo "old motd" >"$R/etc/copy"
printf 'file /etc/copy 0644 0:0 %s\n' "$T/three" >"$T/reuse.list"
tap_run 0 "a run whose before-image matches a damaged store entry" Q --root "$R" apply "$T/reuse.list"
tap_is "$(sha256sum <"$R/$S/$H_MOTD" | cut -d' ' -f1)" "$H_MOTD" "the damaged entry was replaced by a sound copy"
tap_run 0 "that run rolls back" Q --root "$R" rollback 3
tap_is "$(cat "$R/etc/copy")" "old motd" "and gives back the right bytes"

tap_run 0 "rollback --help" "$QINSTALL" rollback --help
tap_like "$TAP_STDOUT" "--skip-damaged.PATH +leave PATH as it is now" "--help shows --skip-damaged"
tap_done
