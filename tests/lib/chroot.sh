# chroot.sh - a debootstrap'd Debian chroot for the system tests (after
# tap.sh). It is made once with debootstrap --variant=minbase from the
# archive this machine's apt uses (never a name written here), and cached
# as $QI_TEST_CACHE/users-chroot-SUITE-minbase-PACKAGES.tar.gz (outside the clone,
# see tap.sh), so that reruns, and CI in a fresh clone, are fast.
#
#   chroot_template DIR   # DIR (created) gets the chroot; skips the script
#                         # when it cannot be had (not root, no debootstrap,
#                         # the archive out of reach), fails it when
#                         # debootstrap fails with the archive in reach
#   chroot_mail_template DIR  # the same, with the mail tests' admin and vmail
chroot_template() {
	local dir=$1 f mirror= suite= cache log
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root to chroot"
	command -v debootstrap >/dev/null || tap_skip_all "debootstrap is not installed (apt-get install debootstrap)"
	mkdir -p "$dir"
	# The machine's first archive URI and suite, from deb822 or one-line sources.
	mirror= suite=
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
	cache=$QI_TEST_CACHE/users-chroot-$suite-minbase-${include//,/-}.tar.gz
	tap_cache_lock "users-chroot-$suite-minbase-${include//,/-}"
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

# chroot_mail_template DIR: chroot_template, with the users the mail tests
# share: admin (1000, a shell and a home: postmaster's mail goes there)
# and vmail (1001, no login: the owner of the mail users' Maildirs).
chroot_mail_template() {
	chroot_template "$1"
	chroot "$1" useradd -m -u 1000 -s /bin/sh admin
	chroot "$1" useradd -m -u 1001 -s /usr/sbin/nologin vmail
}
