#!/bin/bash
# Scenario: a large real diff (several MB, thousands of hunks) between the
# bullseye and bookworm releases of one Debian source package, made at test
# time, applied by `qinstall patch` and by GNU patch to the older tree, then
# reversed onto the newer one; the results must be identical.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/patch-compare.sh"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"

W=$(tap_tmpdir)
pkg=$(bash "$top_srcdir/tests/lib/patch-bigdiff.sh" "$W") ||
	tap_skip_all "no Debian source package could be had in both releases for the large diff"
size=$(stat -c %s "$W/big.diff")
hunks=$(grep -c '^@@ ' "$W/big.diff")
tap_diag "$pkg: $size bytes of diff, $hunks hunks"
tap_ok "the $pkg diff is several MB with over a thousand hunks" test "$size" -ge 2000000 -a "$hunks" -ge 1000
patch_case "$pkg bullseye -> bookworm applied to the older tree" "$W/a" "$W/big.diff" -p1
patch_case "$pkg bookworm -> bullseye: the same diff reversed on the newer tree" "$W/b" "$W/big.diff" -p1 -R
cp -a "$W/a" "$W/mine"
(cd "$W/mine" && "$QINSTALL" patch -s -p1 -i "$W/big.diff" >/dev/null 2>&1)
# Binary files are not in a text diff: compare the text the diff covers.
tap_ok "every text file of the older tree now equals the newer release" \
	sh -c "diff -r '$W/mine' '$W/b' | grep -v '^Binary files ' | grep -v '^Only in ' | (! grep -q .)"
tap_done
