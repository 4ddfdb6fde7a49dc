#!/bin/bash
# Benchmark: the netqmail patch set (qmail-103, date-localtime, smtp-auth's
# auth.patch, qregex, validrcptto with its glue) applied to netqmail-1.06
# with qinstall's three-way merge, against GNU patch applying the same
# series (the same -p and fuzz 0, fuzz 1 for auth) up to its first failure.
#
#   cd _build && bash ../tests/bench/patchset.sh   # QINSTALL defaults to ./qinstall
#   [QINSTALL=...] [GNU_PATCH=patch] [RUNS=7] [QI_DISTFILES=...] bash tests/bench/patchset.sh
#
# Prints: how far GNU patch gets, the median time of each and their ratio
# (qinstall / GNU patch; GNU patch does less work: it stops at qregex), the
# time qinstall needs per patch applied, and the size of the glue the set
# needs (lines). Prints figures only; never passes or fails on time.
set -u
QINSTALL=${QINSTALL:-$PWD/qinstall}
[ -x "$QINSTALL" ] || { echo "bench: no qinstall at $QINSTALL: run it from a build directory or set QINSTALL" >&2; exit 2; }
: "${GNU_PATCH:=patch}"
: "${RUNS:=7}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
W=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
export QINSTALL_CACHE_DIR=$W/cache
tap_diag() { printf '# %s\n' "$@" >&2; }
. "$top_srcdir/tests/lib/distfiles.sh"
. "$top_srcdir/tests/bench/byhand.sh"
. "$top_srcdir/tests/lib/patchset.sh"
# shellcheck disable=SC2086
distfiles_find $PATCHSET_FILES || { echo "bench: the netqmail patch set is not in a distfiles folder"; exit 0; }
patchset_prepare "$W" || { echo "bench: the patch set could not be prepared"; exit 0; }
# GNU patch's series: auth.patch itself (a context diff, -p0 -F1).
GNU_SET=("-p1 -F0 -i $DISTFILES/qmail-103.patch" "-p1 -F0 -i $DISTFILES/qmail-date-localtime.patch"
	"-p0 -F1 -i $AUTH" "-p3 -F0 -i $DISTFILES/qregex-20060423.patch" "-F0 $VRT")

# gnu_series DIR: the series by GNU patch until a patch fails; prints how many applied.
gnu_series() {
	local p n=0
	for p in "${GNU_SET[@]}"; do
		# shellcheck disable=SC2086
		(cd "$1" && "$GNU_PATCH" -s --dry-run $p >/dev/null 2>&1) || break
		# shellcheck disable=SC2086
		(cd "$1" && "$GNU_PATCH" -s $p >/dev/null 2>&1) || break
		n=$((n + 1))
	done
	echo "$n"
}

# qi_series DIR: the series by qinstall with merge; prints how many applied.
qi_series() {
	local p n=0
	for p in "${PATCHSET[@]}" "$VRT --glue $W/validrcptto-glue.patch"; do
		# shellcheck disable=SC2086
		"$QINSTALL" -q patch -s -d "$1" -F0 --merge --base "$W/pristine" $p >/dev/null 2>&1 || break
		n=$((n + 1))
	done
	echo "$n"
}

: >"$W/gnu.t"; : >"$W/qi.t"
for i in $(seq "$RUNS"); do
	for who in gnu qi; do
		rm -rf "$W/run"; cp -a "$W/pristine" "$W/run"; sync
		t0=$(now); n=$("${who}_series" "$W/run"); t1=$(now)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/$who.t"
		echo "$n" >"$W/$who.n"
	done
done
gn=$(cat "$W/gnu.n"); qn=$(cat "$W/qi.n"); total=${#GNU_SET[@]}
g=$(median <"$W/gnu.t"); q=$(median <"$W/qi.t")
echo "patch set: $total patches on netqmail-1.06 (103, date-localtime, auth, qregex, validrcptto)"
echo "GNU patch (fuzz 0, auth fuzz 1): $gn of $total applied before the first failure; median $(awk -v t="$g" 'BEGIN { printf "%.3f", t }') s"
echo "qinstall --merge: $qn of $total applied; median $(awk -v t="$q" 'BEGIN { printf "%.3f", t }') s"
echo "time ratio qinstall / GNU patch: $(ratio "$q" "$g")"
echo "per patch applied: qinstall $(awk -v t="$q" -v n="$qn" 'BEGIN { printf "%.3f", n ? t / n : 0 }') s, GNU patch $(awk -v t="$g" -v n="$gn" 'BEGIN { printf "%.3f", n ? t / n : 0 }') s (ratio $(awk -v a="$q" -v b="$g" -v m="$qn" -v k="$gn" 'BEGIN { printf "%.3f", (m && k) ? (a / m) / (b / k) : 0 }'))"
glue=$(wc -l <"$W/validrcptto-glue.patch")
echo "glue the set needs: 1 patch (validrcptto), $glue lines, $(grep -c '^[-+][^-+]' "$W/validrcptto-glue.patch") changed lines"
