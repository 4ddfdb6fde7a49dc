#!/bin/bash
# Benchmark: the patch engine against GNU patch, measured in one run.
#
#   cd _build && bash ../tests/bench/patch.sh    # QINSTALL defaults to ./qinstall
#   [QINSTALL=path/to/qinstall] [GNU_PATCH=patch] [RUNS=7] bash tests/bench/patch.sh
#
# 1. Speed: the large real diff of tests/lib/patch-bigdiff.sh (several MB
#    between two Debian releases of one package) applied to fresh copies of
#    the older tree, GNU patch and `qinstall patch` alternating, RUNS each;
#    prints the ratio of the medians (qinstall / GNU patch; below 1 is faster).
# 2. Fidelity: the differential corpus (tests/scenario/patch-*.sh) run with
#    a tally; prints the share of cases whose results were identical.
# Prints figures only; it never passes or fails on time.
set -u
QINSTALL=${QINSTALL:-$PWD/qinstall}
[ -x "$QINSTALL" ] || { echo "bench: no qinstall at $QINSTALL: run it from a build directory or set QINSTALL" >&2; exit 2; }
: "${GNU_PATCH:=patch}"
: "${RUNS:=7}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export QINSTALL GNU_PATCH top_srcdir
: "${top_builddir:=$(dirname "$QINSTALL")}"
export top_builddir
W=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

pkg=$(bash "$top_srcdir/tests/lib/patch-bigdiff.sh" "$W") || { echo "bench: no large diff could be made (Debian sources unreachable)"; exit 0; }
echo "large diff: $pkg bullseye -> bookworm, $(stat -c %s "$W/big.diff") bytes, $(grep -c '^@@ ' "$W/big.diff") hunks"

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
: >"$W/gnu.t"; : >"$W/qi.t"
for i in $(seq "$RUNS"); do
	for who in gnu qi; do
		rm -rf "$W/run"; cp -a "$W/a" "$W/run"; sync
		if [ "$who" = gnu ]; then cmd=("$GNU_PATCH" -s -p1 -i "$W/big.diff")
		else cmd=("$QINSTALL" patch -s -p1 -i "$W/big.diff"); fi
		t0=$(now)
		(cd "$W/run" && "${cmd[@]}" </dev/null >/dev/null 2>&1)
		t1=$(now)
		awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >>"$W/$who.t"
	done
done
g=$(median <"$W/gnu.t"); q=$(median <"$W/qi.t")
printf 'apply time, median of %d alternating runs: GNU patch %.3f s, qinstall patch %.3f s\n' "$RUNS" "$g" "$q"
awk -v q="$q" -v g="$g" 'BEGIN {printf "ratio qinstall/GNU patch: %.2f (target <= 1.0)\n", q / g}'

tally=$W/tally
: >"$tally"
for t in patch-debian patch-cases patch-random patch-large; do
	PATCH_TALLY=$tally bash "$top_srcdir/tests/scenario/$t.sh" >"$W/$t.tap" 2>&1
done
same=$(grep -c '^same$' "$tally"); total=$(wc -l <"$tally")
if [ "$total" -gt 0 ]; then
	awk -v s="$same" -v t="$total" 'BEGIN {printf "differential corpus: %d of %d cases identical to GNU patch (%.1f%%, target 100%%)\n", s, t, 100 * s / t}'
else
	echo "differential corpus: no case could run"
fi
