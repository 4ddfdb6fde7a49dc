#!/bin/bash
# Scenario: `qinstall patch` against GNU patch 2.7.6 where the tree has
# symlinked directories. GNU follows one while it stays inside the tree
# (relative, or absolute through the tree's own path), and refuses the one
# file behind one that leads out, loops, or is a file ("can't find file to
# patch" to read, "Invalid file name F -- skipping patch" to write), going
# on with the other files and writing the .rej files it announces. Each
# case builds its tree afresh in two directories (so that absolute links
# point into their own copy), runs both programs, and compares the exit
# status, every line of the report, and the trees (paths, types, modes,
# link targets, contents).
. "$top_srcdir/tests/lib/tap.sh"
: "${GNU_PATCH:=patch}"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"
"$GNU_PATCH" --version 2>/dev/null | grep -q '^GNU patch 2\.7\.6' ||
	tap_skip_all "the oracle is not GNU patch 2.7.6 ($("$GNU_PATCH" --version 2>/dev/null | head -1))"

W=$(tap_tmpdir)

# The tree of every case: real/f and sub/real/f ("a b c"), other/g
# ("x y z"), and out/f beside the tree (outside it).
base_tree() { # DIR: makes DIR/t (the tree) and DIR/out
	mkdir -p "$1/t/real" "$1/t/sub/real" "$1/t/other" "$1/out"
	printf 'a\nb\nc\n' >"$1/t/real/f"
	printf 'a\nb\nc\n' >"$1/t/sub/real/f"
	printf 'a\nb\nc\n' >"$1/out/f"
	printf 'x\ny\nz\n' >"$1/t/other/g"
}

# manifest DIR: every path under DIR with its type, mode and link target
# (DIR itself written as @, so that two copies compare equal).
manifest() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %l\n' | sed "s|$1|@|g" | LC_ALL=C sort)
}

# sym_case DESC LINK TARGET PATCHFILE [OPTIONS...]: the base tree with
# t/LINK -> TARGET (@ in TARGET is the copy's own directory), patched in
# t/ by both programs. One TAP case; the copies stay in $W/last/{gnu,qi}
# for the assertions that follow.
sym_case() {
	local desc=$1 link=$2 target=$3 pf=$4
	shift 4
	rm -rf "$W/last"
	local side g=0 q=0 why=
	for side in gnu qi; do
		base_tree "$W/last/$side"
		ln -s "${target//@/$W/last/$side}" "$W/last/$side/t/$link"
	done
	(cd "$W/last/gnu/t" && "$GNU_PATCH" "$@" -i "$pf" </dev/null >"$W/last/gnu.out" 2>"$W/last/gnu.err") || g=$?
	(cd "$W/last/qi/t" && "$QINSTALL" patch "$@" -i "$pf" </dev/null >"$W/last/qi.out" 2>"$W/last/qi.err") || q=$?
	[ "$g" = "$q" ] || why="exit status: GNU patch $g, qinstall $q"
	[ -n "$why" ] || cmp -s "$W/last/gnu.out" "$W/last/qi.out" ||
		why="report differs: $(diff "$W/last/gnu.out" "$W/last/qi.out" | head -12)"
	[ -n "$why" ] || [ "$(manifest "$W/last/gnu")" = "$(manifest "$W/last/qi")" ] ||
		why="trees differ: $(diff <(manifest "$W/last/gnu") <(manifest "$W/last/qi") | head -12)"
	if [ -z "$why" ]; then
		for f in $(cd "$W/last/gnu" && find . -type f); do
			cmp -s "$W/last/gnu/$f" "$W/last/qi/$f" || { why="$f differs"; break; }
		done
	fi
	if [ -z "$why" ]; then
		_tap_result ok "$desc"
	else
		_tap_result "not ok" "$desc"
		tap_diag "options: $*" "$why" "qinstall stderr: $(head -3 "$W/last/qi.err")"
	fi
}

