#!/bin/bash
# Scenario: `qinstall users` with ROOT "/" — the host path, where glibc's
# lckpwdf() is taken and the name caches are told — without touching the
# host: in a private mount namespace (unshare -m), a throwaway /etc and
# /var are bind-mounted over the real ones, and qinstall runs only after
# marker files prove the mounts are in place.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/scenario/users-fixture.sh"
export QINSTALL_CACHE_DIR=$(tap_tmpdir)

[ "$(id -u)" = 0 ] || tap_skip_all "needs root for a mount namespace"
command -v unshare >/dev/null || tap_skip_all "unshare (util-linux) is not installed"
unshare -m --propagation private true 2>/dev/null || tap_skip_all "this kernel or container refuses unshare -m"

host_sums=$(sha256sum /etc/passwd /etc/group /etc/shadow 2>&1)

# host_root: a case's throwaway host. T is a new root (make_root) with what
# the dynamic loader and NSS need from /etc, before its etc_sums; F holds
# stand-ins for nscd and sss_cache (and the nologin the root needs),
# bind-mounted over /usr/sbin, which record how they are called in
# F/flush.log. No /etc/.pwd.lock: glibc's lckpwdf() makes it, which shows
# it was called.
host_root() {
	T=$(tap_tmpdir)
	make_root "$T"
	cp /etc/ld.so.cache "$T/etc/" 2>/dev/null || true
	printf 'passwd: files\ngroup: files\nshadow: files\n' >"$T/etc/nsswitch.conf"
	touch "$T/etc/.qinstall-test-root" "$T/var/.qinstall-test-root"
	F=$(tap_tmpdir)
	local tool
	for tool in nscd sss_cache; do
		printf '#!/bin/sh\necho "%s $*" >>%s/flush.log\n' "$tool" "$F" >"$F/$tool"
		chmod 755 "$F/$tool"
	done
	cp "$T/usr/sbin/nologin" "$F/nologin"
	before=$(etc_sums "$T")
}

# in_ns CMD...: run CMD as if $T were the host's /etc and /var; exit 99
# (and run nothing) if the bind mounts are not in place.
in_ns() {
	unshare -m --propagation private /bin/bash -c '
		set -e
		mount --bind "$0/etc" /etc
		mount --bind "$0/var" /var
		mount --bind "$1" /usr/sbin
		[ -e /etc/.qinstall-test-root ] && [ -e /var/.qinstall-test-root ] &&
			[ -e /usr/sbin/sss_cache ] || exit 99
		shift
		exec "$@"' "$T" "$F" "$@"
}

case_host() {
	tap_case "users with ROOT /"
	host_root
	tap_run 0 "users with ROOT / (in a namespace over a throwaway /etc)" in_ns "$QINSTALL" --json users
	tap_json_is changed true "it changed something"
	tap_is "$(grep -c '^qmail' "$T/etc/passwd")" 6 "the throwaway /etc/passwd got the users"
	tap_is "$(in_ns getent passwd qmaill)" "qmaill:x:602:600::/var/qmail:$(sed -n 's/^qmaill:.*:\([^:]*\)$/\1/p' "$T/etc/passwd")" \
		"the host's own getent (files) sees them in the namespace"
	tap_is "$(sha256sum /etc/passwd /etc/group /etc/shadow 2>&1)" "$host_sums" "the host's own files are untouched"
	tap_is "$(cd "$T/etc" && ls -a | grep -E '^(passwd|group|shadow|gshadow)\.(lock|[0-9]+)$' || true)" "" "no lock file is left"
	tap_ok "glibc's lckpwdf() was taken (it made /etc/.pwd.lock)" test -f "$T/etc/.pwd.lock"
	tap_ok "the journal went to the throwaway /var" test -e "$T/var/lib/qinstall/state.db"
	tap_is "$(cat "$F/flush.log" 2>/dev/null)" "nscd -i passwd
nscd -i group
sss_cache -UG" "the name caches are told (nscd -i passwd, -i group; sss_cache -UG)"
}

case_other_root() {
	tap_case "users with another --root in the namespace"
	host_root
	local O; O=$(tap_tmpdir)
	make_root "$O"
	tap_run 0 "users with another --root in the same namespace" in_ns "$QINSTALL" --root "$O" users
	tap_ok "the host's name caches are not told about another root" test ! -e "$F/flush.log"
}

case_host_rollback() {
	tap_case "rollback with ROOT /"
	host_root
	tap_setup in_ns "$QINSTALL" -q users || return
	rm -f "$T/etc/.pwd.lock" "$F/flush.log"
	tap_run 0 "rollback with ROOT /" in_ns "$QINSTALL" rollback
	tap_ok "rollback took glibc's lckpwdf() too (it made /etc/.pwd.lock)" test -f "$T/etc/.pwd.lock"
	rm -f "$T/etc/.pwd.lock"
	tap_is "$(cat "$F/flush.log" 2>/dev/null)" "nscd -i passwd
nscd -i group
sss_cache -UG" "after the rollback the name caches are told"
	tap_is "$(etc_sums "$T")" "$before" "rollback gives the throwaway /etc back byte for byte, no lock left"
}

case_host
case_other_root
case_host_rollback
tap_done
