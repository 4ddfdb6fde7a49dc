#!/bin/bash
# journal.sh - the journal's cost, against the plain tools on the same tree:
#   journaled `qinstall apply` of NFILES small files  vs  `cp -a` of them
#   `qinstall rollback` of that run                    vs  `rm -rf` of them
# Each is measured RUNS times in this one invocation; the figures are
# ratios of medians (also against `cp -a` and `rm -rf` followed by `sync`,
# since the journal makes its changes durable and they do not; on a shared
# disk, a sync also waits for everyone else's writes). It prints figures
# and never passes or fails.
#
#   tests/bench/journal.sh [QINSTALL] [NFILES] [RUNS]
#
# QINSTALL defaults to $QINSTALL or ./qinstall; work happens under
# $TMPDIR (default /tmp), which should be the kind of disk qinstall serves.
set -eu
qi=${1:-${QINSTALL:-./qinstall}}
nfiles=${2:-10000}
runs=${3:-5}
[ -x "$qi" ] || { echo "usage: $0 [QINSTALL] [NFILES] [RUNS]" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

# The source tree: NFILES files of 100 to 2000 bytes in directories of 100.
src=$W/src/tree
ndirs=$(( (nfiles + 99) / 100 ))
list=$W/ops.list
: >"$list"
echo "mkdir /tree 0755 0:0" >>"$list"
for d in $(seq 1 "$ndirs"); do
	mkdir -p "$src/d$d"
	echo "mkdir /tree/d$d 0755 0:0" >>"$list"
done
python3 - "$src" "$nfiles" "$list" <<'PY'
import os, random, sys
src, n, lst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(1)
with open(lst, "a") as out:
    for i in range(n):
        rel = "d%d/f%d" % (i // 100 + 1, i)
        with open(os.path.join(src, rel), "wb") as f:
            f.write(os.urandom(random.randint(100, 2000)))
        os.chmod(os.path.join(src, rel), 0o644)
        out.write("file /tree/%s 0644 0:0 %s/%s\n" % (rel, src, rel))
PY

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f\n", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$W/cp"; : >"$W/cpsync"; : >"$W/rm"; : >"$W/rmsync"; : >"$W/apply"; : >"$W/rollback"
for r in $(seq 1 "$runs"); do
	dst=$W/dst; rm -rf "$dst"; mkdir -p "$dst"
	sync
	t0=$(now); cp -a "$src" "$dst/"; t1=$(now)
	sub "$t1" "$t0" >>"$W/cp"
	t0=$(now); rm -rf "$dst/tree"; t1=$(now)
	sub "$t1" "$t0" >>"$W/rm"
	sync
	t0=$(now); cp -a "$src" "$dst/"; sync; t1=$(now)
	sub "$t1" "$t0" >>"$W/cpsync"
	sync
	t0=$(now); rm -rf "$dst/tree"; sync; t1=$(now)
	sub "$t1" "$t0" >>"$W/rmsync"

	root=$W/root; rm -rf "$root"; mkdir -p "$root/var/lib"
	sync
	t0=$(now); "$qi" -q --root "$root" apply "$list" >/dev/null; t1=$(now)
	sub "$t1" "$t0" >>"$W/apply"
	t0=$(now); "$qi" -q --root "$root" rollback >/dev/null; t1=$(now)
	sub "$t1" "$t0" >>"$W/rollback"
	[ ! -e "$root/tree" ] || { echo "bench: rollback left $root/tree behind" >&2; exit 1; }
done
cp=$(median <"$W/cp"); cps=$(median <"$W/cpsync"); rm=$(median <"$W/rm"); rms=$(median <"$W/rmsync")
ap=$(median <"$W/apply"); rb=$(median <"$W/rollback")
echo "journal benchmark: $nfiles files, $runs runs each, medians in seconds"
printf '  cp -a            %8.3f\n  cp -a + sync     %8.3f\n  qinstall apply   %8.3f\n' "$cp" "$cps" "$ap"
printf '  rm -rf           %8.3f\n  rm -rf + sync    %8.3f\n  qinstall rollback%8.3f\n' "$rm" "$rms" "$rb"
printf '  apply / cp -a           = %sx\n' "$(ratio "$ap" "$cp")"
printf '  apply / (cp -a + sync)  = %sx\n' "$(ratio "$ap" "$cps")"
printf '  rollback / rm -rf       = %sx\n' "$(ratio "$rb" "$rm")"
printf '  rollback / (rm -rf + sync) = %sx\n' "$(ratio "$rb" "$rms")"
