#!/bin/bash
# provision.sh - benchmark of `qinstall provision` (ucspi-daemontools),
# printing ratios of medians measured in this one invocation:
#
#   cold build / by hand    provision with the sources cached and a cold build
#                           (--rebuild), against a plain shell script doing the
#                           same steps (tar x, patch, conf-*, make -jN, install)
#   no-op / first           a second provision with nothing to do, against the
#                           first (cold) one
#   warm cache / cold       provision into a new root with the build cache warm,
#                           against the cold one
#   rollback / provision    rolling the provision back, against the cold provision
#
#   tests/bench/provision.sh [BUILDDIR]      # default: _build; RUNS=N (default 3)
#
# Not part of `make check`; it never passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
qi=$build/qinstall
runs=${RUNS:-3}
[ -x "$qi" ] || { echo "bench: no qinstall in $build (build it first)" >&2; exit 2; }
export QINSTALL_DATADIR=$top top_srcdir=$top top_builddir=$build
jobs=$(nproc 2>/dev/null || echo 2)

W=$(mktemp -d /tmp/qinstall-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export QINSTALL_CACHE_DIR=$W/cache
mkdir -p "$W/cache/distfiles"
for pkg in ucspi-tcp:0.88 daemontools:0.76; do
	d=$(bash "$top/tests/lib/debsrc.sh" "${pkg%%:*}") || { echo "bench: Debian's source archive is not reachable" >&2; exit 77; }
	cp "$d/${pkg%%:*}_${pkg#*:}.orig.tar.gz" "$W/cache/distfiles/${pkg%%:*}-${pkg#*:}.tar.gz"
done

. "$top/tests/bench/byhand.sh"
DIST=$W/cache/distfiles
by_hand() { # ROOT
	rm -rf "$W/hand-src"
	hand_ucspi "$1" "$W/hand-src"
	hand_daemontools "$1" "$W/hand-src"
}

# One warm-up of each so that the page cache and the compiler are hot.
by_hand "$W/warm-hand"
"$qi" -q --root "$(mkdir -p "$W/warm-qi" && echo "$W/warm-qi")" provision -p ucspi-daemontools --offline -j "$jobs" >/dev/null

qi() { "$qi" -q "$@" >/dev/null; }
: >"$W/t.hand"; : >"$W/t.cold"; : >"$W/t.noop"; : >"$W/t.warm"; : >"$W/t.rollback"
for i in $(seq "$runs"); do
	r=$W/hand-$i; rm -rf "$r"; mkdir -p "$r"
	timed "$W/t.hand" by_hand "$r"
	r=$W/cold-$i; mkdir -p "$r"
	timed "$W/t.cold" qi --root "$r" provision -p ucspi-daemontools --offline --rebuild -j "$jobs"
	timed "$W/t.noop" qi --root "$r" provision -p ucspi-daemontools --offline -j "$jobs"
	r2=$W/warm-$i; mkdir -p "$r2"
	timed "$W/t.warm" qi --root "$r2" provision -p ucspi-daemontools --offline -j "$jobs"
	timed "$W/t.rollback" qi --root "$r" rollback
done

bench_report "$W" "$runs"
