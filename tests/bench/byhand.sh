# byhand.sh - what the provisioning benchmarks measure qinstall against:
# the seed guide's steps by hand, as an administrator would script them,
# and the timing helpers. Sourced by tests/bench/provision.sh and
# tests/bench/netqmail.sh after they set top, jobs and DIST (the folder
# with the source archives).

now() { date +%s.%N; }
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# timed FILE CMD...: run CMD, append its wall time to FILE
timed() {
	local file=$1 t0 t1
	shift
	t0=$(now); "$@"; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$file"
}

# hand_ucspi ROOT SRC: tar x, the errno patch, conf-*, make, install.
hand_ucspi() {
	local root=$1 src=$2 progs p
	mkdir -p "$src" "$root/usr/local/bin"
	(
		cd "$src"
		tar xzf "$DIST/ucspi-tcp-0.88.tar.gz"
		cd ucspi-tcp-0.88
		patch -s -p1 <"$top/payload/ucspi-tcp/0001-errno.patch"
		echo "gcc -O2" >conf-cc; echo "gcc -s" >conf-ld; echo /usr/local >conf-home
		progs="tcpserver tcprules tcprulescheck argv0 recordio tcpclient who@ date@ finger@ http@ tcpcat mconnect mconnect-io addcr delcr fixcrio rblsmtpd"
		env -u MAKEFLAGS -u MAKELEVEL make -s -j"$jobs" $progs >/dev/null 2>&1
		for p in $progs; do install -m 0755 "$p" "$root/usr/local/bin/$p"; done
	)
}

# hand_daemontools ROOT SRC: the same for daemontools.
hand_daemontools() {
	local root=$1 src=$2 progs p
	mkdir -p "$src" "$root/usr/local/bin"
	(
		cd "$src"
		tar xzf "$DIST/daemontools-0.76.tar.gz"
		cd admin
		patch -s -p1 <"$top/payload/daemontools/0001-errno.patch"
		cd daemontools-0.76/src
		echo "gcc -O2" >conf-cc; echo "gcc -s" >conf-ld; echo /usr/local >home
		progs="svscan svscanboot supervise svc svok svstat fghack pgrphack readproctitle multilog tai64n tai64nlocal softlimit setuidgid envuidgid envdir setlock"
		env -u MAKEFLAGS -u MAKELEVEL make -s -j"$jobs" $progs >/dev/null 2>&1
		for p in $progs; do install -m 0755 "$p" "$root/usr/local/bin/$p"; done
	)
}

# hand_netqmail ROOT SRC FQDN: the guide's qmail steps: tar x, patch,
# groupadd and useradd (into ROOT's passwd with --prefix), make -jN it
# man, then make setup check (serially: qmail's Makefile is not safe for
# a parallel install; conf-qmail is ROOT/var/qmail, and the build sees ROOT's accounts
# through a private mount namespace: the host's / is never written), then
# config-fast.
hand_netqmail() {
	local root=$1 src=$2 fqdn=$3 u
	mkdir -p "$src"
	groupadd -P "$root" -g 600 nofiles
	groupadd -P "$root" -g 601 qmail
	useradd -P "$root" -u 600 -g nofiles -d /var/qmail/alias -M -s /usr/sbin/nologin alias
	for u in qmaild:601 qmaill:602 qmailp:603; do
		useradd -P "$root" -u "${u#*:}" -g nofiles -d /var/qmail -M -s /usr/sbin/nologin "${u%%:*}"
	done
	for u in qmailq:604 qmailr:605 qmails:606; do
		useradd -P "$root" -u "${u#*:}" -g qmail -d /var/qmail -M -s /usr/sbin/nologin "${u%%:*}"
	done
	(
		cd "$src"
		tar xzf "$DIST/netqmail-1.06.tar.gz"
		cd netqmail-1.06
		patch -s -p1 <"$DIST/qmail-103.patch"
		echo "gcc -O2" >conf-cc; echo "gcc -s" >conf-ld; echo "$root/var/qmail" >conf-qmail
		mkdir -p "$root/var"
		unshare -m sh -c 'mount --bind "$1/etc/passwd" /etc/passwd && mount --bind "$1/etc/group" /etc/group &&
			env -u MAKEFLAGS -u MAKELEVEL make -s -j"$2" it man >/dev/null 2>&1 &&
			env -u MAKEFLAGS -u MAKELEVEL make -s setup check >/dev/null 2>&1' sh "$root" "$jobs"
		./config-fast "$fqdn" >/dev/null
	)
}

# bench_report DIR RUNS: the medians of DIR/t.{hand,cold,noop,warm,rollback}
# and their ratios, with the targets of the tracker's issue 11.
bench_report() {
	local d=$1 hand cold noop warm rb
	hand=$(median <"$d/t.hand"); cold=$(median <"$d/t.cold"); noop=$(median <"$d/t.noop")
	warm=$(median <"$d/t.warm"); rb=$(median <"$d/t.rollback")
	echo "medians of $2 runs (seconds, make -j$jobs): by hand $hand, cold provision $cold, no-op $noop, warm-cache provision $warm, rollback $rb"
	echo "cold / by hand:         $(ratio "$cold" "$hand")   (target <= 1.10)"
	echo "no-op / cold:           $(ratio "$noop" "$cold")   (target <= 0.02)"
	echo "warm cache / cold:      $(ratio "$warm" "$cold")   (target <= 0.15)"
	echo "rollback / provision:   $(ratio "$rb" "$cold")   (target <= 0.05)"
}
