# chroot.sh - a debootstrap'd Debian chroot for the system tests (after
# tap.sh). It is made once with debootstrap --variant=minbase from the
# archive this machine's apt uses (never a name written here), and cached
# as $QI_TEST_CACHE/users-chroot-SUITE-minbase-PACKAGES.tar.gz (outside the clone,
# see tap.sh), so that reruns, and CI in a fresh clone, are fast.
#
#   chroot_template [--prepare FN] DIR [PKG...]
#                         # DIR (created) gets the chroot; skips the script
#                         # when it cannot be had (not root, no debootstrap,
#                         # the archive out of reach), fails it when
#                         # debootstrap fails with the archive in reach.
#                         # With PKGs: the minbase chroot with them installed
#                         # from the chroot's archive (downloaded first, then
#                         # installed offline: see chroot_offline; no daemon
#                         # starts: a policy-rc.d says no while they install),
#                         # cached as ...-minbase-libssl3[-FN-HASH]-PKG-....tar.gz.
#                         # FN DIR before / FN DIR after run on either side of
#                         # the install (debconf answers, configuration); HASH
#                         # is of FN's text and of the functions it calls, so
#                         # a change of them makes a new entry.
#   chroot_offline DIR CMD...  # CMD in DIR, with no network (a network
#                         # namespace with only loopback), in a PID namespace
#                         # of its own (whatever it leaves running dies with
#                         # it), /proc mounted there, the host name DIR's
#                         # /etc/hostname says
#   chroot_mail_template DIR  # the same, with the mail tests' admin and vmail
chroot_template() {
	local prepare=
	if [ "$1" = --prepare ]; then prepare=$2; shift 2; fi
	if [ $# -gt 1 ] || [ -n "$prepare" ]; then
		_chroot_with "$prepare" "$@"
		return
	fi
	local dir=$1 mirror suite include cache log
	_chroot_source
	mirror=$CHROOT_MIRROR suite=$CHROOT_SUITE include=$CHROOT_INCLUDE
	mkdir -p "$dir"
	cache=$QI_TEST_CACHE/$CHROOT_BASE_KEY.tar.gz
	tap_cache_lock "$CHROOT_BASE_KEY"
	if [ -f "$cache" ]; then
		tar -C "$dir" --numeric-owner -xzpf "$cache"
	else
		log=$(tap_tmpdir)/debootstrap.log
		if ! debootstrap --variant=minbase --include="$include" "$suite" "$dir" "$mirror" >"$log" 2>&1; then
			tap_diag "$(tail -5 "$log")"
			# Skip only when the archive is out of reach; any other
			# debootstrap failure is a failure.
			if "${PYTHON3:-python3}" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=30).read(1)' "$mirror/dists/$suite/Release" 2>/dev/null; then
				tap_is "debootstrap failed" "debootstrap made a chroot" "debootstrap $suite from a reachable archive"
				tap_done
				exit 1
			fi
			tap_skip_all "debootstrap cannot reach the archive ($suite from $mirror)"
		fi
		tar -C "$dir" --numeric-owner -czpf "$cache.tmp" . && mv "$cache.tmp" "$cache"
	fi
	exec 8>&-	# the cache entry is complete: let other runs have it
}

# _chroot_source: the skips (root, debootstrap, apt sources), then
# CHROOT_MIRROR and CHROOT_SUITE (the machine's first archive and suite),
# CHROOT_INCLUDE (what minbase gets besides) and CHROOT_BASE_KEY (the
# cache entry's name).
_chroot_source() {
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root to chroot"
	command -v debootstrap >/dev/null || tap_skip_all "debootstrap is not installed (apt-get install debootstrap)"
	# The machine's first archive URI and suite, from deb822 or one-line sources.
	local f mirror= suite=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		read -r mirror suite < <(awk 'BEGIN{RS=""; FS="\n"}
			{ u=""; s=""; for (i=1;i<=NF;i++) {
				if ($i ~ /^URIs:/) { u=$i; sub(/^URIs:[ \t]*/,"",u); sub(/[ \t].*/,"",u) }
				if ($i ~ /^Suites:/) { s=$i; sub(/^Suites:[ \t]*/,"",s); sub(/[ \t].*/,"",s) } }
			  if (u != "" && s != "" && s !~ /-/) { print u, s; exit } }' "$f")
		[ -n "$mirror" ] && break
	done
	if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
		read -r mirror suite < <(awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i+1) !~ /-/) { print $i, $(i+1); exit } }' /etc/apt/sources.list)
	fi
	[ -n "$mirror" ] || tap_skip_all "this machine has no apt sources to debootstrap from"

	# minbase and what qmail's builds need at run time in it: libssl3 for
	# the tls-smtpauth option's qmail-smtpd and qmail-remote. The cache
	# key names the packages, so a change of the list makes a new one.
	local include=libssl3
	CHROOT_MIRROR=$mirror CHROOT_SUITE=$suite CHROOT_INCLUDE=$include
	CHROOT_BASE_KEY=users-chroot-$suite-minbase-${include//,/-}
}

