#!/bin/bash
# Scenario: `qinstall patch` against GNU patch on generated cases (fixed
# seed, so every run checks the same ones): short files with repeated
# lines, diffs with 0 to 5 lines of context, trees edited away from the
# diff so that hunks need offsets or fuzz, fail, or look already applied,
# missing newlines at the end, and -N, -R, -t, -f, -F. One TAP case each.
# PATCH_RANDOM_SEED and PATCH_RANDOM_CASES explore other cases by hand;
# PATCH_RANDOM_FORMAT=context makes context diffs (patch-random-context.sh).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/patch-compare.sh"
: "${PYTHON3:=python3}"
command -v "$GNU_PATCH" >/dev/null 2>&1 || tap_skip_all "GNU patch (the oracle) is not installed"
command -v "$PYTHON3" >/dev/null 2>&1 || tap_skip_all "python3 (the case generator) is not installed"

W=$(tap_tmpdir)
count=${PATCH_RANDOM_CASES:-150}
"$PYTHON3" "$top_srcdir/tests/lib/patch-random.py" "$W" "$count" "${PATCH_RANDOM_SEED:-20261124}" \
	"${PATCH_RANDOM_FORMAT:-unified}" ||
	tap_skip_all "the case generator failed"
for ((n = 0; n < count; n++)); do
	read -r -a opts <"$W/$n/opts"
	patch_case "generated ${PATCH_RANDOM_FORMAT:-unified} case $n (${opts[*]})" "$W/$n/tree" "$W/$n/p.diff" "${opts[@]}"
done
tap_done
