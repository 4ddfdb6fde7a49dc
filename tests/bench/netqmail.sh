#!/bin/bash
# netqmail.sh - benchmark of `qinstall provision -p netqmail` (qmail with
# ucspi-tcp and daemontools), printing ratios of medians measured in this
# one invocation (targets from the tracker's issue 11):
#
#   cold / by hand          provision with the sources cached and a cold
#                           build (--rebuild), against a shell script doing
#                           the seed guide's steps by hand (tests/bench/byhand.sh:
#                           tar x, patch, groupadd/useradd, make setup check,
#                           config-fast; ucspi-tcp and daemontools built and
#                           installed the same way), both with make -jN
#   no-op / cold            a second provision with nothing to do
#   warm cache / cold       provision into a second root, the build cache warm
#   rollback / provision    rolling the cold provision back
#
#   tests/bench/netqmail.sh [BUILDDIR]    # default: _build; RUNS=N (default 3);
#                                         # QI_DISTFILES: the sources' folder
#
# Not part of `make check`; it never passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
qi=$build/qinstall
runs=${RUNS:-3}
[ -x "$qi" ] || { echo "bench: no qinstall in $build (build it first)" >&2; exit 2; }
export QINSTALL_DATADIR=$top QINSTALL_CHECKPASSWORD=$build/qinstall-checkpassword
jobs=$(nproc 2>/dev/null || echo 2)
DIST=${QI_DISTFILES:-$top/../shared/distfiles}
for f in netqmail-1.06.tar.gz qmail-103.patch ucspi-tcp-0.88.tar.gz daemontools-0.76.tar.gz; do
	[ -f "$DIST/$f" ] || { echo "bench: $DIST/$f is missing (set QI_DISTFILES)" >&2; exit 77; }
done
. "$top/tests/bench/byhand.sh"
. "$top/tests/scenario/users-fixture.sh"

W=$(mktemp -d /tmp/qinstall-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export QINSTALL_CACHE_DIR=$W/cache

by_hand() { # ROOT
	rm -rf "$W/hand-src"
	hand_ucspi "$1" "$W/hand-src"
	hand_daemontools "$1" "$W/hand-src"
	hand_netqmail "$1" "$W/hand-src" mail.example.org
}
new_root() { rm -rf "$1"; qmail_root "$1"; }
qi() { "$qi" -q "$@" --domain mail.example.org --admin admin >/dev/null; }

# One warm-up of each (page cache, compiler; and the sources into the cache).
new_root "$W/warm-hand"; by_hand "$W/warm-hand"
new_root "$W/warm-qi"; qi --root "$W/warm-qi" provision -p netqmail --mirror "file://$DIST" -j "$jobs"

: >"$W/t.hand"; : >"$W/t.cold"; : >"$W/t.noop"; : >"$W/t.warm"; : >"$W/t.rollback"
for i in $(seq "$runs"); do
	new_root "$W/hand-$i"; timed "$W/t.hand" by_hand "$W/hand-$i"
	r=$W/cold-$i; new_root "$r"
	timed "$W/t.cold" qi --root "$r" provision -p netqmail --offline --rebuild -j "$jobs"
	timed "$W/t.noop" qi --root "$r" provision -p netqmail --offline -j "$jobs"
	new_root "$W/warm-$i"
	timed "$W/t.warm" qi --root "$W/warm-$i" provision -p netqmail --offline -j "$jobs"
	timed "$W/t.rollback" "$qi" -q --root "$r" rollback >/dev/null
done

bench_report "$W" "$runs"
