#!/bin/bash
# System: `qinstall users` in a debootstrap'd Debian chroot. glibc's own
# getent and id inside the chroot must see the accounts; shadow-utils'
# pwck and grpck must find the files as consistent as before; rollback
# must make the accounts vanish and give every file under /etc back byte
# for byte.
#
# The chroot is made once with debootstrap --variant=minbase from the
# archive this machine's apt uses (never a name written here), and cached
# as $QI_TEST_CACHE/users-chroot-SUITE-minbase.tar.gz (outside the clone, see
# tap.sh) so that reruns, and CI in a fresh clone, are fast.
. "$top_srcdir/tests/lib/tap.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

tap_heavy
[ "$(id -u)" = 0 ] || tap_skip_all "needs root to chroot"
command -v debootstrap >/dev/null || tap_skip_all "debootstrap is not installed (apt-get install debootstrap)"

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

cache=$QI_TEST_CACHE/users-chroot-$suite-minbase.tar.gz
tap_cache_lock "users-chroot-$suite-minbase"
C=$(tap_tmpdir)/template
mkdir -p "$C"
if [ -f "$cache" ]; then
	tar -C "$C" --numeric-owner -xzpf "$cache"
else
	log=$(tap_tmpdir)/debootstrap.log
	if ! debootstrap --variant=minbase "$suite" "$C" "$mirror" >"$log" 2>&1; then
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
	tar -C "$C" --numeric-owner -czpf "$cache.tmp" . && mv "$cache.tmp" "$cache"
fi
exec 8>&-	# the cache entry is complete: let other runs have it

TPL=$C

# fresh_chroot: C is a new chroot, a copy of the template: its /etc (what
# qinstall writes and rolls back) copied, the rest hard links (qinstall
# only adds to /var, never writes a file there, and nothing else is written).
fresh_chroot() {
	C=$(tap_tmpdir)/root
	cp -al "$TPL" "$C" && rm -rf "$C/etc" && cp -a "$TPL/etc" "$C/etc"
}
sums() { (cd "$C/etc" && find . -type f -print0 | sort -z | xargs -0 sha256sum &&
	find . -printf '%p %y %m %U:%G\n' | sort); }
fresh_chroot
before=$(sums)
pwck_before=$(chroot "$C" pwck -r >/dev/null 2>&1; echo $?)
grpck_before=$(chroot "$C" grpck -r >/dev/null 2>&1; echo $?)

case_users() {
	tap_case "users in the chroot"
	fresh_chroot
	tap_run 0 "qinstall --root CHROOT users" "$QINSTALL" --root "$C" users
	tap_like "$(chroot "$C" getent passwd qmaild)" '^qmaild:x:601:600::/var/qmail:(/usr)?/sbin/nologin$' \
		"getent passwd qmaild in the chroot sees the account"
	tap_is "$(chroot "$C" id qmails)" "uid=606(qmails) gid=601(qmail) groups=601(qmail)" \
		"id qmails in the chroot sees the user and its group"
	tap_is "$(chroot "$C" getent group nofiles)" "nofiles:x:600:" "getent group nofiles sees the group"
	tap_is "$(chroot "$C" stat -c '%U:%G %a' /var/qmail/alias)" "alias:qmail 2755" \
		"the chroot's own stat names alias's home's owners"
	tap_is "$(chroot "$C" pwck -r >/dev/null 2>&1; echo $?)" "$pwck_before" "pwck finds passwd/shadow as consistent as before"
	tap_is "$(chroot "$C" grpck -r >/dev/null 2>&1; echo $?)" "$grpck_before" "grpck finds group/gshadow as consistent as before"
	tap_like "$(chroot "$C" passwd -S qmaild)" '^qmaild L ' "passwd -S in the chroot reports qmaild's password locked"
}

case_again() {
	tap_case "users again in the chroot"
	fresh_chroot
	tap_setup_qinstall "$C" users || return
	tap_run 0 "users again changes nothing" "$QINSTALL" --root "$C" --json users
	tap_json_is changed false "changed is false"
}

case_rollback() {
	tap_case "rollback in the chroot"
	fresh_chroot
	tap_setup_qinstall "$C" users || return
	local rc
	tap_run 0 "qinstall --root CHROOT rollback" "$QINSTALL" --root "$C" rollback
	rc=0; chroot "$C" getent passwd qmaild >/dev/null || rc=$?
	tap_is "$rc" 2 "after rollback getent no longer finds qmaild"
	rc=0; chroot "$C" id qmails >/dev/null 2>&1 || rc=$?
	tap_ok "after rollback id no longer finds qmails" test "$rc" -ne 0
	tap_is "$(sums)" "$before" "every file under the chroot's /etc is back byte for byte"
	tap_ok "/var/qmail is gone" test ! -e "$C/var/qmail"
}

case_users
case_again
case_rollback
tap_done
