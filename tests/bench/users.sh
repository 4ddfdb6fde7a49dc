#!/bin/bash
# Benchmark: `qinstall users` against the seed guide's way, groupadd and
# useradd (shadow-utils, with --prefix so they edit a throwaway root), for
# the same nine accounts; and qinstall users on a root whose passwd holds
# 50,000 users against a small one. Prints medians and their ratios,
# all measured in this invocation; it never passes or fails on time.
#
#   QINSTALL=_build/qinstall tests/bench/users.sh [RUNS]
set -euo pipefail
: "${QINSTALL:?set QINSTALL to the qinstall binary}"
runs=${1:-7}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scenario/users-fixture.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/qinstall-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export QINSTALL_CACHE_DIR=$work/cache

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

shadow_utils() { # ROOT
	groupadd --prefix "$1" -g 600 nofiles
	groupadd --prefix "$1" -g 601 qmail
	local u i=600
	for u in alias qmaild qmaill qmailp qmailq qmailr qmails; do
		local g=nofiles home=/var/qmail
		case $u in qmailq|qmailr|qmails) g=qmail ;; esac
		[ "$u" = alias ] && home=/var/qmail/alias
		useradd --prefix "$1" -u $i -g $g -d $home -M -s /usr/sbin/nologin "$u"
		i=$((i + 1))
	done
}

big_root() { # ROOT: make_root plus 50,000 users
	make_root "$1"
	awk 'BEGIN { for (i = 10000; i < 60000; i++) printf "user%d:x:%d:100::/home/user%d:/bin/sh\n", i, i, i }' >>"$1/etc/passwd"
	awk 'BEGIN { for (i = 10000; i < 60000; i++) printf "user%d:!:19000:0:99999:7:::\n", i }' >>"$1/etc/shadow"
}

time_one() { # KIND -> nanoseconds of one run on a fresh root
	local r=$work/r.$RANDOM$RANDOM
	case $1 in
	big) big_root "$r" ;;
	*) make_root "$r" ;;
	esac
	local t0 t1
	t0=$(now)
	case $1 in
	qinstall|big) "$QINSTALL" -q --root "$r" users >/dev/null ;;
	shadow) shadow_utils "$r" >/dev/null 2>&1 ;;
	esac
	t1=$(now)
	rm -rf "$r"
	echo $(( (t1 - t0) / 1000 ))
}

declare -A med
for kind in shadow qinstall big; do
	if [ "$kind" = shadow ] && ! command -v useradd >/dev/null; then
		echo "useradd is not installed: no shadow-utils baseline"; continue
	fi
	med[$kind]=$(for ((i = 0; i < runs; i++)); do time_one "$kind"; done | median)
done
printf 'median of %d runs, microseconds:\n' "$runs"
for kind in shadow qinstall big; do
	[ -n "${med[$kind]:-}" ] && printf '  %-9s %s\n' "$kind" "${med[$kind]}"
done
[ -n "${med[shadow]:-}" ] &&
	awk -v a="${med[qinstall]}" -v b="${med[shadow]}" 'BEGIN { printf "qinstall users / groupadd+useradd (9 accounts, journaled vs not): %.2f\n", a / b }'
awk -v a="${med[big]}" -v b="${med[qinstall]}" 'BEGIN { printf "qinstall users on 50,000 users / on 4 users: %.2f\n", a / b }'
