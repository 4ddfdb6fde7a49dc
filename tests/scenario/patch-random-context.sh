#!/bin/bash
# Scenario: `qinstall patch` against GNU patch on generated context diffs
# (diff -c and diff -C 0..5; fixed seed): the cases of patch-random.sh
# (repeated lines, trees edited away from the diff, missing newlines at the
# end, -N, -R, -t, -f, -F) with the diff in context format, so that hunks
# with omitted sides, offsets, fuzz, reversed patches and context-format
# rejects are compared. One TAP case each.
: "${PATCH_RANDOM_SEED:=20261125}"
PATCH_RANDOM_FORMAT=context
. "$top_srcdir/tests/scenario/patch-random.sh"
