#!/bin/bash
# patch-bigdiff.sh DIR - a large real diff for the patch engine's tests and
# benchmark: the orig trees of one Debian source package in its bullseye and
# bookworm versions, unpacked as DIR/a and DIR/b, and `diff -urN a b` in
# DIR/big.diff (apply it with -p1 inside a copy of DIR/a). Candidates are
# tried in order, as only part of bullseye's pool can be reached from some
# mirrors; the first that downloads and gives at least 2 MB of diff is kept.
# Prints the package's name. Exit 77 when none can be had.
set -u
dir=${1:?usage: patch-bigdiff.sh DIR}
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/patch-compare.sh"
for pkg in curl expat tmux sqlite3; do
	rm -rf "$dir/old" "$dir/new" "$dir/a" "$dir/b"
	patch_unpack_debian "$pkg" "$dir/old" bullseye >/dev/null 2>&1 || continue
	patch_unpack_debian "$pkg" "$dir/new" >/dev/null 2>&1 || continue
	mv "$dir/old/orig" "$dir/a" && mv "$dir/new/orig" "$dir/b" && rm -rf "$dir/old" "$dir/new"
	(cd "$dir" && LC_ALL=C diff -urN a b >big.diff)
	[ $? -le 1 ] || continue
	if [ "$(stat -c %s "$dir/big.diff")" -ge 2000000 ]; then
		echo "$pkg"
		exit 0
	fi
done
exit 77