# _chroot_with PREPARE DIR PKG...: chroot_template with packages (above).
_chroot_with() {
	local prepare=$1 dir=$2 key cache log
	shift 2
	_chroot_source
	key=$CHROOT_BASE_KEY
	[ -z "$prepare" ] || key=$key-${prepare#_}-$(_chroot_fn_text "$prepare" | sha256sum | cut -c1-8)
	key=$key$(printf -- '-%s' "$@")
	cache=$QI_TEST_CACHE/$key.tar.gz
	mkdir -p "$dir"
	tap_cache_lock "$key"
	if [ -f "$cache" ]; then
		tar -C "$dir" --numeric-owner -xzpf "$cache"
		exec 8>&-
		return
	fi
	exec 8>&-
	chroot_template "$dir"
	tap_cache_lock "$key"
	if [ -f "$cache" ]; then	# made by another run meanwhile
		find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
		tar -C "$dir" --numeric-owner -xzpf "$cache"
		exec 8>&-
		return
	fi
	log=$(tap_tmpdir)/install.log
	if ! _chroot_install "$prepare" "$dir" "$@" >"$log" 2>&1; then
		tap_diag "installing $* into the chroot failed:" "$(tail -40 "$log")"
		tap_is "the install failed" "installed" "$* installed into the chroot"
		tap_done
		exit 1
	fi
	tar -C "$dir" --numeric-owner -czpf "$cache.tmp" . && mv "$cache.tmp" "$cache"
	exec 8>&-
}

# _chroot_fn_text FN: FN's text, and that of the shell functions it calls
# (one level down), for the cache key.
_chroot_fn_text() {
	local w
	declare -f "$1"
	for w in $(declare -f "$1" | grep -o '[A-Za-z_][A-Za-z0-9_]*' | sort -u); do
		[ "$w" != "$1" ] && declare -F "$w" >/dev/null && declare -f "$w"
	done
	return 0
}

# _chroot_install PREPARE DIR PKG...: download (network), then install
# offline with a policy-rc.d that forbids every service start.
_chroot_install() {
	local prepare=$1 dir=$2 lists
	shift 2
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	lists=$(ls "$dir/var/lib/apt/lists" 2>/dev/null)
	[ -z "$prepare" ] || "$prepare" "$dir" before || return
	chroot "$dir" apt-get -q update || return
	chroot "$dir" "${apt[@]}" --download-only install "$@" || return
	printf '#!/bin/sh\n# qinstall tests: no service starts while packages install\nexit 101\n' \
		>"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	chroot_offline "$dir" "${apt[@]}" --no-download install "$@" || return
	[ -z "$prepare" ] || "$prepare" "$dir" after || return
	rm -f "$dir/usr/sbin/policy-rc.d" "$dir"/var/cache/apt/*.bin
	# The package lists are the archive's of today: not part of the entry.
	( cd "$dir/var/lib/apt/lists" && for f in *; do
		[ -f "$f" ] && ! printf '%s\n' "$lists" | grep -qxF -- "$f" && rm -f -- "$f"; done; true )
}

chroot_offline() {
	local dir=$1 name
	shift
	name=$(head -1 "$dir/etc/hostname" 2>/dev/null)
	unshare -n -u -m -p -f --mount-proc="$dir/proc" \
		sh -c 'ip link set lo up && hostname "$1" && shift && exec chroot "$@"' sh "${name:-localhost}" "$dir" "$@"
}

# chroot_mail_template DIR: chroot_template, with the users the mail tests
# share: admin (1000, a shell and a home: postmaster's mail goes there)
# and vmail (1001, no login: the owner of the mail users' Maildirs).
chroot_mail_template() {
	chroot_template "$1"
	chroot "$1" useradd -m -u 1000 -s /bin/sh admin
	chroot "$1" useradd -m -u 1001 -s /usr/sbin/nologin vmail
}

# chroot_wait_idle DIR: until no process runs with DIR as its root or
# names it after --root (what a killed qinstall started, dpkg or rpm,
# finishes on its own), at most 120 s; 1 when some still run.
chroot_wait_idle() {
	local dir i p busy
	dir=$(readlink -f "$1")
	for i in $(seq 240); do
		busy=
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && busy=1 && break
		done
		[ -z "$busy" ] && ! pgrep -f -- "--root $dir" >/dev/null && return 0
		sleep 0.5
	done
	return 1
}
