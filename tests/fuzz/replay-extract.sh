#!/bin/bash
# Replays fuzz_extract.c's seeds (generated now by extract-seeds.py, as they
# are binary) under the normal compiler: one TAP case a seed.
set -u
seeds=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-extract-seeds.XXXXXX")
trap 'rm -rf "$seeds"' EXIT
"${PYTHON3:-python3}" "$top_srcdir/tests/fuzz/extract-seeds.py" "$seeds" ||
	{ echo "1..0 # SKIP cannot generate the seeds with Python"; exit 0; }
"$top_builddir/tests/fuzz/fuzz_extract_replay" "$seeds"