P=$W/patches
mkdir -p "$P"
# change FILE FROM TO: a one-hunk diff of FILE ("a FROM c" -> "a TO c").
change() { printf -- '--- a/%s\n+++ b/%s\n@@ -1,3 +1,3 @@\n %s\n-%s\n+%s\n %s\n' "$1" "$1" "$4" "$2" "$3" "$5"; }
{ change link/f b B a c; change other/g y Y x z; } >"$P/through"
{ change link/f q B a c; change other/g y Y x z; } >"$P/fails"
{ change other/g q Y x z; printf -- '--- /dev/null\n+++ b/link/new\n@@ -0,0 +1 @@\n+new\n'; change other/g y Y x z; } >"$P/create"
change link/real/f b B a c >"$P/top"
change sub/link/f b B a c >"$P/subabs"
{ change real/f b B a c; change link/f B BB a c; } >"$P/twonames"
printf -- '--- a/link/f\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-a\n-b\n-c\n' >"$P/delete"
printf -- '--- a/link/f\n+++ b/link/f\n@@ -1,4 +1,4 @@\n zz\n a\n-b\n+B\n c\n' >"$P/fuzz"

# --- symlinked directories that stay inside the tree: followed ---------------
sym_case "a relative symlinked directory is followed" link real "$P/through" -p1
tap_is "$(sed -n 2p "$W/last/qi/t/real/f") $(sed -n 2p "$W/last/qi/t/other/g")" "B Y" \
	"both files are patched, the one behind the symlink in its real place"
sym_case "a failed hunk behind it: the .rej and .orig go through the symlink" link real "$P/fails" -p1
tap_ok "the announced real/f.rej is written" test -f "$W/last/qi/t/real/f.rej"
sym_case "real/../real is inside" link real/../real "$P/through" -p1
sym_case "an absolute target inside the tree is followed" link @/t/real "$P/through" -p1
sym_case "an absolute target that comes back into the tree is followed" link @/t/../t/real "$P/through" -p1
sym_case "a symlink to the tree itself" link . "$P/top" -p1
sym_case "an absolute symlink to the tree itself" link @/t "$P/top" -p1
sym_case "an absolute target's rest is walked from the symlink's directory (GNU's way)" \
	sub/link @/t/real "$P/subabs" -p1
tap_is "$(sed -n 2p "$W/last/qi/t/sub/real/f") $(sed -n 2p "$W/last/qi/t/real/f")" "B b" \
	"sub/real/f is the one patched, as with GNU patch"
sym_case "one file by two names: the second diff sees the first" link real "$P/twonames" -p1
tap_is "$(sed -n 2p "$W/last/qi/t/real/f")" "BB" "both changes are in real/f"
sym_case "a file created behind it lands in the real directory" link real "$P/create" -p1
tap_ok "real/new is there" test -f "$W/last/qi/t/real/new"
sym_case "a file deleted behind it" link real "$P/delete" -p1
sym_case "offset and backup behind it" link real "$P/fuzz" -p1

# --- symlinked directories that lead out, or loop: that one file refused ------
sym_case "a symlink out of the tree: can't find file, the other file patched" link ../out "$P/through" -p1
tap_is "$(cat "$W/last/qi/out/f")" "$(printf 'a\nb\nc')" "the file outside the tree is untouched"
sym_case "a relative target that climbs out and back is refused" link ../t/real "$P/through" -p1
sym_case "an absolute target outside the tree is refused" link @/out "$P/through" -p1
sym_case "a symlink loop is refused" link link "$P/through" -p1
sym_case "creating a file through a symlink out: Invalid file name, the rest goes on" link ../out "$P/create" -p1
tap_like "$(cat "$W/last/qi.out")" '^Invalid file name link/new -- skipping patch$' "the refusal is GNU's message"
tap_ok "the announced other/g.rej is written" test -f "$W/last/qi/t/other/g.rej"
tap_ok "nothing is created outside the tree" test ! -e "$W/last/qi/out/new"
sym_case "the same with -s" link ../out "$P/create" -p1 -s
sym_case "the same with -f" link ../out "$P/create" -p1 -f
sym_case "the same with --dry-run (GNU checks it in TMPDIR: no refusal)" link ../out "$P/create" -p1 --dry-run
sym_case "creating a file through a loop" link link "$P/create" -p1
sym_case "creating a file under a file: Invalid file name" link real/f "$P/create" -p1
tap_done
