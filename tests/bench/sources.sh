#!/bin/bash
# Benchmark of the sources module, each figure a ratio of medians measured
# in this same run (never a pass or a fail):
#   - hashing a 200 MB file: qinstall (verifying a cached file) / sha256sum
#   - downloading it over loopback HTTP: qinstall fetch / the curl tool
#     (qinstall also hashes every byte and fsyncs the file before the
#     rename; curl -o does neither), with the CPU seconds of each and
#     the server's time to the first byte (nothing can be hashed before it)
#   - resuming it from a .part of half its size: qinstall / curl -C -
#     (qinstall hashes the half on disk too)
#   - bytes sent again after a dropped connection (target: 0)
# The figures depend on the machine's other work: its load average is
# printed with them.
#
#   tests/bench/sources.sh [QINSTALL] [RUNS]     (default: ./qinstall, 5 runs)
# Run it from a build directory; needs python3, curl and sha256sum.
set -euo pipefail
QINSTALL=${1:-${QINSTALL:-./qinstall}}
RUNS=${2:-5}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON3=${PYTHON3:-python3}
for tool in "$PYTHON3" curl sha256sum; do
	command -v "$tool" >/dev/null || { echo "sources.sh: $tool is needed (apt-get install ${tool##*/})" >&2; exit 2; }
done
[ -x "$QINSTALL" ] || { echo "sources.sh: no qinstall binary at $QINSTALL" >&2; exit 2; }
QINSTALL=$(cd "$(dirname "$QINSTALL")" && pwd)/$(basename "$QINSTALL")

T=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-bench.XXXXXX")
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export QINSTALL_CACHE_DIR=$T/cache

F=big.tar.gz
mkdir -p "$T/srv"
head -c $((200 * 1024 * 1024)) /dev/urandom >"$T/srv/$F"
SHA=$(sha256sum <"$T/srv/$F" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/srv/$F")

now() { date +%s.%N; }
# time_it CMD...: seconds taken by CMD
time_it() { local a b; a=$(now); "$@" >/dev/null 2>&1; b=$(now); awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f\n", b - a}'; }
# cpu_it CMD...: CPU seconds (user + system) of CMD and its children
cpu_it() {
	local TIMEFORMAT='%U %S' t
	t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
	awk -v t="$t" 'BEGIN {split(t, v, " "); printf "%.3f\n", v[1] + v[2]}'
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# 1. Hashing: a verified cache hit is one read and one SHA-256 of the file.
mkdir -p "$T/dist"
ln "$T/srv/$F" "$T/dist/$F"
cat "$T/srv/$F" >/dev/null	# both start from the page cache
q=() s=()
for _ in $(seq "$RUNS"); do
	q+=("$(time_it "$QINSTALL" -q fetch --offline --distdir "$T/dist" "file:///nonexistent/$F#sha256=$SHA&size=$SIZE")")
	s+=("$(time_it sha256sum "$T/srv/$F")")
done
qh=$(printf '%s\n' "${q[@]}" | median) sh=$(printf '%s\n' "${s[@]}" | median)

# 2. Downloading over loopback from tests/lib/httpd.py.
"$PYTHON3" "$top_srcdir/tests/lib/httpd.py" --root "$T/srv" --port-file "$T/port" --log "$T/log" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$T/port")
# downloads MEASURE [PREPARE [CURL_OPTION]]: the medians of RUNS downloads
# by qinstall and by curl, each measured with MEASURE (time_it, cpu_it)
# after PREPARE (a command run before each).
downloads() {
	local measure=$1 prepare=${2:-true} q=() c=()
	for _ in $(seq "$RUNS"); do
		rm -rf "$T/d" "$T/out"
		$prepare
		q+=("$($measure "$QINSTALL" -q fetch --distdir "$T/d" "$URL/$F#sha256=$SHA&size=$SIZE")")
		c+=("$($measure curl -sf ${3:-} -o "$T/out" "$URL/$F")")	# ${3:-}: split into words
	done
	echo "$(printf '%s\n' "${q[@]}" | median) $(printf '%s\n' "${c[@]}" | median)"
}
load0=$(cut -d' ' -f1 /proc/loadavg)
read -r qd cd < <(downloads time_it)
read -r qc cc < <(downloads cpu_it)
# The server's time to the first byte (it reads the whole file first): no
# client can hash anything during it, and SHA-256 must still cover every
# byte after it.
ttfb=$(for _ in $(seq "$RUNS"); do curl -sf -o /dev/null -w '%{time_starttransfer}\n' "$URL/$F"; done | median)

# 2b. Resuming from a .part of half the file (curl: -C - on the same half).
HALF=$((SIZE / 2))
halves() {
	mkdir -p "$T/d"
	head -c "$HALF" "$T/srv/$F" >"$T/d/$F.part"
	head -c "$HALF" "$T/srv/$F" >"$T/out"
}
read -r qr cr < <(downloads time_it halves "-C -")
load1=$(cut -d' ' -f1 /proc/loadavg)

# 3. A connection dropped after 80 MB: what is sent again.
rm -rf "$T/d"
: >"$T/log"
QINSTALL_FETCH_RETRY_DELAY=0.05 "$QINSTALL" -q fetch --distdir "$T/d" "$URL/drop=83886080/$F#sha256=$SHA&size=$SIZE" >/dev/null
sent=$("$PYTHON3" -c 'import json,sys; print(sum(e.get("sent", 0) for e in map(json.loads, open(sys.argv[1])) if not e.get("begin")))' "$T/log")
requests=$(grep -vc '"begin"' "$T/log")

mb() { awk -v s="$1" -v t="$2" 'BEGIN {printf "%.0f MB/s", s / t / 1e6}'; }
echo "sources benchmark: a 200 MiB file, medians of $RUNS runs ($(nproc) CPUs, load average $load0 to $load1 while downloading)"
echo "  hashing (SHA-256):  qinstall $qh s ($(mb "$SIZE" "$qh")), sha256sum $sh s ($(mb "$SIZE" "$sh"))  ratio qinstall/sha256sum = $(ratio "$qh" "$sh")"
echo "  loopback download:  qinstall $qd s ($(mb "$SIZE" "$qd")), curl $cd s ($(mb "$SIZE" "$cd"))  ratio qinstall/curl = $(ratio "$qd" "$cd")"
echo "    CPU seconds:      qinstall $qc, curl $cc; the server's first byte after $ttfb s"
echo "  resuming at 100 MiB: qinstall $qr s, curl -C - $cr s  ratio qinstall/curl = $(ratio "$qr" "$cr")"
echo "  dropped at 80 MiB:  $requests requests, $sent bytes sent for $SIZE; sent again: $((sent - SIZE)) bytes"
