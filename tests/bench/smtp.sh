#!/bin/bash
# smtp.sh - benchmark of SMTP acceptance: 1,000 small messages over loopback
# into qmail as the netqmail profile provisions it (qmail-smtpd under
# tcpserver and softlimit, the relay rules' cdb), sequentially (one
# connection a message) and 10 clients in parallel, against the same client
# sending to Debian's Postfix installed with apt in a second chroot (its
# defaults, local delivery). Each server runs in a network namespace of its
# own (loopback only), in a copy of the test suite's cached debootstrap
# chroot. Prints messages per second and the ratio qmail / Postfix.
#
#   tests/bench/smtp.sh [BUILDDIR]   # default: _build; N=messages (1000);
#                                    # QI_DISTFILES: the qmail sources' folder
#
# Needs root, the cached chroot of tests/system (run the suite once), the
# shared distfiles and apt's archive (for Postfix). Not part of `make check`;
# it never passes or fails on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
qi=$build/qinstall
N=${N:-1000}
DIST=${QI_DISTFILES:-$top/../shared/distfiles}
tpl=$(ls "${QI_TEST_CACHE:-/var/cache/qinstall-tests}"/users-chroot-*-minbase.tar.gz 2>/dev/null | head -1)
[ -n "$tpl" ] || { echo "bench: no cached chroot (run tests/system/users-chroot.sh once)" >&2; exit 77; }
[ -f "$DIST/netqmail-1.06.tar.gz" ] || { echo "bench: no qmail sources in $DIST (set QI_DISTFILES)" >&2; exit 77; }
export QINSTALL_DATADIR=$top QINSTALL_CHECKPASSWORD=$build/qinstall-checkpassword
W=$(mktemp -d /tmp/qinstall-bench.XXXXXX)
export QINSTALL_CACHE_DIR=$W/cache
NS=
cleanup() { [ -n "$NS" ] && kill -KILL "$NS" 2>/dev/null; sleep 0.5; rm -rf "$W"; }
trap cleanup EXIT

new_chroot() { mkdir -p "$1" && tar -C "$1" --numeric-owner -xzpf "$tpl"; }
start_ns() {
	unshare -n -p -f --kill-child sleep 3600 &
	local u=$! i
	for i in $(seq 50); do NS=$(pgrep -P "$u" sleep) && break; sleep 0.1; done
	nsenter -t "$NS" -n ip link set lo up
}
stop_ns() { kill -KILL "$NS" 2>/dev/null; NS=; sleep 0.5; }
# client PARALLEL RCPT: N messages, PARALLEL connections at a time; prints
# the seconds it took.
client() {
	nsenter -t "$NS" -n python3 - "$N" "$1" "$2" <<'PY'
import smtplib, sys, time, threading
n, par, rcpt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
msg = "From: bench@example.com\r\nTo: %s\r\nSubject: bench\r\n\r\nhello\r\n" % rcpt
def one():
    s = smtplib.SMTP("127.0.0.1", 25, timeout=60)
    s.sendmail("bench@example.com", [rcpt], msg)
    s.quit()
for _ in range(150):
    try:
        one(); break
    except OSError:
        time.sleep(0.1)
left = [n]
lock = threading.Lock()
def worker():
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        one()
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(par)]
for t in ts: t.start()
for t in ts: t.join()
print("%.6f" % (time.time() - t0))
PY
}

# qmail, as provisioned.
Q=$W/qmail
new_chroot "$Q"
chroot "$Q" useradd -m -u 1000 -s /bin/sh admin
"$qi" -q --root "$Q" provision --domain mail.example.org --admin admin --mirror "file://$DIST" >/dev/null
start_ns
nsenter -t "$NS" -n -p setsid chroot "$Q" /usr/local/bin/svscan /etc/service </dev/null >/dev/null 2>&1 &
q1=$(client 1 admin@mail.example.org); q10=$(client 10 admin@mail.example.org)
stop_ns

# Postfix, from apt, on its defaults (local only).
P=$W/postfix
new_chroot "$P"
printf '#!/bin/sh\nexit 101\n' >"$P/usr/sbin/policy-rc.d"; chmod 755 "$P/usr/sbin/policy-rc.d"
echo bench.example >"$P/etc/mailname"
chroot "$P" sh -c 'echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections &&
	echo "postfix postfix/mailname string bench.example" | debconf-set-selections &&
	DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y postfix' \
	>"$W/apt.log" 2>&1 || { tail -5 "$W/apt.log" >&2; echo "bench: cannot install Postfix in the chroot" >&2; exit 77; }
chroot "$P" useradd -m -u 1000 -s /bin/sh admin
chroot "$P" postconf -e maillog_file=/var/log/postfix.log mydestination=bench.example,localhost \
	inet_interfaces=loopback-only inet_protocols=ipv4
start_ns
nsenter -t "$NS" -n -p chroot "$P" postfix start >/dev/null 2>&1
p1=$(client 1 admin@bench.example); p10=$(client 10 admin@bench.example)
nsenter -t "$NS" -n -p chroot "$P" postfix stop >/dev/null 2>&1 || true
stop_ns

rate() { awk -v n="$N" -v t="$1" 'BEGIN { printf "%.0f", n / t }'; }
echo "$N messages over loopback (load $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  qmail   sequential $(rate "$q1")/s, 10 in parallel $(rate "$q10")/s"
echo "  Postfix sequential $(rate "$p1")/s, 10 in parallel $(rate "$p10")/s"
echo "qmail / Postfix:        sequential $(awk -v a="$p1" -v b="$q1" 'BEGIN { printf "%.2f", a / b }'), 10 in parallel $(awk -v a="$p10" -v b="$q10" 'BEGIN { printf "%.2f", a / b }')"
