#!/bin/bash
# Benchmark: carrying a 10,000-message Postfix queue into qmail's (qinstall
# migrate) against Postfix's own requeue of the same queue (postsuper -r
# ALL), and the downtime of a takeover with such a queue.
#
#   cd _build && bash ../tests/bench/migrate.sh   # as root; QINSTALL defaults to ./qinstall
#   [N=10000] [RUNS=3] [QI_DISTFILES=...] [QI_TEST_CACHE=...] bash tests/bench/migrate.sh
#
# The queue: the Postfix chroot of tests/lib/mtachroot.sh with 20 deferred
# messages, each queue file copied under new queue ids until there are N
# (the copies are what Postfix wrote; qinstall carries each as its own
# message), renamed by `postsuper -s` as Postfix names its files. Each run works on a fresh copy of that chroot:
#   postsuper   `postsuper -r ALL` in the chroot (its wall time: it moves
#               each file to maildrop/), and requeue: the same with Postfix
#               running (in a private network namespace) until it has put
#               every message through pickup and cleanup again (maildrop/
#               and incoming/ empty), what a requeue of the queue costs
#   carry       the carry step of `qinstall migrate` (queue.seconds of its
#               JSON: read, hand to qmail-queue, move aside, journal), the
#               build cache warm
#   downtime    from the start of the migrate (the old MTA stops first) to
#               the first SMTP greeting of qmail-smtpd, started with svscan
#               in the chroot inside a private network namespace
# Prints the medians and the ratios carry / postsuper and carry / requeue.
# Prints figures only;
# never passes or fails on time.
set -u
QINSTALL=${QINSTALL:-$PWD/qinstall}
[ -x "$QINSTALL" ] || { echo "bench: no qinstall at $QINSTALL: run it from a build directory or set QINSTALL" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (chroots)"; exit 0; }
: "${N:=10000}"
: "${RUNS:=3}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$PWD}"
export QINSTALL top_srcdir top_builddir
export QINSTALL_DATADIR=${QINSTALL_DATADIR:-$top_srcdir}
export QINSTALL_CHECKPASSWORD=${QINSTALL_CHECKPASSWORD:-$top_builddir/qinstall-checkpassword}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/migrate-chroot.sh"
distfiles_qmail
W=$(tap_tmpdir)
export QINSTALL_CACHE_DIR=$W/cache
PY=${PYTHON3:-python3}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

TPL=$W/tpl
mta_chroot "$TPL" postfix
mta_queue "$TPL" postfix 20 || { echo "bench: Postfix did not defer the 20 messages"; exit 0; }
# N copies of the 20 queue files under new ids (hashed by their first
# character, as Postfix's deferred/ is), the originals and logs gone.
"$PY" - "$TPL/var/spool/postfix" "$N" <<'PY'
import os, shutil, sys
spool, n = sys.argv[1], int(sys.argv[2])
files = []
for d, _, names in os.walk(os.path.join(spool, "deferred")):
    files += [os.path.join(d, f) for f in names]
files.sort()
for i in range(n):
    src = files[i % len(files)]
    qid = "%011X" % (0x10000000000 + i)
    dst = os.path.join(spool, "deferred", qid[0], qid)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
for f in files:
    os.unlink(f)
defer = os.path.join(spool, "defer")
st = os.stat(defer)
shutil.rmtree(defer)
os.mkdir(defer, st.st_mode & 0o7777)
os.chown(defer, st.st_uid, st.st_gid)
PY
# Postfix's queue ids name the file's inode: its own structure check gives
# each copy the name Postfix would have (and so a requeue that works)
chroot "$TPL" postsuper -s >/dev/null 2>&1
echo "queue: $(find "$TPL/var/spool/postfix/deferred" -type f | wc -l) messages in Postfix's deferred queue"

migrate() { _migrate_run "$1" --offline "${@:2}"; }
# the build cache, warmed on a copy
cp -a "$TPL" "$W/warm" && _migrate_run "$W/warm" >/dev/null 2>&1
rm -rf "$W/warm"

: >"$W/postsuper" >"$W/requeue" >"$W/carry" >"$W/down"
for r in $(seq "$RUNS"); do
	rm -rf "$W/a" "$W/b" "$W/c"
	cp -a "$TPL" "$W/a"
	cp -a "$TPL" "$W/b"
	cp -a "$TPL" "$W/c"
	s=$(date +%s.%N)
	chroot "$W/a" postsuper -r ALL >/dev/null 2>&1
	e=$(date +%s.%N)
	awk -v e="$e" -v s="$s" 'BEGIN { print e - s }' >>"$W/postsuper"
	netns_start || { echo "bench: no network namespace"; exit 0; }
	_mta_in "$W/c" postfix start >/dev/null 2>&1
	s=$(date +%s.%N)
	_mta_in "$W/c" postsuper -r ALL >/dev/null 2>&1
	for i in $(seq 12000); do
		[ -z "$(find "$W/c/var/spool/postfix/maildrop" "$W/c/var/spool/postfix/incoming" -type f -print -quit)" ] && break
		sleep 0.05
	done
	e=$(date +%s.%N)
	awk -v e="$e" -v s="$s" 'BEGIN { print e - s }' >>"$W/requeue"
	_mta_in "$W/c" postfix stop >/dev/null 2>&1
	sleep 1
	netns_stop
	s=$(date +%s.%N)
	migrate "$W/b" >"$W/out.json" 2>"$W/err" || { echo "bench: migrate failed: $(tail -3 "$W/err")"; exit 0; }
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["queue"]["seconds"])' "$W/out.json" >>"$W/carry"
	# qmail up: svscan in the chroot, in a namespace of its own, until
	# qmail-smtpd greets on port 25
	netns_start || { echo "bench: no network namespace"; exit 0; }
	in_ns setsid chroot "$W/b" /usr/local/bin/svscan /etc/service </dev/null >/dev/null 2>&1 &
	for i in $(seq 600); do
		in_ns "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", 25), timeout=1)
sys.exit(0 if s.recv(4).startswith(b"220") else 1)' 2>/dev/null && break
		sleep 0.05
	done
	e=$(date +%s.%N)
	awk -v e="$e" -v s="$s" 'BEGIN { print e - s }' >>"$W/down"
	in_ns chroot "$W/b" /usr/local/bin/svc -dx /etc/service/* /etc/service/*/log 2>/dev/null
	sleep 1
	netns_stop
done
P=$(median <"$W/postsuper")
Q=$(median <"$W/requeue")
C=$(median <"$W/carry")
D=$(median <"$W/down")
printf 'postsuper -r ALL (%d messages): %.2f s (median of %d)\n' "$N" "$P" "$RUNS"
printf 'postsuper -r ALL, Postfix running, until all are requeued: %.2f s (median of %d)\n' "$Q" "$RUNS"
printf 'qinstall carry   (%d messages): %.2f s (median of %d), %.0f messages/s\n' "$N" "$C" "$RUNS" \
	"$(awk -v n="$N" -v c="$C" 'BEGIN { print n / c }')"
printf 'ratio carry / postsuper: %.2f; carry / requeue: %.2f\n' "$(awk -v c="$C" -v p="$P" 'BEGIN { print c / p }')" \
	"$(awk -v c="$C" -v q="$Q" 'BEGIN { print c / q }')"
printf 'downtime (migrate start to the first 220 of qmail-smtpd): %.2f s (median of %d)\n' "$D" "$RUNS"
