#!/bin/bash
# Scenario: `qinstall patch` against GNU patch on generated context diffs
# (diff -c and diff -C 0..5; fixed seed): the cases of patch-random.sh
# (repeated lines, trees edited away from the diff, missing newlines at the
# end, -N, -R, -t, -f, -F) with the diff in context format, so that hunks
# with omitted sides, offsets, fuzz, reversed patches and context-format
# rejects are compared. One TAP case each. PATCH_RANDOM_SEED and
# PATCH_RANDOM_CASES explore other cases by hand.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/patch-compare.sh"
: "${PYTHON3:=python3}"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"
command -v "$PYTHON3" >/dev/null 2>&1 || tap_skip_all "python3 (the case generator) is not installed"

W=$(tap_tmpdir)
count=${PATCH_RANDOM_CASES:-150}
"$PYTHON3" "$top_srcdir/tests/lib/patch-random.py" "$W" "$count" "${PATCH_RANDOM_SEED:-20261125}" context ||
	tap_skip_all "the case generator failed"
for ((n = 0; n < count; n++)); do
	read -r -a opts <"$W/$n/opts"
	patch_case "generated context diff $n (${opts[*]})" "$W/$n/tree" "$W/$n/p.diff" "${opts[@]}"
done
tap_done
