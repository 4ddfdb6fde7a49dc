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

now() { date +%s.%N; }
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# The same steps by hand, as an administrator would script them.
by_hand() { # ROOT
	local root=$1 src=$W/hand-src
	rm -rf "$src"; mkdir -p "$src" "$root/usr/local/bin"
	(
		cd "$src"
		tar xzf "$W/cache/distfiles/ucspi-tcp-0.88.tar.gz"
		cd ucspi-tcp-0.88
		patch -s -p1 <"$top/payload/ucspi-tcp/0001-errno.patch"
		echo "gcc -O2" >conf-cc; echo "gcc -s" >conf-ld; echo /usr/local >conf-home
		progs="tcpserver tcprules tcprulescheck argv0 recordio tcpclient who@ date@ finger@ http@ tcpcat mconnect mconnect-io addcr delcr fixcrio rblsmtpd"
		env -u MAKEFLAGS -u MAKELEVEL make -s -j"$jobs" $progs >/dev/null 2>&1
		for p in $progs; do install -m 0755 "$p" "$root/usr/local/bin/$p"; done
	)
	(
		cd "$src"
		tar xzf "$W/cache/distfiles/daemontools-0.76.tar.gz"
		cd admin
		patch -s -p1 <"$top/payload/daemontools/0001-errno.patch"
		cd daemontools-0.76/src
		echo "gcc -O2" >conf-cc; echo "gcc -s" >conf-ld; echo /usr/local >home
		progs="svscan svscanboot supervise svc svok svstat fghack pgrphack readproctitle multilog tai64n tai64nlocal softlimit setuidgid envuidgid envdir setlock"
		env -u MAKEFLAGS -u MAKELEVEL make -s -j"$jobs" $progs >/dev/null 2>&1
		for p in $progs; do install -m 0755 "$p" "$root/usr/local/bin/$p"; done
	)
}

# One warm-up of each so that the page cache and the compiler are hot.
by_hand "$W/warm-hand"
"$qi" -q --root "$(mkdir -p "$W/warm-qi" && echo "$W/warm-qi")" provision -p ucspi-daemontools --offline -j "$jobs" >/dev/null

: >"$W/t.hand"; : >"$W/t.cold"; : >"$W/t.noop"; : >"$W/t.warm"; : >"$W/t.rollback"
for i in $(seq "$runs"); do
	r=$W/hand-$i; rm -rf "$r"; mkdir -p "$r"
	t0=$(now); by_hand "$r"; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.hand"

	r=$W/cold-$i; mkdir -p "$r"
	t0=$(now); "$qi" -q --root "$r" provision -p ucspi-daemontools --offline --rebuild -j "$jobs" >/dev/null; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.cold"

	t0=$(now); "$qi" -q --root "$r" provision -p ucspi-daemontools --offline -j "$jobs" >/dev/null; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.noop"

	r2=$W/warm-$i; mkdir -p "$r2"
	t0=$(now); "$qi" -q --root "$r2" provision -p ucspi-daemontools --offline -j "$jobs" >/dev/null; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.warm"

	t0=$(now); "$qi" -q --root "$r" rollback >/dev/null; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.rollback"
done

hand=$(median <"$W/t.hand"); cold=$(median <"$W/t.cold"); noop=$(median <"$W/t.noop")
warm=$(median <"$W/t.warm"); rb=$(median <"$W/t.rollback")
echo "medians of $runs runs (seconds, make -j$jobs): by hand $hand, cold provision $cold, no-op $noop, warm-cache provision $warm, rollback $rb"
echo "cold build / by hand:   $(ratio "$cold" "$hand")   (target <= 1.10)"
echo "no-op / first:          $(ratio "$noop" "$cold")   (target <= 0.02)"
echo "warm cache / cold:      $(ratio "$warm" "$cold")"
echo "rollback / provision:   $(ratio "$rb" "$cold")"
